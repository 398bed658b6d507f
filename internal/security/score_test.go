package security

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"sluice/internal/catalog"
)

const (
	k1 = "00000000-0000-0000-0000-0000000000a1"
	k2 = "00000000-0000-0000-0000-0000000000a2"
	k3 = "00000000-0000-0000-0000-0000000000a3"
	r1 = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
	r2 = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm2"
	r3 = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm3"
)

func st(key, res string, code StatusCode) AssessmentState {
	return AssessmentState{Key: key, ResourceID: res, Code: code}
}

var (
	ctlA    = &catalog.Control{Name: "c-a", DisplayName: "A", MaxScore: 6, Assessments: []string{k1, k2}}
	ctlB    = &catalog.Control{Name: "c-b", DisplayName: "B", MaxScore: 10, Assessments: []string{k3}}
	ctlZero = &catalog.Control{Name: "c-z", DisplayName: "Best practices", MaxScore: 0, Assessments: []string{k1}}
)

type ctlSummary struct {
	Name                           string
	Healthy, Unhealthy, NotApplied int
	Score                          ScoreDetails
	Weight                         int64
}

func summarize(r ScoreResult) []ctlSummary {
	var out []ctlSummary
	for _, c := range r.Controls {
		out = append(out, ctlSummary{c.Control.Name, c.Healthy, c.Unhealthy, c.NotApplicable, c.Score, c.Weight})
	}
	return out
}

func TestComputeSecureScore(t *testing.T) {
	tests := []struct {
		name       string
		controls   []*catalog.Control
		states     []AssessmentState
		want       ScoreDetails
		wantWeight int64
		wantCtls   []ctlSummary
	}{
		{
			name:     "no_assessments",
			controls: []*catalog.Control{ctlA, ctlB},
			want:     ScoreDetails{},
			wantCtls: []ctlSummary{{Name: "c-a", Score: ScoreDetails{Max: 6}}, {Name: "c-b", Score: ScoreDetails{Max: 10}}},
		},
		{
			name:     "two_of_three_healthy",
			controls: []*catalog.Control{ctlA},
			states: []AssessmentState{
				st(k1, r1, StatusHealthy), st(k1, r2, StatusHealthy), st(k1, r3, StatusUnhealthy),
			},
			want:       ScoreDetails{Max: 6, Current: 4, Percentage: 0.6667},
			wantWeight: 3,
			wantCtls:   []ctlSummary{{Name: "c-a", Healthy: 2, Unhealthy: 1, Score: ScoreDetails{Max: 6, Current: 4, Percentage: 0.6667}, Weight: 3}},
		},
		{
			name:     "resource_unhealthy_if_any_recommendation_unhealthy",
			controls: []*catalog.Control{ctlA},
			states: []AssessmentState{
				st(k1, r1, StatusHealthy), st(k2, r1, StatusUnhealthy), st(k1, r2, StatusHealthy),
			},
			want:       ScoreDetails{Max: 6, Current: 3, Percentage: 0.5},
			wantWeight: 2,
			wantCtls:   []ctlSummary{{Name: "c-a", Healthy: 1, Unhealthy: 1, Score: ScoreDetails{Max: 6, Current: 3, Percentage: 0.5}, Weight: 2}},
		},
		{
			name:     "not_applicable_does_not_count",
			controls: []*catalog.Control{ctlA},
			states: []AssessmentState{
				st(k1, r1, StatusHealthy), st(k2, r1, StatusNotApplicable), // healthy: N/A ignored
				st(k1, r2, StatusNotApplicable), st(k2, r2, StatusNotApplicable), // not applicable
				st(k1, r3, StatusUnhealthy),
			},
			want:       ScoreDetails{Max: 6, Current: 3, Percentage: 0.5},
			wantWeight: 2,
			wantCtls:   []ctlSummary{{Name: "c-a", Healthy: 1, Unhealthy: 1, NotApplied: 1, Score: ScoreDetails{Max: 6, Current: 3, Percentage: 0.5}, Weight: 2}},
		},
		{
			name:     "rounding_and_overall_sum",
			controls: []*catalog.Control{ctlA, ctlB},
			states: []AssessmentState{
				st(k1, r1, StatusHealthy), st(k1, r2, StatusUnhealthy), st(k1, r3, StatusUnhealthy), // 6*1/3 = 2
				st(k3, r1, StatusHealthy), st(k3, r2, StatusHealthy), st(k3, r3, StatusUnhealthy), // 10*2/3 = 6.67
			},
			want:       ScoreDetails{Max: 16, Current: 8.67, Percentage: 0.5419},
			wantWeight: 3,
			wantCtls: []ctlSummary{
				{Name: "c-a", Healthy: 1, Unhealthy: 2, Score: ScoreDetails{Max: 6, Current: 2, Percentage: 0.3333}, Weight: 3},
				{Name: "c-b", Healthy: 2, Unhealthy: 1, Score: ScoreDetails{Max: 10, Current: 6.67, Percentage: 0.667}, Weight: 3},
			},
		},
		{
			name:     "control_without_resources_not_in_max",
			controls: []*catalog.Control{ctlA, ctlB},
			states:   []AssessmentState{st(k3, r1, StatusHealthy), st(k1, r1, StatusNotApplicable)},
			want:     ScoreDetails{Max: 10, Current: 10, Percentage: 1},
			wantCtls: []ctlSummary{
				{Name: "c-a", NotApplied: 1, Score: ScoreDetails{Max: 6}},
				{Name: "c-b", Healthy: 1, Score: ScoreDetails{Max: 10, Current: 10, Percentage: 1}, Weight: 1},
			},
			wantWeight: 1,
		},
		{
			name:       "zero_max_control",
			controls:   []*catalog.Control{ctlZero},
			states:     []AssessmentState{st(k1, r1, StatusHealthy), st(k1, r2, StatusUnhealthy)},
			want:       ScoreDetails{},
			wantWeight: 2,
			wantCtls:   []ctlSummary{{Name: "c-z", Healthy: 1, Unhealthy: 1, Score: ScoreDetails{}, Weight: 2}},
		},
		{
			name:       "last_duplicate_wins_and_ids_fold_case",
			controls:   []*catalog.Control{ctlB},
			states:     []AssessmentState{st(k3, r1, StatusUnhealthy), st(k3, "/SUBSCRIPTIONS/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/VM1", StatusHealthy)},
			want:       ScoreDetails{Max: 10, Current: 10, Percentage: 1},
			wantWeight: 1,
			wantCtls:   []ctlSummary{{Name: "c-b", Healthy: 1, Score: ScoreDetails{Max: 10, Current: 10, Percentage: 1}, Weight: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ComputeSecureScore(tt.controls, tt.states)
			if diff := cmp.Diff(tt.want, got.Score); diff != "" {
				t.Errorf("score (-want +got):\n%s", diff)
			}
			if got.Weight != tt.wantWeight {
				t.Errorf("weight = %d, want %d", got.Weight, tt.wantWeight)
			}
			if diff := cmp.Diff(tt.wantCtls, summarize(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("controls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeSecureScore_with_builtin_catalog(t *testing.T) {
	cat := catalog.Default()
	var states []AssessmentState
	for _, r := range cat.ForResourceType("Microsoft.Compute/virtualMachines") {
		states = append(states, st(r.Name, r1, StatusHealthy), st(r.Name, r2, StatusUnhealthy))
	}
	res := ComputeSecureScore(cat.Controls, states)
	if res.Score.Max == 0 || res.Score.Current <= 0 || res.Score.Current >= float64(res.Score.Max) {
		t.Errorf("score = %+v, want 0 < current < max", res.Score)
	}
	rec := SecureScoreRecord("11111111-1111-1111-1111-111111111111", res)
	if rec.ID != "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.Security/secureScores/ascScore" {
		t.Errorf("ID = %s", rec.ID)
	}
	ctl := SecureScoreControlRecord("11111111-1111-1111-1111-111111111111", res.Controls[0], true)
	if ctl.Properties.Definition == nil || len(ctl.Properties.Definition.Properties.AssessmentDefinitions) != len(res.Controls[0].Control.Assessments) {
		t.Errorf("definition = %+v", ctl.Properties.Definition)
	}
	if _, err := SecureScoreControlEvent(ctl, false); err != nil {
		t.Error(err)
	}
}

func TestScoreMoved_threshold(t *testing.T) {
	tests := []struct {
		prev, next float64
		want       bool
	}{
		{4, 4, false},
		{4, 4.004, false},
		{4, 4.01, true},
		{4.01, 4, true},
		{0.1 + 0.2, 0.31, true}, // float noise must not hide a 0.01 step
		{6.67, 6.666666, false},
		{2, 2.009, true}, // rounds to 2.01
	}
	for _, tt := range tests {
		if got := ScoreMoved(tt.prev, tt.next); got != tt.want {
			t.Errorf("ScoreMoved(%v, %v) = %v, want %v", tt.prev, tt.next, got, tt.want)
		}
	}
}
