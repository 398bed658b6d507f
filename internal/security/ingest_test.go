package security_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"sluice/internal/armid"
	"sluice/internal/auth"
	"sluice/internal/config"
	"sluice/internal/ingest"
	"sluice/internal/security"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

func countBySource(evs []*store.Event) map[string]int {
	out := map[string]int{}
	for _, ev := range evs {
		out[ev.Source]++
	}
	return out
}

func lineCodes(res *ingest.Result) map[int]string {
	out := map[int]string{}
	for _, r := range res.Results {
		if r.Error != nil {
			out[r.Line] = r.Error.Code
		} else {
			out[r.Line] = r.Status
		}
	}
	return out
}

func TestIngest_mixed_batch(t *testing.T) {
	e := newEnv(t)
	custom := uuid.NewString()
	a1 := security.AssessmentID(e.vm(1), systemUpdates)
	a2 := security.AssessmentID(e.vm(2), custom)
	stranger := strings.Replace(e.vm(3), e.sub, uuid.NewString(), 1)
	lines := []string{
		/* 1 */ assessmentLine(a1, "Unhealthy"),
		/* 2 */ `{"type":"Microsoft.Security/assessments",`,
		/* 3 */ alertLine(e.vm(1), "mixed-1", "Medium"),
		/* 4 */ ``,
		/* 5 */ `{"type":"Microsoft.Security/assessmentMetadata","id":"/subscriptions/` + e.sub + `/providers/Microsoft.Security/assessmentMetadata/` + custom + `",
			"properties":{"displayName":"Backups are tested","severity":"Medium","assessmentType":"CustomerManaged","categories":["Data"]}}`,
		/* 6 */ assessmentLine(a2, "Unhealthy"),
		/* 7 */ subAssessmentLine(a1, "finding-1", "Unhealthy"),
		/* 8 */ assessmentLine(security.AssessmentID(stranger, systemUpdates), "Healthy"),
		/* 9 */ `{"op":"delete","type":"Microsoft.Security/assessments","id":"` + security.AssessmentID(e.vm(9), systemUpdates) + `"}`,
		/* 10 */ `{"type":"Microsoft.Compute/virtualMachines","id":"` + e.vm(1) + `"}`,
		/* 11 */ assessmentLine(a1, "Unhealthy"),
	}
	res := e.ingest(lines...)
	want := map[int]string{1: "accepted", 2: "InvalidRequestContent", 3: "accepted", 5: "accepted", 6: "accepted", 7: "accepted",
		8: "SubscriptionNotFound", 9: "accepted", 10: "UnsupportedRecordType", 11: "accepted"}
	got := lineCodes(res)
	for line, code := range want {
		if got[line] != code {
			t.Errorf("line %d: %q, want %q", line, got[line], code)
		}
	}
	if res.Accepted != 7 || res.Rejected != 3 || len(res.Results) != 10 {
		t.Errorf("accepted %d rejected %d results %d", res.Accepted, res.Rejected, len(res.Results))
	}
	if res.Results[2].ID != "/subscriptions/"+e.sub+"/resourceGroups/rg1/providers/Microsoft.Security/locations/westeurope/alerts/mixed-1" {
		t.Errorf("alert result id = %s", res.Results[2].ID)
	}
	counts := countBySource(e.events())
	// Two assessment inserts (line 11 repeats line 1), one alert, one
	// finding; the first computation writes every compliance assessment and
	// no score (the baseline).
	if counts[security.SourceAssessments] != 2 || counts[security.SourceAlerts] != 1 || counts[security.SourceSubAssessments] != 1 ||
		counts[security.SourceSecureScores] != 0 || counts[security.SourceRegulatoryComplianceAssessment] == 0 {
		t.Errorf("events = %v", counts)
	}
	var custAssessment *store.Event
	for _, ev := range e.events() {
		if ev.Source == security.SourceAssessments && strings.Contains(string(ev.Body), custom) {
			custAssessment = ev
		}
	}
	if custAssessment == nil || !strings.Contains(string(custAssessment.Body), `"displayName":"Backups are tested"`) {
		t.Errorf("the assessment of line 6 did not take the metadata of line 5")
	}
	before := len(e.events())

	// The second batch moves the score and removes an assessment.
	e.mustIngest(assessmentLine(a1, "Healthy"), `{"op":"delete","type":"Microsoft.Security/assessments","id":"`+a2+`"}`)
	evs := e.events()[before:]
	counts = countBySource(evs)
	if counts[security.SourceAssessments] != 2 || counts[security.SourceSecureScores] != 1 || counts[security.SourceSecureScoreControls] != 1 {
		t.Errorf("second batch events = %v", counts)
	}
	for _, ev := range evs {
		if ev.Source == security.SourceRegulatoryComplianceAssessment && !strings.Contains(string(ev.Body), systemUpdates) {
			t.Errorf("a compliance assessment whose state did not change was exported: %s", ev.Body)
		}
		if ev.Tenant != e.TenantID || !strings.EqualFold(ev.Subscription, e.sub) {
			t.Errorf("event %s: tenant %s subscription %s", ev.Source, ev.Tenant, ev.Subscription)
		}
	}
	if counts[security.SourceRegulatoryComplianceAssessment] == 0 {
		t.Error("the system updates recommendation passed, yet no compliance event")
	}
}

func TestIngest_bad_lines(t *testing.T) {
	e := newEnv(t)
	strangerSub := uuid.NewString()
	a1 := security.AssessmentID(e.vm(1), systemUpdates)
	e.mustIngest(assessmentLine(a1, "Unhealthy"))
	big := strings.Repeat("x", security.MaxRecordSize)
	metaID := "/subscriptions/" + e.sub + "/providers/Microsoft.Security/assessmentMetadata/" + uuid.NewString()
	assessmentWith := func(id, props string) string {
		return `{"type":"Microsoft.Security/assessments","id":"` + id + `","properties":` + props + `}`
	}
	subWith := func(id, props string) string {
		return `{"type":"Microsoft.Security/assessments/subAssessments","id":"` + id + `","properties":` + props + `}`
	}
	alertWith := func(props string) string {
		return `{"type":"Microsoft.Security/Locations/alerts","properties":` + props + `}`
	}
	metaWith := func(id, props string) string {
		return `{"type":"Microsoft.Security/assessmentMetadata","id":"` + id + `","properties":` + props + `}`
	}
	okStatus := `{"resourceDetails":{"source":"Azure"},"status":{"code":"Healthy"}}`
	okFinding := `{"displayName":"f","status":{"code":"Unhealthy","severity":"Low"},"resourceDetails":{"source":"Azure"}}`
	okAlert := func(resource string) string {
		return `{"alertType":"T","alertDisplayName":"D","severity":"Low","resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"` + resource + `"}]}`
	}
	okMeta := `{"displayName":"m","severity":"Low","assessmentType":"CustomerManaged"}`
	cases := []struct {
		name, line, code string
	}{
		{"envelope/no_type", `{"id":"x"}`, "MissingRequiredProperty"},
		{"envelope/type_not_string", `{"type":7}`, "InvalidRequestContent"},
		{"envelope/not_an_object", `[1,2]`, "InvalidRequestContent"},
		{"envelope/unknown_op", `{"type":"Microsoft.Security/assessments","op":"merge"}`, "InvalidOperation"},
		{"envelope/alert_delete", `{"type":"Microsoft.Security/alerts","op":"delete","id":"x"}`, "InvalidOperation"},

		{"assessment/malformed", `{"type":"Microsoft.Security/assessments","id":"` + a1 + `","properties":{`, "InvalidRequestContent"},
		{"assessment/code_wrong_type", assessmentWith(a1, `{"resourceDetails":{"source":"Azure"},"status":{"code":3}}`), "InvalidRequestContent"},
		{"assessment/code_unknown", assessmentWith(a1, `{"resourceDetails":{"source":"Azure"},"status":{"code":"Broken"}}`), "InvalidEnumValue"},
		{"assessment/source_unknown", assessmentWith(a1, `{"resourceDetails":{"source":"Mars"},"status":{"code":"Healthy"}}`), "InvalidEnumValue"},
		{"assessment/no_status", assessmentWith(a1, `{"resourceDetails":{"source":"Azure"}}`), "MissingRequiredProperty"},
		{"assessment/no_properties", `{"type":"Microsoft.Security/assessments","id":"` + a1 + `"}`, "MissingRequiredProperty"},
		{"assessment/no_id", `{"type":"Microsoft.Security/assessments","properties":` + okStatus + `}`, "MissingRequiredProperty"},
		{"assessment/bad_id", assessmentWith("/subscriptions/"+e.sub+"/nothing", okStatus), "InvalidResourceId"},
		{"assessment/unregistered", assessmentWith(security.AssessmentID("/subscriptions/"+strangerSub, systemUpdates), okStatus), "SubscriptionNotFound"},
		{"assessment/unknown_key", assessmentWith(security.AssessmentID(e.vm(1), uuid.NewString()), okStatus), "AssessmentMetadataNotFound"},
		{"assessment/oversized", assessmentWith(a1, `{"resourceDetails":{"source":"Azure"},"status":{"code":"Healthy"},"additionalData":{"x":"`+big+`"}}`), "RecordTooLarge"},

		{"subassessment/malformed", subWith(a1+"/subAssessments/f", `{"displayName":`), "InvalidRequestContent"},
		{"subassessment/name_wrong_type", subWith(a1+"/subAssessments/f", `{"displayName":1,"status":{"code":"Unhealthy","severity":"Low"},"resourceDetails":{"source":"Azure"}}`), "InvalidRequestContent"},
		{"subassessment/severity_unknown", subWith(a1+"/subAssessments/f", `{"displayName":"f","status":{"code":"Unhealthy","severity":"Severe"},"resourceDetails":{"source":"Azure"}}`), "InvalidEnumValue"},
		{"subassessment/no_display_name", subWith(a1+"/subAssessments/f", `{"status":{"code":"Unhealthy","severity":"Low"},"resourceDetails":{"source":"Azure"}}`), "MissingRequiredProperty"},
		{"subassessment/bad_id", subWith(a1, okFinding), "InvalidResourceId"},
		{"subassessment/unregistered", subWith(security.AssessmentID("/subscriptions/"+strangerSub, systemUpdates)+"/subAssessments/f", okFinding), "SubscriptionNotFound"},
		{"subassessment/no_parent", subWith(security.AssessmentID(e.vm(5), systemUpdates)+"/subAssessments/f", okFinding), "ParentResourceNotFound"},
		{"subassessment/oversized", subWith(a1+"/subAssessments/f", `{"displayName":"`+big+`"}`), "RecordTooLarge"},

		{"alert/malformed", `{"type":"Microsoft.Security/alerts","properties":{"alertType":}`, "InvalidRequestContent"},
		{"alert/severity_wrong_type", alertWith(`{"alertType":"T","alertDisplayName":"D","severity":2}`), "InvalidRequestContent"},
		{"alert/severity_unknown", alertWith(`{"alertType":"T","alertDisplayName":"D","severity":"Catastrophic","resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"` + e.vm(1) + `"}]}`), "InvalidEnumValue"},
		{"alert/intent_unknown", alertWith(`{"alertType":"T","alertDisplayName":"D","severity":"Low","intent":"Teleport","resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"` + e.vm(1) + `"}]}`), "InvalidEnumValue"},
		{"alert/no_type", alertWith(`{"alertDisplayName":"D","severity":"Low","resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"` + e.vm(1) + `"}]}`), "MissingRequiredProperty"},
		{"alert/no_resource", alertWith(`{"alertType":"T","alertDisplayName":"D","severity":"Low"}`), "MissingRequiredProperty"},
		{"alert/bad_time", alertWith(`{"alertType":"T","alertDisplayName":"D","severity":"Low","startTimeUtc":"yesterday","resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"` + e.vm(1) + `"}]}`), "InvalidRequestContent"},
		{"alert/unregistered", alertWith(okAlert(strings.Replace(e.vm(1), e.sub, strangerSub, 1))), "SubscriptionNotFound"},
		{"alert/oversized", alertWith(`{"alertType":"T","alertDisplayName":"D","severity":"Low","description":"` + big + `"}`), "RecordTooLarge"},

		{"metadata/malformed", metaWith(metaID, `{"displayName":`), "InvalidRequestContent"},
		{"metadata/severity_wrong_type", metaWith(metaID, `{"displayName":"m","severity":1,"assessmentType":"CustomerManaged"}`), "InvalidRequestContent"},
		{"metadata/severity_unknown", metaWith(metaID, `{"displayName":"m","severity":"Dire","assessmentType":"CustomerManaged"}`), "InvalidEnumValue"},
		{"metadata/no_display_name", metaWith(metaID, `{"severity":"Low","assessmentType":"CustomerManaged"}`), "MissingRequiredProperty"},
		{"metadata/bad_id", metaWith("/subscriptions/"+e.sub+"/providers/Microsoft.Security/automations/x", okMeta), "InvalidResourceId"},
		{"metadata/unregistered", metaWith("/subscriptions/"+strangerSub+"/providers/Microsoft.Security/assessmentMetadata/"+uuid.NewString(), okMeta), "SubscriptionNotFound"},
		{"metadata/built_in_name", metaWith("/subscriptions/"+e.sub+"/providers/Microsoft.Security/assessmentMetadata/"+systemUpdates, okMeta), "BuiltInAssessmentMetadata"},
		{"metadata/oversized", metaWith(metaID, `{"displayName":"`+big+`"}`), "RecordTooLarge"},

		{"delete/no_id", `{"op":"delete","type":"Microsoft.Security/assessments"}`, "MissingRequiredProperty"},
		{"delete/bad_id", `{"op":"delete","type":"Microsoft.Security/assessments/subAssessments","id":"` + a1 + `"}`, "InvalidResourceId"},
		{"delete/unregistered", `{"op":"delete","type":"Microsoft.Security/assessments","id":"` + security.AssessmentID("/subscriptions/"+strangerSub, systemUpdates) + `"}`, "SubscriptionNotFound"},
		{"line/over_1MB", `{"type":"Microsoft.Security/assessments","x":"` + strings.Repeat("y", ingest.MaxLineBytes) + `"}`, "RecordTooLarge"},
	}
	lines := make([]string, 0, len(cases)+1)
	for _, c := range cases {
		lines = append(lines, c.line)
	}
	good := security.AssessmentID(e.vm(7), systemUpdates)
	lines = append(lines, assessmentLine(good, "Healthy"))
	before := len(e.events())
	res := e.ingest(lines...)
	got := lineCodes(res)
	for i, c := range cases {
		if got[i+1] != c.code {
			msg := ""
			if r := res.Results[i]; r.Error != nil {
				msg = r.Error.Message
			}
			t.Errorf("%s: %q (%.200s), want %q", c.name, got[i+1], msg, c.code)
		}
	}
	if got[len(lines)] != "accepted" || res.Accepted != 1 || res.Rejected != len(cases) {
		t.Errorf("the good line after %d bad ones: %q (accepted %d, rejected %d)", len(cases), got[len(lines)], res.Accepted, res.Rejected)
	}
	// Nothing of the rejected lines remains: one new assessment, its events.
	n, err := e.Server.Store.Count(e.ctx, store.ListOptions{Kind: security.KindAssessment})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d assessments stored, want 2", n)
	}
	for _, kind := range []string{security.KindAlert, security.KindSubAssessment, security.KindMetadata} {
		if n, _ := e.Server.Store.Count(e.ctx, store.ListOptions{Kind: kind}); n != 0 {
			t.Errorf("%d %s records stored from rejected lines", n, kind)
		}
	}
	for _, ev := range e.events()[before:] {
		if ev.Source == security.SourceAssessments && !strings.Contains(string(ev.Body), good) {
			t.Errorf("event from a rejected line: %.200s", ev.Body)
		}
	}
}

func TestIngest_request_limits(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Export.MaxBacklog = 1 })
	path := server.IngestPath + "?api-version=2024-01-01"
	line := assessmentLine(security.AssessmentID(e.vm(1), systemUpdates), "Healthy")
	tests := []struct {
		name   string
		path   string
		token  string
		body   string
		status int
		code   string
	}{
		{"no_api_version", server.IngestPath, e.Token, line, http.StatusBadRequest, "MissingApiVersionParameter"},
		{"wrong_api_version", server.IngestPath + "?api-version=2019-01-01", e.Token, line, http.StatusBadRequest, "InvalidApiVersionParameter"},
		{"no_token", path, "", line, http.StatusUnauthorized, "AuthenticationFailed"},
		{"empty_body", path, e.Token, "\n\n", http.StatusBadRequest, "InvalidRequestContent"},
		{"too_many_lines", path, e.Token, strings.Repeat("{}\n", ingest.MaxLines+1), http.StatusRequestEntityTooLarge, "TooManyRecords"},
		{"too_large", path, e.Token, strings.Repeat(" ", ingest.MaxRequestBytes+1), http.StatusRequestEntityTooLarge, "RequestEntityTooLarge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.Do(http.MethodPost, tt.path, tt.token, tt.body)
			if resp.StatusCode != tt.status || !strings.HasPrefix(servertest.ErrorCode(body), tt.code) {
				t.Errorf("%d %.300s, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
		})
	}
	t.Run("no_rights_per_line", func(t *testing.T) {
		stranger := e.TokenFor(e.TenantID, uuid.NewString())
		resp, body := e.Do(http.MethodPost, path, stranger, line)
		var res ingest.Result
		_ = json.Unmarshal(body, &res)
		if resp.StatusCode != http.StatusOK || res.Rejected != 1 || res.Results[0].Error.Code != "AuthorizationFailed" {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("backlog_sheds_load", func(t *testing.T) {
		// An automation whose Logic App never answers keeps what it is sent
		// queued: two new assessments put the backlog over its bound of 1.
		auto := "/subscriptions/" + e.sub + "/resourceGroups/rg1/providers/Microsoft.Security/automations/stuck?api-version=2023-12-01-preview"
		resp, out := e.Do(http.MethodPut, auto, e.Token, map[string]any{"location": "westeurope", "properties": map[string]any{
			"isEnabled": true,
			"scopes":    []any{map[string]any{"scopePath": "/subscriptions/" + e.sub}},
			"sources":   []any{map[string]any{"eventSource": "Assessments"}},
			"actions": []any{map[string]any{"actionType": "LogicApp",
				"logicAppResourceId": "/subscriptions/" + e.sub + "/resourceGroups/rg1/providers/Microsoft.Logic/workflows/stuck",
				"uri":                "https://127.0.0.1:1/workflows/stuck/triggers/manual/paths/invoke?sig=c2ln"}},
		}})
		if resp.StatusCode/100 != 2 {
			t.Fatalf("put automation: %d %s", resp.StatusCode, out)
		}
		e.mustIngest(assessmentLine(security.AssessmentID(e.vm(2), systemUpdates), "Unhealthy"),
			assessmentLine(security.AssessmentID(e.vm(3), systemUpdates), "Unhealthy"))
		deadline := time.Now().Add(30 * time.Second)
		for {
			n, err := e.Server.Store.Backlog(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the backlog holds %d events, want 2", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		resp, body := e.Do(http.MethodPost, path, e.Token, line)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || servertest.ErrorCode(body) != "ExportBacklogFull" {
			t.Errorf("%d Retry-After=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	})
}

// TestIngest_repeated_records_in_one_batch: lines prepared ahead of the
// transaction from the cache must not be applied when an earlier line of
// the same batch changed the same assessment.
func TestIngest_repeated_records_in_one_batch(t *testing.T) {
	e := newEnv(t)
	id := security.AssessmentID(e.vm(1), systemUpdates)
	e.mustIngest(assessmentLine(id, "Healthy"))
	before := len(e.events())
	e.mustIngest(assessmentLine(id, "Healthy"), assessmentLine(id, "Unhealthy"), assessmentLine(id, "Unhealthy"), assessmentLine(id, "Healthy"))
	var codes []string
	for _, ev := range e.events()[before:] {
		if ev.Source == security.SourceAssessments {
			var b struct {
				Properties struct {
					Status struct{ Code string }
				}
			}
			_ = json.Unmarshal(ev.Body, &b)
			codes = append(codes, b.Properties.Status.Code)
		}
	}
	if strings.Join(codes, ",") != "Unhealthy,Healthy" {
		t.Errorf("exported codes = %v, want Unhealthy,Healthy", codes)
	}
	a, err := e.Server.Security.GetAssessment(e.ctx, id)
	if err != nil || a.Properties.Status.Code != security.StatusHealthy {
		t.Errorf("stored: %v %+v", err, a)
	}
}

// TestIngest_repeated_alerts_in_one_batch: an alert prepared as new must
// not be created twice when it repeats within a batch.
func TestIngest_repeated_alerts_in_one_batch(t *testing.T) {
	e := newEnv(t)
	e.mustIngest(alertLine(e.vm(1), "warm-up", "Low")) // the subscription is cached from here on
	before := len(e.events())
	dismissed := strings.Replace(alertLine(e.vm(1), "twice", "High"), `"severity":"High"`, `"severity":"High","status":"Dismissed"`, 1)
	e.mustIngest(alertLine(e.vm(1), "twice", "High"), alertLine(e.vm(1), "twice", "High"), dismissed)
	var statuses []string
	for _, ev := range e.events()[before:] {
		if ev.Source == security.SourceAlerts {
			var b struct{ Status, SystemAlertId string }
			_ = json.Unmarshal(ev.Body, &b)
			statuses = append(statuses, b.SystemAlertId+":"+b.Status)
		}
	}
	if strings.Join(statuses, ",") != "twice:New,twice:Dismissed" {
		t.Errorf("exported = %v", statuses)
	}
	if n, _ := e.Server.Store.Count(e.ctx, store.ListOptions{Kind: security.KindAlert}); n != 2 {
		t.Errorf("%d alerts stored, want 2", n)
	}
}

// TestIngest_authorization_scopes: a line needs the write permission at its
// resource group; a role at the subscription covers every resource group
// in it, a role at one resource group only that group.
func TestIngest_authorization_scopes(t *testing.T) {
	e := newEnv(t)
	other := uuid.NewString()
	e.register(other)
	rgVM := func(sub, rg string) string {
		return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachines/vm-auth"
	}
	lines := []string{
		assessmentLine(security.AssessmentID(rgVM(e.sub, "rg1"), systemUpdates), "Unhealthy"),
		assessmentLine(security.AssessmentID(rgVM(e.sub, "rg2"), systemUpdates), "Unhealthy"),
		assessmentLine(security.AssessmentID(rgVM(other, "rg1"), systemUpdates), "Unhealthy"),
	}
	rgOnly, subWide := uuid.NewString(), uuid.NewString()
	grant(t, e.Env, armid.ResourceGroupID(e.sub, "rg1"), rgOnly, auth.RoleSecurityAdmin)
	grant(t, e.Env, armid.SubscriptionID(e.sub), subWide, auth.RoleSecurityAdmin)
	for _, tc := range []struct {
		name, principal string
		want            []string
	}{
		{"resource group role", rgOnly, []string{"accepted", "AuthorizationFailed", "AuthorizationFailed"}},
		{"subscription role", subWide, []string{"accepted", "accepted", "AuthorizationFailed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.Do(http.MethodPost, server.IngestPath+"?api-version=2024-01-01", e.TokenFor(e.TenantID, tc.principal), strings.Join(lines, "\n"))
			var res ingest.Result
			if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &res) != nil || len(res.Results) != len(tc.want) {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			got := lineCodes(&res)
			for i, want := range tc.want {
				if got[i+1] != want {
					t.Errorf("line %d: %s, want %s", i+1, got[i+1], want)
				}
			}
		})
	}
}
