package kql

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of expressions and pipelines, so that a
// hostile query cannot exhaust the stack.
const maxDepth = 200

// MaxQueryLength is the longest query text Parse accepts (bytes).
const MaxQueryLength = 1 << 20

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

// Parse parses a query: let statements separated by ';' followed by one
// tabular expression. A syntax error is an *Error with its position.
func Parse(src string) (*Query, error) {
	if len(src) > MaxQueryLength {
		return nil, &Error{Pos: Pos{Line: 1, Col: 1}, Msg: "query is too long"}
	}
	lx := newLexer(src)
	var toks []token
	for {
		t, err := lx.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tEOF && len(toks) > 0 {
			// Point errors at the end of the query just after its last
			// token, not on the empty line a final newline starts.
			t.pos = toks[len(toks)-1].endPos
		}
		toks = append(toks, t)
		if t.kind == tEOF {
			break
		}
	}
	p := &parser{src: src, toks: toks}
	return p.query()
}

func (p *parser) tok() token { return p.toks[p.i] }

func (p *parser) peek(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) adv() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) errorf(pos Pos, format string, args ...any) *Error {
	return errorAt(p.src, pos, format, args...)
}

// describe names a token for "expected X, found Y" messages.
func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return "string literal"
	case tRaw:
		return t.text + " literal"
	}
	return "'" + t.text + "'"
}

func (p *parser) isOp(text string) bool { return p.tok().is(tOp, text) }

func (p *parser) isWord(text string) bool { return p.tok().is(tIdent, text) }

func (p *parser) expectOp(text string) (token, error) {
	if !p.isOp(text) {
		return token{}, p.errorf(p.tok().pos, "expected '%s', found %s", text, describe(p.tok()))
	}
	return p.adv(), nil
}

func (p *parser) expectWord(text string) (token, error) {
	if !p.isWord(text) {
		return token{}, p.errorf(p.tok().pos, "expected '%s', found %s", text, describe(p.tok()))
	}
	return p.adv(), nil
}

func (p *parser) ident(what string) (*Ident, error) {
	t := p.tok()
	if t.kind == tIdent && !strings.HasPrefix(t.text, "!") {
		p.adv()
		return &Ident{Pos: t.pos, Name: t.text}, nil
	}
	if id, ok := p.bracketName(); ok {
		return id, nil
	}
	return nil, p.errorf(t.pos, "expected %s, found %s", what, describe(t))
}

// bracketName reads ['name'] or ["name"], a quoted identifier.
func (p *parser) bracketName() (*Ident, bool) {
	if p.isOp("[") && p.peek(1).kind == tString && p.peek(2).is(tOp, "]") {
		t := p.adv()
		name := p.adv().text
		p.adv()
		return &Ident{Pos: t.pos, Name: name}, true
	}
	return nil, false
}

// adjacent reports whether token b starts right where a ends.
func adjacent(a, b token) bool { return a.end == b.pos.Off }

func (p *parser) enter(pos Pos) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf(pos, "query is nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) query() (*Query, error) {
	q := &Query{}
	for {
		for p.isOp(";") {
			p.adv()
		}
		t := p.tok()
		if t.kind == tEOF {
			break
		}
		if q.Body != nil {
			return nil, p.errorf(t.pos, "only one query statement is supported: found %s after the query", describe(t))
		}
		switch {
		case t.is(tIdent, "let"):
			s, err := p.let()
			if err != nil {
				return nil, err
			}
			q.Lets = append(q.Lets, s)
		case t.is(tIdent, "set") || t.is(tIdent, "declare") || t.is(tIdent, "alias") || t.is(tIdent, "pattern") || t.is(tIdent, "restrict"):
			return nil, p.errorf(t.pos, "'%s' statements are not supported", t.text)
		default:
			body, err := p.pipe()
			if err != nil {
				return nil, err
			}
			q.Body = body
		}
		if !p.isOp(";") && p.tok().kind != tEOF {
			return nil, p.errorf(p.tok().pos, "expected ';' or end of query, found %s", describe(p.tok()))
		}
	}
	if q.Body == nil {
		return nil, p.errorf(p.tok().pos, "the query has no tabular expression")
	}
	return q, nil
}

func (p *parser) let() (*LetStmt, error) {
	p.adv()
	name, err := p.ident("a name after 'let'")
	if err != nil {
		return nil, err
	}
	if _, err := p.expectOp("="); err != nil {
		return nil, err
	}
	if p.isOp("(") && (p.peek(1).is(tOp, ")") || (p.peek(1).kind == tIdent && p.peek(2).is(tOp, ":"))) {
		return nil, p.errorf(p.tok().pos, "user-defined functions are not supported")
	}
	v, err := p.pipe()
	if err != nil {
		return nil, err
	}
	return &LetStmt{Pos: name.Pos, Name: name.Name, Value: v}, nil
}

// pipe parses a source followed by '|' operators.
func (p *parser) pipe() (Expr, error) {
	start := p.tok()
	if err := p.enter(start.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	var src Expr
	var err error
	switch {
	case start.is(tIdent, "union"):
		p.adv()
		src, err = p.unionArgs(start.pos)
	case start.is(tIdent, "print"):
		p.adv()
		var cols []NamedExpr
		cols, err = p.namedList()
		src = &PrintExpr{Pos: start.pos, Cols: cols}
	default:
		src, err = p.expr()
	}
	if err != nil {
		return nil, err
	}
	if !p.isOp("|") {
		return src, nil
	}
	pipe := &Pipe{Pos: start.pos, Source: src}
	for p.isOp("|") {
		p.adv()
		op, err := p.operator()
		if err != nil {
			return nil, err
		}
		pipe.Ops = append(pipe.Ops, op)
	}
	return pipe, nil
}

// opName reads a tabular operator name, joining hyphenated names
// (project-away, mv-expand).
func (p *parser) opName() (string, Pos, error) {
	t := p.tok()
	if t.kind != tIdent {
		return "", t.pos, p.errorf(t.pos, "expected a tabular operator, found %s", describe(t))
	}
	p.adv()
	name := t.text
	last := t
	for p.isOp("-") && adjacent(last, p.tok()) && p.peek(1).kind == tIdent && adjacent(p.tok(), p.peek(1)) {
		p.adv()
		last = p.adv()
		name += "-" + last.text
	}
	return name, t.pos, nil
}

func (p *parser) operator() (Operator, error) {
	name, pos, err := p.opName()
	if err != nil {
		return nil, err
	}
	switch name {
	case "where", "filter":
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		return &WhereOp{Pos: pos, Pred: e}, nil
	case "project":
		cols, err := p.namedList()
		if err != nil {
			return nil, err
		}
		if len(cols) == 0 {
			return nil, p.errorf(p.tok().pos, "project needs at least one column")
		}
		return &ProjectOp{Pos: pos, Cols: cols}, nil
	case "extend":
		cols, err := p.namedList()
		if err != nil {
			return nil, err
		}
		if len(cols) == 0 {
			return nil, p.errorf(p.tok().pos, "extend needs at least one expression")
		}
		return &ExtendOp{Pos: pos, Cols: cols}, nil
	case "project-away", "project-keep":
		names, err := p.nameList()
		if err != nil {
			return nil, err
		}
		if name == "project-away" {
			return &ProjectAwayOp{Pos: pos, Names: names}, nil
		}
		return &ProjectKeepOp{Pos: pos, Names: names}, nil
	case "project-reorder":
		names, err := p.nameList()
		if err != nil {
			return nil, err
		}
		return &ProjectReorderOp{Pos: pos, Names: names}, nil
	case "project-rename":
		op := &ProjectRenameOp{Pos: pos}
		for {
			n, err := p.ident("a new column name")
			if err != nil {
				return nil, err
			}
			if _, err := p.expectOp("="); err != nil {
				return nil, err
			}
			old, err := p.ident("a column name")
			if err != nil {
				return nil, err
			}
			op.Pairs = append(op.Pairs, RenamePair{New: n.Name, NewPos: n.Pos, Old: old})
			if !p.isOp(",") {
				return op, nil
			}
			p.adv()
		}
	case "summarize":
		p.skipHints()
		op := &SummarizeOp{Pos: pos}
		if !p.isWord("by") {
			op.Aggs, err = p.namedList()
			if err != nil {
				return nil, err
			}
		}
		if p.isWord("by") {
			p.adv()
			op.By, err = p.namedList()
			if err != nil {
				return nil, err
			}
			if len(op.By) == 0 {
				return nil, p.errorf(p.tok().pos, "expected an expression after 'by', found %s", describe(p.tok()))
			}
		}
		if len(op.Aggs) == 0 && len(op.By) == 0 {
			return nil, p.errorf(p.tok().pos, "summarize needs an aggregation or a 'by' clause")
		}
		return op, nil
	case "order", "sort":
		if _, err := p.expectWord("by"); err != nil {
			return nil, err
		}
		keys, err := p.sortKeys()
		if err != nil {
			return nil, err
		}
		return &SortOp{Pos: pos, Keys: keys}, nil
	case "top":
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectWord("by"); err != nil {
			return nil, err
		}
		keys, err := p.sortKeys()
		if err != nil {
			return nil, err
		}
		return &TopOp{Pos: pos, N: n, Keys: keys}, nil
	case "take", "limit":
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		return &TakeOp{Pos: pos, N: n}, nil
	case "distinct":
		if p.isOp("*") {
			p.adv()
			return &DistinctOp{Pos: pos, Star: true}, nil
		}
		cols, err := p.namedList()
		if err != nil {
			return nil, err
		}
		if len(cols) == 0 {
			return nil, p.errorf(p.tok().pos, "distinct needs '*' or at least one column")
		}
		return &DistinctOp{Pos: pos, Cols: cols}, nil
	case "count":
		return &CountOp{Pos: pos}, nil
	case "join":
		return p.join(pos)
	case "union":
		u, err := p.unionArgs(pos)
		if err != nil {
			return nil, err
		}
		return &UnionOp{Pos: pos, Union: u}, nil
	case "mv-expand", "mvexpand":
		return p.mvExpand(pos)
	case "render":
		depth := 0
		for {
			t := p.tok()
			if t.kind == tEOF || (depth == 0 && (t.is(tOp, "|") || t.is(tOp, ";") || t.is(tOp, ")"))) {
				break
			}
			if t.is(tOp, "(") {
				depth++
			} else if t.is(tOp, ")") {
				depth--
			}
			p.adv()
		}
		return &RenderOp{Pos: pos}, nil
	}
	return nil, p.errorf(pos, "unknown or unsupported tabular operator '%s'", name)
}

// skipHints skips hint.name=value parameters of summarize and join.
func (p *parser) skipHints() {
	for p.tok().kind == tIdent && strings.HasPrefix(p.tok().text, "hint") && p.peek(1).is(tOp, ".") {
		p.adv()
		p.adv()
		p.adv() // name
		if p.isOp("=") {
			p.adv()
			p.adv() // value
		}
	}
}

// namedList parses [Name =] expr (, [Name =] expr)*; it returns an empty
// list when no expression starts here.
func (p *parser) namedList() ([]NamedExpr, error) {
	var out []NamedExpr
	if !p.startsExpr() {
		return nil, nil
	}
	for {
		ne, err := p.named()
		if err != nil {
			return nil, err
		}
		out = append(out, ne)
		if !p.isOp(",") {
			return out, nil
		}
		p.adv()
	}
}

// startsExpr reports whether the current token can start an expression
// (and is not the keyword that ends a list).
func (p *parser) startsExpr() bool {
	t := p.tok()
	switch t.kind {
	case tEOF:
		return false
	case tIdent:
		return t.text != "by" && !strings.HasPrefix(t.text, "!")
	case tOp:
		return t.text == "(" || t.text == "-" || t.text == "+" || t.text == "["
	}
	return true
}

func (p *parser) named() (NamedExpr, error) {
	t := p.tok()
	if t.kind == tIdent && !strings.HasPrefix(t.text, "!") && p.peek(1).is(tOp, "=") {
		p.adv()
		p.adv()
		x, err := p.expr()
		return NamedExpr{Name: t.text, NamePos: t.pos, X: x}, err
	}
	if p.isOp("[") && p.peek(1).kind == tString && p.peek(2).is(tOp, "]") && p.peek(3).is(tOp, "=") {
		id, _ := p.bracketName()
		p.adv()
		x, err := p.expr()
		return NamedExpr{Name: id.Name, NamePos: id.Pos, X: x}, err
	}
	x, err := p.expr()
	return NamedExpr{X: x}, err
}

// nameList parses column names, allowing * wildcards (Prop*, *Id).
func (p *parser) nameList() ([]*Ident, error) {
	var out []*Ident
	for {
		t := p.tok()
		var id *Ident
		switch {
		case t.is(tOp, "*"):
			p.adv()
			id = &Ident{Pos: t.pos, Name: "*"}
			if p.tok().kind == tIdent && adjacent(t, p.tok()) {
				id.Name += p.adv().text
			}
		case t.kind == tIdent && !strings.HasPrefix(t.text, "!"):
			p.adv()
			id = &Ident{Pos: t.pos, Name: t.text}
		default:
			b, ok := p.bracketName()
			if !ok {
				return nil, p.errorf(t.pos, "expected a column name, found %s", describe(t))
			}
			id = b
		}
		for p.isOp("*") && adjacent(p.toks[p.i-1], p.tok()) {
			p.adv()
			id.Name += "*"
			if p.tok().kind == tIdent && adjacent(p.toks[p.i-1], p.tok()) {
				id.Name += p.adv().text
			}
		}
		out = append(out, id)
		if !p.isOp(",") {
			return out, nil
		}
		p.adv()
	}
}

func (p *parser) sortKeys() ([]SortKey, error) {
	var keys []SortKey
	for {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		k := SortKey{X: x, Desc: true}
		switch {
		case p.isWord("asc"):
			p.adv()
			k.Desc = false
		case p.isWord("desc"):
			p.adv()
		}
		if p.isWord("nulls") {
			p.adv()
			switch {
			case p.isWord("first"), p.isWord("last"):
				k.Nulls = p.adv().text
			default:
				return nil, p.errorf(p.tok().pos, "expected 'first' or 'last' after 'nulls', found %s", describe(p.tok()))
			}
		}
		keys = append(keys, k)
		if !p.isOp(",") {
			return keys, nil
		}
		p.adv()
	}
}

// param reads name=value where value is an identifier, as in kind=inner.
func (p *parser) param(name string) (string, bool, error) {
	if !p.isWord(name) || !p.peek(1).is(tOp, "=") {
		return "", false, nil
	}
	p.adv()
	p.adv()
	v := p.tok()
	if v.kind != tIdent && v.kind != tString {
		return "", true, p.errorf(v.pos, "expected a value for '%s', found %s", name, describe(v))
	}
	p.adv()
	return v.text, true, nil
}

var joinKinds = map[string]bool{
	"inner": true, "innerunique": true, "leftouter": true, "leftanti": true, "leftsemi": true,
	"rightouter": true, "rightanti": true, "rightsemi": true, "fullouter": true,
	"anti": true, "leftantisemi": true, "rightantisemi": true,
}

func (p *parser) join(pos Pos) (Operator, error) {
	op := &JoinOp{Pos: pos}
	for {
		if kind, ok, err := p.param("kind"); err != nil {
			return nil, err
		} else if ok {
			k := strings.ToLower(kind)
			if !joinKinds[k] {
				return nil, p.errorf(p.toks[p.i-1].pos, "unknown join kind '%s'", kind)
			}
			op.Kind = k
			continue
		}
		if p.tok().kind == tIdent && strings.HasPrefix(p.tok().text, "hint") && p.peek(1).is(tOp, ".") {
			p.skipHints()
			continue
		}
		break
	}
	right, err := p.postfix()
	if err != nil {
		return nil, err
	}
	op.Right = right
	if _, err := p.expectWord("on"); err != nil {
		return nil, err
	}
	for {
		c, err := p.joinCond()
		if err != nil {
			return nil, err
		}
		op.On = append(op.On, c)
		if p.isOp(",") || p.isWord("and") {
			p.adv()
			continue
		}
		return op, nil
	}
}

// joinCond parses Col or $left.A == $right.B (either order).
func (p *parser) joinCond() (JoinCond, error) {
	t := p.tok()
	if t.kind == tIdent && (t.text == "$left" || t.text == "$right") {
		a, aSide, err := p.sideRef()
		if err != nil {
			return JoinCond{}, err
		}
		if _, err := p.expectOp("=="); err != nil {
			return JoinCond{}, err
		}
		b, bSide, err := p.sideRef()
		if err != nil {
			return JoinCond{}, err
		}
		if aSide == bSide {
			return JoinCond{}, p.errorf(t.pos, "a join condition must compare $left with $right")
		}
		if aSide == "$right" {
			a, b = b, a
		}
		return JoinCond{Pos: t.pos, Left: a, Right: b}, nil
	}
	id, err := p.ident("a join column or $left.Column == $right.Column")
	if err != nil {
		return JoinCond{}, err
	}
	return JoinCond{Pos: id.Pos, Left: id, Right: id}, nil
}

func (p *parser) sideRef() (*Ident, string, error) {
	t := p.tok()
	if t.kind != tIdent || (t.text != "$left" && t.text != "$right") {
		return nil, "", p.errorf(t.pos, "expected $left or $right, found %s", describe(t))
	}
	p.adv()
	if _, err := p.expectOp("."); err != nil {
		return nil, "", err
	}
	id, err := p.ident("a column name")
	return id, t.text, err
}

func (p *parser) unionArgs(pos Pos) (*UnionExpr, error) {
	u := &UnionExpr{Pos: pos, Kind: "outer"}
	for {
		if v, ok, err := p.param("kind"); err != nil {
			return nil, err
		} else if ok {
			v = strings.ToLower(v)
			if v != "inner" && v != "outer" {
				return nil, p.errorf(p.toks[p.i-1].pos, "unknown union kind '%s'", v)
			}
			u.Kind = v
			continue
		}
		if v, ok, err := p.param("withsource"); err != nil {
			return nil, err
		} else if ok {
			u.WithSource = v
			continue
		}
		if _, ok, err := p.param("isfuzzy"); err != nil {
			return nil, err
		} else if ok {
			continue
		}
		break
	}
	for {
		t := p.tok()
		var e Expr
		switch {
		case t.is(tOp, "("):
			x, err := p.primary()
			if err != nil {
				return nil, err
			}
			e = x
		case t.kind == tIdent && !strings.HasPrefix(t.text, "!"):
			p.adv()
			id := &Ident{Pos: t.pos, Name: t.text}
			last := t
			for p.isOp("*") && adjacent(last, p.tok()) {
				last = p.adv()
				id.Name += "*"
				if p.tok().kind == tIdent && adjacent(last, p.tok()) {
					last = p.adv()
					id.Name += last.text
				}
			}
			e = id
		case t.is(tOp, "*"):
			p.adv()
			e = &Ident{Pos: t.pos, Name: "*"}
		default:
			return nil, p.errorf(t.pos, "expected a table after 'union', found %s", describe(t))
		}
		u.Tables = append(u.Tables, e)
		if !p.isOp(",") {
			return u, nil
		}
		p.adv()
	}
}

func (p *parser) mvExpand(pos Pos) (Operator, error) {
	op := &MvExpandOp{Pos: pos, Kind: "bag"}
	for {
		if v, ok, err := p.param("kind"); err != nil {
			return nil, err
		} else if ok {
			op.Kind = strings.ToLower(v)
			continue
		}
		if v, ok, err := p.param("bagexpansion"); err != nil {
			return nil, err
		} else if ok {
			op.Kind = strings.ToLower(v)
			continue
		}
		if v, ok, err := p.param("with_itemindex"); err != nil {
			return nil, err
		} else if ok {
			op.ItemIndex = v
			continue
		}
		break
	}
	if op.Kind != "bag" && op.Kind != "array" {
		return nil, p.errorf(pos, "unknown mv-expand kind '%s' (bag or array)", op.Kind)
	}
	for {
		ne, err := p.named()
		if err != nil {
			return nil, err
		}
		item := MvItem{NamedExpr: ne}
		if p.isWord("to") {
			p.adv()
			if _, err := p.expectWord("typeof"); err != nil {
				return nil, err
			}
			if _, err := p.expectOp("("); err != nil {
				return nil, err
			}
			tt := p.tok()
			typ, ok := ParseType(tt.text)
			if (tt.kind != tIdent && tt.kind != tRaw) || !ok {
				return nil, p.errorf(tt.pos, "expected a type name, found %s", describe(tt))
			}
			if tt.kind == tRaw {
				return nil, p.errorf(tt.pos, "expected a type name, found %s", describe(tt))
			}
			p.adv()
			if _, err := p.expectOp(")"); err != nil {
				return nil, err
			}
			item.To = typ
		}
		op.Items = append(op.Items, item)
		if !p.isOp(",") {
			break
		}
		p.adv()
	}
	if p.isWord("limit") {
		p.adv()
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		op.Limit = n
	}
	return op, nil
}

// Scalar expressions, by increasing precedence: or, and, comparisons and
// string operators, additive, multiplicative, unary, postfix.

func (p *parser) expr() (Expr, error) {
	if err := p.enter(p.tok().pos); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.or()
}

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isWord("or") {
		t := p.adv()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: "or", L: l, R: r}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.comparison()
	if err != nil {
		return nil, err
	}
	for p.isWord("and") {
		t := p.adv()
		r, err := p.comparison()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: "and", L: l, R: r}
	}
	return l, nil
}

var cmpOps = map[string]bool{"==": true, "!=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true, "=~": true, "!~": true}

// stringOps are the word operators between two scalars.
var stringOps = map[string]bool{}

func init() {
	for _, base := range []string{"contains", "has", "startswith", "endswith", "hasprefix", "hassuffix"} {
		for _, w := range []string{base, "!" + base, base + "_cs", "!" + base + "_cs"} {
			stringOps[w] = true
		}
	}
}

func (p *parser) comparison() (Expr, error) {
	l, err := p.additive()
	if err != nil {
		return nil, err
	}
	t := p.tok()
	switch {
	case t.kind == tOp && cmpOps[t.text]:
		p.adv()
		r, err := p.additive()
		if err != nil {
			return nil, err
		}
		op := t.text
		if op == "<>" {
			op = "!="
		}
		return &Binary{Pos: t.pos, Op: op, L: l, R: r}, nil
	case t.kind == tIdent && stringOps[t.text]:
		p.adv()
		r, err := p.additive()
		if err != nil {
			return nil, err
		}
		return &Binary{Pos: t.pos, Op: t.text, L: l, R: r}, nil
	case t.is(tIdent, "matches"):
		p.adv()
		if _, err := p.expectWord("regex"); err != nil {
			return nil, err
		}
		r, err := p.additive()
		if err != nil {
			return nil, err
		}
		return &Binary{Pos: t.pos, Op: "matches regex", L: l, R: r}, nil
	case t.is(tIdent, "in") || t.is(tIdent, "!in") || t.is(tIdent, "has_any") || t.is(tIdent, "has_all"):
		p.adv()
		op := t.text
		if (op == "in" || op == "!in") && p.isOp("~") && adjacent(t, p.tok()) {
			p.adv()
			op += "~"
		}
		list, err := p.list()
		if err != nil {
			return nil, err
		}
		return &InList{Pos: t.pos, Op: op, X: l, List: list}, nil
	case t.is(tIdent, "between") || t.is(tIdent, "!between"):
		p.adv()
		if _, err := p.expectOp("("); err != nil {
			return nil, err
		}
		lo, err := p.additive()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectOp(".."); err != nil {
			return nil, err
		}
		hi, err := p.additive()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return &Between{Pos: t.pos, Not: t.text == "!between", X: l, Lo: lo, Hi: hi}, nil
	}
	return l, nil
}

// list parses ( a, b, ... ) where items may be tabular.
func (p *parser) list() ([]Expr, error) {
	if _, err := p.expectOp("("); err != nil {
		return nil, err
	}
	var out []Expr
	if p.isOp(")") {
		return nil, p.errorf(p.tok().pos, "expected a value, found ')'")
	}
	for {
		e, err := p.pipe()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if p.isOp(",") {
			p.adv()
			continue
		}
		if _, err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return out, nil
	}
}

func (p *parser) additive() (Expr, error) {
	l, err := p.multiplicative()
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		t := p.adv()
		r, err := p.multiplicative()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
	}
	return l, nil
}

func (p *parser) multiplicative() (Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.isOp("*") || p.isOp("/") || p.isOp("%") {
		t := p.adv()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
	}
	return l, nil
}

func (p *parser) unary() (Expr, error) {
	if p.isOp("-") || p.isOp("+") {
		t := p.adv()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		// Fold a sign into a numeric literal so that -9223372036854775808
		// and -1d are literals.
		if lit, ok := x.(*Literal); ok && t.text == "-" {
			switch v := lit.Value.(type) {
			case int64:
				if lit.Kind != LitNull {
					return &Literal{Pos: t.pos, Kind: lit.Kind, Type: lit.Type, Value: -v}, nil
				}
			case float64:
				return &Literal{Pos: t.pos, Kind: lit.Kind, Type: lit.Type, Value: -v}, nil
			}
		}
		if t.text == "+" {
			return x, nil
		}
		return &Unary{Pos: t.pos, Op: t.text, X: x}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (Expr, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.tok()
		switch {
		case t.is(tOp, "."):
			p.adv()
			n := p.tok()
			if n.kind != tIdent || strings.HasPrefix(n.text, "!") {
				if id, ok := p.bracketName(); ok {
					x = &Member{Pos: t.pos, X: x, Name: id.Name}
					continue
				}
				return nil, p.errorf(n.pos, "expected a property name after '.', found %s", describe(n))
			}
			p.adv()
			x = &Member{Pos: t.pos, X: x, Name: n.text}
		case t.is(tOp, "["):
			p.adv()
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectOp("]"); err != nil {
				return nil, err
			}
			x = &Index{Pos: t.pos, X: x, Index: idx}
		case t.is(tOp, "("):
			id, ok := x.(*Ident)
			if !ok {
				return nil, p.errorf(t.pos, "only a function name can be called")
			}
			args, err := p.args()
			if err != nil {
				return nil, err
			}
			x = &Call{Pos: id.Pos, Name: id.Name, Args: args}
		default:
			return x, nil
		}
	}
}

func (p *parser) args() ([]Expr, error) {
	p.adv() // (
	var out []Expr
	if p.isOp(")") {
		p.adv()
		return out, nil
	}
	for {
		if p.isOp("*") && (p.peek(1).is(tOp, ",") || p.peek(1).is(tOp, ")")) {
			out = append(out, &Star{Pos: p.adv().pos})
		} else {
			e, err := p.pipe()
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if p.isOp(",") {
			p.adv()
			continue
		}
		if _, err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return out, nil
	}
}

func (p *parser) primary() (Expr, error) {
	t := p.tok()
	switch t.kind {
	case tNumber:
		p.adv()
		return numberLiteral(p, t)
	case tSpan:
		p.adv()
		ticks, ok := parseSpan(t.text)
		if !ok {
			return nil, p.errorf(t.pos, "invalid timespan literal %q", t.text)
		}
		return &Literal{Pos: t.pos, Kind: LitTimespan, Type: Timespan, Value: ticks}, nil
	case tString:
		p.adv()
		s := t.text
		for p.tok().kind == tString { // adjacent literals concatenate
			s += p.adv().text
		}
		return &Literal{Pos: t.pos, Kind: LitString, Type: String, Value: s}, nil
	case tRaw:
		p.adv()
		return rawLiteral(p, t)
	case tIdent:
		switch t.text {
		case "true", "false":
			p.adv()
			return &Literal{Pos: t.pos, Kind: LitBool, Type: Bool, Value: t.text == "true"}, nil
		}
		if strings.HasPrefix(t.text, "!") {
			return nil, p.errorf(t.pos, "unexpected %s", describe(t))
		}
		p.adv()
		return &Ident{Pos: t.pos, Name: t.text}, nil
	case tOp:
		switch t.text {
		case "(":
			p.adv()
			x, err := p.pipe()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return &Paren{Pos: t.pos, X: x}, nil
		case "[":
			if id, ok := p.bracketName(); ok {
				return id, nil
			}
		}
	}
	return nil, p.errorf(t.pos, "expected an expression, found %s", describe(t))
}

func numberLiteral(p *parser, t token) (Expr, error) {
	s := t.text
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		v, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return nil, p.errorf(t.pos, "number %s is out of range", s)
		}
		return &Literal{Pos: t.pos, Kind: LitLong, Type: Long, Value: int64(v)}, nil
	}
	if strings.ContainsAny(s, ".eE") {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, p.errorf(t.pos, "invalid real literal %s", s)
		}
		return &Literal{Pos: t.pos, Kind: LitReal, Type: Real, Value: v}, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// 9223372036854775808 is only valid negated; the unary minus folds it.
		if s == "9223372036854775808" {
			return &Literal{Pos: t.pos, Kind: LitLong, Type: Long, Value: int64(math.MinInt64)}, nil
		}
		return nil, p.errorf(t.pos, "number %s is out of range", s)
	}
	return &Literal{Pos: t.pos, Kind: LitLong, Type: Long, Value: v}, nil
}

// rawLiteral turns datetime(...), dynamic(...), long(null) ... into a
// Literal.
func rawLiteral(p *parser, t token) (Expr, error) {
	body := strings.TrimSpace(t.raw)
	typ, _ := ParseType(t.text)
	if t.text == "time" {
		typ = Timespan
	}
	if body == "null" {
		return &Literal{Pos: t.pos, Kind: LitNull, Type: typ}, nil
	}
	bad := func() (Expr, error) {
		return nil, p.errorf(t.pos, "invalid %s literal %q", t.text, body)
	}
	switch typ {
	case DateTime:
		ticks, ok := parseDatetime(body)
		if !ok {
			return bad()
		}
		return &Literal{Pos: t.pos, Kind: LitDateTime, Type: DateTime, Value: ticks}, nil
	case Timespan:
		ticks, ok := parseSpan(body)
		if !ok {
			return bad()
		}
		return &Literal{Pos: t.pos, Kind: LitTimespan, Type: Timespan, Value: ticks}, nil
	case Dynamic:
		if !json.Valid([]byte(body)) {
			return bad()
		}
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		var v any
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return bad()
		}
		if err := enc.Encode(v); err != nil {
			return bad()
		}
		return &Literal{Pos: t.pos, Kind: LitDynamic, Type: Dynamic, Value: strings.TrimSuffix(b.String(), "\n")}, nil
	case GUID:
		g, ok := parseGUID(body)
		if !ok {
			return bad()
		}
		return &Literal{Pos: t.pos, Kind: LitGUID, Type: GUID, Value: g}, nil
	case Long, Int:
		v, err := strconv.ParseInt(body, 10, 64)
		if err != nil || (typ == Int && (v > math.MaxInt32 || v < math.MinInt32)) {
			return bad()
		}
		kind := LitLong
		if typ == Int {
			kind = LitInt
		}
		return &Literal{Pos: t.pos, Kind: kind, Type: typ, Value: v}, nil
	case Real:
		var v float64
		switch strings.ToLower(body) {
		case "nan":
			v = math.NaN()
		case "+inf", "inf":
			v = math.Inf(1)
		case "-inf":
			v = math.Inf(-1)
		default:
			f, err := strconv.ParseFloat(body, 64)
			if err != nil {
				return bad()
			}
			v = f
		}
		return &Literal{Pos: t.pos, Kind: LitReal, Type: Real, Value: v}, nil
	case Bool:
		switch strings.ToLower(body) {
		case "true", "1":
			return &Literal{Pos: t.pos, Kind: LitBool, Type: Bool, Value: true}, nil
		case "false", "0":
			return &Literal{Pos: t.pos, Kind: LitBool, Type: Bool, Value: false}, nil
		}
		return bad()
	}
	return bad()
}

// parseGUID accepts the 8-4-4-4-12 hexadecimal form (optionally braced)
// and returns it in lower case.
func parseGUID(s string) (string, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(s) != 36 {
		return "", false
	}
	for i, c := range []byte(s) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) {
				return "", false
			}
		}
	}
	return strings.ToLower(s), true
}
