package latables

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"
)

// This file is a small JSON reader for event bodies: one validating pass
// over the body, then member lookups by key (case-insensitive, as
// encoding/json matches struct fields) that return raw value spans. Rows
// keep the spans of dynamic columns as they are, so a body is scanned a
// few times by a tight loop instead of being decoded into structs several
// times; mapping is several times faster than with encoding/json.

const maxDepth = 1000

var errSyntax = errors.New("invalid JSON")

// scanner validates JSON and reports whether it holds insignificant
// whitespace.
type scanner struct {
	b     []byte
	i     int
	space bool
}

func (s *scanner) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errSyntax, what, s.i)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.space = true
			s.i++
		default:
			return
		}
	}
}

// value validates one value starting at s.i (after whitespace).
func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return s.fail("nesting too deep")
	}
	if s.i >= len(s.b) {
		return s.fail("unexpected end")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return nil
		}
		for {
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return s.fail("expected a member name")
			}
			if err := s.str(); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return s.fail("expected ':'")
			}
			s.i++
			s.ws()
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) {
				return s.fail("unexpected end in object")
			}
			if s.b[s.i] == '}' {
				s.i++
				return nil
			}
			if s.b[s.i] != ',' {
				return s.fail("expected ',' or '}'")
			}
			s.i++
		}
	case c == '[':
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		for {
			s.ws()
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) {
				return s.fail("unexpected end in array")
			}
			if s.b[s.i] == ']' {
				s.i++
				return nil
			}
			if s.b[s.i] != ',' {
				return s.fail("expected ',' or ']'")
			}
			s.i++
		}
	case c == '"':
		return s.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return s.num()
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	}
	return s.fail("unexpected character")
}

func (s *scanner) lit(w string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		return s.fail("invalid literal")
	}
	s.i += len(w)
	return nil
}

func (s *scanner) str() error {
	s.i++ // opening quote
	for s.i < len(s.b) {
		for s.i < len(s.b) && plainByte[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return s.fail("unterminated escape")
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return s.fail("short \\u escape")
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !isHex(h) {
						return s.fail("invalid \\u escape")
					}
				}
				s.i += 6
			default:
				return s.fail("invalid escape")
			}
		default: // c < 0x20
			return s.fail("control character in string")
		}
	}
	return s.fail("unterminated string")
}

// plainByte tells the bytes a string holds as they are: not a quote, a
// backslash or a control character.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *scanner) num() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if s.digits() == 0 {
		return s.fail("invalid number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.fail("invalid number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.fail("invalid number")
		}
	}
	return nil
}

// validate checks that b is one JSON value and reports whether it holds
// insignificant whitespace.
func validate(b []byte) (space bool, err error) {
	s := scanner{b: b}
	s.ws()
	if err := s.value(0); err != nil {
		return false, err
	}
	s.ws()
	if s.i != len(b) {
		return false, s.fail("data after the value")
	}
	return s.space, nil
}

// skip returns the end of the (valid) value starting at i.
func skip(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = stringEnd(b, i+1)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',', ':', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

// stringEnd returns the index after the closing quote of the (valid)
// string whose contents start at i: the first quote not escaped, found
// with bytes.IndexByte instead of byte by byte.
func stringEnd(b []byte, i int) int {
	start := i
	for {
		k := bytes.IndexByte(b[i:], '"')
		if k < 0 {
			return len(b) + 1
		}
		i += k
		n := 0 // backslashes before the quote
		for j := i - 1; j >= start && b[j] == '\\'; j-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// member is one name (raw, without quotes) and its raw value span.
type member struct{ key, val []byte }

// object is the members of one JSON object.
type object struct{ m []member }

// parseObject indexes an already validated value; a non-object yields an
// empty object and false.
func parseObject(b []byte) (object, bool) {
	var arena []member
	return parseObjectIn(&arena, b)
}

// parseObjectIn is parseObject appending the members to *arena (one
// backing array for all the objects of an event).
func parseObjectIn(arena *[]member, b []byte) (object, bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return object{}, false
	}
	start := len(*arena)
	i++
	for {
		i = skipWS(b, i)
		if i >= len(b) || b[i] == '}' {
			m := (*arena)[start:len(*arena):len(*arena)]
			return object{m: m}, true
		}
		if b[i] == ',' {
			i++
			continue
		}
		end := skip(b, i)
		key := b[i+1 : end-1]
		i = skipWS(b, end)
		i++ // ':'
		i = skipWS(b, i)
		end = skip(b, i)
		*arena = append(*arena, member{key: key, val: b[i:end]})
		i = end
	}
}

// raw returns the span of a member (exact name first, then any case).
func (o object) raw(name string) []byte {
	for _, m := range o.m {
		if string(m.key) == name {
			return m.val
		}
	}
	for _, m := range o.m {
		if len(m.key) == len(name) && strings.EqualFold(string(m.key), name) {
			return m.val
		}
		if bytes.IndexByte(m.key, '\\') >= 0 {
			if u, ok := unquote(append(append([]byte{'"'}, m.key...), '"')); ok && strings.EqualFold(u, name) {
				return m.val
			}
		}
	}
	return nil
}

// str returns a string member ("" when absent, null or not a string).
func (o object) str(name string) string {
	v := o.raw(name)
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	s, _ := unquote(v)
	return s
}

// num returns a number member and whether it is one.
func (o object) num(name string) (float64, bool) {
	v := o.raw(name)
	if len(v) == 0 || !(v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, err == nil
}

// boolean returns a boolean member and whether it is one.
func (o object) boolean(name string) (bool, bool) {
	switch string(o.raw(name)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// strs returns an array of strings member.
func (o object) strs(name string) []string {
	v := o.raw(name)
	if len(v) == 0 || v[0] != '[' {
		return nil
	}
	var out []string
	_ = json.Unmarshal(v, &out)
	return out
}

// unquote decodes a JSON string span. Without escapes the result aliases
// v (Build hands it only spans of its private, never-modified copy of the
// event), so mapping allocates no string per value.
func unquote(v []byte) (string, bool) {
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		if len(inner) == 0 {
			return "", true
		}
		return unsafe.String(&inner[0], len(inner)), true
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}
