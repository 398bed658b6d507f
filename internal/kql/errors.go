package kql

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Pos is a position in the query text: 1-based line and column (columns
// count characters, not bytes) and the byte offset.
type Pos struct {
	Line, Col int
	Off       int
}

func (p Pos) String() string { return fmt.Sprintf("line %d, column %d", p.Line, p.Col) }

// Error is a syntax or semantic error in a query, at a position.
type Error struct {
	Pos Pos
	// Msg is the message without the position.
	Msg string
	// Line is the text of the source line the position is on.
	Line string
	// Semantic marks errors of a query that parses but does not make
	// sense (unknown table, column or function, wrong types); the others
	// are syntax errors.
	Semantic bool
}

// Error renders "line L, column C: message", then the source line and a
// caret under the column.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Pos, e.Msg)
	if e.Line != "" || e.Pos.Col > 0 {
		b.WriteByte('\n')
		b.WriteString(e.Line)
		b.WriteByte('\n')
		b.WriteString(caretPad(e.Line, e.Pos.Col))
		b.WriteByte('^')
	}
	return b.String()
}

// caretPad returns the whitespace that puts a caret under column col of
// line: tabs stay tabs so the caret lines up however tabs are shown.
func caretPad(line string, col int) string {
	var b strings.Builder
	n := 1
	for _, r := range line {
		if n >= col {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		n++
	}
	for ; n < col; n++ {
		b.WriteByte(' ')
	}
	return b.String()
}

// errorAt builds an Error at pos of src.
func errorAt(src string, pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Line: lineOf(src, pos.Off)}
}

// lineOf returns the line of src that holds byte offset off (without its
// line break), capped at 500 bytes so a huge one-line query does not make
// a huge error.
func lineOf(src string, off int) string {
	if off > len(src) {
		off = len(src)
	}
	start := strings.LastIndexByte(src[:off], '\n') + 1
	end := strings.IndexByte(src[off:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += off
	}
	line := strings.TrimSuffix(src[start:end], "\r")
	const maxLine = 500
	if len(line) > maxLine {
		cut := maxLine
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut]
	}
	return line
}
