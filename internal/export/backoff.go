package export

import (
	"math/rand/v2"
	"time"
)

// Backoff computes retry delays: exponential from Initial, doubling up to
// Max, with full jitter in [d/2, d], and never shorter than a destination's
// Retry-After.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// DefaultBackoff starts at one second and caps at five minutes.
var DefaultBackoff = Backoff{Initial: time.Second, Max: 5 * time.Minute}

// Delay returns the wait before retry number attempt (1-based).
func (b Backoff) Delay(attempt int, retryAfter time.Duration) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := b.Initial
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if d > 1 {
		half := d / 2
		d = half + time.Duration(rand.Int64N(int64(d-half)+1))
	}
	return max(d, retryAfter)
}
