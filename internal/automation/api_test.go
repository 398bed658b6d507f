package automation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"sluice/internal/armid"
	"sluice/internal/auth"
	"sluice/internal/automation"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

const (
	caseRG   = "case-rg"
	pagingRG = "paging-rg"
	quotaSub = "0a0a0a0a-0000-4000-8000-00000000a07a"
	quotaRG  = "quota-rg"
)

// TestAPI runs the HTTP tests of the routes against one server (each test
// in its own names, resource groups or subscription).
func TestAPI(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	trustSluice(t, env)
	createRG(t, env, sub, caseRG)
	createRG(t, env, sub, pagingRG)
	registerSubscription(t, env, quotaSub, quotaRG)
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *servertest.Env)
	}{
		{"Validation", testValidation},
		{"LenientInputExactOutput", testLenientInputExactOutput},
		{"CaseInsensitiveNames", testCaseInsensitiveNames},
		{"ConditionalRequests", testConditionalRequests},
		{"RoutesErrors", testRoutesErrors},
		{"Permissions", testPermissions},
		{"RawPaging", testRawPaging},
		{"PatchMerge", testPatchMerge},
		{"SecretsCarryOver", testSecretsCarryOver},
		{"Quota", testQuota},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, env) })
	}
}

// edit returns minimal(sub) changed by f (which gets the properties).
func edit(f func(body, props map[string]any)) map[string]any {
	b := minimal(sub)
	f(b, b["properties"].(map[string]any))
	return b
}

func rule(path, typ, op, exp any) map[string]any {
	return map[string]any{"propertyJPath": path, "propertyType": typ, "operator": op, "expectedValue": exp}
}

func withRule(r map[string]any) map[string]any {
	return edit(func(_, p map[string]any) {
		p["sources"] = []any{map[string]any{"eventSource": "Alerts", "ruleSets": []any{map[string]any{"rules": []any{r}}}}}
	})
}

func withAction(a map[string]any) map[string]any {
	return edit(func(_, p map[string]any) { p["actions"] = []any{a} })
}

func many(n int, item func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = item(i)
	}
	return out
}

const (
	ehID = "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.EventHub/namespaces/ns/eventhubs/hub"
	laID = "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Logic/workflows/wf"
	wsID = "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.OperationalInsights/workspaces/ws"
)

// testValidation is the table of bad (and lenient) bodies: each bad PUT
// answers 400 with a precise code, and the validate action answers
// isValid:false with the same message; good ones are created.
func testValidation(t *testing.T, env *servertest.Env) {
	cases := []struct {
		name string
		body any
		code string // "" = accepted
	}{
		{"minimal", minimal(sub), ""},
		{"no location", edit(func(b, _ map[string]any) { delete(b, "location") }), "LocationRequired"},
		{"blank location", edit(func(b, _ map[string]any) { b["location"] = "  " }), "LocationRequired"},
		{"no scopes", edit(func(_, p map[string]any) { delete(p, "scopes") }), "ScopesRequired"},
		{"scope of another subscription", edit(func(_, p map[string]any) {
			p["scopes"] = []any{map[string]any{"scopePath": "/subscriptions/" + otherSub}}
		}), "InvalidScope"},
		{"scope is a resource", edit(func(_, p map[string]any) { p["scopes"] = []any{map[string]any{"scopePath": wsID}} }), "InvalidScope"},
		{"scope malformed", edit(func(_, p map[string]any) { p["scopes"] = []any{map[string]any{"scopePath": "subscriptions/x"}} }), "InvalidScope"},
		{"scope without path", edit(func(_, p map[string]any) { p["scopes"] = []any{map[string]any{"description": "d"}} }), "InvalidScope"},
		{"scope of an absent resource group is fine", edit(func(_, p map[string]any) {
			p["scopes"] = []any{map[string]any{"scopePath": "/subscriptions/" + strings.ToUpper(sub) + "/resourcegroups/not-yet-created"}}
		}), ""},
		{"no sources", edit(func(_, p map[string]any) { p["sources"] = []any{} }), "SourcesRequired"},
		{"unknown source", edit(func(_, p map[string]any) { p["sources"] = []any{map[string]any{"eventSource": "Incidents"}} }), "InvalidEventSource"},
		{"missing source", edit(func(_, p map[string]any) { p["sources"] = []any{map[string]any{"ruleSets": nil}} }), "InvalidEventSource"},
		{"lower-case source, null rule sets", edit(func(_, p map[string]any) {
			p["sources"] = []any{map[string]any{"eventSource": "securescorecontrolssnapshot", "ruleSets": nil}}
		}), ""},
		{"attack paths", edit(func(_, p map[string]any) { p["sources"] = []any{map[string]any{"eventSource": "AttackPathsSnapshot"}} }), ""},
		{"jpath syntax", withRule(rule("a b", "String", "Equals", "x")), "InvalidPropertyJPath"},
		{"jpath empty", withRule(rule("", "String", "Equals", "x")), "InvalidPropertyJPath"},
		{"jpath root only", withRule(rule("$", "String", "Equals", "x")), "InvalidPropertyJPath"},
		{"jpath missing", withRule(map[string]any{"propertyType": "String", "operator": "Equals", "expectedValue": "x"}), "InvalidPropertyJPath"},
		{"jpath too long", withRule(rule(strings.Repeat("a.", 300)+"b", "String", "Equals", "x")), "LimitExceeded"},
		{"jpath forms", withRule(rule("$['properties'].metadata.severity", "string", "equals", "high")), ""},
		{"jpath filter", withRule(rule("Entities[?(@.Type == 'host')].HostName", "String", "Equals", "vm")), ""},
		{"unknown type", withRule(rule("a", "Text", "Equals", "x")), "InvalidPropertyType"},
		{"missing type", withRule(map[string]any{"propertyJPath": "a", "operator": "Equals", "expectedValue": "x"}), "InvalidPropertyType"},
		{"unknown operator", withRule(rule("a", "String", "Like", "x")), "InvalidOperator"},
		{"missing operator", withRule(map[string]any{"propertyJPath": "a", "propertyType": "String", "expectedValue": "x"}), "InvalidOperator"},
		{"LessThan is not the spelling", withRule(rule("a", "Integer", "LessThan", "1")), "InvalidOperator"},
		{"GreaterThan on String", withRule(rule("a", "String", "GreaterThan", "x")), "InvalidOperator"},
		{"LesserThanOrEqualTo on Boolean", withRule(rule("a", "Boolean", "LesserThanOrEqualTo", "true")), "InvalidOperator"},
		{"Contains on Integer", withRule(rule("a", "Integer", "Contains", "1")), "InvalidOperator"},
		{"StartsWith on Number", withRule(rule("a", "Number", "StartsWith", "1")), "InvalidOperator"},
		{"EndsWith on Boolean", withRule(rule("a", "Boolean", "EndsWith", "e")), "InvalidOperator"},
		{"Integer not a number", withRule(rule("a", "Integer", "Equals", "abc")), "InvalidExpectedValue"},
		{"Integer with a fraction", withRule(rule("a", "Integer", "GreaterThan", "1.5")), "InvalidExpectedValue"},
		{"Integer as a JSON number", withRule(rule("a", "Integer", "GreaterThan", 5)), ""},
		{"Number NaN", withRule(rule("a", "Number", "Equals", "NaN")), "InvalidExpectedValue"},
		{"Number hex", withRule(rule("a", "Number", "Equals", "0x10")), "InvalidExpectedValue"},
		{"Number ok", withRule(rule("a", "number", "lesserthan", "-2.5e3")), ""},
		{"Boolean yes", withRule(rule("a", "Boolean", "Equals", "yes")), "InvalidExpectedValue"},
		{"Boolean as JSON", withRule(rule("a", "Boolean", "NotEquals", true)), ""},
		{"expectedValue object", withRule(rule("a", "String", "Equals", map[string]any{})), "InvalidRequestContent"},
		{"expectedValue too long", withRule(rule("a", "String", "Equals", strings.Repeat("x", 1025))), "LimitExceeded"},
		{"no actions", edit(func(_, p map[string]any) { p["actions"] = nil }), "ActionsRequired"},
		{"no actionType", withAction(map[string]any{"workspaceResourceId": wsID}), "InvalidActionType"},
		{"unknown actionType", withAction(map[string]any{"actionType": "Email"}), "InvalidActionType"},
		{"actionType any case", withAction(map[string]any{"actionType": "workspace", "workspaceResourceId": wsID}), ""},
		{"EventHub without id", withAction(map[string]any{"actionType": "EventHub", "connectionString": testConnString}), "InvalidEventHubResourceId"},
		{"EventHub id of a workspace", withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": wsID, "connectionString": testConnString}), "InvalidEventHubResourceId"},
		{"EventHub namespace id", withAction(map[string]any{"actionType": "EventHub", "connectionString": testConnString,
			"eventHubResourceId": "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns"}), ""},
		{"EventHub without connection string", withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": ehID}), "InvalidConnectionString"},
		{"EventHub trusted service", withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": ehID, "isTrustedServiceEnabled": true}), ""},
		{"EventHub connection string without key", withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": ehID,
			"connectionString": "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send"}), "InvalidConnectionString"},
		{"EventHub connection string not sb", withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": ehID,
			"connectionString": "Endpoint=https://ns/;SharedAccessKeyName=a;SharedAccessKey=b"}), "InvalidConnectionString"},
		{"EventHub emulator", withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": ehID,
			"connectionString": "Endpoint=sb://localhost:5672;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;EntityPath=eh1"}), ""},
		{"LogicApp without id", withAction(map[string]any{"actionType": "LogicApp", "uri": testTriggerURI}), "InvalidLogicAppResourceId"},
		{"LogicApp without uri", withAction(map[string]any{"actionType": "LogicApp", "logicAppResourceId": laID}), "InvalidLogicAppUri"},
		{"LogicApp http uri", withAction(map[string]any{"actionType": "LogicApp", "logicAppResourceId": laID, "uri": "http://example.com/x?sig=1"}), "InvalidLogicAppUri"},
		{"LogicApp relative uri", withAction(map[string]any{"actionType": "LogicApp", "logicAppResourceId": laID, "uri": "/triggers/x"}), "InvalidLogicAppUri"},
		{"Workspace without id", withAction(map[string]any{"actionType": "Workspace"}), "InvalidWorkspaceResourceId"},
		{"Workspace id of a Logic App", withAction(map[string]any{"actionType": "Workspace", "workspaceResourceId": laID}), "InvalidWorkspaceResourceId"},
		{"Workspace id malformed", withAction(map[string]any{"actionType": "Workspace", "workspaceResourceId": "ws"}), "InvalidWorkspaceResourceId"},
		{"11 scopes", edit(func(_, p map[string]any) {
			p["scopes"] = many(11, func(i int) any {
				return map[string]any{"scopePath": fmt.Sprintf("/subscriptions/%s/resourceGroups/rg%d", sub, i)}
			})
		}), "LimitExceeded"},
		{"21 sources", edit(func(_, p map[string]any) {
			p["sources"] = many(21, func(int) any { return map[string]any{"eventSource": "Alerts"} })
		}), "LimitExceeded"},
		{"21 rule sets", edit(func(_, p map[string]any) {
			p["sources"] = []any{map[string]any{"eventSource": "Alerts", "ruleSets": many(21, func(int) any {
				return map[string]any{"rules": []any{rule("a", "String", "Equals", "b")}}
			})}}
		}), "LimitExceeded"},
		{"21 rules", withRule(nil), "LimitExceeded"}, // replaced below
		{"11 actions", edit(func(_, p map[string]any) {
			p["actions"] = many(11, func(int) any { return map[string]any{"actionType": "Workspace", "workspaceResourceId": wsID} })
		}), "LimitExceeded"},
		{"long description", edit(func(_, p map[string]any) { p["description"] = strings.Repeat("d", 1025) }), "LimitExceeded"},
		{"51 tags", edit(func(b, _ map[string]any) {
			tags := map[string]any{}
			for i := range 51 {
				tags[fmt.Sprint("t", i)] = "v"
			}
			b["tags"] = tags
		}), "InvalidTag"},
		{"long tag value", edit(func(b, _ map[string]any) { b["tags"] = map[string]any{"k": strings.Repeat("v", 257)} }), "InvalidTag"},
		{"isEnabled string", edit(func(_, p map[string]any) { p["isEnabled"] = "yes" }), "InvalidRequestContent"},
		{"sources not a list", edit(func(_, p map[string]any) { p["sources"] = "Alerts" }), "InvalidRequestContent"},
		{"null source", edit(func(_, p map[string]any) { p["sources"] = []any{nil} }), "InvalidRequestContent"},
		{"array body", []any{}, "InvalidRequestContent"},
		{"malformed JSON", `{"location": "westeurope",`, "InvalidRequestContent"},
		{"empty body", "", "InvalidRequestContent"},
	}
	for i := range cases {
		if cases[i].name == "21 rules" {
			cases[i].body = edit(func(_, p map[string]any) {
				p["sources"] = []any{map[string]any{"eventSource": "Alerts", "ruleSets": []any{map[string]any{
					"rules": many(21, func(int) any { return rule("a", "String", "Equals", "b") })}}}}
			})
		}
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := automationPath(sub, rg, fmt.Sprintf("case-%d", i))
			resp, body := do(t, env, http.MethodPut, withVersion(path, v2023), tc.body)
			if tc.code == "" {
				mustStatus(t, resp, body, http.StatusCreated)
			} else {
				mustStatus(t, resp, body, http.StatusBadRequest)
				if got := servertest.ErrorCode(body); got != tc.code {
					t.Fatalf("code %q, want %q: %s", got, tc.code, body)
				}
				if resp.Header.Get("x-ms-error-code") != tc.code {
					t.Errorf("x-ms-error-code = %q", resp.Header.Get("x-ms-error-code"))
				}
			}
			vresp, vbody := do(t, env, http.MethodPost, withVersion(path+"/validate", v2019), tc.body)
			if tc.code == "InvalidRequestContent" {
				mustStatus(t, vresp, vbody, http.StatusBadRequest)
				return
			}
			mustStatus(t, vresp, vbody, http.StatusOK)
			var v automation.ValidationResult
			if err := json.Unmarshal(vbody, &v); err != nil {
				t.Fatal(err)
			}
			if tc.code == "" {
				if !v.IsValid || v.Message != "Validation Successful" {
					t.Errorf("validate = %+v", v)
				}
				return
			}
			var e struct{ Error struct{ Message string } }
			_ = json.Unmarshal(body, &e)
			if v.IsValid || v.Message != e.Error.Message || v.Message == "" {
				t.Errorf("validate = %+v, want isValid false with %q", v, e.Error.Message)
			}
		})
	}
}

// testLenientInputExactOutput: enums in any case are stored and echoed as
// sent (actionType canonical), a rule's JSON-number expectedValue comes
// back as a string, read-only fields in the request are ignored, and every
// rule set and rule carries all its fields.
func testLenientInputExactOutput(t *testing.T, env *servertest.Env) {
	body := map[string]any{
		"id": "/subscriptions/ignored", "name": "ignored", "type": "ignored", "etag": "client etag", "kind": "custom",
		"systemData": map[string]any{"createdBy": "someone else"},
		"location":   "westeurope",
		"unknown":    map[string]any{"x": 1},
		"properties": map[string]any{
			"isEnabled": true,
			"scopes":    []any{map[string]any{"scopePath": "/subscriptions/" + sub}},
			"sources": []any{
				map[string]any{"eventSource": "alerts", "ruleSets": []any{map[string]any{"rules": []any{rule("Severity", "string", "equals", "high")}}}},
				map[string]any{"eventSource": "Assessments", "ruleSets": []any{map[string]any{}, map[string]any{"rules": []any{rule("properties.score", "INTEGER", "greaterthan", 3)}}}},
			},
			"actions": []any{
				map[string]any{"actionType": "eventhub", "eventHubResourceId": ehID, "connectionString": testConnString, "sasPolicyName": "client value"},
				map[string]any{"actionType": "LOGICAPP", "logicAppResourceId": laID, "uri": testTriggerURI},
			},
		},
	}
	resp, got := do(t, env, http.MethodPut, withVersion(automationPath(sub, rg, "Lenient"), v2019), body)
	mustStatus(t, resp, got, http.StatusCreated)
	out := decodeJSON(t, got)
	if out["id"] != automationPath(sub, rg, "Lenient") || out["name"] != "Lenient" || out["type"] != "Microsoft.Security/automations" ||
		out["kind"] != "custom" || out["etag"] == "client etag" {
		t.Errorf("envelope = %v", out)
	}
	if sd := out["systemData"].(map[string]any); sd["createdBy"] != env.AdminID || sd["createdByType"] != "User" {
		t.Errorf("systemData = %v", sd)
	}
	props := out["properties"].(map[string]any)
	src := props["sources"].([]any)
	if s0 := src[0].(map[string]any); s0["eventSource"] != "alerts" {
		t.Errorf("eventSource = %v", s0["eventSource"])
	}
	r0 := src[0].(map[string]any)["ruleSets"].([]any)[0].(map[string]any)["rules"].([]any)[0].(map[string]any)
	if r0["propertyType"] != "string" || r0["operator"] != "equals" || r0["expectedValue"] != "high" {
		t.Errorf("rule = %v", r0)
	}
	sets := src[1].(map[string]any)["ruleSets"].([]any)
	if rules, ok := sets[0].(map[string]any)["rules"].([]any); !ok || len(rules) != 0 {
		t.Errorf("empty rule set = %v", sets[0])
	}
	if r := sets[1].(map[string]any)["rules"].([]any)[0].(map[string]any); r["expectedValue"] != "3" || len(r) != 4 {
		t.Errorf("numeric expectedValue rule = %v", r)
	}
	acts := props["actions"].([]any)
	eh, la := acts[0].(map[string]any), acts[1].(map[string]any)
	if eh["actionType"] != "EventHub" || eh["sasPolicyName"] != "RootManageSharedAccessKey" || eh["isTrustedServiceEnabled"] != false || len(eh) != 4 {
		t.Errorf("EventHub action = %v", eh)
	}
	if la["actionType"] != "LogicApp" || len(la) != 2 {
		t.Errorf("LogicApp action = %v", la)
	}
	if tags, ok := out["tags"].(map[string]any); !ok || len(tags) != 0 {
		t.Errorf("tags = %v", out["tags"])
	}
}

// testCaseInsensitiveNames: names and path segments in any case reach the
// same automation, whose name keeps the case it was created with.
func testCaseInsensitiveNames(t *testing.T, env *servertest.Env) {
	resp, body := do(t, env, http.MethodPut, withVersion(automationPath(sub, caseRG, "ExportToWorkspace"), v2023), minimal(sub))
	mustStatus(t, resp, body, http.StatusCreated)
	odd := "/SUBSCRIPTIONS/" + strings.ToUpper(sub) + "/resourcegroups/CASE-RG/providers/microsoft.security/AUTOMATIONS/exporttoworkspace"
	resp, body = do(t, env, http.MethodGet, withVersion(odd, v2023), nil)
	mustStatus(t, resp, body, http.StatusOK)
	out := decodeJSON(t, body)
	if out["name"] != "ExportToWorkspace" || out["id"] != automationPath(sub, caseRG, "ExportToWorkspace") {
		t.Errorf("name/id = %v %v", out["name"], out["id"])
	}
	resp, body = do(t, env, http.MethodPut, withVersion(odd, v2023), minimal(sub))
	mustStatus(t, resp, body, http.StatusOK)
	if decodeJSON(t, body)["name"] != "ExportToWorkspace" {
		t.Errorf("replace renamed it: %s", body)
	}
	resp, body = do(t, env, http.MethodGet, withVersion("/subscriptions/"+sub+"/resourceGroups/"+caseRG+"/providers/Microsoft.Security/automations", v2023), nil)
	mustStatus(t, resp, body, http.StatusOK)
	if n := len(decodeJSON(t, body)["value"].([]any)); n != 1 {
		t.Errorf("list has %d automations, want 1", n)
	}
	resp, body = do(t, env, http.MethodDelete, withVersion(odd, v2023), nil)
	mustStatus(t, resp, body, http.StatusNoContent)
	resp, body = do(t, env, http.MethodGet, withVersion(automationPath(sub, caseRG, "ExportToWorkspace"), v2023), nil)
	mustStatus(t, resp, body, http.StatusNotFound)
}

// testConditionalRequests: If-Match is honoured on PUT, PATCH and DELETE
// (412 on mismatch, * matches any existing automation), not required, and
// If-None-Match: * makes a PUT create-only.
func testConditionalRequests(t *testing.T, env *servertest.Env) {
	path := withVersion(automationPath(sub, rg, "cond"), v2023)
	send := func(method, ifMatch, ifNoneMatch string, body any) (*http.Response, []byte) {
		t.Helper()
		var data []byte
		if body != nil {
			data, _ = json.Marshal(body)
		}
		req, _ := http.NewRequest(method, env.URL+path, strings.NewReader(string(data)))
		req.Header.Set("Authorization", "Bearer "+env.Token)
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		resp, err := env.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []byte
		buf := make([]byte, 1<<16)
		for {
			n, err := resp.Body.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				break
			}
		}
		return resp, out
	}
	resp, body := send(http.MethodPut, "*", "", minimal(sub))
	mustStatus(t, resp, body, http.StatusPreconditionFailed)
	resp, body = send(http.MethodPut, "", "*", minimal(sub))
	mustStatus(t, resp, body, http.StatusCreated)
	e1 := decodeJSON(t, body)["etag"].(string)
	resp, body = send(http.MethodPut, "", "*", minimal(sub))
	mustStatus(t, resp, body, http.StatusPreconditionFailed)
	if c := servertest.ErrorCode(body); c != "PreconditionFailed" {
		t.Errorf("code %q", c)
	}
	resp, body = send(http.MethodPut, `"stale"`, "", minimal(sub))
	mustStatus(t, resp, body, http.StatusPreconditionFailed)
	resp, body = send(http.MethodPut, e1, "", minimal(sub))
	mustStatus(t, resp, body, http.StatusOK)
	e2 := decodeJSON(t, body)["etag"].(string)
	if e2 == e1 {
		t.Error("etag unchanged by a write")
	}
	resp, body = send(http.MethodPatch, e1, "", map[string]any{"tags": map[string]any{"a": "b"}})
	mustStatus(t, resp, body, http.StatusPreconditionFailed)
	resp, body = send(http.MethodPatch, "W/"+e2, "", map[string]any{"tags": map[string]any{"a": "b"}})
	mustStatus(t, resp, body, http.StatusOK)
	e3 := decodeJSON(t, body)["etag"].(string)
	resp, body = send(http.MethodPut, "*", "", minimal(sub))
	mustStatus(t, resp, body, http.StatusOK)
	resp, body = send(http.MethodDelete, e3, "", nil)
	mustStatus(t, resp, body, http.StatusPreconditionFailed)
	resp, body = send(http.MethodDelete, "", "", nil)
	mustStatus(t, resp, body, http.StatusNoContent)
}

// testRoutesErrors: api-versions, unknown subscription and resource group,
// absent automations, bad names, unsupported methods.
func testRoutesErrors(t *testing.T, env *servertest.Env) {
	resp, body := do(t, env, http.MethodPut, withVersion(automationPath(sub, rg, "err-a"), v2019), minimal(sub))
	mustStatus(t, resp, body, http.StatusCreated)
	const unknownSub = "99999999-9999-4999-8999-999999999999"
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"patch at 2019", http.MethodPatch, withVersion(automationPath(sub, rg, "err-a"), v2019), map[string]any{}, 400, "InvalidApiVersionParameter"},
		{"no api-version", http.MethodGet, automationPath(sub, rg, "err-a"), nil, 400, "MissingApiVersionParameter"},
		{"unknown api-version", http.MethodGet, withVersion(automationPath(sub, rg, "err-a"), "2020-01-01"), nil, 400, "InvalidApiVersionParameter"},
		{"get at 2019", http.MethodGet, withVersion(automationPath(sub, rg, "err-a"), v2019), nil, 200, ""},
		{"get absent", http.MethodGet, withVersion(automationPath(sub, rg, "err-b"), v2023), nil, 404, "ResourceNotFound"},
		{"patch absent", http.MethodPatch, withVersion(automationPath(sub, rg, "err-b"), v2023), map[string]any{}, 404, "ResourceNotFound"},
		{"get, unknown subscription", http.MethodGet, withVersion(automationPath(unknownSub, rg, "err-a"), v2023), nil, 404, "SubscriptionNotFound"},
		{"put, unknown subscription", http.MethodPut, withVersion(automationPath(unknownSub, rg, "err-a"), v2023), minimal(unknownSub), 404, "SubscriptionNotFound"},
		{"list, unknown subscription", http.MethodGet, withVersion("/subscriptions/"+unknownSub+"/providers/Microsoft.Security/automations", v2023), nil, 404, "SubscriptionNotFound"},
		{"get, unknown resource group", http.MethodGet, withVersion(automationPath(sub, "nope", "err-a"), v2023), nil, 404, "ResourceGroupNotFound"},
		{"put, unknown resource group", http.MethodPut, withVersion(automationPath(sub, "nope", "err-a"), v2023), minimal(sub), 404, "ResourceGroupNotFound"},
		{"list, unknown resource group", http.MethodGet, withVersion("/subscriptions/"+sub+"/resourceGroups/nope/providers/Microsoft.Security/automations", v2023), nil, 404, "ResourceGroupNotFound"},
		{"validate, unknown resource group", http.MethodPost, withVersion(automationPath(sub, "nope", "err-a")+"/validate", v2023), minimal(sub), 404, "ResourceGroupNotFound"},
		{"delete, unknown resource group", http.MethodDelete, withVersion(automationPath(sub, "nope", "err-a"), v2023), nil, 204, ""},
		{"bad name", http.MethodPut, withVersion(automationPath(sub, rg, "a:b"), v2023), minimal(sub), 400, "InvalidAutomationName"},
		{"name too long", http.MethodPut, withVersion(automationPath(sub, rg, strings.Repeat("n", 261)), v2023), minimal(sub), 400, "InvalidAutomationName"},
		{"post on the resource", http.MethodPost, withVersion(automationPath(sub, rg, "err-a"), v2023), nil, 405, "MethodNotAllowed"},
		{"body too large", http.MethodPut, withVersion(automationPath(sub, rg, "err-a"), v2023), `{"location":"` + strings.Repeat("x", 5<<20) + `"}`, 413, "RequestEntityTooLarge"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, env, tc.method, tc.path, tc.body)
			mustStatus(t, resp, body, tc.status)
			if tc.code != "" && servertest.ErrorCode(body) != tc.code {
				t.Errorf("code %q, want %q: %s", servertest.ErrorCode(body), tc.code, body)
			}
		})
	}
}

// testPermissions: the routes check Microsoft.Security/automations/* on
// the resource group (list by subscription: on the subscription).
func testPermissions(t *testing.T, env *servertest.Env) {
	resp, body := do(t, env, http.MethodPut, withVersion(automationPath(sub, rg, "perm-a"), v2023), minimal(sub))
	mustStatus(t, resp, body, http.StatusCreated)
	grant := func(principal, role, scope string) string {
		t.Helper()
		err := env.Server.Store.Update(context.Background(), func(tx store.Tx) error {
			return auth.PutRoleAssignment(context.Background(), tx, &auth.RoleAssignment{
				ID:    scope + "/providers/Microsoft.Authorization/roleAssignments/" + principal + role[:8],
				Scope: scope, PrincipalID: principal, TenantID: env.TenantID,
				RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/" + role})
		})
		if err != nil {
			t.Fatal(err)
		}
		return env.TokenFor(env.TenantID, principal)
	}
	rgScope := armid.ResourceGroupID(sub, rg)
	nobody := env.TokenFor(env.TenantID, "0000aaaa-0000-4000-8000-000000000001")
	reader := grant("0000aaaa-0000-4000-8000-000000000002", auth.RoleSecurityReader, rgScope)
	admin := grant("0000aaaa-0000-4000-8000-000000000003", auth.RoleSecurityAdmin, rgScope)
	// A Security Admin of the group without rights on the Logic App.
	targetless := grant("0000aaaa-0000-4000-8000-000000000004", auth.RoleSecurityAdmin, rgScope)
	// The admin may also write the export target (the continuous export
	// rule): Contributor on the Logic App of minimal().
	grant("0000aaaa-0000-4000-8000-000000000003", auth.RoleContributor,
		"/subscriptions/"+sub+"/resourceGroups/rg/providers/Microsoft.Logic/workflows/wf")
	item := withVersion(automationPath(sub, rg, "perm-a"), v2023)
	listSub := withVersion("/subscriptions/"+sub+"/providers/Microsoft.Security/automations", v2023)
	listRG := withVersion("/subscriptions/"+sub+"/resourceGroups/"+rg+"/providers/Microsoft.Security/automations", v2023)
	cases := []struct {
		name, token, method, path string
		body                      any
		status                    int
	}{
		{"no token", "", http.MethodGet, item, nil, 401},
		{"nobody reads", nobody, http.MethodGet, item, nil, 403},
		{"reader reads", reader, http.MethodGet, item, nil, 200},
		{"reader lists the group", reader, http.MethodGet, listRG, nil, 200},
		// A reader of one group lists the subscription's automations it
		// may read (checked below); without read anywhere in it, 403.
		{"reader lists the subscription", reader, http.MethodGet, listSub, nil, 200},
		{"nobody cannot list the subscription", nobody, http.MethodGet, listSub, nil, 403},
		{"reader cannot write", reader, http.MethodPut, item, minimal(sub), 403},
		{"reader cannot validate", reader, http.MethodPost, withVersion(automationPath(sub, rg, "perm-a")+"/validate", v2023), minimal(sub), 403},
		{"reader cannot delete", reader, http.MethodDelete, item, nil, 403},
		{"admin of the group writes", admin, http.MethodPut, item, minimal(sub), 200},
		{"admin patches", admin, http.MethodPatch, item, map[string]any{"tags": map[string]any{"x": "y"}}, 200},
		{"admin of the group cannot write elsewhere", admin, http.MethodPut, withVersion(automationPath(sub, otherRG, "perm-a"), v2023), minimal(sub), 403},
		{"admin without rights on the target cannot write", targetless, http.MethodPut, item, minimal(sub), 403},
		{"admin deletes", admin, http.MethodDelete, item, nil, 204},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := env.Do(tc.method, tc.path, tc.token, tc.body)
			mustStatus(t, resp, body, tc.status)
			want := "AuthorizationFailed"
			if tc.token == targetless {
				want = "LinkedAuthorizationFailed"
			}
			if tc.status == 403 && servertest.ErrorCode(body) != want {
				t.Errorf("code %q, want %q", servertest.ErrorCode(body), want)
			}
		})
	}
	// The reader's list of the subscription holds only its group's.
	resp, body = env.Do(http.MethodGet, listSub, reader, nil)
	mustStatus(t, resp, body, http.StatusOK)
	for _, v := range decodeJSON(t, body)["value"].([]any) {
		if id := v.(map[string]any)["id"].(string); !armid.Contains(rgScope, id) {
			t.Errorf("the reader of %s lists %s", rgScope, id)
		}
	}
	// systemData tells the creator from the last modifier.
	resp, body = env.Do(http.MethodPut, item, admin, minimal(sub))
	mustStatus(t, resp, body, http.StatusCreated)
	resp, body = do(t, env, http.MethodPatch, item, map[string]any{"tags": map[string]any{"x": "z"}})
	mustStatus(t, resp, body, http.StatusOK)
	sd := decodeJSON(t, body)["systemData"].(map[string]any)
	if sd["createdBy"] != "0000aaaa-0000-4000-8000-000000000003" || sd["lastModifiedBy"] != env.AdminID || sd["createdAt"] == sd["lastModifiedAt"] {
		t.Errorf("systemData = %v", sd)
	}
}

// testRawPaging follows nextLink with $top over HTTP: absolute https links
// that carry the api-version.
func testRawPaging(t *testing.T, env *servertest.Env) {
	for i := range 5 {
		resp, body := do(t, env, http.MethodPut, withVersion(automationPath(sub, pagingRG, fmt.Sprint("p", i)), v2019), minimal(sub))
		mustStatus(t, resp, body, http.StatusCreated)
	}
	next := env.URL + "/subscriptions/" + sub + "/resourceGroups/" + pagingRG + "/providers/Microsoft.Security/automations?api-version=" + v2019 + "&$top=2"
	var names []string
	pages := 0
	for next != "" {
		u, err := url.Parse(next)
		if err != nil || u.Scheme != "https" || u.Query().Get("api-version") != v2019 {
			t.Fatalf("nextLink %q", next)
		}
		resp, body := do(t, env, http.MethodGet, u.RequestURI(), nil)
		mustStatus(t, resp, body, http.StatusOK)
		var page struct {
			Value []struct {
				Name string `json:"name"`
			} `json:"value"`
			NextLink string `json:"nextLink"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			names = append(names, v.Name)
		}
		next = page.NextLink
		pages++
	}
	if strings.Join(names, ",") != "p0,p1,p2,p3,p4" || pages != 3 {
		t.Errorf("pages %d, names %v", pages, names)
	}
}

// testPatchMerge: tags merge key by key (null removes), properties present
// replace the stored ones, absent ones are kept, and the result is
// validated like a PUT.
func testPatchMerge(t *testing.T, env *servertest.Env) {
	path := withVersion(automationPath(sub, rg, "m"), v2023)
	b := minimal(sub)
	b["tags"] = map[string]any{"keep": "1", "drop": "2", "change": "3"}
	b["properties"].(map[string]any)["description"] = "before"
	resp, body := do(t, env, http.MethodPut, path, b)
	mustStatus(t, resp, body, http.StatusCreated)
	resp, body = do(t, env, http.MethodPatch, path, map[string]any{
		"location": "ignored-region",
		"tags":     map[string]any{"drop": nil, "change": "4", "new": "5"},
		"properties": map[string]any{
			"description": "after",
			"sources":     []any{map[string]any{"eventSource": "Assessments"}, map[string]any{"eventSource": "SubAssessments"}},
		},
	})
	mustStatus(t, resp, body, http.StatusOK)
	out := decodeJSON(t, body)
	tags := out["tags"].(map[string]any)
	if len(tags) != 3 || tags["keep"] != "1" || tags["change"] != "4" || tags["new"] != "5" {
		t.Errorf("tags = %v", tags)
	}
	props := out["properties"].(map[string]any)
	if props["description"] != "after" || props["isEnabled"] != true || len(props["sources"].([]any)) != 2 ||
		len(props["actions"].([]any)) != 1 || out["location"] != "westeurope" {
		t.Errorf("patched = %s", body)
	}
	resp, body = do(t, env, http.MethodPatch, path, map[string]any{"properties": map[string]any{"scopes": []any{}}})
	mustStatus(t, resp, body, http.StatusBadRequest)
	if servertest.ErrorCode(body) != "ScopesRequired" {
		t.Errorf("code %q", servertest.ErrorCode(body))
	}
	resp, body = do(t, env, http.MethodPatch, path, `{"properties": {"isEnabled": 1}}`)
	mustStatus(t, resp, body, http.StatusBadRequest)
	if servertest.ErrorCode(body) != "InvalidRequestContent" || !strings.Contains(string(body), "properties.isEnabled") {
		t.Errorf("wrong type: %s", body)
	}
}

// testSecretsCarryOver: a resource read back (without secrets), changed
// and PUT again keeps the stored secrets of unchanged destinations; a new
// destination needs its own.
func testSecretsCarryOver(t *testing.T, env *servertest.Env) {
	path := withVersion(automationPath(sub, rg, "carry"), v2023)
	resp, body := do(t, env, http.MethodPut, path, withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": ehID, "connectionString": testConnString}))
	mustStatus(t, resp, body, http.StatusCreated)
	resp, body = do(t, env, http.MethodGet, path, nil)
	mustStatus(t, resp, body, http.StatusOK)
	got := decodeJSON(t, body)
	got["properties"].(map[string]any)["description"] = "changed"
	resp, body = do(t, env, http.MethodPut, path, got)
	mustStatus(t, resp, body, http.StatusOK)
	a, err := env.Server.Automations.Get(context.Background(), automation.Ref{Subscription: sub, ResourceGroup: rg, Name: "carry"})
	if err != nil || a.Properties.Actions[0].ConnectionString != testConnString || a.Properties.Description != "changed" {
		t.Fatalf("after round trip: %v %+v", err, a)
	}
	got["properties"].(map[string]any)["actions"].([]any)[0].(map[string]any)["eventHubResourceId"] = ehID + "2"
	resp, body = do(t, env, http.MethodPut, path, got)
	mustStatus(t, resp, body, http.StatusBadRequest)
	if servertest.ErrorCode(body) != "InvalidConnectionString" {
		t.Errorf("code %q", servertest.ErrorCode(body))
	}
}

// testQuota: the 1001st automation of a subscription is refused.
func testQuota(t *testing.T, env *servertest.Env) {
	ctx := context.Background()
	err := env.Server.Store.Update(ctx, func(tx store.Tx) error {
		for i := range automation.MaxPerSubscription {
			id := automationPath(quotaSub, quotaRG, fmt.Sprint("filler", i))
			if err := tx.Put(ctx, &store.Record{Kind: automation.Kind, Key: armid.Key(id), ID: id, Parent: quotaSub, Body: []byte(`{}`)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, env, http.MethodPut, withVersion(automationPath(quotaSub, quotaRG, "one-too-many"), v2023), minimal(quotaSub))
	mustStatus(t, resp, body, http.StatusConflict)
	if servertest.ErrorCode(body) != "QuotaExceeded" {
		t.Errorf("code %q", servertest.ErrorCode(body))
	}
	// Replacing an existing one is not a new automation.
	resp, body = do(t, env, http.MethodPut, withVersion(automationPath(quotaSub, quotaRG, "filler7"), v2023), minimal(quotaSub))
	mustStatus(t, resp, body, http.StatusOK)
	// Another subscription has its own quota.
	resp, body = do(t, env, http.MethodPut, withVersion(automationPath(sub, rg, "fine"), v2023), minimal(sub))
	mustStatus(t, resp, body, http.StatusCreated)
}
