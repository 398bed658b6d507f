package automation

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type opCode uint8

const (
	opEq opCode = iota
	opNe
	opGt
	opGe
	opLt
	opLe
	opContains
	opStartsWith
	opEndsWith
)

var opCodes = map[string]opCode{
	OpEquals: opEq, OpNotEquals: opNe, OpGreaterThan: opGt, OpGreaterThanOrEqualTo: opGe,
	OpLesserThan: opLt, OpLesserThanOrEqualTo: opLe, OpContains: opContains, OpStartsWith: opStartsWith, OpEndsWith: opEndsWith,
}

// rule is a compiled triggering rule.
type rule struct {
	path *Path
	typ  string // canonical property type
	op   opCode
	exp  string  // expected value (String)
	fold string  // exp case-folded (Contains, StartsWith, EndsWith)
	num  float64 // expected value (Integer, Number)
	b    bool    // expected value (Boolean)
}

// compileRule checks and compiles a rule; target locates it in errors.
func compileRule(r Rule, target string) (*rule, error) {
	c := &rule{}
	if strings.TrimSpace(r.PropertyJPath) == "" {
		return nil, invalid("InvalidPropertyJPath", target+".propertyJPath", "The propertyJPath is required.")
	}
	if len(r.PropertyJPath) > MaxJPath {
		return nil, invalid("LimitExceeded", target+".propertyJPath", "The propertyJPath is longer than %d characters.", MaxJPath)
	}
	p, err := CompilePath(r.PropertyJPath)
	if err != nil {
		return nil, invalid("InvalidPropertyJPath", target+".propertyJPath", "'%s' is not a valid JPath: %v.", r.PropertyJPath, err)
	}
	c.path = p
	typ, ok := canonical(PropertyTypes, strings.TrimSpace(r.PropertyType))
	if !ok {
		if strings.TrimSpace(r.PropertyType) == "" {
			return nil, invalid("InvalidPropertyType", target+".propertyType", "The propertyType is required; valid values: %s.", strings.Join(PropertyTypes, ", "))
		}
		return nil, invalid("InvalidPropertyType", target+".propertyType", "'%s' is not a valid propertyType; valid values: %s.", r.PropertyType, strings.Join(PropertyTypes, ", "))
	}
	c.typ = typ
	op, ok := canonical(Operators, strings.TrimSpace(r.Operator))
	if !ok {
		if strings.TrimSpace(r.Operator) == "" {
			return nil, invalid("InvalidOperator", target+".operator", "The operator is required; valid values: %s.", strings.Join(Operators, ", "))
		}
		return nil, invalid("InvalidOperator", target+".operator", "'%s' is not a valid operator; valid values: %s.", r.Operator, strings.Join(Operators, ", "))
	}
	if !operatorAllowed(typ, op) {
		return nil, invalid("InvalidOperator", target+".operator", "The operator '%s' does not apply to propertyType '%s'; %s.", op, typ, allowedFor(typ))
	}
	c.op = opCodes[op]
	if len(r.ExpectedValue) > MaxExpectedValue {
		return nil, invalid("LimitExceeded", target+".expectedValue", "The expectedValue is longer than %d characters.", MaxExpectedValue)
	}
	ev := r.ExpectedValue
	switch typ {
	case TypeString:
		c.exp, c.fold = ev, foldString(ev)
	case TypeInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(ev), 10, 64)
		if err != nil {
			return nil, invalid("InvalidExpectedValue", target+".expectedValue", "'%s' is not an integer.", ev)
		}
		c.num = float64(n)
	case TypeNumber:
		f, ok := parseNumber(ev)
		if !ok {
			return nil, invalid("InvalidExpectedValue", target+".expectedValue", "'%s' is not a decimal number.", ev)
		}
		c.num = f
	case TypeBoolean:
		switch strings.ToLower(strings.TrimSpace(ev)) {
		case "true":
			c.b = true
		case "false":
		default:
			return nil, invalid("InvalidExpectedValue", target+".expectedValue", "'%s' is not true or false.", ev)
		}
	}
	return c, nil
}

func allowedFor(typ string) string {
	switch typ {
	case TypeString:
		return "String allows Equals, NotEquals, Contains, StartsWith and EndsWith"
	case TypeBoolean:
		return "Boolean allows Equals and NotEquals"
	}
	return typ + " allows Equals, NotEquals, GreaterThan, GreaterThanOrEqualTo, LesserThan and LesserThanOrEqualTo"
}

// parseNumber reads a decimal number (surrounding spaces ignored).
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if !isDecimal(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// eval applies the rule to a resolved value. A missing or null value, a
// composite, or a value that cannot be read as the rule's type makes the
// rule false, whatever the operator (NotEquals too).
func (r *rule) eval(v value) bool {
	switch v.kind {
	case vMissing, vNull, vOther:
		return false
	}
	switch r.typ {
	case TypeString:
		var s string
		switch v.kind {
		case vString, vNumber:
			s = v.s
		case vBool:
			s = strconv.FormatBool(v.b)
		}
		switch r.op {
		case opEq:
			return strings.EqualFold(s, r.exp)
		case opNe:
			return !strings.EqualFold(s, r.exp)
		case opContains:
			return containsFold(s, r.fold)
		case opStartsWith:
			return hasPrefixFold(s, r.fold)
		case opEndsWith:
			return hasSuffixFold(s, r.fold)
		}
	case TypeInteger, TypeNumber:
		var f float64
		switch v.kind {
		case vNumber:
			f = v.f
		case vString:
			var ok bool
			if f, ok = parseNumber(v.s); !ok {
				return false
			}
		default:
			return false
		}
		switch r.op {
		case opEq:
			return f == r.num
		case opNe:
			return f != r.num
		case opGt:
			return f > r.num
		case opGe:
			return f >= r.num
		case opLt:
			return f < r.num
		case opLe:
			return f <= r.num
		}
	case TypeBoolean:
		var b bool
		switch v.kind {
		case vBool:
			b = v.b
		case vString:
			switch {
			case strings.EqualFold(strings.TrimSpace(v.s), "true"):
				b = true
			case strings.EqualFold(strings.TrimSpace(v.s), "false"):
			default:
				return false
			}
		default:
			return false
		}
		switch r.op {
		case opEq:
			return b == r.b
		case opNe:
			return b != r.b
		}
	}
	return false
}

// ---- case-insensitive text operators ----
//
// Text is compared under Unicode simple case folding (what strings.EqualFold
// uses): the expected value is folded once at compile time; the document's
// value is folded on the fly for ASCII and copied folded otherwise.

// foldString maps every rune to the smallest rune of its case-folding orbit.
func foldString(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(lowerASCII(byte(r)))
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	if least < utf8.RuneSelf {
		return rune(lowerASCII(byte(least)))
	}
	return least
}

// foldedASCIIAt compares s[i:i+len(f)] with the folded ASCII f.
func foldedASCIIAt(s string, i int, f string) bool {
	for j := 0; j < len(f); j++ {
		if lowerASCII(s[i+j]) != f[j] {
			return false
		}
	}
	return true
}

func containsFold(s, f string) bool {
	if isASCII(s) && isASCII(f) {
		for i := 0; i+len(f) <= len(s); i++ {
			if foldedASCIIAt(s, i, f) {
				return true
			}
		}
		return false
	}
	return strings.Contains(foldString(s), f)
}

func hasPrefixFold(s, f string) bool {
	if isASCII(s) && isASCII(f) {
		return len(s) >= len(f) && foldedASCIIAt(s, 0, f)
	}
	return strings.HasPrefix(foldString(s), f)
}

func hasSuffixFold(s, f string) bool {
	if isASCII(s) && isASCII(f) {
		return len(s) >= len(f) && foldedASCIIAt(s, len(s)-len(f), f)
	}
	return strings.HasSuffix(foldString(s), f)
}

// ---- matching ----

// sourceRules are the rule sets of one event source of an automation: the
// event passes when any set has all its rules true; all is set when some
// source of that event source has no rule sets (or an empty one).
type sourceRules struct {
	all  bool
	sets [][]*rule
}

// Matcher evaluates an automation's sources and rule sets.
type Matcher struct {
	sources map[string]*sourceRules // canonical event source
}

// NewMatcher compiles the sources of an automation (already validated).
func NewMatcher(sources []Source) (*Matcher, error) {
	m := &Matcher{sources: map[string]*sourceRules{}}
	for i, s := range sources {
		name, ok := CanonicalEventSource(s.EventSource)
		if !ok {
			return nil, invalid("InvalidEventSource", fmt.Sprintf("properties.sources[%d].eventSource", i), "'%s' is not a known event source.", s.EventSource)
		}
		sr := m.sources[name]
		if sr == nil {
			sr = &sourceRules{}
			m.sources[name] = sr
		}
		if len(s.RuleSets) == 0 {
			sr.all = true
		}
		for j, rs := range s.RuleSets {
			if len(rs.Rules) == 0 {
				sr.all = true
				continue
			}
			set := make([]*rule, 0, len(rs.Rules))
			for k, r := range rs.Rules {
				c, err := compileRule(r, fmt.Sprintf("properties.sources[%d].ruleSets[%d].rules[%d]", i, j, k))
				if err != nil {
					return nil, err
				}
				set = append(set, c)
			}
			sr.sets = append(sr.sets, set)
		}
	}
	for _, sr := range m.sources {
		if sr.all {
			sr.sets = nil
		}
	}
	return m, nil
}

func (m *Matcher) rules(source string) *sourceRules {
	if sr, ok := m.sources[source]; ok {
		return sr
	}
	if c, ok := CanonicalEventSource(source); ok {
		return m.sources[c]
	}
	return nil
}

// Sources returns the canonical event sources.
func (m *Matcher) Sources() []string {
	out := make([]string, 0, len(m.sources))
	for _, s := range EventSources {
		if m.sources[s] != nil {
			out = append(out, s)
		}
	}
	return out
}

// NeedsDoc reports whether matching an event of source reads its document.
func (m *Matcher) NeedsDoc(source string) bool {
	sr := m.rules(source)
	return sr != nil && !sr.all
}

// Match reports whether an event of source passes: the automation takes
// the source and one of its rule sets has all rules true. doc is a
// *Document, a decoded JSON document (export.Document), or nil.
func (m *Matcher) Match(source string, doc any) bool {
	sr := m.rules(source)
	if sr == nil {
		return false
	}
	if sr.all {
		return true
	}
	for _, set := range sr.sets {
		ok := true
		for _, r := range set {
			if !r.eval(resolve(doc, r.path)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// resolve looks a path up in whatever document the engine passed.
func resolve(doc any, p *Path) value {
	switch d := doc.(type) {
	case *Document:
		return d.lookup(p)
	case nil:
		return value{}
	default:
		x, ok := p.first(d)
		if !ok {
			return value{}
		}
		return valueOf(x)
	}
}
