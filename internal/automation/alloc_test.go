package automation_test

import (
	"strings"
	"testing"

	"sluice/internal/automation"
	"sluice/internal/export"
)

// TestMatchAllocations bounds the allocations of matching one event
// against the ten automations of a subscription in BenchmarkMatch (the
// policy-built ones and the custom ones): the document the rules read, and
// nothing per automation, per rule or per value read. Allocations are
// deterministic, unlike time: a change that allocates per event shows here.
func TestMatchAllocations(t *testing.T) {
	exports := benchAutomations(t, 1, 10)
	sub := benchSub(0)
	event := func(tmpl, sev, rg, assess string) (body []byte) {
		return []byte(strings.NewReplacer("{SUB}", sub, "{RG}", rg, "{SEV}", sev, "{NAME}", "000042", "{ASSESS}", assess, "{STATUS}", "Unhealthy").Replace(tmpl))
	}
	for _, tc := range []struct {
		name, source string
		body, extra  []byte
		matches      int // automations matched
		maxAllocs    float64
	}{
		// Nothing matches an informational alert: the policies take
		// high, medium and low; the custom rules want High, or a
		// confidence above 0.5. The 31 top-level names outgrow the
		// document's inline index once.
		{"alert matching nothing", "Alerts", event(benchAlert, "Informational", "web-prod", ""), []byte(benchAlertExtra), 0, 2},
		{"high alert", "Alerts", event(benchAlert, "High", "web-prod", ""), []byte(benchAlertExtra), 8, 2},
		{"assessment matching nothing", "Assessments", event(benchAssessment, "Informational", "web-prod", benchAssessmentNames[4]), nil, 0, 1},
		{"high assessment", "Assessments", event(benchAssessment, "High", "web-prod", benchAssessmentNames[0]), nil, 7, 1},
		{"sub-assessment", "SubAssessments", event(benchSubAssessment, "High", "web-prod", benchAssessmentNames[1]), nil, 6, 1},
		{"secure score control", "SecureScoreControls", event(benchControl, "", "", benchAssessmentNames[4]), nil, 7, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cands []*export.Export
			for _, x := range exports {
				for _, s := range x.Sources {
					if x.Enabled && s == tc.source {
						cands = append(cands, x)
					}
				}
			}
			matched := 0
			allocs := testing.AllocsPerRun(100, func() {
				matched = 0
				doc := automation.NewDocument(tc.body, tc.extra)
				for _, x := range cands {
					if x.Match(tc.source, doc) {
						matched++
					}
				}
			})
			if matched != tc.matches {
				t.Errorf("%d automations matched, want %d", matched, tc.matches)
			}
			if allocs > tc.maxAllocs {
				t.Errorf("%.1f allocations per event, want at most %.0f", allocs, tc.maxAllocs)
			}
			t.Logf("%d candidates, %d matched, %.1f allocations", len(cands), matched, allocs)
		})
	}
}
