package security_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/security/armsecurity"

	"sluice/internal/security"
)

// resentLines reads sluice_ingest_resent_lines_total from /metrics.
func (e *env) resentLines() int {
	e.t.Helper()
	resp, err := e.Client.Get(e.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^sluice_ingest_resent_lines_total (\S+)$`).FindSubmatch(body)
	if m == nil {
		e.t.Fatalf("no sluice_ingest_resent_lines_total in /metrics")
	}
	n, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		e.t.Fatal(err)
	}
	return int(n)
}

// TestIngest_resent_lines checks the path that accepts byte-identical
// re-sent lines without parsing them: it is taken (the metric counts it),
// it answers what a full parse answers, it writes nothing, and every other
// way of changing a record makes the next re-send apply in full again.
func TestIngest_resent_lines(t *testing.T) {
	e := newEnv(t)
	a1 := security.AssessmentID(e.vm(1), systemUpdates)
	lines := []string{
		assessmentLine(a1, "Unhealthy"),
		subAssessmentLine(a1, "finding-1", "Unhealthy"),
		alertLine(e.vm(1), "resent-1", "High"),
	}
	first := e.mustIngest(lines...)
	logged := len(e.events())

	// The first re-send confirms the finding and the alert by a full parse
	// (the assessment is known from its write); the second takes the fast
	// path for all three.
	second := e.mustIngest(lines...)
	if got := e.resentLines(); got != 1 {
		t.Errorf("after the first re-send: %d lines confirmed without parsing, want 1", got)
	}
	third := e.mustIngest(lines...)
	if got := e.resentLines(); got != 4 {
		t.Errorf("after the second re-send: %d lines confirmed without parsing, want 4", got)
	}
	for i := range first.Results {
		for _, res := range []*struct{ ID, Status string }{
			{second.Results[i].ID, second.Results[i].Status}, {third.Results[i].ID, third.Results[i].Status},
		} {
			if res.ID != first.Results[i].ID || res.Status != first.Results[i].Status {
				t.Errorf("line %d answered %s %s on re-send, %s %s the first time", i+1, res.Status, res.ID,
					first.Results[i].Status, first.Results[i].ID)
			}
		}
	}
	if n := len(e.events()); n != logged {
		t.Errorf("re-sending unchanged lines appended %d events", n-logged)
	}

	// Change each record another way: a REST write of the assessment, a
	// dismissal of the alert, a deletion of the finding.
	ac, err := armsecurity.NewAssessmentsClient(e.Cred(), e.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.CreateOrUpdate(e.ctx, e.vm(1), systemUpdates, armsecurity.Assessment{Properties: &armsecurity.AssessmentProperties{
		ResourceDetails: &armsecurity.AzureResourceDetails{Source: to.Ptr(armsecurity.SourceAzure)},
		Status:          &armsecurity.AssessmentStatus{Code: to.Ptr(armsecurity.AssessmentStatusCodeHealthy)},
	}}, nil); err != nil {
		t.Fatal(err)
	}
	alerts, err := armsecurity.NewAlertsClient(e.sub, e.Cred(), e.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alerts.UpdateResourceGroupLevelStateToDismiss(e.ctx, "rg1", "westeurope", "resent-1", nil); err != nil {
		t.Fatal(err)
	}
	e.mustIngest(`{"op":"delete","type":"Microsoft.Security/assessments/subAssessments","id":"` + a1 + `/subAssessments/finding-1"}`)
	before := len(e.events())
	e.mustIngest(lines...)
	if got := e.resentLines(); got != 4 {
		t.Errorf("lines of changed records were confirmed without parsing: %d, want 4", got)
	}
	counts := countBySource(e.events()[before:])
	if counts[security.SourceAssessments] != 1 || counts[security.SourceSubAssessments] != 1 || counts[security.SourceAlerts] != 1 {
		t.Errorf("re-sending after other changes appended %v, want one event per record", counts)
	}
	got, err := ac.Get(e.ctx, e.vm(1), systemUpdates, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Properties.Status.Code != armsecurity.AssessmentStatusCodeUnhealthy {
		t.Errorf("the re-sent line did not apply: status %s", *got.Properties.Status.Code)
	}

	// A subscription that is no longer registered rejects the lines, fast
	// path or not.
	e.mustIngest(lines...)
	resp, body := e.Do(http.MethodDelete, "/subscriptions/"+e.sub+"?api-version=2022-12-01", e.Token, nil)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete subscription: %d %s", resp.StatusCode, body)
	}
	res := e.ingest(lines...)
	for _, r := range res.Results {
		if r.Error == nil || r.Error.Code != "SubscriptionNotFound" {
			t.Errorf("line %d of an unregistered subscription: %+v", r.Line, r)
		}
	}
}
