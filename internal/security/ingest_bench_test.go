package security

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"sluice/internal/armid"
	"sluice/internal/catalog"
	"sluice/internal/ingest"
)

// hotLines returns n realistic NDJSON records of each kind of the
// ingestion mix (assessments, findings, alerts), as BenchmarkIngest sends
// them, over the subscription sub.
func hotLines(r *rand.Rand, sub string, n int) (assessments, findings, alerts [][]byte) {
	recs := catalog.Default().ForResourceType("Microsoft.Compute/virtualMachines")
	for i := range n {
		vm := fmt.Sprintf("/subscriptions/%s/resourceGroups/rg%d/providers/Microsoft.Compute/virtualMachines/vm-%07d", sub, i%20, i)
		aid := AssessmentID(vm, recs[r.IntN(len(recs))].Name)
		assessments = append(assessments, BenchAssessmentLine(r, aid))
		findings = append(findings, BenchFindingLine(r, aid, i))
		alerts = append(alerts, BenchAlertLine(r, vm, i))
	}
	return assessments, findings, alerts
}

// hotService returns a service whose caches know sub (its tenant, an empty
// aggregate and the locations of its resource groups), so that Prepare
// speculates as it does on the ingestion route.
func hotService(sub string) *Service {
	s := NewService(nil, catalog.Default(), nil, nil)
	s.tenants[sub] = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	s.aggs[sub] = &cachedAgg{agg: newSubAgg(s.ix), valid: true}
	for i := range 20 {
		s.rgLocs[armid.Key(armid.ResourceGroupID(sub, fmt.Sprintf("rg%d", i)))] = "westeurope"
	}
	return s
}

// benchParse runs parse (and Prepare when prepare is set) over lines,
// reporting per-record cost; it fails when a line is rejected or a
// speculation does not happen.
func benchParse(b *testing.B, lines [][]byte, parse func([]byte) (ingest.Record, error), prepare bool) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	b.ReportAllocs()
	b.SetBytes(int64(len(lines[0])))
	b.ResetTimer()
	for i := range b.N {
		rec, err := parse(lines[i%len(lines)])
		if err != nil {
			b.Fatalf("line %d: %v", i%len(lines), err)
		}
		if prepare {
			rec.(ingest.Preparer).Prepare(now)
		}
	}
}

// BenchmarkParseLine measures the per-record work of the ingestion route
// outside the store's writer: parse, and parse + Prepare (speculate), for
// each kind of record of the BenchmarkIngest mix.
func BenchmarkParseLine(b *testing.B) {
	sub := "8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f"
	s := hotService(sub)
	assessments, findings, alerts := hotLines(rand.New(rand.NewPCG(1, 2)), sub, 512)
	for _, k := range []struct {
		name  string
		lines [][]byte
		parse func([]byte) (ingest.Record, error)
	}{{"assessment", assessments, s.parseAssessmentLine}, {"finding", findings, s.parseSubAssessmentLine}, {"alert", alerts, s.parseAlertLine}} {
		b.Run(k.name+"/parse", func(b *testing.B) { benchParse(b, k.lines, k.parse, false) })
		b.Run(k.name+"/parse+prepare", func(b *testing.B) { benchParse(b, k.lines, k.parse, true) })
	}
}
