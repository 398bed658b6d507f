package portal_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"sluice/internal/security"
	"sluice/internal/server/servertest"
)

// apiReportRows reads every JSON page of an API report (following
// nextLink) as the administrator.
func apiReportRows(t *testing.T, env *servertest.Env, path string) []map[string]string {
	t.Helper()
	var rows []map[string]string
	for target := path; target != ""; {
		resp, body := env.Do(http.MethodGet, target, env.Token, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", target, resp.StatusCode, body)
		}
		var p struct {
			Value    []map[string]string `json:"value"`
			NextLink string              `json:"nextLink"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, p.Value...)
		target = ""
		if p.NextLink != "" {
			u, err := url.Parse(p.NextLink)
			if err != nil {
				t.Fatal(err)
			}
			target = u.RequestURI()
		}
	}
	return rows
}

// TestBrowserAlertsFilterAndDownload: sign in, open the alerts of the demo,
// filter by severity (htmx swaps the table), check the rows, download the
// CSV report through Chromium and compare it with the API's rows for the
// same filter.
func TestBrowserAlertsFilterAndDownload(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	want := apiReportRows(t, env, "/providers/Sluice.Reports/alerts?api-version=2024-01-01&format=json&severity=High")
	if len(want) == 0 {
		t.Fatal("the demo has no High alert to filter on")
	}
	all := apiReportRows(t, env, "/providers/Sluice.Reports/alerts?api-version=2024-01-01&format=json")
	if len(all) == len(want) {
		t.Fatal("the demo has only High alerts: the filter would prove nothing")
	}

	b := newBrowser(t, env)
	b.signInAdmin()
	b.run("open the alerts", chromedp.Navigate(b.url("/portal/alerts")), chromedp.WaitVisible(chromedp.ID("rows")))
	before := get(b, "count rows", chromedp.Evaluate[int](`document.querySelectorAll('#rows tbody tr').length`))
	if before != min(len(all), 50) {
		t.Errorf("the unfiltered table shows %d rows, the API has %d alerts", before, len(all))
	}

	// Ticking High swaps the table in place (htmx) and pushes the URL.
	b.run("filter by severity", chromedp.Click(chromedp.ID("severity-high")))
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`(() => {
		const rows = [...document.querySelectorAll('#rows tbody tr')];
		return rows.length > 0 && rows.every(r => r.dataset.severity === 'High') && location.search.includes('severity=High');
	})()`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the table did not switch to High alerts: %v", err)
	}
	// The swap replaced the table only (an htmx fragment, not a page
	// inside the page).
	if n := get(b, "count layouts", chromedp.Evaluate[int](`document.querySelectorAll('header.top').length + document.querySelectorAll('#report').length`)); n != 2 {
		t.Errorf("after the swap the page has %d headers and report sections together, want 2", n)
	}
	sevs := get(b, "read severities", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#rows tbody td.severity')].map(td => td.textContent.trim())`))
	if len(sevs) != min(len(want), 50) {
		t.Errorf("the filtered table shows %d rows, the API has %d High alerts", len(sevs), len(want))
	}
	for _, s := range sevs {
		if s != "High" {
			t.Errorf("a row of severity %q after filtering by High", s)
		}
	}
	href := get(b, "read the download link", chromedp.Evaluate[string](`document.getElementById('download').getAttribute('href')`))
	if !strings.Contains(href, "severity=High") {
		t.Fatalf("the download link %q does not carry the filter", href)
	}

	// Download the CSV report through the browser.
	dir := t.TempDir()
	done := make(chan *cdpbrowser.EventDownloadProgress, 1)
	if err := chromedp.ListenBrowser(b.ctx, func(ev any) {
		if p, ok := ev.(*cdpbrowser.EventDownloadProgress); ok && (p.State == cdpbrowser.DownloadProgressStateCompleted || p.State == cdpbrowser.DownloadProgressStateCanceled) {
			select {
			case done <- p:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	events := true
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	b.run("download the CSV report", chromedp.Click(chromedp.ID("download")))
	var progress *cdpbrowser.EventDownloadProgress
	select {
	case progress = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the download did not complete within 30 s")
	case <-b.ctx.Done():
		t.Fatal(context.Cause(b.ctx))
	}
	if progress.State != cdpbrowser.DownloadProgressStateCompleted {
		t.Fatalf("download %s", progress.State)
	}
	file := progress.FilePath
	if file == "" {
		file = filepath.Join(dir, progress.GUID)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("the downloaded file: %v", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("parse the downloaded CSV: %v", err)
	}
	// The API's rows of the same filter, read now (the demo raises a new
	// alert every two minutes).
	want = apiReportRows(t, env, "/providers/Sluice.Reports/alerts?api-version=2024-01-01&format=json&severity=High")
	if !slices.Equal(recs[0], security.AlertReportColumns) {
		t.Fatalf("CSV header %v", recs[0])
	}
	if len(recs)-1 != len(want) {
		t.Fatalf("the CSV has %d rows, the API %d", len(recs)-1, len(want))
	}
	for i, rec := range recs[1:] {
		for j, col := range recs[0] {
			if got, exp := rec[j], security.CSVSafe(want[i][col]); got != exp {
				t.Errorf("row %d %s: CSV %q, API %q", i+1, col, got, exp)
			}
		}
	}
}

// TestBrowserRecommendationsPaging: the recommendations of the demo are
// more than a page; Next and Previous page through them in place, and the
// state filter narrows the rows.
func TestBrowserRecommendationsPaging(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	b := newBrowser(t, env)
	b.signInAdmin()
	b.run("open the recommendations", chromedp.Navigate(b.url("/portal/recommendations")), chromedp.WaitVisible(chromedp.ID("next")))
	first := get(b, "first page", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#rows tbody td.name')].map(td => td.textContent.trim())`))
	if len(first) != 50 {
		t.Fatalf("the first page shows %d rows", len(first))
	}
	b.run("next page", chromedp.Click(chromedp.ID("next")), chromedp.WaitVisible(chromedp.ID("prev")))
	if !strings.Contains(b.text("#report caption"), "Page 2") {
		t.Errorf("after Next: %q", b.text("#report caption"))
	}
	b.run("previous page", chromedp.Click(chromedp.ID("prev")), chromedp.WaitNotPresent(chromedp.ID("prev")))
	again := get(b, "first page again", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#rows tbody td.name')].map(td => td.textContent.trim())`))
	if !slices.Equal(first, again) {
		t.Errorf("Previous did not come back to the first page")
	}

	// Filter by state: only Unhealthy rows remain.
	b.run("filter by state", chromedp.Click(chromedp.ID("state-unhealthy")))
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`(() => {
		const rows = [...document.querySelectorAll('#rows tbody tr')];
		return rows.length > 0 && rows.every(r => r.dataset.state === 'Unhealthy');
	})()`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the table did not switch to Unhealthy rows: %v", err)
	}
	want := apiReportRows(t, env, "/providers/Sluice.Reports/recommendations?api-version=2024-01-01&format=json&state=Unhealthy")
	if n := get(b, "count rows", chromedp.Evaluate[int](`document.querySelectorAll('#rows tbody tr').length`)); n != min(len(want), 50) {
		t.Errorf("%d Unhealthy rows shown, the API has %d", n, len(want))
	}
}
