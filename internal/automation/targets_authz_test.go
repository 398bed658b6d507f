package automation_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"sluice/internal/auth"
	"sluice/internal/server/servertest"
)

func assignRole(t *testing.T, env *servertest.Env, scope, principal, role string) {
	t.Helper()
	resp, body := env.Do(http.MethodPut, scope+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2022-04-01",
		env.Token, map[string]any{"properties": map[string]any{"principalId": principal,
			"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/" + role}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("assign %s at %s: %d %s", role, scope, resp.StatusCode, body)
	}
}

// TestTargetPermissions: writing an automation needs write permission on
// each target (or the documented alternative), and a denial names both.
func TestTargetPermissions(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	user := uuid.NewString()
	tok := env.TokenFor(env.TenantID, user)
	assignRole(t, env, "/subscriptions/"+sub, user, auth.RoleSecurityAdmin)
	base := "/subscriptions/" + sub + "/resourceGroups/"
	logic := base + otherRG + "/providers/Microsoft.Logic/workflows/wf"
	hub := base + "network-prod/providers/Microsoft.EventHub/namespaces/ns/eventhubs/hub"
	ws := base + "network-prod/providers/Microsoft.OperationalInsights/workspaces/ws1"
	actions := map[string]map[string]any{
		"LogicApp":  {"actionType": "LogicApp", "logicAppResourceId": logic, "uri": "https://example.invalid/trigger?sig=abc"},
		"EventHub":  {"actionType": "EventHub", "eventHubResourceId": hub, "connectionString": testConnString},
		"Workspace": {"actionType": "Workspace", "workspaceResourceId": ws},
	}
	put := func(name string, action map[string]any, token string) (int, string) {
		resp, body := env.Do(http.MethodPut, base+rg+"/providers/Microsoft.Security/automations/"+name+"?api-version="+v2023,
			token, withAction(action))
		return resp.StatusCode, string(body)
	}
	for _, c := range []struct {
		kind, perm, target, grantScope, role string
	}{
		{"LogicApp", "Microsoft.Logic/workflows/write", logic, base + otherRG, auth.RoleContributor},
		{"EventHub", "Microsoft.EventHub/namespaces/eventhubs/write", hub, hub, auth.RoleContributor},
		// Read on the SecurityCenterFree solution suffices for a workspace.
		{"Workspace", "Microsoft.OperationalInsights/workspaces/write", ws,
			base + "network-prod/providers/Microsoft.OperationsManagement/solutions/SecurityCenterFree(ws1)", auth.RoleReader},
	} {
		st, body := put("t-"+c.kind, actions[c.kind], tok)
		if st != http.StatusForbidden || !strings.Contains(body, c.perm) || !strings.Contains(body, c.target) {
			t.Errorf("%s without rights on the target: %d %s", c.kind, st, body)
		}
		// PATCH with the same target is refused too.
		resp, pbody := env.Do(http.MethodPatch, base+rg+"/providers/Microsoft.Security/automations/t-"+c.kind+"?api-version="+v2023,
			tok, map[string]any{"properties": map[string]any{"actions": []any{actions[c.kind]}}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s PATCH without rights: %d %s", c.kind, resp.StatusCode, pbody)
		}
		assignRole(t, env, c.grantScope, user, c.role)
		if st, body := put("t-"+c.kind, actions[c.kind], tok); st != http.StatusCreated {
			t.Errorf("%s with rights on the target: %d %s", c.kind, st, body)
		}
	}
	// The tenant's Owner may target anything in the tenant.
	if st, body := put("owner", actions["LogicApp"], env.Token); st != http.StatusCreated {
		t.Errorf("owner: %d %s", st, body)
	}
	// A reader of the resource group may not write automations at all.
	reader := uuid.NewString()
	assignRole(t, env, "/subscriptions/"+sub, reader, auth.RoleReader)
	if st, _ := put("reader", actions["LogicApp"], env.TokenFor(env.TenantID, reader)); st != http.StatusForbidden {
		t.Errorf("reader: %d", st)
	}
}
