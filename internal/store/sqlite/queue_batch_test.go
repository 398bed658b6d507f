package sqlite

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"sluice/internal/store"
)

// TestEnqueueBatch checks the batched enqueue and dequeue against the
// one-by-one semantics: duplicates are ignored and not counted, entries
// with a body or an id that needs escaping go one by one, several
// actions in one batch keep their own order and depth.
func TestEnqueueBatch(t *testing.T) {
	ctx := context.Background()
	db := openT(t, t.TempDir(), Options{})
	var seqs []int64
	err := db.Update(ctx, func(tx store.Tx) error {
		for i := range 10 {
			ev := &store.Event{ID: fmt.Sprintf("ev-%d", i), Source: "Alerts", ResourceID: "/subscriptions/s/r", Time: time.Now(),
				Body: fmt.Appendf(nil, `{"n":%d}`, i)}
			if err := tx.AppendEvent(ctx, ev); err != nil {
				return err
			}
			seqs = append(seqs, ev.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var batch []*store.QueueEntry
	for i, seq := range seqs {
		batch = append(batch, &store.QueueEntry{Action: "a/1", Seq: seq, EventID: fmt.Sprintf("ev-%d", i)})
		if i%2 == 0 {
			batch = append(batch, &store.QueueEntry{Action: "a/2", Seq: seq, EventID: fmt.Sprintf("ev-%d", i)})
		}
	}
	// A duplicate, a replayed entry with its own body, an entry of the
	// same batch for another action (its id comes from the log).
	batch = append(batch, &store.QueueEntry{Action: "a/1", Seq: seqs[3], EventID: "ev-3"},
		&store.QueueEntry{Action: "a/3", Seq: seqs[0], EventID: "ev-0", Body: []byte(`{"replayed":true}`)},
		&store.QueueEntry{Action: "a/3", Seq: seqs[1], EventID: `odd"id\`})
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.(*txn).EnqueueBatch(ctx, batch) }); err != nil {
		t.Fatal(err)
	}
	// Enqueuing the same batch again changes nothing.
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.(*txn).EnqueueBatch(ctx, batch) }); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"a/1": 10, "a/2": 5, "a/3": 2}
	sts, err := db.ActionStates(ctx, "a/")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Depth != want[st.Action] {
			t.Errorf("depth of %s = %d, want %d", st.Action, st.Depth, want[st.Action])
		}
	}
	q, err := db.Queued(ctx, "a/1", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for i, e := range q {
		got = append(got, e.Seq)
		if e.EventID != fmt.Sprintf("ev-%d", i) || string(e.Body) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Errorf("entry %d = %+v", i, e)
		}
	}
	if !slices.Equal(got, seqs) {
		t.Fatalf("queued seqs %v, want %v", got, seqs)
	}
	q3, _ := db.Queued(ctx, "a/3", 0, 10)
	if len(q3) != 2 || string(q3[0].Body) != `{"replayed":true}` || q3[1].EventID != "ev-1" || string(q3[1].Body) != `{"n":1}` {
		t.Fatalf("a/3 entries: %+v", q3)
	}
	// Dequeue many at once, with a duplicate and a seq not queued.
	err = db.Update(ctx, func(tx store.Tx) error {
		return tx.Dequeue(ctx, "a/1", []int64{seqs[0], seqs[1], seqs[1], seqs[2], 1 << 40})
	})
	if err != nil {
		t.Fatal(err)
	}
	q, _ = db.Queued(ctx, "a/1", 0, 100)
	if len(q) != 7 || q[0].Seq != seqs[3] {
		t.Fatalf("after dequeue: %d entries, first %d", len(q), q[0].Seq)
	}
	sts, _ = db.ActionStates(ctx, "a/1")
	if sts[0].Depth != 7 {
		t.Fatalf("depth after dequeue = %d, want 7", sts[0].Depth)
	}
}
