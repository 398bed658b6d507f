package security

// Action is the envelope action of an exported event.
type Action string

// Envelope actions observed in continuous export traffic.
const (
	// ActionInsert marks a new or re-evaluated record.
	ActionInsert Action = "Insert"
	// ActionDelete marks a record that went away; the body carries its last
	// properties.
	ActionDelete Action = "Delete"
	// ActionWrite is the only action of regulatory compliance events.
	ActionWrite Action = "Write"
)

// StatusCode is an assessment or sub-assessment status code.
type StatusCode string

// Assessment status codes.
const (
	StatusHealthy       StatusCode = "Healthy"
	StatusUnhealthy     StatusCode = "Unhealthy"
	StatusNotApplicable StatusCode = "NotApplicable"
)

// ComplianceState is the state of a regulatory compliance standard, control
// or assessment.
type ComplianceState string

// Regulatory compliance states.
const (
	StatePassed      ComplianceState = "Passed"
	StateFailed      ComplianceState = "Failed"
	StateSkipped     ComplianceState = "Skipped"
	StateUnsupported ComplianceState = "Unsupported"
)

// Enumerations accepted from producers (compared case-insensitively and
// stored in this spelling).
var (
	// AlertSeverities are the REST alert severities.
	AlertSeverities = []string{"Informational", "Low", "Medium", "High"}
	// AlertStatuses are the REST alert statuses; Active exports as New.
	AlertStatuses = []string{"Active", "InProgress", "Resolved", "Dismissed"}
	// Intents are the REST kill-chain intents; an alert's intent may list
	// several, separated by commas.
	Intents = []string{"Unknown", "PreAttack", "InitialAccess", "Persistence", "PrivilegeEscalation",
		"DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement", "Execution", "Collection",
		"Exfiltration", "CommandAndControl", "Impact", "Probing", "Exploitation"}
	// ResourceIdentifierTypes are the REST alert resource identifier types.
	ResourceIdentifierTypes = []string{"AzureResource", "LogAnalytics"}
	// StatusCodes are the assessment status codes.
	StatusCodes = []string{string(StatusHealthy), string(StatusUnhealthy), string(StatusNotApplicable)}
	// Severities are recommendation and finding severities.
	Severities = []string{"Low", "Medium", "High"}
	// SubAssessmentSeverities also allow the Critical level the REST enum
	// added for findings.
	SubAssessmentSeverities = []string{"Low", "Medium", "High", "Critical"}
	// Sources are the resource details sources.
	Sources = []string{"Azure", "OnPremise", "OnPremiseSql", "OnPremiseResourceDetails", "Aws", "Gcp"}
	// AssessmentTypes are the assessment metadata types.
	AssessmentTypes = []string{"BuiltIn", "CustomPolicy", "CustomerManaged", "VerifiedPartner", "Custom",
		"BuiltInPolicy", "DynamicBuiltIn", "ManualBuiltIn", "ManualBuiltInPolicy", "ManualCustomPolicy"}
	// Categories are the recommendation categories.
	Categories = []string{"Compute", "Networking", "Data", "IdentityAndAccess", "IoT", "AppServices", "Container"}
	// Impacts are the userImpact and implementationEffort values.
	Impacts = []string{"Low", "Moderate", "High"}
	// Threats are the REST threat values.
	Threats = []string{"accountBreach", "dataExfiltration", "dataSpillage", "denialOfService",
		"elevationOfPrivilege", "maliciousInsider", "missingCoverage", "threatResistance"}
	// ComplianceStates are the regulatory compliance states.
	ComplianceStates = []string{string(StatePassed), string(StateFailed), string(StateSkipped), string(StateUnsupported)}
)

// Resource types of the records.
const (
	TypeAlert                          = "Microsoft.Security/Locations/alerts"
	TypeAssessment                     = "Microsoft.Security/assessments"
	TypeAssessmentMetadata             = "Microsoft.Security/assessmentMetadata"
	TypeSubAssessment                  = "Microsoft.Security/assessments/subAssessments"
	TypeSecureScore                    = "Microsoft.Security/secureScores"
	TypeSecureScoreControl             = "Microsoft.Security/secureScores/secureScoreControls"
	TypeSecureScoreControlDefinition   = "Microsoft.Security/secureScoreControlDefinitions"
	TypeRegulatoryComplianceStandard   = "Microsoft.Security/regulatoryComplianceStandards"
	TypeRegulatoryComplianceControl    = "Microsoft.Security/regulatoryComplianceStandards/regulatoryComplianceControls"
	TypeRegulatoryComplianceAssessment = "Microsoft.Security/regulatoryComplianceStandards/regulatoryComplianceControls/regulatoryComplianceAssessments"
)

// API versions written into export envelopes.
const (
	APIVersionAssessmentEvent    = "2019-01-01"
	APIVersionSubAssessmentEvent = "2020-01-01"
	APIVersionSecureScoreEvent   = "2020-01-01"
	APIVersionComplianceEvent    = "2019-01-01-preview"
)

// SecureScoreName is the name of the (only) overall secure score.
const SecureScoreName = "ascScore"
