package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"sluice/internal/store"
)

// logEvents logs n events and returns their sequence numbers.
func logEvents(t *testing.T, s store.Store, n int) []int64 {
	t.Helper()
	var seqs []int64
	err := s.Update(ctxT(t), func(tx store.Tx) error {
		for i := range n {
			ev := &store.Event{ID: fmt.Sprintf("ev-%d-%d", time.Now().UnixNano(), i), Source: "Alerts",
				ResourceID: fmt.Sprintf("/subscriptions/s/resourceGroups/rg/providers/P/t/r%d", i), Time: time.Now(),
				Body: fmt.Appendf(nil, `{"n":%d}`, i)}
			if err := tx.AppendEvent(context.Background(), ev); err != nil {
				return err
			}
			seqs = append(seqs, ev.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("append events: %v", err)
	}
	return seqs
}

func enqueue(t *testing.T, s store.Store, action string, seqs ...int64) {
	t.Helper()
	err := s.Update(ctxT(t), func(tx store.Tx) error {
		for _, seq := range seqs {
			if err := tx.Enqueue(context.Background(), &store.QueueEntry{Action: action, Seq: seq, EventID: fmt.Sprint("id-", seq)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
}

func depth(t *testing.T, s store.Store, prefix string) map[string]int64 {
	t.Helper()
	sts, err := s.ActionStates(ctxT(t), prefix)
	if err != nil {
		t.Fatalf("action states: %v", err)
	}
	out := map[string]int64{}
	for _, st := range sts {
		out[st.Action] = st.Depth
	}
	return out
}

// testQueues: entries come back in sequence order with their event's
// body, enqueue is idempotent, depth and backlog follow enqueue and
// dequeue, and retry state keeps an action out of DueActions until due.
func testQueues(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	seqs := logEvents(t, s, 5)
	enqueue(t, s, "a/actions/0", seqs[3], seqs[0], seqs[1], seqs[2], seqs[4])
	enqueue(t, s, "a/actions/0", seqs[0]) // again: ignored
	enqueue(t, s, "b/actions/0", seqs[1])
	q, err := s.Queued(ctx, "a/actions/0", 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 3 || q[0].Seq != seqs[0] || q[1].Seq != seqs[1] || q[2].Seq != seqs[2] {
		t.Fatalf("queued = %+v, want the first three in sequence order", q)
	}
	if string(q[1].Body) != `{"n":1}` || q[1].Source != "Alerts" || q[1].ResourceID == "" || q[1].EventID != fmt.Sprint("id-", seqs[1]) {
		t.Errorf("entry = %+v, want the event's body, source and resource", q[1])
	}
	if d := depth(t, s, ""); d["a/actions/0"] != 5 || d["b/actions/0"] != 1 {
		t.Errorf("depths = %v", d)
	}
	if n, err := s.Backlog(ctx); err != nil || n != 6 {
		t.Errorf("backlog = %d, %v; want 6", n, err)
	}
	if oldest, ok, err := s.OldestQueued(ctx, "a/actions/0"); err != nil || !ok || oldest.IsZero() {
		t.Errorf("oldest = %v %v %v", oldest, ok, err)
	}
	now := time.Now()
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Dequeue(context.Background(), "a/actions/0", []int64{seqs[0], seqs[1], seqs[1]}); err != nil {
			return err
		}
		return tx.SetActionState(context.Background(), &store.ActionState{Action: "b/actions/0", Attempts: 2,
			NextAttempt: now.Add(time.Hour), FirstFailure: now, LastError: "503"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := depth(t, s, "a/"); d["a/actions/0"] != 3 || len(d) != 1 {
		t.Errorf("depths after dequeue = %v, want a at 3 (a repeated seq counts once)", d)
	}
	due, err := s.DueActions(ctx, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0] != "a/actions/0" {
		t.Errorf("due = %v, want only a (b waits an hour)", due)
	}
	sts, err := s.ActionStates(ctx, "b/")
	if err != nil || len(sts) != 1 || sts[0].Attempts != 2 || sts[0].LastError != "503" || sts[0].Depth != 1 ||
		!sts[0].NextAttempt.Equal(now.Add(time.Hour).Truncate(time.Nanosecond)) {
		t.Errorf("state of b = %+v, %v", sts, err)
	}
}

// testDeadLettersAndDrop: dead letters page by id, read back whole, delete
// once; DropQueues removes an automation's queues, state and dead letters
// and leaves its neighbours (same key prefix, other automation) alone.
func testDeadLettersAndDrop(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	seqs := logEvents(t, s, 3)
	enqueue(t, s, "auto1/actions/0", seqs...)
	enqueue(t, s, "auto10/actions/0", seqs[0])
	var ids []int64
	err := s.Update(ctx, func(tx store.Tx) error {
		for i, action := range []string{"auto1/actions/0", "auto1/actions/0", "auto10/actions/0"} {
			d := &store.DeadLetter{Action: action, Seq: seqs[i], EventID: fmt.Sprint("id-", i), Source: "Alerts",
				Reason: "400 Bad Request", Attempts: 1, Body: []byte(`{"dead":true}`)}
			if err := tx.AddDeadLetter(context.Background(), d); err != nil {
				return err
			}
			ids = append(ids, d.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.DeadLetters(ctx, "auto1/actions/0", 0, 1)
	if err != nil || len(page) != 1 || page[0].ID != ids[0] {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	page, err = s.DeadLetters(ctx, "auto1/actions/0", page[0].ID, 10)
	if err != nil || len(page) != 1 || page[0].ID != ids[1] {
		t.Fatalf("second page = %+v, %v", page, err)
	}
	d, err := s.DeadLetter(ctx, ids[1])
	if err != nil || d.Reason != "400 Bad Request" || string(d.Body) != `{"dead":true}` || d.FailedAt.IsZero() {
		t.Errorf("dead letter = %+v, %v", d, err)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		ok, err := tx.DeleteDeadLetter(context.Background(), ids[1])
		if err != nil || !ok {
			return fmt.Errorf("first delete = %v, %v", ok, err)
		}
		if ok, err := tx.DeleteDeadLetter(context.Background(), ids[1]); err != nil || ok {
			return fmt.Errorf("second delete = %v, %v", ok, err)
		}
		return tx.DropQueues(context.Background(), "auto1/")
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := depth(t, s, "auto"); len(d) != 1 || d["auto10/actions/0"] != 1 {
		t.Errorf("states after drop = %v, want only auto10", d)
	}
	if left, err := s.DeadLetters(ctx, "auto1/actions/0", 0, 10); err != nil || len(left) != 0 {
		t.Errorf("auto1 dead letters after drop = %+v, %v", left, err)
	}
	if left, err := s.DeadLetters(ctx, "auto10/actions/0", 0, 10); err != nil || len(left) != 1 {
		t.Errorf("auto10 dead letters after drop = %+v, %v", left, err)
	}
	if n, err := s.Backlog(ctx); err != nil || n != 1 {
		t.Errorf("backlog after drop = %d, %v", n, err)
	}
}
