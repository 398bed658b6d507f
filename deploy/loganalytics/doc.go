// Package loganalytics holds the Azure definitions a user deploys so that
// Sluice can write continuous-export data to a Log Analytics workspace
// through the Logs Ingestion API: the six custom tables named after the
// Microsoft Security tables (SecurityAlert_CL, …) and a data collection
// rule with one stream per table. azuredeploy.json is generated from
// internal/latables by this package's test (go test ./deploy/loganalytics
// -update) and checked against it on every run.
package loganalytics
