package security

import (
	"strings"
	"testing"

	"sluice/internal/armid"
)

func TestScanTopLevelID(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`{"type":"x","id":"/subscriptions/1/a"}`, "/subscriptions/1/a", true},
		{` { "id" : "a b" , "id":"second"}`, "a b", true},
		{`{"properties":{"id":"nested"},"id":"top"}`, "top", true},
		{`{"list":[{"id":"in array"}],"name":"id","id":"top"}`, "top", true},
		{`{"x":"\"id\":\"quoted\"","id":"top"}`, "top", true},
		{`{"id":"with \"escape\""}`, "", false},
		{`{"id":42}`, "", false},
		{`{"ID":"other case"}`, "", false},
		{`{"properties":{"id":"nested only"}}`, "", false},
		{`{"id":"unterminated`, "", false},
		{``, "", false},
	} {
		got, ok := scanTopLevelID([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("scanTopLevelID(%s) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzScanTopLevelID checks that the scanner never panics and that what it
// returns is an escape-free string taken from its input.
func FuzzScanTopLevelID(f *testing.F) {
	for _, s := range []string{`{"id":"a"}`, `{"a":{"id":"b"},"id":"c"}`, `{"id":"\u0041"}`, `[{"id":"x"}]`, `{"id"`, `"id":"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, ok := scanTopLevelID(b)
		if !ok {
			if id != "" {
				t.Fatalf("not found, yet %q", id)
			}
			return
		}
		if strings.ContainsAny(id, `"\`) || !strings.Contains(string(b), `"`+id+`"`) {
			t.Fatalf("id %q is not an escape-free string of %q", id, b)
		}
	})
}

func TestLineIDParts(t *testing.T) {
	const sub = "AAAAAAAA-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	lsub := strings.ToLower(sub)
	for _, tc := range []struct {
		id, resKey, scope, key string
		ok                     bool
	}{
		{"/subscriptions/" + sub + "/resourceGroups/RG1/providers/Microsoft.Compute/virtualMachines/VM1/providers/Microsoft.Security/assessments/K1",
			"/subscriptions/" + lsub + "/resourcegroups/rg1/providers/microsoft.compute/virtualmachines/vm1",
			"/subscriptions/" + lsub + "/resourceGroups/RG1", "k1", true},
		{"/SUBSCRIPTIONS/" + sub + "/PROVIDERS/microsoft.security/ASSESSMENTS/k2/subAssessments/f",
			"/subscriptions/" + lsub, "/subscriptions/" + lsub, "k2/subassessments/f", true},
		{"/subscriptions/" + sub + "/resourceGroups/rg", "", "", "", false},
		{"/tenants/x/providers/Microsoft.Security/assessments/k", "", "", "", false},
		{"/subscriptions/é/providers/Microsoft.Security/assessments/k", "", "", "", false},
	} {
		resKey, gotSub, scope, key, ok := lineIDParts(tc.id)
		if ok != tc.ok || resKey != tc.resKey || scope != tc.scope || key != tc.key || (ok && gotSub != lsub) {
			t.Errorf("lineIDParts(%s) = %q %q %q %q %v", tc.id, resKey, gotSub, scope, key, ok)
		}
		// Where the full parser accepts the id, the cheap split agrees with
		// it (else re-sent lines would always miss the cache).
		if rid, k, err := splitAssessment(tc.id); err == nil {
			if want := armid.Key(rid.String()); resKey != want || !strings.EqualFold(scope, writeScope(rid)) || key != strings.ToLower(k) {
				t.Errorf("lineIDParts(%s): %q %q %q, the parser says %q %q %q", tc.id, resKey, scope, key, want, writeScope(rid), k)
			}
		}
	}
}
