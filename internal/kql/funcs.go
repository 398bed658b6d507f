package kql

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// This file holds the Go implementations of the KQL semantics that SQL
// does not have (Unicode case folding, term matching, RE2, Kusto's
// conversions and formats). The SQLite dialect registers them as SQL
// functions; the compiler uses them to fold constants, so that a constant
// and a column value convert alike.

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldPair returns h and n ready for a case-insensitive byte search.
func foldPair(h, n string) (string, string) {
	if isASCII(h) && isASCII(n) {
		return asciiLower(h), asciiLower(n)
	}
	return strings.ToLower(h), strings.ToLower(n)
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func kqlContains(h, n string, cs bool) bool {
	if !cs {
		h, n = foldPair(h, n)
	}
	return strings.Contains(h, n)
}

func kqlStartsWith(h, n string, cs bool) bool {
	if !cs {
		h, n = foldPair(h, n)
	}
	return strings.HasPrefix(h, n)
}

func kqlEndsWith(h, n string, cs bool) bool {
	if !cs {
		h, n = foldPair(h, n)
	}
	return strings.HasSuffix(h, n)
}

func isAlnum(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// kqlTerm reports whether n occurs in h on term boundaries: where n starts
// (ends) with a letter or digit, the byte before (after) the occurrence
// must not be one. prefix/suffix relax the end/start boundary (hasprefix,
// hassuffix).
func kqlTerm(h, n string, cs, prefix, suffix bool) bool {
	if n == "" {
		return true
	}
	if !cs {
		h, n = foldPair(h, n)
	}
	checkStart := isAlnum(n[0]) && !suffix
	checkEnd := isAlnum(n[len(n)-1]) && !prefix
	for off := 0; off <= len(h)-len(n); {
		i := strings.Index(h[off:], n)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(n)
		okStart := !checkStart || i == 0 || !isAlnum(h[i-1])
		okEnd := !checkEnd || end == len(h) || !isAlnum(h[end])
		if okStart && okEnd {
			return true
		}
		off = i + 1
	}
	return false
}

// regexCache keeps compiled patterns; it is cleared when it grows past
// regexCacheMax so that queries with computed patterns cannot grow it
// without bound.
var regexCache = struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}{m: map[string]*regexp.Regexp{}}

const regexCacheMax = 1000

func compileRegex(pattern string) (*regexp.Regexp, error) {
	regexCache.Lock()
	re, ok := regexCache.m[pattern]
	regexCache.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	regexCache.Lock()
	if len(regexCache.m) >= regexCacheMax {
		regexCache.m = map[string]*regexp.Regexp{}
	}
	regexCache.m[pattern] = re
	regexCache.Unlock()
	return re, nil
}

func kqlExtract(re *regexp.Regexp, group int64, s string) string {
	if group < 0 || group > int64(re.NumSubexp()) {
		return ""
	}
	m := re.FindStringSubmatchIndex(s)
	if m == nil || m[2*group] < 0 {
		return ""
	}
	return s[m[2*group]:m[2*group+1]]
}

// kqlSubstring is substring(s, start, length) on characters; a negative
// length means to the end. Out-of-range bounds are clipped.
func kqlSubstring(s string, start, length int64) string {
	if start < 0 {
		start = 0
	}
	var b strings.Builder
	i := int64(0)
	for _, r := range s {
		if i >= start && (length < 0 || i < start+length) {
			b.WriteRune(r)
		}
		i++
	}
	return b.String()
}

func kqlIndexOf(s, lookup string) int64 {
	i := strings.Index(s, lookup)
	if i < 0 {
		return -1
	}
	return int64(utf8.RuneCountInString(s[:i]))
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	// json.Marshal escapes <, > and &; undo that for readable output.
	out := string(b)
	if strings.Contains(out, `\u00`) {
		out = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(out)
	}
	return out
}

func jsonStrings(parts []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonString(p))
	}
	b.WriteByte(']')
	return b.String()
}

func kqlSplit(s, delim string) string {
	if delim == "" {
		return jsonStrings([]string{s})
	}
	return jsonStrings(strings.Split(s, delim))
}

func kqlSplitAt(s, delim string, i int64) string {
	var parts []string
	if delim == "" {
		parts = []string{s}
	} else {
		parts = strings.Split(s, delim)
	}
	if i < 0 {
		i += int64(len(parts))
	}
	if i < 0 || i >= int64(len(parts)) {
		return "[]"
	}
	return jsonStrings(parts[i : i+1])
}

// formatReal renders a real as tostring() does.
func formatReal(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// dynString is tostring() of a dynamic (JSON text): a JSON string yields
// its content, null yields "", anything else its JSON text.
func dynString(j string) string {
	j = strings.TrimSpace(j)
	if j == "" || j == "null" {
		return ""
	}
	if j[0] == '"' {
		var s string
		if json.Unmarshal([]byte(j), &s) == nil {
			return s
		}
	}
	return j
}

// parseJSON is parse_json(s): valid JSON is kept (compacted); any other
// string becomes a JSON string.
func parseJSON(s string) string {
	t := strings.TrimSpace(s)
	if t != "" && json.Valid([]byte(t)) {
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(t)); err == nil {
			return b.String()
		}
	}
	return jsonString(s)
}

// toLong converts a native value (or the string of one) to long.
func toLong(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if math.IsNaN(x) || x > math.MaxInt64 || x < math.MinInt64 {
			return 0, false
		}
		return int64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return toLong(f)
		}
	case []byte:
		return toLong(string(x))
	}
	return 0, false
}

func toReal(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		s := strings.TrimSpace(x)
		switch strings.ToLower(s) {
		case "nan":
			return math.NaN(), true
		case "inf", "+inf", "infinity", "+infinity":
			return math.Inf(1), true
		case "-inf", "-infinity":
			return math.Inf(-1), true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, true
		}
	case []byte:
		return toReal(string(x))
	}
	return 0, false
}

func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case int64:
		return x != 0, true
	case float64:
		return x != 0, true
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
	case []byte:
		return toBool(string(x))
	}
	return false, false
}

func toDatetime(v any) (int64, bool) {
	switch x := v.(type) {
	case string:
		return parseDatetime(x)
	case []byte:
		return parseDatetime(string(x))
	case time.Time:
		return TimeToTicks(x), true
	}
	return 0, false
}

func toTimespan(v any) (int64, bool) {
	switch x := v.(type) {
	case string:
		return parseSpan(x)
	case []byte:
		return parseSpan(string(x))
	case int64:
		return x, true
	}
	return 0, false
}

// period returns the start of the day, week (Sunday), month or year that
// holds the datetime ticks, or the last tick of it when end is set.
func period(ticks int64, unit string, end bool) (int64, bool) {
	t := TicksToTime(ticks)
	var start, next time.Time
	switch unit {
	case "day":
		start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		next = start.AddDate(0, 0, 1)
	case "week":
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		start = d.AddDate(0, 0, -int(d.Weekday()))
		next = start.AddDate(0, 0, 7)
	case "month":
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		next = start.AddDate(0, 1, 0)
	case "year":
		start = time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		next = start.AddDate(1, 0, 0)
	default:
		return 0, false
	}
	if end {
		return TimeToTicks(next) - 1, true
	}
	return TimeToTicks(start), true
}

// elemJSON is json(x, type) for constants: the dynamic form of a native
// value.
func elemJSON(t Type, v any) (string, bool) {
	if v == nil {
		return "null", true
	}
	switch t {
	case String, GUID:
		s, ok := v.(string)
		return jsonString(s), ok
	case Int, Long:
		n, ok := v.(int64)
		return strconv.FormatInt(n, 10), ok
	case Real:
		f, ok := v.(float64)
		if !ok {
			return "", false
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return jsonString(formatReal(f)), true
		}
		return strconv.FormatFloat(f, 'g', -1, 64), true
	case Bool:
		b, ok := v.(bool)
		return strconv.FormatBool(b), ok
	case DateTime:
		n, ok := v.(int64)
		return jsonString(formatTicks(n)), ok
	case Timespan:
		n, ok := v.(int64)
		return jsonString(formatSpan(n)), ok
	case Dynamic:
		s, ok := v.(string)
		return s, ok
	}
	return "", false
}
