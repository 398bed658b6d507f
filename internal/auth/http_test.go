package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"

	"sluice/internal/auth"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
)

const (
	prodSub = server.DemoSubProduction
	prodRG  = "web-prod"
)

func TestBuiltinRolesData(t *testing.T) {
	want := map[string]string{
		"Owner": auth.RoleOwner, "Contributor": auth.RoleContributor, "Reader": auth.RoleReader,
		"User Access Administrator": auth.RoleUserAccessAdministrator, "Security Admin": auth.RoleSecurityAdmin,
		"Security Reader": auth.RoleSecurityReader, "Log Analytics Contributor": auth.RoleLogAnalyticsContributor,
		"Log Analytics Reader": auth.RoleLogAnalyticsReader, "Monitoring Contributor": auth.RoleMonitoringContributor,
		"Monitoring Metrics Publisher":   auth.RoleMonitoringMetricsPublisher,
		"Microsoft Sentinel Contributor": auth.RoleSentinelContributor, "Azure Event Hubs Data Sender": auth.RoleAzureEventHubsDataSender,
	}
	if len(auth.BuiltinRoles) != len(want) {
		t.Errorf("%d built-in roles, want %d", len(auth.BuiltinRoles), len(want))
	}
	for name, id := range want {
		d := auth.RoleByName(name)
		if d == nil || d.ID != id {
			t.Errorf("role %q = %+v, want id %s", name, d, id)
		}
	}
	cases := []struct {
		role   string
		action string
		data   bool
		want   bool
	}{
		{auth.RoleAzureEventHubsDataSender, "Microsoft.EventHub/namespaces/eventhubs/send/action", true, true},
		{auth.RoleAzureEventHubsDataSender, "Microsoft.EventHub/namespaces/eventhubs/read", false, true},
		{auth.RoleAzureEventHubsDataSender, "Microsoft.EventHub/namespaces/eventhubs/write", false, false},
		{auth.RoleOwner, "Microsoft.EventHub/namespaces/eventhubs/send/action", true, false}, // "*" is not a data action
		{auth.RoleContributor, "Microsoft.Authorization/roleAssignments/write", false, false},
		{auth.RoleUserAccessAdministrator, "Microsoft.Authorization/roleAssignments/write", false, true},
		{auth.RoleUserAccessAdministrator, "Microsoft.Security/automations/write", false, false},
		{auth.RoleLogAnalyticsReader, "Microsoft.OperationalInsights/workspaces/sharedKeys/read", false, false},
		{auth.RoleLogAnalyticsReader, "Microsoft.OperationalInsights/workspaces/read", false, true},
		{auth.RoleLogAnalyticsContributor, "Microsoft.OperationalInsights/workspaces/write", false, true},
		{auth.RoleMonitoringContributor, "Microsoft.OperationalInsights/workspaces/write", false, true},
		{auth.RoleMonitoringContributor, "Microsoft.Security/automations/write", false, false},
		{auth.RoleMonitoringMetricsPublisher, "Microsoft.Insights/Metrics/Write", true, true},
		{auth.RoleSentinelContributor, "Microsoft.SecurityInsights/ConfidentialWatchlists/write", false, false},
		{auth.RoleSentinelContributor, "Microsoft.SecurityInsights/incidents/write", false, true},
		{auth.RoleSecurityAdmin, "microsoft.security/AUTOMATIONS/write", false, true},
		{auth.RoleSecurityReader, "Microsoft.Security/automations/write", false, false},
	}
	for _, c := range cases {
		d := auth.BuiltinRoles[c.role]
		got := d.Allows(c.action)
		if c.data {
			got = d.AllowsData(c.action)
		}
		if got != c.want {
			t.Errorf("%s allows %s (data %v) = %v, want %v", d.Name, c.action, c.data, got, c.want)
		}
	}
}

func TestRoleDefinitionsAPI(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	ctx := context.Background()
	defs, err := armauthorization.NewRoleDefinitionsClient(env.Cred(), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	scope := "/subscriptions/" + prodSub
	got, err := defs.Get(ctx, scope, auth.RoleSecurityAdmin, nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if *got.Properties.RoleName != "Security Admin" || *got.Name != auth.RoleSecurityAdmin ||
		!strings.EqualFold(*got.ID, scope+"/providers/Microsoft.Authorization/roleDefinitions/"+auth.RoleSecurityAdmin) {
		t.Errorf("Get = %s %s %s", *got.ID, *got.Name, *got.Properties.RoleName)
	}
	if len(got.Properties.Permissions) != 1 || len(got.Properties.Permissions[0].Actions) == 0 {
		t.Errorf("permissions = %+v", got.Properties.Permissions)
	}
	names := map[string]bool{}
	pager := defs.NewListPager(scope, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, d := range page.Value {
			names[*d.Properties.RoleName] = true
		}
	}
	if len(names) != len(auth.BuiltinRoles) || !names["Azure Event Hubs Data Sender"] {
		t.Errorf("listed %v", names)
	}
	pager = defs.NewListPager(scope, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq 'Reader'")})
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Value) != 1 || *page.Value[0].Name != auth.RoleReader {
		t.Errorf("filtered list: %v %+v", err, page.Value)
	}
	// The tenant-level form, and an unknown id.
	resp, body := env.Do(http.MethodGet, "/providers/Microsoft.Authorization/roleDefinitions/"+auth.RoleOwner+"?api-version=2022-04-01", env.Token, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"roleName":"Owner"`) {
		t.Errorf("tenant-level get: %d %s", resp.StatusCode, body)
	}
	_, err = defs.Get(ctx, scope, uuid.NewString(), nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound || re.ErrorCode != "RoleDefinitionDoesNotExist" {
		t.Errorf("unknown definition: %v", err)
	}
	// Reading definitions at a scope needs a token with some read right there.
	stranger := env.TokenFor(env.TenantID, uuid.NewString())
	resp, body = env.Do(http.MethodGet, scope+"/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01", stranger, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("stranger list: %d %s", resp.StatusCode, body)
	}
}

func TestRoleAssignmentsAPI(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	ctx := context.Background()
	ras, err := armauthorization.NewRoleAssignmentsClient(prodSub, env.Cred(), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	user := uuid.NewString()
	rgScope := "/subscriptions/" + prodSub + "/resourceGroups/" + prodRG
	name := uuid.NewString()
	params := armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID:      to.Ptr(user),
		RoleDefinitionID: to.Ptr("/subscriptions/" + prodSub + "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleSecurityReader),
		PrincipalType:    to.Ptr(armauthorization.PrincipalTypeUser),
	}}
	created, err := ras.Create(ctx, rgScope, name, params, nil)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if *created.Name != name || !strings.EqualFold(*created.Properties.Scope, rgScope) || *created.Properties.PrincipalID != user {
		t.Errorf("created = %+v", created.RoleAssignment)
	}
	// The user can now read automations in the group, but not write them, nor elsewhere.
	tok := env.TokenFor(env.TenantID, user)
	autos := rgScope + "/providers/Microsoft.Security/automations?api-version=2023-12-01-preview"
	if resp, body := env.Do(http.MethodGet, autos, tok, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("reader list automations: %d %s", resp.StatusCode, body)
	}
	other := "/subscriptions/" + server.DemoSubDevelopment + "/resourceGroups/x/providers/Microsoft.Security/automations?api-version=2023-12-01-preview"
	if resp, body := env.Do(http.MethodGet, other, tok, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("reader list elsewhere: %d %s", resp.StatusCode, body)
	}

	got, err := ras.Get(ctx, rgScope, name, nil)
	if err != nil || *got.ID != *created.ID {
		t.Errorf("Get: %v", err)
	}
	// Duplicate under another name: 409.
	_, err = ras.Create(ctx, rgScope, uuid.NewString(), params, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusConflict || re.ErrorCode != "RoleAssignmentExists" {
		t.Errorf("duplicate: %v", err)
	}
	// A bad role: 400.
	bad := params
	bad.Properties = &armauthorization.RoleAssignmentProperties{PrincipalID: to.Ptr(user),
		RoleDefinitionID: to.Ptr("/providers/Microsoft.Authorization/roleDefinitions/" + uuid.NewString())}
	_, err = ras.Create(ctx, rgScope, uuid.NewString(), bad, nil)
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest || re.ErrorCode != "RoleDefinitionDoesNotExist" {
		t.Errorf("bad role: %v", err)
	}
	// A subscription-level assignment for the same user.
	subName := uuid.NewString()
	subParams := params
	subParams.Properties = &armauthorization.RoleAssignmentProperties{PrincipalID: to.Ptr(user),
		RoleDefinitionID: to.Ptr("/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleReader)}
	if _, err := ras.Create(ctx, "/subscriptions/"+prodSub, subName, subParams, nil); err != nil {
		t.Fatalf("Create at subscription: %v", err)
	}

	count := func(p interface {
		More() bool
	}, next func() ([]*armauthorization.RoleAssignment, error)) map[string]bool {
		out := map[string]bool{}
		for p.More() {
			v, err := next()
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			for _, ra := range v {
				if *ra.Properties.PrincipalID == user {
					out[*ra.Name] = true
				}
			}
		}
		return out
	}
	// The SDK sends $filter unencoded (x-ms-skip-url-encoding): callers escape it.
	filter := url.PathEscape("principalId eq '" + user + "'")
	sp := ras.NewListForSubscriptionPager(&armauthorization.RoleAssignmentsClientListForSubscriptionOptions{Filter: &filter})
	if got := count(sp, func() ([]*armauthorization.RoleAssignment, error) {
		p, err := sp.NextPage(ctx)
		return p.Value, err
	}); !got[name] || !got[subName] || len(got) != 2 {
		t.Errorf("ListForSubscription = %v", got)
	}
	rp := ras.NewListForResourceGroupPager(prodRG, nil)
	if got := count(rp, func() ([]*armauthorization.RoleAssignment, error) {
		p, err := rp.NextPage(ctx)
		return p.Value, err
	}); !got[name] || !got[subName] {
		t.Errorf("ListForResourceGroup = %v", got)
	}
	at := "atScope()"
	sc := ras.NewListForScopePager("/subscriptions/"+prodSub, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: &at})
	if got := count(sc, func() ([]*armauthorization.RoleAssignment, error) {
		p, err := sc.NextPage(ctx)
		return p.Value, err
	}); got[name] || !got[subName] {
		t.Errorf("ListForScope atScope() = %v (the RG assignment is below the scope)", got)
	}

	// Only holders of roleAssignments/write may assign: the reader may not.
	readerRAs, _ := armauthorization.NewRoleAssignmentsClient(prodSub, servertest.Credential(tok), env.ARMOptions())
	_, err = readerRAs.Create(ctx, rgScope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{PrincipalID: to.Ptr(user),
			RoleDefinitionID: to.Ptr("/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleOwner)}}, nil)
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden || re.ErrorCode != "AuthorizationFailed" {
		t.Errorf("reader assigning Owner: %v", err)
	}

	if _, err := ras.Delete(ctx, rgScope, name, nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := ras.Delete(ctx, rgScope, name, nil); err != nil {
		t.Errorf("second Delete (204): %v", err)
	}
	_, err = ras.Get(ctx, rgScope, name, nil)
	if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound {
		t.Errorf("Get after delete: %v", err)
	}
	// Security Reader is gone; Reader at the subscription still reads automations.
	if resp, body := env.Do(http.MethodGet, autos, tok, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("list after delete: %d %s", resp.StatusCode, body)
	}
	if _, err := ras.Delete(ctx, "/subscriptions/"+prodSub, subName, nil); err != nil {
		t.Fatal(err)
	}
	if resp, body := env.Do(http.MethodGet, autos, tok, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("list after both deletes: %d %s", resp.StatusCode, body)
	}
	// Management group scope.
	mgScope := "/providers/Microsoft.Management/managementGroups/" + server.DemoGroupDevelopment
	if _, err := ras.Create(ctx, mgScope, uuid.NewString(), subParams, nil); err != nil {
		t.Fatalf("Create at management group: %v", err)
	}
	devAutos := "/subscriptions/" + server.DemoSubDevelopment + "/providers/Microsoft.Security/automations?api-version=2023-12-01-preview"
	if resp, body := env.Do(http.MethodGet, devAutos, tok, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("group-level reader: %d %s", resp.StatusCode, body)
	}
}
