// Package workspace is Sluice's embedded Log Analytics workspace: the
// Microsoft.OperationalInsights/workspaces ARM resource, the six Security
// tables of every workspace in its own SQLite database, a Writer through
// which the export engine's workspace sink writes rows, the Log Analytics
// query API (POST /v1/workspaces/{customerId}/query, KQL compiled by
// internal/kql) and the Logs Ingestion API
// (POST /dataCollectionRules/{dcrImmutableId}/streams/{stream}).
//
// Every workspace has a customer id (a GUID: the query API's workspace id)
// and a data collection rule immutable id derived from it,
// "dcr-" + the customer id without dashes, shown in its properties as
// dataCollectionRuleImmutableId: the Logs Ingestion API addresses the
// workspace by it. Rows older than the workspace's retentionInDays are
// removed by a background loop (Service.RunRetention).
package workspace
