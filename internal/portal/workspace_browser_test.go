package portal_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"sluice/internal/server/servertest"
)

// phDemoWorkspace returns the customer id of the demo workspace security-ws.
func phDemoWorkspace(t *testing.T, env *servertest.Env) string {
	t.Helper()
	const sharedSub = "7b2d3e5f-6c0a-4e2f-8b8c-2a3f4e5d6c7b"
	resp, out := env.Do(http.MethodGet, "/subscriptions/"+sharedSub+"/resourceGroups/monitoring/providers/Microsoft.OperationalInsights/workspaces/security-ws?api-version=2022-10-01", env.Token, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get security-ws: %d %s", resp.StatusCode, out)
	}
	var ws struct {
		Properties struct {
			CustomerID string `json:"customerId"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(out, &ws); err != nil || ws.Properties.CustomerID == "" {
		t.Fatalf("security-ws %s: %v", out, err)
	}
	return ws.Properties.CustomerID
}

// phQuery runs a query through the API (the oracle) and returns its rows.
func phQuery(t *testing.T, env *servertest.Env, cid, query string) [][]any {
	t.Helper()
	resp, out := env.Do(http.MethodPost, "/v1/workspaces/"+cid+"/query", env.Token, map[string]string{"query": query})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query %q: %d %s", query, resp.StatusCode, out)
	}
	var ans struct {
		Tables []struct {
			Rows [][]any `json:"rows"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(out, &ans); err != nil || len(ans.Tables) == 0 {
		t.Fatalf("query answer %s: %v", out, err)
	}
	return ans.Tables[0].Rows
}

// phWaitRows waits until the demo export has written rows of table.
func phWaitRows(t *testing.T, env *servertest.Env, cid, table string) {
	t.Helper()
	phWaitFor(t, "rows in "+table, func() bool {
		rows := phQuery(t, env, cid, table+" | count")
		return len(rows) == 1 && fmt.Sprint(rows[0][0]) != "0"
	})
}

// TestBrowserWorkspaceQuery runs a KQL query on the demo workspace from
// the page and sees its table; a syntax error shows the API's message
// with the caret under the faulty token.
func TestBrowserWorkspaceQuery(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	cid := phDemoWorkspace(t, env)
	phWaitRows(t, env, cid, "SecurityRecommendation")

	b := newBrowser(t, env)
	b.signInAdmin()
	b.run("run a query",
		chromedp.Navigate(b.url("/portal/workspace")),
		chromedp.WaitVisible(chromedp.ID("query")),
		chromedp.SetValue(chromedp.ID("workspace"), cid),
		chromedp.SetValue(chromedp.ID("query"), "SecurityRecommendation | take 5"),
		chromedp.Click(chromedp.ID("run")),
		chromedp.WaitVisible(chromedp.ID("result-table")),
	)
	if got := b.text("#row-count"); got != "5" {
		t.Errorf("row count %q, want 5", got)
	}
	if n := get(b, "table rows", chromedp.Evaluate[int](`document.querySelectorAll('#result-table tbody tr').length`)); n != 5 {
		t.Errorf("%d rows in the table, want 5", n)
	}
	heads := b.text("#result-table thead")
	for _, col := range []string{"RecommendationDisplayName", "RecommendationState", "Properties"} {
		if !strings.Contains(heads, col) {
			t.Errorf("the table lacks the column %s: %s", col, heads)
		}
	}
	// Dynamic values are JSON in <code>.
	props := get(b, "a dynamic cell", chromedp.Evaluate[string](`(function(){
		var i = Array.from(document.querySelectorAll('#result-table thead th')).findIndex(function(th){return th.textContent==='Properties'});
		var c = document.querySelector('#result-table tbody tr').children[i].querySelector('code');
		return c ? c.textContent : '';
	})()`))
	var doc map[string]any
	if err := json.Unmarshal([]byte(props), &doc); err != nil || doc["status"] == nil {
		t.Errorf("the Properties cell is not the assessment's JSON in <code>: %v %.300s", err, props)
	}
	if got := b.text("#query-time"); !regexp.MustCompile(`^\d+(\.\d+)? m?s$`).MatchString(got) {
		t.Errorf("query time %q", got)
	}
	// The page was not reloaded: htmx swapped the results in.
	if u := get(b, "location", chromedp.Evaluate[string](`location.pathname`)); u != "/portal/workspace" {
		t.Errorf("location %s", u)
	}

	b.run("run a query with a syntax error",
		chromedp.SetValue(chromedp.ID("query"), "SecurityRecommendation\n| wher RecommendationState == 'Unhealthy'"),
		chromedp.Click(chromedp.ID("run")),
		chromedp.WaitVisible(chromedp.ID("query-error")),
	)
	msg := get(b, "error text", chromedp.Evaluate[string](`document.getElementById('query-error').textContent`))
	for _, want := range []string{"SyntaxError", "line 2, column 3", "wher", "\n| wher RecommendationState == 'Unhealthy'\n  ^"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	if n := get(b, "result tables", chromedp.Evaluate[int](`document.querySelectorAll('#result-table').length`)); n != 0 {
		t.Errorf("a result table is still shown after the error")
	}
}

// TestWorkspaceFormWithoutJavaScript: the plain form POST renders the
// whole page with the results (values equal to the API's), a caps the
// rendered rows and says so, shows errors with status 400, and a user
// who cannot read the workspace gets the API's refusal.
func TestWorkspaceFormWithoutJavaScript(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	cid := phDemoWorkspace(t, env)
	phWaitRows(t, env, cid, "SecurityAlert")
	s := phSessionFor(t, env, env.Token)
	status, page := s.do(http.MethodGet, "/portal/workspace", nil, false)
	if status != http.StatusOK || !strings.Contains(page, `value="`+cid+`"`) || !strings.Contains(page, "security-ws") {
		t.Fatalf("workspace page %d lacks security-ws:\n%.2000s", status, page)
	}
	// An example link prefills the form without running it.
	ex := "SecurityAlert | summarize count() by AlertSeverity"
	offered := false
	for _, m := range regexp.MustCompile(`href="(/portal/workspace\?[^"]*)"`).FindAllStringSubmatch(page, -1) {
		u, err := url.Parse(html.UnescapeString(m[1]))
		offered = offered || (err == nil && u.Query().Get("query") == ex && u.Query().Get("workspace") == cid)
	}
	if !offered {
		t.Errorf("the page does not offer the example %q", ex)
	}
	status, page = s.do(http.MethodGet, "/portal/workspace?"+url.Values{"workspace": {cid}, "timespan": {"P7D"}, "query": {ex}}.Encode(), nil, false)
	if status != http.StatusOK || !strings.Contains(html.UnescapeString(page), ">"+ex+"</textarea>") || !strings.Contains(page, `<option value="P7D" selected>`) ||
		strings.Contains(page, "result-table") {
		t.Errorf("the example link's page %d does not prefill the form:\n%.3000s", status, page)
	}
	const q = "SecurityAlert | summarize count() by AlertSeverity | order by AlertSeverity asc"
	want := phQuery(t, env, cid, q)
	status, page = s.do(http.MethodPost, "/portal/workspace", url.Values{"workspace": {cid}, "query": {q}, "timespan": {""}}, false)
	if status != http.StatusOK || !strings.Contains(page, `<h1>Workspace</h1>`) {
		t.Fatalf("form POST %d:\n%.2000s", status, page)
	}
	for _, row := range want {
		cells := fmt.Sprintf("<td>%v</td><td>%v</td>", row[0], row[1])
		if !strings.Contains(page, cells) {
			t.Errorf("the page lacks the API's row %s", cells)
		}
	}
	if !strings.Contains(page, fmt.Sprintf(`<span id="row-count">%d</span>`, len(want))) {
		t.Errorf("the row count is not %d", len(want))
	}

	// 1,200 alerts through the Logs Ingestion API: the page shows 1,000 and says so.
	var recs []map[string]any
	for i := range 1200 {
		recs = append(recs, map[string]any{"AlertName": "portal-cap-test", "AlertSeverity": "Low", "SystemAlertId": fmt.Sprintf("cap-%d", i)})
	}
	dcr := "dcr-" + strings.ReplaceAll(cid, "-", "")
	if resp, out := env.Do(http.MethodPost, "/dataCollectionRules/"+dcr+"/streams/Custom-SecurityAlert_CL?api-version=2023-01-01", env.Token, recs); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logs ingestion: %d %s", resp.StatusCode, out)
	}
	capq := `SecurityAlert | where AlertName == "portal-cap-test" | project SystemAlertId`
	status, page = s.do(http.MethodPost, "/portal/workspace", url.Values{"workspace": {cid}, "query": {capq}, "timespan": {"PT1H"}}, true)
	if status != http.StatusOK || !strings.Contains(page, `<span id="row-count">1200</span>`) || !strings.Contains(page, `id="truncated"`) ||
		!strings.Contains(page, "Only the first 1000 of 1200 rows are shown") {
		t.Errorf("capped result %d:\n%.1500s", status, page)
	}
	if n := strings.Count(page, "<td>cap-"); n != 1000 {
		t.Errorf("%d rows rendered, want 1000", n)
	}
	if strings.Contains(page, "<html") {
		t.Error("the htmx answer is a whole page")
	}

	// A semantic error: 400 with the API's message and the caret.
	status, page = s.do(http.MethodPost, "/portal/workspace", url.Values{"workspace": {cid}, "query": {"SecurityAlert\n| where NoSuchColumn == 1"}, "timespan": {"P1D"}}, false)
	text := html.UnescapeString(page)
	if status != http.StatusBadRequest || !strings.Contains(text, "SemanticError") || !strings.Contains(text, "unknown column or variable 'NoSuchColumn'") ||
		!strings.Contains(text, "| where NoSuchColumn == 1\n        ^") {
		t.Errorf("semantic error %d:\n%.3000s", status, page)
	}
	// The form keeps the query and the chosen time range.
	if !strings.Contains(page, `<option value="P1D" selected>`) || !strings.Contains(text, "| where NoSuchColumn == 1</textarea>") {
		t.Errorf("the form lost its values:\n%.3000s", page)
	}

	// A principal without any role sees no workspace, and a query by
	// customer id answers with the API's 404.
	stranger := phSessionFor(t, env, env.TokenFor(env.TenantID, "5e1f0000-0000-4000-8000-00000000ffff"))
	if status, page := stranger.do(http.MethodGet, "/portal/workspace", nil, false); status != http.StatusOK || strings.Contains(page, cid) {
		t.Errorf("a stranger's workspace page (%d) shows the workspace", status)
	}
	resp, apiBody := env.Do(http.MethodPost, "/v1/workspaces/"+cid+"/query", env.TokenFor(env.TenantID, "5e1f0000-0000-4000-8000-00000000ffff"), map[string]string{"query": q})
	status, page = stranger.do(http.MethodPost, "/portal/workspace", url.Values{"workspace": {cid}, "query": {q}}, true)
	if resp.StatusCode/100 == 2 || !strings.Contains(page, servertest.ErrorCode(apiBody)) || strings.Contains(page, "result-table") {
		t.Errorf("a stranger's query: API %d %s; portal %d:\n%.1500s", resp.StatusCode, apiBody, status, page)
	}
}
