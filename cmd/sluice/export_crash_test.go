package main

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// collector is a Logic App-like HTTPS receiver counting deliveries per
// resource id.
type collector struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var doc struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &doc) != nil || doc.ID == "" {
		http.Error(w, "not an event", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.seen[strings.ToLower(doc.ID)]++
	c.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (c *collector) missing(ids []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, id := range ids {
		if c.seen[strings.ToLower(id)] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// TestServe_export_survives_sigkill_mid_stream streams assessments
// through an automation to an HTTPS receiver, kills the server with
// SIGKILL while ingestion and delivery are under way, restarts it on the
// same data directory and checks that every assessment whose ingestion was
// acknowledged reaches the receiver (at least once).
func TestServe_export_survives_sigkill_mid_stream(t *testing.T) {
	rcv := &collector{seen: map[string]int{}}
	ts := httptest.NewTLSServer(rcv)
	defer ts.Close()
	ca := filepath.Join(t.TempDir(), "receiver.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, "export:\n  caBundle: "+ca+"\nstore:\n  synchronous: FULL\n")
	data := t.TempDir()
	p := start(t, data, "--config", cfg)
	tok := tokenFor(t, data)
	p.putSubscription(tok)
	if status, body := p.do("PUT", rgPath("crash"), tok, `{"location":"westeurope"}`); status/100 != 2 {
		t.Fatalf("PUT resource group: %d %s", status, body)
	}
	auto := fmt.Sprintf(`{"location":"westeurope","properties":{"isEnabled":true,
		"scopes":[{"scopePath":"/subscriptions/%s"}],"sources":[{"eventSource":"Assessments"}],
		"actions":[{"actionType":"LogicApp","logicAppResourceId":"/subscriptions/%s/resourceGroups/crash/providers/Microsoft.Logic/workflows/wf",
		"uri":"%s/invoke?sig=crash-test-signature"}]}}`, subID, subID, ts.URL)
	if status, body := p.do("PUT", "/subscriptions/"+subID+"/resourceGroups/crash/providers/Microsoft.Security/automations/crash?api-version=2023-12-01-preview",
		tok, auto); status/100 != 2 {
		t.Fatalf("PUT automation: %d %s", status, body)
	}

	var acked []string
	batch := func(p *proc, first, n int) error {
		var b strings.Builder
		var ids []string
		for i := first; i < first+n; i++ {
			id := fmt.Sprintf("/subscriptions/%s/resourceGroups/crash/providers/Microsoft.Compute/virtualMachines/vm-%05d/providers/Microsoft.Security/assessments/45cfe080-ceb1-a91e-9743-71551ed24e94", subID, i)
			fmt.Fprintf(&b, `{"type":"Microsoft.Security/assessments","id":%q,"properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"Unhealthy","description":"%s"}}}`+"\n",
				id, strings.Repeat("x", 600))
			ids = append(ids, id)
		}
		status, body, err := p.try("POST", "/providers/Microsoft.Security/ingest?api-version=2024-01-01", tok, b.String())
		if err != nil {
			return err
		}
		if status != http.StatusOK || !strings.Contains(string(body), fmt.Sprintf(`"accepted":%d`, n)) {
			return fmt.Errorf("ingest: %d %.300s", status, body)
		}
		acked = append(acked, ids...)
		return nil
	}
	// Ingest until deliveries are under way, then kill without warning.
	next := 0
	for ; next < 4000; next += 100 {
		if err := batch(p, next, 100); err != nil {
			t.Fatal(err)
		}
		rcv.mu.Lock()
		delivered := len(rcv.seen)
		rcv.mu.Unlock()
		if delivered > 50 && next >= 1000 {
			break
		}
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.waitExit()
	pending := len(rcv.missing(acked))
	t.Logf("killed with %d of %d acknowledged events not yet delivered", pending, len(acked))
	if pending == 0 {
		t.Fatal("everything was delivered before the kill: the test did not kill mid-stream")
	}

	p2 := start(t, data, "--config", cfg)
	for i := 0; i < 5; i++ {
		next += 100
		if err := batch(p2, next, 100); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(wait)
	for {
		miss := rcv.missing(acked)
		if len(miss) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged assessments never reached the receiver, e.g. %s", len(miss), len(acked), miss[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(p.stderr.String()+p2.stderr.String(), "crash-test-signature") {
		t.Error("the trigger URI's signature appears in the server's log")
	}
}
