package workspace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/ingestion/azlogs"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"sluice/internal/latables"
	"sluice/internal/sink"
)

// Logs Ingestion API limits and defaults.
const (
	// MaxRequestBytes is the API's limit per call (1 MB, compressed and
	// uncompressed).
	MaxRequestBytes = 1 << 20
	// DefaultAudience is the token audience of the public cloud; the
	// credential is asked for DefaultAudience + "/.default".
	DefaultAudience = "https://monitor.azure.com/"
	// DefaultConcurrency bounds the calls one WriteRows makes at once.
	DefaultConcurrency = 4
)

// Config maps a workspace to the Logs Ingestion API: the data collection
// endpoint and rule that write into its custom tables, and the credential
// to write with. It is what a Workspace action's workspaceResourceId is
// looked up to.
type Config struct {
	// WorkspaceResourceID is the workspace the action names
	// (/subscriptions/…/providers/Microsoft.OperationalInsights/workspaces/…).
	WorkspaceResourceID string `yaml:"workspaceResourceId" json:"workspaceResourceId"`
	// Endpoint is the data collection endpoint, or the logsIngestion
	// endpoint of a Direct data collection rule (https://…).
	Endpoint string `yaml:"endpoint" json:"endpoint"`
	// RuleID is the data collection rule's immutable id (dcr-…).
	RuleID string `yaml:"dcrImmutableId" json:"dcrImmutableId"`
	// Streams maps a table (SecurityAlert, …) to its stream; a table not
	// listed uses Custom-<Table>_CL.
	Streams map[string]string `yaml:"streams,omitempty" json:"streams,omitempty"`
	// ClientSecret is a Microsoft Entra ID application credential of the
	// workspace's tenant (which may differ from the automation's). Without
	// it, the sink uses the credential the server supplies (Sluice's own
	// identity).
	ClientSecret *ClientSecret `yaml:"clientSecret,omitempty" json:"clientSecret,omitempty"`
	// Audience is the token audience (default https://monitor.azure.com/;
	// https://monitor.azure.us/ and https://monitor.azure.cn/ for the
	// sovereign clouds).
	Audience string `yaml:"audience,omitempty" json:"audience,omitempty"`
	// MaxRequestBytes bounds one call (default and maximum 1 MB).
	MaxRequestBytes int `yaml:"maxRequestBytes,omitempty" json:"maxRequestBytes,omitempty"`
	// MaxRecordBytes is the record limit (default 32 KB).
	MaxRecordBytes int `yaml:"maxRecordBytes,omitempty" json:"maxRecordBytes,omitempty"`
	// Concurrency bounds the calls in flight per batch (default 4).
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
}

// ClientSecret is a client-credentials identity.
type ClientSecret struct {
	TenantID string `yaml:"tenantId" json:"tenantId"`
	ClientID string `yaml:"clientId" json:"clientId"`
	// Secret is write-only: never logged, returned or put in an error.
	Secret string `yaml:"secret" json:"secret"`
	// AuthorityHost is the Microsoft Entra ID host (default
	// https://login.microsoftonline.com/).
	AuthorityHost string `yaml:"authorityHost,omitempty" json:"authorityHost,omitempty"`
	// DisableInstanceDiscovery skips Entra ID instance metadata, for
	// private or disconnected authorities.
	DisableInstanceDiscovery bool `yaml:"disableInstanceDiscovery,omitempty" json:"disableInstanceDiscovery,omitempty"`
}

// String describes the identity without its secret.
func (c ClientSecret) String() string {
	return fmt.Sprintf("client %s in tenant %s (secret redacted)", c.ClientID, c.TenantID)
}

// LogValue keeps the secret out of structured logs.
func (c ClientSecret) LogValue() slog.Value {
	return slog.GroupValue(slog.String("tenantId", c.TenantID), slog.String("clientId", c.ClientID),
		slog.String("secret", "REDACTED"))
}

// Validate checks the configuration without connecting.
func (c *Config) Validate() error {
	u, err := url.Parse(c.Endpoint)
	switch {
	case c.Endpoint == "":
		return errors.New("workspace: endpoint (the data collection endpoint) is required")
	case err != nil || u.Host == "":
		return fmt.Errorf("workspace: endpoint %q is not a URL", c.Endpoint)
	case u.Scheme != "https":
		return fmt.Errorf("workspace: endpoint %q must be https (tokens are never sent in clear text)", c.Endpoint)
	case strings.TrimSpace(c.RuleID) == "":
		return errors.New("workspace: dcrImmutableId is required")
	case c.MaxRequestBytes < 0 || c.MaxRequestBytes > MaxRequestBytes:
		return fmt.Errorf("workspace: maxRequestBytes must be at most %d", MaxRequestBytes)
	}
	for table, stream := range c.Streams {
		if _, ok := latables.Lookup(table); !ok {
			return fmt.Errorf("workspace: streams names unknown table %q", table)
		}
		if strings.TrimSpace(stream) == "" {
			return fmt.Errorf("workspace: the stream of %s is empty", table)
		}
	}
	if cs := c.ClientSecret; cs != nil {
		if cs.TenantID == "" || cs.ClientID == "" || cs.Secret == "" {
			return errors.New("workspace: clientSecret needs tenantId, clientId and secret")
		}
		if cs.AuthorityHost != "" {
			if u, err := url.Parse(cs.AuthorityHost); err != nil || u.Scheme != "https" || u.Host == "" {
				return fmt.Errorf("workspace: authorityHost %q must be an https URL", cs.AuthorityHost)
			}
		}
	}
	return nil
}

// Stream returns the stream name of a table.
func (c *Config) Stream(t *latables.Table) string {
	for k, v := range c.Streams {
		if strings.EqualFold(k, t.Name) || strings.EqualFold(k, t.CustomName()) {
			return v
		}
	}
	return t.DefaultStream()
}

// Deps are what the server supplies to a Logs Ingestion sink.
type Deps struct {
	// Credential is used when the config has no client secret (Sluice's
	// own identity).
	Credential azcore.TokenCredential
	// Transport carries the HTTP calls (ingestion and token requests);
	// nil uses azcore's default. Give a client trusting extra CAs here.
	Transport policy.Transporter
	// Warn records a warning in the action's health (see Options.Warn).
	Warn func(ctx context.Context, eventID, message string)
	// WorkspaceID fills the TenantId column (unused by the API).
	WorkspaceID string
	Log         *slog.Logger
	Now         func() time.Time
}

// NewLogsIngestion builds a sink writing to a workspace through the Logs
// Ingestion API.
func NewLogsIngestion(cfg Config, deps Deps) (*Sink, error) {
	w, err := NewIngestionWriter(cfg, deps)
	if err != nil {
		return nil, err
	}
	return NewSink(Options{Writer: w, MaxRecordBytes: cfg.MaxRecordBytes, WorkspaceID: deps.WorkspaceID,
		Warn: deps.Warn, Now: deps.Now, Log: deps.Log})
}

// IngestionWriter writes rows through the official azlogs client: JSON
// arrays of stream records, gzip-compressed, split so no call exceeds the
// 1 MB limit.
type IngestionWriter struct {
	cfg    Config
	cred   azcore.TokenCredential
	client *azlogs.Client
	secret string
	log    *slog.Logger
}

// NewIngestionWriter validates the configuration and builds the client and
// credential (no network traffic).
func NewIngestionWriter(cfg Config, deps Deps) (*IngestionWriter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = MaxRequestBytes
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	w := &IngestionWriter{cfg: cfg, cred: deps.Credential, log: deps.Log}
	if w.log == nil {
		w.log = slog.Default()
	}
	if cs := cfg.ClientSecret; cs != nil {
		w.secret = cs.Secret
		opts := &azidentity.ClientSecretCredentialOptions{DisableInstanceDiscovery: cs.DisableInstanceDiscovery}
		opts.Transport = deps.Transport
		if cs.AuthorityHost != "" {
			opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: strings.TrimSuffix(cs.AuthorityHost, "/") + "/"}
		}
		cred, err := azidentity.NewClientSecretCredential(cs.TenantID, cs.ClientID, cs.Secret, opts)
		if err != nil {
			return nil, fmt.Errorf("workspace: client secret credential: %w", sink.Redact(err, cs.Secret))
		}
		w.cred = cred
	}
	if w.cred == nil {
		return nil, errors.New("workspace: no credential: configure clientSecret or let the server supply its identity")
	}
	copts := &azlogs.ClientOptions{}
	copts.Transport = deps.Transport
	copts.Cloud = cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
		azlogs.ServiceNameIngestion: {Audience: strings.TrimSuffix(cfg.Audience, "/") + "/"},
	}}
	// The export engine retries durably and honours Retry-After; the
	// client must not sleep through a 429 itself.
	copts.Retry = policy.RetryOptions{MaxRetries: -1}
	client, err := azlogs.NewClient(strings.TrimSuffix(cfg.Endpoint, "/"), w.cred, copts)
	if err != nil {
		return nil, fmt.Errorf("workspace: logs ingestion client: %w", err)
	}
	w.client = client
	return w, nil
}

// Connect acquires a token, so a refused credential surfaces as a
// permanent error before the first batch.
func (w *IngestionWriter) Connect(ctx context.Context) error {
	_, err := w.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{strings.TrimSuffix(w.cfg.Audience, "/") + "//.default"}})
	if err != nil {
		return w.classify(err, "", 0)
	}
	return nil
}

// Close releases nothing: the client keeps no connections of its own.
func (w *IngestionWriter) Close() error { return nil }

var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// WriteRows encodes the rows as stream records, splits them into calls of
// at most MaxRequestBytes, gzips and uploads them (Concurrency at a time).
// A call answered 413 is split in two and retried; a single record the
// service still refuses fails permanently.
func (w *IngestionWriter) WriteRows(ctx context.Context, table *latables.Table, rows []*latables.Row) error {
	stream := w.cfg.Stream(table)
	limit := w.cfg.MaxRequestBytes
	enc := make([][]byte, len(rows))
	parallel(len(rows), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			enc[i] = rows[i].StreamJSON()
		}
	})
	f := &failures{rows: map[int]*sink.Error{}}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(w.cfg.Concurrency)
	// Balance the calls: as many as the limit requires, of even size, so
	// they compress and upload side by side.
	total := 2
	for _, e := range enc {
		total += len(e) + 1
	}
	target := limit
	if calls := (total + limit - 1) / limit; calls > 1 {
		target = min(limit, total/calls+total/(calls*20)+1)
	}
	for i := 0; i < len(rows); {
		size, n := 2, 0
		for i+n < len(rows) {
			add := len(enc[i+n]) + 1
			if n > 0 && (size+add > limit || size >= target) {
				break
			}
			size += add
			n++
		}
		first := i
		i += n
		if size > limit {
			f.add(first, n, sink.Permanent(fmt.Errorf("a %s record of %d bytes exceeds the Logs Ingestion API's %d-byte call limit",
				table.Name, len(enc[first]), limit)))
			continue
		}
		g.Go(func() error {
			w.upload(gctx, table, stream, enc, first, n, f)
			return nil
		})
	}
	_ = g.Wait()
	return f.err()
}

// failures collects the rows that failed, with their errors.
type failures struct {
	mu   sync.Mutex
	rows map[int]*sink.Error
}

func (f *failures) add(first, n int, se *sink.Error) {
	f.mu.Lock()
	for i := first; i < first+n; i++ {
		f.rows[i] = se
	}
	f.mu.Unlock()
}

// err names the failed rows in one error. Retryable wins: rows that failed
// permanently are retried with the others and dead-lettered once the
// destination answers again.
func (f *failures) err() error {
	if len(f.rows) == 0 {
		return nil
	}
	out := &sink.Error{}
	for i := range f.rows {
		out.Failed = append(out.Failed, i)
	}
	slices.Sort(out.Failed)
	for _, i := range out.Failed {
		se := f.rows[i]
		if out.Err == nil || (se.Retryable && !out.Retryable) {
			out.Err = se.Err
		}
		if se.Retryable {
			out.Retryable = true
			out.RetryAfter = max(out.RetryAfter, se.RetryAfter)
		}
	}
	return out
}

// upload sends rows[first:first+n] (already encoded), splitting in two on
// 413 until a single record is refused.
func (w *IngestionWriter) upload(ctx context.Context, table *latables.Table, stream string, enc [][]byte, first, n int, f *failures) {
	body, err := gzipArray(enc[first : first+n])
	if err != nil {
		f.add(first, n, sink.Permanent(fmt.Errorf("gzip %s records: %w", table.Name, err)))
		return
	}
	if len(body) > w.cfg.MaxRequestBytes && n > 1 {
		w.upload(ctx, table, stream, enc, first, n/2, f)
		w.upload(ctx, table, stream, enc, first+n/2, n-n/2, f)
		return
	}
	_, err = w.client.Upload(ctx, w.cfg.RuleID, stream, body, &azlogs.UploadOptions{ContentEncoding: ptr("gzip")})
	if err == nil {
		return
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusRequestEntityTooLarge && n > 1 {
		w.upload(ctx, table, stream, enc, first, n/2, f)
		w.upload(ctx, table, stream, enc, first+n/2, n-n/2, f)
		return
	}
	f.add(first, n, w.classify(err, stream, n))
}

func gzipArray(recs [][]byte) ([]byte, error) {
	size := 2
	for _, r := range recs {
		size += len(r) + 1
	}
	var out bytes.Buffer
	out.Grow(size/4 + 64)
	zw := gzipPool.Get().(*gzip.Writer)
	defer gzipPool.Put(zw)
	zw.Reset(&out)
	if _, err := zw.Write([]byte{'['}); err != nil {
		return nil, err
	}
	for i, r := range recs {
		if i > 0 {
			if _, err := zw.Write([]byte{','}); err != nil {
				return nil, err
			}
		}
		if _, err := zw.Write(r); err != nil {
			return nil, err
		}
	}
	if _, err := zw.Write([]byte{']'}); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func ptr[T any](v T) *T { return &v }

// classify turns an upload or token failure into a sink error with a clear,
// secret-free reason.
func (w *IngestionWriter) classify(err error, stream string, rows int) *sink.Error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		detail := responseDetail(re)
		where := fmt.Sprintf("data collection rule %s, stream %s at %s", w.cfg.RuleID, stream, w.cfg.Endpoint)
		var e error
		switch s := re.StatusCode; {
		case s == http.StatusUnauthorized:
			e = fmt.Errorf("the Logs Ingestion API refused the token (401%s) for %s: check the credential's tenant and that tokens are issued for %s",
				detail, where, w.cfg.Audience)
		case s == http.StatusForbidden:
			e = fmt.Errorf("the Logs Ingestion API refused the write (403%s) for %s: the identity needs the Monitoring Metrics Publisher role on the data collection rule",
				detail, where)
		case s == http.StatusNotFound:
			e = fmt.Errorf("the Logs Ingestion API does not know %s (404%s): check the endpoint and the rule's immutable id", where, detail)
		case s == http.StatusRequestEntityTooLarge:
			e = fmt.Errorf("the Logs Ingestion API refused a single %d-record call as too large (413%s) for %s", rows, detail, where)
		default:
			e = fmt.Errorf("the Logs Ingestion API answered %d%s for %s", s, detail, where)
		}
		e = sink.Redact(e, w.secret)
		if s := re.StatusCode; s == http.StatusTooManyRequests || s == http.StatusRequestTimeout || s >= 500 {
			ra := time.Duration(0)
			if re.RawResponse != nil {
				ra = sink.RetryAfter(re.RawResponse.Header.Get("Retry-After"), time.Now())
			}
			return &sink.Error{Retryable: true, RetryAfter: ra, Err: e}
		}
		return sink.Permanent(e)
	}
	var ae *azidentity.AuthenticationFailedError
	if errors.As(err, &ae) {
		if r := ae.RawResponse; r != nil && r.StatusCode >= 400 && r.StatusCode < 500 && r.StatusCode != http.StatusTooManyRequests && r.StatusCode != http.StatusRequestTimeout {
			return sink.Permanent(sink.Redact(fmt.Errorf("the identity provider refused the workspace credential (%d%s)%s",
				r.StatusCode, oauthDetail(r), w.identity()), w.secret))
		}
		return sink.Retryable(sink.Redact(fmt.Errorf("token request%s: %w", w.identity(), err), w.secret))
	}
	var cu *azidentity.AuthenticationRequiredError
	if errors.As(err, &cu) {
		return sink.Permanent(sink.Redact(fmt.Errorf("the workspace credential needs interactive authentication: %w", err), w.secret))
	}
	return sink.Retryable(sink.Redact(fmt.Errorf("logs ingestion to %s: %w", w.cfg.Endpoint, err), w.secret))
}

func (w *IngestionWriter) identity() string {
	if cs := w.cfg.ClientSecret; cs != nil {
		return fmt.Sprintf(" for client %s in tenant %s", cs.ClientID, cs.TenantID)
	}
	return ""
}

// responseDetail renders " Code: message" from an ARM-style error body.
func responseDetail(re *azcore.ResponseError) string {
	code, msg := re.ErrorCode, ""
	if re.RawResponse != nil {
		if body, err := runtime.Payload(re.RawResponse); err == nil {
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if json.Unmarshal(body, &e) == nil {
				if e.Error.Code != "" {
					code = e.Error.Code
				}
				msg = e.Error.Message
			}
		}
	}
	switch {
	case code != "" && msg != "":
		return " " + code + ": " + truncate(msg, 300)
	case code != "":
		return " " + code
	}
	return ""
}

// oauthDetail renders " error: description" from an OAuth error body.
func oauthDetail(r *http.Response) string {
	body, err := runtime.Payload(r)
	if err != nil {
		return ""
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return ""
	}
	return " " + e.Error + ": " + truncate(e.Description, 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
