package security_test

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/config"
	"sluice/internal/security"
)

type delivered struct {
	source string
	body   map[string]any
}

// TestPipeline_ingestion_to_logic_app_and_backfill drives the whole path:
// an automation with a Logic App action, records ingested through the
// route, their events delivered with the exported bodies; then a backfill
// that reads the current state from the security service as snapshot
// events.
func TestPipeline_ingestion_to_logic_app_and_backfill(t *testing.T) {
	var mu sync.Mutex
	var got []delivered
	hook := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(data, &body); err != nil {
			t.Errorf("delivered body %s: %v", data, err)
		}
		mu.Lock()
		got = append(got, delivered{source: r.Header.Get("X-Sluice-Event-Source"), body: body})
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hook.Close)
	caFile := filepath.Join(t.TempDir(), "hook.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hook.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *config.Config) { c.Export.CABundle = caFile })
	automation := "/subscriptions/" + e.sub + "/resourceGroups/rg1/providers/Microsoft.Security/automations/pipeline"
	resp, body := e.Do(http.MethodPut, automation+"?api-version=2023-12-01-preview", e.Token, map[string]any{
		"location": "westeurope",
		"properties": map[string]any{
			"isEnabled": true,
			"scopes":    []any{map[string]any{"scopePath": "/subscriptions/" + e.sub}},
			"sources": []any{map[string]any{"eventSource": "Alerts"}, map[string]any{"eventSource": "Assessments"},
				map[string]any{"eventSource": "SecureScoreControls"}},
			"actions": []any{map[string]any{"actionType": "LogicApp",
				"logicAppResourceId": "/subscriptions/" + e.sub + "/resourceGroups/rg1/providers/Microsoft.Logic/workflows/w",
				"uri":                hook.URL + "/workflows/w/triggers/manual/paths/invoke?api-version=2016-10-01&sig=c2VjcmV0"}},
		},
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create automation: %d %s", resp.StatusCode, body)
	}
	e.mustIngest(assessmentLine(security.AssessmentID(e.vm(1), systemUpdates), "Unhealthy"), alertLine(e.vm(1), "pipe-1", "High"))

	waitFor := func(what string, ok func([]delivered) bool) []delivered {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			snapshot := append([]delivered(nil), got...)
			mu.Unlock()
			if ok(snapshot) {
				return snapshot
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; delivered %d events", what, len(snapshot))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	count := func(ds []delivered, source string, snapshot bool) int {
		n := 0
		for _, d := range ds {
			isSnap := strings.Contains(mustJSON(d.body), `"isSnapshot":true`)
			if d.source == source && isSnap == snapshot {
				n++
			}
		}
		return n
	}
	ds := waitFor("the streamed alert and assessment", func(ds []delivered) bool {
		return count(ds, "Alerts", false) == 1 && count(ds, "Assessments", false) == 1
	})
	for _, d := range ds {
		switch d.source {
		case "Alerts":
			if d.body["Status"] != "New" || d.body["SystemAlertId"] != "pipe-1" {
				t.Errorf("alert delivered as %v", d.body)
			}
		case "Assessments":
			if d.body["assessmentEventDataEnrichment"] == nil || d.body["tenantId"] != e.TenantID {
				t.Errorf("assessment delivered as %v", d.body)
			}
		}
	}

	resp, body = e.Do(http.MethodPost, automation+"/backfill?api-version=2023-12-01-preview", e.Token, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("backfill: %d %s", resp.StatusCode, body)
	}
	var res struct {
		BySource map[string]int `json:"bySource"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	controls := len(e.Server.Security.Catalog.Controls)
	if res.BySource["Assessments"] != 1 || res.BySource["SecureScoreControls"] != controls || res.BySource["Alerts"] != 1 {
		t.Errorf("backfill counts = %v", res.BySource)
	}
	waitFor("the backfilled state", func(ds []delivered) bool {
		return count(ds, "Assessments", true) == 1 && count(ds, "SecureScoreControls", true) == controls && count(ds, "Alerts", false) == 2
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
