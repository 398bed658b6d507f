package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
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
	"GET /providers/Sluice.Reports/alerts":                                                                                            "reports over the subscriptions the caller may read (403 when none)",
	"GET /providers/Sluice.Reports/recommendations":                                                                                   "reports over the subscriptions the caller may read (403 when none)",
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
					want = http.StatusUnauthorized
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
	writers := map[string]int{"reader": 403, "securityReader": 403, "securityAdmin": 403, "contributor": 200, "none": 403, "otherTenant": 401}
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
	opts := func() *arm.ClientOptions {
		o := *env.ARMOptions()
		o.PerCallPolicies = append(o.PerCallPolicies, smallPages{})
		return &o
	}
	subScope := "/subscriptions/" + sinkSub
	type lister func(tok string) ([]string, int, error)
	listers := map[string]lister{
		"assessments": func(tok string) ([]string, int, error) {
			c, err := armsecurity.NewAssessmentsClient(servertest.Credential(tok), opts())
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
			c, err := armsecurity.NewSubAssessmentsClient(servertest.Credential(tok), opts())
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
			c, err := armsecurity.NewAlertsClient(sinkSub, servertest.Credential(tok), opts())
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
			c, err := armsecurity.NewAutomationsClient(sinkSub, servertest.Credential(tok), opts())
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
			c, err := armoperationalinsights.NewWorkspacesClient(sinkSub, servertest.Credential(tok), opts())
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
			c, err := armresources.NewResourceGroupsClient(sinkSub, servertest.Credential(tok), opts())
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
	// A Reader of one automation lists exactly it among the
	// subscription's automations, and no resource group (it may read
	// none): an empty list, not a refusal.
	one := "/subscriptions/" + sinkSub + "/resourceGroups/" + outRG + "/providers/Microsoft.Security/automations/filter-c"
	oneTok := grantRole(t, env, "9a8b7c6d-0000-4000-8000-0000000000a4", auth.RoleReader, one)
	if got, _, err := listers["automations"](oneTok); err != nil || !slices.Equal(got, []string{armid.Key(one)}) {
		t.Errorf("the reader of %s listed %v: %v", one, got, err)
	}
	if got, _, err := listers["resourceGroups"](oneTok); err != nil || len(got) != 0 {
		t.Errorf("the reader of one automation listed the groups %v: %v", got, err)
	}
}

// mcase is one row of the route matrix: a request on a route and the
// status each caller gets. The callers are the owner (the bootstrap
// administrator), a Reader of the tenant root group, a principal without
// any role, and a principal of another tenant.
type mcase struct {
	route string // "METHOD pattern", as the router enumerates it
	path  string // with its query
	body  any
	owner int    // the owner's status
	code  string // the owner's (and a reading Reader's) error code
	// reader, none and other override the defaults: for reads the
	// Reader gets what the owner gets, for writes 403; the principal
	// without a role 403 AuthorizationFailed; the other tenant's 401
	// InvalidAuthenticationTokenTenant.
	reader, none, other int
}

// TestRouteMatrix runs every route of the server for the four callers,
// with the 404 outcomes: a missing resource is 404 (with its precise
// code) for callers who may read its scope and 403 for the others, who
// so learn nothing of what exists; a subscription that does not exist is
// 404 SubscriptionNotFound; a token of another tenant is 401
// InvalidAuthenticationTokenTenant, as ARM answers; a path no route
// serves is 404. The test fails when a route has no row.
func TestRouteMatrix(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	ctx := context.Background()
	tok := map[string]string{
		"owner":  env.Token,
		"reader": grantRole(t, env, "9a8b7c6d-0000-4000-8000-0000000000b1", auth.RoleReader, "/providers/Microsoft.Management/managementGroups/"+env.TenantID),
		"none":   env.TokenFor(env.TenantID, "9a8b7c6d-0000-4000-8000-0000000000b2"),
		"other":  env.TokenFor("0f0e0d0c-0b0a-4909-8807-0605040302b3", "9a8b7c6d-0000-4000-8000-0000000000b3"),
	}
	const (
		S        = sinkSub
		noSub    = "0badc0de-0000-4000-8000-000000000000"
		vAuto    = "?api-version=2023-12-01-preview"
		vAss     = "?api-version=2021-06-01"
		vSub     = "?api-version=2019-01-01-preview"
		vAlert   = "?api-version=2022-01-01"
		vScore   = "?api-version=2020-01-01"
		vComp    = "?api-version=2019-01-01-preview"
		vRG      = "?api-version=2021-04-01"
		vSubs    = "?api-version=2022-12-01"
		vMG      = "?api-version=2021-04-01"
		vAuthz   = "?api-version=2022-04-01"
		vWS      = "?api-version=2022-10-01"
		vSluice  = "?api-version=2024-01-01"
		vIngest  = "?api-version=2023-01-01"
		sec      = "/providers/Microsoft.Security"
		subP     = "/subscriptions/" + S
		rgP      = subP + "/resourceGroups/web-prod"
		autoP    = rgP + sec + "/automations/matrix"
		missAuto = rgP + sec + "/automations/no-such-automation"
		wsP      = rgP + "/providers/Microsoft.OperationalInsights/workspaces/matrix-ws"
		raName   = "9a8b7c6d-0000-4000-8000-0000000000c1"
		spID     = "9a8b7c6d-0000-4000-8000-0000000000c2"
		missing  = "9a8b7c6d-0000-4000-8000-0000000000ff"
	)
	get := func(path string) map[string]any {
		t.Helper()
		resp, body := env.Do(http.MethodGet, path, env.Token, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	first := func(path, field string) string {
		t.Helper()
		v, _ := get(path)["value"].([]any)
		if len(v) == 0 {
			t.Fatalf("GET %s lists nothing", path)
		}
		return v[0].(map[string]any)[field].(string)
	}
	// Records to address: alerts of the group and of the subscription, an
	// assessment and a finding of the demo, the compliance hierarchy.
	var rgAlert, subAlert string
	err := env.Server.Security.Update(ctx, func(w *security.Writer) error {
		for _, a := range append(security.SimulateAlerts(S, "westeurope", []string{"VirtualMachines"}, time.Now(),
			[]string{rgP + "/providers/Microsoft.Compute/virtualMachines/web-vm-01"}),
			security.SimulateAlerts(S, "westeurope", []string{"ResourceManager"}, time.Now(), []string{subP})...) {
			if _, _, err := w.PutAlert(ctx, a, a.ID); err != nil {
				return err
			}
			if strings.Contains(strings.ToLower(a.ID), "/resourcegroups/") {
				rgAlert = a.ID
			} else {
				subAlert = a.ID
			}
		}
		return nil
	})
	if err != nil || rgAlert == "" || subAlert == "" {
		t.Fatalf("alerts %q %q: %v", rgAlert, subAlert, err)
	}
	assessment := first(rgP+sec+"/assessments"+vAss, "id")
	resource, _, _ := strings.Cut(assessment, sec+"/assessments/")
	finding := first(subP+sec+"/subAssessments"+vSub, "id")
	findingAssessment, _, _ := strings.Cut(finding, "/subAssessments/")
	findingResource, findingAssessmentName, _ := strings.Cut(findingAssessment, sec+"/assessments/")
	std := first(subP+sec+"/regulatoryComplianceStandards"+vComp, "name")
	stdP := subP + sec + "/regulatoryComplianceStandards/" + std
	ctl := first(stdP+"/regulatoryComplianceControls"+vComp, "name")
	ctlP := stdP + "/regulatoryComplianceControls/" + ctl
	compAss := first(ctlP+"/regulatoryComplianceAssessments"+vComp, "name")
	metadata := first("/providers/Microsoft.Security/assessmentMetadata"+vAss, "name")

	autoBody := map[string]any{"location": "westeurope", "properties": map[string]any{"isEnabled": true,
		"scopes": []any{map[string]any{"scopePath": subP}}, "sources": []any{map[string]any{"eventSource": "Alerts"}},
		"actions": []any{map[string]any{"actionType": "Workspace", "workspaceResourceId": wsP}}}}
	roleDef := "/subscriptions/" + S + "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleReader
	cases := []mcase{
		// Catalogs and token-only routes.
		{route: "GET /providers/Microsoft.Authorization/roleDefinitions", path: "/providers/Microsoft.Authorization/roleDefinitions" + vAuthz, owner: 200, none: 200, other: 200},
		{route: "GET /providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}", path: "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleReader + vAuthz, owner: 200, none: 200, other: 200},
		{route: "GET /providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}", path: "/providers/Microsoft.Authorization/roleDefinitions/" + missing + vAuthz, owner: 404, code: "RoleDefinitionDoesNotExist", none: 404, other: 404},
		{route: "GET /providers/Microsoft.Security/assessmentMetadata", path: "/providers/Microsoft.Security/assessmentMetadata" + vAss, owner: 200, none: 200, other: 200},
		{route: "GET /providers/Microsoft.Security/assessmentMetadata/{name}", path: "/providers/Microsoft.Security/assessmentMetadata/" + metadata + vAss, owner: 200, none: 200, other: 200},
		{route: "GET /providers/Microsoft.Security/secureScoreControlDefinitions", path: "/providers/Microsoft.Security/secureScoreControlDefinitions" + vScore, owner: 200, none: 200, other: 200},
		{route: "GET /providers/Microsoft.Management/managementGroups", path: "/providers/Microsoft.Management/managementGroups" + vMG, owner: 200, none: 200, other: 200},
		{route: "GET /subscriptions", path: "/subscriptions" + vSubs, owner: 200, none: 200, other: 200},
		{route: "POST /providers/Microsoft.Security/ingest", path: "/providers/Microsoft.Security/ingest" + vSluice, body: "", owner: 400, code: "InvalidRequestContent", reader: 400, none: 400, other: 400},

		// Management groups and subscriptions. A group that does not
		// exist is 404 only for callers with the permission on their
		// tenant's root group; tenant-level writes of a principal of a
		// tenant Sluice does not know are 403 (no rights anywhere).
		{route: "PUT /providers/Microsoft.Management/managementGroups/{groupId}", path: "/providers/Microsoft.Management/managementGroups/matrix-mg" + vMG, body: map[string]any{}, owner: 200, other: 403},
		{route: "GET /providers/Microsoft.Management/managementGroups/{groupId}", path: "/providers/Microsoft.Management/managementGroups/matrix-mg" + vMG, owner: 200},
		{route: "GET /providers/Microsoft.Management/managementGroups/{groupId}", path: "/providers/Microsoft.Management/managementGroups/no-such-group" + vMG, owner: 404, code: "ManagementGroupNotFound", other: 403},
		{route: "PATCH /providers/Microsoft.Management/managementGroups/{groupId}", path: "/providers/Microsoft.Management/managementGroups/matrix-mg" + vMG, body: map[string]any{"displayName": "Matrix"}, owner: 200},
		{route: "GET /providers/Microsoft.Management/managementGroups/{groupId}/subscriptions", path: "/providers/Microsoft.Management/managementGroups/matrix-mg/subscriptions" + vMG, owner: 200},
		{route: "PUT /providers/Microsoft.Management/managementGroups/{groupId}/subscriptions/{subscriptionId}", path: "/providers/Microsoft.Management/managementGroups/matrix-mg/subscriptions/" + noSub + vMG, owner: 404, code: "SubscriptionNotFound"},
		{route: "GET /providers/Microsoft.Management/managementGroups/{groupId}/subscriptions/{subscriptionId}", path: "/providers/Microsoft.Management/managementGroups/matrix-mg/subscriptions/" + S + vMG, owner: 404, code: "SubscriptionNotFound"},
		{route: "DELETE /providers/Microsoft.Management/managementGroups/{groupId}/subscriptions/{subscriptionId}", path: "/providers/Microsoft.Management/managementGroups/matrix-mg/subscriptions/" + noSub + vMG, owner: 404, code: "SubscriptionNotFound"},
		{route: "DELETE /providers/Microsoft.Management/managementGroups/{groupId}", path: "/providers/Microsoft.Management/managementGroups/matrix-mg" + vMG, owner: 204},
		{route: "GET /subscriptions/{subscriptionId}", path: subP + vSubs, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}", path: "/subscriptions/" + noSub + vSubs, owner: 404, code: "SubscriptionNotFound", none: 404, other: 404},
		{route: "PUT /subscriptions/{subscriptionId}", path: "/subscriptions/" + noSub + vSubs, body: map[string]any{"displayName": "matrix"}, owner: 201, other: 403},
		{route: "DELETE /subscriptions/{subscriptionId}", path: "/subscriptions/" + noSub + vSubs, owner: 200},

		// Resource groups.
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups", path: subP + "/resourcegroups" + vRG, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups", path: "/subscriptions/" + noSub + "/resourcegroups" + vRG, owner: 404, code: "SubscriptionNotFound", none: 404, other: 404},
		{route: "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", path: subP + "/resourcegroups/matrix-rg" + vRG, body: map[string]any{"location": "westeurope"}, owner: 201},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", path: subP + "/resourcegroups/matrix-rg" + vRG, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", path: subP + "/resourcegroups/no-such-rg" + vRG, owner: 404, code: "ResourceGroupNotFound"},
		{route: "HEAD /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", path: subP + "/resourcegroups/matrix-rg" + vRG, owner: 204},
		{route: "PATCH /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", path: subP + "/resourcegroups/matrix-rg" + vRG, body: map[string]any{"tags": map[string]any{"a": "b"}}, owner: 200},
		{route: "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", path: subP + "/resourcegroups/matrix-rg" + vRG, owner: 200},

		// Workspaces and their APIs.
		{route: "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.OperationalInsights/workspaces/{workspaceName}", path: wsP + vWS, body: map[string]any{"location": "westeurope"}, owner: 201},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.OperationalInsights/workspaces/{workspaceName}", path: wsP + vWS, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.OperationalInsights/workspaces/{workspaceName}", path: rgP + "/providers/Microsoft.OperationalInsights/workspaces/no-such-ws" + vWS, owner: 404, code: "ResourceNotFound"},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.OperationalInsights/workspaces", path: subP + "/providers/Microsoft.OperationalInsights/workspaces" + vWS, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.OperationalInsights/workspaces", path: rgP + "/providers/Microsoft.OperationalInsights/workspaces" + vWS, owner: 200},

		// Automations and their delivery routes.
		{route: "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}", path: autoP + vAuto, body: autoBody, owner: 201},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}", path: autoP + vAuto, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}", path: missAuto + vAuto, owner: 404, code: "ResourceNotFound"},
		{route: "PATCH /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}", path: autoP + vAuto, body: map[string]any{"tags": map[string]any{"a": "b"}}, owner: 200},
		{route: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}/validate", path: autoP + "/validate" + vAuto, body: autoBody, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/automations", path: subP + sec + "/automations" + vAuto, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations", path: rgP + sec + "/automations" + vAuto, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}/deliveryHealth", path: autoP + "/deliveryHealth" + vAuto, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}/deliveryHealth", path: missAuto + "/deliveryHealth" + vAuto, owner: 404, code: "ResourceNotFound"},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}/deadLetters", path: autoP + "/deadLetters" + vAuto, owner: 200},
		{route: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}/deadLetters/replay", path: autoP + "/deadLetters/replay" + vAuto, owner: 202},
		{route: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}/deadLetters/{deadLetterId}/replay", path: autoP + "/deadLetters/123456/replay" + vAuto, owner: 404, code: "DeadLetterNotFound"},
		{route: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}/backfill", path: autoP + "/backfill" + vAuto, body: map[string]any{}, owner: 202},
		{route: "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations/{automationName}", path: autoP + vAuto, owner: 204},
		{route: "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.OperationalInsights/workspaces/{workspaceName}", path: wsP + vWS, owner: 200},

		// Assessments, findings, metadata.
		{route: "GET /{scope...}/providers/Microsoft.Security/assessments", path: subP + sec + "/assessments" + vAss, owner: 200},
		{route: "GET /{scope...}/providers/Microsoft.Security/assessments", path: "/subscriptions/" + noSub + sec + "/assessments" + vAss, owner: 404, code: "SubscriptionNotFound", none: 404, other: 404},
		{route: "GET /{resourceId...}/providers/Microsoft.Security/assessments/{name}", path: assessment + vAss, owner: 200},
		{route: "GET /{resourceId...}/providers/Microsoft.Security/assessments/{name}", path: resource + sec + "/assessments/" + missing + vAss, owner: 404, code: "AssessmentNotFound"},
		{route: "PUT /{resourceId...}/providers/Microsoft.Security/assessments/{name}", path: resource + sec + "/assessments/" + missing + vAss, body: map[string]any{}, owner: 400},
		{route: "DELETE /{resourceId...}/providers/Microsoft.Security/assessments/{name}", path: resource + sec + "/assessments/" + missing + vAss, owner: 204},
		{route: "GET /{scope...}/providers/Microsoft.Security/subAssessments", path: subP + sec + "/subAssessments" + vSub, owner: 200},
		{route: "GET /{scope...}/providers/Microsoft.Security/assessments/{name}/subAssessments", path: findingAssessment + "/subAssessments" + vSub, owner: 200},
		{route: "GET /{scope...}/providers/Microsoft.Security/assessments/{name}/subAssessments/{subName}", path: finding + vSub, owner: 200},
		{route: "GET /{scope...}/providers/Microsoft.Security/assessments/{name}/subAssessments/{subName}", path: findingResource + sec + "/assessments/" + findingAssessmentName + "/subAssessments/" + missing + vSub, owner: 404, code: "SubAssessmentNotFound"},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/assessmentMetadata", path: subP + sec + "/assessmentMetadata" + vAss, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/assessmentMetadata/{name}", path: subP + sec + "/assessmentMetadata/" + missing + vAss, owner: 404, code: "AssessmentMetadataNotFound"},
		{route: "PUT /subscriptions/{subscriptionId}/providers/Microsoft.Security/assessmentMetadata/{name}", path: subP + sec + "/assessmentMetadata/" + missing + vAss, body: map[string]any{}, owner: 400},
		{route: "DELETE /subscriptions/{subscriptionId}/providers/Microsoft.Security/assessmentMetadata/{name}", path: subP + sec + "/assessmentMetadata/" + missing + vAss, owner: 200},

		// Alerts.
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/alerts", path: subP + sec + "/alerts" + vAlert, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/alerts", path: rgP + sec + "/alerts" + vAlert, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/locations/{location}/alerts", path: subP + sec + "/locations/westeurope/alerts" + vAlert, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/locations/{location}/alerts", path: rgP + sec + "/locations/westeurope/alerts" + vAlert, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/locations/{location}/alerts/{alertName}", path: subAlert + vAlert, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/locations/{location}/alerts/{alertName}", path: subP + sec + "/locations/westeurope/alerts/" + missing + vAlert, owner: 404, code: "AlertNotFound"},
		{route: "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/locations/{location}/alerts/{alertName}", path: rgAlert + vAlert, owner: 200},
		{route: "POST /subscriptions/{subscriptionId}/providers/Microsoft.Security/locations/{location}/alerts/{alertName}/dismiss", path: subAlert + "/dismiss" + vAlert, owner: 204},
		{route: "POST /subscriptions/{subscriptionId}/providers/Microsoft.Security/locations/{location}/alerts/{alertName}/inProgress", path: subAlert + "/inProgress" + vAlert, owner: 204},
		{route: "POST /subscriptions/{subscriptionId}/providers/Microsoft.Security/locations/{location}/alerts/{alertName}/resolve", path: subAlert + "/resolve" + vAlert, owner: 204},
		{route: "POST /subscriptions/{subscriptionId}/providers/Microsoft.Security/locations/{location}/alerts/{alertName}/activate", path: subAlert + "/activate" + vAlert, owner: 204},
		{route: "POST /subscriptions/{subscriptionId}/providers/Microsoft.Security/locations/{location}/alerts/{alertName}/activate", path: subP + sec + "/locations/westeurope/alerts/" + missing + "/activate" + vAlert, owner: 404, code: "AlertNotFound"},
		{route: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/locations/{location}/alerts/{alertName}/dismiss", path: rgAlert + "/dismiss" + vAlert, owner: 204},
		{route: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/locations/{location}/alerts/{alertName}/inProgress", path: rgAlert + "/inProgress" + vAlert, owner: 204},
		{route: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/locations/{location}/alerts/{alertName}/resolve", path: rgAlert + "/resolve" + vAlert, owner: 204},
		{route: "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/locations/{location}/alerts/{alertName}/activate", path: rgAlert + "/activate" + vAlert, owner: 204},
		{route: "POST /subscriptions/{subscriptionId}/providers/Microsoft.Security/locations/{location}/alerts/default/simulate", path: subP + sec + "/locations/westeurope/alerts/default/simulate" + vAlert, body: map[string]any{"properties": map[string]any{"kind": "Bundles", "bundles": []string{"AppServices"}}}, owner: 202},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/locations/{location}/alerts/default/simulate/operationResults/{operationId}", path: subP + sec + "/locations/westeurope/alerts/default/simulate/operationResults/" + missing + vAlert, owner: 200},

		// Secure score and compliance.
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/secureScores", path: subP + sec + "/secureScores" + vScore, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/secureScores/{name}", path: subP + sec + "/secureScores/ascScore" + vScore, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/secureScores/{name}", path: subP + sec + "/secureScores/noSuchScore" + vScore, owner: 404, code: "SecureScoreNotFound"},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/secureScores/{name}/secureScoreControls", path: subP + sec + "/secureScores/ascScore/secureScoreControls" + vScore, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/secureScoreControls", path: subP + sec + "/secureScoreControls" + vScore, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/secureScoreControlDefinitions", path: subP + sec + "/secureScoreControlDefinitions" + vScore, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/regulatoryComplianceStandards", path: subP + sec + "/regulatoryComplianceStandards" + vComp, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/regulatoryComplianceStandards/{standard}", path: stdP + vComp, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/regulatoryComplianceStandards/{standard}", path: subP + sec + "/regulatoryComplianceStandards/no-such-standard" + vComp, owner: 404, code: "RegulatoryComplianceStandardNotFound"},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/regulatoryComplianceStandards/{standard}/regulatoryComplianceControls", path: stdP + "/regulatoryComplianceControls" + vComp, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/regulatoryComplianceStandards/{standard}/regulatoryComplianceControls/{control}", path: ctlP + vComp, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/regulatoryComplianceStandards/{standard}/regulatoryComplianceControls/{control}/regulatoryComplianceAssessments", path: ctlP + "/regulatoryComplianceAssessments" + vComp, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Microsoft.Security/regulatoryComplianceStandards/{standard}/regulatoryComplianceControls/{control}/regulatoryComplianceAssessments/{assessment}", path: ctlP + "/regulatoryComplianceAssessments/" + compAss + vComp, owner: 200},

		// Role definitions and assignments, service principals, audit.
		{route: "GET /{scope...}/providers/Microsoft.Authorization/roleDefinitions", path: subP + "/providers/Microsoft.Authorization/roleDefinitions" + vAuthz, owner: 200},
		{route: "GET /{scope...}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}", path: roleDef + vAuthz, owner: 200},
		{route: "PUT /{scope...}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}", path: rgP + "/providers/Microsoft.Authorization/roleAssignments/" + raName + vAuthz,
			body: map[string]any{"properties": map[string]any{"principalId": missing, "roleDefinitionId": roleDef}}, owner: 201},
		{route: "GET /{scope...}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}", path: rgP + "/providers/Microsoft.Authorization/roleAssignments/" + raName + vAuthz, owner: 200},
		{route: "GET /{scope...}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}", path: rgP + "/providers/Microsoft.Authorization/roleAssignments/" + missing + vAuthz, owner: 404, code: "RoleAssignmentNotFound"},
		{route: "GET /{scope...}/providers/Microsoft.Authorization/roleAssignments", path: rgP + "/providers/Microsoft.Authorization/roleAssignments" + vAuthz, owner: 200},
		{route: "DELETE /{scope...}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}", path: rgP + "/providers/Microsoft.Authorization/roleAssignments/" + raName + vAuthz, owner: 200},
		{route: "PUT /providers/Sluice.Identity/servicePrincipals/{objectId}", path: "/providers/Sluice.Identity/servicePrincipals/" + spID + vSluice,
			body: map[string]any{"properties": map[string]any{"displayName": "matrix"}}, owner: 201, other: 403},
		{route: "GET /providers/Sluice.Identity/servicePrincipals/{objectId}", path: "/providers/Sluice.Identity/servicePrincipals/" + spID + vSluice, owner: 200, other: 403},
		{route: "GET /providers/Sluice.Identity/servicePrincipals/{objectId}", path: "/providers/Sluice.Identity/servicePrincipals/" + missing + vSluice, owner: 404, code: "ServicePrincipalNotFound", other: 403},
		{route: "DELETE /providers/Sluice.Identity/servicePrincipals/{objectId}", path: "/providers/Sluice.Identity/servicePrincipals/" + spID + vSluice, owner: 200, other: 403},
		{route: "GET /providers/Sluice.Audit/events", path: "/providers/Sluice.Audit/events" + vSluice, owner: 200, other: 403},

		// Reports (Sluice.Reports): of a subscription, or of every
		// subscription of the caller's tenant it may read.
		{route: "GET /subscriptions/{subscriptionId}/providers/Sluice.Reports/alerts", path: subP + "/providers/Sluice.Reports/alerts" + vSluice, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Sluice.Reports/recommendations", path: subP + "/providers/Sluice.Reports/recommendations" + vSluice, owner: 200},
		{route: "GET /subscriptions/{subscriptionId}/providers/Sluice.Reports/recommendations", path: "/subscriptions/" + noSub + "/providers/Sluice.Reports/recommendations" + vSluice,
			owner: 404, code: "SubscriptionNotFound", none: 404, other: 404},
		{route: "GET /providers/Sluice.Reports/alerts", path: "/providers/Sluice.Reports/alerts" + vSluice, owner: 200, other: 403},
		{route: "GET /providers/Sluice.Reports/recommendations", path: "/providers/Sluice.Reports/recommendations" + vSluice, owner: 200, other: 403},

		// The workspace data APIs of an unknown workspace: callers
		// without read on the tenant learn nothing.
		{route: "GET /v1/workspaces/{workspaceId}/query", path: "/v1/workspaces/" + missing + "/query?query=Heartbeat", owner: 404, code: "WorkspaceNotFoundError"},
		{route: "POST /v1/workspaces/{workspaceId}/query", path: "/v1/workspaces/" + missing + "/query", body: map[string]any{"query": "Heartbeat"}, owner: 404, code: "WorkspaceNotFoundError", reader: 404},
		{route: "POST /dataCollectionRules/{dcrImmutableId}/streams/{stream}", path: "/dataCollectionRules/dcr-" + strings.ReplaceAll(missing, "-", "") + "/streams/Custom-X" + vIngest, body: []any{}, owner: 404, code: "NotFound"},

		// Public routes.
		{route: "GET /{tenantId}/v2.0/.well-known/openid-configuration", path: "/" + env.TenantID + "/v2.0/.well-known/openid-configuration", owner: 200, reader: 200, none: 200, other: 200},
		{route: "POST /{tenantId}/oauth2/v2.0/token", path: "/" + env.TenantID + "/oauth2/v2.0/token", body: "", owner: 400, reader: 400, none: 400, other: 400},
	}
	// Every route has a row; every row names a route.
	routes := map[string]bool{}
	for _, r := range env.Server.Router.Routes() {
		routes[r.Method+" "+r.Pattern] = true
	}
	covered := map[string]bool{}
	for _, c := range cases {
		if !routes[c.route] {
			t.Errorf("row for %s, which is no route", c.route)
		}
		covered[c.route] = true
	}
	for r := range routes {
		if !covered[r] {
			t.Errorf("route %s has no row in the matrix", r)
		}
	}
	for i, c := range cases {
		method, _, _ := strings.Cut(c.route, " ")
		write := method != http.MethodGet && method != http.MethodHead
		want := map[string]int{"owner": c.owner, "reader": c.reader, "none": c.none, "other": c.other}
		if want["reader"] == 0 {
			want["reader"] = c.owner
			if write {
				want["reader"] = http.StatusForbidden
			}
		}
		if want["none"] == 0 {
			want["none"] = http.StatusForbidden
		}
		if want["other"] == 0 {
			want["other"] = http.StatusUnauthorized
		}
		// Denials first: the owner's request may change what exists.
		for _, who := range []string{"other", "none", "reader", "owner"} {
			resp, body := doRaw(env, method, c.path, tok[who], c.body)
			code := servertest.ErrorCode(body)
			wantCode := ""
			switch {
			case want[who] == http.StatusForbidden && who != "owner":
				wantCode = "AuthorizationFailed"
			case want[who] == http.StatusUnauthorized && who == "other":
				wantCode = "InvalidAuthenticationTokenTenant"
			case want[who] == c.owner && c.code != "":
				wantCode = c.code
			}
			if method == http.MethodHead {
				wantCode = "" // no body
			}
			if resp.StatusCode != want[who] || wantCode != "" && code != wantCode {
				t.Errorf("row %d %s %s as %s: %d %s, want %d %s: %.200s", i, method, c.path, who, resp.StatusCode, code, want[who], wantCode, body)
			}
		}
	}
	// Paths no route serves.
	for _, p := range []string{subP + sec + "/noSuchType" + vAlert, subP + "/providers/Microsoft.NoSuchProvider/things" + vAlert, "/noSuchRoot"} {
		for who, tk := range tok {
			resp, body := env.Do(http.MethodGet, p, tk, nil)
			if resp.StatusCode != http.StatusNotFound || servertest.ErrorCode(body) != "NotFound" {
				t.Errorf("GET %s as %s: %d %s, want 404 NotFound", p, who, resp.StatusCode, body)
			}
		}
	}
}

// doRaw sends a request whose body is JSON, or sent as is when it is a
// string (empty: no body).
func doRaw(env *servertest.Env, method, path, token string, body any) (*http.Response, []byte) {
	if s, ok := body.(string); ok {
		req, err := http.NewRequest(method, env.URL+path, strings.NewReader(s))
		if err != nil {
			panic(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := env.Client.Do(req)
		if err != nil {
			return &http.Response{StatusCode: 599}, []byte(err.Error())
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp, out
	}
	return env.Do(method, path, token, body)
}
