package server_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"sluice/internal/amqptest"
	"sluice/internal/config"
	"sluice/internal/logsingesttest"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
	"sluice/internal/sink/workspace"
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
func putAutomation(t *testing.T, env *servertest.Env, name string, action map[string]any) {
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
func ingestAssessment(t *testing.T, env *servertest.Env, code string) string {
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
	putAutomation(t, env, "ExportTrusted", map[string]any{
		"actionType":              "EventHub",
		"eventHubResourceId":      "/subscriptions/" + sinkSub + "/resourceGroups/" + sinkRG + "/providers/Microsoft.EventHub/namespaces/ns1/eventhubs/exports",
		"isTrustedServiceEnabled": true,
	})
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
