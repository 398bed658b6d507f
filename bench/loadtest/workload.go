package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sluice/internal/procstat"
)

const (
	subscription = "0b1e7c5a-1111-4222-8333-444455556666"
	group        = "load"
	// A built-in recommendation of the catalog (Linux security configuration).
	assessmentKey = "1f655fb7-63ca-4980-91a3-56dbc2b715c6"
	// ingestPath is the NDJSON ingestion route.
	ingestPath = "/providers/Microsoft.Security/ingest?api-version=2024-01-01"
)

// workload drives one run.
type workload struct {
	o   options
	srv *sluice
	rcv *receiver

	mu   sync.Mutex
	sent map[int]time.Time // record index → time its batch was sent
	// accepted counts lines the server accepted.
	accepted atomic.Int64
	rejected atomic.Int64
}

func (w *workload) put(path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	status, resp, err := w.srv.do(http.MethodPut, path, "application/json", b)
	if err != nil {
		return fmt.Errorf("PUT %s: %w", path, err)
	}
	if status/100 != 2 {
		return fmt.Errorf("PUT %s: %d %s", path, status, resp)
	}
	return nil
}

// setup registers the subscription, a resource group and the automations.
func (w *workload) setup() error {
	if err := w.put("/subscriptions/"+subscription+"?api-version=2022-12-01", map[string]any{"displayName": "load test"}); err != nil {
		return err
	}
	if err := w.put("/subscriptions/"+subscription+"/resourcegroups/"+group+"?api-version=2021-04-01", map[string]any{"location": "westeurope"}); err != nil {
		return err
	}
	for a := range w.o.automations {
		body := map[string]any{
			"location": "westeurope",
			"properties": map[string]any{
				"isEnabled": true,
				"scopes":    []any{map[string]any{"scopePath": "/subscriptions/" + subscription}},
				"sources":   []any{map[string]any{"eventSource": "Assessments"}},
				"actions":   []any{w.action(a)},
			},
		}
		path := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Security/automations/load-%d?api-version=2023-12-01-preview", subscription, group, a)
		if err := w.put(path, body); err != nil {
			return err
		}
	}
	return nil
}

// action is the destination of automation a: a Logic App (one event per
// request) or a Webhook (NDJSON batches, signed).
func (w *workload) action(a int) map[string]any {
	uri := fmt.Sprintf("%s/workflows/load-%d/triggers/manual/paths/invoke?sig=loadtestsignature", w.rcv.url, a)
	if w.o.action == "webhook" {
		return map[string]any{"actionType": "Webhook", "uri": uri, "signingKey": "load-test-signing-key-0123456789", "batch": true, "maxEvents": 500}
	}
	return map[string]any{
		"actionType":         "LogicApp",
		"logicAppResourceId": fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Logic/workflows/load-%d", subscription, group, a),
		"uri":                uri,
	}
}

func resourceID(i int) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/vm-%07d", subscription, group, i)
}

func assessmentID(i int) string {
	return resourceID(i) + "/providers/Microsoft.Security/assessments/" + assessmentKey
}

// target returns the resource record i is about and which change of that
// resource's assessment it is (from 0): with -resources N the records go
// round N resources, each pass flipping their status (a fixed estate whose
// state changes); without, every record is about a new resource.
func (o options) target(i int) (res, nth int) {
	if o.resources <= 0 {
		return i, 0
	}
	return i % o.resources, i / o.resources
}

// line is one realistic assessment of about 1.2 KB as NDJSON: record i's
// change of resource res's assessment.
func line(i, res, nth int) []byte {
	code := "Unhealthy"
	if nth%2 == 1 {
		code = "Healthy"
	}
	rec := map[string]any{
		"type": "Microsoft.Security/assessments",
		"id":   assessmentID(res),
		"properties": map[string]any{
			"resourceDetails": map[string]any{"source": "Azure", "id": resourceID(res)},
			"status": map[string]any{
				"code":        code,
				"cause":       "OffByPolicy",
				"description": "The machine deviates from the security baseline in 3 rules: SSH root login permitted, password authentication enabled, audit daemon not running.",
			},
			"additionalData": map[string]any{
				"baseline":        "Linux security baseline v2",
				"failedRules":     "3",
				"evaluatedRules":  "187",
				"osName":          "Ubuntu 22.04.4 LTS",
				"agentVersion":    "1.29.54",
				"scanId":          fmt.Sprintf("scan-%07d", i),
				"remediationHint": strings.Repeat("Harden the SSH daemon configuration and enable auditd. ", 5),
			},
		},
	}
	b, _ := json.Marshal(rec)
	return b
}

// run ingests every record and waits until every event is delivered to
// every automation (or the drain timeout passes).
func (w *workload) run() (*result, error) {
	o := w.o
	w.sent = make(map[int]time.Time, o.records)
	batches := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Value
	killAt := -1
	if o.kill {
		killAt = (o.records / o.batch / 2) * o.batch
	}
	var restarting atomic.Bool // set while the server is restarted after a kill
	start := time.Now()
	for range o.clients {
		wg.Go(func() {
			for first := range batches {
				if err := w.ingest(first, min(o.batch, o.records-first), &restarting); err != nil {
					failed.Store(err)
				}
			}
		})
	}
	var interval time.Duration
	if o.rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(o.batch) / float64(o.rate))
	}
	next := time.Now()
	rssBefore, cpuBefore, selfBefore := w.srv.rss(), w.srv.cpu(), procstat.CPU()
	for first := 0; first < o.records; first += o.batch {
		if first == killAt {
			restarting.Store(true)
			w.srv.kill()
			err := w.srv.start()
			restarting.Store(false)
			if err != nil {
				return nil, fmt.Errorf("restart after kill: %w", err)
			}
		}
		if interval > 0 {
			time.Sleep(time.Until(next))
			next = next.Add(interval)
		}
		batches <- first
	}
	close(batches)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return nil, err
	}
	ingested := time.Since(start)
	res := &result{records: o.records, accepted: w.accepted.Load(), rejected: w.rejected.Load(),
		ingestRate: float64(o.records) / ingested.Seconds(), rssBefore: rssBefore}
	// Wait for every delivery.
	want := o.records * o.automations
	deadline := time.Now().Add(o.drainTimeout)
	for {
		n, _ := w.rcv.counts()
		if n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.cpu = w.srv.cpu() - cpuBefore
	res.selfCPU = procstat.CPU() - selfBefore
	res.rssAfter, res.fileRSS = w.srv.rss(), w.srv.fileRSS()
	res.peakRSS = w.srv.peak()
	if down, up := w.rcv.outageWindow(); !down.IsZero() && !up.IsZero() {
		// Memory while the receiver was down: from 5 s into the outage
		// (the first backlog has formed) to its end.
		res.outageFirst, res.outagePeak = w.srv.rssBetween(down.Add(5*time.Second), up)
		res.outageEnd = w.srv.rssAt(up)
		res.outageMid = w.srv.rssAt(down.Add(up.Sub(down) / 2))
		res.outageFor = up.Sub(down)
	}
	var lat []time.Duration
	var last time.Time
	for a := range o.automations {
		path := fmt.Sprintf("/workflows/load-%d/triggers/manual/paths/invoke", a)
		for i := range o.records {
			ri, nth := o.target(i)
			at, ok := w.rcv.arrived(path, assessmentID(ri), nth)
			if !ok {
				res.lost++
				continue
			}
			w.mu.Lock()
			sent := w.sent[i]
			w.mu.Unlock()
			lat = append(lat, at.Sub(sent))
			if at.After(last) {
				last = at
			}
		}
	}
	_, res.duplicates = w.rcv.counts()
	res.delivered = len(lat)
	if !last.IsZero() {
		res.deliverRate = float64(res.delivered) / last.Sub(start).Seconds()
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		res.p50 = lat[len(lat)/2]
		res.p95 = lat[len(lat)*95/100]
		res.p99 = lat[len(lat)*99/100]
		res.max = lat[len(lat)-1]
	}
	return res, nil
}

// ingest sends one batch, retrying while the server restarts or sheds load.
func (w *workload) ingest(first, n int, restarting *atomic.Bool) error {
	var body bytes.Buffer
	for i := first; i < first+n; i++ {
		res, nth := w.o.target(i)
		body.Write(line(i, res, nth))
		body.WriteByte('\n')
	}
	for attempt := 0; ; attempt++ {
		for restarting.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		sent := time.Now()
		w.mu.Lock()
		for i := first; i < first+n; i++ {
			if _, ok := w.sent[i]; !ok {
				w.sent[i] = sent
			}
		}
		w.mu.Unlock()
		status, resp, err := w.srv.do(http.MethodPost, ingestPath, "application/x-ndjson", body.Bytes())
		if err == nil && status == http.StatusOK {
			var out struct {
				Accepted int64 `json:"accepted"`
				Rejected int64 `json:"rejected"`
				Results  []struct {
					Status string `json:"status"`
					Error  *struct {
						Code, Message string
					} `json:"error"`
				} `json:"results"`
			}
			if err := json.Unmarshal(resp, &out); err != nil {
				return fmt.Errorf("ingestion answer: %w", err)
			}
			if out.Rejected > 0 {
				for _, r := range out.Results {
					if r.Error != nil {
						return fmt.Errorf("ingestion rejected a line: %s: %s", r.Error.Code, r.Error.Message)
					}
				}
			}
			w.accepted.Add(out.Accepted)
			w.rejected.Add(out.Rejected)
			return nil
		}
		if attempt > 600 {
			if err == nil {
				err = fmt.Errorf("status %d: %s", status, resp)
			}
			return fmt.Errorf("ingest batch at %d: %w", first, err)
		}
		// Killed server, 429 or 503: the producer retries (at least once).
		time.Sleep(100 * time.Millisecond)
	}
}

// result is what one run measured.
type result struct {
	records            int
	accepted, rejected int64
	delivered          int
	lost               int
	duplicates         int64
	ingestRate         float64
	deliverRate        float64
	p50, p95, p99, max time.Duration
	// cpu is the server's user and system CPU time over the run; selfCPU
	// the harness's own (its clients and receiver share the cores).
	cpu, selfCPU        time.Duration
	rssBefore, rssAfter int64
	fileRSS             int64
	// outage* are the anonymous RSS 5 s into the receiver's outage, its
	// peak and its value when the receiver came back.
	outageFirst, outagePeak, outageEnd, outageMid int64
	outageFor                                     time.Duration
	peakRSS                                       int64
}

func (r *result) print(out io.Writer, o options) {
	fmt.Fprintf(out, "action=%s receiver=%s automations=%d records=%d batch=%d rate=%d kill=%v gogc=%d\n",
		o.action, o.receiver, o.automations, o.records, o.batch, o.rate, o.kill, o.gogc)
	fmt.Fprintf(out, "ingested:   %.0f records/s (%d accepted, %d rejected)\n", r.ingestRate, r.accepted, r.rejected)
	fmt.Fprintf(out, "delivered:  %.0f events/s (%d deliveries, %d duplicates)\n", r.deliverRate, r.delivered, r.duplicates)
	fmt.Fprintf(out, "latency:    p50 %v  p95 %v  p99 %v  max %v (batch sent → event received)\n",
		r.p50.Round(time.Millisecond), r.p95.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.max.Round(time.Millisecond))
	if r.records > 0 && r.delivered > 0 {
		fmt.Fprintf(out, "server CPU: %.1f s (%.0f µs per record ingested and delivered to %d actions, %.0f µs per delivered event)\n",
			r.cpu.Seconds(), float64(r.cpu.Microseconds())/float64(r.records), o.automations, float64(r.cpu.Microseconds())/float64(r.delivered))
		fmt.Fprintf(out, "harness CPU: %.1f s (its ingestion clients and receiver, on the same cores)\n", r.selfCPU.Seconds())
	}
	fmt.Fprintf(out, "memory:     peak anonymous RSS %d MiB (before %d MiB, after %d MiB); mapped file pages at the end %d MiB\n",
		r.peakRSS>>20, r.rssBefore>>20, r.rssAfter>>20, r.fileRSS>>20)
	if r.outageFor > 0 {
		fmt.Fprintf(out, "outage:     receiver down %v: anonymous RSS %d MiB 5 s in, %d MiB halfway, %d MiB at its end, peak %d MiB\n",
			r.outageFor.Round(time.Second), r.outageFirst>>20, r.outageMid>>20, r.outageEnd>>20, r.outagePeak>>20)
	}
	fmt.Fprintf(out, "lost:       %d\n", r.lost)
}
