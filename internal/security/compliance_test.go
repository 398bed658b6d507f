package security

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/catalog"
)

func TestComputeCompliance_states(t *testing.T) {
	std := &catalog.Standard{Name: "STD", Controls: []*catalog.StandardControl{
		{Name: "C1", Description: "one", Assessments: []string{k1, k2}},
		{Name: "C2", Description: "two", Assessments: []string{k3}},
	}}
	type aRes struct {
		State                   ComplianceState
		Passed, Failed, Skipped int
	}
	tests := []struct {
		name        string
		states      []AssessmentState
		wantA       map[string]aRes // by key
		wantControl map[string]ComplianceState
		wantStd     ComplianceStandardResult
	}{
		{
			name:        "no_resources_is_unsupported",
			wantA:       map[string]aRes{k1: {State: StateUnsupported}, k2: {State: StateUnsupported}, k3: {State: StateUnsupported}},
			wantControl: map[string]ComplianceState{"C1": StateUnsupported, "C2": StateUnsupported},
			wantStd:     ComplianceStandardResult{Name: "STD", State: StateUnsupported, Unsupported: 2},
		},
		{
			name:        "any_failed_is_failed",
			states:      []AssessmentState{st(k1, r1, StatusHealthy), st(k1, r2, StatusUnhealthy), st(k2, r1, StatusHealthy), st(k3, r1, StatusHealthy)},
			wantA:       map[string]aRes{k1: {StateFailed, 1, 1, 0}, k2: {StatePassed, 1, 0, 0}, k3: {StatePassed, 1, 0, 0}},
			wantControl: map[string]ComplianceState{"C1": StateFailed, "C2": StatePassed},
			wantStd:     ComplianceStandardResult{Name: "STD", State: StateFailed, Passed: 1, Failed: 1},
		},
		{
			name:        "passed_with_skipped_is_passed",
			states:      []AssessmentState{st(k1, r1, StatusHealthy), st(k1, r2, StatusNotApplicable), st(k3, r1, StatusNotApplicable)},
			wantA:       map[string]aRes{k1: {StatePassed, 1, 0, 1}, k2: {State: StateUnsupported}, k3: {StateSkipped, 0, 0, 1}},
			wantControl: map[string]ComplianceState{"C1": StatePassed, "C2": StateSkipped},
			wantStd:     ComplianceStandardResult{Name: "STD", State: StatePassed, Passed: 1, Skipped: 1},
		},
		{
			name:        "all_skipped_is_skipped",
			states:      []AssessmentState{st(k1, r1, StatusNotApplicable), st(k3, r2, StatusNotApplicable)},
			wantA:       map[string]aRes{k1: {StateSkipped, 0, 0, 1}, k2: {State: StateUnsupported}, k3: {StateSkipped, 0, 0, 1}},
			wantControl: map[string]ComplianceState{"C1": StateSkipped, "C2": StateSkipped},
			wantStd:     ComplianceStandardResult{Name: "STD", State: StateSkipped, Skipped: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ComputeCompliance(nil, []*catalog.Standard{std}, tt.states)[0]
			gotA := map[string]aRes{}
			gotC := map[string]ComplianceState{}
			for _, c := range got.Controls {
				gotC[c.Name] = c.State
				for _, a := range c.Assessments {
					gotA[a.Key] = aRes{a.State, a.Passed, a.Failed, a.Skipped}
				}
			}
			if diff := cmp.Diff(tt.wantA, gotA); diff != "" {
				t.Errorf("assessments (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantControl, gotC); diff != "" {
				t.Errorf("controls (-want +got):\n%s", diff)
			}
			got.Controls = nil
			if diff := cmp.Diff(tt.wantStd, got); diff != "" {
				t.Errorf("standard (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeCompliance_control_counts_and_records(t *testing.T) {
	cat := catalog.Default()
	mcsb, _ := cat.Standard("Microsoft-cloud-security-benchmark")
	aks := "56a83a6e-c417-42ec-b567-1e6fcb3d09a9"
	states := []AssessmentState{st(aks, r1, StatusHealthy), st(aks, r2, StatusUnhealthy)}
	res := ComputeCompliance(cat, []*catalog.Standard{mcsb}, states)
	stds, ctls, as := ComplianceRecords("11111111-1111-1111-1111-111111111111", res)
	if len(stds) != 1 || stds[0].Properties.State != StateFailed || stds[0].Properties.FailedControls != 1 {
		t.Fatalf("standard = %+v", stds[0].Properties)
	}
	if want := len(mcsb.Controls) - 1; stds[0].Properties.UnsupportedControls != want {
		t.Errorf("unsupportedControls = %d, want %d", stds[0].Properties.UnsupportedControls, want)
	}
	var lt2 *RegulatoryComplianceControl
	for _, c := range ctls {
		if c.Name == "LT.2" {
			lt2 = c
		}
	}
	if lt2 == nil || lt2.Properties.State != StateFailed || lt2.Properties.FailedAssessments != 1 {
		t.Fatalf("LT.2 = %+v", lt2)
	}
	var rec *RegulatoryComplianceAssessment
	for _, a := range as {
		if a.Name == aks {
			rec = a
		}
	}
	want := &RegulatoryComplianceAssessment{
		ID:   "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.Security/regulatoryComplianceStandards/Microsoft-cloud-security-benchmark/regulatoryComplianceControls/LT.2/regulatoryComplianceAssessments/" + aks,
		Name: aks,
		Type: TypeRegulatoryComplianceAssessment,
		Properties: RegulatoryComplianceAssessmentProperties{
			Description: "Azure Kubernetes Service clusters should have Defender profile enabled", State: StateFailed, Scope: "Subscription",
			PassedResources: 1, FailedResources: 1, AssessmentType: "AssessmentResult",
			AssessmentDetailsLink: "https://portal.azure.com/#blade/Microsoft_Azure_Security/RecommendationsBlade/assessmentKey/" + aks + "/initiativeId/Microsoft-cloud-security-benchmark",
		},
	}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("assessment record (-want +got):\n%s", diff)
	}
	body, err := RegulatoryComplianceEvent(rec, false)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "compliance-computed.json", body)
}
