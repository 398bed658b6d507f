package automation

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ohler55/ojg/jp"
)

// Path is a compiled propertyJPath. Paths made only of property names and
// array indexes ("Severity", "properties.metadata.severity",
// "entities[0].type", "$.a.b", "$['a']") are "simple": they are resolved
// by walking the document, matching a property name exactly or, when no
// property has exactly that name, case-insensitively. Other paths
// (wildcards, slices, unions, filters, recursive descent) are evaluated by
// ojg on a decoded document, with exact names; a rule on such a path is
// true when any value selected passes.
type Path struct {
	text  string
	id    int32  // the same for every Path with this text
	steps []step // nil unless simple
	expr  jp.Expr
}

// pathIDs interns path texts, so documents cache lookups by number.
var (
	pathIDsMu sync.Mutex
	pathIDs   = map[string]int32{}
)

func pathID(text string) int32 {
	pathIDsMu.Lock()
	defer pathIDsMu.Unlock()
	id, ok := pathIDs[text]
	if !ok {
		id = int32(len(pathIDs) + 1)
		pathIDs[text] = id
	}
	return id
}

type step struct {
	key   string
	ascii bool // key is ASCII
	index int
	isIdx bool
}

// String returns the path as written.
func (p *Path) String() string { return p.text }

// Simple reports whether the path is names and indexes only.
func (p *Path) Simple() bool { return p.steps != nil }

// CompilePath parses a propertyJPath (Json.NET syntax, surrounding spaces
// ignored).
func CompilePath(s string) (p *Path, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, fmt.Errorf("%v", v)
		}
	}()
	text := strings.TrimSpace(s)
	if text == "" {
		return nil, fmt.Errorf("the path is empty")
	}
	if len(text) > MaxJPath {
		return nil, fmt.Errorf("the path is longer than %d characters", MaxJPath)
	}
	x, err := jp.ParseString(text)
	if err != nil {
		return nil, err
	}
	p = &Path{text: text, id: pathID(text), expr: x}
	simple := true
	var steps []step
	for i, f := range x {
		switch f := f.(type) {
		case jp.Root, jp.At:
			if i != 0 {
				return nil, fmt.Errorf("'$' and '@' may only start the path")
			}
		case jp.Bracket:
		case jp.Child:
			steps = append(steps, step{key: string(f), ascii: isASCII(string(f))})
		case jp.Nth:
			steps = append(steps, step{index: int(f), isIdx: true})
		case *jp.Proc:
			return nil, fmt.Errorf("procedures are not supported")
		default:
			simple = false
		}
	}
	if simple {
		if len(steps) == 0 {
			return nil, fmt.Errorf("the path names no property")
		}
		p.steps = steps
	}
	return p, nil
}

// all returns the values the path selects in a decoded document (at most
// one for a simple path).
func (p *Path) all(doc any) (got []any) {
	if p.steps != nil {
		if v, ok := walk(doc, p.steps); ok {
			return []any{v}
		}
		return nil
	}
	defer func() {
		if recover() != nil {
			got = nil
		}
	}()
	return p.expr.Get(doc)
}

// walk resolves simple steps in a decoded document (maps and slices).
func walk(doc any, steps []step) (any, bool) {
	cur := doc
	for _, s := range steps {
		if s.isIdx {
			arr, ok := cur.([]any)
			if !ok {
				return nil, false
			}
			i := s.index
			if i < 0 {
				i += len(arr)
			}
			if i < 0 || i >= len(arr) {
				return nil, false
			}
			cur = arr[i]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := m[s.key]
		if !ok {
			v, ok = foldKey(m, s.key)
			if !ok {
				return nil, false
			}
		}
		cur = v
	}
	return cur, true
}

// foldKey finds a property whose name equals key case-insensitively; when
// several do, the smallest name wins (a deterministic choice).
func foldKey(m map[string]any, key string) (any, bool) {
	var names []string
	for k := range m {
		if strings.EqualFold(k, key) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil, false
	}
	slices.Sort(names)
	return m[names[0]], true
}
