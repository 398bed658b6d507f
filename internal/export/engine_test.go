package export_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"sluice/internal/export"
	"sluice/internal/sink"
	"sluice/internal/sink/logicapp"
	"sluice/internal/store"
	"sluice/internal/store/sqlite"
)

const sub = "11111111-2222-3333-4444-555555555555"

// fakeSig is the signature in every trigger URI of these tests: it must
// never appear in health, errors, dead letters or logs.
const fakeSig = "FAKESIGd0NotLeak0123456789abcdef"

// receiver is a loopback HTTPS Logic App trigger that records what it gets
// and answers with a scripted status. It can be taken down (its listener
// closed: connections are refused) and brought back on the same address.
type receiver struct {
	t      *testing.T
	mu     sync.Mutex
	got    []string // event ids accepted, in arrival order
	seen   []string // event ids of every request
	bodies map[string]string
	hdrs   map[string]http.Header
	status func(n int, id string) (int, http.Header)
	// block, when set, is called before answering (outside the lock).
	block func(n int, r *http.Request)
	calls int
	at    []time.Time // arrival time of every call
	addr  string
	srv   *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, bodies: map[string]string{}, hdrs: map[string]http.Header{}}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	r.addr = r.srv.Listener.Addr().String()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id := req.Header.Get(logicapp.HeaderEventID)
	r.mu.Lock()
	r.calls++
	n := r.calls
	r.at = append(r.at, time.Now())
	r.seen = append(r.seen, id)
	block := r.block
	r.mu.Unlock()
	if block != nil {
		block(n, req)
		if req.Context().Err() != nil {
			return // the client gave up: it never saw an answer
		}
	}
	r.mu.Lock()
	status := http.StatusOK
	var hdr http.Header
	if r.status != nil {
		status, hdr = r.status(n, id)
	}
	if status < 300 {
		r.got = append(r.got, id)
		r.bodies[id] = string(body)
		r.hdrs[id] = req.Header.Clone()
	}
	r.mu.Unlock()
	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	if status >= 300 {
		// Echo the request target, signature included, as some receivers
		// do: the sink must not let it through.
		fmt.Fprintf(w, "rejected %s (signature %s)", req.URL.String(), req.URL.Query().Get("sig"))
	}
}

// uri is the receiver's trigger URI, with the fake signature.
func (r *receiver) uri(workflow string) string {
	return "https://" + r.addr + "/workflows/" + workflow + "/triggers/manual/paths/invoke?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + fakeSig
}

// down closes the receiver: new connections are refused.
func (r *receiver) down() { r.srv.Close() }

// up serves again on the same address.
func (r *receiver) up() {
	r.t.Helper()
	var ln net.Listener
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for ln, err = net.Listen("tcp", r.addr); err != nil; ln, err = net.Listen("tcp", r.addr) {
		if time.Now().After(deadline) {
			r.t.Fatalf("listen again on %s: %v", r.addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	r.t.Cleanup(srv.Close)
}

func (r *receiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func (r *receiver) requested() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func (r *receiver) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// logBuffer collects log output for secret checks.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// batchStats wraps the real sink of every action to see the batches the
// engine hands it.
type batchStats struct {
	mu       sync.Mutex
	calls    int
	maxBatch int
}

type statsSink struct {
	export.Sink
	stats *batchStats
}

func (s statsSink) WriteBatch(ctx context.Context, batch []sink.Message) error {
	s.stats.mu.Lock()
	s.stats.calls++
	s.stats.maxBatch = max(s.stats.maxBatch, len(batch))
	s.stats.mu.Unlock()
	return s.Sink.WriteBatch(ctx, batch)
}

func (b *batchStats) get() (calls, maxBatch int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls, b.maxBatch
}

type harness struct {
	stats *batchStats
	t     *testing.T
	dir   string
	st    store.Store
	eng   *export.Engine
	rcv   *receiver
	pool  *x509.CertPool
	logs  *logBuffer
	opts  export.Options
	stop  func()
}

func newHarness(t *testing.T, opts export.Options) *harness {
	t.Helper()
	if opts.Poll == 0 {
		opts.Poll = 20 * time.Millisecond
	}
	if opts.Backoff.Initial == 0 {
		opts.Backoff = export.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond}
	}
	h := &harness{t: t, dir: t.TempDir(), rcv: newReceiver(t), logs: &logBuffer{}, opts: opts, stats: &batchStats{}}
	// Every httptest TLS server presents the same certificate.
	h.pool = x509.NewCertPool()
	h.pool.AddCert(h.rcv.srv.Certificate())
	h.open()
	t.Cleanup(func() {
		h.stop()
		if s := h.logs.String(); strings.Contains(s, fakeSig) {
			t.Errorf("the trigger signature leaked into the logs:\n%s", s)
		}
	})
	return h
}

// open opens the store and starts an engine over it.
func (h *harness) open() {
	h.t.Helper()
	st, err := sqlite.Open(context.Background(), h.dir, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		h.t.Fatal(err)
	}
	factory := func(a *export.Action) (export.Sink, error) {
		s, err := logicapp.New(logicapp.Options{URI: a.Config.(string), RootCAs: h.pool, Timeout: 10 * time.Second})
		if err != nil {
			return nil, err
		}
		return statsSink{Sink: s, stats: h.stats}, nil
	}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng := export.New(st, factory, log, h.opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	h.st, h.eng = st, eng
	var once sync.Once
	h.stop = func() { once.Do(func() { cancel(); <-done; st.Close() }) }
}

// newExport builds an automation with one LogicApp action per uri.
func newExport(key, scope string, enabled bool, sources []string, uris ...string) *export.Export {
	x := &export.Export{Key: key, ID: key, Subscription: sub, Enabled: enabled, Scopes: []string{scope}, Sources: sources}
	for i, u := range uris {
		x.Actions = append(x.Actions, &export.Action{Key: export.ActionKey(key, i), Type: "LogicApp",
			Config: u, Fingerprint: u, Secrets: []string{u}})
	}
	return x
}

func (h *harness) export(key, scope string, enabled bool, sources ...string) *export.Export {
	return newExport(key, scope, enabled, sources, h.rcv.uri(key))
}

// appendEvents writes n events for resources in resource group rg and
// notifies the engine.
func (h *harness) appendEvents(prefix, rg, source string, n int) []string {
	h.t.Helper()
	ids, err := appendEvents(h.st, prefix, rg, source, n, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	h.eng.Notify()
	return ids
}

// appendEvents writes n events (bodies padded to at least pad bytes) in one
// transaction.
func appendEvents(st store.Store, prefix, rg, source string, n, pad int) ([]string, error) {
	var ids []string
	err := st.Update(context.Background(), func(tx store.Tx) error {
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("%s-%03d", prefix, i)
			res := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/vm%d", sub, rg, i)
			doc := map[string]any{"id": res + "/providers/Microsoft.Security/assessments/x", "n": i, "event": id, "Severity": "High"}
			if pad > 0 {
				doc["padding"] = strings.Repeat("x", pad)
			}
			body, _ := json.Marshal(doc)
			ev := &store.Event{ID: id, Source: source, Subscription: sub, ResourceGroup: rg, ResourceID: res, Body: body, Time: time.Now()}
			if err := tx.AppendEvent(context.Background(), ev); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 30*time.Second, what, cond)
}

func waitWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle waits until the engine has matched every event of the log and
// every queue is empty, so that what the receivers got is final.
func (h *harness) settle() {
	h.t.Helper()
	ctx := context.Background()
	waitFor(h.t, "the engine to match and deliver everything", func() bool {
		last, err := h.st.LastSeq(ctx)
		if err != nil {
			return false
		}
		rec, err := h.st.Get(ctx, "meta", "export-cursor")
		if err != nil {
			return last == 0
		}
		var cursor int64
		if json.Unmarshal(rec.Body, &cursor) != nil || cursor < last {
			return false
		}
		n, err := h.st.Backlog(ctx)
		return err == nil && n == 0
	})
}

func (h *harness) health(key string) []*export.ActionHealth {
	h.t.Helper()
	hs, err := h.eng.Health(context.Background(), key)
	if err != nil {
		h.t.Fatal(err)
	}
	return hs
}

func (h *harness) deadLetters(actionKey string) []*store.DeadLetter {
	h.t.Helper()
	dls, err := h.st.DeadLetters(context.Background(), actionKey, 0, 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	return dls
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
	hdr := h.rcv.hdrs["ev-007"]
	if hdr.Get(logicapp.HeaderSource) != "Assessments" || hdr.Get(logicapp.HeaderSequence) != "8" || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("headers of ev-007 = %v", hdr)
	}
	waitFor(t, "health to show 50 delivered", func() bool {
		hs := h.health("a1")
		return len(hs) == 1 && hs[0].Delivered == 50 && hs[0].QueueDepth == 0
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
	h.appendEvents("c", "rg-a2", "Assessments", 2) // a name that merely starts like the scope's
	alerts := h.appendEvents("al", "rg-b", "Alerts", 2)
	h.settle()
	want := append(append([]string{}, inA...), alerts...)
	if diff := cmp.Diff(want, h.rcv.received(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Fatalf("delivered (-want +got):\n%s", diff)
	}
	states, err := h.st.ActionStates(context.Background(), "disabled/")
	if err != nil || len(states) != 0 {
		t.Fatalf("a disabled automation queued something: %v %v", states, err)
	}
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
		case n == 12:
			return http.StatusRequestTimeout, nil
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
		hs := h.health("a1")
		return len(hs) == 1 && hs[0].Delivered == 20 && hs[0].Retried == 6 && hs[0].DeadLettered == 0
	})
	hs := h.health("a1")
	if strings.Contains(hs[0].LastError, fakeSig) || !strings.Contains(hs[0].LastError, "408") {
		t.Fatalf("last error %q: want the last failure (408), redacted", hs[0].LastError)
	}
	if hs[0].LastSuccess.Before(hs[0].LastErrorAt) || hs[0].Attempts != 0 {
		t.Fatalf("health after recovery: last success %v, last error at %v, consecutive failures %d", hs[0].LastSuccess, hs[0].LastErrorAt, hs[0].Attempts)
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
	before := time.Now()
	h.appendEvents("ev", "rg", "Assessments", 5)
	h.settle()
	after := time.Now()
	if diff := cmp.Diff([]string{"ev-000", "ev-001", "ev-003", "ev-004"}, h.rcv.received()); diff != "" {
		t.Fatalf("delivered (-want +got):\n%s", diff)
	}
	dls := h.deadLetters(export.ActionKey("a1", 0))
	if len(dls) != 1 {
		t.Fatalf("dead letters = %d, want 1", len(dls))
	}
	d := dls[0]
	if d.EventID != "ev-002" || d.Source != "Assessments" || d.Attempts != 1 || d.Seq != 3 {
		t.Fatalf("dead letter = %+v", d)
	}
	if !strings.Contains(d.Reason, "400 Bad Request") || strings.Contains(d.Reason, fakeSig) {
		t.Fatalf("dead letter reason %q: want the 400, redacted", d.Reason)
	}
	if d.FailedAt.Before(before.Add(-time.Second)) || d.FailedAt.After(after.Add(time.Second)) {
		t.Fatalf("failed at %v, want between %v and %v", d.FailedAt, before, after)
	}
	var body map[string]any
	if err := json.Unmarshal(d.Body, &body); err != nil || body["event"] != "ev-002" {
		t.Fatalf("dead letter body %s (%v)", d.Body, err)
	}
	hs := h.health("a1")
	if hs[0].Delivered != 4 || hs[0].DeadLettered != 1 || hs[0].Retried != 0 || hs[0].QueueDepth != 0 {
		t.Fatalf("health = %+v", hs[0])
	}
}

func TestExpiredRetriesAreDeadLettered(t *testing.T) {
	h := newHarness(t, export.Options{MaxAge: 150 * time.Millisecond})
	h.rcv.status = func(int, string) (int, http.Header) { return http.StatusBadGateway, nil }
	h.eng.SetExports([]*export.Export{h.export("a1", "/subscriptions/"+sub, true, "Assessments")})
	h.appendEvents("ev", "rg", "Assessments", 2)
	waitFor(t, "both events dead-lettered", func() bool {
		return len(h.deadLetters(export.ActionKey("a1", 0))) == 2
	})
	dls := h.deadLetters(export.ActionKey("a1", 0))
	if !strings.Contains(dls[0].Reason, "retries expired") || dls[0].EventID != "ev-000" || dls[1].EventID != "ev-001" {
		t.Fatalf("dead letters = %+v, %+v", dls[0], dls[1])
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
		dls = h.deadLetters(export.ActionKey("a1", 0))
		return len(dls) == 1
	})
	// The event behind the dead letter is delivered before the replay.
	waitFor(t, "ev-002 delivered", func() bool { return len(h.rcv.received()) == 2 })
	mu.Lock()
	failing = false
	mu.Unlock()
	if err := h.eng.Replay(context.Background(), dls[0]); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.Replay(context.Background(), dls[0]); !errors.Is(err, export.ErrAlreadyReplayed) {
		t.Fatalf("second replay: %v, want ErrAlreadyReplayed", err)
	}
	waitFor(t, "the replayed event", func() bool { return len(h.rcv.received()) == 3 })
	if diff := cmp.Diff([]string{"ev-000", "ev-002", "ev-001"}, h.rcv.received()); diff != "" {
		t.Fatalf("delivered (-want +got):\n%s", diff)
	}
	if !slices.Equal([]byte(h.rcv.bodies["ev-001"]), dls[0].Body) {
		t.Fatalf("replayed body %s, want %s", h.rcv.bodies["ev-001"], dls[0].Body)
	}
}

// An action's own BatchSize (a workspace's) bounds its batches when larger
// than the engine's; order and completeness are unchanged.
func TestActionBatchSize(t *testing.T) {
	h := newHarness(t, export.Options{BatchSize: 10})
	x := h.export("big", scopeAll, true, "Assessments")
	x.Actions[0].BatchSize = 50
	ids := h.appendEvents("ev", "rg", "Assessments", 200)
	h.eng.SetExports([]*export.Export{x})
	h.settle()
	if got := h.rcv.received(); !slices.Equal(got, ids) {
		t.Fatalf("received %d events, want the 200 in order", len(got))
	}
	if _, maxBatch := h.stats.get(); maxBatch <= 10 || maxBatch > 50 {
		t.Fatalf("largest batch %d, want more than the engine's 10 and at most the action's 50", maxBatch)
	}
}
