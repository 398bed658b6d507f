package estate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/google/uuid"

	"sluice/internal/server"
	"sluice/internal/server/servertest"
)

// API versions the real clients send.
const (
	mgVersion  = "2021-04-01"
	subVersion = "2022-12-01"
	rgVersion  = "2021-04-01"
)

// Demo estate ids.
const (
	demoSub       = server.DemoSubProduction
	demoSubDev    = server.DemoSubDevelopment
	demoSubShared = server.DemoSubShared
	demoGroup     = server.DemoGroupProduction
)

func mgPath(name string) string {
	return "/providers/Microsoft.Management/managementGroups/" + name
}

func rgPath(sub, rg string) string { return "/subscriptions/" + sub + "/resourcegroups/" + rg }

func withVersion(path, version string) string {
	if strings.Contains(path, "?") {
		return path + "&api-version=" + version
	}
	return path + "?api-version=" + version
}

// reply is a response with its body read.
type reply struct {
	*http.Response
	Body []byte
}

// cloudError is the ARM error envelope.
type cloudError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target"`
}

func (r reply) err() cloudError {
	var v struct {
		Error cloudError `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &v)
	return v.Error
}

// send issues a request with an x-ms-correlation-request-id header and
// returns the response; body may be nil, a string, []byte or a value to
// encode as JSON.
func send(t *testing.T, env *servertest.Env, method, path, token string, body any) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, env.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("x-ms-correlation-request-id", "corr-"+uuid.NewString())
	resp, err := env.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return reply{Response: resp, Body: data}
}

// checkErrorHeaders asserts what every error response carries.
func checkErrorHeaders(t *testing.T, r reply) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); r.Request.Method != http.MethodHead && !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if r.Header.Get("x-ms-request-id") == "" {
		t.Error("no x-ms-request-id")
	}
	want := r.Request.Header.Get("x-ms-correlation-request-id")
	if got := r.Header.Get("x-ms-correlation-request-id"); got != want {
		t.Errorf("x-ms-correlation-request-id %q, want the echo %q", got, want)
	}
	if strings.Contains(string(r.Body), "MissingSubscriptionRegistration") {
		t.Errorf("answered MissingSubscriptionRegistration: %s", r.Body)
	}
}

// expectError asserts status, ARM code and that the message contains every
// fragment (case-insensitively).
func expectError(t *testing.T, r reply, status int, code string, fragments ...string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.Body)
	}
	checkErrorHeaders(t, r)
	if r.Request.Method == http.MethodHead {
		return
	}
	e := r.err()
	if e.Code != code {
		t.Errorf("%s %s: code %q, want %q; body %s", r.Request.Method, r.Request.URL.Path, e.Code, code, r.Body)
	}
	for _, f := range fragments {
		if !strings.Contains(strings.ToLower(e.Message), strings.ToLower(f)) {
			t.Errorf("%s %s: message %q does not mention %q", r.Request.Method, r.Request.URL.Path, e.Message, f)
		}
	}
}

// expectStatus asserts a success status.
func expectStatus(t *testing.T, r reply, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.String(), r.StatusCode, status, r.Body)
	}
}

// responseError asserts err is an *azcore.ResponseError with the status and
// code.
func responseError(t *testing.T, err error, status int, code string) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T), want *azcore.ResponseError %d %s", err, err, status, code)
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("got %d %s, want %d %s: %v", re.StatusCode, re.ErrorCode, status, code, err)
	}
	return re
}

// registerSubscription registers a new subscription with a raw PUT and
// returns its id.
func registerSubscription(t *testing.T, env *servertest.Env, displayName string, extra map[string]string) string {
	t.Helper()
	id := uuid.NewString()
	body := map[string]string{"displayName": displayName}
	for k, v := range extra {
		body[k] = v
	}
	r := send(t, env, http.MethodPut, withVersion("/subscriptions/"+id, subVersion), env.Token, body)
	expectStatus(t, r, http.StatusCreated)
	return id
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func ptrs(m map[string]string) map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = &v
	}
	return out
}

func deref(m map[string]*string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = str(v)
	}
	return out
}
