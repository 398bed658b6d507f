package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"sluice/internal/store"
)

// Queue statements, prepared once when the store opens (see exec).
const (
	sqlEnqueue      = `INSERT OR IGNORE INTO queue (action, seq, event_id, enqueued, body) VALUES (?, ?, ?, ?, ?)`
	sqlEnqueueState = `INSERT INTO queue_state (action, depth) VALUES (?, 1)
		ON CONFLICT (action) DO UPDATE SET depth = depth + 1`
	sqlDequeue      = `DELETE FROM queue WHERE action = ? AND seq = ?`
	sqlDequeueState = `UPDATE queue_state SET depth = MAX(depth - ?, 0) WHERE action = ?`
	sqlSetState     = `INSERT INTO queue_state (action, attempts, next_attempt, first_failure, last_error) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (action) DO UPDATE SET attempts = excluded.attempts, next_attempt = excluded.next_attempt,
			first_failure = excluded.first_failure, last_error = excluded.last_error`
	sqlAddDeadLetter = `INSERT INTO dead_letters (action, seq, event_id, source, reason, attempts, failed_at, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
)

// Batched forms: one statement for many entries of one action, the seqs
// (and event ids) passed as one JSON array.
const (
	sqlEnqueueStateN = `INSERT INTO queue_state (action, depth) VALUES (?, ?)
		ON CONFLICT (action) DO UPDATE SET depth = depth + excluded.depth`
	sqlDequeueMany = `DELETE FROM queue WHERE action = ? AND seq IN (SELECT value FROM json_each(?))`
)

// preparedQueries are the statements exec runs prepared.
var preparedQueries = []string{sqlEnqueue, sqlEnqueueState, sqlDequeue, sqlDequeueState, sqlSetState, sqlAddDeadLetter,
	sqlEnqueueStateN, sqlDequeueMany, sqlRunInsert}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Enqueue implements store.QueueTx.
func (t *txn) Enqueue(ctx context.Context, e *store.QueueEntry) error {
	if e.Enqueued.IsZero() {
		e.Enqueued = time.Now().UTC()
	}
	res, err := t.exec(ctx, sqlEnqueue,
		e.Action, e.Seq, e.EventID, e.Enqueued.UnixNano(), e.Body)
	if err != nil {
		return fmt.Errorf("enqueue %s/%d: %w", e.Action, e.Seq, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if _, err := t.exec(ctx, sqlEnqueueState, e.Action); err != nil {
		return fmt.Errorf("enqueue %s: state: %w", e.Action, err)
	}
	return nil
}

// Dequeue implements store.QueueTx. Several seqs go in one statement.
func (t *txn) Dequeue(ctx context.Context, action string, seqs []int64) error {
	var n int64
	switch len(seqs) {
	case 0:
		return nil
	case 1:
		res, err := t.exec(ctx, sqlDequeue, action, seqs[0])
		if err != nil {
			return fmt.Errorf("dequeue %s/%d: %w", action, seqs[0], err)
		}
		n, _ = res.RowsAffected()
	default:
		res, err := t.exec(ctx, sqlDequeueMany, action, jsonInts(seqs))
		if err != nil {
			return fmt.Errorf("dequeue %d entries of %s: %w", len(seqs), action, err)
		}
		n, _ = res.RowsAffected()
	}
	fromRuns, err := t.dequeueRuns(ctx, action, ascending(seqs))
	if err != nil {
		return err
	}
	n += fromRuns
	if n > 0 {
		if _, err := t.exec(ctx, sqlDequeueState, n, action); err != nil {
			return fmt.Errorf("dequeue %s: state: %w", action, err)
		}
	}
	return nil
}

// EnqueueBatch appends many entries (as Enqueue would, one by one): the
// entries of each action become one run (see queueruns.go). Entries
// carrying their own body go one by one.
func (t *txn) EnqueueBatch(ctx context.Context, entries []*store.QueueEntry) error {
	type group struct {
		seqs []int64
		ids  []string
		at   int64
	}
	var order []string
	groups := map[string]*group{}
	for _, e := range entries {
		if e.Body != nil {
			if err := t.Enqueue(ctx, e); err != nil {
				return err
			}
			continue
		}
		if e.Enqueued.IsZero() {
			e.Enqueued = time.Now().UTC()
		}
		g := groups[e.Action]
		if g == nil {
			g = &group{at: e.Enqueued.UnixNano()}
			groups[e.Action] = g
			order = append(order, e.Action)
		}
		g.seqs = append(g.seqs, e.Seq)
		g.ids = append(g.ids, e.EventID)
	}
	for _, action := range order {
		g := groups[action]
		g.seqs, g.ids = sortSeqs(g.seqs, g.ids)
		n, err := t.enqueueRun(ctx, action, g.seqs, g.ids, g.at)
		if err != nil {
			return err
		}
		if n > 0 {
			if _, err := t.exec(ctx, sqlEnqueueStateN, action, n); err != nil {
				return fmt.Errorf("enqueue %s: state: %w", action, err)
			}
		}
	}
	return nil
}

// sortSeqs sorts seqs ascending (ids alongside) and drops duplicates.
func sortSeqs(seqs []int64, ids []string) ([]int64, []string) {
	sorted := true
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			sorted = false
			break
		}
	}
	if sorted {
		return seqs, ids
	}
	idx := make([]int, len(seqs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(seqs[a], seqs[b]) })
	s2, i2 := make([]int64, 0, len(seqs)), make([]string, 0, len(seqs))
	for _, i := range idx {
		if len(s2) > 0 && s2[len(s2)-1] == seqs[i] {
			continue
		}
		s2, i2 = append(s2, seqs[i]), append(i2, ids[i])
	}
	copy(seqs, s2)
	copy(ids, i2)
	return seqs[:len(s2)], ids[:len(i2)]
}

// ascending returns seqs sorted without duplicates: seqs itself when it
// already is (delivery dequeues batches in order), else a sorted copy.
func ascending(seqs []int64) []int64 {
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			return slices.Compact(slices.Sorted(slices.Values(seqs)))
		}
	}
	return seqs
}

// SetActionState implements store.QueueTx.
func (t *txn) SetActionState(ctx context.Context, st *store.ActionState) error {
	_, err := t.exec(ctx, sqlSetState,
		st.Action, st.Attempts, unixNano(st.NextAttempt), unixNano(st.FirstFailure), st.LastError)
	if err != nil {
		return fmt.Errorf("set state of %s: %w", st.Action, err)
	}
	return nil
}

// DropQueues implements store.QueueTx.
func (t *txn) DropQueues(ctx context.Context, prefix string) error {
	hi, ok := upperBound(prefix)
	if !ok || prefix == "" {
		return errors.New("drop queues: empty prefix")
	}
	for _, q := range []string{`DELETE FROM queue WHERE action >= ? AND action < ?`, `DELETE FROM queue_runs WHERE action >= ? AND action < ?`, `DELETE FROM queue_state WHERE action >= ? AND action < ?`,
		`DELETE FROM dead_letters WHERE action >= ? AND action < ?`} {
		if _, err := t.exec(ctx, q, prefix, hi); err != nil {
			return fmt.Errorf("drop queues %s: %w", prefix, err)
		}
	}
	return nil
}

// AddDeadLetter implements store.QueueTx.
func (t *txn) AddDeadLetter(ctx context.Context, d *store.DeadLetter) error {
	if d.FailedAt.IsZero() {
		d.FailedAt = time.Now().UTC()
	}
	res, err := t.exec(ctx, sqlAddDeadLetter, d.Action, d.Seq, d.EventID, d.Source, d.Reason, d.Attempts, d.FailedAt.UnixNano(), d.Body)
	if err != nil {
		return fmt.Errorf("add dead letter: %w", err)
	}
	d.ID, err = res.LastInsertId()
	return err
}

// DeleteDeadLetter implements store.QueueTx.
func (t *txn) DeleteDeadLetter(ctx context.Context, id int64) (bool, error) {
	res, err := t.exec(ctx, `DELETE FROM dead_letters WHERE id = ?`, id)
	if err != nil {
		return false, fmt.Errorf("delete dead letter %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Queued implements store.QueueReader: the head (after a seq) of the row
// queue and of the runs, merged in seq order, completed from the event log.
func (db *DB) Queued(ctx context.Context, action string, after int64, limit int) ([]*store.QueueEntry, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT seq, event_id, enqueued, body FROM queue WHERE action = ? AND seq > ? ORDER BY seq LIMIT ?`, action, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read queue %s: %w", action, err)
	}
	var single []*store.QueueEntry
	for rows.Next() {
		e := &store.QueueEntry{Action: action}
		var enq int64
		if err := rows.Scan(&e.Seq, &e.EventID, &enq, &e.Body); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan queue %s: %w", action, err)
		}
		e.Enqueued = fromNano(enq)
		single = append(single, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read queue %s: %w", action, err)
	}
	runs, err := headRuns(ctx, db.r, action, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*store.QueueEntry, 0, min(limit, len(single)+len(runs)))
	i, j := 0, 0
	for len(out) < limit && (i < len(single) || j < len(runs)) {
		if j == len(runs) || (i < len(single) && single[i].Seq <= runs[j].Seq) {
			if j < len(runs) && single[i].Seq == runs[j].Seq {
				j++ // the same entry in both: keep the row's
			}
			out = append(out, single[i])
			i++
		} else {
			out = append(out, runs[j])
			j++
		}
	}
	if err := db.fillEvents(ctx, out); err != nil {
		return nil, fmt.Errorf("read queue %s: %w", action, err)
	}
	return out, nil
}

// DueActions implements store.QueueReader.
func (db *DB) DueActions(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT action FROM queue_state WHERE depth > 0 AND next_attempt <= ? ORDER BY next_attempt LIMIT ?`,
		now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("due actions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ActionStates implements store.QueueReader.
func (db *DB) ActionStates(ctx context.Context, prefix string) ([]*store.ActionState, error) {
	q := `SELECT action, depth, attempts, next_attempt, first_failure, last_error FROM queue_state`
	var args []any
	if prefix != "" {
		q += ` WHERE action >= ?`
		args = append(args, prefix)
		if hi, ok := upperBound(prefix); ok {
			q += ` AND action < ?`
			args = append(args, hi)
		}
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY action`, args...)
	if err != nil {
		return nil, fmt.Errorf("action states: %w", err)
	}
	defer rows.Close()
	var out []*store.ActionState
	for rows.Next() {
		st := &store.ActionState{}
		var next, first int64
		if err := rows.Scan(&st.Action, &st.Depth, &st.Attempts, &next, &first, &st.LastError); err != nil {
			return nil, err
		}
		st.NextAttempt, st.FirstFailure = fromNano(next), fromNano(first)
		out = append(out, st)
	}
	return out, rows.Err()
}

// OldestQueued implements store.QueueReader: the enqueue time of the
// entry with the lowest seq, in the row queue or the runs.
func (db *DB) OldestQueued(ctx context.Context, action string) (time.Time, bool, error) {
	var seq, enq int64
	err := db.r.QueryRowContext(ctx, `SELECT seq, enqueued FROM (
			SELECT seq, enqueued FROM (SELECT seq, enqueued FROM queue WHERE action = ? ORDER BY seq LIMIT 1)
			UNION ALL
			SELECT first, enqueued FROM (SELECT first, enqueued FROM queue_runs WHERE action = ? ORDER BY first LIMIT 1)
		) ORDER BY seq LIMIT 1`, action, action).Scan(&seq, &enq)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("oldest queued %s: %w", action, err)
	}
	return fromNano(enq), true, nil
}

// DeadLetters implements store.QueueReader.
func (db *DB) DeadLetters(ctx context.Context, action string, afterID int64, limit int) ([]*store.DeadLetter, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, action, seq, event_id, source, reason, attempts, failed_at, body
		FROM dead_letters WHERE action = ? AND id > ? ORDER BY id LIMIT ?`, action, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("dead letters %s: %w", action, err)
	}
	defer rows.Close()
	var out []*store.DeadLetter
	for rows.Next() {
		d, err := scanDeadLetter(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanDeadLetter(s scanner) (*store.DeadLetter, error) {
	d := &store.DeadLetter{}
	var failed int64
	if err := s.Scan(&d.ID, &d.Action, &d.Seq, &d.EventID, &d.Source, &d.Reason, &d.Attempts, &failed, &d.Body); err != nil {
		return nil, err
	}
	d.FailedAt = fromNano(failed)
	return d, nil
}

// DeadLetter implements store.QueueReader.
func (db *DB) DeadLetter(ctx context.Context, id int64) (*store.DeadLetter, error) {
	d, err := scanDeadLetter(db.r.QueryRowContext(ctx, `SELECT id, action, seq, event_id, source, reason, attempts, failed_at, body
		FROM dead_letters WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dead letter %d: %w", id, err)
	}
	return d, nil
}

// Backlog implements store.QueueReader.
func (db *DB) Backlog(ctx context.Context) (int64, error) {
	var n int64
	if err := db.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(depth), 0) FROM queue_state`).Scan(&n); err != nil {
		return 0, fmt.Errorf("backlog: %w", err)
	}
	return n, nil
}
