package security

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/armapi"
	"sluice/internal/catalog"
	"sluice/internal/estate"
	"sluice/internal/store"
	"sluice/internal/store/sqlite"
)

const (
	fxTenant = "11111111-2222-4333-8444-555555555555"
	testSub  = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	otherSub = "ffffffff-bbbb-4ccc-8ddd-eeeeeeeeeeee"
)

type fixture struct {
	t     *testing.T
	ctx   context.Context
	store store.Store
	svc   *Service
	clock time.Time
	seen  int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := estate.CreateTenant(ctx, tx, fxTenant, "Test"); err != nil {
			return err
		}
		if err := estate.PutSubscription(ctx, tx, &estate.Subscription{SubscriptionID: testSub, DisplayName: "Test",
			TenantID: fxTenant, ManagementGroupID: fxTenant, State: "Enabled"}); err != nil {
			return err
		}
		return estate.PutResourceGroup(ctx, tx, testSub, &estate.ResourceGroup{Name: "rg1", Location: "westeurope"})
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, store: st, clock: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	f.svc = NewService(st, catalog.Default(), &estate.Service{Store: st}, nil)
	f.svc.SetClock(func() time.Time { return f.clock })
	return f
}

func (f *fixture) update(fn func(w *Writer) error) error {
	return f.svc.Update(f.ctx, fn)
}

func (f *fixture) mustUpdate(fn func(w *Writer) error) {
	f.t.Helper()
	if err := f.update(fn); err != nil {
		f.t.Fatal(err)
	}
}

// events returns the events appended since the last call.
func (f *fixture) events() []*store.Event {
	f.t.Helper()
	evs, err := f.store.Events(f.ctx, f.seen, 100000)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(evs) > 0 {
		f.seen = evs[len(evs)-1].Seq
	}
	return evs
}

func bySource(evs []*store.Event) map[string][]*store.Event {
	out := map[string][]*store.Event{}
	for _, ev := range evs {
		out[ev.Source] = append(out[ev.Source], ev)
	}
	return out
}

func vm(n int) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm%d", testSub, n)
}

func assessment(code StatusCode) *Assessment {
	return &Assessment{Properties: AssessmentProperties{ResourceDetails: ResourceDetails{Source: "Azure"}, Status: AssessmentStatus{Code: code}}}
}

func decodeBody(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("event body %s: %v", b, err)
	}
	return v
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// systemUpdates is a recommendation in the "Apply system updates" control
// (max score 6) that applies to virtual machines.
const systemUpdates = "45cfe080-ceb1-a91e-9743-71551ed24e94"

func TestWriter_assessment_lifecycle_events(t *testing.T) {
	f := newFixture(t)
	f.mustUpdate(func(w *Writer) error {
		_, created, err := w.PutAssessment(f.ctx, vm(1), systemUpdates, assessment(StatusUnhealthy))
		if !created {
			t.Error("first write not reported as created")
		}
		return err
	})
	evs := bySource(f.events())
	if n := len(evs[SourceAssessments]); n != 1 {
		t.Fatalf("create: %d assessment events, want 1", n)
	}
	ev := evs[SourceAssessments][0]
	body := decodeBody(t, ev.Body)
	if got := dig(body, "assessmentEventDataEnrichment", "action"); got != "Insert" {
		t.Errorf("action = %v", got)
	}
	if got := dig(body, "properties", "status", "code"); got != "Unhealthy" {
		t.Errorf("status = %v", got)
	}
	if got := dig(body, "properties", "metadata", "severity"); got == nil {
		t.Error("the exported assessment has no metadata.severity")
	}
	wantID := AssessmentID(vm(1), systemUpdates)
	if body["id"] != wantID || body["tenantId"] != fxTenant {
		t.Errorf("id/tenant = %v / %v", body["id"], body["tenantId"])
	}
	if ev.Tenant != fxTenant || ev.Subscription != testSub || ev.ResourceGroup != "rg1" || ev.ResourceID != vm(1) || ev.ID == "" {
		t.Errorf("event fields = %+v", ev)
	}
	first, err := f.svc.GetAssessment(f.ctx, wantID)
	if err != nil {
		t.Fatal(err)
	}

	// The same write again changes nothing and appends nothing.
	f.clock = f.clock.Add(time.Hour)
	f.mustUpdate(func(w *Writer) error {
		_, created, err := w.PutAssessment(f.ctx, strings.ToUpper(vm(1)[:15])+vm(1)[15:], strings.ToUpper(systemUpdates), assessment(StatusUnhealthy))
		if created {
			t.Error("rewrite reported as created")
		}
		return err
	})
	if evs := f.events(); len(evs) != 0 {
		t.Fatalf("no-op write appended %d events: %s", len(evs), evs[0].Body)
	}
	same, _ := f.svc.GetAssessment(f.ctx, wantID)
	if diff := cmp.Diff(first, same); diff != "" {
		t.Errorf("no-op write changed the record (-before +after):\n%s", diff)
	}

	// A status change: Insert, statusChangeDate moves, firstEvaluationDate stays.
	f.clock = f.clock.Add(time.Hour)
	f.mustUpdate(func(w *Writer) error {
		_, _, err := w.PutAssessment(f.ctx, vm(1), systemUpdates, assessment(StatusHealthy))
		return err
	})
	evs = bySource(f.events())
	if n := len(evs[SourceAssessments]); n != 1 {
		t.Fatalf("status change: %d assessment events, want 1", n)
	}
	changed, _ := f.svc.GetAssessment(f.ctx, wantID)
	if !changed.Properties.Status.FirstEvaluationDate.Equal(first.Properties.Status.FirstEvaluationDate.Time) {
		t.Errorf("firstEvaluationDate moved: %v -> %v", first.Properties.Status.FirstEvaluationDate, changed.Properties.Status.FirstEvaluationDate)
	}
	if !changed.Properties.Status.StatusChangeDate.Equal(f.clock) {
		t.Errorf("statusChangeDate = %v, want %v", changed.Properties.Status.StatusChangeDate, f.clock)
	}

	// Removal: Delete with the last properties; a second removal is a no-op.
	f.mustUpdate(func(w *Writer) error {
		found, err := w.DeleteAssessment(f.ctx, vm(1), systemUpdates)
		if !found {
			t.Error("delete of an existing assessment reported not found")
		}
		return err
	})
	evs = bySource(f.events())
	if n := len(evs[SourceAssessments]); n != 1 {
		t.Fatalf("delete: %d assessment events, want 1", n)
	}
	del := decodeBody(t, evs[SourceAssessments][0].Body)
	if dig(del, "securityEventDataEnrichment", "action") != "Delete" || dig(del, "properties", "status", "code") != "Healthy" {
		t.Errorf("delete event = %s", evs[SourceAssessments][0].Body)
	}
	f.mustUpdate(func(w *Writer) error {
		found, err := w.DeleteAssessment(f.ctx, vm(1), systemUpdates)
		if found {
			t.Error("second delete reported found")
		}
		return err
	})
	if evs := f.events(); len(evs) != 0 {
		t.Errorf("deleting a missing assessment appended %d events", len(evs))
	}
	if _, err := f.svc.GetAssessment(f.ctx, wantID); armapi.AsError(err).Code != "AssessmentNotFound" {
		t.Errorf("get after delete: %v", err)
	}
}

func TestWriter_refuses_unregistered_subscription(t *testing.T) {
	f := newFixture(t)
	res := strings.Replace(vm(1), testSub, otherSub, 1)
	err := f.update(func(w *Writer) error {
		_, _, err := w.PutAssessment(f.ctx, res, systemUpdates, assessment(StatusHealthy))
		return err
	})
	if code := armapi.AsError(err).Code; code != "SubscriptionNotFound" {
		t.Fatalf("err = %v, want SubscriptionNotFound", err)
	}
	n, _ := f.store.Count(f.ctx, store.ListOptions{Kind: KindAssessment})
	if evs := f.events(); n != 0 || len(evs) != 0 {
		t.Errorf("a refused write left %d records and %d events", n, len(evs))
	}
}

// checkState compares the stored score and compliance with a full
// recomputation over the stored assessments.
func (f *fixture) checkState(svc *Service) {
	f.t.Helper()
	recs, err := f.store.List(f.ctx, store.ListOptions{Kind: KindAssessment, Prefix: "/subscriptions/" + testSub + "/"})
	if err != nil {
		f.t.Fatal(err)
	}
	var states []AssessmentState
	for _, rec := range recs {
		a, err := decodeRecord[Assessment](rec)
		if err != nil {
			f.t.Fatal(err)
		}
		rid, key, _ := ParseAssessmentID(a.ID)
		states = append(states, AssessmentState{Key: key, ResourceID: rid, Code: a.Properties.Status.Code})
	}
	cat := catalog.Default()
	want := ComputeSecureScore(cat.Controls, states)
	got, err := svc.Score(f.ctx, testSub)
	if err != nil {
		f.t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		f.t.Errorf("stored score differs from a full recomputation (-full +stored):\n%s", diff)
	}
	wantC := ComputeCompliance(cat, cat.Standards, states)
	gotC, err := svc.Compliance(f.ctx, testSub)
	if err != nil {
		f.t.Fatal(err)
	}
	if diff := cmp.Diff(wantC, gotC); diff != "" {
		f.t.Errorf("stored compliance differs from a full recomputation (-full +stored):\n%s", diff)
	}
}

func TestWriter_secure_score_and_compliance_events(t *testing.T) {
	f := newFixture(t)
	// Baseline: three VMs, two healthy and one unhealthy for system updates.
	f.mustUpdate(func(w *Writer) error {
		for i, code := range []StatusCode{StatusHealthy, StatusHealthy, StatusUnhealthy} {
			if _, _, err := w.PutAssessment(f.ctx, vm(i), systemUpdates, assessment(code)); err != nil {
				return err
			}
		}
		return nil
	})
	evs := bySource(f.events())
	if len(evs[SourceSecureScores]) != 0 || len(evs[SourceSecureScoreControls]) != 0 {
		t.Errorf("the baseline computation exported scores: %d overall, %d controls", len(evs[SourceSecureScores]), len(evs[SourceSecureScoreControls]))
	}
	// Every compliance assessment is new at the first computation.
	mappings := 0
	for _, std := range catalog.Default().Standards {
		for _, c := range std.Controls {
			mappings += len(c.Assessments)
		}
	}
	if got := len(evs[SourceRegulatoryComplianceAssessment]); got != mappings {
		t.Errorf("first computation: %d compliance events, want %d", got, mappings)
	}
	f.checkState(f.svc)
	score, _ := f.svc.Score(f.ctx, testSub)
	if got := score.Score.Current; got != 4 { // 6 × 2/3
		t.Errorf("score = %v, want 4", got)
	}

	// vm2 becomes healthy: the control moves 4 -> 6, the key's compliance
	// state moves Failed -> Passed.
	f.mustUpdate(func(w *Writer) error {
		_, _, err := w.PutAssessment(f.ctx, vm(2), systemUpdates, assessment(StatusHealthy))
		return err
	})
	evs = bySource(f.events())
	if len(evs[SourceSecureScores]) != 1 || len(evs[SourceSecureScoreControls]) != 1 {
		t.Fatalf("score move: %d overall, %d control events, want 1 and 1", len(evs[SourceSecureScores]), len(evs[SourceSecureScoreControls]))
	}
	ctl := decodeBody(t, evs[SourceSecureScoreControls][0].Body)
	if dig(ctl, "name") != "61702b76-1fab-41f2-bcbc-50b7870dcf38" || dig(ctl, "properties", "score", "current") != 6.0 ||
		dig(ctl, "properties", "definition", "properties", "maxScore") != 6.0 {
		t.Errorf("control event = %s", evs[SourceSecureScoreControls][0].Body)
	}
	overall := decodeBody(t, evs[SourceSecureScores][0].Body)
	if dig(overall, "properties", "score", "current") != 6.0 || dig(overall, "securityEventDataEnrichment", "isSnapshot") != false {
		t.Errorf("overall event = %s", evs[SourceSecureScores][0].Body)
	}
	comp := evs[SourceRegulatoryComplianceAssessment]
	if len(comp) == 0 {
		t.Fatal("a compliance state change exported nothing")
	}
	for _, ev := range comp {
		b := decodeBody(t, ev.Body)
		if b["name"] != systemUpdates || dig(b, "properties", "state") != "Passed" || dig(b, "securityEventDataEnrichment", "action") != "Write" {
			t.Errorf("compliance event = %s", ev.Body)
		}
	}
	f.checkState(f.svc)

	// A fourth healthy VM changes only counts: no score or compliance event.
	f.mustUpdate(func(w *Writer) error {
		_, _, err := w.PutAssessment(f.ctx, vm(3), systemUpdates, assessment(StatusHealthy))
		return err
	})
	evs = bySource(f.events())
	if len(evs[SourceAssessments]) != 1 || len(evs) != 1 {
		t.Errorf("a count-only change exported %v", sourceCounts(evs))
	}
	f.checkState(f.svc)
}

func sourceCounts(m map[string][]*store.Event) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s×%d", k, len(v)))
	}
	return out
}

// TestWriter_score_threshold: a control score that moves by less than
// 0.01 is not exported, and a control with max score 0 never is.
func TestWriter_score_threshold(t *testing.T) {
	f := newFixture(t)
	cat := catalog.Default()
	// "Enable auditing and logging" has max score 1.
	var auditing, zero *catalog.Control
	for _, c := range cat.Controls {
		switch c.MaxScore {
		case 1:
			auditing = c
		case 0:
			zero = c
		}
	}
	if auditing == nil || zero == nil {
		t.Fatal("catalog lacks a max-1 or a max-0 control")
	}
	key := auditing.Assessments[0]
	res := func(i int) string {
		return fmt.Sprintf("/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/sa%d", testSub, i)
	}
	// 300 healthy and 1 unhealthy: 300/301 = 0.99668 -> 1.00.
	f.mustUpdate(func(w *Writer) error {
		for i := range 301 {
			code := StatusHealthy
			if i == 300 {
				code = StatusUnhealthy
			}
			if _, _, err := w.PutAssessment(f.ctx, res(i), key, assessment(code)); err != nil {
				return err
			}
		}
		return nil
	})
	f.events()
	// One more healthy: 301/302 = 0.99669, a move of 0.00001.
	f.mustUpdate(func(w *Writer) error {
		_, _, err := w.PutAssessment(f.ctx, res(301), key, assessment(StatusHealthy))
		return err
	})
	if evs := bySource(f.events()); len(evs[SourceSecureScoreControls]) != 0 || len(evs[SourceSecureScores]) != 0 {
		t.Errorf("a move below 0.01 was exported: %v", sourceCounts(evs))
	}
	// Three more unhealthy: 301/305 = 0.98689 -> 0.99, a move of 0.01.
	f.mustUpdate(func(w *Writer) error {
		for i := 302; i < 305; i++ {
			if _, _, err := w.PutAssessment(f.ctx, res(i), key, assessment(StatusUnhealthy)); err != nil {
				return err
			}
		}
		return nil
	})
	evs := bySource(f.events())
	if len(evs[SourceSecureScoreControls]) != 1 {
		t.Fatalf("a move of 0.01 exported %d control events, want 1", len(evs[SourceSecureScoreControls]))
	}
	if got := dig(decodeBody(t, evs[SourceSecureScoreControls][0].Body), "properties", "score", "current"); got != 0.99 {
		t.Errorf("control score = %v, want 0.99", got)
	}

	// A max-0 control: its resources flip, its event never comes.
	zkey := zero.Assessments[0]
	for _, code := range []StatusCode{StatusHealthy, StatusUnhealthy, StatusHealthy} {
		f.mustUpdate(func(w *Writer) error {
			_, _, err := w.PutAssessment(f.ctx, res(1000), zkey, assessment(code))
			return err
		})
		for _, ev := range f.events() {
			if ev.Source == SourceSecureScoreControls && strings.Contains(string(ev.Body), zero.Name) {
				t.Errorf("max-0 control exported: %s", ev.Body)
			}
		}
	}
	f.checkState(f.svc)
}

func TestWriter_counters_survive_failures_and_other_writers(t *testing.T) {
	f := newFixture(t)
	f.mustUpdate(func(w *Writer) error {
		for i := range 5 {
			if _, _, err := w.PutAssessment(f.ctx, vm(i), systemUpdates, assessment(StatusHealthy)); err != nil {
				return err
			}
		}
		return nil
	})
	// A transaction that fails after changing assessments leaves nothing,
	// and the cached counters must not keep its changes.
	boom := errors.New("boom")
	err := f.update(func(w *Writer) error {
		for i := range 5 {
			if _, _, err := w.PutAssessment(f.ctx, vm(i), systemUpdates, assessment(StatusUnhealthy)); err != nil {
				return err
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	f.mustUpdate(func(w *Writer) error {
		_, _, err := w.PutAssessment(f.ctx, vm(9), systemUpdates, assessment(StatusUnhealthy))
		return err
	})
	f.checkState(f.svc)

	// A second service over the same store (another process, or a restart)
	// writes; the first one's counters are then stale and must be rebuilt.
	other := NewService(f.store, catalog.Default(), &estate.Service{Store: f.store}, nil)
	err = other.Update(f.ctx, func(w *Writer) error {
		for i := range 3 {
			if _, _, err := w.PutAssessment(f.ctx, vm(i), systemUpdates, assessment(StatusUnhealthy)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.checkState(other)
	f.mustUpdate(func(w *Writer) error {
		_, _, err := w.PutAssessment(f.ctx, vm(4), systemUpdates, assessment(StatusUnhealthy))
		return err
	})
	f.checkState(f.svc)
	score, _ := f.svc.Score(f.ctx, testSub)
	// vm0-2, vm4 and vm9 unhealthy, vm3 healthy: 6 × 1/6 = 1.
	if got := score.Controls[2].Score.Current; got != 1 {
		t.Errorf("system updates control = %v, want 1", got)
	}
}

func TestWriter_sub_assessments(t *testing.T) {
	f := newFixture(t)
	aid := AssessmentID(vm(1), systemUpdates)
	finding := func(code StatusCode) *SubAssessment {
		return &SubAssessment{Properties: SubAssessmentProperties{DisplayName: "CVE-2024-3094", ID: "CVE-2024-3094",
			Status: SubAssessmentStatus{Code: code, Severity: "High"}, ResourceDetails: ResourceDetails{Source: "Azure"},
			AdditionalData: Object{{Key: "assessedResourceType", Value: "ServerVulnerability"}}}}
	}
	err := f.update(func(w *Writer) error {
		_, _, err := w.PutSubAssessment(f.ctx, aid, "f1", finding(StatusUnhealthy))
		return err
	})
	if code := armapi.AsError(err).Code; code != "ParentResourceNotFound" {
		t.Fatalf("finding without its assessment: %v", err)
	}
	f.mustUpdate(func(w *Writer) error {
		if _, _, err := w.PutAssessment(f.ctx, vm(1), systemUpdates, assessment(StatusUnhealthy)); err != nil {
			return err
		}
		_, _, err := w.PutSubAssessment(f.ctx, aid, "f1", finding(StatusUnhealthy))
		return err
	})
	evs := bySource(f.events())
	if len(evs[SourceSubAssessments]) != 1 {
		t.Fatalf("create: %d sub-assessment events", len(evs[SourceSubAssessments]))
	}
	b := decodeBody(t, evs[SourceSubAssessments][0].Body)
	if b["$type"] != "subAssessmentEvent" || dig(b, "SubAssessmentEventDataEnrichment", "Action") != "Insert" ||
		b["Id"] != aid+"/subAssessments/f1" || b["TenantId"] != fxTenant {
		t.Errorf("finding event = %s", evs[SourceSubAssessments][0].Body)
	}
	for range 2 {
		f.mustUpdate(func(w *Writer) error {
			_, _, err := w.PutSubAssessment(f.ctx, aid, "f1", finding(StatusUnhealthy))
			return err
		})
	}
	if evs := f.events(); len(evs) != 0 {
		t.Errorf("unchanged finding appended %d events", len(evs))
	}
	f.mustUpdate(func(w *Writer) error {
		_, _, err := w.PutSubAssessment(f.ctx, aid, "f1", finding(StatusHealthy))
		return err
	})
	if evs := bySource(f.events()); len(evs[SourceSubAssessments]) != 1 {
		t.Errorf("status change: %d events", len(evs[SourceSubAssessments]))
	}
	// Removing the assessment removes its findings, with Delete events.
	f.mustUpdate(func(w *Writer) error {
		_, err := w.DeleteAssessment(f.ctx, vm(1), systemUpdates)
		return err
	})
	evs = bySource(f.events())
	if len(evs[SourceSubAssessments]) != 1 || len(evs[SourceAssessments]) != 1 {
		t.Fatalf("cascade: %v", sourceCounts(evs))
	}
	if dig(decodeBody(t, evs[SourceSubAssessments][0].Body), "SecurityEventDataEnrichment", "Action") != "Delete" {
		t.Errorf("cascade event = %s", evs[SourceSubAssessments][0].Body)
	}
	if n, _ := f.store.Count(f.ctx, store.ListOptions{Kind: KindSubAssessment}); n != 0 {
		t.Errorf("%d findings left", n)
	}
}

func TestWriter_alerts(t *testing.T) {
	f := newFixture(t)
	raw := `{"properties":{"alertType":"VM_EICAR","alertDisplayName":"Antimalware Action Taken","severity":"high",
		"productComponentName":"Servers","systemAlertId":"a1b2","resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"` + vm(1) + `"}]}}`
	put := func() *Alert {
		a, err := ParseAlert([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		f.mustUpdate(func(w *Writer) error {
			_, _, err := w.PutAlert(f.ctx, a, "")
			return err
		})
		return a
	}
	a := put()
	if want := "/subscriptions/" + testSub + "/resourceGroups/rg1/providers/Microsoft.Security/locations/westeurope/alerts/a1b2"; a.ID != want {
		t.Errorf("alert id = %s, want %s (the resource group's location)", a.ID, want)
	}
	evs := bySource(f.events())
	if len(evs[SourceAlerts]) != 1 {
		t.Fatalf("create: %d alert events", len(evs[SourceAlerts]))
	}
	ev := evs[SourceAlerts][0]
	b := decodeBody(t, ev.Body)
	if b["Status"] != "New" || b["Severity"] != "High" || b["SystemAlertId"] != "a1b2" || b["AzureResourceId"] != vm(1) {
		t.Errorf("alert event = %s", ev.Body)
	}
	extra := decodeBody(t, ev.Extra)
	if extra["ProductComponentName"] != "Servers" || extra["Version"] != "3.0" {
		t.Errorf("extra = %s", ev.Extra)
	}
	f.clock = f.clock.Add(time.Minute)
	put()
	if evs := f.events(); len(evs) != 0 {
		t.Errorf("re-sent alert appended %d events", len(evs))
	}
	for _, status := range []string{"Dismissed", "Dismissed", "Active"} {
		f.mustUpdate(func(w *Writer) error { return w.SetAlertStatus(f.ctx, a.ID, status) })
	}
	evs = bySource(f.events())
	if len(evs[SourceAlerts]) != 2 {
		t.Fatalf("status changes: %d alert events, want 2", len(evs[SourceAlerts]))
	}
	if got := decodeBody(t, evs[SourceAlerts][0].Body)["Status"]; got != "Dismissed" {
		t.Errorf("status event = %v", got)
	}
	err := f.update(func(w *Writer) error { return w.SetAlertStatus(f.ctx, a.ID+"x", "Resolved") })
	if armapi.AsError(err).Code != "AlertNotFound" {
		t.Errorf("unknown alert: %v", err)
	}
}

func TestSnapshot_sources(t *testing.T) {
	f := newFixture(t)
	f.mustUpdate(func(w *Writer) error {
		for i := range 3 {
			if _, _, err := w.PutAssessment(f.ctx, vm(i), systemUpdates, assessment(StatusHealthy)); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		source string
		want   int
	}{
		{"AssessmentsSnapshot", 3}, {"Assessments", 3}, {"SecureScoresSnapshot", 1},
		{"SecureScoreControlsSnapshot", len(catalog.Default().Controls)}, {"SubAssessmentsSnapshot", 0},
	} {
		var got []*store.Event
		err := f.svc.Snapshot(f.ctx, testSub, tc.source, func(ev *store.Event) error { got = append(got, ev); return nil })
		if err != nil {
			t.Fatalf("%s: %v", tc.source, err)
		}
		if len(got) != tc.want {
			t.Errorf("%s: %d events, want %d", tc.source, len(got), tc.want)
		}
		for _, ev := range got {
			if !strings.Contains(string(ev.Body), `"isSnapshot":true`) || ev.Tenant != fxTenant || ev.Subscription != testSub || ev.ID == "" {
				t.Errorf("%s: event %+v body %s", tc.source, ev, ev.Body)
			}
		}
	}
	if err := f.svc.Snapshot(f.ctx, testSub, "Nope", func(*store.Event) error { return nil }); err == nil {
		t.Error("an unknown source was snapshotted")
	}
}
