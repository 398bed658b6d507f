package latables

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Row is one row of a table. Values line up with Table.Columns; a nil value
// is a null. The Go types of the values are fixed per column type:
//
//	string   → string
//	int,long → int64
//	real     → float64
//	bool     → bool
//	datetime → time.Time (UTC)
//	dynamic  → json.RawMessage (the JSON as the event carried it, compact)
type Row struct {
	Table  *Table
	Values []any

	stream []byte // StreamJSON's cache
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

func (r *Row) time(name string, v string) {
	if t, ok := parseTime(v); ok {
		r.set(name, t)
	}
}

func isNull(v []byte) bool { return len(v) == 0 || string(v) == "null" }

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
// PascalCase and camelCase serializations map the same way. The row does
// not share memory with body.
func Build(source string, body []byte, opts Options) (*Row, error) {
	t, err := TableFor(source)
	if err != nil {
		return nil, err
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if !utf8.Valid(body) {
		body = bytes.ToValidUTF8(body, []byte("\ufffd"))
	}
	space, err := validate(body)
	if err != nil {
		return nil, fmt.Errorf("latables: %s event: %w", source, err)
	}
	// The row's strings and dynamic values alias one private copy of the
	// event.
	if space {
		var c bytes.Buffer
		if err := json.Compact(&c, body); err != nil {
			return nil, fmt.Errorf("latables: %s event: %w", source, err)
		}
		body = c.Bytes()
	} else {
		body = bytes.Clone(body)
	}
	rd := readers.Get().(*reader)
	defer func() { rd.row, rd.err, rd.arena = nil, nil, rd.arena[:0]; readers.Put(rd) }()
	top, ok := parseObjectIn(&rd.arena, body)
	if !ok {
		return nil, fmt.Errorf("latables: %s event is not a JSON object", source)
	}
	r := &Row{Table: t, Values: make([]any, len(t.Columns))}
	rd.row = r
	snapshot := strings.HasSuffix(strings.ToLower(source), "snapshot")
	switch t {
	case alertTable:
		rd.alert(top)
	case recommendationTable:
		rd.assessment(top, snapshot)
	case nestedTable:
		rd.subAssessment(top, snapshot)
	case scoreTable:
		rd.secureScore(top, snapshot)
	case controlTable:
		rd.control(top, snapshot)
	case complianceTable:
		rd.compliance(top, snapshot)
	}
	if rd.err != nil {
		return nil, fmt.Errorf("latables: %s event to %s: %w", source, t.Name, rd.err)
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

// reader reads members with the type checks encoding/json would make: a
// member of the wrong type is an error, a missing or null one is empty.
type reader struct {
	row   *Row
	err   error
	arena []member // the members of the event's objects
}

var readers = sync.Pool{New: func() any { return &reader{arena: make([]member, 0, 128)} }}

func (rd *reader) bad(path, name, want string) {
	if rd.err == nil {
		rd.err = fmt.Errorf("%s%s is not %s", path, name, want)
	}
}

func (rd *reader) str(o object, path, name string) string {
	v := o.raw(name)
	if isNull(v) {
		return ""
	}
	if v[0] != '"' {
		rd.bad(path, name, "a string")
		return ""
	}
	s, _ := unquote(v)
	return s
}

func (rd *reader) obj(o object, path, name string) object {
	v := o.raw(name)
	if isNull(v) {
		return object{}
	}
	sub, ok := parseObjectIn(&rd.arena, v)
	if !ok {
		rd.bad(path, name, "an object")
	}
	return sub
}

func (rd *reader) num(o object, path, name string) (float64, bool) {
	v := o.raw(name)
	if isNull(v) {
		return 0, false
	}
	f, ok := o.num(name)
	if !ok {
		rd.bad(path, name, "a number")
	}
	return f, ok
}

func (rd *reader) integer(o object, path, name string) int64 {
	f, _ := rd.num(o, path, name)
	return int64(f)
}

func (rd *reader) boolean(o object, path, name string) (bool, bool) {
	v := o.raw(name)
	if isNull(v) {
		return false, false
	}
	b, ok := o.boolean(name)
	if !ok {
		rd.bad(path, name, "a boolean")
	}
	return b, ok
}

// dyn sets a dynamic column from a member; absent or null stays null.
func (rd *reader) dyn(col string, v []byte) {
	if isNull(v) {
		return
	}
	rd.row.set(col, json.RawMessage(v))
}

// text sets a string column to the JSON text of a member (SecurityAlert's
// Entities, ExtendedLinks, ExtendedProperties and RemediationSteps are
// strings holding JSON).
func (rd *reader) text(col string, v []byte) {
	if isNull(v) {
		return
	}
	rd.row.set(col, unsafe.String(&v[0], len(v)))
}

// ---- envelopes ----

// armEvent is the common part of the ARM-style events.
type armEvent struct {
	id, name, typ string
	action        string
	snapshot      bool
	propsRaw      []byte
	props         object
}

func (rd *reader) arm(top object) armEvent {
	e := armEvent{id: rd.str(top, "", "id"), name: rd.str(top, "", "name"), typ: rd.str(top, "", "type")}
	if e.id == "" && rd.err == nil {
		rd.err = fmt.Errorf("event has no id")
	}
	for _, n := range []string{"securityEventDataEnrichment", "assessmentEventDataEnrichment", "subAssessmentEventDataEnrichment"} {
		if isNull(top.raw(n)) {
			continue
		}
		env := rd.obj(top, "", n)
		e.action = rd.str(env, n+".", "action")
		e.snapshot, _ = rd.boolean(env, n+".", "isSnapshot")
		break
	}
	e.propsRaw = top.raw("properties")
	e.props = rd.obj(top, "", "properties")
	return e
}

func (e *armEvent) removed() bool { return strings.EqualFold(e.action, "Delete") }

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

// ---- SecurityAlert ----

func (rd *reader) alert(a object) {
	r := rd.row
	str := func(n string) string { return rd.str(a, "", n) }
	alertID, alertType := str("SystemAlertId"), str("AlertType")
	if alertID == "" && alertType == "" {
		if rd.err == nil {
			rd.err = fmt.Errorf("alert has neither SystemAlertId nor AlertType")
		}
		return
	}
	name := str("AlertDisplayName")
	r.str("AlertLink", str("AlertUri"))
	r.str("AlertName", name)
	r.str("DisplayName", name)
	r.str("AlertSeverity", str("Severity"))
	r.str("AlertType", alertType)
	r.str("CompromisedEntity", str("CompromisedEntity"))
	r.str("ConfidenceLevel", str("ConfidenceLevel"))
	if f, ok := rd.num(a, "", "ConfidenceScore"); ok {
		r.set("ConfidenceScore", f)
	}
	r.str("Description", str("Description"))
	r.time("StartTime", str("StartTimeUtc"))
	r.time("EndTime", str("EndTimeUtc"))
	r.time("ProcessingEndTime", str("ProcessingEndTime"))
	r.time("TimeGenerated", str("TimeGenerated"))
	rd.text("Entities", a.raw("Entities"))
	rd.text("ExtendedLinks", a.raw("ExtendedLinks"))
	rd.text("ExtendedProperties", a.raw("ExtendedProperties"))
	rd.text("RemediationSteps", a.raw("RemediationSteps"))
	incident, _ := rd.boolean(a, "", "IsIncident")
	r.set("IsIncident", incident)
	component := str("ProductComponentName")
	if component == "" {
		ext, _ := parseObjectIn(&rd.arena, a.raw("ExtendedProperties"))
		component = ext.str("ProductComponentName")
	}
	r.str("ProductComponentName", component)
	r.str("ProductName", str("ProductName"))
	r.set("ProviderName", AlertProviderName)
	r.str("ResourceId", str("AzureResourceId"))
	r.str("SourceComputerId", str("AgentId"))
	r.str("Status", str("Status"))
	r.str("SystemAlertId", alertID)
	r.str("VendorOriginalId", alertID)
	r.str("Tactics", str("Intent"))
	r.str("Techniques", strings.Join(a.strs("Techniques"), ", "))
	r.str("SubTechniques", strings.Join(a.strs("SubTechniques"), ", "))
	r.str("VendorName", str("VendorName"))
	r.str("WorkspaceResourceGroup", str("WorkspaceResourceGroup"))
	r.str("WorkspaceSubscriptionId", str("WorkspaceSubscriptionId"))
	r.set("SourceSystem", AlertSourceSystem)
}

// ---- SecurityRecommendation ----

func (rd *reader) assessment(top object, snapshot bool) {
	r := rd.row
	e := rd.arm(top)
	p := e.props
	details := rd.obj(p, "properties.", "resourceDetails")
	status := rd.obj(p, "properties.", "status")
	meta := rd.obj(p, "properties.", "metadata")
	st := func(n string) string { return rd.str(status, "properties.status.", n) }
	md := func(n string) string { return rd.str(meta, "properties.metadata.", n) }
	assessed := rd.str(details, "properties.resourceDetails.", "id")
	if assessed == "" {
		assessed = parentOf(e.id, "/providers/Microsoft.Security/assessments/")
	}
	code := st("code")
	r.str("AssessedResourceId", assessed)
	r.str("Description", md("description"))
	r.str("Environment", rd.str(details, "properties.resourceDetails.", "source"))
	first, changed := st("firstEvaluationDate"), st("statusChangeDate")
	r.time("FirstEvaluationDate", first)
	r.time("DiscoveredTimeUTC", first)
	r.time("StatusChangeDate", changed)
	r.set("IsSnapshot", snapshot || e.snapshot)
	r.str("PolicyDefinitionId", md("policyDefinitionId"))
	rd.dyn("Properties", e.propsRaw)
	r.set("ProviderName", RecommendationProviderName)
	rd.dyn("RecommendationAdditionalData", p.raw("additionalData"))
	name := rd.str(p, "properties.", "displayName")
	if name == "" {
		name = md("displayName")
	}
	r.str("RecommendationDisplayName", name)
	r.str("RecommendationName", name)
	r.str("RecommendationId", e.name)
	r.str("RecommendationSeverity", md("severity"))
	state := code
	if e.removed() {
		state = StateRemoved
	}
	r.str("RecommendationState", state)
	if strings.EqualFold(code, "Healthy") {
		r.time("ResolvedTimeUTC", changed)
	}
	r.set("SourceSystem", SourceSystem)
	r.str("RemediationDescription", md("remediationDescription"))
	if strings.EqualFold(code, "NotApplicable") {
		reason := st("cause")
		if reason == "" {
			reason = st("description")
		}
		r.str("NotApplicableReason", reason)
	}
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

func (rd *reader) subAssessment(top object, snapshot bool) {
	r := rd.row
	e := rd.arm(top)
	p := e.props
	str := func(n string) string { return rd.str(p, "properties.", n) }
	status := rd.obj(p, "properties.", "status")
	details := rd.obj(p, "properties.", "resourceDetails")
	assessed := rd.str(details, "properties.resourceDetails.", "id")
	if assessed == "" {
		assessed = parentOf(e.id, "/providers/Microsoft.Security/assessments/")
	}
	parent := segmentAfter(e.id, "/providers/Microsoft.Security/assessments/")
	f := factsOf(assessed)
	rd.dyn("AdditionalData", p.raw("additionalData"))
	r.str("AssessedResourceId", assessed)
	r.str("Category", str("category"))
	r.str("Cause", rd.str(status, "properties.status.", "cause"))
	r.str("Description", str("description"))
	r.str("Id", e.id)
	r.str("Impact", str("impact"))
	r.set("IsSnapshot", snapshot || e.snapshot)
	r.str("NestedRecommendationId", e.name)
	r.str("ParentRecommendationId", parent)
	r.str("RecommendationLink", RecommendationLink(parent, assessed))
	r.str("RecommendationName", str("displayName"))
	r.str("RecommendationSeverity", rd.str(status, "properties.status.", "severity"))
	state := rd.str(status, "properties.status.", "code")
	if e.removed() {
		state = StateRemoved
	}
	r.str("RecommendationState", state)
	r.str("RecommendationSubscriptionId", f.subscription)
	remediation := str("remediation")
	r.str("RemediationDescription", remediation)
	r.str("RemidiationDescription", remediation)
	rd.dyn("ResourceDetails", p.raw("resourceDetails"))
	r.str("ResourceGroup", f.resourceGroup)
	r.str("_ResourceId", assessed)
	r.str("ResourceProviderType", f.providerType)
	r.set("SourceSystem", SourceSystem)
	r.time("SubAssessmentTimeGeneration", str("timeGenerated"))
	r.str("_SubscriptionId", f.subscription)
	r.str("VulnerabilityId", str("id"))
}

// ---- SecureScores ----

// scopeResource is the resource a score or compliance record is about: its
// subscription.
func scopeResource(id string) (string, resourceFacts) {
	f := factsOf(id)
	if f.subscription == "" {
		return "", f
	}
	return "/subscriptions/" + f.subscription, f
}

// score reads properties.score and sets CurrentScore, MaxScore and
// PercentageScore.
func (rd *reader) score(p object) {
	score := rd.obj(p, "properties.", "score")
	cur, _ := rd.num(score, "properties.score.", "current")
	mx, _ := rd.num(score, "properties.score.", "max")
	pct, _ := rd.num(score, "properties.score.", "percentage")
	rd.row.set("CurrentScore", cur)
	rd.row.set("MaxScore", int64(mx))
	rd.row.set("PercentageScore", pct)
}

func (rd *reader) secureScore(top object, snapshot bool) {
	r := rd.row
	e := rd.arm(top)
	p := e.props
	scope, f := scopeResource(e.id)
	r.str("AssessedResourceId", e.id)
	rd.score(p)
	r.str("DisplayName", rd.str(p, "properties.", "displayName"))
	r.set("Environment", "Azure")
	r.set("IsSnapshot", snapshot || e.snapshot)
	rd.dyn("Properties", e.propsRaw)
	r.str("_ResourceId", scope)
	r.str("ResourceProviderType", e.typ)
	r.str("SecureScoresSubscriptionId", f.subscription)
	r.set("SourceSystem", SourceSystem)
	r.str("_SubscriptionId", f.subscription)
	r.set("Weight", rd.integer(p, "properties.", "weight"))
}

// ---- SecureScoreControls ----

func (rd *reader) control(top object, snapshot bool) {
	r := rd.row
	e := rd.arm(top)
	p := e.props
	scope, f := scopeResource(e.id)
	r.str("AssessedResourceId", e.id)
	r.str("ControlId", e.name)
	r.str("ControlName", rd.str(p, "properties.", "displayName"))
	desc := rd.str(p, "properties.", "description")
	def := rd.obj(rd.obj(p, "properties.", "definition"), "properties.definition.", "properties")
	r.str("ControlType", rd.str(rd.obj(def, "properties.definition.properties.", "source"), "properties.definition.properties.source.", "sourceType"))
	rd.dyn("RecommendationResourceIds", def.raw("assessmentDefinitions"))
	if desc == "" {
		desc = rd.str(def, "properties.definition.properties.", "description")
	}
	r.str("Description", desc)
	rd.score(p)
	r.set("Environment", "Azure")
	r.set("HealthyResources", rd.integer(p, "properties.", "healthyResourceCount"))
	r.set("UnhealthyResources", rd.integer(p, "properties.", "unhealthyResourceCount"))
	r.set("NotApplicableResources", rd.integer(p, "properties.", "notApplicableResourceCount"))
	r.set("IsSnapshot", snapshot || e.snapshot)
	rd.dyn("Properties", e.propsRaw)
	r.str("_ResourceId", scope)
	r.str("ResourceProviderType", e.typ)
	r.str("SecureScoresSubscriptionId", f.subscription)
	r.set("SourceSystem", SourceSystem)
	r.str("_SubscriptionId", f.subscription)
	r.set("Weight", rd.integer(p, "properties.", "weight"))
}

// ---- SecurityRegulatoryCompliance ----

func (rd *reader) compliance(top object, snapshot bool) {
	r := rd.row
	e := rd.arm(top)
	p := e.props
	scope, f := scopeResource(e.id)
	r.str("AssessedResourceId", e.id)
	r.str("ComplianceStandard", segmentAfter(e.id, "/regulatoryComplianceStandards/"))
	r.str("ComplianceControl", segmentAfter(e.id, "/regulatoryComplianceControls/"))
	r.set("FailedResources", rd.integer(p, "properties.", "failedResources"))
	r.set("PassedResources", rd.integer(p, "properties.", "passedResources"))
	r.set("SkippedResources", rd.integer(p, "properties.", "skippedResources"))
	r.set("IsSnapshot", snapshot || e.snapshot)
	rd.dyn("Properties", e.propsRaw)
	r.str("RecommendationId", e.name)
	r.str("RecommendationLink", rd.str(p, "properties.", "assessmentDetailsLink"))
	r.str("RecommendationName", rd.str(p, "properties.", "description"))
	r.str("RegulatoryComplianceSubscriptionId", f.subscription)
	r.str("_ResourceId", scope)
	r.str("ResourceProviderType", e.typ)
	r.set("SourceSystem", SourceSystem)
	r.str("State", rd.str(p, "properties.", "state"))
	r.str("_SubscriptionId", f.subscription)
}
