package security

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds allocation-light JSON encoding and decoding of the
// ordered free-form values (Object, StringMap), with exactly the output of
// encoding/json without HTML escaping (see the tests), for the ingestion
// path where they are hot.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does with
// HTML escaping off: quotes, backslashes and control characters escaped,
// invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendString(dst []byte, s string) []byte { return appendJSONString(dst, s, false) }

// appendStringHTML is appendString with encoding/json's default HTML
// escaping of <, > and & as well.
func appendStringHTML(dst []byte, s string) []byte { return appendJSONString(dst, s, true) }

// plainASCII and plainASCIIHTML tell the ASCII bytes a JSON string
// carries as they are (one table load per byte on the hot path).
var plainASCII, plainASCIIHTML = func() (a, h [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		a[c] = c != '"' && c != '\\'
		h[c] = a[c] && c != '<' && c != '>' && c != '&'
	}
	return a, h
}()

func appendJSONString(dst []byte, s string, html bool) []byte {
	dst = append(dst, '"')
	plain := &plainASCII
	if html {
		plain = &plainASCIIHTML
	}
	start := 0
	for i := 0; i < len(s); {
		// Whole words of plain ASCII first (see plain8).
		for i+8 <= len(s) {
			w := s[i : i+8]
			x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
			bad := x | (x - lsb8*0x20) | zeroByte(x^(lsb8*'"')) | zeroByte(x^(lsb8*'\\'))
			if html {
				bad |= zeroByte(x^(lsb8*'<')) | zeroByte(x^(lsb8*'>')) | zeroByte(x^(lsb8*'&'))
			}
			if bad&msb8 != 0 {
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
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
			dst = append(dst, `\ufffd`...)
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

// SWAR constants: every byte 0x01, every byte 0x80.
const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// The loop of appendJSONString tests 8 bytes at once for the bytes a
// JSON string cannot carry as they are: x has a high bit set for non-ASCII
// bytes; for ASCII bytes, x - 0x20 in every byte sets the high bit of the
// lowest byte below 0x20, and zeroByte(x ^ c) that of a byte equal to c
// (when there is one). The first word with a set high bit goes byte by
// byte.

// zeroByte has the high bit of some byte set when a byte of x is zero
// (and, in that case only, possibly of others); callers mask it with msb8.
func zeroByte(x uint64) uint64 { return (x - lsb8) &^ x }

// appendValue appends a free-form value (nil, bool, string, json.Number,
// []any, Object, StringMap; anything else through marshal).
func appendValue(dst []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, t), nil
	case string:
		return appendString(dst, t), nil
	case Object:
		return appendObject(dst, t)
	case StringMap:
		return appendStringMap(dst, t), nil
	case []any:
		if t == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	}
	b, err := marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

func appendObject(dst []byte, o Object) ([]byte, error) {
	if o == nil {
		return append(dst, "{}"...), nil
	}
	dst = append(dst, '{')
	for i, m := range o {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, m.Key)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, m.Value); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

func appendStringMap(dst []byte, m StringMap) []byte {
	dst = append(dst, '{')
	for i, p := range m {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, p.Key)
		dst = append(dst, ':')
		dst = appendString(dst, p.Value)
	}
	return append(dst, '}')
}

// errSyntax reports input the fast decoder does not accept; the callers
// only see input encoding/json has already validated.
var errSyntax = errors.New("security: malformed JSON")

// valueParser decodes well-formed JSON into the free-form values: objects
// as Object (document order), arrays as []any, numbers as json.Number.
type valueParser struct {
	b []byte
	i int
}

func (p *valueParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *valueParser) value() (any, error) {
	p.ws()
	if p.i >= len(p.b) {
		return nil, errSyntax
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		obj := Object{}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return obj, nil
		}
		for {
			p.ws()
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return nil, errSyntax
			}
			p.i++
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			obj = append(obj, Member{Key: k, Value: v})
			p.ws()
			if p.i >= len(p.b) {
				return nil, errSyntax
			}
			if p.b[p.i] == '}' {
				p.i++
				return obj, nil
			}
			if p.b[p.i] != ',' {
				return nil, errSyntax
			}
			p.i++
		}
	case c == '[':
		p.i++
		arr := []any{}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return arr, nil
		}
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			p.ws()
			if p.i >= len(p.b) {
				return nil, errSyntax
			}
			if p.b[p.i] == ']' {
				p.i++
				return arr, nil
			}
			if p.b[p.i] != ',' {
				return nil, errSyntax
			}
			p.i++
		}
	case c == '"':
		return p.str()
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []struct {
			s string
			v any
		}{{"true", true}, {"false", false}, {"null", nil}} {
			if len(p.b)-p.i >= len(lit.s) && string(p.b[p.i:p.i+len(lit.s)]) == lit.s {
				p.i += len(lit.s)
				return lit.v, nil
			}
		}
		return nil, errSyntax
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		for p.i < len(p.b) {
			c := p.b[p.i]
			if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
				p.i++
				continue
			}
			break
		}
		return json.Number(p.b[start:p.i]), nil
	}
	return nil, errSyntax
}

// str decodes a string; strings with escapes or invalid UTF-8 go through
// encoding/json for its exact unescaping.
func (p *valueParser) str() (string, error) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", errSyntax
	}
	start := p.i
	p.i++
	simple := true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			seg := p.b[start:p.i]
			if simple && utf8.Valid(seg) {
				return string(seg[1 : len(seg)-1]), nil
			}
			var s string
			if err := json.Unmarshal(seg, &s); err != nil {
				return "", err
			}
			return s, nil
		case c == '\\':
			simple = false
			p.i += 2
		case c < 0x20:
			return "", errSyntax
		default:
			p.i++
		}
	}
	return "", errSyntax
}

// decodeOrdered decodes a well-formed JSON document into free-form values.
func decodeFast(b []byte) (any, error) {
	p := &valueParser{b: b}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, errSyntax
	}
	return v, nil
}

// topLevelMember returns the raw value of the last top-level member of an
// object whose key equals key ignoring case (as encoding/json keeps the
// last of duplicate keys), and whether there is one; ok is false when b is
// not a well-formed object.
func topLevelMember(b []byte, key string) (value []byte, found, ok bool) {
	p := &valueParser{b: b}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, false, false
	}
	p.i++
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		return nil, false, true
	}
	for {
		p.ws()
		k, err := p.str()
		if err != nil {
			return nil, false, false
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, false, false
		}
		p.i++
		p.ws()
		start := p.i
		if _, err := p.skip(); err != nil {
			return nil, false, false
		}
		if strings.EqualFold(k, key) {
			value, found = p.b[start:p.i], true
		}
		p.ws()
		if p.i >= len(p.b) {
			return nil, false, false
		}
		switch p.b[p.i] {
		case '}':
			return value, found, true
		case ',':
			p.i++
		default:
			return nil, false, false
		}
	}
}

// skip moves past one value without building it.
func (p *valueParser) skip() (struct{}, error) {
	depth := 0
	for p.i < len(p.b) {
		switch c := p.b[p.i]; c {
		case '"':
			if _, err := p.str(); err != nil {
				return struct{}{}, err
			}
			if depth == 0 {
				return struct{}{}, nil
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return struct{}{}, errSyntax
			}
			if depth == 0 {
				p.i++
				return struct{}{}, nil
			}
		case ',', ':', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return struct{}{}, nil
			}
		default:
			if depth == 0 {
				// A literal or number: up to the next delimiter.
				for p.i < len(p.b) && !isDelim(p.b[p.i]) {
					p.i++
				}
				return struct{}{}, nil
			}
		}
		p.i++
	}
	if depth != 0 {
		return struct{}{}, errSyntax
	}
	return struct{}{}, nil
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ':', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}
