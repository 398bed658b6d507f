package server_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"sluice/internal/auth"
	"sluice/internal/config"
	"sluice/internal/estate"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newServer(t *testing.T, data string, mod ...func(*config.Config)) *server.Server {
	t.Helper()
	cfg := config.Default()
	cfg.Data = data
	cfg.Addr = "127.0.0.1:0"
	cfg.Store.Synchronous = "NORMAL"
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := server.New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	t.Cleanup(func() { srv.Store.Close() })
	return srv
}

func TestNew_fresh_directory(t *testing.T) {
	data := filepath.Join(t.TempDir(), "nested", "data") // created by New
	srv := newServer(t, data)

	b, err := server.ReadBootstrap(data)
	if err != nil {
		t.Fatalf("read bootstrap.json: %v", err)
	}
	if diff := cmp.Diff(srv.Bootstrap, b); diff != "" {
		t.Errorf("bootstrap.json differs from the server's bootstrap (-server +file):\n%s", diff)
	}
	for name, id := range map[string]string{"tenant": b.TenantID, "admin": b.AdminID} {
		if _, err := uuid.Parse(id); err != nil {
			t.Errorf("%s id %q is not a UUID", name, id)
		}
	}
	if fi, err := os.Stat(filepath.Join(data, "bootstrap.json")); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("bootstrap.json: %v, mode %v; want private", err, fi.Mode())
	}
	if err := srv.Store.Ping(context.Background()); err != nil {
		t.Errorf("store ping: %v", err)
	}

	// The root group of the tenant exists.
	ctx := context.Background()
	if _, err := srv.Estate.Group(ctx, srv.Store, b.TenantID); err != nil {
		t.Errorf("root group of the default tenant: %v", err)
	}
	// The admin holds Owner at the tenant root, and only that.
	recs, err := srv.Store.List(ctx, store.ListOptions{Kind: auth.KindRoleAssignment, Parent: auth.PrincipalKey(b.TenantID, b.AdminID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("admin role assignments: %d, want 1", len(recs))
	}
	var ra auth.RoleAssignment
	if err := json.Unmarshal(recs[0].Body, &ra); err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(ra.Scope, estate.GroupID(b.TenantID)) || !strings.HasSuffix(ra.RoleDefinitionID, "/"+auth.RoleOwner) {
		t.Errorf("admin assignment = %+v, want Owner at %s", ra, estate.GroupID(b.TenantID))
	}

	// TLSConfig generates the CA and server certificate in <data>/tls.
	tc, err := srv.TLSConfig()
	if err != nil {
		t.Fatalf("TLSConfig: %v", err)
	}
	if len(tc.Certificates) != 1 {
		t.Fatalf("TLS certificates: %d", len(tc.Certificates))
	}
	for _, f := range []string{"ca.pem", "ca-key.pem", "server.pem", "server-key.pem"} {
		if _, err := os.Stat(filepath.Join(data, "tls", f)); err != nil {
			t.Errorf("tls/%s: %v", f, err)
		}
	}
	caPEM, err := os.ReadFile(filepath.Join(data, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caPEM)
	if block == nil {
		t.Fatal("ca.pem holds no PEM block")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(tc.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
			t.Errorf("server certificate for %s does not verify against ca.pem: %v", host, err)
		}
	}
}

func TestNew_again_keeps_bootstrap(t *testing.T) {
	data := t.TempDir()
	first := newServer(t, data)
	b1 := first.Bootstrap
	if err := first.Store.Close(); err != nil {
		t.Fatal(err)
	}
	second := newServer(t, data)
	if diff := cmp.Diff(b1, second.Bootstrap); diff != "" {
		t.Errorf("bootstrap changed on the second New (-first +second):\n%s", diff)
	}
	recs, err := second.Store.List(context.Background(), store.ListOptions{Kind: auth.KindRoleAssignment})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Errorf("role assignments after a second New: %d, want 1", len(recs))
	}
}

func TestNew_rejects_invalid_config(t *testing.T) {
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.LogFormat = "xml"
	if _, err := server.New(context.Background(), cfg, quietLog()); err == nil || !strings.Contains(err.Error(), "logFormat") {
		t.Errorf("New with an invalid config = %v", err)
	}
}

func TestNew_demo_seed_is_once(t *testing.T) {
	data := t.TempDir()
	demo := func(c *config.Config) { c.Demo = true }
	srv := newServer(t, data, demo)
	ctx := context.Background()
	count := func(s *server.Server) int {
		n, err := s.Store.Count(ctx, store.ListOptions{Kind: estate.KindSubscription})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(srv); n != 3 {
		t.Errorf("demo subscriptions = %d, want 3", n)
	}
	srv.Store.Close()
	srv = newServer(t, data, demo)
	if n := count(srv); n != 3 {
		t.Errorf("demo subscriptions after a second start = %d, want 3", n)
	}
}

func TestBootstrap_admin_is_owner_at_root(t *testing.T) {
	env := servertest.New(t)
	const api = "?api-version=2021-04-01"
	body := `{"properties":{"displayName":"Group One"}}`

	tests := []struct {
		name   string
		token  string
		group  string
		status int
		code   string
	}{
		{"admin_creates_group", env.Token, "group-one", http.StatusOK, ""},
		{"random_principal_forbidden", env.TokenFor(env.TenantID, uuid.NewString()), "group-two", http.StatusForbidden, "AuthorizationFailed"},
		{"no_token", "", "group-four", http.StatusUnauthorized, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := env.Do("PUT", "/providers/Microsoft.Management/managementGroups/"+tc.group+api, tc.token, body)
			status := resp.StatusCode
			if tc.status == http.StatusOK && status == http.StatusCreated {
				status = http.StatusOK // either is a success for a create
			}
			if status != tc.status {
				t.Fatalf("PUT group = %d %s, want %d", resp.StatusCode, data, tc.status)
			}
			if tc.code != "" {
				if got := servertest.ErrorCode(data); got != tc.code {
					t.Errorf("error code = %q, want %q (%s)", got, tc.code, data)
				}
			}
			// Only a successful PUT leaves a group behind.
			resp, _ = env.Do("GET", "/providers/Microsoft.Management/managementGroups/"+tc.group+api, env.Token, nil)
			if exists := resp.StatusCode == http.StatusOK; exists != (tc.status == http.StatusOK) {
				t.Errorf("group %s exists = %v after a PUT answered %d", tc.group, exists, tc.status)
			}
		})
	}
}
