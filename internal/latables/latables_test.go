package latables_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/latables"
)

var update = flag.Bool("update", false, "rewrite the golden rows in testdata/rows")

var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

const workspaceID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"

// TestColumnsMatchReference checks every table against the Azure Monitor
// table reference: the same columns with the same types, plus only the
// declared extras.
func TestColumnsMatchReference(t *testing.T) {
	raw, err := os.ReadFile("testdata/schema-la-tables.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for name, body := range ref {
		if strings.HasPrefix(name, "_") {
			continue
		}
		seen++
		var cols []struct{ Name, Type string }
		if err := json.Unmarshal(body, &cols); err != nil {
			t.Fatal(err)
		}
		tab, ok := latables.Lookup(name)
		if !ok {
			t.Errorf("table %s of the reference is missing", name)
			continue
		}
		var want, got []string
		for _, c := range cols {
			want = append(want, c.Name+":"+c.Type)
		}
		for _, x := range tab.Extras {
			want = append(want, x+":string")
		}
		for _, c := range tab.Columns {
			got = append(got, c.Name+":"+string(c.Type))
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s columns (-reference+extras +table):\n%s", name, d)
		}
	}
	if seen != 6 || len(latables.Tables()) != 6 {
		t.Fatalf("reference has %d tables, package %d; want 6", seen, len(latables.Tables()))
	}
}

func TestColumnKinds(t *testing.T) {
	tab, _ := latables.Lookup("SecurityNestedRecommendation_CL")
	kinds := map[string]latables.Kind{}
	for _, c := range tab.Columns {
		kinds[c.Name] = c.Kind
	}
	for name, want := range map[string]latables.Kind{
		"TenantId": latables.Reserved, "Type": latables.Reserved, "_ResourceId": latables.System,
		"_BilledSize": latables.System, "Id": latables.Data, "AdditionalData": latables.Data,
	} {
		if kinds[name] != want {
			t.Errorf("%s kind = %v, want %v", name, kinds[name], want)
		}
	}
	for _, c := range tab.StreamColumns() {
		if c.Kind != latables.Data {
			t.Errorf("stream column %s has kind %v", c.Name, c.Kind)
		}
	}
	if got := tab.DefaultStream(); got != "Custom-SecurityNestedRecommendation_CL" {
		t.Errorf("DefaultStream = %q", got)
	}
}

func TestTableFor(t *testing.T) {
	for src, want := range map[string]string{
		"Alerts": "SecurityAlert", "Assessments": "SecurityRecommendation", "assessmentssnapshot": "SecurityRecommendation",
		"SubAssessments": "SecurityNestedRecommendation", "SubAssessmentsSnapshot": "SecurityNestedRecommendation",
		"SecureScores": "SecureScores", "SecureScoresSnapshot": "SecureScores",
		"SecureScoreControls": "SecureScoreControls", "SecureScoreControlsSnapshot": "SecureScoreControls",
		"RegulatoryComplianceAssessment": "SecurityRegulatoryCompliance", "RegulatoryComplianceAssessmentSnapshot": "SecurityRegulatoryCompliance",
	} {
		tab, err := latables.TableFor(src)
		if err != nil || tab.Name != want {
			t.Errorf("TableFor(%s) = %v, %v; want %s", src, tab, err, want)
		}
	}
	if _, err := latables.TableFor("AttackPaths"); err == nil {
		t.Error("AttackPaths has no table but TableFor accepted it")
	}
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func build(t *testing.T, source, file string) *latables.Row {
	t.Helper()
	r, err := latables.Build(source, readEvent(t, file), latables.Options{Now: now, WorkspaceID: workspaceID})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var samples = []struct{ source, file string }{
	{"Alerts", "schema-alert-eventhub-sumologic.json"},
	{"Alerts", "schema-alert-eventhub-elastic-abridged.json"},
	{"Assessments", "schema-assessment-eventhub-sumologic.json"},
	{"Assessments", "schema-assessment-eventhub-elastic-delete.json"},
	{"SubAssessments", "schema-subassessment-eventhub-elastic.json"},
	{"SecureScores", "schema-securescore-eventhub-INFERRED.json"},
	{"SecureScoreControls", "schema-securescorecontrol-eventhub-elastic.json"},
	{"RegulatoryComplianceAssessment", "schema-regulatorycompliance-eventhub-sumologic.json"},
	{"RegulatoryComplianceAssessmentSnapshot", "schema-regulatorycompliance-eventhub-elastic.json"},
}

// TestGoldenRows renders every sample's row and compares it with
// testdata/rows (go test -update rewrites them; review the diff).
func TestGoldenRows(t *testing.T) {
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			r := build(t, s.source, s.file)
			var out bytes.Buffer
			if err := json.Indent(&out, r.AppendJSON(nil), "", "  "); err != nil {
				t.Fatalf("row is not valid JSON: %v", err)
			}
			out.WriteByte('\n')
			path := filepath.Join("testdata/rows", strings.TrimSuffix(s.file, ".json")+".row.json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if d := cmp.Diff(string(want), out.String()); d != "" {
				t.Errorf("row differs from %s (-want +got):\n%s", path, d)
			}
		})
	}
}

// TestMapping checks the §5.1 mapping column by column, independently of
// the golden files.
func TestMapping(t *testing.T) {
	ts := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	cases := []struct {
		source, file string
		want         map[string]any
	}{
		{"Alerts", "schema-alert-eventhub-sumologic.json", map[string]any{
			"AlertName": "Creation of admission webhook configuration detected", "DisplayName": "Creation of admission webhook configuration detected",
			"AlertSeverity": "Informational", "AlertType": "K8S_AdmissionController", "SystemAlertId": "57963b4b-3cb0-dc3a-16ed-f1e216311809",
			"Tactics": "Persistence, CredentialAccess", "ProductComponentName": "Containers", "Status": "New", "IsIncident": false,
			"ConfidenceScore": 0.0, "ConfidenceLevel": nil, "ProductName": "Microsoft Defender for Cloud", "VendorName": "Microsoft",
			"StartTime": ts("2024-11-20T08:32:12.950321Z"), "TimeGenerated": ts("2024-11-20T09:19:16.485Z"),
			"ResourceId":       "/subscriptions/1111111-1111-1111-111-11111111/resourceGroups/qek8dm0-azure-k8stest/providers/Microsoft.ContainerService/managedClusters/k8s--295-aks1-28-otc-dev-v4",
			"SourceComputerId": nil, "WorkspaceSubscriptionId": nil, "Type": "SecurityAlert", "TenantId": workspaceID,
		}},
		{"Assessments", "schema-assessment-eventhub-sumologic.json", map[string]any{
			"RecommendationId": "1f655fb7-63ca-4980-91a3-56dbc2b715c6", "RecommendationState": "NotApplicable",
			"RecommendationSeverity": "Low", "IsSnapshot": false, "NotApplicableReason": "UnsupportedPricingPlan",
			"AssessedResourceId":  "/subscriptions/1111111-1111-1111-111-11111111/resourceGroups/AppServiceEnvV3_group/providers/Microsoft.Compute/virtualMachines/ase-ext-test",
			"FirstEvaluationDate": ts("2024-11-20T10:51:36.3376828Z"), "ResolvedTimeUTC": nil, "Environment": "Azure",
			"ProviderName": "AzureSecurityCenter", "TimeGenerated": now, "Type": "SecurityRecommendation",
		}},
		{"Assessments", "schema-assessment-eventhub-elastic-delete.json", map[string]any{
			"RecommendationState": "Removed", "RecommendationId": "7b3d4796-9400-2904-692b-4a5ede7f0a1e",
			"RecommendationName":           "CORS should not allow every resource to access Function Apps",
			"PolicyDefinitionId":           "/providers/microsoft.authorization/policydefinitions/0820b7b9-23aa-4725-a1ce-ae4558f718e5",
			"RecommendationAdditionalData": json.RawMessage(`{"kind":"Functionapp"}`),
			"ResolvedTimeUTC":              ts("2023-05-09T13:19:49.3381028Z"),
		}},
		{"SubAssessments", "schema-subassessment-eventhub-elastic.json", map[string]any{
			"NestedRecommendationId": "93d2736e-7329-8806-3ef6-e71bb2203d11", "ParentRecommendationId": "c476dc48-8110-4139-91af-c8d940896b98",
			"RecommendationState": "Removed", "RecommendationSeverity": "Low", "RecommendationName": "Ensure DCCP is disabled",
			"Category": "N/A", "RecommendationSubscriptionId": "12cabcb4-86e8-404f-a3d2-1dc9982f45ca", "ResourceGroup": "mbranca-sdh-3372",
			"ResourceProviderType":        "microsoft.compute/virtualmachines",
			"SubAssessmentTimeGeneration": ts("2023-05-12T09:58:32.2607101Z"), "VulnerabilityId": "93d2736e-7329-8806-3ef6-e71bb2203d11",
			"AssessedResourceId": "/subscriptions/12cabcb4-86e8-404f-a3d2-1dc9982f45ca/resourcegroups/mbranca-sdh-3372/providers/microsoft.compute/virtualmachines/sdh-3372",
			"_SubscriptionId":    "12cabcb4-86e8-404f-a3d2-1dc9982f45ca",
		}},
		{"SecureScores", "schema-securescore-eventhub-INFERRED.json", map[string]any{
			"CurrentScore": 23.53, "MaxScore": int64(39), "PercentageScore": 0.6033, "Weight": int64(67), "DisplayName": "ASC score",
			"SecureScoresSubscriptionId": "20ff7fc3-e762-44dd-bd96-b71116dcdc23", "IsSnapshot": false,
			"AssessedResourceId": "/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/providers/Microsoft.Security/secureScores/ascScore",
		}},
		{"SecureScoreControls", "schema-securescorecontrol-eventhub-elastic.json", map[string]any{
			"ControlId": "61702b76-1fab-41f2-bcbc-50b7870dcf38", "ControlName": "Apply system updates", "ControlType": "BuiltIn",
			"HealthyResources": int64(0), "UnhealthyResources": int64(3), "NotApplicableResources": int64(1),
			"MaxScore": int64(6), "CurrentScore": 0.0, "Weight": int64(3),
		}},
		{"RegulatoryComplianceAssessmentSnapshot", "schema-regulatorycompliance-eventhub-elastic.json", map[string]any{
			"ComplianceStandard": "Microsoft-cloud-security-benchmark", "ComplianceControl": "LT.5", "State": "Skipped",
			"RecommendationId": "45cfe080-ceb1-a91e-9743-71551ed24e94", "SkippedResources": int64(1), "PassedResources": int64(0),
			"RecommendationName": "Log Analytics agent should be installed on virtual machine scale sets", "IsSnapshot": true,
			"RegulatoryComplianceSubscriptionId": "12cabcb4-86e8-404f-a3d2-1dc9982f45ca",
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			r := build(t, c.source, c.file)
			for col, want := range c.want {
				if r.Table.Index(col) < 0 {
					t.Errorf("%s has no column %s", r.Table.Name, col)
					continue
				}
				if d := cmp.Diff(want, r.Get(col)); d != "" {
					t.Errorf("%s (-want +got):\n%s", col, d)
				}
			}
		})
	}
}

// TestValueTypes checks that every value has the Go type of its column.
func TestValueTypes(t *testing.T) {
	for _, s := range samples {
		r := build(t, s.source, s.file)
		for i, v := range r.Values {
			if v == nil {
				continue
			}
			c := r.Table.Columns[i]
			ok := false
			switch c.Type {
			case latables.String:
				_, ok = v.(string)
			case latables.Int, latables.Long:
				_, ok = v.(int64)
			case latables.Real:
				_, ok = v.(float64)
			case latables.Bool:
				_, ok = v.(bool)
			case latables.DateTime:
				_, ok = v.(time.Time)
			case latables.Dynamic:
				var raw json.RawMessage
				raw, ok = v.(json.RawMessage)
				ok = ok && json.Valid(raw)
			}
			if !ok {
				t.Errorf("%s: %s.%s (%s) holds %T", s.file, r.Table.Name, c.Name, c.Type, v)
			}
		}
	}
}

func TestDynamicKeepsJSON(t *testing.T) {
	r := build(t, "SubAssessments", "schema-subassessment-eventhub-elastic.json")
	var ad map[string]any
	if err := json.Unmarshal(r.Get("AdditionalData").(json.RawMessage), &ad); err != nil {
		t.Fatal(err)
	}
	if ad["AssessedResourceType"] != "GeneralVulnerability" || ad["Data"].(map[string]any)["AZID"] != "MSID 54" {
		t.Errorf("AdditionalData lost its PascalCase JSON: %v", ad)
	}
	alert := build(t, "Alerts", "schema-alert-eventhub-sumologic.json")
	var ext map[string]string
	if err := json.Unmarshal([]byte(alert.Get("ExtendedProperties").(string)), &ext); err != nil {
		t.Fatalf("ExtendedProperties is not a JSON string: %v", err)
	}
	if ext["resourceType"] != "Kubernetes Service" {
		t.Errorf("ExtendedProperties = %v", ext)
	}
}

func TestStreamJSONOmitsWorkspaceColumns(t *testing.T) {
	r := build(t, "SubAssessments", "schema-subassessment-eventhub-elastic.json")
	b := r.AppendStreamJSON(nil)
	if len(b) != r.StreamSize() {
		t.Errorf("StreamSize %d, encoded %d", r.StreamSize(), len(b))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"TenantId", "Type", "_ResourceId", "_SubscriptionId"} {
		if _, ok := m[k]; ok {
			t.Errorf("stream record carries %s", k)
		}
	}
	if m["Id"] == nil || m["TimeGenerated"] != "2026-11-24T10:00:00Z" || m["IsSnapshot"] != false {
		t.Errorf("stream record = %v", m)
	}
	if full := r.AppendJSON(nil); !bytes.Contains(full, []byte(`"_ResourceId":`)) || !bytes.Contains(full, []byte(`"TenantId":"`+workspaceID)) {
		t.Errorf("full row lacks workspace columns: %s", full)
	}
}

func TestSnapshotFromEnvelope(t *testing.T) {
	body := bytes.Replace(readEvent(t, "schema-securescorecontrol-eventhub-elastic.json"), []byte(`"isSnapshot":false`), []byte(`"isSnapshot":true`), 1)
	r, err := latables.Build("SecureScoreControls", body, latables.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if r.Get("IsSnapshot") != true {
		t.Error("isSnapshot:true in the envelope did not set IsSnapshot")
	}
	if r.Get("TenantId") != nil {
		t.Error("TenantId set without a workspace id")
	}
}

func TestCamelCaseSubAssessment(t *testing.T) {
	body := []byte(`{"subAssessmentEventDataEnrichment":{"action":"Insert","apiVersion":"2020-01-01","isSnapshot":true},
	"tenantId":"t","type":"Microsoft.Security/assessments/subAssessments",
	"id":"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/db1/providers/Microsoft.Security/assessments/A1/subAssessments/F1",
	"name":"F1","properties":{"id":"CVE-2024-1","displayName":"x","status":{"code":"Unhealthy","severity":"High"},
	"resourceDetails":{"source":"Azure","id":"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/db1"},
	"additionalData":{"assessedResourceType":"SqlServerVulnerability","query":"SELECT 1"}}}`)
	r, err := latables.Build("SubAssessmentsSnapshot", body, latables.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for col, want := range map[string]any{"RecommendationState": "Unhealthy", "ParentRecommendationId": "A1", "VulnerabilityId": "CVE-2024-1",
		"IsSnapshot": true, "ResourceProviderType": "Microsoft.Sql/servers", "RecommendationSeverity": "High"} {
		if got := r.Get(col); got != want {
			t.Errorf("%s = %v, want %v", col, got, want)
		}
	}
}

func TestBadEvents(t *testing.T) {
	for _, c := range []struct{ source, body string }{
		{"Assessments", `not json`},
		{"Assessments", `{"properties":{}}`},
		{"Alerts", `[1,2]`},
		{"Alerts", `{}`},
		{"SecureScores", `{"id":"/subscriptions/s/providers/Microsoft.Security/secureScores/ascScore","properties":{"score":"high"}}`},
		{"Unknown", `{}`},
	} {
		if _, err := latables.Build(c.source, []byte(c.body), latables.Options{Now: now}); err == nil {
			t.Errorf("Build(%s, %s) accepted a bad event", c.source, c.body)
		}
	}
}

func TestAppendStringEscapes(t *testing.T) {
	for _, s := range []string{"plain", `q"uote\back`, "tab\tnl\nret\r", "\x01ctl", "<html>&", "é…漢字", "bad\xffutf8", "sep\u2028x"} {
		b := latables.AppendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("%q encodes to invalid JSON %s: %v", s, b, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if back != want {
			t.Errorf("%q round-trips to %q", s, back)
		}
	}
}
