package automation_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sluice/internal/config"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// leakEnv starts a server like servertest does, but with its log (and the
// default logger) captured at debug level.
func leakEnv(t *testing.T, logs io.Writer) *servertest.Env {
	t.Helper()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Addr = "127.0.0.1:0"
	cfg.Demo = true
	cfg.Store.Synchronous = "NORMAL"
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(log)
	t.Cleanup(func() { slog.SetDefault(prev) })
	srv, err := server.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	ts.StartTLS()
	bg, stop := context.WithCancel(context.Background())
	wait := srv.RunBackground(bg)
	t.Cleanup(func() {
		ts.Close()
		stop()
		wait()
		srv.Store.Close()
	})
	env := &servertest.Env{T: t, Server: srv, HTTP: ts, URL: ts.URL, Client: ts.Client(),
		TenantID: srv.Bootstrap.TenantID, AdminID: srv.Bootstrap.AdminID}
	env.Token = env.TokenFor(env.TenantID, env.AdminID)
	return env
}

// TestSecretsNeverLeak writes automations with a connection string and a
// Logic App trigger uri, then drives every route — reads, lists, writes,
// validation, bad requests that carry the secrets, delivery failures — and
// checks that no response, no log line and no stored byte holds them.
func TestSecretsNeverLeak(t *testing.T) {
	const (
		key       = "c2VjcmV0LWtleS1kby1ub3QtbGVhaw=="
		sig       = "c2lnbmF0dXJlLWRvLW5vdC1sZWFr"
		key2      = "YW5vdGhlci1zZWNyZXQta2V5LXZhbHVl"
		connBad   = "SharedAccessKeyName=send;SharedAccessKey=" + key2 // no Endpoint
		emulator  = "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=" + key2 + ";UseDevelopmentEmulator=true;EntityPath=hub"
		badScheme = "http://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=" + sig
	)
	forbidden := []string{testConnString, key, strings.TrimRight(key, "="), testTriggerURI, sig, unreachableTrigger,
		"dW5yZWFjaGFibGUtc2lnbmF0dXJl", key2, emulator}
	logs := &syncBuffer{}
	env := leakEnv(t, logs)

	var seen []string // every response: status line, headers, body
	call := func(method, path string, body any) []byte {
		t.Helper()
		resp, data := do(t, env, method, path, body)
		var hdr strings.Builder
		_ = resp.Header.Write(&hdr)
		seen = append(seen, method+" "+path+" "+resp.Status+"\n"+hdr.String()+"\n"+string(data))
		return data
	}
	item := func(name string) string { return withVersion(automationPath(sub, rg, name), v2023) }
	eh := withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": ehID, "connectionString": testConnString})
	la := withAction(map[string]any{"actionType": "LogicApp", "logicAppResourceId": laID, "uri": testTriggerURI})
	unreachable := withAction(map[string]any{"actionType": "LogicApp", "logicAppResourceId": laID, "uri": unreachableTrigger})

	call(http.MethodPut, item("eh"), eh)
	call(http.MethodPut, item("la"), la)
	call(http.MethodPut, withVersion(automationPath(sub, rg, "la"), v2019), la)
	call(http.MethodPut, item("down"), unreachable)
	call(http.MethodPut, item("emu"), withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": ehID, "connectionString": emulator}))
	call(http.MethodGet, item("eh"), nil)
	call(http.MethodGet, item("la"), nil)
	call(http.MethodGet, withVersion("/subscriptions/"+sub+"/providers/Microsoft.Security/automations", v2019), nil)
	call(http.MethodGet, withVersion("/subscriptions/"+sub+"/resourceGroups/"+rg+"/providers/Microsoft.Security/automations", v2023)+"&$top=1", nil)
	call(http.MethodPatch, item("eh"), map[string]any{"tags": map[string]any{"k": "v"}})
	call(http.MethodPatch, item("la"), map[string]any{"properties": map[string]any{"actions": la["properties"].(map[string]any)["actions"]}})
	call(http.MethodPost, withVersion(automationPath(sub, rg, "eh")+"/validate", v2023), eh)
	// Bad requests that carry the secrets.
	bad := []any{
		withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": ehID, "connectionString": connBad}),
		withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": ehID, "connectionString": "Endpoint=https://x/;SharedAccessKeyName=a;SharedAccessKey=" + key2}),
		withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": ehID, "connectionString": key2}),
		withAction(map[string]any{"actionType": "EventHub", "eventHubResourceId": ehID, "connectionString": testConnString + ";" + key2 + "=x"}),
		withAction(map[string]any{"actionType": "LogicApp", "logicAppResourceId": laID, "uri": badScheme}),
		withAction(map[string]any{"actionType": "LogicApp", "logicAppResourceId": laID, "uri": "https://user:" + sig + "@host/x"}),
		withAction(map[string]any{"actionType": "LogicApp", "logicAppResourceId": laID, "uri": "%%" + sig}),
		withAction(map[string]any{"actionType": "LogicApp", "uri": testTriggerURI}),
		withAction(map[string]any{"actionType": "EventHub", "connectionString": testConnString}),
		edit(func(b, p map[string]any) {
			delete(b, "location")
			p["actions"] = la["properties"].(map[string]any)["actions"]
		}),
		`{"properties":{"actions":[{"actionType":"EventHub","connectionString":"` + testConnString + `"`,
		`{"properties":{"actions":[{"actionType":"LogicApp","uri":["` + testTriggerURI + `"]}]}}`,
		`{"properties":{"actions":[{"actionType":"LogicApp","uri":"` + testTriggerURI + `" "x"}]}}`,
		`{"properties":{"actions":[{"actionType":"EventHub","connectionString":{"v":"` + testConnString + `"}}]}}`,
	}
	for _, b := range bad {
		for _, method := range []string{http.MethodPut, http.MethodPatch} {
			out := call(method, item("eh"), b)
			if method == http.MethodPut && servertest.ErrorCode(out) == "" {
				t.Errorf("%s accepted a bad body: %s", method, out)
			}
		}
		call(http.MethodPost, withVersion(automationPath(sub, rg, "candidate")+"/validate", v2023), b)
	}
	// A delivery failure to the unreachable trigger is logged and recorded.
	ctx := context.Background()
	if err := env.Server.Store.Update(ctx, func(tx store.Tx) error { return tx.AppendEvent(ctx, alertEvent(sub, rg, "High")) }); err != nil {
		t.Fatal(err)
	}
	env.Server.Engine.Notify()
	waitFor(t, "a delivery failure in the log", func() bool { return strings.Contains(logs.String(), "delivery failed") })
	for _, name := range []string{"down", "eh", "la", "emu"} {
		call(http.MethodGet, withVersion(automationPath(sub, rg, name)+"/deliveryHealth", v2023), nil)
		call(http.MethodGet, withVersion(automationPath(sub, rg, name)+"/deadLetters", v2023), nil)
	}
	call(http.MethodDelete, item("eh"), nil)

	for _, s := range seen {
		for _, f := range forbidden {
			if strings.Contains(s, f) {
				t.Errorf("a response holds a secret (%.12s…):\n%.400s", f, s)
			}
		}
	}
	logText := logs.String()
	if !strings.Contains(logText, "automation created") {
		t.Fatal("the log capture saw nothing")
	}
	for _, f := range forbidden {
		if strings.Contains(logText, f) {
			t.Errorf("the log holds a secret (%.12s…)", f)
		}
	}
	// At rest: the database files hold the secrets only sealed.
	files, _ := filepath.Glob(filepath.Join(env.Server.Config.Data, "sluice.db*"))
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{key, sig, key2} {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds a secret in clear (%.12s…)", filepath.Base(f), s)
			}
		}
	}
}
