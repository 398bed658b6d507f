package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"sluice/internal/server"
	"sluice/internal/server/servertest"
)

// TestAudit_records_writes: every write, accepted or refused, is in the
// audit log with who, what, when, from where and the result; reads are
// not; reading the log needs a reader role in the tenant.
func TestAudit_records_writes(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	start := time.Now().Add(-time.Second)
	rg := "/subscriptions/" + sinkSub + "/resourcegroups/audited?api-version=2021-04-01"
	if resp, out := env.Do(http.MethodPut, rg, env.Token, `{"location":"westeurope"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d %s", resp.StatusCode, out)
	}
	env.Do(http.MethodGet, rg, env.Token, nil)
	stranger := env.TokenFor(env.TenantID, "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a")
	if resp, _ := env.Do(http.MethodDelete, rg, stranger, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("stranger delete: %d", resp.StatusCode)
	}
	resp, out := env.Do(http.MethodGet, server.AuditPath+"?api-version="+server.AuditAPIVersion+"&since="+start.UTC().Format(time.RFC3339), env.Token, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("audit log: %d %s", resp.StatusCode, out)
	}
	var list struct {
		Value []server.AuditEntry `json:"value"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatal(err)
	}
	var put, del *server.AuditEntry
	for i, e := range list.Value {
		if !strings.Contains(e.Path, "/resourcegroups/audited") {
			continue
		}
		switch e.Method {
		case http.MethodPut:
			put = &list.Value[i]
		case http.MethodDelete:
			del = &list.Value[i]
		case http.MethodGet:
			t.Errorf("a read was audited: %+v", e)
		}
	}
	if put == nil || put.Status != http.StatusCreated || put.PrincipalID != env.AdminID || put.TenantID != env.TenantID ||
		put.ClientIP != "127.0.0.1" || put.APIVersion != "2021-04-01" || put.Time.Before(start) || put.CorrelationID == "" {
		t.Errorf("PUT entry = %+v", put)
	}
	if del == nil || del.Status != http.StatusForbidden || del.PrincipalID != "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a" {
		t.Errorf("refused DELETE entry = %+v", del)
	}
	// A principal without a role in the tenant cannot read the log.
	if resp, out := env.Do(http.MethodGet, server.AuditPath+"?api-version="+server.AuditAPIVersion, stranger, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("stranger reads the audit log: %d %s", resp.StatusCode, out)
	}
}
