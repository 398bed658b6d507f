package estate_test

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"sluice/internal/server/servertest"
)

func TestSmokeResourceGroups(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	c, err := armresources.NewResourceGroupsClient("6a1c2c4e-5b9f-4d1e-9a7b-1f2e3d4c5b6a", env.Cred(), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := c.CreateOrUpdate(ctx, "smoke", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Name != "smoke" {
		t.Fatalf("name %q", *got.Name)
	}
	pager := c.NewListPager(&armresources.ResourceGroupsClientListOptions{Top: to.Ptr[int32](2)})
	n := 0
	for pager.More() {
		p, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Value)
	}
	if n != 4 {
		t.Fatalf("listed %d groups, want 4", n)
	}
	poller, err := c.BeginDelete(ctx, "smoke", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
}
