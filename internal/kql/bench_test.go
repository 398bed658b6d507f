package kql_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"sluice/internal/kql"
)

var benchNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

var severities = []string{"Informational", "Low", "Medium", "High"}

// fillAlerts writes n realistic SecurityAlert rows spread evenly over span
// before benchNow.
func fillAlerts(tb testing.TB, tables []kql.Table, n int, span time.Duration) *sql.DB {
	db := openDB(tb, tables)
	t := tableByName(tables, "SecurityAlert")
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 5000
	for start := 0; start < n; start += batch {
		tx, err := db.Begin()
		if err != nil {
			tb.Fatal(err)
		}
		ins := newInserter(tb, tx, t)
		for i := start; i < start+batch && i < n; i++ {
			at := benchNow.Add(-time.Duration(float64(span) * float64(i) / float64(n)))
			sub := fmt.Sprintf("%08x-1111-2222-3333-%012x", rng.Uint32(), i%50)
			ins.insert(map[string]any{
				"TimeGenerated":   at,
				"AlertName":       fmt.Sprintf("Suspicious activity %d", i%40),
				"DisplayName":     fmt.Sprintf("Suspicious activity %d", i%40),
				"AlertSeverity":   severities[rng.IntN(len(severities))],
				"AlertType":       fmt.Sprintf("VM_Type%d", i%25),
				"Description":     "A process ran with a command line that matches a known attack pattern; review the process tree and the user account that started it.",
				"ResourceId":      "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm" + fmt.Sprint(i%300),
				"Status":          "New",
				"StartTime":       at.Add(-time.Minute),
				"EndTime":         at,
				"ProductName":     "Azure Security Center",
				"VendorName":      "Microsoft",
				"SystemAlertId":   fmt.Sprintf("2517%014d_%08x", i, rng.Uint32()),
				"Entities":        `[{"$id":"1","HostName":"vm1","Type":"host"},{"$id":"2","Name":"admin","Type":"account"}]`,
				"Tactics":         "Execution",
				"IsIncident":      false,
				"ConfidenceScore": rng.Float64(),
				"TenantId":        "72f988bf-86f1-41af-91ab-2d7cd011db47",
				"SourceSystem":    "Detection",
				"Type":            "SecurityAlert",
			})
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

const severityQuery = `SecurityAlert | where TimeGenerated > ago(1d) | summarize count() by AlertSeverity`

// BenchmarkAlertsBySeverity runs the query over 1,000,000 alerts:
// spread over 30 days (the usual shape: the index on TimeGenerated reads
// the last day only) and all within the last day (every row counts).
func BenchmarkAlertsBySeverity(b *testing.B) {
	schema, tables := securitySchema(b)
	for _, c := range []struct {
		name string
		span time.Duration
	}{{"spread30d", 30 * 24 * time.Hour}, {"all1d", 23 * time.Hour}} {
		b.Run(c.name, func(b *testing.B) {
			start := time.Now()
			db := fillAlerts(b, tables, 1_000_000, c.span)
			b.Logf("filled 1,000,000 rows in %v", time.Since(start))
			run := func(b *testing.B) {
				var rows int
				cpu := cpuTime()
				for b.Loop() {
					res, err := kql.Run(context.Background(), db, schema, severityQuery, benchNow, kql.TimeRange{})
					if err != nil {
						b.Fatal(err)
					}
					rows = len(res.Rows)
				}
				reportCPU(b, cpu)
				if rows != len(severities) {
					b.Fatalf("got %d rows, want %d", rows, len(severities))
				}
			}
			// First with the indexes only, then with the statistics that
			// "PRAGMA optimize" / ANALYZE give the planner.
			b.Run("indexes", run)
			if _, err := db.Exec("ANALYZE"); err != nil {
				b.Fatal(err)
			}
			b.Run("analyzed", run)
		})
	}
}

// The join Microsoft publishes for continuous export ("remediation
// description, portal link, severity and additional information per
// recommendation, by resource").
const joinQuery = `SecurityRegulatoryCompliance
| extend SubscriptionId=RegulatoryComplianceSubscriptionId
| join kind=inner (SecurityRecommendation
| extend SubscriptionId=(extract(@"/subscriptions/(.+)/resourceGroups", 1, AssessedResourceId)
)) on SubscriptionId, RecommendationId
| project TenantId, TimeGenerated, AssessedResourceId, RecommendationId, RecommendationName, State, ComplianceStandard, ComplianceControl, Description, RemediationDescription, RecommendationAdditionalData, RecommendationSeverity, RecommendationState, RecommendationLink`

// fillJoin writes n recommendations and n compliance rows: 1000
// subscriptions × n/1000 recommendation keys, one resource per
// recommendation and one compliance control per key in each table, so
// every row of each side matches exactly one row of the other.
func fillJoin(tb testing.TB, tables []kql.Table, n int) *sql.DB {
	db := openDB(tb, tables)
	rec := tableByName(tables, "SecurityRecommendation")
	comp := tableByName(tables, "SecurityRegulatoryCompliance")
	const subs = 1000
	keys := n / subs
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	ri, ci := newInserter(tb, tx, rec), newInserter(tb, tx, comp)
	for s := 0; s < subs; s++ {
		sub := fmt.Sprintf("%08x-0000-4000-8000-%012x", s, s)
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("%08x-1111-4111-8111-%012x", k, k)
			at := benchNow.Add(-time.Duration(s*keys+k) * time.Second)
			res := fmt.Sprintf("/subscriptions/%s/resourceGroups/rg%d/providers/Microsoft.Compute/virtualMachines/vm%d", sub, k%7, k)
			ri.insert(map[string]any{
				"TimeGenerated": at, "AssessedResourceId": res, "RecommendationId": key,
				"RecommendationName": fmt.Sprintf("Recommendation %d", k), "RecommendationDisplayName": fmt.Sprintf("Recommendation %d", k),
				"RecommendationState":          []string{"Healthy", "Unhealthy", "NotApplicable"}[k%3],
				"RecommendationSeverity":       []string{"Low", "Medium", "High"}[k%3],
				"Description":                  "Enable the setting on the resource to reduce its attack surface.",
				"RemediationDescription":       "Open the resource, select Settings and turn the option on.",
				"RecommendationAdditionalData": json.RawMessage(`{"source":"Azure","assessmentType":"BuiltIn"}`),
				"Properties":                   json.RawMessage(`{"status":{"code":"Unhealthy"}}`),
				"IsSnapshot":                   false, "TenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "Type": "SecurityRecommendation",
			})
			ci.insert(map[string]any{
				"TimeGenerated": at, "RegulatoryComplianceSubscriptionId": sub, "RecommendationId": key,
				"RecommendationName": fmt.Sprintf("Recommendation %d", k),
				"ComplianceStandard": []string{"Azure-CIS-1.1.0", "PCI-DSS-3.2.1", "ISO-27001"}[k%3],
				"ComplianceControl":  fmt.Sprintf("%d.%d", k%9+1, k%4+1),
				"State":              []string{"Passed", "Failed", "Skipped"}[k%3], "PassedResources": int64(k % 5),
				"FailedResources": int64(k % 3), "SkippedResources": int64(0),
				"RecommendationLink": "https://portal.azure.com/#blade/Microsoft_Azure_Security/RecommendationsBlade/assessmentKey/" + key,
				"IsSnapshot":         false, "TenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "Type": "SecurityRegulatoryCompliance",
			})
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	return db
}

// BenchmarkJoinRecommendationsCompliance runs Microsoft's join of
// compliance with recommendations over 100,000 rows on each side (100,000
// result rows).
func BenchmarkJoinRecommendationsCompliance(b *testing.B) {
	schema, tables := securitySchema(b)
	start := time.Now()
	db := fillJoin(b, tables, 100_000)
	b.Logf("filled 2 × 100,000 rows in %v", time.Since(start))
	var rows int
	cpu := cpuTime()
	for b.Loop() {
		res, err := kql.Run(context.Background(), db, schema, joinQuery, benchNow, kql.TimeRange{})
		if err != nil {
			b.Fatal(err)
		}
		rows = len(res.Rows)
	}
	reportCPU(b, cpu)
	if rows != 100_000 {
		b.Fatalf("got %d rows, want 100000", rows)
	}
}

// cpuTime is the process's user and system CPU time. On a busy machine
// the CPU time a query takes says more than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64(cpuTime()-since)/float64(b.N)/1e6, "cpu-ms/op")
}
