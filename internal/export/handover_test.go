package export_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/export"
	"sluice/internal/sink"
	"sluice/internal/sink/logicapp"
	"sluice/internal/store"
	"sluice/internal/store/sqlite"
)

// countingStore is the real store, counting the queue reads delivery makes.
type countingStore struct {
	store.Store
	queued atomic.Int64
}

func (c *countingStore) Queued(ctx context.Context, action string, after int64, limit int) ([]*store.QueueEntry, error) {
	c.queued.Add(1)
	return c.Store.Queued(ctx, action, after, limit)
}

// TestHandOverKeepsOrderThroughBurstsAndFailures drives one action through
// a burst larger than the memory hand-over keeps (so delivery reads the
// store), retryable failures (which send it back to the store) and a
// trickle of single events (delivered from memory, without reading the
// queue back): everything arrives once, in order.
func TestHandOverKeepsOrderThroughBurstsAndFailures(t *testing.T) {
	rcv := newReceiver(t)
	gate := make(chan struct{})
	var once sync.Once
	rcv.block = func(n int, _ *http.Request) {
		if n == 1 {
			<-gate
		}
	}
	var failedOnce atomic.Bool
	rcv.status = func(n int, id string) (int, http.Header) {
		switch {
		case n == 20:
			return http.StatusServiceUnavailable, nil
		case n == 40:
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"0"}}
		case id == "trickle07-000" && failedOnce.CompareAndSwap(false, true):
			// A failure while delivering from memory.
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	}
	t.Cleanup(func() { once.Do(func() { close(gate) }) })
	pool := rcvPool(rcv)
	raw, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	st := &countingStore{Store: raw}
	calls := atomic.Int64{}
	factory := func(a *export.Action) (export.Sink, error) {
		s, err := logicapp.New(logicapp.Options{URI: a.Config.(string), RootCAs: pool, Timeout: 10 * time.Second})
		if err != nil {
			return nil, err
		}
		return countingSink{Sink: s, calls: &calls}, nil
	}
	eng := export.New(st, factory, slog.New(slog.DiscardHandler), export.Options{BatchSize: 5, Poll: 20 * time.Millisecond,
		Backoff: export.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; raw.Close() })
	eng.SetExports([]*export.Export{newExport("a1", "/subscriptions/"+sub, true, []string{"Assessments"}, rcv.uri("a1"))})

	var want []string
	appendBatch := func(prefix string, n int) {
		t.Helper()
		ids, err := appendEvents(st, prefix, "rg", "Assessments", n, 0)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ids...)
		eng.Notify()
	}
	// A burst while the receiver holds the first request: more than the
	// 4 batches memory keeps for an action.
	for i := range 12 {
		appendBatch(fmt.Sprintf("burst%02d", i), 6)
	}
	once.Do(func() { close(gate) })
	waitFor(t, "the burst", func() bool { return len(rcv.received()) >= len(want) })
	settleStore(t, st)

	// A trickle: each event is delivered from memory.
	readsBefore, callsBefore := st.queued.Load(), calls.Load()
	for i := range 5 {
		appendBatch(fmt.Sprintf("trickle%02d", i), 1)
		waitFor(t, "the trickle", func() bool { return len(rcv.received()) >= len(want) })
	}
	settleStore(t, st)
	if reads, batches := st.queued.Load()-readsBefore, calls.Load()-callsBefore; batches < 5 || reads > 0 {
		t.Errorf("trickle of 5 events: %d batches sent, %d queue reads; want ≥ 5 batches and no read (memory hand-over)", batches, reads)
	}
	// A failure while delivering from memory: the retry reads the store.
	for i := 5; i < 10; i++ {
		appendBatch(fmt.Sprintf("trickle%02d", i), 1)
	}
	waitFor(t, "the rest of the trickle", func() bool { return len(rcv.received()) >= len(want) })
	settleStore(t, st)
	if diff := cmp.Diff(want, rcv.received()); diff != "" {
		t.Fatalf("delivered (-want +got):\n%s", diff)
	}
	hs, err := eng.Health(context.Background(), "a1")
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || hs[0].Delivered != int64(len(want)) || hs[0].Retried != 3 || hs[0].QueueDepth != 0 {
		t.Fatalf("health = %+v; want %d delivered, 3 retried, nothing queued", hs[0], len(want))
	}
}

type countingSink struct {
	export.Sink
	calls *atomic.Int64
}

func (s countingSink) WriteBatch(ctx context.Context, batch []sink.Message) error {
	s.calls.Add(1)
	return s.Sink.WriteBatch(ctx, batch)
}

func rcvPool(r *receiver) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(r.srv.Certificate())
	return pool
}

// settleStore waits until every event is matched and every queue empty.
func settleStore(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	waitFor(t, "every queue to drain", func() bool {
		n, err := st.Backlog(ctx)
		return err == nil && n == 0
	})
}

// failingStore is the real store whose next writes of the export cursor
// fail (the matcher's enqueue transaction then rolls back).
type failingStore struct {
	store.Store
	fail atomic.Int64
}

func (f *failingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.Update(ctx, func(tx store.Tx) error { return fn(failingTx{Tx: tx, f: f}) })
}

type failingTx struct {
	store.Tx
	f *failingStore
}

func (t failingTx) Put(ctx context.Context, rec *store.Record) error {
	if rec.Kind == "meta" && rec.Key == "export-cursor" && t.f.fail.Add(-1) >= 0 {
		return errors.New("injected failure")
	}
	return t.Tx.Put(ctx, rec)
}

// TestFailedEnqueueAfterHandOverLosesNothing: entries handed to delivery
// while their enqueue commits, and that commit fails. The batch may have
// gone out already; it is not recorded, the matcher matches the events
// again and the action reads the store: every event arrives (some twice),
// and the queue ends empty.
func TestFailedEnqueueAfterHandOverLosesNothing(t *testing.T) {
	rcv := newReceiver(t)
	raw, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	st := &failingStore{Store: raw}
	pool := rcvPool(rcv)
	factory := func(a *export.Action) (export.Sink, error) {
		return logicapp.New(logicapp.Options{URI: a.Config.(string), RootCAs: pool, Timeout: 10 * time.Second})
	}
	eng := export.New(st, factory, slog.New(slog.DiscardHandler), export.Options{BatchSize: 5, Poll: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; raw.Close() })
	eng.SetExports([]*export.Export{newExport("a1", "/subscriptions/"+sub, true, []string{"Assessments"}, rcv.uri("a1"))})

	first, err := appendEvents(st, "first", "rg", "Assessments", 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	eng.Notify()
	waitFor(t, "the first events", func() bool { return containsAll(rcv.received(), first) })
	settleStore(t, st)
	// The next enqueue fails once.
	st.fail.Store(1)
	next, err := appendEvents(st, "next", "rg", "Assessments", 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	eng.Notify()
	all := append(append([]string{}, first...), next...)
	waitFor(t, "every event after the failed enqueue", func() bool { return containsAll(rcv.received(), all) })
	// The batch can reach the receiver before the writer runs the enqueue
	// transaction (hand-over at submit): wait for the failure to happen.
	waitFor(t, "the injected failure", func() bool { return st.fail.Load() <= 0 })
	// The matcher matches the events again (after its pause on errors),
	// and the action delivers them from the store.
	waitFor(t, "the matcher's cursor to pass the events", func() bool {
		last, err := st.LastSeq(ctx)
		if err != nil {
			return false
		}
		rec, err := st.Get(ctx, "meta", "export-cursor")
		var cursor int64
		return err == nil && json.Unmarshal(rec.Body, &cursor) == nil && cursor >= last
	})
	settleStore(t, st)
	// In order, possibly with the failed batch twice.
	got := slices.Compact(rcv.received())
	var dedup []string
	seen := map[string]bool{}
	for _, id := range got {
		if !seen[id] {
			seen[id] = true
			dedup = append(dedup, id)
		}
	}
	if diff := cmp.Diff(all, dedup); diff != "" {
		t.Fatalf("first deliveries (-want +got):\n%s", diff)
	}
	// The action delivers from memory again afterwards.
	more, err := appendEvents(st, "more", "rg", "Assessments", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	eng.Notify()
	waitFor(t, "events after the recovery", func() bool { return containsAll(rcv.received(), more) })
	settleStore(t, st)
}
