package kql

import (
	"math"
	"testing"
	"time"
)

func TestTermMatching(t *testing.T) {
	for _, c := range []struct {
		h, n             string
		cs, pre, suf, ok bool
	}{
		{h: "North America", n: "america", ok: true},
		{h: "North America", n: "meric"},
		{h: "North America", n: "america", cs: true},
		{h: "North America", n: "America", cs: true, ok: true},
		{h: "a.b-c", n: "b-c", ok: true},
		{h: "xb-c", n: "b-c"},
		{h: "abc abcd", n: "abcd", ok: true},
		{h: "abcd abc", n: "abc", ok: true},
		{h: "abcabc", n: "abc"},
		{h: "[error] disk", n: "[error]", ok: true},
		{h: "x", n: "", ok: true},
		{h: "KustoExplorerQueryRun", n: "kusto", pre: true, ok: true},
		{h: "KustoExplorerQueryRun", n: "query", pre: true},
		{h: "KustoExplorerQueryRun", n: "run", suf: true, ok: true},
		{h: "ÉCOLE publique", n: "école", ok: true},
	} {
		if got := kqlTerm(c.h, c.n, c.cs, c.pre, c.suf); got != c.ok {
			t.Errorf("kqlTerm(%q, %q, cs=%v, prefix=%v, suffix=%v) = %v", c.h, c.n, c.cs, c.pre, c.suf, got)
		}
	}
}

func TestCaseInsensitiveContains(t *testing.T) {
	for _, c := range []struct {
		h, n string
		ok   bool
	}{
		{"FabriKam", "BRik", true}, {"FabriKam", "xyz", false}, {"STRASSE", "strasse", true},
		{"Ünïcode", "ÜNÏ", true}, {"", "", true}, {"a", "", true},
	} {
		if got := kqlContains(c.h, c.n, false); got != c.ok {
			t.Errorf("contains(%q, %q) = %v", c.h, c.n, got)
		}
	}
	if kqlContains("FabriKam", "brik", true) || !kqlStartsWith("Fabrikam", "FAB", false) || kqlStartsWith("Fabrikam", "FAB", true) ||
		!kqlEndsWith("Fabrikam", "KAM", false) || kqlEndsWith("Fabrikam", "KAM", true) {
		t.Error("case-sensitive variants")
	}
}

func TestSpanFormatting(t *testing.T) {
	for _, c := range []struct {
		ticks int64
		want  string
	}{
		{0, "00:00:00"}, {ticksPerSecond, "00:00:01"}, {ticksPerDay + 2*ticksPerHour + 3*ticksPerMinute + 4*ticksPerSecond + 5, "1.02:03:04.0000005"},
		{-ticksPerMinute * 90, "-01:30:00"}, {ticksPerMilli * 1500, "00:00:01.5000000"}, {math.MinInt64, "-10675199.02:48:05.4775808"},
	} {
		if got := formatSpan(c.ticks); got != c.want {
			t.Errorf("formatSpan(%d) = %q, want %q", c.ticks, got, c.want)
		}
		if c.ticks == math.MinInt64 {
			continue
		}
		if back, ok := parseSpan(c.want); !ok || back != c.ticks {
			t.Errorf("parseSpan(%q) = %d, %v; want %d", c.want, back, ok, c.ticks)
		}
	}
	for _, bad := range []string{"", "x", "1:2:3:4", "25:00:00", "00:61:00", "1.5.00:00", "00:00:00.12a", "99999999999999999999d"} {
		if _, ok := parseSpan(bad); ok {
			t.Errorf("parseSpan(%q) accepted", bad)
		}
	}
}

func TestDatetimeParsing(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2026-11-20", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)},
		{"2026-11-20T10:11:12Z", time.Date(2026, 11, 20, 10, 11, 12, 0, time.UTC)},
		{"2026-11-20T10:11:12.1234567Z", time.Date(2026, 11, 20, 10, 11, 12, 123456700, time.UTC)},
		{"2026-11-20T12:00:00+02:00", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)},
		{"2026-11-20 10:11", time.Date(2026, 11, 20, 10, 11, 0, 0, time.UTC)},
		{"Fri, 20 Nov 2026 10:11:12 GMT", time.Date(2026, 11, 20, 10, 11, 12, 0, time.UTC)},
		{"11/20/2026 10:11:12 AM", time.Date(2026, 11, 20, 10, 11, 12, 0, time.UTC)},
		{"0001-01-01T00:00:00Z", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		got, ok := parseDatetime(c.in)
		if !ok || got != TimeToTicks(c.want) {
			t.Errorf("parseDatetime(%q) = %v, %v; want %v", c.in, TicksToTime(got), ok, c.want)
		}
	}
	for _, bad := range []string{"", "now", "2026-13-01", "20261120"} {
		if _, ok := parseDatetime(bad); ok {
			t.Errorf("parseDatetime(%q) accepted", bad)
		}
	}
	if got := formatTicks(TimeToTicks(time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC))); got != "2026-01-02T03:04:05.6Z" {
		t.Errorf("formatTicks = %q", got)
	}
	if TicksToTime(-1) != time.Date(1969, 12, 31, 23, 59, 59, 999999900, time.UTC) {
		t.Errorf("TicksToTime(-1) = %v", TicksToTime(-1))
	}
}

func TestPeriods(t *testing.T) {
	at := TimeToTicks(time.Date(2026, 11, 20, 13, 47, 0, 0, time.UTC)) // a Friday
	for _, c := range []struct {
		unit string
		end  bool
		want time.Time
	}{
		{"day", false, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)},
		{"week", false, time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)},
		{"month", false, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"year", false, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"month", true, time.Date(2026, 11, 30, 23, 59, 59, 999999900, time.UTC)},
		{"year", true, time.Date(2026, 12, 31, 23, 59, 59, 999999900, time.UTC)},
	} {
		got, ok := period(at, c.unit, c.end)
		if !ok || got != TimeToTicks(c.want) {
			t.Errorf("period(%s, end=%v) = %v", c.unit, c.end, TicksToTime(got))
		}
	}
	if _, ok := period(at, "hour", false); ok {
		t.Error("period(hour) accepted")
	}
}

func TestConversions(t *testing.T) {
	if n, ok := toLong(" 42 "); !ok || n != 42 {
		t.Errorf("toLong(42) = %d %v", n, ok)
	}
	if n, ok := toLong("4.9"); !ok || n != 4 {
		t.Errorf("toLong(4.9) = %d %v", n, ok)
	}
	for _, bad := range []any{"x", nil, math.NaN(), 1e300, "NaN"} {
		if _, ok := toLong(bad); ok {
			t.Errorf("toLong(%v) accepted", bad)
		}
	}
	if f, ok := toReal("-inf"); !ok || !math.IsInf(f, -1) {
		t.Errorf("toReal(-inf) = %v %v", f, ok)
	}
	if b, ok := toBool("TRUE"); !ok || !b {
		t.Error("toBool(TRUE)")
	}
	if _, ok := toBool("yes"); ok {
		t.Error("toBool(yes) accepted")
	}
	for in, want := range map[string]string{`"a\"b"`: `a"b`, `null`: ``, `{"a":1}`: `{"a":1}`, ` 5 `: `5`, `true`: `true`} {
		if got := dynString(in); got != want {
			t.Errorf("dynString(%s) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{`{ "a" : 1 }`: `{"a":1}`, `not json`: `"not json"`, ``: `""`, `<b>&`: `"<b>&"`} {
		if got := parseJSON(in); got != want {
			t.Errorf("parseJSON(%q) = %s, want %s", in, got, want)
		}
	}
	if got := kqlSplitAt("a/b/c", "/", -1); got != `["c"]` {
		t.Errorf("split at -1 = %s", got)
	}
	if got := kqlSubstring("héllo", -2, 2); got != "hé" {
		t.Errorf("substring = %q", got)
	}
	if got := kqlIndexOf("héllo", "llo"); got != 2 {
		t.Errorf("indexof = %d", got)
	}
}

func TestRegexCacheIsBounded(t *testing.T) {
	for i := 0; i < regexCacheMax+10; i++ {
		if _, err := compileRegex("x" + string(rune('a'+i%26)) + formatSpan(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	regexCache.Lock()
	n := len(regexCache.m)
	regexCache.Unlock()
	if n > regexCacheMax {
		t.Errorf("cache holds %d patterns, max %d", n, regexCacheMax)
	}
}
