package eventhub_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/google/go-cmp/cmp"

	"sluice/internal/amqptest"
	"sluice/internal/auth"
	"sluice/internal/sink"
	"sluice/internal/sink/eventhub"
)

// The sink is what the export engine drives.
var _ interface {
	Connect(context.Context) error
	WriteBatch(context.Context, []sink.Message) error
	Close() error
} = (*eventhub.Sink)(nil)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// messages builds n events about three resources with realistic bodies.
func messages(n, bodySize int) []sink.Message {
	var ms []sink.Message
	for i := 0; i < n; i++ {
		res := fmt.Sprintf("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm%d", i%3)
		pad := strings.Repeat("x", max(0, bodySize-120))
		body := fmt.Sprintf(`{"id":"%s/providers/Microsoft.Security/assessments/a%d","properties":{"status":{"code":"Unhealthy"},"n":%d,"pad":"%s"}}`, res, i, i, pad)
		ms = append(ms, sink.Message{EventID: fmt.Sprintf("ev-%04d", i), Seq: int64(i + 1), Source: "Assessments",
			ResourceID: res, Body: []byte(body)})
	}
	return ms
}

func connect(t testing.TB, opts eventhub.Options) *eventhub.Sink {
	t.Helper()
	s, err := eventhub.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// readAll reads every stored event back with the real consumer, partition by
// partition, in order.
func readAll(t *testing.T, srv *amqptest.Server, connStr string, clientTLS *tls.Config) map[string][]*azeventhubs.ReceivedEventData {
	t.Helper()
	var c *azeventhubs.ConsumerClient
	var err error
	if clientTLS != nil {
		c, err = azeventhubs.NewConsumerClient(srv.Addr(), srv.Hub(), azeventhubs.DefaultConsumerGroup, credential(t, nil), &azeventhubs.ConsumerClientOptions{TLSConfig: clientTLS})
	} else {
		c, err = azeventhubs.NewConsumerClientFromConnectionString(connStr, "", azeventhubs.DefaultConsumerGroup, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	out := map[string][]*azeventhubs.ReceivedEventData{}
	for _, p := range srv.PartitionIDs() {
		n := len(srv.Messages(p))
		if n == 0 {
			continue
		}
		pc, err := c.NewPartitionClient(p, &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t)
		for len(out[p]) < n {
			evs, err := pc.ReceiveEvents(ctx, n-len(out[p]), nil)
			if err != nil && ctx.Err() != nil {
				t.Fatalf("partition %s: read %d of %d: %v", p, len(out[p]), n, err)
			}
			out[p] = append(out[p], evs...)
		}
		pc.Close(context.Background())
	}
	return out
}

// checkDelivered compares what the consumer reads with what was written:
// bodies byte for byte, message ids, content type, the partition of each
// resource (the one Partition names, the same for all its events), and
// each resource's order.
func checkDelivered(t *testing.T, got map[string][]*azeventhubs.ReceivedEventData, sent []sink.Message, partitions []string) {
	t.Helper()
	byID := map[string]sink.Message{}
	want := map[string][]string{}
	for _, m := range sent {
		byID[m.EventID] = m
		want[m.ResourceID] = append(want[m.ResourceID], m.EventID)
	}
	order := map[string][]string{}
	total := 0
	for p, evs := range got {
		for _, ev := range evs {
			total++
			if ev.MessageID == nil {
				t.Fatalf("partition %s: event without a message id", p)
			}
			m, ok := byID[*ev.MessageID]
			if !ok {
				t.Fatalf("unexpected event %s", *ev.MessageID)
			}
			if !bytes.Equal(ev.Body, m.Body) {
				t.Fatalf("event %s body differs:\n got %s\nwant %s", m.EventID, ev.Body, m.Body)
			}
			if ev.ContentType == nil || *ev.ContentType != "application/json" {
				t.Fatalf("event %s content type %v", m.EventID, ev.ContentType)
			}
			if want := eventhub.Partition(eventhub.PartitionKey(m.ResourceID), partitions); p != want {
				t.Fatalf("event %s of %s in partition %s, want %s", m.EventID, m.ResourceID, p, want)
			}
			order[m.ResourceID] = append(order[m.ResourceID], m.EventID)
		}
	}
	if total != len(sent) {
		t.Fatalf("read %d events, sent %d", total, len(sent))
	}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Fatalf("per-resource order (-want +got):\n%s", diff)
	}
}

func TestDeliversByteForByteInOrderPerResource(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{Partitions: 4})
	s := connect(t, eventhub.Options{ConnectionString: srv.ConnectionString()})
	ms := messages(60, 1500)
	if err := s.WriteBatch(ctxT(t), ms[:40]); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(ctxT(t), ms[40:]); err != nil {
		t.Fatal(err)
	}
	// One AMQP message per partition the call's resources go to, not one
	// per event.
	want := 0
	for _, part := range [][]sink.Message{ms[:40], ms[40:]} {
		used := map[string]bool{}
		for _, m := range part {
			used[eventhub.Partition(eventhub.PartitionKey(m.ResourceID), srv.PartitionIDs())] = true
		}
		want += len(used)
	}
	if d := srv.Deliveries(); d != int64(want) {
		t.Fatalf("%d AMQP messages for 2 calls, want %d (one per partition used)", d, want)
	}
	checkDelivered(t, readAll(t, srv, srv.ConnectionString(), nil), ms, srv.PartitionIDs())
}

func TestPartitionSpreadsAndIsStable(t *testing.T) {
	ids := []string{"0", "1", "2", "3"}
	if got := eventhub.Partition("", ids); got != "" {
		t.Errorf("Partition of no resource = %q, want the hub's choice", got)
	}
	if got := eventhub.Partition("k", nil); got != "" {
		t.Errorf("Partition without partitions = %q", got)
	}
	count := map[string]int{}
	for i := range 1000 {
		k := eventhub.PartitionKey(fmt.Sprintf("/subscriptions/s/resourceGroups/rg/providers/x/y/r%d", i))
		p := eventhub.Partition(k, ids)
		if p != eventhub.Partition(k, ids) {
			t.Fatalf("Partition(%s) is not stable", k)
		}
		count[p]++
	}
	for _, id := range ids {
		if count[id] < 150 {
			t.Errorf("partition %s got %d of 1000 resources: %v", id, count[id], count)
		}
	}
}

func TestPartitionKeys(t *testing.T) {
	short := "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM1"
	if got := eventhub.PartitionKey(short); got != strings.ToLower(short) {
		t.Fatalf("PartitionKey(%s) = %s", short, got)
	}
	long := short + "/providers/Microsoft.Security/assessments/" + strings.Repeat("a", 80)
	k := eventhub.PartitionKey(long)
	if len(k) > eventhub.MaxPartitionKey || k != eventhub.PartitionKey(strings.ToUpper(long)) || k == eventhub.PartitionKey(long+"x") {
		t.Fatalf("PartitionKey of a %d-character id = %q", len(long), k)
	}

	// Two spellings of one long resource id stay in one partition, in order.
	srv := amqptest.Start(t, amqptest.Options{Partitions: 8})
	s := connect(t, eventhub.Options{ConnectionString: srv.ConnectionString()})
	ms := messages(6, 100)
	for i := range ms {
		ms[i].ResourceID = long
		if i%2 == 1 {
			ms[i].ResourceID = strings.ToUpper(long)
		}
	}
	if err := s.WriteBatch(ctxT(t), ms); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages(eventhub.Partition(k, srv.PartitionIDs()))
	if len(got) != 6 {
		t.Fatalf("partition of key %s holds %d events, want 6", k, len(got))
	}
	for i, m := range got {
		if string(m.Body) != string(ms[i].Body) {
			t.Fatalf("event %d out of order", i)
		}
	}
}

func TestSplitsAtTheBatchLimit(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{Partitions: 2})
	s := connect(t, eventhub.Options{ConnectionString: srv.ConnectionString(), MaxBatchBytes: 8 << 10})
	ms := messages(90, 1000) // ~30 KB per resource: at least 4 batches each
	if err := s.WriteBatch(ctxT(t), ms); err != nil {
		t.Fatal(err)
	}
	if d := srv.Deliveries(); d < 12 || d > 24 {
		t.Fatalf("%d AMQP messages for 90 KB in 8 KB batches", d)
	}
	checkDelivered(t, readAll(t, srv, srv.ConnectionString(), nil), ms, srv.PartitionIDs())
}

func TestBatchLimitAboveTheHubsFallsBack(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{MaxMessageSize: 64 << 10})
	s := connect(t, eventhub.Options{ConnectionString: srv.ConnectionString(), MaxBatchBytes: 4 << 20})
	ms := messages(200, 1500)
	if err := s.WriteBatch(ctxT(t), ms); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count(); n != 200 {
		t.Fatalf("%d events stored", n)
	}
}

func permanent(t *testing.T, err error, wantReason string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	t.Logf("error: %v", err)
	se := sink.Classify(err)
	if se.Retryable {
		t.Fatalf("classified retryable: %v", err)
	}
	if !strings.Contains(err.Error(), wantReason) {
		t.Fatalf("error %q does not say %q", err, wantReason)
	}
	for _, sec := range secrets {
		if strings.Contains(err.Error(), sec) {
			t.Fatalf("error leaks a secret: %v", err)
		}
	}
}

func TestRefusedCredentialsArePermanentAndRedacted(t *testing.T) {
	const listenKey = "TGlzdGVuT25seUtleQ=="
	srv := amqptest.Start(t, amqptest.Options{ExtraKeys: []amqptest.Key{{Name: "listen", Value: listenKey, Listen: true}}})
	expired := "Endpoint=sb://" + srv.Addr() + ";SharedAccessSignature=" +
		amqptest.SignSAS("amqp://"+srv.Addr()+"/hub", amqptest.DefaultKeyName, amqptest.DefaultKey, time.Now().Add(-time.Minute)) +
		";EntityPath=hub;UseDevelopmentEmulator=true"
	cases := []struct {
		name, connStr, reason string
		secrets               []string
	}{
		{"wrong_key", srv.ConnectionStringFor(amqptest.DefaultKeyName, "V3JvbmdLZXlWYWx1ZQ=="), "refused the credentials", []string{"V3JvbmdLZXlWYWx1ZQ=="}},
		{"unknown_policy", srv.ConnectionStringFor("ghost", amqptest.DefaultKey), "refused the credentials", []string{amqptest.DefaultKey}},
		{"expired_signature", expired, "refused the credentials", []string{"sig="}},
		{"missing_hub", strings.Replace(srv.ConnectionString(), "EntityPath=hub", "EntityPath=nohub", 1), "does not exist", []string{amqptest.DefaultKey}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := eventhub.New(eventhub.Options{ConnectionString: tc.connStr})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			permanent(t, s.Connect(ctxT(t)), tc.reason, tc.secrets...)
		})
	}

	t.Run("listen_only_policy_cannot_send", func(t *testing.T) {
		s, err := eventhub.New(eventhub.Options{ConnectionString: srv.ConnectionStringFor("listen", listenKey)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		permanent(t, s.Connect(ctxT(t)), "'Send' claim", listenKey)
		if srv.Count() != 0 {
			t.Fatalf("%d events stored", srv.Count())
		}
	})
}

func TestOversizedEventIsPermanentOthersDelivered(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{MaxMessageSize: 32 << 10})
	s := connect(t, eventhub.Options{ConnectionString: srv.ConnectionString()})
	ms := messages(9, 500)
	ms[4].Body = []byte(`{"big":"` + strings.Repeat("x", 40<<10) + `"}`)
	err := s.WriteBatch(ctxT(t), ms)
	permanent(t, err, "too large for the event hub's maximum message size of 32768 bytes")
	if se := sink.Classify(err); !cmp.Equal(se.Failed, []int{4}) {
		t.Fatalf("failed %v, want [4]", se.Failed)
	}
	if !strings.Contains(err.Error(), ms[4].EventID) {
		t.Fatalf("error %q does not name the event", err)
	}
	checkDelivered(t, readAll(t, srv, srv.ConnectionString(), nil), append(ms[:4:4], ms[5:]...), srv.PartitionIDs())
}

func TestServerStoppedIsRetryable(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{})
	s := connect(t, eventhub.Options{ConnectionString: srv.ConnectionString(),
		Retry: azeventhubs.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 20 * time.Millisecond}})
	if err := s.WriteBatch(ctxT(t), messages(3, 100)); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	err := s.WriteBatch(ctxT(t), messages(6, 100))
	se := sink.Classify(err)
	if err == nil || !se.Retryable || len(se.Failed) != 6 {
		t.Fatalf("after the server stopped: %v (retryable %v, failed %v), want all 6 retryable", err, se != nil && se.Retryable, se.Failed)
	}
	if strings.Contains(err.Error(), amqptest.DefaultKey) {
		t.Fatalf("error leaks the key: %v", err)
	}

	// The failure was worth retrying: once the hub is back at the same
	// address, the same sink delivers again.
	back, err := amqptest.Listen(srv.Addr(), amqptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if err := s.WriteBatch(ctxT(t), messages(6, 100)); err != nil {
		t.Fatalf("after the server came back: %v", err)
	}
	if back.Count() != 6 {
		t.Fatalf("restarted server holds %d events", back.Count())
	}

	// Nothing listening at all: Connect is retryable too.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	s2, _ := eventhub.New(eventhub.Options{ConnectionString: "Endpoint=sb://" + addr + ";SharedAccessKeyName=k;SharedAccessKey=v;EntityPath=hub;UseDevelopmentEmulator=true",
		Retry: azeventhubs.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond}})
	if err := s2.Connect(ctxT(t)); err == nil || !sink.Classify(err).Retryable {
		t.Fatalf("connect to a closed port = %v, want retryable", err)
	}
}

func TestNotConnectedIsRetryable(t *testing.T) {
	s, err := eventhub.New(eventhub.Options{ConnectionString: "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v;EntityPath=hub"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(context.Background(), messages(1, 10)); err == nil || !sink.Classify(err).Retryable {
		t.Fatalf("WriteBatch before Connect = %v", err)
	}
}

// tlsPair borrows httptest's certificate for the server and a client config
// that trusts it.
func tlsPair(t *testing.T) (server, client *tls.Config) {
	ts := httptest.NewTLSServer(nil)
	t.Cleanup(ts.Close)
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return &tls.Config{Certificates: ts.TLS.Certificates}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

var testIssuer = func() *auth.Issuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return auth.NewIssuer(key, "https://sluice.local/", "https://eventhubs.azure.net/")
}()

// credential mints tokens for Sluice's service principal from the issuer
// (or from iss, when given).
func credential(t testing.TB, iss *auth.Issuer) eventhub.TokenFunc {
	if iss == nil {
		iss = testIssuer
	}
	return func(ctx context.Context, scopes []string) (string, time.Time, error) {
		if len(scopes) != 1 || scopes[0] != "https://eventhubs.azure.net//.default" {
			t.Errorf("token requested for scopes %v", scopes)
		}
		tok, err := iss.Mint("tenant", "sluice-sp", "Windows Azure Security Resource Provider", time.Hour)
		return tok, time.Now().Add(time.Hour), err
	}
}

func TestIdentityModeWithSluiceIssuedTokens(t *testing.T) {
	serverTLS, clientTLS := tlsPair(t)
	srv := amqptest.Start(t, amqptest.Options{TLS: serverTLS, AcceptJWT: func(token string) error {
		_, err := testIssuer.Verify(token)
		return err
	}})
	s := connect(t, eventhub.Options{Namespace: srv.Addr(), EventHub: "hub", Credential: credential(t, nil), TLS: clientTLS})
	ms := messages(12, 800)
	if err := s.WriteBatch(ctxT(t), ms); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, readAll(t, srv, "", clientTLS), ms, srv.PartitionIDs())

	t.Run("foreign_issuer_is_permanent", func(t *testing.T) {
		key, _ := rsa.GenerateKey(rand.Reader, 2048)
		other := auth.NewIssuer(key, "https://sluice.local/", "https://eventhubs.azure.net/")
		s, _ := eventhub.New(eventhub.Options{Namespace: srv.Addr(), EventHub: "hub", Credential: credential(t, other), TLS: clientTLS})
		err := s.Connect(ctxT(t))
		permanent(t, err, "refused the credentials", "eyJ")
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	good := "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0;EntityPath=hub"
	for name, o := range map[string]eventhub.Options{
		"nothing":            {},
		"both":               {ConnectionString: good, Credential: credential(t, nil)},
		"identity_no_hub":    {Namespace: "ns.servicebus.windows.net", Credential: credential(t, nil)},
		"malformed":          {ConnectionString: "Endpoint=https://x;SharedAccessKey=c2VjcmV0"},
		"kafka_string":       {ConnectionString: good + ";TransportType=Kafka"},
		"identity_bad_name":  {Namespace: "ns", EventHub: "bad/name", Credential: credential(t, nil)},
		"missing_entitypath": {ConnectionString: strings.Replace(good, ";EntityPath=hub", "", 1)},
	} {
		if _, err := eventhub.New(o); err == nil {
			t.Errorf("%s: New accepted the options", name)
		} else if strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("%s: error leaks the key: %v", name, err)
		}
	}
}

func TestRejectedSendsAreClassified(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{})
	s := connect(t, eventhub.Options{ConnectionString: srv.ConnectionString(),
		Retry: azeventhubs.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 20 * time.Millisecond}})
	for _, tc := range []struct {
		condition string
		retryable bool
	}{
		{"com.microsoft:server-busy", true},
		{"com.microsoft:timeout", true},
		{"amqp:resource-limit-exceeded", true},
		{"amqp:internal-error", true},
		{"com.microsoft:entity-disabled", false},
		{"amqp:not-allowed", false},
		{"amqp:unauthorized-access", false},
	} {
		t.Run(tc.condition, func(t *testing.T) {
			srv.FailSends(tc.condition, "test says no")
			defer srv.FailSends("", "")
			err := s.WriteBatch(ctxT(t), messages(4, 100))
			se := sink.Classify(err)
			if err == nil || se.Retryable != tc.retryable || len(se.Failed) != 4 {
				t.Fatalf("WriteBatch = %v (failed %v), want retryable=%v for all 4", err, se.Failed, tc.retryable)
			}
			if !strings.Contains(err.Error(), "hub") {
				t.Fatalf("error %q does not name the hub", err)
			}
		})
	}
	// The sink recovers once the hub accepts again.
	if err := s.WriteBatch(ctxT(t), messages(4, 100)); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// BenchmarkWriteBatch measures delivery of 1.5 KB events in batches of 500
// to the AMQP test server over loopback.
func BenchmarkWriteBatch(b *testing.B) {
	srv := amqptest.Start(b, amqptest.Options{Partitions: 4, Retain: 2000})
	s := connect(b, eventhub.Options{ConnectionString: srv.ConnectionString()})
	batch := messages(500, 1500)
	ctx := context.Background()
	b.SetBytes(int64(500 * len(batch[0].Body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.WriteBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
	if got := srv.Count(); got != int64(b.N*len(batch)) {
		b.Fatalf("server stored %d events, sent %d", got, b.N*len(batch))
	}
}

func TestManyResourcesKeepTheirOrder(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{Partitions: 4})
	s := connect(t, eventhub.Options{ConnectionString: srv.ConnectionString(), Concurrency: 8})
	var ms []sink.Message
	for i := 0; i < 600; i++ {
		ms = append(ms, sink.Message{EventID: fmt.Sprintf("ev-%04d", i), ResourceID: fmt.Sprintf("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app%d", i%150),
			Body: []byte(fmt.Sprintf(`{"n":%d}`, i))})
	}
	if err := s.WriteBatch(ctxT(t), ms); err != nil {
		t.Fatal(err)
	}
	// The 150 resources share messages: one per partition.
	if d := srv.Deliveries(); d > 4 {
		t.Fatalf("%d AMQP messages for 600 events of 150 resources over 4 partitions, want at most 4", d)
	}
	got := readAll(t, srv, srv.ConnectionString(), nil)
	if len(got) < 2 {
		t.Fatalf("150 resources landed in %d partition(s)", len(got))
	}
	checkDelivered(t, got, ms, srv.PartitionIDs())
}

// BenchmarkWriteBatchDistinctResources: every event of a batch of 500 is
// about another resource (with a partition key per message this was the
// worst case, one message per event; now one message per partition).
func BenchmarkWriteBatchDistinctResources(b *testing.B) {
	srv := amqptest.Start(b, amqptest.Options{Partitions: 4, Retain: 2000})
	s := connect(b, eventhub.Options{ConnectionString: srv.ConnectionString()})
	batch := messages(500, 1500)
	for i := range batch {
		batch[i].ResourceID = fmt.Sprintf("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm%d", i)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.WriteBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}
