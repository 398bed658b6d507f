// Package estate keeps the estate Sluice watches: tenants, nested
// management groups (each tenant has a root group whose id is the tenant
// id), subscriptions (each in one tenant under one group) and resource
// groups, and serves them on their ARM routes.
package estate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/store"
)

// Store kinds.
const (
	KindTenant          = "tenant"
	KindManagementGroup = "managementgroup"
	KindSubscription    = "subscription"
	KindResourceGroup   = "resourcegroup"
)

// maxGroupDepth bounds management group nesting (Azure allows six levels
// below the root).
const maxGroupDepth = 7

// Tenant is a directory.
type Tenant struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"displayName"`
	Created     time.Time `json:"created"`
}

// ManagementGroup is a node of a tenant's hierarchy.
type ManagementGroup struct {
	Name        string `json:"name"`
	TenantID    string `json:"tenantId"`
	DisplayName string `json:"displayName"`
	// Parent is the parent group's name; "" only for the root group.
	Parent string `json:"parent,omitempty"`
}

// ID returns the group's ARM id.
func (g *ManagementGroup) ID() string { return GroupID(g.Name) }

// GroupID is the ARM id of a management group.
func GroupID(name string) string { return "/providers/Microsoft.Management/managementGroups/" + name }

// Subscription is a subscription registered with Sluice.
type Subscription struct {
	SubscriptionID    string    `json:"subscriptionId"`
	DisplayName       string    `json:"displayName"`
	TenantID          string    `json:"tenantId"`
	ManagementGroupID string    `json:"managementGroupId"`
	State             string    `json:"state"`
	Created           time.Time `json:"created"`
}

// ResourceGroup is a resource group.
type ResourceGroup struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	Location  string            `json:"location"`
	ManagedBy string            `json:"managedBy,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	// Properties holds provisioningState.
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

// Service reads and writes the estate.
type Service struct {
	Store store.Store
}

func getJSON[T any](ctx context.Context, r store.Reader, kind, key string) (*T, error) {
	rec, err := r.Get(ctx, kind, key)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(rec.Body, v); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", kind, key, err)
	}
	return v, nil
}

// Subscription reads a subscription; an unknown one is a 404
// SubscriptionNotFound.
func (s *Service) Subscription(ctx context.Context, r store.Reader, id string) (*Subscription, error) {
	sub, err := getJSON[Subscription](ctx, r, KindSubscription, strings.ToLower(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, armapi.NotFound("SubscriptionNotFound", "The subscription '%s' could not be found.", id)
	}
	return sub, err
}

// Group reads a management group; an unknown one is a 404.
func (s *Service) Group(ctx context.Context, r store.Reader, name string) (*ManagementGroup, error) {
	g, err := getJSON[ManagementGroup](ctx, r, KindManagementGroup, strings.ToLower(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, armapi.NotFound("ManagementGroupNotFound", "The management group '%s' could not be found.", name)
	}
	return g, err
}

// ResourceGroup reads a resource group; an unknown one is a 404
// ResourceGroupNotFound (or SubscriptionNotFound).
func (s *Service) ResourceGroup(ctx context.Context, r store.Reader, sub, name string) (*ResourceGroup, error) {
	rg, err := getJSON[ResourceGroup](ctx, r, KindResourceGroup, armid.Key(armid.ResourceGroupID(sub, name)))
	if errors.Is(err, store.ErrNotFound) {
		if _, err := s.Subscription(ctx, r, sub); err != nil {
			return nil, err
		}
		return nil, armapi.NotFound("ResourceGroupNotFound", "Resource group '%s' could not be found.", name)
	}
	return rg, err
}

// Ancestors returns the names of the groups from name up to the root.
func (s *Service) Ancestors(ctx context.Context, r store.Reader, name string) ([]string, string, error) {
	var chain []string
	tenant := ""
	for cur := name; cur != ""; {
		if len(chain) > maxGroupDepth+1 {
			return nil, "", fmt.Errorf("management group %s: hierarchy too deep or cyclic", name)
		}
		g, err := s.Group(ctx, r, cur)
		if err != nil {
			return nil, "", err
		}
		chain = append(chain, strings.ToLower(g.Name))
		tenant = g.TenantID
		cur = g.Parent
	}
	return chain, tenant, nil
}

// Resolve implements auth.Resolver: the tenant and the groups above a scope.
func (s *Service) Resolve(ctx context.Context, scope string) (string, []string, error) {
	id, err := armid.Parse(scope)
	if err != nil {
		segs := strings.Split(strings.Trim(scope, "/"), "/")
		if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") && !armid.IsGUID(segs[1]) {
			return "", nil, invalidSubscriptionID(segs[1])
		}
		return "", nil, armapi.BadRequest("InvalidResourceId", "%v", err)
	}
	if id.Subscription != "" {
		sub, err := s.Subscription(ctx, s.Store, id.Subscription)
		if err != nil {
			return "", nil, err
		}
		groups, _, err := s.Ancestors(ctx, s.Store, sub.ManagementGroupID)
		if err != nil {
			return "", nil, err
		}
		return sub.TenantID, groups, nil
	}
	root := id
	for root.Parent != nil {
		root = root.Parent
	}
	if strings.EqualFold(root.Namespace, "Microsoft.Management") && len(root.Types) > 0 &&
		strings.EqualFold(root.Types[0], "managementGroups") {
		groups, tenant, err := s.Ancestors(ctx, s.Store, root.Names[0])
		if err != nil {
			return "", nil, err
		}
		return tenant, groups, nil
	}
	return "", nil, armapi.Errorf(http.StatusForbidden, "AuthorizationFailed", "The scope '%s' is not within a tenant.", scope)
}

// Bootstrap holds the ids created at first start.
type Bootstrap struct {
	TenantID string `json:"tenantId"`
	AdminID  string `json:"adminObjectId"`
}

// CreateTenant stores a tenant and its root management group in tx.
func CreateTenant(ctx context.Context, tx store.Tx, id, displayName string) error {
	id = strings.ToLower(id)
	t := Tenant{ID: id, DisplayName: displayName, Created: time.Now().UTC()}
	if err := putJSON(ctx, tx, KindTenant, id, id, "", t); err != nil {
		return err
	}
	root := ManagementGroup{Name: id, TenantID: id, DisplayName: "Tenant Root Group"}
	return putJSON(ctx, tx, KindManagementGroup, id, root.ID(), "", root)
}

func putJSON(ctx context.Context, tx store.Tx, kind, key, id, parent string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(ctx, &store.Record{Kind: kind, Key: key, ID: id, Parent: parent, Body: body})
}

// PutGroup stores a management group.
func PutGroup(ctx context.Context, tx store.Tx, g *ManagementGroup) error {
	return putJSON(ctx, tx, KindManagementGroup, strings.ToLower(g.Name), g.ID(), strings.ToLower(g.Parent), g)
}

// PutSubscription stores a subscription.
func PutSubscription(ctx context.Context, tx store.Tx, sub *Subscription) error {
	return putJSON(ctx, tx, KindSubscription, strings.ToLower(sub.SubscriptionID), armid.SubscriptionID(sub.SubscriptionID),
		strings.ToLower(sub.ManagementGroupID), sub)
}

// PutResourceGroup stores a resource group.
func PutResourceGroup(ctx context.Context, tx store.Tx, sub string, rg *ResourceGroup) error {
	rg.ID = armid.ResourceGroupID(sub, rg.Name)
	rg.Type = "Microsoft.Resources/resourceGroups"
	rg.Properties.ProvisioningState = "Succeeded"
	return putJSON(ctx, tx, KindResourceGroup, armid.Key(rg.ID), rg.ID, strings.ToLower(sub), rg)
}
