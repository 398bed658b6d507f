package armapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Headers ARM clients read or send.
const (
	HeaderRequestID     = "x-ms-request-id"
	HeaderCorrelationID = "x-ms-correlation-request-id"
)

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Flush lets streaming handlers flush through the wrapper.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Middleware sets x-ms-request-id on every response, echoes (or creates)
// x-ms-correlation-request-id, turns panics into a 500 CloudError and logs
// each request. It never logs query strings or headers, which may carry
// secrets.
func Middleware(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		reqID := uuid.NewString()
		w.Header().Set(HeaderRequestID, reqID)
		corr := r.Header.Get(HeaderCorrelationID)
		if corr == "" {
			corr = reqID
		}
		w.Header().Set(HeaderCorrelationID, corr)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "request_id", reqID, "panic", fmt.Sprint(v))
				if sw.status == 0 {
					WriteError(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"bytes", sw.bytes, "duration", time.Since(start), "request_id", reqID)
		}()
		next.ServeHTTP(sw, r)
	})
}
