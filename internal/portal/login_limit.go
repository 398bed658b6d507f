package portal

import (
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"
	"weak"

	"sluice/internal/users"
)

// The failed-sign-in limits of the login form. Failures count per user
// name (whether or not the user exists, so the answer reveals nothing) and
// per client IP address, which gets a higher threshold because an office
// shares one address.
const (
	// limitWindow: a key's failures count within this window; a key with
	// no failure (and no lock) for this long is forgotten.
	limitWindow = 15 * time.Minute
	// limitPerUser and limitPerIP failures within the window lock a key.
	limitPerUser = 5
	limitPerIP   = 20
	// limitFirstLock is the first lock; each failure after a lock doubles
	// it, up to limitMaxLock.
	limitFirstLock = time.Minute
	limitMaxLock   = time.Hour
	// limitMaxKeys bounds the limiter's memory.
	limitMaxKeys = 10000
)

// loginLimiter counts failed sign-ins per key and locks keys that fail too
// often, for a delay that grows with each further failure.
type loginLimiter struct {
	now     func() time.Time
	maxKeys int

	mu      sync.Mutex
	entries map[string]*limitEntry
}

type limitEntry struct {
	start    time.Time // of the counting window
	count    int       // failures in the window
	last     time.Time // latest failure
	locks    int       // locks since the key was last forgotten
	lockedTo time.Time
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, maxKeys: limitMaxKeys, entries: map[string]*limitEntry{}}
}

// userKey and ipKey name the limiter's keys of a sign-in attempt.
func userKey(name string) string { return "user:" + users.Key(name) }

func ipKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host
}

func limitFor(key string) int {
	if len(key) > 3 && key[:3] == "ip:" {
		return limitPerIP
	}
	return limitPerUser
}

// blocked returns how long the first locked key of keys stays locked, or 0.
func (l *loginLimiter) blocked(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		if e := l.entries[k]; e != nil && now.Before(e.lockedTo) {
			wait = max(wait, e.lockedTo.Sub(now))
		}
	}
	return wait
}

// fail records a failed sign-in for each key.
func (l *loginLimiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		e := l.entries[k]
		if e != nil && l.forgettable(e, now) {
			e = nil
		}
		if e == nil {
			l.makeRoom(now)
			e = &limitEntry{start: now}
			l.entries[k] = e
		}
		if now.Sub(e.start) > limitWindow {
			e.start, e.count = now, 0
		}
		e.count++
		e.last = now
		threshold := limitFor(k)
		if e.locks > 0 {
			threshold = 1 // after a lock, every failure locks again, longer
		}
		if e.count >= threshold {
			d := limitFirstLock << min(e.locks, 16)
			e.locks++
			e.lockedTo = now.Add(min(d, limitMaxLock))
			e.start, e.count = now, 0
		}
	}
}

// succeed forgets the failures of key (a user who signed in).
func (l *loginLimiter) succeed(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

// forgettable: no failure and no lock for a whole window.
func (l *loginLimiter) forgettable(e *limitEntry, now time.Time) bool {
	quiet := e.last
	if e.lockedTo.After(quiet) {
		quiet = e.lockedTo
	}
	return now.Sub(quiet) >= limitWindow
}

// makeRoom keeps the limiter within maxKeys: it drops forgettable entries
// and, if that is not enough, the entry with the oldest failure, preferring
// unlocked ones.
func (l *loginLimiter) makeRoom(now time.Time) {
	if len(l.entries) < l.maxKeys {
		return
	}
	var victim string
	var vLocked bool
	var vLast time.Time
	for k, e := range l.entries {
		if l.forgettable(e, now) {
			delete(l.entries, k)
			continue
		}
		locked := now.Before(e.lockedTo)
		if victim == "" || vLocked && !locked || vLocked == locked && e.last.Before(vLast) {
			victim, vLocked, vLast = k, locked, e.last
		}
	}
	if len(l.entries) >= l.maxKeys {
		delete(l.entries, victim)
	}
}

// size is the number of keys held (for tests).
func (l *loginLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// retryText says how long to wait, in whole minutes (at least one).
func retryText(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "1 minute"
	}
	return strconv.Itoa(m) + " minutes"
}

// Each Portal has its own limiter. Portal's fields are shared with other
// pages, so the limiter is kept beside it, keyed weakly: it goes away
// with its Portal.
var (
	limitersMu sync.Mutex
	limiters   = map[weak.Pointer[Portal]]*loginLimiter{}
)

// loginLimit returns the portal's limiter, creating it on first use.
func (p *Portal) loginLimit() *loginLimiter {
	wp := weak.Make(p)
	limitersMu.Lock()
	defer limitersMu.Unlock()
	if l := limiters[wp]; l != nil {
		return l
	}
	now := p.Now
	if now == nil {
		now = time.Now
	}
	l := newLoginLimiter(now)
	limiters[wp] = l
	runtime.AddCleanup(p, func(wp weak.Pointer[Portal]) {
		limitersMu.Lock()
		delete(limiters, wp)
		limitersMu.Unlock()
	}, wp)
	return l
}

// limitLogin refuses a sign-in attempt whose user name or address failed
// too often (429 with Retry-After); it reports whether it answered.
func (p *Portal) limitLogin(w http.ResponseWriter, r *http.Request, name string, data *loginData) bool {
	wait := p.loginLimit().blocked(userKey(name), ipKey(r))
	if wait <= 0 {
		return false
	}
	p.Log.Warn("portal sign-in throttled", "user", name, "ip", ipKey(r)[3:])
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	p.render(w, r, http.StatusTooManyRequests, "login", &View{Title: "Sign in", Error: true, Data: data,
		Flash: fmt.Sprintf("Too many failed sign-ins for this user name or from this address. Try again in %s.", retryText(wait))})
	return true
}

// loginFailed and loginSucceeded record the outcome of a password check.
func (p *Portal) loginFailed(r *http.Request, name string) {
	p.loginLimit().fail(userKey(name), ipKey(r))
}

func (p *Portal) loginSucceeded(name string) { p.loginLimit().succeed(userKey(name)) }
