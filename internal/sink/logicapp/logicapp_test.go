package logicapp_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/sink"
	"sluice/internal/sink/logicapp"
)

const sig = "SIGsecretValue0123456789abcdefXYZ"

// trigger is a loopback HTTPS Logic App trigger with a scripted answer.
type trigger struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []*http.Request
	bodies []string
	answer func(r *http.Request, body string) (int, http.Header, string)
}

func newTrigger(t *testing.T) *trigger {
	tr := &trigger{}
	tr.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tr.mu.Lock()
		tr.reqs = append(tr.reqs, r)
		tr.bodies = append(tr.bodies, string(body))
		answer := tr.answer
		tr.mu.Unlock()
		status, hdr, text := http.StatusAccepted, http.Header(nil), ""
		if answer != nil {
			status, hdr, text = answer(r, string(body))
		}
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		io.WriteString(w, text)
	}))
	t.Cleanup(tr.srv.Close)
	return tr
}

func (tr *trigger) uri() string {
	return tr.srv.URL + "/workflows/0123abcd/triggers/manual/paths/invoke?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + sig
}

func (tr *trigger) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(tr.srv.Certificate())
	return p
}

func (tr *trigger) newSink(t *testing.T, opts logicapp.Options) *logicapp.Sink {
	t.Helper()
	if opts.URI == "" {
		opts.URI = tr.uri()
	}
	if opts.RootCAs == nil {
		opts.RootCAs = tr.pool()
	}
	s, err := logicapp.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (tr *trigger) count() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.reqs)
}

func messages(n int) []sink.Message {
	var out []sink.Message
	for i := 0; i < n; i++ {
		out = append(out, sink.Message{EventID: fmt.Sprintf("ev-%d", i), Seq: int64(100 + i), Source: "Alerts",
			Body: []byte(fmt.Sprintf(`{"id":"a%d","properties":{"n":%d}}`, i, i))})
	}
	return out
}

// noSecret fails when err's text carries any part of the trigger URI's
// credentials.
func noSecret(t *testing.T, err error, extra ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range append([]string{sig, "sig=", "sp=%2F"}, extra...) {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error %q leaks %q", err, s)
		}
	}
}

func asSinkError(t *testing.T, err error) *sink.Error {
	t.Helper()
	var se *sink.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *sink.Error", err, err)
	}
	return se
}

func TestNewValidatesTheURIWithoutEchoingIt(t *testing.T) {
	for _, uri := range []string{
		"http://example.com/workflows/x?sig=" + sig,
		"ftp://example.com/x?sig=" + sig,
		"/relative/path?sig=" + sig,
		"https:///no-host?sig=" + sig,
		"://bad" + sig,
		"",
	} {
		_, err := logicapp.New(logicapp.Options{URI: uri})
		if err == nil {
			t.Errorf("New(%q) accepted it", uri)
			continue
		}
		noSecret(t, err)
	}
}

func TestPostsEachEventUnchangedWithItsIDHeaders(t *testing.T) {
	tr := newTrigger(t)
	s := tr.newSink(t, logicapp.Options{})
	batch := messages(3)
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if tr.count() != 3 {
		t.Fatalf("%d requests, want one per event (3)", tr.count())
	}
	for i, r := range tr.reqs {
		if r.Method != http.MethodPost || r.URL.Query().Get("sig") != sig || !strings.HasSuffix(r.URL.Path, "/paths/invoke") {
			t.Errorf("request %d: %s %s", i, r.Method, r.URL)
		}
		if r.Header.Get(logicapp.HeaderEventID) != batch[i].EventID || r.Header.Get(logicapp.HeaderSequence) != fmt.Sprint(batch[i].Seq) ||
			r.Header.Get(logicapp.HeaderSource) != "Alerts" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d headers: %v", i, r.Header)
		}
		if tr.bodies[i] != string(batch[i].Body) {
			t.Errorf("request %d body %s, want %s unchanged", i, tr.bodies[i], batch[i].Body)
		}
	}
}

func TestClassifiesHTTPStatuses(t *testing.T) {
	tests := []struct {
		status     int
		hdr        http.Header
		retryable  bool
		retryAfter time.Duration
	}{
		{http.StatusRequestTimeout, nil, true, 0},
		{http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}, true, 7 * time.Second},
		{http.StatusInternalServerError, nil, true, 0},
		{http.StatusBadGateway, nil, true, 0},
		{http.StatusServiceUnavailable, http.Header{"Retry-After": {"120"}}, true, 2 * time.Minute},
		{http.StatusServiceUnavailable, http.Header{"Retry-After": {"soon"}}, true, 0},
		{http.StatusServiceUnavailable, http.Header{"Retry-After": {"99999"}}, true, time.Hour},
		{http.StatusBadRequest, nil, false, 0},
		{http.StatusUnauthorized, nil, false, 0},
		{http.StatusForbidden, nil, false, 0},
		{http.StatusNotFound, nil, false, 0},
		{http.StatusRequestEntityTooLarge, nil, false, 0},
		{http.StatusFound, http.Header{"Location": {"https://elsewhere.example/"}}, false, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status, tc.hdr.Get("Retry-After")), func(t *testing.T) {
			tr := newTrigger(t)
			tr.answer = func(r *http.Request, _ string) (int, http.Header, string) {
				// Receivers may echo the request: the sink must not.
				return tc.status, tc.hdr, "trigger " + r.URL.String() + " signature " + r.URL.Query().Get("sig")
			}
			s := tr.newSink(t, logicapp.Options{})
			err := s.WriteBatch(context.Background(), messages(2))
			se := asSinkError(t, err)
			noSecret(t, err)
			if se.Retryable != tc.retryable || se.RetryAfter != tc.retryAfter {
				t.Fatalf("%v: retryable %v after %v, want %v after %v", err, se.Retryable, se.RetryAfter, tc.retryable, tc.retryAfter)
			}
			if se.Delivered != 0 || tr.count() != 1 {
				t.Fatalf("delivered %d, requests %d: want a stop at the first failure", se.Delivered, tr.count())
			}
			if !strings.Contains(err.Error(), fmt.Sprint(tc.status)) {
				t.Fatalf("error %q does not name the status", err)
			}
		})
	}
}

func TestRetryAfterAsHTTPDate(t *testing.T) {
	tr := newTrigger(t)
	tr.answer = func(*http.Request, string) (int, http.Header, string) {
		return http.StatusTooManyRequests, http.Header{"Retry-After": {time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)}}, ""
	}
	se := asSinkError(t, tr.newSink(t, logicapp.Options{}).WriteBatch(context.Background(), messages(1)))
	if se.RetryAfter < 80*time.Second || se.RetryAfter > 90*time.Second {
		t.Fatalf("Retry-After as a date 90 s ahead parsed as %v", se.RetryAfter)
	}
}

func TestInOrderStopsAtTheFirstFailure(t *testing.T) {
	tr := newTrigger(t)
	tr.answer = func(r *http.Request, _ string) (int, http.Header, string) {
		if r.Header.Get(logicapp.HeaderEventID) == "ev-2" {
			return http.StatusServiceUnavailable, nil, ""
		}
		return http.StatusOK, nil, ""
	}
	se := asSinkError(t, tr.newSink(t, logicapp.Options{}).WriteBatch(context.Background(), messages(5)))
	if !se.Retryable || se.Delivered != 2 || se.Failed != nil || tr.count() != 3 {
		t.Fatalf("error %+v after %d requests: want 2 delivered, ev-2 failed, nothing after it sent", se, tr.count())
	}
}

func TestConcurrentReportsTheFailedIndexes(t *testing.T) {
	tr := newTrigger(t)
	var inFlight, peak int
	var mu sync.Mutex
	release := make(chan struct{})
	tr.answer = func(r *http.Request, _ string) (int, http.Header, string) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		if inFlight == 3 {
			close(release)
		}
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		switch r.Header.Get(logicapp.HeaderEventID) {
		case "ev-1":
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"5"}}, ""
		case "ev-4":
			return http.StatusServiceUnavailable, http.Header{"Retry-After": {"9"}}, ""
		}
		return http.StatusOK, nil, ""
	}
	s := tr.newSink(t, logicapp.Options{Concurrency: 3})
	err := s.WriteBatch(context.Background(), messages(6))
	se := asSinkError(t, err)
	noSecret(t, err)
	if !se.Retryable || !slices.Equal(se.Failed, []int{1, 4}) || se.RetryAfter != 9*time.Second {
		t.Fatalf("error %+v: want retryable, failed [1 4], Retry-After the longest (9s)", se)
	}
	if peak != 3 || tr.count() != 6 {
		t.Fatalf("peak concurrency %d, requests %d; want 3 and 6", peak, tr.count())
	}

	// One permanent failure makes the batch's failure permanent.
	tr2 := newTrigger(t)
	tr2.answer = func(r *http.Request, _ string) (int, http.Header, string) {
		switch r.Header.Get(logicapp.HeaderEventID) {
		case "ev-0":
			return http.StatusBadRequest, nil, ""
		case "ev-2":
			return http.StatusInternalServerError, nil, ""
		}
		return http.StatusOK, nil, ""
	}
	se = asSinkError(t, tr2.newSink(t, logicapp.Options{Concurrency: 4}).WriteBatch(context.Background(), messages(4)))
	if se.Retryable || !slices.Equal(se.Failed, []int{0, 2}) {
		t.Fatalf("mixed failures: %+v", se)
	}
}

func TestTransportFailuresAreRetryableAndRedacted(t *testing.T) {
	t.Run("connection_refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		s, err := logicapp.New(logicapp.Options{URI: "https://" + addr + "/workflows/x?sig=" + sig})
		if err != nil {
			t.Fatal(err)
		}
		err = s.WriteBatch(context.Background(), messages(1))
		if se := asSinkError(t, err); !se.Retryable || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("refused: %v", err)
		}
		noSecret(t, err)
	})
	t.Run("untrusted_certificate", func(t *testing.T) {
		tr := newTrigger(t)
		s, err := logicapp.New(logicapp.Options{URI: tr.uri(), RootCAs: x509.NewCertPool()})
		if err != nil {
			t.Fatal(err)
		}
		err = s.WriteBatch(context.Background(), messages(1))
		if err == nil || !strings.Contains(err.Error(), "certificate") || tr.count() != 0 {
			t.Fatalf("untrusted certificate: %v (%d requests)", err, tr.count())
		}
		noSecret(t, err)
	})
	t.Run("timeout", func(t *testing.T) {
		tr := newTrigger(t)
		release := make(chan struct{})
		defer close(release)
		// The trigger answers only once the sink has given up (not when
		// the request's context ends, which a loaded machine has seen
		// happen before the client's timeout).
		tr.answer = func(*http.Request, string) (int, http.Header, string) {
			<-release
			return http.StatusOK, nil, ""
		}
		err := tr.newSink(t, logicapp.Options{Timeout: 100 * time.Millisecond}).WriteBatch(context.Background(), messages(1))
		if se := asSinkError(t, err); !se.Retryable {
			t.Fatalf("timeout: %v", err)
		}
		noSecret(t, err)
	})
	t.Run("cancelled", func(t *testing.T) {
		tr := newTrigger(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := tr.newSink(t, logicapp.Options{}).WriteBatch(ctx, messages(1))
		if err == nil || !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "canceled") {
			t.Fatalf("cancelled context: %v", err)
		}
		noSecret(t, err)
	})
	t.Run("userinfo_and_code", func(t *testing.T) {
		tr := newTrigger(t)
		tr.answer = func(r *http.Request, _ string) (int, http.Header, string) {
			return http.StatusBadRequest, nil, "code " + r.URL.Query().Get("code") + " auth " + r.Header.Get("Authorization")
		}
		uri := strings.Replace(tr.srv.URL, "https://", "https://user:p4ssw0rdSecret@", 1) + "/api/fn?code=FUNCTIONKEYabcdef0123456789"
		err := tr.newSink(t, logicapp.Options{URI: uri}).WriteBatch(context.Background(), messages(1))
		asSinkError(t, err)
		noSecret(t, err, "FUNCTIONKEYabcdef0123456789", "p4ssw0rdSecret", "dXNlcjpwNHNzdzByZFNlY3JldA")
	})
}

func TestDoesNotFollowRedirects(t *testing.T) {
	target := newTrigger(t)
	tr := newTrigger(t)
	tr.answer = func(*http.Request, string) (int, http.Header, string) {
		return http.StatusTemporaryRedirect, http.Header{"Location": {target.uri()}}, ""
	}
	err := tr.newSink(t, logicapp.Options{}).WriteBatch(context.Background(), messages(1))
	if se := asSinkError(t, err); se.Retryable || target.count() != 0 {
		t.Fatalf("redirect: %v, %d requests followed", err, target.count())
	}
	noSecret(t, err)
}

func TestErrorDetailIsBounded(t *testing.T) {
	tr := newTrigger(t)
	tr.answer = func(*http.Request, string) (int, http.Header, string) {
		return http.StatusBadRequest, nil, strings.Repeat("x", 100000)
	}
	err := tr.newSink(t, logicapp.Options{}).WriteBatch(context.Background(), messages(1))
	if err == nil || len(err.Error()) > 1024 {
		t.Fatalf("error of %d bytes for a 100 kB answer", len(err.Error()))
	}
}
