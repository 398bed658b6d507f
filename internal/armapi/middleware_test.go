package armapi_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"sluice/internal/armapi"
)

func TestMiddlewareRequestIDs(t *testing.T) {
	rt := publicRouter()
	seen := map[string]bool{}
	for _, target := range []string{
		"/healthz",         // 200
		"/nothing",         // 404 from the router
		"/subscriptions/x", // 404
		"/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Security/automations/a1", // 400
	} {
		rec := serve(rt, "GET", target, "", nil)
		id := rec.Header().Get(armapi.HeaderRequestID)
		if _, err := uuid.Parse(id); err != nil {
			t.Errorf("%s (%d): x-ms-request-id %q is not a UUID", target, rec.Code, id)
		}
		if seen[id] {
			t.Errorf("request id %s reused", id)
		}
		seen[id] = true
		if got := rec.Header().Get(armapi.HeaderCorrelationID); got != id {
			t.Errorf("%s: correlation id %q; without one from the client it should be the request id %q", target, got, id)
		}
	}

	const corr = "6d2b1f0e-0000-4000-8000-00000000c0de"
	rec := serve(rt, "GET", "/nothing", "", nil, armapi.HeaderCorrelationID, corr)
	if got := rec.Header().Get(armapi.HeaderCorrelationID); got != corr {
		t.Errorf("correlation id = %q, want the client's %q echoed", got, corr)
	}
	if rec.Header().Get(armapi.HeaderRequestID) == corr {
		t.Error("the request id copies the client's correlation id")
	}
}

func TestMiddlewarePanic(t *testing.T) {
	const secret = "token=eyJhbGciOiJSUzI1NiJ9.SECRET"
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))

	h := armapi.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(secret)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	e := decodeEnvelope(t, rec.Body.Bytes())
	if e.Error.Code != "InternalServerError" {
		t.Errorf("code = %q", e.Error.Code)
	}
	if strings.Contains(rec.Body.String(), "SECRET") {
		t.Errorf("the panic value leaked into the response: %s", rec.Body)
	}
	if rec.Header().Get(armapi.HeaderRequestID) == "" {
		t.Error("no x-ms-request-id on the 500")
	}
	if !strings.Contains(logBuf.String(), "handler panic") {
		t.Errorf("the panic was not logged: %q", logBuf.String())
	}

	// A panic after the response started keeps the status already sent.
	h = armapi.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"partial":`))
		panic("late")
	}))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/late", nil))
	if rec.Code != http.StatusAccepted || rec.Body.String() != `{"partial":` {
		t.Errorf("late panic: %d %q, want the 202 and partial body left alone", rec.Code, rec.Body)
	}

	// http.ErrAbortHandler keeps its meaning: the server aborts the response.
	h = armapi.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler re-raised", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/abort", nil))
	}()
}

func TestMiddlewareDoesNotLogSecrets(t *testing.T) {
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := armapi.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		armapi.WriteJSON(w, http.StatusOK, map[string]string{})
	}))
	req := httptest.NewRequest("GET", "/hook?sig=QUERYSECRET&api-version=1", nil)
	req.Header.Set("Authorization", "Bearer HEADERSECRET")
	h.ServeHTTP(httptest.NewRecorder(), req)
	out := logBuf.String()
	if !strings.Contains(out, "/hook") || !strings.Contains(out, "status=200") {
		t.Errorf("request log line missing path or status: %q", out)
	}
	for _, s := range []string{"QUERYSECRET", "HEADERSECRET"} {
		if strings.Contains(out, s) {
			t.Errorf("log contains %s: %q", s, out)
		}
	}
}

func TestMiddlewareFlushes(t *testing.T) {
	h := armapi.Middleware(quietLog(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("a"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the middleware: %v", err)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !rec.Flushed {
		t.Error("the response was not flushed")
	}
}
