package security

// Report routes (a Sluice extension): the current security alerts and
// recommendations of a subscription, or of every subscription of the
// caller's tenant, filtered, as a CSV file that streams in constant memory
// (no row limit) or as JSON pages for tables.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/auth"
	"sluice/internal/estate"
	"sluice/internal/store"
)

// VersionsReports are the api-versions of the report routes.
var VersionsReports = []string{"2024-01-01"}

// ReportsProvider is the provider namespace of the report routes.
const ReportsProvider = "/providers/Sluice.Reports"

// Report error codes.
const (
	// CodeInvalidFilter: a filter parameter has a value that is not allowed.
	CodeInvalidFilter = "InvalidFilter"
	// CodeUnsupportedFilter: a query parameter the report does not know.
	CodeUnsupportedFilter = "UnsupportedFilter"
	// CodeInvalidTimeRange: from is not before to.
	CodeInvalidTimeRange = "InvalidTimeRange"
	// CodeInvalidFormat: format is neither csv nor json.
	CodeInvalidFormat = "InvalidFormat"
)

// reportScanPage is how many records one store read of a report returns:
// it bounds the memory of a report whatever its size.
const reportScanPage = 500

// ReportKind names a report: "alerts" or "recommendations".
type ReportKind string

// The reports.
const (
	ReportAlerts          ReportKind = "alerts"
	ReportRecommendations ReportKind = "recommendations"
)

// AlertReportColumns are the columns of the alerts report, in order.
var AlertReportColumns = []string{"subscriptionId", "subscriptionName", "resourceGroup", "severity", "alertDisplayName",
	"alertType", "status", "tactics", "techniques", "startTimeUtc", "endTimeUtc", "timeGeneratedUtc", "compromisedEntity",
	"resourceId", "productComponentName", "productName", "vendorName", "description", "remediationSteps", "systemAlertId",
	"alertUri", "alertId"}

// RecommendationReportColumns are the columns of the recommendations
// report, in order.
var RecommendationReportColumns = []string{"subscriptionId", "subscriptionName", "resourceGroup", "resourceType",
	"resourceName", "resourceId", "recommendationId", "recommendationName", "recommendationDisplayName", "description",
	"remediationSteps", "severity", "state", "notApplicableReason", "firstEvaluationDate", "statusChangeDate",
	"azurePortalRecommendationLink", "categories", "userImpact", "implementationEffort", "threats"}

// RecommendationStates are the states the recommendations report filters
// on (assessment status codes).
var RecommendationStates = StatusCodes

// ReportFilter is a parsed report query.
type ReportFilter struct {
	Kind ReportKind
	// Severities, Statuses (alerts) and States (recommendations) hold
	// canonical values; empty means any.
	Severities []string
	Statuses   []string
	States     []string
	// Recommendations are lower-case assessment keys (recommendation names).
	Recommendations []string
	// ResourceGroup is lower case; empty means any.
	ResourceGroup string
	// From and To bound an alert's start time: From ≤ t < To (zero: open).
	From, To time.Time
	// Search is lower case; a row matches when a display name or the
	// resource contains it.
	Search string
	// Format is "csv" or "json".
	Format string
}

// reportParams are the query parameters each report accepts besides
// api-version, format and the paging parameters.
var reportParams = map[ReportKind][]string{
	ReportAlerts:          {"severity", "status", "from", "to", "resourceGroup", "search"},
	ReportRecommendations: {"severity", "state", "recommendation", "resourceGroup", "search"},
}

const maxSearchLen = 256

func filterError(code, param, format string, args ...any) *armapi.Error {
	return &armapi.Error{Status: http.StatusBadRequest, Code: code, Target: param, Message: fmt.Sprintf(format, args...)}
}

// ParseReportFilter reads the filter of a report from its query. Repeated
// parameters and comma-separated values both give several values of the
// multi-valued filters (severity, status, state, recommendation); empty
// values are ignored (an "any" choice of a form). Bad values are a 400
// *armapi.Error with code InvalidFilter, UnsupportedFilter,
// InvalidTimeRange or InvalidFormat naming the parameter.
func ParseReportFilter(kind ReportKind, q url.Values) (*ReportFilter, error) {
	known, ok := reportParams[kind]
	if !ok {
		return nil, fmt.Errorf("unknown report kind %q", kind)
	}
	f := &ReportFilter{Kind: kind, Format: "csv"}
	// Canonical parameter names, matched case-insensitively.
	vals := map[string][]string{}
	for name, vs := range q {
		switch {
		case strings.EqualFold(name, "api-version"), strings.EqualFold(name, "$top"), strings.EqualFold(name, "$skipToken"):
			continue
		case strings.EqualFold(name, "format"):
			vals["format"] = append(vals["format"], vs...)
			continue
		}
		i := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, name) })
		if i < 0 {
			return nil, filterError(CodeUnsupportedFilter, name, "The %s report has no filter '%s'; its filters are: %s.",
				kind, clipValue(name), strings.Join(known, ", "))
		}
		vals[known[i]] = append(vals[known[i]], vs...)
	}
	single := func(name string) (string, error) {
		var got []string
		for _, v := range vals[name] {
			if v = strings.TrimSpace(v); v != "" {
				got = append(got, v)
			}
		}
		if len(got) > 1 {
			return "", filterError(CodeInvalidFilter, name, "The filter '%s' takes one value; %d were given.", name, len(got))
		}
		if len(got) == 0 {
			return "", nil
		}
		return got[0], nil
	}
	multi := func(name string, allowed []string) ([]string, error) {
		var out []string
		for _, v := range vals[name] {
			for _, part := range strings.Split(v, ",") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				c := strings.ToLower(part)
				if allowed != nil {
					var ok bool
					if c, ok = canonical(part, allowed); !ok {
						return nil, filterError(CodeInvalidFilter, name, "The value '%s' of the filter '%s' is not allowed; allowed values are: %s.",
							clipValue(part), name, strings.Join(allowed, ", "))
					}
				}
				if !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
		}
		return out, nil
	}
	format, err := single("format")
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(format) {
	case "", "csv":
	case "json":
		f.Format = "json"
	default:
		return nil, filterError(CodeInvalidFormat, "format", "The format '%s' is not supported; use 'csv' or 'json'.", clipValue(format))
	}
	switch kind {
	case ReportAlerts:
		if f.Severities, err = multi("severity", AlertSeverities); err != nil {
			return nil, err
		}
		if f.Statuses, err = multi("status", AlertStatuses); err != nil {
			return nil, err
		}
		for _, p := range []struct {
			name string
			t    *time.Time
			end  bool
		}{{"from", &f.From, false}, {"to", &f.To, true}} {
			v, err := single(p.name)
			if err != nil {
				return nil, err
			}
			if v == "" {
				continue
			}
			t, ok := parseReportTime(v, p.end)
			if !ok {
				return nil, filterError(CodeInvalidFilter, p.name, "The value '%s' of the filter '%s' is not a time; use RFC 3339 (2024-05-01T10:00:00Z) or a date (2024-05-01).",
					clipValue(v), p.name)
			}
			*p.t = t
		}
		if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
			return nil, filterError(CodeInvalidTimeRange, "to", "The time range is empty: 'from' (%s) must be before 'to' (%s).",
				f.From.Format(time.RFC3339), f.To.Format(time.RFC3339))
		}
	case ReportRecommendations:
		if f.Severities, err = multi("severity", Severities); err != nil {
			return nil, err
		}
		if f.States, err = multi("state", RecommendationStates); err != nil {
			return nil, err
		}
		if f.Recommendations, err = multi("recommendation", nil); err != nil {
			return nil, err
		}
		for _, r := range f.Recommendations {
			if len(r) > 128 || strings.ContainsAny(r, "/?#") {
				return nil, filterError(CodeInvalidFilter, "recommendation", "The value '%s' of the filter 'recommendation' is not a recommendation name.", clipValue(r))
			}
		}
	}
	rg, err := single("resourceGroup")
	if err != nil {
		return nil, err
	}
	if rg != "" {
		if len(rg) > 90 || strings.ContainsAny(rg, "/?#") {
			return nil, filterError(CodeInvalidFilter, "resourceGroup", "The value '%s' of the filter 'resourceGroup' is not a resource group name.", clipValue(rg))
		}
		f.ResourceGroup = strings.ToLower(rg)
	}
	s, err := single("search")
	if err != nil {
		return nil, err
	}
	if len(s) > maxSearchLen {
		return nil, filterError(CodeInvalidFilter, "search", "The search text is longer than %d bytes.", maxSearchLen)
	}
	f.Search = strings.ToLower(s)
	return f, nil
}

// clipValue bounds a value echoed in an error message.
func clipValue(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

// parseReportTime reads RFC 3339, a date-time without zone (UTC) or a date.
// A date given as the end of a range means the end of that day.
func parseReportTime(v string, end bool) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	return time.Time{}, false
}

// ---- routes ----

// registerReports adds the report routes: per subscription, and over the
// subscriptions of the caller's tenant that the caller may read.
func (h *Handlers) registerReports(rt *armapi.Router) {
	for _, r := range []struct {
		kind ReportKind
		perm string
	}{{ReportAlerts, PermAlertRead}, {ReportRecommendations, PermAssessmentRead}} {
		rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}" + ReportsProvider + "/" + string(r.kind),
			APIVersions: VersionsReports, Permission: r.perm, Scope: armapi.SubscriptionScope, Handler: h.report(r.kind, r.perm)})
		// Over the tenant: the subscriptions where the caller holds the
		// read permission (403 when none).
		rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: ReportsProvider + "/" + string(r.kind),
			APIVersions: VersionsReports, Permission: armapi.PermissionAuthenticated, Handler: h.report(r.kind, r.perm)})
	}
}

// reportSub is one subscription a report covers.
type reportSub struct {
	id, name string
}

func (h *Handlers) report(kind ReportKind, perm string) armapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		f, err := ParseReportFilter(kind, r.URL.Query())
		if err != nil {
			return err
		}
		var subs []reportSub
		scopeName := "tenant"
		if sub := r.PathValue("subscriptionId"); sub != "" {
			s, err := h.Svc.RequireSubscription(r.Context(), strings.ToLower(sub))
			if err != nil {
				return err
			}
			subs = []reportSub{{id: strings.ToLower(s.SubscriptionID), name: s.DisplayName}}
			scopeName = subs[0].id
		} else if subs, err = h.readableSubscriptions(r.Context(), perm); err != nil {
			return err
		}
		rep := &reportRun{svc: h.Svc, filter: f, subs: subs}
		if f.Format == "json" {
			return rep.writeJSON(w, r)
		}
		name := fmt.Sprintf("sluice-%s-%s-%s.csv", kind, scopeName, h.Svc.Now().UTC().Format("20060102T150405Z"))
		return rep.writeCSV(w, r, name)
	}
}

// readableSubscriptions lists the subscriptions of the caller's tenant in
// which it holds perm, sorted by id.
func (h *Handlers) readableSubscriptions(ctx context.Context, perm string) ([]reportSub, error) {
	p := auth.FromContext(ctx)
	authz := auth.AuthorizerFrom(ctx)
	if p == nil || authz == nil {
		return nil, armapi.Errorf(http.StatusForbidden, "AuthorizationFailed", "The caller's rights cannot be checked.")
	}
	var out []reportSub
	err := eachIn(ctx, h.Svc.Store, estate.KindSubscription, "", func(rec *store.Record) error {
		var s estate.Subscription
		if err := json.Unmarshal(rec.Body, &s); err != nil {
			return fmt.Errorf("decode subscription %s: %w", rec.Key, err)
		}
		if !strings.EqualFold(s.TenantID, p.TenantID) {
			return nil
		}
		if authz.Authorize(ctx, perm, armid.SubscriptionID(s.SubscriptionID)) != nil {
			return nil
		}
		out = append(out, reportSub{id: strings.ToLower(s.SubscriptionID), name: s.DisplayName})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, armapi.Errorf(http.StatusForbidden, "AuthorizationFailed",
			"The client '%s' does not have authorization to perform action '%s' in any subscription of its tenant.", p.ObjectID, perm)
	}
	slices.SortFunc(out, func(a, b reportSub) int { return strings.Compare(a.id, b.id) })
	return out, nil
}

// ---- scanning ----

// reportRun is one report request: the filter and the subscriptions it
// covers.
type reportRun struct {
	svc    *Service
	filter *ReportFilter
	subs   []reportSub
}

var errStopScan = errors.New("stop scan")

// scan calls visit for every stored record of the report's kind under the
// report's subscriptions (and resource group) whose key sorts after
// after, in key order, reading the store a bounded page at a time. It
// stops early when visit returns errStopScan, and when ctx ends.
func (rep *reportRun) scan(ctx context.Context, after string, visit func(sub *reportSub, rec *store.Record) error) error {
	kind := KindAlert
	if rep.filter.Kind == ReportRecommendations {
		kind = KindAssessment
	}
	for i := range rep.subs {
		sub := &rep.subs[i]
		prefix := "/subscriptions/" + sub.id + "/"
		if rep.filter.ResourceGroup != "" {
			prefix += "resourcegroups/" + rep.filter.ResourceGroup + "/"
		}
		// Every key under prefix sorts after prefix itself. The reads
		// give only a lower bound (After) and stop at the first key
		// outside prefix: a Prefix and an After together leave SQLite two
		// lower bounds on the key, of which it seeks with one and filters
		// with the other, which makes each page cost the pages before it.
		from := prefix
		switch {
		case after == "" || after < prefix:
		case strings.HasPrefix(after, prefix):
			from = after
		default:
			continue // every key under prefix sorts before after
		}
	pages:
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			opts := store.ListOptions{Kind: kind, After: from, Limit: reportScanPage}
			if from == prefix {
				// The first read: the prefix alone bounds it on both sides.
				opts.Prefix, opts.After = prefix, ""
			}
			recs, err := rep.svc.Store.List(ctx, opts)
			if err != nil {
				return fmt.Errorf("read %s for the %s report: %w", kind, rep.filter.Kind, err)
			}
			for _, rec := range recs {
				if !strings.HasPrefix(rec.Key, prefix) {
					break pages
				}
				if err := visit(sub, rec); err != nil {
					if errors.Is(err, errStopScan) {
						return nil
					}
					return err
				}
			}
			if len(recs) < reportScanPage {
				break
			}
			from = recs[len(recs)-1].Key
		}
	}
	return nil
}

// row returns the report row of a record, or nil when the filter excludes
// it.
func (rep *reportRun) row(sub *reportSub, rec *store.Record) ([]string, error) {
	if rep.filter.Kind == ReportAlerts {
		return rep.alertRow(sub, rec)
	}
	return rep.recommendationRow(sub, rec)
}

// reportAlert is the part of a stored alert the report reads.
type reportAlert struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		AlertType            string               `json:"alertType"`
		SystemAlertID        string               `json:"systemAlertId"`
		ProductComponentName string               `json:"productComponentName"`
		AlertDisplayName     string               `json:"alertDisplayName"`
		Description          string               `json:"description"`
		Severity             string               `json:"severity"`
		Intent               string               `json:"intent"`
		StartTimeUTC         *Time                `json:"startTimeUtc"`
		EndTimeUTC           *Time                `json:"endTimeUtc"`
		TimeGeneratedUTC     *Time                `json:"timeGeneratedUtc"`
		ResourceIdentifiers  []ResourceIdentifier `json:"resourceIdentifiers"`
		RemediationSteps     []string             `json:"remediationSteps"`
		VendorName           string               `json:"vendorName"`
		Status               string               `json:"status"`
		AlertURI             string               `json:"alertUri"`
		ProductName          string               `json:"productName"`
		CompromisedEntity    string               `json:"compromisedEntity"`
		Techniques           []string             `json:"techniques"`
	} `json:"properties"`
}

func (rep *reportRun) alertRow(sub *reportSub, rec *store.Record) ([]string, error) {
	var a reportAlert
	if err := json.Unmarshal(rec.Body, &a); err != nil {
		return nil, fmt.Errorf("decode alert %s: %w", rec.Key, err)
	}
	p := &a.Properties
	f := rep.filter
	if len(f.Severities) > 0 && !slices.Contains(f.Severities, p.Severity) {
		return nil, nil
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, p.Status) {
		return nil, nil
	}
	if !f.From.IsZero() || !f.To.IsZero() {
		if p.StartTimeUTC == nil {
			return nil, nil
		}
		t := p.StartTimeUTC.Time
		if (!f.From.IsZero() && t.Before(f.From)) || (!f.To.IsZero() && !t.Before(f.To)) {
			return nil, nil
		}
	}
	resourceID := ""
	for _, ri := range p.ResourceIdentifiers {
		if ri.Type == "AzureResource" {
			resourceID = ri.AzureResourceID
			break
		}
	}
	if f.Search != "" && !containsFold(f.Search, p.AlertDisplayName, p.CompromisedEntity, resourceID, p.AlertType) {
		return nil, nil
	}
	return []string{sub.id, sub.name, resourceGroupOf(a.ID), p.Severity, p.AlertDisplayName, p.AlertType, p.Status,
		p.Intent, strings.Join(p.Techniques, "; "), reportTime(p.StartTimeUTC), reportTime(p.EndTimeUTC),
		reportTime(p.TimeGeneratedUTC), p.CompromisedEntity, resourceID, p.ProductComponentName, p.ProductName,
		p.VendorName, p.Description, strings.Join(p.RemediationSteps, "; "), p.SystemAlertID, p.AlertURI, a.ID}, nil
}

func (rep *reportRun) recommendationRow(sub *reportSub, rec *store.Record) ([]string, error) {
	f := rep.filter
	if len(f.Recommendations) > 0 {
		_, key, ok := splitAssessmentKey(rec.Key)
		if !ok || !slices.Contains(f.Recommendations, key) {
			return nil, nil
		}
	}
	a, err := rep.svc.decodeAssessment(rec)
	if err != nil {
		return nil, err
	}
	p := &a.Properties
	meta := p.Metadata
	if meta == nil {
		meta = &AssessmentMetadataProperties{}
	}
	if len(f.Severities) > 0 && !slices.Contains(f.Severities, meta.Severity) {
		return nil, nil
	}
	if len(f.States) > 0 && !slices.Contains(f.States, string(p.Status.Code)) {
		return nil, nil
	}
	d := &p.ResourceDetails
	resourceID := d.ID
	if resourceID == "" {
		if rid, _, err := ParseAssessmentID(a.ID); err == nil {
			resourceID = rid
		}
	}
	display := p.DisplayName
	if display == "" {
		display = meta.DisplayName
	}
	if f.Search != "" && !containsFold(f.Search, display, d.ResourceName, resourceID, a.Name) {
		return nil, nil
	}
	reason := ""
	if p.Status.Code == StatusNotApplicable {
		reason = p.Status.Cause
		if p.Status.Description != "" {
			if reason != "" {
				reason += ": "
			}
			reason += p.Status.Description
		}
	}
	link := ""
	if p.Links != nil {
		link = p.Links.AzurePortalURI
	}
	return []string{sub.id, sub.name, resourceGroupOf(resourceID), d.ResourceType, d.ResourceName, resourceID, a.ID, a.Name,
		display, meta.Description, meta.RemediationDescription, meta.Severity, string(p.Status.Code), reason,
		reportTime(p.Status.FirstEvaluationDate), reportTime(p.Status.StatusChangeDate), link,
		strings.Join(meta.Categories, "; "), meta.UserImpact, meta.ImplementationEffort, strings.Join(meta.Threats, "; ")}, nil
}

// containsFold reports whether any of vs contains the lower-case needle,
// ignoring case.
func containsFold(needle string, vs ...string) bool {
	for _, v := range vs {
		if strings.Contains(strings.ToLower(v), needle) {
			return true
		}
	}
	return false
}

// resourceGroupOf returns the resource group named in an ARM id, in the
// id's spelling ("" when there is none).
func resourceGroupOf(id string) string {
	segs := strings.Split(strings.Trim(id, "/"), "/")
	for i := 0; i+1 < len(segs); i++ {
		if strings.EqualFold(segs[i], "resourceGroups") && i >= 2 && strings.EqualFold(segs[i-2], "subscriptions") {
			return segs[i+1]
		}
	}
	return ""
}

func reportTime(t *Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ---- output ----

// CSVSafe guards a cell against formula injection in spreadsheets: a cell
// that starts with '=', '+', '-', '@', a tab or a carriage return gets a
// leading apostrophe.
func CSVSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

func (rep *reportRun) columns() []string {
	if rep.filter.Kind == ReportAlerts {
		return AlertReportColumns
	}
	return RecommendationReportColumns
}

// flusher is the part of http.ResponseController a report uses.
type flusher interface{ Flush() error }

// writeCSV streams the report as CSV, flushing after each store page. An
// error before the first byte is returned (the router answers it as a
// CloudError); a failure after that aborts the response, so a client never
// takes a cut file for a whole one.
func (rep *reportRun) writeCSV(w http.ResponseWriter, r *http.Request, filename string) error {
	var fl flusher = http.NewResponseController(w)
	cw := csv.NewWriter(w)
	started := false
	start := func() error {
		if started {
			return nil
		}
		started = true
		h := w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		return cw.Write(rep.columns())
	}
	cells := make([]string, len(rep.columns()))
	pending := 0
	err := rep.scan(r.Context(), "", func(sub *reportSub, rec *store.Record) error {
		row, err := rep.row(sub, rec)
		if err != nil || row == nil {
			return err
		}
		if err := start(); err != nil {
			return err
		}
		for i, v := range row {
			cells[i] = CSVSafe(v)
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
		if pending++; pending >= reportScanPage {
			pending = 0
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
			_ = fl.Flush()
		}
		return nil
	})
	if err == nil {
		err = start()
	}
	if err == nil {
		cw.Flush()
		err = cw.Error()
	}
	if err == nil || !started {
		return err
	}
	if r.Context().Err() == nil {
		slog.ErrorContext(r.Context(), "report stream failed", "report", rep.filter.Kind, "err", err)
	}
	// The status and part of the body are out: cut the connection.
	panic(http.ErrAbortHandler)
}

// jsonLookahead bounds how many records a JSON page reads past its last
// row to decide whether a next page exists.
const jsonLookahead = 5000

// writeJSON writes one page {"value":[{column: value…}…],"nextLink":…}.
func (rep *reportRun) writeJSON(w http.ResponseWriter, r *http.Request) error {
	page, err := armapi.PageFrom(r)
	if err != nil {
		return err
	}
	cols := rep.columns()
	items := make([]json.RawMessage, 0, min(page.Limit, 100))
	last, more, looked := "", false, 0
	err = rep.scan(r.Context(), page.After, func(sub *reportSub, rec *store.Record) error {
		if len(items) == page.Limit {
			if looked++; looked > jsonLookahead {
				more = true
				return errStopScan
			}
		}
		row, err := rep.row(sub, rec)
		if err != nil || row == nil {
			return err
		}
		if len(items) == page.Limit {
			more = true
			return errStopScan
		}
		items = append(items, rowJSON(cols, row))
		last = rec.Key
		return nil
	})
	if err != nil {
		return err
	}
	if !more {
		last = ""
	}
	armapi.WriteList(w, r, items, last)
	return nil
}

// rowJSON encodes a row as an object with the columns in order.
func rowJSON(cols, row []string) json.RawMessage {
	b := make([]byte, 0, 512)
	b = append(b, '{')
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStringHTML(b, c)
		b = append(b, ':')
		b = appendStringHTML(b, row[i])
	}
	return append(b, '}')
}
