package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sluice/internal/tlsutil"
)

// receiverMode is how the loopback destination behaves.
type receiverMode struct {
	// Delay is added to every request (a slow receiver).
	Delay time.Duration
	// FailEvery makes every n-th request answer 500 (a failing receiver).
	FailEvery int64
	// DownFrom/DownFor: the receiver refuses connections for a while
	// (a receiver that is down).
	DownFrom, DownFor time.Duration
}

// receiver is an HTTPS endpoint that records when each event arrived.
type receiver struct {
	mode     receiverMode
	caFile   string
	url      string
	srv      *http.Server
	ln       net.Listener
	addr     string
	tlsConf  *tls.Config
	started  time.Time
	requests atomic.Int64

	mu sync.Mutex
	// downAt and upAt bound the outage of a receiver that goes down.
	downAt, upAt time.Time
	// arrivals are the first arrivals of the events of each (path,
	// assessment id), in order; seen counts the arrivals of each (path,
	// event id).
	arrivals map[string][]time.Time
	seen     map[string]int
	dups     int64
}

func startReceiver(dir string, mode receiverMode) (*receiver, error) {
	files, err := tlsutil.Ensure(filepath.Join(dir, "receiver-tls"), nil)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		return nil, fmt.Errorf("receiver certificate: %w", err)
	}
	r := &receiver{mode: mode, caFile: files.CA, arrivals: map[string][]time.Time{}, seen: map[string]int{},
		tlsConf: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.addr = ln.Addr().String()
	r.url = "https://" + r.addr
	r.started = time.Now()
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	r.serve(ln)
	if mode.DownFor > 0 {
		go r.outage()
	}
	return r, nil
}

func (r *receiver) serve(ln net.Listener) {
	r.ln = ln
	go r.srv.Serve(tls.NewListener(ln, r.tlsConf))
}

// outage closes the listener (connections refused) for DownFor, then
// listens again on the same address.
func (r *receiver) outage() {
	time.Sleep(r.mode.DownFrom)
	r.ln.Close()
	r.srv.SetKeepAlivesEnabled(false)
	r.mu.Lock()
	r.downAt = time.Now()
	r.mu.Unlock()
	time.Sleep(r.mode.DownFor)
	for {
		ln, err := net.Listen("tcp", r.addr)
		if err == nil {
			r.mu.Lock()
			r.upAt = time.Now()
			r.mu.Unlock()
			r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
			r.serve(ln)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	n := r.requests.Add(1)
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	// The events arrived once the whole request is read: checking them
	// below is the receiver's own work.
	now := time.Now()
	if r.mode.Delay > 0 {
		time.Sleep(r.mode.Delay)
	}
	if r.mode.FailEvery > 0 && n%r.mode.FailEvery == 0 {
		http.Error(w, "injected failure", http.StatusInternalServerError)
		return
	}
	// One event per request (Logic App), or NDJSON batches (Webhook) with
	// the event ids in a header.
	bodies := [][]byte{body}
	ids := []string{req.Header.Get("X-Sluice-Event-Id")}
	if req.Header.Get("Content-Type") == "application/x-ndjson" {
		bodies = bytes.Split(bytes.TrimRight(body, "\n"), []byte("\n"))
		ids = strings.Split(req.Header.Get("X-Sluice-Event-Ids"), ",")
	}
	if len(ids) != len(bodies) {
		http.Error(w, "event ids do not match the body", http.StatusBadRequest)
		return
	}
	docs := make([]string, len(bodies))
	for i, b := range bodies {
		id, err := topLevelID(b)
		if err != nil || id == "" {
			http.Error(w, "not an event", http.StatusBadRequest)
			return
		}
		docs[i] = id
	}
	r.mu.Lock()
	for i, id := range docs {
		key := req.URL.Path + " " + ids[i]
		if r.seen[key] == 0 {
			k := req.URL.Path + " " + lowerASCII(id)
			r.arrivals[k] = append(r.arrivals[k], now)
		} else {
			r.dups++
		}
		r.seen[key]++
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// arrived returns the first arrival of the n-th event (from 0) of an
// assessment at a path (an action delivers one resource's events in order).
func (r *receiver) arrived(path, id string, n int) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := r.arrivals[path+" "+lowerASCII(id)]
	if n >= len(ts) {
		return time.Time{}, false
	}
	return ts[n], true
}

// counts returns how many distinct events arrived and how many arrivals
// were duplicates.
func (r *receiver) counts() (unique int, dups int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen), r.dups
}

func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.srv.Shutdown(ctx)
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// topLevelID returns the top-level "id" string of a JSON object without
// decoding the rest: the receiver shares the machine's cores with the
// server it measures, so it only scans bytes (strings with escapes, depth)
// and unquotes the one value it needs.
func topLevelID(b []byte) (string, error) {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			end := i + 1
			for end < len(b) && b[end] != '"' {
				if b[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(b) {
				return "", fmt.Errorf("unterminated string")
			}
			key := b[i+1 : end]
			i = end
			if depth != 1 || string(key) != "id" {
				continue
			}
			j := end + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j >= len(b) || b[j] != ':' {
				continue // "id" as a value, not a key
			}
			var id string
			if err := json.NewDecoder(bytes.NewReader(b[j+1:])).Decode(&id); err != nil {
				return "", fmt.Errorf("id: %w", err)
			}
			return id, nil
		}
	}
	return "", fmt.Errorf("no top-level id")
}

// outageWindow returns when the receiver went down and came back up (zero
// if it did not).
func (r *receiver) outageWindow() (down, up time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.downAt, r.upAt
}
