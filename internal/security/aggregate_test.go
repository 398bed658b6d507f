package security

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/catalog"
)

// TestAggregate_matches_full_computation applies random assessment writes
// and removals to the running counters and checks, after every step, that
// the secure score and compliance equal a full recomputation over the same
// states.
func TestAggregate_matches_full_computation(t *testing.T) {
	cat := catalog.Default()
	ix := newAggIndex(cat)
	agg := newSubAgg(ix)
	r := rand.New(rand.NewPCG(3, 4))
	resources := make([]string, 12)
	for i := range resources {
		resources[i] = fmt.Sprintf("/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm%d", i)
	}
	// A small pool of keys sharing controls makes overlaps likely.
	keys := []int{}
	for i := range cat.Recommendations {
		if i%5 == 0 {
			keys = append(keys, i)
		}
	}
	states := map[[2]string]StatusCode{}
	codes := []StatusCode{StatusHealthy, StatusUnhealthy, StatusNotApplicable, statusNone}
	for step := range 3000 {
		res := resources[r.IntN(len(resources))]
		k := keys[r.IntN(len(keys))]
		code := codes[r.IntN(len(codes))]
		agg.setCode(ix, res, k, code)
		sk := [2]string{res, cat.Recommendations[k].Name}
		if code == statusNone {
			delete(states, sk)
		} else {
			states[sk] = code
		}
		if step%97 != 0 && step != 2999 {
			continue
		}
		var list []AssessmentState
		for sk, c := range states {
			list = append(list, AssessmentState{Key: sk[1], ResourceID: sk[0], Code: c})
		}
		want := ComputeSecureScore(cat.Controls, list)
		got := agg.score(ix)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("step %d: score (-full +incremental):\n%s", step, diff)
		}
		wantC := ComputeCompliance(cat, cat.Standards, list)
		gotC := ComplianceFromCounts(cat, cat.Standards, agg.keyCounts(ix))
		if diff := cmp.Diff(wantC, gotC); diff != "" {
			t.Fatalf("step %d: compliance (-full +incremental):\n%s", step, diff)
		}
	}
	if agg.countedN == 0 || len(agg.res) == 0 {
		t.Fatal("the random walk never counted a resource")
	}
}

func TestAggregate_removal_restores_empty_state(t *testing.T) {
	cat := catalog.Default()
	ix := newAggIndex(cat)
	agg := newSubAgg(ix)
	k := ix.key[strings.ToLower(cat.Controls[0].Assessments[0])]
	agg.setCode(ix, "r1", k, StatusUnhealthy)
	agg.setCode(ix, "r1", k, StatusHealthy)
	if got := agg.score(ix); got.Score.Current != float64(cat.Controls[0].MaxScore) || got.Weight != 1 {
		t.Fatalf("one healthy resource: score %+v weight %d", got.Score, got.Weight)
	}
	agg.setCode(ix, "r1", k, statusNone)
	empty := newSubAgg(ix)
	if diff := cmp.Diff(empty.score(ix), agg.score(ix)); diff != "" {
		t.Errorf("after removal (-empty +got):\n%s", diff)
	}
	if len(agg.res) != 0 || len(agg.counted) != 0 || agg.countedN != 0 {
		t.Errorf("leftover state: %+v", agg)
	}
}
