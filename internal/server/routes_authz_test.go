package server_test

import (
	"context"
	"net/http"
	"testing"

	"sluice/internal/armid"
	"sluice/internal/auth"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

// tokenOnly lists the routes that need only a valid token, and why: they
// filter what they return (or check each record) by the caller's rights,
// or serve tenant-wide catalog data.
var tokenOnly = map[string]string{
	"GET /providers/Microsoft.Management/managementGroups": "lists only the groups the caller may read",
	"GET /subscriptions": "lists only the subscriptions the caller may read",
	"GET /providers/Microsoft.Security/assessmentMetadata":                      "the built-in catalog, the same for everyone",
	"GET /providers/Microsoft.Security/assessmentMetadata/{name}":               "the built-in catalog",
	"GET /providers/Microsoft.Security/secureScoreControlDefinitions":           "the built-in controls",
	"POST /providers/Microsoft.Security/ingest":                                 "checks the write permission of each line on its own scope",
	"GET /providers/Microsoft.Authorization/roleDefinitions":                    "the built-in roles",
	"GET /providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}": "the built-in roles",
}

// public lists the routes that need no token at all.
var public = map[string]string{
	"POST /{tenantId}/oauth2/v2.0/token":                    "the token endpoint authenticates with client credentials",
	"GET /{tenantId}/v2.0/.well-known/openid-configuration": "discovery for token clients",
}

// TestEveryRouteIsGuarded enumerates the server's routes: each has a
// permission checked at a scope, or is on one of the reasoned lists above.
func TestEveryRouteIsGuarded(t *testing.T) {
	env := servertest.New(t)
	routes := env.Server.Router.Routes()
	if len(routes) < 50 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, r := range routes {
		name := r.Method + " " + r.Pattern
		switch {
		case r.Public:
			if public[name] == "" {
				t.Errorf("%s is public without a reason", name)
			}
		case r.Permission == "":
			t.Errorf("%s has no authorization rule", name)
		case r.Permission == "Microsoft.Authenticated":
			if tokenOnly[name] == "" {
				t.Errorf("%s needs only a token without a reason", name)
			}
		}
	}
}

// TestRoleMatrix: route × role × scope → status. The roles are assigned
// on the resource group web-prod; "outside" is another resource group of
// the same subscription; "other tenant" is a principal of another tenant.
func TestRoleMatrix(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	const inRG, outRG = "web-prod", "data-prod"
	scope := armid.ResourceGroupID(sinkSub, inRG)
	roles := map[string]string{
		"reader":         auth.RoleReader,
		"securityReader": auth.RoleSecurityReader,
		"securityAdmin":  auth.RoleSecurityAdmin,
		"contributor":    auth.RoleContributor,
	}
	tokens := map[string]string{"none": env.TokenFor(env.TenantID, "9a8b7c6d-0000-4000-8000-000000000000"),
		"otherTenant": env.TokenFor("0f0e0d0c-0b0a-4909-8807-060504030201", "9a8b7c6d-0000-4000-8000-000000000009")}
	i := 0
	for name, role := range roles {
		i++
		principal := "9a8b7c6d-0000-4000-8000-00000000000" + string(rune('0'+i))
		err := env.Server.Store.Update(context.Background(), func(tx store.Tx) error {
			return auth.PutRoleAssignment(context.Background(), tx, &auth.RoleAssignment{
				ID:    scope + "/providers/Microsoft.Authorization/roleAssignments/" + principal,
				Scope: scope, PrincipalID: principal, TenantID: env.TenantID,
				RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/" + role})
		})
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = env.TokenFor(env.TenantID, principal)
	}
	auto := func(rg string) string {
		return "/subscriptions/" + sinkSub + "/resourceGroups/" + rg + "/providers/Microsoft.Security/automations/matrix"
	}
	body := map[string]any{"location": "westeurope", "properties": map[string]any{"isEnabled": false,
		"scopes": []any{map[string]any{"scopePath": "/subscriptions/" + sinkSub}}, "sources": []any{map[string]any{"eventSource": "Alerts"}},
		"actions": []any{map[string]any{"actionType": "Workspace", "workspaceResourceId": "/subscriptions/" + sinkSub + "/resourceGroups/" + inRG + "/providers/Microsoft.OperationalInsights/workspaces/matrix-ws"}}}}
	// One automation in each resource group to read.
	for _, rg := range []string{inRG, outRG} {
		if resp, out := env.Do(http.MethodPut, auto(rg)+"?api-version=2023-12-01-preview", env.Token, body); resp.StatusCode != http.StatusCreated {
			t.Fatalf("create the automation in %s: %d %s", rg, resp.StatusCode, out)
		}
	}
	type req struct{ method, path string }
	samples := map[string]func(rg string) req{
		"read automation": func(rg string) req { return req{http.MethodGet, auto(rg) + "?api-version=2023-12-01-preview"} },
		"delivery health": func(rg string) req {
			return req{http.MethodGet, auto(rg) + "/deliveryHealth?api-version=2023-12-01-preview"}
		},
		"read group": func(rg string) req {
			return req{http.MethodGet, "/subscriptions/" + sinkSub + "/resourcegroups/" + rg + "?api-version=2021-04-01"}
		},
		"list assessments": func(rg string) req {
			return req{http.MethodGet, "/subscriptions/" + sinkSub + "/resourceGroups/" + rg + "/providers/Microsoft.Security/assessments?api-version=2021-06-01"}
		},
		"list alerts": func(rg string) req {
			return req{http.MethodGet, "/subscriptions/" + sinkSub + "/resourceGroups/" + rg + "/providers/Microsoft.Security/alerts?api-version=2022-01-01"}
		},
	}
	readers := map[string]bool{"reader": true, "securityReader": true, "securityAdmin": true, "contributor": true}
	for sample, build := range samples {
		for who, tok := range tokens {
			for _, where := range []string{"inside", "outside"} {
				rg := inRG
				if where == "outside" {
					rg = outRG
				}
				want := http.StatusForbidden
				if where == "inside" && readers[who] {
					want = http.StatusOK
				}
				if who == "otherTenant" {
					want = http.StatusForbidden
				}
				r := build(rg)
				t.Run(sample+"/"+who+"/"+where, func(t *testing.T) {
					resp, body := env.Do(r.method, r.path, tok, nil)
					if resp.StatusCode != want {
						t.Errorf("%s %s as %s: %d, want %d: %.200s", r.method, r.path, who, resp.StatusCode, want, body)
					}
				})
			}
		}
	}
	// Writing an automation needs automations/write on the group and write
	// on the target workspace: Contributor has both; Security Admin lacks
	// the workspace (LinkedAuthorizationFailed); readers have neither.
	writers := map[string]int{"reader": 403, "securityReader": 403, "securityAdmin": 403, "contributor": 200, "none": 403, "otherTenant": 403}
	for who, want := range writers {
		t.Run("write automation/"+who, func(t *testing.T) {
			resp, out := env.Do(http.MethodPut, auto(inRG)+"?api-version=2023-12-01-preview", tokens[who], body)
			if resp.StatusCode != want {
				t.Errorf("%s: %d, want %d: %.300s", who, resp.StatusCode, want, out)
			}
		})
	}
}
