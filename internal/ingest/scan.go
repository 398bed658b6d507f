package ingest

import (
	"bytes"
	"unicode/utf8"
)

// scanEnvelope reads the top-level "type" and "op" members of a line
// without decoding the rest (the record's parser decodes it fully). It
// reports ok == false when the line is not a plain object with escape-free
// keys whose type and op are escape-free valid UTF-8 strings; the caller
// then decodes with encoding/json, which also explains malformed input.
func scanEnvelope(b []byte) (typ, op string, ok bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", "", false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return "", "", true
	}
	for {
		i = skipWS(b, i)
		next, plain := stringEnd(b, i)
		if next < 0 || !plain {
			// An escaped key might decode to "type" or "op".
			return "", "", false
		}
		key := b[i+1 : next-1]
		i = skipWS(b, next)
		if i >= len(b) || b[i] != ':' {
			return "", "", false
		}
		i = skipWS(b, i+1)
		end := skipValue(b, i)
		if end < 0 {
			return "", "", false
		}
		if isKey(key, "type") || isKey(key, "op") {
			v, vend, vplain := scanString(b, i)
			if vend != end || !vplain || !utf8.ValidString(v) {
				if bytes.Equal(b[i:end], []byte("null")) {
					v = ""
				} else {
					return "", "", false
				}
			}
			if isKey(key, "type") {
				typ = v
			} else {
				op = v
			}
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return "", "", false
		}
		switch b[i] {
		case '}':
			return typ, op, skipWS(b, i+1) == len(b)
		case ',':
			i++
		default:
			return "", "", false
		}
	}
}

// TopLevelString returns the value of the first member of the object b
// whose key is exactly key, when it is a string without escapes. It reads
// no further than that member and does not validate the rest: it serves
// lookups whose answer a caller checks by other means (a line's hash).
func TopLevelString(b []byte, key string) (string, bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", false
	}
	for i = skipWS(b, i+1); i < len(b) && b[i] != '}'; {
		next, plain := stringEnd(b, i)
		if next < 0 {
			return "", false
		}
		k := b[i+1 : next-1]
		i = skipWS(b, next)
		if i >= len(b) || b[i] != ':' {
			return "", false
		}
		i = skipWS(b, i+1)
		if plain && string(k) == key {
			v, end, vplain := scanString(b, i)
			if end < 0 || !vplain {
				return "", false
			}
			return v, true
		}
		end := skipValue(b, i)
		if end < 0 {
			return "", false
		}
		if i = skipWS(b, end); i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	return "", false
}

func isKey(k []byte, want string) bool {
	if len(k) != len(want) {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the content of the string at i, the index after it
// (-1 when there is none) and whether it had no escapes.
func scanString(b []byte, i int) (string, int, bool) {
	end, plain := stringEnd(b, i)
	if end < 0 {
		return "", -1, false
	}
	return string(b[i+1 : end-1]), end, plain
}

// SWAR constants: every byte 0x01, every byte 0x80.
const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// stringEnd returns the index after the string at i (-1 when there is
// none) and whether it had no escapes, without copying it. It skips 8
// bytes at a time while none is a quote, a backslash or a control
// character: for x with no high bit set, x - 0x20 in every byte sets the
// high bit of the lowest byte below 0x20, and (y - 1) &^ y, y = x ^ c,
// that of a byte equal to c; bytes with the high bit set (UTF-8) take the
// byte loop.
func stringEnd(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return -1, false
	}
	plain := true
	for j := i + 1; j < len(b); j++ {
		for j+8 <= len(b) {
			w := b[j : j+8]
			x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
			q, bs := x^(lsb8*'"'), x^(lsb8*'\\')
			if (x|(x-lsb8*0x20)|((q-lsb8)&^q)|((bs-lsb8)&^bs))&msb8 != 0 {
				break
			}
			j += 8
		}
		if j >= len(b) {
			break
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1, plain
		case c == '\\':
			plain = false
			j++
		case c < 0x20:
			return -1, false
		}
	}
	return -1, false
}

// skipValue returns the index after the value at i, or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := stringEnd(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
