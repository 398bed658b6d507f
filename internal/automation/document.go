package automation

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unsafe"
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
	multi       []cachedMulti
	outcomes    []outcome
	tree        any
	decoded     bool
	src         string // the last event source asked, and its index
	srcIdx      int
	srcSet      bool

	// An index of the body's top-level members, built as far as lookups
	// needed it: lookups resume the scan where the last one stopped.
	top      []member
	topState uint8 // topUnscanned, topScanning, topComplete or topNotObject
	topPos   int   // where the scan resumes
	topSkip  bool  // topPos is at a value not yet skipped

	cacheBuf   [4]cached
	outcomeBuf [6]outcome
	topBuf     [16]member
}

const (
	topUnscanned = iota
	topScanning
	topComplete
	topNotObject
)

// member is a top-level property: its raw name body[ks:ke] and the start
// of its value.
type member struct {
	ks, ke, val int32
	flags       uint8 // strEsc, strHigh
}

type cached struct {
	path int32
	val  value
}

type outcome struct {
	group int32
	match bool
}

// sourceIndex is sourceIndex(source), remembered for the last source
// asked (the same string, every time, from the engine).
func (d *Document) sourceIndex(source string) int {
	if d.srcSet && len(source) == len(d.src) && unsafe.StringData(source) == unsafe.StringData(d.src) {
		return d.srcIdx
	}
	i := sourceIndex(source)
	if i < 0 {
		return numSources // always nil in Matcher.sources
	}
	d.src, d.srcIdx, d.srcSet = source, i, true
	return i
}

func (d *Document) outcome(group int32) (bool, bool) {
	for _, o := range d.outcomes {
		if o.group == group {
			return o.match, true
		}
	}
	return false, false
}

func (d *Document) remember(group int32, match bool) {
	if d.outcomes == nil {
		d.outcomes = d.outcomeBuf[:0]
	}
	d.outcomes = append(d.outcomes, outcome{group, match})
}

// NewDocument wraps an event's body and extra fields; it is the engine's
// document builder (export.Options.Document).
// Bodies of 2 GB or more (beyond int32 offsets) are not indexed.
func NewDocument(body, extra []byte) any { return &Document{body: body, extra: extra} }

// lookup resolves a simple path to the value the rules compare.
func (d *Document) lookup(p *Path) value {
	for i := range d.cache {
		if d.cache[i].path == p.id {
			return d.cache[i].val
		}
	}
	v := d.simpleLookup(p.steps)
	if d.cache == nil {
		d.cache = d.cacheBuf[:0]
	}
	d.cache = append(d.cache, cached{p.id, v})
	return v
}

// selected resolves a path that is not simple on the decoded document:
// every value it selects.
func (d *Document) selected(p *Path) []value {
	for _, m := range d.multi {
		if m.path == p.id {
			return m.vals
		}
	}
	if !d.decoded {
		d.tree = decodeDocument(d.body, d.extra)
		d.decoded = true
	}
	vals := valuesOf(p.all(d.tree))
	d.multi = append(d.multi, cachedMulti{p.id, vals})
	return vals
}

type cachedMulti struct {
	path int32
	vals []value
}

func valuesOf(xs []any) []value {
	out := make([]value, len(xs))
	for i, x := range xs {
		out[i] = valueOf(x)
	}
	return out
}

// simpleLookup resolves simple steps: in the body, through its top-level
// index, with the extra fields counting where the body lacks a name (as if
// merged into it, as export.Document does).
func (d *Document) simpleLookup(steps []step) value {
	if steps[0].isIdx || len(d.body) >= math.MaxInt32 {
		v, top := rawLookup(d.body, steps)
		if !top && len(d.extra) > 0 {
			v, _ = rawLookup(d.extra, steps)
		}
		return v
	}
	key := steps[0].key
	at, found, name := d.topMember(key, steps[0].ascii)
	if d.topState == topNotObject {
		return value{}
	}
	if found && name == key {
		return walkRaw(d.body, at, steps[1:])
	}
	if len(d.extra) > 0 {
		if i := skipWS(d.extra, 0); i < len(d.extra) && d.extra[i] == '{' {
			eat, efound, ename := objectMemberName(d.extra, i, key, steps[0].ascii)
			// An exact name in the extra fields wins over a case-folded one
			// in the body; between case-folded names the smallest wins, the
			// body's on a tie.
			if efound && (ename == key || !found || ename < name) {
				return walkRaw(d.extra, eat, steps[1:])
			}
		}
	}
	if found {
		return walkRaw(d.body, at, steps[1:])
	}
	return value{}
}

// topMember finds a top-level property of the body: an exact match
// first, else the case-insensitive match with the smallest name; name is
// the property's name.
func (d *Document) topMember(key string, ascii bool) (int, bool, string) {
	b := d.body
	if d.topState == topUnscanned {
		i := skipWS(b, 0)
		if i < len(b) && b[i] == '{' {
			d.topState, d.topPos, d.top = topScanning, i+1, d.topBuf[:0]
		} else {
			d.topState = topNotObject
		}
	}
	if d.topState == topNotObject {
		return 0, false, ""
	}
	for _, m := range d.top {
		// Most names differ in length: that test is inline.
		if (int(m.ke-m.ks) == len(key) || m.flags&strEsc != 0) && d.memberIs(m, key) {
			return int(m.val), true, key
		}
	}
	if d.topState == topScanning {
		if j, found := d.scanTop(key); found {
			return j, true, key
		}
	}
	at, best := -1, ""
	for _, m := range d.top {
		if !mayFold(b[m.ks:m.ke], m.flags == 0, key, ascii) {
			continue
		}
		if name, ok := stringAt(b, int(m.ks)-1, int(m.ke)); ok && strings.EqualFold(name, key) && (at < 0 || name < best) {
			at, best = int(m.val), name
		}
	}
	return at, at >= 0, best
}

// scanTop resumes the scan of the body's top-level properties, indexing
// them, until one is named key exactly (found) or the object ends. The
// scan state lives in locals while it runs.
func (d *Document) scanTop(key string) (at int, found bool) {
	b, top, i, skip := d.body, d.top, d.topPos, d.topSkip
	for {
		if skip {
			next, ok := skipValue(b, i)
			if !ok {
				break
			}
			i, skip = next, false
		}
		i = skipWS(b, i)
		if i >= len(b) || b[i] != '"' && b[i] != ',' { // '}' or malformed
			break
		}
		if b[i] == ',' {
			i++
			continue
		}
		end, flags, ok := scanStringFlags(b, i)
		if !ok {
			break
		}
		j := skipWS(b, end+1)
		if j >= len(b) || b[j] != ':' {
			break
		}
		j = skipWS(b, j+1)
		m := member{ks: int32(i + 1), ke: int32(end), val: int32(j), flags: flags}
		top = append(top, m)
		i, skip = j, true
		if (int(m.ke-m.ks) == len(key) || flags&strEsc != 0) && d.memberIs(m, key) {
			d.top, d.topPos, d.topSkip = top, i, skip
			return j, true
		}
	}
	d.top, d.topState = top, topComplete
	return 0, false
}

func (d *Document) memberIs(m member, key string) bool {
	if m.flags&strEsc == 0 {
		return string(d.body[m.ks:m.ke]) == key
	}
	name, ok := stringAt(d.body, int(m.ks)-1, int(m.ke))
	return ok && name == key
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

// value is a resolved operand: a string, a number, a boolean, null, a
// composite, or nothing. A number's text (for String rules) is its
// shortest decimal form, made only when a rule asks for it.
type value struct {
	kind valKind
	b    bool
	// ascii tells whether s is ASCII, when asciiKnown (the scanner
	// learns it for free).
	ascii, asciiKnown bool
	s                 string
	f                 float64
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
		return value{kind: vNumber, f: t}
	case int64:
		return value{kind: vNumber, f: float64(t)}
	case int:
		return value{kind: vNumber, f: float64(t)}
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return value{kind: vOther}
		}
		return value{kind: vNumber, f: f}
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
	} else {
		at, ok := objectMember(b, i, steps[0].key, steps[0].ascii)
		if !ok {
			return value{}, false
		}
		i, steps, top = at, steps[1:], true
	}
	return walkRaw(b, i, steps), top
}

// walkRaw resolves steps from the value at b[i].
func walkRaw(b []byte, i int, steps []step) value {
	for _, s := range steps {
		if i >= len(b) {
			return value{}
		}
		var ok bool
		if s.isIdx {
			if b[i] != '[' {
				return value{}
			}
			i, ok = arrayElem(b, i, s.index)
		} else {
			if b[i] != '{' {
				return value{}
			}
			i, ok = objectMember(b, i, s.key, s.ascii)
		}
		if !ok {
			return value{}
		}
	}
	return readValue(b, i)
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

// scanString reads the string starting at b[i] == '"' and returns the
// index of its closing quote.
func scanString(b []byte, i int) (end int, ok bool) {
	j := i + 1
	for j <= len(b) {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, false
		}
		q := j + k
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q, true
		}
		j = q + 1
	}
	return 0, false
}

// Word-at-a-time byte search (SWAR): a word's bytes equal to c are the
// zero bytes of w^(c*lsbs); hasZero flags them (exactly for the lowest
// one, which is all the scanner uses).
const (
	lsbs  = 0x0101010101010101
	msbs  = 0x8080808080808080
	quote = '"' * lsbs
	bslsh = '\\' * lsbs
)

func hasZero(w uint64) uint64 { return (w - lsbs) &^ w & msbs }

// Flags of a scanned string.
const (
	strEsc  = 1 << iota // it holds an escape
	strHigh             // it holds a byte of 0x80 or more (not ASCII)
)

// scanStringFlags is scanString that also reports whether the string
// holds escapes (strEsc) or bytes beyond ASCII (strHigh). It reads eight
// bytes at a time looking for a quote or a backslash; an escape skips the
// byte after the backslash.
func scanStringFlags(b []byte, i int) (end int, flags uint8, ok bool) {
	j := i + 1
	var high uint64 // the high bits of the bytes read
	for {
		for j+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[j:])
			if m := hasZero(w^quote) | hasZero(w^bslsh); m != 0 {
				n := bits.TrailingZeros64(m) >> 3
				high |= w & (1<<(8*n) - 1)
				j += n
				break
			}
			high |= w
			j += 8
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' {
			high |= uint64(b[j])
			j++
		}
		if j >= len(b) {
			return 0, 0, false
		}
		if b[j] == '"' {
			if high&msbs != 0 {
				flags |= strHigh
			}
			return j, flags, true
		}
		flags |= strEsc
		j += 2
	}
}

// stringAt returns the content of the string b[i:end+1] (quotes
// included), unescaped. Without escapes it is b's bytes, not a copy (b is
// not modified while a Document reads it).
func stringAt(b []byte, i, end int) (string, bool) {
	raw := b[i+1 : end]
	if bytes.IndexByte(raw, '\\') < 0 {
		return unsafe.String(&b[i+1], len(raw)), true
	}
	var s string
	if err := json.Unmarshal(b[i:end+1], &s); err != nil {
		return "", false
	}
	return s, true
}

// structural marks the bytes that matter when skipping a composite value.
var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// skipValue returns the index just after the value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		end, ok := scanString(b, i)
		return end + 1, ok
	case '{', '[':
		depth := 0
		for i < len(b) {
			c := b[i]
			if !structural[c] {
				i++
				continue
			}
			switch c {
			case '"':
				end, ok := scanString(b, i)
				if !ok {
					return 0, false
				}
				i = end + 1
				continue
			case '{', '[':
				depth++
			default:
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
func objectMember(b []byte, i int, key string, keyASCII bool) (int, bool) {
	at, ok, _ := objectMemberName(b, i, key, keyASCII)
	return at, ok
}

// objectMemberName is objectMember that also returns the name found.
func objectMemberName(b []byte, i int, key string, keyASCII bool) (int, bool, string) {
	i++
	foldAt, foldName := -1, ""
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, false, ""
		}
		switch b[i] {
		case '}':
			return foldAt, foldAt >= 0, foldName
		case ',':
			i++
			continue
		case '"':
		default:
			return 0, false, ""
		}
		end, flags, ok := scanStringFlags(b, i)
		if !ok {
			return 0, false, ""
		}
		ks := i
		i = skipWS(b, end+1)
		if i >= len(b) || b[i] != ':' {
			return 0, false, ""
		}
		i = skipWS(b, i+1)
		raw := b[ks+1 : end]
		if flags&strEsc == 0 && string(raw) == key {
			return i, true, key
		}
		if mayFold(raw, flags == 0, key, keyASCII) {
			if name, ok := stringAt(b, ks, end); ok && (name == key || strings.EqualFold(name, key)) {
				if name == key {
					return i, true, key
				}
				if foldAt < 0 || name < foldName {
					foldAt, foldName = i, name
				}
			}
		}
		next, ok := skipValue(b, i)
		if !ok {
			return 0, false, ""
		}
		i = next
	}
}

// mayFold is a cheap filter: could the raw (still escaped) name equal key
// case-insensitively? ASCII names of another length never do. plain tells
// that raw is ASCII without escapes.
func mayFold(raw []byte, plain bool, key string, keyASCII bool) bool {
	if plain && keyASCII && len(raw) != len(key) {
		return false
	}
	if len(raw) == len(key) {
		for j := 0; j < len(raw); j++ {
			c, d := raw[j], key[j]
			if c|d >= 0x80 || c == '\\' {
				return true
			}
			if c != d && lowerASCII(c) != lowerASCII(d) {
				return false
			}
		}
		return true
	}
	if !keyASCII {
		return true
	}
	for _, c := range raw {
		if c >= 0x80 || c == '\\' {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if (uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56)&msbs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
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
		end, flags, ok := scanStringFlags(b, i)
		if !ok {
			return value{}
		}
		if flags&strEsc == 0 {
			// The body outlives the Document and is not modified while it
			// is matched: its bytes are the string, without a copy.
			return value{kind: vString, s: unsafe.String(&b[i+1], end-i-1), ascii: flags == 0, asciiKnown: true}
		}
		s, ok := stringAt(b, i, end)
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
		return value{kind: vNumber, f: f}
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
