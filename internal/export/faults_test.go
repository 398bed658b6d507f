package export_test

// Faults end to end over HTTPS with the real Logic App sink: receivers
// that are down, throttle, hang, reject; automations disabled and deleted;
// a large backlog.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/export"
	"sluice/internal/store"
)

const scopeAll = "/subscriptions/" + sub

func TestReceiverDownThenUpLosesNothingAndKeepsOrder(t *testing.T) {
	h := newHarness(t, export.Options{BatchSize: 10})
	h.rcv.down()
	h.eng.SetExports([]*export.Export{h.export("a1", scopeAll, true, "Assessments")})
	want := h.appendEvents("ev", "rg", "Assessments", 30)
	waitFor(t, "failed attempts while the receiver is down", func() bool {
		hs := h.health("a1")
		return hs[0].Attempts >= 3 && hs[0].QueueDepth == 30
	})
	hs := h.health("a1")
	if hs[0].Delivered != 0 || hs[0].OldestAge <= 0 || !strings.Contains(hs[0].LastError, "connection refused") ||
		strings.Contains(hs[0].LastError, fakeSig) || hs[0].NextAttempt.IsZero() {
		t.Fatalf("health while down = %+v", hs[0])
	}
	h.rcv.up()
	waitFor(t, "30 deliveries", func() bool { return len(h.rcv.received()) >= 30 })
	h.settle()
	if diff := cmp.Diff(want, h.rcv.received()); diff != "" {
		t.Fatalf("deliveries after the receiver came back (-want +got):\n%s", diff)
	}
	hs = h.health("a1")
	if hs[0].Delivered != 30 || hs[0].Retried < 3 || hs[0].DeadLettered != 0 || hs[0].Attempts != 0 || hs[0].QueueDepth != 0 || hs[0].OldestAge != 0 {
		t.Fatalf("health after recovery = %+v", hs[0])
	}
}

func TestRetryAfterIsHonouredOverHTTPS(t *testing.T) {
	h := newHarness(t, export.Options{})
	h.rcv.status = func(n int, id string) (int, http.Header) {
		if n == 1 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
		}
		return http.StatusOK, nil
	}
	h.eng.SetExports([]*export.Export{h.export("a1", scopeAll, true, "Assessments")})
	h.appendEvents("ev", "rg", "Assessments", 2)
	waitFor(t, "2 deliveries", func() bool { return len(h.rcv.received()) == 2 })
	h.rcv.mu.Lock()
	gap := h.rcv.at[1].Sub(h.rcv.at[0])
	seen, at := append([]string(nil), h.rcv.seen...), append([]time.Time(nil), h.rcv.at...)
	h.rcv.mu.Unlock()
	// The backoff alone would retry within 50 ms.
	if gap < time.Second {
		t.Fatalf("retried %v after a 429 with Retry-After: 1 (requests %v at %v; log:\n%s)", gap, seen, at, h.logs.String())
	}
}

func TestSlowReceiverDoesNotDelayOtherActions(t *testing.T) {
	h := newHarness(t, export.Options{BatchSize: 5})
	slow := newReceiver(t)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	slow.block = func(n int, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	h.eng.SetExports([]*export.Export{
		newExport("slow", scopeAll, true, []string{"Assessments"}, slow.uri("slow")),
		newExport("fast", scopeAll, true, []string{"Assessments"}, h.rcv.uri("fast")),
	})
	want := h.appendEvents("ev", "rg", "Assessments", 40)
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the slow receiver never got a request")
	}
	waitFor(t, "the fast action's deliveries", func() bool { return len(h.rcv.received()) == 40 })
	if diff := cmp.Diff(want, h.rcv.received()); diff != "" {
		t.Fatalf("fast receiver (-want +got):\n%s", diff)
	}
	if got := slow.received(); len(got) != 0 {
		t.Fatalf("the slow receiver completed %d requests while blocked", len(got))
	}
	waitFor(t, "the fast queue to empty", func() bool { return h.health("fast")[0].QueueDepth == 0 })
	if d := h.health("slow")[0].QueueDepth; d != 40 {
		t.Fatalf("slow queue depth %d while its receiver hangs, want 40", d)
	}
	close(release)
	waitFor(t, "the slow action's deliveries", func() bool { return len(slow.received()) == 40 })
	if diff := cmp.Diff(want, slow.received()); diff != "" {
		t.Fatalf("slow receiver (-want +got):\n%s", diff)
	}
}

func TestDisabledExportQueuesNothingAndEnablingAppliesFromTheNextEvent(t *testing.T) {
	h := newHarness(t, export.Options{})
	h.eng.SetExports([]*export.Export{h.export("paused", scopeAll, false, "Assessments")})
	h.appendEvents("before", "rg", "Assessments", 5)
	h.settle()
	if got := h.rcv.received(); len(got) != 0 {
		t.Fatalf("a disabled automation delivered %v", got)
	}
	if states, err := h.st.ActionStates(context.Background(), "paused/"); err != nil || len(states) != 0 {
		t.Fatalf("a disabled automation has queues: %+v %v", states, err)
	}
	h.eng.SetExports([]*export.Export{h.export("paused", scopeAll, true, "Assessments")})
	after := h.appendEvents("after", "rg", "Assessments", 3)
	h.settle()
	if diff := cmp.Diff(after, h.rcv.received()); diff != "" {
		t.Fatalf("after enabling (-want +got):\n%s", diff)
	}
}

func TestDeletedExportQueuesAreDroppedAndNothingMoreIsDelivered(t *testing.T) {
	h := newHarness(t, export.Options{BatchSize: 5})
	gone := newReceiver(t)
	gone.status = func(int, string) (int, http.Header) { return http.StatusServiceUnavailable, nil }
	kept := h.export("kept", scopeAll, true, "Assessments")
	h.eng.SetExports([]*export.Export{kept, newExport("gone", scopeAll, true, []string{"Assessments"}, gone.uri("gone"))})
	h.appendEvents("ev", "rg", "Assessments", 10)
	waitFor(t, "the failing queue to fill", func() bool {
		hs := h.health("gone")
		return hs[0].QueueDepth == 10 && hs[0].Attempts >= 1
	})
	// Delete it as the automations API does: out of the engine, queues,
	// retry state and health dropped in a transaction, cache forgotten.
	ctx := context.Background()
	h.eng.SetExports([]*export.Export{kept})
	if err := h.st.Update(ctx, func(tx store.Tx) error { return export.DropAutomation(ctx, tx, "gone") }); err != nil {
		t.Fatal(err)
	}
	h.eng.Forget("gone")
	calls := gone.callCount()
	later := h.appendEvents("later", "rg", "Assessments", 5)
	h.settle() // would time out if anything were still queued for "gone"
	for _, id := range gone.requested() {
		if strings.HasPrefix(id, "later") {
			t.Fatalf("an event logged after the delete reached the deleted automation's receiver: %s", id)
		}
	}
	if n := gone.callCount() - calls; n > 1 {
		t.Fatalf("%d requests reached the deleted automation's receiver after the delete (one batch may be in flight)", n)
	}
	if states, err := h.st.ActionStates(ctx, "gone/"); err != nil || len(states) != 0 {
		t.Fatalf("queue state left for the deleted automation: %+v %v", states, err)
	}
	if _, err := h.st.Get(ctx, export.KindHealth, export.ActionKey("gone", 0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("health left for the deleted automation: %v", err)
	}
	if hs, err := h.eng.Health(ctx, "gone"); err != nil || len(hs) != 0 {
		t.Fatalf("engine health of the deleted automation: %v %v", hs, err)
	}
	got := h.rcv.received()
	if len(got) != 15 || got[14] != later[4] {
		t.Fatalf("the other automation got %v", got)
	}
}

// With the receiver down and a large backlog, the engine reads and holds
// one batch at a time: the backlog stays on disk. Memory is bounded by
// constants (one matched batch, the bounded in-memory hand-over, one
// delivery batch, the store's bounded tail of recent events and read
// cache), not by the backlog.
func TestBacklogStaysOnDiskWhileTheReceiverIsDown(t *testing.T) {
	// Not parallel: other tests' allocations would blur the heap check.
	const (
		pad   = 4096
		batch = 100
		// fixed bounds the memory that does not depend on the backlog:
		// the store's 8 MiB tail and 16 MiB cache, and the engine's
		// batches and hand-over.
		fixed = 40 << 20
	)
	h := newHarness(t, export.Options{BatchSize: batch})
	h.rcv.down()
	h.eng.SetExports([]*export.Export{h.export("a1", scopeAll, true, "Assessments")})
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	queued := 0
	backlog := func(events int) int64 {
		t.Helper()
		for i := 0; i < events/1000; i++ {
			if _, err := appendEvents(h.st, fmt.Sprintf("ev%02d-", queued/1000), "rg", "Assessments", 1000, pad); err != nil {
				t.Fatal(err)
			}
			queued += 1000
			h.eng.Notify()
		}
		calls0, _ := h.stats.get()
		// Slow under -race: the store spends ~1 ms per queue entry there.
		waitWithin(t, 2*time.Minute, "the whole backlog queued and a few failed attempts", func() bool {
			calls, _ := h.stats.get()
			hs := h.health("a1")
			return hs[0].QueueDepth == int64(queued) && calls >= calls0+3
		})
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		growth := int64(m.HeapAlloc) - int64(before.HeapAlloc)
		t.Logf("backlog %d events (%d MB of bodies); heap growth %d KB", queued, queued*pad>>20, growth>>10)
		return growth
	}
	// A backlog three times what the engine and store may hold: a heap
	// growing with it would pass the bound by far.
	for _, events := range []int{10000, 20000} {
		if growth := backlog(events); growth > fixed {
			t.Fatalf("heap grew by %d MB with a %d MB backlog, more than the %d MB the engine and store may hold: the backlog is held in memory",
				growth>>20, queued*pad>>20, fixed>>20)
		}
	}
	if _, maxBatch := h.stats.get(); maxBatch > batch {
		t.Fatalf("the sink was handed a batch of %d, more than BatchSize %d", maxBatch, batch)
	}
	if n, err := h.st.Backlog(context.Background()); err != nil || n != int64(queued) {
		t.Fatalf("backlog on disk = %d (%v), want %d", n, err, queued)
	}
	if hs := h.health("a1"); hs[0].OldestAge <= 0 || hs[0].Delivered != 0 {
		t.Fatalf("health = %+v", hs[0])
	}
}
