package sqlite

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"sluice/internal/store"
)

func appendN(t *testing.T, db *DB, prefix string, n int, at time.Time) []int64 {
	t.Helper()
	var seqs []int64
	err := db.Update(context.Background(), func(tx store.Tx) error {
		for i := range n {
			ev := &store.Event{ID: fmt.Sprintf("%s-%d", prefix, i), Source: "Alerts", ResourceID: "/subscriptions/s/r", Time: at,
				Body: fmt.Appendf(nil, `{"%s":%d}`, prefix, i)}
			if err := tx.AppendEvent(context.Background(), ev); err != nil {
				return err
			}
			seqs = append(seqs, ev.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seqs
}

func batchOf(action string, seqs []int64, at time.Time) []*store.QueueEntry {
	var out []*store.QueueEntry
	for _, s := range seqs {
		out = append(out, &store.QueueEntry{Action: action, Seq: s, Enqueued: at})
	}
	return out
}

func queuedSeqs(t *testing.T, db *DB, action string) []int64 {
	t.Helper()
	q, err := db.Queued(context.Background(), action, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range q {
		out = append(out, e.Seq)
		if e.EventID == "" || e.Body == nil || e.Source != "Alerts" {
			t.Errorf("entry %d not completed from the log: %+v", e.Seq, e)
		}
	}
	return out
}

func depthOf(t *testing.T, db *DB, action string) int64 {
	t.Helper()
	sts, err := db.ActionStates(context.Background(), action)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Action == action {
			return st.Depth
		}
	}
	return 0
}

// TestQueueRuns checks the run encoding of batched enqueues against the
// queue's contract: order across runs and rows, partial dequeues from the
// head or the middle, depth, the oldest entry, pruning and dropping.
func TestQueueRuns(t *testing.T) {
	ctx := context.Background()
	db := openT(t, t.TempDir(), Options{})
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a := appendN(t, db, "a", 20, t0)
	b := appendN(t, db, "b", 20, t0.Add(time.Hour))
	update := func(fn func(tx *txn) error) {
		t.Helper()
		if err := db.Update(ctx, func(tx store.Tx) error { return fn(tx.(*txn)) }); err != nil {
			t.Fatal(err)
		}
	}
	// Every other event of a as one run, all of b as a second run, and a
	// replayed entry with its own body between them.
	var evenA []int64
	for i := 0; i < len(a); i += 2 {
		evenA = append(evenA, a[i])
	}
	update(func(tx *txn) error { return tx.EnqueueBatch(ctx, batchOf("x/0", evenA, t0)) })
	update(func(tx *txn) error { return tx.EnqueueBatch(ctx, batchOf("x/0", b, t0.Add(time.Minute))) })
	update(func(tx *txn) error {
		return tx.Enqueue(ctx, &store.QueueEntry{Action: "x/0", Seq: a[5], EventID: "a-5", Body: []byte(`{"replayed":1}`)})
	})
	var runs int
	if err := db.r.QueryRow(`SELECT COUNT(*) FROM queue_runs WHERE action = 'x/0'`).Scan(&runs); err != nil || runs != 2 {
		t.Fatalf("runs = %d (%v), want 2", runs, err)
	}
	want := append(slices.Clone(evenA), a[5])
	slices.Sort(want)
	want = append(want, b...)
	if got := queuedSeqs(t, db, "x/0"); !slices.Equal(got, want) {
		t.Fatalf("queued %v, want %v", got, want)
	}
	if d := depthOf(t, db, "x/0"); d != int64(len(want)) {
		t.Fatalf("depth %d, want %d", d, len(want))
	}
	q, _ := db.Queued(ctx, "x/0", 0, 4)
	if len(q) != 4 || q[3].Seq != a[5] || string(q[3].Body) != `{"replayed":1}` || string(q[0].Body) != `{"a":0}` {
		t.Fatalf("head of 4: %+v", q)
	}
	// Reading after a seq (the batch being recorded) skips it, across
	// rows and runs.
	for _, k := range []int{0, 3, 9, len(want) - 2} {
		q, err := db.Queued(ctx, "x/0", want[k], 5)
		if err != nil || len(q) == 0 || q[0].Seq != want[k+1] || len(q) != min(5, len(want)-k-1) {
			t.Fatalf("Queued after %d: %d entries (%v), want from %d", want[k], len(q), err, want[k+1])
		}
	}
	// The same batch again (a matcher that matched again) adds nothing.
	update(func(tx *txn) error { return tx.EnqueueBatch(ctx, batchOf("x/0", b, t0)) })
	if d := depthOf(t, db, "x/0"); d != int64(len(want)) {
		t.Fatalf("depth after a repeated batch %d, want %d", d, len(want))
	}
	// A batch overlapping the tail: only the new seqs are added.
	c := appendN(t, db, "c", 3, t0.Add(2*time.Hour))
	update(func(tx *txn) error { return tx.EnqueueBatch(ctx, batchOf("x/0", append(b[18:], c...), t0)) })
	want = append(want, c...)
	if got := queuedSeqs(t, db, "x/0"); !slices.Equal(got, want) {
		t.Fatalf("after an overlapping batch: queued %v, want %v", got, want)
	}
	// Oldest: the first run's time.
	if at, ok, err := db.OldestQueued(ctx, "x/0"); err != nil || !ok || !at.Equal(t0) {
		t.Fatalf("oldest = %v %v %v, want %v", at, ok, err, t0)
	}
	// Dequeue the head five (rows and runs), one from the middle of b's
	// run, and a seq that is not queued.
	gone := append(slices.Clone(want[:5]), b[10], 1<<40)
	update(func(tx *txn) error { return tx.Dequeue(ctx, "x/0", gone) })
	want = slices.DeleteFunc(slices.Clone(want), func(s int64) bool { return slices.Contains(gone, s) })
	if got := queuedSeqs(t, db, "x/0"); !slices.Equal(got, want) {
		t.Fatalf("after dequeue: queued %v, want %v", got, want)
	}
	if d := depthOf(t, db, "x/0"); d != int64(len(want)) {
		t.Fatalf("depth after dequeue %d, want %d", d, len(want))
	}
	// Pruning keeps every event from the first queued one on.
	if _, err := db.PruneEvents(ctx, t0.Add(100*time.Hour)); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || evs[0].Seq != want[0] {
		t.Fatalf("after prune the log starts at %v, want seq %d", evs, want[0])
	}
	if got := queuedSeqs(t, db, "x/0"); !slices.Equal(got, want) {
		t.Fatalf("after prune: queued %v, want %v", got, want)
	}
	// Dequeue everything: no run is left, and the log can be pruned.
	update(func(tx *txn) error { return tx.Dequeue(ctx, "x/0", want) })
	if err := db.r.QueryRow(`SELECT COUNT(*) FROM queue_runs`).Scan(&runs); err != nil || runs != 0 {
		t.Fatalf("runs left = %d (%v)", runs, err)
	}
	if _, ok, _ := db.OldestQueued(ctx, "x/0"); ok {
		t.Fatal("oldest entry of an empty queue")
	}
	if n, err := db.PruneEvents(ctx, t0.Add(100*time.Hour)); err != nil || n == 0 {
		t.Fatalf("prune after the queue emptied: %d %v", n, err)
	}
	// Dropping an automation's queues removes its runs.
	d := appendN(t, db, "d", 4, t0)
	update(func(tx *txn) error { return tx.EnqueueBatch(ctx, batchOf("y/0", d, t0)) })
	update(func(tx *txn) error { return tx.DropQueues(ctx, "y/") })
	if err := db.r.QueryRow(`SELECT COUNT(*) FROM queue_runs`).Scan(&runs); err != nil || runs != 0 {
		t.Fatalf("runs left after drop = %d (%v)", runs, err)
	}
	if n, err := db.Backlog(ctx); err != nil || n != 0 {
		t.Fatalf("backlog after drop = %d %v", n, err)
	}
}

func TestSeqsEncoding(t *testing.T) {
	for _, seqs := range [][]int64{{1}, {5, 6, 7}, {1, 1000, 1 << 40, 1<<40 + 1}} {
		got, err := decodeSeqs(nil, seqs[0], encodeSeqs(seqs))
		if err != nil || !slices.Equal(got, seqs) {
			t.Errorf("round trip of %v = %v, %v", seqs, got, err)
		}
	}
	if _, err := decodeSeqs(nil, 1, []byte{0}); err == nil {
		t.Error("a zero delta decoded")
	}
	if _, err := decodeSeqs(nil, 1, []byte{0x80}); err == nil {
		t.Error("a truncated varint decoded")
	}
	if got := ascending([]int64{5, 2, 5, 1}); !slices.Equal(got, []int64{1, 2, 5}) {
		t.Errorf("ascending = %v", got)
	}
	s, ids := sortSeqs([]int64{3, 1, 3, 2}, []string{"c", "a", "c2", "b"})
	if !slices.Equal(s, []int64{1, 2, 3}) || !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Errorf("sortSeqs = %v %v", s, ids)
	}
}

// TestRecentEvents checks the in-memory tail of the log: it serves reads
// after its floor, drops the oldest beyond its bounds (and the database
// answers for them), holds nothing of a rolled-back savepoint, starts
// above what the database held when opened and forgets everything on a
// prune.
func TestRecentEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openT(t, dir, Options{})
	db.recent = newRecent(0, 8, 1<<20)
	t0 := time.Now()
	seqs := appendN(t, db, "e", 12, t0)
	if db.recent.floor != seqs[3] {
		t.Fatalf("floor %d after 12 events with room for 8, want %d", db.recent.floor, seqs[3])
	}
	if _, ok := db.recent.after(seqs[2], 10); ok {
		t.Fatal("memory answered below its floor")
	}
	evs, ok := db.recent.after(seqs[5], 3)
	if !ok || len(evs) != 3 || evs[0].ID != "e-6" || string(evs[2].Body) != `{"e":8}` {
		t.Fatalf("after(%d, 3) = %v %v", seqs[5], evs, ok)
	}
	// Through the store: the whole log, partly from the database.
	all, err := db.Events(ctx, 0, 100)
	if err != nil || len(all) != 12 || all[0].ID != "e-0" || all[11].ID != "e-11" {
		t.Fatalf("Events = %d events, %v", len(all), err)
	}
	// A failed savepoint's event never reaches memory.
	err = db.Update(ctx, func(tx store.Tx) error {
		if err := tx.Savepoint(ctx, func(tx store.Tx) error {
			if err := tx.AppendEvent(ctx, &store.Event{ID: "rolled-back", Source: "Alerts", Body: []byte(`{}`)}); err != nil {
				return err
			}
			return fmt.Errorf("boom")
		}); err == nil {
			t.Error("savepoint error lost")
		}
		return tx.AppendEvent(ctx, &store.Event{ID: "kept", Source: "Alerts", Body: []byte(`{}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	tail, ok := db.recent.after(seqs[11], 10)
	if !ok || len(tail) != 1 || tail[0].ID != "kept" {
		t.Fatalf("memory after a rolled-back savepoint: %v %v", tail, ok)
	}
	// Memory holds copies: the caller's buffer may be reused.
	buf := []byte(`{"v":1}`)
	err = db.Update(ctx, func(tx store.Tx) error {
		return tx.AppendEvent(ctx, &store.Event{ID: "copied", Source: "Alerts", Body: buf})
	})
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, `{"v":2}`)
	last, _ := db.Events(ctx, tail[0].Seq, 1)
	if len(last) != 1 || string(last[0].Body) != `{"v":1}` {
		t.Fatalf("held body changed with the caller's buffer: %v", last)
	}
	// A prune empties memory; reads go to the database.
	if _, err := db.PruneEvents(ctx, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := db.PruneEvents(ctx, t0.Add(time.Hour)); err != nil || n == 0 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if evs, err := db.Events(ctx, 0, 100); err != nil || len(evs) != 0 {
		t.Fatalf("events after pruning all: %d %v", len(evs), err)
	}
	// Reopened, the store holds nothing in memory until the next commit.
	db.Close()
	db2 := openT(t, dir, Options{})
	lastSeq, _ := db2.LastSeq(ctx)
	if db2.recent.floor != lastSeq {
		t.Fatalf("floor after reopen %d, want %d", db2.recent.floor, lastSeq)
	}
}
