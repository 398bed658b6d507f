package security_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"sluice/internal/catalog"
	"sluice/internal/config"
	"sluice/internal/procstat"
	"sluice/internal/security"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
)

// benchLines returns n realistic NDJSON records of about 1–2 KB: 80%
// assessments of new resources, 10% findings under them, 10% alerts,
// spread over the given subscriptions.
func benchLines(r *rand.Rand, subs []string, start, n int) [][]byte {
	vmRecs := catalog.Default().ForResourceType("Microsoft.Compute/virtualMachines")
	out := make([][]byte, 0, n)
	var lastAssessment string
	for i := start; i < start+n; i++ {
		sub := subs[i%len(subs)]
		vm := fmt.Sprintf("/subscriptions/%s/resourceGroups/rg%d/providers/Microsoft.Compute/virtualMachines/vm-%07d", sub, i%20, i/8)
		switch {
		case i%10 == 9:
			out = append(out, security.BenchAlertLine(r, vm, i))
		case i%10 == 8 && lastAssessment != "":
			out = append(out, security.BenchFindingLine(r, lastAssessment, i))
		default:
			lastAssessment = security.AssessmentID(vm, vmRecs[r.IntN(len(vmRecs))].Name)
			out = append(out, security.BenchAssessmentLine(r, lastAssessment))
		}
	}
	return out
}

// BenchmarkIngest posts batches of 1000 realistic records to the ingestion
// route of a full server (HTTPS, embedded SQLite) from two concurrent
// clients, and reports records committed per second: new records (each one
// stored with its event), and the same batches sent again (a periodic
// re-scan that changes nothing: byte-identical lines that the cache
// answers without parsing or writing, see rescan.go).
func BenchmarkIngest(b *testing.B) {
	for _, syncMode := range []string{"NORMAL", "FULL"} {
		b.Run("sync="+syncMode+"/new", func(b *testing.B) { benchIngest(b, syncMode, 0) })
	}
	b.Run("sync=FULL/unchanged", func(b *testing.B) { benchIngest(b, "FULL", 1) })
	for _, syncMode := range []string{"NORMAL", "FULL"} {
		b.Run("sync="+syncMode+"/rescan-5pct-changed", func(b *testing.B) { benchIngest(b, syncMode, 20) })
	}
}

// benchIngest measures new records (resend 0), or the steady state of a
// periodic re-scan (the same lines sent twice before) in which one
// assessment line in resend changes its status code (resend 1: none).
func benchIngest(b *testing.B, syncMode string, resend int) {
	env := servertest.New(b, func(c *config.Config) { c.Store.Synchronous = syncMode })
	subs := make([]string, 4)
	for i := range subs {
		subs[i] = uuid.NewString()
		resp, body := env.Do(http.MethodPut, "/subscriptions/"+subs[i]+"?api-version=2022-12-01", env.Token, map[string]any{"displayName": "bench"})
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("register: %d %s", resp.StatusCode, body)
		}
	}
	const batch = 1000
	r := rand.New(rand.NewPCG(1, 2))
	batches := (b.N + batch - 1) / batch
	bodies := make([][]byte, batches)
	batchLines := make([][][]byte, batches)
	var size, lines int
	for i := range bodies {
		n := min(batch, b.N-i*batch)
		ls := benchLines(r, subs, i*batch, n)
		for _, l := range ls {
			size += len(l)
		}
		lines += len(ls)
		batchLines[i] = ls
		bodies[i] = bytes.Join(ls, []byte("\n"))
	}
	if lines > 0 {
		b.Logf("%d records, %d bytes on average", lines, size/lines)
	}
	url := env.URL + server.IngestPath + "?api-version=2024-01-01"
	var next, accepted atomic.Int64
	var wg sync.WaitGroup
	post := func() {
		for range 2 {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(len(bodies)) {
						return
					}
					req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i]))
					req.Header.Set("Authorization", "Bearer "+env.Token)
					req.Header.Set("Content-Type", "application/x-ndjson")
					resp, err := env.Client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					data, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					// Only the counts: a real producer runs elsewhere, and this
					// client shares the server's two cores.
					var res struct{ Accepted, Rejected int }
					head := data
					if i := bytes.Index(data, []byte(`,"results":`)); i > 0 {
						head = append(data[:i:i], '}')
					}
					if resp.StatusCode != http.StatusOK || json.Unmarshal(head, &res) != nil || res.Rejected != 0 {
						b.Errorf("batch %d: %d %.500s", i, resp.StatusCode, data)
						return
					}
					accepted.Add(int64(res.Accepted))
				}
			})
		}
		wg.Wait()
	}
	if resend > 0 {
		// A scanner's periodic re-scan: the records were written once and
		// re-sent once before (when the writer learns that the lines change
		// nothing); the timed pass is the steady state that follows.
		for range 2 {
			post()
			next.Store(0)
			accepted.Store(0)
		}
	}
	changed := 0
	if resend > 1 {
		flips := []struct{ from, to []byte }{
			{[]byte(`"code":"Healthy"`), []byte(`"code":"Unhealthy"`)},
			{[]byte(`"code":"Unhealthy"`), []byte(`"code":"Healthy"`)},
			{[]byte(`"code":"NotApplicable"`), []byte(`"code":"Unhealthy"`)},
		}
		n := 0
		for i, ls := range batchLines {
			for j, l := range ls {
				if !bytes.HasPrefix(l, []byte(`{"type":"Microsoft.Security/assessments","id"`)) {
					continue
				}
				if n++; n%resend != 0 {
					continue
				}
				for _, f := range flips {
					if bytes.Contains(l, f.from) {
						ls[j] = bytes.Replace(l, f.from, f.to, 1)
						changed++
						break
					}
				}
			}
			bodies[i] = bytes.Join(ls, []byte("\n"))
		}
		b.Logf("%d assessments change their status", changed)
	}
	seq0, err := env.Server.Store.LastSeq(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	stop := profileTimed(b)
	cpu := procstat.CPU()
	b.ResetTimer()
	post()
	b.StopTimer()
	cpu = procstat.CPU() - cpu
	stop()
	// Every changed assessment appended its event (and nothing else was
	// written for the unchanged records).
	seq1, err := env.Server.Store.LastSeq(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if resend > 0 && (seq1-seq0 < int64(changed) || (changed == 0 && seq1 != seq0)) {
		b.Fatalf("the timed pass appended %d events for %d changed assessments", seq1-seq0, changed)
	}
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(accepted.Load())/s, "records/s")
	}
	if n := accepted.Load(); n > 0 {
		// Server and client together: this process's CPU per record.
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/record")
	}
	b.ReportMetric(0, "ns/op")
}

// profileTimed starts a CPU profile of the timed part of a benchmark when
// SLUICE_BENCH_CPUPROFILE names a file (go test's -cpuprofile also covers
// the set-up); it returns the function that stops it.
func profileTimed(b *testing.B) func() {
	path := os.Getenv("SLUICE_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}
