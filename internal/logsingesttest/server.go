// Package logsingesttest is an in-process Azure Monitor Logs Ingestion API
// for tests: an HTTPS server answering
// POST /dataCollectionRules/{dcrImmutableId}/streams/{stream}?api-version=2023-01-01
// as the service does (bearer token checked, gzip accepted, 204 on success,
// 413 ContentLengthLimitExceeded over 1 MB, 429 with Retry-After on demand,
// 400 for a malformed body or an undeclared stream) and keeping the rows it
// accepted per stream so tests can assert on them. Authority is a matching
// Microsoft Entra ID token endpoint for client-secret credentials.
//
// Every server made by httptest.NewTLSServer presents the same test
// certificate, so the client returned by Client trusts the ingestion server
// and the authority alike.
package logsingesttest

import (
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIVersion is the api-version the server accepts.
const APIVersion = "2023-01-01"

// MaxBodyBytes is the service's limit per call, for the compressed and
// the uncompressed body alike.
const MaxBodyBytes = 1 << 20

// Rule is a data collection rule: its immutable id, the streams it
// declares and, optionally, the tenant whose tokens it accepts.
type Rule struct {
	ImmutableID string
	Streams     []string
	// Tenant, when set, is passed to the verifier: tokens of another
	// tenant are refused.
	Tenant string
}

// AuthError is a refusal from a Verifier.
type AuthError struct {
	Status  int // 401 or 403
	Code    string
	Message string
}

func (e *AuthError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Verifier checks the bearer token of a request for a rule; it returns nil
// or an *AuthError (any other error answers 401).
type Verifier func(token string, rule Rule) error

// StaticTokens accepts exactly the given tokens, for any rule.
func StaticTokens(tokens ...string) Verifier {
	ok := map[string]bool{}
	for _, t := range tokens {
		ok[t] = true
	}
	return func(token string, _ Rule) error {
		if !ok[token] {
			return &AuthError{Status: http.StatusUnauthorized, Code: "InvalidToken", Message: "The provided access token is not valid."}
		}
		return nil
	}
}

// Options configure a Server.
type Options struct {
	// Rules are the data collection rules the server knows.
	Rules []Rule
	// Verify checks tokens (default: any non-empty token).
	Verify Verifier
	// MaxBodyBytes bounds a call, compressed and uncompressed (default 1 MB).
	MaxBodyBytes int
	// Discard counts rows without keeping them (for benchmarks).
	Discard bool
}

// Request records one call the server answered.
type Request struct {
	Rule, Stream string
	// Encoding is the Content-Encoding header ("gzip" or "").
	Encoding string
	// WireBytes and RawBytes are the body's size as sent and decompressed.
	WireBytes, RawBytes int
	Rows                int
	Status              int
	Code                string
}

type fault struct {
	status     int
	code       string
	retryAfter time.Duration
}

// Server is a Logs Ingestion API test server.
type Server struct {
	// URL is the endpoint (https://127.0.0.1:port), the data collection
	// endpoint a client is given.
	URL string

	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	rules    map[string]Rule
	rows     map[string][]json.RawMessage
	counts   map[string]int
	requests []Request
	faults   []fault
}

// New starts a server; Close stops it.
func New(opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = MaxBodyBytes
	}
	if opts.Verify == nil {
		opts.Verify = func(token string, _ Rule) error {
			if token == "" {
				return &AuthError{Status: http.StatusUnauthorized, Code: "InvalidToken", Message: "An access token is required."}
			}
			return nil
		}
	}
	s := &Server{opts: opts, rules: map[string]Rule{}, rows: map[string][]json.RawMessage{}, counts: map[string]int{}}
	for _, r := range opts.Rules {
		s.rules[strings.ToLower(r.ImmutableID)] = r
	}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client that trusts the server's certificate (and
// every other httptest TLS server's, such as an Authority's).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// CertPool returns a pool holding the server's certificate.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.srv.Certificate())
	return p
}

// AddRule declares (or replaces) a data collection rule.
func (s *Server) AddRule(r Rule) {
	s.mu.Lock()
	s.rules[strings.ToLower(r.ImmutableID)] = r
	s.mu.Unlock()
}

// Throttle answers the next n calls with 429 and Retry-After.
func (s *Server) Throttle(n int, retryAfter time.Duration) {
	s.FailNext(n, http.StatusTooManyRequests, "TooManyRequests", retryAfter)
}

// FailNext answers the next n authenticated calls with status and code
// (and Retry-After when retryAfter > 0).
func (s *Server) FailNext(n, status int, code string, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status, code: code, retryAfter: retryAfter})
	}
}

// Rows returns the rows a stream of a rule accepted, decoded.
func (s *Server) Rows(rule, stream string) []map[string]any {
	s.mu.Lock()
	raw := append([]json.RawMessage(nil), s.rows[key(rule, stream)]...)
	s.mu.Unlock()
	out := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		var m map[string]any
		if err := json.Unmarshal(r, &m); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// Count returns how many rows a stream of a rule accepted.
func (s *Server) Count(rule, stream string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[key(rule, stream)]
}

// Requests returns every call answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Reset forgets rows and requests.
func (s *Server) Reset() {
	s.mu.Lock()
	s.rows, s.counts, s.requests = map[string][]json.RawMessage{}, map[string]int{}, nil
	s.mu.Unlock()
}

func key(rule, stream string) string { return strings.ToLower(rule) + "\x00" + stream }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := Request{Encoding: r.Header.Get("Content-Encoding")}
	fail := func(status int, code, msg string) {
		rec.Status, rec.Code = status, code
		s.log(rec)
		writeError(w, status, code, msg)
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 4 || !strings.EqualFold(parts[0], "dataCollectionRules") || !strings.EqualFold(parts[2], "streams") {
		fail(http.StatusNotFound, "NotFound", "The requested path does not exist.")
		return
	}
	rec.Rule, rec.Stream = parts[1], parts[3]
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "MethodNotAllowed", "Only POST is supported.")
		return
	}
	if v := r.URL.Query().Get("api-version"); v != APIVersion {
		fail(http.StatusBadRequest, "InvalidApiVersion", fmt.Sprintf("The api-version %q is not supported; use %s.", v, APIVersion))
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"`)
		fail(http.StatusUnauthorized, "InvalidToken", "The request has no bearer token.")
		return
	}
	s.mu.Lock()
	rule, known := s.rules[strings.ToLower(rec.Rule)]
	s.mu.Unlock()
	if !known {
		fail(http.StatusNotFound, "NotFound", fmt.Sprintf("Data collection rule %s was not found.", rec.Rule))
		return
	}
	if err := s.opts.Verify(token, rule); err != nil {
		var ae *AuthError
		if !errors.As(err, &ae) {
			ae = &AuthError{Status: http.StatusUnauthorized, Code: "InvalidToken", Message: err.Error()}
		}
		fail(ae.Status, ae.Code, ae.Message)
		return
	}
	if f, ok := s.takeFault(); ok {
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((f.retryAfter+time.Second-1)/time.Second)))
		}
		fail(f.status, f.code, "Injected failure.")
		return
	}
	tooLarge := fmt.Sprintf("Maximum allowed content length: %d bytes (%s).", s.opts.MaxBodyBytes, human(s.opts.MaxBodyBytes))
	wire, err := readAll(r.Body, int(min(max(r.ContentLength, 0), int64(s.opts.MaxBodyBytes)))+1, s.opts.MaxBodyBytes+1)
	if err != nil {
		fail(http.StatusBadRequest, "InvalidContent", "The body could not be read.")
		return
	}
	rec.WireBytes = len(wire)
	if len(wire) > s.opts.MaxBodyBytes {
		fail(http.StatusRequestEntityTooLarge, "ContentLengthLimitExceeded", tooLarge)
		return
	}
	body := wire
	switch strings.ToLower(rec.Encoding) {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if err != nil {
			fail(http.StatusBadRequest, "InvalidContentEncoding", "The body is not valid gzip.")
			return
		}
		body, err = readAll(zr, min(len(wire)*8, s.opts.MaxBodyBytes)+1, s.opts.MaxBodyBytes+1)
		if err != nil {
			fail(http.StatusBadRequest, "InvalidContentEncoding", "The body is not valid gzip.")
			return
		}
		if len(body) > s.opts.MaxBodyBytes {
			rec.RawBytes = len(body)
			fail(http.StatusRequestEntityTooLarge, "ContentLengthLimitExceeded", tooLarge)
			return
		}
	default:
		fail(http.StatusBadRequest, "InvalidContentEncoding", fmt.Sprintf("Content-Encoding %q is not supported.", rec.Encoding))
		return
	}
	rec.RawBytes = len(body)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		fail(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type must be application/json.")
		return
	}
	declared := false
	for _, st := range rule.Streams {
		if st == rec.Stream {
			declared = true
		}
	}
	if !declared {
		fail(http.StatusBadRequest, "InvalidStream", fmt.Sprintf("Stream %s is not declared in data collection rule %s.", rec.Stream, rule.ImmutableID))
		return
	}
	rows, err := splitArray(body)
	if err != nil {
		fail(http.StatusBadRequest, "InvalidPayload", err.Error())
		return
	}
	rec.Rows, rec.Status = len(rows), http.StatusNoContent
	s.mu.Lock()
	k := key(rec.Rule, rec.Stream)
	s.counts[k] += len(rows)
	if !s.opts.Discard {
		s.rows[k] = append(s.rows[k], rows...)
	}
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) takeFault() (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

func (s *Server) log(rec Request) {
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

func human(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// splitArray checks that body is a JSON array of objects and returns its
// elements (sharing body's memory).
func splitArray(body []byte) ([]json.RawMessage, error) {
	if !validJSON(body) {
		return nil, errors.New("the body is not valid JSON")
	}
	i := skipWS(body, 0)
	if body[i] != '[' {
		return nil, errors.New("the body must be a JSON array of objects")
	}
	var rows []json.RawMessage
	i++
	for {
		i = skipWS(body, i)
		switch body[i] {
		case ']':
			return rows, nil
		case ',':
			i++
			continue
		case '{':
			end := skipValue(body, i)
			rows = append(rows, body[i:end])
			i = end
		default:
			return nil, fmt.Errorf("item %d of the body is not a JSON object", len(rows))
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the valid object or array starting at i.
func skipValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return i
}

// readAll reads at most limit bytes of r into a buffer sized for hint.
func readAll(r io.Reader, hint, limit int) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(hint)
	_, err := b.ReadFrom(io.LimitReader(r, int64(limit)))
	return b.Bytes(), err
}

// CertificatePEM returns the server's certificate in PEM form (to add to
// a CA bundle file).
func (s *Server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}
