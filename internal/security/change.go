package security

import (
	"math"
	"strings"
)

// ScoreThreshold is the smallest score change that is exported.
const ScoreThreshold = 0.01

// AssessmentChange decides the event a write of an assessment produces.
// prev is the stored record before the write (nil if none), next the record
// after it (nil for a removal). It returns ActionInsert on creation or when
// status.code changes, ActionDelete on removal (export prev as the body),
// and ok == false when the write changes neither.
func AssessmentChange(prev, next *Assessment) (action Action, ok bool) {
	switch {
	case prev == nil && next == nil:
		return "", false
	case prev == nil:
		return ActionInsert, true
	case next == nil:
		return ActionDelete, true
	case !strings.EqualFold(string(prev.Properties.Status.Code), string(next.Properties.Status.Code)):
		return ActionInsert, true
	}
	return "", false
}

// SubAssessmentChange applies the assessment rules to a sub-assessment
// (finding): Insert on creation or status.code change, Delete on removal.
func SubAssessmentChange(prev, next *SubAssessment) (action Action, ok bool) {
	switch {
	case prev == nil && next == nil:
		return "", false
	case prev == nil:
		return ActionInsert, true
	case next == nil:
		return ActionDelete, true
	case !strings.EqualFold(string(prev.Properties.Status.Code), string(next.Properties.Status.Code)):
		return ActionInsert, true
	}
	return "", false
}

// AlertChanged reports whether a write of an alert is exported: on
// creation (prev nil) and on every status change. Removing an alert is not
// exported.
func AlertChanged(prev, next *Alert) bool {
	if next == nil {
		return false
	}
	if prev == nil {
		return true
	}
	return !strings.EqualFold(prev.Properties.Status, next.Properties.Status)
}

// ScoreMoved reports whether a score moved by at least ScoreThreshold
// (compared at two decimals, so float noise cannot trigger or hide it).
func ScoreMoved(prev, next float64) bool {
	return math.Abs(round(next, 2)-round(prev, 2)) >= ScoreThreshold-1e-9
}

// SecureScoreChanged reports whether a recomputed overall secure score is
// exported: only when its current score moved by at least 0.01. The first
// computation (prev nil) is the baseline and is not exported (the weekly
// snapshot carries it); a change of max, percentage or weight alone is not
// exported either.
func SecureScoreChanged(prev, next *SecureScore) bool {
	if prev == nil || next == nil {
		return false
	}
	return ScoreMoved(prev.Properties.Score.Current, next.Properties.Score.Current)
}

// SecureScoreControlChanged reports whether a recomputed control score is
// exported: only when its current score moved by at least 0.01, never for a
// control whose max score is 0, and not for the baseline (prev nil) or for
// resource count changes that leave the score as it was.
func SecureScoreControlChanged(prev, next *SecureScoreControl) bool {
	if prev == nil || next == nil || next.Properties.Score.Max == 0 {
		return false
	}
	return ScoreMoved(prev.Properties.Score.Current, next.Properties.Score.Current)
}

// ChangedControls returns the controls of next whose change is exported
// (SecureScoreControlChanged against the control of the same name in prev),
// in the order of next.
func ChangedControls(prev, next []*SecureScoreControl) []*SecureScoreControl {
	old := make(map[string]*SecureScoreControl, len(prev))
	for _, c := range prev {
		old[strings.ToLower(c.Name)] = c
	}
	var out []*SecureScoreControl
	for _, c := range next {
		if SecureScoreControlChanged(old[strings.ToLower(c.Name)], c) {
			out = append(out, c)
		}
	}
	return out
}

// ComplianceAssessmentChanged reports whether a recomputed regulatory
// compliance assessment is exported (action Write): when it is new or its
// state changed. Count changes that keep the state are not exported.
func ComplianceAssessmentChanged(prev, next *RegulatoryComplianceAssessment) bool {
	if next == nil {
		return false
	}
	if prev == nil {
		return true
	}
	return prev.Properties.State != next.Properties.State
}

// ChangedComplianceAssessments returns the assessments of next whose change
// is exported (ComplianceAssessmentChanged against the assessment with the
// same ID in prev), in the order of next.
func ChangedComplianceAssessments(prev, next []*RegulatoryComplianceAssessment) []*RegulatoryComplianceAssessment {
	old := make(map[string]*RegulatoryComplianceAssessment, len(prev))
	for _, a := range prev {
		old[strings.ToLower(a.ID)] = a
	}
	var out []*RegulatoryComplianceAssessment
	for _, a := range next {
		if ComplianceAssessmentChanged(old[strings.ToLower(a.ID)], a) {
			out = append(out, a)
		}
	}
	return out
}
