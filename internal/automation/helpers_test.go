package automation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice/internal/auth"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

const (
	sub      = server.DemoSubProduction
	rg       = "web-prod"
	otherRG  = "data-prod"
	otherSub = server.DemoSubShared
	v2023    = "2023-12-01-preview"
	v2019    = "2019-01-01-preview"
)

func automationPath(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Security/automations/" + name
}

func withVersion(path, version string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "api-version=" + version
}

// do sends a request with the administrator's token.
func do(t *testing.T, env *servertest.Env, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	return env.Do(method, path, env.Token, body)
}

func mustStatus(t *testing.T, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
}

func decodeJSON(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return m
}

func readSample(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, data)
}

// registerSubscription adds a subscription with one resource group to the
// estate (Sluice's PUT /subscriptions extension).
func registerSubscription(t *testing.T, env *servertest.Env, subID, rgName string) {
	t.Helper()
	resp, body := do(t, env, http.MethodPut, "/subscriptions/"+subID+"?api-version=2022-12-01", map[string]any{"displayName": "test " + subID})
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("register subscription: %d %s", resp.StatusCode, body)
	}
	if rgName != "" {
		createRG(t, env, subID, rgName)
	}
}

// createRG creates a resource group in the estate.
func createRG(t *testing.T, env *servertest.Env, subID, rgName string) {
	t.Helper()
	resp, body := do(t, env, http.MethodPut, "/subscriptions/"+subID+"/resourcegroups/"+rgName+"?api-version=2021-04-01", map[string]any{"location": "centralus"})
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("create resource group: %d %s", resp.StatusCode, body)
	}
}

// minimal is a valid automation body for sub with one LogicApp action.
func minimal(sub string) map[string]any {
	return map[string]any{
		"location": "westeurope",
		"properties": map[string]any{
			"isEnabled": true,
			"scopes":    []any{map[string]any{"scopePath": "/subscriptions/" + sub}},
			"sources":   []any{map[string]any{"eventSource": "Alerts"}},
			"actions": []any{map[string]any{"actionType": "LogicApp",
				"logicAppResourceId": "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Logic/workflows/wf",
				"uri":                "https://example.invalid/trigger?sig=abc"}},
		},
	}
}

// trustSluice lets Sluice's own principal send to every Event Hub of the
// demo subscriptions (Azure Event Hubs Data Sender), as trusted-service
// exports require.
func trustSluice(t testing.TB, env *servertest.Env) {
	t.Helper()
	err := env.Server.Store.Update(context.Background(), func(tx store.Tx) error {
		for _, s := range []string{sub, otherSub} {
			scope := "/subscriptions/" + s
			if err := auth.PutRoleAssignment(context.Background(), tx, &auth.RoleAssignment{
				ID:    scope + "/providers/Microsoft.Authorization/roleAssignments/" + auth.SecurityResourceProviderID,
				Scope: scope, PrincipalID: auth.SecurityResourceProviderID, TenantID: env.TenantID,
				RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleAzureEventHubsDataSender}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
