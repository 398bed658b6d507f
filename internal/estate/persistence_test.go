package estate_test

import (
	"context"
	"maps"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/managementgroups/armmanagementgroups"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"sluice/internal/estate"
	"sluice/internal/server/servertest"
)

// TestEstateSurvivesRestart writes the estate through one server, stops it,
// and reads it back through a second server on the same data directory.
func TestEstateSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	var sub, tenant, token string
	tags := map[string]string{"env": "prod", "owner": "team-a"}

	ok := t.Run("first", func(t *testing.T) {
		env := servertest.New(t, servertest.WithData(dir), servertest.WithDemo())
		tenant, token = env.TenantID, env.Token
		mg, subs := groupClients(t, env)
		createGroup(ctx, t, mg, "persisted-parent", "Persisted Parent", "")
		createGroup(ctx, t, mg, "persisted-child", "Persisted Child", "persisted-parent")
		sub = registerSubscription(t, env, "Persisted Subscription", nil)
		if _, err := subs.Create(ctx, "persisted-child", sub, nil); err != nil {
			t.Fatal(err)
		}
		rgs := rgClient(t, env, sub)
		if _, err := rgs.CreateOrUpdate(ctx, "Persisted-RG", armresources.ResourceGroup{Location: to.Ptr("westeurope"), Tags: ptrs(tags)}, nil); err != nil {
			t.Fatal(err)
		}
		// Deletions persist too: a demo resource group and a demo subscription.
		poller, err := rgClient(t, env, demoSub).BeginDelete(ctx, "web-prod", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := poller.PollUntilDone(ctx, nil); err != nil {
			t.Fatal(err)
		}
		expectStatus(t, send(t, env, http.MethodDelete, withVersion("/subscriptions/"+demoSubShared, subVersion), env.Token, nil), http.StatusOK)
	})
	if !ok {
		t.FailNow()
	}

	t.Run("second", func(t *testing.T) {
		// --demo again: the demo estate is seeded once, so the deletions stay.
		env := servertest.New(t, servertest.WithData(dir), servertest.WithDemo())
		if env.TenantID != tenant {
			t.Fatalf("tenant %s after restart, was %s", env.TenantID, tenant)
		}
		// A token issued before the restart is still good.
		r := send(t, env, http.MethodGet, withVersion("/subscriptions/"+sub, subVersion), token, nil)
		expectStatus(t, r, http.StatusOK)

		mg, subs := groupClients(t, env)
		child, err := mg.Get(ctx, "persisted-child", nil)
		if err != nil {
			t.Fatal(err)
		}
		if str(child.Properties.DisplayName) != "Persisted Child" || str(child.Properties.Details.Parent.ID) != estate.GroupID("persisted-parent") {
			t.Errorf("child after restart: %q parent %+v", str(child.Properties.DisplayName), child.Properties.Details.Parent)
		}
		parent, err := mg.Get(ctx, "persisted-parent", &armmanagementgroups.ClientGetOptions{Expand: to.Ptr(armmanagementgroups.ManagementGroupExpandTypeChildren)})
		if err != nil {
			t.Fatal(err)
		}
		if kids := childNames(parent.ManagementGroup); len(kids) != 1 || kids["persisted-child"] == "" {
			t.Errorf("children of persisted-parent after restart: %v", kids)
		}
		if _, err := subs.GetSubscription(ctx, "persisted-child", sub, nil); err != nil {
			t.Errorf("subscription no longer under persisted-child: %v", err)
		}

		s, err := subscriptionsClient(t, env).Get(ctx, sub, nil)
		if err != nil {
			t.Fatal(err)
		}
		if str(s.DisplayName) != "Persisted Subscription" || str(s.TenantID) != tenant {
			t.Errorf("subscription after restart: %q tenant %s", str(s.DisplayName), str(s.TenantID))
		}
		_, err = subscriptionsClient(t, env).Get(ctx, demoSubShared, nil)
		responseError(t, err, http.StatusNotFound, "SubscriptionNotFound")

		rg, err := rgClient(t, env, sub).Get(ctx, "persisted-rg", nil)
		if err != nil {
			t.Fatal(err)
		}
		if str(rg.Name) != "Persisted-RG" || str(rg.Location) != "westeurope" || !maps.Equal(deref(rg.Tags), tags) {
			t.Errorf("resource group after restart: %s %s %v", str(rg.Name), str(rg.Location), deref(rg.Tags))
		}
		ex, err := rgClient(t, env, demoSub).CheckExistence(ctx, "web-prod", nil)
		if err != nil || ex.Success {
			t.Errorf("deleted demo group web-prod after restart: exists %v, %v", ex.Success, err)
		}
		ex, err = rgClient(t, env, demoSub).CheckExistence(ctx, "data-prod", nil)
		if err != nil || !ex.Success {
			t.Errorf("demo group data-prod after restart: exists %v, %v", ex.Success, err)
		}
	})
}
