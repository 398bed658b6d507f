package estate_test

import (
	"context"
	"net/http"
	"testing"

	"sluice/internal/auth"
	"sluice/internal/estate"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

// TestMoveSubscription_needs_rights_on_the_subscription: Owner of one
// management group cannot pull a subscription it has no rights on into
// that group (or push it out), while the tenant administrator can.
func TestMoveSubscription_needs_rights_on_the_subscription(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	ctx := context.Background()
	const groupOwner = "4b6f0c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"
	q := "?api-version=2021-04-01"
	if resp, body := env.Do(http.MethodPut, "/providers/Microsoft.Management/managementGroups/mine"+q, env.Token,
		`{"properties":{"displayName":"Mine"}}`); resp.StatusCode/100 != 2 {
		t.Fatalf("create group: %d %s", resp.StatusCode, body)
	}
	scope := estate.GroupID("mine")
	err := env.Server.Store.Update(ctx, func(tx store.Tx) error {
		return auth.PutRoleAssignment(ctx, tx, &auth.RoleAssignment{
			ID:    scope + "/providers/Microsoft.Authorization/roleAssignments/" + groupOwner,
			Scope: scope, PrincipalID: groupOwner, TenantID: env.TenantID,
			RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleOwner})
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := env.TokenFor(env.TenantID, groupOwner)
	move := "/providers/Microsoft.Management/managementGroups/mine/subscriptions/" + demoSub + q
	resp, body := env.Do(http.MethodPut, move, tok, nil)
	if resp.StatusCode != http.StatusForbidden || servertest.ErrorCode(body) != "AuthorizationFailed" {
		t.Fatalf("group owner moving a foreign subscription: %d %s", resp.StatusCode, body)
	}
	if resp, body := env.Do(http.MethodPut, move, env.Token, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("administrator move: %d %s", resp.StatusCode, body)
	}
	// Now inside "mine", the group owner holds rights on it and may move it out.
	if resp, body := env.Do(http.MethodDelete, move, tok, nil); resp.StatusCode/100 != 2 {
		t.Fatalf("group owner moving its own subscription out: %d %s", resp.StatusCode, body)
	}
}
