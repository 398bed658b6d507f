package webhook_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/sink"
	"sluice/internal/sink/webhook"
)

const key = "whsec-7f1c0a9b3e"

// receiver verifies signatures as a receiver would and keeps what it got.
type receiver struct {
	mu       sync.Mutex
	requests int
	bodies   [][]byte // one per event
	ids      []string
	badSig   int
	status   func(n int) int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get(webhook.HeaderSignature)), []byte(want)) {
		rc.badSig++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if rc.status != nil {
		if s := rc.status(rc.requests); s != 0 {
			w.Header().Set("Retry-After", "7")
			http.Error(w, "injected "+key, s)
			return
		}
	}
	ids := strings.Split(r.Header.Get(webhook.HeaderEventIDs), ",")
	var events [][]byte
	if r.Header.Get("Content-Type") == "application/x-ndjson" {
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			events = append(events, append([]byte(nil), sc.Bytes()...))
		}
	} else {
		events = [][]byte{body}
	}
	if fmt.Sprint(len(events)) != r.Header.Get(webhook.HeaderEventCount) || len(ids) != len(events) {
		http.Error(w, "count mismatch", http.StatusBadRequest)
		return
	}
	rc.bodies = append(rc.bodies, events...)
	rc.ids = append(rc.ids, ids...)
	w.WriteHeader(http.StatusNoContent)
}

func messages(n, size int) []sink.Message {
	ms := make([]sink.Message, n)
	for i := range ms {
		ms[i] = sink.Message{EventID: fmt.Sprintf("ev-%04d", i), Seq: int64(i + 1), Source: "Alerts",
			Body: fmt.Appendf(nil, `{"n":%d,"pad":%q}`, i, strings.Repeat("x", size))}
	}
	return ms
}

func start(t *testing.T, rc *receiver, opts webhook.Options) *webhook.Sink {
	t.Helper()
	ts := httptest.NewTLSServer(rc)
	t.Cleanup(ts.Close)
	opts.URL = ts.URL + "/hook?token=url-secret-123"
	opts.SigningKey = key
	opts.Transport = ts.Client().Transport
	s, err := webhook.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSingle_signed_in_order_body_unchanged(t *testing.T) {
	rc := &receiver{}
	s := start(t, rc, webhook.Options{})
	ms := messages(5, 10)
	if err := s.WriteBatch(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	if rc.requests != 5 || rc.badSig != 0 || len(rc.bodies) != 5 {
		t.Fatalf("requests %d, bad signatures %d, events %d", rc.requests, rc.badSig, len(rc.bodies))
	}
	for i, m := range ms {
		if !bytes.Equal(rc.bodies[i], m.Body) || rc.ids[i] != m.EventID {
			t.Errorf("event %d: body %s id %s", i, rc.bodies[i], rc.ids[i])
		}
	}
}

func TestBatch_ndjson_split_by_count_and_bytes(t *testing.T) {
	rc := &receiver{}
	s := start(t, rc, webhook.Options{Batch: true, MaxEvents: 4, MaxBytes: 1 << 20})
	ms := messages(10, 10)
	if err := s.WriteBatch(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	if rc.requests != 3 || len(rc.bodies) != 10 {
		t.Fatalf("requests %d (want 3 of ≤4 events), events %d", rc.requests, len(rc.bodies))
	}
	for i, m := range ms {
		if !bytes.Equal(rc.bodies[i], m.Body) || rc.ids[i] != m.EventID {
			t.Errorf("event %d out of order or changed", i)
		}
	}
	rc2 := &receiver{}
	s2 := start(t, rc2, webhook.Options{Batch: true, MaxEvents: 100, MaxBytes: 2500})
	if err := s2.WriteBatch(context.Background(), messages(10, 1000)); err != nil {
		t.Fatal(err)
	}
	if rc2.requests != 5 || len(rc2.bodies) != 10 {
		t.Fatalf("requests %d (want 5 of two ~1 KB events under 2500 bytes), events %d", rc2.requests, len(rc2.bodies))
	}
}

func TestFailures_classified_and_redacted(t *testing.T) {
	for _, tc := range []struct {
		status    int
		retryable bool
	}{
		{http.StatusServiceUnavailable, true},
		{http.StatusTooManyRequests, true},
		{http.StatusBadRequest, false},
		{http.StatusForbidden, false},
	} {
		rc := &receiver{status: func(n int) int {
			if n == 3 {
				return tc.status
			}
			return 0
		}}
		s := start(t, rc, webhook.Options{})
		err := s.WriteBatch(context.Background(), messages(5, 10))
		var se *sink.Error
		if !errors.As(err, &se) {
			t.Fatalf("%d: error %v is not a sink.Error", tc.status, err)
		}
		if se.Retryable != tc.retryable || se.Delivered != 2 {
			t.Errorf("%d: retryable %v delivered %d, want %v and 2", tc.status, se.Retryable, se.Delivered, tc.retryable)
		}
		if tc.retryable && se.RetryAfter != 7*time.Second {
			t.Errorf("%d: Retry-After %v", tc.status, se.RetryAfter)
		}
		for _, secret := range []string{key, "url-secret-123"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%d: error leaks %q: %v", tc.status, secret, err)
			}
		}
	}
}

func TestUnreachable_is_retryable_without_secrets(t *testing.T) {
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	url := ts.URL + "/hook?token=url-secret-123"
	tr := ts.Client().Transport
	ts.Close()
	s, err := webhook.New(webhook.Options{URL: url, SigningKey: key, Transport: tr, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = s.WriteBatch(context.Background(), messages(1, 1))
	var se *sink.Error
	if !errors.As(err, &se) || !se.Retryable {
		t.Fatalf("error %v, want retryable", err)
	}
	if strings.Contains(err.Error(), "url-secret-123") {
		t.Errorf("error leaks the URL's secret: %v", err)
	}
}

func TestNew_rejects_bad_urls(t *testing.T) {
	for _, u := range []string{"", "http://example.com/hook", "not a url", "https://"} {
		if _, err := webhook.New(webhook.Options{URL: u}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

func TestSign_matches_receiver_computation(t *testing.T) {
	body := []byte(`{"a":1}`)
	m := hmac.New(sha256.New, []byte("k"))
	m.Write(body)
	if got, want := webhook.Sign("k", body), "sha256="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func BenchmarkWriteBatch(b *testing.B) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ts.Close()
	s, err := webhook.New(webhook.Options{URL: ts.URL, SigningKey: key, Batch: true, Transport: ts.Client().Transport})
	if err != nil {
		b.Fatal(err)
	}
	ms := messages(500, 1500)
	b.ResetTimer()
	for b.Loop() {
		if err := s.WriteBatch(context.Background(), ms); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(ms))/b.Elapsed().Seconds(), "events/s")
}
