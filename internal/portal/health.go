package portal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The delivery health page lists every automation the user can read with
// the delivery state of each of its actions (from the automation's
// deliveryHealth route) and its dead letters (deadLetters, paged), with
// buttons to replay one or all dead letters and to start a backfill.
// Every read and write goes through the export API with the user's token.

// healthAPIVersion is the api-version of the automation and delivery routes.
const healthAPIVersion = "2023-12-01-preview"

// healthDeadLetterPage is how many dead letters one page shows.
const healthDeadLetterPage = 20

// healthEventPreview bounds the event JSON shown under a dead letter.
const healthEventPreview = 4096

// healthRoutes registers the delivery health page.
func (p *Portal) healthRoutes() {
	m := p.mux
	m.Handle("GET "+Prefix+"health", p.authed(p.healthPage))
	m.Handle("GET "+Prefix+"health/actions", p.authed(p.healthActions))
	m.Handle("GET "+Prefix+"health/deadletters", p.authed(p.healthDeadLetters))
	m.Handle("POST "+Prefix+"health/replay", p.authed(p.healthReplay))
	m.Handle("POST "+Prefix+"health/backfill", p.authed(p.healthBackfill))
}

// hxFragment reports whether r is an htmx request that wants a fragment.
func hxFragment(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") == ""
}

// healthAutomationID accepts the id of an automation (names never hold
// / ? # or %).
var healthAutomationID = regexp.MustCompile(`(?i)^/subscriptions/([^/?#%]+)/resourceGroups/([^/?#%]+)/providers/Microsoft\.Security/automations/([^/?#%]+)$`)

// healthAutomationPath turns an automation id from a form into an escaped API
// path; anything that is not an automation id is refused.
func healthAutomationPath(id string) (string, error) {
	m := healthAutomationID.FindStringSubmatch(id)
	if m == nil || dotSegment(m[1]) || dotSegment(m[2]) || dotSegment(m[3]) {
		return "", &APIError{Status: http.StatusBadRequest, Code: "InvalidAutomationId", Message: "The automation id is missing or is not an automation's resource id."}
	}
	return "/subscriptions/" + url.PathEscape(m[1]) + "/resourceGroups/" + url.PathEscape(m[2]) +
		"/providers/Microsoft.Security/automations/" + url.PathEscape(m[3]), nil
}

// dotSegment reports a path segment a URL parser would resolve away.
func dotSegment(s string) bool { return s == "." || s == ".." }

// sessionCSRF is the CSRF token of the request's session ("" without one).
func sessionCSRF(r *http.Request) string {
	if s := sessionFrom(r.Context()); s != nil {
		return s.CSRF
	}
	return ""
}

// pageDomID is a stable HTML id for a resource id.
func pageDomID(prefix, id string) string {
	h := sha256.Sum256([]byte(strings.ToLower(id)))
	return prefix + hex.EncodeToString(h[:6])
}

// healthAutomation is one automation on the page.
type healthAutomation struct {
	ID            string
	Name          string
	ResourceGroup string
	Subscription  string
	Description   string
	Enabled       bool
	DomID         string
	Actions       []*healthAction
	// ActionsError is the API's answer when the health could not be read.
	ActionsError string
	DeadLetters  *healthDeadLetters
	ObservedAt   time.Time
	// CSRF is the session's token for the forms of the fragment.
	CSRF string
}

// healthAction is one action's delivery state.
type healthAction struct {
	Index               int       `json:"actionIndex"`
	Type                string    `json:"actionType"`
	Delivered           int64     `json:"delivered"`
	Retried             int64     `json:"retried"`
	DeadLettered        int64     `json:"deadLettered"`
	LastError           string    `json:"lastError"`
	LastErrorAt         time.Time `json:"lastErrorAt"`
	LastSuccess         time.Time `json:"lastSuccess"`
	QueueDepth          int64     `json:"queueDepth"`
	OldestAgeSeconds    float64   `json:"oldestUndeliveredAgeSeconds"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	NextAttempt         time.Time `json:"nextAttempt"`
	Warnings            []struct {
		Time    time.Time `json:"time"`
		EventID string    `json:"eventId"`
		Message string    `json:"message"`
	} `json:"warnings"`
	// Target describes the destination (from the automation's action).
	Target string `json:"-"`
	// State and StateClass summarise the action for the table.
	State      string `json:"-"`
	StateClass string `json:"-"`
}

// Lag is the age of the oldest waiting event.
func (a *healthAction) Lag() string {
	if a.QueueDepth == 0 || a.OldestAgeSeconds <= 0 {
		return "—"
	}
	return (time.Duration(a.OldestAgeSeconds*float64(time.Second)) / time.Second * time.Second).String()
}

func (a *healthAction) classify(enabled bool) {
	switch {
	case !enabled:
		a.State, a.StateClass = "Disabled", "muted"
	case a.ConsecutiveFailures > 0:
		a.State, a.StateClass = "Retrying", "status-bad"
	case !a.LastErrorAt.IsZero() && a.LastErrorAt.After(a.LastSuccess):
		a.State, a.StateClass = "Failing", "status-bad"
	case a.QueueDepth > 0:
		a.State, a.StateClass = "Delivering", ""
	default:
		a.State, a.StateClass = "Healthy", "status-ok"
	}
}

// healthDeadLetters is one page of an automation's dead letters.
type healthDeadLetters struct {
	Automation string
	DomID      string
	Items      []*healthDeadLetter
	// Next is the $skipToken of the next page, Current that of this page.
	Next, Current string
	// Error is the API's answer when the list could not be read.
	Error string
	// Outcome is the result of the last button, OutcomeError marks a failure.
	Outcome      string
	OutcomeError bool
	CSRF         string
}

type healthDeadLetter struct {
	ID          string          `json:"id"`
	ActionIndex int             `json:"actionIndex"`
	EventID     string          `json:"eventId"`
	EventSource string          `json:"eventSource"`
	Reason      string          `json:"reason"`
	Attempts    int             `json:"attempts"`
	FailedAt    time.Time       `json:"failedAt"`
	Event       json.RawMessage `json:"event"`
	// Preview is the event, indented and bounded.
	Preview string `json:"-"`
}

// healthNote is a subscription whose automations the API refused to list.
type healthNote struct{ Subscription, Message string }

type healthData struct {
	Automations []*healthAutomation
	// Notes are subscriptions whose automations could not be read.
	Notes []healthNote
	// Only is set when the page shows one automation.
	Only string
}

// healthAutomationJSON is the part of an automation the page reads.
type healthAutomationJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		Description string                       `json:"description"`
		IsEnabled   *bool                        `json:"isEnabled"`
		Actions     []map[string]json.RawMessage `json:"actions"`
	} `json:"properties"`
}

// healthActionTarget names an action's destination without any secret (the API
// never returns them).
func healthActionTarget(a map[string]json.RawMessage) string {
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(a[k], &s)
		return s
	}
	for _, k := range []string{"eventHubResourceId", "workspaceResourceId", "logicAppResourceId", "uri"} {
		if s := str(k); s != "" {
			return s
		}
	}
	if t := str("topic"); t != "" {
		var brokers []string
		_ = json.Unmarshal(a["brokers"], &brokers)
		return "topic " + t + " on " + strings.Join(brokers, ", ")
	}
	return ""
}

func (p *Portal) healthPage(w http.ResponseWriter, r *http.Request) error {
	data, err := p.healthLoad(r, r.URL.Query().Get("automation"), r.URL.Query().Get("skipToken"))
	if err != nil {
		return err
	}
	p.render(w, r, 0, "health", &View{Title: "Delivery health", Nav: "health", Data: data})
	return nil
}

// healthLoad reads every readable automation (or only the one named, with
// the dead-letter page after skipToken).
func (p *Portal) healthLoad(r *http.Request, only, skipToken string) (*healthData, error) {
	data := &healthData{}
	if only != "" {
		path, err := healthAutomationPath(only)
		if err != nil {
			return nil, err
		}
		var a healthAutomationJSON
		if err := p.getJSON(r, http.MethodGet, path+"?api-version="+healthAPIVersion, nil, &a); err != nil {
			return nil, err
		}
		data.Only = a.ID
		data.Automations = append(data.Automations, p.healthAutomation(r, &a, skipToken))
		return data, nil
	}
	subs, err := p.subscriptions(r)
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		raw, err := p.listAll(r, "/subscriptions/"+url.PathEscape(s.SubscriptionID)+"/providers/Microsoft.Security/automations?api-version="+healthAPIVersion, 20)
		var ae *APIError
		if errors.As(err, &ae) {
			data.Notes = append(data.Notes, healthNote{s.DisplayName, ae.Message})
			continue
		}
		if err != nil {
			return nil, err
		}
		var list []*healthAutomation
		for _, m := range raw {
			var a healthAutomationJSON
			if err := json.Unmarshal(m, &a); err != nil {
				return nil, fmt.Errorf("decode automation: %w", err)
			}
			list = append(list, p.healthAutomation(r, &a, ""))
		}
		sort.Slice(list, func(i, j int) bool {
			if !strings.EqualFold(list[i].ResourceGroup, list[j].ResourceGroup) {
				return strings.ToLower(list[i].ResourceGroup) < strings.ToLower(list[j].ResourceGroup)
			}
			return strings.ToLower(list[i].Name) < strings.ToLower(list[j].Name)
		})
		for _, a := range list {
			a.Subscription = s.DisplayName
		}
		data.Automations = append(data.Automations, list...)
	}
	return data, nil
}

// healthAutomation reads an automation's health and first (or
// skipToken's) page of dead letters.
func (p *Portal) healthAutomation(r *http.Request, a *healthAutomationJSON, skipToken string) *healthAutomation {
	h := &healthAutomation{ID: a.ID, Name: a.Name, Description: a.Properties.Description, Enabled: a.Properties.IsEnabled == nil || *a.Properties.IsEnabled,
		DomID: pageDomID("a-", a.ID), CSRF: sessionCSRF(r)}
	if m := healthAutomationID.FindStringSubmatch(a.ID); m != nil {
		h.Subscription, h.ResourceGroup = m[1], m[2]
	}
	p.healthFillActions(r, h, a)
	h.DeadLetters = p.healthDeadLettersOf(r, a.ID, skipToken)
	return h
}

// healthFillActions reads the delivery health of a's actions into h, each
// with its destination.
func (p *Portal) healthFillActions(r *http.Request, h *healthAutomation, a *healthAutomationJSON) {
	acts, observed, err := p.healthActionsOf(r, a.ID)
	if err != nil {
		h.ActionsError = apiErrorText(err)
	}
	h.Actions, h.ObservedAt = acts, observed
	for _, act := range h.Actions {
		if act.Index >= 0 && act.Index < len(a.Properties.Actions) {
			act.Target = healthActionTarget(a.Properties.Actions[act.Index])
		}
	}
}

// apiErrorText is what the page shows for a failed API call.
func apiErrorText(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Message + " (" + ae.Code + ")"
	}
	return "The request failed."
}

func (p *Portal) healthActionsOf(r *http.Request, id string) ([]*healthAction, time.Time, error) {
	path, err := healthAutomationPath(id)
	if err != nil {
		return nil, time.Time{}, err
	}
	var out struct {
		IsEnabled  bool            `json:"isEnabled"`
		Actions    []*healthAction `json:"actions"`
		ObservedAt time.Time       `json:"observedAt"`
	}
	if err := p.getJSON(r, http.MethodGet, path+"/deliveryHealth?api-version="+healthAPIVersion, nil, &out); err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			p.Log.Error("portal delivery health", "automation", id, "err", err)
		}
		return nil, time.Time{}, err
	}
	for _, a := range out.Actions {
		a.classify(out.IsEnabled)
	}
	return out.Actions, out.ObservedAt, nil
}

func (p *Portal) healthDeadLettersOf(r *http.Request, id, skipToken string) *healthDeadLetters {
	d := &healthDeadLetters{Automation: id, DomID: pageDomID("d-", id), Current: skipToken, CSRF: sessionCSRF(r)}
	path, err := healthAutomationPath(id)
	if err != nil {
		d.Error = apiErrorText(err)
		return d
	}
	target := path + "/deadLetters?api-version=" + healthAPIVersion + "&$top=" + strconv.Itoa(healthDeadLetterPage)
	if skipToken != "" {
		target += "&$skipToken=" + url.QueryEscape(skipToken)
	}
	var page struct {
		Value    []*healthDeadLetter `json:"value"`
		NextLink string              `json:"nextLink"`
	}
	if err := p.getJSON(r, http.MethodGet, target, nil, &page); err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			p.Log.Error("portal dead letters", "automation", id, "err", err)
		}
		d.Error = apiErrorText(err)
		return d
	}
	for _, dl := range page.Value {
		dl.Preview = healthPreview(dl.Event, healthEventPreview)
	}
	d.Items, d.Next = page.Value, nextSkipToken(page.NextLink)
	return d
}

// healthPreview indents a JSON document and cuts it at max bytes.
func healthPreview(raw json.RawMessage, max int) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	s := string(raw)
	if json.Unmarshal(raw, &v) == nil {
		if b, err := json.MarshalIndent(v, "", "  "); err == nil {
			s = string(b)
		}
	}
	if len(s) > max {
		s = s[:max] + "\n… (cut at " + strconv.Itoa(max) + " bytes)"
	}
	return s
}

// healthActions answers the polled fragment: one automation's action rows.
func (p *Portal) healthActions(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("automation")
	path, err := healthAutomationPath(id)
	if err != nil {
		return err
	}
	if !hxFragment(r) {
		http.Redirect(w, r, Prefix+"health?automation="+url.QueryEscape(id), http.StatusSeeOther)
		return nil
	}
	var a healthAutomationJSON
	h := &healthAutomation{ID: id, DomID: pageDomID("a-", id)}
	if err := p.getJSON(r, http.MethodGet, path+"?api-version="+healthAPIVersion, nil, &a); err != nil {
		h.ActionsError = apiErrorText(err)
	} else {
		h.ID, h.Name, h.Enabled = a.ID, a.Name, a.Properties.IsEnabled == nil || *a.Properties.IsEnabled
		p.healthFillActions(r, h, &a)
	}
	p.renderPartial(w, r, 0, "health", "health-actions", &View{Data: h})
	return nil
}

// healthDeadLetters answers a page of dead letters (htmx paging).
func (p *Portal) healthDeadLetters(w http.ResponseWriter, r *http.Request) error {
	id, tok := r.URL.Query().Get("automation"), r.URL.Query().Get("skipToken")
	if _, err := healthAutomationPath(id); err != nil {
		return err
	}
	if !hxFragment(r) {
		http.Redirect(w, r, Prefix+"health?automation="+url.QueryEscape(id)+"&skipToken="+url.QueryEscape(tok), http.StatusSeeOther)
		return nil
	}
	p.renderPartial(w, r, 0, "health", "health-deadletters", &View{Data: p.healthDeadLettersOf(r, id, tok)})
	return nil
}

// healthReplay replays one dead letter (form field deadLetter) or all of
// an automation's (no deadLetter).
func (p *Portal) healthReplay(w http.ResponseWriter, r *http.Request) error {
	id := r.PostFormValue("automation")
	path, err := healthAutomationPath(id)
	if err != nil {
		return err
	}
	target := path + "/deadLetters/replay?api-version=" + healthAPIVersion
	one := r.PostFormValue("deadLetter")
	if one != "" {
		if n, err := strconv.ParseInt(one, 10, 64); err != nil || n <= 0 {
			return &APIError{Status: http.StatusBadRequest, Code: "InvalidDeadLetterId", Message: "The dead letter id is not a positive integer."}
		}
		target = path + "/deadLetters/" + one + "/replay?api-version=" + healthAPIVersion
	}
	var out struct {
		Replayed int `json:"replayed"`
	}
	err = p.getJSON(r, http.MethodPost, target, nil, &out)
	msg, failed, status := "", false, http.StatusOK
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		msg, failed, status = "Replay refused: "+ae.Message, true, ae.Status
	case err != nil:
		return err
	case one != "":
		msg = "Dead letter " + one + " was queued for delivery again."
	case out.Replayed == 1:
		msg = "1 dead letter was queued for delivery again."
	default:
		msg = strconv.Itoa(out.Replayed) + " dead letters were queued for delivery again."
	}
	if hxFragment(r) {
		d := p.healthDeadLettersOf(r, id, "")
		d.Outcome, d.OutcomeError = msg, failed
		p.renderPartial(w, r, 0, "health", "health-deadletters", &View{Data: d})
		return nil
	}
	return p.healthRenderAfterPost(w, r, id, status, msg, failed)
}

// healthBackfill queues a snapshot of the current state for an automation.
func (p *Portal) healthBackfill(w http.ResponseWriter, r *http.Request) error {
	id := r.PostFormValue("automation")
	path, err := healthAutomationPath(id)
	if err != nil {
		return err
	}
	var out struct {
		Queued   int            `json:"queued"`
		BySource map[string]int `json:"bySource"`
	}
	err = p.getJSON(r, http.MethodPost, path+"/backfill?api-version="+healthAPIVersion, nil, &out)
	msg, failed, status := "", false, http.StatusOK
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		msg, failed, status = "Backfill refused: "+ae.Message, true, ae.Status
	case err != nil:
		return err
	default:
		parts := make([]string, 0, len(out.BySource))
		for src, n := range out.BySource {
			parts = append(parts, fmt.Sprintf("%s %d", src, n))
		}
		sort.Strings(parts)
		msg = fmt.Sprintf("Backfill queued %d events", out.Queued)
		if len(parts) > 0 {
			msg += " (" + strings.Join(parts, ", ") + ")"
		}
		msg += "."
	}
	if hxFragment(r) {
		p.renderPartial(w, r, 0, "health", "health-outcome", &View{Flash: msg, Error: failed})
		return nil
	}
	return p.healthRenderAfterPost(w, r, id, status, msg, failed)
}

// healthRenderAfterPost renders the page of one automation with the
// outcome of a button (the form POST without JavaScript).
func (p *Portal) healthRenderAfterPost(w http.ResponseWriter, r *http.Request, id string, status int, msg string, failed bool) error {
	data, err := p.healthLoad(r, id, "")
	if err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			return err
		}
		data = &healthData{}
	}
	p.render(w, r, status, "health", &View{Title: "Delivery health", Nav: "health", Flash: msg, Error: failed, Data: data})
	return nil
}
