// Package webhook delivers events to any HTTPS endpoint (the Webhook
// extension action type): one event per request, or batches as NDJSON, each
// request signed with HMAC-SHA256 over its exact body so receivers can
// verify it came from Sluice. The signing key and any secret in the URL
// are never logged or put in an error.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sluice/internal/sink"
)

// Headers of every request.
const (
	// HeaderSignature is "sha256=<hex HMAC-SHA256 of the body>".
	HeaderSignature = "X-Sluice-Signature"
	// HeaderEventIDs lists the ids of the events in the body, in order,
	// comma-separated (one id in single mode).
	HeaderEventIDs = "X-Sluice-Event-Ids"
	// HeaderEventCount is the number of events in the body.
	HeaderEventCount = "X-Sluice-Event-Count"
)

// Limits of one batched request.
const (
	DefaultMaxEvents = 100
	DefaultMaxBytes  = 1 << 20
)

// Options configure a webhook.
type Options struct {
	// URL is the endpoint (https only).
	URL string
	// SigningKey is the HMAC-SHA256 key; empty sends no signature.
	SigningKey string
	// Batch sends NDJSON bodies of up to MaxEvents events and MaxBytes
	// bytes; otherwise one event per request with its JSON body unchanged.
	Batch     bool
	MaxEvents int
	MaxBytes  int
	// RootCAs, if set, replaces the system trust store.
	RootCAs *x509.CertPool
	// Timeout bounds one request (default 30 s).
	Timeout time.Duration
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
}

// Sink is a webhook destination.
type Sink struct {
	opts   Options
	target *url.URL
	client *http.Client
}

// New validates the options.
func New(opts Options) (*Sink, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || u.Host == "" {
		return nil, errors.New("webhook url is not an absolute URL")
	}
	if u.Scheme != "https" {
		return nil, errors.New("webhook url must use https")
	}
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = DefaultMaxEvents
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	tr := opts.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12}
		tr = t
	}
	return &Sink{opts: opts, target: u, client: &http.Client{Transport: tr, Timeout: opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// Connect has nothing to open.
func (s *Sink) Connect(context.Context) error { return nil }

// Close releases idle connections.
func (s *Sink) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// Sign returns the signature header value of body under key, as receivers
// compute it to verify a request.
func Sign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// WriteBatch delivers the messages in order, stopping at the first failed
// request and reporting how many messages were accepted before it.
func (s *Sink) WriteBatch(ctx context.Context, batch []sink.Message) error {
	for done := 0; done < len(batch); {
		n := 1
		if s.opts.Batch {
			n = s.chunk(batch[done:])
		}
		if err := s.send(ctx, batch[done:done+n]); err != nil {
			err.Delivered = done
			return err
		}
		done += n
	}
	return nil
}

// chunk returns how many leading messages fit one batched request (at
// least one: a single event larger than MaxBytes is sent alone and the
// receiver decides).
func (s *Sink) chunk(ms []sink.Message) int {
	size := 0
	for i, m := range ms {
		size += len(m.Body) + 1
		if i == s.opts.MaxEvents || (i > 0 && size > s.opts.MaxBytes) {
			return i
		}
	}
	return len(ms)
}

func (s *Sink) send(ctx context.Context, ms []sink.Message) *sink.Error {
	var body []byte
	contentType := "application/json"
	if s.opts.Batch {
		size := 0
		for _, m := range ms {
			size += len(m.Body) + 1
		}
		body = make([]byte, 0, size)
		for _, m := range ms {
			body = append(body, m.Body...)
			body = append(body, '\n')
		}
		contentType = "application/x-ndjson"
	} else {
		body = ms[0].Body
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.EventID
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.target.String(), bytes.NewReader(body))
	if err != nil {
		return sink.Permanent(errors.New("cannot build the webhook request"))
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(HeaderEventIDs, strings.Join(ids, ","))
	req.Header.Set(HeaderEventCount, strconv.Itoa(len(ms)))
	if s.opts.SigningKey != "" {
		req.Header.Set(HeaderSignature, Sign(s.opts.SigningKey, body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return sink.Retryable(s.redact(fmt.Errorf("post to %s: %w", s.safeTarget(), err)))
	}
	defer resp.Body.Close()
	detail, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return sink.Permanent(fmt.Errorf("post to %s: unexpected redirect %d", s.safeTarget(), resp.StatusCode))
	}
	suffix := ""
	if d := strings.TrimSpace(string(detail)); d != "" {
		suffix = ": " + s.redact(errors.New(d)).Error()
	}
	if e := sink.HTTPStatus(resp, suffix); e != nil {
		e.Err = fmt.Errorf("post to %s: %w", s.safeTarget(), e.Err)
		return e
	}
	return nil
}

func (s *Sink) redact(err error) error {
	known := []string{s.opts.URL, s.target.RawQuery}
	if s.opts.SigningKey != "" {
		known = append(known, s.opts.SigningKey)
	}
	if p, ok := s.target.User.Password(); ok {
		known = append(known, p)
	}
	return sink.Redact(err, known...)
}

// safeTarget names the destination without credentials or query.
func (s *Sink) safeTarget() string {
	return s.target.Scheme + "://" + s.target.Host + s.target.Path
}
