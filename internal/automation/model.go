package automation

import (
	"encoding/json"
	"strings"
	"time"
)

// ResourceType is the ARM type of automations.
const ResourceType = "Microsoft.Security/automations"

// Automation is the ARM resource as stored and returned. Secrets
// (ConnectionString, URI) live only in memory: they are tagged out of every
// JSON encoding and stored sealed beside the resource.
type Automation struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Location   string            `json:"location"`
	Kind       string            `json:"kind,omitempty"`
	ETag       string            `json:"etag,omitempty"`
	Tags       map[string]string `json:"tags"`
	SystemData *SystemData       `json:"systemData,omitempty"`
	Properties Properties        `json:"properties"`
}

// SystemData records who created and last changed an automation, and when.
type SystemData struct {
	CreatedBy          string    `json:"createdBy,omitempty"`
	CreatedByType      string    `json:"createdByType,omitempty"`
	CreatedAt          time.Time `json:"createdAt"`
	LastModifiedBy     string    `json:"lastModifiedBy,omitempty"`
	LastModifiedByType string    `json:"lastModifiedByType,omitempty"`
	LastModifiedAt     time.Time `json:"lastModifiedAt"`
}

// Properties are an automation's settings.
type Properties struct {
	Description string   `json:"description,omitempty"`
	IsEnabled   bool     `json:"isEnabled"`
	Scopes      []Scope  `json:"scopes"`
	Sources     []Source `json:"sources"`
	Actions     []Action `json:"actions"`
}

// Scope is a subscription or resource group the automation applies to.
type Scope struct {
	Description string `json:"description,omitempty"`
	ScopePath   string `json:"scopePath"`
}

// Source is an event source with its rule sets (OR between sets).
type Source struct {
	// EventSource is kept as the client sent it; Canonical gives the
	// spelling of the spec.
	EventSource string    `json:"eventSource"`
	RuleSets    []RuleSet `json:"ruleSets"`
}

// RuleSet is a conjunction of rules.
type RuleSet struct {
	Rules []Rule `json:"rules"`
}

// Rule compares the value at PropertyJPath with ExpectedValue. Enum fields
// are kept as the client sent them (policies send "string").
type Rule struct {
	PropertyJPath string `json:"propertyJPath"`
	PropertyType  string `json:"propertyType"`
	ExpectedValue string `json:"expectedValue"`
	Operator      string `json:"operator"`
}

// Action is a destination, polymorphic on ActionType (always canonical:
// EventHub, LogicApp or Workspace).
type Action struct {
	ActionType string

	// LogicApp.
	LogicAppResourceID string
	URI                string // secret, never encoded

	// EventHub.
	EventHubResourceID      string
	ConnectionString        string // secret, never encoded
	SASPolicyName           string // derived from the connection string
	IsTrustedServiceEnabled bool

	// Workspace.
	WorkspaceResourceID string
}

// Action types.
const (
	ActionEventHub  = "EventHub"
	ActionLogicApp  = "LogicApp"
	ActionWorkspace = "Workspace"
)

// Secret returns the action's write-only secret ("" if none).
func (a *Action) Secret() string {
	switch a.ActionType {
	case ActionEventHub:
		return a.ConnectionString
	case ActionLogicApp:
		return a.URI
	}
	return ""
}

func (a *Action) setSecret(s string) {
	switch a.ActionType {
	case ActionEventHub:
		a.ConnectionString = s
	case ActionLogicApp:
		a.URI = s
	}
}

// ResourceID returns the destination's resource id.
func (a *Action) ResourceID() string {
	switch a.ActionType {
	case ActionEventHub:
		return a.EventHubResourceID
	case ActionLogicApp:
		return a.LogicAppResourceID
	case ActionWorkspace:
		return a.WorkspaceResourceID
	}
	return ""
}

// MarshalJSON writes the fields of the action's type, never a secret.
func (a Action) MarshalJSON() ([]byte, error) {
	switch a.ActionType {
	case ActionLogicApp:
		return json.Marshal(struct {
			ActionType         string `json:"actionType"`
			LogicAppResourceID string `json:"logicAppResourceId"`
		}{a.ActionType, a.LogicAppResourceID})
	case ActionEventHub:
		return json.Marshal(struct {
			ActionType              string `json:"actionType"`
			EventHubResourceID      string `json:"eventHubResourceId"`
			SASPolicyName           string `json:"sasPolicyName,omitempty"`
			IsTrustedServiceEnabled bool   `json:"isTrustedServiceEnabled"`
		}{a.ActionType, a.EventHubResourceID, a.SASPolicyName, a.IsTrustedServiceEnabled})
	case ActionWorkspace:
		return json.Marshal(struct {
			ActionType          string `json:"actionType"`
			WorkspaceResourceID string `json:"workspaceResourceId"`
		}{a.ActionType, a.WorkspaceResourceID})
	}
	return json.Marshal(struct {
		ActionType string `json:"actionType"`
	}{a.ActionType})
}

// UnmarshalJSON reads what MarshalJSON wrote (stored resources).
func (a *Action) UnmarshalJSON(data []byte) error {
	var w struct {
		ActionType              string `json:"actionType"`
		LogicAppResourceID      string `json:"logicAppResourceId"`
		EventHubResourceID      string `json:"eventHubResourceId"`
		SASPolicyName           string `json:"sasPolicyName"`
		IsTrustedServiceEnabled bool   `json:"isTrustedServiceEnabled"`
		WorkspaceResourceID     string `json:"workspaceResourceId"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*a = Action{ActionType: w.ActionType, LogicAppResourceID: w.LogicAppResourceID, EventHubResourceID: w.EventHubResourceID,
		SASPolicyName: w.SASPolicyName, IsTrustedServiceEnabled: w.IsTrustedServiceEnabled, WorkspaceResourceID: w.WorkspaceResourceID}
	return nil
}

// EventSources lists every event source of the spec, in its order.
var EventSources = []string{
	"Assessments", "AssessmentsSnapshot", "SubAssessments", "SubAssessmentsSnapshot", "Alerts",
	"SecureScores", "SecureScoresSnapshot", "SecureScoreControls", "SecureScoreControlsSnapshot",
	"RegulatoryComplianceAssessment", "RegulatoryComplianceAssessmentSnapshot", "AttackPaths", "AttackPathsSnapshot",
}

// Property types.
const (
	TypeString  = "String"
	TypeInteger = "Integer"
	TypeNumber  = "Number"
	TypeBoolean = "Boolean"
)

// PropertyTypes lists the property types.
var PropertyTypes = []string{TypeString, TypeInteger, TypeNumber, TypeBoolean}

// Operators.
const (
	OpEquals               = "Equals"
	OpNotEquals            = "NotEquals"
	OpGreaterThan          = "GreaterThan"
	OpGreaterThanOrEqualTo = "GreaterThanOrEqualTo"
	OpLesserThan           = "LesserThan"
	OpLesserThanOrEqualTo  = "LesserThanOrEqualTo"
	OpContains             = "Contains"
	OpStartsWith           = "StartsWith"
	OpEndsWith             = "EndsWith"
)

// Operators lists the operators of the spec.
var Operators = []string{OpEquals, OpGreaterThan, OpGreaterThanOrEqualTo, OpLesserThan, OpLesserThanOrEqualTo,
	OpNotEquals, OpContains, OpStartsWith, OpEndsWith}

// ActionTypes lists the action types.
var ActionTypes = []string{ActionLogicApp, ActionEventHub, ActionWorkspace}

// canonical returns the spelling in set that equals s case-insensitively.
func canonical(set []string, s string) (string, bool) {
	for _, c := range set {
		if strings.EqualFold(c, s) {
			return c, true
		}
	}
	return "", false
}

// CanonicalEventSource returns the spec spelling of an event source.
func CanonicalEventSource(s string) (string, bool) {
	return canonical(EventSources, strings.TrimSpace(s))
}

// operatorAllowed reports whether op (canonical) applies to typ (canonical):
// ordering operators only to numbers, text operators only to strings,
// Equals and NotEquals to all.
func operatorAllowed(typ, op string) bool {
	switch op {
	case OpEquals, OpNotEquals:
		return true
	case OpGreaterThan, OpGreaterThanOrEqualTo, OpLesserThan, OpLesserThanOrEqualTo:
		return typ == TypeInteger || typ == TypeNumber
	case OpContains, OpStartsWith, OpEndsWith:
		return typ == TypeString
	}
	return false
}
