package workspace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"sluice/internal/kql"
	"sluice/internal/latables"
	"sluice/internal/workspace"
)

var benchNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

var severities = []string{"Informational", "Low", "Medium", "High"}

// alertRows makes n SecurityAlert rows (latables value types) spread over
// span before benchNow.
func alertRows(n int, span time.Duration) [][]any {
	t, _ := latables.Lookup("SecurityAlert")
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([][]any, n)
	for i := range rows {
		at := benchNow.Add(-time.Duration(float64(span) * float64(i) / float64(n)))
		r := make([]any, len(t.Columns))
		set := func(c string, v any) { r[t.Index(c)] = v }
		set("TimeGenerated", at)
		set("AlertName", fmt.Sprintf("Suspicious activity %d", i%40))
		set("DisplayName", fmt.Sprintf("Suspicious activity %d", i%40))
		set("AlertSeverity", severities[rng.IntN(len(severities))])
		set("AlertType", fmt.Sprintf("VM_Type%d", i%25))
		set("Description", "A process ran with a command line that matches a known attack pattern; review the process tree.")
		set("ResourceId", fmt.Sprintf("/subscriptions/%08x-1111-2222-3333-%012x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm%d", rng.Uint32(), i%50, i%300))
		set("Status", "New")
		set("StartTime", at.Add(-time.Minute))
		set("EndTime", at)
		set("ProductName", "Azure Security Center")
		set("VendorName", "Microsoft")
		set("SystemAlertId", fmt.Sprintf("2517%014d_%08x", i, rng.Uint32()))
		set("Entities", `[{"$id":"1","HostName":"vm1","Type":"host"}]`)
		set("IsIncident", false)
		set("ConfidenceScore", rng.Float64())
		rows[i] = r
	}
	return rows
}

func openBenchDB(b *testing.B) *workspace.DB {
	db, err := workspace.OpenDB(filepath.Join(b.TempDir(), "ws.db"), "3f1e2d4c-5b6a-4788-9900-aabbccddeeff")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func insertAll(b *testing.B, db *workspace.DB, table string, rows [][]any) {
	const batch = 5000
	for start := 0; start < len(rows); start += batch {
		if err := db.Insert(context.Background(), table, rows[start:min(start+batch, len(rows))]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIngest writes SecurityAlert rows into a workspace database in
// batches of 1,000 (the export engine's batches are smaller; the Logs
// Ingestion API's are up to 1 MB); it reports rows/s.
func BenchmarkIngest(b *testing.B) {
	rows := alertRows(100_000, 30*24*time.Hour)
	db := openBenchDB(b)
	b.ResetTimer()
	n := 0
	start, cpu0 := time.Now(), cpuTime()
	for b.Loop() {
		for s := 0; s < len(rows); s += 1000 {
			if err := db.Insert(context.Background(), "SecurityAlert", rows[s:s+1000]); err != nil {
				b.Fatal(err)
			}
		}
		n += len(rows)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
	b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
}

// BenchmarkAlertsBySeverity: the query over 1,000,000 alerts spread
// over 30 days, through the workspace's storage.
func BenchmarkAlertsBySeverity(b *testing.B) {
	db := openBenchDB(b)
	start := time.Now()
	insertAll(b, db, "SecurityAlert", alertRows(1_000_000, 30*24*time.Hour))
	if err := db.Optimize(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("inserted 1,000,000 rows in %v", time.Since(start))
	var rows int
	for b.Loop() {
		res, err := kql.Run(context.Background(), db.SQL, workspace.Schema(), `SecurityAlert | where TimeGenerated > ago(1d) | summarize count() by AlertSeverity`, benchNow, kql.TimeRange{})
		if err != nil {
			b.Fatal(err)
		}
		rows = len(res.Rows)
	}
	if rows != len(severities) {
		b.Fatalf("%d rows, want %d", rows, len(severities))
	}
}

// BenchmarkJoinRecommendationsCompliance: Microsoft's join of compliance
// with recommendations, 100,000 rows on each side.
func BenchmarkJoinRecommendationsCompliance(b *testing.B) {
	db := openBenchDB(b)
	rec, _ := latables.Lookup("SecurityRecommendation")
	comp, _ := latables.Lookup("SecurityRegulatoryCompliance")
	const subs, n = 1000, 100_000
	keys := n / subs
	var recRows, compRows [][]any
	for s := 0; s < subs; s++ {
		sub := fmt.Sprintf("%08x-0000-4000-8000-%012x", s, s)
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("%08x-1111-4111-8111-%012x", k, k)
			at := benchNow.Add(-time.Duration(s*keys+k) * time.Second)
			r := make([]any, len(rec.Columns))
			set := func(c string, v any) { r[rec.Index(c)] = v }
			set("TimeGenerated", at)
			set("AssessedResourceId", fmt.Sprintf("/subscriptions/%s/resourceGroups/rg%d/providers/Microsoft.Compute/virtualMachines/vm%d", sub, k%7, k))
			set("RecommendationId", key)
			set("RecommendationName", fmt.Sprintf("Recommendation %d", k))
			set("RecommendationState", []string{"Healthy", "Unhealthy", "NotApplicable"}[k%3])
			set("RecommendationSeverity", []string{"Low", "Medium", "High"}[k%3])
			set("RecommendationAdditionalData", json.RawMessage(`{"source":"Azure"}`))
			set("IsSnapshot", false)
			recRows = append(recRows, r)
			c := make([]any, len(comp.Columns))
			cset := func(col string, v any) { c[comp.Index(col)] = v }
			cset("TimeGenerated", at)
			cset("RegulatoryComplianceSubscriptionId", sub)
			cset("RecommendationId", key)
			cset("ComplianceStandard", []string{"Azure-CIS-1.1.0", "PCI-DSS-3.2.1", "ISO-27001"}[k%3])
			cset("ComplianceControl", fmt.Sprintf("%d.%d", k%9+1, k%4+1))
			cset("State", []string{"Passed", "Failed", "Skipped"}[k%3])
			cset("IsSnapshot", false)
			compRows = append(compRows, c)
		}
	}
	insertAll(b, db, "SecurityRecommendation", recRows)
	insertAll(b, db, "SecurityRegulatoryCompliance", compRows)
	if err := db.Optimize(context.Background()); err != nil {
		b.Fatal(err)
	}
	query := `SecurityRegulatoryCompliance
| extend SubscriptionId=RegulatoryComplianceSubscriptionId
| join kind=inner (SecurityRecommendation
| extend SubscriptionId=(extract(@"/subscriptions/(.+)/resourceGroups", 1, AssessedResourceId))) on SubscriptionId, RecommendationId
| project TenantId, TimeGenerated, AssessedResourceId, RecommendationId, RecommendationName, State, ComplianceStandard, ComplianceControl, RecommendationSeverity, RecommendationState`
	var rows int
	for b.Loop() {
		res, err := kql.Run(context.Background(), db.SQL, workspace.Schema(), query, benchNow, kql.TimeRange{})
		if err != nil {
			b.Fatal(err)
		}
		rows = len(res.Rows)
	}
	if rows != n {
		b.Fatalf("%d rows, want %d", rows, n)
	}
}

// cpuTime is the process's user + system CPU time (the machine may be
// shared: rows per CPU second is the figure that does not depend on it).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIngestExported writes rows built by latables from real export
// bodies (the sample alert and assessment events of the reference, a
// different resource per row) in batches of 1,000 (and, in the -batch100
// cases, of 100: the export engine's default batch) through WriteRows, the
// path of the export sink: the columns an export actually fills, not a
// hand-made row.
func BenchmarkIngestExported(b *testing.B) {
	for _, c := range []struct {
		source, file, name string
		batch              int
	}{
		{"Alerts", "schema-alert-eventhub-sumologic.json", "Alerts", 1000},
		{"Assessments", "schema-assessment-eventhub-sumologic.json", "Assessments", 1000},
		{"Alerts", "schema-alert-eventhub-sumologic.json", "Alerts-batch100", 100},
		{"Assessments", "schema-assessment-eventhub-sumologic.json", "Assessments-batch100", 100},
	} {
		b.Run(c.name, func(b *testing.B) {
			raw, err := os.ReadFile(filepath.Join("..", "latables", "testdata", "events", c.file))
			if err != nil {
				b.Fatal(err)
			}
			var table *latables.Table
			rows := make([]*latables.Row, 10_000)
			for i := range rows {
				body := bytes.ReplaceAll(raw, []byte("/resourceGroups/"), fmt.Appendf(nil, "/resourceGroups/rg%d-", i))
				r, err := latables.Build(c.source, body, latables.Options{Now: benchNow, WorkspaceID: "3f1e2d4c-5b6a-4788-9900-aabbccddeeff"})
				if err != nil {
					b.Fatal(err)
				}
				table = r.Table
				rows[i] = r
			}
			db := openBenchDB(b)
			n := 0
			start, cpu0 := time.Now(), cpuTime()
			for b.Loop() {
				for s := 0; s < len(rows); s += c.batch {
					if err := db.WriteRows(context.Background(), table, rows[s:s+c.batch]); err != nil {
						b.Fatal(err)
					}
				}
				n += len(rows)
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
			b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
		})
	}
}
