package latables

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// TimeFormat is how datetime values are written: UTC with up to seven
// fractional digits, trailing zeros trimmed (the .NET round-trip form the
// Microsoft service writes).
const TimeFormat = "2006-01-02T15:04:05.9999999Z"

// AppendJSON appends the row as a JSON object with every non-null column.
func (r *Row) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	first := true
	for i, v := range r.Values {
		if v == nil {
			continue
		}
		dst = appendMember(dst, &first, r.Table.Columns[i].Name, v)
	}
	return append(dst, '}')
}

// AppendStreamJSON appends the row as a Logs Ingestion record: the
// non-null Data columns only (the workspace fills TenantId, Type and the
// system columns).
func (r *Row) AppendStreamJSON(dst []byte) []byte {
	dst = append(dst, '{')
	first := true
	for _, i := range r.Table.stream {
		if v := r.Values[i]; v != nil {
			dst = appendMember(dst, &first, r.Table.Columns[i].Name, v)
		}
	}
	return append(dst, '}')
}

// StreamJSON returns AppendStreamJSON's output, computed once and cached:
// do not change Values after calling it (FitStream refreshes it).
func (r *Row) StreamJSON() []byte {
	if r.stream == nil {
		n := 2
		for _, i := range r.Table.stream {
			switch v := r.Values[i].(type) {
			case nil:
			case string:
				n += len(v) + len(r.Table.Columns[i].Name) + 8
			case json.RawMessage:
				n += len(v) + len(r.Table.Columns[i].Name) + 4
			default:
				n += len(r.Table.Columns[i].Name) + 32
			}
		}
		r.stream = r.AppendStreamJSON(make([]byte, 0, n+n/16))
	}
	return r.stream
}

// StreamSize is the length of AppendStreamJSON's output.
func (r *Row) StreamSize() int {
	n := 2
	first := true
	for _, i := range r.Table.stream {
		if v := r.Values[i]; v != nil {
			if !first {
				n++
			}
			first = false
			n += quotedLen(r.Table.Columns[i].Name) + 1 + valueLen(v)
		}
	}
	return n
}

func appendMember(dst []byte, first *bool, name string, v any) []byte {
	if !*first {
		dst = append(dst, ',')
	}
	*first = false
	dst = AppendString(dst, name)
	dst = append(dst, ':')
	return AppendValue(dst, v)
}

// AppendValue appends one column value as JSON.
func AppendValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return AppendString(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(dst, "null"...)
		}
		return strconv.AppendFloat(dst, x, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(dst, x)
	case time.Time:
		dst = append(dst, '"')
		dst = appendTime(dst, x)
		return append(dst, '"')
	case json.RawMessage:
		if len(x) == 0 {
			return append(dst, "null"...)
		}
		return append(dst, x...)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return append(dst, "null"...)
		}
		return append(dst, b...)
	}
}

func valueLen(v any) int {
	switch x := v.(type) {
	case string:
		return quotedLen(x)
	case json.RawMessage:
		if len(x) == 0 {
			return 4
		}
		return len(x)
	case time.Time:
		var buf [40]byte
		return len(appendTime(buf[:0], x)) + 2
	}
	var buf [64]byte
	return len(AppendValue(buf[:0], v))
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. HTML characters are not escaped
// (as Json.NET does not); invalid UTF-8 becomes U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// runeLen is the encoded length of one rune (or invalid byte) of s at i,
// and the number of bytes it occupies in s.
func runeLen(s string, i int) (enc, size int) {
	c := s[i]
	if c < utf8.RuneSelf {
		switch {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			return 2, 1
		case c < 0x20:
			return 6, 1
		}
		return 1, 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError && size == 1:
		return 3, 1
	case r == '\u2028' || r == '\u2029':
		return 6, size
	}
	return size, size
}

// quotedLen is the length of AppendString's output for s.
func quotedLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		e, size := runeLen(s, i)
		n += e
		i += size
	}
	return n
}

// appendTime appends t in TimeFormat (fast path for years 0–9999).
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, TimeFormat)
	}
	h, mi, sec := t.Clock()
	dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+sec/10), byte('0'+sec%10))
	if frac := t.Nanosecond() / 100; frac > 0 {
		var digits [7]byte
		for i := 6; i >= 0; i-- {
			digits[i] = byte('0' + frac%10)
			frac /= 10
		}
		n := 7
		for n > 0 && digits[n-1] == '0' {
			n--
		}
		dst = append(dst, '.')
		dst = append(dst, digits[:n]...)
	}
	return append(dst, 'Z')
}
