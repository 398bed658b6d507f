package armid_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/armid"
)

// FuzzParse checks that Parse never panics and that every ID it accepts
// keeps the package's promises: String is canonical (it re-parses to the
// same ID and renders the same again), Key of the string equals Key of the
// parsed ID, the ID lies within its own subscription, resource group and
// parent, and ScopeOf finds it whole. Hand-written seeds are below; the
// corpus in testdata/fuzz/FuzzParse holds further inputs.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"/",
		"//",
		"/subscriptions/" + sub,
		"/SUBSCRIPTIONS/" + subUpper + "/",
		"/subscriptions/" + sub + "/resourcegroups/rg1",
		"/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Security/automations/x",
		"/SUBSCRIPTIONS/" + sub + "/resourcegroups/rg1/PROVIDERS/microsoft.security/automations/x",
		"/subscriptions/" + sub + "/providers/Microsoft.Security/secureScores/ascScore/secureScoreControls/c1",
		"/providers/Microsoft.Management/managementGroups/mg1",
		"/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Security/assessments/a1",
		"/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1/providers/Microsoft.Security/assessments/a1/subAssessments/s1",
		"/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Security/automations",
		"/subscriptions/" + sub + "/providers/Microsoft.Security/providers/Microsoft.Security/automations/x",
		"/\u017fubscriptions/" + sub,
		"/subscriptions/" + sub + "/resourceGroups/r\u00e9sum\u00e9",
		"/subscriptions/" + sub + "/resourceGroups/rg./providers",
		"/subscriptions/" + sub + "//resourceGroups/rg1",
		"/providers/a/b/c/providers/d/e/f/providers/g/h/i",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := armid.Parse(s)
		if err != nil {
			if id != nil {
				t.Fatalf("Parse(%q) returned both an id and an error", s)
			}
			if !strings.Contains(err.Error(), "invalid resource id") {
				t.Fatalf("Parse(%q) error %q does not say it is an invalid resource id", s, err)
			}
			return
		}
		checkID(t, s, id)
		canon := id.String()
		again, err := armid.Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) rendered %q, which does not parse: %v", s, canon, err)
		}
		if diff := cmp.Diff(flatten(id), flatten(again)); diff != "" {
			t.Fatalf("Parse(%q) does not round-trip through %q (-first +second):\n%s", s, canon, diff)
		}
		if again.String() != canon {
			t.Fatalf("String is not stable: %q then %q", canon, again.String())
		}
		if armid.Key(s) != id.Key() {
			t.Fatalf("armid.Key(%q) = %q, but the parsed id's Key() is %q", s, armid.Key(s), id.Key())
		}
		if !armid.Equal(s, canon) {
			t.Fatalf("Equal(%q, %q) = false", s, canon)
		}
		if !armid.Contains(s, canon) || !armid.Contains(canon, s) {
			t.Fatalf("an id and its canonical form do not contain each other: %q, %q", s, canon)
		}
		if id.Subscription != "" && !armid.Contains(armid.SubscriptionID(id.Subscription), s) {
			t.Fatalf("%q is not within its subscription", s)
		}
		if id.ResourceGroup != "" && !armid.Contains(armid.ResourceGroupID(id.Subscription, id.ResourceGroup), s) {
			t.Fatalf("%q is not within its resource group", s)
		}
		if id.Parent != nil && !armid.Contains(id.Parent.String(), s) {
			t.Fatalf("%q is not within its parent %q", s, id.Parent.String())
		}
		if got := armid.ScopeOf(s); armid.Key(got) != id.Key() {
			t.Fatalf("ScopeOf(%q) = %q, want the whole id", s, got)
		}
	})
}

// checkID verifies the structural invariants of a parsed ID.
func checkID(t *testing.T, s string, id *armid.ID) {
	t.Helper()
	if id.Subscription != "" && (!armid.IsGUID(id.Subscription) || id.Subscription != strings.ToLower(id.Subscription)) {
		t.Fatalf("Parse(%q): subscription %q is not a lower-case GUID", s, id.Subscription)
	}
	if id.ResourceGroup != "" {
		if id.Subscription == "" {
			t.Fatalf("Parse(%q): resource group without subscription", s)
		}
		if err := armid.ValidateResourceGroupName(id.ResourceGroup); err != nil {
			t.Fatalf("Parse(%q) accepted resource group: %v", s, err)
		}
	}
	if id.Subscription == "" && id.Namespace == "" {
		t.Fatalf("Parse(%q) returned an id with neither subscription nor namespace", s)
	}
	for cur := id; cur != nil; cur = cur.Parent {
		if cur.Namespace == "" {
			if cur != id {
				t.Fatalf("Parse(%q): parent without namespace", s)
			}
			continue
		}
		if len(cur.Types) == 0 || len(cur.Types) != len(cur.Names) {
			t.Fatalf("Parse(%q): %d types for %d names", s, len(cur.Types), len(cur.Names))
		}
		for i := range cur.Types {
			for _, seg := range []string{cur.Namespace, cur.Types[i], cur.Names[i]} {
				if seg == "" || strings.Contains(seg, "/") {
					t.Fatalf("Parse(%q): bad segment %q", s, seg)
				}
			}
		}
		if cur.Parent != nil && (cur.Parent.Subscription != cur.Subscription || cur.Parent.ResourceGroup != cur.ResourceGroup) {
			t.Fatalf("Parse(%q): parent in another scope", s)
		}
	}
}
