package security

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/catalog"
)

var t0 = time.Date(2024, 11, 20, 10, 51, 36, 337682800, time.UTC)

func sampleShape(t *testing.T, body []byte, sample string, o shapeOpts) {
	t.Helper()
	path := filepath.Join("testdata", "samples", sample)
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reference sample: %v", err)
	}
	for _, d := range shapeDiff("$", decodeOrdered(t, body), decodeOrdered(t, want), o) {
		t.Error(d)
	}
}

func TestProducerAssessment_to_event_matches_sample(t *testing.T) {
	const key = "1f655fb7-63ca-4980-91a3-56dbc2b715c6"
	raw := `{"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"NotApplicable","cause":"UnsupportedPricingPlan","description":"Not onboarded"},
		"additionalData":{"subAssessmentsLink":"` + AssessmentID(vmID, key) + `/subAssessments"}}}`
	a, err := ParseAssessment([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := catalog.Default().Recommendation(key)
	if !ok {
		t.Fatal("catalog lacks " + key)
	}
	CompleteAssessment(a, vmID, key, nil, MetadataPropertiesFromCatalog(rec), t0)
	want := ResourceDetails{Source: "Azure", ID: vmID, ResourceName: "vm1", ResourceType: "virtualMachines",
		ResourceProvider: "Microsoft.Compute", NativeResourceID: vmID}
	if diff := cmp.Diff(want, a.Properties.ResourceDetails); diff != "" {
		t.Errorf("resource details (-want +got):\n%s", diff)
	}
	if a.Properties.DisplayName != rec.DisplayName || a.Name != key || a.Type != TypeAssessment {
		t.Errorf("completed = %+v", a)
	}
	body, err := AssessmentEvent(a, testTenant, ActionInsert, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"azurePortal":"portal.azure.com/#blade/Microsoft_Azure_Security/RecommendationsBlade/assessmentKey/`+key+`/resourceId/%2fsubscriptions%2f11111111-1111-1111-1111-111111111111%2fresourceGroups%2frg1%2fproviders%2fMicrosoft.Compute%2fvirtualMachines%2fvm1"`) {
		t.Errorf("portal link not in .NET form: %s", body)
	}
	sampleShape(t, body, "schema-assessment-eventhub-sumologic.json", shapeOpts{})
}

func TestCompleteAssessment_status_dates(t *testing.T) {
	const key = k1
	first := &Assessment{Properties: AssessmentProperties{Status: AssessmentStatus{Code: StatusUnhealthy}}}
	CompleteAssessment(first, vmID, key, nil, nil, t0)
	t1 := t0.Add(time.Hour)
	same := &Assessment{Properties: AssessmentProperties{Status: AssessmentStatus{Code: StatusUnhealthy}}}
	CompleteAssessment(same, vmID, key, first, nil, t1)
	if !same.Properties.Status.StatusChangeDate.Equal(t0) || !same.Properties.Status.FirstEvaluationDate.Equal(t0) {
		t.Errorf("unchanged status moved dates: %+v", same.Properties.Status)
	}
	t2 := t0.Add(2 * time.Hour)
	changed := &Assessment{Properties: AssessmentProperties{Status: AssessmentStatus{Code: StatusHealthy}}}
	CompleteAssessment(changed, vmID, key, same, nil, t2)
	if !changed.Properties.Status.StatusChangeDate.Equal(t2) || !changed.Properties.Status.FirstEvaluationDate.Equal(t0) {
		t.Errorf("changed status dates: %+v", changed.Properties.Status)
	}
}

func TestProducerAlert_to_event(t *testing.T) {
	raw := `{"properties":{"alertType":"VM_Test","alertDisplayName":"Test alert","severity":"Low","productComponentName":"Servers",
		"resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"` + vmID + `"}],
		"entities":[{"hostName":"vm1","type":"host"}]}}`
	a, err := ParseAlert([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	CompleteAlert(a, "11111111-1111-1111-1111-111111111111", "westeurope", t0)
	if !strings.HasPrefix(a.ID, "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg1/providers/Microsoft.Security/locations/westeurope/alerts/") {
		t.Errorf("ID = %s", a.ID)
	}
	p := a.Properties
	if p.CompromisedEntity != "vm1" || p.Status != "Active" || p.Intent != "Unknown" {
		t.Errorf("completed properties = %+v", p)
	}
	body, err := AlertEvent(a, testTenant)
	if err != nil {
		t.Fatal(err)
	}
	sampleShape(t, body, "schema-alert-eventhub-sumologic.json", shapeOpts{skip: []string{"$.Entities", "$.ExtendedProperties"}})
	// The REST form must round-trip through JSON unchanged.
	rest, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back Alert
	if err := json.Unmarshal(rest, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, &back, cmp.Comparer(func(x, y Time) bool { return x.Equal(y.Time) })); diff != "" {
		t.Errorf("REST round trip (-want +got):\n%s", diff)
	}
}

func TestSystemAlertIDFor(t *testing.T) {
	tm, _ := ParseTime("2023-05-11T13:15:45.0170422Z")
	id := SystemAlertIDFor(tm, [16]byte{})
	if id != "2517184898549829577_00000000-0000-0000-0000-000000000000" {
		t.Errorf("SystemAlertIDFor = %s", id)
	}
}

func TestSimulateAlerts(t *testing.T) {
	const sub = "11111111-1111-1111-1111-111111111111"
	aks := "/subscriptions/" + sub + "/resourceGroups/prod/providers/Microsoft.ContainerService/managedClusters/prod-aks"
	alerts := SimulateAlerts(sub, "westeurope", []string{"virtualmachines", "Containers", "KubernetesService", "DNS", "KeyVaults",
		"StorageAccounts", "SqlServers", "ResourceManager", "AppServices", "CosmosDbs", "Unknown"}, t0, []string{aks, "/subscriptions/" + sub})
	if len(alerts) != 9 {
		t.Fatalf("got %d alerts, want 9 (one per known bundle, duplicates and unknown skipped)", len(alerts))
	}
	components := map[string]bool{}
	for _, a := range alerts {
		raw, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseAlert(raw); err != nil {
			t.Errorf("%s: simulated alert does not pass validation: %v", a.Properties.AlertType, err)
		}
		p := a.Properties
		if !strings.HasPrefix(p.AlertDisplayName, "[SAMPLE ALERT]") || len(p.Entities) == 0 || len(p.RemediationSteps) == 0 ||
			p.Intent == "" || p.CompromisedEntity == "" || p.AlertURI == "" || p.ProductName == "" {
			t.Errorf("%s: incomplete sample alert: %+v", p.AlertType, p)
		}
		components[p.ProductComponentName] = true
		body, err := AlertEvent(a, testTenant)
		if err != nil {
			t.Fatal(err)
		}
		sampleShape(t, body, "schema-alert-eventhub-sumologic.json", shapeOpts{skip: []string{"$.Entities", "$.ExtendedProperties", "$.ExtendedLinks"}})
	}
	if alerts[1].AzureResourceID() != aks {
		t.Errorf("Kubernetes alert on %s, want the given cluster", alerts[1].AzureResourceID())
	}
	if !strings.Contains(alerts[0].AzureResourceID(), "/resourceGroups/Sample-RG/providers/Microsoft.Compute/virtualMachines/Sample-VM") {
		t.Errorf("VM alert on %s, want a synthetic sample VM", alerts[0].AzureResourceID())
	}
	again := SimulateAlerts(sub, "westeurope", []string{"VirtualMachines"}, t0, nil)
	if again[0].Properties.SystemAlertID != alerts[0].Properties.SystemAlertID {
		t.Error("simulation is not deterministic")
	}
	if !components["Containers"] || !components["ResourceManager"] || !components["DNS"] {
		t.Errorf("product components = %v", components)
	}
}
