package export_test

// Time-dependent behaviour of the engine, in fake time (testing/synctest):
// the engine and the real Logic App sink run inside the bubble, the
// receiver is answered through an in-memory transport, and the SQLite store
// is reached from the bubble (see outsideStore), so a day of retries takes
// a few seconds.

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sluice/internal/export"
	"sluice/internal/sink/logicapp"
	"sluice/internal/store"
)

// attempt is one request the in-memory receiver saw.
type attempt struct {
	at       time.Time
	workflow string // the trigger's workflow name (path segment)
	id       string
	status   int // 0: the connection was refused
	body     string
}

// memReceiver is a Logic App trigger served in memory: a RoundTripper that
// answers through a scripted handler and records every attempt with the
// (fake) time it arrived.
type memReceiver struct {
	mu       sync.Mutex
	attempts []attempt
	// script answers the n-th request (1-based); status 0 refuses the
	// connection.
	script func(n int, id string) (int, http.Header)
}

func (m *memReceiver) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(req.Body)
	id := req.Header.Get(logicapp.HeaderEventID)
	workflow, _, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/workflows/"), "/")
	m.mu.Lock()
	n := len(m.attempts) + 1
	status, hdr := http.StatusOK, http.Header(nil)
	if m.script != nil {
		status, hdr = m.script(n, id)
	}
	m.attempts = append(m.attempts, attempt{at: time.Now(), workflow: workflow, id: id, status: status, body: string(body)})
	m.mu.Unlock()
	if status == 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	rec := httptest.NewRecorder()
	for k, v := range hdr {
		rec.Header()[k] = v
	}
	rec.WriteHeader(status)
	return rec.Result(), nil
}

func (m *memReceiver) log() []attempt {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]attempt(nil), m.attempts...)
}

// fakeEnv is a store, an engine and a receiver inside a synctest bubble.
type fakeEnv struct {
	t     *testing.T
	st    store.Store
	eng   *export.Engine
	rcv   *memReceiver
	logs  *logBuffer
	start time.Time
	stop  func() // stops the first engine
}

// newFakeEnv must be called inside the bubble (see inBubble); the engine
// stops when the test's cleanups run, still inside the bubble.
func newFakeEnv(t *testing.T, st store.Store, opts export.Options, script func(n int, id string) (int, http.Header)) *fakeEnv {
	t.Helper()
	f := &fakeEnv{t: t, st: st, rcv: &memReceiver{script: script}, logs: &logBuffer{}, start: time.Now()}
	f.eng, f.stop = f.runEngine(opts)
	t.Cleanup(func() {
		if strings.Contains(f.logs.String(), fakeSig) {
			t.Errorf("the signature leaked into the logs")
		}
	})
	return f
}

// runEngine starts an engine over the env's store and receiver; it stops
// at stop or when the test ends.
func (f *fakeEnv) runEngine(opts export.Options) (eng *export.Engine, stop func()) {
	factory := func(a *export.Action) (export.Sink, error) {
		return logicapp.New(logicapp.Options{URI: a.Config.(string), Transport: f.rcv})
	}
	eng = export.New(f.st, factory, slog.New(slog.NewTextHandler(f.logs, nil)), opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	f.t.Cleanup(stop)
	return eng, stop
}

func (f *fakeEnv) uri(name string) string {
	return "https://prod-00.example.logic.azure.com/workflows/" + name + "/triggers/manual/paths/invoke?sv=1.0&sig=" + fakeSig
}

func (f *fakeEnv) exportAll(keys ...string) {
	var xs []*export.Export
	for _, k := range keys {
		xs = append(xs, newExport(k, "/subscriptions/"+sub, true, []string{"Assessments"}, f.uri(k)))
	}
	f.eng.SetExports(xs)
}

func (f *fakeEnv) appendEvents(prefix string, n int) []string {
	f.t.Helper()
	ids, err := appendEvents(f.st, prefix, "rg", "Assessments", n, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	f.eng.Notify()
	return ids
}

func (f *fakeEnv) deadLetters(key string) []*store.DeadLetter {
	f.t.Helper()
	dls, err := f.st.DeadLetters(context.Background(), export.ActionKey(key, 0), 0, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	return dls
}

func (f *fakeEnv) health(key string) *export.ActionHealth {
	f.t.Helper()
	hs, err := f.eng.Health(context.Background(), key)
	if err != nil || len(hs) != 1 {
		f.t.Fatalf("health of %s: %v %v", key, hs, err)
	}
	return hs[0]
}

// gaps returns the time between consecutive attempts.
func gaps(as []attempt) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(as); i++ {
		out = append(out, as[i].at.Sub(as[i-1].at))
	}
	return out
}

// The engine's retry spacing follows the backoff: exponential growth from
// Initial, jitter in [d/2, d], capped at Max; retries land no later than one
// poll interval after they are due.
func TestFakeTimeRetrySpacingFollowsBackoff(t *testing.T) {
	inBubble(t, func(t *testing.T, st store.Store) {
		const poll = 500 * time.Millisecond
		b := export.Backoff{Initial: time.Second, Max: 8 * time.Second}
		f := newFakeEnv(t, st, export.Options{Backoff: b, Poll: poll}, func(n int, id string) (int, http.Header) {
			if n <= 7 {
				return http.StatusServiceUnavailable, nil
			}
			return http.StatusOK, nil
		})
		f.exportAll("a1")
		f.appendEvents("ev", 1)
		time.Sleep(time.Minute)
		as := f.rcv.log()
		if len(as) != 8 || as[7].status != http.StatusOK {
			t.Fatalf("attempts = %+v, want 7 failures then a success", as)
		}
		if as[0].at.Sub(f.start) > poll {
			t.Fatalf("first attempt %v after the event was appended", as[0].at.Sub(f.start))
		}
		for i, g := range gaps(as) {
			d := min(b.Initial<<i, b.Max)
			if g < d/2 || g > d+poll {
				t.Errorf("gap before retry %d = %v, want within [%v, %v]", i+1, g, d/2, d+poll)
			}
		}
		h := f.health("a1")
		if h.Delivered != 1 || h.Retried != 7 || h.Attempts != 0 || h.QueueDepth != 0 {
			t.Fatalf("health = %+v", h)
		}
	})
}

// Retry-After (seconds or an HTTP date) is a floor under the backoff.
func TestFakeTimeRetryAfterIsAFloor(t *testing.T) {
	inBubble(t, func(t *testing.T, st store.Store) {
		const poll = 2 * time.Second
		var dateAt time.Time
		f := newFakeEnv(t, st, export.Options{Backoff: export.Backoff{Initial: 10 * time.Second, Max: time.Minute}, Poll: poll},
			func(n int, id string) (int, http.Header) {
				switch n {
				case 1:
					return http.StatusTooManyRequests, http.Header{"Retry-After": {"120"}}
				case 2:
					dateAt = time.Now().Add(90 * time.Second).Truncate(time.Second)
					return http.StatusServiceUnavailable, http.Header{"Retry-After": {dateAt.Format(http.TimeFormat)}}
				case 3:
					// Shorter than the backoff: the backoff wins.
					return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
				}
				return http.StatusOK, nil
			})
		f.exportAll("a1")
		f.appendEvents("ev", 1)
		time.Sleep(time.Second)
		h := f.health("a1")
		if h.Attempts != 1 || h.NextAttempt.Sub(h.LastErrorAt) < 120*time.Second {
			t.Fatalf("after a 429 with Retry-After 120: consecutive failures %d, next attempt %v after the error",
				h.Attempts, h.NextAttempt.Sub(h.LastErrorAt))
		}
		time.Sleep(5 * time.Minute)
		as := f.rcv.log()
		if len(as) != 4 || as[3].status != http.StatusOK {
			t.Fatalf("attempts = %+v", as)
		}
		g := gaps(as)
		if g[0] < 120*time.Second || g[0] > 120*time.Second+poll {
			t.Errorf("retry after Retry-After: 120 came %v later", g[0])
		}
		if as[2].at.Before(dateAt) || as[2].at.After(dateAt.Add(poll)) {
			t.Errorf("retry after Retry-After: %v came at %v", dateAt, as[2].at)
		}
		// Attempt 3 of the backoff: [20s, 40s] with Initial 10s.
		if g[2] < 20*time.Second || g[2] > 40*time.Second+poll {
			t.Errorf("retry after a Retry-After below the backoff came %v later, want within [20s, 40s]", g[2])
		}
	})
}

// A destination that stays down: the head is retried (at most Max apart)
// for MaxAge (default 24 h) and then dead-lettered; events that waited as
// long behind it are dead-lettered at once; a younger event gets its own
// full MaxAge.
func TestFakeTimeExpiryAfterDefaultMaxAge(t *testing.T) {
	t.Parallel()
	inBubble(t, func(t *testing.T, st store.Store) {
		const poll = 5 * time.Minute
		f := newFakeEnv(t, st, export.Options{Poll: poll}, func(int, string) (int, http.Header) {
			return http.StatusBadGateway, nil
		})
		f.exportAll("a1")
		f.appendEvents("ev", 3)
		t0 := f.start
		time.Sleep(12 * time.Hour)
		if _, err := appendEvents(f.st, "late", "rg", "Assessments", 1, 0); err != nil {
			t.Fatal(err)
		}
		f.eng.Notify()
		time.Sleep(12*time.Hour + 15*time.Minute)

		dls := f.deadLetters("a1")
		if len(dls) != 3 {
			t.Fatalf("dead letters at 24h15m: %d, want 3", len(dls))
		}
		as := f.rcv.log()
		var headAttempts int
		for _, a := range as {
			if a.id == "ev-000" {
				headAttempts++
			}
		}
		for i, d := range dls {
			if want := []string{"ev-000", "ev-001", "ev-002"}[i]; d.EventID != want {
				t.Errorf("dead letter %d is %s, want %s", i, d.EventID, want)
			}
			if !strings.Contains(d.Reason, "retries expired after 24h0m0s") || !strings.Contains(d.Reason, "502") || strings.Contains(d.Reason, fakeSig) {
				t.Errorf("reason %q", d.Reason)
			}
		}
		if age := dls[0].FailedAt.Sub(t0); age < 24*time.Hour || age > 24*time.Hour+export.DefaultBackoff.Max+poll {
			t.Errorf("head dead-lettered %v after its first failure, want just after 24h", age)
		}
		if dls[0].Attempts != headAttempts || headAttempts < 50 {
			t.Errorf("head dead letter says %d attempts; the receiver saw %d", dls[0].Attempts, headAttempts)
		}
		for _, d := range dls[1:] {
			if d.Attempts != 1 || d.FailedAt.Sub(dls[0].FailedAt) > poll {
				t.Errorf("dead letter %s: %d attempts at %v; want one attempt right after the head expired at %v", d.EventID, d.Attempts, d.FailedAt, dls[0].FailedAt)
			}
		}
		for i, g := range gaps(as) {
			if g > export.DefaultBackoff.Max+poll {
				t.Errorf("gap %d between attempts = %v, want at most the cap %v (+ poll)", i, g, export.DefaultBackoff.Max)
			}
		}
		h := f.health("a1")
		if h.QueueDepth != 1 || h.DeadLettered != 3 || h.Delivered != 0 {
			t.Fatalf("health at 24h15m = %+v", h)
		}
		// The late event is retried until its own 24 hours are up.
		time.Sleep(12 * time.Hour)
		dls = f.deadLetters("a1")
		if len(dls) != 4 || dls[3].EventID != "late-000" {
			t.Fatalf("dead letters at 36h15m: %d, want 4 ending with the late event", len(dls))
		}
		if age := dls[3].FailedAt.Sub(t0.Add(12 * time.Hour)); age < 24*time.Hour || age > 24*time.Hour+export.DefaultBackoff.Max+poll {
			t.Errorf("the late event was dead-lettered %v after it was queued, want just after 24h", age)
		}
		if h := f.health("a1"); h.QueueDepth != 0 || h.DeadLettered != 4 || strings.Contains(h.LastError, fakeSig) {
			t.Fatalf("health at 36h15m = %+v", h)
		}
	})
}

// A receiver that fails every third request still makes progress: the
// consecutive-failure count (and so the backoff) restarts whenever the head
// of the queue was delivered, and nothing expires.
func TestFakeTimeFlakyReceiverMakesSteadyProgress(t *testing.T) {
	t.Parallel()
	inBubble(t, func(t *testing.T, st store.Store) {
		f := newFakeEnv(t, st, export.Options{BatchSize: 20, Poll: time.Second}, func(n int, id string) (int, http.Header) {
			if n%3 == 0 {
				return http.StatusServiceUnavailable, nil
			}
			return http.StatusOK, nil
		})
		f.exportAll("a1")
		want := f.appendEvents("ev", 200)
		time.Sleep(10 * time.Minute)
		var got []string
		for _, a := range f.rcv.log() {
			if a.status == http.StatusOK {
				got = append(got, a.id)
			}
		}
		if len(f.deadLetters("a1")) != 0 || len(got) != len(want) {
			t.Fatalf("after 10 minutes: %d of %d delivered, %d dead letters", len(got), len(want), len(f.deadLetters("a1")))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("delivery %d is %s, want %s", i, got[i], want[i])
			}
		}
		// 100 failures, each followed by a first retry of 0.5-1 s.
		last := f.rcv.log()[len(f.rcv.log())-1].at
		if d := last.Sub(f.start); d > 5*time.Minute {
			t.Errorf("200 events through a receiver failing one request in three took %v", d)
		}
	})
}

// Events appended without Notify are found by polling.
func TestFakeTimePollFindsEventsWithoutNotify(t *testing.T) {
	inBubble(t, func(t *testing.T, st store.Store) {
		const poll = 3 * time.Second
		f := newFakeEnv(t, st, export.Options{Poll: poll}, nil)
		f.exportAll("a1")
		time.Sleep(10 * time.Second)
		if _, err := appendEvents(f.st, "quiet", "rg", "Assessments", 2, 0); err != nil {
			t.Fatal(err)
		}
		appended := time.Now()
		time.Sleep(2 * poll)
		as := f.rcv.log()
		if len(as) != 2 || as[0].id != "quiet-000" || as[1].id != "quiet-001" {
			t.Fatalf("attempts = %+v", as)
		}
		if d := as[0].at.Sub(appended); d > poll {
			t.Fatalf("delivered %v after the append, want within one poll (%v)", d, poll)
		}
	})
}

// A connection refused for longer than the backoff cap but less than
// MaxAge loses nothing.
func TestFakeTimeDownForHoursLosesNothing(t *testing.T) {
	t.Parallel()
	inBubble(t, func(t *testing.T, st store.Store) {
		var mu sync.Mutex
		down := true
		const poll = 5 * time.Minute
		f := newFakeEnv(t, st, export.Options{Poll: poll}, func(int, string) (int, http.Header) {
			mu.Lock()
			defer mu.Unlock()
			if down {
				return 0, nil
			}
			return http.StatusOK, nil
		})
		f.exportAll("a1")
		want := f.appendEvents("ev", 30)
		time.Sleep(20 * time.Hour)
		h := f.health("a1")
		if h.QueueDepth != 30 || h.Attempts < 10 || !strings.Contains(h.LastError, "connection refused") || strings.Contains(h.LastError, fakeSig) {
			t.Fatalf("health after 20 hours down = %+v", h)
		}
		if age := time.Duration(float64(h.OldestAge) * float64(time.Second)); age < 20*time.Hour-poll || age > 20*time.Hour {
			t.Fatalf("oldest undelivered age %v, want about 20h", age)
		}
		mu.Lock()
		down = false
		mu.Unlock()
		time.Sleep(export.DefaultBackoff.Max + 2*poll)
		var got []string
		for _, a := range f.rcv.log() {
			if a.status == http.StatusOK {
				got = append(got, a.id)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("delivered after recovery = %v, want %v", got, want)
		}
		if h := f.health("a1"); h.Delivered != 30 || h.DeadLettered != 0 || h.QueueDepth != 0 || h.OldestAge != 0 {
			t.Fatalf("health after recovery = %+v", h)
		}
	})
}
