package estate_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"sluice/internal/armapi"
	"sluice/internal/estate"
	"sluice/internal/server/servertest"
)

// estateRoute is one estate route with a request that would succeed.
type estateRoute struct {
	method   string
	path     string // without api-version
	versions []string
	body     any // a valid body for PUT and PATCH
}

func (r estateRoute) String() string { return r.method + " " + r.path }

func estateRoutes() []estateRoute {
	groups := "/providers/Microsoft.Management/managementGroups"
	link := mgPath(demoGroup) + "/subscriptions/" + demoSub
	rg := rgPath(demoSub, "web-prod")
	return []estateRoute{
		{http.MethodGet, groups, estate.VersionsGroups, nil},
		{http.MethodPut, mgPath("bad-input-group"), estate.VersionsGroups, map[string]any{"properties": map[string]any{"displayName": "Bad Input"}}},
		{http.MethodGet, mgPath(demoGroup), estate.VersionsGroups, nil},
		{http.MethodPatch, mgPath(demoGroup), estate.VersionsGroups, map[string]any{"displayName": "Contoso Production"}},
		{http.MethodDelete, mgPath("contoso-development"), estate.VersionsGroups, nil},
		{http.MethodGet, mgPath(demoGroup) + "/subscriptions", estate.VersionsGroups, nil},
		{http.MethodPut, link, estate.VersionsGroups, nil},
		{http.MethodGet, link, estate.VersionsGroups, nil},
		{http.MethodDelete, link, estate.VersionsGroups, nil},
		{http.MethodGet, "/subscriptions", estate.VersionsSubscriptions, nil},
		{http.MethodGet, "/subscriptions/" + demoSub, estate.VersionsSubscriptions, nil},
		{http.MethodPut, "/subscriptions/" + demoSub, estate.VersionsSubscriptions, map[string]any{"displayName": "Contoso Production"}},
		{http.MethodDelete, "/subscriptions/" + demoSubShared, estate.VersionsSubscriptions, nil},
		{http.MethodGet, "/subscriptions/" + demoSub + "/resourcegroups", estate.VersionsResourceGroups, nil},
		{http.MethodGet, rg, estate.VersionsResourceGroups, nil},
		{http.MethodHead, rg, estate.VersionsResourceGroups, nil},
		{http.MethodPut, rg, estate.VersionsResourceGroups, map[string]any{"location": "westeurope"}},
		{http.MethodPatch, rg, estate.VersionsResourceGroups, map[string]any{"tags": map[string]string{"a": "b"}}},
		{http.MethodDelete, rgPath(demoSub, "network-prod"), estate.VersionsResourceGroups, nil},
	}
}

// TestEveryRouteChecksTokenAndAPIVersion sends each estate route without a
// token, with a malformed token, without api-version and with an
// unsupported one.
func TestEveryRouteChecksTokenAndAPIVersion(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	for _, rt := range estateRoutes() {
		t.Run(strings.ReplaceAll(rt.String(), "/", "_"), func(t *testing.T) {
			good := withVersion(rt.path, rt.versions[0])

			r := send(t, env, rt.method, good, "", rt.body)
			expectError(t, r, http.StatusUnauthorized, "AuthenticationFailed", "Authorization")
			if c := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(c, "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", c)
			}
			r = send(t, env, rt.method, good, "not.a.token", rt.body)
			if r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("malformed token: %d %q", r.StatusCode, r.Header.Get("WWW-Authenticate"))
			}
			checkErrorHeaders(t, r)

			r = send(t, env, rt.method, rt.path, env.Token, rt.body)
			expectError(t, r, http.StatusBadRequest, "MissingApiVersionParameter", "api-version", rt.versions[0])

			r = send(t, env, rt.method, withVersion(rt.path, "1999-01-01"), env.Token, rt.body)
			expectError(t, r, http.StatusBadRequest, "InvalidApiVersionParameter", append([]string{"'1999-01-01'"}, rt.versions...)...)

			// A version of another route family is not accepted either.
			other := "2022-12-01"
			if rt.versions[0] == other {
				other = "2021-04-01"
			}
			r = send(t, env, rt.method, withVersion(rt.path, other), env.Token, rt.body)
			expectError(t, r, http.StatusBadRequest, "InvalidApiVersionParameter", other)

			// Every supported version is accepted.
			for _, v := range rt.versions {
				if rt.method == http.MethodDelete {
					break // the success path is covered by the client tests
				}
				r = send(t, env, rt.method, withVersion(rt.path, v), env.Token, rt.body)
				if r.StatusCode >= 300 {
					t.Errorf("api-version %s: %d %s", v, r.StatusCode, r.Body)
				}
			}
		})
	}
}

// TestBodyErrors sends malformed, mistyped, empty and oversized bodies to
// every route that takes one.
func TestBodyErrors(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	newSub := "/subscriptions/" + uuid.NewString()
	bodyRoutes := []struct {
		name, method, path, version string
		wrongType                   string
		wrongProp, wrongWant        string
	}{
		{"management group", http.MethodPut, mgPath("body-errors"), mgVersion,
			`{"properties":{"displayName":42}}`, "properties.displayName", "string"},
		{"management group parent", http.MethodPut, mgPath("body-errors"), mgVersion,
			`{"properties":{"details":{"parent":"contoso-production"}}}`, "properties.details.parent", "object"},
		{"management group patch", http.MethodPatch, mgPath(demoGroup), mgVersion,
			`{"displayName":["x"]}`, "displayName", "string"},
		{"subscription", http.MethodPut, newSub, subVersion,
			`{"displayName":true}`, "displayName", "string"},
		{"resource group", http.MethodPut, rgPath(demoSub, "body-errors"), rgVersion,
			`{"location":["westeurope"]}`, "location", "string"},
		{"resource group tags", http.MethodPut, rgPath(demoSub, "body-errors"), rgVersion,
			`{"location":"westeurope","tags":["a"]}`, "tags", "object"},
		{"resource group patch", http.MethodPatch, rgPath(demoSub, "web-prod"), rgVersion,
			`{"tags":"env=prod"}`, "tags", "object"},
	}
	for _, br := range bodyRoutes {
		t.Run(strings.ReplaceAll(br.name, " ", "_"), func(t *testing.T) {
			path := withVersion(br.path, br.version)

			r := send(t, env, br.method, path, env.Token, "{\n  \"a\": 1,\n  \"b\": [1, 2\n}")
			expectError(t, r, http.StatusBadRequest, "InvalidRequestContent", "line 4, column 1")

			r = send(t, env, br.method, path, env.Token, `{"a": 1`)
			expectError(t, r, http.StatusBadRequest, "InvalidRequestContent", "end of JSON input")

			r = send(t, env, br.method, path, env.Token, br.wrongType)
			expectError(t, r, http.StatusBadRequest, "InvalidRequestContent", "'"+br.wrongProp+"'", br.wrongWant)
			if got := r.err().Target; got != br.wrongProp {
				t.Errorf("target %q, want %q", got, br.wrongProp)
			}

			r = send(t, env, br.method, path, env.Token, `[]`)
			expectError(t, r, http.StatusBadRequest, "InvalidRequestContent", "object")

			r = send(t, env, br.method, path, env.Token, "")
			expectError(t, r, http.StatusBadRequest, "InvalidRequestContent", "empty")

			// Unknown properties are ignored, as ARM clients expect: the
			// valid part of the body still decodes.
			r = send(t, env, br.method, path, env.Token, `{"someFutureProperty":{"x":1}, "displayName":"ok", "location":"westeurope"}`)
			if r.StatusCode >= 300 && r.err().Code == "InvalidRequestContent" {
				t.Errorf("an unknown property was refused: %s", r.Body)
			}
		})
	}

	// Over 4 MB: refused with 413 whether the size is announced or not.
	bigSub := "/subscriptions/" + uuid.NewString()
	big := func() []byte {
		var b bytes.Buffer
		b.WriteString(`{"displayName":"`)
		b.WriteString(strings.Repeat("x", armapi.MaxBodyBytes))
		b.WriteString(`","location":"westeurope"}`)
		return b.Bytes()
	}()
	for _, p := range []struct{ method, path string }{
		{http.MethodPut, withVersion(mgPath("too-big"), mgVersion)},
		{http.MethodPatch, withVersion(mgPath(demoGroup), mgVersion)},
		{http.MethodPut, withVersion(bigSub, subVersion)},
		{http.MethodPut, withVersion(rgPath(demoSub, "too-big"), rgVersion)},
		{http.MethodPatch, withVersion(rgPath(demoSub, "web-prod"), rgVersion)},
	} {
		for _, chunked := range []bool{false, true} {
			r := sendBody(t, env, p.method, p.path, big, chunked)
			expectError(t, r, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprint(armapi.MaxBodyBytes))
		}
	}
	// Nothing was written by the refused requests.
	for _, p := range []string{withVersion(mgPath("too-big"), mgVersion), withVersion(rgPath(demoSub, "too-big"), rgVersion), withVersion(bigSub, subVersion)} {
		r := send(t, env, http.MethodGet, p, env.Token, nil)
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s after refused writes: %d %s", p, r.StatusCode, r.Body)
		}
	}
}

// sendBody sends body with or without a Content-Length.
func sendBody(t *testing.T, env *servertest.Env, method, path string, body []byte, chunked bool) reply {
	t.Helper()
	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // hides the length: sent chunked
	}
	req, err := http.NewRequest(method, env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+env.Token)
	req.Header.Set("x-ms-correlation-request-id", "corr-"+uuid.NewString())
	resp, err := env.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s (chunked %v): %v", method, path, chunked, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{Response: resp, Body: data}
}

// TestBadInput is a table of requests every one of which must fail with a
// precise code and message.
func TestBadInput(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	unknownSub := "0badc0de-0000-4000-8000-000000000000"
	newSub := "/subscriptions/" + uuid.NewString()
	long := strings.Repeat("a", 91)
	tooManyTags := map[string]string{}
	for i := range 51 {
		tooManyTags[fmt.Sprintf("t%02d", i)] = "v"
	}
	mg := func(p string) string { return withVersion(p, mgVersion) }
	sub := func(p string) string { return withVersion(p, subVersion) }
	rg := func(p string) string { return withVersion(p, rgVersion) }

	cases := []struct {
		name      string
		method    string
		path      string
		body      any
		status    int
		code      string
		fragments []string
	}{
		// Subscription ids must be GUIDs, wherever they appear.
		{"get non-GUID subscription", http.MethodGet, sub("/subscriptions/not-a-guid"), nil, 400, "InvalidSubscriptionId", []string{"not-a-guid", "GUID"}},
		{"put non-GUID subscription", http.MethodPut, sub("/subscriptions/not-a-guid"), map[string]string{"displayName": "x"}, 400, "InvalidSubscriptionId", []string{"not-a-guid"}},
		{"delete non-GUID subscription", http.MethodDelete, sub("/subscriptions/not-a-guid"), nil, 400, "InvalidSubscriptionId", []string{"not-a-guid"}},
		{"almost a GUID", http.MethodGet, sub("/subscriptions/" + demoSub + "0"), nil, 400, "InvalidSubscriptionId", []string{demoSub + "0"}},
		{"list groups of non-GUID subscription", http.MethodGet, rg("/subscriptions/not-a-guid/resourcegroups"), nil, 400, "InvalidSubscriptionId", []string{"not-a-guid"}},
		{"get group of non-GUID subscription", http.MethodGet, rg("/subscriptions/not-a-guid/resourcegroups/web-prod"), nil, 400, "InvalidSubscriptionId", []string{"not-a-guid"}},
		{"put group in non-GUID subscription", http.MethodPut, rg("/subscriptions/not-a-guid/resourcegroups/web-prod"), map[string]string{"location": "westeurope"}, 400, "InvalidSubscriptionId", []string{"not-a-guid"}},
		{"patch group in non-GUID subscription", http.MethodPatch, rg("/subscriptions/not-a-guid/resourcegroups/web-prod"), map[string]any{}, 400, "InvalidSubscriptionId", []string{"not-a-guid"}},
		{"delete group in non-GUID subscription", http.MethodDelete, rg("/subscriptions/not-a-guid/resourcegroups/web-prod"), nil, 400, "InvalidSubscriptionId", []string{"not-a-guid"}},
		{"move non-GUID subscription", http.MethodPut, mg(mgPath(demoGroup) + "/subscriptions/not-a-guid"), nil, 400, "InvalidSubscriptionId", []string{"not-a-guid"}},
		{"get non-GUID subscription under group", http.MethodGet, mg(mgPath(demoGroup) + "/subscriptions/not-a-guid"), nil, 400, "InvalidSubscriptionId", []string{"not-a-guid"}},
		{"unlink non-GUID subscription", http.MethodDelete, mg(mgPath(demoGroup) + "/subscriptions/not-a-guid"), nil, 400, "InvalidSubscriptionId", []string{"not-a-guid"}},

		// Unknown subscriptions.
		{"get unknown subscription", http.MethodGet, sub("/subscriptions/" + unknownSub), nil, 404, "SubscriptionNotFound", []string{unknownSub}},
		{"delete unknown subscription", http.MethodDelete, sub("/subscriptions/" + unknownSub), nil, 404, "SubscriptionNotFound", []string{unknownSub}},
		{"list groups of unknown subscription", http.MethodGet, rg("/subscriptions/" + unknownSub + "/resourcegroups"), nil, 404, "SubscriptionNotFound", []string{unknownSub}},
		{"get group of unknown subscription", http.MethodGet, rg(rgPath(unknownSub, "web-prod")), nil, 404, "SubscriptionNotFound", []string{unknownSub}},
		{"put group in unknown subscription", http.MethodPut, rg(rgPath(unknownSub, "web-prod")), map[string]string{"location": "westeurope"}, 404, "SubscriptionNotFound", []string{unknownSub}},
		{"patch group in unknown subscription", http.MethodPatch, rg(rgPath(unknownSub, "web-prod")), map[string]any{}, 404, "SubscriptionNotFound", []string{unknownSub}},
		{"delete group in unknown subscription", http.MethodDelete, rg(rgPath(unknownSub, "web-prod")), nil, 404, "SubscriptionNotFound", []string{unknownSub}},
		{"move unknown subscription", http.MethodPut, mg(mgPath(demoGroup) + "/subscriptions/" + unknownSub), nil, 404, "SubscriptionNotFound", []string{unknownSub}},

		// Subscription registration.
		{"register without displayName", http.MethodPut, sub(newSub), map[string]string{}, 400, "MissingRequiredProperty", []string{"displayName"}},
		{"register with blank displayName", http.MethodPut, sub(newSub), map[string]string{"displayName": "  "}, 400, "MissingRequiredProperty", []string{"displayName"}},
		{"register under a missing group", http.MethodPut, sub(newSub), map[string]string{"displayName": "x", "managementGroupId": "no-such-group"}, 400, "ManagementGroupNotFound", []string{"no-such-group"}},
		{"register in another tenant", http.MethodPut, sub(newSub), map[string]string{"displayName": "x", "tenantId": uuid.NewString()}, 403, "InvalidTenant", []string{env.TenantID}},

		// Resource groups.
		{"resource group name too long", http.MethodPut, rg(rgPath(demoSub, long)), map[string]string{"location": "westeurope"}, 400, "InvalidResourceGroupName", []string{"longer than 90"}},
		{"resource group name with bad characters", http.MethodPut, rg(rgPath(demoSub, "bad!name")), map[string]string{"location": "westeurope"}, 400, "InvalidResourceGroupName", []string{"bad!name", "may only contain"}},
		{"resource group name with a space", http.MethodPut, rg(rgPath(demoSub, "bad%20name")), map[string]string{"location": "westeurope"}, 400, "InvalidResourceGroupName", []string{"bad name"}},
		{"resource group name ending in a period", http.MethodPut, rg(rgPath(demoSub, "trailing.")), map[string]string{"location": "westeurope"}, 400, "InvalidResourceGroupName", []string{"trailing.", "period"}},
		{"missing location", http.MethodPut, rg(rgPath(demoSub, "no-location")), map[string]any{"tags": map[string]string{"a": "b"}}, 400, "LocationRequired", []string{"location"}},
		{"blank location", http.MethodPut, rg(rgPath(demoSub, "no-location")), map[string]any{"location": " "}, 400, "LocationRequired", []string{"location"}},
		{"another location", http.MethodPut, rg(rgPath(demoSub, "web-prod")), map[string]any{"location": "eastus"}, 400, "InvalidResourceGroupLocation", []string{"eastus", "westeurope"}},
		{"bad tag name", http.MethodPut, rg(rgPath(demoSub, "tagged")), map[string]any{"location": "westeurope", "tags": map[string]string{"a/b": "x"}}, 400, "InvalidTagNameCharacters", []string{"a/b"}},
		{"empty tag name", http.MethodPatch, rg(rgPath(demoSub, "web-prod")), map[string]any{"tags": map[string]string{"": "x"}}, 400, "InvalidTagNameCharacters", []string{"invalid"}},
		{"tag value too long", http.MethodPut, rg(rgPath(demoSub, "tagged")), map[string]any{"location": "westeurope", "tags": map[string]string{"k": strings.Repeat("v", 257)}}, 400, "InvalidTag", []string{"256"}},
		{"too many tags", http.MethodPatch, rg(rgPath(demoSub, "web-prod")), map[string]any{"tags": tooManyTags}, 400, "InvalidTag", []string{"50", "51"}},
		{"unknown resource group", http.MethodGet, rg(rgPath(demoSub, "missing-rg")), nil, 404, "ResourceGroupNotFound", []string{"missing-rg"}},
		{"patch unknown resource group", http.MethodPatch, rg(rgPath(demoSub, "missing-rg")), map[string]any{}, 404, "ResourceGroupNotFound", []string{"missing-rg"}},
		{"delete unknown resource group", http.MethodDelete, rg(rgPath(demoSub, "missing-rg")), nil, 404, "ResourceGroupNotFound", []string{"missing-rg"}},
		{"group of another subscription", http.MethodGet, rg(rgPath(demoSubDev, "web-prod")), nil, 404, "ResourceGroupNotFound", []string{"web-prod"}},

		// Management groups.
		{"unknown management group", http.MethodGet, mg(mgPath("no-such-group")), nil, 404, "ManagementGroupNotFound", []string{"no-such-group"}},
		{"delete unknown management group", http.MethodDelete, mg(mgPath("no-such-group")), nil, 404, "ManagementGroupNotFound", []string{"no-such-group"}},
		{"delete the root group", http.MethodDelete, mg(mgPath(env.TenantID)), nil, 400, "CannotDeleteRootManagementGroup", []string{"root"}},
		{"delete a group with subscriptions", http.MethodDelete, mg(mgPath(demoGroup)), nil, 400, "ManagementGroupHasChildren", []string{demoGroup, "2 child subscriptions"}},
		{"group name with bad characters", http.MethodPut, mg(mgPath("bad!group")), map[string]any{}, 400, "InvalidManagementGroupName", []string{"bad!group"}},
		{"group name too long", http.MethodPut, mg(mgPath(long)), map[string]any{}, 400, "InvalidManagementGroupName", []string{"90"}},
		{"missing parent", http.MethodPut, mg(mgPath("orphan")), map[string]any{"properties": map[string]any{"details": map[string]any{"parent": map[string]string{"id": estate.GroupID("no-such-parent")}}}}, 400, "ParentNotFound", []string{"no-such-parent"}},
		{"parent that is not a group id", http.MethodPut, mg(mgPath("orphan")), map[string]any{"properties": map[string]any{"details": map[string]any{"parent": map[string]string{"id": "/subscriptions/" + demoSub}}}}, 400, "InvalidParentId", []string{"/subscriptions/" + demoSub}},
		{"parent id with extra segments", http.MethodPut, mg(mgPath("orphan")), map[string]any{"properties": map[string]any{"details": map[string]any{"parent": map[string]string{"id": estate.GroupID(demoGroup) + "/subscriptions/x"}}}}, 400, "InvalidParentId", []string{"management group id"}},
		{"move to a missing group", http.MethodPut, mg(mgPath("no-such-group") + "/subscriptions/" + demoSub), nil, 404, "ManagementGroupNotFound", []string{"no-such-group"}},
		{"get subscription under a missing group", http.MethodGet, mg(mgPath("no-such-group") + "/subscriptions/" + demoSub), nil, 404, "ManagementGroupNotFound", []string{"no-such-group"}},
		{"subscription not under that group", http.MethodGet, mg(mgPath(demoGroup) + "/subscriptions/" + demoSubDev), nil, 404, "SubscriptionNotFound", []string{demoSubDev, demoGroup}},

		// Paging parameters and methods.
		{"$top zero", http.MethodGet, sub("/subscriptions?$top=0"), nil, 400, "InvalidQueryParameterValue", []string{"$top", "'0'"}},
		{"$top not a number", http.MethodGet, rg("/subscriptions/" + demoSub + "/resourcegroups?$top=ten"), nil, 400, "InvalidQueryParameterValue", []string{"ten"}},
		{"$top negative", http.MethodGet, mg("/providers/Microsoft.Management/managementGroups?$top=-1"), nil, 400, "InvalidQueryParameterValue", []string{"-1"}},
		{"malformed $skipToken", http.MethodGet, sub("/subscriptions?$skipToken=%21%21%21"), nil, 400, "InvalidSkipToken", []string{"$skipToken"}},
		{"unsupported $filter", http.MethodGet, rg("/subscriptions/" + demoSub + "/resourcegroups?$filter=name%20eq%20%27x%27"), nil, 400, "InvalidFilterInQueryString", []string{"name eq 'x'", "tagName"}},
		{"method not allowed", http.MethodPost, sub("/subscriptions"), nil, 405, "MethodNotAllowed", []string{"POST", "GET"}},
		{"no such route", http.MethodGet, sub("/subscriptions/" + demoSub + "/nothing-here"), nil, 404, "NotFound", []string{"/nothing-here"}},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			r := send(t, env, tc.method, tc.path, env.Token, tc.body)
			expectError(t, r, tc.status, tc.code, tc.fragments...)
		})
	}

	// HEAD carries no body: the status and headers say it.
	r := send(t, env, http.MethodHead, rg(rgPath(demoSub, "missing-rg")), env.Token, nil)
	expectError(t, r, http.StatusNotFound, "", "")
	if len(r.Body) != 0 {
		t.Errorf("HEAD answered a body: %q", r.Body)
	}
	r = send(t, env, http.MethodHead, rg(rgPath(unknownSub, "missing-rg")), env.Token, nil)
	expectError(t, r, http.StatusNotFound, "", "")
	if got := r.Header.Get("x-ms-error-code"); got != "SubscriptionNotFound" {
		t.Errorf("HEAD in an unknown subscription: x-ms-error-code %q", got)
	}

	// None of the refused writes left anything behind.
	for _, p := range []string{sub(newSub), rg(rgPath(demoSub, "no-location")), rg(rgPath(demoSub, "tagged")), mg(mgPath("orphan")), rg(rgPath(unknownSub, "web-prod"))} {
		r := send(t, env, http.MethodGet, p, env.Token, nil)
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s after refused writes: %d %s", p, r.StatusCode, r.Body)
		}
	}
	r = send(t, env, http.MethodGet, rg(rgPath(demoSub, "web-prod")), env.Token, nil)
	var group struct {
		Location string            `json:"location"`
		Tags     map[string]string `json:"tags"`
	}
	if err := json.Unmarshal(r.Body, &group); err != nil || group.Location != "westeurope" || len(group.Tags) != 1 || group.Tags["environment"] != "demo" {
		t.Errorf("web-prod changed by refused requests: %s", r.Body)
	}
}

// TestCaseInsensitivePaths: ARM path segments, ids and names are
// case-insensitive.
func TestCaseInsensitivePaths(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	upSub := strings.ToUpper(demoSub)
	for _, p := range []struct{ path, wantName string }{
		{"/SUBSCRIPTIONS/" + upSub + "/RESOURCEGROUPS/WEB-PROD", "web-prod"},
		{"/Subscriptions/" + demoSub + "/ResourceGroups/Web-Prod", "web-prod"},
		{"/subscriptions/" + upSub + "/resourceGroups/web-PROD", "web-prod"},
	} {
		r := send(t, env, http.MethodGet, withVersion(p.path, rgVersion), env.Token, nil)
		expectStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), `"name":"`+p.wantName+`"`) ||
			!strings.Contains(string(r.Body), `"id":"/subscriptions/`+demoSub+`/resourceGroups/web-prod"`) {
			t.Errorf("GET %s: %s", p.path, r.Body)
		}
		r = send(t, env, http.MethodHead, withVersion(p.path, rgVersion), env.Token, nil)
		expectStatus(t, r, http.StatusNoContent)
	}
	for _, p := range []string{"/subscriptions/" + demoSub + "/resourcegroups", "/SUBSCRIPTIONS/" + upSub + "/RESOURCEGROUPS", "/subscriptions/" + demoSub + "/resourceGroups"} {
		r := send(t, env, http.MethodGet, withVersion(p, rgVersion), env.Token, nil)
		expectStatus(t, r, http.StatusOK)
		var l struct {
			Value []json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(r.Body, &l); err != nil || len(l.Value) != 3 {
			t.Errorf("GET %s: %d groups (%v): %s", p, len(l.Value), err, r.Body)
		}
	}
	for _, p := range []string{"/SUBSCRIPTIONS/" + upSub, "/subscriptions/" + upSub} {
		r := send(t, env, http.MethodGet, withVersion(p, subVersion), env.Token, nil)
		expectStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), `"subscriptionId":"`+demoSub+`"`) {
			t.Errorf("GET %s: %s", p, r.Body)
		}
	}
	r := send(t, env, http.MethodGet, withVersion("/PROVIDERS/MICROSOFT.MANAGEMENT/MANAGEMENTGROUPS/CONTOSO-PRODUCTION", mgVersion), env.Token, nil)
	expectStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), `"name":"contoso-production"`) {
		t.Errorf("upper-case group path: %s", r.Body)
	}
	r = send(t, env, http.MethodGet, withVersion("/providers/microsoft.management/managementgroups", mgVersion), env.Token, nil)
	expectStatus(t, r, http.StatusOK)

	// Writes through upper-case paths land on the same objects.
	r = send(t, env, http.MethodPut, withVersion("/SUBSCRIPTIONS/"+upSub+"/RESOURCEGROUPS/Case-RG", rgVersion), env.Token, map[string]string{"location": "westeurope"})
	expectStatus(t, r, http.StatusCreated)
	r = send(t, env, http.MethodPut, withVersion(rgPath(demoSub, "case-rg"), rgVersion), env.Token, map[string]string{"location": "WestEurope"})
	expectStatus(t, r, http.StatusOK)
	r = send(t, env, http.MethodPatch, withVersion("/Subscriptions/"+upSub+"/resourcegroups/CASE-RG", rgVersion), env.Token, map[string]any{"tags": map[string]string{"k": "v"}})
	expectStatus(t, r, http.StatusOK)
	r = send(t, env, http.MethodGet, withVersion(rgPath(demoSub, "case-rg"), rgVersion), env.Token, nil)
	if !strings.Contains(string(r.Body), `"name":"Case-RG"`) || !strings.Contains(string(r.Body), `"k":"v"`) {
		t.Errorf("case-rg after upper-case writes: %s", r.Body)
	}
	r = send(t, env, http.MethodPut, withVersion("/PROVIDERS/MICROSOFT.MANAGEMENT/MANAGEMENTGROUPS/CONTOSO-DEVELOPMENT/SUBSCRIPTIONS/"+upSub, mgVersion), env.Token, nil)
	expectStatus(t, r, http.StatusOK)
	r = send(t, env, http.MethodGet, withVersion(mgPath("contoso-development")+"/subscriptions/"+demoSub, mgVersion), env.Token, nil)
	expectStatus(t, r, http.StatusOK)
	r = send(t, env, http.MethodDelete, withVersion("/SUBSCRIPTIONS/"+upSub+"/RESOURCEGROUPS/CASE-RG", rgVersion), env.Token, nil)
	expectStatus(t, r, http.StatusOK)
	r = send(t, env, http.MethodGet, withVersion(rgPath(demoSub, "case-rg"), rgVersion), env.Token, nil)
	expectError(t, r, http.StatusNotFound, "ResourceGroupNotFound", "case-rg")
}
