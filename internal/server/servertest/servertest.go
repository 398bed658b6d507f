// Package servertest starts a complete Sluice server over TLS for tests,
// with tokens from its built-in issuer and Azure SDK client options that
// point the real SDK clients at it.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"sluice/internal/config"
	"sluice/internal/server"
)

// Env is a running test server.
type Env struct {
	T      testing.TB
	Server *server.Server
	HTTP   *httptest.Server
	// URL is the server's https base URL.
	URL string
	// Client trusts the server's certificate.
	Client *http.Client
	// Token is the bootstrap administrator's bearer token.
	Token    string
	TenantID string
	AdminID  string
}

// Option adjusts the configuration before the server starts.
type Option func(*config.Config)

// WithDemo seeds the demo estate.
func WithDemo() Option { return func(c *config.Config) { c.Demo = true } }

// WithData uses dir as the data directory (to test restarts).
func WithData(dir string) Option { return func(c *config.Config) { c.Data = dir } }

// New starts a server with a fresh data directory; it stops with the test.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Addr = "127.0.0.1:0"
	cfg.Store.Synchronous = "NORMAL"
	// A low work factor keeps the administrator's password hash cheap
	// under -race; the default (600,000) is tested in internal/users.
	cfg.Auth.PasswordIterations = 1000
	for _, o := range opts {
		o(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := server.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.StartTLS()
	bg, stop := context.WithCancel(context.Background())
	wait := srv.RunBackground(bg)
	t.Cleanup(func() {
		ts.Close()
		stop()
		wait()
		srv.Store.Close()
	})
	e := &Env{T: t, Server: srv, HTTP: ts, URL: ts.URL, Client: ts.Client(),
		TenantID: srv.Bootstrap.TenantID, AdminID: srv.Bootstrap.AdminID}
	e.Token = e.TokenFor(e.TenantID, e.AdminID)
	return e
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TokenFor mints a one-hour token for any principal.
func (e *Env) TokenFor(tenant, objectID string) string {
	e.T.Helper()
	tok, err := e.Server.Issuer.Mint(tenant, objectID, "", time.Hour)
	if err != nil {
		e.T.Fatalf("mint token: %v", err)
	}
	return tok
}

// Credential is an azcore.TokenCredential that always returns one token.
type Credential string

// GetToken implements azcore.TokenCredential.
func (c Credential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// Cred returns the administrator's credential for SDK clients.
func (e *Env) Cred() azcore.TokenCredential { return Credential(e.Token) }

// ARMOptions points an Azure SDK resource manager client at the server.
func (e *Env) ARMOptions() *arm.ClientOptions {
	return &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{
				ActiveDirectoryAuthorityHost: e.URL + "/",
				Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
					cloud.ResourceManager: {Endpoint: e.URL, Audience: e.Server.Issuer.Audience()},
				},
			},
			Transport: e.Client,
			Retry:     policy.RetryOptions{MaxRetries: -1},
		},
		DisableRPRegistration: true,
	}
}

// Do sends a request with the given token ("" for none) and returns the
// response with its body read.
func (e *Env) Do(method, path, token string, body any) (*http.Response, []byte) {
	e.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.T.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.T.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatalf("read body: %v", err)
	}
	return resp, data
}

// ErrorCode extracts error.code from an ARM error body ("" if none).
func ErrorCode(body []byte) string {
	var v struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &v)
	return v.Error.Code
}
