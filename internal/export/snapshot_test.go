package export_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/export"
	"sluice/internal/store"
)

// stateSnapshotter is a fixed current state: n records per subscription and
// source, emitted as snapshot events (isSnapshot true). It stands in for
// the security state service, which is not what these tests are about.
type stateSnapshotter struct {
	mu    sync.Mutex
	n     int
	runs  int
	calls []snapCall
}

type snapCall struct {
	at           time.Time
	subscription string
	source       string
}

func (s *stateSnapshotter) Snapshot(ctx context.Context, subscription, source string, emit func(*store.Event) error) error {
	s.mu.Lock()
	s.runs++
	run := s.runs
	s.calls = append(s.calls, snapCall{at: time.Now(), subscription: subscription, source: source})
	s.mu.Unlock()
	for i := 0; i < s.n; i++ {
		res := fmt.Sprintf("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm%d", subscription, i)
		body, _ := json.Marshal(map[string]any{"id": res + "/providers/Microsoft.Security/assessments/snap",
			"isSnapshot": true, "source": source, "n": i})
		ev := &store.Event{ID: fmt.Sprintf("snap-%d-%s-%d", run, source, i), Source: source, Subscription: subscription,
			ResourceGroup: "rg", ResourceID: res, Time: time.Now(), Body: body}
		if err := emit(ev); err != nil {
			return err
		}
	}
	return nil
}

func (s *stateSnapshotter) log() []snapCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]snapCall(nil), s.calls...)
}

// deliveredTo groups the receiver's accepted requests by workflow name.
func (m *memReceiver) deliveredTo() map[string][]attempt {
	out := map[string][]attempt{}
	for _, a := range m.log() {
		if a.status == http.StatusOK {
			out[a.workflow] = append(out[a.workflow], a)
		}
	}
	return out
}

// The weekly snapshot runs at the configured start and every interval
// after, for enabled automations with a snapshot source only, delivered to
// them only; a restarted scheduler does not repeat a slot already taken.
func TestFakeTimeSchedulerFiresAtStartAndEveryInterval(t *testing.T) {
	inBubble(t, func(t *testing.T, st store.Store) {
		// No polling needed: a snapshot notifies the engine.
		f := newFakeEnv(t, st, export.Options{Poll: 24 * time.Hour}, nil)
		snap := &stateSnapshotter{n: 3}
		start := f.start.Add(30 * time.Minute)
		scope := "/subscriptions/" + sub
		f.eng.SetExports([]*export.Export{
			newExport("weekly", scope, true, []string{"AssessmentsSnapshot", "secureScoresSnapshot"}, f.uri("weekly")),
			newExport("stream", scope, true, []string{"Assessments"}, f.uri("stream")),
			newExport("off", scope, false, []string{"AssessmentsSnapshot"}, f.uri("off")),
		})
		schedule := export.Schedule{Interval: time.Hour, Start: start}
		run := func() (stop func()) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				(&export.Scheduler{Engine: f.eng, Source: snap, Schedule: schedule, Check: 7 * time.Minute}).Run(ctx)
				close(done)
			}()
			return func() { cancel(); <-done }
		}
		stop := run()
		time.Sleep(29 * time.Minute)
		if n := len(snap.log()); n != 0 || len(f.rcv.log()) != 0 {
			t.Fatalf("before the start: %d snapshot calls, %d deliveries", n, len(f.rcv.log()))
		}
		time.Sleep(2 * time.Minute)
		calls := snap.log()
		if len(calls) != 2 {
			t.Fatalf("snapshot calls at the start: %+v, want 2", calls)
		}
		sources := []string{calls[0].source, calls[1].source}
		sort.Strings(sources)
		if sources[0] != "AssessmentsSnapshot" || sources[1] != "SecureScoresSnapshot" {
			t.Fatalf("snapshot sources %v", sources)
		}
		for _, c := range calls {
			if !c.at.Equal(start) || !strings.EqualFold(c.subscription, sub) {
				t.Fatalf("snapshot call %+v, want at %v for %s", c, start, sub)
			}
		}
		got := f.rcv.deliveredTo()
		if len(got["weekly"]) != 6 || len(got["stream"]) != 0 || len(got["off"]) != 0 {
			t.Fatalf("deliveries after the first slot: weekly %d, stream %d, off %d", len(got["weekly"]), len(got["stream"]), len(got["off"]))
		}
		for _, a := range got["weekly"] {
			var body map[string]any
			if err := json.Unmarshal([]byte(a.body), &body); err != nil || body["isSnapshot"] != true {
				t.Fatalf("snapshot body %s (%v)", a.body, err)
			}
			if a.at.Sub(start) > time.Second {
				t.Fatalf("snapshot delivered %v after the slot", a.at.Sub(start))
			}
		}
		time.Sleep(time.Hour)
		calls = snap.log()
		if len(calls) != 4 || !calls[2].at.Equal(start.Add(time.Hour)) || !calls[3].at.Equal(start.Add(time.Hour)) {
			t.Fatalf("calls after the second slot: %+v", calls)
		}
		// A new scheduler (a restart) finds the slot taken.
		stop()
		stop = run()
		defer stop()
		time.Sleep(50 * time.Minute)
		if n := len(snap.log()); n != 4 {
			t.Fatalf("a restarted scheduler took %d snapshots before the next slot", n-4)
		}
		time.Sleep(10 * time.Minute)
		calls = snap.log()
		if len(calls) != 6 || !calls[5].at.Equal(start.Add(2*time.Hour)) {
			t.Fatalf("calls after the third slot: %+v", calls)
		}
		if n := len(f.rcv.deliveredTo()["weekly"]); n != 18 {
			t.Fatalf("weekly got %d snapshot events after three slots, want 18", n)
		}
	})
}
