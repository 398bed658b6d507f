package armapi_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/armapi"
)

// codedErr is an error type of another package that carries an ARM code
// and status, as AsError promises to understand.
type codedErr struct{}

func (codedErr) Error() string     { return "The automation 'x' was not found." }
func (codedErr) ErrorCode() string { return "ResourceNotFound" }
func (codedErr) HTTPStatus() int   { return http.StatusNotFound }

func TestWriteError(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		status    int
		body      string
		challenge string
	}{
		{
			name:   "bad_request",
			err:    armapi.BadRequest("InvalidRequestContent", "The %s is bad.", "body"),
			status: 400,
			body:   `{"error":{"code":"InvalidRequestContent","message":"The body is bad."}}`,
		},
		{
			name: "target_and_details",
			err: &armapi.Error{Status: 400, Code: "ValidationFailed", Message: "Two problems.", Target: "properties",
				Details: []*armapi.Error{{Code: "A", Message: "first", Target: "properties.a"}, {Code: "B", Message: "second"}}},
			status: 400,
			body:   `{"error":{"code":"ValidationFailed","message":"Two problems.","target":"properties","details":[{"code":"A","message":"first","target":"properties.a"},{"code":"B","message":"second"}]}}`,
		},
		{
			name:   "private_cause_not_sent",
			err:    &armapi.Error{Status: 409, Code: "Conflict", Message: "Busy.", Err: errors.New("sas=SECRET")},
			status: 409,
			body:   `{"error":{"code":"Conflict","message":"Busy."}}`,
		},
		{
			name:   "wrapped",
			err:    fmt.Errorf("ctx: %w", armapi.NotFound("ResourceGroupNotFound", "Resource group 'x' could not be found.")),
			status: 404,
			body:   `{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'x' could not be found."}}`,
		},
		{
			name:   "coded_error_of_another_package",
			err:    fmt.Errorf("lookup: %w", codedErr{}),
			status: 404,
			body:   `{"error":{"code":"ResourceNotFound","message":"The automation 'x' was not found."}}`,
		},
		{
			name:   "unknown_error_hidden",
			err:    errors.New("open /data/sluice.db: password=SECRET"),
			status: 500,
			body:   `{"error":{"code":"InternalServerError","message":"The server encountered an internal error; see the server log with the request id."}}`,
		},
		{
			name:      "unauthorized_default_challenge",
			err:       armapi.Errorf(401, "AuthenticationFailed", "No token."),
			status:    401,
			body:      `{"error":{"code":"AuthenticationFailed","message":"No token."}}`,
			challenge: `Bearer error="invalid_token"`,
		},
		{
			name:      "unauthorized_own_challenge",
			err:       &armapi.Error{Status: 401, Code: "InvalidAuthenticationToken", Message: "Expired.", Challenge: `Bearer error="invalid_token", error_description="expired"`},
			status:    401,
			body:      `{"error":{"code":"InvalidAuthenticationToken","message":"Expired."}}`,
			challenge: `Bearer error="invalid_token", error_description="expired"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			armapi.WriteError(rec, httptest.NewRequest("GET", "/x", nil), tt.err)
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			if diff := cmp.Diff(tt.body, rec.Body.String()); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			code := decodeEnvelope(t, rec.Body.Bytes()).Error.Code
			if got := rec.Header().Get("x-ms-error-code"); got != code {
				t.Errorf("x-ms-error-code = %q, want %q", got, code)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
		})
	}
}

func TestWriteErrorLogsServerErrorsOnly(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	armapi.WriteError(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil), armapi.NotFound("NotFound", "nope"))
	if buf.Len() != 0 {
		t.Errorf("a 404 was logged: %s", buf.String())
	}
	armapi.WriteError(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil), errors.New("disk on fire"))
	if !strings.Contains(buf.String(), "disk on fire") {
		t.Errorf("a 500's cause was not logged: %q", buf.String())
	}
}

func TestErrorStrings(t *testing.T) {
	cause := errors.New("cause")
	e := &armapi.Error{Status: 400, Code: "C", Message: "m", Err: cause}
	if !errors.Is(e, cause) {
		t.Error("Error does not unwrap to its cause")
	}
	if got := e.Error(); got != "C: m: cause" {
		t.Errorf("Error() = %q", got)
	}
	if got := armapi.BadRequest("C", "m %d", 1).Error(); got != "C: m 1" {
		t.Errorf("Error() = %q", got)
	}
}

func TestWriteJSONUnencodable(t *testing.T) {
	rec := httptest.NewRecorder()
	armapi.WriteJSON(rec, http.StatusOK, map[string]any{"f": func() {}})
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	if decodeEnvelope(t, rec.Body.Bytes()).Error.Code != "InternalServerError" {
		t.Errorf("body = %s", rec.Body)
	}
}
