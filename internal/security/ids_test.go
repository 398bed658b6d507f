package security

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// idSeeds are assessment IDs, valid and not, the base of idMutations.
var idSeeds = []string{
	"/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm-1/providers/Microsoft.Security/assessments/4fb67663-9ab9-475d-b026-8c544cced439",
	"/SUBSCRIPTIONS/8F3B7C1E-2D4A-4E6B-9C0D-1A2B3C4D5E6F/providers/microsoft.security/ASSESSMENTS/k",
	"/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f/resourceGroups/rg1/providers/Microsoft.Security/assessments/k/subAssessments/f",
	"/providers/Microsoft.Security/assessments/k",
}

// mutateID changes an ID the ways producers get them wrong.
func mutateID(r *rand.Rand, id string) string {
	reps := [][2]string{{"rg1", "rg\u0130"}, {"rg1", "r g"}, {"/k", "/"}, {"/k", "/k/x"}, {"8f3b", "zz3b"}, {"//", "/"},
		{"/resourceGroups/", "//"}, {"Security", "Securit\u0131"}, {"vm-1", "vm-1/"}, {"/providers/", "/prov/"},
		{"assessments", "Assessments"}, {"/subscriptions/", "subscriptions/"}, {"k", "k\u00e9"}}
	for range 1 + r.IntN(2) {
		rp := reps[r.IntN(len(reps))]
		id = strings.Replace(id, rp[0], rp[1], 1)
	}
	return id
}

// checkQuickAssessmentID fails when quickAssessmentID accepts id but
// ParseAssessmentID and resourceID would split it otherwise or refuse it.
func checkQuickAssessmentID(t *testing.T, id string) bool {
	t.Helper()
	resource, key, rid, ok := quickAssessmentID(id)
	if !ok {
		return false
	}
	wantRes, wantKey, err := ParseAssessmentID(id)
	if err != nil {
		t.Fatalf("quickAssessmentID accepts %q, ParseAssessmentID says %v", id, err)
	}
	wantRID, err := resourceID(wantRes, "assessed resource")
	if err != nil {
		t.Fatalf("quickAssessmentID accepts %q, resourceID says %v", id, err)
	}
	if resource != wantRes || key != wantKey || !reflect.DeepEqual(rid, wantRID) {
		t.Fatalf("%q: quick %q %q %+v, slow %q %q %+v", id, resource, key, rid, wantRes, wantKey, wantRID)
	}
	return true
}

func TestQuickAssessmentID(t *testing.T) {
	if !checkQuickAssessmentID(t, idSeeds[0]) || !checkQuickAssessmentID(t, idSeeds[1]) {
		t.Error("the common IDs take the slow path")
	}
	r := rand.New(rand.NewPCG(11, 12))
	accepted, declined := 0, 0
	for i := range 3000 {
		if checkQuickAssessmentID(t, mutateID(r, idSeeds[i%len(idSeeds)])) {
			accepted++
		} else {
			declined++
		}
	}
	if accepted < 300 || declined < 300 {
		t.Errorf("accepted %d, declined %d: the mutations should exercise both", accepted, declined)
	}
}

// TestLastIndexFold: the ASCII search finds what the lower-case
// search finds.
func TestLastIndexFold(t *testing.T) {
	for _, s := range append(idSeeds, "", "/subassessments/", "x/SubAssessments/y/subASSESSMENTS/z", "/sub\u00e9assessments/") {
		i, ascii := lastIndexFold(s, "/subassessments/")
		want := strings.LastIndex(strings.ToLower(s), "/subassessments/")
		if ascii && i != want {
			t.Errorf("lastIndexFold(%q) = %d, want %d", s, i, want)
		}
		if !ascii && !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x80 }) {
			t.Errorf("lastIndexFold(%q) says non-ASCII", s)
		}
	}
}

func FuzzQuickAssessmentID(f *testing.F) {
	for _, s := range idSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) { checkQuickAssessmentID(t, id) })
}

// TestCompleteAssessment_parsed_id: completing with the parsed resource ID
// gives what parsing it again gives.
func TestCompleteAssessment_parsed_id(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, raw := range []string{
		"/subscriptions/8F3B7C1E-2D4A-4E6B-9C0D-1A2B3C4D5E6F",
		"/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f/resourcegroups/RG.1",
		"/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f/resourceGroups/rg/providers/Microsoft.Sql/servers/s/databases/d",
		"/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.GuestConfiguration/assignments/a",
		"/SUBSCRIPTIONS/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f/PROVIDERS/microsoft.web/sites/app/",
	} {
		rid, err := resourceID(raw, "assessed resource")
		if err != nil {
			t.Fatal(err)
		}
		for _, source := range []string{"", "Azure", "OnPremise"} {
			mk := func() *Assessment {
				return &Assessment{Properties: AssessmentProperties{ResourceDetails: ResourceDetails{Source: source},
					Status: AssessmentStatus{Code: StatusHealthy}}}
			}
			want, got := mk(), mk()
			CompleteAssessment(want, rid.String(), "k", nil, nil, now)
			completeAssessment(got, rid.String(), rid, "k", nil, nil, now)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s:\n got %+v\nwant %+v", raw, got, want)
			}
		}
	}
}
