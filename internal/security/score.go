package security

import (
	"math"
	"strings"

	"sluice/internal/catalog"
)

// SecureScore is the overall secure score of a subscription (REST
// 2020-01-01).
type SecureScore struct {
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	Type       string                `json:"type"`
	Properties SecureScoreProperties `json:"properties"`
}

// SecureScoreProperties are the properties of a SecureScore.
type SecureScoreProperties struct {
	DisplayName string       `json:"displayName"`
	Score       ScoreDetails `json:"score"`
	Weight      int64        `json:"weight"`
}

// ScoreDetails is a score: max points, current points (two decimals) and
// the current/max fraction (four decimals).
type ScoreDetails struct {
	Max        int     `json:"max"`
	Current    float64 `json:"current"`
	Percentage float64 `json:"percentage"`
}

// SecureScoreControl is one control's score in a subscription (REST
// secureScoreControls, with the definition when expanded).
type SecureScoreControl struct {
	ID         string                       `json:"id"`
	Name       string                       `json:"name"`
	Type       string                       `json:"type"`
	Properties SecureScoreControlProperties `json:"properties"`
}

// SecureScoreControlProperties are the properties of a SecureScoreControl;
// weight follows definition, as in the service's output.
type SecureScoreControlProperties struct {
	DisplayName                string                        `json:"displayName"`
	HealthyResourceCount       int                           `json:"healthyResourceCount"`
	UnhealthyResourceCount     int                           `json:"unhealthyResourceCount"`
	NotApplicableResourceCount int                           `json:"notApplicableResourceCount"`
	Score                      ScoreDetails                  `json:"score"`
	Definition                 *SecureScoreControlDefinition `json:"definition,omitempty"`
	Weight                     int64                         `json:"weight"`
}

// SecureScoreControlDefinition is a control definition (REST
// secureScoreControlDefinitions).
type SecureScoreControlDefinition struct {
	ID         string                                 `json:"id"`
	Name       string                                 `json:"name"`
	Type       string                                 `json:"type"`
	Properties SecureScoreControlDefinitionProperties `json:"properties"`
}

// SecureScoreControlDefinitionProperties are the properties of a
// SecureScoreControlDefinition.
type SecureScoreControlDefinitionProperties struct {
	Source                ControlSource  `json:"source"`
	DisplayName           string         `json:"displayName"`
	Description           string         `json:"description,omitempty"`
	MaxScore              int            `json:"maxScore"`
	AssessmentDefinitions []ResourceLink `json:"assessmentDefinitions"`
}

// ControlSource is the source of a control definition (BuiltIn or Custom).
type ControlSource struct {
	SourceType string `json:"sourceType"`
}

// ResourceLink is a reference to a resource by ID.
type ResourceLink struct {
	ID string `json:"id"`
}

// AssessmentState is the status of one assessment: one recommendation
// (Key) evaluated on one resource. It is the input of the secure score and
// compliance computations.
type AssessmentState struct {
	Key        string
	ResourceID string
	Code       StatusCode
}

// ControlResult is the computed score of one control.
type ControlResult struct {
	Control       *catalog.Control
	Healthy       int
	Unhealthy     int
	NotApplicable int
	Score         ScoreDetails
	// Weight is the number of resources counted (healthy + unhealthy).
	Weight int64
}

// ScoreResult is a subscription's computed secure score.
type ScoreResult struct {
	Score ScoreDetails
	// Weight is the number of distinct resources counted by some control.
	Weight   int64
	Controls []ControlResult
}

// round rounds x to the given number of decimals, half away from zero.
func round(x float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(x*p) / p
}

// ComputeSecureScore computes one subscription's secure score from the
// states of its assessments, following the rules in the package
// documentation. When a (key, resource) pair occurs more than once the last
// state wins. Controls keep the order given.
func ComputeSecureScore(controls []*catalog.Control, states []AssessmentState) ScoreResult {
	// key -> resource -> code
	byKey := map[string]map[string]StatusCode{}
	for _, s := range states {
		k := strings.ToLower(s.Key)
		if byKey[k] == nil {
			byKey[k] = map[string]StatusCode{}
		}
		byKey[k][strings.ToLower(s.ResourceID)] = s.Code
	}
	var res ScoreResult
	counted := map[string]bool{}
	for _, ctl := range controls {
		// resource -> worst state for this control
		perRes := map[string]StatusCode{}
		for _, key := range ctl.Assessments {
			for rid, code := range byKey[strings.ToLower(key)] {
				cur, seen := perRes[rid]
				switch {
				case !seen:
					perRes[rid] = code
				case code == StatusUnhealthy:
					perRes[rid] = StatusUnhealthy
				case code == StatusHealthy && cur == StatusNotApplicable:
					perRes[rid] = StatusHealthy
				}
			}
		}
		cr := ControlResult{Control: ctl, Score: ScoreDetails{Max: ctl.MaxScore}}
		for rid, code := range perRes {
			switch code {
			case StatusHealthy:
				cr.Healthy++
			case StatusUnhealthy:
				cr.Unhealthy++
			default:
				cr.NotApplicable++
				continue
			}
			counted[rid] = true
		}
		cr.Weight = int64(cr.Healthy + cr.Unhealthy)
		if n := cr.Healthy + cr.Unhealthy; n > 0 {
			cr.Score.Current = round(float64(ctl.MaxScore)*float64(cr.Healthy)/float64(n), 2)
			res.Score.Max += ctl.MaxScore
		}
		if ctl.MaxScore > 0 {
			cr.Score.Percentage = round(cr.Score.Current/float64(ctl.MaxScore), 4)
		}
		res.Score.Current += cr.Score.Current
		res.Controls = append(res.Controls, cr)
	}
	res.Score.Current = round(res.Score.Current, 2)
	if res.Score.Max > 0 {
		res.Score.Percentage = round(res.Score.Current/float64(res.Score.Max), 4)
	}
	res.Weight = int64(len(counted))
	return res
}

// SecureScoreID returns the ID of a subscription's overall secure score.
func SecureScoreID(subscriptionID string) string {
	return "/subscriptions/" + subscriptionID + "/providers/Microsoft.Security/secureScores/" + SecureScoreName
}

// SecureScoreRecord returns the REST record of a computed overall score.
func SecureScoreRecord(subscriptionID string, r ScoreResult) *SecureScore {
	return &SecureScore{
		ID:   SecureScoreID(subscriptionID),
		Name: SecureScoreName,
		Type: TypeSecureScore,
		Properties: SecureScoreProperties{
			DisplayName: "ASC score",
			Score:       r.Score,
			Weight:      r.Weight,
		},
	}
}

// SecureScoreControlRecord returns the REST record of one computed control
// score; withDefinition expands the definition ($expand=definition, and
// always in exported events).
func SecureScoreControlRecord(subscriptionID string, c ControlResult, withDefinition bool) *SecureScoreControl {
	rec := &SecureScoreControl{
		ID:   SecureScoreID(subscriptionID) + "/secureScoreControls/" + c.Control.Name,
		Name: c.Control.Name,
		Type: TypeSecureScoreControl,
		Properties: SecureScoreControlProperties{
			DisplayName:                c.Control.DisplayName,
			HealthyResourceCount:       c.Healthy,
			UnhealthyResourceCount:     c.Unhealthy,
			NotApplicableResourceCount: c.NotApplicable,
			Score:                      c.Score,
			Weight:                     c.Weight,
		},
	}
	if withDefinition {
		rec.Properties.Definition = ControlDefinitionRecord(c.Control)
	}
	return rec
}

// ControlDefinitionRecord returns the REST record of a control definition.
func ControlDefinitionRecord(c *catalog.Control) *SecureScoreControlDefinition {
	links := make([]ResourceLink, len(c.Assessments))
	for i, a := range c.Assessments {
		links[i] = ResourceLink{ID: "/providers/Microsoft.Security/assessmentMetadata/" + a}
	}
	src := c.Source
	if src == "" {
		src = "BuiltIn"
	}
	return &SecureScoreControlDefinition{
		ID:   "/providers/Microsoft.Security/secureScoreControlDefinitions/" + c.Name,
		Name: c.Name,
		Type: TypeSecureScoreControlDefinition,
		Properties: SecureScoreControlDefinitionProperties{
			Source:                ControlSource{SourceType: src},
			DisplayName:           c.DisplayName,
			Description:           c.Description,
			MaxScore:              c.MaxScore,
			AssessmentDefinitions: links,
		},
	}
}
