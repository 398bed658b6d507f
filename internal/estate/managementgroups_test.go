package estate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/managementgroups/armmanagementgroups"

	"sluice/internal/estate"
	"sluice/internal/server/servertest"
)

func groupClients(t *testing.T, env *servertest.Env) (*armmanagementgroups.Client, *armmanagementgroups.ManagementGroupSubscriptionsClient) {
	t.Helper()
	c, err := armmanagementgroups.NewClient(env.Cred(), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := armmanagementgroups.NewManagementGroupSubscriptionsClient(env.Cred(), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c, sc
}

func createGroup(ctx context.Context, t *testing.T, c *armmanagementgroups.Client, name, display, parent string) armmanagementgroups.ManagementGroup {
	t.Helper()
	req := armmanagementgroups.CreateManagementGroupRequest{
		Properties: &armmanagementgroups.CreateManagementGroupProperties{DisplayName: to.Ptr(display)},
	}
	if parent != "" {
		req.Properties.Details = &armmanagementgroups.CreateManagementGroupDetails{
			Parent: &armmanagementgroups.CreateParentGroupInfo{ID: to.Ptr(estate.GroupID(parent))},
		}
	}
	poller, err := c.BeginCreateOrUpdate(ctx, name, req, nil)
	if err != nil {
		t.Fatalf("create group %s: %v", name, err)
	}
	if !poller.Done() {
		t.Errorf("create group %s: the poller is not done after the first response", name)
	}
	res, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatalf("create group %s: poll: %v", name, err)
	}
	return res.ManagementGroup
}

func deleteGroup(ctx context.Context, c *armmanagementgroups.Client, name string) error {
	poller, err := c.BeginDelete(ctx, name, nil)
	if err != nil {
		return err
	}
	_, err = poller.PollUntilDone(ctx, nil)
	return err
}

// childNames maps the children of a group (from $expand=children) to their
// types.
func childNames(g armmanagementgroups.ManagementGroup) map[string]string {
	out := map[string]string{}
	if g.Properties == nil {
		return out
	}
	for _, c := range g.Properties.Children {
		typ := ""
		if c.Type != nil {
			typ = string(*c.Type)
		}
		out[strings.ToLower(str(c.Name))] = typ
	}
	return out
}

func TestManagementGroupsLifecycle(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	ctx := context.Background()
	c, sc := groupClients(t, env)
	rootID := estate.GroupID(env.TenantID)

	parent := createGroup(ctx, t, c, "mg-parent", "Parent Group", "")
	if str(parent.Name) != "mg-parent" || str(parent.Properties.DisplayName) != "Parent Group" {
		t.Fatalf("created %s %q", str(parent.Name), str(parent.Properties.DisplayName))
	}
	if str(parent.ID) != estate.GroupID("mg-parent") || str(parent.Type) != "Microsoft.Management/managementGroups" {
		t.Errorf("id %s type %s", str(parent.ID), str(parent.Type))
	}
	if str(parent.Properties.TenantID) != env.TenantID {
		t.Errorf("tenantId %s, want %s", str(parent.Properties.TenantID), env.TenantID)
	}
	if p := parent.Properties.Details.Parent; p == nil || !strings.EqualFold(str(p.ID), rootID) {
		t.Fatalf("parent of a group created without one: %+v, want the root %s", p, rootID)
	}

	child := createGroup(ctx, t, c, "mg-child", "Child Group", "mg-parent")
	if p := child.Properties.Details.Parent; p == nil || str(p.ID) != estate.GroupID("mg-parent") || str(p.DisplayName) != "Parent Group" {
		t.Fatalf("child's parent %+v", p)
	}

	// Get, plain and with $expand=children.
	got, err := c.Get(ctx, "MG-PARENT", nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(got.Name) != "mg-parent" || len(got.Properties.Children) != 0 {
		t.Errorf("get without $expand: name %s, %d children", str(got.Name), len(got.Properties.Children))
	}
	got, err = c.Get(ctx, "mg-parent", &armmanagementgroups.ClientGetOptions{Expand: to.Ptr(armmanagementgroups.ManagementGroupExpandTypeChildren)})
	if err != nil {
		t.Fatal(err)
	}
	if kids := childNames(got.ManagementGroup); len(kids) != 1 || kids["mg-child"] != string(armmanagementgroups.ManagementGroupChildTypeMicrosoftManagementManagementGroups) {
		t.Errorf("children of mg-parent: %v", kids)
	}

	// Update through a second PUT: new display name, 200, parent kept.
	renamed := createGroup(ctx, t, c, "mg-parent", "Parent Group (renamed)", "")
	if str(renamed.Properties.DisplayName) != "Parent Group (renamed)" {
		t.Errorf("renamed display name %q", str(renamed.Properties.DisplayName))
	}

	// Move a subscription under the child group and back out.
	sub := registerSubscription(t, env, "Moving Subscription", nil)
	moved, err := sc.Create(ctx, "mg-child", sub, nil)
	if err != nil {
		t.Fatalf("move subscription: %v", err)
	}
	if str(moved.Name) != sub || moved.Properties == nil || str(moved.Properties.Parent.ID) != estate.GroupID("mg-child") ||
		str(moved.Properties.DisplayName) != "Moving Subscription" || str(moved.Properties.Tenant) != env.TenantID ||
		str(moved.Properties.State) != "Enabled" {
		t.Errorf("moved subscription: %+v %+v", moved.SubscriptionUnderManagementGroup, moved.Properties)
	}
	under, err := sc.GetSubscription(ctx, "mg-child", sub, nil)
	if err != nil {
		t.Fatalf("get subscription under mg-child: %v", err)
	}
	if str(under.ID) != estate.GroupID("mg-child")+"/subscriptions/"+sub {
		t.Errorf("subscription under group id %s", str(under.ID))
	}
	_, err = sc.GetSubscription(ctx, "mg-parent", sub, nil)
	responseError(t, err, http.StatusNotFound, "SubscriptionNotFound")
	got, err = c.Get(ctx, "mg-child", &armmanagementgroups.ClientGetOptions{Expand: to.Ptr(armmanagementgroups.ManagementGroupExpandTypeChildren)})
	if err != nil {
		t.Fatal(err)
	}
	if kids := childNames(got.ManagementGroup); kids[sub] != string(armmanagementgroups.ManagementGroupChildTypeSubscriptions) {
		t.Errorf("children of mg-child: %v, want subscription %s", kids, sub)
	}
	// The subscription's own view names its new group.
	r := send(t, env, http.MethodGet, withVersion("/subscriptions/"+sub, subVersion), env.Token, nil)
	expectStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), `"managementGroupId":"`+estate.GroupID("mg-child")+`"`) {
		t.Errorf("subscription after the move: %s", r.Body)
	}

	// A group with a subscription, or with a child group, cannot be deleted.
	re := responseError(t, deleteGroup(ctx, c, "mg-child"), http.StatusBadRequest, "ManagementGroupHasChildren")
	if !strings.Contains(re.Error(), "subscriptions") {
		t.Errorf("message does not say what is left: %v", re)
	}
	re = responseError(t, deleteGroup(ctx, c, "mg-parent"), http.StatusBadRequest, "ManagementGroupHasChildren")
	if !strings.Contains(re.Error(), "groups") {
		t.Errorf("message does not say what is left: %v", re)
	}
	responseError(t, deleteGroup(ctx, c, env.TenantID), http.StatusBadRequest, "CannotDeleteRootManagementGroup")

	// Out of the group: back at the root.
	if _, err := sc.Delete(ctx, "mg-child", sub, nil); err != nil {
		t.Fatalf("remove subscription from group: %v", err)
	}
	if _, err := sc.GetSubscription(ctx, env.TenantID, sub, nil); err != nil {
		t.Fatalf("subscription is not back at the root: %v", err)
	}
	_, err = sc.GetSubscription(ctx, "mg-child", sub, nil)
	responseError(t, err, http.StatusNotFound, "SubscriptionNotFound")
	// Removing it again is idempotent and leaves it at the root.
	if _, err := sc.Delete(ctx, "mg-child", sub, nil); err != nil {
		t.Fatalf("second removal: %v", err)
	}
	if _, err := sc.GetSubscription(ctx, env.TenantID, sub, nil); err != nil {
		t.Fatalf("subscription left the root after a second removal: %v", err)
	}

	// Now the leaves can go, bottom up.
	if err := deleteGroup(ctx, c, "mg-child"); err != nil {
		t.Fatalf("delete mg-child: %v", err)
	}
	_, err = c.Get(ctx, "mg-child", nil)
	responseError(t, err, http.StatusNotFound, "ManagementGroupNotFound")
	if err := deleteGroup(ctx, c, "mg-parent"); err != nil {
		t.Fatalf("delete mg-parent: %v", err)
	}
	responseError(t, deleteGroup(ctx, c, "mg-parent"), http.StatusNotFound, "ManagementGroupNotFound")
}

func TestManagementGroupHierarchyRules(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	ctx := context.Background()
	c, _ := groupClients(t, env)

	// Six levels below the root are allowed, a seventh is not.
	parent := ""
	for i := 1; i <= 6; i++ {
		name := fmt.Sprintf("level-%d", i)
		createGroup(ctx, t, c, name, name, parent)
		parent = name
	}
	req := armmanagementgroups.CreateManagementGroupRequest{Properties: &armmanagementgroups.CreateManagementGroupProperties{
		Details: &armmanagementgroups.CreateManagementGroupDetails{Parent: &armmanagementgroups.CreateParentGroupInfo{ID: to.Ptr(estate.GroupID("level-6"))}},
	}}
	_, err := c.BeginCreateOrUpdate(ctx, "level-7", req, nil)
	responseError(t, err, http.StatusBadRequest, "TooManyLevels")

	// Moving a group under its own descendant would make a cycle.
	req.Properties.Details.Parent.ID = to.Ptr(estate.GroupID("level-3"))
	_, err = c.BeginCreateOrUpdate(ctx, "level-1", req, nil)
	responseError(t, err, http.StatusBadRequest, "InvalidParentId")
	req.Properties.Details.Parent.ID = to.Ptr(estate.GroupID("level-1"))
	_, err = c.BeginCreateOrUpdate(ctx, "level-1", req, nil)
	responseError(t, err, http.StatusBadRequest, "InvalidParentId")

	// A group with a level below it does not fit under level-5 (its child
	// would be at level 7), neither by PUT nor by PATCH; under level-4 it does.
	createGroup(ctx, t, c, "side-1", "side-1", "")
	createGroup(ctx, t, c, "side-2", "side-2", "side-1")
	req.Properties.Details.Parent.ID = to.Ptr(estate.GroupID("level-5"))
	_, err = c.BeginCreateOrUpdate(ctx, "side-1", req, nil)
	re := responseError(t, err, http.StatusBadRequest, "TooManyLevels")
	if !strings.Contains(re.Error(), "side-1") {
		t.Errorf("message does not name the moved group: %v", re)
	}
	_, err = c.Update(ctx, "side-1", armmanagementgroups.PatchManagementGroupRequest{ParentGroupID: to.Ptr(estate.GroupID("level-5"))}, nil)
	responseError(t, err, http.StatusBadRequest, "TooManyLevels")
	if _, err := c.Update(ctx, "side-1", armmanagementgroups.PatchManagementGroupRequest{ParentGroupID: to.Ptr(estate.GroupID("level-4"))}, nil); err != nil {
		t.Fatalf("move side-1 under level-4: %v", err)
	}

	// Re-parenting within the rules works and shows in the parent's children.
	moved := createGroup(ctx, t, c, "level-6", "level-6", "level-1")
	if str(moved.Properties.Details.Parent.ID) != estate.GroupID("level-1") {
		t.Errorf("moved level-6 has parent %s", str(moved.Properties.Details.Parent.ID))
	}
	got, err := c.Get(ctx, "level-1", &armmanagementgroups.ClientGetOptions{Expand: to.Ptr(armmanagementgroups.ManagementGroupExpandTypeChildren)})
	if err != nil {
		t.Fatal(err)
	}
	if kids := childNames(got.ManagementGroup); len(kids) != 2 || kids["level-2"] == "" || kids["level-6"] == "" {
		t.Errorf("children of level-1 after the move: %v", kids)
	}

	// The root keeps no parent even when a PUT names one.
	req.Properties.Details.Parent.ID = to.Ptr(estate.GroupID("level-1"))
	req.Properties.DisplayName = to.Ptr("Renamed Root")
	poller, err := c.BeginCreateOrUpdate(ctx, env.TenantID, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if root.Properties.Details != nil && root.Properties.Details.Parent != nil {
		t.Errorf("root group got a parent: %+v", root.Properties.Details.Parent)
	}
}

func TestManagementGroupsListPaging(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	ctx := context.Background()
	c, _ := groupClients(t, env)

	// The default page holds 100 groups; the root exists.
	const extra = 122
	want := map[string]bool{strings.ToLower(env.TenantID): true}
	for i := range extra {
		name := fmt.Sprintf("paged-%03d", i)
		r := send(t, env, http.MethodPut, withVersion(mgPath(name), mgVersion), env.Token,
			map[string]any{"properties": map[string]any{"displayName": "Paged " + name}})
		expectStatus(t, r, http.StatusOK)
		want[name] = true
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
		if len(page.Value) > 100 {
			t.Errorf("page %d holds %d groups, more than the default page size 100", pages, len(page.Value))
		}
		if page.NextLink != nil && *page.NextLink != "" {
			if !strings.HasPrefix(*page.NextLink, "https://") || !strings.Contains(*page.NextLink, "api-version="+mgVersion) {
				t.Errorf("nextLink %s is not an absolute https link with the api-version", *page.NextLink)
			}
		}
		for _, g := range page.Value {
			seen[strings.ToLower(str(g.Name))]++
			if g.Properties == nil || str(g.Properties.TenantID) != env.TenantID || str(g.Type) != "Microsoft.Management/managementGroups" {
				t.Errorf("listed group %s: %+v", str(g.Name), g.Properties)
			}
		}
	}
	if pages < 2 {
		t.Errorf("%d groups came in %d page(s), want at least 2", len(want), pages)
	}
	for name := range want {
		if seen[name] != 1 {
			t.Errorf("group %s listed %d times, want once", name, seen[name])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("listed %d distinct groups, want %d", len(seen), len(want))
	}

	// $top bounds the page; following nextLink by hand sees every group once.
	seen = map[string]int{}
	next := withVersion("/providers/Microsoft.Management/managementGroups?$top=7", mgVersion)
	for pages = 0; next != ""; pages++ {
		r := send(t, env, http.MethodGet, next, env.Token, nil)
		expectStatus(t, r, http.StatusOK)
		var l struct {
			Value []struct {
				Name string `json:"name"`
			} `json:"value"`
			NextLink string `json:"nextLink"`
		}
		if err := json.Unmarshal(r.Body, &l); err != nil {
			t.Fatal(err)
		}
		if len(l.Value) > 7 {
			t.Fatalf("page of %d with $top=7", len(l.Value))
		}
		for _, v := range l.Value {
			seen[strings.ToLower(v.Name)]++
		}
		next = strings.TrimPrefix(l.NextLink, env.URL)
		if l.NextLink != "" && next == l.NextLink {
			t.Fatalf("nextLink %s does not point at the server %s", l.NextLink, env.URL)
		}
	}
	if pages != (len(want)+6)/7 {
		t.Errorf("%d pages of 7 for %d groups", pages, len(want))
	}
	for name := range want {
		if seen[name] != 1 {
			t.Errorf("$top paging: group %s listed %d times", name, seen[name])
		}
	}
}

func TestManagementGroupUpdate(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithDemo())
	ctx := context.Background()
	c, sc := groupClients(t, env)
	createGroup(ctx, t, c, "upd-a", "A", "")
	createGroup(ctx, t, c, "upd-b", "B", "upd-a")

	// Rename only: the parent stays.
	got, err := c.Update(ctx, "UPD-B", armmanagementgroups.PatchManagementGroupRequest{DisplayName: to.Ptr("B renamed")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(got.Name) != "upd-b" || str(got.Properties.DisplayName) != "B renamed" || str(got.Properties.Details.Parent.ID) != estate.GroupID("upd-a") {
		t.Errorf("after rename: %s %q parent %+v", str(got.Name), str(got.Properties.DisplayName), got.Properties.Details.Parent)
	}
	// Move under a demo group.
	got, err = c.Update(ctx, "upd-b", armmanagementgroups.PatchManagementGroupRequest{ParentGroupID: to.Ptr(estate.GroupID(demoGroup))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(got.Properties.DisplayName) != "B renamed" || str(got.Properties.Details.Parent.ID) != estate.GroupID(demoGroup) {
		t.Errorf("after move: %q parent %+v", str(got.Properties.DisplayName), got.Properties.Details.Parent)
	}
	stored, err := c.Get(ctx, "upd-b", nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(stored.Properties.Details.Parent.ID) != estate.GroupID(demoGroup) || str(stored.Properties.DisplayName) != "B renamed" {
		t.Errorf("stored after PATCH: %q parent %+v", str(stored.Properties.DisplayName), stored.Properties.Details.Parent)
	}

	for _, tc := range []struct {
		group  string
		req    armmanagementgroups.PatchManagementGroupRequest
		status int
		code   string
	}{
		{"no-such-group", armmanagementgroups.PatchManagementGroupRequest{DisplayName: to.Ptr("x")}, http.StatusNotFound, "ManagementGroupNotFound"},
		{"upd-a", armmanagementgroups.PatchManagementGroupRequest{ParentGroupID: to.Ptr(estate.GroupID("no-such-parent"))}, http.StatusBadRequest, "ParentNotFound"},
		{"upd-a", armmanagementgroups.PatchManagementGroupRequest{ParentGroupID: to.Ptr("upd-b")}, http.StatusBadRequest, "InvalidParentId"},
		{"upd-a", armmanagementgroups.PatchManagementGroupRequest{ParentGroupID: to.Ptr(estate.GroupID("upd-a"))}, http.StatusBadRequest, "InvalidParentId"},
		{env.TenantID, armmanagementgroups.PatchManagementGroupRequest{ParentGroupID: to.Ptr(estate.GroupID("upd-a"))}, http.StatusBadRequest, "InvalidParentId"},
	} {
		_, err := c.Update(ctx, tc.group, tc.req, nil)
		responseError(t, err, tc.status, tc.code)
	}
	r := send(t, env, http.MethodPatch, withVersion(mgPath("upd-a"), mgVersion), env.Token, `{"parentGroupId": 7}`)
	expectError(t, r, http.StatusBadRequest, "InvalidRequestContent", "'parentGroupId'", "string")

	// The subscriptions directly under a group, through the client's pager.
	pager := sc.NewGetSubscriptionsUnderManagementGroupPager(demoGroup, nil)
	seen := map[string]string{}
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Value {
			seen[str(s.Name)] = str(s.Properties.DisplayName)
			if str(s.Properties.Parent.ID) != estate.GroupID(demoGroup) || str(s.Properties.Tenant) != env.TenantID {
				t.Errorf("subscription %s under %s: %+v", str(s.Name), demoGroup, s.Properties)
			}
		}
	}
	if len(seen) != 2 || seen[demoSub] != "Contoso Production" || seen[demoSubShared] != "Contoso Shared Services" {
		t.Errorf("subscriptions under %s: %v", demoGroup, seen)
	}
	_, err = sc.NewGetSubscriptionsUnderManagementGroupPager("no-such-group", nil).NextPage(ctx)
	responseError(t, err, http.StatusNotFound, "ManagementGroupNotFound")
}
