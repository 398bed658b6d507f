// Package server assembles Sluice: it opens the store, bootstraps the
// default tenant and administrator, builds the routes of every module and
// serves them over HTTPS with a graceful shutdown.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/armapi"
	"sluice/internal/auth"
	"sluice/internal/automation"
	"sluice/internal/config"
	"sluice/internal/estate"
	"sluice/internal/export"
	"sluice/internal/portal"
	"sluice/internal/security"
	"sluice/internal/store"
	"sluice/internal/store/sqlite"
	"sluice/internal/tlsutil"
	"sluice/internal/workspace"
)

// Server is a running Sluice instance.
type Server struct {
	Config    config.Config
	Log       *slog.Logger
	Store     store.Store
	Issuer    *auth.Issuer
	Router    *armapi.Router
	Estate    *estate.Service
	RBAC      *auth.RBAC
	Bootstrap estate.Bootstrap
	Engine    *export.Engine
	Security  *security.Service
	// Automations stores Microsoft.Security/automations and feeds the engine.
	Automations *automation.Service
	Workspaces  *workspace.Service
	// Portal is the web portal under /portal/.
	Portal *portal.Portal
	// InitialPassword is the bootstrap administrator's portal password
	// when this start created it (to be printed once), else empty.
	InitialPassword string

	handler   http.Handler
	tls       tlsutil.Files
	caPool    *x509.CertPool
	metrics   *prometheus.Registry
	schedule  export.Schedule
	snapshots export.Snapshotter
}

// New opens the data directory and builds the server without listening.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := sqlite.Open(ctx, cfg.Data, sqlite.Options{Synchronous: cfg.Store.Synchronous})
	if err != nil {
		return nil, err
	}
	s := &Server{Config: cfg, Log: log, Store: st}
	if err := s.init(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) init(ctx context.Context) error {
	var err error
	s.Issuer, err = auth.LoadOrCreateIssuer(s.Config.Data, s.Config.Auth.Issuer, s.Config.Auth.Audience)
	if err != nil {
		return err
	}
	s.Estate = &estate.Service{Store: s.Store}
	if s.Bootstrap, err = bootstrap(ctx, s.Store, s.Config.Data, s.Log); err != nil {
		return err
	}
	if s.Config.Demo {
		if err := seedDemo(ctx, s.Store, s.Bootstrap, s.Log); err != nil {
			return fmt.Errorf("seed demo: %w", err)
		}
	}
	if err := s.newEngine(); err != nil {
		return err
	}
	s.RBAC = &auth.RBAC{Store: s.Store, Resolver: s.Estate}
	s.Router = &armapi.Router{Authn: &auth.Authenticator{Issuer: s.Issuer}, Authz: s.RBAC}
	(&estate.Handlers{Svc: s.Estate, Authz: s.RBAC}).Register(s.Router)
	if err := s.initSecurity(ctx); err != nil {
		return err
	}
	if err := s.initAutomations(ctx); err != nil {
		return err
	}
	if err := s.initWorkspaces(ctx); err != nil {
		return err
	}
	if err := s.initAccess(ctx); err != nil {
		return err
	}
	s.registerAudit()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		armapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		armapi.WriteRaw(w, http.StatusOK, s.Issuer.Discovery(s.baseURL(r)))
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		armapi.WriteRaw(w, http.StatusOK, s.Issuer.JWKS())
	})
	mux.Handle("/", s.Router)
	if err := s.initPortal(ctx, mux); err != nil {
		return err
	}
	var root http.Handler = mux
	if base := s.Config.PublicURL; base != "" {
		root = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mux.ServeHTTP(w, armapi.WithBaseURL(r, base)) })
	}
	s.handler = armapi.Middleware(s.Log, s.audited(root))
	return nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		armapi.WriteError(w, r, armapi.Errorf(http.StatusServiceUnavailable, "NotReady", "The store is not ready: %v", err))
		return
	}
	armapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) baseURL(r *http.Request) string {
	if s.Config.PublicURL != "" {
		return s.Config.PublicURL
	}
	return "https://" + r.Host
}

// Handler is the server's whole HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// TLSConfig returns the server's TLS configuration, generating the
// self-signed CA and certificate in <data>/tls when none was configured.
func (s *Server) TLSConfig() (*tls.Config, error) {
	certFile, keyFile := s.Config.TLSCert, s.Config.TLSKey
	if certFile == "" {
		files, err := tlsutil.Ensure(filepath.Join(s.Config.Data, "tls"), s.Config.Hostnames)
		if err != nil {
			return nil, err
		}
		s.tls = files
		certFile, keyFile = files.Cert, files.Key
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// Run serves HTTPS on the configured address until ctx is cancelled, then
// stops accepting, lets in-flight requests finish (bounded by the shutdown
// timeout) and closes the store. ready receives the one-line ready message.
func (s *Server) Run(ctx context.Context, ready io.Writer) error {
	defer s.Store.Close()
	tc, err := s.TLSConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Config.Addr, err)
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	bgCtx, stopBackground := context.WithCancel(context.Background())
	waitBackground := s.RunBackground(bgCtx)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(tls.NewListener(ln, tc)) }()

	url := "https://" + displayAddr(ln.Addr().String())
	caNote := ""
	if s.tls.CA != "" {
		caNote = " (CA certificate: " + s.tls.CA + ")"
	}
	fmt.Fprintf(ready, "Sluice is ready at %s%s\n", url, caNote)
	s.Log.Info("serving", "url", url, "ca", s.tls.CA, "data", s.Config.Data)

	select {
	case err := <-errc:
		stopBackground()
		waitBackground()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.Log.Info("shutting down", "timeout", time.Duration(s.Config.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(s.Config.ShutdownTimeout))
	defer cancel()
	err = hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.Log.Warn("in-flight requests did not finish in time; closing them")
		hs.Close()
	}
	stopBackground()
	waitBackground()
	if cerr := s.Store.Close(); cerr != nil {
		return fmt.Errorf("close store: %w", cerr)
	}
	s.Log.Info("stopped")
	return nil
}

func displayAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return a
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}

// ReadBootstrap reads <data>/bootstrap.json written at first start.
func ReadBootstrap(dir string) (estate.Bootstrap, error) {
	var b estate.Bootstrap
	data, err := os.ReadFile(filepath.Join(dir, "bootstrap.json"))
	if err != nil {
		return b, fmt.Errorf("read bootstrap (has `sluice serve` run with --data %s?): %w", dir, err)
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return b, fmt.Errorf("parse bootstrap.json: %w", err)
	}
	return b, nil
}
