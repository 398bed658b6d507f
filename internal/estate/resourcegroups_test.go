package estate_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/google/uuid"

	"sluice/internal/server/servertest"
)

func rgClient(t *testing.T, env *servertest.Env, sub string) *armresources.ResourceGroupsClient {
	t.Helper()
	c, err := armresources.NewResourceGroupsClient(sub, env.Cred(), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResourceGroupsLifecycle(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	ctx := context.Background()
	sub := registerSubscription(t, env, "Resource Group Tests", nil)
	c := rgClient(t, env, sub)

	tags := map[string]string{"env": "prod", "owner": "team-a"}
	created, err := c.CreateOrUpdate(ctx, "App-RG", armresources.ResourceGroup{Location: to.Ptr("West Europe"), Tags: ptrs(tags)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantID := "/subscriptions/" + sub + "/resourceGroups/App-RG"
	if str(created.ID) != wantID || str(created.Name) != "App-RG" || str(created.Type) != "Microsoft.Resources/resourceGroups" ||
		str(created.Location) != "westeurope" || created.Properties == nil || str(created.Properties.ProvisioningState) != "Succeeded" {
		t.Errorf("created: id %s name %s type %s location %s props %+v", str(created.ID), str(created.Name), str(created.Type), str(created.Location), created.Properties)
	}
	if got := deref(created.Tags); !maps.Equal(got, tags) {
		t.Errorf("created tags %v, want %v", got, tags)
	}

	// A second PUT answers 200 and replaces the tags; the name keeps its
	// first spelling.
	r := send(t, env, http.MethodPut, withVersion(rgPath(sub, "app-rg"), rgVersion), env.Token,
		map[string]any{"location": "westeurope", "tags": map[string]string{"env": "prod"}})
	expectStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), `"name":"App-RG"`) {
		t.Errorf("second PUT renamed the group: %s", r.Body)
	}
	// A PUT in another location is refused.
	_, err = c.CreateOrUpdate(ctx, "app-rg", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil)
	re := responseError(t, err, http.StatusBadRequest, "InvalidResourceGroupLocation")
	if !strings.Contains(re.Error(), "westeurope") {
		t.Errorf("message does not name the existing location: %v", re)
	}

	got, err := c.Get(ctx, "APP-RG", nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(got.ID) != wantID || !maps.Equal(deref(got.Tags), map[string]string{"env": "prod"}) {
		t.Errorf("get: id %s tags %v", str(got.ID), deref(got.Tags))
	}

	for name, want := range map[string]bool{"app-rg": true, "App-RG": true, "missing-rg": false} {
		ex, err := c.CheckExistence(ctx, name, nil)
		if err != nil {
			t.Fatalf("check existence of %s: %v", name, err)
		}
		if ex.Success != want {
			t.Errorf("CheckExistence(%s) = %v, want %v", name, ex.Success, want)
		}
	}

	// PATCH replaces the tags and keeps the rest.
	upd, err := c.Update(ctx, "app-rg", armresources.ResourceGroupPatchable{Tags: ptrs(map[string]string{"env": "staging", "cost": "42"})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(deref(upd.Tags), map[string]string{"env": "staging", "cost": "42"}) || str(upd.Location) != "westeurope" {
		t.Errorf("updated: tags %v location %s", deref(upd.Tags), str(upd.Location))
	}
	got, err = c.Get(ctx, "app-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(deref(got.Tags), map[string]string{"env": "staging", "cost": "42"}) {
		t.Errorf("tags after PATCH are not stored: %v", deref(got.Tags))
	}
	// A PATCH without tags leaves them alone.
	upd, err = c.Update(ctx, "app-rg", armresources.ResourceGroupPatchable{ManagedBy: to.Ptr("/subscriptions/" + sub + "/providers/Example/things/one")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(upd.Tags) != 2 || !strings.HasSuffix(str(upd.ManagedBy), "/things/one") {
		t.Errorf("after a PATCH of managedBy: tags %v managedBy %s", deref(upd.Tags), str(upd.ManagedBy))
	}
	_, err = c.Update(ctx, "missing-rg", armresources.ResourceGroupPatchable{Tags: ptrs(map[string]string{"a": "b"})}, nil)
	responseError(t, err, http.StatusNotFound, "ResourceGroupNotFound")

	// Delete through the poller; afterwards it is gone.
	poller, err := c.BeginDelete(ctx, "App-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(ctx, "app-rg", nil)
	re = responseError(t, err, http.StatusNotFound, "ResourceGroupNotFound")
	if !strings.Contains(re.Error(), "app-rg") {
		t.Errorf("message does not name the group: %v", re)
	}
	ex, err := c.CheckExistence(ctx, "app-rg", nil)
	if err != nil || ex.Success {
		t.Errorf("CheckExistence after delete: %v %v", ex.Success, err)
	}
	_, err = c.BeginDelete(ctx, "app-rg", nil)
	responseError(t, err, http.StatusNotFound, "ResourceGroupNotFound")

	// A missing subscription is named as such.
	other := rgClient(t, env, "00000000-0000-4000-8000-000000000001")
	_, err = other.Get(ctx, "anything", nil)
	responseError(t, err, http.StatusNotFound, "SubscriptionNotFound")
	_, err = other.CreateOrUpdate(ctx, "anything", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil)
	responseError(t, err, http.StatusNotFound, "SubscriptionNotFound")
}

func TestResourceGroupsListPagingAndFilter(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	ctx := context.Background()
	sub := registerSubscription(t, env, "Paging", nil)
	c := rgClient(t, env, sub)

	const n = 23
	want := map[string]bool{}
	for i := range n {
		name := fmt.Sprintf("rg-%02d", i)
		tags := map[string]string{"team": []string{"red", "blue"}[i%2]}
		if i%3 == 0 {
			tags["critical"] = "yes"
		}
		if _, err := c.CreateOrUpdate(ctx, name, armresources.ResourceGroup{Location: to.Ptr("westeurope"), Tags: ptrs(tags)}, nil); err != nil {
			t.Fatal(err)
		}
		want[name] = true
	}
	// Groups of another subscription never show up.
	other := registerSubscription(t, env, "Other", nil)
	if _, err := rgClient(t, env, other).CreateOrUpdate(ctx, "rg-other", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}

	list := func(opts *armresources.ResourceGroupsClientListOptions, pageMax int) (map[string]int, int) {
		t.Helper()
		seen := map[string]int{}
		pages := 0
		pager := c.NewListPager(opts)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatalf("page %d: %v", pages+1, err)
			}
			pages++
			if len(page.Value) > pageMax {
				t.Errorf("page %d holds %d groups, more than %d", pages, len(page.Value), pageMax)
			}
			for _, g := range page.Value {
				seen[str(g.Name)]++
				if !strings.HasPrefix(str(g.ID), "/subscriptions/"+sub+"/") {
					t.Errorf("listed %s of another subscription", str(g.ID))
				}
			}
		}
		return seen, pages
	}

	seen, pages := list(&armresources.ResourceGroupsClientListOptions{Top: to.Ptr[int32](5)}, 5)
	if pages != (n+4)/5 {
		t.Errorf("%d groups in %d pages of 5, want %d", n, pages, (n+4)/5)
	}
	for name := range want {
		if seen[name] != 1 {
			t.Errorf("group %s listed %d times, want once", name, seen[name])
		}
	}
	if len(seen) != n {
		t.Errorf("listed %d distinct groups, want %d: %v", len(seen), n, seen)
	}
	seen, pages = list(nil, 100)
	if pages != 1 || len(seen) != n {
		t.Errorf("default page: %d groups in %d pages", len(seen), pages)
	}

	// $filter on tag name, and on name and value; kept across pages.
	cases := []struct {
		filter string
		want   func(i int) bool
	}{
		{"tagName eq 'critical'", func(i int) bool { return i%3 == 0 }},
		{"tagname eq 'CRITICAL'", func(i int) bool { return i%3 == 0 }},
		{"tagName eq 'team' and tagValue eq 'blue'", func(i int) bool { return i%2 == 1 }},
		{"tagValue eq 'red' and tagName eq 'team'", func(i int) bool { return i%2 == 0 }},
		{"tagName eq 'team' and tagValue eq 'Blue'", func(i int) bool { return false }},
		{"tagName eq 'nobody''s'", func(i int) bool { return false }},
	}
	for _, tc := range cases {
		seen, _ := list(&armresources.ResourceGroupsClientListOptions{Filter: to.Ptr(tc.filter), Top: to.Ptr[int32](3)}, 3)
		for i := range n {
			name := fmt.Sprintf("rg-%02d", i)
			if w := tc.want(i); (seen[name] == 1) != w || seen[name] > 1 {
				t.Errorf("filter %q: %s listed %d times, want %v", tc.filter, name, seen[name], w)
			}
		}
	}
	for _, bad := range []string{"location eq 'westeurope'", "tagName eq critical", "tagValue eq 'x'", "tagName eq 'a' or tagName eq 'b'", "tagName eq 'unterminated"} {
		pager := c.NewListPager(&armresources.ResourceGroupsClientListOptions{Filter: to.Ptr(bad)})
		_, err := pager.NextPage(ctx)
		re := responseError(t, err, http.StatusBadRequest, "InvalidFilterInQueryString")
		if !strings.Contains(re.Error(), "tagName eq") {
			t.Errorf("filter %q: message does not say what is supported: %v", bad, re)
		}
	}
}

// TestConcurrentCreates: of many simultaneous PUTs of one new resource group
// (or subscription) exactly one creates it.
func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	sub := registerSubscription(t, env, "Races", nil)
	newSub := uuid.NewString()
	for _, target := range []struct{ path, body string }{
		{withVersion(rgPath(sub, "raced"), rgVersion), `{"location":"westeurope"}`},
		{withVersion("/subscriptions/"+newSub, subVersion), `{"displayName":"Raced"}`},
		{withVersion(mgPath("raced-group"), mgVersion), `{}`},
	} {
		const n = 8
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequest(http.MethodPut, env.URL+target.path, strings.NewReader(target.body))
				if err != nil {
					statuses <- -1
					return
				}
				req.Header.Set("Authorization", "Bearer "+env.Token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := env.Client.Do(req)
				if err != nil {
					statuses <- -1
					return
				}
				resp.Body.Close()
				statuses <- resp.StatusCode
			}()
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		// Management groups answer 200 for both create and update.
		want := map[int]int{http.StatusCreated: 1, http.StatusOK: n - 1}
		if strings.Contains(target.path, "managementGroups") {
			want = map[int]int{http.StatusOK: n}
		}
		if !maps.Equal(count, want) {
			t.Errorf("PUT %s ×%d: statuses %v, want %v", target.path, n, count, want)
		}
	}
}
