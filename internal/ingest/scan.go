package ingest

import "bytes"

// scanEnvelope reads the top-level "type" and "op" members of a line
// without decoding the rest (the record's parser decodes it fully). It
// reports ok == false when the line is not a plain object whose type and op
// are escape-free strings; the caller then decodes with encoding/json,
// which also explains malformed input.
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
		key, next, plain := scanString(b, i)
		if next < 0 {
			return "", "", false
		}
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
			if !plain {
				return "", "", false
			}
			v, vend, vplain := scanString(b, i)
			if vend != end || !vplain {
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

func isKey(k, want string) bool {
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
	if i >= len(b) || b[i] != '"' {
		return "", -1, false
	}
	plain := true
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return string(b[i+1 : j]), j + 1, plain
		case c == '\\':
			plain = false
			j++
		case c < 0x20:
			return "", -1, false
		}
	}
	return "", -1, false
}

// skipValue returns the index after the value at i, or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		_, end, _ := scanString(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				_, end, _ := scanString(b, j)
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
