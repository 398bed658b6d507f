package workspace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"sluice/internal/latables"
	"sluice/internal/logsingesttest"
	"sluice/internal/sink"
	"sluice/internal/sink/workspace"
)

const (
	tenantA = "aaaaaaaa-0000-4000-8000-00000000000a"
	tenantB = "bbbbbbbb-0000-4000-8000-00000000000b"
	clientA = "11111111-0000-4000-8000-0000000000a1"
	clientB = "22222222-0000-4000-8000-0000000000b2"
	secretA = "S3cr3t~A.do-not-leak-0123456789"
	secretB = "S3cr3t~B.do-not-leak-9876543210"
	ruleA   = "dcr-00000000000000000000000000000a0a"
	ruleB   = "dcr-00000000000000000000000000000b0b"
)

var allStreams = func() []string {
	var s []string
	for _, t := range latables.Tables() {
		s = append(s, t.DefaultStream())
	}
	return s
}()

type env struct {
	auth *logsingesttest.Authority
	srv  *logsingesttest.Server
	logs *bytes.Buffer
}

// newEnv starts an authority with one application per tenant and a Logs
// Ingestion server with one rule per tenant, each accepting only tokens of
// its tenant.
func newEnv(t *testing.T, opts logsingesttest.Options) *env {
	t.Helper()
	auth := logsingesttest.NewAuthority()
	t.Cleanup(auth.Close)
	auth.AddClient(tenantA, clientA, secretA)
	auth.AddClient(tenantB, clientB, secretB)
	if opts.Verify == nil {
		opts.Verify = auth.Verifier(workspace.DefaultAudience)
	}
	opts.Rules = append(opts.Rules, logsingesttest.Rule{ImmutableID: ruleA, Streams: allStreams, Tenant: tenantA},
		logsingesttest.Rule{ImmutableID: ruleB, Streams: allStreams, Tenant: tenantB})
	srv := logsingesttest.New(opts)
	t.Cleanup(srv.Close)
	return &env{auth: auth, srv: srv, logs: &bytes.Buffer{}}
}

func (e *env) config(rule, tenant, client, secret string) workspace.Config {
	return workspace.Config{
		WorkspaceResourceID: "/subscriptions/" + tenant + "/resourceGroups/la/providers/Microsoft.OperationalInsights/workspaces/ws",
		Endpoint:            e.srv.URL,
		RuleID:              rule,
		ClientSecret: &workspace.ClientSecret{TenantID: tenant, ClientID: client, Secret: secret,
			AuthorityHost: e.auth.URL, DisableInstanceDiscovery: true},
	}
}

// warnings records what the sink raised for the action's health.
type warnings struct {
	mu  sync.Mutex
	got []string
}

func (w *warnings) warn(_ context.Context, eventID, msg string) {
	w.mu.Lock()
	w.got = append(w.got, eventID+": "+msg)
	w.mu.Unlock()
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.got...)
}

func (e *env) sink(t *testing.T, cfg workspace.Config, warn *warnings) *workspace.Sink {
	t.Helper()
	deps := workspace.Deps{Transport: e.srv.Client(), Log: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now: func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }}
	if warn != nil {
		deps.Warn = warn.warn
	}
	s, err := workspace.NewLogsIngestion(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func event(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../latables/testdata/events", file))
	if err != nil {
		t.Fatal(err)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		t.Fatal(err)
	}
	return c.Bytes()
}

var sampleEvents = []struct{ source, file string }{
	{"Alerts", "schema-alert-eventhub-sumologic.json"},
	{"Assessments", "schema-assessment-eventhub-sumologic.json"},
	{"Assessments", "schema-assessment-eventhub-elastic-delete.json"},
	{"SubAssessments", "schema-subassessment-eventhub-elastic.json"},
	{"SecureScores", "schema-securescore-eventhub-INFERRED.json"},
	{"SecureScoreControls", "schema-securescorecontrol-eventhub-elastic.json"},
	{"RegulatoryComplianceAssessment", "schema-regulatorycompliance-eventhub-sumologic.json"},
	{"RegulatoryComplianceAssessmentSnapshot", "schema-regulatorycompliance-eventhub-elastic.json"},
}

func samples(t *testing.T) []sink.Message {
	var ms []sink.Message
	for i, s := range sampleEvents {
		ms = append(ms, sink.Message{EventID: fmt.Sprintf("ev-%d", i), Seq: int64(i + 1), Source: s.source, Body: event(t, s.file)})
	}
	return ms
}

// assessments builds n distinct assessment events of about 1.5 KB.
func assessments(t *testing.T, n int) []sink.Message {
	var base map[string]any
	if err := json.Unmarshal(event(t, "schema-assessment-eventhub-sumologic.json"), &base); err != nil {
		t.Fatal(err)
	}
	out := make([]sink.Message, n)
	for i := range out {
		base["name"] = fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		b, _ := json.Marshal(base)
		out[i] = sink.Message{EventID: fmt.Sprintf("a-%d", i), Seq: int64(i + 1), Source: "Assessments", Body: b}
	}
	return out
}

func sinkError(t *testing.T, err error) *sink.Error {
	t.Helper()
	var se *sink.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *sink.Error", err, err)
	}
	return se
}

func TestRowsLandInStreams(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{})
	s := e.sink(t, e.config(ruleA, tenantA, clientA, secretA), nil)
	if err := s.WriteBatch(context.Background(), samples(t)); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"SecurityAlert": 1, "SecurityRecommendation": 2, "SecurityNestedRecommendation": 1, "SecureScores": 1,
		"SecureScoreControls": 1, "SecurityRegulatoryCompliance": 2}
	for _, tab := range latables.Tables() {
		rows := e.srv.Rows(ruleA, tab.DefaultStream())
		if len(rows) != want[tab.Name] {
			t.Errorf("%s: %d rows, want %d", tab.DefaultStream(), len(rows), want[tab.Name])
		}
		allowed := map[string]latables.Type{}
		for _, c := range tab.StreamColumns() {
			allowed[c.Name] = c.Type
		}
		for _, row := range rows {
			for col, v := range row {
				typ, ok := allowed[col]
				if !ok {
					t.Errorf("%s row has column %s, not in the stream declaration", tab.Name, col)
					continue
				}
				if !jsonTypeFits(typ, v) {
					t.Errorf("%s.%s (%s) = %#v", tab.Name, col, typ, v)
				}
			}
			if row["TimeGenerated"] == nil {
				t.Errorf("%s row without TimeGenerated", tab.Name)
			}
		}
	}
	alert := e.srv.Rows(ruleA, "Custom-SecurityAlert_CL")[0]
	if alert["AlertName"] != "Creation of admission webhook configuration detected" || alert["AlertSeverity"] != "Informational" {
		t.Errorf("alert row = %v", alert)
	}
	states := []string{}
	for _, r := range e.srv.Rows(ruleA, "Custom-SecurityRecommendation_CL") {
		states = append(states, r["RecommendationState"].(string))
	}
	if !slices.Equal(states, []string{"NotApplicable", "Removed"}) {
		t.Errorf("RecommendationState = %v", states)
	}
	snap := e.srv.Rows(ruleA, "Custom-SecurityRegulatoryCompliance_CL")
	if snap[0]["IsSnapshot"] != false || snap[1]["IsSnapshot"] != true {
		t.Errorf("IsSnapshot = %v, %v", snap[0]["IsSnapshot"], snap[1]["IsSnapshot"])
	}
	ctl := e.srv.Rows(ruleA, "Custom-SecureScoreControls_CL")[0]
	if ids, ok := ctl["RecommendationResourceIds"].([]any); !ok || len(ids) != 12 {
		t.Errorf("RecommendationResourceIds is not the dynamic array: %v", ctl["RecommendationResourceIds"])
	}
	for _, r := range e.srv.Requests() {
		if r.Status != 204 || r.Encoding != "gzip" || r.WireBytes >= r.RawBytes {
			t.Errorf("request %+v: want a gzip-compressed 204", r)
		}
	}
}

func jsonTypeFits(t latables.Type, v any) bool {
	switch t {
	case latables.String:
		_, ok := v.(string)
		return ok
	case latables.Int, latables.Long:
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case latables.Real:
		_, ok := v.(float64)
		return ok
	case latables.Bool:
		_, ok := v.(bool)
		return ok
	case latables.DateTime:
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	case latables.Dynamic:
		return true
	}
	return false
}

func TestSplitsAtOneMegabyte(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{})
	s := e.sink(t, e.config(ruleA, tenantA, clientA, secretA), nil)
	batch := assessments(t, 400)
	if err := s.WriteBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Count(ruleA, "Custom-SecurityRecommendation_CL"); n != len(batch) {
		t.Fatalf("%d rows arrived, want %d", n, len(batch))
	}
	reqs := e.srv.Requests()
	total := 0
	for _, r := range reqs {
		if r.RawBytes > logsingesttest.MaxBodyBytes || r.Status != 204 {
			t.Errorf("call of %d bytes answered %d", r.RawBytes, r.Status)
		}
		total += r.RawBytes
	}
	if len(reqs) < 2 || total <= logsingesttest.MaxBodyBytes {
		t.Errorf("%d calls, %d bytes in all: the batch should need several calls", len(reqs), total)
	}
	seen := map[string]bool{}
	for _, r := range e.srv.Rows(ruleA, "Custom-SecurityRecommendation_CL") {
		seen[r["RecommendationId"].(string)] = true
	}
	if len(seen) != len(batch) {
		t.Errorf("%d distinct rows, want %d", len(seen), len(batch))
	}
}

// TestSplitsOn413 uses a server whose limit is lower than the sink's, so
// the sink learns it from 413 answers and splits further.
func TestSplitsOn413(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{MaxBodyBytes: 20_000})
	s := e.sink(t, e.config(ruleA, tenantA, clientA, secretA), nil)
	batch := assessments(t, 60)
	if err := s.WriteBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Count(ruleA, "Custom-SecurityRecommendation_CL"); n != len(batch) {
		t.Fatalf("%d rows arrived, want %d", n, len(batch))
	}
	var codes []string
	for _, r := range e.srv.Requests() {
		codes = append(codes, r.Code)
	}
	if !slices.Contains(codes, "ContentLengthLimitExceeded") {
		t.Errorf("no 413 seen: %v", codes)
	}
}

func TestSingleRecordOverCallLimitIsPermanent(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{MaxBodyBytes: 1_000})
	s := e.sink(t, e.config(ruleA, tenantA, clientA, secretA), nil)
	batch := []sink.Message{
		{EventID: "small", Source: "SecureScores", Body: event(t, "schema-securescore-eventhub-INFERRED.json")},
		{EventID: "big", Source: "Alerts", Body: event(t, "schema-alert-eventhub-sumologic.json")},
	}
	se := sinkError(t, s.WriteBatch(context.Background(), batch))
	if se.Retryable || !slices.Equal(se.Failed, []int{1}) || !strings.Contains(se.Error(), "413") {
		t.Errorf("error = %+v (%v), want permanent 413 for message 1", se, se)
	}
	if e.srv.Count(ruleA, "Custom-SecureScores_CL") != 1 {
		t.Error("the small record was not delivered")
	}
}

func TestThrottledIsRetryableWithRetryAfter(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{})
	s := e.sink(t, e.config(ruleA, tenantA, clientA, secretA), nil)
	e.srv.Throttle(1, 7*time.Second)
	batch := assessments(t, 3)
	se := sinkError(t, s.WriteBatch(context.Background(), batch))
	if !se.Retryable || se.RetryAfter != 7*time.Second || !slices.Equal(se.Failed, []int{0, 1, 2}) {
		t.Fatalf("error = %+v, want retryable after 7s for all three", se)
	}
	if !strings.Contains(se.Error(), "429") {
		t.Errorf("reason %q does not name the 429", se.Error())
	}
	if got := len(e.srv.Requests()); got != 1 {
		t.Errorf("%d calls: the client retried on its own", got)
	}
	if err := s.WriteBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Count(ruleA, "Custom-SecurityRecommendation_CL"); n != 3 {
		t.Errorf("%d rows after the retry", n)
	}
}

func TestServerErrorsAreRetryable(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{})
	s := e.sink(t, e.config(ruleA, tenantA, clientA, secretA), nil)
	e.srv.FailNext(1, 503, "ServiceUnavailable", 0)
	se := sinkError(t, s.WriteBatch(context.Background(), assessments(t, 2)))
	if !se.Retryable {
		t.Errorf("503 gave %+v", se)
	}
}

func TestWrongSecretIsPermanentAndRedacted(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{})
	const wrong = "Wr0ng~Secret.value-do-not-leak"
	deps := workspace.Deps{Transport: e.srv.Client(), Log: slog.New(slog.NewTextHandler(e.logs, nil))}
	s, err := workspace.NewLogsIngestion(e.config(ruleA, tenantA, clientA, wrong), deps)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Connect(context.Background())
	se := sinkError(t, err)
	if se.Retryable || !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), clientA) {
		t.Errorf("Connect = %v, want a permanent invalid_client naming the client", err)
	}
	werr := s.WriteBatch(context.Background(), assessments(t, 1))
	if se := sinkError(t, werr); se.Retryable {
		t.Errorf("WriteBatch = %v, want permanent", werr)
	}
	for _, text := range []string{err.Error(), werr.Error(), e.logs.String()} {
		if strings.Contains(text, wrong) || strings.Contains(text, secretA) {
			t.Errorf("a secret leaked: %s", text)
		}
	}
}

// staticCred is a credential the server supplies (Sluice's own identity
// in production).
type staticCred string

func (c staticCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestUnauthorizedIsPermanent(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{Verify: logsingesttest.StaticTokens("the-right-token")})
	cfg := e.config(ruleA, tenantA, clientA, secretA)
	cfg.ClientSecret = nil
	s, err := workspace.NewLogsIngestion(cfg, workspace.Deps{Credential: staticCred("a-wrong-token"), Transport: e.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	se := sinkError(t, s.WriteBatch(context.Background(), assessments(t, 2)))
	if se.Retryable || !strings.Contains(se.Error(), "401") || !strings.Contains(se.Error(), "InvalidToken") {
		t.Errorf("error = %v, want a permanent 401", se)
	}
	if len(se.Failed) != 2 {
		t.Errorf("Failed = %v", se.Failed)
	}
}

func TestServerSuppliedCredential(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{Verify: logsingesttest.StaticTokens("sluice-issued-token")})
	cfg := e.config(ruleA, tenantA, clientA, secretA)
	cfg.ClientSecret = nil
	s, err := workspace.NewLogsIngestion(cfg, workspace.Deps{Credential: staticCred("sluice-issued-token"), Transport: e.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(context.Background(), samples(t)); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Count(ruleA, "Custom-SecurityAlert_CL"); n != 1 {
		t.Errorf("%d alert rows", n)
	}
	if e.auth.Issued() != 0 {
		t.Error("the authority was asked for a token although the server supplied one")
	}
}

func TestUnknownRuleIsPermanent(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{})
	s := e.sink(t, e.config("dcr-unknown", tenantA, clientA, secretA), nil)
	se := sinkError(t, s.WriteBatch(context.Background(), assessments(t, 1)))
	if se.Retryable || !strings.Contains(se.Error(), "404") || !strings.Contains(se.Error(), "dcr-unknown") {
		t.Errorf("error = %v", se)
	}
}

func TestCustomStreamNames(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{})
	e.srv.AddRule(logsingesttest.Rule{ImmutableID: "dcr-custom", Tenant: tenantA, Streams: []string{"Custom-Recs"}})
	cfg := e.config("dcr-custom", tenantA, clientA, secretA)
	cfg.Streams = map[string]string{"SecurityRecommendation": "Custom-Recs"}
	s := e.sink(t, cfg, nil)
	if err := s.WriteBatch(context.Background(), assessments(t, 2)); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Count("dcr-custom", "Custom-Recs"); n != 2 {
		t.Errorf("%d rows in the configured stream", n)
	}
	// A table whose stream the rule does not declare: 400, permanent.
	se := sinkError(t, s.WriteBatch(context.Background(), samples(t)[:1]))
	if se.Retryable || !strings.Contains(se.Error(), "InvalidStream") {
		t.Errorf("error = %v", se)
	}
}

func TestCrossTenantTargets(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{})
	a := e.sink(t, e.config(ruleA, tenantA, clientA, secretA), nil)
	b := e.sink(t, e.config(ruleB, tenantB, clientB, secretB), nil)
	if err := a.WriteBatch(context.Background(), assessments(t, 2)); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteBatch(context.Background(), assessments(t, 3)); err != nil {
		t.Fatal(err)
	}
	if na, nb := e.srv.Count(ruleA, "Custom-SecurityRecommendation_CL"), e.srv.Count(ruleB, "Custom-SecurityRecommendation_CL"); na != 2 || nb != 3 {
		t.Errorf("tenant A got %d rows, tenant B %d; want 2 and 3", na, nb)
	}
	// Tenant A's identity cannot write into tenant B's workspace.
	wrong := e.sink(t, e.config(ruleB, tenantA, clientA, secretA), nil)
	se := sinkError(t, wrong.WriteBatch(context.Background(), assessments(t, 1)))
	if se.Retryable || !strings.Contains(se.Error(), "403") || !strings.Contains(se.Error(), "Monitoring Metrics Publisher") {
		t.Errorf("error = %v, want a permanent 403 with the role to grant", se)
	}
}

func TestBadEventsFailAlone(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{})
	s := e.sink(t, e.config(ruleA, tenantA, clientA, secretA), nil)
	batch := append(assessments(t, 2),
		sink.Message{EventID: "junk", Source: "Assessments", Body: []byte("{not json")},
		sink.Message{EventID: "attack", Source: "AttackPaths", Body: []byte("{}")})
	se := sinkError(t, s.WriteBatch(context.Background(), batch))
	if se.Retryable || !slices.Equal(se.Failed, []int{2, 3}) || !strings.Contains(se.Error(), "junk") || !strings.Contains(se.Error(), "AttackPaths") {
		t.Errorf("error = %+v %v", se, se)
	}
	if n := e.srv.Count(ruleA, "Custom-SecurityRecommendation_CL"); n != 2 {
		t.Errorf("%d good rows delivered", n)
	}
}

// bigAlert is an alert whose Entities make its row about 45 KB.
func bigAlert(t *testing.T, id string) sink.Message {
	var ev map[string]any
	if err := json.Unmarshal(event(t, "schema-alert-eventhub-sumologic.json"), &ev); err != nil {
		t.Fatal(err)
	}
	var ents []any
	for i := 0; i < 400; i++ {
		ents = append(ents, map[string]any{"$id": fmt.Sprint(i + 10), "Type": "ip", "Address": fmt.Sprintf("10.0.%d.%d", i/250, i%250),
			"Location": map[string]any{"CountryName": "Nowhere", "City": strings.Repeat("c", 40)}})
	}
	ev["Entities"] = ents
	ev["SystemAlertId"] = id
	b, _ := json.Marshal(ev)
	return sink.Message{EventID: id, Source: "Alerts", ResourceID: "/subscriptions/x/resourceGroups/rg", Body: b}
}

var marker = regexp.MustCompile(`…\[truncated by Sluice: \d+ bytes\]$`)

func TestRecordOver32KB(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{})
	var w warnings
	s := e.sink(t, e.config(ruleA, tenantA, clientA, secretA), &w)
	big := bigAlert(t, "big-alert")
	if len(big.Body) < 40_000 {
		t.Fatalf("test event is only %d bytes", len(big.Body))
	}
	batch := append(assessments(t, 2), big)
	se := sinkError(t, s.WriteBatch(context.Background(), batch))
	if se.Retryable || !slices.Equal(se.Failed, []int{2}) {
		t.Fatalf("error = %+v, want message 2 failed permanently (dead-lettered with its full body)", se)
	}
	if !strings.Contains(se.Error(), workspace.DataLimitExceeded) || !strings.Contains(se.Error(), "big-alert") {
		t.Errorf("reason %q", se.Error())
	}
	rows := e.srv.Rows(ruleA, "Custom-SecurityAlert_CL")
	if len(rows) != 1 {
		t.Fatalf("%d alert rows, want the truncated one", len(rows))
	}
	enc, _ := json.Marshal(rows[0])
	if len(enc) > latables.MaxRecordBytes {
		t.Errorf("the truncated row is %d bytes", len(enc))
	}
	if ents, _ := rows[0]["Entities"].(string); !marker.MatchString(ents) {
		t.Errorf("Entities has no truncation marker")
	}
	if rows[0]["SystemAlertId"] != "big-alert" || rows[0]["AlertName"] == nil {
		t.Errorf("small columns lost: %v", rows[0]["SystemAlertId"])
	}
	if n := e.srv.Count(ruleA, "Custom-SecurityRecommendation_CL"); n != 2 {
		t.Errorf("%d other rows", n)
	}
	got := w.list()
	if len(got) != 1 || !strings.HasPrefix(got[0], "big-alert: "+workspace.DataLimitExceeded) || !strings.Contains(got[0], "Entities") {
		t.Errorf("warnings = %q", got)
	}
}

// TestTruncatedRowWaitsForRetry: when the rest of the batch is throttled,
// the truncated row is not written yet (no duplicate later) and every
// message stays queued.
func TestTruncatedRowWaitsForRetry(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{})
	var w warnings
	s := e.sink(t, e.config(ruleA, tenantA, clientA, secretA), &w)
	batch := append(assessments(t, 2), bigAlert(t, "big"))
	e.srv.Throttle(1, time.Second)
	se := sinkError(t, s.WriteBatch(context.Background(), batch))
	if !se.Retryable || !slices.Equal(se.Failed, []int{0, 1, 2}) {
		t.Fatalf("error = %+v", se)
	}
	if e.srv.Count(ruleA, "Custom-SecurityAlert_CL") != 0 || len(w.list()) != 0 {
		t.Fatal("the truncated row was written although the batch failed")
	}
	se = sinkError(t, s.WriteBatch(context.Background(), batch))
	if se.Retryable || !slices.Equal(se.Failed, []int{2}) {
		t.Fatalf("retry: error = %+v", se)
	}
	if e.srv.Count(ruleA, "Custom-SecurityAlert_CL") != 1 || len(w.list()) != 1 {
		t.Errorf("after the retry: %d alert rows, %d warnings", e.srv.Count(ruleA, "Custom-SecurityAlert_CL"), len(w.list()))
	}
}

func TestConfigValidate(t *testing.T) {
	good := workspace.Config{Endpoint: "https://dce.example", RuleID: "dcr-1"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*workspace.Config){
		"no endpoint":    func(c *workspace.Config) { c.Endpoint = "" },
		"http endpoint":  func(c *workspace.Config) { c.Endpoint = "http://dce.example" },
		"no rule":        func(c *workspace.Config) { c.RuleID = " " },
		"unknown table":  func(c *workspace.Config) { c.Streams = map[string]string{"Heartbeat": "Custom-X"} },
		"empty stream":   func(c *workspace.Config) { c.Streams = map[string]string{"SecurityAlert": ""} },
		"partial secret": func(c *workspace.Config) { c.ClientSecret = &workspace.ClientSecret{TenantID: tenantA} },
		"http authority": func(c *workspace.Config) {
			c.ClientSecret = &workspace.ClientSecret{TenantID: tenantA, ClientID: clientA, Secret: "x", AuthorityHost: "http://login"}
		},
		"huge calls": func(c *workspace.Config) { c.MaxRequestBytes = 2 << 20 },
	} {
		c := good
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := workspace.NewLogsIngestion(good, workspace.Deps{}); err == nil {
		t.Error("a sink without any credential was built")
	}
}

func TestClientSecretNeverPrinted(t *testing.T) {
	cs := workspace.ClientSecret{TenantID: tenantA, ClientID: clientA, Secret: secretA}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "credential", cs, "pointer", &cs)
	for _, text := range []string{fmt.Sprint(cs), fmt.Sprintf("%v %+v %s", cs, &cs, cs), logs.String()} {
		if strings.Contains(text, secretA) || !strings.Contains(text, clientA) {
			t.Errorf("printed as %q", text)
		}
	}
}
