package security

import (
	"strings"
	"testing"

	"sluice/internal/store"
)

// TestStoredEvents_match_sample_shapes writes records through the service
// and compares the bodies of the events it stored with the reference
// samples: same keys, order, casing, JSON types and timestamp style.
func TestStoredEvents_match_sample_shapes(t *testing.T) {
	f := newFixture(t)
	const vulnKey = "c476dc48-8110-4139-91af-c8d940896b98"
	const naKey = "1f655fb7-63ca-4980-91a3-56dbc2b715c6"
	aid := AssessmentID(vm(1), vulnKey)
	// Baseline (no score events), then changes that export every source.
	f.mustUpdate(func(w *Writer) error {
		for i, code := range []StatusCode{StatusHealthy, StatusUnhealthy} {
			if _, _, err := w.PutAssessment(f.ctx, vm(i), systemUpdates, assessment(code)); err != nil {
				return err
			}
		}
		return nil
	})
	f.events()
	mustParse := func(raw string) *Assessment {
		a, err := ParseAssessment([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	f.mustUpdate(func(w *Writer) error {
		na := mustParse(`{"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"NotApplicable","cause":"UnsupportedPricingPlan",
			"description":"The subscription is not onboarded to Servers Plan 2 offering"},"additionalData":{"subAssessmentsLink":"` + AssessmentID(vm(1), naKey) + `/subAssessments"}}}`)
		if _, _, err := w.PutAssessment(f.ctx, vm(1), naKey, na); err != nil {
			return err
		}
		if _, _, err := w.PutAssessment(f.ctx, vm(1), vulnKey, mustParse(`{"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"Unhealthy"},"additionalData":{"kind":"vm"}}}`)); err != nil {
			return err
		}
		finding, err := ParseSubAssessment([]byte(`{"properties":{"id":"93d2736e-7329-8806-3ef6-e71bb2203d11","displayName":"Ensure DCCP is disabled",
			"status":{"code":"Unhealthy","severity":"Low"},"remediation":"Unload the dccp module.","impact":"Smaller attack surface.","category":"N/A",
			"description":"Ensure DCCP is disabled","timeGenerated":"2023-05-12T09:58:32.2607101Z","resourceDetails":{"source":"Azure"},
			"additionalData":{"assessedResourceType":"GeneralVulnerability","data":{"OsName":"Linux","RuleType":"Command","Vulnerability":"","AZID":"MSID 54","DataSourceType":"Not Applicable","DataSourceKey":"Not Applicable"}}}}`))
		if err != nil {
			return err
		}
		if _, _, err := w.PutSubAssessment(f.ctx, aid, "93d2736e-7329-8806-3ef6-e71bb2203d11", finding); err != nil {
			return err
		}
		alert, err := ParseAlert([]byte(`{"properties":{"alertType":"K8S_AdmissionController","alertDisplayName":"Creation of admission webhook configuration detected",
			"description":"Kubernetes audit log analysis detected a new admission webhook configuration.","severity":"Informational","intent":"Persistence, CredentialAccess",
			"productComponentName":"Containers","remediationSteps":["Review the webhook."],
			"resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"` + vm(1) + `"}],
			"entities":[{"type":"K8s-cluster","cloudResource":{"type":"azure-resource","resourceId":"` + vm(1) + `","resourceType":"Kubernetes Service","resourceName":"vm1","metadata":{"isGraphCenter":true},"asset":true},"asset":false}]}}`))
		if err != nil {
			return err
		}
		_, _, err = w.PutAlert(f.ctx, alert, "")
		return err
	})
	f.mustUpdate(func(w *Writer) error {
		_, _, err := w.PutAssessment(f.ctx, vm(1), systemUpdates, assessment(StatusHealthy))
		return err
	})
	f.mustUpdate(func(w *Writer) error {
		_, err := w.DeleteAssessment(f.ctx, vm(1), vulnKey)
		return err
	})
	first := map[string]*store.Event{}
	var deleted *store.Event
	for _, ev := range f.events() {
		if ev.Source == SourceAssessments && strings.Contains(string(ev.Body), `"action":"Delete"`) {
			deleted = ev
			continue
		}
		if ev.Source == SourceAssessments && !strings.Contains(string(ev.Body), naKey) {
			continue
		}
		if first[ev.Source] == nil {
			first[ev.Source] = ev
		}
	}
	tests := []struct {
		source string
		ev     *store.Event
		sample string
		opts   shapeOpts
	}{
		{SourceAssessments, first[SourceAssessments], "schema-assessment-eventhub-sumologic.json", shapeOpts{}},
		// The 2023 capture predates resourceName/resourceType/… in resourceDetails.
		{"Assessments (Delete)", deleted, "schema-assessment-eventhub-elastic-delete.json", shapeOpts{skip: []string{"$.properties.resourceDetails"}}},
		{SourceSubAssessments, first[SourceSubAssessments], "schema-subassessment-eventhub-elastic.json", shapeOpts{}},
		{SourceAlerts, first[SourceAlerts], "schema-alert-eventhub-sumologic.json", shapeOpts{skip: []string{"$.Entities", "$.ExtendedProperties", "$.ExtendedLinks"}}},
		{SourceSecureScores, first[SourceSecureScores], "schema-securescore-eventhub-INFERRED.json", shapeOpts{}},
		{SourceSecureScoreControls, first[SourceSecureScoreControls], "schema-securescorecontrol-eventhub-elastic.json", shapeOpts{}},
		{SourceRegulatoryComplianceAssessment, first[SourceRegulatoryComplianceAssessment], "schema-regulatorycompliance-eventhub-sumologic.json", shapeOpts{}},
	}
	for _, tc := range tests {
		t.Run(tc.source, func(t *testing.T) {
			if tc.ev == nil {
				t.Fatalf("no %s event was stored", tc.source)
			}
			sampleShape(t, tc.ev.Body, tc.sample, tc.opts)
		})
	}
}
