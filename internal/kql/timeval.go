package kql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Datetimes and timespans are counted in ticks of 100 ns, as .NET and
// Kusto count them; a datetime is ticks since the Unix epoch.
const (
	ticksPerMicro  int64 = 10
	ticksPerMilli  int64 = 10_000
	ticksPerSecond int64 = 10_000_000
	ticksPerMinute       = 60 * ticksPerSecond
	ticksPerHour         = 60 * ticksPerMinute
	ticksPerDay          = 24 * ticksPerHour

	// epochOffset is the number of ticks from 0001-01-01 to 1970-01-01:
	// Kusto bins datetimes relative to 0001-01-01 (a Monday), so bin(t, 7d)
	// starts weeks on Mondays.
	epochOffset int64 = 62135596800 * ticksPerSecond
)

// TimeToTicks converts a time to the stored datetime representation.
func TimeToTicks(t time.Time) int64 {
	return t.Unix()*ticksPerSecond + int64(t.Nanosecond())/100
}

// TicksToTime converts a stored datetime back to a UTC time.
func TicksToTime(ticks int64) time.Time {
	sec := ticks / ticksPerSecond
	rem := ticks % ticksPerSecond
	if rem < 0 {
		sec--
		rem += ticksPerSecond
	}
	return time.Unix(sec, rem*100).UTC()
}

// DurationToTicks converts a duration to the stored timespan
// representation.
func DurationToTicks(d time.Duration) int64 { return int64(d) / 100 }

// timeLayout is how datetimes are rendered: UTC, up to seven fractional
// digits with trailing zeros trimmed.
const timeLayout = "2006-01-02T15:04:05.9999999Z"

// formatTicks renders a datetime as the query API does.
func formatTicks(ticks int64) string { return TicksToTime(ticks).Format(timeLayout) }

// formatSpan renders a timespan as [-][d.]hh:mm:ss[.fffffff].
func formatSpan(ticks int64) string {
	var b strings.Builder
	u := uint64(ticks)
	if ticks < 0 {
		b.WriteByte('-')
		u = uint64(-(ticks + 1)) + 1
	}
	days := u / uint64(ticksPerDay)
	u %= uint64(ticksPerDay)
	if days > 0 {
		fmt.Fprintf(&b, "%d.", days)
	}
	h := u / uint64(ticksPerHour)
	u %= uint64(ticksPerHour)
	m := u / uint64(ticksPerMinute)
	u %= uint64(ticksPerMinute)
	s := u / uint64(ticksPerSecond)
	u %= uint64(ticksPerSecond)
	fmt.Fprintf(&b, "%02d:%02d:%02d", h, m, s)
	if u > 0 {
		fmt.Fprintf(&b, ".%07d", u)
	}
	return b.String()
}

// datetimeLayouts are the forms datetime literals and todatetime() accept.
var datetimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.9999999",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.9999999Z07:00",
	"2006-01-02 15:04:05.9999999",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006-01",
	"2006",
	time.RFC1123,
	time.RFC1123Z,
	time.RFC850,
	"Mon, 2 Jan 2006 15:04:05 MST",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 15:04:05",
	"1/2/2006",
}

// parseDatetime parses a datetime in one of the accepted forms; times
// without a zone are UTC.
func parseDatetime(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	for _, layout := range datetimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1 || t.Year() > 9999 {
				return 0, false
			}
			return TimeToTicks(t), true
		}
	}
	return 0, false
}

// parseSpan parses a timespan in KQL literal form (1d, 1.5h, 30m, 100ms)
// or .NET form ([-][d.]hh:mm[:ss[.fffffff]]).
func parseSpan(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	neg := false
	body := s
	if body[0] == '-' {
		neg = true
		body = body[1:]
	}
	var ticks int64
	var ok bool
	if strings.Contains(body, ":") {
		ticks, ok = parseClockSpan(body)
	} else {
		ticks, ok = parseUnitSpan(body)
	}
	if !ok {
		return 0, false
	}
	if neg {
		ticks = -ticks
	}
	return ticks, true
}

func parseUnitSpan(s string) (int64, bool) {
	i := 0
	for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
		i++
	}
	if i == 0 {
		return 0, false
	}
	unit := int64(ticksPerDay) // a bare number is days
	if i < len(s) {
		u, ok := spanUnits[strings.ToLower(s[i:])]
		if !ok {
			return 0, false
		}
		unit = u
	}
	if !strings.Contains(s[:i], ".") {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n > math.MaxInt64/unit {
			return 0, false
		}
		return n * unit, true
	}
	f, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || f*float64(unit) > math.MaxInt64/2 {
		return 0, false
	}
	return int64(math.Round(f * float64(unit))), true
}

// parseClockSpan parses [d.]hh:mm[:ss[.fffffff]].
func parseClockSpan(s string) (int64, bool) {
	var days int64
	if dot := strings.IndexByte(s, '.'); dot >= 0 && dot < strings.IndexByte(s, ':') {
		d, err := strconv.ParseInt(s[:dot], 10, 64)
		if err != nil || d > 10_000_000 {
			return 0, false
		}
		days = d
		s = s[dot+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, false
	}
	ticks := days*ticksPerDay + int64(h)*ticksPerHour + int64(m)*ticksPerMinute
	if len(parts) == 3 {
		sec, frac, _ := strings.Cut(parts[2], ".")
		sv, err := strconv.Atoi(sec)
		if err != nil || sv < 0 || sv > 59 {
			return 0, false
		}
		ticks += int64(sv) * ticksPerSecond
		if frac != "" {
			if len(frac) > 7 {
				frac = frac[:7]
			}
			for _, c := range []byte(frac) {
				if !isDigit(c) {
					return 0, false
				}
			}
			fv, _ := strconv.ParseInt(frac+strings.Repeat("0", 7-len(frac)), 10, 64)
			ticks += fv
		}
	}
	return ticks, true
}

// ParseTimespan reads the query API's "timespan": an ISO 8601 duration
// ending now (PT1H, P1D, P7D, P1M), or an interval start/end,
// start/duration or duration/end of RFC 3339 times.
func ParseTimespan(s string, now time.Time) (TimeRange, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return TimeRange{}, nil
	}
	bad := fmt.Errorf("invalid timespan %q: want an ISO 8601 duration or interval", s)
	first, second, interval := strings.Cut(s, "/")
	if !interval {
		d, ok := parseISODuration(first)
		if !ok {
			return TimeRange{}, bad
		}
		return TimeRange{Start: d.before(now), End: now}, nil
	}
	start, err1 := time.Parse(time.RFC3339Nano, first)
	end, err2 := time.Parse(time.RFC3339Nano, second)
	switch {
	case err1 == nil && err2 == nil:
	case err1 == nil:
		d, ok := parseISODuration(second)
		if !ok {
			return TimeRange{}, bad
		}
		end = d.after(start)
	case err2 == nil:
		d, ok := parseISODuration(first)
		if !ok {
			return TimeRange{}, bad
		}
		start = d.before(end)
	default:
		return TimeRange{}, bad
	}
	if end.Before(start) {
		return TimeRange{}, fmt.Errorf("invalid timespan %q: the end is before the start", s)
	}
	return TimeRange{Start: start.UTC(), End: end.UTC()}, nil
}

// isoDuration is an ISO 8601 duration: calendar parts and a clock part.
type isoDuration struct {
	years, months, days int
	clock               time.Duration
}

func (d isoDuration) before(t time.Time) time.Time {
	return t.AddDate(-d.years, -d.months, -d.days).Add(-d.clock)
}

func (d isoDuration) after(t time.Time) time.Time {
	return t.AddDate(d.years, d.months, d.days).Add(d.clock)
}

// parseISODuration reads PnYnMnWnDTnHnMnS (fractions only on the last
// clock part).
func parseISODuration(s string) (isoDuration, bool) {
	var d isoDuration
	if len(s) < 3 || (s[0] != 'P' && s[0] != 'p') {
		return d, false
	}
	s = strings.ToUpper(s[1:])
	inTime := false
	any := false
	for s != "" {
		if s[0] == 'T' {
			if inTime {
				return d, false
			}
			inTime = true
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return d, false
		}
		num, unit := s[:i], s[i]
		s = s[i+1:]
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f > 1e6 {
			return d, false
		}
		n := int(f)
		if !inTime && float64(n) != f {
			return d, false
		}
		any = true
		switch {
		case !inTime && unit == 'Y':
			d.years += n
		case !inTime && unit == 'M':
			d.months += n
		case !inTime && unit == 'W':
			d.days += 7 * n
		case !inTime && unit == 'D':
			d.days += n
		case inTime && unit == 'H':
			d.clock += time.Duration(f * float64(time.Hour))
		case inTime && unit == 'M':
			d.clock += time.Duration(f * float64(time.Minute))
		case inTime && unit == 'S':
			d.clock += time.Duration(f * float64(time.Second))
		default:
			return d, false
		}
	}
	return d, any
}
