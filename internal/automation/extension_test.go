package automation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"sluice/internal/armapi"
	"sluice/internal/automation"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
	"sluice/internal/tlsutil"
)

const (
	kafkaPassword = "kafka-pa55word-never-returned"
	webhookKey    = "webhook-signing-key-never-returned"
	webhookSig    = "c2lnLXF1ZXJ5LXNlY3JldA"
	webhookURI    = "https://hooks.example.com/in/sluice?code=" + webhookSig
)

// caPEM is a real CA certificate (PEM) for tls.caCertificate.
func caPEM(t *testing.T) string {
	t.Helper()
	files, err := tlsutil.Ensure(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(files.CA)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func kafkaAction(edit func(a map[string]any)) map[string]any {
	a := map[string]any{
		"actionType": "kafka",
		"brokers":    []any{"kafka-1.example.com:9092", "10.0.0.7:9093", "[::1]:9094"},
		"topic":      "sluice.exports_v1-test",
		"sasl":       map[string]any{"mechanism": "scram-sha-256", "username": "exporter", "password": kafkaPassword},
		"tls":        map[string]any{"enabled": true},
	}
	if edit != nil {
		edit(a)
	}
	return a
}

func webhookAction(edit func(a map[string]any)) map[string]any {
	a := map[string]any{"actionType": "WEBHOOK", "uri": webhookURI, "signingKey": webhookKey, "batch": true, "maxEvents": 50}
	if edit != nil {
		edit(a)
	}
	return a
}

// parseValidate runs the body of one action through Parse and Validate.
func parseValidate(t *testing.T, action map[string]any) (*automation.Automation, error) {
	t.Helper()
	data, err := json.Marshal(withAction(action))
	if err != nil {
		t.Fatal(err)
	}
	a, err := automation.Parse(data)
	if err != nil {
		return nil, err
	}
	return a, automation.Validate(a, sub)
}

func errCode(err error) string {
	if e, ok := err.(*armapi.Error); ok {
		return e.Code
	}
	return ""
}

// TestExtensionActions_validation is the table of good and bad Kafka and
// Webhook actions: each bad one is refused with its precise code and
// target, and no message quotes a secret.
func TestExtensionActions_validation(t *testing.T) {
	ca := caPEM(t)
	cases := []struct {
		name   string
		action map[string]any
		code   string // "" = accepted
		target string
	}{
		{"kafka full", kafkaAction(nil), "", ""},
		{"kafka no sasl no tls", kafkaAction(func(a map[string]any) { delete(a, "sasl"); delete(a, "tls") }), "", ""},
		{"kafka PLAIN", kafkaAction(func(a map[string]any) { a["sasl"].(map[string]any)["mechanism"] = "plain" }), "", ""},
		{"kafka SCRAM-SHA-512", kafkaAction(func(a map[string]any) { a["sasl"].(map[string]any)["mechanism"] = "Scram-Sha-512" }), "", ""},
		{"kafka CA certificate", kafkaAction(func(a map[string]any) {
			a["tls"] = map[string]any{"enabled": true, "caCertificate": ca}
		}), "", ""},
		{"kafka insecure", kafkaAction(func(a map[string]any) {
			a["tls"] = map[string]any{"enabled": true, "insecureSkipVerify": true}
		}), "", ""},
		{"kafka no brokers", kafkaAction(func(a map[string]any) { delete(a, "brokers") }), "InvalidKafkaBrokers", "properties.actions[0].brokers"},
		{"kafka empty brokers", kafkaAction(func(a map[string]any) { a["brokers"] = []any{} }), "InvalidKafkaBrokers", "properties.actions[0].brokers"},
		{"kafka broker without port", kafkaAction(func(a map[string]any) { a["brokers"] = []any{"kafka-1"} }), "InvalidKafkaBrokers", "properties.actions[0].brokers[0]"},
		{"kafka broker port 0", kafkaAction(func(a map[string]any) { a["brokers"] = []any{"k:9092", "k:0"} }), "InvalidKafkaBrokers", "properties.actions[0].brokers[1]"},
		{"kafka broker port text", kafkaAction(func(a map[string]any) { a["brokers"] = []any{"k:http"} }), "InvalidKafkaBrokers", "properties.actions[0].brokers[0]"},
		{"kafka broker no host", kafkaAction(func(a map[string]any) { a["brokers"] = []any{":9092"} }), "InvalidKafkaBrokers", "properties.actions[0].brokers[0]"},
		{"kafka broker url", kafkaAction(func(a map[string]any) { a["brokers"] = []any{"kafka://k:9092"} }), "InvalidKafkaBrokers", "properties.actions[0].brokers[0]"},
		{"kafka too many brokers", kafkaAction(func(a map[string]any) {
			a["brokers"] = many(automation.MaxBrokers+1, func(int) any { return "k:9092" })
		}), "InvalidKafkaBrokers", "properties.actions[0].brokers"},
		{"kafka brokers not a list", kafkaAction(func(a map[string]any) { a["brokers"] = "k:9092" }), "InvalidRequestContent", ""},
		{"kafka no topic", kafkaAction(func(a map[string]any) { delete(a, "topic") }), "InvalidKafkaTopic", "properties.actions[0].topic"},
		{"kafka topic with slash", kafkaAction(func(a map[string]any) { a["topic"] = "a/b" }), "InvalidKafkaTopic", "properties.actions[0].topic"},
		{"kafka topic dot", kafkaAction(func(a map[string]any) { a["topic"] = ".." }), "InvalidKafkaTopic", "properties.actions[0].topic"},
		{"kafka topic too long", kafkaAction(func(a map[string]any) { a["topic"] = strings.Repeat("t", 250) }), "InvalidKafkaTopic", "properties.actions[0].topic"},
		{"kafka unknown mechanism", kafkaAction(func(a map[string]any) { a["sasl"].(map[string]any)["mechanism"] = "GSSAPI" }), "InvalidKafkaSaslMechanism", "properties.actions[0].sasl.mechanism"},
		{"kafka password without mechanism", kafkaAction(func(a map[string]any) { delete(a["sasl"].(map[string]any), "mechanism") }), "InvalidKafkaSaslMechanism", "properties.actions[0].sasl.mechanism"},
		{"kafka no password", kafkaAction(func(a map[string]any) { delete(a["sasl"].(map[string]any), "password") }), "InvalidKafkaSaslPassword", "properties.actions[0].sasl.password"},
		{"kafka no username", kafkaAction(func(a map[string]any) { delete(a["sasl"].(map[string]any), "username") }), "InvalidKafkaSaslUsername", "properties.actions[0].sasl.username"},
		{"kafka CA without TLS", kafkaAction(func(a map[string]any) { a["tls"] = map[string]any{"caCertificate": ca} }), "InvalidKafkaTls", "properties.actions[0].tls.enabled"},
		{"kafka CA not PEM", kafkaAction(func(a map[string]any) {
			a["tls"] = map[string]any{"enabled": true, "caCertificate": "not a certificate"}
		}), "InvalidKafkaTls", "properties.actions[0].tls.caCertificate"},
		{"webhook full", webhookAction(nil), "", ""},
		{"webhook single, default maxEvents", webhookAction(func(a map[string]any) { delete(a, "batch"); delete(a, "maxEvents") }), "", ""},
		{"webhook no uri", webhookAction(func(a map[string]any) { delete(a, "uri") }), "InvalidWebhookUri", "properties.actions[0].uri"},
		{"webhook http", webhookAction(func(a map[string]any) { a["uri"] = "http://hooks.example.com/in?code=" + webhookSig }), "InvalidWebhookUri", "properties.actions[0].uri"},
		{"webhook user info", webhookAction(func(a map[string]any) { a["uri"] = "https://u:" + webhookSig + "@hooks.example.com/in" }), "InvalidWebhookUri", "properties.actions[0].uri"},
		{"webhook fragment", webhookAction(func(a map[string]any) { a["uri"] = webhookURI + "#x" }), "InvalidWebhookUri", "properties.actions[0].uri"},
		{"webhook relative", webhookAction(func(a map[string]any) { a["uri"] = "/in?code=" + webhookSig }), "InvalidWebhookUri", "properties.actions[0].uri"},
		{"webhook no signing key", webhookAction(func(a map[string]any) { delete(a, "signingKey") }), "InvalidWebhookSigningKey", "properties.actions[0].signingKey"},
		{"webhook short signing key", webhookAction(func(a map[string]any) { a["signingKey"] = "short-key" }), "InvalidWebhookSigningKey", "properties.actions[0].signingKey"},
		{"webhook maxEvents negative", webhookAction(func(a map[string]any) { a["maxEvents"] = -1 }), "InvalidWebhookMaxEvents", "properties.actions[0].maxEvents"},
		{"webhook maxEvents too big", webhookAction(func(a map[string]any) { a["maxEvents"] = automation.MaxWebhookEvents + 1 }), "InvalidWebhookMaxEvents", "properties.actions[0].maxEvents"},
		{"webhook batch not bool", webhookAction(func(a map[string]any) { a["batch"] = "yes" }), "InvalidRequestContent", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseValidate(t, tc.action)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if errCode(err) != tc.code {
				t.Fatalf("error %v (code %q), want %s", err, errCode(err), tc.code)
			}
			e := err.(*armapi.Error)
			if tc.target != "" && e.Target != tc.target {
				t.Errorf("target %q, want %q", e.Target, tc.target)
			}
			for _, s := range []string{kafkaPassword, webhookKey, webhookSig} {
				if strings.Contains(e.Message, s) {
					t.Errorf("message quotes a secret: %s", e.Message)
				}
			}
		})
	}
}

// TestExtensionActions_render: canonical actionType, the documented shape,
// and never a secret.
func TestExtensionActions_render(t *testing.T) {
	a, err := parseValidate(t, kafkaAction(nil))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(a.Properties.Actions[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"actionType":"Kafka","brokers":["kafka-1.example.com:9092","10.0.0.7:9093","[::1]:9094"],"topic":"sluice.exports_v1-test",` +
		`"sasl":{"mechanism":"SCRAM-SHA-256","username":"exporter"},"tls":{"enabled":true,"insecureSkipVerify":false}}`
	if string(out) != want {
		t.Errorf("kafka renders\n%s\nwant\n%s", out, want)
	}
	a, err = parseValidate(t, kafkaAction(func(a map[string]any) { delete(a, "sasl"); delete(a, "tls") }))
	if err != nil {
		t.Fatal(err)
	}
	out, _ = json.Marshal(a.Properties.Actions[0])
	if !strings.Contains(string(out), `"tls":{"enabled":false,"insecureSkipVerify":false}`) || strings.Contains(string(out), "sasl") {
		t.Errorf("kafka without sasl renders %s", out)
	}

	a, err = parseValidate(t, webhookAction(nil))
	if err != nil {
		t.Fatal(err)
	}
	out, _ = json.Marshal(a.Properties.Actions[0])
	if want := `{"actionType":"Webhook","uri":"https://hooks.example.com/in/sluice","batch":true,"maxEvents":50}`; string(out) != want {
		t.Errorf("webhook renders\n%s\nwant\n%s", out, want)
	}
	a, err = parseValidate(t, webhookAction(func(a map[string]any) { delete(a, "batch"); delete(a, "maxEvents") }))
	if err != nil {
		t.Fatal(err)
	}
	out, _ = json.Marshal(a.Properties.Actions[0])
	if want := `{"actionType":"Webhook","uri":"https://hooks.example.com/in/sluice","batch":false,"maxEvents":100}`; string(out) != want {
		t.Errorf("webhook defaults render %s, want %s", out, want)
	}
}

// TestExtensionActions_compile: the engine gets the whole configuration,
// the secrets to redact, and a fingerprint that follows every setting.
func TestExtensionActions_compile(t *testing.T) {
	compile := func(action map[string]any) *automation.Automation {
		a, err := parseValidate(t, action)
		if err != nil {
			t.Fatal(err)
		}
		a.ID = automationPath(sub, rg, "x")
		return a
	}
	x, err := automation.Compile(compile(kafkaAction(nil)))
	if err != nil {
		t.Fatal(err)
	}
	k, ok := x.Actions[0].Config.(automation.KafkaTarget)
	if !ok || k.Topic != "sluice.exports_v1-test" || k.Mechanism != "SCRAM-SHA-256" || k.Username != "exporter" ||
		k.Password != kafkaPassword || !k.TLS || len(k.Brokers) != 3 || x.Actions[0].Type != "Kafka" {
		t.Errorf("kafka config %+v", x.Actions[0].Config)
	}
	if !contains(x.Actions[0].Secrets, kafkaPassword) {
		t.Errorf("%d secrets miss the password", len(x.Actions[0].Secrets))
	}
	other, _ := automation.Compile(compile(kafkaAction(func(a map[string]any) { a["topic"] = "other" })))
	if other.Actions[0].Fingerprint == x.Actions[0].Fingerprint {
		t.Error("the fingerprint ignores the topic")
	}
	// Only Workspace actions take larger batches than the engine's.
	if x.Actions[0].BatchSize != 0 {
		t.Errorf("kafka action batch size %d, want the engine's", x.Actions[0].BatchSize)
	}
	ws, err := automation.Compile(compile(map[string]any{"actionType": "Workspace",
		"workspaceResourceId": "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.OperationalInsights/workspaces/ws"}))
	if err != nil {
		t.Fatal(err)
	}
	if ws.Actions[0].BatchSize != automation.WorkspaceBatchSize {
		t.Errorf("workspace action batch size %d, want %d", ws.Actions[0].BatchSize, automation.WorkspaceBatchSize)
	}

	w, err := automation.Compile(compile(webhookAction(nil)))
	if err != nil {
		t.Fatal(err)
	}
	h, ok := w.Actions[0].Config.(automation.WebhookTarget)
	if !ok || h.URI != webhookURI || h.SigningKey != webhookKey || !h.Batch || h.MaxEvents != 50 {
		t.Errorf("webhook config %+v", w.Actions[0].Config)
	}
	for _, s := range []string{webhookKey, webhookSig} {
		if !contains(w.Actions[0].Secrets, s) {
			t.Errorf("webhook secrets miss a part (%.8s…)", s)
		}
	}
	single, _ := automation.Compile(compile(webhookAction(func(a map[string]any) { a["batch"] = false })))
	if single.Actions[0].Fingerprint == w.Actions[0].Fingerprint {
		t.Error("the fingerprint ignores batch")
	}
}

// TestExtensionActions_HTTP creates, reads, lists and updates Kafka and
// Webhook automations over the API: canonical casing, no secrets in any
// response, secrets sealed at rest and carried over a read-modify-write.
func TestExtensionActions_HTTP(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	kPath := withVersion(automationPath(sub, rg, "ToKafka"), v2023)
	wPath := withVersion(automationPath(sub, rg, "ToWebhook"), v2019)
	var responses []string
	call := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		resp, out := do(t, env, method, path, body)
		mustStatus(t, resp, out, want)
		responses = append(responses, string(out))
		if len(out) == 0 {
			return nil
		}
		return decodeJSON(t, out)
	}
	action := func(m map[string]any) map[string]any {
		return m["properties"].(map[string]any)["actions"].([]any)[0].(map[string]any)
	}
	got := call(http.MethodPut, kPath, withAction(kafkaAction(nil)), http.StatusCreated)
	if a := action(got); a["actionType"] != "Kafka" || a["topic"] != "sluice.exports_v1-test" ||
		a["sasl"].(map[string]any)["mechanism"] != "SCRAM-SHA-256" {
		t.Errorf("kafka action %v", a)
	}
	got = call(http.MethodPut, wPath, withAction(webhookAction(nil)), http.StatusCreated)
	if a := action(got); a["actionType"] != "Webhook" || a["uri"] != "https://hooks.example.com/in/sluice" || a["maxEvents"] != 50.0 {
		t.Errorf("webhook action %v", a)
	}
	call(http.MethodGet, kPath, nil, http.StatusOK)
	list := call(http.MethodGet, withVersion("/subscriptions/"+sub+"/providers/Microsoft.Security/automations", v2023), nil, http.StatusOK)
	types := map[string]bool{}
	for _, item := range list["value"].([]any) {
		types[action(item.(map[string]any))["actionType"].(string)] = true
	}
	if !types["Kafka"] || !types["Webhook"] {
		t.Errorf("list holds action types %v", types)
	}
	res := call(http.MethodPost, withVersion(automationPath(sub, rg, "ToKafka")+"/validate", v2023),
		withAction(kafkaAction(func(a map[string]any) { a["topic"] = "bad/topic" })), http.StatusOK)
	if res["isValid"] != false || !strings.Contains(res["message"].(string), "topic") {
		t.Errorf("validate answered %v", res)
	}

	// Read back (no secrets), change, write again: the secrets stay.
	for _, path := range []string{kPath, wPath} {
		got := call(http.MethodGet, path, nil, http.StatusOK)
		got["properties"].(map[string]any)["description"] = "changed"
		call(http.MethodPut, path, got, http.StatusOK)
	}
	ctx := context.Background()
	ka, err := env.Server.Automations.Get(ctx, automation.Ref{Subscription: sub, ResourceGroup: rg, Name: "ToKafka"})
	if err != nil || ka.Properties.Actions[0].SASLPassword != kafkaPassword || ka.Properties.Description != "changed" {
		t.Fatalf("kafka after round trip: %v", err)
	}
	wa, err := env.Server.Automations.Get(ctx, automation.Ref{Subscription: sub, ResourceGroup: rg, Name: "ToWebhook"})
	if err != nil || wa.Properties.Actions[0].URI != webhookURI || wa.Properties.Actions[0].SigningKey != webhookKey {
		t.Fatalf("webhook after round trip: %v", err)
	}
	// Another destination needs its own secret.
	got = call(http.MethodGet, kPath, nil, http.StatusOK)
	action(got)["topic"] = "elsewhere"
	resp, out := do(t, env, http.MethodPut, kPath, got)
	mustStatus(t, resp, out, http.StatusBadRequest)
	if servertest.ErrorCode(out) != "InvalidKafkaSaslPassword" {
		t.Errorf("code %q", servertest.ErrorCode(out))
	}
	got = call(http.MethodGet, wPath, nil, http.StatusOK)
	action(got)["uri"] = "https://other.example.com/in"
	resp, out = do(t, env, http.MethodPut, wPath, got)
	mustStatus(t, resp, out, http.StatusBadRequest)
	if servertest.ErrorCode(out) != "InvalidWebhookSigningKey" {
		t.Errorf("code %q", servertest.ErrorCode(out))
	}
	// A new query with the stored signing key.
	got = call(http.MethodGet, wPath, nil, http.StatusOK)
	action(got)["uri"] = "https://hooks.example.com/in/sluice?code=rotated-query-value"
	call(http.MethodPut, wPath, got, http.StatusOK)
	wa, _ = env.Server.Automations.Get(ctx, automation.Ref{Subscription: sub, ResourceGroup: rg, Name: "ToWebhook"})
	if wa.Properties.Actions[0].URI != "https://hooks.example.com/in/sluice?code=rotated-query-value" || wa.Properties.Actions[0].SigningKey != webhookKey {
		t.Error("a new query did not replace the stored one, or the key was lost")
	}

	for _, r := range responses {
		for _, s := range []string{kafkaPassword, webhookKey, webhookSig, "rotated-query-value"} {
			if strings.Contains(r, s) {
				t.Errorf("a response holds a secret (%.8s…): %.300s", s, r)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(env.Server.Config.Data, "sluice.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{kafkaPassword, webhookKey, webhookSig} {
			if strings.Contains(string(data), s) {
				t.Errorf("%s holds a secret in clear (%.8s…)", filepath.Base(f), s)
			}
		}
	}
}

// TestExtensionActions_secrets_not_logged: with the server's log captured
// at debug level, a Kafka action whose password the broker refuses and a
// Webhook whose endpoint is unreachable fail delivery; neither the log,
// the responses nor the health name the password, signing key or query.
func TestExtensionActions_secrets_not_logged(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", "exporter", "the-right-password-of-the-broker"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	logs := &syncBuffer{}
	env := leakEnv(t, logs)
	item := func(name string) string { return withVersion(automationPath(sub, rg, name), v2023) }
	var seen []string
	call := func(method, path string, body any) string {
		t.Helper()
		_, out := do(t, env, method, path, body)
		seen = append(seen, string(out))
		return string(out)
	}
	call(http.MethodPut, item("kafka-leak"), withAction(kafkaAction(func(a map[string]any) {
		a["brokers"] = []any{c.ListenAddrs()[0]}
		a["topic"] = "t"
		a["sasl"].(map[string]any)["mechanism"] = "SCRAM-SHA-512"
		delete(a, "tls")
	})))
	call(http.MethodPut, item("webhook-leak"), withAction(webhookAction(func(a map[string]any) {
		a["uri"] = "https://127.0.0.1:1/in?code=" + webhookSig
	})))
	ctx := context.Background()
	if err := env.Server.Store.Update(ctx, func(tx store.Tx) error { return tx.AppendEvent(ctx, alertEvent(sub, rg, "High")) }); err != nil {
		t.Fatal(err)
	}
	env.Server.Engine.Notify()
	waitFor(t, "both delivery failures in the health", func() bool {
		return strings.Contains(call(http.MethodGet, withVersion(automationPath(sub, rg, "kafka-leak")+"/deliveryHealth", v2023), nil), "refused") &&
			strings.Contains(call(http.MethodGet, withVersion(automationPath(sub, rg, "webhook-leak")+"/deliveryHealth", v2023), nil), "127.0.0.1:1")
	})
	call(http.MethodGet, withVersion("/subscriptions/"+sub+"/providers/Microsoft.Security/automations", v2023), nil)
	logText := logs.String()
	if !strings.Contains(logText, "delivery failed") {
		t.Fatal("the log capture saw no delivery failure")
	}
	for _, s := range []string{kafkaPassword, webhookKey, webhookSig} {
		if strings.Contains(logText, s) {
			t.Errorf("the log holds a secret (%.8s…)", s)
		}
		for _, r := range seen {
			if strings.Contains(r, s) {
				t.Errorf("a response holds a secret (%.8s…): %.300s", s, r)
			}
		}
	}
}
