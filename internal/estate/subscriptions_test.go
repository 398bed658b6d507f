package estate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
	"github.com/google/uuid"

	"sluice/internal/estate"
	"sluice/internal/server/servertest"
)

func subscriptionsClient(t *testing.T, env *servertest.Env) *armsubscriptions.Client {
	t.Helper()
	c, err := armsubscriptions.NewClient(env.Cred(), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSubscriptionsGet(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	ctx := context.Background()
	c := subscriptionsClient(t, env)

	got, err := c.Get(ctx, demoSub, nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(got.SubscriptionID) != demoSub || str(got.DisplayName) != "Contoso Production" ||
		str(got.TenantID) != env.TenantID || got.State == nil || *got.State != armsubscriptions.SubscriptionStateEnabled {
		t.Errorf("subscription %s: name %q tenant %s state %v", str(got.SubscriptionID), str(got.DisplayName), str(got.TenantID), got.State)
	}
	if str(got.ID) != "/subscriptions/"+demoSub || str(got.AuthorizationSource) == "<nil>" || got.SubscriptionPolicies == nil {
		t.Errorf("id %s authorizationSource %s policies %+v", str(got.ID), str(got.AuthorizationSource), got.SubscriptionPolicies)
	}

	// Ids are case-insensitive; the answer keeps the canonical lower case.
	got, err = c.Get(ctx, strings.ToUpper(demoSub), nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(got.SubscriptionID) != demoSub {
		t.Errorf("upper-case get answered %s", str(got.SubscriptionID))
	}

	missing := uuid.NewString()
	_, err = c.Get(ctx, missing, nil)
	re := responseError(t, err, http.StatusNotFound, "SubscriptionNotFound")
	if !strings.Contains(re.Error(), missing) {
		t.Errorf("message does not name the subscription: %v", re)
	}
}

func TestSubscriptionsRegisterListDelete(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	ctx := context.Background()
	c := subscriptionsClient(t, env)

	// 201 on registration, 200 on a second PUT (which updates).
	id := uuid.NewString()
	path := withVersion("/subscriptions/"+id, subVersion)
	r := send(t, env, http.MethodPut, path, env.Token, map[string]string{"displayName": "First Name"})
	expectStatus(t, r, http.StatusCreated)
	var body struct {
		SubscriptionID    string `json:"subscriptionId"`
		DisplayName       string `json:"displayName"`
		TenantID          string `json:"tenantId"`
		State             string `json:"state"`
		ManagementGroupID string `json:"managementGroupId"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.SubscriptionID != id || body.TenantID != env.TenantID || body.State != "Enabled" ||
		body.ManagementGroupID != estate.GroupID(env.TenantID) {
		t.Errorf("registered: %s", r.Body)
	}
	r = send(t, env, http.MethodPut, path, env.Token, map[string]string{"displayName": "Second Name"})
	expectStatus(t, r, http.StatusOK)
	got, err := c.Get(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(got.DisplayName) != "Second Name" {
		t.Errorf("display name after update %q", str(got.DisplayName))
	}

	// Registration under a named group, by name or by id.
	inGroup := registerSubscription(t, env, "In Group", map[string]string{"managementGroupId": demoGroup})
	inGroupByID := registerSubscription(t, env, "In Group By Id", map[string]string{"managementGroupId": estate.GroupID(demoGroup), "tenantId": env.TenantID})
	for _, s := range []string{inGroup, inGroupByID} {
		r := send(t, env, http.MethodGet, withVersion(mgPath(demoGroup)+"/subscriptions/"+s, mgVersion), env.Token, nil)
		expectStatus(t, r, http.StatusOK)
	}

	// An update that names no group leaves the subscription where it is; one
	// that names a group moves it.
	r = send(t, env, http.MethodPut, withVersion("/subscriptions/"+inGroup, subVersion), env.Token, map[string]string{"displayName": "In Group, renamed"})
	expectStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), `"managementGroupId":"`+estate.GroupID(demoGroup)+`"`) {
		t.Errorf("an update without managementGroupId moved the subscription: %s", r.Body)
	}
	r = send(t, env, http.MethodPut, withVersion("/subscriptions/"+inGroup, subVersion), env.Token,
		map[string]string{"displayName": "In Group, renamed", "managementGroupId": "contoso-development"})
	expectStatus(t, r, http.StatusOK)
	r = send(t, env, http.MethodGet, withVersion(mgPath("contoso-development")+"/subscriptions/"+inGroup, mgVersion), env.Token, nil)
	expectStatus(t, r, http.StatusOK)

	// More subscriptions than one page (the default page size is 100).
	want := map[string]bool{id: true, inGroup: true, inGroupByID: true, demoSub: true, demoSubDev: true, demoSubShared: true}
	for i := len(want); i < 130; i++ {
		want[registerSubscription(t, env, fmt.Sprintf("Paged %03d", i), nil)] = true
	}
	seen := map[string]int{}
	pages := 0
	pager := c.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		for _, s := range page.Value {
			sid := str(s.SubscriptionID)
			seen[sid]++
			if str(s.TenantID) != env.TenantID || s.State == nil || *s.State != armsubscriptions.SubscriptionStateEnabled ||
				str(s.DisplayName) == "" || str(s.ID) != "/subscriptions/"+sid {
				t.Errorf("listed subscription %s: tenant %s state %v name %q id %s", sid, str(s.TenantID), s.State, str(s.DisplayName), str(s.ID))
			}
		}
	}
	if pages < 2 {
		t.Errorf("%d subscriptions in %d page(s), want at least 2", len(want), pages)
	}
	for s := range want {
		if seen[s] != 1 {
			t.Errorf("subscription %s listed %d times, want once", s, seen[s])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("listed %d distinct subscriptions, want %d", len(seen), len(want))
	}

	// Deletion removes the subscription and its resource groups.
	rgs, err := armresources.NewResourceGroupsClient(id, env.Cred(), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rgs.CreateOrUpdate(ctx, "doomed", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
	r = send(t, env, http.MethodDelete, path, env.Token, nil)
	expectStatus(t, r, http.StatusOK)
	_, err = c.Get(ctx, id, nil)
	responseError(t, err, http.StatusNotFound, "SubscriptionNotFound")
	r = send(t, env, http.MethodDelete, path, env.Token, nil)
	expectError(t, r, http.StatusNotFound, "SubscriptionNotFound", id)

	// Registered again, it starts empty.
	r = send(t, env, http.MethodPut, path, env.Token, map[string]string{"displayName": "Reborn"})
	expectStatus(t, r, http.StatusCreated)
	_, err = rgs.Get(ctx, "doomed", nil)
	responseError(t, err, http.StatusNotFound, "ResourceGroupNotFound")
	pg := rgs.NewListPager(nil)
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Value) != 0 {
			t.Errorf("re-registered subscription has %d resource groups", len(page.Value))
		}
	}
}
