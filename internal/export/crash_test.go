package export_test

// Crash safety at the engine level: an engine stopped abruptly (no drain,
// the request in flight cancelled) and its store closed; a new engine over
// the reopened store delivers everything still queued, at least once, in
// order per action.

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/export"
	"sluice/internal/store"
)

func TestCrashMidStreamThenRestartDeliversEverything(t *testing.T) {
	const batch = 10
	h := newHarness(t, export.Options{BatchSize: batch})
	a, b := h.rcv, newReceiver(t)
	reached := make(chan struct{})
	var once sync.Once
	a.block = func(n int, r *http.Request) {
		if n == 25 {
			// Hang mid-batch until the engine goes away.
			once.Do(func() { close(reached) })
			<-r.Context().Done()
		}
	}
	exports := func() []*export.Export {
		return []*export.Export{
			newExport("a", scopeAll, true, []string{"Assessments"}, a.uri("a")),
			newExport("b", scopeAll, true, []string{"Assessments"}, b.uri("b")),
		}
	}
	h.eng.SetExports(exports())
	want := h.appendEvents("ev", "rg", "Assessments", 100)
	select {
	case <-reached:
	case <-time.After(20 * time.Second):
		t.Fatal("the receiver never reached request 25")
	}
	h.stop() // cancel without drain, then close the store
	firstA, firstB := a.received(), b.received()
	if len(firstA) != 24 {
		t.Fatalf("a accepted %d events before the crash, want 24", len(firstA))
	}

	h.open()
	// Events logged while the engine was down, before the automations are
	// loaded again: nothing may be matched or dropped before they are (see
	// also TestFakeTimeRestartedEngineWaitsForItsAutomations).
	later, err := appendEvents(h.st, "later", "rg", "Assessments", 30, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.eng.SetExports(exports())
	all := append(append([]string{}, want...), later...)
	waitFor(t, "every event at both receivers", func() bool {
		return containsAll(a.received(), all) && containsAll(b.received(), all)
	})
	h.settle()
	for name, r := range map[string]struct{ first, got []string }{"a": {firstA, a.received()}, "b": {firstB, b.received()}} {
		checkAtLeastOnceInOrder(t, name, all, r.first, r.got, batch)
	}
}

func containsAll(got, want []string) bool {
	seen := map[string]bool{}
	for _, g := range got {
		seen[g] = true
	}
	for _, w := range want {
		if !seen[w] {
			return false
		}
	}
	return true
}

// checkAtLeastOnceInOrder checks that got is first (what was delivered
// before the crash, a prefix of all) followed by an in-order run of all
// that restarts no later than where first stopped: nothing lost, order
// kept, duplicates only from the batch in flight.
func checkAtLeastOnceInOrder(t *testing.T, name string, all, first, got []string, batch int) {
	t.Helper()
	if !slices.Equal(first, all[:len(first)]) {
		t.Fatalf("%s before the crash: %v is not a prefix of the log", name, first)
	}
	if !slices.Equal(got[:len(first)], first) {
		t.Fatalf("%s: deliveries before the crash changed", name)
	}
	rest := got[len(first):]
	if len(rest) == 0 {
		if len(first) != len(all) {
			t.Fatalf("%s: nothing delivered after the restart", name)
		}
		return
	}
	j := slices.Index(all, rest[0])
	if j < 0 || j > len(first) {
		t.Fatalf("%s resumed at %s (index %d) after %d deliveries: events were skipped", name, rest[0], j, len(first))
	}
	if len(first)-j > batch {
		t.Fatalf("%s redelivered %d events, more than a batch (%d)", name, len(first)-j, batch)
	}
	if !slices.Equal(rest, all[j:]) {
		t.Fatalf("%s after the restart: %s, want %s", name, strings.Join(rest, ","), strings.Join(all[j:], ","))
	}
}

// A new engine does nothing with the queues or the log before it is given
// the automations: it neither drops the queues as orphans nor matches
// events against an empty set.
func TestFakeTimeRestartedEngineWaitsForItsAutomations(t *testing.T) {
	inBubble(t, func(t *testing.T, st store.Store) {
		var mu sync.Mutex
		up := false
		f := newFakeEnv(t, st, export.Options{Poll: time.Minute}, func(int, string) (int, http.Header) {
			mu.Lock()
			defer mu.Unlock()
			if !up {
				return 0, nil
			}
			return http.StatusOK, nil
		})
		f.exportAll("a1")
		first := f.appendEvents("ev", 5)
		time.Sleep(time.Minute)
		if h := f.health("a1"); h.QueueDepth != 5 {
			t.Fatalf("queue depth %d before the restart", h.QueueDepth)
		}
		// Crash: a new engine over the same store, automations not given yet.
		f.stop()
		eng, stop := f.runEngine(export.Options{Poll: time.Minute})
		defer stop()
		f.eng = eng
		later, err := appendEvents(f.st, "later", "rg", "Assessments", 3, 0)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		up = true
		mu.Unlock()
		time.Sleep(10 * time.Minute)
		states, err := f.st.ActionStates(context.Background(), "a1/")
		if err != nil || len(states) != 1 || states[0].Depth != 5 {
			t.Fatalf("queue before the automations are given: %+v %v", states, err)
		}
		eng.SetExports([]*export.Export{newExport("a1", scopeAll, true, []string{"Assessments"}, f.uri("a1"))})
		time.Sleep(export.DefaultBackoff.Max + time.Minute)
		var got []string
		for _, a := range f.rcv.log() {
			if a.status == http.StatusOK {
				got = append(got, a.id)
			}
		}
		if want := append(first, later...); !slices.Equal(got, want) {
			t.Fatalf("delivered %v, want %v", got, want)
		}
	})
}
