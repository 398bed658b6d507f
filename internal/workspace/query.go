package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/kql"
)

// Query API limits.
const (
	// DefaultWait is how long a query may run without a Prefer: wait=N
	// header (Log Analytics' default, three minutes).
	DefaultWait = 180 * time.Second
	// MaxWait is the longest wait a caller may ask for (ten minutes).
	MaxWait = 600 * time.Second
	// maxQueryBody bounds a query request body.
	maxQueryBody = 1 << 20
)

// queryBody is the body of POST /v1/workspaces/{id}/query.
type queryBody struct {
	Query    string `json:"query"`
	Timespan string `json:"timespan"`
}

// queryError is the error envelope of the query API:
// {"error":{"code","message","correlationId","innererror":{…}}}.
type queryError struct {
	Code          string       `json:"code"`
	Message       string       `json:"message"`
	CorrelationID string       `json:"correlationId,omitempty"`
	Details       []queryError `json:"details,omitempty"`
	InnerError    *queryInner  `json:"innererror,omitempty"`
	status        int          `json:"-"`
}

type queryInner struct {
	Code       string      `json:"code"`
	Message    string      `json:"message"`
	Line       int         `json:"line,omitempty"`
	Pos        int         `json:"pos,omitempty"`
	Token      string      `json:"token,omitempty"`
	InnerError *queryInner `json:"innererror,omitempty"`
}

func writeQueryError(w http.ResponseWriter, r *http.Request, e *queryError) {
	e.CorrelationID = r.Header.Get(armapi.HeaderCorrelationID)
	if e.CorrelationID == "" {
		e.CorrelationID = w.Header().Get(armapi.HeaderCorrelationID)
	}
	armapi.WriteJSON(w, e.status, map[string]any{"error": e})
}

func badArgument(msg string, inner *queryInner) *queryError {
	return &queryError{status: http.StatusBadRequest, Code: "BadArgumentError", Message: msg, InnerError: inner}
}

// Prefer: wait=N.
var waitRE = regexp.MustCompile(`(?i)(?:^|[,;\s])wait\s*=\s*(\d+)`)

// waitFrom reads the Prefer header's wait in seconds (DefaultWait when
// absent), bounded by MaxWait.
func waitFrom(r *http.Request) (secs int, asked bool) {
	m := waitRE.FindStringSubmatch(strings.Join(r.Header.Values("Prefer"), ","))
	if m == nil {
		return int(DefaultWait / time.Second), false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n > int(MaxWait/time.Second) {
		n = int(MaxWait / time.Second)
	}
	return n, true
}

func (h *Handlers) query(w http.ResponseWriter, r *http.Request) error {
	ws, err := h.Svc.ByCustomerID(r.Context(), r.PathValue("workspaceId"))
	if err != nil {
		if errors.Is(err, errNoWorkspace) {
			writeQueryError(w, r, &queryError{status: http.StatusNotFound, Code: "WorkspaceNotFoundError",
				Message: fmt.Sprintf("The workspace %s could not be found.", r.PathValue("workspaceId"))})
			return nil
		}
		return err
	}
	var body queryBody
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		body = queryBody{Query: q.Get("query"), Timespan: q.Get("timespan")}
	} else {
		raw, err := armapi.ReadBody(r, maxQueryBody)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			writeQueryError(w, r, badArgument("The request had some invalid properties",
				&queryInner{Code: "InvalidBody", Message: "The body is not a JSON object with a query: " + err.Error()}))
			return nil
		}
	}
	if strings.TrimSpace(body.Query) == "" {
		writeQueryError(w, r, badArgument("The request had some invalid properties",
			&queryInner{Code: "EmptyQuery", Message: "The query is empty."}))
		return nil
	}
	now := h.Svc.now().UTC()
	var span kql.TimeRange
	if body.Timespan != "" {
		if span, err = ParseTimespan(body.Timespan, now); err != nil {
			writeQueryError(w, r, badArgument("The request had some invalid properties",
				&queryInner{Code: "InvalidTimespan", Message: err.Error()}))
			return nil
		}
	}
	secs, asked := waitFrom(r)
	unit := h.Svc.WaitUnit
	if unit <= 0 {
		unit = time.Second
	}
	wait := time.Duration(secs) * unit
	if asked {
		w.Header().Set("Preference-Applied", fmt.Sprintf("wait=%d", secs))
	}
	db, err := h.Svc.DB(ws.Properties.CustomerID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	res, err := kql.RunWith(ctx, db.SQL, schema, body.Query, kql.RunOptions{Now: now, Timespan: span, MaxRows: h.Svc.MaxRows})
	if err != nil {
		var qe *kql.Error
		switch {
		case errors.As(err, &qe):
			kind, code, what := "SyntaxError", "SYN0002", "Query could not be parsed"
			if qe.Semantic {
				kind, code, what = "SemanticError", "SEM0100", "Query could not be resolved"
			}
			writeQueryError(w, r, badArgument("The request had some invalid properties", &queryInner{
				Code:    kind,
				Message: qe.Msg,
				InnerError: &queryInner{Code: code,
					Message: fmt.Sprintf("%s at line %d, column %d: %s", what, qe.Pos.Line, qe.Pos.Col, qe.Error()),
					Line:    qe.Pos.Line, Pos: qe.Pos.Col, Token: tokenAt(qe)},
			}))
			return nil
		case ctx.Err() != nil && r.Context().Err() == nil:
			writeQueryError(w, r, &queryError{status: http.StatusGatewayTimeout, Code: "GatewayTimeout",
				Message: fmt.Sprintf("The query did not complete within the allowed time (Prefer: wait=%d); narrow it or ask for a longer wait.", secs)})
			return nil
		}
		return fmt.Errorf("run query: %w", err)
	}
	out := struct {
		kql.Response
		Error *queryError `json:"error,omitempty"`
	}{Response: res.Response()}
	if res.Partial {
		limit := h.Svc.MaxRows
		if limit <= 0 {
			limit = kql.DefaultMaxRows
		}
		out.Error = &queryError{Code: "PartialError", Message: "There were some errors when processing your query.",
			Details: []queryError{{Code: "EngineError",
				Message: fmt.Sprintf("Query result set has exceeded the internal record count limit %d (E_QUERY_RESULT_SET_TOO_LARGE): the result holds the first %d rows.", limit, limit)}}}
	}
	armapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// tokenAt is the text at the error's position up to the next space.
func tokenAt(e *kql.Error) string {
	rs := []rune(e.Line)
	i := e.Pos.Col - 1
	if i < 0 || i >= len(rs) {
		return ""
	}
	j := i
	for j < len(rs) && j-i < 64 && rs[j] != ' ' && rs[j] != '\t' {
		j++
	}
	return string(rs[i:j])
}

// ParseTimespan reads the query API's ISO 8601 time interval: a duration
// ending now (PT1H, P7D), start/end, start/duration or duration/end.
func ParseTimespan(s string, now time.Time) (kql.TimeRange, error) {
	a, b, two := strings.Cut(strings.TrimSpace(s), "/")
	if !two {
		d, err := parseISODuration(a)
		if err != nil {
			return kql.TimeRange{}, err
		}
		return kql.TimeRange{Start: now.Add(-d), End: now}, nil
	}
	ta, errA := parseInstant(a)
	tb, errB := parseInstant(b)
	switch {
	case errA == nil && errB == nil:
		if tb.Before(ta) {
			return kql.TimeRange{}, fmt.Errorf("timespan %q ends before it starts", s)
		}
		return kql.TimeRange{Start: ta, End: tb}, nil
	case errA == nil:
		d, err := parseISODuration(b)
		if err != nil {
			return kql.TimeRange{}, err
		}
		return kql.TimeRange{Start: ta, End: ta.Add(d)}, nil
	case errB == nil:
		d, err := parseISODuration(a)
		if err != nil {
			return kql.TimeRange{}, err
		}
		return kql.TimeRange{Start: tb.Add(-d), End: tb}, nil
	}
	return kql.TimeRange{}, fmt.Errorf("timespan %q is not an ISO 8601 interval (start/end, start/duration, duration/end or a duration such as PT1H)", s)
}

func parseInstant(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date and time", s)
}

// parseISODuration reads P[nY][nM][nW][nD][T[nH][nM][n[.f]S]] (a year is
// 365 days, a month 30).
func parseISODuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not an ISO 8601 duration such as PT1H or P7D", s)
	u := strings.ToUpper(s)
	rest, ok := strings.CutPrefix(u, "P")
	if !ok || rest == "" {
		return 0, bad
	}
	var total float64
	inTime := false
	num := ""
	units := 0
	for _, c := range rest {
		switch {
		case c == 'T':
			if inTime || num != "" {
				return 0, bad
			}
			inTime = true
		case (c >= '0' && c <= '9') || c == '.' || c == ',':
			if c == ',' {
				c = '.'
			}
			num += string(c)
		default:
			if num == "" {
				return 0, bad
			}
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, bad
			}
			num = ""
			var unit float64
			switch {
			case !inTime && c == 'Y':
				unit = 365 * 24 * 3600
			case !inTime && c == 'M':
				unit = 30 * 24 * 3600
			case !inTime && c == 'W':
				unit = 7 * 24 * 3600
			case !inTime && c == 'D':
				unit = 24 * 3600
			case inTime && c == 'H':
				unit = 3600
			case inTime && c == 'M':
				unit = 60
			case inTime && c == 'S':
				unit = 1
			default:
				return 0, bad
			}
			total += n * unit
			units++
		}
	}
	if num != "" || units == 0 || total > 1e10 {
		return 0, bad
	}
	return time.Duration(total * float64(time.Second)), nil
}
