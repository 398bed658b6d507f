package security

import (
	"strings"

	"sluice/internal/catalog"
)

// This file keeps a subscription's secure score and compliance inputs as
// running counters, so that a write of one assessment updates them in time
// proportional to the recommendations on its resource instead of a rescan of
// the subscription. The results equal ComputeSecureScore and
// ComputeCompliance over the same states (see the tests).

// aggIndex numbers the catalog's recommendations and controls.
type aggIndex struct {
	cat *catalog.Catalog
	// key is the index of a recommendation by lower-case name.
	key map[string]int
	// keyControls lists, per recommendation, the controls containing it.
	keyControls [][]int
	// inControl[c] is the set of recommendations of control c.
	inControl []map[int]bool
}

func newAggIndex(cat *catalog.Catalog) *aggIndex {
	ix := &aggIndex{cat: cat, key: map[string]int{}}
	for i, r := range cat.Recommendations {
		ix.key[strings.ToLower(r.Name)] = i
	}
	ix.keyControls = make([][]int, len(cat.Recommendations))
	ix.inControl = make([]map[int]bool, len(cat.Controls))
	for c, ctl := range cat.Controls {
		ix.inControl[c] = map[int]bool{}
		for _, k := range ctl.Assessments {
			if i, ok := ix.key[strings.ToLower(k)]; ok {
				ix.inControl[c][i] = true
				ix.keyControls[i] = append(ix.keyControls[i], c)
			}
		}
	}
	return ix
}

// statusNone is the status of an assessment that does not exist.
const statusNone StatusCode = ""

// ctlCount counts a control's resources by their state for the control.
type ctlCount struct{ healthy, unhealthy, na int }

// assessInfo is what the cache keeps of one stored assessment: enough to
// complete a rewrite of it and to tell whether the rewrite changes anything,
// without reading the record.
type assessInfo struct {
	code StatusCode
	// first and change are status.firstEvaluationDate and statusChangeDate
	// (Unix nanoseconds, 0 when absent).
	first, change int64
	// hash is the hash of the stored body.
	hash uint64
	// line is the hash of an ingested line known to produce exactly the
	// stored body when applied again (0 when none is known): a re-sent
	// line with this hash changes nothing (see rescan.go).
	line uint64
}

// subAgg is one subscription's counters, and an index of which records
// exist.
type subAgg struct {
	// res holds each resource's assessments by recommendation index
	// (catalog recommendations first, then custom keys).
	res map[string]map[int]assessInfo
	// ctl counts resources per control.
	ctl []ctlCount
	// counted is, per resource, the number of controls where it is healthy
	// or unhealthy; countedN the number of resources with counted > 0.
	counted  map[string]int
	countedN int
	// keys counts resources per catalog recommendation: passed (Healthy),
	// failed (Unhealthy), skipped (NotApplicable).
	keys [][3]int
	// alerts and findings hold the hashes of the keys of the stored alerts
	// and sub-assessments (a miss proves absence; a hit is checked in the
	// store), each with the hash of an ingested line known to reproduce the
	// stored record (0 when none is known; see rescan.go).
	alerts, findings map[uint64]uint64
}

func newSubAgg(ix *aggIndex) *subAgg {
	return &subAgg{
		res:      map[string]map[int]assessInfo{},
		ctl:      make([]ctlCount, len(ix.inControl)),
		counted:  map[string]int{},
		keys:     make([][3]int, len(ix.keyControls)),
		alerts:   map[uint64]uint64{},
		findings: map[uint64]uint64{},
	}
}

// stateFor is a resource's state for control c: Unhealthy when any of the
// control's recommendations on it is, else Healthy when any is, else
// NotApplicable when any is, else none.
func (a *subAgg) stateFor(ix *aggIndex, codes map[int]assessInfo, c int) StatusCode {
	h, na := false, false
	for k, info := range codes {
		if !ix.inControl[c][k] {
			continue
		}
		switch info.code {
		case StatusUnhealthy:
			return StatusUnhealthy
		case StatusHealthy:
			h = true
		case StatusNotApplicable:
			na = true
		}
	}
	switch {
	case h:
		return StatusHealthy
	case na:
		return StatusNotApplicable
	}
	return statusNone
}

func (c *ctlCount) add(code StatusCode, d int) {
	switch code {
	case StatusHealthy:
		c.healthy += d
	case StatusUnhealthy:
		c.unhealthy += d
	case StatusNotApplicable:
		c.na += d
	}
}

func keySlot(code StatusCode) int {
	switch code {
	case StatusHealthy:
		return 0
	case StatusUnhealthy:
		return 1
	case StatusNotApplicable:
		return 2
	}
	return -1
}

func counts(code StatusCode) bool { return code == StatusHealthy || code == StatusUnhealthy }

// set records that recommendation k on resource (lower-case id) is now
// stored as info, or removed (nil).
func (a *subAgg) set(ix *aggIndex, resource string, k int, info *assessInfo) {
	codes := a.res[resource]
	old, had := codes[k]
	oldCode, code := statusNone, statusNone
	if had {
		oldCode = old.code
	}
	if info != nil {
		code = info.code
	}
	tracked := k < len(ix.keyControls) && oldCode != code
	var ctls []int
	var before []StatusCode
	if tracked {
		ctls = ix.keyControls[k]
		before = make([]StatusCode, len(ctls))
		for i, c := range ctls {
			before[i] = a.stateFor(ix, codes, c)
		}
	}
	if info == nil {
		delete(codes, k)
		if len(codes) == 0 {
			delete(a.res, resource)
		}
	} else {
		if codes == nil {
			codes = map[int]assessInfo{}
			a.res[resource] = codes
		}
		codes[k] = *info
	}
	if !tracked {
		return
	}
	delta := 0
	for i, c := range ctls {
		after := a.stateFor(ix, codes, c)
		if after == before[i] {
			continue
		}
		a.ctl[c].add(before[i], -1)
		a.ctl[c].add(after, 1)
		switch {
		case counts(after) && !counts(before[i]):
			delta++
		case !counts(after) && counts(before[i]):
			delta--
		}
	}
	if delta != 0 {
		prev := a.counted[resource]
		n := prev + delta
		if n == 0 {
			delete(a.counted, resource)
		} else {
			a.counted[resource] = n
		}
		switch {
		case prev == 0 && n > 0:
			a.countedN++
		case prev > 0 && n == 0:
			a.countedN--
		}
	}
	if s := keySlot(oldCode); s >= 0 {
		a.keys[k][s]--
	}
	if s := keySlot(code); s >= 0 {
		a.keys[k][s]++
	}
}

// setCode is set with a bare status code (statusNone removes).
func (a *subAgg) setCode(ix *aggIndex, resource string, k int, code StatusCode) {
	if code == statusNone {
		a.set(ix, resource, k, nil)
		return
	}
	a.set(ix, resource, k, &assessInfo{code: code})
}

// score computes the secure score from the counters, with the arithmetic
// of ComputeSecureScore.
func (a *subAgg) score(ix *aggIndex) ScoreResult {
	var res ScoreResult
	for c, ctl := range ix.cat.Controls {
		n := a.ctl[c]
		res.Controls = append(res.Controls, controlResult(ctl, n.healthy, n.unhealthy, n.na))
	}
	return totalScore(res.Controls, int64(a.countedN))
}

// controlResult scores one control from its resource counts.
func controlResult(ctl *catalog.Control, healthy, unhealthy, na int) ControlResult {
	cr := ControlResult{Control: ctl, Healthy: healthy, Unhealthy: unhealthy, NotApplicable: na,
		Score: ScoreDetails{Max: ctl.MaxScore}, Weight: int64(healthy + unhealthy)}
	if n := healthy + unhealthy; n > 0 {
		cr.Score.Current = round(float64(ctl.MaxScore)*float64(healthy)/float64(n), 2)
	}
	if ctl.MaxScore > 0 {
		cr.Score.Percentage = round(cr.Score.Current/float64(ctl.MaxScore), 4)
	}
	return cr
}

// totalScore sums control results into the overall score; weight is the
// number of distinct resources counted by some control.
func totalScore(controls []ControlResult, weight int64) ScoreResult {
	res := ScoreResult{Controls: controls, Weight: weight}
	for _, cr := range controls {
		if cr.Healthy+cr.Unhealthy > 0 {
			res.Score.Max += cr.Control.MaxScore
		}
		res.Score.Current += cr.Score.Current
	}
	res.Score.Current = round(res.Score.Current, 2)
	if res.Score.Max > 0 {
		res.Score.Percentage = round(res.Score.Current/float64(res.Score.Max), 4)
	}
	return res
}

// KeyCounts are a recommendation's resources by state in one subscription:
// passed (Healthy), failed (Unhealthy) and skipped (NotApplicable).
type KeyCounts [3]int

// State is the compliance state of a recommendation with these counts.
func (k KeyCounts) State() ComplianceState { return aggregate(k[0], k[1], k[2]) }

// ComplianceFromCounts computes the compliance of every standard given
// from per-recommendation counts (keyed by lower-case recommendation name),
// with the rules of ComputeCompliance.
func ComplianceFromCounts(cat *catalog.Catalog, standards []*catalog.Standard, keys map[string]KeyCounts) []ComplianceStandardResult {
	out := make([]ComplianceStandardResult, 0, len(standards))
	for _, std := range standards {
		sr := ComplianceStandardResult{Name: std.Name}
		for _, sc := range std.Controls {
			cr := ComplianceControlResult{Name: sc.Name, Description: sc.Description}
			for _, key := range sc.Assessments {
				kc := keys[strings.ToLower(key)]
				ar := ComplianceAssessmentResult{Key: key, Description: key, Passed: kc[0], Failed: kc[1], Skipped: kc[2], State: kc.State()}
				if cat != nil {
					if r, ok := cat.Recommendation(key); ok {
						ar.Description = r.DisplayName
					}
				}
				switch ar.State {
				case StatePassed:
					cr.Passed++
				case StateFailed:
					cr.Failed++
				case StateSkipped:
					cr.Skipped++
				}
				cr.Assessments = append(cr.Assessments, ar)
			}
			cr.State = aggregate(cr.Passed, cr.Failed, cr.Skipped)
			switch cr.State {
			case StatePassed:
				sr.Passed++
			case StateFailed:
				sr.Failed++
			case StateSkipped:
				sr.Skipped++
			default:
				sr.Unsupported++
			}
			sr.Controls = append(sr.Controls, cr)
		}
		sr.State = aggregate(sr.Passed, sr.Failed, sr.Skipped)
		out = append(out, sr)
	}
	return out
}

// keyCounts returns the per-recommendation counters by lower-case name,
// leaving out recommendations without any resource.
func (a *subAgg) keyCounts(ix *aggIndex) map[string]KeyCounts {
	out := make(map[string]KeyCounts, len(a.keys))
	for i, kc := range a.keys {
		if kc != [3]int{} {
			out[strings.ToLower(ix.cat.Recommendations[i].Name)] = kc
		}
	}
	return out
}
