package security_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"sluice/internal/security"
	"sluice/internal/server/servertest"
)

// TestRoutes_bad_input sends bad requests to every security route and
// checks the ARM error status and code.
func TestRoutes_bad_input(t *testing.T) {
	e := newEnv(t)
	e.mustIngest(assessmentLine(security.AssessmentID(e.vm(1), systemUpdates), "Unhealthy"), alertLine(e.vm(1), "a1", "High"))
	sub := "/subscriptions/" + e.sub
	stranger := "/subscriptions/" + uuid.NewString()
	const av, mv, sv, alv, scv, cv = "?api-version=2025-05-04", "?api-version=2025-05-04", "?api-version=2019-01-01-preview",
		"?api-version=2022-01-01", "?api-version=2020-01-01", "?api-version=2019-01-01-preview"
	aPath := e.vm(1) + "/providers/Microsoft.Security/assessments/" + systemUpdates
	okAssessment := `{"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"Healthy"}}}`
	okMeta := `{"properties":{"displayName":"m","severity":"Low","assessmentType":"CustomerManaged"}}`
	metaPath := sub + "/providers/Microsoft.Security/assessmentMetadata/" + uuid.NewString()
	alertPath := sub + "/resourceGroups/rg1/providers/Microsoft.Security/locations/westeurope/alerts/a1"
	big := strings.Repeat("x", security.MaxRecordSize)
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		// Assessments.
		{"assessment/malformed", "PUT", aPath + av, `{"properties":`, 400, "InvalidRequestContent"},
		{"assessment/wrong_type", "PUT", aPath + av, `{"properties":{"resourceDetails":{"source":"Azure"},"status":"Healthy"}}`, 400, "InvalidRequestContent"},
		{"assessment/unknown_enum", "PUT", aPath + av, `{"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"Sick"}}}`, 400, "InvalidEnumValue"},
		{"assessment/missing_status", "PUT", aPath + av, `{"properties":{"resourceDetails":{"source":"Azure"}}}`, 400, "MissingRequiredProperty"},
		{"assessment/missing_properties", "PUT", aPath + av, `{}`, 400, "MissingRequiredProperty"},
		{"assessment/unknown_key", "PUT", e.vm(1) + "/providers/Microsoft.Security/assessments/" + uuid.NewString() + av, okAssessment, 400, "AssessmentMetadataNotFound"},
		{"assessment/unregistered", "PUT", stranger + "/providers/Microsoft.Security/assessments/" + systemUpdates + av, okAssessment, 404, "SubscriptionNotFound"},
		{"assessment/bad_subscription_id", "PUT", "/subscriptions/not-a-guid/providers/Microsoft.Security/assessments/" + systemUpdates + av, okAssessment, 400, "InvalidSubscriptionId"},
		{"assessment/oversized_record", "PUT", aPath + av, `{"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"Healthy"},"additionalData":{"x":"` + big + `"}}}`, 413, "RecordTooLarge"},
		{"assessment/oversized_body", "PUT", aPath + av, `{"x":"` + strings.Repeat("y", 4<<20) + `"}`, 413, "RequestEntityTooLarge"},
		{"assessment/no_api_version", "PUT", aPath, okAssessment, 400, "MissingApiVersionParameter"},
		{"assessment/bad_api_version", "GET", aPath + "?api-version=2015-06-01-preview", "", 400, "InvalidApiVersionParameter"},
		{"assessment/get_missing", "GET", e.vm(2) + "/providers/Microsoft.Security/assessments/" + systemUpdates + av, "", 404, "AssessmentNotFound"},
		{"assessment/list_unregistered", "GET", stranger + "/providers/Microsoft.Security/assessments" + av, "", 404, "SubscriptionNotFound"},
		{"assessment/list_bad_top", "GET", sub + "/providers/Microsoft.Security/assessments" + av + "&$top=-1", "", 400, "InvalidQueryParameterValue"},
		{"assessment/list_bad_skiptoken", "GET", sub + "/providers/Microsoft.Security/assessments" + av + "&$skipToken=%25%25", "", 400, "InvalidSkipToken"},
		// Assessment metadata.
		{"metadata/malformed", "PUT", metaPath + mv, `{"properties":{`, 400, "InvalidRequestContent"},
		{"metadata/wrong_type", "PUT", metaPath + mv, `{"properties":{"displayName":"m","severity":"Low","assessmentType":"CustomerManaged","categories":"Data"}}`, 400, "InvalidRequestContent"},
		{"metadata/unknown_enum", "PUT", metaPath + mv, `{"properties":{"displayName":"m","severity":"Low","assessmentType":"Homemade"}}`, 400, "InvalidEnumValue"},
		{"metadata/missing_display_name", "PUT", metaPath + mv, `{"properties":{"severity":"Low","assessmentType":"CustomerManaged"}}`, 400, "MissingRequiredProperty"},
		{"metadata/built_in_name", "PUT", sub + "/providers/Microsoft.Security/assessmentMetadata/" + systemUpdates + mv, okMeta, 409, "BuiltInAssessmentMetadata"},
		{"metadata/delete_built_in", "DELETE", sub + "/providers/Microsoft.Security/assessmentMetadata/" + systemUpdates + mv, "", 409, "BuiltInAssessmentMetadata"},
		{"metadata/unregistered", "PUT", stranger + "/providers/Microsoft.Security/assessmentMetadata/" + uuid.NewString() + mv, okMeta, 404, "SubscriptionNotFound"},
		{"metadata/oversized", "PUT", metaPath + mv, `{"properties":{"displayName":"` + big + `"}}`, 413, "RecordTooLarge"},
		{"metadata/get_missing", "GET", metaPath + mv, "", 404, "AssessmentMetadataNotFound"},
		{"metadata/builtin_missing", "GET", "/providers/Microsoft.Security/assessmentMetadata/" + uuid.NewString() + mv, "", 404, "AssessmentMetadataNotFound"},
		// Sub-assessments.
		{"subassessment/get_missing", "GET", aPath + "/subAssessments/none" + sv, "", 404, "SubAssessmentNotFound"},
		{"subassessment/list_unregistered", "GET", stranger + "/providers/Microsoft.Security/subAssessments" + sv, "", 404, "SubscriptionNotFound"},
		{"subassessment/bad_api_version", "GET", sub + "/providers/Microsoft.Security/subAssessments" + av, "", 400, "InvalidApiVersionParameter"},
		// Alerts.
		{"alert/get_missing", "GET", sub + "/providers/Microsoft.Security/locations/westeurope/alerts/none" + alv, "", 404, "AlertNotFound"},
		{"alert/dismiss_missing", "POST", sub + "/providers/Microsoft.Security/locations/westeurope/alerts/none/dismiss" + alv, "", 404, "AlertNotFound"},
		{"alert/list_unregistered", "GET", stranger + "/providers/Microsoft.Security/alerts" + alv, "", 404, "SubscriptionNotFound"},
		{"alert/unknown_action", "POST", alertPath + "/explode" + alv, "", 404, "NotFound"},
		{"alert/put_not_allowed", "PUT", alertPath + alv, "{}", 405, "MethodNotAllowed"},
		{"simulate/malformed", "POST", sub + "/providers/Microsoft.Security/locations/westeurope/alerts/default/simulate" + alv, `{"properties":`, 400, "InvalidRequestContent"},
		{"simulate/no_properties", "POST", sub + "/providers/Microsoft.Security/locations/westeurope/alerts/default/simulate" + alv, `{}`, 400, "MissingRequiredProperty"},
		{"simulate/wrong_kind", "POST", sub + "/providers/Microsoft.Security/locations/westeurope/alerts/default/simulate" + alv, `{"properties":{"kind":"Random"}}`, 400, "InvalidEnumValue"},
		{"simulate/bundles_wrong_type", "POST", sub + "/providers/Microsoft.Security/locations/westeurope/alerts/default/simulate" + alv, `{"properties":{"kind":"Bundles","bundles":"DNS"}}`, 400, "InvalidRequestContent"},
		{"simulate/unregistered", "POST", stranger + "/providers/Microsoft.Security/locations/westeurope/alerts/default/simulate" + alv, `{"properties":{"kind":"Bundles","bundles":["DNS"]}}`, 404, "SubscriptionNotFound"},
		{"simulate/unknown_operation", "GET", sub + "/providers/Microsoft.Security/locations/westeurope/alerts/default/simulate/operationResults/x" + alv, "", 404, "OperationNotFound"},
		// Secure scores.
		{"score/unknown", "GET", sub + "/providers/Microsoft.Security/secureScores/other" + scv, "", 404, "SecureScoreNotFound"},
		{"score/controls_of_unknown", "GET", sub + "/providers/Microsoft.Security/secureScores/other/secureScoreControls" + scv, "", 404, "SecureScoreNotFound"},
		{"score/bad_expand", "GET", sub + "/providers/Microsoft.Security/secureScoreControls" + scv + "&$expand=everything", "", 400, "InvalidQueryParameterValue"},
		{"score/unregistered", "GET", stranger + "/providers/Microsoft.Security/secureScores" + scv, "", 404, "SubscriptionNotFound"},
		{"score/bad_api_version", "GET", sub + "/providers/Microsoft.Security/secureScores" + cv, "", 400, "InvalidApiVersionParameter"},
		// Regulatory compliance.
		{"compliance/unknown_standard", "GET", sub + "/providers/Microsoft.Security/regulatoryComplianceStandards/none" + cv, "", 404, "RegulatoryComplianceStandardNotFound"},
		{"compliance/unknown_control", "GET", sub + "/providers/Microsoft.Security/regulatoryComplianceStandards/PCI-DSS-4/regulatoryComplianceControls/none" + cv, "", 404, "RegulatoryComplianceControlNotFound"},
		{"compliance/unknown_assessment", "GET", sub + "/providers/Microsoft.Security/regulatoryComplianceStandards/PCI-DSS-4/regulatoryComplianceControls/1.3.1/regulatoryComplianceAssessments/none" + cv, "", 404, "RegulatoryComplianceAssessmentNotFound"},
		{"compliance/unregistered", "GET", stranger + "/providers/Microsoft.Security/regulatoryComplianceStandards" + cv, "", 404, "SubscriptionNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			resp, out := e.Do(tt.method, tt.path, e.Token, body)
			if resp.StatusCode != tt.status || servertest.ErrorCode(out) != tt.code {
				t.Errorf("%s %s: %d %.300s, want %d %s", tt.method, tt.path, resp.StatusCode, out, tt.status, tt.code)
			}
		})
	}
	// Nothing a bad request carried was stored.
	a, err := e.Server.Security.GetAssessment(e.ctx, security.AssessmentID(e.vm(1), systemUpdates))
	if err != nil || a.Properties.Status.Code != security.StatusUnhealthy {
		t.Errorf("the assessment changed: %v %+v", err, a)
	}
}

// TestRoutes_need_rights: a caller without a role gets 403 on reads and
// writes.
func TestRoutes_need_rights(t *testing.T) {
	e := newEnv(t)
	tok := e.TokenFor(e.TenantID, uuid.NewString())
	aPath := e.vm(1) + "/providers/Microsoft.Security/assessments/" + systemUpdates + "?api-version=2025-05-04"
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/subscriptions/" + e.sub + "/providers/Microsoft.Security/assessments?api-version=2025-05-04", ""},
		{"PUT", aPath, `{"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"Healthy"}}}`},
		{"GET", "/subscriptions/" + e.sub + "/providers/Microsoft.Security/alerts?api-version=2022-01-01", ""},
		{"GET", "/subscriptions/" + e.sub + "/providers/Microsoft.Security/secureScores?api-version=2020-01-01", ""},
	} {
		var body any
		if tt.body != "" {
			body = tt.body
		}
		resp, out := e.Do(tt.method, tt.path, tok, body)
		if resp.StatusCode != http.StatusForbidden || servertest.ErrorCode(out) != "AuthorizationFailed" {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, resp.StatusCode, out)
		}
	}
}

// TestRoutes_paging follows nextLink through assessment, alert and
// compliance lists one item at a time.
func TestRoutes_paging(t *testing.T) {
	e := newEnv(t)
	var lines []string
	for i := range 3 {
		lines = append(lines, assessmentLine(security.AssessmentID(e.vm(i), systemUpdates), "Healthy"),
			alertLine(e.vm(i), "page-"+string(rune('a'+i)), "Low"))
	}
	e.mustIngest(lines...)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/subscriptions/" + e.sub + "/providers/Microsoft.Security/assessments?api-version=2025-05-04&$top=1", 3},
		{"/subscriptions/" + e.sub + "/providers/Microsoft.Security/alerts?api-version=2022-01-01&$top=1", 3},
		{"/subscriptions/" + e.sub + "/providers/Microsoft.Security/regulatoryComplianceStandards?api-version=2019-01-01-preview&$top=1", 4},
		{"/providers/Microsoft.Security/secureScoreControlDefinitions?api-version=2020-01-01&$top=4", 15},
	} {
		seen := map[string]bool{}
		next := tc.path
		for pages := 0; next != ""; pages++ {
			if pages > 20 {
				t.Fatalf("%s: too many pages", tc.path)
			}
			resp, body := e.Do(http.MethodGet, next, e.Token, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %s", next, resp.StatusCode, body)
			}
			var page struct {
				Value []struct {
					ID string `json:"id"`
				} `json:"value"`
				NextLink string `json:"nextLink"`
			}
			if err := json.Unmarshal(body, &page); err != nil {
				t.Fatal(err)
			}
			for _, v := range page.Value {
				if seen[v.ID] {
					t.Errorf("%s: %s listed twice", tc.path, v.ID)
				}
				seen[v.ID] = true
			}
			next = ""
			if page.NextLink != "" {
				u, err := url.Parse(page.NextLink)
				if err != nil {
					t.Fatal(err)
				}
				next = u.RequestURI()
			}
		}
		if len(seen) != tc.want {
			t.Errorf("%s: %d items, want %d", tc.path, len(seen), tc.want)
		}
	}
}
