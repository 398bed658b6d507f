// Package logicapp delivers events to a Logic App HTTP trigger (or any
// HTTPS webhook): one event per POST, its JSON body unchanged, with the
// event id in a header. The trigger URI carries a signature and is never
// logged or put in an error.
package logicapp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"sluice/internal/sink"
)

// Headers sent with every delivery.
const (
	HeaderEventID  = "X-Sluice-Event-Id"
	HeaderSequence = "X-Sluice-Sequence"
	HeaderSource   = "X-Sluice-Event-Source"
)

// Options configure a sink.
type Options struct {
	// URI is the trigger URI (https only).
	URI string
	// RootCAs, if set, replaces the system trust store.
	RootCAs *x509.CertPool
	// Timeout bounds one request (default 30 s).
	Timeout time.Duration
	// Concurrency is how many requests of a batch may be in flight at once
	// (default 1, which keeps strict order at the receiver).
	Concurrency int
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
}

// Sink is a Logic App / webhook destination.
type Sink struct {
	opts   Options
	target *url.URL
	client *http.Client
	// secrets are redacted from every error: the URI, its query, the
	// values of its signature-like parameters and its userinfo.
	secrets []string
}

// secretParams are query parameters whose values are credentials (Logic
// App sig, Azure Functions code, generic keys and tokens).
var secretParams = []string{"sig", "signature", "code", "key", "apikey", "api_key", "token", "access_token", "secret", "password"}

func secretsOf(raw string, u *url.URL) []string {
	out := []string{raw, u.RawQuery}
	for name, vs := range u.Query() {
		for _, p := range secretParams {
			if strings.EqualFold(name, p) {
				for _, v := range vs {
					out = append(out, v, url.QueryEscape(v))
				}
			}
		}
	}
	if u.User != nil {
		// The HTTP client sends userinfo as Basic authorization.
		pw, _ := u.User.Password()
		out = append(out, u.User.String(), base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)))
		if pw != "" {
			out = append(out, pw)
		}
	}
	return out
}

// New validates the options; it does not connect.
func New(opts Options) (*Sink, error) {
	u, err := url.Parse(opts.URI)
	if err != nil || u.Host == "" {
		return nil, errors.New("logic app uri is not an absolute URL")
	}
	if u.Scheme != "https" {
		return nil, errors.New("logic app uri must use https")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1
	}
	tr := opts.Transport
	if tr == nil {
		base := http.DefaultTransport.(*http.Transport).Clone()
		base.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12}
		base.MaxIdleConnsPerHost = max(opts.Concurrency, 2)
		tr = base
	}
	return &Sink{opts: opts, target: u, secrets: secretsOf(opts.URI, u), client: &http.Client{Transport: tr, Timeout: opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// Connect has nothing to open for HTTP; it exists for the sink interface.
func (s *Sink) Connect(context.Context) error { return nil }

// Close releases idle connections.
func (s *Sink) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// WriteBatch posts each message. With Concurrency 1 it stops at the first
// failure and reports how many were delivered; otherwise it reports the
// indexes that failed.
func (s *Sink) WriteBatch(ctx context.Context, batch []sink.Message) error {
	if s.opts.Concurrency == 1 {
		for i := range batch {
			if err := s.post(ctx, &batch[i]); err != nil {
				err.Delivered = i
				return err
			}
		}
		return nil
	}
	errs := make([]*sink.Error, len(batch))
	sem := make(chan struct{}, s.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range batch {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			errs[i] = s.post(ctx, &batch[i])
		}(i)
	}
	wg.Wait()
	var first *sink.Error
	var failed []int
	retryable := true
	var wait time.Duration
	for i, e := range errs {
		if e == nil {
			continue
		}
		if first == nil {
			first = e
		}
		failed = append(failed, i)
		retryable = retryable && e.Retryable
		wait = max(wait, e.RetryAfter)
	}
	if first == nil {
		return nil
	}
	return &sink.Error{Retryable: retryable, RetryAfter: wait, Failed: failed, Err: first.Err}
}

func (s *Sink) post(ctx context.Context, m *sink.Message) *sink.Error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.target.String(), bytes.NewReader(m.Body))
	if err != nil {
		return sink.Permanent(errors.New("cannot build the request to the logic app"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderEventID, m.EventID)
	req.Header.Set(HeaderSequence, strconv.FormatInt(m.Seq, 10))
	if m.Source != "" {
		req.Header.Set(HeaderSource, m.Source)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// url.Error text includes the URI with its signature: describe
		// the failure without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return sink.Retryable(sink.Redact(fmt.Errorf("post to %s: %w", s.safeTarget(), err), s.secrets...))
	}
	defer resp.Body.Close()
	detail, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	var extra string
	if len(bytes.TrimSpace(detail)) > 0 {
		extra = ": " + string(bytes.TrimSpace(detail))
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return sink.Permanent(fmt.Errorf("post to %s: unexpected redirect %d", s.safeTarget(), resp.StatusCode))
	}
	if e := sink.HTTPStatus(resp, sinkRedact(extra, s.secrets...)); e != nil {
		e.Err = fmt.Errorf("post to %s: %w", s.safeTarget(), e.Err)
		return e
	}
	return nil
}

func sinkRedact(s string, known ...string) string {
	return sink.Redact(errors.New(s), known...).Error()
}

// safeTarget names the destination without its query (the signature).
func (s *Sink) safeTarget() string {
	return s.target.Scheme + "://" + s.target.Host + s.target.Path
}
