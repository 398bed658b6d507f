package auth

import (
	"testing"

	"sluice/internal/armid"
)

// TestBuiltinRolesAgainstAzure pins, for each built-in role, actions it
// must allow and must not, as Microsoft documents the role (see the
// comment at the top of roles.go for the source).
func TestBuiltinRolesAgainstAzure(t *testing.T) {
	const (
		automationsRead    = "Microsoft.Security/automations/read"
		automationsWrite   = "Microsoft.Security/automations/write"
		assessmentsRead    = "Microsoft.Security/assessments/read"
		alertDismiss       = "Microsoft.Security/locations/alerts/dismiss/action"
		wsRead             = "Microsoft.OperationalInsights/workspaces/read"
		wsWrite            = "Microsoft.OperationalInsights/workspaces/write"
		wsQuery            = "Microsoft.OperationalInsights/workspaces/query/read"
		wsSharedKeysRead   = "Microsoft.OperationalInsights/workspaces/sharedKeys/read"
		raWrite            = "Microsoft.Authorization/roleAssignments/write"
		raDelete           = "Microsoft.Authorization/roleAssignments/delete"
		raRead             = "Microsoft.Authorization/roleAssignments/read"
		rgRead             = "Microsoft.Resources/subscriptions/resourceGroups/read"
		logicWrite         = "Microsoft.Logic/workflows/write"
		hubRead            = "Microsoft.EventHub/namespaces/eventhubs/read"
		hubWrite           = "Microsoft.EventHub/namespaces/eventhubs/write"
		hubSend            = "Microsoft.EventHub/namespaces/messages/send/action"
		hubReceive         = "Microsoft.EventHub/namespaces/messages/receive/action"
		metricsWrite       = "Microsoft.Insights/Metrics/Write"
		eventtypesRead     = "Microsoft.Insights/eventtypes/values/read"
		elevateAccess      = "Microsoft.Authorization/elevateAccess/Action"
		policyAssignWrite  = "Microsoft.Authorization/policyAssignments/write"
		incidentsWrite     = "Microsoft.SecurityInsights/incidents/write"
		confidentialWLRead = "Microsoft.SecurityInsights/ConfidentialWatchlists/read"
	)
	cases := []struct {
		id, name           string
		allow, deny        []string
		allowData, denyDat []string
	}{
		{RoleOwner, "Owner",
			[]string{raWrite, automationsWrite, wsWrite, logicWrite, elevateAccess}, nil,
			nil, []string{hubSend}},
		{RoleContributor, "Contributor",
			[]string{automationsWrite, wsWrite, logicWrite, hubWrite, raRead},
			[]string{raWrite, raDelete, elevateAccess, policyAssignWrite, "Microsoft.Subscription/cancel/action"},
			nil, []string{hubSend}},
		{RoleReader, "Reader",
			[]string{automationsRead, assessmentsRead, wsRead, wsQuery, rgRead, hubRead},
			[]string{automationsWrite, wsWrite, alertDismiss, raWrite, "Microsoft.Support/supportTickets/write"},
			nil, []string{hubSend}},
		{RoleUserAccessAdministrator, "User Access Administrator",
			[]string{raWrite, raDelete, elevateAccess, automationsRead, "Microsoft.Support/supportTickets/write"},
			[]string{automationsWrite, wsWrite},
			nil, nil},
		{RoleSecurityAdmin, "Security Admin",
			[]string{automationsWrite, alertDismiss, assessmentsRead, policyAssignWrite, wsQuery, rgRead, raRead},
			[]string{wsWrite, wsRead, logicWrite, raWrite, hubWrite},
			nil, []string{hubSend}},
		{RoleSecurityReader, "Security Reader",
			[]string{automationsRead, assessmentsRead, "Microsoft.Security/locations/alerts/read", wsQuery, rgRead,
				"Microsoft.Security/iotDefenderSettings/packageDownloads/action"},
			[]string{automationsWrite, "Microsoft.Security/automations/delete", alertDismiss, wsWrite, "Microsoft.Support/supportTickets/write"},
			nil, nil},
		{RoleLogAnalyticsContributor, "Log Analytics Contributor",
			[]string{wsWrite, wsQuery, wsSharedKeysRead, "Microsoft.OperationalInsights/workspaces/sharedKeys/action", automationsRead},
			[]string{automationsWrite, raWrite, logicWrite},
			nil, nil},
		{RoleLogAnalyticsReader, "Log Analytics Reader",
			[]string{wsQuery, wsRead, "Microsoft.OperationalInsights/workspaces/search/action",
				"Microsoft.OperationalInsights/workspaces/analytics/query/action"},
			[]string{wsSharedKeysRead, wsWrite, automationsWrite},
			nil, nil},
		{RoleMonitoringContributor, "Monitoring Contributor",
			[]string{wsWrite, eventtypesRead, "Microsoft.Insights/diagnosticSettings/write", "Microsoft.Insights/actiongroups/write"},
			[]string{"Microsoft.AlertsManagement/prometheusRuleGroups/write", automationsWrite, logicWrite, raWrite},
			nil, []string{metricsWrite}},
		{RoleMonitoringMetricsPublisher, "Monitoring Metrics Publisher",
			[]string{rgRead, "Microsoft.Insights/Register/Action"},
			[]string{automationsRead, wsRead, metricsWrite},
			[]string{metricsWrite, "Microsoft.Insights/Telemetry/Write"}, []string{hubSend}},
		{RoleSentinelContributor, "Microsoft Sentinel Contributor",
			[]string{incidentsWrite, wsQuery, "Microsoft.OperationalInsights/workspaces/savedSearches/write", rgRead},
			[]string{confidentialWLRead, "Microsoft.OperationalInsights/workspaces/query/ConfidentialWatchlist/read", wsWrite, automationsRead},
			nil, nil},
		{RoleAzureEventHubsDataSender, "Azure Event Hubs Data Sender",
			[]string{hubRead},
			[]string{hubWrite, "Microsoft.EventHub/namespaces/authorizationRules/listkeys/action", automationsRead},
			[]string{hubSend}, []string{hubReceive}},
	}
	if len(cases) != len(BuiltinRoles) {
		t.Fatalf("%d built-in roles, %d checked", len(BuiltinRoles), len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := BuiltinRoles[c.id]
			if d == nil {
				t.Fatalf("no built-in role %s", c.id)
			}
			if d.ID != c.id || d.Name != c.name || !armid.IsGUID(d.ID) {
				t.Fatalf("role %s is %q (%s)", c.id, d.Name, d.ID)
			}
			if RoleByName(c.name) != d || RoleByID(RoleDefinitionID("/subscriptions/x", c.id)) != d {
				t.Errorf("lookup by name or id does not find %s", c.name)
			}
			for _, a := range c.allow {
				if !d.Allows(a) {
					t.Errorf("%s does not allow %s", c.name, a)
				}
			}
			for _, a := range c.deny {
				if d.Allows(a) {
					t.Errorf("%s allows %s", c.name, a)
				}
			}
			for _, a := range c.allowData {
				if !d.AllowsData(a) {
					t.Errorf("%s does not allow the data action %s", c.name, a)
				}
			}
			for _, a := range c.denyDat {
				if d.AllowsData(a) {
					t.Errorf("%s allows the data action %s", c.name, a)
				}
			}
		})
	}
}
