package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/store"
)

// KindRoleAssignment is the store kind of role assignments.
const KindRoleAssignment = "roleassignment"

// Allows reports whether the role grants the control-plane action: some
// action pattern matches it and no notAction pattern does.
func (d *RoleDefinition) Allows(action string) bool {
	return matchAny(d.Actions, action) && !matchAny(d.NotActions, action)
}

// AllowsData reports whether the role grants the data-plane action (only
// dataActions grant data actions; "*" in actions does not).
func (d *RoleDefinition) AllowsData(action string) bool {
	return matchAny(d.DataActions, action) && !matchAny(d.NotDataActions, action)
}

func matchAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if wildcardMatch(p, action) {
			return true
		}
	}
	return false
}

// wildcardMatch matches an Azure action pattern ('*' matches any run of
// characters) case-insensitively.
func wildcardMatch(pattern, action string) bool {
	p, s := strings.ToLower(pattern), strings.ToLower(action)
	parts := strings.Split(p, "*")
	if len(parts) == 1 {
		return p == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i := 1; i < len(parts)-1; i++ {
		idx := strings.Index(s, parts[i])
		if idx < 0 {
			return false
		}
		s = s[idx+len(parts[i]):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// RoleAssignment grants a role to a principal at a scope.
type RoleAssignment struct {
	ID               string `json:"id"`
	Scope            string `json:"scope"`
	PrincipalID      string `json:"principalId"`
	TenantID         string `json:"tenantId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	PrincipalType    string `json:"principalType,omitempty"`
	Description      string `json:"description,omitempty"`
	CreatedOn        string `json:"createdOn,omitempty"`
	UpdatedOn        string `json:"updatedOn,omitempty"`
	CreatedBy        string `json:"createdBy,omitempty"`
	UpdatedBy        string `json:"updatedBy,omitempty"`
}

// PrincipalKey is the store parent key of a principal's assignments.
func PrincipalKey(tenant, objectID string) string {
	return strings.ToLower(tenant) + "/" + strings.ToLower(objectID)
}

// PutRoleAssignment stores an assignment in tx.
func PutRoleAssignment(ctx context.Context, tx store.Tx, ra *RoleAssignment) error {
	body, err := json.Marshal(ra)
	if err != nil {
		return err
	}
	return tx.Put(ctx, &store.Record{Kind: KindRoleAssignment, Key: armid.Key(ra.ID), ID: ra.ID,
		Parent: PrincipalKey(ra.TenantID, ra.PrincipalID), Body: body})
}

// Resolver places a scope in the estate: the tenant it belongs to and the
// management groups above it, nearest first. It returns a 404 *armapi.Error
// when the subscription or group does not exist.
type Resolver interface {
	Resolve(ctx context.Context, scope string) (tenant string, groups []string, err error)
}

// RBAC decides permissions from stored role assignments.
type RBAC struct {
	Store    store.Reader
	Resolver Resolver
}

// Authorize implements armapi.Authorizer.
func (a *RBAC) Authorize(ctx context.Context, permission, scope string) error {
	p := FromContext(ctx)
	if p == nil {
		return armapi.Errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication is required.")
	}
	tenant, groups, err := a.Resolver.Resolve(ctx, scope)
	if err != nil {
		return a.hideMissingGroup(ctx, p, permission, scope, err)
	}
	if tenant != "" && !strings.EqualFold(tenant, p.TenantID) {
		return WrongTenant(p.TenantID, scope, tenant)
	}
	ok, err := a.allowed(ctx, p, permission, scope, groups)
	if err != nil {
		return err
	}
	if !ok {
		return armapi.Errorf(http.StatusForbidden, "AuthorizationFailed",
			"The client with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid.",
			p.ObjectID, permission, scope)
	}
	return nil
}

// hideMissingGroup turns the 404 of a management group that does not exist
// into 403 AuthorizationFailed unless the caller holds the permission at
// its tenant's root group (above every group it could name), as ARM
// does: a caller without rights learns nothing of which groups exist.
func (a *RBAC) hideMissingGroup(ctx context.Context, p *Principal, permission, scope string, err error) error {
	var ae *armapi.Error
	if !errors.As(err, &ae) || ae.Code != "ManagementGroupNotFound" {
		return err
	}
	root := mgPrefix + strings.ToLower(p.TenantID)
	if _, groups, rerr := a.Resolver.Resolve(ctx, root); rerr == nil {
		ok, aerr := a.allowed(ctx, p, permission, root, groups)
		if aerr != nil {
			return aerr
		}
		if ok {
			return err
		}
	}
	return armapi.Errorf(http.StatusForbidden, "AuthorizationFailed",
		"The client with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid.",
		p.ObjectID, permission, scope)
}

// SecurityResourceProviderID is the object id of Sluice's own service
// principal, "Windows Azure Security Resource Provider", which delivers
// to trusted-service targets.
const SecurityResourceProviderID = "8edd93e1-2103-40b4-bd70-6e34e586362d"

// PrincipalHasData reports whether a principal (not the caller) holds the
// data action at scope through its role assignments.
func (a *RBAC) PrincipalHasData(ctx context.Context, tenant, objectID, dataAction, scope string) (bool, error) {
	_, groups, err := a.Resolver.Resolve(ctx, scope)
	if err != nil {
		return false, err
	}
	recs, err := a.Store.List(ctx, store.ListOptions{Kind: KindRoleAssignment, Parent: PrincipalKey(tenant, objectID)})
	if err != nil {
		return false, fmt.Errorf("read role assignments: %w", err)
	}
	for _, rec := range recs {
		var ra RoleAssignment
		if err := json.Unmarshal(rec.Body, &ra); err != nil {
			return false, fmt.Errorf("decode role assignment %s: %w", rec.Key, err)
		}
		if role := RoleByID(ra.RoleDefinitionID); role != nil && applies(ra.Scope, scope, groups) && role.AllowsData(dataAction) {
			return true, nil
		}
	}
	return false, nil
}

// Can reports whether the caller holds permission at scope, without an
// error for a denial (for filtering lists).
func (a *RBAC) Can(ctx context.Context, permission, scope string) bool {
	return a.Authorize(ctx, permission, scope) == nil
}

func (a *RBAC) allowed(ctx context.Context, p *Principal, permission, scope string, groups []string) (bool, error) {
	recs, err := a.Store.List(ctx, store.ListOptions{Kind: KindRoleAssignment, Parent: PrincipalKey(p.TenantID, p.ObjectID)})
	if err != nil {
		return false, fmt.Errorf("read role assignments: %w", err)
	}
	for _, rec := range recs {
		var ra RoleAssignment
		if err := json.Unmarshal(rec.Body, &ra); err != nil {
			return false, fmt.Errorf("decode role assignment %s: %w", rec.Key, err)
		}
		if !applies(ra.Scope, scope, groups) {
			continue
		}
		role := RoleByID(ra.RoleDefinitionID)
		if role != nil && role.Allows(permission) {
			return true, nil
		}
	}
	return false, nil
}

const mgPrefix = "/providers/microsoft.management/managementgroups/"

// applies reports whether an assignment at assigned covers target, whose
// ancestor management groups are groups.
func applies(assigned, target string, groups []string) bool {
	a := armid.Key(assigned)
	if name, ok := strings.CutPrefix(a, mgPrefix); ok && !strings.Contains(name, "/") {
		for _, g := range groups {
			if strings.EqualFold(g, name) {
				return true
			}
		}
	}
	return armid.Contains(assigned, target)
}

func lastSegment(s string) string {
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return s
}
