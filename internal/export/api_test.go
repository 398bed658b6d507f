package export_test

// The delivery routes under an automation (export.API on an armapi.Router,
// over HTTPS) and the Prometheus collector.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/export"
)

const (
	apiVersion = "2023-12-01-preview"
	token      = "test-token"
)

// testAuth admits one bearer token and records the permission each route
// asked for. Authentication and RBAC are not what these tests are about.
type testAuth struct {
	mu     sync.Mutex
	checks []string
}

func (a *testAuth) Authenticate(r *http.Request) (context.Context, error) {
	if r.Header.Get("Authorization") != "Bearer "+token {
		return nil, armapi.Errorf(http.StatusUnauthorized, "AuthenticationFailed", "A valid bearer token is required.")
	}
	return r.Context(), nil
}

func (a *testAuth) Authorize(_ context.Context, permission, scope string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.checks = append(a.checks, permission+" "+scope)
	return nil
}

func (a *testAuth) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.checks) == 0 {
		return ""
	}
	return a.checks[len(a.checks)-1]
}

type apiEnv struct {
	*harness
	srv  *httptest.Server
	auth *testAuth
	snap *stateSnapshotter
}

func newAPIEnv(t *testing.T, opts export.Options) *apiEnv {
	h := newHarness(t, opts)
	e := &apiEnv{harness: h, auth: &testAuth{}, snap: &stateSnapshotter{n: 4}}
	rt := &armapi.Router{Authn: e.auth, Authz: e.auth}
	(&export.API{Engine: h.eng, Store: h.st, Snapshots: e.snap}).Register(rt)
	e.srv = httptest.NewTLSServer(armapi.Middleware(slog.New(slog.NewTextHandler(h.logs, nil)), rt))
	t.Cleanup(e.srv.Close)
	return e
}

// run makes automation names unique per test run (the counters on
// /metrics are process-wide).
var run atomic.Int64

// automation is an automation id and the engine's key for it.
type automation struct{ id, key string }

func newAutomation(name string) automation {
	id := fmt.Sprintf("/subscriptions/%s/resourceGroups/Rg-Exports/providers/Microsoft.Security/automations/%s-%d", sub, name, run.Add(1))
	return automation{id: id, key: armid.Key(id)}
}

func (a automation) export(enabled bool, uris ...string) *export.Export {
	x := newExport(a.key, scopeAll, enabled, []string{"Assessments"}, uris...)
	x.ID = a.id
	return x
}

// call sends a request with the test token (unless path says otherwise)
// and returns the status and body.
func (e *apiEnv) call(method, path string, hdr ...string) (int, []byte, http.Header) {
	e.t.Helper()
	url := path
	if !strings.HasPrefix(path, "https://") {
		url = e.srv.URL + path
	}
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), fakeSig) {
		e.t.Fatalf("%s %s: the response carries the trigger signature: %s", method, path, body)
	}
	return resp.StatusCode, body, resp.Header
}

func (e *apiEnv) getJSON(path string, v any) {
	e.t.Helper()
	status, body, _ := e.call(http.MethodGet, path)
	if status != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		e.t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

// errorCode is the code of an ARM error body.
func errorCode(body []byte) string {
	var env struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(body, &env)
	return env.Error.Code
}

func q(path string, params ...string) string {
	s := path + "?api-version=" + apiVersion
	for i := 0; i+1 < len(params); i += 2 {
		s += "&" + params[i] + "=" + params[i+1]
	}
	return s
}

type healthBody struct {
	ID         string `json:"id"`
	IsEnabled  bool   `json:"isEnabled"`
	ObservedAt string `json:"observedAt"`
	Actions    []struct {
		ActionIndex         int     `json:"actionIndex"`
		ActionType          string  `json:"actionType"`
		Delivered           int64   `json:"delivered"`
		Retried             int64   `json:"retried"`
		DeadLettered        int64   `json:"deadLettered"`
		QueueDepth          int64   `json:"queueDepth"`
		OldestAge           float64 `json:"oldestUndeliveredAgeSeconds"`
		ConsecutiveFailures int     `json:"consecutiveFailures"`
		NextAttempt         string  `json:"nextAttempt"`
		LastError           string  `json:"lastError"`
		LastErrorAt         string  `json:"lastErrorAt"`
		LastSuccess         string  `json:"lastSuccess"`
	} `json:"actions"`
}

// TestDeliveryHealthRouteAndMetrics: one action that delivers everything,
// one that dead-letters an event and then sticks on a throttled one.
func TestDeliveryHealthRouteAndMetrics(t *testing.T) {
	e := newAPIEnv(t, export.Options{})
	stuck := newReceiver(t)
	stuck.status = func(n int, id string) (int, http.Header) {
		switch id {
		case "ev-001":
			return http.StatusBadRequest, nil
		case "ev-003":
			return http.StatusServiceUnavailable, http.Header{"Retry-After": {"3600"}}
		}
		return http.StatusOK, nil
	}
	aut := newAutomation("Health")
	e.eng.SetExports([]*export.Export{aut.export(true, e.rcv.uri("ok"), stuck.uri("stuck"))})
	e.appendEvents("ev", "rg", "Assessments", 5)
	waitFor(t, "both actions to settle", func() bool {
		hs := e.health(aut.key)
		return hs[0].Delivered == 5 && hs[1].Delivered == 2 && hs[1].DeadLettered == 1 && hs[1].Retried == 1
	})

	var hb healthBody
	e.getJSON(q(aut.id+"/deliveryHealth"), &hb)
	if !strings.HasPrefix(e.auth.last(), export.PermRead+" ") {
		t.Fatalf("permission checked: %q", e.auth.last())
	}
	if hb.ID != aut.id || !hb.IsEnabled || hb.ObservedAt == "" || len(hb.Actions) != 2 {
		t.Fatalf("health = %+v", hb)
	}
	ok, bad := hb.Actions[0], hb.Actions[1]
	if ok.ActionIndex != 0 || ok.ActionType != "LogicApp" || ok.Delivered != 5 || ok.QueueDepth != 0 || ok.DeadLettered != 0 ||
		ok.Retried != 0 || ok.LastSuccess == "" || ok.LastError != "" || ok.OldestAge != 0 {
		t.Errorf("action 0 = %+v", ok)
	}
	if bad.ActionIndex != 1 || bad.Delivered != 2 || bad.DeadLettered != 1 || bad.Retried != 1 || bad.QueueDepth != 2 ||
		bad.OldestAge <= 0 || bad.ConsecutiveFailures != 1 || bad.NextAttempt == "" || bad.LastErrorAt == "" ||
		!strings.Contains(bad.LastError, "503") || strings.Contains(bad.LastError, fakeSig) {
		t.Errorf("action 1 = %+v", bad)
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e.eng.Collector())
	if problems, err := testutil.CollectAndLint(e.eng.Collector()); err != nil || len(problems) != 0 {
		t.Errorf("metric lint: %v %v", problems, err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP sluice_export_backlog Events waiting over all actions.
# TYPE sluice_export_backlog gauge
sluice_export_backlog 2
`), "sluice_export_backlog"); err != nil {
		t.Error(err)
	}
	for _, name := range []string{"sluice_export_queue_depth", "sluice_export_consecutive_failures"} {
		if n := testutil.CollectAndCount(e.eng.Collector(), name); n != 2 {
			t.Errorf("%s has %d series, want one per action (2)", name, n)
		}
	}
	values := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["automation"] != aut.key {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				if labels["type"] != "LogicApp" {
					t.Errorf("%s has type label %q", mf.GetName(), labels["type"])
				}
				values[mf.GetName()+labels["action"]] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				values[mf.GetName()+labels["action"]] = m.GetGauge().GetValue()
			}
		}
	}
	want := map[string]float64{
		"sluice_export_delivered_total/actions/0":      5,
		"sluice_export_delivered_total/actions/1":      2,
		"sluice_export_retried_total/actions/1":        1,
		"sluice_export_dead_lettered_total/actions/1":  1,
		"sluice_export_queue_depth/actions/0":          0,
		"sluice_export_queue_depth/actions/1":          2,
		"sluice_export_consecutive_failures/actions/0": 0,
		"sluice_export_consecutive_failures/actions/1": 1,
	}
	if diff := cmp.Diff(want, values); diff != "" {
		t.Errorf("metrics of the automation (-want +got):\n%s", diff)
	}
	// Delivery latency, per action type (shared with the other tests of
	// the process: at least this test's 7 deliveries).
	for _, mf := range mfs {
		if mf.GetName() != "sluice_export_delivery_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == "LogicApp" {
				if h.GetSampleCount() < 7 || h.GetSampleSum() <= 0 {
					t.Errorf("delivery latency of LogicApp actions: %d samples, sum %v; want at least 7 and a positive sum", h.GetSampleCount(), h.GetSampleSum())
				}
				values["latency"] = 1
			}
		}
	}
	if values["latency"] != 1 {
		t.Error("no sluice_export_delivery_seconds series for LogicApp actions")
	}
}

type deadLetterBody struct {
	ID          string          `json:"id"`
	ActionIndex int             `json:"actionIndex"`
	EventID     string          `json:"eventId"`
	EventSource string          `json:"eventSource"`
	Sequence    int64           `json:"sequence"`
	Reason      string          `json:"reason"`
	Attempts    int             `json:"attempts"`
	FailedAt    string          `json:"failedAt"`
	Event       json.RawMessage `json:"event"`
}

type deadLetterList struct {
	Value    []deadLetterBody `json:"value"`
	NextLink string           `json:"nextLink"`
}

// listDeadLetters follows nextLink to the end.
func (e *apiEnv) listDeadLetters(path string) (all []deadLetterBody, pages int) {
	e.t.Helper()
	for path != "" {
		var page deadLetterList
		e.getJSON(path, &page)
		all = append(all, page.Value...)
		pages++
		if page.NextLink != "" && !strings.HasPrefix(page.NextLink, "https://") {
			e.t.Fatalf("nextLink %q is not absolute https", page.NextLink)
		}
		path = page.NextLink
		if pages > 20 {
			e.t.Fatal("nextLink loops")
		}
	}
	return all, pages
}

func TestDeadLetterRoutesPageFilterAndReplay(t *testing.T) {
	e := newAPIEnv(t, export.Options{})
	var mu sync.Mutex
	rejecting := true
	reject := func(ids ...string) func(int, string) (int, http.Header) {
		return func(_ int, id string) (int, http.Header) {
			mu.Lock()
			defer mu.Unlock()
			if rejecting && slices.Contains(ids, id) {
				return http.StatusBadRequest, nil
			}
			return http.StatusOK, nil
		}
	}
	r0, r1 := e.rcv, newReceiver(t)
	r0.status = reject("ev-000", "ev-001", "ev-002", "ev-003", "ev-004")
	r1.status = reject("ev-000", "ev-001")
	aut, other := newAutomation("Letters"), newAutomation("Other")
	e.eng.SetExports([]*export.Export{aut.export(true, r0.uri("r0"), r1.uri("r1")), other.export(true, newReceiver(t).uri("other"))})
	ctx := context.Background()
	e.appendEvents("ev", "rg", "Assessments", 5)
	e.settle()
	logged, err := e.st.Events(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	original := map[string]string{}
	for _, ev := range logged {
		original[ev.ID] = string(ev.Body)
	}
	// Replay must not depend on the event log: prune it.
	if n, err := e.st.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil || n != 5 {
		t.Fatalf("pruned %d events (%v), want 5", n, err)
	}

	all, pages := e.listDeadLetters(q(aut.id+"/deadLetters", "$top", "3"))
	if len(all) != 7 || pages != 3 {
		t.Fatalf("%d dead letters on %d pages, want 7 on 3", len(all), pages)
	}
	var prev int64
	for _, d := range all {
		id, err := strconv.ParseInt(d.ID, 10, 64)
		if err != nil || id <= prev {
			t.Fatalf("dead letter ids not increasing: %q after %d", d.ID, prev)
		}
		prev = id
		var body map[string]any
		if err := json.Unmarshal(d.Event, &body); err != nil || body["event"] != d.EventID {
			t.Fatalf("dead letter %s carries event %s (%v)", d.ID, d.Event, err)
		}
		if d.EventSource != "Assessments" || d.Attempts != 1 || d.FailedAt == "" || d.Sequence < 1 ||
			!strings.Contains(d.Reason, "400") || strings.Contains(d.Reason, fakeSig) {
			t.Fatalf("dead letter = %+v", d)
		}
	}
	only1, _ := e.listDeadLetters(q(aut.id+"/deadLetters", "actionIndex", "1"))
	if len(only1) != 2 || only1[0].ActionIndex != 1 || only1[0].EventID != "ev-000" || only1[1].EventID != "ev-001" {
		t.Fatalf("actionIndex=1: %+v", only1)
	}
	if none, _ := e.listDeadLetters(q(other.id + "/deadLetters")); len(none) != 0 {
		t.Fatalf("another automation lists %d dead letters", len(none))
	}

	mu.Lock()
	rejecting = false
	mu.Unlock()
	one := only1[1]
	status, body, _ := e.call(http.MethodPost, q(aut.id+"/deadLetters/"+one.ID+"/replay"))
	if status != http.StatusAccepted || !strings.Contains(string(body), `"replayed":1`) {
		t.Fatalf("replay one: %d %s", status, body)
	}
	if !strings.HasPrefix(e.auth.last(), export.PermWrite+" ") {
		t.Fatalf("replay checked %q", e.auth.last())
	}
	waitFor(t, "the replayed event", func() bool { return slices.Contains(r1.received(), "ev-001") })
	if r1.bodies["ev-001"] != original["ev-001"] || r1.hdrs["ev-001"].Get("X-Sluice-Event-Id") != "ev-001" {
		t.Fatalf("replayed ev-001: body %s headers %v, want the original body %s", r1.bodies["ev-001"], r1.hdrs["ev-001"], original["ev-001"])
	}
	status, body, _ = e.call(http.MethodPost, q(aut.id+"/deadLetters/"+one.ID+"/replay"))
	if status != http.StatusNotFound || errorCode(body) != "DeadLetterNotFound" {
		t.Fatalf("replaying again: %d %s", status, body)
	}
	// A dead letter of one automation cannot be replayed under another.
	status, body, _ = e.call(http.MethodPost, q(other.id+"/deadLetters/"+all[0].ID+"/replay"))
	if status != http.StatusNotFound || errorCode(body) != "DeadLetterNotFound" {
		t.Fatalf("replay under another automation: %d %s", status, body)
	}

	status, body, _ = e.call(http.MethodPost, q(aut.id+"/deadLetters/replay"))
	if status != http.StatusAccepted || !strings.Contains(string(body), `"replayed":6`) {
		t.Fatalf("replay all: %d %s", status, body)
	}
	e.settle()
	want0 := []string{"ev-000", "ev-001", "ev-002", "ev-003", "ev-004"}
	if diff := cmp.Diff(want0, r0.received()); diff != "" {
		t.Fatalf("action 0 after replay all (-want +got):\n%s", diff)
	}
	want1 := []string{"ev-002", "ev-003", "ev-004", "ev-001", "ev-000"}
	if diff := cmp.Diff(want1, r1.received()); diff != "" {
		t.Fatalf("action 1 after replay all (-want +got):\n%s", diff)
	}
	for _, id := range want0 {
		if r0.bodies[id] != original[id] {
			t.Fatalf("replayed %s: body %s, want %s", id, r0.bodies[id], original[id])
		}
	}
	if left, _ := e.listDeadLetters(q(aut.id + "/deadLetters")); len(left) != 0 {
		t.Fatalf("%d dead letters left after replay all", len(left))
	}
	hs := e.health(aut.key)
	if hs[0].DeadLettered != 5 || hs[0].Delivered != 5 || hs[1].DeadLettered != 2 || hs[1].Delivered != 5 {
		t.Fatalf("health after replays: %+v / %+v", hs[0].Health, hs[1].Health)
	}
}

func TestBackfillRouteTargetsOneAutomation(t *testing.T) {
	e := newAPIEnv(t, export.Options{})
	rb, rc := newReceiver(t), newReceiver(t)
	a, b, c := newAutomation("FillA"), newAutomation("FillB"), newAutomation("FillC")
	e.eng.SetExports([]*export.Export{a.export(true, e.rcv.uri("a")), b.export(true, rb.uri("b")), c.export(false, rc.uri("c"))})
	status, body, _ := e.call(http.MethodPost, q(a.id+"/backfill"))
	if status != http.StatusAccepted {
		t.Fatalf("backfill: %d %s", status, body)
	}
	var out struct {
		Queued   int            `json:"queued"`
		BySource map[string]int `json:"bySource"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Queued != 4 || out.BySource["Assessments"] != 4 {
		t.Fatalf("backfill answer %s (%v)", body, err)
	}
	if !strings.HasPrefix(e.auth.last(), export.PermWrite+" ") {
		t.Fatalf("backfill checked %q", e.auth.last())
	}
	e.settle()
	want := []string{"snap-1-Assessments-0", "snap-1-Assessments-1", "snap-1-Assessments-2", "snap-1-Assessments-3"}
	if diff := cmp.Diff(want, e.rcv.received()); diff != "" {
		t.Fatalf("backfilled automation got (-want +got):\n%s", diff)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(e.rcv.bodies[want[0]]), &doc); err != nil || doc["isSnapshot"] != true {
		t.Fatalf("backfill body %s (%v)", e.rcv.bodies[want[0]], err)
	}
	if got := rb.received(); len(got) != 0 {
		t.Fatalf("another automation of the subscription got the backfill: %v", got)
	}
	status, body, _ = e.call(http.MethodPost, q(c.id+"/backfill"))
	if status != http.StatusConflict || errorCode(body) != "AutomationDisabled" {
		t.Fatalf("backfill of a disabled automation: %d %s", status, body)
	}
	if len(rc.requested()) != 0 {
		t.Fatal("the disabled automation's receiver was called")
	}

	// Without a source of current state the route says so.
	rt := &armapi.Router{Authn: e.auth, Authz: e.auth}
	(&export.API{Engine: e.eng, Store: e.st}).Register(rt)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, q(a.id+"/backfill"), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rt.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || errorCode(rec.Body.Bytes()) != "BackfillUnavailable" {
		t.Fatalf("backfill without snapshots: %d %s", rec.Code, rec.Body)
	}
}

func TestDeliveryRoutesRejectBadInput(t *testing.T) {
	e := newAPIEnv(t, export.Options{})
	aut := newAutomation("Bad")
	e.eng.SetExports([]*export.Export{aut.export(true, e.rcv.uri("bad"))})
	missing := fmt.Sprintf("/subscriptions/%s/resourceGroups/Rg-Exports/providers/Microsoft.Security/automations/nope", sub)
	tests := []struct {
		name, method, path string
		hdr                []string
		status             int
		code, message      string
	}{
		{"unknown_automation_health", "GET", q(missing + "/deliveryHealth"), nil, 404, "ResourceNotFound", "nope"},
		{"unknown_automation_dead_letters", "GET", q(missing + "/deadLetters"), nil, 404, "ResourceNotFound", "nope"},
		{"unknown_automation_replay_all", "POST", q(missing + "/deadLetters/replay"), nil, 404, "ResourceNotFound", "nope"},
		{"unknown_automation_replay_one", "POST", q(missing + "/deadLetters/1/replay"), nil, 404, "ResourceNotFound", "nope"},
		{"unknown_automation_backfill", "POST", q(missing + "/backfill"), nil, 404, "ResourceNotFound", "nope"},
		{"dead_letter_id_not_a_number", "POST", q(aut.id + "/deadLetters/abc/replay"), nil, 400, "InvalidDeadLetterId", "abc"},
		{"dead_letter_id_zero", "POST", q(aut.id + "/deadLetters/0/replay"), nil, 400, "InvalidDeadLetterId", "0"},
		{"dead_letter_id_unknown", "POST", q(aut.id + "/deadLetters/987654/replay"), nil, 404, "DeadLetterNotFound", "987654"},
		{"wrong_api_version", "GET", aut.id + "/deliveryHealth?api-version=2020-01-01", nil, 400, "InvalidApiVersionParameter", "2023-12-01-preview"},
		{"missing_api_version", "GET", aut.id + "/deadLetters", nil, 400, "MissingApiVersionParameter", "api-version"},
		{"action_index_out_of_range", "GET", q(aut.id+"/deadLetters", "actionIndex", "1"), nil, 400, "InvalidQueryParameterValue", "actionIndex"},
		{"action_index_not_a_number", "GET", q(aut.id+"/deadLetters", "actionIndex", "x"), nil, 400, "InvalidQueryParameterValue", "actionIndex"},
		{"bad_skip_token", "GET", q(aut.id+"/deadLetters", "$skipToken", "%21%21"), nil, 400, "InvalidSkipToken", "$skipToken"},
		{"skip_token_not_an_id", "GET", q(aut.id+"/deadLetters", "$skipToken", "YWJj"), nil, 400, "InvalidSkipToken", "$skipToken"},
		{"bad_top", "GET", q(aut.id+"/deadLetters", "$top", "0"), nil, 400, "InvalidQueryParameterValue", "$top"},
		{"no_token", "GET", q(aut.id + "/deliveryHealth"), []string{"Authorization", ""}, 401, "AuthenticationFailed", "token"},
		{"wrong_method", "DELETE", q(aut.id + "/deliveryHealth"), nil, 405, "MethodNotAllowed", "GET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, hdr := e.call(tc.method, tc.path, tc.hdr...)
			var env struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatalf("%d %s: not an ARM error (%v)", status, body, err)
			}
			if status != tc.status || env.Error.Code != tc.code || !strings.Contains(env.Error.Message, tc.message) {
				t.Fatalf("%d %s %q, want %d %s mentioning %q", status, env.Error.Code, env.Error.Message, tc.status, tc.code, tc.message)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
	// Paths are case-insensitive, as in ARM.
	upper := strings.ToUpper(aut.id)
	var hb healthBody
	e.getJSON(q(upper+"/DELIVERYHEALTH"), &hb)
	if hb.ID != aut.id || len(hb.Actions) != 1 {
		t.Fatalf("health through an upper-case path: %+v", hb)
	}
}
