package security

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const vmID = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"

type parseCase struct {
	name       string
	body       string
	wantCode   string // "" = success
	wantTarget string
}

func runParseCases(t *testing.T, parse func([]byte) error, tests []parseCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parse([]byte(tt.body))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error = %v, want *Error with code %s", err, tt.wantCode)
			}
			if e.Code != tt.wantCode || e.Target != tt.wantTarget {
				t.Errorf("error = {%s %q %q}, want code %s target %q", e.Code, e.Target, e.Message, tt.wantCode, tt.wantTarget)
			}
			if e.Message == "" {
				t.Error("empty message")
			}
		})
	}
}

func oversized() string {
	return `{"properties":{"alertType":"` + strings.Repeat("x", MaxRecordSize) + `"}}`
}

func TestParseAlert(t *testing.T) {
	ok := `{"properties":{"alertType":"VM_Test","alertDisplayName":"Test","severity":"high","status":"active","intent":"execution, persistence",
		"resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"` + vmID + `"}],"entities":[{"type":"host","hostName":"vm1"}],"unknownField":42}}`
	runParseCases(t, func(b []byte) error { _, err := ParseAlert(b); return err }, []parseCase{
		{name: "valid", body: ok},
		{name: "malformed_json", body: `{"properties":`, wantCode: CodeInvalidRequestContent},
		{name: "empty_body", body: ` `, wantCode: CodeInvalidRequestContent},
		{name: "not_an_object", body: `[1,2]`, wantCode: CodeInvalidRequestContent},
		{name: "missing_properties", body: `{"name":"x"}`, wantCode: CodeMissingRequiredProperty, wantTarget: "properties"},
		{name: "wrong_type_severity", body: `{"properties":{"severity":3}}`, wantCode: CodeInvalidRequestContent, wantTarget: "properties.severity"},
		{name: "wrong_type_remediation_steps", body: `{"properties":{"remediationSteps":"do it"}}`, wantCode: CodeInvalidRequestContent, wantTarget: "properties.remediationSteps"},
		{name: "wrong_type_entity", body: `{"properties":{"entities":["host"]}}`, wantCode: CodeInvalidRequestContent, wantTarget: "properties.entities"},
		{name: "extended_property_not_string", body: `{"properties":{"extendedProperties":{"PID":944}}}`, wantCode: CodeInvalidRequestContent, wantTarget: "properties.extendedProperties.PID"},
		{name: "bad_time", body: `{"properties":{"startTimeUtc":"yesterday"}}`, wantCode: CodeInvalidRequestContent, wantTarget: "properties.startTimeUtc"},
		{name: "missing_alert_type", body: strings.Replace(ok, `"alertType":"VM_Test",`, "", 1), wantCode: CodeMissingRequiredProperty, wantTarget: "properties.alertType"},
		{name: "missing_display_name", body: strings.Replace(ok, `"alertDisplayName":"Test",`, "", 1), wantCode: CodeMissingRequiredProperty, wantTarget: "properties.alertDisplayName"},
		{name: "missing_severity", body: strings.Replace(ok, `"severity":"high",`, "", 1), wantCode: CodeMissingRequiredProperty, wantTarget: "properties.severity"},
		{name: "unknown_severity", body: strings.Replace(ok, `"high"`, `"Critical"`, 1), wantCode: CodeInvalidEnumValue, wantTarget: "properties.severity"},
		{name: "unknown_status", body: strings.Replace(ok, `"active"`, `"New"`, 1), wantCode: CodeInvalidEnumValue, wantTarget: "properties.status"},
		{name: "unknown_intent", body: strings.Replace(ok, `persistence`, `Hacking`, 1), wantCode: CodeInvalidEnumValue, wantTarget: "properties.intent"},
		{name: "missing_identifiers", body: strings.Replace(ok, `"resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"`+vmID+`"}],`, "", 1), wantCode: CodeMissingRequiredProperty, wantTarget: "properties.resourceIdentifiers"},
		{name: "unknown_identifier_type", body: strings.Replace(ok, `"type":"AzureResource"`, `"type":"AAD"`, 1), wantCode: CodeInvalidEnumValue, wantTarget: "properties.resourceIdentifiers[0].type"},
		{name: "bad_resource_id", body: strings.Replace(ok, vmID, "/subscriptions/not-a-guid/resourceGroups/rg", 1), wantCode: CodeInvalidResourceID, wantTarget: "properties.resourceIdentifiers[0].azureResourceId"},
		{name: "entity_without_type", body: strings.Replace(ok, `"type":"host",`, "", 1), wantCode: CodeMissingRequiredProperty, wantTarget: "properties.entities[0].type"},
		{name: "end_before_start", body: strings.Replace(ok, `"severity"`, `"startTimeUtc":"2024-01-02T00:00:00Z","endTimeUtc":"2024-01-01T00:00:00Z","severity"`, 1), wantCode: CodeInvalidPropertyValue, wantTarget: "properties.endTimeUtc"},
		{name: "oversized", body: oversized(), wantCode: CodeRecordTooLarge},
	})
	a, err := ParseAlert([]byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{a.Properties.Severity, a.Properties.Status, a.Properties.Intent}
	if diff := cmp.Diff([]string{"High", "Active", "Execution, Persistence"}, got); diff != "" {
		t.Errorf("canonicalized enums (-want +got):\n%s", diff)
	}
}

func TestParseAssessment(t *testing.T) {
	ok := `{"properties":{"resourceDetails":{"source":"azure"},"status":{"code":"unhealthy","cause":"c","description":"d"},"additionalData":{"k":"v","n":null}}}`
	custom := `{"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"Healthy"},"metadata":{"displayName":"Custom","severity":"Medium","assessmentType":"CustomerManaged","categories":["compute"],"threats":["DataSpillage"]}}}`
	runParseCases(t, func(b []byte) error { _, err := ParseAssessment(b); return err }, []parseCase{
		{name: "valid", body: ok},
		{name: "valid_custom_metadata", body: custom},
		{name: "malformed_json", body: `{"properties":{]}`, wantCode: CodeInvalidRequestContent},
		{name: "missing_properties", body: `{}`, wantCode: CodeMissingRequiredProperty, wantTarget: "properties"},
		{name: "null_properties", body: `{"properties":null}`, wantCode: CodeMissingRequiredProperty, wantTarget: "properties"},
		{name: "wrong_type_status", body: `{"properties":{"status":"Healthy"}}`, wantCode: CodeInvalidRequestContent, wantTarget: "properties.status"},
		{name: "wrong_type_additional_data", body: `{"properties":{"additionalData":{"k":1}}}`, wantCode: CodeInvalidRequestContent, wantTarget: "properties.additionalData.k"},
		{name: "missing_source", body: `{"properties":{"resourceDetails":{},"status":{"code":"Healthy"}}}`, wantCode: CodeMissingRequiredProperty, wantTarget: "properties.resourceDetails.source"},
		{name: "unknown_source", body: `{"properties":{"resourceDetails":{"source":"Mars"},"status":{"code":"Healthy"}}}`, wantCode: CodeInvalidEnumValue, wantTarget: "properties.resourceDetails.source"},
		{name: "missing_status_code", body: `{"properties":{"resourceDetails":{"source":"Azure"},"status":{}}}`, wantCode: CodeMissingRequiredProperty, wantTarget: "properties.status.code"},
		{name: "unknown_status_code", body: `{"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"Removed"}}}`, wantCode: CodeInvalidEnumValue, wantTarget: "properties.status.code"},
		{name: "metadata_missing_display_name", body: strings.Replace(custom, `"displayName":"Custom",`, "", 1), wantCode: CodeMissingRequiredProperty, wantTarget: "properties.metadata.displayName"},
		{name: "metadata_unknown_severity", body: strings.Replace(custom, `"Medium"`, `"Critical"`, 1), wantCode: CodeInvalidEnumValue, wantTarget: "properties.metadata.severity"},
		{name: "metadata_unknown_threat", body: strings.Replace(custom, `"DataSpillage"`, `"Aliens"`, 1), wantCode: CodeInvalidEnumValue, wantTarget: "properties.metadata.threats[0]"},
		{name: "metadata_unknown_category", body: strings.Replace(custom, `"compute"`, `"Quantum"`, 1), wantCode: CodeInvalidEnumValue, wantTarget: "properties.metadata.categories[0]"},
		{name: "bad_resource_id", body: `{"properties":{"resourceDetails":{"source":"Azure","id":"vm1"},"status":{"code":"Healthy"}}}`, wantCode: CodeInvalidResourceID, wantTarget: "properties.resourceDetails.id"},
		{name: "oversized", body: oversized(), wantCode: CodeRecordTooLarge},
	})
	a, err := ParseAssessment([]byte(custom))
	if err != nil {
		t.Fatal(err)
	}
	m := a.Properties.Metadata
	if diff := cmp.Diff([]string{"Compute", "dataSpillage"}, []string{m.Categories[0], m.Threats[0]}); diff != "" {
		t.Errorf("canonicalized enums (-want +got):\n%s", diff)
	}
	b, _ := ParseAssessment([]byte(ok))
	if b.Properties.Status.Code != StatusUnhealthy || b.Properties.ResourceDetails.Source != "Azure" {
		t.Errorf("canonicalized = %q %q", b.Properties.Status.Code, b.Properties.ResourceDetails.Source)
	}
}

func TestParseAssessmentMetadata(t *testing.T) {
	ok := `{"properties":{"displayName":"Custom rec","severity":"High","assessmentType":"CustomerManaged","description":"d","userImpact":"Low","implementationEffort":"High"}}`
	runParseCases(t, func(b []byte) error { _, err := ParseAssessmentMetadata(b); return err }, []parseCase{
		{name: "valid", body: ok},
		{name: "malformed_json", body: `nope`, wantCode: CodeInvalidRequestContent},
		{name: "missing_properties", body: `{"id":"x"}`, wantCode: CodeMissingRequiredProperty, wantTarget: "properties"},
		{name: "wrong_type_categories", body: `{"properties":{"categories":"Compute"}}`, wantCode: CodeInvalidRequestContent, wantTarget: "properties.categories"},
		{name: "missing_assessment_type", body: strings.Replace(ok, `"assessmentType":"CustomerManaged",`, "", 1), wantCode: CodeMissingRequiredProperty, wantTarget: "properties.assessmentType"},
		{name: "unknown_assessment_type", body: strings.Replace(ok, `CustomerManaged`, `Homemade`, 1), wantCode: CodeInvalidEnumValue, wantTarget: "properties.assessmentType"},
		{name: "unknown_user_impact", body: strings.Replace(ok, `"userImpact":"Low"`, `"userImpact":"Medium"`, 1), wantCode: CodeInvalidEnumValue, wantTarget: "properties.userImpact"},
		{name: "too_long_display_name", body: strings.Replace(ok, `Custom rec`, strings.Repeat("y", 600), 1), wantCode: CodeInvalidPropertyValue, wantTarget: "properties.displayName"},
		{name: "oversized", body: oversized(), wantCode: CodeRecordTooLarge},
	})
}

func TestParseSubAssessment(t *testing.T) {
	ok := `{"properties":{"id":"1001","displayName":"Back Orifice","status":{"code":"Unhealthy","severity":"high"},"resourceDetails":{"source":"Azure","id":"` + vmID + `"},
		"timeGenerated":"2019-06-23T12:20:08.7644808Z","additionalData":{"assessedResourceType":"ServerVulnerability","cvss":{"2.0":{"base":10}}}}}`
	runParseCases(t, func(b []byte) error { _, err := ParseSubAssessment(b); return err }, []parseCase{
		{name: "valid", body: ok},
		{name: "malformed_json", body: `{"properties":{"displayName":}}`, wantCode: CodeInvalidRequestContent},
		{name: "missing_properties", body: `{}`, wantCode: CodeMissingRequiredProperty, wantTarget: "properties"},
		{name: "wrong_type_additional_data", body: `{"properties":{"additionalData":[1]}}`, wantCode: CodeInvalidRequestContent, wantTarget: "properties.additionalData"},
		{name: "wrong_type_time", body: `{"properties":{"timeGenerated":12}}`, wantCode: CodeInvalidRequestContent, wantTarget: "properties.timeGenerated"},
		{name: "missing_display_name", body: strings.Replace(ok, `"displayName":"Back Orifice",`, "", 1), wantCode: CodeMissingRequiredProperty, wantTarget: "properties.displayName"},
		{name: "missing_severity", body: strings.Replace(ok, `,"severity":"high"`, "", 1), wantCode: CodeMissingRequiredProperty, wantTarget: "properties.status.severity"},
		{name: "unknown_code", body: strings.Replace(ok, `"Unhealthy"`, `"Broken"`, 1), wantCode: CodeInvalidEnumValue, wantTarget: "properties.status.code"},
		{name: "missing_assessed_resource_type", body: strings.Replace(ok, `"assessedResourceType":"ServerVulnerability",`, "", 1), wantCode: CodeMissingRequiredProperty, wantTarget: "properties.additionalData.assessedResourceType"},
		{name: "bad_resource_id", body: strings.Replace(ok, vmID, "/subscriptions/11111111-1111-1111-1111-111111111111/bogus", 1), wantCode: CodeInvalidResourceID, wantTarget: "properties.resourceDetails.id"},
		{name: "oversized", body: oversized(), wantCode: CodeRecordTooLarge},
	})
}

func TestParseAssessmentID(t *testing.T) {
	rid, key, err := ParseAssessmentID(AssessmentID(vmID, "1f655fb7-63ca-4980-91a3-56dbc2b715c6"))
	if err != nil || rid != vmID || key != "1f655fb7-63ca-4980-91a3-56dbc2b715c6" {
		t.Errorf("ParseAssessmentID = %q, %q, %v", rid, key, err)
	}
	for _, bad := range []string{vmID, "/providers/Microsoft.Security/assessments/x", vmID + "/providers/Microsoft.Security/assessments/"} {
		if _, _, err := ParseAssessmentID(bad); !IsCode(err, CodeInvalidResourceID) {
			t.Errorf("ParseAssessmentID(%q) error = %v, want %s", bad, err, CodeInvalidResourceID)
		}
	}
}
