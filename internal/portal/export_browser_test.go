package portal_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"sluice/internal/server"
	"sluice/internal/server/servertest"
)

// The placeholders of the derived policy samples.
const (
	goldenSub       = "00000000-0000-0000-0000-000000000000"
	goldenHub       = "/subscriptions/" + goldenSub + "/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns/eventhubs/hub"
	goldenWorkspace = "/subscriptions/" + goldenSub + "/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws"
)

// expectedFromGolden reads a derived policy sample and substitutes its
// placeholders (each old → new pair, in order) to give the body the
// policy would deploy for the test's choices, then shapes it as the API
// returns it: no connection string (write-only) but its policy name, and
// null rule sets as empty lists.
func expectedFromGolden(t *testing.T, name string, subst ...string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "export", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for i := 0; i+1 < len(subst); i += 2 {
		if !strings.Contains(s, subst[i]) {
			t.Fatalf("the sample has no %q", subst[i])
		}
		s = strings.ReplaceAll(s, subst[i], subst[i+1])
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(s), &body); err != nil {
		t.Fatal(err)
	}
	delete(body, "_comment")
	delete(body, "_params")
	props := body["properties"].(map[string]any)
	for _, src := range props["sources"].([]any) {
		if src.(map[string]any)["ruleSets"] == nil {
			src.(map[string]any)["ruleSets"] = []any{}
		}
	}
	for _, a := range props["actions"].([]any) {
		act := a.(map[string]any)
		if cs, ok := act["connectionString"].(string); ok {
			delete(act, "connectionString")
			act["sasPolicyName"] = strings.Split(strings.Split(cs, "SharedAccessKeyName=")[1], ";")[0]
			act["isTrustedServiceEnabled"] = false
		}
	}
	return body
}

// storedAutomation reads an automation through the API, without the
// read-only fields the policy does not write.
func storedAutomation(t *testing.T, env *servertest.Env, rg, name string) (map[string]any, string) {
	t.Helper()
	resp, body := env.Do(http.MethodGet, automationPath(rg, name), env.Token, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s in %s: %d %s", name, rg, resp.StatusCode, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "name", "type", "etag", "systemData"} {
		delete(m, k)
	}
	return m, string(body)
}

// setChecked clicks the checkbox with this id until it is in state want.
func (b *browser) setChecked(id string, want bool) {
	b.t.Helper()
	if get(b, "read "+id, chromedp.Evaluate[bool](`document.getElementById(`+jsString(id)+`).checked`)) != want {
		b.run("click "+id, chromedp.Click(chromedp.ID(id)))
	}
	if get(b, "read "+id, chromedp.Evaluate[bool](`document.getElementById(`+jsString(id)+`).checked`)) != want {
		b.t.Fatalf("checkbox %s is not %v after a click", id, want)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// selectOptions selects the options at these indexes of a multi-select
// (the others are unselected) and returns their values in page order.
func (b *browser) selectOptions(id string, idx ...int) []string {
	b.t.Helper()
	list, _ := json.Marshal(idx)
	return get(b, "select in "+id, chromedp.Evaluate[[]string](`(() => {
		const want = `+string(list)+`, out = [];
		const opts = document.getElementById(`+jsString(id)+`).options;
		for (let i = 0; i < opts.length; i++) { opts[i].selected = want.includes(i); if (opts[i].selected) out.push(opts[i].value); }
		return out;
	})()`))
}

// TestBrowserExportEventHub configures an Event Hub export through the
// form with the choices of the policy's custom sample and checks that the
// stored automation is the sample's body for them.
func TestBrowserExportEventHub(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	b := newBrowser(t, env)
	b.signInAdmin()
	hub := "/subscriptions/" + exportSub + "/resourceGroups/network-prod/providers/Microsoft.EventHub/namespaces/contoso-ns/eventhubs/security"
	const key = "c2VjcmV0LWtleS1mb3ItdGhlLWh1Yg=="
	conn := "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=rule;SharedAccessKey=" + key + ";EntityPath=security;UseDevelopmentEmulator=true"

	b.run("open the export page",
		chromedp.Navigate(b.url(exportPath()+"?tab=eventhub&resourceGroup=network-prod")),
		chromedp.WaitVisible(chromedp.ID("export-form")),
	)
	if cur := b.text(`.tabs a[aria-current=page]`); cur != "Event Hub" {
		t.Fatalf("current tab = %q", cur)
	}
	// The sample: recommendations, alerts and controls streamed,
	// compliance as a snapshot, security findings included.
	for id, want := range map[string]bool{
		"rec_stream": true, "rec_snapshot": false, "findings": true, "findings_snapshot": false,
		"alert_stream": true, "score_stream": false, "score_snapshot": false,
		"control_stream": true, "control_snapshot": false, "standard_stream": false, "standard_snapshot": true,
		"rec_severity_high": true, "rec_severity_medium": true, "rec_severity_low": false,
		"alert_severity_high": true, "alert_severity_medium": false, "alert_severity_low": false,
		"trusted": false,
	} {
		b.setChecked(id, want)
	}
	recs := b.selectOptions("rec_names", 3, 7)
	controls := b.selectOptions("control_names", 1)
	standards := b.selectOptions("standard_names", 0)
	if len(recs) != 2 || len(controls) != 1 || len(standards) != 1 {
		t.Fatalf("catalog lists too short: %q %q %q", recs, controls, standards)
	}
	b.run("enter the target and save",
		chromedp.SendKeys(chromedp.ID("eventhub"), hub),
		chromedp.SendKeys(chromedp.ID("connection_string"), conn),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.ID("stored")),
	)
	if flash := b.text(`p.flash`); !strings.HasPrefix(flash, "Saved: ExportToEventHub in resource group network-prod") {
		t.Fatalf("after saving: %q", flash)
	}

	want := expectedFromGolden(t, "api-policy-derived-eventhub-custom.json",
		goldenHub, hub,
		"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=rule;SharedAccessKey=<key>;EntityPath=hub", conn,
		goldenSub, exportSub,
		"4fb67663-9ab9-475d-b026-8c544cced439", recs[0],
		"1195afff-c881-495e-9bc5-1486211ae03f", recs[1],
		"ef1a1e6a-0f7e-4b3b-9a3d-7a1b2f0c4b6d", controls[0],
		"Azure-CIS-1.1.0", standards[0])
	got, raw := storedAutomation(t, env, "network-prod", "ExportToEventHub")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("stored automation differs from the policy's body for the same choices (-want +got):\n%s", d)
	}
	if strings.Contains(raw, key) {
		t.Error("the API returned the connection string")
	}
	// The page reads the configuration back and never shows the key.
	if page := get(b, "page html", chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(page, key) {
		t.Error("the page shows the connection string")
	}
	if v := get(b, "read eventhub", chromedp.Value(chromedp.ID("eventhub"))); v != hub {
		t.Errorf("event hub read back = %q", v)
	}
	if n := get(b, "selected recommendations", chromedp.Evaluate[int](`document.querySelectorAll('#rec_names option:checked').length`)); n != 2 {
		t.Errorf("%d recommendations selected after reload, want 2", n)
	}
	if s := b.text(`#cs-hint`); !strings.Contains(s, "A connection string is stored") {
		t.Errorf("connection string hint = %q", s)
	}
}

// TestBrowserExportWorkspace saves the policies' defaults to the demo's
// hosted workspace and checks the stored automation against the
// workspace-defaults sample.
func TestBrowserExportWorkspace(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	b := newBrowser(t, env)
	b.signInAdmin()
	ws := demoWorkspaceID()
	b.run("open the workspace tab",
		chromedp.Navigate(b.url(exportPath())),
		chromedp.WaitVisible(chromedp.ID("tab-workspace")),
		chromedp.Click(chromedp.ID("tab-workspace")),
		chromedp.WaitVisible(chromedp.ID("workspace")),
	)
	// The demo's own ExportToWorkspace (web-prod) is listed; a new one
	// goes to data-prod.
	if s := b.text(`#configs`); !strings.Contains(s, "web-prod") {
		t.Errorf("configurations = %q", s)
	}
	if rg := b.text(`#save-rg`); rg != "web-prod" {
		t.Errorf("the workspace tab opens %q, want the resource group of the existing configuration", rg)
	}
	b.run("open data-prod",
		chromedp.SetValue(chromedp.ID("rg-open"), "data-prod"),
		chromedp.Click(chromedp.ID("rg-open-go")),
		// Only the new page has the attribute (SetValue sets the property).
		chromedp.WaitReady(chromedp.CSS(`#rg-open option[value="data-prod"][selected]`)),
	)
	if rg := b.text(`#save-rg`); rg != "data-prod" {
		t.Fatalf("after opening data-prod the form saves to %q", rg)
	}
	b.run("choose the workspace, save",
		chromedp.SetValue(chromedp.ID("workspace"), ws),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	if flash := b.text(`p.flash`); !strings.HasPrefix(flash, "Saved: ExportToWorkspace in resource group data-prod") {
		t.Fatalf("after saving: %q", flash)
	}
	want := expectedFromGolden(t, "api-policy-derived-workspace-defaults.json", goldenWorkspace, ws, goldenSub, exportSub)
	got, _ := storedAutomation(t, env, "data-prod", "ExportToWorkspace")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("stored automation differs from the policy's defaults (-want +got):\n%s", d)
	}
	if v := get(b, "workspace read back", chromedp.Value(chromedp.ID("workspace"))); !strings.EqualFold(v, ws) {
		t.Errorf("workspace read back = %q", v)
	}
}

// TestBrowserExportBanner: an automation created through the API shows
// in the banner, read-only.
func TestBrowserExportBanner(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	body := map[string]any{"location": "westeurope", "properties": map[string]any{
		"isEnabled": false,
		"scopes":    []any{map[string]any{"scopePath": "/subscriptions/" + exportSub}},
		"sources":   []any{map[string]any{"eventSource": "Alerts"}, map[string]any{"eventSource": "SecureScores"}},
		"actions":   []any{map[string]any{"actionType": "Workspace", "workspaceResourceId": demoWorkspaceID()}},
	}}
	if resp, b := env.Do(http.MethodPut, automationPath("web-prod", "siem-alerts"), env.Token, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create siem-alerts: %d %s", resp.StatusCode, b)
	}
	b := newBrowser(t, env)
	b.signInAdmin()
	b.run("open the export page",
		chromedp.Navigate(b.url(exportPath())),
		chromedp.WaitVisible(chromedp.ID("other-automations")),
	)
	rows := get(b, "banner rows", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('#other-automations tbody tr')).map(r => Array.from(r.cells).map(c => c.textContent.trim()).join('|'))`))
	if want := []string{"siem-alerts|web-prod|No|Alerts, SecureScores|Workspace"}; !cmp.Equal(rows, want) {
		t.Errorf("banner rows = %q, want %q", rows, want)
	}
	// Read-only: the banner has no form control.
	if n := get(b, "controls in the banner", chromedp.Evaluate[int](`document.querySelectorAll('#other-automations input, #other-automations button, #other-automations select').length`)); n != 0 {
		t.Errorf("the banner has %d form controls", n)
	}
	// A subscription without other automations has no banner.
	b.run("open another subscription",
		chromedp.Navigate(b.url("/portal/subscriptions/"+server.DemoSubDevelopment+"/export")),
		chromedp.WaitVisible(chromedp.ID("export-form")),
	)
	if n := get(b, "banner", chromedp.Evaluate[int](`document.querySelectorAll('#other-automations').length`)); n != 0 {
		t.Error("a banner on a subscription without other automations")
	}
}
