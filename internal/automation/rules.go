package automation

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	exp  string // expected value (String)
	fold string // exp case-folded (Contains, StartsWith, EndsWith)
	// foldASCII tells that fold is ASCII.
	foldASCII bool
	num       float64 // expected value (Integer, Number)
	b         bool    // expected value (Boolean)
}

// cost estimates what evaluating the rule takes: a path of one name is
// read near the top of the document (or from the event's extra fields),
// each further step reads deeper, and a path that is not simple decodes
// the whole document.
func (r *rule) cost() int {
	if r.path.steps == nil {
		return 1000
	}
	return len(r.path.steps)
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
		c.foldASCII = isASCII(c.fold)
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
		ascii := true
		switch v.kind {
		case vString:
			s = v.s
			if v.asciiKnown {
				ascii = v.ascii
			} else if r.op >= opContains {
				ascii = isASCII(s)
			}
		case vNumber:
			s = formatNumber(v.f)
		case vBool:
			s = strconv.FormatBool(v.b)
		}
		switch r.op {
		case opEq:
			return strings.EqualFold(s, r.exp)
		case opNe:
			return !strings.EqualFold(s, r.exp)
		case opContains:
			return containsFold(s, r.fold, ascii && r.foldASCII)
		case opStartsWith:
			return hasPrefixFold(s, r.fold, ascii && r.foldASCII)
		case opEndsWith:
			return hasSuffixFold(s, r.fold, ascii && r.foldASCII)
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

// ascii tells that s and f are both ASCII.
func containsFold(s, f string, ascii bool) bool {
	if ascii {
		if f == "" {
			return true
		}
		// Candidates are where f's first byte occurs, in either case:
		// found by strings.IndexByte when it has no other case.
		c0 := f[0]
		other := c0
		if 'a' <= c0 && c0 <= 'z' {
			other = c0 - 'a' + 'A'
		}
		last := len(s) - len(f)
		for i := 0; i <= last; i++ {
			if other == c0 {
				k := strings.IndexByte(s[i:last+1], c0)
				if k < 0 {
					return false
				}
				i += k
			} else if c := s[i]; c != c0 && c != other {
				continue
			}
			if foldedASCIIAt(s, i+1, f[1:]) {
				return true
			}
		}
		return false
	}
	return strings.Contains(foldString(s), f)
}

func hasPrefixFold(s, f string, ascii bool) bool {
	if ascii {
		return len(s) >= len(f) && foldedASCIIAt(s, 0, f)
	}
	return strings.HasPrefix(foldString(s), f)
}

func hasSuffixFold(s, f string, ascii bool) bool {
	if ascii {
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
	// slots numbers the distinct rules of sets (slots[i][j] for
	// sets[i][j]), so that a rule repeated in several sets (the policies'
	// type Contains, say) is evaluated once; nil beyond maxSlots.
	slots [][]uint8
	// group identifies the rule sets by content: automations with the
	// same rules (those the built-in policies create, say) share it, and a
	// Document remembers the outcome per group, so an event is tested once
	// against each distinct group whatever the number of automations.
	group int32
}

// shared interns compiled rule groups by content: signature → group.
// Compiled rules are immutable, so automations with the same rules share
// one copy (fewer cache misses when events meet thousands of them); the
// table only grows with distinct rule groups, each bounded in size.
var (
	sharedMu sync.Mutex
	shared   = map[string]*sourceRules{}
	matchAll = &sourceRules{all: true}
)

func intern(sets [][]*rule) *sourceRules {
	var b strings.Builder
	slotOf := map[string]uint8{}
	slots := make([][]uint8, len(sets))
	for i, set := range sets {
		b.WriteString("\x01")
		slots[i] = make([]uint8, len(set))
		for j, r := range set {
			rs := fmt.Sprintf("%s\x00%s\x00%d\x00%s\x00%g\x00%t\x02", r.path.text, r.typ, r.op, r.exp, r.num, r.b)
			b.WriteString(rs)
			k, ok := slotOf[rs]
			if !ok && len(slotOf) < maxSlots {
				k = uint8(len(slotOf))
				slotOf[rs] = k
			}
			slots[i][j] = k
		}
	}
	if len(slotOf) >= maxSlots {
		slots = nil // too many distinct rules to remember outcomes
	}
	sig := b.String()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	sr, ok := shared[sig]
	if !ok {
		sr = &sourceRules{sets: sets, slots: slots, group: int32(len(shared) + 1)}
		shared[sig] = sr
	}
	return sr
}

// maxSlots bounds the distinct rules of a group whose outcomes
// matchDocument remembers while it runs.
const maxSlots = 64

// Matcher evaluates an automation's sources and rule sets. Matchers are
// immutable and shared by automations with the same sources and rules.
type Matcher struct {
	sources [numSources + 1]*sourceRules // by index in EventSources; the last one stays nil
	// match and needsDoc are the method values given to the engine, made
	// once so that every automation sharing the matcher shares them.
	match    func(source string, doc any) bool
	needsDoc func(source string) bool
}

var (
	matchersMu sync.Mutex
	matchers   = map[[numSources + 1]*sourceRules]*Matcher{}
)

const numSources = 13

// sourceIndex returns the index of an event source in EventSources (-1
// when unknown); canonical spellings take the fast path.
func sourceIndex(s string) int {
	switch s {
	case "Assessments":
		return 0
	case "AssessmentsSnapshot":
		return 1
	case "SubAssessments":
		return 2
	case "SubAssessmentsSnapshot":
		return 3
	case "Alerts":
		return 4
	case "SecureScores":
		return 5
	case "SecureScoresSnapshot":
		return 6
	case "SecureScoreControls":
		return 7
	case "SecureScoreControlsSnapshot":
		return 8
	case "RegulatoryComplianceAssessment":
		return 9
	case "RegulatoryComplianceAssessmentSnapshot":
		return 10
	case "AttackPaths":
		return 11
	case "AttackPathsSnapshot":
		return 12
	}
	if c, ok := CanonicalEventSource(s); ok && c != s {
		return sourceIndex(c)
	}
	return -1
}

// NewMatcher compiles the sources of an automation (already validated).
func NewMatcher(sources []Source) (*Matcher, error) {
	var all [numSources]bool
	var sets [numSources][][]*rule
	var seen [numSources]bool
	for i, s := range sources {
		idx := sourceIndex(strings.TrimSpace(s.EventSource))
		if idx < 0 {
			return nil, invalid("InvalidEventSource", fmt.Sprintf("properties.sources[%d].eventSource", i), "'%s' is not a known event source.", s.EventSource)
		}
		seen[idx] = true
		if len(s.RuleSets) == 0 {
			all[idx] = true
		}
		for j, rs := range s.RuleSets {
			if len(rs.Rules) == 0 {
				all[idx] = true
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
			// A set holds when all its rules do: evaluate the cheap ones
			// first, so that a false one spares reading the others.
			slices.SortStableFunc(set, func(a, b *rule) int { return a.cost() - b.cost() })
			sets[idx] = append(sets[idx], set)
		}
	}
	var key [numSources + 1]*sourceRules
	for idx := range numSources {
		switch {
		case !seen[idx]:
		case all[idx]:
			key[idx] = matchAll
		default:
			key[idx] = intern(sets[idx])
		}
	}
	matchersMu.Lock()
	defer matchersMu.Unlock()
	m := matchers[key]
	if m == nil {
		m = &Matcher{sources: key}
		m.match, m.needsDoc = m.Match, m.NeedsDoc
		matchers[key] = m
	}
	return m, nil
}

func (m *Matcher) rules(source string) *sourceRules {
	if i := sourceIndex(source); i >= 0 {
		return m.sources[i]
	}
	return nil
}

// Sources returns the canonical event sources.
func (m *Matcher) Sources() []string {
	var out []string
	for i, s := range EventSources {
		if m.sources[i] != nil {
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
	d, isDoc := doc.(*Document)
	var sr *sourceRules
	if isDoc {
		// The engine asks every candidate about the same event source:
		// the document remembers its index.
		sr = m.sources[d.sourceIndex(source)]
	} else {
		sr = m.rules(source)
	}
	if sr == nil {
		return false
	}
	if sr.all {
		return true
	}
	if isDoc {
		if res, ok := d.outcome(sr.group); ok {
			return res
		}
		res := sr.matchDocument(d)
		d.remember(sr.group, res)
		return res
	}
	return sr.match(doc)
}

func (sr *sourceRules) matchDocument(d *Document) bool {
	var memo [maxSlots]uint8 // 0 not evaluated, 1 false, 2 true
	for i, set := range sr.sets {
		ok := true
		for j, r := range set {
			var res bool
			if sr.slots == nil {
				res = r.testDocument(d)
			} else if k := sr.slots[i][j]; memo[k] != 0 {
				res = memo[k] == 2
			} else {
				res = r.testDocument(d)
				memo[k] = 1
				if res {
					memo[k] = 2
				}
			}
			if !res {
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

func (sr *sourceRules) match(doc any) bool {
	for _, set := range sr.sets {
		ok := true
		for _, r := range set {
			if !r.test(doc) {
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

// test applies the rule to whatever document the engine passed: a
// *Document, a decoded document (export.Document) or nil. A simple path
// names one value; for other paths the rule holds when any value selected
// passes.
func (r *rule) test(doc any) bool {
	switch d := doc.(type) {
	case *Document:
		return r.testDocument(d)
	case nil:
		return false
	default:
		for _, x := range r.path.all(d) {
			if r.eval(valueOf(x)) {
				return true
			}
		}
		return false
	}
}

func (r *rule) testDocument(d *Document) bool {
	if r.path.steps != nil {
		return r.eval(d.lookup(r.path))
	}
	for _, v := range d.selected(r.path) {
		if r.eval(v) {
			return true
		}
	}
	return false
}
