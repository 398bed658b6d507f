package security

import (
	"strings"
	"testing"

	"sluice/internal/armid"
)

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
