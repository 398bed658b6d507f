// Package armapi is the HTTP plumbing shared by every Azure Resource
// Manager-style route: the CloudError envelope, api-version checks, request
// ids, bounded JSON decoding, paging and a case-insensitive router whose
// routes each declare the permission they need.
package armapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Error is an error with an HTTP status and an ARM error code. Its Message
// is public; Err is a private cause that is logged but never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	Target  string
	Details []*Error
	Err     error
	// Challenge is the WWW-Authenticate value sent with a 401.
	Challenge string
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted public message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadRequest is a 400 with the given code.
func BadRequest(code, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, code, format, args...)
}

// NotFound is a 404 with the given code.
func NotFound(code, format string, args ...any) *Error {
	return Errorf(http.StatusNotFound, code, format, args...)
}

// errorBody is the JSON form of an Error.
type errorBody struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Target  string       `json:"target,omitempty"`
	Details []*errorBody `json:"details,omitempty"`
}

func toBody(e *Error) *errorBody {
	b := &errorBody{Code: e.Code, Message: e.Message, Target: e.Target}
	for _, d := range e.Details {
		b.Details = append(b.Details, toBody(d))
	}
	return b
}

// AsError converts any error into an *Error; unknown errors become a 500
// whose message reveals nothing of the cause.
func AsError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var coded interface {
		error
		ErrorCode() string
		HTTPStatus() int
	}
	if errors.As(err, &coded) {
		return &Error{Status: coded.HTTPStatus(), Code: coded.ErrorCode(), Message: coded.Error(), Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalServerError",
		Message: "The server encountered an internal error; see the server log with the request id.", Err: err}
}

// WriteError writes err as an ARM CloudError envelope.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	ae := AsError(err)
	if ae.Status >= 500 {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", w.Header().Get(HeaderRequestID), "code", ae.Code, "err", err)
	}
	if ae.Status == http.StatusUnauthorized {
		c := ae.Challenge
		if c == "" {
			c = `Bearer error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", c)
	}
	w.Header().Set("x-ms-error-code", ae.Code)
	WriteJSON(w, ae.Status, map[string]any{"error": toBody(ae)})
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"InternalServerError","message":"response encoding failed"}}`)
	}
	WriteRaw(w, status, body)
}

// WriteRaw writes an already-encoded JSON body.
func WriteRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
