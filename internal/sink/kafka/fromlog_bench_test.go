package kafka_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"sluice/internal/export"
	"sluice/internal/procstat"
	"sluice/internal/sink/kafka"
	"sluice/internal/store"
	"sluice/internal/store/sqlite"
)

// BenchmarkEngineFromLog measures the export engine and this sink together,
// from the event log to acknowledged Kafka records: b.N realistic 1.5 KB
// events are in the embedded store's log first (their append is the
// ingestion's work, measured by its own benchmark), then the engine
// matches, queues and delivers them all through the Kafka sink to kfake
// (SASL PLAIN). It reports events/s and the process's CPU per event.
func BenchmarkEngineFromLog(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const password = "Endpoint=sb://bench/;SharedAccessKeyName=send;SharedAccessKey=a2V5;EntityPath=hub"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "hub"), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "$ConnectionString", password))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const sub = "6a1c2c4e-0000-4000-8000-000000000001"
	pad := strconv.Quote(strings.Repeat("Harden the SSH daemon configuration and enable auditd. ", 22))
	for done := 0; done < b.N; done += 1000 {
		err := st.Update(ctx, func(tx store.Tx) error {
			for i := done; i < min(done+1000, b.N); i++ {
				res := fmt.Sprintf("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-%07d", sub, i)
				ev := &store.Event{ID: fmt.Sprintf("ev-%07d", i), Source: "Assessments", Subscription: sub, ResourceGroup: "rg",
					ResourceID: res, Time: time.Now(),
					Body: fmt.Appendf(nil, `{"type":"Microsoft.Security/assessments","id":"%s/providers/Microsoft.Security/assessments/a","properties":{"status":{"code":"Unhealthy","description":%s}}}`, res, pad)}
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
	factory := func(*export.Action) (export.Sink, error) {
		return kafka.New(kafka.Options{Brokers: c.ListenAddrs(), Topic: "hub", Mechanism: kafka.MechanismPlain,
			User: "$ConnectionString", Password: password})
	}
	eng := export.New(st, factory, slog.New(slog.NewTextHandler(io.Discard, nil)), export.Options{BatchSize: 1000})
	const key = "/subscriptions/" + sub + "/providers/microsoft.security/automations/bench"
	eng.SetExports([]*export.Export{{Key: key, ID: key, Subscription: sub, Enabled: true,
		Scopes: []string{"/subscriptions/" + sub}, Sources: []string{"Assessments"},
		Actions: []*export.Action{{Key: export.ActionKey(key, 0), Type: "EventHub", Fingerprint: "kafka"}}}})
	cpu0 := procstat.CPU()
	b.ResetTimer()
	go eng.Run(ctx)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		hs, err := eng.Health(ctx, key)
		if err == nil && len(hs) == 1 && hs[0].Delivered >= int64(b.N) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("not all of %d events delivered: %+v %v", b.N, hs, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((procstat.CPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
}
