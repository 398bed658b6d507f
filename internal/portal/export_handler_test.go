package portal_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"sluice/internal/auth"
	"sluice/internal/portal"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
)

// pageClient requests portal pages with a session cookie, without
// following redirects.
type pageClient struct {
	t     *testing.T
	env   *servertest.Env
	token string
	c     *http.Client
}

func newPageClient(t *testing.T, env *servertest.Env, token string) *pageClient {
	c := &http.Client{Transport: env.Client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &pageClient{t: t, env: env, token: token, c: c}
}

func (p *pageClient) do(req *http.Request) (*http.Response, string) {
	p.t.Helper()
	req.AddCookie(&http.Cookie{Name: portal.CookieName, Value: p.token})
	resp, err := p.c.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp, string(b)
}

func (p *pageClient) get(path string) (*http.Response, string) {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.env.URL+path, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrf scrapes the session's CSRF token from a page.
func (p *pageClient) csrf(page string) string {
	p.t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		p.t.Fatalf("no CSRF token on the page:\n%.2000s", page)
	}
	return m[1]
}

// post sends a form from origin ("" for none).
func (p *pageClient) post(path string, form url.Values, origin string) (*http.Response, string) {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.env.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return p.do(req)
}

const exportSub = server.DemoSubProduction

func exportPath() string { return "/portal/subscriptions/" + exportSub + "/export" }

func demoWorkspaceID() string {
	return "/subscriptions/" + server.DemoWorkspaceSub + "/resourceGroups/" + server.DemoWorkspaceRG +
		"/providers/Microsoft.OperationalInsights/workspaces/" + server.DemoWorkspaceName
}

func automationPath(rg, name string) string {
	return "/subscriptions/" + exportSub + "/resourceGroups/" + rg + "/providers/Microsoft.Security/automations/" + name + "?api-version=2023-12-01-preview"
}

// workspaceForm is a valid workspace export saved in data-prod.
func workspaceForm(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "tab": {"workspace"}, "resourceGroup": {"data-prod"}, "location": {"westeurope"},
		"rec_stream": {"on"}, "rec_severity": {"High"}, "alert_stream": {"on"}, "alert_severity": {"High", "Medium"},
		"workspace": {demoWorkspaceID()}}
}

func assignRoleAt(t *testing.T, env *servertest.Env, scope, principal, role string) {
	t.Helper()
	resp, body := env.Do(http.MethodPut, scope+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2022-04-01",
		env.Token, map[string]any{"properties": map[string]any{"principalId": principal,
			"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/" + role}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("assign %s at %s: %d %s", role, scope, resp.StatusCode, body)
	}
}

func mustNotExist(t *testing.T, env *servertest.Env, rg, name string) {
	t.Helper()
	if resp, body := env.Do(http.MethodGet, automationPath(rg, name), env.Token, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("%s in %s was stored: %d %s", name, rg, resp.StatusCode, body)
	}
}

// TestExportPageReaderCannotSave: a Reader sees the page but the save is
// refused with the API's 403 and its message, and nothing is stored; the
// administrator's identical save succeeds.
func TestExportPageReaderCannotSave(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	reader := uuid.NewString()
	assignRoleAt(t, env, "/subscriptions/"+exportSub, reader, auth.RoleReader)
	pc := newPageClient(t, env, env.TokenFor(env.TenantID, reader))

	resp, page := pc.get(exportPath() + "?tab=workspace&resourceGroup=data-prod")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="export-form"`) {
		t.Fatalf("reader's page: %d\n%.3000s", resp.StatusCode, page)
	}
	resp, page = pc.post(exportPath(), workspaceForm(pc.csrf(page)), env.URL)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("reader's save: %d\n%.3000s", resp.StatusCode, page)
	}
	text := html.UnescapeString(page)
	if !strings.Contains(text, "AuthorizationFailed") || !strings.Contains(text, "Microsoft.Security/automations/write") {
		t.Errorf("the page does not show the API's refusal:\n%.4000s", text)
	}
	// The form keeps the values.
	if !strings.Contains(page, `id="alert_severity_medium" name="alert_severity" value="Medium" checked`) ||
		strings.Contains(page, `id="rec_severity_low" name="rec_severity" value="Low" checked`) {
		t.Errorf("the refused form lost its values")
	}
	mustNotExist(t, env, "data-prod", "ExportToWorkspace")

	admin := newPageClient(t, env, env.Token)
	_, page = admin.get(exportPath() + "?tab=workspace")
	resp, page = admin.post(exportPath(), workspaceForm(admin.csrf(page)), env.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin's save: %d\n%.3000s", resp.StatusCode, page)
	}
	if resp, body := env.Do(http.MethodGet, automationPath("data-prod", "ExportToWorkspace"), env.Token, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("admin's save stored nothing: %d %s", resp.StatusCode, body)
	}
	// The confirmation shows the stored state.
	_, page = admin.get(resp.Header.Get("Location"))
	if !strings.Contains(page, "Saved: ExportToWorkspace in resource group data-prod") || !strings.Contains(page, `id="stored-json"`) {
		t.Errorf("no confirmation after the save:\n%.3000s", page)
	}
}

// TestExportPageCSRF: a save without the CSRF token, or from another
// origin, is refused before anything reaches the API.
func TestExportPageCSRF(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	pc := newPageClient(t, env, env.Token)
	_, page := pc.get(exportPath() + "?tab=workspace")
	token := pc.csrf(page)
	for name, c := range map[string]struct {
		form   url.Values
		origin string
	}{
		"no_token":     {workspaceForm(""), env.URL},
		"wrong_token":  {workspaceForm(strings.Repeat("0", 32)), env.URL},
		"cross_origin": {workspaceForm(token), "https://evil.example"},
	} {
		resp, body := pc.post(exportPath(), c.form, c.origin)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	mustNotExist(t, env, "data-prod", "ExportToWorkspace")
}

// TestExportPageBadInput: malformed requests get a clear 400, never a 500,
// and store nothing.
func TestExportPageBadInput(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	pc := newPageClient(t, env, env.Token)
	_, page := pc.get(exportPath() + "?tab=workspace")
	token := pc.csrf(page)

	for path, want := range map[string]string{
		exportPath() + "?tab=kafka":                             "no tab",
		exportPath() + "?tab=workspace&resourceGroup=nope":      "no resource group",
		exportPath() + "?tab=workspace&resourceGroup=a%2Fb":     "not a resource group name",
		"/portal/subscriptions/not-a-subscription/export":       "not a subscription id",
		"/portal/subscriptions/" + uuid.NewString() + "/export": "",
	} {
		resp, body := pc.get(path)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("GET %s: %d, want a 4xx saying %q:\n%.2000s", path, resp.StatusCode, want, body)
		}
	}

	edit := func(f func(url.Values)) url.Values {
		v := workspaceForm(token)
		f(v)
		return v
	}
	for name, c := range map[string]struct {
		form url.Values
		want string
	}{
		"unknown_tab":       {edit(func(v url.Values) { v.Set("tab", "kafka") }), "no tab"},
		"no_data_type":      {edit(func(v url.Values) { v.Del("rec_stream"); v.Del("alert_stream") }), "Choose at least one data type"},
		"malformed_id":      {edit(func(v url.Values) { v.Set("workspace_other", "/subscriptions/x/not-a-workspace") }), "is not the resource ID of a Log Analytics workspace"},
		"no_workspace":      {edit(func(v url.Values) { v.Del("workspace") }), "Choose the Log Analytics workspace"},
		"malformed_hub":     {edit(func(v url.Values) { v.Set("tab", "eventhub"); v.Set("eventhub", "nonsense") }), "is not the resource ID of an event hub"},
		"no_severity":       {edit(func(v url.Values) { v.Del("alert_severity") }), "Choose at least one alert severity"},
		"no_resource_group": {edit(func(v url.Values) { v.Del("resourceGroup") }), "Choose the resource group"},
		"no_location":       {edit(func(v url.Values) { v.Set("location", "") }), "Enter the location"},
		"bad_connection_str": {edit(func(v url.Values) {
			v.Set("tab", "eventhub")
			v.Set("eventhub", "/subscriptions/"+exportSub+"/resourceGroups/network-prod/providers/Microsoft.EventHub/namespaces/ns/eventhubs/hub")
			v.Set("connection_string", "Endpoint=http://x;SharedAccessKeyName=k;SharedAccessKey=secretvalue")
		}), "InvalidConnectionString"},
	} {
		resp, body := pc.post(exportPath(), c.form, env.URL)
		text := html.UnescapeString(body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, c.want) {
			t.Errorf("%s: %d, want 400 saying %q:\n%.3000s", name, resp.StatusCode, c.want, text)
		}
		if strings.Contains(body, "secretvalue") {
			t.Errorf("%s: the page shows the connection string", name)
		}
	}
	mustNotExist(t, env, "data-prod", "ExportToWorkspace")
	mustNotExist(t, env, "data-prod", "ExportToEventHub")
}

// TestExportPageTargetPermission: a Security Admin of the subscription may
// save, but not to a hub it cannot write: the API's
// LinkedAuthorizationFailed is shown with the form kept.
func TestExportPageTargetPermission(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	user := uuid.NewString()
	assignRoleAt(t, env, "/subscriptions/"+exportSub, user, auth.RoleSecurityAdmin)
	pc := newPageClient(t, env, env.TokenFor(env.TenantID, user))
	_, page := pc.get(exportPath())
	hub := "/subscriptions/" + server.DemoSubShared + "/resourceGroups/monitoring/providers/Microsoft.EventHub/namespaces/ns/eventhubs/hub"
	form := url.Values{"csrf": {pc.csrf(page)}, "tab": {"eventhub"}, "resourceGroup": {"web-prod"}, "location": {"westeurope"},
		"alert_stream": {"on"}, "alert_severity": {"High"}, "eventhub": {hub},
		"connection_string": {"Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0LWtleQ==;EntityPath=hub;UseDevelopmentEmulator=true"}}
	resp, body := pc.post(exportPath(), form, env.URL)
	text := html.UnescapeString(body)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(text, "LinkedAuthorizationFailed") || !strings.Contains(text, hub) {
		t.Fatalf("save to a hub without rights: %d\n%.3000s", resp.StatusCode, text)
	}
	if !strings.Contains(body, `value="`+hub+`"`) || strings.Contains(body, "c2VjcmV0LWtleQ") {
		t.Errorf("the form should keep the hub and never show the key")
	}
	mustNotExist(t, env, "web-prod", "ExportToEventHub")
}

// TestExportPageForeignAutomation: the demo's API-made ExportToWorkspace
// is shown read-only and only replaced when asked to; a connection string
// left empty on an update keeps the stored one.
func TestExportPageForeignAutomation(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	pc := newPageClient(t, env, env.Token)
	resp, page := pc.get(exportPath() + "?tab=workspace&resourceGroup=web-prod")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="readonly-notice"`) || !strings.Contains(page, `id="replace"`) {
		t.Fatalf("the demo automation is not shown read-only: %d\n%.3000s", resp.StatusCode, page)
	}
	// The form starts from the closest configuration: its workspace and
	// data types (recommendations streamed, findings not included).
	if !strings.Contains(page, ` selected>security-ws`) || !strings.Contains(page, `name="rec_stream" checked`) ||
		strings.Contains(page, `name="findings" checked`) {
		t.Errorf("the form does not start from the stored automation:\n%.6000s", page)
	}
	_, before := env.Do(http.MethodGet, automationPath("web-prod", "ExportToWorkspace"), env.Token, nil)
	form := workspaceForm(pc.csrf(page))
	form.Set("resourceGroup", "web-prod")
	resp, page = pc.post(exportPath(), form, env.URL)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "Replace it") {
		t.Fatalf("save over a foreign automation without replace: %d\n%.3000s", resp.StatusCode, page)
	}
	if _, after := env.Do(http.MethodGet, automationPath("web-prod", "ExportToWorkspace"), env.Token, nil); string(after) != string(before) {
		t.Fatalf("the automation changed without replace:\n%s\n%s", before, after)
	}
	form.Set("replace", "on")
	if resp, page = pc.post(exportPath(), form, env.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("replace: %d\n%.3000s", resp.StatusCode, page)
	}
	_, page = pc.get(resp.Header.Get("Location"))
	if strings.Contains(page, `id="readonly-notice"`) || !strings.Contains(page, `id="alert_severity_medium" name="alert_severity" value="Medium" checked`) {
		t.Errorf("after replacing, the page should show the saved choices:\n%.3000s", page)
	}

	// Event Hub: the connection string is write-only and kept when left empty.
	hub := "/subscriptions/" + exportSub + "/resourceGroups/network-prod/providers/Microsoft.EventHub/namespaces/ns/eventhubs/hub"
	const key = "c2VjcmV0LWtleS12YWx1ZQ=="
	eh := url.Values{"csrf": {pc.csrf(page)}, "tab": {"eventhub"}, "resourceGroup": {"network-prod"}, "location": {"westeurope"},
		"score_stream": {"on"}, "eventhub": {hub},
		"connection_string": {"Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=sender;SharedAccessKey=" + key + ";EntityPath=hub;UseDevelopmentEmulator=true"}}
	if resp, page = pc.post(exportPath(), eh, env.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Event Hub save: %d\n%.3000s", resp.StatusCode, page)
	}
	_, page = pc.get(resp.Header.Get("Location"))
	if strings.Contains(page, key) || !strings.Contains(page, "A connection string is stored") {
		t.Errorf("the page shows the key, or does not say one is stored")
	}
	eh.Set("connection_string", "")
	eh.Set("score_snapshot", "on")
	if resp, page = pc.post(exportPath(), eh, env.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Event Hub update without the connection string: %d\n%.3000s", resp.StatusCode, page)
	}
	_, body := env.Do(http.MethodGet, automationPath("network-prod", "ExportToEventHub"), env.Token, nil)
	var got struct {
		Properties struct {
			Sources []struct{ EventSource string } `json:"sources"`
			Actions []struct {
				SASPolicyName string `json:"sasPolicyName"`
			} `json:"actions"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(body, &got); err != nil || len(got.Properties.Sources) != 2 || len(got.Properties.Actions) != 1 ||
		got.Properties.Actions[0].SASPolicyName != "sender" || strings.Contains(string(body), key) {
		t.Errorf("after an update without the connection string: %v %s", err, body)
	}
}

// TestExportPagePolicyAutomation: an automation deployed by the built-in
// Event Hub policy (named exportToEventHub, api-version
// 2019-01-01-preview) is read back into the form, not flagged.
func TestExportPagePolicyAutomation(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	hub := "/subscriptions/" + exportSub + "/resourceGroups/network-prod/providers/Microsoft.EventHub/namespaces/ns/eventhubs/hub"
	want := expectedFromGolden(t, "api-policy-derived-eventhub-custom.json",
		goldenHub, hub,
		"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=rule;SharedAccessKey=<key>;EntityPath=hub",
		"Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=rule;SharedAccessKey=a2V5;EntityPath=hub;UseDevelopmentEmulator=true",
		goldenSub, exportSub)
	raw, err := os.ReadFile(filepath.Join("testdata", "export", "api-policy-derived-eventhub-custom.json"))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.NewReplacer(goldenHub, hub, goldenSub, exportSub,
		"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=rule;SharedAccessKey=<key>;EntityPath=hub",
		"Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=rule;SharedAccessKey=a2V5;EntityPath=hub;UseDevelopmentEmulator=true").Replace(string(raw))
	path := strings.Replace(automationPath("network-prod", "exportToEventHub"), "2023-12-01-preview", "2019-01-01-preview", 1)
	if resp, b := env.Do(http.MethodPut, path, env.Token, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("deploy as the policy does: %d %s", resp.StatusCode, b)
	}
	pc := newPageClient(t, env, env.Token)
	resp, page := pc.get(exportPath() + "?tab=eventhub")
	if resp.StatusCode != http.StatusOK || strings.Contains(page, `id="readonly-notice"`) || !strings.Contains(page, "Editing <strong>exportToEventHub</strong>") {
		t.Fatalf("the policy's automation is not editable on the page: %d\n%.4000s", resp.StatusCode, page)
	}
	for _, s := range []string{
		`value="4fb67663-9ab9-475d-b026-8c544cced439" selected`, `value="1195afff-c881-495e-9bc5-1486211ae03f" selected`,
		`value="Azure-CIS-1.1.0" selected`, `name="findings" checked`, `name="standard_snapshot" checked`,
		`id="rec_severity_medium" name="rec_severity" value="Medium" checked`, `value="` + hub + `"`, "A connection string is stored",
	} {
		if !strings.Contains(page, s) {
			t.Errorf("the form lacks %s", s)
		}
	}
	for _, s := range []string{`name="standard_stream" checked`, `id="rec_severity_low" name="rec_severity" value="Low" checked`, `name="trusted" checked`} {
		if strings.Contains(page, s) {
			t.Errorf("the form has %s", s)
		}
	}
	// Saving the page's choices unchanged (the connection string left
	// empty) keeps the resource as the policy made it.
	form := url.Values{"csrf": {pc.csrf(page)}, "tab": {"eventhub"}, "resourceGroup": {"network-prod"}, "location": {"westeurope"},
		"rec_stream": {"on"}, "findings": {"on"}, "alert_stream": {"on"}, "control_stream": {"on"}, "standard_snapshot": {"on"},
		"rec_names":    {"4fb67663-9ab9-475d-b026-8c544cced439", "1195afff-c881-495e-9bc5-1486211ae03f"},
		"rec_severity": {"High", "Medium"}, "alert_severity": {"High"},
		"control_names": {"ef1a1e6a-0f7e-4b3b-9a3d-7a1b2f0c4b6d"}, "standard_names": {"Azure-CIS-1.1.0"}, "eventhub": {hub}}
	if resp, page = pc.post(exportPath(), form, env.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%.3000s", resp.StatusCode, page)
	}
	got, _ := storedAutomation(t, env, "network-prod", "exportToEventHub")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("after saving unchanged (-want +got):\n%s", d)
	}
}

// TestExportPageTrustedService: exporting as a trusted service needs
// Sluice's own principal to hold Azure Event Hubs Data Sender on the hub;
// the API's refusal is shown, and once granted the action is stored
// without a connection string.
func TestExportPageTrustedService(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	hub := "/subscriptions/" + exportSub + "/resourceGroups/network-prod/providers/Microsoft.EventHub/namespaces/ns/eventhubs/hub"
	pc := newPageClient(t, env, env.Token)
	_, page := pc.get(exportPath() + "?tab=eventhub&resourceGroup=network-prod")
	form := url.Values{"csrf": {pc.csrf(page)}, "tab": {"eventhub"}, "resourceGroup": {"network-prod"}, "location": {"westeurope"},
		"alert_stream": {"on"}, "alert_severity": {"High"}, "eventhub": {hub}, "trusted": {"on"}}
	resp, page := pc.post(exportPath(), form, env.URL)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "TrustedServiceNotAuthorized") {
		t.Fatalf("trusted service without the role: %d\n%.3000s", resp.StatusCode, page)
	}
	if !strings.Contains(page, `name="trusted" checked`) {
		t.Error("the refused form lost the trusted-service choice")
	}
	mustNotExist(t, env, "network-prod", "ExportToEventHub")
	assignRoleAt(t, env, hub, auth.SecurityResourceProviderID, auth.RoleAzureEventHubsDataSender)
	if resp, page = pc.post(exportPath(), form, env.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("trusted service with the role: %d\n%.3000s", resp.StatusCode, page)
	}
	got, _ := storedAutomation(t, env, "network-prod", "ExportToEventHub")
	act := got["properties"].(map[string]any)["actions"].([]any)[0].(map[string]any)
	if d := cmp.Diff(map[string]any{"actionType": "EventHub", "eventHubResourceId": hub, "isTrustedServiceEnabled": true}, act); d != "" {
		t.Errorf("stored action (-want +got):\n%s", d)
	}
}

// TestExportPick: /portal/export leads to a subscription's export page.
func TestExportPick(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	pc := newPageClient(t, env, env.Token)
	resp, _ := pc.get("/portal/export?subscriptionId=" + server.DemoSubShared)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/portal/subscriptions/"+server.DemoSubShared+"/export" {
		t.Errorf("pick a subscription: %d %q", resp.StatusCode, loc)
	}
	resp, _ = pc.get("/portal/export")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "/export") {
		t.Errorf("no subscription given: %d %q", resp.StatusCode, loc)
	}
	if resp, body := pc.get("/portal/export?subscriptionId=../../x"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not a subscription id") {
		t.Errorf("bad subscription id: %d", resp.StatusCode)
	}
}
