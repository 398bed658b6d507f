package portal

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"sluice/internal/armid"
)

// The continuous export form: the choices of the portal page and the
// automation they stand for, built exactly as the built-in Azure Policy
// definitions "Deploy export to Event Hub / Log Analytics workspace for
// Microsoft Defender for Cloud data" (and the trusted-service variant)
// build it, so that a configuration saved here and one deployed by the
// policy with the same parameters are the same resource.

// TargetKind is where an export configuration sends its data.
type TargetKind string

// The two targets of the page, one tab each.
const (
	TargetEventHub  TargetKind = "EventHub"
	TargetWorkspace TargetKind = "Workspace"
)

// Names of the automations the page reads and writes (ARM names are
// case-insensitive: the Event Hub policy's exportToEventHub is the same
// resource as ExportToEventHub).
const (
	EventHubAutomationName  = "ExportToEventHub"
	WorkspaceAutomationName = "ExportToWorkspace"
)

// AutomationName is the name of the automation of a target.
func (k TargetKind) AutomationName() string {
	if k == TargetWorkspace {
		return WorkspaceAutomationName
	}
	return EventHubAutomationName
}

// description is the automation description the policies write.
func (k TargetKind) description() string {
	if k == TargetWorkspace {
		return "Export Microsoft Defender for Cloud data to Log Analytics workspace via policy"
	}
	return "Export Microsoft Defender for Cloud data to Event Hub via policy"
}

// Frequency is how a data type is exported: as a stream of changes, as a
// weekly snapshot, or both.
type Frequency struct {
	Streaming bool
	Snapshot  bool
}

// Any reports whether the data type is exported at all.
func (f Frequency) Any() bool { return f.Streaming || f.Snapshot }

// Severities of recommendations and alerts, in the policies' order.
var Severities = []string{"High", "Medium", "Low"}

// ExportChoices are the choices of the continuous export form: the
// parameters of the built-in policies, with the data types as streaming
// and snapshot switches.
type ExportChoices struct {
	Target TargetKind
	// Subscription is the subscription exported (the automation's scope).
	Subscription string
	// ResourceGroup and Location: where the configuration is saved.
	ResourceGroup string
	Location      string

	Recommendations Frequency
	// SecurityFindings.Streaming is "Include security findings" (a
	// streaming SubAssessments source); Snapshot is "Security findings -
	// snapshot".
	SecurityFindings     Frequency
	Alerts               Frequency // streaming only: alerts have no snapshot
	SecureScore          Frequency
	SecureScoreControls  Frequency
	RegulatoryCompliance Frequency

	// RecommendationNames are assessment names (empty: all).
	RecommendationNames      []string
	RecommendationSeverities []string
	AlertSeverities          []string
	// SecureScoreControlNames are control names (empty: all).
	SecureScoreControlNames []string
	// RegulatoryComplianceStandardNames are standard names (empty: all).
	RegulatoryComplianceStandardNames []string

	// Event Hub target: the hub (or its namespace, or an authorization
	// rule of the hub, as the policy takes it), the connection string
	// (write-only; empty keeps the stored one) or the trusted service.
	EventHubResourceID string
	ConnectionString   string
	TrustedService     bool

	// Workspace target.
	WorkspaceResourceID string
}

// DefaultChoices are the policies' defaults: every data type, streaming
// and snapshot, every severity, security findings included.
func DefaultChoices(target TargetKind, subscription string) ExportChoices {
	all := Frequency{Streaming: true, Snapshot: true}
	return ExportChoices{
		Target: target, Subscription: subscription,
		Recommendations: all, SecurityFindings: all, Alerts: Frequency{Streaming: true},
		SecureScore: all, SecureScoreControls: all, RegulatoryCompliance: all,
		RecommendationSeverities: slices.Clone(Severities),
		AlertSeverities:          slices.Clone(Severities),
	}
}

// The policies' data types (the allowed values of exportedDataTypes, in
// their order) and the event source each maps to (dataTypeMap).
const (
	dtRecommendations         = "Security recommendations"
	dtAlerts                  = "Security alerts"
	dtSecureScore             = "Overall secure score"
	dtControls                = "Secure score controls"
	dtCompliance              = "Regulatory compliance"
	dtSecureScoreSnapshot     = "Overall secure score - snapshot"
	dtControlsSnapshot        = "Secure score controls - snapshot"
	dtComplianceSnapshot      = "Regulatory compliance - snapshot"
	dtRecommendationsSnapshot = "Security recommendations - snapshot"
	dtFindingsSnapshot        = "Security findings - snapshot"
)

var dataTypeMap = map[string]string{
	dtRecommendations:         "Assessments",
	dtAlerts:                  "Alerts",
	dtSecureScore:             "SecureScores",
	dtControls:                "SecureScoreControls",
	dtCompliance:              "RegulatoryComplianceAssessment",
	dtSecureScoreSnapshot:     "SecureScoresSnapshot",
	dtControlsSnapshot:        "SecureScoreControlsSnapshot",
	dtComplianceSnapshot:      "RegulatoryComplianceAssessmentSnapshot",
	dtRecommendationsSnapshot: "AssessmentsSnapshot",
	dtFindingsSnapshot:        "SubAssessmentsSnapshot",
}

// DataTypes returns the policies' exportedDataTypes for the choices, in
// the policies' order.
func (c *ExportChoices) DataTypes() []string {
	var out []string
	for _, d := range []struct {
		on bool
		dt string
	}{
		{c.Recommendations.Streaming, dtRecommendations},
		{c.Alerts.Streaming, dtAlerts},
		{c.SecureScore.Streaming, dtSecureScore},
		{c.SecureScoreControls.Streaming, dtControls},
		{c.RegulatoryCompliance.Streaming, dtCompliance},
		{c.SecureScore.Snapshot, dtSecureScoreSnapshot},
		{c.SecureScoreControls.Snapshot, dtControlsSnapshot},
		{c.RegulatoryCompliance.Snapshot, dtComplianceSnapshot},
		{c.Recommendations.Snapshot, dtRecommendationsSnapshot},
		{c.SecurityFindings.Snapshot, dtFindingsSnapshot},
	} {
		if d.on {
			out = append(out, d.dt)
		}
	}
	return out
}

// ChoiceError is a choice the form cannot turn into an automation; Field
// names the form field.
type ChoiceError struct {
	Field   string
	Message string
}

func (e *ChoiceError) Error() string { return e.Message }

func choiceErr(field, format string, args ...any) *ChoiceError {
	return &ChoiceError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// The automation body as the policies' template deploys it. Field order
// follows the template; a nil RuleSets encodes as null, as the template's
// variables give it.
type policyAutomation struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties policyProperties  `json:"properties"`
}

type policyProperties struct {
	Description string           `json:"description"`
	IsEnabled   bool             `json:"isEnabled"`
	Scopes      []policyScope    `json:"scopes"`
	Sources     []policySource   `json:"sources"`
	Actions     []map[string]any `json:"actions"`
}

type policyScope struct {
	Description string `json:"description"`
	ScopePath   string `json:"scopePath"`
}

type policySource struct {
	EventSource string          `json:"eventSource"`
	RuleSets    []policyRuleSet `json:"ruleSets"`
}

type policyRuleSet struct {
	Rules []policyRule `json:"rules"`
}

type policyRule struct {
	PropertyJPath string `json:"propertyJPath"`
	PropertyType  string `json:"propertyType"`
	ExpectedValue string `json:"expectedValue"`
	Operator      string `json:"operator"`
}

func stringRule(path, value, op string) policyRule {
	return policyRule{PropertyJPath: path, PropertyType: "string", ExpectedValue: value, Operator: op}
}

// canonicalSeverities checks a severity list and spells it as the
// policies do (High, Medium, Low), keeping the given order.
func canonicalSeverities(field string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		i := slices.IndexFunc(Severities, func(v string) bool { return strings.EqualFold(v, strings.TrimSpace(s)) })
		if i < 0 {
			return nil, choiceErr(field, "'%.40s' is not a severity; choose High, Medium or Low.", s)
		}
		if !slices.Contains(out, Severities[i]) {
			out = append(out, Severities[i])
		}
	}
	return out, nil
}

// cleanNames trims a list of names and drops empty ones and repeats.
func cleanNames(field string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, n := range in {
		n = strings.TrimSpace(n)
		if n == "" || slices.Contains(out, n) {
			continue
		}
		if len(n) > 256 || strings.ContainsAny(n, "\"<>\n\r\t") {
			return nil, choiceErr(field, "'%.40s' is not a valid name.", n)
		}
		out = append(out, n)
	}
	return out, nil
}

// normalise checks the choices and puts their lists in canonical form.
func (c *ExportChoices) normalise() error {
	var err error
	if c.Target != TargetEventHub && c.Target != TargetWorkspace {
		return choiceErr("tab", "Choose the Event Hub or the Log Analytics workspace tab.")
	}
	if _, e := armid.Parse("/subscriptions/" + c.Subscription); e != nil || strings.TrimSpace(c.Subscription) == "" || strings.Contains(c.Subscription, "/") {
		return choiceErr("subscription", "'%.60s' is not a subscription id.", c.Subscription)
	}
	if c.Alerts.Snapshot {
		return choiceErr("alerts_snapshot", "Security alerts are exported as a stream only; they have no weekly snapshot.")
	}
	if len(c.DataTypes()) == 0 && !c.SecurityFindings.Streaming {
		return choiceErr("datatypes", "Choose at least one data type to export (streaming or weekly snapshot).")
	}
	if c.RecommendationSeverities, err = canonicalSeverities("rec_severity", c.RecommendationSeverities); err != nil {
		return err
	}
	if c.AlertSeverities, err = canonicalSeverities("alert_severity", c.AlertSeverities); err != nil {
		return err
	}
	if c.Recommendations.Any() && len(c.RecommendationSeverities) == 0 {
		return choiceErr("rec_severity", "Choose at least one recommendation severity.")
	}
	if c.Alerts.Streaming && len(c.AlertSeverities) == 0 {
		return choiceErr("alert_severity", "Choose at least one alert severity.")
	}
	if c.RecommendationNames, err = cleanNames("rec_names", c.RecommendationNames); err != nil {
		return err
	}
	if c.SecureScoreControlNames, err = cleanNames("control_names", c.SecureScoreControlNames); err != nil {
		return err
	}
	if c.RegulatoryComplianceStandardNames, err = cleanNames("standard_names", c.RegulatoryComplianceStandardNames); err != nil {
		return err
	}
	c.Location = strings.TrimSpace(c.Location)
	if c.Location == "" {
		return choiceErr("location", "Enter the location of the export configuration (for example westeurope).")
	}
	switch c.Target {
	case TargetEventHub:
		id, err := eventHubID(c.EventHubResourceID)
		if err != nil {
			return err
		}
		c.EventHubResourceID = id
		if c.TrustedService && c.ConnectionString != "" {
			return choiceErr("connection_string", "Either enter a connection string or export as a trusted service, not both.")
		}
	case TargetWorkspace:
		ws := strings.TrimSpace(c.WorkspaceResourceID)
		id, err := armid.Parse(ws)
		if ws == "" {
			return choiceErr("workspace", "Choose the Log Analytics workspace to export to, or enter its resource ID.")
		}
		if err != nil || !strings.EqualFold(id.Type(), "Microsoft.OperationalInsights/workspaces") {
			return choiceErr("workspace", "'%.300s' is not the resource ID of a Log Analytics workspace (/subscriptions/…/resourceGroups/…/providers/Microsoft.OperationalInsights/workspaces/<name>).", ws)
		}
		c.WorkspaceResourceID = ws
	}
	return nil
}

// eventHubID checks an Event Hub target and returns the id the policy
// writes: an event hub or a namespace is kept; an authorization rule of a
// hub becomes the hub (the policy joins the first ten segments).
func eventHubID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", choiceErr("eventhub", "Enter the resource ID of the event hub to export to.")
	}
	bad := choiceErr("eventhub", "'%.300s' is not the resource ID of an event hub (/subscriptions/…/resourceGroups/…/providers/Microsoft.EventHub/namespaces/<namespace>/eventhubs/<hub>).", s)
	id, err := armid.Parse(s)
	if err != nil {
		return "", bad
	}
	switch strings.ToLower(id.Type()) {
	case "microsoft.eventhub/namespaces", "microsoft.eventhub/namespaces/eventhubs":
		return s, nil
	case "microsoft.eventhub/namespaces/eventhubs/authorizationrules":
		parts := strings.Split(s, "/")
		return strings.Join(parts[:11], "/"), nil
	}
	return "", bad
}

// assessmentRuleSets is the policies' ruleSetsForAssessmentsArr: every
// recommendation name (or all assessments) × severity.
func (c *ExportChoices) assessmentRuleSets() []policyRuleSet {
	first := []policyRule{stringRule("type", "Microsoft.Security/assessments", "Contains")}
	if len(c.RecommendationNames) > 0 {
		first = first[:0]
		for _, n := range c.RecommendationNames {
			first = append(first, stringRule("name", n, "Contains"))
		}
	}
	var out []policyRuleSet
	for _, f := range first {
		for _, sev := range c.RecommendationSeverities {
			out = append(out, policyRuleSet{Rules: []policyRule{f, stringRule("properties.metadata.severity", sev, "Equals")}})
		}
	}
	return out
}

// oneRulePerName is a rule set per name (nil, i.e. everything, if none).
func oneRulePerName(names []string, path, op string, value func(string) string) []policyRuleSet {
	if len(names) == 0 {
		return nil
	}
	out := make([]policyRuleSet, 0, len(names))
	for _, n := range names {
		out = append(out, policyRuleSet{Rules: []policyRule{stringRule(path, value(n), op)}})
	}
	return out
}

func same(s string) string { return s }

// sources is the policies' sources variable.
func (c *ExportChoices) sources() []policySource {
	subAssessments := oneRulePerName(c.RecommendationNames, "id", "Contains", func(n string) string { return "/assessments/" + n + "/" })
	var alerts []policyRuleSet
	for _, sev := range c.AlertSeverities {
		alerts = append(alerts, policyRuleSet{Rules: []policyRule{stringRule("Severity", strings.ToLower(sev), "Equals")}})
	}
	ruleSets := map[string][]policyRuleSet{
		"Assessments": c.assessmentRuleSets(), "AssessmentsSnapshot": c.assessmentRuleSets(),
		"SubAssessmentsSnapshot":                 subAssessments,
		"Alerts":                                 alerts,
		"SecureScoreControls":                    oneRulePerName(c.SecureScoreControlNames, "name", "Equals", same),
		"SecureScoreControlsSnapshot":            oneRulePerName(c.SecureScoreControlNames, "name", "Equals", same),
		"RegulatoryComplianceAssessment":         oneRulePerName(c.RegulatoryComplianceStandardNames, "id", "Contains", same),
		"RegulatoryComplianceAssessmentSnapshot": oneRulePerName(c.RegulatoryComplianceStandardNames, "id", "Contains", same),
	}
	var out []policySource
	if c.SecurityFindings.Streaming {
		out = append(out, policySource{EventSource: "SubAssessments", RuleSets: subAssessments})
	}
	for _, dt := range c.DataTypes() {
		src := dataTypeMap[dt]
		out = append(out, policySource{EventSource: src, RuleSets: ruleSets[src]})
	}
	return out
}

// action is the policies' action for the target.
func (c *ExportChoices) action() map[string]any {
	if c.Target == TargetWorkspace {
		return map[string]any{"actionType": "Workspace", "workspaceResourceId": c.WorkspaceResourceID}
	}
	a := map[string]any{"actionType": "EventHub", "eventHubResourceId": c.EventHubResourceID}
	if c.TrustedService {
		a["isTrustedServiceEnabled"] = true
	}
	if c.ConnectionString != "" {
		a["connectionString"] = c.ConnectionString
	}
	return a
}

// build checks the choices and returns the automation the policies would
// deploy for them.
func (c *ExportChoices) build() (*policyAutomation, error) {
	if err := c.normalise(); err != nil {
		return nil, err
	}
	return &policyAutomation{
		Location: c.Location,
		Tags:     map[string]string{},
		Properties: policyProperties{
			Description: c.Target.description(),
			IsEnabled:   true,
			Scopes: []policyScope{{
				Description: "scope for subscription " + c.Subscription,
				ScopePath:   "/subscriptions/" + c.Subscription,
			}},
			Sources: c.sources(),
			Actions: []map[string]any{c.action()},
		},
	}, nil
}

// BuildAutomation returns the PUT body of the automation for the choices
// (a *ChoiceError when a choice is missing or malformed). The connection
// string, when given, is in it: send it to the API, never show it.
func BuildAutomation(c ExportChoices) (json.RawMessage, error) {
	a, err := c.build()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode automation: %w", err)
	}
	return b, nil
}

// storedAutomation is an automation as the API returns it (secrets never
// are).
type storedAutomation struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		Description string         `json:"description"`
		IsEnabled   bool           `json:"isEnabled"`
		Scopes      []policyScope  `json:"scopes"`
		Sources     []policySource `json:"sources"`
		Actions     []struct {
			ActionType              string `json:"actionType"`
			EventHubResourceID      string `json:"eventHubResourceId"`
			SASPolicyName           string `json:"sasPolicyName"`
			IsTrustedServiceEnabled bool   `json:"isTrustedServiceEnabled"`
			WorkspaceResourceID     string `json:"workspaceResourceId"`
			LogicAppResourceID      string `json:"logicAppResourceId"`
		} `json:"actions"`
	} `json:"properties"`
}

// FormState is a stored automation read back into the form.
type FormState struct {
	Choices ExportChoices
	// HasConnectionString: the stored Event Hub action has a connection
	// string (the API names its policy, never the string).
	HasConnectionString bool
	// Unrepresentable says why the form cannot show the automation ("" if
	// it can): the page then shows it read-only rather than overwrite it
	// with something else.
	Unrepresentable string
}

// choicesFromAutomation reads a stored ExportToEventHub/ExportToWorkspace
// automation (the API's JSON) of subscription sub back into the form's
// choices. An automation the form would not rebuild identically (made or
// changed through the API) is flagged Unrepresentable, with the reason.
func choicesFromAutomation(sub string, raw []byte) (*FormState, error) {
	var a storedAutomation
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("decode automation: %w", err)
	}
	st := &FormState{}
	c := DefaultChoices(TargetEventHub, sub)
	c.Location = a.Location
	if id, err := armid.Parse(a.ID); err == nil {
		c.ResourceGroup = id.ResourceGroup
	}
	// Reset the data types: only the sources say which are exported.
	c.Recommendations, c.SecurityFindings, c.Alerts = Frequency{}, Frequency{}, Frequency{}
	c.SecureScore, c.SecureScoreControls, c.RegulatoryCompliance = Frequency{}, Frequency{}, Frequency{}
	fail := func(format string, args ...any) (*FormState, error) {
		st.Choices = c
		st.Unrepresentable = fmt.Sprintf(format, args...)
		return st, nil
	}

	p := &a.Properties
	if len(p.Actions) != 1 {
		return fail("it has %d actions; this page sets up exactly one target", len(p.Actions))
	}
	switch act := p.Actions[0]; {
	case strings.EqualFold(act.ActionType, "EventHub"):
		c.Target, c.EventHubResourceID, c.TrustedService = TargetEventHub, act.EventHubResourceID, act.IsTrustedServiceEnabled
		st.HasConnectionString = act.SASPolicyName != ""
	case strings.EqualFold(act.ActionType, "Workspace"):
		c.Target, c.WorkspaceResourceID = TargetWorkspace, act.WorkspaceResourceID
	default:
		return fail("its action is of type %s; this page sets up Event Hub and Log Analytics workspace exports", act.ActionType)
	}

	var recNames, recSev, findNames, alertSev []string
	var gotRec, gotFind, gotAlerts bool
	for _, s := range p.Sources {
		switch strings.ToLower(s.EventSource) {
		case "subassessments", "subassessmentssnapshot":
			if strings.EqualFold(s.EventSource, "SubAssessments") {
				c.SecurityFindings.Streaming = true
			} else {
				c.SecurityFindings.Snapshot = true
			}
			if !gotFind {
				gotFind = true
				for _, rs := range s.RuleSets {
					if len(rs.Rules) > 0 {
						v := rs.Rules[0].ExpectedValue
						findNames = appendNew(findNames, strings.TrimSuffix(strings.TrimPrefix(v, "/assessments/"), "/"))
					}
				}
			}
		case "assessments", "assessmentssnapshot":
			if strings.EqualFold(s.EventSource, "Assessments") {
				c.Recommendations.Streaming = true
			} else {
				c.Recommendations.Snapshot = true
			}
			if !gotRec {
				gotRec = true
				for _, rs := range s.RuleSets {
					for _, r := range rs.Rules {
						switch {
						case strings.EqualFold(r.PropertyJPath, "name"):
							recNames = appendNew(recNames, r.ExpectedValue)
						case strings.EqualFold(r.PropertyJPath, "properties.metadata.severity"):
							recSev = appendNew(recSev, r.ExpectedValue)
						}
					}
				}
			}
		case "alerts":
			c.Alerts.Streaming = true
			if !gotAlerts {
				gotAlerts = true
				for _, rs := range s.RuleSets {
					if len(rs.Rules) > 0 {
						alertSev = appendNew(alertSev, rs.Rules[0].ExpectedValue)
					}
				}
			}
		case "securescores":
			c.SecureScore.Streaming = true
		case "securescoressnapshot":
			c.SecureScore.Snapshot = true
		case "securescorecontrols", "securescorecontrolssnapshot":
			if strings.EqualFold(s.EventSource, "SecureScoreControls") {
				c.SecureScoreControls.Streaming = true
			} else {
				c.SecureScoreControls.Snapshot = true
			}
			c.SecureScoreControlNames = nil
			for _, rs := range s.RuleSets {
				if len(rs.Rules) > 0 {
					c.SecureScoreControlNames = appendNew(c.SecureScoreControlNames, rs.Rules[0].ExpectedValue)
				}
			}
		case "regulatorycomplianceassessment", "regulatorycomplianceassessmentsnapshot":
			if strings.EqualFold(s.EventSource, "RegulatoryComplianceAssessment") {
				c.RegulatoryCompliance.Streaming = true
			} else {
				c.RegulatoryCompliance.Snapshot = true
			}
			c.RegulatoryComplianceStandardNames = nil
			for _, rs := range s.RuleSets {
				if len(rs.Rules) > 0 {
					c.RegulatoryComplianceStandardNames = appendNew(c.RegulatoryComplianceStandardNames, rs.Rules[0].ExpectedValue)
				}
			}
		default:
			return fail("it exports %s, which this page does not offer", s.EventSource)
		}
	}
	switch {
	case gotRec:
		c.RecommendationNames = recNames
	case gotFind:
		c.RecommendationNames = findNames
	}
	if sev, err := canonicalSeverities("", recSev); err == nil && len(sev) > 0 {
		c.RecommendationSeverities = sev
	}
	if sev, err := canonicalSeverities("", alertSev); err == nil && len(sev) > 0 {
		c.AlertSeverities = sev
	}
	st.Choices = c

	// The form can show the automation only if it builds it back as it is.
	rebuilt := c
	if c.Target == TargetEventHub && !c.TrustedService {
		rebuilt.ConnectionString = "" // not returned; not compared
	}
	want, err := rebuilt.build()
	if err != nil {
		return fail("the form cannot hold it: %s", err.Error())
	}
	switch {
	case !p.IsEnabled:
		return fail("it is disabled, and the form saves enabled exports")
	case len(a.Tags) > 0:
		return fail("it has tags, which the form would drop")
	case p.Description != want.Properties.Description:
		return fail("its description (%q) is not the one the form writes", p.Description)
	case len(p.Scopes) != 1 || !strings.EqualFold(p.Scopes[0].ScopePath, want.Properties.Scopes[0].ScopePath) ||
		p.Scopes[0].Description != want.Properties.Scopes[0].Description:
		return fail("its scopes are not the whole subscription as the form sets them")
	case !sameSources(p.Sources, want.Properties.Sources):
		return fail("its sources and rules are not ones the form builds")
	}
	return st, nil
}

func appendNew(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// sameSources compares sources as the export engine reads them: enum
// values and expected values case-insensitively, a null rule set list as
// an empty one.
func sameSources(a, b []policySource) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i].EventSource, b[i].EventSource) || len(a[i].RuleSets) != len(b[i].RuleSets) {
			return false
		}
		for j := range a[i].RuleSets {
			ra, rb := a[i].RuleSets[j].Rules, b[i].RuleSets[j].Rules
			if len(ra) != len(rb) {
				return false
			}
			for k := range ra {
				if ra[k].PropertyJPath != rb[k].PropertyJPath || !strings.EqualFold(ra[k].PropertyType, rb[k].PropertyType) ||
					!strings.EqualFold(ra[k].ExpectedValue, rb[k].ExpectedValue) || !strings.EqualFold(ra[k].Operator, rb[k].Operator) {
					return false
				}
			}
		}
	}
	return true
}
