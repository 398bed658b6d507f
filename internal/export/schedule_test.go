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

func TestBackoffGrowsAndHonoursRetryAfter(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: time.Minute}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 10: time.Minute} {
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
}
