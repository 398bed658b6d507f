package export_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"sluice/internal/store"
	"sluice/internal/store/sqlite"
)

// outsideStore is a real SQLite store that lives outside a synctest bubble,
// reached from inside it.
//
// Why: opened inside the bubble, the store's background goroutines run on
// the fake clock, and its WAL checkpointer ticks every 250 ms — 345,600
// checkpoints in the fake day a MaxAge test needs, which takes minutes
// under -race. Outside, those goroutines keep real time.
//
// How: every call is handed to a goroutine started outside the bubble
// (through channels made outside it, so no outside goroutine ever touches a
// channel of the bubble), with the caller's context detached from its
// cancellation (a bubble's Done channel must not be selected on outside).
// A bubble goroutine waiting for an answer is not durably blocked, so fake
// time stands still while the store works — exactly as for real I/O.
// Update's fn still runs in the store's writer goroutine on the real
// transaction.
type outsideStore struct {
	st      store.Store
	calls   chan func()
	replies chan chan struct{}
}

var _ store.Store = (*outsideStore)(nil)

// inBubble opens a store outside a bubble and runs f inside one with it.
// f must stop everything it started before it returns (t.Cleanup inside
// the bubble runs in time).
func inBubble(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	o := &outsideStore{st: st, calls: make(chan func()), replies: make(chan chan struct{}, 64)}
	for range cap(o.replies) {
		o.replies <- make(chan struct{}, 1)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for fn := range o.calls {
			go fn()
		}
	}()
	defer func() {
		close(o.calls)
		<-stopped
		st.Close()
	}()
	synctest.Test(t, func(t *testing.T) { f(t, o) })
}

// do runs fn outside the bubble and waits for it.
func (o *outsideStore) do(fn func()) {
	reply := <-o.replies
	o.calls <- func() { fn(); reply <- struct{}{} }
	<-reply
	o.replies <- reply
}

func detach(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

func (o *outsideStore) Get(ctx context.Context, kind, key string) (rec *store.Record, err error) {
	o.do(func() { rec, err = o.st.Get(detach(ctx), kind, key) })
	return
}

func (o *outsideStore) List(ctx context.Context, opts store.ListOptions) (recs []*store.Record, err error) {
	o.do(func() { recs, err = o.st.List(detach(ctx), opts) })
	return
}

func (o *outsideStore) Count(ctx context.Context, opts store.ListOptions) (n int, err error) {
	o.do(func() { n, err = o.st.Count(detach(ctx), opts) })
	return
}

func (o *outsideStore) Queued(ctx context.Context, action string, after int64, limit int) (es []*store.QueueEntry, err error) {
	o.do(func() { es, err = o.st.Queued(detach(ctx), action, after, limit) })
	return
}

func (o *outsideStore) DueActions(ctx context.Context, now time.Time, limit int) (as []string, err error) {
	o.do(func() { as, err = o.st.DueActions(detach(ctx), now, limit) })
	return
}

func (o *outsideStore) ActionStates(ctx context.Context, prefix string) (ss []*store.ActionState, err error) {
	o.do(func() { ss, err = o.st.ActionStates(detach(ctx), prefix) })
	return
}

func (o *outsideStore) OldestQueued(ctx context.Context, action string) (t time.Time, ok bool, err error) {
	o.do(func() { t, ok, err = o.st.OldestQueued(detach(ctx), action) })
	return
}

func (o *outsideStore) DeadLetters(ctx context.Context, action string, afterID int64, limit int) (ds []*store.DeadLetter, err error) {
	o.do(func() { ds, err = o.st.DeadLetters(detach(ctx), action, afterID, limit) })
	return
}

func (o *outsideStore) DeadLetter(ctx context.Context, id int64) (d *store.DeadLetter, err error) {
	o.do(func() { d, err = o.st.DeadLetter(detach(ctx), id) })
	return
}

func (o *outsideStore) Backlog(ctx context.Context) (n int64, err error) {
	o.do(func() { n, err = o.st.Backlog(detach(ctx)) })
	return
}

func (o *outsideStore) Update(ctx context.Context, fn func(store.Tx) error) (err error) {
	o.do(func() { err = o.st.Update(detach(ctx), fn) })
	return
}

func (o *outsideStore) Events(ctx context.Context, after int64, limit int) (evs []*store.Event, err error) {
	o.do(func() { evs, err = o.st.Events(detach(ctx), after, limit) })
	return
}

func (o *outsideStore) LastSeq(ctx context.Context) (n int64, err error) {
	o.do(func() { n, err = o.st.LastSeq(detach(ctx)) })
	return
}

func (o *outsideStore) PruneEvents(ctx context.Context, before time.Time) (n int64, err error) {
	o.do(func() { n, err = o.st.PruneEvents(detach(ctx), before) })
	return
}

func (o *outsideStore) Ping(ctx context.Context) (err error) {
	o.do(func() { err = o.st.Ping(detach(ctx)) })
	return
}

// Close is a no-op: inBubble closes the store after the bubble ended.
func (o *outsideStore) Close() error { return nil }
