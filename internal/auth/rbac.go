package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/store"
)

// KindRoleAssignment is the store kind of role assignments.
const KindRoleAssignment = "roleassignment"

// RoleDefinition is a role: what it allows and what it carves out.
type RoleDefinition struct {
	ID          string   `json:"id"`
	Name        string   `json:"roleName"`
	Description string   `json:"description"`
	Actions     []string `json:"actions"`
	NotActions  []string `json:"notActions"`
}

// Built-in role ids, as Azure numbers them.
const (
	RoleOwner          = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleContributor    = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleReader         = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	RoleSecurityAdmin  = "fb1c8493-542b-48eb-b624-b4c8fea62acd"
	RoleSecurityReader = "39bc4728-0917-49c7-9d2c-d95423bc2eb4"
)

// BuiltinRoles are the role definitions every tenant has.
var BuiltinRoles = map[string]*RoleDefinition{
	RoleOwner: {ID: RoleOwner, Name: "Owner", Description: "Grants full access to manage all resources, including the ability to assign roles.",
		Actions: []string{"*"}},
	RoleContributor: {ID: RoleContributor, Name: "Contributor", Description: "Grants full access to manage all resources, but does not allow you to assign roles.",
		Actions:    []string{"*"},
		NotActions: []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"}},
	RoleReader: {ID: RoleReader, Name: "Reader", Description: "View all resources, but does not allow you to make any changes.",
		Actions: []string{"*/read"}},
	RoleSecurityAdmin: {ID: RoleSecurityAdmin, Name: "Security Admin", Description: "Security Admin Role",
		Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Authorization/policyAssignments/*", "Microsoft.Authorization/policyDefinitions/*",
			"Microsoft.Authorization/policySetDefinitions/*", "Microsoft.Insights/alertRules/*", "Microsoft.Management/managementGroups/read",
			"Microsoft.operationalInsights/workspaces/*/read", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Security/*", "Microsoft.IoTSecurity/*", "Microsoft.Support/*"}},
	RoleSecurityReader: {ID: RoleSecurityReader, Name: "Security Reader", Description: "Security Reader Role",
		Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/read", "Microsoft.operationalInsights/workspaces/*/read",
			"Microsoft.Resources/deployments/*/read", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Security/*/read",
			"Microsoft.IoTSecurity/*/read", "Microsoft.Support/*/read", "Microsoft.Security/iotDefenderSettings/packageDownloads/action",
			"Microsoft.Security/iotDefenderSettings/downloadManagerActivation/action", "Microsoft.Security/iotSensors/downloadResetPassword/action",
			"Microsoft.Management/managementGroups/read"}},
}

// Allows reports whether the role grants action.
func (d *RoleDefinition) Allows(action string) bool {
	granted := false
	for _, a := range d.Actions {
		if wildcardMatch(a, action) {
			granted = true
			break
		}
	}
	if !granted {
		return false
	}
	for _, n := range d.NotActions {
		if wildcardMatch(n, action) {
			return false
		}
	}
	return true
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
		return err
	}
	if tenant != "" && !strings.EqualFold(tenant, p.TenantID) {
		return armapi.Errorf(http.StatusForbidden, "InvalidAuthenticationTokenTenant",
			"The access token is from tenant '%s', but the scope '%s' belongs to tenant '%s'.", p.TenantID, scope, tenant)
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
		role := BuiltinRoles[strings.ToLower(lastSegment(ra.RoleDefinitionID))]
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
