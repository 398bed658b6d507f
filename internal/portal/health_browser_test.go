package portal_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sluice/internal/auth"
	"sluice/internal/config"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
)

const (
	phSub = server.DemoSubProduction
	phRG  = "web-prod"
	phVM  = "/subscriptions/" + phSub + "/resourceGroups/" + phRG + "/providers/Microsoft.Compute/virtualMachines/web-vm-01"
	// A built-in recommendation (system updates).
	phAssessmentKey = "45cfe080-ceb1-a91e-9743-71551ed24e94"
	phHookKey       = "portal-health-signing-key-0123456789"
	phAutomation    = "ExportToFlakyHook"
)

// phWaitFor polls cond until it holds or a generous deadline passes.
func phWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// phReceiver is an HTTPS webhook receiver that refuses every request with
// 400 (a permanent failure) until it is fixed, then verifies the
// signature and keeps the bodies.
type phReceiver struct {
	mu      sync.Mutex
	fixed   bool
	refused int
	bodies  [][]byte
}

func (rc *phReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	m := hmac.New(sha256.New, []byte(phHookKey))
	m.Write(body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !rc.fixed || !hmac.Equal([]byte(r.Header.Get("X-Sluice-Signature")), []byte("sha256="+hex.EncodeToString(m.Sum(nil)))) {
		rc.refused++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.bodies = append(rc.bodies, body)
	w.WriteHeader(http.StatusOK)
}

func (rc *phReceiver) fix() {
	rc.mu.Lock()
	rc.fixed = true
	rc.mu.Unlock()
}

// received reports whether a delivered body is the event of resource id.
func (rc *phReceiver) received(id string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, b := range rc.bodies {
		var doc struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(b, &doc) == nil && strings.EqualFold(doc.ID, id) {
			return true
		}
	}
	return false
}

// phFailingExport starts a demo server whose automation phAutomation sends
// the Assessments of web-prod to a webhook that fails permanently, ingests
// an assessment and waits for its dead letter. It returns the receiver,
// the assessment id and the dead letter's id.
func phFailingExport(t *testing.T) (*servertest.Env, *phReceiver, string, string) {
	t.Helper()
	rc := &phReceiver{}
	ts := httptest.NewTLSServer(rc)
	t.Cleanup(ts.Close)
	bundle := filepath.Join(t.TempDir(), "receiver.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := servertest.New(t, servertest.WithDemo(), func(c *config.Config) { c.Export.CABundle = bundle })
	body := map[string]any{
		"location": "westeurope",
		"properties": map[string]any{
			"description": "Assessments of web-prod to a flaky webhook",
			"isEnabled":   true,
			"scopes":      []any{map[string]any{"scopePath": "/subscriptions/" + phSub + "/resourceGroups/" + phRG}},
			// Only the one recommendation this test ingests.
			"sources": []any{map[string]any{"eventSource": "Assessments", "ruleSets": []any{map[string]any{"rules": []any{
				map[string]any{"propertyJPath": "name", "propertyType": "String", "expectedValue": phAssessmentKey, "operator": "Equals"}}}}}},
			"actions": []any{map[string]any{"actionType": "Webhook", "uri": ts.URL + "/in", "signingKey": phHookKey}},
		},
	}
	if resp, out := env.Do(http.MethodPut, phAutomationPath("")+"?api-version=2023-12-01-preview", env.Token, body); resp.StatusCode/100 != 2 {
		t.Fatalf("put automation: %d %s", resp.StatusCode, out)
	}
	id := phVM + "/providers/Microsoft.Security/assessments/" + phAssessmentKey
	line := fmt.Sprintf(`{"type":"Microsoft.Security/assessments","id":%q,"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"Unhealthy"}}}`, id)
	if resp, out := env.Do(http.MethodPost, "/providers/Microsoft.Security/ingest?api-version=2024-01-01", env.Token, line+"\n"); resp.StatusCode != http.StatusOK {
		t.Fatalf("ingest: %d %s", resp.StatusCode, out)
	}
	var dl string
	phWaitFor(t, "the assessment's dead letter", func() bool {
		dl = phDeadLetterOf(t, env, id)
		return dl != ""
	})
	return env, rc, id, dl
}

func phAutomationPath(suffix string) string {
	return "/subscriptions/" + phSub + "/resourceGroups/" + phRG + "/providers/Microsoft.Security/automations/" + phAutomation + suffix
}

// phDeadLetterOf asks the API for the dead letter holding resource id's
// event ("" when there is none).
func phDeadLetterOf(t *testing.T, env *servertest.Env, id string) string {
	t.Helper()
	resp, out := env.Do(http.MethodGet, phAutomationPath("/deadLetters")+"?api-version=2023-12-01-preview&$top=1000", env.Token, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("dead letters: %d %s", resp.StatusCode, out)
	}
	var page struct {
		Value []struct {
			ID    string `json:"id"`
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		} `json:"value"`
	}
	if err := json.Unmarshal(out, &page); err != nil {
		t.Fatalf("decode dead letters: %v", err)
	}
	for _, d := range page.Value {
		if strings.EqualFold(d.Event.ID, id) {
			return d.ID
		}
	}
	return ""
}

// TestBrowserHealthReplayDeadLetter: an event the webhook refused shows as
// a dead letter on the delivery health page; after the receiver is fixed,
// its Replay button delivers it and the dead letter is gone.
func TestBrowserHealthReplayDeadLetter(t *testing.T) {
	t.Parallel()
	env, rc, id, dl := phFailingExport(t)
	b := newBrowser(t, env)
	b.signInAdmin()
	row := "#dl-" + dl
	b.run("open delivery health",
		chromedp.Navigate(b.url("/portal/health")),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	if got := b.text(row + " .reason"); !strings.Contains(got, "400") {
		t.Errorf("the dead letter's reason %q does not name the receiver's 400", got)
	}
	actions := b.text("table.actions")
	for _, want := range []string{"Webhook", "Failing"} {
		if !strings.Contains(actions, want) {
			t.Errorf("the actions table lacks %q:\n%s", want, actions)
		}
	}
	// The page shows the API's figures.
	resp, out := env.Do(http.MethodGet, phAutomationPath("/deliveryHealth")+"?api-version=2023-12-01-preview", env.Token, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("deliveryHealth: %d %s", resp.StatusCode, out)
	}
	var h struct {
		Actions []struct {
			DeadLettered int `json:"deadLettered"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(out, &h); err != nil || len(h.Actions) != 1 {
		t.Fatalf("deliveryHealth %s: %v", out, err)
	}
	sel := `#` + get(b, "section id", chromedp.Evaluate[string](`document.querySelector('`+row+`').closest('section').id`))
	if got := b.text(sel + " td.dead"); got != fmt.Sprint(h.Actions[0].DeadLettered) {
		t.Errorf("dead-lettered shows %q, the API says %d", got, h.Actions[0].DeadLettered)
	}

	rc.fix()
	b.run("replay",
		chromedp.Click(chromedp.CSS("#replay-"+dl)),
		chromedp.WaitVisible(chromedp.CSS(sel+" .deadletters p.outcome")),
	)
	if got := b.text(sel + " .deadletters p.outcome"); !strings.Contains(got, "Dead letter "+dl+" was queued") {
		t.Errorf("outcome after Replay: %q", got)
	}
	phWaitFor(t, "the replayed event at the receiver", func() bool { return rc.received(id) })
	if d := phDeadLetterOf(t, env, id); d != "" {
		t.Errorf("dead letter %s is still listed after the replay", d)
	}
	if n := get(b, "rows of the replayed dead letter", chromedp.Evaluate[int](`document.querySelectorAll('`+row+`').length`)); n != 0 {
		t.Errorf("the page still shows the replayed dead letter")
	}
	// The health section polls by itself: the delivery shows up without a reload.
	b.run("wait for the refreshed health",
		chromedp.WaitVisible(chromedp.CSS(sel+" td.state.status-ok")),
	)
}

// phSession is a signed-in portal session driven by plain HTTP.
type phSession struct {
	t     *testing.T
	env   *servertest.Env
	token string
	csrf  string
}

func phSessionFor(t *testing.T, env *servertest.Env, token string) *phSession {
	return &phSession{t: t, env: env, token: token}
}

var phCSRF = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// do sends a portal request with the session cookie; POSTs carry the
// portal's origin and the CSRF token scraped from the last page.
func (s *phSession) do(method, path string, form url.Values, hx bool) (int, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		if s.csrf != "" {
			form.Set("csrf", s.csrf)
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.env.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "__Host-sluice_session", Value: s.token})
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.env.URL)
	}
	if hx {
		req.Header.Set("HX-Request", "true")
	}
	c := &http.Client{Transport: s.env.Client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if m := phCSRF.FindStringSubmatch(string(b)); m != nil {
		s.csrf = m[1]
	}
	return resp.StatusCode, string(b)
}

// phReader registers a principal holding Reader on the production
// subscription and returns its token.
func phReader(t *testing.T, env *servertest.Env) string {
	t.Helper()
	const principal = "5e1f0000-0000-4000-8000-00000000abcd"
	scope := "/subscriptions/" + phSub
	body := map[string]any{"properties": map[string]any{"principalId": principal,
		"roleDefinitionId": scope + "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleReader}}
	resp, out := env.Do(http.MethodPut, scope+"/providers/Microsoft.Authorization/roleAssignments/7d0a9a3e-1b2c-4d5e-8f90-0123456789ab?api-version=2022-04-01", env.Token, body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("assign Reader: %d %s", resp.StatusCode, out)
	}
	return env.TokenFor(env.TenantID, principal)
}

// TestHealthReaderCannotReplay: a Reader sees the delivery health and the
// dead letters, but Replay and backfill answer with the API's 403 message
// (as a page and as an htmx fragment) and nothing is replayed.
func TestHealthReaderCannotReplay(t *testing.T) {
	t.Parallel()
	env, rc, id, dl := phFailingExport(t)
	reader := phReader(t, env)
	s := phSessionFor(t, env, reader)
	status, page := s.do(http.MethodGet, "/portal/health", nil, false)
	if status != http.StatusOK || !strings.Contains(page, `id="dl-`+dl+`"`) || !strings.Contains(page, phAutomation) {
		t.Fatalf("the reader's health page (%d) lacks the automation or dead letter %s:\n%.3000s", status, dl, page)
	}
	// The API's own answer to the reader is the oracle.
	resp, apiBody := env.Do(http.MethodPost, phAutomationPath("/deadLetters/"+dl+"/replay")+"?api-version=2023-12-01-preview", reader, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("the API let a Reader replay: %d %s", resp.StatusCode, apiBody)
	}
	var apiErr struct {
		Error struct{ Message string } `json:"error"`
	}
	if err := json.Unmarshal(apiBody, &apiErr); err != nil || apiErr.Error.Message == "" {
		t.Fatalf("API error %s: %v", apiBody, err)
	}
	automationID := "/subscriptions/" + phSub + "/resourceGroups/" + phRG + "/providers/Microsoft.Security/automations/" + phAutomation
	form := func() url.Values { return url.Values{"automation": {automationID}, "deadLetter": {dl}} }

	status, page = s.do(http.MethodPost, "/portal/health/replay", form(), false)
	if status != http.StatusForbidden || !strings.Contains(html.UnescapeString(page), apiErr.Error.Message) {
		t.Errorf("replay by a Reader: %d, want 403 with %q:\n%.3000s", status, apiErr.Error.Message, page)
	}
	status, page = s.do(http.MethodPost, "/portal/health/replay", form(), true)
	if status != http.StatusOK || !strings.Contains(page, "Replay refused") || !strings.Contains(html.UnescapeString(page), apiErr.Error.Message) {
		t.Errorf("htmx replay by a Reader: %d, want the refusal in the fragment:\n%.3000s", status, page)
	}
	all := url.Values{"automation": {automationID}}
	status, page = s.do(http.MethodPost, "/portal/health/replay", all, false)
	if status != http.StatusForbidden {
		t.Errorf("replay all by a Reader: %d\n%.2000s", status, page)
	}
	status, page = s.do(http.MethodPost, "/portal/health/backfill", url.Values{"automation": {automationID}}, true)
	if status != http.StatusOK || !strings.Contains(page, "Backfill refused") {
		t.Errorf("htmx backfill by a Reader: %d\n%.2000s", status, page)
	}
	// A POST without the CSRF token is refused before the API is called.
	s.csrf = ""
	if status, _ := s.do(http.MethodPost, "/portal/health/replay", form(), false); status != http.StatusForbidden {
		t.Errorf("replay without a CSRF token: %d", status)
	}
	// Nothing was replayed: a replay removes the dead letter (a failed
	// redelivery makes a new one), so the same id is still listed.
	if d := phDeadLetterOf(t, env, id); d != dl {
		t.Errorf("dead letter after the refused replays: %q, want %q", d, dl)
	}
	if rc.received(id) {
		t.Error("the event was delivered")
	}

	// The administrator's Replay all works as a plain form POST: the page
	// comes back with the outcome, and the dead letter is replayed (the
	// receiver still refuses, so its event is dead-lettered anew).
	admin := phSessionFor(t, env, env.Token)
	admin.do(http.MethodGet, "/portal/health", nil, false)
	status, page = admin.do(http.MethodPost, "/portal/health/replay", all, false)
	if status != http.StatusOK || !regexp.MustCompile(`\d+ dead letters? (was|were) queued for delivery again`).MatchString(page) {
		t.Errorf("replay all by the administrator: %d\n%.3000s", status, page)
	}
	phWaitFor(t, "the replayed event dead-lettered anew", func() bool {
		d := phDeadLetterOf(t, env, id)
		return d != "" && d != dl
	})
}

// TestHealthBackfillAndBadInput: the administrator's backfill answers with
// the API's count; a form naming something that is not an automation is a
// 400, never an API call elsewhere.
func TestHealthBackfillAndBadInput(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	s := phSessionFor(t, env, env.Token)
	if status, page := s.do(http.MethodGet, "/portal/health", nil, false); status != http.StatusOK || !strings.Contains(page, "ExportToWorkspace") {
		t.Fatalf("health page %d:\n%.2000s", status, page)
	}
	id := "/subscriptions/" + phSub + "/resourceGroups/web-prod/providers/Microsoft.Security/automations/ExportToWorkspace"
	status, page := s.do(http.MethodPost, "/portal/health/backfill", url.Values{"automation": {id}}, true)
	m := regexp.MustCompile(`Backfill queued (\d+) events`).FindStringSubmatch(page)
	if status != http.StatusOK || m == nil || m[1] == "0" {
		t.Fatalf("backfill: %d %s", status, page)
	}
	for _, bad := range []string{"", "/subscriptions/x/providers/Microsoft.Authorization/roleAssignments/y", id + "/../../x", id + "?a=b",
		"/subscriptions/../resourceGroups/web-prod/providers/Microsoft.Security/automations/ExportToWorkspace"} {
		if status, _ := s.do(http.MethodPost, "/portal/health/backfill", url.Values{"automation": {bad}}, false); status != http.StatusBadRequest {
			t.Errorf("backfill of %q: %d, want 400", bad, status)
		}
	}
	if status, _ := s.do(http.MethodPost, "/portal/health/replay", url.Values{"automation": {id}, "deadLetter": {"1/../x"}}, false); status != http.StatusBadRequest {
		t.Errorf("replay of a malformed dead letter id: %d, want 400", status)
	}
	// The polled fragment is the actions' tbody.
	status, page = s.do(http.MethodGet, "/portal/health/actions?automation="+url.QueryEscape(id), nil, true)
	if status != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(page), "<tbody") || !strings.Contains(page, `hx-trigger="every 10s"`) {
		t.Errorf("actions fragment %d:\n%.1000s", status, page)
	}
}
