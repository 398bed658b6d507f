package export

import (
	"testing"
	"time"
)

func TestScheduleSlots(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Schedule{Interval: 7 * 24 * time.Hour, Start: start}
	tests := []struct {
		name      string
		now       time.Time
		due, next time.Time
	}{
		{"before_start", start.Add(-time.Hour), time.Time{}, start},
		{"at_start", start, start, start.Add(7 * 24 * time.Hour)},
		{"mid_week", start.Add(3 * 24 * time.Hour), start, start.Add(7 * 24 * time.Hour)},
		{"just_before_second_slot", start.Add(7*24*time.Hour - time.Nanosecond), start, start.Add(7 * 24 * time.Hour)},
		{"at_second_slot", start.Add(7 * 24 * time.Hour), start.Add(7 * 24 * time.Hour), start.Add(14 * 24 * time.Hour)},
		{"third_week", start.Add(15 * 24 * time.Hour), start.Add(14 * 24 * time.Hour), start.Add(21 * 24 * time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Due(tc.now); !got.Equal(tc.due) {
				t.Errorf("Due(%v) = %v, want %v", tc.now, got, tc.due)
			}
			if got := s.Next(tc.now); !got.Equal(tc.next) {
				t.Errorf("Next(%v) = %v, want %v", tc.now, got, tc.next)
			}
		})
	}
}

// A zero or negative interval falls back to weekly instead of dividing by
// zero.
func TestScheduleWithoutIntervalIsWeekly(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, iv := range []time.Duration{0, -time.Hour} {
		s := Schedule{Interval: iv, Start: start}
		now := start.Add(8 * 24 * time.Hour)
		if got, want := s.Due(now), start.Add(7*24*time.Hour); !got.Equal(want) {
			t.Errorf("interval %v: Due = %v, want %v", iv, got, want)
		}
		if got, want := s.Next(now), start.Add(14*24*time.Hour); !got.Equal(want) {
			t.Errorf("interval %v: Next = %v, want %v", iv, got, want)
		}
	}
}

func TestBackoffGrowsAndHonoursRetryAfter(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: time.Minute}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second,
		6: 32 * time.Second, 7: time.Minute, 10: time.Minute, 1 << 20: time.Minute} {
		for i := 0; i < 50; i++ {
			got := b.Delay(attempt, 0)
			if got < want/2 || got > want {
				t.Fatalf("Delay(%d) = %v, want within [%v, %v]", attempt, got, want/2, want)
			}
		}
	}
	if got := b.Delay(1, 30*time.Second); got != 30*time.Second {
		t.Fatalf("Delay with Retry-After 30s = %v", got)
	}
	// Retry-After is a floor even above the cap.
	if got := b.Delay(20, 10*time.Minute); got != 10*time.Minute {
		t.Fatalf("Delay with Retry-After 10m beyond the 1m cap = %v", got)
	}
	// A Retry-After below the backoff does not shorten it.
	if got := b.Delay(3, time.Millisecond); got < 2*time.Second {
		t.Fatalf("Delay(3) with Retry-After 1ms = %v, want at least 2s", got)
	}
}

func TestBackoffEdgeAttempts(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: time.Minute}
	for _, attempt := range []int{0, -5} {
		if got := b.Delay(attempt, 0); got < time.Second/2 || got > time.Second {
			t.Errorf("Delay(%d) = %v, want as for the first retry", attempt, got)
		}
	}
	// An initial delay above the cap is capped.
	big := Backoff{Initial: time.Hour, Max: time.Minute}
	if got := big.Delay(1, 0); got < 30*time.Second || got > time.Minute {
		t.Errorf("Delay with Initial above Max = %v", got)
	}
}

// The jitter spreads retries over [d/2, d] rather than clustering them.
func TestBackoffJitterSpreads(t *testing.T) {
	b := DefaultBackoff
	d := 8 * time.Second // attempt 4
	lo, hi := d, time.Duration(0)
	seen := map[time.Duration]bool{}
	for i := 0; i < 500; i++ {
		got := b.Delay(4, 0)
		lo, hi = min(lo, got), max(hi, got)
		seen[got] = true
	}
	if lo > d*6/10 || hi < d*9/10 || len(seen) < 400 {
		t.Fatalf("500 delays spread over [%v, %v] with %d distinct values; want most of [%v, %v]", lo, hi, len(seen), d/2, d)
	}
}
