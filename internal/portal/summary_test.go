package portal_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"sluice/internal/server/servertest"
)

// phAPI reads a list route of the API with the administrator's token.
func phAPI(t *testing.T, env *servertest.Env, token, path string, out any) {
	t.Helper()
	resp, body := env.Do(http.MethodGet, path, token, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

// phStable reads the API, then the page, then the API again until both
// API reads agree (the demo moves scores every 30 seconds), and returns
// the API's answer and the page.
func phStable[T any](t *testing.T, read func() T, page func() string) (T, string) {
	t.Helper()
	for range 5 {
		before := read()
		p := page()
		if after := read(); reflect.DeepEqual(before, after) {
			return before, p
		}
	}
	t.Fatal("the API's answer kept changing")
	var zero T
	return zero, ""
}

type phScores struct {
	Score struct {
		Value []struct {
			Properties struct {
				Score struct{ Current, Max, Percentage float64 } `json:"score"`
			} `json:"properties"`
		} `json:"value"`
	}
	Controls struct {
		Value []struct {
			Name       string `json:"name"`
			Properties struct {
				DisplayName   string                         `json:"displayName"`
				Healthy       int                            `json:"healthyResourceCount"`
				Unhealthy     int                            `json:"unhealthyResourceCount"`
				NotApplicable int                            `json:"notApplicableResourceCount"`
				Score         struct{ Current, Max float64 } `json:"score"`
			} `json:"properties"`
		} `json:"value"`
	}
}

func fnum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// TestScorePageEqualsAPI: the overall score and every control's figures
// on /portal/score are the API's.
func TestScorePageEqualsAPI(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	s := phSessionFor(t, env, env.Token)
	base := "/subscriptions/" + phSub + "/providers/Microsoft.Security/"
	api, page := phStable(t, func() phScores {
		var v phScores
		phAPI(t, env, env.Token, base+"secureScores?api-version=2020-01-01", &v.Score)
		phAPI(t, env, env.Token, base+"secureScoreControls?api-version=2020-01-01", &v.Controls)
		return v
	}, func() string {
		status, page := s.do(http.MethodGet, "/portal/score?subscription="+phSub, nil, false)
		if status != http.StatusOK {
			t.Fatalf("score page %d:\n%.2000s", status, page)
		}
		return page
	})
	if len(api.Score.Value) != 1 || len(api.Controls.Value) == 0 {
		t.Fatalf("the demo subscription has no score: %+v", api)
	}
	sc := api.Score.Value[0].Properties.Score
	want := fmt.Sprintf(`<span class="current">%s</span> / <span class="max">%s</span>`, fnum(sc.Current), fnum(sc.Max))
	if !strings.Contains(page, want) {
		t.Errorf("the page lacks the overall score %s", want)
	}
	if pct := strconv.FormatFloat(sc.Percentage*100, 'f', 0, 64) + "%"; !strings.Contains(page, `<span class="percent">`+pct+`</span>`) {
		t.Errorf("the page lacks the percentage %s", pct)
	}
	rows := regexp.MustCompile(`(?s)<tr class="control" data-control="([^"]+)">(.*?)</tr>`).FindAllStringSubmatch(page, -1)
	if len(rows) != len(api.Controls.Value) {
		t.Fatalf("%d control rows, the API has %d controls", len(rows), len(api.Controls.Value))
	}
	byName := map[string]string{}
	for _, r := range rows {
		byName[r[1]] = html.UnescapeString(r[2])
	}
	for _, c := range api.Controls.Value {
		row, ok := byName[c.Name]
		if !ok {
			t.Errorf("control %s (%s) is missing", c.Name, c.Properties.DisplayName)
			continue
		}
		p := c.Properties
		for _, want := range []string{
			`<th scope="row" class="name">` + p.DisplayName + `</th>`,
			`<td class="score">` + fnum(p.Score.Current) + " / " + fnum(p.Score.Max) + `</td>`,
			`<td class="healthy">` + strconv.Itoa(p.Healthy) + `</td>`,
			`<td class="na">` + strconv.Itoa(p.NotApplicable) + `</td>`,
		} {
			if !strings.Contains(row, want) {
				t.Errorf("control %s: the row lacks %s:\n%s", c.Name, want, row)
			}
		}
		if !regexp.MustCompile(`<td class="unhealthy[^"]*">` + strconv.Itoa(p.Unhealthy) + `</td>`).MatchString(row) {
			t.Errorf("control %s: unhealthy is not %d:\n%s", c.Name, p.Unhealthy, row)
		}
	}
	// Every readable subscription in turn without a choice.
	_, all := s.do(http.MethodGet, "/portal/score", nil, false)
	if n := strings.Count(all, `<section class="card score"`); n != 3 {
		t.Errorf("%d subscriptions on the page, the demo has 3", n)
	}
	if status, _ := s.do(http.MethodGet, "/portal/score?subscription=00000000-0000-0000-0000-000000000000", nil, false); status != http.StatusNotFound {
		t.Errorf("an unknown subscription: %d, want 404", status)
	}
}

type phStandards struct {
	Value []struct {
		Name       string `json:"name"`
		Properties struct {
			State       string `json:"state"`
			Passed      int    `json:"passedControls"`
			Failed      int    `json:"failedControls"`
			Skipped     int    `json:"skippedControls"`
			Unsupported int    `json:"unsupportedControls"`
		} `json:"properties"`
	} `json:"value"`
}

type phAssessments struct {
	Value []struct {
		Name       string `json:"name"`
		Properties struct {
			Description string `json:"description"`
			State       string `json:"state"`
			Passed      int    `json:"passedResources"`
			Failed      int    `json:"failedResources"`
			Skipped     int    `json:"skippedResources"`
		} `json:"properties"`
	} `json:"value"`
}

// TestCompliancePageEqualsAPI: each standard's passed/failed/skipped
// controls and a control's assessments (the drill-down, as an htmx
// fragment and as a page) are the API's; a Reader of one subscription
// sees only that one.
func TestCompliancePageEqualsAPI(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	s := phSessionFor(t, env, env.Token)
	base := "/subscriptions/" + phSub + "/providers/Microsoft.Security/regulatoryComplianceStandards"
	api, page := phStable(t, func() phStandards {
		var v phStandards
		phAPI(t, env, env.Token, base+"?api-version=2019-01-01-preview", &v)
		return v
	}, func() string {
		status, page := s.do(http.MethodGet, "/portal/compliance?subscription="+phSub, nil, false)
		if status != http.StatusOK {
			t.Fatalf("compliance page %d:\n%.2000s", status, page)
		}
		return page
	})
	if len(api.Value) == 0 {
		t.Fatal("the demo subscription has no standards")
	}
	for _, st := range api.Value {
		m := regexp.MustCompile(`(?s)<tr class="standard" data-standard="` + regexp.QuoteMeta(st.Name) + `">(.*?)</tr>`).FindStringSubmatch(page)
		if m == nil {
			t.Errorf("standard %s is missing", st.Name)
			continue
		}
		p := st.Properties
		for _, want := range []string{">" + p.State + "</td>",
			`<td class="passed">` + strconv.Itoa(p.Passed) + `</td>`,
			`<td class="failed">` + strconv.Itoa(p.Failed) + `</td>`,
			`<td class="skipped">` + strconv.Itoa(p.Skipped) + `</td>`,
			`<td class="unsupported">` + strconv.Itoa(p.Unsupported) + `</td>`} {
			if !strings.Contains(m[1], want) {
				t.Errorf("standard %s: the row lacks %s:\n%s", st.Name, want, m[1])
			}
		}
	}
	// The drill-down of one control of the first standard.
	std := api.Value[0].Name
	var controls struct {
		Value []struct {
			Name string `json:"name"`
		} `json:"value"`
	}
	phAPI(t, env, env.Token, base+"/"+std+"/regulatoryComplianceControls?api-version=2019-01-01-preview", &controls)
	if len(controls.Value) == 0 {
		t.Fatalf("standard %s has no controls", std)
	}
	ctl := controls.Value[0].Name
	if !strings.Contains(page, `data-control="`+ctl+`"`) {
		t.Errorf("control %s of %s is not on the page", ctl, std)
	}
	drill := "/portal/compliance/assessments?" + url.Values{"subscription": {phSub}, "standard": {std}, "control": {ctl}}.Encode()
	for _, hx := range []bool{true, false} {
		apiA, frag := phStable(t, func() phAssessments {
			var v phAssessments
			phAPI(t, env, env.Token, base+"/"+std+"/regulatoryComplianceControls/"+ctl+"/regulatoryComplianceAssessments?api-version=2019-01-01-preview", &v)
			return v
		}, func() string {
			status, p := s.do(http.MethodGet, drill, nil, hx)
			if status != http.StatusOK {
				t.Fatalf("drill-down (htmx %v) %d:\n%.2000s", hx, status, p)
			}
			return p
		})
		if hx == strings.Contains(frag, "<html") {
			t.Errorf("drill-down htmx=%v: whole page %v", hx, !hx)
		}
		if len(apiA.Value) == 0 {
			t.Fatalf("control %s has no assessments", ctl)
		}
		for _, a := range apiA.Value {
			m := regexp.MustCompile(`(?s)<tr class="assessment" data-assessment="` + regexp.QuoteMeta(a.Name) + `">(.*?)</tr>`).FindStringSubmatch(frag)
			if m == nil {
				t.Errorf("assessment %s is missing (htmx %v)", a.Name, hx)
				continue
			}
			row, p := html.UnescapeString(m[1]), a.Properties
			for _, want := range []string{p.Description, ">" + p.State + "</td>",
				`<td class="passed">` + strconv.Itoa(p.Passed) + `</td>`,
				`<td class="failed">` + strconv.Itoa(p.Failed) + `</td>`,
				`<td class="skipped">` + strconv.Itoa(p.Skipped) + `</td>`} {
				if !strings.Contains(row, want) {
					t.Errorf("assessment %s: the row lacks %s:\n%s", a.Name, want, row)
				}
			}
		}
	}
	for _, bad := range []string{"/portal/compliance/assessments?subscription=" + phSub + "&standard=a/../b&control=x",
		"/portal/compliance/assessments?subscription=..&standard=x&control=y", "/portal/compliance/assessments"} {
		if status, _ := s.do(http.MethodGet, bad, nil, false); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, status)
		}
	}

	// A Reader of the production subscription sees it and nothing else.
	reader := phSessionFor(t, env, phReader(t, env))
	status, rp := reader.do(http.MethodGet, "/portal/compliance", nil, false)
	if status != http.StatusOK || strings.Count(rp, `<section class="card compliance"`) != 1 || !strings.Contains(rp, `id="compliance-`+phSub+`"`) {
		t.Errorf("the reader's compliance page (%d) does not show exactly the production subscription:\n%.2000s", status, rp)
	}
	status, rp = reader.do(http.MethodGet, "/portal/score?subscription="+phDevSub, nil, false)
	if status != http.StatusNotFound || strings.Contains(rp, `id="score-`+phDevSub+`"`) {
		t.Errorf("the reader asking for another subscription's score: %d, want 404", status)
	}
}

// phDevSub is a demo subscription the reader has no role on.
const phDevSub = "8c3e4f60-7d1b-4f3a-9c9d-3b4a5f6e7d8c"

// TestBrowserComplianceDrillDown: opening a standard and then one of its
// controls loads the control's assessments in place (htmx on toggle).
func TestBrowserComplianceDrillDown(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	b := newBrowser(t, env)
	b.signInAdmin()
	first := `section#compliance-` + phSub + ` details.standard-detail`
	b.run("open a standard and a control",
		chromedp.Navigate(b.url("/portal/compliance?subscription="+phSub)),
		chromedp.WaitVisible(chromedp.CSS(first+` > summary`)),
		chromedp.Click(chromedp.CSS(first+` > summary`)),
		chromedp.WaitVisible(chromedp.CSS(first+` details.control > summary`)),
		chromedp.Click(chromedp.CSS(first+` details.control > summary`)),
		chromedp.WaitVisible(chromedp.CSS(first+` details.control table.assessments-table`)),
	)
	n := get(b, "assessment rows", chromedp.Evaluate[int](`document.querySelector('`+first+` details.control').querySelectorAll('tr.assessment').length`))
	if n == 0 {
		t.Error("the control's assessments did not load")
	}
	// The link for browsers without JavaScript was replaced, not followed.
	if u := get(b, "location", chromedp.Evaluate[string](`location.pathname`)); u != "/portal/compliance" {
		t.Errorf("location %s", u)
	}
}
