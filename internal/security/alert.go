package security

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"sluice/internal/armid"
)

// Alert is a security alert in the REST shape of API version 2022-01-01
// ({id, name, type, properties}).
type Alert struct {
	ID         string          `json:"id,omitempty"`
	Name       string          `json:"name,omitempty"`
	Type       string          `json:"type,omitempty"`
	Properties AlertProperties `json:"properties"`
}

// AlertProperties are the properties of an Alert.
type AlertProperties struct {
	Version              string               `json:"version,omitempty"`
	AlertType            string               `json:"alertType"`
	SystemAlertID        string               `json:"systemAlertId"`
	ProductComponentName string               `json:"productComponentName,omitempty"`
	AlertDisplayName     string               `json:"alertDisplayName"`
	Description          string               `json:"description"`
	Severity             string               `json:"severity"`
	Intent               string               `json:"intent"`
	StartTimeUTC         *Time                `json:"startTimeUtc,omitempty"`
	EndTimeUTC           *Time                `json:"endTimeUtc,omitempty"`
	ResourceIdentifiers  []ResourceIdentifier `json:"resourceIdentifiers"`
	RemediationSteps     []string             `json:"remediationSteps"`
	VendorName           string               `json:"vendorName"`
	Status               string               `json:"status"`
	ExtendedLinks        []ExtendedLink       `json:"extendedLinks,omitempty"`
	AlertURI             string               `json:"alertUri,omitempty"`
	TimeGeneratedUTC     *Time                `json:"timeGeneratedUtc,omitempty"`
	ProductName          string               `json:"productName,omitempty"`
	ProcessingEndTimeUTC *Time                `json:"processingEndTimeUtc,omitempty"`
	// Entities are free-form entity objects, each with a "type".
	Entities           []Object  `json:"entities"`
	IsIncident         bool      `json:"isIncident"`
	CorrelationKey     string    `json:"correlationKey,omitempty"`
	ExtendedProperties StringMap `json:"extendedProperties,omitzero"`
	CompromisedEntity  string    `json:"compromisedEntity"`
	Techniques         []string  `json:"techniques,omitempty"`
	SubTechniques      []string  `json:"subTechniques,omitempty"`
	SupportingEvidence Object    `json:"supportingEvidence,omitempty"`
}

// ResourceIdentifier directs an alert to a resource (type AzureResource) or
// a Log Analytics workspace (type LogAnalytics).
type ResourceIdentifier struct {
	Type                    string `json:"type"`
	AzureResourceID         string `json:"azureResourceId,omitempty"`
	WorkspaceID             string `json:"workspaceId,omitempty"`
	WorkspaceSubscriptionID string `json:"workspaceSubscriptionId,omitempty"`
	WorkspaceResourceGroup  string `json:"workspaceResourceGroup,omitempty"`
	AgentID                 string `json:"agentId,omitempty"`
}

// ExtendedLink is a link related to an alert (REST spells its keys in
// PascalCase).
type ExtendedLink struct {
	Href     string  `json:"Href"`
	Category *string `json:"Category"`
	Label    string  `json:"Label"`
	Type     string  `json:"Type"`
}

// AzureResourceID returns the first AzureResource identifier's resource ID.
func (a *Alert) AzureResourceID() string {
	for _, r := range a.Properties.ResourceIdentifiers {
		if strings.EqualFold(r.Type, "AzureResource") {
			return r.AzureResourceID
		}
	}
	return ""
}

// ParseAlert validates a producer's alert (REST 2022-01-01 shape). Only
// properties.alertType, alertDisplayName, severity and at least one
// resourceIdentifiers entry are required; CompleteAlert fills the rest.
// Enumerations are canonicalized to their REST spelling.
func ParseAlert(raw []byte) (*Alert, error) {
	a, props, ok := decodeAlertScan(raw)
	if ok && !props {
		return nil, missing("properties")
	}
	if !ok {
		a = &Alert{}
		if err := decodeStrict(raw, a); err != nil {
			return nil, err
		}
		if err := requireObject(raw, "properties"); err != nil {
			return nil, err
		}
	}
	p := &a.Properties
	errs := []*Error{
		required(p.AlertType, "properties.alertType"),
		checkLen(p.AlertType, "properties.alertType", 256),
		required(p.AlertDisplayName, "properties.alertDisplayName"),
		checkLen(p.AlertDisplayName, "properties.alertDisplayName", 512),
		checkEnum(&p.Severity, "properties.severity", AlertSeverities, true),
		checkEnum(&p.Status, "properties.status", AlertStatuses, false),
		checkIntent(&p.Intent, "properties.intent"),
	}
	if len(p.ResourceIdentifiers) == 0 {
		errs = append(errs, missing("properties.resourceIdentifiers"))
	}
	for i := range p.ResourceIdentifiers {
		errs = append(errs, checkIdentifier(&p.ResourceIdentifiers[i], fmt.Sprintf("properties.resourceIdentifiers[%d]", i)))
	}
	for i, e := range p.Entities {
		if e.GetString("type") == "" {
			if _, ref := e.Get("$ref"); !ref {
				errs = append(errs, missing(fmt.Sprintf("properties.entities[%d].type", i)))
			}
		}
	}
	if p.StartTimeUTC != nil && p.EndTimeUTC != nil && p.EndTimeUTC.Before(p.StartTimeUTC.Time) {
		errs = append(errs, errorf(CodeInvalidPropertyValue, "properties.endTimeUtc",
			"the property 'properties.endTimeUtc' (%s) is before 'properties.startTimeUtc' (%s)", p.EndTimeUTC, p.StartTimeUTC))
	}
	if err := firstErr(errs...); err != nil {
		return nil, err
	}
	return a, nil
}

func checkIdentifier(r *ResourceIdentifier, target string) *Error {
	if err := checkEnum(&r.Type, target+".type", ResourceIdentifierTypes, true); err != nil {
		return err
	}
	switch r.Type {
	case "AzureResource":
		if r.AzureResourceID == "" {
			return missing(target + ".azureResourceId")
		}
		return checkResourceID(r.AzureResourceID, target+".azureResourceId")
	default:
		if r.WorkspaceID == "" {
			return missing(target + ".workspaceId")
		}
	}
	return nil
}

func checkIntent(v *string, target string) *Error {
	if *v == "" {
		return nil
	}
	parts := strings.Split(*v, ",")
	for i, part := range parts {
		c, ok := canonical(strings.TrimSpace(part), Intents)
		if !ok {
			return badEnum(target, strings.TrimSpace(part), Intents)
		}
		parts[i] = c
	}
	*v = strings.Join(parts, ", ")
	return nil
}

func required(v, target string) *Error {
	if strings.TrimSpace(v) == "" {
		return missing(target)
	}
	return nil
}

// checkResourceID validates an ARM resource ID (a scope such as a
// subscription is accepted too).
func checkResourceID(id, target string) *Error {
	if _, err := armid.Parse(id); err != nil {
		return errorf(CodeInvalidResourceID, target, "the property '%s' is not a valid resource ID: %v", target, err)
	}
	return nil
}

// requireObject reports a missing or non-object top-level member.
func requireObject(raw []byte, key string) error {
	if v, found, ok := topLevelMember(raw, key); ok {
		if found && string(v) != "null" {
			return nil
		}
		return missing(key)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return jsonError(err)
	}
	for k, v := range top {
		if strings.EqualFold(k, key) && string(v) != "null" {
			return nil
		}
	}
	return missing(key)
}

// AlertID returns the ARM ID of an alert: resource-group scoped when rg is
// not empty, subscription scoped otherwise.
func AlertID(subscriptionID, resourceGroup, location, name string) string {
	scope := "/subscriptions/" + subscriptionID
	if resourceGroup != "" {
		scope += "/resourceGroups/" + resourceGroup
	}
	return scope + "/providers/Microsoft.Security/locations/" + location + "/alerts/" + name
}

// netMaxTicks is .NET's DateTime.MaxValue.Ticks.
const netMaxTicks = 3155378975999999999

// NewSystemAlertID returns an ID in the service's "<reverse ticks>_<guid>"
// form, so that newer alerts sort first. The GUID is random.
func NewSystemAlertID(t time.Time) string {
	return SystemAlertIDFor(t, uuid.New())
}

// SystemAlertIDFor is NewSystemAlertID with a given GUID.
func SystemAlertIDFor(t time.Time, id uuid.UUID) string {
	t = t.UTC()
	ticks := (t.Unix()+62135596800)*10_000_000 + int64(t.Nanosecond()/100)
	return fmt.Sprintf("%d_%s", netMaxTicks-ticks, id)
}

// AlertPortalURI returns the portal deep link of an alert (the
// resourceGroup segment is left out for subscription-level alerts).
func AlertPortalURI(systemAlertID, subscriptionID, resourceGroup, location string) string {
	rg := ""
	if resourceGroup != "" {
		rg = "/resourceGroup/" + resourceGroup
	}
	return "https://portal.azure.com/#blade/Microsoft_Azure_Security_AzureDefenderForData/AlertBlade/alertId/" +
		systemAlertID + "/subscriptionId/" + subscriptionID + rg +
		"/referencedFrom/alertDeepLink/location/" + location
}

// CompleteAlert fills the server-assigned and defaulted fields of a parsed
// alert: systemAlertId and name (when empty), id and type for the
// subscription and location, version, vendor and product names, status
// Active, intent Unknown, the four timestamps (now, or the start time for
// the end time), compromisedEntity (the resource's name) and alertUri.
func CompleteAlert(a *Alert, subscriptionID, location string, now time.Time) {
	p := &a.Properties
	if p.SystemAlertID == "" {
		p.SystemAlertID = NewSystemAlertID(now)
	}
	if a.Name == "" {
		a.Name = p.SystemAlertID
	}
	rg := ""
	resName := ""
	if id, err := armid.Parse(a.AzureResourceID()); err == nil {
		rg = id.ResourceGroup
		if id.IsResource() {
			resName = id.Names[len(id.Names)-1]
		} else {
			resName = id.Subscription
		}
	}
	a.ID = AlertID(subscriptionID, rg, location, a.Name)
	a.Type = TypeAlert
	if p.Version == "" {
		p.Version = "2022-01-01"
	}
	if p.VendorName == "" {
		p.VendorName = "Microsoft"
	}
	if p.ProductName == "" {
		p.ProductName = "Microsoft Defender for Cloud"
	}
	if p.Status == "" {
		p.Status = "Active"
	}
	if p.Intent == "" {
		p.Intent = "Unknown"
	}
	if p.StartTimeUTC == nil {
		p.StartTimeUTC = NewTime(now)
	}
	if p.EndTimeUTC == nil {
		p.EndTimeUTC = &Time{p.StartTimeUTC.Time}
	}
	if p.TimeGeneratedUTC == nil {
		p.TimeGeneratedUTC = NewTime(now)
	}
	if p.ProcessingEndTimeUTC == nil {
		p.ProcessingEndTimeUTC = NewTime(now)
	}
	if p.CompromisedEntity == "" {
		p.CompromisedEntity = resName
	}
	if p.AlertURI == "" {
		p.AlertURI = AlertPortalURI(p.SystemAlertID, subscriptionID, rg, location)
	}
	if p.RemediationSteps == nil {
		p.RemediationSteps = []string{}
	}
	if p.Entities == nil {
		p.Entities = []Object{}
	}
}
