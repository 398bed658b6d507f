package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Event appends are buffered. AppendEvent assigns the next seq in Go (the
// writer goroutine is the only writer, so DB.seq is the log's head) and
// keeps a copy of the event; the buffered events are written with
// multi-row INSERTs when the request or savepoint that appended them ends
// (so that an error, such as a duplicate id, still fails only its own
// update), before a statement of the transaction that reads the events
// table, and when the buffer is full. Events of a rolled-back savepoint or
// transaction leave the buffer and their seqs are assigned again, as
// SQLite's AUTOINCREMENT does. Explicit seqs keep sqlite_sequence (which
// LastSeq reads) at the highest seq written.

// eventChunks are the row counts of the prepared multi-row INSERTs, largest
// first; a flush writes its events in chunks of these sizes.
var eventChunks = [...]int{256, 32, 4, 1}

// maxPendingEvents bounds the buffer: an append past it flushes.
const maxPendingEvents = 4096

// eventInsert returns the INSERT of n event rows.
func eventInsert(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO events (seq, id, source, tenant, subscription, resource_group, resource_id, time, body, extra, target) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

// prepareEvents prepares the multi-row INSERTs.
func (s *stmts) prepareEvents(ctx context.Context, db *sql.DB) error {
	for i, n := range eventChunks {
		st, err := db.PrepareContext(ctx, eventInsert(n))
		if err != nil {
			return fmt.Errorf("prepare event insert of %d rows: %w", n, err)
		}
		s.events[i] = st
	}
	return nil
}

// flushEvents writes the buffered events.
func (t *txn) flushEvents(ctx context.Context) error {
	pending := t.appended[t.flushed:]
	if len(pending) == 0 {
		return nil
	}
	args := t.eventArgs[:0]
	for len(pending) > 0 {
		k := 0
		for eventChunks[k] > len(pending) {
			k++
		}
		n := eventChunks[k]
		args = args[:0]
		for _, ev := range pending[:n] {
			var extra any
			if ev.Extra != nil {
				extra = ev.Extra
			}
			args = append(args, ev.Seq, ev.ID, ev.Source, ev.Tenant, ev.Subscription, ev.ResourceGroup, ev.ResourceID,
				ev.Time.UnixNano(), ev.Body, extra, ev.Target)
		}
		if _, err := t.stmt(ctx, &t.events[k], t.db.stmts.events[k]).ExecContext(shared(ctx), args...); err != nil {
			clear(args)
			t.eventArgs = args[:0]
			if n == 1 {
				return fmt.Errorf("append event %s: %w", pending[0].ID, err)
			}
			return fmt.Errorf("append events %s…%s: %w", pending[0].ID, pending[n-1].ID, err)
		}
		pending = pending[n:]
		t.flushed += n
	}
	clear(args)
	t.eventArgs = args[:0]
	return nil
}

// unappend drops the events appended after the first held ones (of a
// rolled-back savepoint or transaction), whose rows the rollback removed,
// and gives their seqs back.
func (t *txn) unappend(held int) {
	if held >= len(t.appended) {
		return
	}
	t.db.seq = t.appended[held].Seq - 1
	clear(t.appended[held:])
	t.appended = t.appended[:held]
	t.flushed = min(t.flushed, held)
}
