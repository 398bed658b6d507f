package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// The secure score and regulatory compliance pages summarise, per readable
// subscription, what the security read routes compute: the overall score
// with its controls, and each compliance standard's controls with a
// drill-down to the control's assessments.

const (
	scoreAPIVersion      = "2020-01-01"
	complianceAPIVersion = "2019-01-01-preview"
)

// summaryRoutes registers the secure score and regulatory compliance summaries.
func (p *Portal) summaryRoutes() {
	p.mux.Handle("GET "+Prefix+"score", p.authed(p.scorePage))
	p.mux.Handle("GET "+Prefix+"compliance", p.authed(p.compliancePage))
	p.mux.Handle("GET "+Prefix+"compliance/assessments", p.authed(p.complianceAssessments))
}

// summarySubs are the subscriptions a summary page shows: the one chosen,
// or every readable one.
type summarySubs struct {
	All      []Subscription
	Selected string
}

func (p *Portal) summarySubscriptions(r *http.Request) (*summarySubs, []Subscription, error) {
	all, err := p.subscriptions(r)
	if err != nil {
		return nil, nil, err
	}
	sel := r.URL.Query().Get("subscription")
	if sel == "" {
		return &summarySubs{All: all}, all, nil
	}
	for _, s := range all {
		if strings.EqualFold(s.SubscriptionID, sel) {
			return &summarySubs{All: all, Selected: s.SubscriptionID}, []Subscription{s}, nil
		}
	}
	return nil, nil, &APIError{Status: http.StatusNotFound, Code: "SubscriptionNotFound",
		Message: "The subscription '" + sel + "' does not exist or you cannot read it."}
}

// scoreFigures is a score as the API gives it.
type scoreFigures struct {
	Max        float64 `json:"max"`
	Current    float64 `json:"current"`
	Percentage float64 `json:"percentage"`
}

// Text is "current / max".
func (s scoreFigures) Text() string { return summaryNum(s.Current) + " / " + summaryNum(s.Max) }

// CurrentText is the current score as the API wrote it.
func (s scoreFigures) CurrentText() string { return summaryNum(s.Current) }

// MaxText is the maximum as the API wrote it.
func (s scoreFigures) MaxText() string { return summaryNum(s.Max) }

// Percent is the percentage, rounded.
func (s scoreFigures) Percent() string {
	return strconv.FormatFloat(s.Percentage*100, 'f', 0, 64) + "%"
}

// Bar is the percentage as a whole number from 0 to 100 (for <meter>).
func (s scoreFigures) Bar() string {
	return strconv.FormatFloat(min(max(s.Percentage, 0), 1)*100, 'f', 0, 64)
}

func summaryNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

type scoreControl struct {
	Name       string `json:"name"`
	Properties struct {
		DisplayName   string       `json:"displayName"`
		Healthy       int          `json:"healthyResourceCount"`
		Unhealthy     int          `json:"unhealthyResourceCount"`
		NotApplicable int          `json:"notApplicableResourceCount"`
		Score         scoreFigures `json:"score"`
		Weight        int          `json:"weight"`
	} `json:"properties"`
}

// Potential is the points still to gain.
func (c *scoreControl) Potential() string {
	return summaryNum(float64(int((c.Properties.Score.Max-c.Properties.Score.Current)*100+0.5)) / 100)
}

type scoreSub struct {
	Sub      Subscription
	Error    string
	Name     string
	Score    *scoreFigures
	Controls []*scoreControl
}

type scoreData struct {
	Subs *summarySubs
	List []*scoreSub
}

func (p *Portal) scorePage(w http.ResponseWriter, r *http.Request) error {
	subs, show, err := p.summarySubscriptions(r)
	if err != nil {
		return err
	}
	data := &scoreData{Subs: subs}
	for _, s := range show {
		data.List = append(data.List, p.scoreOf(r, s))
	}
	p.render(w, r, 0, "score", &View{Title: "Secure score", Nav: "score", Data: data})
	return nil
}

func (p *Portal) scoreOf(r *http.Request, s Subscription) *scoreSub {
	out := &scoreSub{Sub: s}
	base := "/subscriptions/" + url.PathEscape(s.SubscriptionID) + "/providers/Microsoft.Security/"
	raw, err := p.listAll(r, base+"secureScores?api-version="+scoreAPIVersion, 5)
	if err != nil {
		out.Error = p.summaryError(r, err)
		return out
	}
	for _, m := range raw {
		var sc struct {
			Name       string `json:"name"`
			Properties struct {
				DisplayName string       `json:"displayName"`
				Score       scoreFigures `json:"score"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(m, &sc); err != nil {
			out.Error = "The secure score could not be read."
			return out
		}
		if out.Score == nil || strings.EqualFold(sc.Name, "ascScore") {
			out.Name, out.Score = sc.Properties.DisplayName, &sc.Properties.Score
		}
	}
	raw, err = p.listAll(r, base+"secureScoreControls?api-version="+scoreAPIVersion, 20)
	if err != nil {
		out.Error = p.summaryError(r, err)
		return out
	}
	for _, m := range raw {
		c := &scoreControl{}
		if err := json.Unmarshal(m, c); err != nil {
			out.Error = "The secure score controls could not be read."
			return out
		}
		out.Controls = append(out.Controls, c)
	}
	// The controls with the most points to gain first, as the Microsoft
	// portal lists them.
	sort.SliceStable(out.Controls, func(i, j int) bool {
		a, b := out.Controls[i].Properties.Score, out.Controls[j].Properties.Score
		if ga, gb := a.Max-a.Current, b.Max-b.Current; ga != gb {
			return ga > gb
		}
		return out.Controls[i].Properties.DisplayName < out.Controls[j].Properties.DisplayName
	})
	return out
}

// summaryError is the message shown in place of data the API refused.
func (p *Portal) summaryError(r *http.Request, err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Message
	}
	p.Log.Error("portal summary", "path", r.URL.Path, "err", err)
	return "The data could not be read."
}

type complianceStandard struct {
	Name       string `json:"name"`
	Properties struct {
		State       string `json:"state"`
		Passed      int    `json:"passedControls"`
		Failed      int    `json:"failedControls"`
		Skipped     int    `json:"skippedControls"`
		Unsupported int    `json:"unsupportedControls"`
	} `json:"properties"`
	Controls []*complianceControl `json:"-"`
	Error    string               `json:"-"`
}

type complianceControl struct {
	Name       string `json:"name"`
	Properties struct {
		Description string `json:"description"`
		State       string `json:"state"`
		Passed      int    `json:"passedAssessments"`
		Failed      int    `json:"failedAssessments"`
		Skipped     int    `json:"skippedAssessments"`
	} `json:"properties"`
	DomID string `json:"-"`
}

type complianceSub struct {
	Sub       Subscription
	Error     string
	Standards []*complianceStandard
}

type complianceData struct {
	Subs *summarySubs
	List []*complianceSub
	// Drill is set on the page of one control's assessments.
	Drill *assessmentsData
}

// Class is the style of the standard's state.
func (s *complianceStandard) Class() string { return summaryStateClass(s.Properties.State) }

// Class is the style of the control's state.
func (c *complianceControl) Class() string { return summaryStateClass(c.Properties.State) }

// Class is the style of the assessment's state.
func (a *complianceAssessment) Class() string { return summaryStateClass(a.Properties.State) }

// summaryStateClass maps a compliance state to a style.
func summaryStateClass(s string) string {
	switch strings.ToLower(s) {
	case "passed":
		return "status-ok"
	case "failed":
		return "status-bad"
	default:
		return "muted"
	}
}

func (p *Portal) compliancePage(w http.ResponseWriter, r *http.Request) error {
	subs, show, err := p.summarySubscriptions(r)
	if err != nil {
		return err
	}
	data := &complianceData{Subs: subs}
	for _, s := range show {
		data.List = append(data.List, p.complianceOf(r, s))
	}
	p.render(w, r, 0, "compliance", &View{Title: "Regulatory compliance", Nav: "compliance", Data: data})
	return nil
}

func complianceBase(sub string) string {
	return "/subscriptions/" + url.PathEscape(sub) + "/providers/Microsoft.Security/regulatoryComplianceStandards"
}

func (p *Portal) complianceOf(r *http.Request, s Subscription) *complianceSub {
	out := &complianceSub{Sub: s}
	raw, err := p.listAll(r, complianceBase(s.SubscriptionID)+"?api-version="+complianceAPIVersion, 10)
	if err != nil {
		out.Error = p.summaryError(r, err)
		return out
	}
	for _, m := range raw {
		st := &complianceStandard{}
		if err := json.Unmarshal(m, st); err != nil {
			out.Error = "The compliance standards could not be read."
			return out
		}
		craw, err := p.listAll(r, complianceBase(s.SubscriptionID)+"/"+url.PathEscape(st.Name)+"/regulatoryComplianceControls?api-version="+complianceAPIVersion, 20)
		if err != nil {
			st.Error = p.summaryError(r, err)
		}
		for _, cm := range craw {
			c := &complianceControl{}
			if err := json.Unmarshal(cm, c); err != nil {
				st.Error = "The controls could not be read."
				break
			}
			c.DomID = pageDomID("c-", s.SubscriptionID+"/"+st.Name+"/"+c.Name)
			st.Controls = append(st.Controls, c)
		}
		out.Standards = append(out.Standards, st)
	}
	return out
}

type complianceAssessment struct {
	Name       string `json:"name"`
	Properties struct {
		Description string `json:"description"`
		State       string `json:"state"`
		Passed      int    `json:"passedResources"`
		Failed      int    `json:"failedResources"`
		Skipped     int    `json:"skippedResources"`
		Unsupported int    `json:"unsupportedResources"`
	} `json:"properties"`
}

type assessmentsData struct {
	Subscription, Standard, Control string
	Items                           []*complianceAssessment
	Error                           string
}

// complianceAssessments is the drill-down of one control: an htmx
// fragment, or a page of its own without JavaScript.
func (p *Portal) complianceAssessments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d := &assessmentsData{Subscription: q.Get("subscription"), Standard: q.Get("standard"), Control: q.Get("control")}
	for _, v := range []string{d.Subscription, d.Standard, d.Control} {
		if v == "" || dotSegment(v) || strings.ContainsAny(v, "/?#%") {
			return &APIError{Status: http.StatusBadRequest, Code: "InvalidQueryParameterValue", Message: "The subscription, standard and control must be given."}
		}
	}
	target := complianceBase(d.Subscription) + "/" + url.PathEscape(d.Standard) + "/regulatoryComplianceControls/" + url.PathEscape(d.Control) +
		"/regulatoryComplianceAssessments?api-version=" + complianceAPIVersion
	raw, err := p.listAll(r, target, 20)
	if err != nil {
		if !hxFragment(r) {
			return err
		}
		d.Error = p.summaryError(r, err)
	}
	for _, m := range raw {
		a := &complianceAssessment{}
		if err := json.Unmarshal(m, a); err != nil {
			return fmt.Errorf("decode compliance assessment: %w", err)
		}
		d.Items = append(d.Items, a)
	}
	if hxFragment(r) {
		p.renderPartial(w, r, 0, "compliance", "compliance-assessments", &View{Data: d})
		return nil
	}
	p.render(w, r, 0, "compliance", &View{Title: "Regulatory compliance: " + d.Standard + " " + d.Control, Nav: "compliance", Data: &complianceData{Drill: d}})
	return nil
}
