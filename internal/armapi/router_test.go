package armapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/armapi"
)

// envelope is the ARM CloudError body.
type envelope struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Target  string `json:"target"`
		Details []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Target  string `json:"target"`
		} `json:"details"`
	} `json:"error"`
}

func decodeEnvelope(t *testing.T, body []byte) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("body %q is not a JSON error envelope: %v", body, err)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("body %q lacks error.code or error.message", body)
	}
	return e
}

func publicRouter() *armapi.Router {
	rt := &armapi.Router{}
	auto := "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}"
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: auto, Public: true, APIVersions: []string{"2019-01-01-preview", "2023-12-01-preview"},
		Handler: echo("subscriptionId", "resourceGroupName", "automationName")})
	rt.Handle(armapi.Route{Method: http.MethodPut, Pattern: auto, Public: true, APIVersions: []string{"2023-12-01-preview"},
		Handler: echo("automationName")})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: "/{resourceId...}/providers/Microsoft.Security/assessments/{name}", Public: true,
		APIVersions: []string{"2021-06-01"}, Handler: echo("resourceId", "name")})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: "/{scope...}/providers/Microsoft.Security/automations", Public: true,
		APIVersions: []string{"2023-12-01-preview"}, Handler: echo("scope")})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.Security/automations", Public: true,
		APIVersions: []string{"2023-12-01-preview"}, Handler: func(w http.ResponseWriter, r *http.Request) error {
			armapi.WriteJSON(w, http.StatusOK, map[string]string{"route": "subscription-literal", "subscriptionId": r.PathValue("subscriptionId")})
			return nil
		}})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}/{anything}", Public: true,
		APIVersions: []string{"2023-12-01-preview"}, Handler: echo("subscriptionId", "anything")})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}/resourceGroups", Public: true,
		APIVersions: []string{"2023-12-01-preview"}, Handler: func(w http.ResponseWriter, r *http.Request) error {
			armapi.WriteJSON(w, http.StatusOK, map[string]string{"route": "resourceGroups"})
			return nil
		}})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: "/healthz", Public: true, Handler: echo()})
	return rt
}

func TestRouterMatching(t *testing.T) {
	rt := publicRouter()
	const v = "?api-version=2023-12-01-preview"
	tests := []struct {
		name   string
		method string
		target string
		want   map[string]string
	}{
		{"exact_case", "GET", "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Security/automations/a1" + v,
			map[string]string{"subscriptionId": subID, "resourceGroupName": "rg1", "automationName": "a1"}},
		{"folded_literals_keep_value_case", "GET", "/SUBSCRIPTIONS/" + subID + "/resourcegroups/My-RG/PROVIDERS/microsoft.security/AUTOMATIONS/Auto1" + v,
			map[string]string{"subscriptionId": subID, "resourceGroupName": "My-RG", "automationName": "Auto1"}},
		{"trailing_slash", "GET", "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Security/automations/a1/" + v,
			map[string]string{"subscriptionId": subID, "resourceGroupName": "rg1", "automationName": "a1"}},
		{"api_version_value_case_insensitive", "GET", "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Security/automations/a1?api-version=2019-01-01-PREVIEW",
			map[string]string{"subscriptionId": subID, "resourceGroupName": "rg1", "automationName": "a1"}},
		{"method_selects_route", "PUT", "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Security/automations/a1" + v,
			map[string]string{"automationName": "a1"}},
		{"wildcard_takes_resource_id", "GET", "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1/providers/Microsoft.Security/assessments/as1?api-version=2021-06-01",
			map[string]string{"resourceId": "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1", "name": "as1"}},
		{"wildcard_case_folded_literals", "GET", "/subscriptions/" + subID + "/providers/MICROSOFT.SECURITY/Assessments/as1?api-version=2021-06-01",
			map[string]string{"resourceId": "/subscriptions/" + subID, "name": "as1"}},
		{"wildcard_is_longest_span", "GET", "/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Security/assessments/x/providers/Microsoft.Security/assessments/y?api-version=2021-06-01",
			map[string]string{"resourceId": "/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Security/assessments/x", "name": "y"}},
		{"wildcard_scope_of_collection", "GET", "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Security/automations" + v,
			map[string]string{"scope": "/subscriptions/" + subID + "/resourceGroups/rg1"}},
		{"non_wildcard_route_wins", "GET", "/subscriptions/" + subID + "/providers/Microsoft.Security/automations" + v,
			map[string]string{"route": "subscription-literal", "subscriptionId": subID}},
		{"more_literals_win", "GET", "/subscriptions/" + subID + "/resourcegroups" + v,
			map[string]string{"route": "resourceGroups"}},
		{"param_route_when_no_literal", "GET", "/subscriptions/" + subID + "/locations" + v,
			map[string]string{"subscriptionId": subID, "anything": "locations"}},
		{"route_without_api_version_ignores_it", "GET", "/healthz?api-version=whatever", map[string]string{}},
		{"route_without_api_version_needs_none", "GET", "/HEALTHZ", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(rt, tt.method, tt.target, "", nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s %s = %d %s, want 200", tt.method, tt.target, rec.Code, rec.Body)
			}
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode %q: %v", rec.Body, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("path values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRouterErrors(t *testing.T) {
	rt := publicRouter()
	auto := "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Security/automations/a1"
	tests := []struct {
		name     string
		method   string
		target   string
		status   int
		code     string
		inMsg    []string
		allow    []string // Allow header entries for 405
		notAllow []string
	}{
		{name: "unknown_path", method: "GET", target: "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Security/unknown/x?api-version=2023-12-01-preview",
			status: 404, code: "NotFound", inMsg: []string{"GET"}},
		{name: "root", method: "GET", target: "/", status: 404, code: "NotFound"},
		{name: "wildcard_needs_a_segment", method: "GET", target: "/providers/Microsoft.Security/assessments/x?api-version=2021-06-01",
			status: 404, code: "NotFound"},
		{name: "unicode_fold_is_not_a_literal", method: "GET", target: "/\u017fubscriptions/" + subID + "/resourceGroups?api-version=2023-12-01-preview",
			status: 404, code: "NotFound"},
		{name: "method_not_allowed", method: "DELETE", target: auto + "?api-version=2023-12-01-preview",
			status: 405, code: "MethodNotAllowed", inMsg: []string{"DELETE", "GET", "PUT"}, allow: []string{"GET", "PUT"}, notAllow: []string{"DELETE"}},
		{name: "method_not_allowed_case_folded_path", method: "POST", target: strings.ToUpper(auto) + "?api-version=2023-12-01-preview",
			status: 405, code: "MethodNotAllowed", allow: []string{"GET", "PUT"}},
		{name: "missing_api_version", method: "GET", target: auto,
			status: 400, code: "MissingApiVersionParameter", inMsg: []string{"api-version", "2019-01-01-preview", "2023-12-01-preview"}},
		{name: "empty_api_version", method: "GET", target: auto + "?api-version=",
			status: 400, code: "MissingApiVersionParameter"},
		{name: "api_version_wrong_parameter_case", method: "GET", target: auto + "?API-VERSION=2023-12-01-preview",
			status: 400, code: "MissingApiVersionParameter"},
		{name: "unsupported_api_version", method: "GET", target: auto + "?api-version=2015-01-01",
			status: 400, code: "InvalidApiVersionParameter", inMsg: []string{"'2015-01-01'", "2019-01-01-preview", "2023-12-01-preview"}},
		{name: "unsupported_api_version_per_method", method: "PUT", target: auto + "?api-version=2019-01-01-preview",
			status: 400, code: "InvalidApiVersionParameter", inMsg: []string{"2023-12-01-preview"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(rt, tt.method, tt.target, "", nil)
			if rec.Code != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.target, rec.Code, rec.Body, tt.status)
			}
			e := decodeEnvelope(t, rec.Body.Bytes())
			if e.Error.Code != tt.code {
				t.Errorf("code = %q, want %q", e.Error.Code, tt.code)
			}
			if got := rec.Header().Get("x-ms-error-code"); got != tt.code {
				t.Errorf("x-ms-error-code = %q, want %q", got, tt.code)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			if rec.Header().Get(armapi.HeaderRequestID) == "" {
				t.Error("no x-ms-request-id")
			}
			if !hasAll(e.Error.Message, tt.inMsg...) {
				t.Errorf("message %q does not mention all of %q", e.Error.Message, tt.inMsg)
			}
			allow := rec.Header().Get("Allow")
			if !hasAll(allow, tt.allow...) {
				t.Errorf("Allow = %q, want it to list %q", allow, tt.allow)
			}
			for _, m := range tt.notAllow {
				if strings.Contains(allow, m) {
					t.Errorf("Allow = %q lists %s", allow, m)
				}
			}
		})
	}
}

func TestRouterHandlerErrors(t *testing.T) {
	rt := &armapi.Router{}
	rt.Handle(armapi.Route{Method: "GET", Pattern: "/armerror", Public: true, Handler: func(w http.ResponseWriter, r *http.Request) error {
		return &armapi.Error{Status: http.StatusConflict, Code: "Conflict", Message: "The thing exists.", Target: "name",
			Err: errors.New("private cause: password=hunter2")}
	}})
	rt.Handle(armapi.Route{Method: "GET", Pattern: "/wrapped", Public: true, Handler: func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("while doing x: %w", armapi.NotFound("ThingNotFound", "No thing named %q.", "y"))
	}})
	rt.Handle(armapi.Route{Method: "GET", Pattern: "/plain", Public: true, Handler: func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("database exploded at /var/lib/secret")
	}})
	tests := []struct {
		path   string
		status int
		code   string
		target string
		hidden string
	}{
		{"/armerror", 409, "Conflict", "name", "hunter2"},
		{"/wrapped", 404, "ThingNotFound", "", "while doing x"},
		{"/plain", 500, "InternalServerError", "", "database exploded"},
	}
	for _, tt := range tests {
		rec := serve(rt, "GET", tt.path, "", nil)
		if rec.Code != tt.status {
			t.Errorf("%s = %d, want %d", tt.path, rec.Code, tt.status)
			continue
		}
		e := decodeEnvelope(t, rec.Body.Bytes())
		if e.Error.Code != tt.code || e.Error.Target != tt.target {
			t.Errorf("%s: code %q target %q, want %q %q", tt.path, e.Error.Code, e.Error.Target, tt.code, tt.target)
		}
		if strings.Contains(rec.Body.String(), tt.hidden) {
			t.Errorf("%s: body %q reveals the private cause", tt.path, rec.Body)
		}
	}
}

func TestRouterAuth(t *testing.T) {
	f := newFixture(t)
	rt := f.router
	v := []string{"2023-12-01-preview"}
	rt.Handle(armapi.Route{Method: "GET", Pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}",
		APIVersions: v, Permission: "Microsoft.Security/automations/read", Handler: echo("automationName")})
	rt.Handle(armapi.Route{Method: "PUT", Pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}",
		APIVersions: v, Permission: "Microsoft.Security/automations/write", Handler: echo("automationName")})
	rt.Handle(armapi.Route{Method: "GET", Pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations",
		APIVersions: v, Permission: "Microsoft.Security/automations/read", Handler: echo("resourceGroupName")})
	// A route whose permission is checked at a scope other than its path.
	rt.Handle(armapi.Route{Method: "POST", Pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/probe",
		APIVersions: v, Permission: "Microsoft.Security/automations/read",
		Scope: func(r *http.Request) string {
			return "/subscriptions/" + r.PathValue("subscriptionId") + "/resourceGroups/rg1"
		},
		Handler: echo("resourceGroupName")})
	rt.Handle(armapi.Route{Method: "GET", Pattern: "/whoami", APIVersions: v, Permission: armapi.PermissionAuthenticated, Handler: echo()})
	rt.Handle(armapi.Route{Method: "GET", Pattern: "/public", Public: true, Handler: echo()})

	admin, rgUser := f.token(adminID), f.token(rgUserID)
	stranger := f.token("aaaaaaaa-0000-4000-8000-0000000000ff")
	rg := func(name string) string { return "/subscriptions/" + subID + "/resourceGroups/" + name }
	auto := func(group string) string { return rg(group) + "/providers/Microsoft.Security/automations/a1" }
	const q = "?api-version=2023-12-01-preview"
	tests := []struct {
		name, method, target, token string
		status                      int
		code                        string
	}{
		{"public_needs_no_token", "GET", "/public", "", 200, ""},
		{"no_token", "GET", auto("rg1") + q, "", 401, "AuthenticationFailed"},
		{"token_checked_before_api_version", "GET", auto("rg1"), "", 401, "AuthenticationFailed"},
		{"api_version_checked_after_token", "GET", auto("rg1"), admin, 400, "MissingApiVersionParameter"},
		{"authenticated_only_route", "GET", "/whoami" + q, stranger, 200, ""},
		{"owner_reads", "GET", auto("rg1") + q, admin, 200, ""},
		{"owner_writes", "PUT", auto("rg10") + q, admin, 200, ""},
		{"reader_reads_in_own_group", "GET", auto("rg1") + q, rgUser, 200, ""},
		{"reader_lists_collection_in_own_group", "GET", rg("rg1") + "/providers/Microsoft.Security/automations" + q, rgUser, 200, ""},
		{"reader_lists_collection_case_folded", "GET", "/SUBSCRIPTIONS/" + subID + "/RESOURCEGROUPS/RG1/providers/microsoft.security/automations" + q, rgUser, 200, ""},
		{"reader_cannot_write", "PUT", auto("rg1") + q, rgUser, 403, "AuthorizationFailed"},
		{"rg1_role_does_not_reach_rg10", "GET", auto("rg10") + q, rgUser, 403, "AuthorizationFailed"},
		{"route_scope_overrides_path", "POST", rg("rg10") + "/probe" + q, rgUser, 200, ""},
		{"stranger_forbidden", "GET", auto("rg1") + q, stranger, 403, "AuthorizationFailed"},
		{"unknown_subscription", "GET", "/subscriptions/0b7f3e9a-1c2d-4e5f-8a9b-0c1d2e3f4a5b/resourceGroups/rg1/providers/Microsoft.Security/automations/a1" + q, admin, 404, "SubscriptionNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(rt, tt.method, tt.target, tt.token, nil)
			if rec.Code != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.target, rec.Code, rec.Body, tt.status)
			}
			if tt.code == "" {
				return
			}
			if e := decodeEnvelope(t, rec.Body.Bytes()); e.Error.Code != tt.code {
				t.Errorf("code = %q, want %q", e.Error.Code, tt.code)
			}
			if tt.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func TestRouterWithoutAuthComponents(t *testing.T) {
	rt := &armapi.Router{}
	rt.Handle(armapi.Route{Method: "GET", Pattern: "/x", Permission: "Microsoft.Security/automations/read", Handler: echo()})
	if rec := serve(rt, "GET", "/x", "", nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("router without an authenticator answered %d, want 401 (fail closed)", rec.Code)
	}
	f := newFixture(t)
	rt.Authn = f.router.Authn
	if rec := serve(rt, "GET", "/x", f.token(adminID), nil); rec.Code != http.StatusForbidden {
		t.Errorf("router without an authorizer answered %d, want 403 (fail closed)", rec.Code)
	}
}

func TestRouterHandleRejectsBadRoutes(t *testing.T) {
	for _, r := range []armapi.Route{
		{Method: "GET", Pattern: "/x", Handler: echo()},                                // no permission
		{Method: "GET", Pattern: "/a//b", Public: true, Handler: echo()},               // empty segment
		{Method: "GET", Pattern: "/a/{b}", Permission: "", Handler: echo()},            // no permission
		{Method: "GET", Pattern: "/a/b/", Permission: "", Public: false, Handler: nil}, // no permission
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%s %s) accepted a malformed route", r.Method, r.Pattern)
				}
			}()
			(&armapi.Router{}).Handle(r)
		}()
	}
}

func TestRouterRoutesAndMatch(t *testing.T) {
	rt := publicRouter()
	if got := len(rt.Routes()); got != 8 {
		t.Errorf("Routes() has %d entries, want 8", got)
	}
	for _, p := range []string{"/healthz", "/SUBSCRIPTIONS/" + subID + "/resourcegroups", "/subscriptions/x/providers/Microsoft.Security/assessments/y"} {
		if !rt.Match(p) {
			t.Errorf("Match(%q) = false", p)
		}
	}
	for _, p := range []string{"/", "/nothing", "/subscriptions", "/providers/Microsoft.Security/assessments/y"} {
		if rt.Match(p) {
			t.Errorf("Match(%q) = true", p)
		}
	}
}

// TestRouterLongPaths checks that path length cannot make matching
// expensive: before the fix a 50,000-segment path took 22 s of CPU against
// one wildcard route, before any authentication.
func TestRouterLongPaths(t *testing.T) {
	rt := publicRouter()
	rt.Handle(armapi.Route{Method: "GET", Pattern: "/{a...}/x/{b...}/y", Public: true, Handler: echo("a", "b")})

	start := time.Now()
	for _, n := range []int{armapi.MaxSegments + 1, 50000} {
		p := strings.Repeat("/a", n-4) + "/providers/Microsoft.Security/assessments/x"
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = p
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%d segments: status %d, want 404", n, rec.Code)
		}
		if rec.Body.Len() > 1024 {
			t.Errorf("%d segments: the 404 body is %d bytes", n, rec.Body.Len())
		}
		if rt.Match(p) {
			t.Errorf("Match of a %d-segment path = true", n)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("rejecting long paths took %v", d)
	}

	// The longest allowed path still matches, with the longest span.
	id := strings.Repeat("/a", armapi.MaxSegments-4)
	rec := serve(rt, "GET", id+"/providers/Microsoft.Security/assessments/x?api-version=2021-06-01", "", nil)
	var got map[string]string
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &got) != nil || got["resourceId"] != id {
		t.Errorf("%d-segment path: %d %.200s", armapi.MaxSegments, rec.Code, rec.Body)
	}

	// Two wildcards: the first takes the longest span that lets the rest match.
	rec = serve(rt, "GET", "/1/2/x/3/x/4/y", "", nil)
	got = nil
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
		t.Fatalf("two wildcards: %d %s", rec.Code, rec.Body)
	}
	if diff := cmp.Diff(map[string]string{"a": "/1/2/x/3", "b": "/4"}, got); diff != "" {
		t.Errorf("two wildcards (-want +got):\n%s", diff)
	}
}
