package security_test

import (
	"bufio"
	"encoding/csv"
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"sluice/internal/server/servertest"
)

// BenchmarkAlertsCSV streams the CSV alerts report of a subscription
// holding a million alerts (seeded straight into the store) through the
// full server over HTTPS, and reports rows per second, the CSV's size and
// the peak growth of the live heap (server and reader share the process).
//
//	go test -run '^$' -bench AlertsCSV -benchtime 1x ./internal/security/
func BenchmarkAlertsCSV(b *testing.B) {
	const rows = 1_000_000
	benchEnv := servertest.New(b)
	sub := uuid.NewString()
	if resp, body := benchEnv.Do(http.MethodPut, "/subscriptions/"+sub+"?api-version=2022-12-01", benchEnv.Token, map[string]any{"displayName": "Bench"}); resp.StatusCode != http.StatusCreated {
		b.Fatalf("register subscription: %d %s", resp.StatusCode, body)
	}
	seedStart := time.Now()
	seedAlerts(b, benchEnv.Server.Store, sub, rows)
	b.Logf("seeded %d alerts in %s", rows, time.Since(seedStart).Round(time.Millisecond))
	url := benchEnv.URL + "/subscriptions/" + sub + "/providers/Sluice.Reports/alerts?" + reportsAPI
	var total time.Duration
	var peak int64
	var size int64
	for b.Loop() {
		runtime.GC()
		var h heapSampler
		h.sample()
		h.base = h.peak
		start := time.Now()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+benchEnv.Token)
		resp, err := benchEnv.Client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(resp.Body)
			b.Fatalf("%d %s", resp.StatusCode, body)
		}
		counter := &countingReader{r: resp.Body}
		r := csv.NewReader(bufio.NewReaderSize(counter, 64<<10))
		r.ReuseRecord = true
		n := 0
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatalf("row %d: %v", n, err)
			}
			if n++; n%20000 == 0 {
				h.sample()
			}
		}
		resp.Body.Close()
		h.sample()
		if n != rows+1 {
			b.Fatalf("%d records, want %d", n, rows+1)
		}
		total += time.Since(start)
		peak = max(peak, int64(h.peak)-int64(h.base))
		size = counter.n
	}
	b.ReportMetric(float64(rows)*float64(b.N)/total.Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(size)/(1<<20), "csv-MiB")
}
