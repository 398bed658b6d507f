package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The Security alerts and Recommendations pages: filterable, paged tables
// of the current state read from the report routes of the API
// (/…/providers/Sluice.Reports/{alerts|recommendations}, format=json), and
// a Download CSV report link that streams the same route's CSV.

// reportPageSize is the number of rows a page of the tables shows.
const reportPageSize = 50

// reportKind describes one of the two report pages.
type reportKind struct {
	// Name is the API's report name and the page's path segment.
	Name  string
	Title string
	// Filters are the API filter parameters the page forwards.
	Filters []string
}

var (
	alertsReport = &reportKind{Name: "alerts", Title: "Security alerts",
		Filters: []string{"severity", "status", "from", "to", "resourceGroup", "search"}}
	recommendationsReport = &reportKind{Name: "recommendations", Title: "Recommendations",
		Filters: []string{"severity", "state", "recommendation", "resourceGroup", "search"}}
)

// reportRoutes registers the security alerts and recommendations pages and their CSV reports.
func (p *Portal) reportRoutes() {
	for _, k := range []*reportKind{alertsReport, recommendationsReport} {
		p.mux.Handle("GET "+Prefix+k.Name, p.authed(p.reportPage(k)))
		p.mux.Handle("GET "+Prefix+k.Name+"/report.csv", p.authed(p.reportCSV(k)))
	}
}

// allSubscriptions is the subscription choice of the tenant-wide report.
const allSubscriptions = "all"

var subscriptionRe = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// firstPage stands for the first page in the back list of a page URL
// (skipTokens are base64url, without '~').
const firstPage = "~"

// reportQuery is what a report page was asked for.
type reportQuery struct {
	Sub string
	// Filter holds the forwarded filter parameters (non-empty values).
	Filter url.Values
	// Page is the API's skipToken of the page shown; Back the tokens of
	// the pages before it (oldest first).
	Page string
	Back []string
}

func readReportQuery(k *reportKind, r *http.Request) *reportQuery {
	q := r.URL.Query()
	rq := &reportQuery{Sub: strings.TrimSpace(q.Get("sub")), Filter: url.Values{}, Page: q.Get("page")}
	for _, f := range k.Filters {
		for _, v := range q[f] {
			if v = strings.TrimSpace(v); v != "" {
				rq.Filter.Add(f, v)
			}
		}
	}
	if b := q.Get("back"); b != "" {
		for _, t := range strings.Split(b, ",") {
			if t == firstPage {
				t = ""
			}
			rq.Back = append(rq.Back, t)
		}
	}
	return rq
}

// apiTarget is the API report route for the query (format csv or json).
func (k *reportKind) apiTarget(rq *reportQuery, format string) string {
	path := "/providers/Sluice.Reports/" + k.Name
	if rq.Sub != allSubscriptions {
		path = "/subscriptions/" + url.PathEscape(rq.Sub) + path
	}
	v := url.Values{}
	for name, vs := range rq.Filter {
		v[name] = vs
	}
	v.Set("api-version", "2024-01-01")
	if format == "json" {
		v.Set("format", "json")
		v.Set("$top", strconv.Itoa(reportPageSize))
		if rq.Page != "" {
			v.Set("$skipToken", rq.Page)
		}
	}
	return path + "?" + v.Encode()
}

// pageURL is the portal URL of the query at another page.
func (k *reportKind) pageURL(rq *reportQuery, page string, back []string) string {
	v := url.Values{}
	for name, vs := range rq.Filter {
		v[name] = vs
	}
	v.Set("sub", rq.Sub)
	if page != "" {
		v.Set("page", page)
	}
	if len(back) > 0 {
		enc := make([]string, len(back))
		for i, t := range back {
			if enc[i] = t; t == "" {
				enc[i] = firstPage
			}
		}
		v.Set("back", strings.Join(enc, ","))
	}
	return Prefix + k.Name + "?" + v.Encode()
}

// csvURL is the portal's Download CSV report link for the query.
func (k *reportKind) csvURL(rq *reportQuery) string {
	v := url.Values{}
	for name, vs := range rq.Filter {
		v[name] = vs
	}
	v.Set("sub", rq.Sub)
	return Prefix + k.Name + "/report.csv?" + v.Encode()
}

// Option is a value of a select or a checkbox group.
type Option struct {
	Value, Label string
}

// reportData is what the report pages render.
type reportData struct {
	Kind *reportKind
	Subs []Subscription
	Sub  string
	// Form echoes the filter values.
	Form url.Values
	// Choices of the filters.
	Severities, Statuses, States []string
	Recommendations              []Option
	Rows                         []map[string]string
	// PageNo counts from 1.
	PageNo           int
	NextURL, PrevURL string
	CSVURL           string
	// Problem is an error of the filter the API refused (shown in place of
	// the table); Notice a remark above it.
	Problem, Notice string
}

// Value returns the first value of a form field.
func (d *reportData) Value(name string) string { return d.Form.Get(name) }

// Values returns the values of a multi-valued form field, split at commas.
func (d *reportData) Values(name string) []string {
	var out []string
	for _, v := range d.Form[name] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

func (p *Portal) reportPage(k *reportKind) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		rq := readReportQuery(k, r)
		subs, err := p.subscriptions(r)
		if err != nil {
			return err
		}
		d := &reportData{Kind: k, Subs: subs, Form: rq.Filter, Severities: []string{"High", "Medium", "Low"},
			States: []string{"Unhealthy", "Healthy", "NotApplicable"}, Statuses: []string{"Active", "InProgress", "Resolved", "Dismissed"}}
		if k == alertsReport {
			d.Severities = []string{"High", "Medium", "Low", "Informational"}
		}
		explicit := rq.Sub != ""
		if !explicit {
			rq.Sub = allSubscriptions
		}
		switch {
		case rq.Sub == allSubscriptions:
		case !subscriptionRe.MatchString(rq.Sub):
			return &APIError{Status: http.StatusBadRequest, Code: "InvalidSubscriptionId", Message: "Choose a subscription from the list."}
		default:
			rq.Sub = strings.ToLower(rq.Sub)
		}
		if k == recommendationsReport {
			if d.Recommendations, err = p.recommendationOptions(r); err != nil {
				return err
			}
		}
		var page struct {
			Value    []map[string]string `json:"value"`
			NextLink string              `json:"nextLink"`
		}
		err = p.getJSON(r, http.MethodGet, k.apiTarget(rq, "json"), nil, &page)
		var ae *APIError
		if err != nil && rq.Sub == allSubscriptions && !explicit && len(subs) > 0 && asAPIError(err, &ae) && ae.Status == http.StatusForbidden {
			// The tenant-wide report covers the subscriptions where the user
			// may read these records; refused, show the first subscription
			// the user can read instead (which then says why).
			rq.Sub, rq.Page, rq.Back = strings.ToLower(subs[0].SubscriptionID), "", nil
			d.Notice = "You cannot read the whole tenant, so the page shows one subscription; choose another in the list."
			err = p.getJSON(r, http.MethodGet, k.apiTarget(rq, "json"), nil, &page)
		}
		status := http.StatusOK
		if err != nil {
			if !asAPIError(err, &ae) || ae.Status >= 500 {
				return err
			}
			d.Problem, status = ae.Message, ae.Status
		}
		for _, row := range page.Value {
			row["startShown"] = shownTime(row["startTimeUtc"])
			row["changeShown"] = shownTime(row["statusChangeDate"])
		}
		d.Sub, d.Rows, d.PageNo = rq.Sub, page.Value, len(rq.Back)+1
		if token := nextSkipToken(page.NextLink); token != "" {
			back := append([]string(nil), rq.Back...)
			d.NextURL = k.pageURL(rq, token, append(back, rq.Page))
		}
		if rq.Page != "" {
			prev, back := "", []string(nil)
			if n := len(rq.Back); n > 0 {
				prev, back = rq.Back[n-1], rq.Back[:n-1]
			}
			d.PrevURL = k.pageURL(rq, prev, back)
		}
		d.CSVURL = k.csvURL(rq)
		v := &View{Title: k.Title, Nav: k.Name, Data: d}
		if r.Header.Get("HX-Request") != "" && r.Header.Get("HX-Target") == "report" {
			// htmx swaps only 2xx answers: the fragment carries the problem.
			p.renderPartial(w, r, http.StatusOK, k.Name, "report", v)
			return nil
		}
		p.render(w, r, status, k.Name, v)
		return nil
	}
}

// shownTime formats an RFC 3339 time of a report row for the table.
func shownTime(v string) string {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return v
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func asAPIError(err error, target **APIError) bool {
	ae, ok := err.(*APIError)
	if ok {
		*target = ae
	}
	return ok
}

// recommendationOptions lists the built-in recommendations for the
// recommendation filter, by display name.
func (p *Portal) recommendationOptions(r *http.Request) ([]Option, error) {
	raw, err := p.listAll(r, "/providers/Microsoft.Security/assessmentMetadata?api-version=2021-06-01", 20)
	if err != nil {
		return nil, err
	}
	out := make([]Option, 0, len(raw))
	for _, m := range raw {
		var md struct {
			Name       string `json:"name"`
			Properties struct {
				DisplayName string `json:"displayName"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(m, &md); err != nil {
			return nil, err
		}
		out = append(out, Option{Value: strings.ToLower(md.Name), Label: md.Properties.DisplayName})
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Label) < strings.ToLower(out[j].Label) })
	return out, nil
}

// reportCSV streams the API's CSV report of the page's current filter.
func (p *Portal) reportCSV(k *reportKind) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		rq := readReportQuery(k, r)
		if rq.Sub == "" {
			rq.Sub = allSubscriptions
		}
		if rq.Sub != allSubscriptions && !subscriptionRe.MatchString(rq.Sub) {
			return &APIError{Status: http.StatusBadRequest, Code: "InvalidSubscriptionId", Message: "Choose a subscription from the list."}
		}
		return p.stream(w, r, k.apiTarget(rq, "csv"))
	}
}
