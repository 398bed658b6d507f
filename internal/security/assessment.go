package security

import (
	"fmt"
	"strings"
	"time"

	"sluice/internal/armid"
	"sluice/internal/catalog"
)

// Assessment is a security assessment (a recommendation evaluated on one
// resource) in the REST shape of API versions 2021-06-01 and 2025-05-04.
type Assessment struct {
	ID         string               `json:"id,omitempty"`
	Name       string               `json:"name,omitempty"`
	Type       string               `json:"type,omitempty"`
	Properties AssessmentProperties `json:"properties"`
}

// AssessmentProperties are the properties of an Assessment.
type AssessmentProperties struct {
	ResourceDetails ResourceDetails               `json:"resourceDetails"`
	DisplayName     string                        `json:"displayName,omitempty"`
	Status          AssessmentStatus              `json:"status"`
	AdditionalData  StringMap                     `json:"additionalData,omitzero"`
	Metadata        *AssessmentMetadataProperties `json:"metadata,omitempty"`
	PartnersData    *PartnerData                  `json:"partnersData,omitempty"`
	Links           *AssessmentLinks              `json:"links,omitempty"`
}

// ResourceDetails describes the assessed resource. Source selects which
// fields apply: Azure uses ID (and the derived name/type/provider);
// OnPremise uses the machine fields; OnPremiseSql adds server and database.
type ResourceDetails struct {
	Source           string `json:"source"`
	ID               string `json:"id,omitempty"`
	ResourceName     string `json:"resourceName,omitempty"`
	ResourceType     string `json:"resourceType,omitempty"`
	ResourceProvider string `json:"resourceProvider,omitempty"`
	NativeResourceID string `json:"nativeResourceId,omitempty"`
	MachineName      string `json:"machineName,omitempty"`
	SourceComputerID string `json:"sourceComputerId,omitempty"`
	Vmuuid           string `json:"vmuuid,omitempty"`
	WorkspaceID      string `json:"workspaceId,omitempty"`
	ServerName       string `json:"serverName,omitempty"`
	DatabaseName     string `json:"databaseName,omitempty"`
}

// AssessmentStatus is the result of an assessment.
type AssessmentStatus struct {
	Code                StatusCode `json:"code"`
	Cause               string     `json:"cause,omitempty"`
	Description         string     `json:"description,omitempty"`
	FirstEvaluationDate *Time      `json:"firstEvaluationDate,omitempty"`
	StatusChangeDate    *Time      `json:"statusChangeDate,omitempty"`
}

// PartnerData identifies the partner that reported an assessment. Secret
// is write-only: WithoutSecrets clears it before a record leaves the
// server.
type PartnerData struct {
	PartnerName string `json:"partnerName"`
	ProductName string `json:"productName,omitempty"`
	Secret      string `json:"secret,omitempty"`
}

// AssessmentLinks holds the portal link of an assessment.
type AssessmentLinks struct {
	AzurePortalURI string `json:"azurePortalUri"`
}

// AssessmentMetadata is a recommendation definition (REST
// assessmentMetadata), built-in or custom.
type AssessmentMetadata struct {
	ID         string                       `json:"id,omitempty"`
	Name       string                       `json:"name,omitempty"`
	Type       string                       `json:"type,omitempty"`
	Properties AssessmentMetadataProperties `json:"properties"`
}

// AssessmentMetadataProperties are the properties of AssessmentMetadata;
// the same object is embedded as properties.metadata of assessments.
type AssessmentMetadataProperties struct {
	DisplayName            string        `json:"displayName"`
	PolicyDefinitionID     string        `json:"policyDefinitionId,omitempty"`
	Description            string        `json:"description,omitempty"`
	RemediationDescription string        `json:"remediationDescription,omitempty"`
	Categories             []string      `json:"categories,omitempty"`
	Severity               string        `json:"severity"`
	UserImpact             string        `json:"userImpact,omitempty"`
	ImplementationEffort   string        `json:"implementationEffort,omitempty"`
	Threats                []string      `json:"threats,omitempty"`
	Preview                bool          `json:"preview,omitempty"`
	AssessmentType         string        `json:"assessmentType"`
	PartnerData            *PartnerData  `json:"partnerData,omitempty"`
	PlannedDeprecationDate string        `json:"plannedDeprecationDate,omitempty"`
	PublishDates           *PublishDates `json:"publishDates,omitempty"`
	Tactics                []string      `json:"tactics,omitempty"`
	Techniques             []string      `json:"techniques,omitempty"`
}

// PublishDates are the publication dates of a recommendation.
type PublishDates struct {
	GA     string `json:"GA,omitempty"`
	Public string `json:"public"`
}

// ParseAssessment validates a producer's assessment body (the PUT body of
// the REST API: properties.resourceDetails.source and properties.status.code
// are required; metadata, when present, must be a complete definition).
// The ID, name and type are assigned by CompleteAssessment.
func ParseAssessment(raw []byte) (*Assessment, error) {
	if a, props, ok := decodeAssessmentScan(raw); ok {
		if !props {
			return nil, missing("properties")
		}
		if err := a.Properties.validate(); err != nil {
			return nil, err
		}
		return a, nil
	}
	a, ok := decodeAssessmentFast(raw)
	if !ok {
		a = &Assessment{}
		if err := decodeStrict(raw, a); err != nil {
			return nil, err
		}
	}
	if err := requireObject(raw, "properties"); err != nil {
		return nil, err
	}
	if err := a.Properties.validate(); err != nil {
		return nil, err
	}
	return a, nil
}

func (p *AssessmentProperties) validate() error {
	code := string(p.Status.Code)
	errs := []*Error{
		checkEnum(&p.ResourceDetails.Source, "properties.resourceDetails.source", Sources, true),
		checkEnum(&code, "properties.status.code", StatusCodes, true),
		checkLen(p.Status.Cause, "properties.status.cause", 256),
		checkLen(p.Status.Description, "properties.status.description", 4096),
	}
	p.Status.Code = StatusCode(code)
	if p.ResourceDetails.ID != "" {
		errs = append(errs, checkResourceID(p.ResourceDetails.ID, "properties.resourceDetails.id"))
	}
	if p.Metadata != nil {
		errs = append(errs, p.Metadata.validate("properties.metadata."))
	}
	if p.PartnersData != nil {
		errs = append(errs, required(p.PartnersData.PartnerName, "properties.partnersData.partnerName"))
	}
	return firstErr(errs...)
}

// ParseAssessmentMetadata validates a custom recommendation definition
// (displayName, severity and assessmentType are required; enumerations are
// canonicalized).
func ParseAssessmentMetadata(raw []byte) (*AssessmentMetadata, error) {
	var m AssessmentMetadata
	if err := decodeStrict(raw, &m); err != nil {
		return nil, err
	}
	if err := requireObject(raw, "properties"); err != nil {
		return nil, err
	}
	if err := m.Properties.validate("properties."); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *AssessmentMetadataProperties) validate(prefix string) *Error {
	errs := []*Error{
		required(m.DisplayName, prefix+"displayName"),
		checkLen(m.DisplayName, prefix+"displayName", 512),
		checkEnum(&m.Severity, prefix+"severity", Severities, true),
		checkEnum(&m.AssessmentType, prefix+"assessmentType", AssessmentTypes, true),
		checkEnum(&m.UserImpact, prefix+"userImpact", Impacts, false),
		checkEnum(&m.ImplementationEffort, prefix+"implementationEffort", Impacts, false),
		checkLen(m.Description, prefix+"description", 4096),
		checkLen(m.RemediationDescription, prefix+"remediationDescription", 4096),
	}
	for i := range m.Categories {
		errs = append(errs, checkEnum(&m.Categories[i], fmt.Sprintf("%scategories[%d]", prefix, i), Categories, true))
	}
	for i := range m.Threats {
		errs = append(errs, checkEnum(&m.Threats[i], fmt.Sprintf("%sthreats[%d]", prefix, i), Threats, true))
	}
	if m.PolicyDefinitionID != "" {
		errs = append(errs, checkResourceID(m.PolicyDefinitionID, prefix+"policyDefinitionId"))
	}
	if m.PartnerData != nil {
		errs = append(errs, required(m.PartnerData.PartnerName, prefix+"partnerData.partnerName"))
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// MetadataFromCatalog returns the REST metadata resource of a built-in
// recommendation.
func MetadataFromCatalog(r *catalog.Recommendation) *AssessmentMetadata {
	return &AssessmentMetadata{
		ID:         "/providers/Microsoft.Security/assessmentMetadata/" + r.Name,
		Name:       r.Name,
		Type:       TypeAssessmentMetadata,
		Properties: *MetadataPropertiesFromCatalog(r),
	}
}

// MetadataPropertiesFromCatalog returns the metadata properties of a
// built-in recommendation.
func MetadataPropertiesFromCatalog(r *catalog.Recommendation) *AssessmentMetadataProperties {
	return &AssessmentMetadataProperties{
		DisplayName:            r.DisplayName,
		PolicyDefinitionID:     r.PolicyDefinitionID,
		Description:            r.Description,
		RemediationDescription: r.RemediationDescription,
		Categories:             append([]string(nil), r.Categories...),
		Severity:               r.Severity,
		UserImpact:             r.UserImpact,
		ImplementationEffort:   r.ImplementationEffort,
		Threats:                append([]string(nil), r.Threats...),
		AssessmentType:         r.AssessmentType,
	}
}

// AssessmentID returns the ID of the assessment key on resourceID.
func AssessmentID(resourceID, key string) string {
	return strings.TrimSuffix(resourceID, "/") + "/providers/Microsoft.Security/assessments/" + key
}

// ParseAssessmentID splits an assessment ID into the assessed resource ID
// and the assessment key.
func ParseAssessmentID(id string) (resourceID, key string, err error) {
	const marker = "/providers/microsoft.security/assessments/"
	i := strings.LastIndex(strings.ToLower(id), marker)
	if i <= 0 {
		return "", "", errorf(CodeInvalidResourceID, "id", "%q is not an assessment ID (…/providers/Microsoft.Security/assessments/{key})", id)
	}
	resourceID, key = id[:i], id[i+len(marker):]
	if key == "" || strings.Contains(key, "/") {
		return "", "", errorf(CodeInvalidResourceID, "id", "%q is not an assessment ID: bad assessment key", id)
	}
	if e := checkResourceID(resourceID, "id"); e != nil {
		return "", "", e
	}
	return resourceID, key, nil
}

// AssessmentPortalURI returns the REST links.azurePortalUri of an
// assessment; the export form drops the scheme.
func AssessmentPortalURI(key, resourceID string) string {
	return "https://portal.azure.com/#blade/Microsoft_Azure_Security/RecommendationsBlade/assessmentKey/" +
		key + "/resourceId/" + netURLEncode(resourceID)
}

// CompleteAssessment fills the server-assigned fields of a parsed
// assessment stored for key on resourceID: id, name, type, resource details
// derived from the ID, metadata and display name (from meta when given, e.g.
// the catalog's definition or a custom one), the portal link, and the
// status dates: firstEvaluationDate is kept from prev (or now), and
// statusChangeDate moves to now only when status.code differs from prev.
func CompleteAssessment(a *Assessment, resourceID, key string, prev *Assessment, meta *AssessmentMetadataProperties, now time.Time) {
	completeAssessment(a, resourceID, nil, key, prev, meta, now)
}

// completeAssessment is CompleteAssessment with the assessed resource's ID
// already parsed when rid is not nil (rid.String() == resourceID).
func completeAssessment(a *Assessment, resourceID string, rid *armid.ID, key string, prev *Assessment, meta *AssessmentMetadataProperties, now time.Time) {
	a.ID = AssessmentID(resourceID, key)
	a.Name = key
	a.Type = TypeAssessment
	p := &a.Properties
	if p.ResourceDetails.Source == "" {
		p.ResourceDetails.Source = "Azure"
	}
	if p.ResourceDetails.Source == "Azure" {
		p.ResourceDetails.ID = resourceID
		fillResourceNames(&p.ResourceDetails, rid)
	}
	if meta != nil {
		m := *meta
		p.Metadata = &m
	}
	if p.Metadata != nil {
		p.DisplayName = p.Metadata.DisplayName
	}
	p.Links = &AssessmentLinks{AzurePortalURI: AssessmentPortalURI(key, resourceID)}
	nowT := NewTime(now)
	p.Status.FirstEvaluationDate, p.Status.StatusChangeDate = nowT, nowT
	if prev != nil {
		if prev.Properties.Status.FirstEvaluationDate != nil {
			p.Status.FirstEvaluationDate = prev.Properties.Status.FirstEvaluationDate
		}
		if prev.Properties.Status.Code == p.Status.Code && prev.Properties.Status.StatusChangeDate != nil {
			p.Status.StatusChangeDate = prev.Properties.Status.StatusChangeDate
		}
	}
}

// fillResourceNames derives resourceName, resourceType, resourceProvider
// and nativeResourceId from an Azure resource ID when they are empty; id,
// when not nil, is d.ID parsed.
func fillResourceNames(d *ResourceDetails, id *armid.ID) {
	if id == nil {
		var err error
		if id, err = armid.Parse(d.ID); err != nil {
			return
		}
	}
	if d.NativeResourceID == "" {
		d.NativeResourceID = d.ID
	}
	if !id.IsResource() {
		if d.ResourceName == "" {
			d.ResourceName = id.Subscription
			if id.ResourceGroup != "" {
				d.ResourceName = id.ResourceGroup
			}
		}
		return
	}
	if d.ResourceName == "" {
		d.ResourceName = id.Names[len(id.Names)-1]
	}
	if d.ResourceType == "" {
		d.ResourceType = strings.Join(id.Types, "/")
	}
	if d.ResourceProvider == "" {
		d.ResourceProvider = id.Namespace
	}
}

// WithoutSecrets returns a copy of a with write-only partner secrets
// removed, for responses and exported events.
func (a *Assessment) WithoutSecrets() *Assessment {
	c := *a
	if c.Properties.PartnersData != nil {
		pd := *c.Properties.PartnersData
		pd.Secret = ""
		c.Properties.PartnersData = &pd
	}
	if c.Properties.Metadata != nil && c.Properties.Metadata.PartnerData != nil {
		m := *c.Properties.Metadata
		pd := *m.PartnerData
		pd.Secret = ""
		m.PartnerData = &pd
		c.Properties.Metadata = &m
	}
	return &c
}

// SubAssessment is a security finding under an assessment (REST
// 2019-01-01-preview).
type SubAssessment struct {
	ID         string                  `json:"id,omitempty"`
	Name       string                  `json:"name,omitempty"`
	Type       string                  `json:"type,omitempty"`
	Properties SubAssessmentProperties `json:"properties"`
}

// SubAssessmentProperties are the properties of a SubAssessment.
type SubAssessmentProperties struct {
	// ID is the vendor's finding ID (e.g. a QID or "1001").
	ID              string              `json:"id,omitempty"`
	DisplayName     string              `json:"displayName"`
	Status          SubAssessmentStatus `json:"status"`
	Remediation     string              `json:"remediation,omitempty"`
	Impact          string              `json:"impact,omitempty"`
	Category        string              `json:"category,omitempty"`
	Description     string              `json:"description,omitempty"`
	TimeGenerated   *Time               `json:"timeGenerated,omitempty"`
	ResourceDetails ResourceDetails     `json:"resourceDetails"`
	// AdditionalData is the polymorphic finding detail, discriminated by
	// its assessedResourceType member.
	AdditionalData Object `json:"additionalData,omitempty"`
}

// SubAssessmentStatus is the status of a finding.
type SubAssessmentStatus struct {
	Code        StatusCode `json:"code"`
	Cause       string     `json:"cause,omitempty"`
	Severity    string     `json:"severity"`
	Description string     `json:"description,omitempty"`
}

// ParseSubAssessment validates a producer's finding: displayName,
// status.code, status.severity and resourceDetails.source are required;
// additionalData, when present, needs an assessedResourceType.
func ParseSubAssessment(raw []byte) (*SubAssessment, error) {
	s, props, ok := decodeSubAssessmentScan(raw)
	if ok && !props {
		return nil, missing("properties")
	}
	if !ok {
		s = &SubAssessment{}
		if err := decodeStrict(raw, s); err != nil {
			return nil, err
		}
		if err := requireObject(raw, "properties"); err != nil {
			return nil, err
		}
	}
	p := &s.Properties
	code := string(p.Status.Code)
	errs := []*Error{
		required(p.DisplayName, "properties.displayName"),
		checkLen(p.DisplayName, "properties.displayName", 512),
		checkEnum(&code, "properties.status.code", StatusCodes, true),
		checkEnum(&p.Status.Severity, "properties.status.severity", SubAssessmentSeverities, true),
		checkEnum(&p.ResourceDetails.Source, "properties.resourceDetails.source", Sources, true),
	}
	p.Status.Code = StatusCode(code)
	if p.ResourceDetails.ID != "" {
		errs = append(errs, checkResourceID(p.ResourceDetails.ID, "properties.resourceDetails.id"))
	}
	if p.AdditionalData != nil {
		v, ok := p.AdditionalData.Get("assessedResourceType")
		if s, isStr := v.(string); !ok || !isStr || s == "" {
			errs = append(errs, missing("properties.additionalData.assessedResourceType"))
		}
	}
	if err := firstErr(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// SubAssessmentID returns the ID of finding name under an assessment ID.
func SubAssessmentID(assessmentID, name string) string {
	return strings.TrimSuffix(assessmentID, "/") + "/subAssessments/" + name
}

// CompleteSubAssessment fills id, name and type, the resource details
// (the assessed resource when empty) and timeGenerated (now when absent).
func CompleteSubAssessment(s *SubAssessment, assessmentID, name string, now time.Time) {
	s.ID = SubAssessmentID(assessmentID, name)
	s.Name = name
	s.Type = TypeSubAssessment
	if s.Properties.ID == "" {
		s.Properties.ID = name
	}
	if s.Properties.ResourceDetails.ID == "" && s.Properties.ResourceDetails.Source == "Azure" {
		if resource, _, _, ok := quickAssessmentID(assessmentID); ok {
			s.Properties.ResourceDetails.ID = resource
		} else if rid, _, err := ParseAssessmentID(assessmentID); err == nil {
			s.Properties.ResourceDetails.ID = rid
		}
	}
	if s.Properties.TimeGenerated == nil {
		s.Properties.TimeGenerated = NewTime(now)
	}
}
