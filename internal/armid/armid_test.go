package armid_test

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/armid"
)

const (
	sub      = "6a1c2c4e-5b9f-4d1e-9a7b-1f2e3d4c5b6a"
	subUpper = "6A1C2C4E-5B9F-4D1E-9A7B-1F2E3D4C5B6A"
	sub2     = "0b7f3e9a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
)

// want is the expected shape of a parsed ID, flattened so that table rows
// stay readable; Parent is compared recursively.
type want struct {
	Subscription  string
	ResourceGroup string
	Namespace     string
	Types         []string
	Names         []string
	Parent        *want
}

func flatten(id *armid.ID) *want {
	if id == nil {
		return nil
	}
	return &want{Subscription: id.Subscription, ResourceGroup: id.ResourceGroup, Namespace: id.Namespace,
		Types: id.Types, Names: id.Names, Parent: flatten(id.Parent)}
}

func TestParse(t *testing.T) {
	vm := &want{Subscription: sub, ResourceGroup: "rg1", Namespace: "Microsoft.Compute",
		Types: []string{"virtualMachines"}, Names: []string{"vm1"}}
	tests := []struct {
		name      string
		in        string
		want      *want
		canonical string // String() of the parsed ID
		typ       string // Type()
		last      string // Name()
	}{
		{
			name: "subscription", in: "/subscriptions/" + sub,
			want:      &want{Subscription: sub},
			canonical: "/subscriptions/" + sub, typ: "Microsoft.Resources/subscriptions", last: sub,
		},
		{
			name: "subscription_upper_case_guid_is_folded", in: "/SUBSCRIPTIONS/" + subUpper,
			want:      &want{Subscription: sub},
			canonical: "/subscriptions/" + sub, typ: "Microsoft.Resources/subscriptions", last: sub,
		},
		{
			name: "trailing_slash", in: "/subscriptions/" + sub + "/",
			want:      &want{Subscription: sub},
			canonical: "/subscriptions/" + sub, typ: "Microsoft.Resources/subscriptions", last: sub,
		},
		{
			name: "resource_group", in: "/subscriptions/" + sub + "/resourceGroups/rg1",
			want:      &want{Subscription: sub, ResourceGroup: "rg1"},
			canonical: "/subscriptions/" + sub + "/resourceGroups/rg1", typ: "Microsoft.Resources/resourceGroups", last: "rg1",
		},
		{
			name: "resource_group_lower_case_literal_keeps_name_case", in: "/subscriptions/" + sub + "/resourcegroups/My-RG",
			want:      &want{Subscription: sub, ResourceGroup: "My-RG"},
			canonical: "/subscriptions/" + sub + "/resourceGroups/My-RG", typ: "Microsoft.Resources/resourceGroups", last: "My-RG",
		},
		{
			name: "automation_mixed_case_literals",
			in:   "/SUBSCRIPTIONS/" + sub + "/resourcegroups/rg1/PROVIDERS/microsoft.security/automations/x",
			want: &want{Subscription: sub, ResourceGroup: "rg1", Namespace: "microsoft.security",
				Types: []string{"automations"}, Names: []string{"x"}},
			canonical: "/subscriptions/" + sub + "/resourceGroups/rg1/providers/microsoft.security/automations/x",
			typ:       "microsoft.security/automations", last: "x",
		},
		{
			name: "subscription_level_resource",
			in:   "/subscriptions/" + sub + "/providers/Microsoft.Security/secureScores/ascScore",
			want: &want{Subscription: sub, Namespace: "Microsoft.Security",
				Types: []string{"secureScores"}, Names: []string{"ascScore"}},
			canonical: "/subscriptions/" + sub + "/providers/Microsoft.Security/secureScores/ascScore",
			typ:       "Microsoft.Security/secureScores", last: "ascScore",
		},
		{
			name: "nested_resource",
			in:   "/subscriptions/" + sub + "/providers/Microsoft.Security/secureScores/ascScore/secureScoreControls/c1",
			want: &want{Subscription: sub, Namespace: "Microsoft.Security",
				Types: []string{"secureScores", "secureScoreControls"}, Names: []string{"ascScore", "c1"}},
			canonical: "/subscriptions/" + sub + "/providers/Microsoft.Security/secureScores/ascScore/secureScoreControls/c1",
			typ:       "Microsoft.Security/secureScores/secureScoreControls", last: "c1",
		},
		{
			name: "deeply_nested_resource_in_group",
			in:   "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Security/locations/westeurope/alerts/a1/x/y",
			want: &want{Subscription: sub, ResourceGroup: "rg1", Namespace: "Microsoft.Security",
				Types: []string{"locations", "alerts", "x"}, Names: []string{"westeurope", "a1", "y"}},
			canonical: "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Security/locations/westeurope/alerts/a1/x/y",
			typ:       "Microsoft.Security/locations/alerts/x", last: "y",
		},
		{
			name:      "management_group",
			in:        "/providers/Microsoft.Management/managementGroups/mg1",
			want:      &want{Namespace: "Microsoft.Management", Types: []string{"managementGroups"}, Names: []string{"mg1"}},
			canonical: "/providers/Microsoft.Management/managementGroups/mg1",
			typ:       "Microsoft.Management/managementGroups", last: "mg1",
		},
		{
			name:      "tenant_level_provider_resource_lower_case",
			in:        "/PROVIDERS/microsoft.security/pricings/x",
			want:      &want{Namespace: "microsoft.security", Types: []string{"pricings"}, Names: []string{"x"}},
			canonical: "/providers/microsoft.security/pricings/x",
			typ:       "microsoft.security/pricings", last: "x",
		},
		{
			name: "extension_on_management_group",
			in:   "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Security/assessments/a1",
			want: &want{Namespace: "Microsoft.Security", Types: []string{"assessments"}, Names: []string{"a1"},
				Parent: &want{Namespace: "Microsoft.Management", Types: []string{"managementGroups"}, Names: []string{"mg1"}}},
			canonical: "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Security/assessments/a1",
			typ:       "Microsoft.Security/assessments", last: "a1",
		},
		{
			name: "extension_on_resource",
			in:   "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1/providers/Microsoft.Security/assessments/4fb67663-9ab9-475d-b026-8c544cced439",
			want: &want{Subscription: sub, ResourceGroup: "rg1", Namespace: "Microsoft.Security",
				Types: []string{"assessments"}, Names: []string{"4fb67663-9ab9-475d-b026-8c544cced439"}, Parent: vm},
			canonical: "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1/providers/Microsoft.Security/assessments/4fb67663-9ab9-475d-b026-8c544cced439",
			typ:       "Microsoft.Security/assessments", last: "4fb67663-9ab9-475d-b026-8c544cced439",
		},
		{
			name: "extension_of_extension_with_sub_assessment",
			in:   "/subscriptions/" + sub + "/resourcegroups/rg1/providers/microsoft.compute/virtualmachines/vm1/providers/Microsoft.Security/assessments/a1/subAssessments/s1",
			want: &want{Subscription: sub, ResourceGroup: "rg1", Namespace: "Microsoft.Security",
				Types: []string{"assessments", "subAssessments"}, Names: []string{"a1", "s1"},
				Parent: &want{Subscription: sub, ResourceGroup: "rg1", Namespace: "microsoft.compute",
					Types: []string{"virtualmachines"}, Names: []string{"vm1"}}},
			canonical: "/subscriptions/" + sub + "/resourceGroups/rg1/providers/microsoft.compute/virtualmachines/vm1/providers/Microsoft.Security/assessments/a1/subAssessments/s1",
			typ:       "Microsoft.Security/assessments/subAssessments", last: "s1",
		},
		{
			name:      "extension_on_subscription_has_no_parent",
			in:        "/subscriptions/" + sub + "/providers/Microsoft.Security/assessments/a1",
			want:      &want{Subscription: sub, Namespace: "Microsoft.Security", Types: []string{"assessments"}, Names: []string{"a1"}},
			canonical: "/subscriptions/" + sub + "/providers/Microsoft.Security/assessments/a1",
			typ:       "Microsoft.Security/assessments", last: "a1",
		},
		{
			name: "name_that_spells_a_literal",
			in:   "/subscriptions/" + sub + "/resourceGroups/providers/providers/Microsoft.Web/sites/providers",
			want: &want{Subscription: sub, ResourceGroup: "providers", Namespace: "Microsoft.Web",
				Types: []string{"sites"}, Names: []string{"providers"}},
			canonical: "/subscriptions/" + sub + "/resourceGroups/providers/providers/Microsoft.Web/sites/providers",
			typ:       "Microsoft.Web/sites", last: "providers",
		},
		{
			name:      "resource_group_name_rules_edges",
			in:        "/subscriptions/" + sub + "/resourceGroups/a.b_c-(d)",
			want:      &want{Subscription: sub, ResourceGroup: "a.b_c-(d)"},
			canonical: "/subscriptions/" + sub + "/resourceGroups/a.b_c-(d)",
			typ:       "Microsoft.Resources/resourceGroups", last: "a.b_c-(d)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := armid.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, flatten(id)); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if got := id.String(); got != tt.canonical {
				t.Errorf("String() = %q, want %q", got, tt.canonical)
			}
			if got := id.Key(); got != strings.ToLower(tt.canonical) {
				t.Errorf("Key() = %q, want %q", got, strings.ToLower(tt.canonical))
			}
			if got := armid.Key(tt.in); got != id.Key() {
				t.Errorf("armid.Key(%q) = %q, but the parsed id's Key() is %q", tt.in, got, id.Key())
			}
			if got := id.Type(); got != tt.typ {
				t.Errorf("Type() = %q, want %q", got, tt.typ)
			}
			if got := id.Name(); got != tt.last {
				t.Errorf("Name() = %q, want %q", got, tt.last)
			}
			if got, want := id.IsResource(), tt.want.Namespace != ""; got != want {
				t.Errorf("IsResource() = %v, want %v", got, want)
			}
			again, err := armid.Parse(id.String())
			if err != nil {
				t.Fatalf("re-parse of %q: %v", id.String(), err)
			}
			if diff := cmp.Diff(flatten(id), flatten(again)); diff != "" {
				t.Errorf("round trip changed the id (-first +second):\n%s", diff)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	long := strings.Repeat("a", 91)
	tests := []struct {
		name   string
		in     string
		reason string // substring of the error
	}{
		{"empty", "", "must start with '/'"},
		{"relative", "subscriptions/" + sub, "must start with '/'"},
		{"root_only", "/", "empty path segment"},
		{"double_slash_start", "//subscriptions/" + sub, "empty path segment"},
		{"double_slash_inside", "/subscriptions/" + sub + "//resourceGroups/rg1", "empty path segment"},
		{"two_trailing_slashes", "/subscriptions/" + sub + "//", "empty path segment"},
		{"unknown_first_segment", "/tenants/" + sub, `unexpected segment "tenants"`},
		{"subscriptions_alone", "/subscriptions", "missing subscription id"},
		{"subscriptions_alone_trailing_slash", "/subscriptions/", "missing subscription id"},
		{"subscription_not_guid", "/subscriptions/not-a-guid", "is not a GUID"},
		{"subscription_guid_with_braces", "/subscriptions/{" + sub + "}", "is not a GUID"},
		{"subscription_guid_too_short", "/subscriptions/" + sub[:35], "is not a GUID"},
		{"resource_groups_without_name", "/subscriptions/" + sub + "/resourceGroups", "missing resource group name"},
		{"resource_group_bad_char", "/subscriptions/" + sub + "/resourceGroups/rg!1", "may only contain"},
		{"resource_group_ends_with_period", "/subscriptions/" + sub + "/resourceGroups/rg.", "must not end with a period"},
		{"resource_group_too_long", "/subscriptions/" + sub + "/resourceGroups/" + long, "longer than 90"},
		{"unexpected_segment_after_subscription", "/subscriptions/" + sub + "/locations/westeurope", `unexpected segment "locations"`},
		{"unexpected_segment_after_group", "/subscriptions/" + sub + "/resourceGroups/rg1/deployments/d", `unexpected segment "deployments"`},
		{"providers_alone", "/providers", "needs a namespace, a type and a name"},
		{"namespace_only", "/subscriptions/" + sub + "/providers/Microsoft.Security", "needs a namespace, a type and a name"},
		{"collection_odd_segments", "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Security/automations", "needs a namespace, a type and a name"},
		{"nested_type_without_name", "/subscriptions/" + sub + "/providers/Microsoft.Security/secureScores/s/secureScoreControls", `resource type "secureScoreControls" has no name`},
		{"management_groups_collection", "/providers/Microsoft.Management/managementGroups", "needs a namespace, a type and a name"},
		{"extension_without_name", "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Security/assessments", "needs a namespace, a type and a name"},
		{"dangling_providers", "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Web/sites/s1/providers", "needs a namespace, a type and a name"},
		{"namespace_without_type_before_extension", "/subscriptions/" + sub + "/providers/Microsoft.Security/providers/Microsoft.Security/automations/x", "needs a namespace, a type and a name"},
		{"tenant_namespace_without_type_before_extension", "/providers/Microsoft.Web/providers/Microsoft.Security/assessments/a1", "needs a namespace, a type and a name"},
		{"subscription_twice", "/subscriptions/" + sub + "/subscriptions/" + sub2, `unexpected segment "subscriptions"`},
		{"long_s_is_not_an_s", "/\u017fubscriptions/" + sub, "unexpected segment"},
		{"unicode_fold_in_resource_groups", "/subscriptions/" + sub + "/resourceGroup\u017f/rg1", "unexpected segment"},
		{"unicode_fold_in_providers", "/subscriptions/" + sub + "/provider\u017f/Microsoft.Security/automations/x", "unexpected segment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := armid.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tt.in, id.String())
			}
			var e *armid.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %T is not an *armid.Error", tt.in, err)
			}
			if e.ID != tt.in {
				t.Errorf("Error.ID = %q, want the input %q", e.ID, tt.in)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Parse(%q) error %q does not mention %q", tt.in, err, tt.reason)
			}
		})
	}
}

func TestContains(t *testing.T) {
	s := "/subscriptions/" + sub
	rg1 := s + "/resourceGroups/rg1"
	tests := []struct {
		name         string
		scope, child string
		want         bool
	}{
		{"equal", s, s, true},
		{"equal_case_folded", "/SUBSCRIPTIONS/" + subUpper, s, true},
		{"equal_trailing_slash_on_scope", s + "/", s, true},
		{"equal_trailing_slash_on_child", s, s + "/", true},
		{"subscription_contains_group", s, rg1, true},
		{"subscription_contains_group_other_case", s, "/subscriptions/" + subUpper + "/resourcegroups/RG1", true},
		{"subscription_contains_subscription_level_resource", s, s + "/providers/Microsoft.Security/secureScores/ascScore", true},
		{"subscription_contains_resource_in_group", s, rg1 + "/providers/Microsoft.Security/automations/x", true},
		{"scope_with_trailing_slash_contains_child", s + "/", rg1, true},
		{"group_contains_its_resources", rg1, rg1 + "/providers/Microsoft.Security/automations/x", true},
		{"group_contains_resources_case_folded", "/subscriptions/" + sub + "/RESOURCEGROUPS/Rg1", rg1 + "/PROVIDERS/microsoft.security/automations/x", true},
		{"group_contains_extension_resources", rg1, rg1 + "/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Security/assessments/a", true},
		{"resource_contains_its_extension", rg1 + "/providers/Microsoft.Compute/virtualMachines/vm", rg1 + "/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Security/assessments/a", true},
		{"management_group_contains_its_extensions", "/providers/Microsoft.Management/managementGroups/mg1", "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Security/assessments/a", true},
		{"root_scope_contains_everything", "/", rg1, true},
		{"rg1_does_not_contain_rg10", rg1, s + "/resourceGroups/rg10", false},
		{"rg1_does_not_contain_rg10_resources", rg1, s + "/resourceGroups/rg10/providers/Microsoft.Security/automations/x", false},
		{"rg1_does_not_contain_rg1_dot_suffix", rg1, s + "/resourceGroups/rg1.a", false},
		{"group_does_not_contain_subscription", rg1, s, false},
		{"resource_does_not_contain_its_group", rg1 + "/providers/Microsoft.Security/automations/x", rg1, false},
		{"subscription_does_not_contain_other_subscription", s, "/subscriptions/" + sub2, false},
		{"subscription_does_not_contain_other_subscriptions_group", s, "/subscriptions/" + sub2 + "/resourceGroups/rg1", false},
		{"mg1_does_not_contain_mg10", "/providers/Microsoft.Management/managementGroups/mg1", "/providers/Microsoft.Management/managementGroups/mg10", false},
		{"automation_x_does_not_contain_xy", rg1 + "/providers/Microsoft.Security/automations/x", rg1 + "/providers/Microsoft.Security/automations/xy", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := armid.Contains(tt.scope, tt.child); got != tt.want {
				t.Errorf("Contains(%q, %q) = %v, want %v", tt.scope, tt.child, got, tt.want)
			}
		})
	}
}

func TestKeyAndEqual(t *testing.T) {
	a := "/SUBSCRIPTIONS/" + subUpper + "/resourcegroups/RG1/"
	b := "/subscriptions/" + sub + "/resourceGroups/rg1"
	if got, want := armid.Key(a), "/subscriptions/"+sub+"/resourcegroups/rg1"; got != want {
		t.Errorf("Key(%q) = %q, want %q", a, got, want)
	}
	if !armid.Equal(a, b) {
		t.Errorf("Equal(%q, %q) = false, want true", a, b)
	}
	if armid.Equal(b, b+"0") {
		t.Errorf("Equal(%q, %q) = true, want false", b, b+"0")
	}
	if armid.Equal(b, "/subscriptions/"+sub2+"/resourceGroups/rg1") {
		t.Error("Equal across subscriptions = true")
	}
	// Equal must agree with Key (and so with Contains and stored keys):
	// U+017F folds to 's' under Unicode case folding but not under ToLower.
	if armid.Equal("/subscriptions/x", "/\u017fubscriptions/x") {
		t.Error(`Equal treats "\u017f" as "s" although Key does not`)
	}
}

func TestConstructors(t *testing.T) {
	if got, want := armid.SubscriptionID(subUpper), "/subscriptions/"+sub; got != want {
		t.Errorf("SubscriptionID = %q, want %q", got, want)
	}
	got := armid.ResourceGroupID(subUpper, "My-RG")
	if want := "/subscriptions/" + sub + "/resourceGroups/My-RG"; got != want {
		t.Errorf("ResourceGroupID = %q, want %q", got, want)
	}
	id, err := armid.Parse(got)
	if err != nil {
		t.Fatalf("ResourceGroupID output does not parse: %v", err)
	}
	if id.String() != got {
		t.Errorf("ResourceGroupID output %q is not canonical (%q)", got, id.String())
	}
}

func TestScopeOf(t *testing.T) {
	s := "/subscriptions/" + sub
	rg1 := s + "/resourceGroups/rg1"
	tests := []struct {
		name, path, want string
	}{
		{"subscription", s, s},
		{"subscription_trailing_slash", s + "/", s},
		{"resource_groups_collection", s + "/resourceGroups", s},
		{"resource_group", rg1, rg1},
		{"lower_case_literals_kept_as_sent", "/subscriptions/" + sub + "/resourcegroups/rg1", "/subscriptions/" + sub + "/resourcegroups/rg1"},
		{"automations_collection", rg1 + "/providers/Microsoft.Security/automations", rg1},
		{"automation", rg1 + "/providers/Microsoft.Security/automations/x", rg1 + "/providers/Microsoft.Security/automations/x"},
		{"action_below_automation", rg1 + "/providers/Microsoft.Security/automations/x/validate", rg1 + "/providers/Microsoft.Security/automations/x"},
		{"subscription_level_collection", s + "/providers/Microsoft.Security/alerts", s},
		{"extension_collection", rg1 + "/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Security/assessments", rg1 + "/providers/Microsoft.Compute/virtualMachines/vm"},
		{"management_group", "/providers/Microsoft.Management/managementGroups/mg1", "/providers/Microsoft.Management/managementGroups/mg1"},
		{"management_group_child_collection", "/providers/Microsoft.Management/managementGroups/mg1/subscriptions", "/providers/Microsoft.Management/managementGroups/mg1"},
		{"management_groups_collection", "/providers/Microsoft.Management/managementGroups", ""},
		{"subscriptions_collection", "/subscriptions", ""},
		{"empty", "", ""},
		{"root", "/", ""},
		{"not_arm", "/healthz", ""},
		{"bad_subscription", "/subscriptions/nope/resourceGroups/rg1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := armid.ScopeOf(tt.path); got != tt.want {
				t.Errorf("ScopeOf(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestIsGUID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{sub, true},
		{subUpper, true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"", false},
		{"6a1c2c4e5b9f4d1e9a7b1f2e3d4c5b6a", false},
		{"{" + sub + "}", false},
		{sub + " ", false},
		{" " + sub, false},
		{sub + "0", false},
		{"6a1c2c4e-5b9f-4d1e-9a7b-1f2e3d4c5b6g", false},
		{"6a1c2c4e-5b9f-4d1e-9a7b1-f2e3d4c5b6a", false},
		{sub + "\n", false},
	}
	for _, tt := range tests {
		if got := armid.IsGUID(tt.in); got != tt.want {
			t.Errorf("IsGUID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestValidateResourceGroupName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"rg1", true},
		{"a", true},
		{"My_Resource-Group.(1)", true},
		{"..a", true},
		{"-", true},
		{"(x)", true},
		{strings.Repeat("a", 90), true},
		{strings.Repeat("a", 91), false},
		{"", false},
		{"rg.", false},
		{".", false},
		{"rg 1", false},
		{"rg/1", false},
		{"rg%2F1", false},
		{"rg:1", false},
		{"rg\x00", false},
		{"rg\n", false},
		{"rg#", false},
		{"rg?", false},
		{"rg\u00e9", true},
		{"\u8d44\u6e90\u7ec4", true},
		{"rg\u0663", true},
		{strings.Repeat("\u00e9", 90), true},
		{strings.Repeat("\u00e9", 91), false},
		{"rg\u00a0", false},
		{"rg\u2028", false},
		{"rg\xff", false},
		{"rg\u00e9.", false},
	}
	for _, tt := range tests {
		err := armid.ValidateResourceGroupName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateResourceGroupName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// TestIsGUID_matches_pattern compares IsGUID with the 8-4-4-4-12 regular
// expression on mutations of GUIDs.
func TestIsGUID_matches_pattern(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "0123456789abcdefABCDEFgG-xZ \n\u00e9"
	for range 20000 {
		b := []byte("8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f")
		for range r.IntN(3) {
			switch i := r.IntN(len(b) + 1); r.IntN(3) {
			case 0:
				if i < len(b) {
					b[i] = alphabet[r.IntN(len(alphabet))]
				}
			case 1:
				b = append(b[:i:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, b[i:]...)...)
			default:
				if i < len(b) {
					b = append(b[:i:i], b[i+1:]...)
				}
			}
		}
		if got, want := armid.IsGUID(string(b)), re.Match(b); got != want {
			t.Fatalf("IsGUID(%q) = %v, the pattern says %v", b, got, want)
		}
	}
}
