package workspace_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	ingest "github.com/Azure/azure-sdk-for-go/sdk/monitor/ingestion/azlogs"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/operationalinsights/armoperationalinsights/v2"

	"sluice/internal/armid"
	"sluice/internal/auth"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
	"sluice/internal/workspace"
)

const (
	sub = server.DemoSubProduction
	rg  = "web-prod"
	vm  = "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachines/ws-test-vm"
	// A built-in recommendation (system updates).
	assessmentKey = "45cfe080-ceb1-a91e-9743-71551ed24e94"
)

func wsClient(t *testing.T, env *servertest.Env) *armoperationalinsights.WorkspacesClient {
	t.Helper()
	c, err := armoperationalinsights.NewWorkspacesClient(sub, env.Cred(), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createWorkspace creates a workspace with the real client and returns it.
func createWorkspace(t *testing.T, env *servertest.Env, name string) armoperationalinsights.Workspace {
	t.Helper()
	ctx := context.Background()
	poller, err := wsClient(t, env).BeginCreateOrUpdate(ctx, rg, name, armoperationalinsights.Workspace{
		Location: to.Ptr("westeurope"),
		Properties: &armoperationalinsights.WorkspaceProperties{
			SKU: &armoperationalinsights.WorkspaceSKU{Name: to.Ptr(armoperationalinsights.WorkspaceSKUNameEnumPerGB2018)},
		},
	}, nil)
	if err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	res, err := poller.PollUntilDone(ctx, &runtimePollOptions)
	if err != nil {
		t.Fatalf("poll workspace creation: %v", err)
	}
	return res.Workspace
}

// queryClient is the real azlogs query client pointed at the server.
func queryClient(t *testing.T, env *servertest.Env, token string) *azlogs.Client {
	t.Helper()
	c, err := azlogs.NewClient(servertest.Credential(token), &azlogs.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			azlogs.ServiceName: {Endpoint: env.URL + "/v1", Audience: "https://api.loganalytics.io"},
		}},
		Transport: env.Client,
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ingestClient is the real Logs Ingestion client pointed at the server.
func ingestClient(t *testing.T, env *servertest.Env, token string) *ingest.Client {
	t.Helper()
	opts := &ingest.ClientOptions{}
	opts.Transport = env.Client
	opts.Retry = policy.RetryOptions{MaxRetries: -1}
	c, err := ingest.NewClient(env.URL, servertest.Credential(token), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func statusOf(t *testing.T, err error) (int, string) {
	t.Helper()
	if err == nil {
		return 0, ""
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a ResponseError", err)
	}
	return re.StatusCode, re.ErrorCode
}

// TestWorkspaceLifecycle drives the ARM resource with the real
// armoperationalinsights client: create (long-running), get, lists,
// update, delete (long-running), 404 after.
func TestWorkspaceLifecycle(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	ctx := context.Background()
	c := wsClient(t, env)
	ws := createWorkspace(t, env, "sec-ws")
	if ws.Properties == nil || ws.Properties.CustomerID == nil {
		t.Fatalf("no customerId: %+v", ws)
	}
	if !armid.IsGUID(*ws.Properties.CustomerID) {
		t.Errorf("customerId %q is not a GUID", *ws.Properties.CustomerID)
	}
	if ws.Properties.RetentionInDays == nil || *ws.Properties.RetentionInDays != 30 {
		t.Errorf("retentionInDays = %v, want 30", ws.Properties.RetentionInDays)
	}
	if ws.Properties.ProvisioningState == nil || *ws.Properties.ProvisioningState != armoperationalinsights.WorkspaceEntityStatusSucceeded {
		t.Errorf("provisioningState = %v", ws.Properties.ProvisioningState)
	}
	wantID := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.OperationalInsights/workspaces/sec-ws"
	if !strings.EqualFold(*ws.ID, wantID) {
		t.Errorf("id = %s, want %s", *ws.ID, wantID)
	}
	got, err := c.Get(ctx, rg, "SEC-WS", nil)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if *got.Properties.CustomerID != *ws.Properties.CustomerID {
		t.Errorf("get changed customerId: %s vs %s", *got.Properties.CustomerID, *ws.Properties.CustomerID)
	}
	// Update the retention: the customer id stays.
	poller, err := c.BeginCreateOrUpdate(ctx, rg, "sec-ws", armoperationalinsights.Workspace{Location: to.Ptr("westeurope"),
		Properties: &armoperationalinsights.WorkspaceProperties{RetentionInDays: to.Ptr[int32](90)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	upd, err := poller.PollUntilDone(ctx, &runtimePollOptions)
	if err != nil {
		t.Fatal(err)
	}
	if *upd.Properties.RetentionInDays != 90 || *upd.Properties.CustomerID != *ws.Properties.CustomerID {
		t.Errorf("update: retention %d, customerId %s", *upd.Properties.RetentionInDays, *upd.Properties.CustomerID)
	}
	createWorkspace(t, env, "other-ws")
	var names []string
	for pager := c.NewListByResourceGroupPager(rg, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list by resource group: %v", err)
		}
		for _, w := range page.Value {
			names = append(names, *w.Name)
		}
	}
	if strings.Join(names, ",") != "other-ws,sec-ws" {
		t.Errorf("resource group list = %v", names)
	}
	names = nil
	for pager := c.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list by subscription: %v", err)
		}
		for _, w := range page.Value {
			names = append(names, *w.Name)
		}
	}
	if len(names) != 2 {
		t.Errorf("subscription list = %v", names)
	}
	del, err := c.BeginDelete(ctx, rg, "sec-ws", nil)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := del.PollUntilDone(ctx, &runtimePollOptions); err != nil {
		t.Fatalf("poll delete: %v", err)
	}
	_, err = c.Get(ctx, rg, "sec-ws", nil)
	if st, code := statusOf(t, err); st != http.StatusNotFound || code != "ResourceNotFound" {
		t.Errorf("get after delete: %d %s (%v)", st, code, err)
	}
	// Bad input.
	resp, body := env.Do(http.MethodPut, wantID+"?api-version=2022-10-01", env.Token, map[string]any{"location": "westeurope", "properties": map[string]any{"retentionInDays": 1}})
	if resp.StatusCode != http.StatusBadRequest || servertest.ErrorCode(body) != "InvalidParameter" {
		t.Errorf("retention 1: %d %s", resp.StatusCode, body)
	}
	resp, body = env.Do(http.MethodPut, wantID+"?api-version=2022-10-01", env.Token, `{"location": 5}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad body: %d %s", resp.StatusCode, body)
	}
	missing := "/subscriptions/" + sub + "/resourceGroups/no-such-rg/providers/Microsoft.OperationalInsights/workspaces/x-ws?api-version=2022-10-01"
	if resp, body := env.Do(http.MethodPut, missing, env.Token, map[string]any{"location": "westeurope"}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing resource group: %d %s", resp.StatusCode, body)
	}
}

func putAutomation(t *testing.T, env *servertest.Env, name, wsID string) {
	t.Helper()
	body := map[string]any{
		"location": "westeurope",
		"properties": map[string]any{
			"isEnabled": true,
			"scopes":    []any{map[string]any{"scopePath": "/subscriptions/" + sub}},
			"sources":   []any{map[string]any{"eventSource": "Assessments"}},
			"actions":   []any{map[string]any{"actionType": "Workspace", "workspaceResourceId": wsID}},
		},
	}
	path := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Security/automations/" + name + "?api-version=2023-12-01-preview"
	resp, out := env.Do(http.MethodPut, path, env.Token, body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("put automation: %d %s", resp.StatusCode, out)
	}
}

func ingestAssessment(t *testing.T, env *servertest.Env, resource, code string) {
	t.Helper()
	id := resource + "/providers/Microsoft.Security/assessments/" + assessmentKey
	line := fmt.Sprintf(`{"type":"Microsoft.Security/assessments","id":%q,"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":%q}}}`, id, code)
	resp, out := env.Do(http.MethodPost, "/providers/Microsoft.Security/ingest?api-version=2024-01-01", env.Token, line+"\n")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"accepted":1`) {
		t.Fatalf("ingest: %d %s", resp.StatusCode, out)
	}
}

// TestQueryRowsFromAutomation: an assessment exported by a Workspace
// automation into a hosted workspace is queried with the real azlogs
// client.
func TestQueryRowsFromAutomation(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	ws := createWorkspace(t, env, "sec-ws")
	cid := *ws.Properties.CustomerID
	putAutomation(t, env, "ExportToWorkspace", *ws.ID)
	ingestAssessment(t, env, vm, "Unhealthy")
	ingestAssessment(t, env, vm+"-2", "Healthy")
	qc := queryClient(t, env, env.Token)
	ctx := context.Background()
	query := `SecurityRecommendation | where RecommendationState == "Unhealthy" | where AssessedResourceId startswith "` + vm + `" | project AssessedResourceId, RecommendationId, RecommendationState, IsSnapshot, TimeGenerated, TenantId`
	var last string
	t.Cleanup(func() {
		if t.Failed() {
			_, body := env.Do(http.MethodGet, "/subscriptions/"+sub+"/resourceGroups/"+rg+"/providers/Microsoft.Security/automations/ExportToWorkspace/deliveryHealth?api-version=2023-12-01-preview", env.Token, nil)
			t.Logf("last count %s; health %s", last, body)
		}
	})
	waitFor(t, "the exported rows", func() bool {
		r, err := qc.QueryWorkspace(ctx, cid, azlogs.QueryBody{Query: to.Ptr(`SecurityRecommendation | where AssessedResourceId startswith "` + vm + `" | count`)}, nil)
		if err != nil {
			t.Fatalf("count: %v", err)
		}
		last = fmt.Sprint(r.Tables[0].Rows)
		return last == "[[2]]"
	})
	res, err := qc.QueryWorkspace(ctx, cid, azlogs.QueryBody{Query: &query, Timespan: to.Ptr(azlogs.TimeInterval("PT1H"))}, nil)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if res.Error != nil {
		t.Fatalf("query error: %v", res.Error)
	}
	tb := res.Tables[0]
	if *tb.Name != "PrimaryResult" {
		t.Errorf("table name %s", *tb.Name)
	}
	var cols []string
	for _, c := range tb.Columns {
		cols = append(cols, *c.Name+":"+string(*c.Type))
	}
	want := "AssessedResourceId:string,RecommendationId:string,RecommendationState:string,IsSnapshot:bool,TimeGenerated:datetime,TenantId:string"
	if strings.Join(cols, ",") != want {
		t.Errorf("columns = %s, want %s", strings.Join(cols, ","), want)
	}
	if len(tb.Rows) != 1 {
		t.Fatalf("rows = %v, want one", tb.Rows)
	}
	row := tb.Rows[0]
	if !strings.EqualFold(fmt.Sprint(row[0]), vm) || row[1] != assessmentKey || row[2] != "Unhealthy" || row[3] != false || row[5] != cid {
		t.Errorf("row = %v", row)
	}
	if ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(row[4])); err != nil || time.Since(ts) > time.Hour {
		t.Errorf("TimeGenerated %v: %v", row[4], err)
	}
	// A timespan in the past excludes the rows.
	old := azlogs.NewTimeInterval(time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	res, err = qc.QueryWorkspace(ctx, cid, azlogs.QueryBody{Query: &query, Timespan: &old}, nil)
	if err != nil || len(res.Tables[0].Rows) != 0 {
		t.Errorf("query in the past: %v rows, %v", len(res.Tables[0].Rows), err)
	}
	// GET with ?query= answers the same.
	resp, body := env.Do(http.MethodGet, "/v1/workspaces/"+cid+"/query?query="+url.QueryEscape(`SecurityRecommendation | where AssessedResourceId startswith "`+vm+`" | count`), env.Token, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"rows":[[2]]`) {
		t.Errorf("GET query: %d %s", resp.StatusCode, body)
	}
}

// TestQueryErrors: a query error carries its position; unknown
// workspaces are 404.
func TestQueryErrors(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	ws := createWorkspace(t, env, "sec-ws")
	cid := *ws.Properties.CustomerID
	qc := queryClient(t, env, env.Token)
	_, err := qc.QueryWorkspace(context.Background(), cid, azlogs.QueryBody{Query: to.Ptr("SecurityAlert\n| where AlertSeverity == ")}, nil)
	if st, code := statusOf(t, err); st != http.StatusBadRequest || code != "BadArgumentError" {
		t.Fatalf("bad query: %d %s (%v)", st, code, err)
	}
	resp, body := env.Do(http.MethodPost, "/v1/workspaces/"+cid+"/query", env.Token, map[string]any{"query": "SecurityAlert\n| where NoSuchColumn == 1"})
	var e struct {
		Error struct {
			Code       string `json:"code"`
			InnerError struct {
				Code       string `json:"code"`
				Message    string `json:"message"`
				InnerError struct {
					Line    int    `json:"line"`
					Pos     int    `json:"pos"`
					Token   string `json:"token"`
					Message string `json:"message"`
				} `json:"innererror"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("%d %s (%v)", resp.StatusCode, body, err)
	}
	in := e.Error.InnerError.InnerError
	if e.Error.Code != "BadArgumentError" || e.Error.InnerError.Code != "SemanticError" || in.Line != 2 || in.Pos != 9 ||
		in.Token != "NoSuchColumn" || !strings.Contains(in.Message, "^") {
		t.Errorf("error = %s", body)
	}
	// A query that does not parse is a syntax error.
	resp, body = env.Do(http.MethodPost, "/v1/workspaces/"+cid+"/query", env.Token, map[string]any{"query": "SecurityAlert\n| where (AlertSeverity == "})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"SyntaxError"`) {
		t.Errorf("syntax error: %d %s", resp.StatusCode, body)
	}
	resp, body = env.Do(http.MethodPost, "/v1/workspaces/"+cid+"/query", env.Token, map[string]any{"query": "SecurityAlert", "timespan": "yesterday"})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "InvalidTimespan") {
		t.Errorf("bad timespan: %d %s", resp.StatusCode, body)
	}
	resp, body = env.Do(http.MethodPost, "/v1/workspaces/00000000-1111-2222-3333-444444444444/query", env.Token, map[string]any{"query": "SecurityAlert"})
	if resp.StatusCode != http.StatusNotFound || servertest.ErrorCode(body) != "WorkspaceNotFoundError" {
		t.Errorf("unknown workspace: %d %s", resp.StatusCode, body)
	}
}

// upload sends records through the real Logs Ingestion client, gzipped.
func upload(t *testing.T, c *ingest.Client, dcr, stream string, recs []map[string]any) error {
	t.Helper()
	raw, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(raw)
	zw.Close()
	_, err = c.Upload(context.Background(), dcr, stream, b.Bytes(), &ingest.UploadOptions{ContentEncoding: to.Ptr("gzip")})
	return err
}

func alerts(n int, at time.Time) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"TimeGenerated": at.Add(-time.Duration(i) * time.Second).Format(time.RFC3339Nano),
			"AlertName": fmt.Sprintf("alert-%d", i), "AlertSeverity": []string{"High", "Low"}[i%2],
			"ConfidenceScore": 0.5, "IsIncident": false, "Entities": []any{map[string]any{"Type": "host"}}, "Unknown": "dropped"}
	}
	return out
}

// TestLogsIngestion writes into a hosted workspace with the real
// ingestion client (gzip), checks the 1 MB cap (413), unknown rules and
// streams, then partial results and the wait timeout of the query API
// over the uploaded rows.
func TestLogsIngestion(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	ws := createWorkspace(t, env, "sec-ws")
	cid := *ws.Properties.CustomerID
	dcr := workspace.DCRImmutableID(cid)
	resp, body := env.Do(http.MethodGet, *ws.ID+"?api-version=2022-10-01", env.Token, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"dataCollectionRuleImmutableId":"`+dcr+`"`) {
		t.Fatalf("workspace does not show its DCR id %s: %s", dcr, body)
	}
	ic := ingestClient(t, env, env.Token)
	now := time.Now().UTC()
	if err := upload(t, ic, dcr, "Custom-SecurityAlert_CL", alerts(1000, now)); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if _, err := ic.Upload(context.Background(), dcr, "SecurityAlert", []byte(`[{"AlertName":"plain","AlertSeverity":"Medium"}]`), nil); err != nil {
		t.Fatalf("plain upload: %v", err)
	}
	qc := queryClient(t, env, env.Token)
	res, err := qc.QueryWorkspace(context.Background(), cid, azlogs.QueryBody{Query: to.Ptr(
		`SecurityAlert | summarize n=count(), e=countif(Entities has "host") by AlertSeverity | order by AlertSeverity asc`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(res.Tables[0].Rows)
	if got != "[[High 500 500] [Low 500 500] [Medium 1 0]]" {
		t.Errorf("summary = %s", got)
	}
	// 1 MB cap, before and after decompression.
	big := []map[string]any{{"AlertName": strings.Repeat("x", 1<<20)}}
	if st, code := statusOf(t, upload(t, ic, dcr, "Custom-SecurityAlert_CL", big)); st != http.StatusRequestEntityTooLarge || code != "ContentLengthLimitExceeded" {
		t.Errorf("over 1 MB gzipped: %d %s", st, code)
	}
	raw, _ := json.Marshal(big)
	_, err = ic.Upload(context.Background(), dcr, "Custom-SecurityAlert_CL", raw, nil)
	if st, _ := statusOf(t, err); st != http.StatusRequestEntityTooLarge {
		t.Errorf("over 1 MB plain: %d", st)
	}
	if st, _ := statusOf(t, upload(t, ic, "dcr-00000000000000000000000000000000", "Custom-SecurityAlert_CL", alerts(1, now))); st != http.StatusNotFound {
		t.Errorf("unknown rule: %d", st)
	}
	if st, code := statusOf(t, upload(t, ic, dcr, "Custom-Nothing_CL", alerts(1, now))); st != http.StatusBadRequest || code != "InvalidStream" {
		t.Errorf("unknown stream: %d %s", st, code)
	}
	if _, err := ic.Upload(context.Background(), dcr, "Custom-SecurityAlert_CL", []byte(`{"not":"an array"}`), nil); err == nil {
		t.Errorf("an object body was accepted")
	}
	// Partial results: a cap of 100 rows.
	env.Server.Workspaces.MaxRows = 100
	res, err = qc.QueryWorkspace(context.Background(), cid, azlogs.QueryBody{Query: to.Ptr(`SecurityAlert | project AlertName`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tables[0].Rows) != 100 || res.Error == nil || res.Error.Code != "PartialError" {
		t.Errorf("partial: %d rows, error %v", len(res.Tables[0].Rows), res.Error)
	}
	env.Server.Workspaces.MaxRows = 0
	// Prefer: wait=1 with a one-microsecond "second": the query times out.
	env.Server.Workspaces.WaitUnit = time.Microsecond
	_, err = qc.QueryWorkspace(context.Background(), cid, azlogs.QueryBody{Query: to.Ptr(
		`SecurityAlert | join kind=inner (SecurityAlert | project AlertSeverity, Other=AlertName) on AlertSeverity | summarize count()`)},
		&azlogs.QueryWorkspaceOptions{Options: &azlogs.QueryOptions{Wait: to.Ptr(1)}})
	if st, code := statusOf(t, err); st != http.StatusGatewayTimeout || code != "GatewayTimeout" {
		t.Errorf("wait timeout: %d %s (%v)", st, code, err)
	}
	env.Server.Workspaces.WaitUnit = 0
}

// TestRetention removes rows older than the workspace's retention.
func TestRetention(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	ws := createWorkspace(t, env, "sec-ws")
	cid := *ws.Properties.CustomerID
	ic := ingestClient(t, env, env.Token)
	now := time.Now().UTC()
	recs := append(alerts(3, now), alerts(2, now.Add(-40*24*time.Hour))...)
	if err := upload(t, ic, workspace.DCRImmutableID(cid), "Custom-SecurityAlert_CL", recs); err != nil {
		t.Fatal(err)
	}
	n, err := env.Server.Workspaces.Prune(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("pruned %d rows (%v), want 2", n, err)
	}
	db, err := env.Server.Workspaces.DB(cid)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := db.Count(context.Background(), "SecurityAlert"); err != nil || c != 3 {
		t.Errorf("%d rows left (%v), want 3", c, err)
	}
}

// TestPermissions: no token is 401; a reader of another resource group
// can neither manage, query nor write the workspace; a reader of its
// resource group can query but not upload.
func TestPermissions(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	ws := createWorkspace(t, env, "sec-ws")
	cid := *ws.Properties.CustomerID
	grant := func(principal, role, scope string) string {
		t.Helper()
		err := env.Server.Store.Update(context.Background(), func(tx store.Tx) error {
			return auth.PutRoleAssignment(context.Background(), tx, &auth.RoleAssignment{
				ID:    scope + "/providers/Microsoft.Authorization/roleAssignments/" + principal + role[:8],
				Scope: scope, PrincipalID: principal, TenantID: env.TenantID,
				RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/" + role})
		})
		if err != nil {
			t.Fatal(err)
		}
		return env.TokenFor(env.TenantID, principal)
	}
	otherReader := grant("0000aaaa-0000-4000-8000-000000000002", auth.RoleReader, armid.ResourceGroupID(sub, "data-prod"))
	reader := grant("0000aaaa-0000-4000-8000-000000000003", auth.RoleReader, armid.ResourceGroupID(sub, rg))
	query := map[string]any{"query": "SecurityAlert | count"}
	qpath := "/v1/workspaces/" + cid + "/query"
	ipath := "/dataCollectionRules/" + workspace.DCRImmutableID(cid) + "/streams/Custom-SecurityAlert_CL?api-version=2023-01-01"
	cases := []struct {
		name, token, method, path string
		body                      any
		status                    int
	}{
		{"query without token", "", http.MethodPost, qpath, query, 401},
		{"upload without token", "", http.MethodPost, ipath, []any{}, 401},
		{"get without token", "", http.MethodGet, *ws.ID + "?api-version=2022-10-01", nil, 401},
		{"other reader queries", otherReader, http.MethodPost, qpath, query, 403},
		{"other reader uploads", otherReader, http.MethodPost, ipath, []any{}, 403},
		{"other reader gets", otherReader, http.MethodGet, *ws.ID + "?api-version=2022-10-01", nil, 403},
		{"other reader queries an unknown workspace", otherReader, http.MethodPost, "/v1/workspaces/00000000-1111-2222-3333-444444444444/query", query, 403},
		{"reader queries", reader, http.MethodPost, qpath, query, 200},
		{"reader gets", reader, http.MethodGet, *ws.ID + "?api-version=2022-10-01", nil, 200},
		{"reader cannot upload", reader, http.MethodPost, ipath, []any{}, 403},
		{"reader cannot delete", reader, http.MethodDelete, *ws.ID + "?api-version=2022-10-01", nil, 403},
		{"admin uploads", env.Token, http.MethodPost, ipath, []any{}, 204},
	}
	for _, tc := range cases {
		resp, body := env.Do(tc.method, tc.path, tc.token, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.name, resp.StatusCode, tc.status, body)
		}
	}
}

var runtimePollOptions = runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}

// TestDemoWorkspace: --demo creates security-ws and ExportToWorkspace,
// which exports assessments of the demo subscriptions into it.
func TestDemoWorkspace(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	c, err := armoperationalinsights.NewWorkspacesClient(server.DemoWorkspaceSub, env.Cred(), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	ws, err := c.Get(context.Background(), server.DemoWorkspaceRG, server.DemoWorkspaceName, nil)
	if err != nil {
		t.Fatalf("demo workspace: %v", err)
	}
	path := "/subscriptions/" + server.DemoAutomationSub + "/resourceGroups/" + server.DemoAutomationRG + "/providers/Microsoft.Security/automations/" + server.DemoWorkspaceAutomate + "?api-version=2023-12-01-preview"
	resp, body := env.Do(http.MethodGet, path, env.Token, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(body)), strings.ToLower(*ws.ID)) {
		t.Fatalf("demo automation: %d %s", resp.StatusCode, body)
	}
	ingestAssessment(t, env, vm, "Unhealthy")
	qc := queryClient(t, env, env.Token)
	waitFor(t, "the demo export", func() bool {
		r, err := qc.QueryWorkspace(context.Background(), *ws.Properties.CustomerID, azlogs.QueryBody{Query: to.Ptr(
			`SecurityRecommendation | where AssessedResourceId =~ "` + vm + `" and RecommendationState == "Unhealthy" | count`)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(r.Tables[0].Rows) == "[[1]]"
	})
}
