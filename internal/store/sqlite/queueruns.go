package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"sluice/internal/store"
)

// Queue runs. The export engine's matcher enqueues a thousand events at a
// time; storing each (action, event) pair as a row made the queue the
// writer's largest cost (a b-tree insert and delete per pair, plus an
// index). A run stores the entries one EnqueueBatch call makes for one
// action as a single row: the first and last seq and the seqs as varint
// deltas. Runs of an action never overlap and are kept in seq order, so
// the head of the queue is the first run (merged with the head of the
// row queue, which keeps entries with their own body and the rare
// duplicates). Event ids, sources and bodies come from the event log when
// the queue is read, like the row queue's.

// encodeSeqs encodes ascending, distinct seqs as varint deltas from first.
func encodeSeqs(seqs []int64) []byte {
	out := make([]byte, 0, 2*len(seqs))
	prev := seqs[0]
	for _, s := range seqs[1:] {
		out = binary.AppendUvarint(out, uint64(s-prev))
		prev = s
	}
	return out
}

// decodeSeqs appends the seqs of a run to dst.
func decodeSeqs(dst []int64, first int64, enc []byte) ([]int64, error) {
	dst = append(dst, first)
	prev := first
	for len(enc) > 0 {
		d, n := binary.Uvarint(enc)
		if n <= 0 || d == 0 {
			return dst, errors.New("corrupt queue run")
		}
		prev += int64(d)
		dst = append(dst, prev)
		enc = enc[n:]
	}
	return dst, nil
}

const (
	sqlRunInsert = `INSERT INTO queue_runs (action, first, last, n, enqueued, seqs) VALUES (?, ?, ?, ?, ?, ?)`
	sqlRunTail   = `SELECT COALESCE((SELECT last FROM queue_runs WHERE action = ? ORDER BY first DESC LIMIT 1), 0),
		COALESCE((SELECT MAX(seq) FROM queue WHERE action = ?), 0)`
)

// enqueueRun appends ascending, distinct seqs to an action's queue as one
// run when they all come after everything it holds; otherwise it adds the
// ones not already queued one by one. It returns how many it added.
func (t *txn) enqueueRun(ctx context.Context, action string, seqs []int64, eventIDs []string, enqueued int64) (int64, error) {
	var runTail, rowTail int64
	if err := t.tx.QueryRowContext(shared(ctx), sqlRunTail, action, action).Scan(&runTail, &rowTail); err != nil {
		return 0, fmt.Errorf("enqueue %s: read tail: %w", action, err)
	}
	if seqs[0] > runTail && seqs[0] > rowTail {
		if _, err := t.exec(ctx, sqlRunInsert, action, seqs[0], seqs[len(seqs)-1], len(seqs), enqueued, encodeSeqs(seqs)); err != nil {
			return 0, fmt.Errorf("enqueue %d entries of %s: %w", len(seqs), action, err)
		}
		return int64(len(seqs)), nil
	}
	// Overlap (a batch enqueued again): skip what a run already holds;
	// the row queue ignores its own duplicates.
	held, err := t.runSeqs(ctx, action, seqs[0], seqs[len(seqs)-1])
	if err != nil {
		return 0, err
	}
	var added int64
	for i, seq := range seqs {
		if _, ok := slices.BinarySearch(held, seq); ok {
			continue
		}
		res, err := t.exec(ctx, sqlEnqueue, action, seq, eventIDs[i], enqueued, nil)
		if err != nil {
			return added, fmt.Errorf("enqueue %s/%d: %w", action, seq, err)
		}
		n, _ := res.RowsAffected()
		added += n
	}
	return added, nil
}

// runSeqs returns the seqs runs of action hold between lo and hi, ascending.
func (t *txn) runSeqs(ctx context.Context, action string, lo, hi int64) ([]int64, error) {
	rows, err := t.tx.QueryContext(shared(ctx), `SELECT first, seqs FROM queue_runs WHERE action = ? AND first <= ? AND last >= ? ORDER BY first`,
		action, hi, lo)
	if err != nil {
		return nil, fmt.Errorf("read runs of %s: %w", action, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var first int64
		var enc []byte
		if err := rows.Scan(&first, &enc); err != nil {
			return nil, fmt.Errorf("read runs of %s: %w", action, err)
		}
		if out, err = decodeSeqs(out, first, enc); err != nil {
			return nil, fmt.Errorf("read runs of %s: %w", action, err)
		}
	}
	return out, rows.Err()
}

// dequeueRuns removes seqs (ascending, distinct) from the runs of action
// and returns how many it removed. Delivery takes the head of the queue, so
// the runs touched are the first ones.
func (t *txn) dequeueRuns(ctx context.Context, action string, seqs []int64) (int64, error) {
	type run struct {
		rowid, first int64
		seqs         []int64
	}
	rows, err := t.tx.QueryContext(shared(ctx), `SELECT rowid, first, seqs FROM queue_runs WHERE action = ? AND first <= ? AND last >= ? ORDER BY first`,
		action, seqs[len(seqs)-1], seqs[0])
	if err != nil {
		return 0, fmt.Errorf("dequeue %s: read runs: %w", action, err)
	}
	var runs []run
	for rows.Next() {
		var r run
		var enc []byte
		if err := rows.Scan(&r.rowid, &r.first, &enc); err != nil {
			rows.Close()
			return 0, fmt.Errorf("dequeue %s: read runs: %w", action, err)
		}
		if r.seqs, err = decodeSeqs(nil, r.first, enc); err != nil {
			rows.Close()
			return 0, fmt.Errorf("dequeue %s: %w", action, err)
		}
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("dequeue %s: read runs: %w", action, err)
	}
	var removed int64
	for _, r := range runs {
		kept := r.seqs[:0]
		for _, s := range r.seqs {
			if _, ok := slices.BinarySearch(seqs, s); !ok {
				kept = append(kept, s)
			}
		}
		gone := len(r.seqs) - len(kept)
		if gone == 0 {
			continue
		}
		removed += int64(gone)
		if len(kept) == 0 {
			if _, err := t.exec(ctx, `DELETE FROM queue_runs WHERE rowid = ?`, r.rowid); err != nil {
				return removed, fmt.Errorf("dequeue %s: delete run: %w", action, err)
			}
			continue
		}
		if _, err := t.exec(ctx, `UPDATE queue_runs SET first = ?, last = ?, n = ?, seqs = ? WHERE rowid = ?`,
			kept[0], kept[len(kept)-1], len(kept), encodeSeqs(kept), r.rowid); err != nil {
			return removed, fmt.Errorf("dequeue %s: rewrite run: %w", action, err)
		}
	}
	return removed, nil
}

// headRuns reads the first entries after a seq of an action's runs, up to
// limit.
func headRuns(ctx context.Context, q querier, action string, after int64, limit int) ([]*store.QueueEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT first, enqueued, seqs FROM queue_runs WHERE action = ? AND last > ? ORDER BY first`, action, after)
	if err != nil {
		return nil, fmt.Errorf("read queue %s: %w", action, err)
	}
	defer rows.Close()
	var out []*store.QueueEntry
	var seqs []int64
	for len(out) < limit && rows.Next() {
		var first, enq int64
		var enc []byte
		if err := rows.Scan(&first, &enq, &enc); err != nil {
			return nil, fmt.Errorf("read queue %s: %w", action, err)
		}
		if seqs, err = decodeSeqs(seqs[:0], first, enc); err != nil {
			return nil, fmt.Errorf("read queue %s: %w", action, err)
		}
		at := fromNano(enq)
		for _, s := range seqs {
			if len(out) == limit {
				break
			}
			if s <= after {
				continue
			}
			out = append(out, &store.QueueEntry{Action: action, Seq: s, Enqueued: at})
		}
	}
	return out, rows.Err()
}

// fillEvents completes entries (ascending seqs) with their event's id,
// source, resource id and, when they have none of their own, body: from
// the recent events in memory, else from the table.
func (db *DB) fillEvents(ctx context.Context, entries []*store.QueueEntry) error {
	if len(entries) == 0 {
		return nil
	}
	seqs := make([]int64, len(entries))
	for i, e := range entries {
		seqs[i] = e.Seq
	}
	found := make([]*store.Event, len(entries))
	n := db.recent.lookup(seqs, found)
	if n < len(entries) {
		n += db.cache.lookup(seqs, found)
	}
	if n < len(entries) {
		// One reader at a time reads back from the table: actions
		// catching up side by side wait for the first one's read and
		// find its events in the cache.
		db.fillMu.Lock()
		defer db.fillMu.Unlock()
		n += db.cache.lookup(seqs, found)
	}
	if n < len(entries) {
		var missing []int64
		for i, ev := range found {
			if ev == nil {
				missing = append(missing, seqs[i])
			}
		}
		byseq, err := db.eventsBySeq(ctx, missing)
		if err != nil {
			return err
		}
		db.cache.add(byseq)
		for i, ev := range found {
			if ev == nil {
				found[i] = byseq[seqs[i]]
			}
		}
	}
	for i, e := range entries {
		ev := found[i]
		if ev == nil {
			continue // pruned: a replayed entry carries its own body
		}
		if e.EventID == "" {
			e.EventID = ev.ID
		}
		e.Source, e.ResourceID = ev.Source, ev.ResourceID
		if e.Body == nil {
			e.Body = ev.Body
		}
	}
	return nil
}

// eventsBySeq reads the events with the given seqs (ascending).
func (db *DB) eventsBySeq(ctx context.Context, seqs []int64) (map[int64]*store.Event, error) {
	out := make(map[int64]*store.Event, len(seqs))
	if len(seqs) == 0 {
		return out, nil
	}
	var rows *sql.Rows
	var err error
	lo, hi := seqs[0], seqs[len(seqs)-1]
	if hi-lo < int64(2*len(seqs)) {
		// Dense: one range scan.
		rows, err = db.r.QueryContext(ctx, `SELECT seq, id, source, resource_id, body FROM events WHERE seq BETWEEN ? AND ?`, lo, hi)
	} else {
		rows, err = db.r.QueryContext(ctx, `SELECT seq, id, source, resource_id, body FROM events WHERE seq IN (SELECT value FROM json_each(?))`, jsonInts(seqs))
	}
	if err != nil {
		return nil, fmt.Errorf("read queued events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		ev := &store.Event{}
		if err := rows.Scan(&ev.Seq, &ev.ID, &ev.Source, &ev.ResourceID, &ev.Body); err != nil {
			return nil, fmt.Errorf("read queued events: %w", err)
		}
		if _, ok := slices.BinarySearch(seqs, ev.Seq); ok {
			out[ev.Seq] = ev
		}
	}
	return out, rows.Err()
}

// jsonInts renders seqs as a JSON array, for json_each.
func jsonInts(seqs []int64) string {
	list := make([]byte, 0, 12*len(seqs))
	list = append(list, '[')
	for i, s := range seqs {
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendInt(list, s, 10)
	}
	return string(append(list, ']'))
}
