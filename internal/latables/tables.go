// Package latables maps exported events to rows of the Log Analytics
// Security tables that continuous export writes (SecurityAlert,
// SecurityRecommendation, SecurityNestedRecommendation, SecureScores,
// SecureScoreControls, SecurityRegulatoryCompliance).
//
// The column lists and types are those of the Azure Monitor table
// reference; the event → column mapping follows the reconstruction in
// export-schemas.md §5.1. Both the Logs Ingestion API sink and a workspace
// hosted by Sluice build their rows here, so the two kinds of workspace hold
// the same data.
package latables

import (
	"fmt"
	"strings"
)

// Type is a Log Analytics column type, spelled as the query API and the
// table reference spell it.
type Type string

// Column types.
const (
	String   Type = "string"
	Int      Type = "int"
	Long     Type = "long"
	Real     Type = "real"
	Bool     Type = "bool"
	DateTime Type = "datetime"
	Dynamic  Type = "dynamic"
)

// Kind tells who fills a column.
type Kind int

// Column kinds.
const (
	// Data columns are filled from the event and are what a Logs Ingestion
	// stream and a custom table declare.
	Data Kind = iota
	// Reserved columns (TenantId, Type) exist in every table but cannot be
	// declared in a custom table: the workspace fills them. Rows carry
	// Sluice's values for a workspace it hosts.
	Reserved
	// System columns start with an underscore (_BilledSize, _IsBillable,
	// _ResourceId, _SubscriptionId); the workspace fills them.
	System
)

// Column is one column of a table.
type Column struct {
	Name string
	Type Type
	Kind Kind
}

// Table is one Security table.
type Table struct {
	// Name is the Microsoft table name, e.g. SecurityAlert.
	Name string
	// Columns are the table's columns in reference order, followed by the
	// documented extras (see Extras).
	Columns []Column
	// Extras names the columns that exist in practice but that the
	// generated table reference omits (see the package documentation of
	// each table below).
	Extras []string

	index  map[string]int
	stream []int
}

// CustomName is the name of the custom table Sluice writes through the Logs
// Ingestion API: the Microsoft name with the _CL suffix, because the
// Microsoft Security tables do not accept that API.
func (t *Table) CustomName() string { return t.Name + "_CL" }

// DefaultStream is the Logs Ingestion stream name of the table in the data
// collection rule Sluice ships: Custom-<Table>_CL.
func (t *Table) DefaultStream() string { return "Custom-" + t.CustomName() }

// Index returns the position of a column (case-sensitive, as in KQL), or -1.
func (t *Table) Index(name string) int {
	if i, ok := t.index[name]; ok {
		return i
	}
	return -1
}

// StreamColumns returns the Data columns: those a Logs Ingestion stream
// declaration and a custom table definition list.
func (t *Table) StreamColumns() []Column {
	out := make([]Column, len(t.stream))
	for i, c := range t.stream {
		out[i] = t.Columns[c]
	}
	return out
}

func newTable(name string, spec string, extras ...string) *Table {
	t := &Table{Name: name, Extras: extras, index: map[string]int{}}
	for _, f := range strings.Fields(spec) {
		n, typ, ok := strings.Cut(f, ":")
		if !ok {
			panic("latables: bad column spec " + f) // static table definitions below
		}
		c := Column{Name: n, Type: Type(typ), Kind: Data}
		switch {
		case strings.HasPrefix(n, "_"):
			c.Kind = System
		case n == "TenantId" || n == "Type":
			c.Kind = Reserved
		}
		if _, dup := t.index[n]; dup {
			panic("latables: duplicate column " + n)
		}
		t.index[n] = len(t.Columns)
		if c.Kind == Data {
			t.stream = append(t.stream, len(t.Columns))
		}
		t.Columns = append(t.Columns, c)
	}
	return t
}

// Table names.
const (
	SecurityAlert                = "SecurityAlert"
	SecurityRecommendation       = "SecurityRecommendation"
	SecurityNestedRecommendation = "SecurityNestedRecommendation"
	SecureScores                 = "SecureScores"
	SecureScoreControls          = "SecureScoreControls"
	SecurityRegulatoryCompliance = "SecurityRegulatoryCompliance"
)

// The six tables. Column lists: the Azure Monitor table reference (see
// testdata/schema-la-tables.json), then the extras.
var (
	// alertTable: extras TenantId and SourceSystem, documented for
	// SecurityAlert in the Microsoft Sentinel alert schema.
	alertTable = newTable(SecurityAlert, `
		AlertLink:string AlertName:string AlertSeverity:string AlertType:string _BilledSize:real
		CompromisedEntity:string ConfidenceLevel:string ConfidenceScore:real Description:string
		DisplayName:string EndTime:datetime Entities:string ExtendedLinks:string ExtendedProperties:string
		_IsBillable:string IsIncident:bool ProcessingEndTime:datetime ProductComponentName:string
		ProductName:string ProviderName:string RemediationSteps:string ResourceId:string
		SourceComputerId:string StartTime:datetime Status:string SubTechniques:string SystemAlertId:string
		Tactics:string Techniques:string TimeGenerated:datetime Type:string VendorName:string
		VendorOriginalId:string WorkspaceResourceGroup:string WorkspaceSubscriptionId:string
		TenantId:string SourceSystem:string`, "TenantId", "SourceSystem")

	// recommendationTable: extras TenantId, SourceSystem,
	// RemediationDescription and NotApplicableReason, documented by the
	// 2019 continuous-export README and used by Microsoft's published KQL.
	recommendationTable = newTable(SecurityRecommendation, `
		AssessedResourceId:string _BilledSize:real Description:string DeviceId:string
		DiscoveredTimeUTC:datetime Environment:string FirstEvaluationDate:datetime _IsBillable:string
		IsSnapshot:bool PolicyDefinitionId:string Properties:dynamic ProviderName:string
		RecommendationAdditionalData:dynamic RecommendationDisplayName:string RecommendationId:string
		RecommendationName:string RecommendationSeverity:string RecommendationState:string
		ResolvedTimeUTC:datetime ResourceRegion:string StatusChangeDate:datetime TimeGenerated:datetime
		Type:string
		TenantId:string SourceSystem:string RemediationDescription:string NotApplicableReason:string`,
		"TenantId", "SourceSystem", "RemediationDescription", "NotApplicableReason")

	nestedTable = newTable(SecurityNestedRecommendation, `
		AdditionalData:dynamic AssessedResourceId:string _BilledSize:real Category:string Cause:string
		Description:string Id:string Impact:string _IsBillable:string IsSnapshot:bool
		NestedRecommendationId:string ParentRecommendationId:string RecommendationLink:string
		RecommendationName:string RecommendationSeverity:string RecommendationState:string
		RecommendationSubscriptionId:string RemediationDescription:string RemidiationDescription:string
		ResourceDetails:dynamic ResourceGroup:string _ResourceId:string ResourceProviderType:string
		SourceSystem:string SubAssessmentTimeGeneration:datetime _SubscriptionId:string TenantId:string
		TimeGenerated:datetime Type:string VulnerabilityId:string`)

	scoreTable = newTable(SecureScores, `
		AssessedResourceId:string _BilledSize:real CurrentScore:real DisplayName:string Environment:string
		_IsBillable:string IsSnapshot:bool MaxScore:int PercentageScore:real Properties:dynamic
		_ResourceId:string ResourceProviderType:string SecureScoresSubscriptionId:string SourceSystem:string
		_SubscriptionId:string TenantId:string TimeGenerated:datetime Type:string Weight:long`)

	controlTable = newTable(SecureScoreControls, `
		AssessedResourceId:string _BilledSize:real ControlId:string ControlName:string ControlType:string
		CurrentScore:real Description:string Environment:string HealthyResources:int _IsBillable:string
		IsSnapshot:bool MaxScore:int NotApplicableResources:int PercentageScore:real Properties:dynamic
		RecommendationResourceIds:dynamic _ResourceId:string ResourceProviderType:string
		SecureScoresSubscriptionId:string SourceSystem:string _SubscriptionId:string TenantId:string
		TimeGenerated:datetime Type:string UnhealthyResources:int Weight:long`)

	complianceTable = newTable(SecurityRegulatoryCompliance, `
		AssessedResourceId:string _BilledSize:real ComplianceControl:string ComplianceStandard:string
		FailedResources:int _IsBillable:string IsSnapshot:bool PassedResources:int Properties:dynamic
		RecommendationId:string RecommendationLink:string RecommendationName:string
		RegulatoryComplianceSubscriptionId:string _ResourceId:string ResourceProviderType:string
		SkippedResources:int SourceSystem:string State:string _SubscriptionId:string TenantId:string
		TimeGenerated:datetime Type:string`)

	allTables = []*Table{alertTable, recommendationTable, nestedTable, scoreTable, controlTable, complianceTable}
)

// Tables returns the six tables, in a fixed order. Callers must not modify
// them.
func Tables() []*Table { return append([]*Table(nil), allTables...) }

// Lookup returns a table by its Microsoft name or its custom (_CL) name,
// ignoring case.
func Lookup(name string) (*Table, bool) {
	n := strings.TrimSuffix(strings.ToLower(name), "_cl")
	for _, t := range allTables {
		if strings.ToLower(t.Name) == n {
			return t, true
		}
	}
	return nil, false
}

// Event sources (the automation eventSource values), lower-cased, by table.
var sourceTables = map[string]*Table{
	"alerts":                                 alertTable,
	"assessments":                            recommendationTable,
	"assessmentssnapshot":                    recommendationTable,
	"subassessments":                         nestedTable,
	"subassessmentssnapshot":                 nestedTable,
	"securescores":                           scoreTable,
	"securescoressnapshot":                   scoreTable,
	"securescorecontrols":                    controlTable,
	"securescorecontrolssnapshot":            controlTable,
	"regulatorycomplianceassessment":         complianceTable,
	"regulatorycomplianceassessmentsnapshot": complianceTable,
}

// TableFor returns the table an event source is written to.
func TableFor(source string) (*Table, error) {
	if t, ok := sourceTables[strings.ToLower(source)]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("latables: event source %q has no Log Analytics table", source)
}
