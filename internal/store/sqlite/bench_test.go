package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"sluice/internal/store"
)

// benchBodies returns n realistic assessment-like JSON bodies of 1–2 KB.
func benchBodies(n int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([][]byte, n)
	for i := range out {
		sub := fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), i)
		id := fmt.Sprintf("/subscriptions/%s/resourceGroups/rg-%d/providers/Microsoft.Compute/virtualMachines/vm-%d/providers/Microsoft.Security/assessments/%08x-1111-4222-8333-%012x", sub, i%50, i, r.Uint32(), i)
		doc := map[string]any{
			"id":   id,
			"name": fmt.Sprintf("%08x-1111-4222-8333-%012x", r.Uint32(), i),
			"type": "Microsoft.Security/assessments",
			"properties": map[string]any{
				"resourceDetails": map[string]any{"Source": "Azure", "Id": id[:strings.Index(id, "/providers/Microsoft.Security")]},
				"displayName":     "Machines should have vulnerability findings resolved",
				"status":          map[string]any{"code": []string{"Healthy", "Unhealthy", "NotApplicable"}[i%3], "firstEvaluationDate": "2025-01-02T03:04:05.678Z", "statusChangeDate": "2025-02-03T04:05:06.789Z"},
				"metadata": map[string]any{
					"displayName":    "Machines should have vulnerability findings resolved",
					"assessmentType": "BuiltIn", "severity": []string{"Low", "Medium", "High"}[i%3],
					"categories": []string{"Compute"}, "userImpact": "Low", "implementationEffort": "Low",
					"threats":     []string{"DataExfiltration", "DataSpillage", "MaliciousInsider"},
					"description": strings.Repeat("Vulnerability assessment findings should be remediated. ", 6+r.IntN(14)),
				},
				"links": map[string]any{"azurePortal": "portal.azure.com/#blade/Microsoft_Azure_Security/AssessmentBlade/assessmentKey/" + id[len(id)-36:]},
			},
		}
		out[i], _ = json.Marshal(doc)
	}
	return out
}

// BenchmarkGroupedCommit measures records/s through Update: many writers
// with one record per Update (grouped commit shares the fsync), and fewer
// writers with batches of 100 or 1000 records per Update.
func BenchmarkGroupedCommit(b *testing.B) {
	bodies := benchBodies(1024)
	var total int
	for _, body := range bodies {
		total += len(body)
	}
	b.Logf("bodies: %d bytes on average", total/len(bodies))
	cases := []struct {
		name    string
		writers int
		batch   int
	}{
		{"writers=64/batch=1", 64, 1},
		{"writers=4/batch=100", 4, 100},
		{"writers=2/batch=1000", 2, 1000},
	}
	for _, syncMode := range []string{"FULL", "NORMAL"} {
		for _, tc := range cases {
			b.Run(fmt.Sprintf("sync=%s/%s", syncMode, tc.name), func(b *testing.B) {
				benchGrouped(b, syncMode, tc.writers, tc.batch, bodies, false)
			})
		}
	}
}

// BenchmarkPutWithEvent is the ingestion route's pattern at the store: two
// writers with batches of 1000 records, each record stored with an event
// of about the same size.
func BenchmarkPutWithEvent(b *testing.B) {
	bodies := benchBodies(1024)
	for _, syncMode := range []string{"FULL", "NORMAL"} {
		b.Run("sync="+syncMode, func(b *testing.B) {
			benchGrouped(b, syncMode, 2, 1000, bodies, true)
		})
	}
}

func benchGrouped(b *testing.B, syncMode string, writers, batch int, bodies [][]byte, events bool) {
	ctx := context.Background()
	dir := b.TempDir()
	db, err := Open(ctx, dir, Options{Synchronous: syncMode})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// b.N counts records; each Update writes up to batch of them.
	updates := (b.N + batch - 1) / batch
	var next, written atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() {
			for {
				u := next.Add(1) - 1
				if u >= int64(updates) {
					return
				}
				first := int(u) * batch
				n := min(batch, b.N-first)
				err := db.Update(ctx, func(tx store.Tx) error {
					for i := first; i < first+n; i++ {
						body := bodies[i%len(bodies)]
						key := fmt.Sprintf("/subscriptions/bench/providers/microsoft.security/assessments/%d-%d", w, i)
						if err := tx.Put(ctx, &store.Record{Kind: "assessment", Key: key, ID: key, Parent: "bench", Body: body}); err != nil {
							return err
						}
						if events {
							ev := &store.Event{ID: key, Source: "Assessments", Tenant: "bench", Subscription: "bench", ResourceGroup: "rg",
								ResourceID: key, Body: body, Extra: []byte(`{"severity":"High"}`)}
							if err := tx.AppendEvent(ctx, ev); err != nil {
								return err
							}
						}
					}
					return nil
				})
				if err != nil {
					b.Error(err)
					return
				}
				written.Add(int64(n))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if st := db.wal.Stats(); st.Waits > 0 {
		var wal int64
		if fi, err := os.Stat(filepath.Join(dir, "sluice.db-wal")); err == nil {
			wal = fi.Size()
		}
		b.Logf("checkpoints: %d passive, %d restart; writer waited %d times, %v; WAL file %d MB", st.Passive, st.Restart, st.Waits, st.Waited, wal>>20)
	}
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(written.Load())/s, "records/s")
	}
	b.ReportMetric(0, "ns/op") // per-record ns is misleading across batch sizes; records/s is the figure
}
