package latables

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Row is one row of a table. Values line up with Table.Columns; a nil value
// is a null. The Go types of the values are fixed per column type:
//
//	string   → string
//	int,long → int64
//	real     → float64
//	bool     → bool
//	datetime → time.Time (UTC)
//	dynamic  → json.RawMessage (the JSON as the event carried it)
type Row struct {
	Table  *Table
	Values []any
}

// Get returns the value of a column (nil when null or unknown).
func (r *Row) Get(name string) any {
	if i := r.Table.Index(name); i >= 0 {
		return r.Values[i]
	}
	return nil
}

func (r *Row) set(name string, v any) {
	i := r.Table.Index(name)
	if i < 0 {
		panic("latables: no column " + name + " in " + r.Table.Name) // mapping code below names only known columns
	}
	r.Values[i] = v
}

// str sets a string column; the empty string is stored as null.
func (r *Row) str(name, v string) {
	if v != "" {
		r.set(name, v)
	}
}

// raw sets a dynamic column; absent and JSON null are stored as null.
func (r *Row) raw(name string, v json.RawMessage) {
	if isNull(v) {
		return
	}
	r.set(name, compact(v))
}

// text sets a string column to the JSON text of a value (SecurityAlert's
// Entities, ExtendedLinks, ExtendedProperties and RemediationSteps are
// strings holding JSON).
func (r *Row) text(name string, v json.RawMessage) {
	if isNull(v) {
		return
	}
	r.set(name, string(compact(v)))
}

// compact returns v without insignificant whitespace (v itself when it
// has none), so stored JSON does not depend on how the event was printed.
func compact(v json.RawMessage) json.RawMessage {
	if bytes.IndexAny(v, " \t\r\n") < 0 {
		return v
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return v
	}
	return b.Bytes()
}

func (r *Row) time(name string, v string) {
	if t, ok := parseTime(v); ok {
		r.set(name, t)
	}
}

func isNull(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null"
}

func parseTime(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// Options tune Build.
type Options struct {
	// Now is the export time: TimeGenerated of every row except alerts
	// (which keep the alert's own TimeGenerated when it has one).
	Now time.Time
	// WorkspaceID fills TenantId (the column holds the workspace's
	// customer id); empty leaves it null.
	WorkspaceID string
}

// Build maps one exported event to its row. source is the event source
// (Alerts, AssessmentsSnapshot, …); body is the exact exported JSON.
// Property names are matched case-insensitively, so both the observed
// PascalCase and camelCase serializations map the same way.
func Build(source string, body []byte, opts Options) (*Row, error) {
	t, err := TableFor(source)
	if err != nil {
		return nil, err
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	r := &Row{Table: t, Values: make([]any, len(t.Columns))}
	snapshot := strings.HasSuffix(strings.ToLower(source), "snapshot")
	switch t {
	case alertTable:
		err = r.alert(body, opts)
	case recommendationTable:
		err = r.assessment(body, snapshot)
	case nestedTable:
		err = r.subAssessment(body, snapshot)
	case scoreTable:
		err = r.secureScore(body, snapshot)
	case controlTable:
		err = r.control(body, snapshot)
	case complianceTable:
		err = r.compliance(body, snapshot)
	}
	if err != nil {
		return nil, fmt.Errorf("latables: %s event to %s: %w", source, t.Name, err)
	}
	if r.Values[t.Index("TimeGenerated")] == nil {
		r.set("TimeGenerated", opts.Now.UTC())
	}
	r.set("Type", t.Name)
	if opts.WorkspaceID != "" {
		r.set("TenantId", opts.WorkspaceID)
	}
	return r, nil
}

// ---- envelopes ----

// envelope is the enrichment object of ARM-shaped events (any casing).
type envelope struct {
	Action     string `json:"action"`
	IsSnapshot bool   `json:"isSnapshot"`
}

// armEvent is the common shape of the ARM-style events: the envelope
// objects and the record. encoding/json matches names case-insensitively.
type armEvent struct {
	Security      *envelope       `json:"securityEventDataEnrichment"`
	Assessment    *envelope       `json:"assessmentEventDataEnrichment"`
	SubAssessment *envelope       `json:"subAssessmentEventDataEnrichment"`
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Type          string          `json:"type"`
	Properties    json.RawMessage `json:"properties"`
}

func (e *armEvent) env() envelope {
	for _, x := range []*envelope{e.Security, e.Assessment, e.SubAssessment} {
		if x != nil {
			return *x
		}
	}
	return envelope{}
}

func (e *armEvent) removed() bool { return strings.EqualFold(e.env().Action, "Delete") }

func decodeARM(body []byte, props any) (*armEvent, error) {
	e := &armEvent{}
	if err := json.Unmarshal(body, e); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	if e.ID == "" {
		return nil, fmt.Errorf("event has no id")
	}
	if !isNull(e.Properties) {
		if err := json.Unmarshal(e.Properties, props); err != nil {
			return nil, fmt.Errorf("decode properties of %s: %w", e.ID, err)
		}
	}
	return e, nil
}

// resourceFacts are what the system columns and the *SubscriptionId
// columns say about the resource a record is about.
type resourceFacts struct {
	subscription  string
	resourceGroup string
	providerType  string
}

// factsOf reads a resource ID leniently (real subscription ids are not
// always GUIDs in captured events): the subscription and resource group
// segments, and the type of the innermost provider resource.
func factsOf(resourceID string) resourceFacts {
	var f resourceFacts
	segs := strings.Split(strings.Trim(resourceID, "/"), "/")
	last := -1
	for i := 0; i+1 < len(segs); i++ {
		switch strings.ToLower(segs[i]) {
		case "subscriptions":
			if f.subscription == "" && i == 0 {
				f.subscription = segs[i+1]
			}
		case "resourcegroups":
			if f.resourceGroup == "" && i == 2 {
				f.resourceGroup = segs[i+1]
			}
		case "providers":
			last = i
		}
	}
	if last >= 0 && last+2 < len(segs) {
		parts := []string{segs[last+1]}
		for j := last + 2; j < len(segs); j += 2 {
			parts = append(parts, segs[j])
		}
		f.providerType = strings.Join(parts, "/")
	}
	return f
}

// ---- SecurityAlert ----

type alertBody struct {
	AlertType               string          `json:"AlertType"`
	AlertDisplayName        string          `json:"AlertDisplayName"`
	AlertURI                string          `json:"AlertUri"`
	Severity                string          `json:"Severity"`
	CompromisedEntity       string          `json:"CompromisedEntity"`
	Description             string          `json:"Description"`
	SystemAlertID           string          `json:"SystemAlertId"`
	VendorName              string          `json:"VendorName"`
	ProductName             string          `json:"ProductName"`
	IsIncident              bool            `json:"IsIncident"`
	ConfidenceLevel         *string         `json:"ConfidenceLevel"`
	ConfidenceScore         *float64        `json:"ConfidenceScore"`
	StartTimeUTC            string          `json:"StartTimeUtc"`
	EndTimeUTC              string          `json:"EndTimeUtc"`
	TimeGenerated           string          `json:"TimeGenerated"`
	ProcessingEndTime       string          `json:"ProcessingEndTime"`
	Status                  string          `json:"Status"`
	Intent                  string          `json:"Intent"`
	AzureResourceID         string          `json:"AzureResourceId"`
	WorkspaceSubscriptionID *string         `json:"WorkspaceSubscriptionId"`
	WorkspaceResourceGroup  *string         `json:"WorkspaceResourceGroup"`
	AgentID                 string          `json:"AgentId"`
	Entities                json.RawMessage `json:"Entities"`
	ExtendedLinks           json.RawMessage `json:"ExtendedLinks"`
	ExtendedProperties      json.RawMessage `json:"ExtendedProperties"`
	RemediationSteps        json.RawMessage `json:"RemediationSteps"`
	ProductComponentName    string          `json:"ProductComponentName"`
	Techniques              []string        `json:"Techniques"`
	SubTechniques           []string        `json:"SubTechniques"`
}

// Constant columns.
const (
	// AlertProviderName is SecurityAlert.ProviderName for Defender for
	// Cloud alerts.
	AlertProviderName = "Azure Security Center"
	// RecommendationProviderName is SecurityRecommendation.ProviderName.
	RecommendationProviderName = "AzureSecurityCenter"
	// AlertSourceSystem is SecurityAlert.SourceSystem ("Detection").
	AlertSourceSystem = "Detection"
	// SourceSystem is the SourceSystem of the other tables ("Security").
	SourceSystem = "Security"
	// StateRemoved is RecommendationState for a deleted assessment or
	// finding (an event with action Delete).
	StateRemoved = "Removed"
)

func (r *Row) alert(body []byte, opts Options) error {
	var a alertBody
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("decode alert: %w", err)
	}
	if a.SystemAlertID == "" && a.AlertType == "" {
		return fmt.Errorf("alert has neither SystemAlertId nor AlertType")
	}
	r.str("AlertLink", a.AlertURI)
	r.str("AlertName", a.AlertDisplayName)
	r.str("DisplayName", a.AlertDisplayName)
	r.str("AlertSeverity", a.Severity)
	r.str("AlertType", a.AlertType)
	r.str("CompromisedEntity", a.CompromisedEntity)
	if a.ConfidenceLevel != nil {
		r.str("ConfidenceLevel", *a.ConfidenceLevel)
	}
	if a.ConfidenceScore != nil {
		r.set("ConfidenceScore", *a.ConfidenceScore)
	}
	r.str("Description", a.Description)
	r.time("StartTime", a.StartTimeUTC)
	r.time("EndTime", a.EndTimeUTC)
	r.time("ProcessingEndTime", a.ProcessingEndTime)
	r.time("TimeGenerated", a.TimeGenerated)
	r.text("Entities", a.Entities)
	r.text("ExtendedLinks", a.ExtendedLinks)
	r.text("ExtendedProperties", a.ExtendedProperties)
	r.text("RemediationSteps", a.RemediationSteps)
	r.set("IsIncident", a.IsIncident)
	component := a.ProductComponentName
	if component == "" && !isNull(a.ExtendedProperties) {
		var ext map[string]any
		if json.Unmarshal(a.ExtendedProperties, &ext) == nil {
			if s, ok := ext["ProductComponentName"].(string); ok {
				component = s
			}
		}
	}
	r.str("ProductComponentName", component)
	r.str("ProductName", a.ProductName)
	r.set("ProviderName", AlertProviderName)
	r.str("ResourceId", a.AzureResourceID)
	r.str("SourceComputerId", a.AgentID)
	r.str("Status", a.Status)
	r.str("SystemAlertId", a.SystemAlertID)
	r.str("VendorOriginalId", a.SystemAlertID)
	r.str("Tactics", a.Intent)
	r.str("Techniques", strings.Join(a.Techniques, ", "))
	r.str("SubTechniques", strings.Join(a.SubTechniques, ", "))
	r.str("VendorName", a.VendorName)
	if a.WorkspaceResourceGroup != nil {
		r.str("WorkspaceResourceGroup", *a.WorkspaceResourceGroup)
	}
	if a.WorkspaceSubscriptionID != nil {
		r.str("WorkspaceSubscriptionId", *a.WorkspaceSubscriptionID)
	}
	r.set("SourceSystem", AlertSourceSystem)
	return nil
}

// ---- SecurityRecommendation ----

type assessmentProps struct {
	ResourceDetails struct {
		Source string `json:"source"`
		ID     string `json:"id"`
	} `json:"resourceDetails"`
	DisplayName string `json:"displayName"`
	Status      struct {
		Code                string `json:"code"`
		Cause               string `json:"cause"`
		Description         string `json:"description"`
		StatusChangeDate    string `json:"statusChangeDate"`
		FirstEvaluationDate string `json:"firstEvaluationDate"`
	} `json:"status"`
	AdditionalData json.RawMessage `json:"additionalData"`
	Metadata       struct {
		DisplayName            string `json:"displayName"`
		PolicyDefinitionID     string `json:"policyDefinitionId"`
		Description            string `json:"description"`
		RemediationDescription string `json:"remediationDescription"`
		Severity               string `json:"severity"`
	} `json:"metadata"`
}

func (r *Row) assessment(body []byte, snapshot bool) error {
	var p assessmentProps
	e, err := decodeARM(body, &p)
	if err != nil {
		return err
	}
	assessed := p.ResourceDetails.ID
	if assessed == "" {
		assessed = parentOf(e.ID, "/providers/Microsoft.Security/assessments/")
	}
	r.str("AssessedResourceId", assessed)
	r.str("Description", p.Metadata.Description)
	r.str("Environment", p.ResourceDetails.Source)
	r.time("FirstEvaluationDate", p.Status.FirstEvaluationDate)
	r.time("DiscoveredTimeUTC", p.Status.FirstEvaluationDate)
	r.time("StatusChangeDate", p.Status.StatusChangeDate)
	r.set("IsSnapshot", snapshot || e.env().IsSnapshot)
	r.str("PolicyDefinitionId", p.Metadata.PolicyDefinitionID)
	r.raw("Properties", e.Properties)
	r.set("ProviderName", RecommendationProviderName)
	r.raw("RecommendationAdditionalData", p.AdditionalData)
	name := p.DisplayName
	if name == "" {
		name = p.Metadata.DisplayName
	}
	r.str("RecommendationDisplayName", name)
	r.str("RecommendationName", name)
	r.str("RecommendationId", e.Name)
	r.str("RecommendationSeverity", p.Metadata.Severity)
	state := p.Status.Code
	if e.removed() {
		state = StateRemoved
	}
	r.str("RecommendationState", state)
	if strings.EqualFold(p.Status.Code, "Healthy") {
		r.time("ResolvedTimeUTC", p.Status.StatusChangeDate)
	}
	r.set("SourceSystem", SourceSystem)
	r.str("RemediationDescription", p.Metadata.RemediationDescription)
	if strings.EqualFold(p.Status.Code, "NotApplicable") {
		reason := p.Status.Cause
		if reason == "" {
			reason = p.Status.Description
		}
		r.str("NotApplicableReason", reason)
	}
	return nil
}

// parentOf returns the part of id before marker (case-insensitive), or "".
func parentOf(id, marker string) string {
	if i := strings.Index(strings.ToLower(id), strings.ToLower(marker)); i > 0 {
		return id[:i]
	}
	return ""
}

// segmentAfter returns the path segment following marker in id
// (case-insensitive), or "".
func segmentAfter(id, marker string) string {
	i := strings.Index(strings.ToLower(id), strings.ToLower(marker))
	if i < 0 {
		return ""
	}
	rest := id[i+len(marker):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// ---- SecurityNestedRecommendation ----

type subAssessmentProps struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Status      struct {
		Code     string `json:"code"`
		Cause    string `json:"cause"`
		Severity string `json:"severity"`
	} `json:"status"`
	Remediation     string          `json:"remediation"`
	Impact          string          `json:"impact"`
	Category        string          `json:"category"`
	Description     string          `json:"description"`
	TimeGenerated   string          `json:"timeGenerated"`
	ResourceDetails json.RawMessage `json:"resourceDetails"`
	AdditionalData  json.RawMessage `json:"additionalData"`
}

// RecommendationLink builds the portal link of an assessment on a resource,
// in the form continuous export uses in assessment links.
func RecommendationLink(assessmentKey, resourceID string) string {
	if assessmentKey == "" {
		return ""
	}
	link := "https://portal.azure.com/#blade/Microsoft_Azure_Security/RecommendationsBlade/assessmentKey/" + assessmentKey
	if resourceID != "" {
		link += "/resourceId/" + strings.ReplaceAll(url.PathEscape(resourceID), "%2F", "%2f")
	}
	return link
}

func (r *Row) subAssessment(body []byte, snapshot bool) error {
	var p subAssessmentProps
	e, err := decodeARM(body, &p)
	if err != nil {
		return err
	}
	var details struct {
		ID string `json:"id"`
	}
	if !isNull(p.ResourceDetails) {
		_ = json.Unmarshal(p.ResourceDetails, &details)
	}
	assessed := details.ID
	if assessed == "" {
		assessed = parentOf(e.ID, "/providers/Microsoft.Security/assessments/")
	}
	parent := segmentAfter(e.ID, "/providers/Microsoft.Security/assessments/")
	f := factsOf(assessed)
	r.raw("AdditionalData", p.AdditionalData)
	r.str("AssessedResourceId", assessed)
	r.str("Category", p.Category)
	r.str("Cause", p.Status.Cause)
	r.str("Description", p.Description)
	r.str("Id", e.ID)
	r.str("Impact", p.Impact)
	r.set("IsSnapshot", snapshot || e.env().IsSnapshot)
	r.str("NestedRecommendationId", e.Name)
	r.str("ParentRecommendationId", parent)
	r.str("RecommendationLink", RecommendationLink(parent, assessed))
	r.str("RecommendationName", p.DisplayName)
	r.str("RecommendationSeverity", p.Status.Severity)
	state := p.Status.Code
	if e.removed() {
		state = StateRemoved
	}
	r.str("RecommendationState", state)
	r.str("RecommendationSubscriptionId", f.subscription)
	r.str("RemediationDescription", p.Remediation)
	r.str("RemidiationDescription", p.Remediation)
	r.raw("ResourceDetails", p.ResourceDetails)
	r.str("ResourceGroup", f.resourceGroup)
	r.str("_ResourceId", assessed)
	r.str("ResourceProviderType", f.providerType)
	r.set("SourceSystem", SourceSystem)
	r.time("SubAssessmentTimeGeneration", p.TimeGenerated)
	r.str("_SubscriptionId", f.subscription)
	r.str("VulnerabilityId", p.ID)
	return nil
}

// ---- SecureScores ----

type scoreDetails struct {
	Max        float64 `json:"max"`
	Current    float64 `json:"current"`
	Percentage float64 `json:"percentage"`
}

type secureScoreProps struct {
	DisplayName string       `json:"displayName"`
	Score       scoreDetails `json:"score"`
	Weight      int64        `json:"weight"`
}

// scopeResource is the resource a score or compliance record is about: its
// subscription.
func scopeResource(id string) (string, resourceFacts) {
	f := factsOf(id)
	if f.subscription == "" {
		return "", f
	}
	return "/subscriptions/" + f.subscription, f
}

func (r *Row) secureScore(body []byte, snapshot bool) error {
	var p secureScoreProps
	e, err := decodeARM(body, &p)
	if err != nil {
		return err
	}
	scope, f := scopeResource(e.ID)
	r.str("AssessedResourceId", e.ID)
	r.set("CurrentScore", p.Score.Current)
	r.str("DisplayName", p.DisplayName)
	r.set("Environment", "Azure")
	r.set("IsSnapshot", snapshot || e.env().IsSnapshot)
	r.set("MaxScore", int64(p.Score.Max))
	r.set("PercentageScore", p.Score.Percentage)
	r.raw("Properties", e.Properties)
	r.str("_ResourceId", scope)
	r.str("ResourceProviderType", e.Type)
	r.str("SecureScoresSubscriptionId", f.subscription)
	r.set("SourceSystem", SourceSystem)
	r.str("_SubscriptionId", f.subscription)
	r.set("Weight", p.Weight)
	return nil
}

// ---- SecureScoreControls ----

type controlProps struct {
	DisplayName                string       `json:"displayName"`
	HealthyResourceCount       int64        `json:"healthyResourceCount"`
	UnhealthyResourceCount     int64        `json:"unhealthyResourceCount"`
	NotApplicableResourceCount int64        `json:"notApplicableResourceCount"`
	Score                      scoreDetails `json:"score"`
	Weight                     int64        `json:"weight"`
	Description                string       `json:"description"`
	Definition                 *struct {
		Properties struct {
			Source struct {
				SourceType string `json:"sourceType"`
			} `json:"source"`
			Description           string          `json:"description"`
			AssessmentDefinitions json.RawMessage `json:"assessmentDefinitions"`
		} `json:"properties"`
	} `json:"definition"`
}

func (r *Row) control(body []byte, snapshot bool) error {
	var p controlProps
	e, err := decodeARM(body, &p)
	if err != nil {
		return err
	}
	scope, f := scopeResource(e.ID)
	r.str("AssessedResourceId", e.ID)
	r.str("ControlId", e.Name)
	r.str("ControlName", p.DisplayName)
	desc := p.Description
	if d := p.Definition; d != nil {
		r.str("ControlType", d.Properties.Source.SourceType)
		r.raw("RecommendationResourceIds", d.Properties.AssessmentDefinitions)
		if desc == "" {
			desc = d.Properties.Description
		}
	}
	r.str("Description", desc)
	r.set("CurrentScore", p.Score.Current)
	r.set("Environment", "Azure")
	r.set("HealthyResources", p.HealthyResourceCount)
	r.set("UnhealthyResources", p.UnhealthyResourceCount)
	r.set("NotApplicableResources", p.NotApplicableResourceCount)
	r.set("IsSnapshot", snapshot || e.env().IsSnapshot)
	r.set("MaxScore", int64(p.Score.Max))
	r.set("PercentageScore", p.Score.Percentage)
	r.raw("Properties", e.Properties)
	r.str("_ResourceId", scope)
	r.str("ResourceProviderType", e.Type)
	r.str("SecureScoresSubscriptionId", f.subscription)
	r.set("SourceSystem", SourceSystem)
	r.str("_SubscriptionId", f.subscription)
	r.set("Weight", p.Weight)
	return nil
}

// ---- SecurityRegulatoryCompliance ----

type complianceProps struct {
	Description           string `json:"description"`
	State                 string `json:"state"`
	PassedResources       int64  `json:"passedResources"`
	FailedResources       int64  `json:"failedResources"`
	SkippedResources      int64  `json:"skippedResources"`
	AssessmentDetailsLink string `json:"assessmentDetailsLink"`
}

func (r *Row) compliance(body []byte, snapshot bool) error {
	var p complianceProps
	e, err := decodeARM(body, &p)
	if err != nil {
		return err
	}
	scope, f := scopeResource(e.ID)
	r.str("AssessedResourceId", e.ID)
	r.str("ComplianceStandard", segmentAfter(e.ID, "/regulatoryComplianceStandards/"))
	r.str("ComplianceControl", segmentAfter(e.ID, "/regulatoryComplianceControls/"))
	r.set("FailedResources", p.FailedResources)
	r.set("PassedResources", p.PassedResources)
	r.set("SkippedResources", p.SkippedResources)
	r.set("IsSnapshot", snapshot || e.env().IsSnapshot)
	r.raw("Properties", e.Properties)
	r.str("RecommendationId", e.Name)
	r.str("RecommendationLink", p.AssessmentDetailsLink)
	r.str("RecommendationName", p.Description)
	r.str("RegulatoryComplianceSubscriptionId", f.subscription)
	r.str("_ResourceId", scope)
	r.str("ResourceProviderType", e.Type)
	r.set("SourceSystem", SourceSystem)
	r.str("State", p.State)
	r.str("_SubscriptionId", f.subscription)
	return nil
}
