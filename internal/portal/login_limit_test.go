package portal

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)} }
func failN(l *loginLimiter, n int, k string) {
	for range n {
		l.fail(k)
	}
}

func TestLimiterLocksAfterFiveFailuresAndGrows(t *testing.T) {
	c := newFakeClock()
	l := newLoginLimiter(c.now)
	k := userKey("Alice")
	failN(l, limitPerUser-1, k)
	if w := l.blocked(k); w != 0 {
		t.Fatalf("locked after %d failures for %s", limitPerUser-1, w)
	}
	l.fail(k)
	if w := l.blocked(k); w != time.Minute {
		t.Fatalf("after %d failures the lock is %s, want 1m", limitPerUser, w)
	}
	// The same name in other spellings is the same key.
	if w := l.blocked(userKey("  alice ")); w != time.Minute {
		t.Fatalf("the key ignores case and spaces: lock %s", w)
	}
	if w := l.blocked(userKey("bob")); w != 0 {
		t.Fatalf("another user is locked for %s", w)
	}
	// Every failure after a lock locks again, twice as long.
	for _, want := range []time.Duration{2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour} {
		c.add(l.blocked(k))
		if w := l.blocked(k); w != 0 {
			t.Fatalf("still locked for %s when the lock should be over", w)
		}
		l.fail(k)
		if w := l.blocked(k); w != want {
			t.Fatalf("lock = %s, want %s", w, want)
		}
	}
	// 15 quiet minutes after the lock ends forget the key: five tries again.
	c.add(l.blocked(k) + limitWindow)
	failN(l, limitPerUser-1, k)
	if w := l.blocked(k); w != 0 {
		t.Fatalf("a forgotten key is locked for %s after %d failures", w, limitPerUser-1)
	}
}

func TestLimiterWindow(t *testing.T) {
	c := newFakeClock()
	l := newLoginLimiter(c.now)
	k := userKey("carol")
	// Four failures, then 16 minutes: the window restarts, four more do not lock.
	failN(l, 4, k)
	c.add(limitWindow + time.Minute)
	failN(l, 4, k)
	if w := l.blocked(k); w != 0 {
		t.Fatalf("failures from an old window count: locked %s", w)
	}
	c.add(time.Minute)
	l.fail(k)
	if w := l.blocked(k); w != time.Minute {
		t.Fatalf("5 failures within 15 minutes: lock %s, want 1m", w)
	}
}

func TestLimiterSuccessForgetsUser(t *testing.T) {
	c := newFakeClock()
	l := newLoginLimiter(c.now)
	k := userKey("dave")
	failN(l, 4, k)
	l.succeed(k)
	failN(l, 4, k)
	if w := l.blocked(k); w != 0 {
		t.Fatalf("a sign-in did not reset the user's failures: locked %s", w)
	}
}

func TestLimiterPerIPThreshold(t *testing.T) {
	c := newFakeClock()
	l := newLoginLimiter(c.now)
	r := httptest.NewRequest("POST", "/portal/login", nil)
	r.RemoteAddr = "192.0.2.7:51234"
	ip := ipKey(r)
	if ip != "ip:192.0.2.7" {
		t.Fatalf("ipKey = %q", ip)
	}
	// Different user names from one address: the address locks after limitPerIP.
	for i := range limitPerIP - 1 {
		l.fail(userKey(fmt.Sprint("user", i)), ip)
	}
	if w := l.blocked(userKey("someone-else"), ip); w != 0 {
		t.Fatalf("address locked after %d failures", limitPerIP-1)
	}
	l.fail(userKey("user-last"), ip)
	if w := l.blocked(userKey("someone-else"), ip); w != time.Minute {
		t.Fatalf("address lock = %s after %d failures, want 1m", w, limitPerIP)
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	c := newFakeClock()
	l := newLoginLimiter(c.now)
	l.maxKeys = 100
	locked := userKey("victim")
	failN(l, limitPerUser, locked)
	for i := range 1000 {
		c.add(10 * time.Millisecond) // the flood lasts 10 s, within the victim's lock
		l.fail(userKey(fmt.Sprint("flood-", i)))
		if n := l.size(); n > l.maxKeys {
			t.Fatalf("%d keys held, bound %d", n, l.maxKeys)
		}
	}
	// Unlocked entries are evicted before locked ones.
	if w := l.blocked(locked); w <= 0 {
		t.Fatal("a flood of unknown names evicted a locked key")
	}
	// Entries quiet for a whole window go first.
	c.add(limitWindow + time.Hour)
	l.fail(userKey("new"))
	if n := l.size(); n != 1 {
		t.Fatalf("%d keys after every other key went quiet, want 1", n)
	}
}

func TestRetryText(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Second: "1 minute", time.Minute: "1 minute", 61 * time.Second: "2 minutes", time.Hour: "60 minutes"} {
		if got := retryText(d); got != want {
			t.Errorf("retryText(%s) = %q, want %q", d, got, want)
		}
	}
}
