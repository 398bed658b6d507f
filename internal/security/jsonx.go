package security

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Time is an instant that marshals in the .NET round-trip style continuous
// export uses: UTC, up to seven fractional digits with trailing zeros
// trimmed, and a Z suffix (2024-11-20T09:19:16.485Z). It unmarshals any
// RFC 3339 date-time; a value without a zone is taken as UTC, as .NET does.
type Time struct{ time.Time }

// NewTime returns t as a *Time (UTC, truncated to 100 ns ticks).
func NewTime(t time.Time) *Time { return &Time{t.UTC().Truncate(100 * time.Nanosecond)} }

// netLayout is Json.NET's "yyyy-MM-ddTHH:mm:ss.FFFFFFFK" for UTC values.
const netLayout = "2006-01-02T15:04:05.9999999Z07:00"

// FormatTime formats t the way continuous export does.
func FormatTime(t time.Time) string {
	var buf [40]byte
	return string(appendNetTime(buf[:0], t))
}

// String returns the .NET-style form of t.
func (t Time) String() string { return FormatTime(t.Time) }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 32)
	b = appendNetTime(append(b, '"'), t.Time)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: jsonLiteralKind(b), Type: timeType}
	}
	v, err := ParseTime(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: fmt.Sprintf("%q", s), Type: timeType}
	}
	t.Time = v
	return nil
}

// ParseTime parses an ISO 8601 / RFC 3339 date-time with optional fraction
// and optional zone (UTC when absent).
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if v, err := time.Parse(layout, s); err == nil {
			return v.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date-time", s)
}

func jsonLiteralKind(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	case '"':
		return "string"
	}
	return "number"
}

// marshal encodes v without HTML escaping (Json.NET does not escape <, >
// and &, and recommendation texts contain <br>).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Member is one member of an Object.
type Member struct {
	Key   string
	Value any
}

// Object is a JSON object that keeps its members in document order. Values
// are nil, bool, json.Number, string, []any or Object. It is used for
// free-form parts of records (alert entities, sub-assessment additional
// data) whose key order must survive into exported events.
type Object []Member

// Get returns the value of the first member named key (exact match first,
// then case-insensitive).
func (o Object) Get(key string) (any, bool) {
	for _, m := range o {
		if m.Key == key {
			return m.Value, true
		}
	}
	for _, m := range o {
		if strings.EqualFold(m.Key, key) {
			return m.Value, true
		}
	}
	return nil, false
}

// GetString returns the member named key if it is a string.
func (o Object) GetString(key string) string {
	v, _ := o.Get(key)
	s, _ := v.(string)
	return s
}

// MarshalJSON implements json.Marshaler.
func (o Object) MarshalJSON() ([]byte, error) {
	return appendObject(nil, o)
}

// UnmarshalJSON implements json.Unmarshaler; the input must be an object.
func (o *Object) UnmarshalJSON(b []byte) error {
	if v, err := decodeFast(b); err == nil {
		if obj, ok := v.(Object); ok {
			*o = obj
			return nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return err
	}
	obj, ok := v.(Object)
	if !ok {
		return &json.UnmarshalTypeError{Value: jsonLiteralKind(b), Type: reflect.TypeOf(Object{})}
	}
	*o = obj
	return nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := Object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				obj = append(obj, Member{Key: kt.(string), Value: v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return obj, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
	}
	return tok, nil
}

// StringPair is one entry of a StringMap.
type StringPair struct {
	Key   string
	Value string
}

// StringMap is a JSON object of string values that keeps insertion order
// (REST additionalData and extendedProperties). A JSON null value reads as
// the empty string.
type StringMap []StringPair

// Get returns the value for key (exact match).
func (m StringMap) Get(key string) (string, bool) {
	for _, p := range m {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Set replaces the value of key or appends it.
func (m *StringMap) Set(key, value string) {
	for i, p := range *m {
		if p.Key == key {
			(*m)[i].Value = value
			return
		}
	}
	*m = append(*m, StringPair{key, value})
}

// IsZero reports whether the map is empty (for omitzero).
func (m StringMap) IsZero() bool { return len(m) == 0 }

// MarshalJSON implements json.Marshaler.
func (m StringMap) MarshalJSON() ([]byte, error) {
	return appendStringMap(nil, m), nil
}

// UnmarshalJSON implements json.Unmarshaler; every value must be a string
// or null.
func (m *StringMap) UnmarshalJSON(b []byte) error {
	var o Object
	if err := o.UnmarshalJSON(b); err != nil {
		var te *json.UnmarshalTypeError
		if ok := asTypeErr(err, &te); ok {
			te.Type = reflect.TypeOf(StringMap{})
		}
		return err
	}
	out := make(StringMap, 0, len(o))
	for _, mem := range o {
		switch v := mem.Value.(type) {
		case string:
			out = append(out, StringPair{mem.Key, v})
		case nil:
			out = append(out, StringPair{mem.Key, ""})
		default:
			return &json.UnmarshalTypeError{Value: fmt.Sprintf("%s for key %q", valueKind(v), mem.Key), Type: reflect.TypeOf("")}
		}
	}
	*m = out
	return nil
}

func asTypeErr(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

func valueKind(v any) string {
	switch v.(type) {
	case json.Number, float64, int, int64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case Object:
		return "object"
	case string:
		return "string"
	}
	return "null"
}

// pascal upper-cases the first letter of a JSON key ("$id" and "$ref" are
// kept), the way continuous export's PascalCase serializations spell them.
func pascal(k string) string {
	if k == "" || k[0] == '$' {
		return k
	}
	r, n := utf8.DecodeRuneInString(k)
	return string(unicode.ToUpper(r)) + k[n:]
}

// lowerFirst lower-cases the first letter of s.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// pascalDeep returns v with every object key PascalCased, recursively.
func pascalDeep(v any) any {
	switch t := v.(type) {
	case Object:
		out := make(Object, len(t))
		for i, m := range t {
			out[i] = Member{pascal(m.Key), pascalDeep(m.Value)}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = pascalDeep(e)
		}
		return out
	}
	return v
}

// canonicalKey is a case-folded, order-independent fingerprint of a JSON
// value, ignoring "$id" members; equal fingerprints denote the same entity.
func canonicalKey(v any) string {
	return string(appendCanonical(make([]byte, 0, 256), v))
}

// appendCanonical appends the fingerprint of v: objects as {"key":value,…}
// with keys lower-cased, Go-quoted and sorted (a repeated key written at
// each place with its last value), arrays as [value,…], scalars as
// json.Marshal writes them; every element is followed by a comma.
func appendCanonical(b []byte, v any) []byte {
	switch t := v.(type) {
	case Object:
		type kv struct {
			k string
			v any
		}
		kvs := make([]kv, 0, len(t))
		for _, m := range t {
			k := strings.ToLower(m.Key)
			if k == "$id" {
				continue
			}
			kvs = append(kvs, kv{k, m.Value})
		}
		slices.SortStableFunc(kvs, func(a, b kv) int { return strings.Compare(a.k, b.k) })
		b = append(b, '{')
		for i, e := range kvs {
			last := i
			for last+1 < len(kvs) && kvs[last+1].k == e.k {
				last++
			}
			b = strconv.AppendQuote(b, e.k)
			b = append(b, ':')
			b = appendCanonical(b, kvs[last].v)
			b = append(b, ',')
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for _, e := range t {
			b = appendCanonical(b, e)
			b = append(b, ',')
		}
		return append(b, ']')
	case string:
		return appendStringHTML(b, t)
	case bool:
		return strconv.AppendBool(b, t)
	case nil:
		return append(b, "null"...)
	}
	x, _ := json.Marshal(v)
	return append(b, x...)
}

// netURLEncode encodes s as .NET's HttpUtility.UrlEncode does: lower-case
// hex escapes, '+' for space, and A-Z a-z 0-9 - _ . ! * ( ) kept.
func netURLEncode(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	n := len(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			n += 2
		}
	}
	b.Grow(n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == '!', c == '*', c == '(', c == ')':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
