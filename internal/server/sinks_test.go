package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"sluice/internal/amqptest"
	"sluice/internal/auth"
	"sluice/internal/config"
	"sluice/internal/logsingesttest"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
	"sluice/internal/sink/kafka"
	"sluice/internal/sink/workspace"
	"sluice/internal/store"
	"sluice/internal/tlsutil"
)

const (
	sinkSub = server.DemoSubProduction
	sinkRG  = "web-prod"
	vm      = "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.Compute/virtualMachines/web-vm-01"
	// A built-in recommendation (system updates).
	assessmentKey = "45cfe080-ceb1-a91e-9743-71551ed24e94"
)

// putAutomation creates an automation taking every Assessments event of
// the subscription with one action.
func putAutomation(t testing.TB, env *servertest.Env, name string, action map[string]any) {
	t.Helper()
	body := map[string]any{
		"location": "westeurope",
		"properties": map[string]any{
			"isEnabled": true,
			"scopes":    []any{map[string]any{"scopePath": "/subscriptions/" + sinkSub}},
			"sources":   []any{map[string]any{"eventSource": "Assessments"}},
			"actions":   []any{action},
		},
	}
	path := "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.Security/automations/" + name + "?api-version=2023-12-01-preview"
	resp, out := env.Do(http.MethodPut, path, env.Token, body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("put automation: %d %s", resp.StatusCode, out)
	}
	for _, secret := range []string{"SharedAccessKey=", "sig="} {
		if strings.Contains(string(out), secret) {
			t.Errorf("automation response contains a secret: %s", out)
		}
	}
}

// ingestAssessment writes one assessment with the given status and
// returns its id.
func ingestAssessment(t testing.TB, env *servertest.Env, code string) string {
	t.Helper()
	id := vm + "/providers/Microsoft.Security/assessments/" + assessmentKey
	line := fmt.Sprintf(`{"type":"Microsoft.Security/assessments","id":%q,"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":%q}}}`, id, code)
	resp, out := env.Do(http.MethodPost, "/providers/Microsoft.Security/ingest?api-version=2024-01-01", env.Token, line+"\n")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"accepted":1`) {
		t.Fatalf("ingest: %d %s", resp.StatusCode, out)
	}
	return id
}

func assessmentBodyID(t *testing.T, body []byte) string {
	t.Helper()
	var doc struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("delivered body is not JSON: %v: %s", err, body)
	}
	if doc.Type != "Microsoft.Security/assessments" {
		t.Errorf("delivered type %q", doc.Type)
	}
	return doc.ID
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExport_EventHub_connection_string delivers through the AMQP Event
// Hubs sink to the test hub, read back from the hub.
func TestExport_EventHub_connection_string(t *testing.T) {
	hub := amqptest.Start(t, amqptest.Options{Hub: "exports"})
	env := servertest.New(t, servertest.WithDemo())
	putAutomation(t, env, "ExportToEventHub", map[string]any{
		"actionType":         "EventHub",
		"eventHubResourceId": "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.EventHub/namespaces/local/eventhubs/exports",
		"connectionString":   hub.ConnectionString(),
	})
	id := ingestAssessment(t, env, "Unhealthy")
	var got *amqptest.Message
	waitFor(t, "the assessment's event on the hub", func() bool {
		for _, m := range hub.AllMessages() {
			if strings.EqualFold(assessmentBodyID(t, m.Body), id) {
				got = &m
				return true
			}
		}
		return false
	})
	if got.MessageID == nil || got.ContentType != "application/json" {
		t.Errorf("message id %v, content type %q", got.MessageID, got.ContentType)
	}
	// Byte for byte what the event log holds, with the event's id as the
	// message id.
	evs, err := env.Server.Store.Events(context.Background(), 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var logged *store.Event
	for _, ev := range evs {
		if ev.Source == "Assessments" && bytes.Equal(ev.Body, got.Body) {
			logged = ev
		}
	}
	if logged == nil {
		t.Fatalf("the delivered body is not byte-identical to any logged Assessments event: %s", got.Body)
	}
	if fmt.Sprint(got.MessageID) != logged.ID {
		t.Errorf("message id %v, want the event id %s", got.MessageID, logged.ID)
	}
}

// TestExport_EventHub_kafka_endpoint delivers through the Event Hubs Kafka
// endpoint (TransportType=Kafka) to a Kafka broker taking SASL PLAIN with
// "$ConnectionString", read back with a Kafka consumer.
func TestExport_EventHub_kafka_endpoint(t *testing.T) {
	// The SASL password is the whole connection string, which names the
	// broker's address: choose a free port first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cs := "Endpoint=sb://" + addr + "/;SharedAccessKeyName=send;SharedAccessKey=a2V5a2V5a2V5;EntityPath=exports;TransportType=Kafka;UseDevelopmentEmulator=true"
	c, err := kfake.NewCluster(kfake.Ports(port), kfake.SeedTopics(2, "exports"), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "$ConnectionString", cs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	env := servertest.New(t, servertest.WithDemo())
	putAutomation(t, env, "ExportToKafka", map[string]any{
		"actionType":         "EventHub",
		"eventHubResourceId": "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.EventHub/namespaces/local/eventhubs/exports",
		"connectionString":   cs,
	})
	id := ingestAssessment(t, env, "Unhealthy")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("exports"),
		kgo.SASL(plain.Auth{User: "$ConnectionString", Pass: cs}.AsMechanism()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for found := false; !found; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("the assessment's event did not reach the topic")
		}
		fs.EachRecord(func(r *kgo.Record) {
			if strings.EqualFold(assessmentBodyID(t, r.Value), id) {
				found = true
				if !strings.EqualFold(string(r.Key), vm) {
					t.Errorf("record key %q, want the resource id", r.Key)
				}
			}
		})
	}
}

// TestExport_EventHub_trusted_service authenticates as Sluice's own
// service principal with a token of the built-in issuer, which the hub
// verifies; the namespace is mapped to the local hub in the configuration.
func TestExport_EventHub_trusted_service(t *testing.T) {
	dir := t.TempDir()
	files, err := tlsutil.Ensure(dir, []string{"ns1.servicebus.windows.net"})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	srvTLS := &tls.Config{Certificates: []tls.Certificate{pair}}
	var env *servertest.Env
	var principal string
	hub := amqptest.Start(t, amqptest.Options{Hub: "exports", TLS: srvTLS, AcceptJWT: func(token string) error {
		if env == nil {
			return errors.New("server not ready")
		}
		c, err := env.Server.Issuer.Verify(token)
		if err != nil {
			return err
		}
		principal = c.ObjectID
		return nil
	}})
	env = servertest.New(t, servertest.WithDemo(), func(c *config.Config) {
		c.Export.CABundle = files.CA
		c.Export.EventHubNamespaces = map[string]string{"NS1": hub.Addr()}
	})
	hubID := "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.EventHub/namespaces/ns1/eventhubs/exports"
	trusted := map[string]any{"actionType": "EventHub", "eventHubResourceId": hubID, "isTrustedServiceEnabled": true}
	// Without Azure Event Hubs Data Sender for Sluice's principal on the
	// hub, the write is refused and says why.
	autoPath := "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.Security/automations/ExportTrusted?api-version=2023-12-01-preview"
	resp, out := env.Do(http.MethodPut, autoPath, env.Token, map[string]any{"location": "westeurope", "properties": map[string]any{
		"isEnabled": true, "scopes": []any{map[string]any{"scopePath": "/subscriptions/" + sinkSub}},
		"sources": []any{map[string]any{"eventSource": "Assessments"}}, "actions": []any{trusted}}})
	if resp.StatusCode != http.StatusBadRequest || servertest.ErrorCode(out) != "TrustedServiceNotAuthorized" ||
		!strings.Contains(string(out), "Azure Event Hubs Data Sender") {
		t.Fatalf("trusted export without the role: %d %s", resp.StatusCode, out)
	}
	resp, out = env.Do(http.MethodPut, hubID+"/providers/Microsoft.Authorization/roleAssignments/3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c?api-version=2022-04-01",
		env.Token, map[string]any{"properties": map[string]any{"principalId": server.ServicePrincipalID,
			"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleAzureEventHubsDataSender}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("assign Azure Event Hubs Data Sender: %d %s", resp.StatusCode, out)
	}
	putAutomation(t, env, "ExportTrusted", trusted)
	ingestAssessment(t, env, "Unhealthy")
	if !hub.WaitCount(1, time.Minute) {
		t.Fatal("no event reached the hub")
	}
	if principal != server.ServicePrincipalID {
		t.Errorf("authenticated as %q, want the service principal %s", principal, server.ServicePrincipalID)
	}
}

// TestExport_Workspace_logs_ingestion writes rows through the Logs
// Ingestion API with Sluice's own identity.
func TestExport_Workspace_logs_ingestion(t *testing.T) {
	var env *servertest.Env
	li := logsingesttest.New(logsingesttest.Options{Verify: func(token string, _ logsingesttest.Rule) error {
		if env == nil {
			return errors.New("server not ready")
		}
		_, err := env.Server.Issuer.Verify(token)
		return err
	}})
	t.Cleanup(li.Close)
	li.AddRule(logsingesttest.Rule{ImmutableID: "dcr-0123456789abcdef0123456789abcdef", Streams: []string{"Custom-SecurityRecommendation_CL"}})
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, li.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	wsID := "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.OperationalInsights/workspaces/sec-ws"
	env = servertest.New(t, servertest.WithDemo(), func(c *config.Config) {
		c.Export.CABundle = bundle
		c.Export.Workspaces = []workspace.Config{{WorkspaceResourceID: wsID, Endpoint: li.URL, RuleID: "dcr-0123456789abcdef0123456789abcdef"}}
	})
	putAutomation(t, env, "ExportToWorkspace", map[string]any{"actionType": "Workspace", "workspaceResourceId": wsID})
	ingestAssessment(t, env, "Unhealthy")
	var row map[string]any
	waitFor(t, "the assessment's SecurityRecommendation row", func() bool {
		for _, r := range li.Rows("dcr-0123456789abcdef0123456789abcdef", "Custom-SecurityRecommendation_CL") {
			if r["RecommendationId"] == assessmentKey && strings.EqualFold(fmt.Sprint(r["AssessedResourceId"]), vm) {
				row = r
				return true
			}
		}
		return false
	})
	if row["RecommendationState"] != "Unhealthy" || row["TimeGenerated"] == nil || row["IsSnapshot"] != false {
		t.Errorf("row = %v", row)
	}
}

// TestExport_Workspace_unconfigured_shows_in_health: a workspace the
// configuration does not map is a clear error in the action's health.
func TestExport_Workspace_unconfigured_shows_in_health(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	wsID := "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.OperationalInsights/workspaces/nowhere"
	putAutomation(t, env, "ExportNowhere", map[string]any{"actionType": "Workspace", "workspaceResourceId": wsID})
	ingestAssessment(t, env, "Unhealthy")
	path := "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.Security/automations/ExportNowhere/deliveryHealth?api-version=2023-12-01-preview"
	var body []byte
	waitFor(t, "the configuration error in health", func() bool {
		_, body = env.Do(http.MethodGet, path, env.Token, nil)
		return strings.Contains(string(body), "no Logs Ingestion configuration")
	})
}

// consumeAssessment reads topic from the start with the given client
// options until the assessment id's event arrives, and returns its record.
func consumeAssessment(t *testing.T, addr, topic, id string, opts ...kgo.Opt) *kgo.Record {
	t.Helper()
	opts = append(opts, kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("the assessment's event did not reach the topic")
		}
		var got *kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			if got == nil && strings.EqualFold(assessmentBodyID(t, r.Value), id) {
				got = r
			}
		})
		if got != nil {
			return got
		}
	}
}

// TestExport_Kafka_SCRAM delivers a Kafka action to a broker taking SASL
// SCRAM-SHA-256, read back with a Kafka consumer.
func TestExport_Kafka_SCRAM(t *testing.T) {
	const password = "scram-pa55word-of-the-exporter"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "sluice-exports"), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", "exporter", password))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	env := servertest.New(t, servertest.WithDemo())
	putAutomation(t, env, "ExportToKafkaScram", map[string]any{
		"actionType": "kafka",
		"brokers":    []any{addr},
		"topic":      "sluice-exports",
		"sasl":       map[string]any{"mechanism": "scram-sha-256", "username": "exporter", "password": password},
	})
	id := ingestAssessment(t, env, "Unhealthy")
	r := consumeAssessment(t, addr, "sluice-exports", id, kgo.SASL(scram.Auth{User: "exporter", Pass: password}.AsSha256Mechanism()))
	if !strings.EqualFold(string(r.Key), vm) {
		t.Errorf("record key %q, want the resource id", r.Key)
	}
	var eventID string
	for _, h := range r.Headers {
		if h.Key == kafka.HeaderEventID {
			eventID = string(h.Value)
		}
	}
	if eventID == "" {
		t.Errorf("no %s header in %v", kafka.HeaderEventID, r.Headers)
	}
}

// TestExport_Kafka_PLAIN_TLS delivers over TLS with SASL PLAIN; the
// broker's certificate is trusted through the action's caCertificate.
func TestExport_Kafka_PLAIN_TLS(t *testing.T) {
	const password = "plain-pa55word-over-tls"
	ts := httptest.NewTLSServer(nil) // only for its certificate (127.0.0.1)
	t.Cleanup(ts.Close)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "secure-exports"), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "exporter", password), kfake.TLS(&tls.Config{Certificates: ts.TLS.Certificates}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	env := servertest.New(t, servertest.WithDemo())
	putAutomation(t, env, "ExportToKafkaTLS", map[string]any{
		"actionType": "Kafka",
		"brokers":    []any{addr},
		"topic":      "secure-exports",
		"sasl":       map[string]any{"mechanism": "PLAIN", "username": "exporter", "password": password},
		"tls":        map[string]any{"enabled": true, "caCertificate": string(certPEM)},
	})
	id := ingestAssessment(t, env, "Unhealthy")
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	consumeAssessment(t, addr, "secure-exports", id, kgo.SASL(plain.Auth{User: "exporter", Pass: password}.AsMechanism()),
		kgo.DialTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
}

// webhookReceiver is an HTTPS receiver that checks every request's
// signature and keeps the bodies.
type webhookReceiver struct {
	mu       sync.Mutex
	bodies   [][]byte
	types    []string
	counts   []string // X-Sluice-Event-Count
	badSigns int
}

func (w *webhookReceiver) handler(key string) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			rw.WriteHeader(http.StatusBadRequest)
			return
		}
		m := hmac.New(sha256.New, []byte(key))
		m.Write(body)
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		w.mu.Lock()
		defer w.mu.Unlock()
		if !hmac.Equal([]byte(r.Header.Get("X-Sluice-Signature")), []byte(want)) || r.URL.Query().Get("code") != "query-secret-1234" {
			w.badSigns++
			rw.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.bodies = append(w.bodies, body)
		w.types = append(w.types, r.Header.Get("Content-Type"))
		w.counts = append(w.counts, r.Header.Get("X-Sluice-Event-Count"))
		rw.WriteHeader(http.StatusOK)
	})
}

func (w *webhookReceiver) snapshot() (bodies [][]byte, types, counts []string, badSigns int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]byte(nil), w.bodies...), append([]string(nil), w.types...), append([]string(nil), w.counts...), w.badSigns
}

// trustCertificate writes the certificate of an httptest TLS server to a
// PEM file for config.Export.CABundle.
func trustCertificate(t testing.TB, ts *httptest.Server) func(*config.Config) {
	t.Helper()
	bundle := filepath.Join(t.TempDir(), "receiver.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) { c.Export.CABundle = bundle }
}

// TestExport_Webhook_batch delivers NDJSON batches to an HTTPS receiver
// (trusted through export.caBundle) that verifies X-Sluice-Signature.
func TestExport_Webhook_batch(t *testing.T) {
	const key = "webhook-signing-key-0123456789"
	rcv := &webhookReceiver{}
	ts := httptest.NewTLSServer(rcv.handler(key))
	t.Cleanup(ts.Close)
	env := servertest.New(t, servertest.WithDemo(), trustCertificate(t, ts))
	putAutomation(t, env, "ExportToWebhook", map[string]any{
		"actionType": "Webhook", "uri": ts.URL + "/hooks/sluice?code=query-secret-1234", "signingKey": key, "batch": true, "maxEvents": 10,
	})
	// Three changes of one assessment in one ingestion request: committed
	// together, matched together, delivered as one batch.
	id := vm + "/providers/Microsoft.Security/assessments/" + assessmentKey
	var lines strings.Builder
	for _, code := range []string{"Unhealthy", "Healthy", "Unhealthy"} {
		fmt.Fprintf(&lines, `{"type":"Microsoft.Security/assessments","id":%q,"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":%q}}}`+"\n", id, code)
	}
	if resp, out := env.Do(http.MethodPost, "/providers/Microsoft.Security/ingest?api-version=2024-01-01", env.Token, lines.String()); resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"accepted":3`) {
		t.Fatalf("ingest: %d %s", resp.StatusCode, out)
	}
	// The demo estate's own events of the subscription arrive too.
	idLines := func(bodies [][]byte) int {
		n := 0
		for _, b := range bodies {
			for _, l := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
				if strings.EqualFold(assessmentBodyID(t, l), id) {
					n++
				}
			}
		}
		return n
	}
	waitFor(t, "the three events of the assessment at the receiver", func() bool { b, _, _, _ := rcv.snapshot(); return idLines(b) >= 3 })
	bodies, types, counts, bad := rcv.snapshot()
	if bad != 0 {
		t.Errorf("%d requests had a wrong signature or lost the uri's query", bad)
	}
	multi := false
	for i, b := range bodies {
		lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
		if types[i] != "application/x-ndjson" || !bytes.HasSuffix(b, []byte("\n")) || counts[i] != fmt.Sprint(len(lines)) || len(lines) > 10 {
			t.Errorf("request %d: content type %q, %d lines, count header %q", i, types[i], len(lines), counts[i])
		}
		multi = multi || len(lines) > 1
	}
	if !multi {
		t.Errorf("no request carried more than one event (%d requests)", len(bodies))
	}
}

// TestExport_Webhook_single sends one event per request, its JSON body as is.
func TestExport_Webhook_single(t *testing.T) {
	const key = "another-signing-key-abcdefghij"
	rcv := &webhookReceiver{}
	ts := httptest.NewTLSServer(rcv.handler(key))
	t.Cleanup(ts.Close)
	env := servertest.New(t, servertest.WithDemo(), trustCertificate(t, ts))
	putAutomation(t, env, "ExportToWebhookSingle", map[string]any{
		"actionType": "webhook", "uri": ts.URL + "/in?code=query-secret-1234", "signingKey": key,
	})
	id := ingestAssessment(t, env, "Unhealthy")
	found := -1
	waitFor(t, "the event at the receiver", func() bool {
		b, _, _, _ := rcv.snapshot()
		for i := range b {
			if strings.EqualFold(assessmentBodyID(t, b[i]), id) {
				found = i
				return true
			}
		}
		return false
	})
	_, types, counts, bad := rcv.snapshot()
	if bad != 0 || types[found] != "application/json" || counts[found] != "1" {
		t.Errorf("bad signatures %d, content type %q, count %q", bad, types[found], counts[found])
	}
}

// TestExport_extension_secrets_never_leak: a Kafka action with a wrong
// password and a Webhook whose receiver refuses the signature show a
// permanent error in deliveryHealth that names neither the password, the
// signing key nor the uri's query; no automation response holds them.
func TestExport_extension_secrets_never_leak(t *testing.T) {
	const (
		wrong   = "wrong-pa55word-must-not-leak"
		right   = "right-pa55word-of-the-broker"
		hookKey = "leaky-signing-key-must-not-leak"
		query   = "query-secret-must-not-leak"
	)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", "exporter", right))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ts := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.WriteHeader(http.StatusUnauthorized) // every signature is refused
	}))
	t.Cleanup(ts.Close)
	env := servertest.New(t, servertest.WithDemo(), trustCertificate(t, ts))
	putAutomation(t, env, "LeakKafka", map[string]any{
		"actionType": "Kafka", "brokers": []any{c.ListenAddrs()[0]}, "topic": "t",
		"sasl": map[string]any{"mechanism": "SCRAM-SHA-256", "username": "exporter", "password": wrong},
	})
	putAutomation(t, env, "LeakWebhook", map[string]any{
		"actionType": "Webhook", "uri": ts.URL + "/in?code=" + query, "signingKey": hookKey,
	})
	ingestAssessment(t, env, "Unhealthy")
	var responses []string
	get := func(name, suffix string) string {
		path := "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.Security/automations/" + name + suffix + "?api-version=2023-12-01-preview"
		_, body := env.Do(http.MethodGet, path, env.Token, nil)
		responses = append(responses, string(body))
		return string(body)
	}
	waitFor(t, "the refused password in the Kafka action's health", func() bool {
		return strings.Contains(get("LeakKafka", "/deliveryHealth"), "refused")
	})
	waitFor(t, "the refused request in the Webhook action's health", func() bool {
		return strings.Contains(get("LeakWebhook", "/deliveryHealth"), "401")
	})
	// Permanent: the events go to the dead letters without retries.
	for _, name := range []string{"LeakKafka", "LeakWebhook"} {
		var h struct {
			Actions []struct {
				Retried      int `json:"retried"`
				DeadLettered int `json:"deadLettered"`
			} `json:"actions"`
		}
		if err := json.Unmarshal([]byte(get(name, "/deliveryHealth")), &h); err != nil || len(h.Actions) != 1 ||
			h.Actions[0].Retried != 0 || h.Actions[0].DeadLettered == 0 {
			t.Errorf("%s health %+v (%v): want dead letters and no retries", name, h, err)
		}
	}
	get("LeakKafka", "")
	get("LeakWebhook", "")
	get("LeakKafka", "/deadLetters")
	get("LeakWebhook", "/deadLetters")
	for _, r := range responses {
		for _, s := range []string{wrong, hookKey, query} {
			if strings.Contains(r, s) {
				t.Errorf("a response holds a secret (%.8s…): %.400s", s, r)
			}
		}
	}
}
