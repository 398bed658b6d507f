package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"sluice/internal/store"
)

func ev(id string) *store.Event {
	return &store.Event{ID: id, Source: "Alerts", Body: []byte(`{"id":"` + id + `"}`)}
}

// readEvents returns the ids and seqs of every event in the log.
func readEvents(t *testing.T, db *DB) (ids []string, seqs []int64) {
	t.Helper()
	evs, err := db.Events(context.Background(), 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		ids = append(ids, e.ID)
		seqs = append(seqs, e.Seq)
	}
	return ids, seqs
}

// TestEvents_rolled_back_seqs_reused: the seqs of events appended under a
// savepoint that fails, or in an update that fails, are assigned again.
func TestEvents_rolled_back_seqs_reused(t *testing.T) {
	db := openT(t, t.TempDir(), Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	boom := errors.New("boom")
	var e4 *store.Event
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.AppendEvent(ctx, ev("e1")); err != nil {
			return err
		}
		if err := tx.Savepoint(ctx, func(tx store.Tx) error {
			for _, id := range []string{"e2", "e3"} {
				if err := tx.AppendEvent(ctx, ev(id)); err != nil {
					return err
				}
			}
			return boom
		}); !errors.Is(err, boom) {
			return fmt.Errorf("savepoint: %v", err)
		}
		e4 = ev("e4")
		return tx.AppendEvent(ctx, e4)
	})
	if err != nil {
		t.Fatal(err)
	}
	if e4.Seq != 2 {
		t.Errorf("e4 seq = %d, want 2", e4.Seq)
	}
	// A failed update alone in its group: its seqs are given back too.
	err = db.Update(ctx, func(tx store.Tx) error {
		for _, id := range []string{"x1", "x2"} {
			if err := tx.AppendEvent(ctx, ev(id)); err != nil {
				return err
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failing update: %v", err)
	}
	e5 := ev("e5")
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.AppendEvent(ctx, e5) }); err != nil {
		t.Fatal(err)
	}
	if e5.Seq != 3 {
		t.Errorf("e5 seq = %d, want 3", e5.Seq)
	}
	ids, seqs := readEvents(t, db)
	if fmt.Sprint(ids, seqs) != "[e1 e4 e5] [1 2 3]" {
		t.Errorf("log = %v %v, want [e1 e4 e5] [1 2 3]", ids, seqs)
	}
	if last, err := db.LastSeq(ctx); err != nil || last != 3 {
		t.Errorf("last seq = %d, %v; want 3", last, err)
	}
}

// TestEvents_duplicate_id_fails_its_savepoint: a duplicate event id fails
// the savepoint that appended it, not the enclosing update, though the
// row is written only when the savepoint ends.
func TestEvents_duplicate_id_fails_its_savepoint(t *testing.T) {
	db := openT(t, t.TempDir(), Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	var spErr error
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.AppendEvent(ctx, ev("a")); err != nil {
			return err
		}
		spErr = tx.Savepoint(ctx, func(tx store.Tx) error {
			if err := tx.Put(ctx, &store.Record{Kind: "k", Key: "in-savepoint", ID: "x"}); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, ev("a"))
		})
		return tx.AppendEvent(ctx, ev("b"))
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if spErr == nil {
		t.Error("savepoint appending a duplicate event id: no error")
	}
	if _, err := db.Get(ctx, "k", "in-savepoint"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the failed savepoint's record: %v, want not found", err)
	}
	ids, seqs := readEvents(t, db)
	if fmt.Sprint(ids, seqs) != "[a b] [1 2]" {
		t.Errorf("log = %v %v, want [a b] [1 2]", ids, seqs)
	}
}

// TestEvents_many_in_one_update appends more events than the buffer holds
// in one update, in every chunk size, and reads them back in order with
// their fields.
func TestEvents_many_in_one_update(t *testing.T) {
	db := openT(t, t.TempDir(), Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	const n = maxPendingEvents + 256 + 32 + 4 + 3
	at := time.Date(2026, 11, 1, 2, 3, 4, 5, time.UTC)
	err := db.Update(ctx, func(tx store.Tx) error {
		for i := range n {
			e := &store.Event{ID: fmt.Sprint("m", i), Source: "Assessments", Tenant: "t", Subscription: "s", ResourceGroup: "rg",
				ResourceID: fmt.Sprint("/r/", i), Time: at, Body: []byte(fmt.Sprint(`{"i":`, i, `}`)), Target: fmt.Sprint("a", i%2)}
			if i%3 == 0 {
				e.Extra = []byte(`{"x":1}`)
			}
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
			if e.Seq != int64(i+1) {
				return fmt.Errorf("event %d: seq %d", i, e.Seq)
			}
			// The caller may reuse its buffers once AppendEvent returns.
			e.Body[0] = 'X'
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.recent.reset(0) // read back from the table, not memory
	evs, err := db.Events(ctx, 0, 2*n)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != n {
		t.Fatalf("read %d events, want %d", len(evs), n)
	}
	for i, e := range evs {
		want := &store.Event{Seq: int64(i + 1), ID: fmt.Sprint("m", i), Source: "Assessments", Tenant: "t", Subscription: "s",
			ResourceGroup: "rg", ResourceID: fmt.Sprint("/r/", i), Time: at, Body: []byte(fmt.Sprint(`{"i":`, i, `}`)), Target: fmt.Sprint("a", i%2)}
		if i%3 == 0 {
			want.Extra = []byte(`{"x":1}`)
		}
		if fmt.Sprintf("%+v", e) != fmt.Sprintf("%+v", want) {
			t.Fatalf("event %d = %+v, want %+v", i, e, want)
		}
	}
}

// TestEvents_seq_after_prune_and_reopen: seqs never go back, even when
// every event was pruned and the store opened again.
func TestEvents_seq_after_prune_and_reopen(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	old := ev("old")
	old.Time = time.Now().Add(-time.Hour)
	if err := db.Update(ctx, func(tx store.Tx) error {
		for _, e := range []*store.Event{old, ev("old2")} {
			e.Time = old.Time
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.PruneEvents(ctx, time.Now()); err != nil || n != 2 {
		t.Fatalf("prune = %d, %v; want 2", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, dir, Options{})
	e := ev("new")
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.AppendEvent(ctx, e) }); err != nil {
		t.Fatal(err)
	}
	if e.Seq != 3 {
		t.Errorf("seq after prune and reopen = %d, want 3", e.Seq)
	}
}

// TestEvents_another_connection: events another process appends to the
// same database (here a second DB on the same directory) are not given
// the same seqs again, and readers of the first see them.
func TestEvents_another_connection(t *testing.T) {
	dir := t.TempDir()
	a := openT(t, dir, Options{Synchronous: "NORMAL"})
	b := openT(t, dir, Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	appendOne := func(db *DB, id string) int64 {
		t.Helper()
		e := ev(id)
		if err := db.Update(ctx, func(tx store.Tx) error { return tx.AppendEvent(ctx, e) }); err != nil {
			t.Fatalf("append %s: %v", id, err)
		}
		return e.Seq
	}
	s1 := appendOne(a, "e1")
	s2 := appendOne(b, "e2")
	s3 := appendOne(a, "e3")
	if s1 != 1 || s2 != 2 || s3 != 3 {
		t.Errorf("seqs = %d, %d, %d; want 1, 2, 3", s1, s2, s3)
	}
	for name, db := range map[string]*DB{"a": a, "b": b} {
		ids, seqs := readEvents(t, db)
		if fmt.Sprint(ids, seqs) != "[e1 e2 e3] [1 2 3]" {
			t.Errorf("log read through %s = %v %v, want [e1 e2 e3] [1 2 3]", name, ids, seqs)
		}
	}
}

// TestEvents_empty_body: an event with an empty (not nil) body and extra
// is stored (the body column is NOT NULL), as it was when events were
// inserted one by one, and reads back empty.
func TestEvents_empty_body(t *testing.T) {
	db := openT(t, t.TempDir(), Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	err := db.Update(ctx, func(tx store.Tx) error {
		return tx.AppendEvent(ctx, &store.Event{ID: "empty", Source: "Alerts", Body: []byte{}, Extra: []byte{}})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{"memory", "table"} {
		if from == "table" {
			db.recent.reset(0)
		}
		evs, err := db.Events(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || len(evs[0].Body) != 0 || len(evs[0].Extra) != 0 {
			t.Errorf("events read from %s = %+v, want one with an empty body and extra", from, evs)
		}
	}
}
