package server_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/operationalinsights/armoperationalinsights/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/security/armsecurity"

	"sluice/internal/armid"
	"sluice/internal/auth"
	"sluice/internal/security"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

// tokenOnly lists the routes that need only a valid token, and why: they
// filter what they return (or check each record) by the caller's rights,
// or serve tenant-wide catalog data.
var tokenOnly = map[string]string{
	"GET /providers/Microsoft.Management/managementGroups": "lists only the groups the caller may read",
	"GET /subscriptions": "lists only the subscriptions the caller may read",
	// Lists within a subscription (or below): the handler computes where
	// the caller holds read (auth.ReachFrom) and answers those records,
	// 403 when nowhere.
	"GET /subscriptions/{subscriptionId}/resourceGroups":                                                                              "lists the resource groups the caller may read",
	"GET /{scope...}/providers/Microsoft.Security/assessments":                                                                        "lists the assessments the caller may read",
	"GET /{scope...}/providers/Microsoft.Security/subAssessments":                                                                     "lists the findings the caller may read",
	"GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/alerts":                                                         "lists the alerts the caller may read",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/alerts":                      "lists the alerts the caller may read",
	"GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/locations/{location}/alerts":                                    "lists the alerts the caller may read",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/locations/{location}/alerts": "lists the alerts the caller may read",
	"GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/automations":                                                    "lists the automations the caller may read",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations":                 "lists the automations the caller may read",
	"GET /subscriptions/{subscriptionId}/providers/Microsoft.OperationalInsights/workspaces":                                          "lists the workspaces the caller may read",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.OperationalInsights/workspaces":       "lists the workspaces the caller may read",
	"GET /providers/Microsoft.Security/assessmentMetadata":                                                                            "the built-in catalog, the same for everyone",
	"GET /providers/Microsoft.Security/assessmentMetadata/{name}":                                                                     "the built-in catalog",
	"GET /providers/Microsoft.Security/secureScoreControlDefinitions":                                                                 "the built-in controls",
	"POST /providers/Microsoft.Security/ingest":                                                                                       "checks the write permission of each line on its own scope",
	"GET /providers/Microsoft.Authorization/roleDefinitions":                                                                          "the built-in roles",
	"GET /providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}":                                                       "the built-in roles",
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

// grantRole assigns a built-in role to a principal of the default tenant
// at scope and returns a token of that principal.
func grantRole(t *testing.T, env *servertest.Env, principal, role, scope string) string {
	t.Helper()
	err := env.Server.Store.Update(context.Background(), func(tx store.Tx) error {
		return auth.PutRoleAssignment(context.Background(), tx, &auth.RoleAssignment{
			ID:    scope + "/providers/Microsoft.Authorization/roleAssignments/" + principal,
			Scope: scope, PrincipalID: principal, TenantID: env.TenantID,
			RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/" + role})
	})
	if err != nil {
		t.Fatal(err)
	}
	return env.TokenFor(env.TenantID, principal)
}

// smallPages makes every list request of a real SDK client ask for pages
// of 3 ($top; the nextLinks carry it on), so that lists span many pages.
type smallPages struct{}

func (smallPages) Do(req *policy.Request) (*http.Response, error) {
	u := req.Raw().URL
	if q := u.Query(); req.Raw().Method == http.MethodGet && q.Get("$top") == "" && q.Get("$skipToken") == "" {
		q.Set("$top", "3")
		u.RawQuery = q.Encode()
	}
	return req.Next()
}

// listIDs drains a pager, returning the ids of the records listed and the
// number of pages.
func listIDs[T any](ctx context.Context, p *runtime.Pager[T], ids func(T) []*string) ([]string, int, error) {
	var out []string
	pages := 0
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, pages, err
		}
		pages++
		for _, id := range ids(page) {
			out = append(out, armid.Key(*id))
		}
	}
	slices.Sort(out)
	return out, pages, nil
}

// TestFilteredLists: a caller who holds Reader on one resource group of
// a subscription lists the subscription's records with the real SDK
// clients and gets exactly those within its group, over many small
// pages; a caller with no role in the subscription gets 403
// AuthorizationFailed, and a caller with read on the subscription gets
// everything.
func TestFilteredLists(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	ctx := context.Background()
	const inRG, outRG = "web-prod", "data-prod"
	rgScope := armid.ResourceGroupID(sinkSub, inRG)
	readerTok := grantRole(t, env, "9a8b7c6d-0000-4000-8000-0000000000a1", auth.RoleReader, rgScope)
	subReaderTok := grantRole(t, env, "9a8b7c6d-0000-4000-8000-0000000000a2", auth.RoleReader, armid.SubscriptionID(sinkSub))
	nobodyTok := env.TokenFor(env.TenantID, "9a8b7c6d-0000-4000-8000-0000000000a3")
	// Automations and workspaces in both groups.
	for _, rg := range []string{inRG, outRG} {
		for _, name := range []string{"a", "b", "c", "d"} {
			ws := "/subscriptions/" + sinkSub + "/resourceGroups/" + rg + "/providers/Microsoft.OperationalInsights/workspaces/filter-" + name
			if resp, out := env.Do(http.MethodPut, ws+"?api-version=2022-10-01", env.Token, map[string]any{"location": "westeurope"}); resp.StatusCode/100 != 2 {
				t.Fatalf("create %s: %d %s", ws, resp.StatusCode, out)
			}
			body := map[string]any{"location": "westeurope", "properties": map[string]any{"isEnabled": false,
				"scopes": []any{map[string]any{"scopePath": "/subscriptions/" + sinkSub}}, "sources": []any{map[string]any{"eventSource": "Alerts"}},
				"actions": []any{map[string]any{"actionType": "Workspace", "workspaceResourceId": ws}}}}
			auto := "/subscriptions/" + sinkSub + "/resourceGroups/" + rg + "/providers/Microsoft.Security/automations/filter-" + name
			if resp, out := env.Do(http.MethodPut, auto+"?api-version=2023-12-01-preview", env.Token, body); resp.StatusCode != http.StatusCreated {
				t.Fatalf("create %s: %d %s", auto, resp.StatusCode, out)
			}
		}
	}
	// Alerts on resources of both groups (the demo's land where its
	// random draw puts them).
	now := time.Now()
	err := env.Server.Security.Update(ctx, func(w *security.Writer) error {
		res := "/subscriptions/" + sinkSub + "/resourceGroups/"
		for i := range 4 {
			at := now.Add(-time.Duration(i) * time.Minute)
			alerts := security.SimulateAlerts(sinkSub, "westeurope", []string{"VirtualMachines", "AppServices"}, at,
				[]string{res + inRG + "/providers/Microsoft.Compute/virtualMachines/web-vm-01", res + inRG + "/providers/Microsoft.Web/sites/contoso-web"})
			alerts = append(alerts, security.SimulateAlerts(sinkSub, "westeurope", []string{"KeyVaults", "StorageAccounts"}, at,
				[]string{res + outRG + "/providers/Microsoft.KeyVault/vaults/kv-prod", res + outRG + "/providers/Microsoft.Storage/storageAccounts/contosodata"})...)
			for _, a := range alerts {
				if _, _, err := w.PutAlert(ctx, a, a.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := func(tok string) *arm.ClientOptions {
		o := *env.ARMOptions()
		o.PerCallPolicies = append(o.PerCallPolicies, smallPages{})
		return &o
	}
	subScope := "/subscriptions/" + sinkSub
	type lister func(tok string) ([]string, int, error)
	listers := map[string]lister{
		"assessments": func(tok string) ([]string, int, error) {
			c, err := armsecurity.NewAssessmentsClient(servertest.Credential(tok), opts(tok))
			if err != nil {
				return nil, 0, err
			}
			return listIDs(ctx, c.NewListPager(subScope, nil), func(p armsecurity.AssessmentsClientListResponse) (ids []*string) {
				for _, v := range p.Value {
					ids = append(ids, v.ID)
				}
				return ids
			})
		},
		"subAssessments": func(tok string) ([]string, int, error) {
			c, err := armsecurity.NewSubAssessmentsClient(servertest.Credential(tok), opts(tok))
			if err != nil {
				return nil, 0, err
			}
			return listIDs(ctx, c.NewListAllPager(subScope, nil), func(p armsecurity.SubAssessmentsClientListAllResponse) (ids []*string) {
				for _, v := range p.Value {
					ids = append(ids, v.ID)
				}
				return ids
			})
		},
		"alerts": func(tok string) ([]string, int, error) {
			c, err := armsecurity.NewAlertsClient(sinkSub, servertest.Credential(tok), opts(tok))
			if err != nil {
				return nil, 0, err
			}
			return listIDs(ctx, c.NewListPager(nil), func(p armsecurity.AlertsClientListResponse) (ids []*string) {
				for _, v := range p.Value {
					ids = append(ids, v.ID)
				}
				return ids
			})
		},
		"automations": func(tok string) ([]string, int, error) {
			c, err := armsecurity.NewAutomationsClient(sinkSub, servertest.Credential(tok), opts(tok))
			if err != nil {
				return nil, 0, err
			}
			return listIDs(ctx, c.NewListPager(nil), func(p armsecurity.AutomationsClientListResponse) (ids []*string) {
				for _, v := range p.Value {
					ids = append(ids, v.ID)
				}
				return ids
			})
		},
		"workspaces": func(tok string) ([]string, int, error) {
			c, err := armoperationalinsights.NewWorkspacesClient(sinkSub, servertest.Credential(tok), opts(tok))
			if err != nil {
				return nil, 0, err
			}
			return listIDs(ctx, c.NewListPager(nil), func(p armoperationalinsights.WorkspacesClientListResponse) (ids []*string) {
				for _, v := range p.Value {
					ids = append(ids, v.ID)
				}
				return ids
			})
		},
		"resourceGroups": func(tok string) ([]string, int, error) {
			c, err := armresources.NewResourceGroupsClient(sinkSub, servertest.Credential(tok), opts(tok))
			if err != nil {
				return nil, 0, err
			}
			return listIDs(ctx, c.NewListPager(nil), func(p armresources.ResourceGroupsClientListResponse) (ids []*string) {
				for _, v := range p.Value {
					ids = append(ids, v.ID)
				}
				return ids
			})
		},
	}
	for name, list := range listers {
		t.Run(name, func(t *testing.T) {
			// The demo only adds and updates records while the test runs,
			// so what the administrator listed first is still there.
			all, _, err := list(env.Token)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, id := range all {
				if armid.Contains(rgScope, id) {
					want = append(want, id)
				}
			}
			if len(want) == 0 || len(want) == len(all) {
				t.Fatalf("%d of %d records in %s: nothing to filter", len(want), len(all), inRG)
			}
			got, pages, err := list(readerTok)
			if err != nil {
				t.Fatal(err)
			}
			// The workspace list is not paged (ARM answers it whole).
			if name != "workspaces" && pages < (len(want)+2)/3 {
				t.Errorf("%d records in %d pages of at most 3", len(got), pages)
			}
			for _, id := range got {
				if !armid.Contains(rgScope, id) {
					t.Errorf("the reader of %s listed %s", inRG, id)
				}
			}
			for _, id := range want {
				if !slices.Contains(got, id) {
					t.Errorf("the reader of %s did not list %s", inRG, id)
				}
			}
			if sub, _, err := list(subReaderTok); err != nil || len(sub) < len(all) {
				t.Errorf("the subscription reader listed %d of %d: %v", len(sub), len(all), err)
			}
			_, _, err = list(nobodyTok)
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden || re.ErrorCode != "AuthorizationFailed" {
				t.Errorf("a caller without a role in the subscription: %v", err)
			}
		})
	}
}
