// Package sink holds what every destination shares: the message a sink
// delivers, and the error that tells the export engine whether a failure is
// worth retrying, when, and which messages of a batch it concerns.
package sink

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"sluice/internal/secrets"
)

// Message is one event to deliver.
type Message struct {
	// EventID is the event's stable id; sinks put it in transport metadata
	// (an HTTP header, a Kafka header, the AMQP message id).
	EventID string
	// Seq is the event's sequence number in the log.
	Seq int64
	// Source is the event source (Alerts, Assessments, …).
	Source string
	// ResourceID is the resource the event is about (Kafka record key).
	ResourceID string
	// Body is the exact JSON to deliver; sinks never change it.
	Body []byte
}

// Error is a delivery failure.
type Error struct {
	// Retryable failures are retried with backoff; others dead-letter.
	Retryable bool
	// RetryAfter is the destination's requested wait (Retry-After), or 0.
	RetryAfter time.Duration
	// Failed lists the indexes of the batch's messages that failed; nil
	// means the whole batch (or: every message from Delivered on).
	Failed []int
	// Delivered counts the leading messages that were accepted before the
	// failure, for sinks that deliver in order and stop at the first error.
	Delivered int
	// Err is the cause, already redacted of secrets.
	Err error
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	return fmt.Sprintf("%s delivery failure: %v", kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent wraps err as a failure that must not be retried.
func Permanent(err error) *Error { return &Error{Err: err} }

// Retryable wraps err as a failure worth retrying.
func Retryable(err error) *Error { return &Error{Retryable: true, Err: err} }

// Classify turns any error into an *Error: network errors and timeouts are
// retryable; an *Error passes through; anything else is retryable too,
// because an unknown failure must not lose an event.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return Retryable(err)
	}
	return Retryable(err)
}

// HTTPStatus classifies an HTTP response status: 408, 429 and 5xx are
// retryable (honouring Retry-After), other 4xx permanent. It returns nil for
// 2xx.
func HTTPStatus(resp *http.Response, detail string) *Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err := fmt.Errorf("destination answered %d %s%s", resp.StatusCode, http.StatusText(resp.StatusCode), detail)
	if resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return &Error{Retryable: true, RetryAfter: RetryAfter(resp.Header.Get("Retry-After"), time.Now()), Err: err}
	}
	return Permanent(err)
}

// RetryAfter parses a Retry-After header (seconds or an HTTP date),
// bounded to one hour; 0 when absent or malformed.
func RetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	return min(d, time.Hour)
}

// Redact removes secrets from an error's text, returning a plain error.
func Redact(err error, known ...string) error {
	if err == nil {
		return nil
	}
	return errors.New(secrets.Redact(err.Error(), known...))
}
