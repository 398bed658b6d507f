package security

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// This file holds scanner, a validating JSON reader for the ingestion
// parsers that decodes the members a record type knows straight into its
// struct, in one pass and without a tree of values: the strings it returns
// are substrings of one copy of the input, and the values it skips are
// checked without being built. It reads only what it can read exactly as
// encoding/json would; anything else (nesting deeper than scanMaxDepth, a
// value of the wrong type, a string whose escapes it would have to decode
// and fails to) makes the caller fall back to encoding/json, which also
// words the errors.

// scanMaxDepth is the deepest nesting the scanner reads (encoding/json
// accepts up to 10000; deeper records take the slow path).
const scanMaxDepth = 512

// scanner reads one JSON document held in s.
type scanner struct {
	s string
	i int
}

// strClass classifies bytes inside a JSON string: 0 plain ASCII, 1 the
// closing quote, 2 a backslash, 3 a control character, 4 a non-ASCII byte.
var strClass = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = 3
	}
	t['"'], t['\\'] = 1, 2
	for c := 0x80; c < 0x100; c++ {
		t[c] = 4
	}
	return t
}()

func (sc *scanner) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c,
// consuming it when it is.
func (sc *scanner) next(c byte) bool {
	sc.ws()
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

// peek skips white space and returns the next byte (0 at the end).
func (sc *scanner) peek() byte {
	sc.ws()
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

// rawString moves past the string that comes next. It returns the quoted
// text, whether it has escapes and whether it has non-ASCII bytes; ok is
// false when there is no valid string (control characters, bad escapes,
// no end).
func (sc *scanner) rawString() (quoted string, esc, nonASCII, ok bool) {
	sc.ws()
	s := sc.s
	if sc.i >= len(s) || s[sc.i] != '"' {
		return "", false, false, false
	}
	start := sc.i
	for j := sc.i + 1; j < len(s); {
		// Whole words of plain ASCII first (see appendJSONString).
		for j+8 <= len(s) {
			w := s[j : j+8]
			x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
			if (x|(x-lsb8*0x20)|zeroByte(x^(lsb8*'"'))|zeroByte(x^(lsb8*'\\')))&msb8 != 0 {
				break
			}
			j += 8
		}
		if j >= len(s) {
			break
		}
		switch strClass[s[j]] {
		case 0:
			j++
		case 1:
			sc.i = j + 1
			return s[start:sc.i], esc, nonASCII, true
		case 2:
			esc = true
			if j+1 >= len(s) {
				return "", false, false, false
			}
			switch s[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(s) || !isHex4(s[j+2:j+6]) {
					return "", false, false, false
				}
				j += 6
			default:
				return "", false, false, false
			}
		case 3:
			return "", false, false, false
		default:
			nonASCII = true
			j++
		}
	}
	return "", false, false, false
}

func isHex4(s string) bool {
	for i := range 4 {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// str reads a string value as encoding/json decodes it: plain text is a
// substring of the input; escapes and invalid UTF-8 are decoded by
// encoding/json itself.
func (sc *scanner) str() (string, bool) {
	q, esc, nonASCII, ok := sc.rawString()
	if !ok {
		return "", false
	}
	if !nonASCII || utf8.ValidString(q) {
		if !esc {
			return q[1 : len(q)-1], true
		}
		if v, ok := unescape(q[1 : len(q)-1]); ok {
			return v, true
		}
	}
	var v string
	if err := json.Unmarshal([]byte(q), &v); err != nil {
		return "", false
	}
	return v, true
}

// unescape decodes the text of a valid JSON string in valid UTF-8 whose
// escapes are all single-character ones (\" \\ \/ \b \f \n \r \t);
// ok is false when it has a \u escape (encoding/json decodes those, and
// their surrogate pairs).
func unescape(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		switch s[i] {
		case '"', '\\', '/':
			b = append(b, s[i])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		default:
			return "", false
		}
	}
	return string(b), true
}

// null consumes a null literal when one comes next.
func (sc *scanner) null() bool {
	sc.ws()
	if strings.HasPrefix(sc.s[sc.i:], "null") {
		sc.i += 4
		return true
	}
	return false
}

// skip moves past one value at depth (1 for the members of the top-level
// object), checking it as encoding/json's scanner would.
func (sc *scanner) skip(depth int) bool {
	switch sc.peek() {
	case '"':
		_, _, _, ok := sc.rawString()
		return ok
	case '{':
		if depth >= scanMaxDepth {
			return false
		}
		return sc.object(func(string) bool { return sc.skip(depth + 1) })
	case '[':
		if depth >= scanMaxDepth {
			return false
		}
		sc.i++
		if sc.next(']') {
			return true
		}
		for {
			if !sc.skip(depth + 1) {
				return false
			}
			if sc.next(']') {
				return true
			}
			if !sc.next(',') {
				return false
			}
		}
	case 't', 'f', 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if strings.HasPrefix(sc.s[sc.i:], lit) {
				sc.i += len(lit)
				return true
			}
		}
		return false
	}
	start := sc.i
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		if '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			sc.i++
			continue
		}
		break
	}
	return validNumber(sc.s[start:sc.i])
}

// object reads the object that comes next, calling member with each key;
// member must consume the value.
func (sc *scanner) object(member func(key string) bool) bool {
	if !sc.next('{') {
		return false
	}
	if sc.next('}') {
		return true
	}
	for {
		k, ok := sc.str()
		if !ok || !sc.next(':') || !member(k) {
			return false
		}
		if sc.next('}') {
			return true
		}
		if !sc.next(',') {
			return false
		}
	}
}

// fields reads the object that comes next (or null, reporting present
// false) into a struct whose JSON names are names: set(i) consumes the
// value of names[i]. Like members, it declines (returns false) a key that
// equals a name only ignoring case, a name given twice, or a failed set;
// other members are skipped.
func (sc *scanner) fields(depth int, names []string, set func(i int) bool) (present, ok bool) {
	if sc.null() {
		return false, true
	}
	var seen uint64
	ok = sc.object(func(k string) bool {
		for i, n := range names {
			if k == n {
				if seen&(1<<i) != 0 {
					return false
				}
				seen |= 1 << i
				return set(i)
			}
		}
		for _, n := range names {
			if strings.EqualFold(k, n) {
				return false
			}
		}
		return sc.skip(depth + 1)
	})
	return true, ok
}

// optString reads a string into *dst; null leaves it as it is.
func (sc *scanner) optString(dst *string) bool {
	if sc.null() {
		return true
	}
	s, ok := sc.str()
	if ok {
		*dst = s
	}
	return ok
}

// optID is optString for a record's ID (or another ID the services may
// keep as a cache key): the string is copied out of the input, so that
// what is kept does not hold on to the whole line, as with encoding/json.
func (sc *scanner) optID(dst *string) bool {
	if !sc.optString(dst) {
		return false
	}
	*dst = strings.Clone(*dst)
	return true
}

// optTime reads an ISO 8601 string into *dst; null sets it to nil.
func (sc *scanner) optTime(dst **Time) bool {
	if sc.null() {
		*dst = nil
		return true
	}
	s, ok := sc.str()
	if !ok {
		return false
	}
	t, err := ParseTime(s)
	if err != nil {
		return false
	}
	*dst = &Time{t}
	return true
}

// end reports whether only white space is left.
func (sc *scanner) end() bool {
	sc.ws()
	return sc.i == len(sc.s)
}
