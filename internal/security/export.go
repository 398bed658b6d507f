package security

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"sluice/internal/armid"
)

// This file builds the exact JSON bodies continuous export sends. Every body
// is built from ordered structs (or Objects) so that key order is
// deterministic and matches the captured samples; HTML characters are not
// escaped, as Json.NET does not escape them.

// enrichment is the envelope object of ARM-shaped events.
type enrichment struct {
	Action     Action `json:"action"`
	APIVersion string `json:"apiVersion"`
	IsSnapshot bool   `json:"isSnapshot"`
	Interval   string `json:"interval,omitempty"`
}

func checkAction(action Action, allowed ...Action) error {
	for _, a := range allowed {
		if action == a {
			return nil
		}
	}
	return fmt.Errorf("security: action %q is not valid here (want one of %v)", action, allowed)
}

// ---- Alerts ----

type alertEvent struct {
	VendorName              string          `json:"VendorName"`
	AlertType               string          `json:"AlertType"`
	ProductName             string          `json:"ProductName"`
	StartTimeUtc            *Time           `json:"StartTimeUtc"`
	EndTimeUtc              *Time           `json:"EndTimeUtc"`
	TimeGenerated           *Time           `json:"TimeGenerated"`
	ProcessingEndTime       *Time           `json:"ProcessingEndTime"`
	Severity                string          `json:"Severity"`
	Status                  string          `json:"Status"`
	ProviderAlertStatus     *string         `json:"ProviderAlertStatus"`
	ConfidenceLevel         *string         `json:"ConfidenceLevel"`
	ConfidenceScore         json.RawMessage `json:"ConfidenceScore"`
	ConfidenceReasons       []string        `json:"ConfidenceReasons"`
	IsIncident              bool            `json:"IsIncident"`
	SystemAlertId           string          `json:"SystemAlertId"`
	CorrelationKey          *string         `json:"CorrelationKey"`
	Intent                  string          `json:"Intent"`
	AzureResourceId         string          `json:"AzureResourceId"`
	WorkspaceId             *string         `json:"WorkspaceId"`
	WorkspaceSubscriptionId *string         `json:"WorkspaceSubscriptionId"`
	WorkspaceResourceGroup  string          `json:"WorkspaceResourceGroup"`
	AgentId                 string          `json:"AgentId"`
	CompromisedEntity       string          `json:"CompromisedEntity"`
	AlertDisplayName        string          `json:"AlertDisplayName"`
	Description             string          `json:"Description"`
	Entities                []any           `json:"Entities"`
	ExtendedLinks           []ExtendedLink  `json:"ExtendedLinks"`
	RemediationSteps        []string        `json:"RemediationSteps"`
	ExtendedProperties      StringMap       `json:"ExtendedProperties"`
	ResourceIdentifiers     []Object        `json:"ResourceIdentifiers"`
	AlertUri                string          `json:"AlertUri"`
}

// ExportAlertStatus maps a REST alert status to the exported one (Active
// exports as New; the others are unchanged).
func ExportAlertStatus(status string) string {
	if status == "" || strings.EqualFold(status, "Active") {
		return "New"
	}
	return status
}

// resourceTypeNames are the display names the service writes into
// ExtendedProperties.resourceType.
var resourceTypeNames = map[string]string{
	"microsoft.compute/virtualmachines":           "Virtual Machine",
	"microsoft.compute/virtualmachinescalesets":   "Virtual Machine Scale Set",
	"microsoft.hybridcompute/machines":            "Azure Arc Machine",
	"microsoft.containerservice/managedclusters":  "Kubernetes Service",
	"microsoft.containerregistry/registries":      "Container Registry",
	"microsoft.web/sites":                         "App Service",
	"microsoft.storage/storageaccounts":           "Storage Account",
	"microsoft.sql/servers":                       "SQL Server",
	"microsoft.sql/servers/databases":             "SQL Database",
	"microsoft.keyvault/vaults":                   "Key Vault",
	"microsoft.documentdb/databaseaccounts":       "Azure Cosmos DB",
	"microsoft.network/dnszones":                  "DNS",
	"microsoft.dbforpostgresql/flexibleservers":   "Azure Database for PostgreSQL",
	"microsoft.dbformysql/flexibleservers":        "Azure Database for MySQL",
	"microsoft.apimanagement/service":             "API Management",
	"microsoft.operationalinsights/workspaces":    "Log Analytics Workspace",
	"microsoft.resources/subscriptions":           "Subscription",
	"microsoft.resources/subscriptions/resources": "Subscription",
}

// ResourceTypeDisplayName returns the display name of the type of an ARM
// resource ID ("Virtual Machine", "Kubernetes Service", …; "Subscription"
// for a subscription scope), falling back to the last type segment.
func ResourceTypeDisplayName(resourceID string) string {
	id, err := armid.Parse(resourceID)
	if err != nil {
		return ""
	}
	return resourceTypeDisplayName(id)
}

// resourceTypeDisplayName is ResourceTypeDisplayName of a parsed ID.
func resourceTypeDisplayName(id *armid.ID) string {
	if !id.IsResource() {
		if id.ResourceGroup != "" {
			return "Resource Group"
		}
		return "Subscription"
	}
	// The lower-case type, built on the stack for the map lookup.
	var buf [128]byte
	t := append(buf[:0], id.Namespace...)
	for _, typ := range id.Types {
		t = append(append(t, '/'), typ...)
	}
	if n, ok := resourceTypeNames[lowerASCII(t)]; ok {
		return n
	} else if !isASCII(t) {
		if n, ok := resourceTypeNames[strings.ToLower(string(t))]; ok {
			return n
		}
	}
	return id.Types[len(id.Types)-1]
}

// lowerASCII lower-cases the ASCII letters of b in place and returns the
// result as a string for a map lookup (no copy when used as a map key).
func lowerASCII(b []byte) string {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// refWriter numbers objects the way Json.NET's reference handling does:
// every entity object gets a "$id", and a repeat of an entity already
// written becomes {"$ref": id}. Numbering starts at 2 (1 is the alert).
type refWriter struct {
	next  int
	seen  map[string]string // canonical entity -> output id
	inIDs map[string]string // producer "$id" -> output id
}

func newRefWriter() *refWriter {
	return &refWriter{next: 1, seen: map[string]string{}, inIDs: map[string]string{}}
}

func (w *refWriter) newID() string {
	w.next++
	return strconv.Itoa(w.next)
}

// value converts one value of an entity: objects get PascalCase keys,
// entity objects (those with a type) get "$id" and trailing Asset/Type.
func (w *refWriter) value(v any) any {
	switch t := v.(type) {
	case Object:
		return w.object(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = w.value(e)
		}
		return out
	}
	return v
}

func (w *refWriter) object(o Object) any {
	if ref, ok := o.Get("$ref"); ok && len(o) == 1 {
		s := fmt.Sprint(ref)
		if id, ok := w.inIDs[s]; ok {
			s = id
		}
		return Object{{Key: "$ref", Value: s}}
	}
	typ, isEntity := o.Get("type")
	if !isEntity {
		out := make(Object, 0, len(o))
		for _, m := range o {
			out = append(out, Member{pascal(m.Key), w.value(m.Value)})
		}
		return out
	}
	inID, _ := o.Get("$id")
	key := canonicalKey(o)
	if id, ok := w.seen[key]; ok {
		if inID != nil {
			w.inIDs[fmt.Sprint(inID)] = id
		}
		return Object{{Key: "$ref", Value: id}}
	}
	id := w.newID()
	w.seen[key] = id
	if inID != nil {
		w.inIDs[fmt.Sprint(inID)] = id
	}
	out := Object{{Key: "$id", Value: id}}
	var asset any = false
	for _, m := range o {
		switch strings.ToLower(m.Key) {
		case "$id":
		case "asset":
			asset = m.Value
		case "type":
		default:
			out = append(out, Member{pascal(m.Key), w.value(m.Value)})
		}
	}
	return append(out, Member{"Asset", asset}, Member{"Type", typ})
}

// AlertEvent returns the body continuous export sends for an alert: the
// PascalCase canonical alert schema (no envelope), built from the REST
// record. tenantID fills the AzureResourceTenantId and AAD resource
// identifiers. Status Active exports as New; ExtendedProperties gains
// resourceType, EffectiveAzureResourceId, CompromisedEntity,
// ProductComponentName and EffectiveSubscriptionId when absent.
func AlertEvent(a *Alert, tenantID string) ([]byte, error) {
	ev := newAlertEvent(a, tenantID)
	if b, ok := ev.appendJSON(make([]byte, 0, 4096)); ok {
		return b, nil
	}
	return marshal(ev)
}

// newAlertEvent builds the event of AlertEvent.
func newAlertEvent(a *Alert, tenantID string) *alertEvent {
	p := &a.Properties
	ev := alertEvent{
		VendorName:        p.VendorName,
		AlertType:         p.AlertType,
		ProductName:       p.ProductName,
		StartTimeUtc:      p.StartTimeUTC,
		EndTimeUtc:        p.EndTimeUTC,
		TimeGenerated:     p.TimeGeneratedUTC,
		ProcessingEndTime: p.ProcessingEndTimeUTC,
		Severity:          p.Severity,
		Status:            ExportAlertStatus(p.Status),
		ConfidenceScore:   json.RawMessage("0.0"),
		IsIncident:        p.IsIncident,
		SystemAlertId:     p.SystemAlertID,
		Intent:            p.Intent,
		AzureResourceId:   a.AzureResourceID(),
		CompromisedEntity: p.CompromisedEntity,
		AlertDisplayName:  p.AlertDisplayName,
		Description:       p.Description,
		ExtendedLinks:     p.ExtendedLinks,
		RemediationSteps:  p.RemediationSteps,
		AlertUri:          p.AlertURI,
	}
	if ev.VendorName == "" {
		ev.VendorName = "Microsoft"
	}
	if ev.RemediationSteps == nil {
		ev.RemediationSteps = []string{}
	}
	if p.CorrelationKey != "" {
		ev.CorrelationKey = &p.CorrelationKey
	}
	w := newRefWriter()
	var azure, workspaces []Object
	for _, r := range p.ResourceIdentifiers {
		switch r.Type {
		case "AzureResource":
			azure = append(azure, Object{{"$id", w.newID()}, {"AzureResourceId", r.AzureResourceID},
				{"Type", "AzureResource"}, {"AzureResourceTenantId", tenantID}})
		case "LogAnalytics":
			if ev.WorkspaceId == nil {
				ws, sub := r.WorkspaceID, r.WorkspaceSubscriptionID
				ev.WorkspaceId, ev.WorkspaceSubscriptionId = &ws, &sub
				ev.WorkspaceResourceGroup, ev.AgentId = r.WorkspaceResourceGroup, r.AgentID
			}
			workspaces = append(workspaces, Object{{"WorkspaceId", r.WorkspaceID},
				{"WorkspaceSubscriptionId", r.WorkspaceSubscriptionID}, {"WorkspaceResourceGroup", r.WorkspaceResourceGroup},
				{"AgentId", r.AgentID}, {"Type", "LogAnalytics"}})
		}
	}
	ev.ResourceIdentifiers = azure
	if tenantID != "" {
		ev.ResourceIdentifiers = append(ev.ResourceIdentifiers, Object{{"$id", w.newID()}, {"AadTenantId", tenantID}, {"Type", "AAD"}})
	}
	for _, ws := range workspaces {
		ev.ResourceIdentifiers = append(ev.ResourceIdentifiers, append(Object{{"$id", w.newID()}}, ws...))
	}
	if ev.ResourceIdentifiers == nil {
		ev.ResourceIdentifiers = []Object{}
	}
	ev.Entities = make([]any, len(p.Entities))
	for i, e := range p.Entities {
		ev.Entities[i] = w.object(e)
	}
	ev.ExtendedProperties = append(StringMap{}, p.ExtendedProperties...)
	addIfAbsent := func(k, v string) {
		if _, ok := ev.ExtendedProperties.Get(k); !ok && v != "" {
			ev.ExtendedProperties = append(ev.ExtendedProperties, StringPair{k, v})
		}
	}
	rid := ev.AzureResourceId
	id, err := armid.Parse(rid)
	typeName := ""
	if err == nil {
		typeName = resourceTypeDisplayName(id)
	}
	addIfAbsent("resourceType", typeName)
	addIfAbsent("EffectiveAzureResourceId", rid)
	addIfAbsent("CompromisedEntity", p.CompromisedEntity)
	addIfAbsent("ProductComponentName", p.ProductComponentName)
	if err == nil {
		addIfAbsent("EffectiveSubscriptionId", id.Subscription)
	}
	return &ev
}

// AlertRuleExtras returns the alert fields that export rules may reference
// but that are not part of the exported body: the service evaluates rules
// against its internal alert model, where ProductComponentName is top-level
// and Version is "3.0" (Microsoft's policies use `Version Contains "3."` as
// a match-all). A rule engine should resolve a path against the exported
// body first and fall back to this document.
func AlertRuleExtras(a *Alert) map[string]any {
	p := &a.Properties
	techniques := append([]string{}, p.Techniques...)
	sub := append([]string{}, p.SubTechniques...)
	return map[string]any{
		"ProductComponentName": p.ProductComponentName,
		"Version":              "3.0",
		"Techniques":           techniques,
		"SubTechniques":        sub,
		"ResourceType":         ResourceTypeDisplayName(a.AzureResourceID()),
	}
}

// ---- Assessments ----

type assessmentEvent struct {
	AssessmentEnrichment enrichment            `json:"assessmentEventDataEnrichment"`
	SecurityEnrichment   enrichment            `json:"securityEventDataEnrichment"`
	TenantID             string                `json:"tenantId"`
	Type                 string                `json:"type"`
	Kind                 *string               `json:"kind"`
	Location             *string               `json:"location"`
	ID                   string                `json:"id"`
	Name                 string                `json:"name"`
	Tags                 *map[string]string    `json:"tags"`
	Properties           assessmentEventFields `json:"properties"`
}

type assessmentEventFields struct {
	ResourceDetails ResourceDetails          `json:"resourceDetails"`
	DisplayName     string                   `json:"displayName"`
	Status          assessmentEventStatus    `json:"status"`
	AdditionalData  StringMap                `json:"additionalData,omitzero"`
	Metadata        *assessmentEventMetadata `json:"metadata,omitempty"`
	Links           assessmentEventLinks     `json:"links"`
}

type assessmentEventStatus struct {
	Code                StatusCode `json:"code"`
	Cause               string     `json:"cause,omitempty"`
	Description         string     `json:"description,omitempty"`
	StatusChangeDate    *Time      `json:"statusChangeDate,omitempty"`
	FirstEvaluationDate *Time      `json:"firstEvaluationDate,omitempty"`
}

type assessmentEventMetadata struct {
	DisplayName            string   `json:"displayName"`
	AssessmentType         string   `json:"assessmentType"`
	PolicyDefinitionID     string   `json:"policyDefinitionId,omitempty"`
	Description            string   `json:"description,omitempty"`
	RemediationDescription string   `json:"remediationDescription,omitempty"`
	Categories             []string `json:"categories"`
	Severity               string   `json:"severity"`
	UserImpact             string   `json:"userImpact,omitempty"`
	ImplementationEffort   string   `json:"implementationEffort,omitempty"`
	Threats                []string `json:"threats"`
}

type assessmentEventLinks struct {
	AzurePortal string `json:"azurePortal"`
}

// AssessmentEvent returns the body continuous export sends for an
// assessment: the 2019-01-01 shape with both enrichment envelopes,
// tenantId, null kind/location/tags, metadata threats in PascalCase and
// links.azurePortal without a scheme. action is ActionInsert or
// ActionDelete (pass the last stored record for a Delete); snapshot marks
// the weekly snapshot stream. Partner secrets are never included.
func AssessmentEvent(a *Assessment, tenantID string, action Action, snapshot bool) ([]byte, error) {
	var ev assessmentEvent
	if err := ev.fill(a, tenantID, action, snapshot); err != nil {
		return nil, err
	}
	return ev.appendJSON(make([]byte, 0, 512+a.textSize())), nil
}

// newAssessmentEvent builds the event of AssessmentEvent.
func newAssessmentEvent(a *Assessment, tenantID string, action Action, snapshot bool) (*assessmentEvent, error) {
	ev := &assessmentEvent{}
	if err := ev.fill(a, tenantID, action, snapshot); err != nil {
		return nil, err
	}
	return ev, nil
}

// fill sets ev to the event of AssessmentEvent (AssessmentEvent keeps it
// on the stack).
func (ev *assessmentEvent) fill(a *Assessment, tenantID string, action Action, snapshot bool) error {
	if err := checkAction(action, ActionInsert, ActionDelete); err != nil {
		return err
	}
	env := enrichment{Action: action, APIVersion: APIVersionAssessmentEvent, IsSnapshot: snapshot}
	p := &a.Properties
	*ev = assessmentEvent{
		AssessmentEnrichment: env,
		SecurityEnrichment:   env,
		TenantID:             tenantID,
		Type:                 TypeAssessment,
		ID:                   a.ID,
		Name:                 a.Name,
		Properties: assessmentEventFields{
			ResourceDetails: p.ResourceDetails,
			DisplayName:     p.DisplayName,
			Status: assessmentEventStatus{
				Code: p.Status.Code, Cause: p.Status.Cause, Description: p.Status.Description,
				StatusChangeDate: p.Status.StatusChangeDate, FirstEvaluationDate: p.Status.FirstEvaluationDate,
			},
			AdditionalData: p.AdditionalData,
		},
	}
	if m := p.Metadata; m != nil {
		threats := make([]string, len(m.Threats))
		for i, t := range m.Threats {
			threats[i] = pascal(t)
		}
		cats := m.Categories
		if cats == nil {
			cats = []string{}
		}
		ev.Properties.Metadata = &assessmentEventMetadata{
			DisplayName: m.DisplayName, AssessmentType: m.AssessmentType, PolicyDefinitionID: m.PolicyDefinitionID,
			Description: m.Description, RemediationDescription: m.RemediationDescription, Categories: cats,
			Severity: m.Severity, UserImpact: m.UserImpact, ImplementationEffort: m.ImplementationEffort, Threats: threats,
		}
		if ev.Properties.DisplayName == "" {
			ev.Properties.DisplayName = m.DisplayName
		}
	}
	link := ""
	if p.Links != nil {
		link = p.Links.AzurePortalURI
	} else if rid, key, err := ParseAssessmentID(a.ID); err == nil {
		link = AssessmentPortalURI(key, rid)
	}
	ev.Properties.Links.AzurePortal = strings.TrimPrefix(strings.TrimPrefix(link, "https://"), "http://")
	return nil
}

// ---- Sub-assessments ----

type subEnrichment struct {
	TypeTag    string `json:"$type"`
	Action     Action `json:"Action"`
	APIVersion string `json:"ApiVersion"`
	IsSnapshot bool   `json:"IsSnapshot"`
}

type subAssessmentEvent struct {
	TypeTag             string        `json:"$type"`
	SubAssessmentEnrich subEnrichment `json:"SubAssessmentEventDataEnrichment"`
	SecurityEnrich      subEnrichment `json:"SecurityEventDataEnrichment"`
	TenantID            string        `json:"TenantId"`
	Type                string        `json:"Type"`
	ID                  string        `json:"Id"`
	Name                string        `json:"Name"`
	Properties          subEventProps `json:"Properties"`
}

type subEventProps struct {
	TypeTag         string `json:"$type"`
	ID              string `json:"Id"`
	DisplayName     string `json:"DisplayName"`
	Status          Object `json:"Status"`
	Remediation     string `json:"Remediation"`
	Impact          string `json:"Impact"`
	Category        string `json:"Category"`
	Description     string `json:"Description"`
	TimeGenerated   *Time  `json:"TimeGenerated"`
	ResourceDetails Object `json:"ResourceDetails"`
	AdditionalData  any    `json:"AdditionalData"`
}

// additionalDataTypeTag derives the Json.NET "$type" of sub-assessment
// additional data from its assessedResourceType: GeneralVulnerability is
// observed as "additionalData/general"; the others follow the same rule
// (drop a trailing "Vulnerability", lower-case the first letter).
func additionalDataTypeTag(assessedResourceType string) string {
	t := assessedResourceType
	if s := strings.TrimSuffix(t, "Vulnerability"); s != "" {
		t = s
	}
	if t == "" {
		t = "general"
	}
	return "additionalData/" + lowerFirst(t)
}

// SubAssessmentEvent returns the body continuous export sends for a
// sub-assessment (security finding): the observed PascalCase serialization
// with Json.NET "$type" tags, both enrichment envelopes (apiVersion
// 2020-01-01) and the finding's additional data with PascalCase keys.
// action is ActionInsert or ActionDelete.
func SubAssessmentEvent(s *SubAssessment, tenantID string, action Action, snapshot bool) ([]byte, error) {
	ev, err := newSubAssessmentEvent(s, tenantID, action, snapshot)
	if err != nil {
		return nil, err
	}
	if b, ok := ev.appendJSON(make([]byte, 0, 4096)); ok {
		return b, nil
	}
	return marshal(ev)
}

// newSubAssessmentEvent builds the event of SubAssessmentEvent.
func newSubAssessmentEvent(s *SubAssessment, tenantID string, action Action, snapshot bool) (*subAssessmentEvent, error) {
	if err := checkAction(action, ActionInsert, ActionDelete); err != nil {
		return nil, err
	}
	env := subEnrichment{TypeTag: "subAssessmentEventDataEnrichment", Action: action, APIVersion: APIVersionSubAssessmentEvent, IsSnapshot: snapshot}
	p := &s.Properties
	status := Object{{"$type", "status"}, {"Code", string(p.Status.Code)}}
	if p.Status.Cause != "" {
		status = append(status, Member{"Cause", p.Status.Cause})
	}
	status = append(status, Member{"Severity", p.Status.Severity})
	if p.Status.Description != "" {
		status = append(status, Member{"Description", p.Status.Description})
	}
	rd := p.ResourceDetails
	source := rd.Source
	if source == "" {
		source = "Azure"
	}
	details := Object{{"$type", "resourceDetails/" + lowerFirst(source)}, {"Source", source}}
	for _, f := range []struct{ k, v string }{
		{"Id", rd.ID}, {"MachineName", rd.MachineName}, {"SourceComputerId", rd.SourceComputerID},
		{"Vmuuid", rd.Vmuuid}, {"WorkspaceId", rd.WorkspaceID}, {"ServerName", rd.ServerName}, {"DatabaseName", rd.DatabaseName},
	} {
		if f.v != "" || (f.k == "Id" && source == "Azure") {
			details = append(details, Member{f.k, f.v})
		}
	}
	var additional any
	if p.AdditionalData != nil {
		ad := Object{{"$type", additionalDataTypeTag(p.AdditionalData.GetString("assessedResourceType"))}}
		for _, m := range p.AdditionalData {
			ad = append(ad, Member{pascal(m.Key), pascalDeep(m.Value)})
		}
		additional = ad
	}
	ev := subAssessmentEvent{
		TypeTag:             "subAssessmentEvent",
		SubAssessmentEnrich: env,
		SecurityEnrich:      env,
		TenantID:            tenantID,
		Type:                TypeSubAssessment,
		ID:                  s.ID,
		Name:                s.Name,
		Properties: subEventProps{
			TypeTag:         "response/subAssessmentProperties",
			ID:              p.ID,
			DisplayName:     p.DisplayName,
			Status:          status,
			Remediation:     p.Remediation,
			Impact:          p.Impact,
			Category:        p.Category,
			Description:     p.Description,
			TimeGenerated:   p.TimeGenerated,
			ResourceDetails: details,
			AdditionalData:  additional,
		},
	}
	return &ev, nil
}

// ---- Secure scores ----

type secureScoreEvent struct {
	Enrichment enrichment            `json:"securityEventDataEnrichment"`
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	Type       string                `json:"type"`
	Properties SecureScoreProperties `json:"properties"`
}

// SecureScoreEvent returns the body continuous export sends for a change of
// the overall secure score (action Insert, apiVersion 2020-01-01). No
// capture of this event exists; its shape is the REST record plus the
// envelope of secure score control events.
func SecureScoreEvent(s *SecureScore, snapshot bool) ([]byte, error) {
	return marshal(secureScoreEvent{
		Enrichment: enrichment{Action: ActionInsert, APIVersion: APIVersionSecureScoreEvent, IsSnapshot: snapshot},
		ID:         s.ID, Name: s.Name, Type: TypeSecureScore, Properties: s.Properties,
	})
}

type controlEvent struct {
	Enrichment enrichment       `json:"securityEventDataEnrichment"`
	ID         string           `json:"id"`
	Name       string           `json:"name"`
	Type       string           `json:"type"`
	Properties controlEventProp `json:"properties"`
}

type controlEventProp struct {
	DisplayName                string                  `json:"displayName"`
	HealthyResourceCount       int                     `json:"healthyResourceCount"`
	UnhealthyResourceCount     int                     `json:"unhealthyResourceCount"`
	NotApplicableResourceCount int                     `json:"notApplicableResourceCount"`
	Score                      ScoreDetails            `json:"score"`
	Definition                 *controlEventDefinition `json:"definition,omitempty"`
	Weight                     int64                   `json:"weight"`
}

type controlEventDefinition struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	Type       string               `json:"type"`
	Properties controlEventDefProps `json:"properties"`
}

type controlEventDefProps struct {
	Source                ControlSource  `json:"source"`
	DisplayName           string         `json:"displayName"`
	MaxScore              int            `json:"maxScore"`
	AssessmentDefinitions []ResourceLink `json:"assessmentDefinitions"`
}

// SecureScoreControlEvent returns the body continuous export sends for a
// change of a control's score: the expanded REST record (pass one built
// with its definition) with weight after definition, action Insert,
// apiVersion 2020-01-01.
func SecureScoreControlEvent(c *SecureScoreControl, snapshot bool) ([]byte, error) {
	p := &c.Properties
	ev := controlEvent{
		Enrichment: enrichment{Action: ActionInsert, APIVersion: APIVersionSecureScoreEvent, IsSnapshot: snapshot},
		ID:         c.ID, Name: c.Name, Type: TypeSecureScoreControl,
		Properties: controlEventProp{
			DisplayName: p.DisplayName, HealthyResourceCount: p.HealthyResourceCount,
			UnhealthyResourceCount: p.UnhealthyResourceCount, NotApplicableResourceCount: p.NotApplicableResourceCount,
			Score: p.Score, Weight: p.Weight,
		},
	}
	if d := p.Definition; d != nil {
		defs := d.Properties.AssessmentDefinitions
		if defs == nil {
			defs = []ResourceLink{}
		}
		ev.Properties.Definition = &controlEventDefinition{
			ID: d.ID, Name: d.Name, Type: TypeSecureScoreControlDefinition,
			Properties: controlEventDefProps{Source: d.Properties.Source, DisplayName: d.Properties.DisplayName,
				MaxScore: d.Properties.MaxScore, AssessmentDefinitions: defs},
		}
	}
	return marshal(ev)
}

// ---- Regulatory compliance ----

type complianceEvent struct {
	Enrichment enrichment          `json:"securityEventDataEnrichment"`
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Type       string              `json:"type"`
	Properties complianceEventProp `json:"properties"`
}

type complianceEventProp struct {
	Description           string          `json:"description"`
	State                 ComplianceState `json:"state"`
	Scope                 string          `json:"scope,omitempty"`
	PassedResources       int             `json:"passedResources"`
	FailedResources       int             `json:"failedResources"`
	SkippedResources      int             `json:"skippedResources"`
	AssessmentType        string          `json:"assessmentType"`
	AssessmentDetailsLink string          `json:"assessmentDetailsLink"`
}

// RegulatoryComplianceEvent returns the body continuous export sends for a
// regulatory compliance assessment: action Write, apiVersion
// 2019-01-01-preview and interval "00:00:00" in the envelope.
func RegulatoryComplianceEvent(a *RegulatoryComplianceAssessment, snapshot bool) ([]byte, error) {
	p := &a.Properties
	return marshal(complianceEvent{
		Enrichment: enrichment{Action: ActionWrite, APIVersion: APIVersionComplianceEvent, IsSnapshot: snapshot, Interval: "00:00:00"},
		ID:         a.ID, Name: a.Name, Type: TypeRegulatoryComplianceAssessment,
		Properties: complianceEventProp{
			Description: p.Description, State: p.State, Scope: p.Scope,
			PassedResources: p.PassedResources, FailedResources: p.FailedResources, SkippedResources: p.SkippedResources,
			AssessmentType: p.AssessmentType, AssessmentDetailsLink: p.AssessmentDetailsLink,
		},
	})
}
