package kafka_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"sluice/internal/sink"
	"sluice/internal/sink/kafka"
)

const connString = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=K3yV4lue=;EntityPath=hub"

// tlsPair borrows httptest's certificate for the broker and a client
// config that trusts it.
func tlsPair(t *testing.T) (server, client *tls.Config) {
	ts := httptest.NewTLSServer(nil)
	t.Cleanup(ts.Close)
	cert := ts.TLS.Certificates[0]
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func cluster(t *testing.T, serverTLS *tls.Config) *kfake.Cluster {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, "hub"), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "$ConnectionString", connString)}
	if serverTLS != nil {
		opts = append(opts, kfake.TLS(serverTLS))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func consume(t *testing.T, c *kfake.Cluster, clientTLS *tls.Config, n int) []*kgo.Record {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("hub"),
		kgo.SASL(plain.Auth{User: "$ConnectionString", Pass: connString}.AsMechanism()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if clientTLS != nil {
		opts = append(opts, kgo.DialTLSConfig(clientTLS))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), n, err)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

func messages(n int) []sink.Message {
	var ms []sink.Message
	for i := 0; i < n; i++ {
		res := fmt.Sprintf("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm%d", i%3)
		ms = append(ms, sink.Message{EventID: fmt.Sprintf("ev-%02d", i), Seq: int64(i + 1), Source: "Assessments",
			ResourceID: res, Body: []byte(fmt.Sprintf(`{"n":%d}`, i))})
	}
	return ms
}

func TestDeliversWithKeyHeadersAndOrderPerResource(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls_%v", useTLS), func(t *testing.T) {
			var st, ct *tls.Config
			if useTLS {
				st, ct = tlsPair(t)
			}
			c := cluster(t, st)
			s, err := kafka.New(kafka.Options{Brokers: c.ListenAddrs(), Topic: "hub", Mechanism: "PLAIN",
				User: "$ConnectionString", Password: connString, TLS: ct})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := s.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ms := messages(30)
			if err := s.WriteBatch(ctx, ms); err != nil {
				t.Fatal(err)
			}
			recs := consume(t, c, ct, 30)
			bodies := map[string]string{}
			for _, m := range ms {
				bodies[m.EventID] = string(m.Body)
			}
			perKey := map[string][]string{}
			for _, r := range recs {
				var id string
				for _, h := range r.Headers {
					if h.Key == kafka.HeaderEventID {
						id = string(h.Value)
					}
				}
				perKey[string(r.Key)] = append(perKey[string(r.Key)], id)
				if want := bodies[id]; string(r.Value) != want {
					t.Fatalf("record %s body %s, want %s", id, r.Value, want)
				}
			}
			want := map[string][]string{}
			for _, m := range ms {
				want[m.ResourceID] = append(want[m.ResourceID], m.EventID)
			}
			if diff := cmp.Diff(want, perKey); diff != "" {
				t.Fatalf("per-resource order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWrongPasswordIsPermanentAndRedacted(t *testing.T) {
	c := cluster(t, nil)
	wrong := strings.Replace(connString, "K3yV4lue=", "Wr0ngK3y=", 1)
	s, err := kafka.New(kafka.Options{Brokers: c.ListenAddrs(), Topic: "hub", Mechanism: "PLAIN", User: "$ConnectionString", Password: wrong})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = s.Connect(ctx)
	if err == nil {
		s.Close()
		t.Fatal("connected with a wrong password")
	}
	se := sink.Classify(err)
	if se.Retryable {
		t.Fatalf("wrong password classified retryable: %v", err)
	}
	if strings.Contains(err.Error(), "Wr0ngK3y") {
		t.Fatalf("error leaks the key: %v", err)
	}
}

func TestOversizedEventIsPermanent(t *testing.T) {
	c := cluster(t, nil)
	s, _ := kafka.New(kafka.Options{Brokers: c.ListenAddrs(), Topic: "hub", Mechanism: "PLAIN", User: "$ConnectionString",
		Password: connString, MaxMessageBytes: 100})
	ctx := context.Background()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms := messages(2)
	ms[1].Body = []byte(`{"big":"` + strings.Repeat("x", 200) + `"}`)
	err := s.WriteBatch(ctx, ms)
	se := sink.Classify(err)
	if err == nil || se.Retryable || len(se.Failed) != 1 || se.Failed[0] != 1 {
		t.Fatalf("WriteBatch = %v (failed %v), want a permanent failure of index 1", err, se.Failed)
	}
	// The other event was produced: the engine counts it delivered.
	recs := consume(t, c, nil, 1)
	if string(recs[0].Value) != string(ms[0].Body) {
		t.Errorf("produced %s, want the first event", recs[0].Value)
	}
}

// BenchmarkWriteBatch measures delivery to a loopback kfake broker with
// realistic 1.5 KB events in batches of 500.
func BenchmarkWriteBatch(b *testing.B) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "hub"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, _ := kafka.New(kafka.Options{Brokers: c.ListenAddrs(), Topic: "hub"})
	ctx := context.Background()
	if err := s.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := []byte(`{"payload":"` + strings.Repeat("x", 1500) + `"}`)
	batch := messages(500)
	for i := range batch {
		batch[i].Body = body
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.WriteBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}
