package export_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/export"
	"sluice/internal/sink/logicapp"
	"sluice/internal/store"
	"sluice/internal/store/sqlite"
)

const sub = "11111111-2222-3333-4444-555555555555"

// receiver is a loopback HTTPS Logic App trigger that records what it gets
// and answers with a scripted status.
type receiver struct {
	mu     sync.Mutex
	got    []string // event ids in arrival order
	bodies map[string]string
	status func(n int, id string) (int, http.Header)
	calls  int
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{bodies: map[string]string{}}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id := req.Header.Get(logicapp.HeaderEventID)
		r.mu.Lock()
		r.calls++
		n := r.calls
		status := http.StatusOK
		var hdr http.Header
		if r.status != nil {
			status, hdr = r.status(n, id)
		}
		if status < 300 {
			r.got = append(r.got, id)
			r.bodies[id] = string(body)
		}
		r.mu.Unlock()
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

type harness struct {
	t      *testing.T
	st     store.Store
	eng    *export.Engine
	rcv    *receiver
	cancel context.CancelFunc
	done   chan struct{}
}

func newHarness(t *testing.T, opts export.Options) *harness {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	factory := func(a *export.Action) (export.Sink, error) {
		return logicapp.New(logicapp.Options{URI: a.Config.(string), Transport: rcv.srv.Client().Transport})
	}
	if opts.Poll == 0 {
		opts.Poll = 20 * time.Millisecond
	}
	if opts.Backoff.Initial == 0 {
		opts.Backoff = export.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond}
	}
	eng := export.New(st, factory, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, st: st, eng: eng, rcv: rcv, cancel: cancel, done: make(chan struct{})}
	go func() { eng.Run(ctx); close(h.done) }()
	t.Cleanup(func() { cancel(); <-h.done; st.Close() })
	return h
}

func (h *harness) export(key, scope string, enabled bool, sources ...string) *export.Export {
	x := &export.Export{Key: key, ID: key, Subscription: sub, Enabled: enabled, Scopes: []string{scope}, Sources: sources}
	x.Actions = []*export.Action{{Key: export.ActionKey(key, 0), Type: "LogicApp",
		Config: h.rcv.srv.URL + "/workflows/x/triggers/manual/paths/invoke?sig=SECRETSIG", Fingerprint: "1",
		Secrets: []string{"SECRETSIG"}}}
	return x
}

// appendEvents writes n events for resources in resource group rg.
func (h *harness) appendEvents(prefix, rg, source string, n int) []string {
	h.t.Helper()
	var ids []string
	err := h.st.Update(context.Background(), func(tx store.Tx) error {
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("%s-%03d", prefix, i)
			res := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/vm%d", sub, rg, i)
			body, _ := json.Marshal(map[string]any{"id": res + "/providers/Microsoft.Security/assessments/x", "n": i, "Severity": "High"})
			ev := &store.Event{ID: id, Source: source, Subscription: sub, ResourceGroup: rg, ResourceID: res, Body: body}
			if err := tx.AppendEvent(context.Background(), ev); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.eng.Notify()
	return ids
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeliversInOrderWithEventIDHeader(t *testing.T) {
	h := newHarness(t, export.Options{BatchSize: 7})
	h.eng.SetExports([]*export.Export{h.export("a1", "/subscriptions/"+sub, true, "Assessments")})
	want := h.appendEvents("ev", "rg1", "Assessments", 50)
	waitFor(t, "50 deliveries", func() bool { return len(h.rcv.received()) >= 50 })
	if diff := cmp.Diff(want, h.rcv.received()); diff != "" {
		t.Fatalf("delivery order (-want +got):\n%s", diff)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(h.rcv.bodies["ev-007"]), &body); err != nil || body["n"] != float64(7) {
		t.Fatalf("body of ev-007 = %v (%v)", body, err)
	}
	waitFor(t, "health to show 50 delivered", func() bool {
		hs, err := h.eng.Health(context.Background(), "a1")
		return err == nil && len(hs) == 1 && hs[0].Delivered == 50 && hs[0].QueueDepth == 0
	})
}

func TestScopeSourceAndEnabledFiltering(t *testing.T) {
	h := newHarness(t, export.Options{})
	rgScope := "/subscriptions/" + sub + "/resourceGroups/RG-A"
	h.eng.SetExports([]*export.Export{
		h.export("rg-only", rgScope, true, "Assessments"),
		h.export("disabled", "/subscriptions/"+sub, false, "Assessments"),
		h.export("alerts-only", "/subscriptions/"+sub, true, "Alerts"),
	})
	inA := h.appendEvents("a", "rg-a", "Assessments", 3) // case differs from the scope: still inside
	h.appendEvents("b", "rg-b", "Assessments", 3)
	alerts := h.appendEvents("al", "rg-b", "Alerts", 2)
	waitFor(t, "5 deliveries", func() bool { return len(h.rcv.received()) >= 5 })
	time.Sleep(200 * time.Millisecond) // let anything wrongly matched arrive too
	got := h.rcv.received()
	want := append(append([]string{}, inA...), alerts...)
	if diff := cmp.Diff(want, got, sortStrings()); diff != "" {
		t.Fatalf("delivered (-want +got):\n%s", diff)
	}
	states, err := h.st.ActionStates(context.Background(), "disabled/")
	if err != nil || len(states) != 0 {
		t.Fatalf("a disabled automation queued something: %v %v", states, err)
	}
}

func sortStrings() cmp.Option {
	return cmp.Transformer("sort", func(in []string) []string {
		out := append([]string(nil), in...)
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if out[j] < out[i] {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	})
}

func TestRetryableFailuresKeepOrderAndLoseNothing(t *testing.T) {
	h := newHarness(t, export.Options{BatchSize: 5})
	h.rcv.status = func(n int, id string) (int, http.Header) {
		switch {
		case n <= 3:
			return http.StatusServiceUnavailable, nil
		case n == 6:
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"0"}}
		case n == 9:
			return http.StatusInternalServerError, nil
		}
		return http.StatusOK, nil
	}
	h.eng.SetExports([]*export.Export{h.export("a1", "/subscriptions/"+sub, true, "Assessments")})
	want := h.appendEvents("ev", "rg", "Assessments", 20)
	waitFor(t, "20 deliveries", func() bool { return len(h.rcv.received()) >= 20 })
	if diff := cmp.Diff(want, h.rcv.received()); diff != "" {
		t.Fatalf("order after retries (-want +got):\n%s", diff)
	}
	waitFor(t, "health", func() bool {
		hs, _ := h.eng.Health(context.Background(), "a1")
		return len(hs) == 1 && hs[0].Delivered == 20 && hs[0].Retried >= 5 && hs[0].DeadLettered == 0
	})
	hs, _ := h.eng.Health(context.Background(), "a1")
	if strings.Contains(hs[0].LastError, "SECRETSIG") || hs[0].LastError == "" {
		t.Fatalf("last error %q: want a redacted, non-empty error", hs[0].LastError)
	}
}

func TestPermanentFailureDeadLettersOnlyThatEvent(t *testing.T) {
	h := newHarness(t, export.Options{})
	h.rcv.status = func(n int, id string) (int, http.Header) {
		if id == "ev-002" {
			return http.StatusBadRequest, nil
		}
		return http.StatusOK, nil
	}
	h.eng.SetExports([]*export.Export{h.export("a1", "/subscriptions/"+sub, true, "Assessments")})
	h.appendEvents("ev", "rg", "Assessments", 5)
	waitFor(t, "4 deliveries", func() bool { return len(h.rcv.received()) >= 4 })
	if diff := cmp.Diff([]string{"ev-000", "ev-001", "ev-003", "ev-004"}, h.rcv.received()); diff != "" {
		t.Fatalf("delivered (-want +got):\n%s", diff)
	}
	var dls []*store.DeadLetter
	waitFor(t, "a dead letter", func() bool {
		dls, _ = h.st.DeadLetters(context.Background(), export.ActionKey("a1", 0), 0, 10)
		return len(dls) == 1
	})
	if dls[0].EventID != "ev-002" || !strings.Contains(dls[0].Reason, "400") || strings.Contains(dls[0].Reason, "SECRETSIG") {
		t.Fatalf("dead letter = %+v", dls[0])
	}
}

func TestExpiredRetriesAreDeadLettered(t *testing.T) {
	h := newHarness(t, export.Options{MaxAge: 150 * time.Millisecond})
	h.rcv.status = func(int, string) (int, http.Header) { return http.StatusBadGateway, nil }
	h.eng.SetExports([]*export.Export{h.export("a1", "/subscriptions/"+sub, true, "Assessments")})
	h.appendEvents("ev", "rg", "Assessments", 2)
	waitFor(t, "both events dead-lettered", func() bool {
		dls, _ := h.st.DeadLetters(context.Background(), export.ActionKey("a1", 0), 0, 10)
		return len(dls) == 2
	})
	dls, _ := h.st.DeadLetters(context.Background(), export.ActionKey("a1", 0), 0, 10)
	if !strings.Contains(dls[0].Reason, "retries expired") || dls[0].EventID != "ev-000" {
		t.Fatalf("dead letter = %+v", dls[0])
	}
}

func TestReplayDeadLetter(t *testing.T) {
	h := newHarness(t, export.Options{})
	var mu sync.Mutex
	failing := true
	h.rcv.status = func(n int, id string) (int, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		if failing && id == "ev-001" {
			return http.StatusUnprocessableEntity, nil
		}
		return http.StatusOK, nil
	}
	h.eng.SetExports([]*export.Export{h.export("a1", "/subscriptions/"+sub, true, "Assessments")})
	h.appendEvents("ev", "rg", "Assessments", 3)
	var dls []*store.DeadLetter
	waitFor(t, "a dead letter", func() bool {
		dls, _ = h.st.DeadLetters(context.Background(), export.ActionKey("a1", 0), 0, 10)
		return len(dls) == 1
	})
	mu.Lock()
	failing = false
	mu.Unlock()
	if err := h.eng.Replay(context.Background(), dls[0]); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.Replay(context.Background(), dls[0]); err != export.ErrAlreadyReplayed {
		t.Fatalf("second replay: %v, want ErrAlreadyReplayed", err)
	}
	waitFor(t, "the replayed event", func() bool { return len(h.rcv.received()) == 3 })
	if diff := cmp.Diff([]string{"ev-000", "ev-002", "ev-001"}, h.rcv.received()); diff != "" {
		t.Fatalf("delivered (-want +got):\n%s", diff)
	}
}
