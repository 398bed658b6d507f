package amqptest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/go-amqp"

	"sluice/internal/amqptest"
)

// isUnauthorized recognises the two ways the SDK reports refused
// credentials: an *azeventhubs.Error with the unauthorized code (links), and
// the $management RPC error carrying status 401.
func isUnauthorized(err error) bool {
	var ehErr *azeventhubs.Error
	if errors.As(err, &ehErr) {
		return ehErr.Code == azeventhubs.ErrorCodeUnauthorizedAccess
	}
	var rpc interface{ RPCCode() int }
	return errors.As(err, &rpc) && rpc.RPCCode() == 401
}

func sendOne(ctx context.Context, p *azeventhubs.ProducerClient, body string) error {
	batch, err := p.NewEventDataBatch(ctx, nil)
	if err != nil {
		return err
	}
	if err := batch.AddEventData(&azeventhubs.EventData{Body: []byte(body)}, nil); err != nil {
		return err
	}
	return p.SendEventDataBatch(ctx, batch, nil)
}

func TestSASVerification(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{ExtraKeys: []amqptest.Key{{Name: "listen", Value: "bGlzdGVuLWtleQ==", Listen: true}}})
	endpoint := "Endpoint=sb://" + srv.Addr() + ";EntityPath=hub;UseDevelopmentEmulator=true"
	sas := func(resource string, expiry time.Time, key string) string {
		return endpoint + ";SharedAccessSignature=" + amqptest.SignSAS(resource, amqptest.DefaultKeyName, key, expiry)
	}
	hour := time.Now().Add(time.Hour)
	cases := []struct {
		name    string
		connStr string
		ok      bool
	}{
		{"right_key", srv.ConnectionString(), true},
		{"wrong_key", srv.ConnectionStringFor(amqptest.DefaultKeyName, "d3Jvbmc="), false},
		{"unknown_policy", srv.ConnectionStringFor("nobody", amqptest.DefaultKey), false},
		{"precomputed_sas", sas("amqp://"+srv.Addr()+"/hub", hour, amqptest.DefaultKey), true},
		{"namespace_wide_sas", sas("amqp://"+srv.Addr(), hour, amqptest.DefaultKey), true},
		{"expired_sas", sas("amqp://"+srv.Addr()+"/hub", time.Now().Add(-time.Minute), amqptest.DefaultKey), false},
		{"sas_for_another_hub", sas("amqp://"+srv.Addr()+"/other", hour, amqptest.DefaultKey), false},
		{"sas_with_wrong_key", sas("amqp://"+srv.Addr()+"/hub", hour, "d3Jvbmc="), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := producer(t, tc.connStr)
			_, err := p.GetEventHubProperties(ctxT(t), nil)
			if tc.ok && err != nil {
				t.Fatalf("GetEventHubProperties: %v", err)
			}
			if !tc.ok && !isUnauthorized(err) {
				t.Fatalf("GetEventHubProperties = %v, want unauthorized access", err)
			}
		})
	}

	t.Run("listen_only_policy_cannot_send", func(t *testing.T) {
		p := producer(t, srv.ConnectionStringFor("listen", "bGlzdGVuLWtleQ=="))
		err := sendOne(ctxT(t), p, "x")
		if !isUnauthorized(err) || !strings.Contains(fmt.Sprint(err), "amqp:unauthorized-access") || !strings.Contains(fmt.Sprint(err), "'Send' claim") {
			t.Fatalf("send with a listen-only policy = %v, want amqp:unauthorized-access naming the Send claim", err)
		}
		if n := srv.Count(); n != 0 {
			t.Fatalf("%d events stored", n)
		}
	})
}

func TestMissingHubAndPartition(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{Partitions: 2})
	p := producer(t, strings.Replace(srv.ConnectionString(), "EntityPath=hub", "EntityPath=nohub", 1))
	_, err := p.GetEventHubProperties(ctxT(t), nil)
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "nohub") {
		t.Fatalf("properties of a missing hub = %v, want a 404 naming it", err)
	}
	err = sendOne(ctxT(t), p, "x")
	if err == nil || !strings.Contains(err.Error(), "nohub") {
		t.Fatalf("send to a missing hub = %v", err)
	}

	good := producer(t, srv.ConnectionString())
	_, err = good.GetPartitionProperties(ctxT(t), "7", nil)
	if err == nil {
		t.Fatal("properties of partition 7 of 2 succeeded")
	}
	_, err = good.NewEventDataBatch(ctxT(t), &azeventhubs.EventDataBatchOptions{PartitionID: to.Ptr("7")})
	var amqpErr *amqp.Error
	if !errors.As(err, &amqpErr) || amqpErr.Condition != "com.microsoft:argument-out-of-range" {
		t.Fatalf("link to partition 7 = %v, want com.microsoft:argument-out-of-range", err)
	}
}

// staticCredential hands out one bearer token; the tests play the identity
// provider.
type staticCredential struct {
	token string
	calls atomic.Int32
}

func (c *staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls.Add(1)
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
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

func TestJWTOverTLSThroughTheCallback(t *testing.T) {
	serverTLS, clientTLS := tlsPair(t)
	var seen atomic.Value
	srv := amqptest.Start(t, amqptest.Options{TLS: serverTLS, AcceptJWT: func(token string) error {
		seen.Store(token)
		if token != "good.jwt.token" {
			return errors.New("bad signature")
		}
		return nil
	}})
	for _, tc := range []struct {
		token string
		ok    bool
	}{{"good.jwt.token", true}, {"forged.jwt.token", false}} {
		t.Run(strings.SplitN(tc.token, ".", 2)[0], func(t *testing.T) {
			cred := &staticCredential{token: tc.token}
			p, err := azeventhubs.NewProducerClient(srv.Addr(), "hub", cred,
				&azeventhubs.ProducerClientOptions{TLSConfig: clientTLS, RetryOptions: fastRetry})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(context.Background())
			before := srv.Count()
			err = sendOne(ctxT(t), p, `{"jwt":true}`)
			if tc.ok != (err == nil) {
				t.Fatalf("send with %s: %v", tc.token, err)
			}
			if !tc.ok && !isUnauthorized(err) {
				t.Fatalf("refused JWT gave %v, want unauthorized access", err)
			}
			if got, _ := seen.Load().(string); got != tc.token || cred.calls.Load() == 0 {
				t.Fatalf("callback saw %q, credential called %d times", got, cred.calls.Load())
			}
			if tc.ok && srv.Count() != before+1 {
				t.Fatalf("count %d after a send, was %d", srv.Count(), before)
			}
		})
	}
}

func TestJWTRefusedWithoutCallback(t *testing.T) {
	serverTLS, clientTLS := tlsPair(t)
	srv := amqptest.Start(t, amqptest.Options{TLS: serverTLS})
	p, err := azeventhubs.NewProducerClient(srv.Addr(), "hub", &staticCredential{token: "a.b.c"},
		&azeventhubs.ProducerClientOptions{TLSConfig: clientTLS, RetryOptions: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if _, err := p.GetEventHubProperties(ctxT(t), nil); !isUnauthorized(err) {
		t.Fatalf("JWT without a callback = %v, want unauthorized", err)
	}
}

func TestSASLPlainAuthorizesTheConnection(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{})
	ctx := ctxT(t)
	_, err := amqp.Dial(ctx, "amqp://"+srv.Addr(), &amqp.ConnOptions{SASLType: amqp.SASLTypePlain(amqptest.DefaultKeyName, "wrong")})
	if err == nil {
		t.Fatal("SASL PLAIN with a wrong key connected")
	}
	conn, err := amqp.Dial(ctx, "amqp://"+srv.Addr(), &amqp.ConnOptions{SASLType: amqp.SASLTypePlain(amqptest.DefaultKeyName, amqptest.DefaultKey)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sess, err := conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	snd, err := sess.NewSender(ctx, "hub/Partitions/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := amqp.NewMessage([]byte("plain"))
	msg.Properties = &amqp.MessageProperties{MessageID: "m1"}
	if err := snd.Send(ctx, msg, nil); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages("1")
	if len(got) != 1 || string(got[0].Body) != "plain" || got[0].MessageID != "m1" {
		t.Fatalf("partition 1 holds %+v", got)
	}

	// An anonymous connection has no claims until it puts a token.
	anon, err := amqp.Dial(ctx, "amqp://"+srv.Addr(), &amqp.ConnOptions{SASLType: amqp.SASLTypeAnonymous()})
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	as, err := anon.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = as.NewSender(ctx, "hub", nil)
	var amqpErr *amqp.Error
	if !errors.As(err, &amqpErr) || amqpErr.Condition != amqp.ErrCondUnauthorizedAccess {
		t.Fatalf("anonymous sender = %v, want unauthorized access", err)
	}
}

func TestDrainAndHeartbeats(t *testing.T) {
	srv := amqptest.Start(t, amqptest.Options{Partitions: 1})
	ctx := ctxT(t)
	sendToPartition(t, producer(t, srv.ConnectionString()), "0", numbered(2))

	// A short idle timeout: the server must keep the connection alive
	// with empty frames while nothing else happens.
	conn, err := amqp.Dial(ctx, "amqp://"+srv.Addr(), &amqp.ConnOptions{
		SASLType: amqp.SASLTypePlain(amqptest.DefaultKeyName, amqptest.DefaultKey), IdleTimeout: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sess, err := conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := sess.NewReceiver(ctx, "hub/ConsumerGroups/$default/Partitions/0", &amqp.ReceiverOptions{
		Credit: -1, Filters: []amqp.LinkFilter{amqp.NewSelectorFilter("amqp.annotation.x-opt-offset > '-1'")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.IssueCredit(5); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		m, err := rcv.Receive(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.GetData()) != strconv.Itoa(i) || m.Annotations["x-opt-sequence-number"] != int64(i) {
			t.Fatalf("event %d: %q %v", i, m.GetData(), m.Annotations)
		}
	}
	// Drain: the server gives up the 3 credits left and says so.
	if err := rcv.DrainCredit(ctx, nil); err != nil {
		t.Fatalf("drain: %v", err)
	}
	// Without credit a new event waits; one credit brings it.
	sendToPartition(t, producer(t, srv.ConnectionString()), "0", [][]byte{[]byte("late")})
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	m, err := rcv.Receive(short, nil)
	cancel()
	if err == nil {
		t.Fatalf("received %q without credit", m.GetData())
	}
	if err := rcv.IssueCredit(1); err != nil {
		t.Fatal(err)
	}
	if m, err := rcv.Receive(ctx, nil); err != nil || string(m.GetData()) != "late" {
		t.Fatalf("after one credit: %v", err)
	}

	time.Sleep(time.Second) // idle for more than twice the idle timeout
	if _, err := conn.NewSession(ctx, nil); err != nil {
		t.Fatalf("connection dropped while idle: %v", err)
	}
}
