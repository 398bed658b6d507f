package portal_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"sluice/internal/armid"
	"sluice/internal/auth"
	"sluice/internal/portal"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

// pageAs GETs a portal path with a session for token (and extra headers)
// and returns the status, headers and body.
func pageAs(t *testing.T, env *servertest.Env, token, path string, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: portal.CookieName, Value: token})
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Transport: env.Client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

var sevCell = regexp.MustCompile(`<td class="severity sev-(\w+)">`)

// severities lists the severity cells of a rendered table.
func severities(body string) []string {
	var out []string
	for _, m := range sevCell.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func grantRole(t *testing.T, env *servertest.Env, scope, principal, role string) {
	t.Helper()
	err := env.Server.Store.Update(context.Background(), func(tx store.Tx) error {
		return auth.PutRoleAssignment(context.Background(), tx, &auth.RoleAssignment{
			ID:    scope + "/providers/Microsoft.Authorization/roleAssignments/" + uuid.NewString(),
			Scope: scope, PrincipalID: principal, TenantID: env.TenantID,
			RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/" + role})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReportPages(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())

	// The administrator sees the tenant-wide tables.
	status, _, body := pageAs(t, env, env.Token, "/portal/alerts")
	if status != http.StatusOK || !strings.Contains(body, `id="download"`) || !strings.Contains(body, `<option value="all" selected>`) {
		t.Fatalf("alerts page: %d\n%s", status, body)
	}
	if len(severities(body)) == 0 {
		t.Fatalf("the demo's alerts are not in the table:\n%s", body)
	}
	status, _, body = pageAs(t, env, env.Token, "/portal/alerts?sub=all&severity=High&severity=Medium")
	for _, s := range severities(body) {
		if s != "High" && s != "Medium" {
			t.Errorf("filtered alerts show severity %s", s)
		}
	}
	if status != http.StatusOK || !strings.Contains(body, `id="severity-high" name="severity" value="High" checked`) {
		t.Errorf("the severity filter is not echoed: %d", status)
	}
	status, _, body = pageAs(t, env, env.Token, "/portal/recommendations?sub="+server.DemoSubProduction+"&state=Unhealthy")
	if status != http.StatusOK || !strings.Contains(body, `data-state="Unhealthy"`) || strings.Contains(body, `data-state="Healthy"`) {
		t.Errorf("recommendations filtered by state: %d", status)
	}
	// 50 rows a page, with a next page.
	if n := strings.Count(body, "<tr data-severity"); n != 0 && n > 50 {
		t.Errorf("%d rows on one page", n)
	}
	status, _, body = pageAs(t, env, env.Token, "/portal/recommendations?sub="+server.DemoSubProduction)
	if n := strings.Count(body, "<tr data-severity"); status != http.StatusOK || n != 50 || !strings.Contains(body, `id="next"`) {
		t.Fatalf("first page: %d, %d rows, next link %v", status, n, strings.Contains(body, `id="next"`))
	}
	next := regexp.MustCompile(`id="next" href="([^"]+)"`).FindStringSubmatch(body)[1]
	next = strings.ReplaceAll(next, "&amp;", "&")
	status, _, page2 := pageAs(t, env, env.Token, next)
	if status != http.StatusOK || !strings.Contains(page2, `id="prev"`) || !strings.Contains(page2, "Page 2") {
		t.Errorf("second page: %d", status)
	}

	// An htmx request for the table gets only the fragment.
	status, _, frag := pageAs(t, env, env.Token, "/portal/alerts?sub=all&severity=Low", "HX-Request", "true", "HX-Target", "report")
	if status != http.StatusOK || strings.Contains(frag, "<html") || !strings.HasPrefix(strings.TrimSpace(frag), `<section id="report"`) {
		t.Errorf("htmx fragment: %d\n%.300s", status, frag)
	}

	// A filter the API refuses shows its message.
	status, _, body = pageAs(t, env, env.Token, "/portal/alerts?sub=all&from=yesterday")
	if status != http.StatusBadRequest || !strings.Contains(body, `id="problem"`) || !strings.Contains(body, "is not a time") {
		t.Errorf("bad filter: %d", status)
	}
	status, _, _ = pageAs(t, env, env.Token, "/portal/alerts?sub=../../x")
	if status != http.StatusBadRequest {
		t.Errorf("a subscription that is not a GUID: %d", status)
	}

	// The CSV download streams the API's report of the filter.
	status, h, csvBody := pageAs(t, env, env.Token, "/portal/alerts/report.csv?sub=all&severity=High")
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Disposition"), `attachment; filename="sluice-alerts-tenant-`) {
		t.Fatalf("CSV: %d %v", status, h)
	}
	recs, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("CSV: %v, %d records", err, len(recs))
	}
	sev := slices.Index(recs[0], "severity")
	for _, r := range recs[1:] {
		if r[sev] != "High" {
			t.Errorf("CSV row of severity %s", r[sev])
		}
	}
}

func TestReportPages_authorization(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())

	// Without a role: no subscription, and the tenant-wide report is refused.
	nobody := env.TokenFor(env.TenantID, uuid.NewString())
	status, _, body := pageAs(t, env, nobody, "/portal/alerts")
	if status != http.StatusForbidden || !strings.Contains(body, `id="problem"`) || strings.Contains(body, "<tr data-severity") {
		t.Errorf("alerts without a role: %d\n%.500s", status, body)
	}
	status, _, body = pageAs(t, env, nobody, "/portal/alerts/report.csv?sub="+server.DemoSubProduction)
	if status != http.StatusForbidden || servertest.ErrorCode([]byte(body)) != "AuthorizationFailed" {
		t.Errorf("CSV without a role: %d %.300s", status, body)
	}

	// A reader of one subscription sees that subscription only: "All
	// subscriptions" covers the ones it may read.
	readerID := uuid.NewString()
	grantRole(t, env, armid.SubscriptionID(server.DemoSubShared), readerID, auth.RoleReader)
	reader := env.TokenFor(env.TenantID, readerID)
	status, _, body = pageAs(t, env, reader, "/portal/recommendations")
	if status != http.StatusOK || strings.Contains(body, `id="notice"`) || !strings.Contains(body, "<tr") ||
		!strings.Contains(body, `<option value="`+server.DemoSubShared+`"`) {
		t.Errorf("reader's default page: %d\n%.800s", status, body)
	}
	if strings.Contains(body, server.DemoSubProduction) {
		t.Errorf("the reader's page names a subscription it cannot read")
	}
	status, _, _ = pageAs(t, env, reader, "/portal/recommendations?sub="+server.DemoSubProduction)
	if status != http.StatusForbidden {
		t.Errorf("reader asking for another subscription: %d", status)
	}
	status, _, body = pageAs(t, env, reader, "/portal/recommendations/report.csv?sub="+server.DemoSubShared+"&state=Unhealthy")
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if status != http.StatusOK || err != nil || len(recs) < 2 {
		t.Fatalf("reader's CSV: %d %v", status, err)
	}
	subCol, stateCol := slices.Index(recs[0], "subscriptionId"), slices.Index(recs[0], "state")
	for _, r := range recs[1:] {
		if r[subCol] != server.DemoSubShared || r[stateCol] != "Unhealthy" {
			t.Errorf("reader's CSV row %v", r)
		}
	}
	// Without a session the page asks for a sign-in.
	status, h, _ := pageAs(t, env, "", "/portal/alerts")
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/portal/login") {
		t.Errorf("no session: %d %s", status, h.Get("Location"))
	}
}
