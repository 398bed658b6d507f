package security_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/security/armsecurity"
	"github.com/google/uuid"

	"sluice/internal/catalog"
	"sluice/internal/ingest"
	"sluice/internal/security"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

// env is a running server with one registered subscription holding the
// resource group rg1 (westeurope).
type env struct {
	*servertest.Env
	t   *testing.T
	ctx context.Context
	sub string
}

func newEnv(t *testing.T, opts ...servertest.Option) *env {
	t.Helper()
	e := &env{Env: servertest.New(t, opts...), t: t, ctx: context.Background(), sub: uuid.NewString()}
	e.register(e.sub)
	return e
}

func (e *env) register(sub string) {
	e.t.Helper()
	resp, body := e.Do(http.MethodPut, "/subscriptions/"+sub+"?api-version=2022-12-01", e.Token, map[string]any{"displayName": "Security tests"})
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("register subscription: %d %s", resp.StatusCode, body)
	}
	resp, body = e.Do(http.MethodPut, "/subscriptions/"+sub+"/resourcegroups/rg1?api-version=2021-04-01", e.Token, map[string]any{"location": "westeurope"})
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("create resource group: %d %s", resp.StatusCode, body)
	}
}

func (e *env) vm(n int) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm%d", e.sub, n)
}

// ingest posts NDJSON lines and decodes the per-line results.
func (e *env) ingest(lines ...string) *ingest.Result {
	e.t.Helper()
	compact := make([]string, len(lines))
	for i, l := range lines {
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(l)); err != nil {
			compact[i] = l // malformed on purpose
			continue
		}
		compact[i] = b.String()
	}
	resp, body := e.Do(http.MethodPost, server.IngestPath+"?api-version=2024-01-01", e.Token, strings.Join(compact, "\n"))
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	var res ingest.Result
	if err := json.Unmarshal(body, &res); err != nil {
		e.t.Fatalf("ingest result %s: %v", body, err)
	}
	return &res
}

func (e *env) mustIngest(lines ...string) *ingest.Result {
	e.t.Helper()
	res := e.ingest(lines...)
	if res.Rejected != 0 {
		out, _ := json.Marshal(res.Results)
		e.t.Fatalf("rejected lines: %s", out)
	}
	return res
}

// events returns the whole event log.
func (e *env) events() []*store.Event {
	e.t.Helper()
	evs, err := e.Server.Store.Events(e.ctx, 0, 100000)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func errorCode(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func collect[T any](t *testing.T, p *runtime.Pager[T]) []T {
	t.Helper()
	var pages []T
	for p.More() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page)
	}
	return pages
}

const systemUpdates = "45cfe080-ceb1-a91e-9743-71551ed24e94"

func assessmentLine(id, code string) string {
	return `{"type":"Microsoft.Security/assessments","id":"` + id + `","properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"` + code + `"}}}`
}

func TestSDK_assessments(t *testing.T) {
	e := newEnv(t)
	c, err := armsecurity.NewAssessmentsClient(e.Cred(), e.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	body := armsecurity.Assessment{Properties: &armsecurity.AssessmentProperties{
		ResourceDetails: &armsecurity.AzureResourceDetails{Source: to.Ptr(armsecurity.SourceAzure)},
		Status:          &armsecurity.AssessmentStatus{Code: to.Ptr(armsecurity.AssessmentStatusCodeUnhealthy), Cause: to.Ptr("Missing"), Description: to.Ptr("Two updates missing")},
		AdditionalData:  map[string]*string{"missing": to.Ptr("2")},
	}}
	created, err := c.CreateOrUpdate(e.ctx, e.vm(1), systemUpdates, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := created.Properties
	rec, _ := catalog.Default().Recommendation(systemUpdates)
	if *created.Name != systemUpdates || *p.Status.Code != armsecurity.AssessmentStatusCodeUnhealthy || p.Status.FirstEvaluationDate == nil ||
		*p.DisplayName != rec.DisplayName || p.Metadata == nil || string(*p.Metadata.Severity) != rec.Severity || *p.AdditionalData["missing"] != "2" {
		t.Errorf("created = %+v", p)
	}
	if rd, ok := p.ResourceDetails.(*armsecurity.AzureResourceDetails); !ok || *rd.ID != e.vm(1) {
		t.Errorf("resourceDetails = %#v", p.ResourceDetails)
	}
	// Case-insensitive paths: the same assessment through other spellings.
	got, err := c.Get(e.ctx, strings.ToLower(e.vm(1)), strings.ToUpper(systemUpdates), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.ID != *created.ID {
		t.Errorf("get id = %s, want %s", *got.ID, *created.ID)
	}
	// A second resource, and a subscription-level assessment.
	body.Properties.Status.Code = to.Ptr(armsecurity.AssessmentStatusCodeHealthy)
	if _, err := c.CreateOrUpdate(e.ctx, e.vm(2), systemUpdates, body, nil); err != nil {
		t.Fatal(err)
	}
	const mfa = "739d7d9c-12a7-51d2-a6f6-32de471e8a01"
	if _, err := c.CreateOrUpdate(e.ctx, "/subscriptions/"+e.sub, mfa, body, nil); err != nil {
		t.Fatal(err)
	}
	count := func(scope string) int {
		n := 0
		for _, page := range collect(t, c.NewListPager(scope, nil)) {
			n += len(page.Value)
		}
		return n
	}
	if n := count("/subscriptions/" + e.sub); n != 3 {
		t.Errorf("subscription list: %d, want 3", n)
	}
	if n := count("/subscriptions/" + e.sub + "/resourcegroups/RG1"); n != 2 {
		t.Errorf("resource group list: %d, want 2", n)
	}
	// Update in place: 200 with the first evaluation date kept.
	upd, err := c.CreateOrUpdate(e.ctx, e.vm(1), systemUpdates, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !upd.Properties.Status.FirstEvaluationDate.Equal(*p.Status.FirstEvaluationDate) || upd.Properties.Status.StatusChangeDate.Before(*p.Status.StatusChangeDate) {
		t.Errorf("dates after update = %v/%v, before %v/%v", upd.Properties.Status.FirstEvaluationDate, upd.Properties.Status.StatusChangeDate,
			p.Status.FirstEvaluationDate, p.Status.StatusChangeDate)
	}
	if _, err := c.Delete(e.ctx, e.vm(1), systemUpdates, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(e.ctx, e.vm(1), systemUpdates, nil); err != nil {
		t.Errorf("second delete: %v", err)
	}
	if _, err := c.Get(e.ctx, e.vm(1), systemUpdates, nil); errorCode(err) != "AssessmentNotFound" {
		t.Errorf("get after delete: %v", err)
	}
	var sources []string
	for _, ev := range e.events() {
		if ev.Source == security.SourceAssessments {
			sources = append(sources, fmt.Sprint(strings.Contains(string(ev.Body), `"action":"Delete"`)))
		}
	}
	// vm1 Insert, vm2 Insert, subscription Insert, vm1 Insert (status change), vm1 Delete.
	if want := []string{"false", "false", "false", "false", "true"}; !slices.Equal(sources, want) {
		t.Errorf("assessment events (delete?) = %v, want %v", sources, want)
	}
}

func TestSDK_assessment_metadata(t *testing.T) {
	e := newEnv(t)
	c, err := armsecurity.NewAssessmentsMetadataClient(e.sub, e.Cred(), e.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, page := range collect(t, c.NewListPager(nil)) {
		n += len(page.Value)
	}
	if n != len(catalog.Default().Recommendations) {
		t.Errorf("built-in list: %d, want %d", n, len(catalog.Default().Recommendations))
	}
	b, err := c.Get(e.ctx, systemUpdates, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *b.Properties.AssessmentType != armsecurity.AssessmentTypeBuiltIn || b.Properties.PolicyDefinitionID == nil {
		t.Errorf("built-in = %+v", b.Properties)
	}
	name := uuid.NewString()
	m := armsecurity.AssessmentMetadataResponse{Properties: &armsecurity.AssessmentMetadataPropertiesResponse{
		DisplayName:    to.Ptr("Backups must be tested monthly"),
		Description:    to.Ptr("A restore test proves the backups work."),
		AssessmentType: to.Ptr(armsecurity.AssessmentTypeCustomerManaged),
		Severity:       to.Ptr(armsecurity.SeverityHigh),
		Categories:     []*armsecurity.Categories{to.Ptr(armsecurity.CategoriesData)},
		Threats:        []*armsecurity.Threats{to.Ptr(armsecurity.ThreatsDataSpillage)},
		UserImpact:     to.Ptr(armsecurity.UserImpactLow),
	}}
	created, err := c.CreateInSubscription(e.ctx, name, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *created.Name != name || *created.Properties.DisplayName != "Backups must be tested monthly" {
		t.Errorf("created = %+v", created)
	}
	got, err := c.GetInSubscription(e.ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Properties.Severity != armsecurity.SeverityHigh {
		t.Errorf("severity = %v", *got.Properties.Severity)
	}
	found := false
	total := 0
	for _, page := range collect(t, c.NewListBySubscriptionPager(nil)) {
		for _, v := range page.Value {
			total++
			found = found || *v.Name == name
		}
	}
	if !found || total != len(catalog.Default().Recommendations)+1 {
		t.Errorf("subscription list: %d items, custom found %v", total, found)
	}
	// An assessment of the custom key takes its definition.
	ac, _ := armsecurity.NewAssessmentsClient(e.Cred(), e.ARMOptions())
	a, err := ac.CreateOrUpdate(e.ctx, e.vm(1), name, armsecurity.Assessment{Properties: &armsecurity.AssessmentProperties{
		ResourceDetails: &armsecurity.AzureResourceDetails{Source: to.Ptr(armsecurity.SourceAzure)},
		Status:          &armsecurity.AssessmentStatus{Code: to.Ptr(armsecurity.AssessmentStatusCodeUnhealthy)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *a.Properties.DisplayName != "Backups must be tested monthly" || *a.Properties.Metadata.Severity != armsecurity.SeverityHigh {
		t.Errorf("custom assessment = %+v", a.Properties)
	}
	if _, err := c.CreateInSubscription(e.ctx, systemUpdates, m, nil); errorCode(err) != "BuiltInAssessmentMetadata" {
		t.Errorf("overwriting a built-in: %v", err)
	}
	if _, err := c.DeleteInSubscription(e.ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetInSubscription(e.ctx, name, nil); errorCode(err) != "AssessmentMetadataNotFound" {
		t.Errorf("get after delete: %v", err)
	}
}

func subAssessmentLine(assessmentID, name, code string) string {
	return `{"type":"Microsoft.Security/assessments/subAssessments","id":"` + assessmentID + `/subAssessments/` + name + `",
	 "properties":{"id":"CVE-2024-3094","displayName":"xz backdoor","status":{"code":"` + code + `","severity":"High"},
	 "resourceDetails":{"source":"Azure"},"additionalData":{"assessedResourceType":"ServerVulnerabilityAssessment","cve":[{"title":"CVE-2024-3094"}]}}}`
}

func TestSDK_sub_assessments(t *testing.T) {
	e := newEnv(t)
	const vuln = "859775fd-c53e-5ade-ad1d-15930ff69736"
	a1, a2 := security.AssessmentID(e.vm(1), vuln), security.AssessmentID(e.vm(2), vuln)
	// The same line set, sent as one batch: assessments before their findings.
	res := e.mustIngest(
		assessmentLine(a1, "Unhealthy"), assessmentLine(a2, "Unhealthy"),
		subAssessmentLine(a1, "f1", "Unhealthy"), subAssessmentLine(a1, "f2", "Unhealthy"), subAssessmentLine(a2, "f1", "Healthy"))
	if res.Accepted != 5 {
		t.Fatalf("accepted %d", res.Accepted)
	}
	c, err := armsecurity.NewSubAssessmentsClient(e.Cred(), e.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, page := range collect(t, c.NewListPager(e.vm(1), vuln, nil)) {
		n += len(page.Value)
	}
	if n != 2 {
		t.Errorf("list under vm1: %d, want 2", n)
	}
	n = 0
	for _, page := range collect(t, c.NewListPager("/subscriptions/"+e.sub, vuln, nil)) {
		n += len(page.Value)
	}
	if n != 3 {
		t.Errorf("list in the subscription: %d, want 3", n)
	}
	n = 0
	for _, page := range collect(t, c.NewListAllPager("/subscriptions/"+e.sub, nil)) {
		n += len(page.Value)
	}
	if n != 3 {
		t.Errorf("list all: %d, want 3", n)
	}
	got, err := c.Get(e.ctx, e.vm(1), vuln, "f2", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := got.Properties
	if *got.Name != "f2" || *p.Status.Code != armsecurity.SubAssessmentStatusCodeUnhealthy || *p.Status.Severity != armsecurity.SeverityHigh || p.TimeGenerated == nil {
		t.Errorf("finding = %+v", p)
	}
	if ad, ok := p.AdditionalData.(*armsecurity.ServerVulnerabilityProperties); !ok || len(ad.Cve) != 1 {
		t.Errorf("additionalData = %#v", p.AdditionalData)
	}
	if _, err := c.Get(e.ctx, e.vm(1), vuln, "nope", nil); errorCode(err) != "SubAssessmentNotFound" {
		t.Errorf("missing finding: %v", err)
	}
}

func alertLine(resource, systemID, severity string) string {
	return `{"type":"Microsoft.Security/Locations/alerts","properties":{"alertType":"VM_EICAR","alertDisplayName":"Antimalware Action Taken",
	 "description":"Microsoft Antimalware detected a test file.","severity":"` + severity + `","intent":"Execution","systemAlertId":"` + systemID + `",
	 "productComponentName":"Servers","remediationSteps":["No further action is needed."],
	 "resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"` + resource + `"}],
	 "entities":[{"type":"host","hostName":"vm1","asset":true},{"type":"file","name":"eicar.com","directory":"c:\\temp"}]}}`
}

type stateStep struct {
	do   func() error
	want armsecurity.AlertStatus
	get  func() (*armsecurity.AlertStatus, error)
}

func TestSDK_alerts(t *testing.T) {
	e := newEnv(t)
	subLevel := "/subscriptions/" + e.sub
	e.mustIngest(alertLine(e.vm(1), "alert-rg", "High"), alertLine(subLevel, "alert-sub", "Low"))
	c, err := armsecurity.NewAlertsClient(e.sub, e.Cred(), e.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	names := func(pages []armsecurity.AlertList) []string {
		var out []string
		for _, p := range pages {
			for _, a := range p.Value {
				out = append(out, *a.Name)
			}
		}
		slices.Sort(out)
		return out
	}
	var all []armsecurity.AlertList
	for _, p := range collect(t, c.NewListPager(nil)) {
		all = append(all, p.AlertList)
	}
	if got := names(all); !slices.Equal(got, []string{"alert-rg", "alert-sub"}) {
		t.Errorf("list = %v", got)
	}
	var rg []armsecurity.AlertList
	for _, p := range collect(t, c.NewListByResourceGroupPager("rg1", nil)) {
		rg = append(rg, p.AlertList)
	}
	if got := names(rg); !slices.Equal(got, []string{"alert-rg"}) {
		t.Errorf("resource group list = %v", got)
	}
	var subRegion []armsecurity.AlertList
	for _, p := range collect(t, c.NewListSubscriptionLevelByRegionPager("centralus", nil)) {
		subRegion = append(subRegion, p.AlertList)
	}
	if got := names(subRegion); !slices.Equal(got, []string{"alert-sub"}) {
		t.Errorf("subscription level by region = %v", got)
	}
	var rgRegion []armsecurity.AlertList
	for _, p := range collect(t, c.NewListResourceGroupLevelByRegionPager("westeurope", "rg1", nil)) {
		rgRegion = append(rgRegion, p.AlertList)
	}
	if got := names(rgRegion); !slices.Equal(got, []string{"alert-rg"}) {
		t.Errorf("resource group level by region = %v", got)
	}
	a, err := c.GetResourceGroupLevel(e.ctx, "rg1", "westeurope", "alert-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := a.Properties
	if *p.Status != armsecurity.AlertStatusActive || *p.Severity != armsecurity.AlertSeverityHigh || *p.CompromisedEntity != "vm1" ||
		*p.ProductComponentName != "Servers" || len(p.Entities) != 2 || p.AlertURI == nil {
		t.Errorf("alert = %+v", p)
	}
	if _, err := c.GetSubscriptionLevel(e.ctx, "centralus", "alert-sub", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSubscriptionLevel(e.ctx, "centralus", "alert-rg", nil); errorCode(err) != "AlertNotFound" {
		t.Errorf("an RG-level alert through the subscription-level route: %v", err)
	}
	// State changes at both levels.
	var steps []stateStep
	rgStatus := func() (*armsecurity.AlertStatus, error) {
		a, err := c.GetResourceGroupLevel(e.ctx, "rg1", "westeurope", "alert-rg", nil)
		return a.Properties.Status, err
	}
	subStatus := func() (*armsecurity.AlertStatus, error) {
		a, err := c.GetSubscriptionLevel(e.ctx, "centralus", "alert-sub", nil)
		return a.Properties.Status, err
	}
	steps = append(steps,
		stateStep{func() error {
			_, err := c.UpdateResourceGroupLevelStateToInProgress(e.ctx, "rg1", "westeurope", "alert-rg", nil)
			return err
		}, armsecurity.AlertStatusInProgress, rgStatus},
		stateStep{func() error {
			_, err := c.UpdateResourceGroupLevelStateToResolve(e.ctx, "rg1", "westeurope", "alert-rg", nil)
			return err
		}, armsecurity.AlertStatusResolved, rgStatus},
		stateStep{func() error {
			_, err := c.UpdateResourceGroupLevelStateToDismiss(e.ctx, "rg1", "westeurope", "alert-rg", nil)
			return err
		}, armsecurity.AlertStatusDismissed, rgStatus},
		stateStep{func() error {
			_, err := c.UpdateResourceGroupLevelStateToActivate(e.ctx, "rg1", "westeurope", "alert-rg", nil)
			return err
		}, armsecurity.AlertStatusActive, rgStatus},
		stateStep{func() error {
			_, err := c.UpdateSubscriptionLevelStateToDismiss(e.ctx, "centralus", "alert-sub", nil)
			return err
		}, armsecurity.AlertStatusDismissed, subStatus},
		stateStep{func() error {
			_, err := c.UpdateSubscriptionLevelStateToInProgress(e.ctx, "centralus", "alert-sub", nil)
			return err
		}, armsecurity.AlertStatusInProgress, subStatus},
		stateStep{func() error {
			_, err := c.UpdateSubscriptionLevelStateToResolve(e.ctx, "centralus", "alert-sub", nil)
			return err
		}, armsecurity.AlertStatusResolved, subStatus},
		stateStep{func() error {
			_, err := c.UpdateSubscriptionLevelStateToActivate(e.ctx, "centralus", "alert-sub", nil)
			return err
		}, armsecurity.AlertStatusActive, subStatus},
	)
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got, err := s.get()
		if err != nil {
			t.Fatal(err)
		}
		if *got != s.want {
			t.Errorf("step %d: status %s, want %s", i, *got, s.want)
		}
	}
	if _, err := c.UpdateSubscriptionLevelStateToDismiss(e.ctx, "centralus", "missing", nil); errorCode(err) != "AlertNotFound" {
		t.Errorf("dismissing a missing alert: %v", err)
	}
	// Two creations and eight status changes, each exported once.
	var statuses []string
	for _, ev := range e.events() {
		if ev.Source == security.SourceAlerts {
			var b struct{ Status string }
			_ = json.Unmarshal(ev.Body, &b)
			statuses = append(statuses, b.Status)
		}
	}
	want := []string{"New", "New", "InProgress", "Resolved", "Dismissed", "New", "Dismissed", "InProgress", "Resolved", "New"}
	if !slices.Equal(statuses, want) {
		t.Errorf("exported statuses = %v, want %v", statuses, want)
	}

	// Simulation as a long-running operation.
	poller, err := c.BeginSimulate(e.ctx, "westeurope", armsecurity.AlertSimulatorRequestBody{Properties: &armsecurity.AlertSimulatorBundlesRequestProperties{
		Kind:    to.Ptr(armsecurity.KindBundles),
		Bundles: []*armsecurity.BundleType{to.Ptr(armsecurity.BundleTypeVirtualMachines), to.Ptr(armsecurity.BundleTypeKeyVaults), to.Ptr(armsecurity.BundleTypeDNS)},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(e.ctx, nil); err != nil {
		t.Fatal(err)
	}
	var after []armsecurity.AlertList
	for _, p := range collect(t, c.NewListPager(nil)) {
		after = append(after, p.AlertList)
	}
	simulated := 0
	for _, p := range after {
		for _, a := range p.Value {
			if *a.Name != "alert-rg" && *a.Name != "alert-sub" {
				simulated++
				if len(a.Properties.RemediationSteps) == 0 || a.Properties.Intent == nil {
					t.Errorf("simulated alert lacks remediation or intent: %+v", a.Properties)
				}
			}
		}
	}
	if simulated != 3 {
		t.Errorf("simulation created %d alerts, want 3", simulated)
	}
	_, err = c.BeginSimulate(e.ctx, "westeurope", armsecurity.AlertSimulatorRequestBody{Properties: &armsecurity.AlertSimulatorBundlesRequestProperties{
		Kind: to.Ptr(armsecurity.KindBundles), Bundles: []*armsecurity.BundleType{to.Ptr(armsecurity.BundleType("Mainframes"))}}}, nil)
	if errorCode(err) != security.CodeInvalidEnumValue {
		t.Errorf("unknown bundle: %v", err)
	}
}

func TestSDK_secure_scores_and_compliance(t *testing.T) {
	e := newEnv(t)
	var lines []string
	for i, code := range []string{"Healthy", "Healthy", "Unhealthy"} {
		lines = append(lines, assessmentLine(security.AssessmentID(e.vm(i), systemUpdates), code))
	}
	e.mustIngest(lines...)
	scores, err := armsecurity.NewSecureScoresClient(e.sub, e.Cred(), e.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	pages := collect(t, scores.NewListPager(nil))
	if len(pages) != 1 || len(pages[0].Value) != 1 || *pages[0].Value[0].Name != "ascScore" {
		t.Fatalf("secure scores = %+v", pages)
	}
	s, err := scores.Get(e.ctx, "ascScore", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *s.Properties.Score.Current != 4 || *s.Properties.Score.Max != 6 || *s.Properties.Score.Percentage != 0.6667 || *s.Properties.Weight != 3 {
		t.Errorf("score = %+v weight %d", *s.Properties.Score, *s.Properties.Weight)
	}
	if _, err := scores.Get(e.ctx, "other", nil); errorCode(err) != "SecureScoreNotFound" {
		t.Errorf("unknown score: %v", err)
	}
	controls, err := armsecurity.NewSecureScoreControlsClient(e.sub, e.Cred(), e.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	var updates *armsecurity.SecureScoreControlDetails
	n := 0
	for _, page := range collect(t, controls.NewListPager(&armsecurity.SecureScoreControlsClientListOptions{Expand: to.Ptr(armsecurity.ExpandControlsEnumDefinition)})) {
		for _, c := range page.Value {
			n++
			if *c.Name == "61702b76-1fab-41f2-bcbc-50b7870dcf38" {
				updates = c
			}
		}
	}
	if n != len(catalog.Default().Controls) || updates == nil {
		t.Fatalf("controls: %d, system updates found: %v", n, updates != nil)
	}
	up := updates.Properties
	if *up.HealthyResourceCount != 2 || *up.UnhealthyResourceCount != 1 || *up.Score.Current != 4 || up.Definition == nil ||
		*up.Definition.Properties.MaxScore != 6 || len(up.Definition.Properties.AssessmentDefinitions) == 0 {
		t.Errorf("system updates control = %+v", up)
	}
	for _, page := range collect(t, controls.NewListBySecureScorePager("ascScore", nil)) {
		for _, c := range page.Value {
			if c.Properties.Definition != nil {
				t.Errorf("control %s expanded without $expand", *c.Name)
			}
		}
	}
	defs, err := armsecurity.NewSecureScoreControlDefinitionsClient(e.sub, e.Cred(), e.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, pager := range []*runtime.Pager[armsecurity.SecureScoreControlDefinitionsClientListResponse]{defs.NewListPager(nil)} {
		n := 0
		for _, page := range collect(t, pager) {
			n += len(page.Value)
		}
		if n != len(catalog.Default().Controls) {
			t.Errorf("definitions: %d", n)
		}
	}
	n = 0
	for _, page := range collect(t, defs.NewListBySubscriptionPager(nil)) {
		n += len(page.Value)
	}
	if n != len(catalog.Default().Controls) {
		t.Errorf("subscription definitions: %d", n)
	}

	// Regulatory compliance.
	stds, err := armsecurity.NewRegulatoryComplianceStandardsClient(e.sub, e.Cred(), e.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	for _, page := range collect(t, stds.NewListPager(nil)) {
		n += len(page.Value)
	}
	if n != len(catalog.Default().Standards) {
		t.Errorf("standards: %d", n)
	}
	// Find a standard control that maps the system updates recommendation.
	var stdName, ctlName string
	for _, std := range catalog.Default().Standards {
		for _, c := range std.Controls {
			if stdName == "" && slices.Contains(c.Assessments, systemUpdates) {
				stdName, ctlName = std.Name, c.Name
			}
		}
	}
	if stdName == "" {
		t.Fatal("no standard maps the system updates recommendation")
	}
	std, err := stds.Get(e.ctx, stdName, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *std.Properties.State != armsecurity.StateFailed || *std.Properties.FailedControls < 1 {
		t.Errorf("standard = %+v", std.Properties)
	}
	ctls, _ := armsecurity.NewRegulatoryComplianceControlsClient(e.sub, e.Cred(), e.ARMOptions())
	found := false
	for _, page := range collect(t, ctls.NewListPager(stdName, nil)) {
		for _, c := range page.Value {
			found = found || strings.EqualFold(*c.Name, ctlName)
		}
	}
	if !found {
		t.Errorf("control %s not listed", ctlName)
	}
	ctl, err := ctls.Get(e.ctx, stdName, ctlName, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *ctl.Properties.State != armsecurity.StateFailed || *ctl.Properties.FailedAssessments != 1 {
		t.Errorf("control = %+v", ctl.Properties)
	}
	as, _ := armsecurity.NewRegulatoryComplianceAssessmentsClient(e.sub, e.Cred(), e.ARMOptions())
	n = 0
	for _, page := range collect(t, as.NewListPager(stdName, ctlName, nil)) {
		n += len(page.Value)
	}
	if n == 0 {
		t.Error("no compliance assessments listed")
	}
	a, err := as.Get(e.ctx, stdName, ctlName, systemUpdates, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *a.Properties.State != armsecurity.StateFailed || *a.Properties.PassedResources != 2 || *a.Properties.FailedResources != 1 {
		t.Errorf("compliance assessment = %+v", a.Properties)
	}
	if _, err := as.Get(e.ctx, stdName, "no-such-control", systemUpdates, nil); errorCode(err) != "RegulatoryComplianceControlNotFound" {
		t.Errorf("unknown control: %v", err)
	}
	if _, err := stds.Get(e.ctx, "no-such-standard", nil); errorCode(err) != "RegulatoryComplianceStandardNotFound" {
		t.Errorf("unknown standard: %v", err)
	}
}
