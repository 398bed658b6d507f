package server

import (
	"context"
	"errors"
	"log/slog"

	"sluice/internal/estate"
	"sluice/internal/store"
)

// Demo estate ids, fixed so the README can name them.
const (
	DemoGroupProduction  = "contoso-production"
	DemoGroupDevelopment = "contoso-development"
	DemoSubProduction    = "6a1c2c4e-5b9f-4d1e-9a7b-1f2e3d4c5b6a"
	DemoSubShared        = "7b2d3e5f-6c0a-4e2f-8b8c-2a3f4e5d6c7b"
	DemoSubDevelopment   = "8c3e4f60-7d1b-4f3a-9c9d-3b4a5f6e7d8c"
)

// seedDemo adds, once, a demo estate to the default tenant: two management
// groups, three subscriptions and a few resource groups.
func seedDemo(ctx context.Context, st store.Store, b estate.Bootstrap, log *slog.Logger) error {
	if _, err := st.Get(ctx, kindMeta, "demo"); err == nil {
		log.Info("demo estate already seeded")
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	err := st.Update(ctx, func(tx store.Tx) error {
		groups := []*estate.ManagementGroup{
			{Name: DemoGroupProduction, TenantID: b.TenantID, DisplayName: "Contoso Production", Parent: b.TenantID},
			{Name: DemoGroupDevelopment, TenantID: b.TenantID, DisplayName: "Contoso Development", Parent: b.TenantID},
		}
		for _, g := range groups {
			if err := estate.PutGroup(ctx, tx, g); err != nil {
				return err
			}
		}
		subs := []*estate.Subscription{
			{SubscriptionID: DemoSubProduction, DisplayName: "Contoso Production", TenantID: b.TenantID, ManagementGroupID: DemoGroupProduction, State: "Enabled"},
			{SubscriptionID: DemoSubShared, DisplayName: "Contoso Shared Services", TenantID: b.TenantID, ManagementGroupID: DemoGroupProduction, State: "Enabled"},
			{SubscriptionID: DemoSubDevelopment, DisplayName: "Contoso Development", TenantID: b.TenantID, ManagementGroupID: DemoGroupDevelopment, State: "Enabled"},
		}
		rgs := map[string][]string{
			DemoSubProduction:  {"web-prod", "data-prod", "network-prod"},
			DemoSubShared:      {"identity-shared", "monitoring"},
			DemoSubDevelopment: {"web-dev", "sandbox"},
		}
		for _, s := range subs {
			if err := estate.PutSubscription(ctx, tx, s); err != nil {
				return err
			}
			for _, name := range rgs[s.SubscriptionID] {
				rg := &estate.ResourceGroup{Name: name, Location: "westeurope", Tags: map[string]string{"environment": "demo"}}
				if err := estate.PutResourceGroup(ctx, tx, s.SubscriptionID, rg); err != nil {
					return err
				}
			}
		}
		return tx.Put(ctx, &store.Record{Kind: kindMeta, Key: "demo", ID: "demo", Body: []byte(`{}`)})
	})
	if err != nil {
		return err
	}
	log.Info("seeded the demo estate", "groups", 2, "subscriptions", 3, "resource_groups", 7)
	return nil
}
