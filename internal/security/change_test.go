package security

import (
	"testing"
)

func assessmentWith(code StatusCode, desc string) *Assessment {
	return &Assessment{ID: AssessmentID(r1, k1), Name: k1, Properties: AssessmentProperties{
		ResourceDetails: ResourceDetails{Source: "Azure", ID: r1},
		Status:          AssessmentStatus{Code: code, Description: desc},
	}}
}

func TestAssessmentChange(t *testing.T) {
	tests := []struct {
		name       string
		prev, next *Assessment
		want       Action
		wantOK     bool
	}{
		{"create", nil, assessmentWith(StatusUnhealthy, ""), ActionInsert, true},
		{"status_change", assessmentWith(StatusUnhealthy, ""), assessmentWith(StatusHealthy, ""), ActionInsert, true},
		{"remove", assessmentWith(StatusHealthy, ""), nil, ActionDelete, true},
		{"no_op_write", assessmentWith(StatusHealthy, ""), assessmentWith(StatusHealthy, ""), "", false},
		{"description_only_change", assessmentWith(StatusUnhealthy, "a"), assessmentWith(StatusUnhealthy, "b"), "", false},
		{"case_only_change", assessmentWith("healthy", ""), assessmentWith(StatusHealthy, ""), "", false},
		{"nothing", nil, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := AssessmentChange(tt.prev, tt.next)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("AssessmentChange = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestSubAssessmentChange(t *testing.T) {
	sub := func(code StatusCode, sev string) *SubAssessment {
		return &SubAssessment{Properties: SubAssessmentProperties{Status: SubAssessmentStatus{Code: code, Severity: sev}}}
	}
	tests := []struct {
		name       string
		prev, next *SubAssessment
		want       Action
		wantOK     bool
	}{
		{"create", nil, sub(StatusUnhealthy, "High"), ActionInsert, true},
		{"status_change", sub(StatusUnhealthy, "High"), sub(StatusHealthy, "High"), ActionInsert, true},
		{"remove", sub(StatusUnhealthy, "High"), nil, ActionDelete, true},
		{"no_op_write", sub(StatusUnhealthy, "High"), sub(StatusUnhealthy, "High"), "", false},
		{"severity_only_change", sub(StatusUnhealthy, "High"), sub(StatusUnhealthy, "Low"), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := SubAssessmentChange(tt.prev, tt.next)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("SubAssessmentChange = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestAlertChanged(t *testing.T) {
	alert := func(status, sev string) *Alert {
		return &Alert{Properties: AlertProperties{Status: status, Severity: sev}}
	}
	tests := []struct {
		name       string
		prev, next *Alert
		want       bool
	}{
		{"create", nil, alert("Active", "High"), true},
		{"status_change", alert("Active", "High"), alert("Dismissed", "High"), true},
		{"no_op_write", alert("Active", "High"), alert("Active", "High"), false},
		{"severity_only_change", alert("Active", "High"), alert("Active", "Low"), false},
		{"removal", alert("Active", "High"), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AlertChanged(tt.prev, tt.next); got != tt.want {
				t.Errorf("AlertChanged = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSecureScoreChanged(t *testing.T) {
	score := func(current float64, max int, weight int64) *SecureScore {
		return &SecureScore{Properties: SecureScoreProperties{Score: ScoreDetails{Max: max, Current: current}, Weight: weight}}
	}
	tests := []struct {
		name       string
		prev, next *SecureScore
		want       bool
	}{
		{"baseline", nil, score(4, 6, 3), false},
		{"moves_by_threshold", score(4, 6, 3), score(4.01, 6, 3), true},
		{"below_threshold", score(4, 6, 3), score(4.004, 6, 3), false},
		{"only_counts_change", score(4, 6, 3), score(4, 6, 9), false},
		{"only_max_change", score(4, 6, 3), score(4, 10, 3), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SecureScoreChanged(tt.prev, tt.next); got != tt.want {
				t.Errorf("SecureScoreChanged = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSecureScoreControlChanged(t *testing.T) {
	ctl := func(name string, current float64, max, healthy int) *SecureScoreControl {
		return &SecureScoreControl{Name: name, Properties: SecureScoreControlProperties{
			HealthyResourceCount: healthy, Score: ScoreDetails{Max: max, Current: current}}}
	}
	tests := []struct {
		name       string
		prev, next *SecureScoreControl
		want       bool
	}{
		{"baseline", nil, ctl("a", 3, 6, 1), false},
		{"score_change", ctl("a", 3, 6, 1), ctl("a", 4, 6, 2), true},
		{"below_threshold", ctl("a", 3, 6, 1), ctl("a", 3.004, 6, 1), false},
		{"only_counts_change", ctl("a", 3, 6, 1), ctl("a", 3, 6, 2), false},
		{"zero_max_control", ctl("z", 0, 0, 1), ctl("z", 0, 0, 5), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SecureScoreControlChanged(tt.prev, tt.next); got != tt.want {
				t.Errorf("SecureScoreControlChanged = %v, want %v", got, tt.want)
			}
		})
	}
	prev := []*SecureScoreControl{ctl("a", 3, 6, 1), ctl("b", 1, 2, 1), ctl("z", 0, 0, 1)}
	next := []*SecureScoreControl{ctl("A", 3, 6, 4), ctl("b", 2, 2, 2), ctl("z", 0, 0, 2), ctl("new", 1, 1, 1)}
	var names []string
	for _, c := range ChangedControls(prev, next) {
		names = append(names, c.Name)
	}
	if len(names) != 1 || names[0] != "b" {
		t.Errorf("ChangedControls = %v, want [b]", names)
	}
}

func TestComplianceAssessmentChanged(t *testing.T) {
	rc := func(id string, state ComplianceState, passed int) *RegulatoryComplianceAssessment {
		return &RegulatoryComplianceAssessment{ID: id, Properties: RegulatoryComplianceAssessmentProperties{State: state, PassedResources: passed}}
	}
	tests := []struct {
		name       string
		prev, next *RegulatoryComplianceAssessment
		want       bool
	}{
		{"create", nil, rc("x", StatePassed, 1), true},
		{"state_change", rc("x", StatePassed, 1), rc("x", StateFailed, 1), true},
		{"only_counts_change", rc("x", StatePassed, 1), rc("x", StatePassed, 2), false},
		{"no_op", rc("x", StateSkipped, 0), rc("x", StateSkipped, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ComplianceAssessmentChanged(tt.prev, tt.next); got != tt.want {
				t.Errorf("ComplianceAssessmentChanged = %v, want %v", got, tt.want)
			}
		})
	}
	prev := []*RegulatoryComplianceAssessment{rc("/A", StatePassed, 1), rc("/b", StatePassed, 1)}
	next := []*RegulatoryComplianceAssessment{rc("/a", StatePassed, 3), rc("/b", StateFailed, 1), rc("/c", StateUnsupported, 0)}
	var ids []string
	for _, a := range ChangedComplianceAssessments(prev, next) {
		ids = append(ids, a.ID)
	}
	if len(ids) != 2 || ids[0] != "/b" || ids[1] != "/c" {
		t.Errorf("ChangedComplianceAssessments = %v, want [/b /c]", ids)
	}
}
