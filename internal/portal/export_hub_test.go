package portal_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"sluice/internal/server"
	"sluice/internal/server/servertest"
)

// TestExportPageHubFromParts: the Event Hub is chosen by subscription,
// resource group, namespace and hub name; the saved automation names that
// hub, and the page shows the parts of the stored hub again.
func TestExportPageHubFromParts(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	pc := newPageClient(t, env, env.Token)
	_, page := pc.get(exportPath())
	if !strings.Contains(page, `<option value="`+server.DemoSubShared+`"`) {
		t.Fatalf("the hub's subscription select lacks the readable subscriptions:\n%.3000s", page)
	}
	form := url.Values{"csrf": {pc.csrf(page)}, "tab": {"eventhub"}, "resourceGroup": {"web-prod"}, "location": {"westeurope"},
		"alert_stream": {"on"}, "alert_severity": {"High"},
		"hub_sub": {server.DemoSubShared}, "hub_rg": {"monitoring"}, "hub_ns": {"sec-ns"}, "hub_name": {"exports"},
		"connection_string": {"Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0LWtleQ==;EntityPath=exports;UseDevelopmentEmulator=true"}}
	resp, body := pc.post(exportPath(), form, env.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save with the hub's parts: %d\n%.3000s", resp.StatusCode, body)
	}
	want := "/subscriptions/" + server.DemoSubShared + "/resourceGroups/monitoring/providers/Microsoft.EventHub/namespaces/sec-ns/eventhubs/exports"
	r, raw := env.Do(http.MethodGet, automationPath("web-prod", "ExportToEventHub"), env.Token, nil)
	var a struct {
		Properties struct {
			Actions []struct {
				EventHubResourceID string `json:"eventHubResourceId"`
			} `json:"actions"`
		} `json:"properties"`
	}
	if r.StatusCode != http.StatusOK || json.Unmarshal(raw, &a) != nil || len(a.Properties.Actions) != 1 ||
		!strings.EqualFold(a.Properties.Actions[0].EventHubResourceID, want) {
		t.Fatalf("stored automation %d %s, want the hub %s", r.StatusCode, raw, want)
	}
	_, page = pc.get(exportPath() + "?resourceGroup=web-prod")
	for _, v := range []string{`value="monitoring"`, `value="sec-ns"`, `value="exports"`, `<option value="` + server.DemoSubShared + `" selected>`} {
		if !strings.Contains(page, v) {
			t.Errorf("the page does not show the stored hub's %s", v)
		}
	}
	// Parts left incomplete (and no ID) are refused with the hub field named.
	form.Set("csrf", pc.csrf(page))
	form.Del("hub_name")
	form.Set("replace", "on")
	if resp, body = pc.post(exportPath(), form, env.URL); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("incomplete hub parts: %d\n%.2000s", resp.StatusCode, body)
	}
}
