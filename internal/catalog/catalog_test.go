package catalog

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefault_loads_and_validates(t *testing.T) {
	c := Default()
	if got := len(c.Recommendations); got < 60 {
		t.Errorf("recommendations = %d, want at least 60", got)
	}
	if got := len(c.Controls); got < 12 || got > 15 {
		t.Errorf("controls = %d, want 12..15", got)
	}
}

func TestDefault_recommendations_span_the_six_categories(t *testing.T) {
	got := map[string]int{}
	for _, r := range Default().Recommendations {
		for _, cat := range r.Categories {
			got[cat]++
		}
	}
	for _, want := range []string{"Compute", "Networking", "Data", "IdentityAndAccess", "AppServices", "Container"} {
		if got[want] < 5 {
			t.Errorf("category %s has %d recommendations, want at least 5", want, got[want])
		}
	}
}

func TestDefault_names_are_unique_across_kinds(t *testing.T) {
	c := Default()
	seen := map[string]string{}
	add := func(kind, name string) {
		k := strings.ToLower(name)
		if prev, ok := seen[k]; ok {
			t.Errorf("%s %s reuses the name of a %s", kind, name, prev)
		}
		seen[k] = kind
	}
	for _, r := range c.Recommendations {
		add("recommendation", r.Name)
	}
	for _, ctl := range c.Controls {
		add("control", ctl.Name)
	}
	for _, s := range c.Standards {
		add("standard", s.Name)
	}
	policies := map[string]bool{}
	for _, r := range c.Recommendations {
		p := strings.ToLower(r.PolicyDefinitionID)
		if policies[p] {
			t.Errorf("recommendation %s reuses policy %s", r.Name, p)
		}
		policies[p] = true
	}
	titles := map[string]bool{}
	for _, r := range c.Recommendations {
		if titles[r.DisplayName] {
			t.Errorf("duplicate display name %q", r.DisplayName)
		}
		titles[r.DisplayName] = true
	}
}

func TestDefault_every_recommendation_is_in_a_control(t *testing.T) {
	c := Default()
	for _, r := range c.Recommendations {
		if len(c.ControlsOf(r.Name)) == 0 {
			t.Errorf("recommendation %s (%s) is in no control", r.Name, r.DisplayName)
		}
	}
}

func TestDefault_controls_include_a_zero_max_control(t *testing.T) {
	c := Default()
	zero := 0
	for _, ctl := range c.Controls {
		if ctl.MaxScore == 0 {
			zero++
		}
	}
	if zero == 0 {
		t.Error("no control with maxScore 0")
	}
	if _, ok := c.Control("61702B76-1FAB-41F2-BCBC-50B7870DCF38"); !ok {
		t.Error("Apply system updates control not found by upper-case name")
	}
}

func TestDefault_standards(t *testing.T) {
	c := Default()
	for _, name := range []string{"Microsoft-cloud-security-benchmark", "CIS-Azure-Foundations-v2.0.0", "NIST-SP-800-53-R5", "PCI-DSS-4"} {
		s, ok := c.Standard(strings.ToUpper(name))
		if !ok {
			t.Errorf("standard %s missing", name)
			continue
		}
		if len(s.Controls) < 10 {
			t.Errorf("standard %s has %d controls, want at least 10", name, len(s.Controls))
		}
		for _, sc := range s.Controls {
			if len(sc.Assessments) == 0 {
				t.Errorf("standard %s control %s maps no recommendation", name, sc.Name)
			}
			for _, a := range sc.Assessments {
				if _, ok := c.Recommendation(a); !ok {
					t.Errorf("standard %s control %s maps unknown recommendation %s", name, sc.Name, a)
				}
			}
		}
	}
	if sc, ok := c.StandardControl("microsoft-cloud-security-benchmark", "lt.2"); !ok || sc.Name != "LT.2" {
		t.Errorf("StandardControl(mcsb, lt.2) = %v, %v", sc, ok)
	}
}

func TestForResourceType_folds_case(t *testing.T) {
	c := Default()
	a := c.ForResourceType("Microsoft.Compute/virtualMachines")
	b := c.ForResourceType("microsoft.compute/VIRTUALMACHINES")
	if len(a) == 0 {
		t.Fatal("no recommendations for virtual machines")
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("lookups differ (-exact +folded):\n%s", diff)
	}
	if len(c.ResourceTypes()) < 10 {
		t.Errorf("ResourceTypes = %v, want at least 10", c.ResourceTypes())
	}
}

func TestNew_rejects_broken_data(t *testing.T) {
	rec := func(name string) *Recommendation {
		return &Recommendation{
			Name: name, DisplayName: "d", Description: "d", RemediationDescription: "r",
			Severity: "High", Categories: []string{"Compute"}, UserImpact: "Low", ImplementationEffort: "Low",
			Threats: []string{"accountBreach"}, AssessmentType: "BuiltIn",
			PolicyDefinitionID: "/providers/Microsoft.Authorization/policyDefinitions/00000000-0000-0000-0000-000000000001",
			ResourceTypes:      []string{"Microsoft.Compute/virtualMachines"},
		}
	}
	const k1 = "00000000-0000-0000-0000-0000000000a1"
	const k2 = "00000000-0000-0000-0000-0000000000a2"
	ctl := func(names ...string) *Control {
		return &Control{Name: "00000000-0000-0000-0000-0000000000c1", DisplayName: "c", MaxScore: 1, Source: "BuiltIn", Assessments: names}
	}
	tests := []struct {
		name      string
		recs      []*Recommendation
		controls  []*Control
		standards []*Standard
		wantErr   string
	}{
		{name: "valid", recs: []*Recommendation{rec(k1)}, controls: []*Control{ctl(k1)}},
		{name: "duplicate_recommendation", recs: []*Recommendation{rec(k1), rec(k1)}, controls: []*Control{ctl(k1)}, wantErr: "duplicate name"},
		{name: "control_maps_unknown", recs: []*Recommendation{rec(k1)}, controls: []*Control{ctl(k1, k2)}, wantErr: "unknown recommendation " + k2},
		{name: "recommendation_in_no_control", recs: []*Recommendation{rec(k1), rec(k2)}, controls: []*Control{ctl(k1)}, wantErr: "not in any secure score control"},
		{name: "bad_severity", recs: []*Recommendation{func() *Recommendation { r := rec(k1); r.Severity = "Critical"; return r }()}, controls: []*Control{ctl(k1)}, wantErr: "severity"},
		{name: "bad_threat", recs: []*Recommendation{func() *Recommendation { r := rec(k1); r.Threats = []string{"AccountBreach"}; return r }()}, controls: []*Control{ctl(k1)}, wantErr: "threat"},
		{name: "standard_maps_unknown", recs: []*Recommendation{rec(k1)}, controls: []*Control{ctl(k1)},
			standards: []*Standard{{Name: "S", Controls: []*StandardControl{{Name: "1", Description: "x", Assessments: []string{k2}}}}}, wantErr: "unknown recommendation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.recs, tt.controls, tt.standards)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
