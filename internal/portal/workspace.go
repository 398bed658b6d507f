package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The workspace page runs KQL against the Log Analytics workspaces Sluice
// hosts, through the query API (POST /v1/workspaces/{customerId}/query)
// with the user's token.

// wsAPIVersion is the api-version of the workspace resource lists.
const wsAPIVersion = "2022-10-01"

// wsMaxRows caps the rows the page renders; the page says when it cut.
const wsMaxRows = 1000

// wsMaxQuery bounds the query text a form may send.
const wsMaxQuery = 64 << 10

// wsTimespans are the time ranges of the select (ISO 8601 durations the
// query API takes; "" sends none).
var wsTimespans = []wsOption{
	{"PT30M", "Last 30 minutes"},
	{"PT1H", "Last hour"},
	{"PT4H", "Last 4 hours"},
	{"P1D", "Last 24 hours"},
	{"P7D", "Last 7 days"},
	{"P30D", "Last 30 days"},
	{"", "No time range (set it in the query)"},
}

// wsDefaultTimespan is the time range of a fresh form (Log Analytics'
// default).
const wsDefaultTimespan = "P1D"

// wsExamples are queries offered as starting points.
var wsExamples = []wsOption{
	{"SecurityAlert | summarize count() by AlertSeverity", "Alerts by severity"},
	{"SecurityRecommendation | summarize count() by RecommendationState", "Recommendations by state"},
	{"SecurityRecommendation\n| where RecommendationState == \"Unhealthy\"\n| project TimeGenerated, RecommendationDisplayName, RecommendationSeverity, AssessedResourceId\n| take 100", "Unhealthy recommendations"},
	{"SecureScores\n| summarize arg_max(TimeGenerated, *) by SecureScoresSubscriptionId\n| project SecureScoresSubscriptionId, CurrentScore, MaxScore, PercentageScore", "Latest secure score per subscription"},
	{"SecurityRegulatoryCompliance | summarize count() by ComplianceStandard, State", "Compliance assessments by standard and state"},
	{"SecurityAlert\n| project TimeGenerated, AlertName, AlertSeverity, Entities\n| take 20", "Latest alerts with their entities"},
}

type wsOption struct{ Value, Label string }

// workspaceRoutes registers the workspace query page.
func (p *Portal) workspaceRoutes() {
	p.mux.Handle("GET "+Prefix+"workspace", p.authed(p.workspacePage))
	p.mux.Handle("POST "+Prefix+"workspace", p.authed(p.workspaceRun))
}

// wsWorkspace is a hosted workspace the user can read.
type wsWorkspace struct {
	ID            string
	Name          string
	ResourceGroup string
	Subscription  string
	CustomerID    string
}

type wsData struct {
	Workspaces []wsWorkspace
	// Notes are subscriptions whose workspaces could not be listed.
	Notes     []string
	Workspace string
	Query     string
	Timespan  string
	Timespans []wsOption
	Examples  []wsOption
	Result    *wsResult
}

// wsResult is a query's answer as the page shows it.
type wsResult struct {
	Columns   []wsColumn
	Rows      [][]wsCell
	Total     int
	Truncated bool
	Elapsed   string
	// Partial is the API's PartialError message (its own row cap).
	Partial string
	Error   *wsError
}

type wsColumn struct{ Name, Type string }

// wsCell is one rendered value: Code marks dynamic values shown as JSON.
type wsCell struct {
	Text string
	Code bool
	Null bool
}

// wsError is an API error, with the KQL error's position when it has one.
type wsError struct {
	Code    string
	Message string
	// Detail is the innermost message (with the source line and caret).
	Detail    string
	InnerCode string
	Line, Pos int
}

var wsCustomerID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// workspaces lists the hosted workspaces of every readable subscription.
func (p *Portal) workspaces(r *http.Request) ([]wsWorkspace, []string, error) {
	subs, err := p.subscriptions(r)
	if err != nil {
		return nil, nil, err
	}
	var out []wsWorkspace
	var notes []string
	for _, s := range subs {
		raw, err := p.listAll(r, "/subscriptions/"+url.PathEscape(s.SubscriptionID)+"/providers/Microsoft.OperationalInsights/workspaces?api-version="+wsAPIVersion, 20)
		var ae *APIError
		if errors.As(err, &ae) {
			notes = append(notes, s.DisplayName+": "+ae.Message)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		for _, m := range raw {
			var w struct {
				ID         string `json:"id"`
				Name       string `json:"name"`
				Properties struct {
					CustomerID string `json:"customerId"`
				} `json:"properties"`
			}
			if err := json.Unmarshal(m, &w); err != nil {
				return nil, nil, fmt.Errorf("decode workspace: %w", err)
			}
			ws := wsWorkspace{ID: w.ID, Name: w.Name, Subscription: s.DisplayName, CustomerID: w.Properties.CustomerID}
			if parts := strings.Split(w.ID, "/"); len(parts) > 4 && strings.EqualFold(parts[3], "resourceGroups") {
				ws.ResourceGroup = parts[4]
			}
			out = append(out, ws)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, notes, nil
}

func (p *Portal) workspaceData(r *http.Request, workspace, query, timespan string) (*wsData, error) {
	list, notes, err := p.workspaces(r)
	if err != nil {
		return nil, err
	}
	d := &wsData{Workspaces: list, Notes: notes, Workspace: workspace, Query: query, Timespan: timespan,
		Timespans: wsTimespans, Examples: wsExamples}
	if d.Workspace == "" && len(list) > 0 {
		d.Workspace = list[0].CustomerID
	}
	return d, nil
}

// workspacePage shows the form; query, workspace and timespan in the URL
// prefill it (the example links) without running anything.
func (p *Portal) workspacePage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ts := wsDefaultTimespan
	if q.Has("timespan") {
		ts = q.Get("timespan")
	}
	d, err := p.workspaceData(r, q.Get("workspace"), q.Get("query"), ts)
	if err != nil {
		return err
	}
	p.render(w, r, 0, "workspace", &View{Title: "Workspace", Nav: "workspace", Data: d})
	return nil
}

// workspaceRun runs the form's query: htmx gets the results fragment, a
// plain form POST the whole page.
func (p *Portal) workspaceRun(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, wsMaxQuery+4096)
	if err := r.ParseForm(); err != nil {
		return &APIError{Status: http.StatusRequestEntityTooLarge, Code: "QueryTooLarge", Message: "The query is too long."}
	}
	workspace, query, timespan := strings.TrimSpace(r.PostFormValue("workspace")), r.PostFormValue("query"), r.PostFormValue("timespan")
	res := p.runQuery(r, workspace, query, timespan)
	status := http.StatusOK
	if res.Error != nil && !hxFragment(r) {
		status = http.StatusBadRequest
	}
	if hxFragment(r) {
		// htmx swaps only 2xx answers: errors come back as a 200 fragment.
		p.renderPartial(w, r, 0, "workspace", "ws-results", &View{Data: res})
		return nil
	}
	d, err := p.workspaceData(r, workspace, query, timespan)
	if err != nil {
		return err
	}
	d.Result = res
	p.render(w, r, status, "workspace", &View{Title: "Workspace", Nav: "workspace", Data: d})
	return nil
}

// runQuery calls the query API and shapes its answer or error.
func (p *Portal) runQuery(r *http.Request, workspace, query, timespan string) *wsResult {
	if !wsCustomerID.MatchString(workspace) {
		return &wsResult{Error: &wsError{Code: "InvalidWorkspace", Message: "Choose a workspace."}}
	}
	if strings.TrimSpace(query) == "" {
		return &wsResult{Error: &wsError{Code: "EmptyQuery", Message: "Enter a query."}}
	}
	if len(query) > wsMaxQuery {
		return &wsResult{Error: &wsError{Code: "QueryTooLarge", Message: fmt.Sprintf("The query is longer than %d bytes.", wsMaxQuery)}}
	}
	in := map[string]string{"query": query}
	if timespan != "" {
		in["timespan"] = timespan
	}
	body, err := json.Marshal(in)
	if err != nil {
		return &wsResult{Error: &wsError{Code: "InternalError", Message: "The query could not be encoded."}}
	}
	req, err := p.apiRequest(r.Context(), r, http.MethodPost, "/v1/workspaces/"+strings.ToLower(workspace)+"/query", bytes.NewReader(body))
	if err != nil {
		return &wsResult{Error: &wsError{Code: "AuthenticationFailed", Message: apiErrorText(err)}}
	}
	rec := &recorder{header: http.Header{}}
	start := time.Now()
	p.API.ServeHTTP(rec, req)
	elapsed := time.Since(start)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 400 {
		return &wsResult{Error: wsDecodeError(rec.status, rec.body.Bytes())}
	}
	res, err := wsDecodeResult(rec.body.Bytes())
	if err != nil {
		p.Log.Error("portal workspace query answer", "err", err)
		return &wsResult{Error: &wsError{Code: "InternalError", Message: "The query's answer could not be read."}}
	}
	res.Elapsed = wsElapsed(elapsed)
	return res
}

func wsElapsed(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// wsDecodeError reads the query API's error, down to its innermost
// error (SyntaxError/SemanticError with line and position).
func wsDecodeError(status int, b []byte) *wsError {
	type inner struct {
		Code       string          `json:"code"`
		Message    string          `json:"message"`
		Line       int             `json:"line"`
		Pos        int             `json:"pos"`
		InnerError json.RawMessage `json:"innererror"`
	}
	var env struct {
		Error inner `json:"error"`
	}
	if json.Unmarshal(b, &env) != nil || env.Error.Code == "" {
		ae := decodeAPIError(status, b)
		return &wsError{Code: ae.Code, Message: ae.Message}
	}
	e := &wsError{Code: env.Error.Code, Message: env.Error.Message}
	cur := env.Error
	for depth := 0; len(cur.InnerError) > 0 && depth < 8; depth++ {
		var next inner
		if json.Unmarshal(cur.InnerError, &next) != nil || next.Code == "" {
			break
		}
		if depth == 0 {
			// The first inner error names the kind (SyntaxError…).
			e.Code, e.Message = next.Code, next.Message
		} else {
			e.InnerCode, e.Detail = next.Code, next.Message
		}
		if next.Line > 0 {
			e.Line, e.Pos = next.Line, next.Pos
		}
		cur = next
	}
	return e
}

// wsDecodeResult renders the first table of a query answer, keeping at
// most wsMaxRows rows: the answer is read as a stream of tokens, so the
// rows past the cap are counted, not kept.
func wsDecodeResult(b []byte) (*wsResult, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	res := &wsResult{}
	var cols []wsColumn
	var rows [][]json.RawMessage
	seenTable := false
	err := wsObject(dec, func(key string) error {
		switch key {
		case "tables":
			return wsArray(dec, func() error {
				if seenTable {
					return wsSkip(dec)
				}
				seenTable = true
				return wsObject(dec, func(key string) error {
					switch key {
					case "columns":
						return dec.Decode(&cols)
					case "rows":
						return wsArray(dec, func() error {
							res.Total++
							if len(rows) >= wsMaxRows {
								return wsSkip(dec)
							}
							var row []json.RawMessage
							if err := dec.Decode(&row); err != nil {
								return err
							}
							rows = append(rows, row)
							return nil
						})
					}
					return wsSkip(dec)
				})
			})
		case "error":
			var e struct {
				Message string `json:"message"`
				Details []struct {
					Message string `json:"message"`
				} `json:"details"`
			}
			if err := dec.Decode(&e); err != nil {
				return err
			}
			res.Partial = e.Message
			for _, d := range e.Details {
				if d.Message != "" {
					res.Partial += " " + d.Message
				}
			}
			return nil
		}
		return wsSkip(dec)
	})
	if err != nil {
		return nil, fmt.Errorf("decode query answer: %w", err)
	}
	res.Columns, res.Truncated = cols, res.Total > len(rows)
	res.Rows = make([][]wsCell, len(rows))
	for i, row := range rows {
		cells := make([]wsCell, len(row))
		for j, v := range row {
			dynamic := j < len(cols) && cols[j].Type == "dynamic"
			cells[j] = wsCellOf(v, dynamic)
		}
		res.Rows[i] = cells
	}
	return res, nil
}

// wsDelim reads the next token and checks it is d.
func wsDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("expected %v, found %v", d, tok)
	}
	return nil
}

// wsObject reads an object, calling field for each key with the decoder
// before its value (field must consume the value).
func wsObject(dec *json.Decoder, field func(key string) error) error {
	if err := wsDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("expected an object key, found %v", tok)
		}
		if err := field(key); err != nil {
			return err
		}
	}
	return wsDelim(dec, '}')
}

// wsArray reads an array, calling item before each element (item must
// consume it).
func wsArray(dec *json.Decoder, item func() error) error {
	if err := wsDelim(dec, '['); err != nil {
		return err
	}
	for dec.More() {
		if err := item(); err != nil {
			return err
		}
	}
	return wsDelim(dec, ']')
}

// wsSkip consumes the next value.
func wsSkip(dec *json.Decoder) error {
	var v json.RawMessage
	return dec.Decode(&v)
}

func wsCellOf(v json.RawMessage, dynamic bool) wsCell {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return wsCell{Null: true}
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return wsCell{Text: s, Code: dynamic}
		}
	}
	return wsCell{Text: string(v), Code: dynamic || v[0] == '{' || v[0] == '['}
}
