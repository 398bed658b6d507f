package armapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"sluice/internal/armapi"
)

func TestPageFrom(t *testing.T) {
	tests := []struct {
		query string
		limit int
		after string
		code  string
	}{
		{"", armapi.DefaultPageSize, "", ""},
		{"$top=5", 5, "", ""},
		{"$top=1", 1, "", ""},
		{fmt.Sprintf("$top=%d", armapi.MaxPageSize), armapi.MaxPageSize, "", ""},
		{fmt.Sprintf("$top=%d", armapi.MaxPageSize+1), armapi.MaxPageSize, "", ""},
		{"$top=99999999999999999999", 0, "", "InvalidQueryParameterValue"},
		{"$top=0", 0, "", "InvalidQueryParameterValue"},
		{"$top=-3", 0, "", "InvalidQueryParameterValue"},
		{"$top=ten", 0, "", "InvalidQueryParameterValue"},
		{"$top=1.5", 0, "", "InvalidQueryParameterValue"},
		{"$skipToken=" + "L3N1YnNjcmlwdGlvbnMveA", armapi.DefaultPageSize, "/subscriptions/x", ""},
		{"$skipToken=%21%21%21", 0, "", "InvalidSkipToken"},
		{"$skipToken=L3N1YnNjcmlwdGlvbnMveA%3D%3D", 0, "", "InvalidSkipToken"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			p, err := armapi.PageFrom(httptest.NewRequest("GET", "/subscriptions?"+tt.query, nil))
			if tt.code != "" {
				if ae := requireARMError(t, err, http.StatusBadRequest); ae.Code != tt.code {
					t.Errorf("code = %q, want %q", ae.Code, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("PageFrom: %v", err)
			}
			if p.Limit != tt.limit || p.After != tt.after {
				t.Errorf("PageFrom = %+v, want limit %d after %q", p, tt.limit, tt.after)
			}
		})
	}
}

func TestNextLink(t *testing.T) {
	// The request arrived on the plain handler (no TLS) with a previous
	// token and extra parameters: the link is still https, keeps every
	// parameter, and replaces the token.
	r := httptest.NewRequest("GET", "http://sluice.example:8443/subscriptions/"+subID+"/resourcegroups?api-version=2021-04-01&$top=2&$filter=tagName%20eq%20%27a%27&$skipToken=b2xk", nil)
	const key = "/subscriptions/" + subID + "/resourcegroups/rg 1&x=y"
	link := armapi.NextLink(r, key)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("nextLink %q: %v", link, err)
	}
	if u.Scheme != "https" || u.Host != "sluice.example:8443" || u.Path != "/subscriptions/"+subID+"/resourcegroups" {
		t.Errorf("nextLink %q: want https://sluice.example:8443/subscriptions/…/resourcegroups", link)
	}
	q := u.Query()
	if q.Get("api-version") != "2021-04-01" || q.Get("$top") != "2" || q.Get("$filter") != "tagName eq 'a'" {
		t.Errorf("nextLink %q lost query parameters: %v", link, q)
	}
	if len(q["$skipToken"]) != 1 {
		t.Errorf("nextLink %q has %d skip tokens", link, len(q["$skipToken"]))
	}
	// Following the link gives the page after key.
	p, err := armapi.PageFrom(httptest.NewRequest("GET", link, nil))
	if err != nil {
		t.Fatalf("PageFrom(nextLink): %v", err)
	}
	if p.After != key || p.Limit != 2 {
		t.Errorf("PageFrom(nextLink) = %+v, want after %q limit 2", p, key)
	}
}

func TestWriteList(t *testing.T) {
	r := httptest.NewRequest("GET", "https://h/subscriptions?api-version=2022-12-01", nil)

	rec := httptest.NewRecorder()
	armapi.WriteList(rec, r, nil, "")
	if got := rec.Body.String(); got != `{"value":[]}` {
		t.Errorf("empty list = %s, want {\"value\":[]}", got)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}

	rec = httptest.NewRecorder()
	armapi.WriteList(rec, r, []json.RawMessage{json.RawMessage(`{"id":"a"}`)}, "a")
	var l struct {
		Value    []map[string]string `json:"value"`
		NextLink string              `json:"nextLink"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	if len(l.Value) != 1 || l.Value[0]["id"] != "a" {
		t.Errorf("value = %v", l.Value)
	}
	if !strings.HasPrefix(l.NextLink, "https://h/subscriptions?") || !strings.Contains(l.NextLink, "api-version=2022-12-01") {
		t.Errorf("nextLink = %q", l.NextLink)
	}
}

func TestNextLink_uses_the_public_base_url(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "https://internal:8443/subscriptions?api-version=2022-12-01", nil)
	if got := armapi.NextLink(r, "k"); !strings.HasPrefix(got, "https://internal:8443/subscriptions?") {
		t.Errorf("without a public URL: %s", got)
	}
	r = armapi.WithBaseURL(r, "https://sluice.example.com/")
	got := armapi.NextLink(r, "k")
	if !strings.HasPrefix(got, "https://sluice.example.com/subscriptions?") || !strings.Contains(got, "api-version=2022-12-01") {
		t.Errorf("with a public URL: %s", got)
	}
}

func TestPageFrom_query_names_are_case_insensitive(t *testing.T) {
	tok := base64.RawURLEncoding.EncodeToString([]byte("after-me"))
	for _, q := range []string{"$skiptoken=" + tok + "&$TOP=3", "$SkipToken=" + tok + "&$top=3"} {
		r := httptest.NewRequest(http.MethodGet, "/x?"+q, nil)
		p, err := armapi.PageFrom(r)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if p.After != "after-me" || p.Limit != 3 {
			t.Errorf("%s: page %+v", q, p)
		}
		if next := armapi.NextLink(r, "k2"); strings.Count(strings.ToLower(next), "skiptoken") != 1 {
			t.Errorf("%s: next link repeats the token: %s", q, next)
		}
	}
}
