package security

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
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const testTenant = "a39bedba-be8f-4c0f-bfe2-b8c7913501ea"

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadJSON[T any](t *testing.T, name string) *T {
	t.Helper()
	var v T
	if err := json.Unmarshal(readFile(t, filepath.Join("testdata", "input", name)), &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &v
}

// checkGolden compares got with testdata/golden/name (rewriting it with -update).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, append(bytes.Clone(got), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := bytes.TrimSuffix(readFile(t, path), []byte("\n"))
	if !bytes.Equal(got, want) {
		t.Errorf("body differs from %s (run go test -update to accept):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}

func TestEventBodies_match_samples(t *testing.T) {
	// Copies of the reference samples of export-schemas.md.
	samples := filepath.Join("testdata", "samples")
	tests := []struct {
		name   string
		body   func(t *testing.T) ([]byte, error)
		golden string
		sample string
		opts   shapeOpts
	}{
		{
			name: "alert_kubernetes_like_sumologic",
			body: func(t *testing.T) ([]byte, error) {
				return AlertEvent(loadJSON[Alert](t, "alert-k8s.json"), testTenant)
			},
			golden: "alert-k8s.json",
			sample: "schema-alert-eventhub-sumologic.json",
			opts:   shapeOpts{skip: []string{"$.ExtendedProperties.Webhook configuration rules"}},
		},
		{
			name: "alert_arm_like_elastic",
			body: func(t *testing.T) ([]byte, error) {
				a := loadJSON[Alert](t, "alert-arm.json")
				CompleteAlert(a, "12cabcb4-86e8-404f-a3d2-1dc9982f45ca", "centralus", mustTime(t, "2023-05-11T13:17:09.0170422Z"))
				return AlertEvent(a, "aa40685b-417d-4664-b4ec-8f7640719adb")
			},
			golden: "alert-arm.json",
			sample: "schema-alert-eventhub-elastic-abridged.json",
			// The Elastic capture has ResourceIdentifiers before RemediationSteps
			// and abridged, partly synthetic entities and properties.
			opts: shapeOpts{unordered: true, skip: []string{"$.Entities", "$.ExtendedProperties", "$.ResourceIdentifiers"}},
		},
		{
			name: "assessment_insert_like_sumologic",
			body: func(t *testing.T) ([]byte, error) {
				return AssessmentEvent(loadJSON[Assessment](t, "assessment-insert.json"), testTenant, ActionInsert, false)
			},
			golden: "assessment-insert.json",
			sample: "schema-assessment-eventhub-sumologic.json",
		},
		{
			name: "assessment_delete_like_elastic",
			body: func(t *testing.T) ([]byte, error) {
				return AssessmentEvent(loadJSON[Assessment](t, "assessment-delete.json"), "aa40685b-417d-4664-b4ec-8f7640719adb", ActionDelete, false)
			},
			golden: "assessment-delete.json",
			sample: "schema-assessment-eventhub-elastic-delete.json",
		},
		{
			name: "subassessment_like_elastic",
			body: func(t *testing.T) ([]byte, error) {
				return SubAssessmentEvent(loadJSON[SubAssessment](t, "subassessment.json"), "aa40685b-417d-4664-b4ec-8f7640719adb", ActionDelete, false)
			},
			golden: "subassessment.json",
			sample: "schema-subassessment-eventhub-elastic.json",
		},
		{
			name: "securescore_like_inferred",
			body: func(t *testing.T) ([]byte, error) {
				return SecureScoreEvent(loadJSON[SecureScore](t, "securescore.json"), false)
			},
			golden: "securescore.json",
			sample: "schema-securescore-eventhub-INFERRED.json",
		},
		{
			name: "securescorecontrol_like_elastic",
			body: func(t *testing.T) ([]byte, error) {
				return SecureScoreControlEvent(loadJSON[SecureScoreControl](t, "securescorecontrol.json"), false)
			},
			golden: "securescorecontrol.json",
			sample: "schema-securescorecontrol-eventhub-elastic.json",
		},
		{
			name: "compliance_failed_like_sumologic",
			body: func(t *testing.T) ([]byte, error) {
				return RegulatoryComplianceEvent(loadJSON[RegulatoryComplianceAssessment](t, "compliance-failed.json"), false)
			},
			golden: "compliance-failed.json",
			sample: "schema-regulatorycompliance-eventhub-sumologic.json",
		},
		{
			name: "compliance_skipped_like_elastic",
			body: func(t *testing.T) ([]byte, error) {
				return RegulatoryComplianceEvent(loadJSON[RegulatoryComplianceAssessment](t, "compliance-skipped.json"), false)
			},
			golden: "compliance-skipped.json",
			sample: "schema-regulatorycompliance-eventhub-elastic.json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.body(t)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.golden, got)
			want := readFile(t, filepath.Join(samples, tt.sample))
			for _, d := range shapeDiff("$", decodeOrdered(t, got), decodeOrdered(t, want), tt.opts) {
				t.Error(d)
			}
		})
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestAlertEvent_values(t *testing.T) {
	body, err := AlertEvent(loadJSON[Alert](t, "alert-k8s.json"), testTenant)
	if err != nil {
		t.Fatal(err)
	}
	doc := decodeOrdered(t, body).(Object)
	get := func(k string) any { v, _ := doc.Get(k); return v }
	tests := []struct {
		key  string
		want any
	}{
		{"Status", "New"},
		{"TimeGenerated", "2024-11-20T09:19:16.485Z"},
		{"StartTimeUtc", "2024-11-20T08:32:12.950321Z"},
		{"ConfidenceScore", json.Number("0.0")},
		{"Intent", "Persistence, CredentialAccess"},
		{"WorkspaceId", nil},
		{"ExtendedLinks", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, get(tt.key)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.key, diff)
		}
	}
	ents := get("Entities").([]any)
	if diff := cmp.Diff(Object{{"$ref", "5"}}, ents[1]); diff != "" {
		t.Errorf("repeated entity should become a reference to the nested one (-want +got):\n%s", diff)
	}
	ep := get("ExtendedProperties").(Object)
	if got := ep.GetString("EffectiveSubscriptionId"); got != "11111111-1111-1111-1111-111111111111" {
		t.Errorf("EffectiveSubscriptionId = %q", got)
	}
	if got := ep.GetString("resourceType"); got != "Kubernetes Service" {
		t.Errorf("resourceType = %q", got)
	}
	if strings.Contains(string(body), `\u003c`) {
		t.Error("body escapes HTML characters")
	}
}

func TestAlertEvent_maps_producer_references(t *testing.T) {
	a := loadJSON[Alert](t, "alert-arm.json")
	body, err := AlertEvent(a, "aa40685b-417d-4664-b4ec-8f7640719adb")
	if err != nil {
		t.Fatal(err)
	}
	doc := decodeOrdered(t, body).(Object)
	ids, _ := doc.Get("ResourceIdentifiers")
	var idTypes []string
	for _, r := range ids.([]any) {
		idTypes = append(idTypes, r.(Object).GetString("$id")+":"+r.(Object).GetString("Type"))
	}
	if diff := cmp.Diff([]string{"2:AzureResource", "3:AAD", "4:LogAnalytics"}, idTypes); diff != "" {
		t.Errorf("resource identifiers (-want +got):\n%s", diff)
	}
	ents, _ := doc.Get("Entities")
	e := ents.([]any)
	host := e[0].(Object)
	account := e[2].(Object)
	last := e[4].(Object)
	if host.GetString("$id") != "5" || account.GetString("$id") != "7" {
		t.Fatalf("ids: host %q account %q", host.GetString("$id"), account.GetString("$id"))
	}
	hostRef, _ := account.Get("Host")
	if diff := cmp.Diff(Object{{"$ref", "5"}}, hostRef); diff != "" {
		t.Errorf("account.Host (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Object{{"$ref", "5"}}, last); diff != "" {
		t.Errorf("top-level $ref (-want +got):\n%s", diff)
	}
	if got := keys(host); !cmp.Equal(got, []string{"$id", "HostName", "AzureID", "OsFamily", "Asset", "Type"}) {
		t.Errorf("host keys = %q", got)
	}
	if v, _ := doc.Get("Status"); v != "Dismissed" {
		t.Errorf("Status = %v", v)
	}
	extras := AlertRuleExtras(a)
	if extras["ProductComponentName"] != "ResourceManager" || extras["Version"] != "3.0" {
		t.Errorf("AlertRuleExtras = %v", extras)
	}
}

func TestAssessmentEvent_envelope_and_links(t *testing.T) {
	a := loadJSON[Assessment](t, "assessment-insert.json")
	for _, snapshot := range []bool{false, true} {
		body, err := AssessmentEvent(a, testTenant, ActionInsert, snapshot)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Env        enrichment `json:"assessmentEventDataEnrichment"`
			Sec        enrichment `json:"securityEventDataEnrichment"`
			Properties struct {
				Links    struct{ AzurePortal string }
				Metadata struct{ Threats []string }
			}
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		want := enrichment{Action: ActionInsert, APIVersion: "2019-01-01", IsSnapshot: snapshot}
		if doc.Env != want || doc.Sec != want {
			t.Errorf("envelopes = %+v / %+v, want %+v", doc.Env, doc.Sec, want)
		}
		if !strings.HasPrefix(doc.Properties.Links.AzurePortal, "portal.azure.com/#blade/") {
			t.Errorf("azurePortal = %q", doc.Properties.Links.AzurePortal)
		}
		if diff := cmp.Diff([]string{"DataExfiltration", "DataSpillage", "AccountBreach"}, doc.Properties.Metadata.Threats); diff != "" {
			t.Errorf("threats (-want +got):\n%s", diff)
		}
	}
	if _, err := AssessmentEvent(a, testTenant, ActionWrite, false); err == nil {
		t.Error("AssessmentEvent accepted action Write")
	}
}

func TestAssessmentEvent_never_leaks_partner_secret(t *testing.T) {
	a := loadJSON[Assessment](t, "assessment-insert.json")
	a.Properties.PartnersData = &PartnerData{PartnerName: "Contoso", Secret: "s3cr3t-value"}
	body, err := AssessmentEvent(a, testTenant, ActionInsert, false)
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := json.Marshal(a.WithoutSecrets())
	for name, b := range map[string][]byte{"event": body, "rest": rest} {
		if strings.Contains(string(b), "s3cr3t-value") {
			t.Errorf("%s body contains the partner secret", name)
		}
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2024-11-20T09:19:16.4850000Z", "2024-11-20T09:19:16.485Z"},
		{"2024-11-20T08:32:12.950321Z", "2024-11-20T08:32:12.950321Z"},
		{"2024-11-20T09:19:16.5381698Z", "2024-11-20T09:19:16.5381698Z"},
		{"2024-11-20T09:19:16.53816987654Z", "2024-11-20T09:19:16.5381698Z"},
		{"2020-02-22T00:00:00.0000000Z", "2020-02-22T00:00:00Z"},
		{"2020-02-22T01:00:00+01:00", "2020-02-22T00:00:00Z"},
		{"2020-02-22T00:00:00.5", "2020-02-22T00:00:00.5Z"},
	}
	for _, tt := range tests {
		tm, err := ParseTime(tt.in)
		if err != nil {
			t.Fatalf("ParseTime(%q): %v", tt.in, err)
		}
		if got := FormatTime(tm); got != tt.want {
			t.Errorf("FormatTime(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
