package auth_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"sluice/internal/armapi"
	"sluice/internal/auth"
	"sluice/internal/estate"
	"sluice/internal/store"
	"sluice/internal/store/sqlite"
)

// The estate of the RBAC tests:
//
//	tenant T (root group T)
//	├── mg-a
//	│   └── mg-b
//	│       └── subscription S1: rg1, rg10
//	└── subscription S2: rg1
//	tenant U (root group U)
//	└── subscription S3
const (
	tenantT = "0d0d0d0d-0000-4000-8000-00000000000a"
	tenantU = "0d0d0d0d-0000-4000-8000-00000000000b"
	subS1   = "51515151-0000-4000-8000-000000000001"
	subS2   = "51515151-0000-4000-8000-000000000002"
	subS3   = "51515151-0000-4000-8000-000000000003"
	subNone = "51515151-0000-4000-8000-0000000000ff"

	pRootReader    = "00000000-aaaa-4000-8000-000000000001"
	pMgASecAdmin   = "00000000-aaaa-4000-8000-000000000002"
	pMgBSecReader  = "00000000-aaaa-4000-8000-000000000003"
	pS1Contributor = "00000000-aaaa-4000-8000-000000000004"
	pRg1Reader     = "00000000-aaaa-4000-8000-000000000005"
	pResourceAdmin = "00000000-aaaa-4000-8000-000000000006"
	pSlashOwner    = "00000000-aaaa-4000-8000-000000000007"
	pUnknownRole   = "00000000-aaaa-4000-8000-000000000008"
	pNothing       = "00000000-aaaa-4000-8000-000000000009"
	pS2Owner       = "00000000-aaaa-4000-8000-00000000000a"
)

const (
	readAuto   = "Microsoft.Security/automations/read"
	writeAuto  = "Microsoft.Security/automations/write"
	deleteAuto = "Microsoft.Security/automations/delete"
	readAlerts = "Microsoft.Security/alerts/read"
	writeRA    = "Microsoft.Authorization/roleAssignments/write"
	readRA     = "Microsoft.Authorization/roleAssignments/read"
	writeRG    = "Microsoft.Resources/subscriptions/resourceGroups/write"
	readRG     = "Microsoft.Resources/subscriptions/resourceGroups/read"
	readMG     = "Microsoft.Management/managementGroups/read"
)

func mg(name string) string { return estate.GroupID(name) }
func sub(id string) string  { return "/subscriptions/" + id }
func rg(s, name string) string {
	return "/subscriptions/" + s + "/resourceGroups/" + name
}
func auto(s, group, name string) string {
	return rg(s, group) + "/providers/Microsoft.Security/automations/" + name
}

func newRBAC(t *testing.T) *auth.RBAC {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	roleDef := func(id string) string { return "/providers/Microsoft.Authorization/roleDefinitions/" + id }
	assign := func(scope, principal, role string) *auth.RoleAssignment {
		return &auth.RoleAssignment{ID: scope + "/providers/Microsoft.Authorization/roleAssignments/" + principal,
			Scope: scope, PrincipalID: principal, TenantID: tenantT, RoleDefinitionID: roleDef(role)}
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		for _, tn := range []string{tenantT, tenantU} {
			if err := estate.CreateTenant(ctx, tx, tn, tn); err != nil {
				return err
			}
		}
		for _, g := range []*estate.ManagementGroup{
			{Name: "mg-a", TenantID: tenantT, Parent: tenantT},
			{Name: "mg-b", TenantID: tenantT, Parent: "mg-a"},
		} {
			if err := estate.PutGroup(ctx, tx, g); err != nil {
				return err
			}
		}
		for _, s := range []*estate.Subscription{
			{SubscriptionID: subS1, TenantID: tenantT, ManagementGroupID: "mg-b", State: "Enabled"},
			{SubscriptionID: subS2, TenantID: tenantT, ManagementGroupID: tenantT, State: "Enabled"},
			{SubscriptionID: subS3, TenantID: tenantU, ManagementGroupID: tenantU, State: "Enabled"},
		} {
			if err := estate.PutSubscription(ctx, tx, s); err != nil {
				return err
			}
		}
		for _, ras := range []*auth.RoleAssignment{
			assign(mg(tenantT), pRootReader, auth.RoleReader),
			// Scope spelled in another case than the group's name.
			assign("/providers/microsoft.management/managementgroups/MG-A", pMgASecAdmin, auth.RoleSecurityAdmin),
			assign(mg("mg-b"), pMgBSecReader, auth.RoleSecurityReader),
			assign(sub(subS1), pS1Contributor, auth.RoleContributor),
			assign("/SUBSCRIPTIONS/"+subS1+"/RESOURCEGROUPS/RG1", pRg1Reader, auth.RoleReader),
			assign(auto(subS1, "rg1", "a1"), pResourceAdmin, auth.RoleSecurityAdmin),
			assign("/", pSlashOwner, auth.RoleOwner),
			assign(sub(subS1), pUnknownRole, "00000000-0000-0000-0000-000000000000"),
			assign(sub(subS2), pS2Owner, auth.RoleOwner),
		} {
			if err := auth.PutRoleAssignment(ctx, tx, ras); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &auth.RBAC{Store: st, Resolver: &estate.Service{Store: st}}
}

func TestRBACAuthorize(t *testing.T) {
	a := newRBAC(t)
	tests := []struct {
		name       string
		principal  string
		permission string
		scope      string
		status     int // 0: allowed
		code       string
	}{
		// Inheritance from the tenant root down the tree.
		{"root_reader_reads_root", pRootReader, readMG, mg(tenantT), 0, ""},
		{"root_reader_reads_nested_group", pRootReader, readMG, mg("mg-b"), 0, ""},
		{"root_reader_reads_subscription_two_groups_down", pRootReader, readAuto, sub(subS1), 0, ""},
		{"root_reader_reads_resource_group", pRootReader, readRG, rg(subS1, "rg10"), 0, ""},
		{"root_reader_reads_automation", pRootReader, readAuto, auto(subS1, "rg1", "x"), 0, ""},
		{"root_reader_reads_subscription_under_root", pRootReader, readAuto, auto(subS2, "rg1", "x"), 0, ""},
		{"reader_cannot_write_automation", pRootReader, writeAuto, auto(subS1, "rg1", "x"), 403, "AuthorizationFailed"},
		{"reader_cannot_write_resource_group", pRootReader, writeRG, rg(subS1, "rg1"), 403, "AuthorizationFailed"},
		{"reader_cannot_delete", pRootReader, deleteAuto, auto(subS2, "rg1", "x"), 403, "AuthorizationFailed"},

		// Security Admin at mg-a: everything below mg-a, nothing beside or above it.
		{"secadmin_writes_automation_below", pMgASecAdmin, writeAuto, auto(subS1, "rg10", "x"), 0, ""},
		{"secadmin_deletes_automation_below", pMgASecAdmin, deleteAuto, auto(subS1, "rg1", "x"), 0, ""},
		{"secadmin_acts_on_own_group", pMgASecAdmin, writeAuto, mg("mg-a"), 0, ""},
		{"secadmin_acts_on_child_group", pMgASecAdmin, readAlerts, mg("mg-b"), 0, ""},
		{"secadmin_reads_resource_groups", pMgASecAdmin, readRG, rg(subS1, "rg1"), 0, ""},
		{"secadmin_not_at_root", pMgASecAdmin, writeAuto, mg(tenantT), 403, "AuthorizationFailed"},
		{"secadmin_not_in_sibling_subscription", pMgASecAdmin, writeAuto, auto(subS2, "rg1", "x"), 403, "AuthorizationFailed"},
		{"secadmin_cannot_write_resource_groups", pMgASecAdmin, writeRG, rg(subS1, "rg1"), 403, "AuthorizationFailed"},
		{"secadmin_cannot_assign_roles", pMgASecAdmin, writeRA, sub(subS1), 403, "AuthorizationFailed"},

		// Security Reader at mg-b: reads Microsoft.Security, writes nothing.
		{"secreader_reads_automation", pMgBSecReader, readAuto, auto(subS1, "rg1", "x"), 0, ""},
		{"secreader_reads_alerts", pMgBSecReader, readAlerts, sub(subS1), 0, ""},
		{"secreader_reads_own_group", pMgBSecReader, readMG, mg("mg-b"), 0, ""},
		{"secreader_cannot_write_automation", pMgBSecReader, writeAuto, auto(subS1, "rg1", "x"), 403, "AuthorizationFailed"},
		{"secreader_cannot_delete_automation", pMgBSecReader, deleteAuto, auto(subS1, "rg1", "x"), 403, "AuthorizationFailed"},
		{"secreader_not_above_own_group", pMgBSecReader, readAuto, mg("mg-a"), 403, "AuthorizationFailed"},
		{"secreader_cannot_read_other_providers", pMgBSecReader, "Microsoft.Compute/virtualMachines/read", sub(subS1), 403, "AuthorizationFailed"},

		// Contributor at S1: writes below S1 except role assignments.
		{"contributor_writes_automation", pS1Contributor, writeAuto, auto(subS1, "rg1", "x"), 0, ""},
		{"contributor_writes_resource_group", pS1Contributor, writeRG, rg(subS1, "new"), 0, ""},
		{"contributor_reads_role_assignments", pS1Contributor, readRA, sub(subS1), 0, ""},
		{"contributor_cannot_assign_roles", pS1Contributor, writeRA, sub(subS1), 403, "AuthorizationFailed"},
		{"contributor_cannot_assign_roles_case_folded", pS1Contributor, "microsoft.authorization/ROLEASSIGNMENTS/Write", rg(subS1, "rg1"), 403, "AuthorizationFailed"},
		{"contributor_cannot_elevate", pS1Contributor, "Microsoft.Authorization/elevateAccess/Action", sub(subS1), 403, "AuthorizationFailed"},
		{"contributor_not_up_the_tree", pS1Contributor, readMG, mg("mg-b"), 403, "AuthorizationFailed"},
		{"contributor_not_in_other_subscription", pS1Contributor, writeAuto, sub(subS2), 403, "AuthorizationFailed"},

		// Reader at rg1: rg1 and below only; rg10 shares the prefix but not the scope.
		{"rg_reader_reads_group", pRg1Reader, readRG, rg(subS1, "rg1"), 0, ""},
		{"rg_reader_reads_automation_case_folded", pRg1Reader, readAuto, "/subscriptions/" + subS1 + "/resourcegroups/rg1/providers/microsoft.security/automations/X", 0, ""},
		{"rg_reader_not_rg10", pRg1Reader, readAuto, auto(subS1, "rg10", "x"), 403, "AuthorizationFailed"},
		{"rg_reader_not_subscription", pRg1Reader, readAuto, sub(subS1), 403, "AuthorizationFailed"},
		{"rg_reader_not_same_name_in_other_subscription", pRg1Reader, readAuto, rg(subS2, "rg1"), 403, "AuthorizationFailed"},

		// An assignment on one resource.
		{"resource_admin_on_resource", pResourceAdmin, writeAuto, auto(subS1, "rg1", "a1"), 0, ""},
		{"resource_admin_not_on_prefix_sibling", pResourceAdmin, writeAuto, auto(subS1, "rg1", "a10"), 403, "AuthorizationFailed"},
		{"resource_admin_not_on_group", pResourceAdmin, readAuto, rg(subS1, "rg1"), 403, "AuthorizationFailed"},

		// "/" is the root of the principal's own tenant, not of every tenant.
		{"slash_owner_everywhere_in_tenant", pSlashOwner, writeRA, auto(subS1, "rg1", "x"), 0, ""},
		{"slash_owner_not_in_other_tenant", pSlashOwner, readAuto, sub(subS3), 401, "InvalidAuthenticationTokenTenant"},
		{"owner_of_s2_not_s1", pS2Owner, readAuto, sub(subS1), 403, "AuthorizationFailed"},
		{"owner_of_s2_writes_in_s2", pS2Owner, writeRA, rg(subS2, "rg1"), 0, ""},

		{"unknown_role_grants_nothing", pUnknownRole, readAuto, sub(subS1), 403, "AuthorizationFailed"},
		{"no_assignment", pNothing, readAuto, sub(subS1), 403, "AuthorizationFailed"},
		{"unknown_subscription", pRootReader, readAuto, sub(subNone), 404, "SubscriptionNotFound"},
		{"unknown_group", pRootReader, readMG, mg("nope"), 404, "ManagementGroupNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := auth.WithPrincipal(context.Background(), &auth.Principal{TenantID: tenantT, ObjectID: tt.principal})
			err := a.Authorize(ctx, tt.permission, tt.scope)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("Authorize(%s at %s) = %v, want allowed", tt.permission, tt.scope, err)
				}
				if !a.Can(ctx, tt.permission, tt.scope) {
					t.Error("Can disagrees with Authorize")
				}
				return
			}
			var ae *armapi.Error
			if !errors.As(err, &ae) {
				t.Fatalf("Authorize(%s at %s) = %v, want an *armapi.Error %d", tt.permission, tt.scope, err, tt.status)
			}
			if ae.Status != tt.status || ae.Code != tt.code {
				t.Errorf("Authorize = %d %s (%s), want %d %s", ae.Status, ae.Code, ae.Message, tt.status, tt.code)
			}
			if a.Can(ctx, tt.permission, tt.scope) {
				t.Error("Can allows what Authorize denies")
			}
		})
	}
}

func TestRBACWithoutPrincipal(t *testing.T) {
	a := newRBAC(t)
	err := a.Authorize(context.Background(), readAuto, sub(subS1))
	var ae *armapi.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Errorf("Authorize without a principal = %v, want a 401", err)
	}
}

func TestRoleAllows(t *testing.T) {
	custom := &auth.RoleDefinition{
		Actions:    []string{"Microsoft.Security/*/read", "Microsoft.Security/automations/*", "Microsoft.Insights/*/ab*cd/write"},
		NotActions: []string{"Microsoft.Security/automations/delete"},
	}
	tests := []struct {
		role   *auth.RoleDefinition
		action string
		want   bool
	}{
		{auth.BuiltinRoles[auth.RoleOwner], "Microsoft.Authorization/roleAssignments/write", true},
		{auth.BuiltinRoles[auth.RoleOwner], "anything/at/all", true},
		{auth.BuiltinRoles[auth.RoleReader], "Microsoft.Security/automations/read", true},
		{auth.BuiltinRoles[auth.RoleReader], "MICROSOFT.SECURITY/AUTOMATIONS/READ", true},
		{auth.BuiltinRoles[auth.RoleReader], "Microsoft.Security/automations/write", false},
		{auth.BuiltinRoles[auth.RoleReader], "Microsoft.Security/automations/readx", false},
		{auth.BuiltinRoles[auth.RoleReader], "read", false},
		{auth.BuiltinRoles[auth.RoleContributor], "Microsoft.Security/automations/write", true},
		{auth.BuiltinRoles[auth.RoleContributor], "Microsoft.Authorization/roleAssignments/delete", false},
		{auth.BuiltinRoles[auth.RoleContributor], "Microsoft.Authorization/roleAssignments/read", true},
		{auth.BuiltinRoles[auth.RoleSecurityAdmin], "Microsoft.Security/automations/write", true},
		{auth.BuiltinRoles[auth.RoleSecurityAdmin], "Microsoft.Security/automations/delete", true},
		{auth.BuiltinRoles[auth.RoleSecurityAdmin], "Microsoft.Security/pricings/write", true},
		{auth.BuiltinRoles[auth.RoleSecurityAdmin], "Microsoft.SecurityInsights/incidents/write", false},
		{auth.BuiltinRoles[auth.RoleSecurityAdmin], "Microsoft.Authorization/roleAssignments/write", false},
		{auth.BuiltinRoles[auth.RoleSecurityReader], "Microsoft.Security/automations/read", true},
		{auth.BuiltinRoles[auth.RoleSecurityReader], "Microsoft.Security/locations/alerts/read", true},
		{auth.BuiltinRoles[auth.RoleSecurityReader], "Microsoft.Security/automations/write", false},
		{auth.BuiltinRoles[auth.RoleSecurityReader], "Microsoft.Security/read", false},
		{custom, "Microsoft.Security/assessments/read", true},
		{custom, "Microsoft.Security/automations/write", true},
		{custom, "Microsoft.Security/automations/delete", false},
		{custom, "microsoft.security/AUTOMATIONS/DELETE", false},
		{custom, "Microsoft.Insights/x/abZZcd/write", true},
		{custom, "Microsoft.Insights/x/abcd/write", true},
		{custom, "Microsoft.Insights/x/abc/write", false},
		{custom, "Microsoft.Insights/x/cdab/write", false},
		{&auth.RoleDefinition{Actions: []string{"a*a"}}, "a", false},
		{&auth.RoleDefinition{Actions: []string{"a*a"}}, "aa", true},
		{&auth.RoleDefinition{Actions: []string{"*x*xy"}}, "xy", false},
		{&auth.RoleDefinition{Actions: []string{"*x*xy"}}, "x.xy", true},
		{&auth.RoleDefinition{}, "Microsoft.Security/automations/read", false},
	}
	for _, tt := range tests {
		if got := tt.role.Allows(tt.action); got != tt.want {
			t.Errorf("%s %v Allows(%q) = %v, want %v", tt.role.Name, tt.role.Actions, tt.action, got, tt.want)
		}
	}
	for id, r := range auth.BuiltinRoles {
		if r.ID != id || r.Name == "" {
			t.Errorf("built-in role %s: id %q name %q", id, r.ID, r.Name)
		}
	}
}
