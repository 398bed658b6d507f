package automation

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Document is an event as the rules see it: the exported JSON body, and
// extra fields (rule-only properties such as an alert's
// ProductComponentName) that count as top-level properties where the body
// lacks them. It is read lazily: simple paths are resolved by scanning the
// raw JSON, skipping what they do not name, and each path is resolved once
// per event however many automations ask for it. Paths that are not simple
// decode the document once.
//
// A Document is used by one goroutine at a time (the engine builds one per
// event).
type Document struct {
	body, extra []byte
	cache       []cached
	tree        any
	decoded     bool
}

type cached struct {
	path string
	val  value
}

// NewDocument wraps an event's body and extra fields; it is the engine's
// document builder (export.Options.Document).
func NewDocument(body, extra []byte) any { return &Document{body: body, extra: extra} }

// lookup resolves a path to the value the rules compare.
func (d *Document) lookup(p *Path) value {
	for i := range d.cache {
		if d.cache[i].path == p.text {
			return d.cache[i].val
		}
	}
	var v value
	if p.steps != nil {
		var top bool
		v, top = rawLookup(d.body, p.steps)
		if !top && len(d.extra) > 0 {
			v, _ = rawLookup(d.extra, p.steps)
		}
	} else {
		if !d.decoded {
			d.tree = decodeDocument(d.body, d.extra)
			d.decoded = true
		}
		if x, ok := p.first(d.tree); ok {
			v = valueOf(x)
		}
	}
	if d.cache == nil {
		d.cache = make([]cached, 0, 4)
	}
	d.cache = append(d.cache, cached{p.text, v})
	return v
}

// decodeDocument decodes body with the extra fields added at the top level
// where the body lacks them (as export.Document does).
func decodeDocument(body, extra []byte) any {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil
	}
	m, ok := doc.(map[string]any)
	if !ok || len(extra) == 0 {
		return doc
	}
	var x map[string]any
	if err := json.Unmarshal(extra, &x); err != nil {
		return doc
	}
	for k, v := range x {
		if _, exists := m[k]; !exists {
			m[k] = v
		}
	}
	return m
}

// ---- values ----

type valKind uint8

const (
	vMissing valKind = iota
	vNull
	vString
	vNumber
	vBool
	vOther // object or array
)

// value is a resolved operand: a string, a number (with its text in
// shortest decimal form), a boolean, null, a composite, or nothing.
type value struct {
	kind valKind
	s    string
	f    float64
	b    bool
}

func valueOf(x any) value {
	switch t := x.(type) {
	case nil:
		return value{kind: vNull}
	case string:
		return value{kind: vString, s: t}
	case bool:
		return value{kind: vBool, b: t}
	case float64:
		return value{kind: vNumber, f: t, s: formatNumber(t)}
	case int64:
		return value{kind: vNumber, f: float64(t), s: formatNumber(float64(t))}
	case int:
		return value{kind: vNumber, f: float64(t), s: formatNumber(float64(t))}
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return value{kind: vOther}
		}
		return value{kind: vNumber, f: f, s: formatNumber(f)}
	}
	return value{kind: vOther}
}

// ---- raw JSON scanning ----
//
// The scanner assumes well-formed JSON (event bodies are produced by
// Sluice) but never reads out of bounds or loops on malformed input: it
// answers "missing" instead.

// rawLookup resolves simple steps in the JSON text b. top reports whether
// the first step was settled by b itself (b is not an object, or the first
// property exists in it); when it is false the caller may look in the
// extra fields.
func rawLookup(b []byte, steps []step) (v value, top bool) {
	i := skipWS(b, 0)
	if i >= len(b) {
		return value{}, true
	}
	if b[i] != '{' || steps[0].isIdx {
		top = true
	}
	for n, s := range steps {
		if i >= len(b) {
			return value{}, top
		}
		var ok bool
		if s.isIdx {
			if b[i] != '[' {
				return value{}, top
			}
			i, ok = arrayElem(b, i, s.index)
		} else {
			if b[i] != '{' {
				return value{}, top
			}
			i, ok = objectMember(b, i, s.key)
			if ok && n == 0 {
				top = true
			}
		}
		if !ok {
			return value{}, top
		}
	}
	return readValue(b, i), top
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString reads the string starting at b[i] == '"'. It returns the
// index of the closing quote and whether the content holds escapes.
func scanString(b []byte, i int) (end int, esc bool, ok bool) {
	j := i + 1
	for j <= len(b) {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, false, false
		}
		q := j + k
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q, bytes.IndexByte(b[i+1:q], '\\') >= 0, true
		}
		j = q + 1
	}
	return 0, false, false
}

// stringAt returns the content of the string at b[i] (unescaped).
func stringAt(b []byte, i, end int, esc bool) (string, bool) {
	if !esc {
		return string(b[i+1 : end]), true
	}
	var s string
	if err := json.Unmarshal(b[i:end+1], &s); err != nil {
		return "", false
	}
	return s, true
}

// skipValue returns the index just after the value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		end, _, ok := scanString(b, i)
		return end + 1, ok
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, _, ok := scanString(b, i)
				if !ok {
					return 0, false
				}
				i = end + 1
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	default:
		j := i
		for j < len(b) && !isDelim(b[j]) {
			j++
		}
		if j == i {
			return 0, false
		}
		return j, true
	}
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r', ':':
		return true
	}
	return false
}

// objectMember finds the value of property key in the object at b[i] ==
// '{': an exact match first; otherwise the case-insensitive match with the
// smallest name.
func objectMember(b []byte, i int, key string) (int, bool) {
	i++
	foldAt, foldName := -1, ""
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case '}':
			return foldAt, foldAt >= 0
		case ',':
			i++
			continue
		case '"':
		default:
			return 0, false
		}
		end, esc, ok := scanString(b, i)
		if !ok {
			return 0, false
		}
		ks := i
		i = skipWS(b, end+1)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = skipWS(b, i+1)
		var exact bool
		var name string
		if !esc {
			raw := b[ks+1 : end]
			exact = string(raw) == key
			if !exact && equalFoldBytes(raw, key) {
				name = string(raw)
			}
		} else if s, ok := stringAt(b, ks, end, true); ok {
			exact = s == key
			if !exact && strings.EqualFold(s, key) {
				name = s
			}
		}
		if exact {
			return i, true
		}
		if name != "" && (foldAt < 0 || name < foldName) {
			foldAt, foldName = i, name
		}
		next, ok := skipValue(b, i)
		if !ok {
			return 0, false
		}
		i = next
	}
}

// equalFoldBytes compares case-insensitively, without allocating when
// both sides are ASCII.
func equalFoldBytes(raw []byte, key string) bool {
	if len(raw) == len(key) {
		for j := 0; j < len(raw); j++ {
			c, d := raw[j], key[j]
			if c|d >= 0x80 {
				return strings.EqualFold(string(raw), key)
			}
			if c != d && lowerASCII(c) != lowerASCII(d) {
				return false
			}
		}
		return true
	}
	if isASCII(key) && bytes.IndexFunc(raw, func(r rune) bool { return r >= 0x80 }) < 0 {
		return false // ASCII strings of different lengths never fold together
	}
	return strings.EqualFold(string(raw), key)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// arrayElem finds element n of the array at b[i] == '['; a negative n
// counts from the end.
func arrayElem(b []byte, i, n int) (int, bool) {
	if n < 0 {
		count := 0
		j := i + 1
		for {
			j = skipWS(b, j)
			if j >= len(b) {
				return 0, false
			}
			if b[j] == ']' {
				break
			}
			next, ok := skipValue(b, j)
			if !ok {
				return 0, false
			}
			count++
			j = skipWS(b, next)
			if j < len(b) && b[j] == ',' {
				j++
			}
		}
		n += count
		if n < 0 {
			return 0, false
		}
	}
	i++
	for k := 0; ; k++ {
		i = skipWS(b, i)
		if i >= len(b) || b[i] == ']' {
			return 0, false
		}
		if k == n {
			return i, true
		}
		next, ok := skipValue(b, i)
		if !ok {
			return 0, false
		}
		i = skipWS(b, next)
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
}

// readValue reads the scalar at b[i] (composites are vOther).
func readValue(b []byte, i int) value {
	if i >= len(b) {
		return value{}
	}
	switch b[i] {
	case '"':
		end, esc, ok := scanString(b, i)
		if !ok {
			return value{}
		}
		s, ok := stringAt(b, i, end, esc)
		if !ok {
			return value{}
		}
		return value{kind: vString, s: s}
	case '{', '[':
		return value{kind: vOther}
	case 't', 'f', 'n':
		end, ok := skipValue(b, i)
		if !ok {
			return value{}
		}
		switch string(b[i:end]) {
		case "true":
			return value{kind: vBool, b: true}
		case "false":
			return value{kind: vBool}
		case "null":
			return value{kind: vNull}
		}
		return value{}
	default:
		end, ok := skipValue(b, i)
		if !ok {
			return value{}
		}
		f, err := strconv.ParseFloat(string(b[i:end]), 64)
		if err != nil || !isDecimal(string(b[i:end])) {
			return value{}
		}
		return value{kind: vNumber, f: f, s: formatNumber(f)}
	}
}

// isDecimal reports whether s is a plain decimal number (sign, digits, an
// optional fraction and exponent) — not hex, not Inf or NaN.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}
