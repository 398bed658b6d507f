package auth

// The built-in role definitions below (ids, actions, notActions,
// dataActions, notDataActions) were checked on 2026-11-28 against
// Microsoft's reference "Azure built-in roles"
// (learn.microsoft.com/azure/role-based-access-control/built-in-roles/…,
// source MicrosoftDocs/azure-docs, articles/role-based-access-control/
// built-in-roles/): privileged.md (Owner, Contributor, User Access
// Administrator; its ms.date 07/01/2026), general.md (Reader), security.md
// (Security Admin, Security Reader, Microsoft Sentinel Contributor),
// monitor.md (Monitoring Contributor, Monitoring
// Metrics Publisher) and analytics.md (Log Analytics Contributor, Log
// Analytics Reader, Azure Event Hubs Data Sender). The check removed one
// action written from memory: Monitoring Contributor has no
// Microsoft.AlertsManagement/prometheusRuleGroups/*. roles_test.go pins
// what each role must and must not allow.

import (
	"sort"
	"strings"
)

// RoleDefinition is a role: the control-plane actions it allows and carves
// out, and the data-plane actions it allows and carves out.
type RoleDefinition struct {
	ID             string   `json:"id"`
	Name           string   `json:"roleName"`
	Description    string   `json:"description"`
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// Built-in role ids, as Azure numbers them (the same in every tenant).
const (
	RoleOwner                       = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleContributor                 = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleReader                      = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	RoleUserAccessAdministrator     = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	RoleSecurityAdmin               = "fb1c8493-542b-48eb-b624-b4c8fea62acd"
	RoleSecurityReader              = "39bc4728-0917-49c7-9d2c-d95423bc2eb4"
	RoleLogAnalyticsContributor     = "92aaf0da-9dab-42b6-94a3-d43ce8d16293"
	RoleLogAnalyticsReader          = "73c42c96-874c-492b-b04d-ab87d138a893"
	RoleMonitoringContributor       = "749f88d5-cbae-40b8-bcfc-e573ddc772fa"
	RoleMonitoringMetricsPublisher  = "3913510d-42f4-4e42-8a64-420c390055eb"
	RoleSentinelContributor         = "ab8e14d6-4a74-4a29-9ba8-549422addade"
	RoleAzureEventHubsDataSender    = "2b629674-e913-4c01-ae53-ef4638d8f975"
	roleDefinitionsPath             = "/providers/Microsoft.Authorization/roleDefinitions/"
	roleDefinitionType              = "Microsoft.Authorization/roleDefinitions"
	builtInRoleType                 = "BuiltInRole"
	builtInRolesCreatedOn           = "2015-02-02T21:55:09.8806423Z"
	builtInRolesUpdatedOn           = "2024-01-01T00:00:00.0000000Z"
	contributorDescription          = "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries."
	userAccessAdministratorDescript = "Lets you manage user access to Azure resources."
)

// BuiltinRoles are the role definitions every tenant has, keyed by id.
var BuiltinRoles = map[string]*RoleDefinition{
	RoleOwner: {ID: RoleOwner, Name: "Owner",
		Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		Actions:     []string{"*"}},
	RoleContributor: {ID: RoleContributor, Name: "Contributor", Description: contributorDescription,
		Actions: []string{"*"},
		NotActions: []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
			"Microsoft.Authorization/elevateAccess/Action", "Microsoft.Blueprint/blueprintAssignments/write",
			"Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action",
			"Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
			"Microsoft.Resources/deploymentStacks/manageDenySetting/action",
			"Microsoft.Subscription/cancel/action", "Microsoft.Subscription/enable/action"}},
	RoleReader: {ID: RoleReader, Name: "Reader", Description: "View all resources, but does not allow you to make any changes.",
		Actions: []string{"*/read"}},
	RoleUserAccessAdministrator: {ID: RoleUserAccessAdministrator, Name: "User Access Administrator",
		Description: userAccessAdministratorDescript,
		Actions:     []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}},
	RoleSecurityAdmin: {ID: RoleSecurityAdmin, Name: "Security Admin", Description: "Security Admin Role",
		Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Authorization/policyAssignments/*", "Microsoft.Authorization/policyDefinitions/*",
			"Microsoft.Authorization/policyExemptions/*", "Microsoft.Authorization/policySetDefinitions/*", "Microsoft.Insights/alertRules/*",
			"Microsoft.Management/managementGroups/read", "Microsoft.operationalInsights/workspaces/*/read", "Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Security/*", "Microsoft.IoTSecurity/*",
			"Microsoft.IoTFirmwareDefense/*", "Microsoft.Support/*"}},
	RoleSecurityReader: {ID: RoleSecurityReader, Name: "Security Reader", Description: "Security Reader Role",
		Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/read", "Microsoft.operationalInsights/workspaces/*/read",
			"Microsoft.Resources/deployments/*/read", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Security/*/read",
			"Microsoft.IoTSecurity/*/read", "Microsoft.Support/*/read", "Microsoft.Security/iotDefenderSettings/packageDownloads/action",
			"Microsoft.Security/iotDefenderSettings/downloadManagerActivation/action", "Microsoft.Security/iotSensors/downloadResetPassword/action",
			"Microsoft.IoTSecurity/defenderSettings/packageDownloads/action", "Microsoft.IoTSecurity/defenderSettings/downloadManagerActivation/action",
			"Microsoft.Management/managementGroups/read"}},
	RoleLogAnalyticsContributor: {ID: RoleLogAnalyticsContributor, Name: "Log Analytics Contributor",
		Description: "Log Analytics Contributor can read all monitoring data and edit monitoring settings. Editing monitoring settings includes adding the VM extension to VMs; reading storage account keys to be able to configure collection of logs from Azure Storage; adding solutions; and configuring Azure diagnostics on all Azure resources.",
		Actions: []string{"*/read", "Microsoft.ClassicCompute/virtualMachines/extensions/*", "Microsoft.ClassicStorage/storageAccounts/listKeys/action",
			"Microsoft.Compute/virtualMachines/extensions/*", "Microsoft.HybridCompute/machines/extensions/write", "Microsoft.Insights/alertRules/*",
			"Microsoft.Insights/diagnosticSettings/*", "Microsoft.OperationalInsights/*", "Microsoft.OperationsManagement/*",
			"Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourcegroups/deployments/*",
			"Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Support/*"}},
	RoleLogAnalyticsReader: {ID: RoleLogAnalyticsReader, Name: "Log Analytics Reader",
		Description: "Log Analytics Reader can view and search all monitoring data as well as and view monitoring settings, including viewing the configuration of Azure diagnostics on all Azure resources.",
		Actions: []string{"*/read", "Microsoft.OperationalInsights/workspaces/analytics/query/action",
			"Microsoft.OperationalInsights/workspaces/search/action", "Microsoft.Support/*"},
		NotActions: []string{"Microsoft.OperationalInsights/workspaces/sharedKeys/read"}},
	RoleMonitoringContributor: {ID: RoleMonitoringContributor, Name: "Monitoring Contributor",
		Description: "Can read all monitoring data and update monitoring settings.",
		Actions: []string{"*/read", "Microsoft.AlertsManagement/alerts/*", "Microsoft.AlertsManagement/alertsSummary/*",
			"Microsoft.Insights/actiongroups/*", "Microsoft.Insights/activityLogAlerts/*", "Microsoft.Insights/AlertRules/*",
			"Microsoft.Insights/components/*", "Microsoft.Insights/createNotifications/*", "Microsoft.Insights/dataCollectionEndpoints/*",
			"Microsoft.Insights/dataCollectionRules/*", "Microsoft.Insights/dataCollectionRuleAssociations/*",
			"Microsoft.Insights/DiagnosticSettings/*", "Microsoft.Insights/eventtypes/*", "Microsoft.Insights/LogDefinitions/*",
			"Microsoft.Insights/metricalerts/*", "Microsoft.Insights/MetricDefinitions/*", "Microsoft.Insights/Metrics/*",
			"Microsoft.Insights/notificationStatus/*", "Microsoft.Insights/Register/Action", "Microsoft.Insights/scheduledqueryrules/*",
			"Microsoft.Insights/webtests/*", "Microsoft.Insights/workbooks/*", "Microsoft.Insights/workbooktemplates/*",
			"Microsoft.Insights/privateLinkScopes/*", "Microsoft.Insights/privateLinkScopeOperationStatuses/*",
			"Microsoft.OperationalInsights/workspaces/write", "Microsoft.OperationalInsights/workspaces/intelligencepacks/*",
			"Microsoft.OperationalInsights/workspaces/savedSearches/*", "Microsoft.OperationalInsights/workspaces/search/action",
			"Microsoft.OperationalInsights/workspaces/sharedKeys/action", "Microsoft.OperationalInsights/workspaces/storageinsightconfigs/*",
			"Microsoft.Support/*", "Microsoft.WorkloadMonitor/monitors/*", "Microsoft.AlertsManagement/smartDetectorAlertRules/*",
			"Microsoft.AlertsManagement/actionRules/*", "Microsoft.AlertsManagement/smartGroups/*",
			"Microsoft.AlertsManagement/migrateFromSmartDetection/*", "Microsoft.AlertsManagement/investigations/*",
			"Microsoft.Monitor/investigations/*"}},
	RoleMonitoringMetricsPublisher: {ID: RoleMonitoringMetricsPublisher, Name: "Monitoring Metrics Publisher",
		Description: "Enables publishing metrics against Azure resources",
		Actions:     []string{"Microsoft.Insights/Register/Action", "Microsoft.Support/*", "Microsoft.Resources/subscriptions/resourceGroups/read"},
		DataActions: []string{"Microsoft.Insights/Metrics/Write", "Microsoft.Insights/Telemetry/Write"}},
	RoleSentinelContributor: {ID: RoleSentinelContributor, Name: "Microsoft Sentinel Contributor",
		Description: "Microsoft Sentinel Contributor",
		Actions: []string{"Microsoft.SecurityInsights/*", "Microsoft.OperationalInsights/workspaces/analytics/query/action",
			"Microsoft.OperationalInsights/workspaces/*/read", "Microsoft.OperationalInsights/workspaces/savedSearches/*",
			"Microsoft.OperationsManagement/solutions/read", "Microsoft.OperationalInsights/workspaces/query/read",
			"Microsoft.OperationalInsights/workspaces/query/*/read", "Microsoft.OperationalInsights/workspaces/dataSources/read",
			"Microsoft.OperationalInsights/querypacks/*/read", "Microsoft.Insights/workbooks/*", "Microsoft.Insights/myworkbooks/read",
			"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"},
		NotActions: []string{"Microsoft.SecurityInsights/ConfidentialWatchlists/*",
			"Microsoft.OperationalInsights/workspaces/query/ConfidentialWatchlist/*"}},
	RoleAzureEventHubsDataSender: {ID: RoleAzureEventHubsDataSender, Name: "Azure Event Hubs Data Sender",
		Description: "Allows send access to Azure Event Hubs resources.",
		Actions:     []string{"Microsoft.EventHub/*/eventhubs/read"},
		DataActions: []string{"Microsoft.EventHub/*/send/action"}},
}

// RoleByID returns the built-in role whose id is the last segment of id
// (a bare GUID or a roleDefinitions resource id at any scope), or nil.
func RoleByID(id string) *RoleDefinition {
	return BuiltinRoles[strings.ToLower(lastSegment(strings.TrimSuffix(id, "/")))]
}

// RoleByName returns the built-in role with the given name
// (case-insensitively), or nil.
func RoleByName(name string) *RoleDefinition {
	for _, d := range BuiltinRoles {
		if strings.EqualFold(d.Name, name) {
			return d
		}
	}
	return nil
}

// SortedRoles lists the built-in roles by name.
func SortedRoles() []*RoleDefinition {
	out := make([]*RoleDefinition, 0, len(BuiltinRoles))
	for _, d := range BuiltinRoles {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RoleDefinitionID is the resource id of a role definition at a scope
// ("" or "/" for the tenant-level form).
func RoleDefinitionID(scope, role string) string {
	return strings.TrimSuffix(scope, "/") + roleDefinitionsPath + role
}
