package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"sluice/internal/amqptest"
	"sluice/internal/config"
	"sluice/internal/procstat"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

// benchEvents appends n realistic ~1.5 KB Assessments events of the demo
// subscription to the log (as ingestion would) and wakes the engine.
func benchEvents(b *testing.B, env *servertest.Env, first, n int) {
	b.Helper()
	ctx := context.Background()
	pad := strconv.Quote(strings.Repeat("Harden the SSH daemon configuration and enable auditd. ", 22))
	const batch = 1000
	for done := 0; done < n; done += batch {
		err := env.Server.Store.Update(ctx, func(tx store.Tx) error {
			for i := first + done; i < first+done+min(batch, n-done); i++ {
				res := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/bench-%07d", sinkSub, sinkRG, i)
				ev := &store.Event{ID: fmt.Sprintf("bench-%d-%07d", time.Now().UnixNano(), i), Source: "Assessments",
					Subscription: sinkSub, ResourceGroup: sinkRG, ResourceID: res, Time: time.Now(),
					Body: fmt.Appendf(nil, `{"type":"Microsoft.Security/assessments","id":"%s/providers/Microsoft.Security/assessments/%s","properties":{"status":{"code":"Unhealthy","description":%s}}}`,
						res, assessmentKey, pad)}
				if err := tx.AppendEvent(ctx, ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	env.Server.Engine.Notify()
}

// BenchmarkExportEndToEnd measures the export engine with a real sink and
// broker: events in the log → matched → queued → delivered and
// acknowledged, for the Event Hubs Kafka endpoint (kfake) and AMQP (the
// AMQP 1.0 test hub). b.N counts events; the figure is events/s.
func BenchmarkExportEndToEnd(b *testing.B) {
	b.Run("kafka", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr, port := ln.Addr().String(), ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cs := "Endpoint=sb://" + addr + "/;SharedAccessKeyName=send;SharedAccessKey=a2V5a2V5a2V5;EntityPath=exports;TransportType=Kafka;UseDevelopmentEmulator=true"
		c, err := kfake.NewCluster(kfake.Ports(port), kfake.SeedTopics(4, "exports"), kfake.EnableSASL(),
			kfake.Superuser("PLAIN", "$ConnectionString", cs))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		env := benchEnv(b)
		putAutomation(b, env, "BenchKafka", map[string]any{"actionType": "EventHub", "connectionString": cs,
			"eventHubResourceId": "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.EventHub/namespaces/local/eventhubs/exports"})
		runExportBench(b, env, "BenchKafka")
	})
	// Ten Webhook automations take every event (NDJSON batches over
	// HTTPS to one receiver that counts lines): the fan-out case, b.N
	// counting deliveries.
	b.Run("webhook-fanout", func(b *testing.B) {
		var lines atomic.Int64
		ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			lines.Add(int64(bytes.Count(body, []byte("\n"))))
		}))
		defer ts.Close()
		env := servertest.New(b, func(c *config.Config) { c.Export.BatchSize = 1000 }, trustCertificate(b, ts))
		for _, p := range []string{"/subscriptions/" + sinkSub + "?api-version=2022-12-01", "/subscriptions/" + sinkSub + "/resourcegroups/" + sinkRG + "?api-version=2021-04-01"} {
			if resp, out := env.Do(http.MethodPut, p, env.Token, `{"displayName":"bench","location":"westeurope"}`); resp.StatusCode/100 != 2 {
				b.Fatalf("PUT %s: %d %s", p, resp.StatusCode, out)
			}
		}
		const fanout = 10
		for i := range fanout {
			putAutomation(b, env, fmt.Sprintf("BenchHook%d", i), map[string]any{"actionType": "Webhook", "uri": ts.URL + "/hook", "signingKey": "bench-signing-key-0123456789", "batch": true, "maxEvents": 1000})
		}
		events := max(b.N/fanout, 1)
		cpu0 := procstat.CPU()
		b.ResetTimer()
		benchEvents(b, env, 0, events)
		deadline := time.Now().Add(5 * time.Minute)
		for lines.Load() < int64(events*fanout) {
			if time.Now().After(deadline) {
				b.Fatalf("delivered %d of %d events", lines.Load(), events*fanout)
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.StopTimer()
		b.ReportMetric(float64(events*fanout)/b.Elapsed().Seconds(), "deliveries/s")
		b.ReportMetric(float64((procstat.CPU()-cpu0).Microseconds())/float64(events*fanout), "cpu-µs/delivery")
	})
	b.Run("amqp", func(b *testing.B) {
		hub := amqptest.Start(b, amqptest.Options{Hub: "exports", Retain: 1000})
		env := benchEnv(b)
		putAutomation(b, env, "BenchAMQP", map[string]any{"actionType": "EventHub", "connectionString": hub.ConnectionString(),
			"eventHubResourceId": "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.EventHub/namespaces/local/eventhubs/exports"})
		runExportBench(b, env, "BenchAMQP")
	})
}

// benchEnv starts a server without the demo (whose simulation would add
// events) and registers the subscription and resource group.
func benchEnv(b *testing.B) *servertest.Env {
	env := servertest.New(b, func(c *config.Config) { c.Export.BatchSize = benchBatch })
	sub := "/subscriptions/" + sinkSub + "?api-version=2022-12-01"
	if resp, out := env.Do(http.MethodPut, sub, env.Token, `{"displayName":"bench"}`); resp.StatusCode/100 != 2 {
		b.Fatalf("PUT %s: %d %s", sub, resp.StatusCode, out)
	}
	path := "/subscriptions/" + sinkSub + "/resourcegroups/" + sinkRG + "?api-version=2021-04-01"
	if resp, out := env.Do(http.MethodPut, path, env.Token, `{"location":"westeurope"}`); resp.StatusCode/100 != 2 {
		b.Fatalf("PUT %s: %d %s", path, resp.StatusCode, out)
	}
	return env
}

// runExportBench appends b.N events and waits until the automation's
// action has delivered them all.
func runExportBench(b *testing.B, env *servertest.Env, name string) {
	key := strings.ToLower("/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.Security/automations/" + name)
	ctx := context.Background()
	delivered := func() int64 {
		hs, err := env.Server.Engine.Health(ctx, key)
		if err != nil || len(hs) == 0 {
			return 0
		}
		return hs[0].Delivered
	}
	base := delivered()
	cpu0 := procstat.CPU()
	b.ResetTimer()
	benchEvents(b, env, 0, b.N)
	deadline := time.Now().Add(5 * time.Minute)
	for delivered()-base < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d events", delivered()-base, b.N)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// CPU per event (the whole process: server, sink and receiver) stays
	// meaningful on a machine shared with other work.
	b.ReportMetric(float64((procstat.CPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
}

// benchBatch is the export batch size of the end-to-end benchmarks.
var benchBatch = 1000
