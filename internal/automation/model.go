package automation

import (
	"encoding/json"
	"net/url"
	"slices"
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
// EventHub, LogicApp, Workspace, or the extensions Kafka and Webhook).
type Action struct {
	ActionType string

	// LogicApp.
	LogicAppResourceID string
	// URI is the LogicApp trigger uri (secret, never encoded) or the
	// Webhook uri (encoded without its query, which is secret).
	URI string

	// EventHub.
	EventHubResourceID      string
	ConnectionString        string // secret, never encoded
	SASPolicyName           string // derived from the connection string
	IsTrustedServiceEnabled bool

	// Workspace.
	WorkspaceResourceID string

	// Kafka (extension).
	Brokers               []string
	Topic                 string
	SASLMechanism         string // "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	SASLUsername          string
	SASLPassword          string // secret, never encoded
	TLSEnabled            bool
	TLSInsecureSkipVerify bool
	TLSCACertificate      string // PEM, public

	// Webhook (extension), with URI.
	SigningKey string // secret, never encoded
	Batch      bool
	MaxEvents  int
}

// Action types.
const (
	ActionEventHub  = "EventHub"
	ActionLogicApp  = "LogicApp"
	ActionWorkspace = "Workspace"
	// Extensions beyond the Microsoft service.
	ActionKafka   = "Kafka"
	ActionWebhook = "Webhook"
)

// Secret returns the action's write-only secret ("" if none): the
// connection string, the trigger uri, the Kafka SASL password, or the
// Webhook's signing key.
func (a *Action) Secret() string {
	switch a.ActionType {
	case ActionEventHub:
		return a.ConnectionString
	case ActionLogicApp:
		return a.URI
	case ActionKafka:
		return a.SASLPassword
	case ActionWebhook:
		return a.SigningKey
	}
	return ""
}

// webhookSecret is the sealed form of a Webhook's secrets: the whole uri
// (its query is secret) and the signing key.
type webhookSecret struct {
	URI        string `json:"uri"`
	SigningKey string `json:"signingKey"`
}

// sealable is what the store seals for the action ("" if nothing).
func (a *Action) sealable() string {
	if a.ActionType == ActionWebhook {
		if a.URI == "" && a.SigningKey == "" {
			return ""
		}
		b, _ := json.Marshal(webhookSecret{URI: a.URI, SigningKey: a.SigningKey})
		return string(b)
	}
	return a.Secret()
}

// setSealed restores what sealable gave.
func (a *Action) setSealed(s string) {
	switch a.ActionType {
	case ActionEventHub:
		a.ConnectionString = s
	case ActionLogicApp:
		a.URI = s
	case ActionKafka:
		a.SASLPassword = s
	case ActionWebhook:
		var w webhookSecret
		if json.Unmarshal([]byte(s), &w) == nil {
			if w.URI != "" {
				a.URI = w.URI
			}
			a.SigningKey = w.SigningKey
		}
	}
}

// carryFrom gives a, sent without its secret, the secrets of old when old
// is the stored action of the same type and destination, so that a
// resource read back (secrets are never returned), changed and written
// again keeps them. It reports whether old was that action.
func (a *Action) carryFrom(old *Action) bool {
	if a.ActionType != old.ActionType {
		return false
	}
	switch a.ActionType {
	case ActionKafka:
		if a.SASLPassword != "" || a.SASLMechanism == "" || a.SASLUsername != old.SASLUsername ||
			!strings.EqualFold(a.Topic, old.Topic) || !sameBrokers(a.Brokers, old.Brokers) || old.SASLPassword == "" {
			return false
		}
		a.SASLPassword = old.SASLPassword
		return true
	case ActionWebhook:
		if a.URI == "" || !strings.EqualFold(publicURI(a.URI), publicURI(old.URI)) {
			return false
		}
		if a.URI == publicURI(a.URI) && !strings.Contains(a.URI, "?") {
			a.URI = old.URI // sent back as returned: keep the stored query
		}
		if a.SigningKey == "" {
			a.SigningKey = old.SigningKey
		}
		return true
	}
	if a.Secret() != "" || a.ResourceID() == "" || !strings.EqualFold(old.ResourceID(), a.ResourceID()) || old.Secret() == "" {
		return false
	}
	if a.IsTrustedServiceEnabled && !old.IsTrustedServiceEnabled {
		// Switched to trusted-service delivery: the connection string goes.
		return true
	}
	a.setSealed(old.Secret())
	return true
}

// sameBrokers compares broker lists as sets, case-insensitively.
func sameBrokers(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x := make([]string, len(a))
	y := make([]string, len(b))
	for i := range a {
		x[i], y[i] = strings.ToLower(strings.TrimSpace(a[i])), strings.ToLower(strings.TrimSpace(b[i]))
	}
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// publicURI is a Webhook uri without its query and fragment (the part
// that is returned).
func publicURI(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			return s[:i]
		}
		return s
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return u.String()
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
	case ActionKafka:
		out := outKafka{ActionType: a.ActionType, Brokers: a.Brokers, Topic: a.Topic,
			TLS: outTLS{Enabled: a.TLSEnabled, InsecureSkipVerify: a.TLSInsecureSkipVerify, CACertificate: a.TLSCACertificate}}
		if out.Brokers == nil {
			out.Brokers = []string{}
		}
		if a.SASLMechanism != "" {
			out.SASL = &outSASL{Mechanism: a.SASLMechanism, Username: a.SASLUsername}
		}
		return json.Marshal(out)
	case ActionWebhook:
		return json.Marshal(outWebhook{ActionType: a.ActionType, URI: publicURI(a.URI), Batch: a.Batch, MaxEvents: a.MaxEvents})
	}
	return json.Marshal(struct {
		ActionType string `json:"actionType"`
	}{a.ActionType})
}

// The encodings of the extension action types (never a secret).
type (
	outKafka struct {
		ActionType string   `json:"actionType"`
		Brokers    []string `json:"brokers"`
		Topic      string   `json:"topic"`
		SASL       *outSASL `json:"sasl,omitempty"`
		TLS        outTLS   `json:"tls"`
	}
	outSASL struct {
		Mechanism string `json:"mechanism"`
		Username  string `json:"username"`
	}
	outTLS struct {
		Enabled            bool   `json:"enabled"`
		InsecureSkipVerify bool   `json:"insecureSkipVerify"`
		CACertificate      string `json:"caCertificate,omitempty"`
	}
	outWebhook struct {
		ActionType string `json:"actionType"`
		URI        string `json:"uri"`
		Batch      bool   `json:"batch"`
		MaxEvents  int    `json:"maxEvents"`
	}
)

// UnmarshalJSON reads what MarshalJSON wrote (stored resources).
func (a *Action) UnmarshalJSON(data []byte) error {
	var w struct {
		ActionType              string   `json:"actionType"`
		LogicAppResourceID      string   `json:"logicAppResourceId"`
		EventHubResourceID      string   `json:"eventHubResourceId"`
		SASPolicyName           string   `json:"sasPolicyName"`
		IsTrustedServiceEnabled bool     `json:"isTrustedServiceEnabled"`
		WorkspaceResourceID     string   `json:"workspaceResourceId"`
		Brokers                 []string `json:"brokers"`
		Topic                   string   `json:"topic"`
		SASL                    *outSASL `json:"sasl"`
		TLS                     outTLS   `json:"tls"`
		URI                     string   `json:"uri"`
		Batch                   bool     `json:"batch"`
		MaxEvents               int      `json:"maxEvents"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*a = Action{ActionType: w.ActionType, LogicAppResourceID: w.LogicAppResourceID, EventHubResourceID: w.EventHubResourceID,
		SASPolicyName: w.SASPolicyName, IsTrustedServiceEnabled: w.IsTrustedServiceEnabled, WorkspaceResourceID: w.WorkspaceResourceID}
	switch w.ActionType {
	case ActionKafka:
		a.Brokers, a.Topic = w.Brokers, w.Topic
		if w.SASL != nil {
			a.SASLMechanism, a.SASLUsername = w.SASL.Mechanism, w.SASL.Username
		}
		a.TLSEnabled, a.TLSInsecureSkipVerify, a.TLSCACertificate = w.TLS.Enabled, w.TLS.InsecureSkipVerify, w.TLS.CACertificate
	case ActionWebhook:
		a.URI, a.Batch, a.MaxEvents = w.URI, w.Batch, w.MaxEvents
	}
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

// ActionTypes lists the action types: those of the Microsoft service, then
// the extensions.
var ActionTypes = []string{ActionLogicApp, ActionEventHub, ActionWorkspace, ActionKafka, ActionWebhook}

// SASL mechanisms of Kafka actions.
var SASLMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

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
