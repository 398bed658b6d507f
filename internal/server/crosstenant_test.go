package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"sluice/internal/amqptest"
	"sluice/internal/auth"
	"sluice/internal/estate"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

const (
	otherTenant = "7c0ffee0-0000-4000-8000-00000000000b"
	otherSub    = "7c0ffee0-5ab5-4000-8000-00000000000b"
)

// addSecondTenant stores a second tenant with one subscription (there is
// no route that creates tenants).
func addSecondTenant(t *testing.T, env *servertest.Env) {
	t.Helper()
	ctx := context.Background()
	err := env.Server.Store.Update(ctx, func(tx store.Tx) error {
		if err := estate.CreateTenant(ctx, tx, otherTenant, "Fabrikam"); err != nil {
			return err
		}
		return estate.PutSubscription(ctx, tx, &estate.Subscription{SubscriptionID: otherSub, DisplayName: "Fabrikam SIEM",
			TenantID: otherTenant, ManagementGroupID: otherTenant, State: "Enabled", Created: time.Now().UTC()})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestExport_cross_tenant_target: an automation of the default tenant
// whose Event Hub lies in a subscription of another tenant is accepted
// through the API and delivers with the action's own connection string.
func TestExport_cross_tenant_target(t *testing.T) {
	hub := amqptest.Start(t, amqptest.Options{Hub: "fabrikam-exports"})
	env := servertest.New(t, servertest.WithDemo())
	addSecondTenant(t, env)
	// The target's subscription really is outside the caller's tenant.
	resp, body := env.Do(http.MethodGet, "/subscriptions/"+otherSub+"?api-version=2022-12-01", env.Token, nil)
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("the default tenant's administrator reads the other tenant's subscription: %s", body)
	}
	otherAdmin := env.TokenFor(otherTenant, "0ff1ce00-0000-4000-8000-00000000000b")
	if resp, _ := env.Do(http.MethodGet, "/subscriptions/"+sinkSub+"?api-version=2022-12-01", otherAdmin, nil); resp.StatusCode == http.StatusOK {
		t.Fatal("a principal of the other tenant reads the default tenant's subscription")
	}

	target := "/subscriptions/" + otherSub + "/resourceGroups/siem/providers/Microsoft.EventHub/namespaces/fabrikam/eventhubs/fabrikam-exports"
	action := map[string]any{"actionType": "EventHub", "eventHubResourceId": target, "connectionString": hub.ConnectionString()}
	autoBody, _ := json.Marshal(map[string]any{"location": "westeurope", "properties": map[string]any{"isEnabled": true,
		"scopes":  []any{map[string]any{"scopePath": "/subscriptions/" + sinkSub}},
		"sources": []any{map[string]any{"eventSource": "Assessments"}}, "actions": []any{action}}})
	put := func(aux string) (*http.Response, []byte) {
		req, err := http.NewRequest(http.MethodPut, env.URL+"/subscriptions/"+sinkSub+"/resourceGroups/"+sinkRG+
			"/providers/Microsoft.Security/automations/ExportCrossTenant?api-version=2023-12-01-preview", bytes.NewReader(autoBody))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+env.Token)
		req.Header.Set("Content-Type", "application/json")
		if aux != "" {
			req.Header.Set("x-ms-authorization-auxiliary", "Bearer "+aux)
		}
		resp, err := env.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp, out
	}
	// Without a token of the target's tenant, or with one lacking rights
	// there, the write is refused and says what is missing.
	for _, aux := range []string{"", otherAdmin} {
		resp, out := put(aux)
		if resp.StatusCode != http.StatusForbidden || servertest.ErrorCode(out) != "LinkedAuthorizationFailed" ||
			!strings.Contains(string(out), "x-ms-authorization-auxiliary") {
			t.Fatalf("cross-tenant target (auxiliary token sent: %t): %d %s", aux != "", resp.StatusCode, out)
		}
	}
	if resp, out := put("not-a-token"); resp.StatusCode != http.StatusUnauthorized || servertest.ErrorCode(out) != "InvalidAuthenticationTokenAuxiliary" {
		t.Fatalf("malformed auxiliary token: %d %s", resp.StatusCode, out)
	}
	// The other tenant's principal holds Contributor on its subscription:
	// with its token as the auxiliary one the write is accepted.
	err := env.Server.Store.Update(context.Background(), func(tx store.Tx) error {
		return auth.PutRoleAssignment(context.Background(), tx, &auth.RoleAssignment{
			ID:    "/subscriptions/" + otherSub + "/providers/Microsoft.Authorization/roleAssignments/0ff1ce00-0000-4000-8000-00000000000b",
			Scope: "/subscriptions/" + otherSub, PrincipalID: "0ff1ce00-0000-4000-8000-00000000000b", TenantID: otherTenant,
			RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleContributor})
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp, out := put(otherAdmin); resp.StatusCode != http.StatusCreated {
		t.Fatalf("cross-tenant target with an auxiliary token: %d %s", resp.StatusCode, out)
	}
	path := "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.Security/automations/ExportCrossTenant?api-version=2019-01-01-preview"
	resp, body = env.Do(http.MethodGet, path, env.Token, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), target) {
		t.Fatalf("get: %d %s", resp.StatusCode, body)
	}
	id := ingestAssessment(t, env, "Unhealthy")
	waitFor(t, "the assessment's event on the other tenant's hub", func() bool {
		for _, m := range hub.AllMessages() {
			if strings.EqualFold(assessmentBodyID(t, m.Body), id) {
				return true
			}
		}
		return false
	})
}

// TestExport_cross_tenant_scope_refused: targets may lie in another
// tenant, scopes may not (a scope is the automation's own subscription or
// a resource group in it).
func TestExport_cross_tenant_scope_refused(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	addSecondTenant(t, env)
	body := map[string]any{
		"location": "westeurope",
		"properties": map[string]any{
			"scopes":  []any{map[string]any{"scopePath": "/subscriptions/" + otherSub}},
			"sources": []any{map[string]any{"eventSource": "Assessments"}},
			"actions": []any{map[string]any{"actionType": "Webhook", "uri": "https://siem.fabrikam.example/in", "signingKey": "0123456789abcdef0123"}},
		},
	}
	path := "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.Security/automations/ScopeElsewhere?api-version=2023-12-01-preview"
	resp, out := env.Do(http.MethodPut, path, env.Token, body)
	if resp.StatusCode != http.StatusBadRequest || servertest.ErrorCode(out) != "InvalidScope" {
		t.Fatalf("put: %d %s", resp.StatusCode, out)
	}
}
