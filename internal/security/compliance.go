package security

import (
	"strings"

	"sluice/internal/catalog"
)

// RegulatoryComplianceStandard is a standard's compliance in a subscription
// (REST 2019-01-01-preview).
type RegulatoryComplianceStandard struct {
	ID         string                                 `json:"id"`
	Name       string                                 `json:"name"`
	Type       string                                 `json:"type"`
	Properties RegulatoryComplianceStandardProperties `json:"properties"`
}

// RegulatoryComplianceStandardProperties are the properties of a
// RegulatoryComplianceStandard.
type RegulatoryComplianceStandardProperties struct {
	State               ComplianceState `json:"state"`
	PassedControls      int             `json:"passedControls"`
	FailedControls      int             `json:"failedControls"`
	SkippedControls     int             `json:"skippedControls"`
	UnsupportedControls int             `json:"unsupportedControls"`
}

// RegulatoryComplianceControl is a standard control's compliance.
type RegulatoryComplianceControl struct {
	ID         string                                `json:"id"`
	Name       string                                `json:"name"`
	Type       string                                `json:"type"`
	Properties RegulatoryComplianceControlProperties `json:"properties"`
}

// RegulatoryComplianceControlProperties are the properties of a
// RegulatoryComplianceControl.
type RegulatoryComplianceControlProperties struct {
	Description        string          `json:"description"`
	State              ComplianceState `json:"state"`
	PassedAssessments  int             `json:"passedAssessments"`
	FailedAssessments  int             `json:"failedAssessments"`
	SkippedAssessments int             `json:"skippedAssessments"`
}

// RegulatoryComplianceAssessment is the compliance of one recommendation
// within a standard control.
type RegulatoryComplianceAssessment struct {
	ID         string                                   `json:"id"`
	Name       string                                   `json:"name"`
	Type       string                                   `json:"type"`
	Properties RegulatoryComplianceAssessmentProperties `json:"properties"`
}

// RegulatoryComplianceAssessmentProperties are the properties of a
// RegulatoryComplianceAssessment.
type RegulatoryComplianceAssessmentProperties struct {
	Description           string          `json:"description"`
	State                 ComplianceState `json:"state"`
	Scope                 string          `json:"scope,omitempty"`
	PassedResources       int             `json:"passedResources"`
	FailedResources       int             `json:"failedResources"`
	SkippedResources      int             `json:"skippedResources"`
	UnsupportedResources  int             `json:"unsupportedResources"`
	AssessmentType        string          `json:"assessmentType"`
	AssessmentDetailsLink string          `json:"assessmentDetailsLink"`
}

// ComplianceAssessmentResult is the computed state of one recommendation
// in a standard control.
type ComplianceAssessmentResult struct {
	Key                     string
	Description             string
	State                   ComplianceState
	Passed, Failed, Skipped int
}

// ComplianceControlResult is the computed state of a standard control;
// the counts are of assessments.
type ComplianceControlResult struct {
	Name                    string
	Description             string
	State                   ComplianceState
	Passed, Failed, Skipped int
	Assessments             []ComplianceAssessmentResult
}

// ComplianceStandardResult is the computed state of a standard; the counts
// are of controls.
type ComplianceStandardResult struct {
	Name                                 string
	State                                ComplianceState
	Passed, Failed, Skipped, Unsupported int
	Controls                             []ComplianceControlResult
}

// aggregate applies the shared rule: Failed if any failed, else Passed if
// any passed, else Skipped if any skipped, else Unsupported.
func aggregate(passed, failed, skipped int) ComplianceState {
	switch {
	case failed > 0:
		return StateFailed
	case passed > 0:
		return StatePassed
	case skipped > 0:
		return StateSkipped
	}
	return StateUnsupported
}

// ComputeCompliance computes the compliance of every standard given from
// one subscription's assessment states, following the rules in the package
// documentation. cat supplies assessment descriptions (the recommendation
// display names); it may be nil. Order follows the standards and their
// controls.
func ComputeCompliance(cat *catalog.Catalog, standards []*catalog.Standard, states []AssessmentState) []ComplianceStandardResult {
	byKey := map[string]map[string]StatusCode{}
	for _, s := range states {
		k := strings.ToLower(s.Key)
		if byKey[k] == nil {
			byKey[k] = map[string]StatusCode{}
		}
		byKey[k][strings.ToLower(s.ResourceID)] = s.Code
	}
	counts := make(map[string]KeyCounts, len(byKey))
	for k, resources := range byKey {
		var kc KeyCounts
		for _, code := range resources {
			switch code {
			case StatusHealthy:
				kc[0]++
			case StatusUnhealthy:
				kc[1]++
			case StatusNotApplicable:
				kc[2]++
			}
		}
		counts[k] = kc
	}
	return ComplianceFromCounts(cat, standards, counts)
}

// ComplianceStandardID returns the ID of a standard in a subscription.
func ComplianceStandardID(subscriptionID, standard string) string {
	return "/subscriptions/" + subscriptionID + "/providers/Microsoft.Security/regulatoryComplianceStandards/" + standard
}

// ComplianceControlID returns the ID of a standard control.
func ComplianceControlID(subscriptionID, standard, control string) string {
	return ComplianceStandardID(subscriptionID, standard) + "/regulatoryComplianceControls/" + control
}

// ComplianceAssessmentID returns the ID of a compliance assessment.
func ComplianceAssessmentID(subscriptionID, standard, control, key string) string {
	return ComplianceControlID(subscriptionID, standard, control) + "/regulatoryComplianceAssessments/" + key
}

// ComplianceStandardRecord returns the REST record of a computed standard.
func ComplianceStandardRecord(subscriptionID string, r ComplianceStandardResult) *RegulatoryComplianceStandard {
	return &RegulatoryComplianceStandard{
		ID:   ComplianceStandardID(subscriptionID, r.Name),
		Name: r.Name,
		Type: TypeRegulatoryComplianceStandard,
		Properties: RegulatoryComplianceStandardProperties{
			State: r.State, PassedControls: r.Passed, FailedControls: r.Failed,
			SkippedControls: r.Skipped, UnsupportedControls: r.Unsupported,
		},
	}
}

// ComplianceControlRecord returns the REST record of a computed control.
func ComplianceControlRecord(subscriptionID, standard string, r ComplianceControlResult) *RegulatoryComplianceControl {
	return &RegulatoryComplianceControl{
		ID:   ComplianceControlID(subscriptionID, standard, r.Name),
		Name: r.Name,
		Type: TypeRegulatoryComplianceControl,
		Properties: RegulatoryComplianceControlProperties{
			Description: r.Description, State: r.State,
			PassedAssessments: r.Passed, FailedAssessments: r.Failed, SkippedAssessments: r.Skipped,
		},
	}
}

// ComplianceAssessmentRecord returns the REST record of a computed
// compliance assessment (scope Subscription, assessmentType
// AssessmentResult, and the portal link to the recommendation within the
// standard's initiative).
func ComplianceAssessmentRecord(subscriptionID, standard, control string, r ComplianceAssessmentResult) *RegulatoryComplianceAssessment {
	return &RegulatoryComplianceAssessment{
		ID:   ComplianceAssessmentID(subscriptionID, standard, control, r.Key),
		Name: r.Key,
		Type: TypeRegulatoryComplianceAssessment,
		Properties: RegulatoryComplianceAssessmentProperties{
			Description:      r.Description,
			State:            r.State,
			Scope:            "Subscription",
			PassedResources:  r.Passed,
			FailedResources:  r.Failed,
			SkippedResources: r.Skipped,
			AssessmentType:   "AssessmentResult",
			AssessmentDetailsLink: "https://portal.azure.com/#blade/Microsoft_Azure_Security/RecommendationsBlade/assessmentKey/" +
				r.Key + "/initiativeId/" + standard,
		},
	}
}

// ComplianceRecords flattens computed results into REST records for one
// subscription.
func ComplianceRecords(subscriptionID string, results []ComplianceStandardResult) (
	standards []*RegulatoryComplianceStandard, controls []*RegulatoryComplianceControl, assessments []*RegulatoryComplianceAssessment) {
	for _, s := range results {
		standards = append(standards, ComplianceStandardRecord(subscriptionID, s))
		for _, c := range s.Controls {
			controls = append(controls, ComplianceControlRecord(subscriptionID, s.Name, c))
			for _, a := range c.Assessments {
				assessments = append(assessments, ComplianceAssessmentRecord(subscriptionID, s.Name, c.Name, a))
			}
		}
	}
	return standards, controls, assessments
}
