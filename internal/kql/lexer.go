package kql

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF    tokKind = iota
	tIdent          // identifier or keyword; "!word" forms (!contains, !in) too
	tString         // string literal; text is the decoded value
	tNumber         // integer or real literal; text is the literal
	tSpan           // timespan literal (1d, 30m, 100ms); text is the literal
	tRaw            // typed literal whose body is not tokenized: datetime(...), dynamic(...)
	tOp             // punctuation and operators
)

func (k tokKind) String() string {
	switch k {
	case tEOF:
		return "end of query"
	case tIdent:
		return "identifier"
	case tString:
		return "string literal"
	case tNumber:
		return "number"
	case tSpan:
		return "timespan literal"
	case tRaw:
		return "literal"
	}
	return "operator"
}

type token struct {
	kind   tokKind
	text   string // see tokKind; for tRaw the literal's type name (lower case)
	raw    string // tRaw: the text between the parentheses
	pos    Pos
	end    int // byte offset just past the token
	endPos Pos // position just past the token
}

func (t token) is(kind tokKind, text string) bool { return t.kind == kind && t.text == text }

// rawLiterals are the names whose parenthesized argument is a literal body,
// not an expression: datetime(2024-01-01 10:00), dynamic({"a":1}), long(null).
var rawLiterals = map[string]bool{
	"datetime": true, "date": true, "time": true, "timespan": true, "dynamic": true,
	"guid": true, "long": true, "int": true, "real": true, "double": true,
	"bool": true, "boolean": true, "decimal": true,
}

// lexer splits a query into tokens.
type lexer struct {
	src  string
	off  int
	line int
	col  int // column of src[off]
}

func newLexer(src string) *lexer { return &lexer{src: src, line: 1, col: 1} }

func (l *lexer) pos() Pos { return Pos{Line: l.line, Col: l.col, Off: l.off} }

func (l *lexer) errorf(p Pos, format string, args ...any) *Error {
	return errorAt(l.src, p, format, args...)
}

// advance moves past n bytes, keeping line and column right.
func (l *lexer) advance(n int) {
	end := l.off + n
	for l.off < end {
		r, size := utf8.DecodeRuneInString(l.src[l.off:])
		l.off += size
		if r == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
	}
}

func (l *lexer) peekByte(i int) byte {
	if l.off+i < len(l.src) {
		return l.src[l.off+i]
	}
	return 0
}

func (l *lexer) skipSpace() {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.advance(1)
		case c == '/' && l.peekByte(1) == '/':
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance(1)
			}
		default:
			if r, size := utf8.DecodeRuneInString(l.src[l.off:]); unicode.IsSpace(r) {
				l.advance(size)
				continue
			}
			return
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// two-character operators.
var ops2 = []string{"==", "!=", "<>", "<=", ">=", "=~", "!~", ".."}

// next returns the next token.
func (l *lexer) next() (token, error) {
	t, err := l.scan()
	t.endPos = l.pos()
	return t, err
}

func (l *lexer) scan() (token, error) {
	l.skipSpace()
	start := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tEOF, pos: start, end: l.off}, nil
	}
	c := l.src[l.off]
	switch {
	case (c == '@' || c == 'h' || c == 'H') && (l.peekByte(1) == '"' || l.peekByte(1) == '\''):
		// @"verbatim" and h"obfuscated" strings.
		if c == '@' {
			return l.verbatim(start)
		}
		l.advance(1)
		return l.quoted(start)
	case c == '"' || c == '\'':
		return l.quoted(start)
	case c == '`' && strings.HasPrefix(l.src[l.off:], "```"):
		end := strings.Index(l.src[l.off+3:], "```")
		if end < 0 {
			return token{}, l.errorf(start, "unterminated ``` string literal")
		}
		text := l.src[l.off+3 : l.off+3+end]
		l.advance(end + 6)
		return token{kind: tString, text: text, pos: start, end: l.off}, nil
	case isDigit(c) || (c == '.' && isDigit(l.peekByte(1)) && !l.afterDot()):
		return l.number(start)
	case isIdentStart(c):
		n := 1
		for l.off+n < len(l.src) && isIdentPart(l.src[l.off+n]) {
			n++
		}
		word := l.src[l.off : l.off+n]
		l.advance(n)
		if rawLiterals[strings.ToLower(word)] {
			if tok, ok, err := l.rawLiteral(start, word); ok || err != nil {
				return tok, err
			}
		}
		return token{kind: tIdent, text: word, pos: start, end: l.off}, nil
	case c == '!' && isIdentStart(l.peekByte(1)):
		n := 2
		for l.off+n < len(l.src) && isIdentPart(l.src[l.off+n]) {
			n++
		}
		word := l.src[l.off : l.off+n]
		l.advance(n)
		return token{kind: tIdent, text: word, pos: start, end: l.off}, nil
	}
	for _, op := range ops2 {
		if strings.HasPrefix(l.src[l.off:], op) {
			l.advance(2)
			return token{kind: tOp, text: op, pos: start, end: l.off}, nil
		}
	}
	switch c {
	case '|', '(', ')', '[', ']', '{', '}', ',', ';', '.', '=', '<', '>', '+', '-', '*', '/', '%', ':', '~', '?':
		l.advance(1)
		return token{kind: tOp, text: string(c), pos: start, end: l.off}, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	return token{}, l.errorf(start, "unexpected character %s", strconv.QuoteRune(r))
}

// afterDot reports whether the previous byte is a dot (so ".5" in "1..5" is
// not a number).
func (l *lexer) afterDot() bool { return l.off > 0 && l.src[l.off-1] == '.' }

// quoted reads a '...' or "..." literal with backslash escapes.
func (l *lexer) quoted(start Pos) (token, error) {
	q := l.src[l.off]
	l.advance(1)
	var b strings.Builder
	for {
		if l.off >= len(l.src) || l.src[l.off] == '\n' {
			return token{}, l.errorf(start, "unterminated string literal")
		}
		c := l.src[l.off]
		if c == q {
			l.advance(1)
			return token{kind: tString, text: b.String(), pos: start, end: l.off}, nil
		}
		if c != '\\' {
			r, size := utf8.DecodeRuneInString(l.src[l.off:])
			if r == utf8.RuneError && size == 1 {
				return token{}, l.errorf(l.pos(), "invalid UTF-8 in string literal")
			}
			b.WriteString(l.src[l.off : l.off+size])
			l.advance(size)
			continue
		}
		escPos := l.pos()
		e := l.peekByte(1)
		l.advance(1)
		if l.off >= len(l.src) {
			return token{}, l.errorf(start, "unterminated string literal")
		}
		l.advance(1)
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'u', 'U', 'x':
			n := map[byte]int{'u': 4, 'U': 8, 'x': 2}[e]
			if l.off+n > len(l.src) {
				return token{}, l.errorf(escPos, "bad escape sequence")
			}
			v, err := strconv.ParseUint(l.src[l.off:l.off+n], 16, 32)
			if err != nil || !utf8.ValidRune(rune(v)) {
				return token{}, l.errorf(escPos, "bad escape sequence")
			}
			l.advance(n)
			b.WriteRune(rune(v))
		default:
			return token{}, l.errorf(escPos, "unknown escape sequence \\%c", e)
		}
	}
}

// verbatim reads @"..." or @'...': no escapes, a doubled quote is a quote.
func (l *lexer) verbatim(start Pos) (token, error) {
	l.advance(1)
	q := l.src[l.off]
	l.advance(1)
	var b strings.Builder
	for {
		if l.off >= len(l.src) || l.src[l.off] == '\n' {
			return token{}, l.errorf(start, "unterminated string literal")
		}
		c := l.src[l.off]
		if c == q {
			if l.peekByte(1) == q {
				b.WriteByte(q)
				l.advance(2)
				continue
			}
			l.advance(1)
			return token{kind: tString, text: b.String(), pos: start, end: l.off}, nil
		}
		b.WriteByte(c)
		l.advance(1)
	}
}

// spanUnits maps timespan literal suffixes to their length in ticks.
var spanUnits = map[string]int64{
	"d": ticksPerDay, "day": ticksPerDay, "days": ticksPerDay,
	"h": ticksPerHour, "hr": ticksPerHour, "hrs": ticksPerHour, "hour": ticksPerHour, "hours": ticksPerHour,
	"m": ticksPerMinute, "min": ticksPerMinute, "minute": ticksPerMinute, "minutes": ticksPerMinute,
	"s": ticksPerSecond, "sec": ticksPerSecond, "second": ticksPerSecond, "seconds": ticksPerSecond,
	"ms": ticksPerMilli, "milli": ticksPerMilli, "millis": ticksPerMilli,
	"millisecond": ticksPerMilli, "milliseconds": ticksPerMilli,
	"microsecond": 10, "microseconds": 10,
	"tick": 1, "ticks": 1,
}

// number reads an integer, real or timespan literal.
func (l *lexer) number(start Pos) (token, error) {
	s := l.src[l.off:]
	n := 0
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		n = 2
		for n < len(s) && strings.IndexByte("0123456789abcdefABCDEF", s[n]) >= 0 {
			n++
		}
		if n == 2 {
			return token{}, l.errorf(start, "invalid hexadecimal literal")
		}
	} else {
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		if n+1 < len(s) && s[n] == '.' && isDigit(s[n+1]) {
			n++
			for n < len(s) && isDigit(s[n]) {
				n++
			}
		} else if n < len(s) && s[n] == '.' && (n+1 >= len(s) || s[n+1] != '.') && !(n+1 < len(s) && isIdentStart(s[n+1])) {
			n++ // "1." is a real
		}
		if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
			m := n + 1
			if m < len(s) && (s[m] == '+' || s[m] == '-') {
				m++
			}
			if m < len(s) && isDigit(s[m]) {
				for m < len(s) && isDigit(s[m]) {
					m++
				}
				n = m
			}
		}
	}
	num := s[:n]
	u := n
	for u < len(s) && isIdentPart(s[u]) {
		u++
	}
	if u > n {
		unit := s[n:u]
		if _, ok := spanUnits[strings.ToLower(unit)]; !ok || strings.HasPrefix(num, "0x") {
			return token{}, l.errorf(start, "invalid literal %q", s[:u])
		}
		l.advance(u)
		return token{kind: tSpan, text: s[:u], pos: start, end: l.off}, nil
	}
	l.advance(n)
	return token{kind: tNumber, text: num, pos: start, end: l.off}, nil
}

// rawLiteral reads the parenthesized body after a typed-literal name, if
// one follows. ok is false (and nothing consumed) when no '(' follows.
func (l *lexer) rawLiteral(start Pos, word string) (token, bool, error) {
	save := *l
	l.skipSpace()
	if l.off >= len(l.src) || l.src[l.off] != '(' {
		*l = save
		return token{}, false, nil
	}
	l.advance(1)
	bodyStart := l.off
	depth := 1
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '"', '\'':
			// Skip a string inside the body (dynamic literals hold JSON).
			q := c
			l.advance(1)
			for l.off < len(l.src) && l.src[l.off] != q && l.src[l.off] != '\n' {
				if l.src[l.off] == '\\' {
					l.advance(1)
				}
				if l.off < len(l.src) {
					l.advance(1)
				}
			}
			if l.off >= len(l.src) || l.src[l.off] != q {
				return token{}, true, l.errorf(start, "unterminated string in %s literal", word)
			}
		}
		if depth == 0 {
			body := l.src[bodyStart:l.off]
			l.advance(1)
			return token{kind: tRaw, text: strings.ToLower(word), raw: body, pos: start, end: l.off}, true, nil
		}
		l.advance(1)
	}
	return token{}, true, l.errorf(start, "unterminated %s literal: missing ')'", word)
}
