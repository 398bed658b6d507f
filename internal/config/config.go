// Package config holds the settings of `sluice serve`, read from a strict
// YAML file (unknown keys are errors) and overridden by flags.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"sluice/internal/sink/workspace"
)

// Config is the whole configuration. YAML keys are the lowerCamel field names.
type Config struct {
	// Data is the data directory (store, keys, certificates).
	Data string `yaml:"data"`
	// Addr is the HTTPS listen address.
	Addr string `yaml:"addr"`
	// TLSCert and TLSKey name a certificate to serve instead of the
	// generated one.
	TLSCert string `yaml:"tlsCert"`
	TLSKey  string `yaml:"tlsKey"`
	// Hostnames are added to the generated server certificate.
	Hostnames []string `yaml:"hostnames"`
	// PublicURL is the external base URL (default https://<addr>).
	PublicURL string `yaml:"publicURL"`
	// LogFormat is text or json; LogLevel debug, info, warn or error.
	LogFormat string `yaml:"logFormat"`
	LogLevel  string `yaml:"logLevel"`
	// Demo seeds a demo estate at first start.
	Demo bool `yaml:"demo"`
	// ShutdownTimeout bounds how long in-flight requests may finish.
	ShutdownTimeout Duration `yaml:"shutdownTimeout"`
	Auth            Auth     `yaml:"auth"`
	Store           Store    `yaml:"store"`
	Export          Export   `yaml:"export"`
}

// Export configures the continuous export engine.
type Export struct {
	// BatchSize bounds the events delivered per batch (default 100).
	BatchSize int `yaml:"batchSize"`
	// Workers bounds the actions delivering at once (default 8).
	Workers int `yaml:"workers"`
	// MaxRetryAge is how long a failing event is retried before it is
	// dead-lettered (default 24h).
	MaxRetryAge Duration `yaml:"maxRetryAge"`
	// MaxBacklog is the queued-event count above which ingestion answers
	// 429 (default 1,000,000; 0 keeps the default, -1 disables).
	MaxBacklog int64 `yaml:"maxBacklog"`
	// EventRetention is how long the event log keeps events (default 30
	// days); queued events are kept until delivered.
	EventRetention Duration `yaml:"eventRetention"`
	// SnapshotInterval and SnapshotStart schedule the weekly snapshots
	// (default every 168h from 2024-01-01T00:00:00Z, a Monday).
	SnapshotInterval Duration `yaml:"snapshotInterval"`
	SnapshotStart    string   `yaml:"snapshotStart"`
	// CABundle is a PEM file of extra CAs trusted for HTTPS destinations.
	CABundle string `yaml:"caBundle"`
	// Identity is Sluice's own service identity, used for trusted-service
	// Event Hub delivery and workspaces configured without a client secret.
	Identity Identity `yaml:"identity"`
	// EventHubNamespaces maps an Event Hubs namespace name (as in an
	// eventHubResourceId) to the host[:port] trusted-service delivery
	// dials; default <name>.servicebus.windows.net.
	EventHubNamespaces map[string]string `yaml:"eventHubNamespaces"`
	// EventHubMaxBatchBytes caps one AMQP batch sent to an Event Hub; 0
	// uses the hub's own limit (1 MB on the Standard tier).
	EventHubMaxBatchBytes int64 `yaml:"eventHubMaxBatchBytes"`
	// Workspaces configures the Logs Ingestion API target of each
	// workspaceResourceId a Workspace action may name.
	Workspaces []workspace.Config `yaml:"workspaces"`
}

// Identity is a Microsoft Entra ID application (client credentials). With
// no ClientID, Sluice's built-in issuer mints the tokens (local targets
// that trust it).
type Identity struct {
	TenantID      string `yaml:"tenantId"`
	ClientID      string `yaml:"clientId"`
	ClientSecret  string `yaml:"clientSecret"`
	AuthorityHost string `yaml:"authorityHost"`
}

// ExternalIssuer is an OpenID Connect issuer whose tokens are accepted for
// a tenant: iss must equal Issuer and aud contain Audience; keys come from
// JWKSURL, or from the jwks_uri of Issuer's discovery document.
type ExternalIssuer struct {
	TenantID string `yaml:"tenantId"`
	Issuer   string `yaml:"issuer"`
	Audience string `yaml:"audience"`
	JWKSURL  string `yaml:"jwksURL"`
	// Portal sign-in (authorization-code flow with PKCE) is offered when
	// ClientID is set: Name labels the button and names the callback
	// path /portal/oidc/<name>/callback; ClientSecret is optional.
	Name         string   `yaml:"name"`
	ClientID     string   `yaml:"clientId"`
	ClientSecret string   `yaml:"clientSecret"`
	Scopes       []string `yaml:"scopes"`
}

// Auth configures the built-in token issuer.
type Auth struct {
	Issuer   string `yaml:"issuer"`
	Audience string `yaml:"audience"`
	// ExternalIssuers are OpenID Connect issuers trusted per tenant.
	ExternalIssuers []ExternalIssuer `yaml:"externalIssuers"`
	// PasswordIterations is the PBKDF2 work factor of the local users'
	// password hashes created by the server (0: users.Iterations, 600,000;
	// at least 1,000). Tests lower it to run fast.
	PasswordIterations int `yaml:"passwordIterations"`
}

// Store configures the embedded store.
type Store struct {
	// Synchronous is SQLite's synchronous mode: FULL (default) or NORMAL.
	Synchronous string `yaml:"synchronous"`
}

// Duration is a time.Duration written as "30s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// Default returns the embedded default configuration.
func Default() Config {
	return Config{
		Data:            "./data",
		Addr:            "127.0.0.1:8443",
		LogFormat:       "text",
		LogLevel:        "info",
		ShutdownTimeout: Duration(15 * time.Second),
		Store:           Store{Synchronous: "FULL"},
		Export: Export{BatchSize: 100, Workers: 8, MaxRetryAge: Duration(24 * time.Hour), MaxBacklog: 1_000_000,
			EventRetention: Duration(30 * 24 * time.Hour), SnapshotInterval: Duration(7 * 24 * time.Hour),
			SnapshotStart: "2024-01-01T00:00:00Z"},
	}
}

// Load reads a YAML file over the defaults. Unknown keys are errors.
func Load(path string) (Config, error) {
	cfg := Default()
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	if err := Parse(data, &cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes YAML into cfg strictly.
func Parse(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return cfg.Validate()
}

// Validate checks the values.
func (c *Config) Validate() error {
	var errs []error
	if c.Data == "" {
		errs = append(errs, errors.New("data: must not be empty"))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr: %w", err))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tlsCert and tlsKey must be given together"))
	}
	if n := c.Auth.PasswordIterations; n != 0 && (n < 1000 || n > 10_000_000) {
		errs = append(errs, fmt.Errorf("auth.passwordIterations: %d is not between 1000 and 10000000", n))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("logFormat: %q is not text or json", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("logLevel: %q is not debug, info, warn or error", c.LogLevel))
	}
	switch c.Store.Synchronous {
	case "FULL", "NORMAL":
	default:
		errs = append(errs, fmt.Errorf("store.synchronous: %q is not FULL or NORMAL", c.Store.Synchronous))
	}
	if c.Export.BatchSize <= 0 || c.Export.BatchSize > 10000 {
		errs = append(errs, fmt.Errorf("export.batchSize: %d is not between 1 and 10000", c.Export.BatchSize))
	}
	if c.Export.Workers <= 0 || c.Export.Workers > 1024 {
		errs = append(errs, fmt.Errorf("export.workers: %d is not between 1 and 1024", c.Export.Workers))
	}
	if c.Export.MaxRetryAge <= 0 {
		errs = append(errs, errors.New("export.maxRetryAge: must be positive"))
	}
	if c.Export.EventRetention <= 0 {
		errs = append(errs, errors.New("export.eventRetention: must be positive"))
	}
	if c.Export.SnapshotInterval < Duration(time.Second) {
		errs = append(errs, errors.New("export.snapshotInterval: must be at least 1s"))
	}
	if c.Export.EventHubMaxBatchBytes < 0 {
		errs = append(errs, fmt.Errorf("export.eventHubMaxBatchBytes: %d is negative", c.Export.EventHubMaxBatchBytes))
	}
	if id := c.Export.Identity; id.ClientID != "" && (id.TenantID == "" || id.ClientSecret == "") {
		errs = append(errs, errors.New("export.identity: clientId needs tenantId and clientSecret"))
	}
	seen := map[string]bool{}
	for i := range c.Export.Workspaces {
		w := &c.Export.Workspaces[i]
		if err := w.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("export.workspaces[%d]: %w", i, err))
		}
		k := strings.ToLower(w.WorkspaceResourceID)
		if seen[k] {
			errs = append(errs, fmt.Errorf("export.workspaces[%d]: %s is configured twice", i, w.WorkspaceResourceID))
		}
		seen[k] = true
	}
	if _, err := time.Parse(time.RFC3339, c.Export.SnapshotStart); err != nil {
		errs = append(errs, fmt.Errorf("export.snapshotStart: %q is not an RFC 3339 time", c.Export.SnapshotStart))
	}
	names := map[string]bool{}
	for i, x := range c.Auth.ExternalIssuers {
		if err := x.validateSignIn(names); err != nil {
			errs = append(errs, fmt.Errorf("auth.externalIssuers[%d]: %w", i, err))
		}
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdownTimeout: must be positive"))
	}
	return errors.Join(errs...)
}

// validateSignIn checks the portal sign-in settings of an external issuer:
// with a clientId, a name of lower-case letters, digits and hyphens,
// unique among the issuers (names records those seen).
func (x *ExternalIssuer) validateSignIn(names map[string]bool) error {
	if x.ClientID == "" {
		if x.Name != "" || x.ClientSecret != "" || len(x.Scopes) > 0 {
			return errors.New("name, clientSecret and scopes need clientId (portal sign-in)")
		}
		return nil
	}
	if x.Name == "" {
		return errors.New("name: required with clientId (it names the portal's sign-in button and callback path)")
	}
	if !validName(x.Name) {
		return fmt.Errorf("name: %q may hold only lower-case letters, digits and hyphens", x.Name)
	}
	if names[x.Name] {
		return fmt.Errorf("name: %q is used by another external issuer", x.Name)
	}
	names[x.Name] = true
	for _, sc := range x.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n\"\\") {
			return fmt.Errorf("scopes: %q is not a scope token", sc)
		}
	}
	return nil
}

func validName(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return s != "" && len(s) <= 63
}
