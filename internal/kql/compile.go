package kql

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// TimeRange is the time range of the query API ("timespan"): rows of every
// table are restricted to Start <= TimeGenerated < End. A zero Start or End
// leaves that side open.
type TimeRange struct {
	Start, End time.Time
}

// Options configures compilation.
type Options struct {
	// Now is the time now() and ago() count from; zero means time.Now().
	Now time.Time
	// Timespan restricts TimeGenerated of every table read.
	Timespan TimeRange
}

// Compiled is a query compiled to SQL.
type Compiled struct {
	// SQL is one SELECT statement; Args are its parameters in order.
	SQL  string
	Args []any
	// Columns are the result columns with their KQL types.
	Columns []Column
}

// Compile parses query, checks it against schema and compiles it to SQL
// for the dialect. Errors in the query are *Error values with a position.
func Compile(query string, schema *Schema, d Dialect, opts Options) (*Compiled, error) {
	q, err := Parse(query)
	if err != nil {
		return nil, err
	}
	return CompileQuery(query, q, schema, d, opts)
}

// CompileQuery compiles a parsed query; src is its text (for error
// messages).
func CompileQuery(src string, q *Query, schema *Schema, d Dialect, opts Options) (*Compiled, error) {
	if schema == nil {
		schema = &Schema{tables: map[string]*Table{}}
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	c := &compiler{src: src, schema: schema, d: d, now: TimeToTicks(now), span: opts.Timespan}
	var e *env
	for _, l := range q.Lets {
		b := &binding{name: l.Name, pos: l.Pos, env: e}
		if c.isTabular(l.Value, e) {
			b.expr = l.Value
		} else {
			v, err := c.scalar(l.Value, &scope{env: e})
			if err != nil {
				return nil, err
			}
			if v.agg {
				return nil, c.errorf(l.Value.pos(), "aggregate functions are only valid in summarize")
			}
			b.scalar = &v
		}
		e = &env{b: b, parent: e}
	}
	if !c.isTabular(q.Body, e) {
		return nil, c.errorf(q.Body.pos(), "the query must be a tabular expression (a table, a pipeline, print or union)")
	}
	r, err := c.tabular(q.Body, e)
	if err != nil {
		return nil, err
	}
	sql := r.build(all(len(r.cols)))
	out := &Compiled{SQL: sql, Args: c.usedArgs(sql), Columns: make([]Column, len(r.cols))}
	for i, col := range r.cols {
		out.Columns[i] = Column{Name: col.name, Type: col.typ}
	}
	return out, nil
}

type compiler struct {
	src    string
	schema *Schema
	d      Dialect
	now    int64
	span   TimeRange
	args   []any
	nalias int
	// agg is the aggregate context: aggNone outside summarize, aggAllowed
	// in a summarize aggregation, aggInside within an aggregate's arguments.
	agg int
}

const (
	aggNone = iota
	aggAllowed
	aggInside
)

func (c *compiler) errorf(p Pos, format string, args ...any) *Error {
	e := errorAt(c.src, p, format, args...)
	e.Semantic = true
	return e
}

// param binds a value and returns its placeholder.
func (c *compiler) param(v any) string {
	c.args = append(c.args, v)
	return c.d.Placeholder(len(c.args))
}

// usedArgs trims parameters that no SQL text refers to at the end (a
// compiled expression that was built and then dropped).
var placeholderRE = regexp.MustCompile(`[?$](\d+)`)

func (c *compiler) usedArgs(sql string) []any {
	hi := 0
	for _, m := range placeholderRE.FindAllStringSubmatch(sql, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil && n > hi && n <= len(c.args) {
			hi = n
		}
	}
	return c.args[:hi]
}

func (c *compiler) alias() string {
	c.nalias++
	return "t" + strconv.Itoa(c.nalias)
}

// binding is a let name.
type binding struct {
	name   string
	pos    Pos
	expr   Expr     // tabular lets, compiled at every reference
	scalar *sqlExpr // scalar lets
	env    *env     // the lets the tabular expression sees
}

type env struct {
	b      *binding
	parent *env
}

func (e *env) lookup(name string) *binding {
	for ; e != nil; e = e.parent {
		if e.b.name == name {
			return e.b
		}
	}
	return nil
}

type column struct {
	name string
	typ  Type
}

// relation is a compiled tabular expression. build renders it as a SELECT
// whose output columns are named c0, c1, ... in the order of cols; the
// columns the consumer does not need may be rendered as NULL, so that
// unused columns are neither read nor carried through materialized
// subqueries (join sides, window functions). Expressions are compiled
// (and parameters bound) before build is called; build only assembles
// text and may be called more than once.
type relation struct {
	cols  []column
	build func(need []bool) string
}

func (r *relation) find(name string) int {
	for i, col := range r.cols {
		if col.name == name {
			return i
		}
	}
	return -1
}

// all and none are need sets.
func all(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

func none(n int) []bool { return make([]bool, n) }

// only is the need set holding the given columns.
func only(n int, cols ...int) []bool {
	out := make([]bool, n)
	for _, i := range cols {
		out[i] = true
	}
	return out
}

// with returns need plus the columns in uses.
func with(need []bool, uses colSet) []bool {
	out := append([]bool(nil), need...)
	for i := range uses {
		if i < len(out) {
			out[i] = true
		}
	}
	return out
}

func colAlias(i int) string { return "c" + strconv.Itoa(i) }

// colSet is a set of column indexes.
type colSet map[int]bool

func (s colSet) add(o colSet) {
	for k := range o {
		s[k] = true
	}
}

// scope is what a scalar expression sees: the columns of a relation known
// by alias in the SQL, and the lets. Every column reference is recorded
// in uses.
type scope struct {
	cols  []column
	alias string
	env   *env
	uses  colSet
	// defined holds columns that an earlier expression of the same
	// project/extend defined (by index into cols): later expressions see
	// them, inlined.
	defined map[int]definedCol
}

type definedCol struct {
	sql  string
	uses colSet
}

func (s *scope) ref(i int) string {
	if d, ok := s.defined[i]; ok {
		if s.uses != nil {
			s.uses.add(d.uses)
		}
		return "(" + d.sql + ")"
	}
	if s.uses != nil {
		s.uses[i] = true
	}
	return s.plain(i)
}

// plain is the reference to column i without recording a use.
func (s *scope) plain(i int) string { return s.alias + "." + colAlias(i) }

func (s *scope) find(name string) int {
	for i, col := range s.cols {
		if col.name == name {
			return i
		}
	}
	return -1
}

func scopeOf(r *relation, alias string, e *env) *scope {
	return &scope{cols: r.cols, alias: alias, env: e, uses: colSet{}}
}

// tracked compiles e and returns the columns it uses (also recorded in
// the scope's own set).
func (c *compiler) tracked(e Expr, sc *scope) (sqlExpr, colSet, error) {
	outer := sc.uses
	sc.uses = colSet{}
	v, err := c.scalar(e, sc)
	uses := sc.uses
	sc.uses = outer
	if outer != nil {
		outer.add(uses)
	}
	return v, uses, err
}

// selectList renders "expr AS c0, expr AS c1, ...".
func selectList(exprs []string) string {
	var b strings.Builder
	for i, e := range exprs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e)
		b.WriteString(" AS ")
		b.WriteString(colAlias(i))
	}
	return b.String()
}

// pick renders the needed expressions and NULL for the others.
func pick(need []bool, exprs []string) []string {
	out := make([]string, len(exprs))
	for i, e := range exprs {
		if need[i] {
			out[i] = e
		} else {
			out[i] = "NULL"
		}
	}
	return out
}

// passThrough is the select list that copies every column of a scope.
func passThrough(s *scope) []string {
	out := make([]string, len(s.cols))
	for i := range s.cols {
		out[i] = s.plain(i)
	}
	return out
}

// mapped is a relation whose column k is input column src[k], renamed and
// reordered as cols says.
func (c *compiler) mapped(in *relation, src []int, cols []column) *relation {
	a := c.alias()
	return &relation{cols: cols, build: func(need []bool) string {
		inNeed := none(len(in.cols))
		exprs := make([]string, len(src))
		for k, j := range src {
			exprs[k] = a + "." + colAlias(j)
			if need[k] {
				inNeed[j] = true
			}
		}
		return "SELECT " + selectList(pick(need, exprs)) + " FROM (" + in.build(inNeed) + ") AS " + a
	}}
}

// isTabular reports whether e denotes a table rather than a scalar.
func (c *compiler) isTabular(e Expr, en *env) bool {
	switch x := e.(type) {
	case *Pipe, *UnionExpr, *PrintExpr:
		return true
	case *Paren:
		return c.isTabular(x.X, en)
	case *Ident:
		if b := en.lookup(x.Name); b != nil {
			return b.expr != nil
		}
		if _, ok := c.schema.Table(x.Name); ok {
			return true
		}
		return strings.Contains(x.Name, "*")
	case *Call:
		return x.Name == "table" || x.Name == "materialize" || x.Name == "view"
	}
	return false
}

// tabular compiles a tabular expression.
func (c *compiler) tabular(e Expr, en *env) (*relation, error) {
	switch x := e.(type) {
	case *Paren:
		return c.tabular(x.X, en)
	case *Ident:
		if b := en.lookup(x.Name); b != nil {
			if b.expr == nil {
				return nil, c.errorf(x.Pos, "'%s' is a scalar, not a table", x.Name)
			}
			return c.tabular(b.expr, b.env)
		}
		t, ok := c.schema.Table(x.Name)
		if !ok {
			return nil, c.errorf(x.Pos, "unknown table or variable '%s'", x.Name)
		}
		return c.table(t), nil
	case *Call:
		switch x.Name {
		case "materialize", "view":
			if len(x.Args) != 1 || !c.isTabular(x.Args[0], en) {
				return nil, c.errorf(x.Pos, "%s() takes one tabular expression", x.Name)
			}
			return c.tabular(x.Args[0], en)
		case "table":
			if len(x.Args) != 1 {
				return nil, c.errorf(x.Pos, "table() takes a table name")
			}
			lit, ok := x.Args[0].(*Literal)
			if !ok || lit.Kind != LitString {
				return nil, c.errorf(x.Pos, "table() takes a table name as a string literal")
			}
			return c.tabular(&Ident{Pos: x.Pos, Name: lit.Value.(string)}, en)
		}
	case *Pipe:
		if !c.isTabular(x.Source, en) {
			if id, ok := x.Source.(*Ident); ok && en.lookup(id.Name) == nil {
				return nil, c.errorf(id.Pos, "unknown table or variable '%s'", id.Name)
			}
			return nil, c.errorf(x.Source.pos(), "a pipeline must start with a table, found a scalar expression")
		}
		r, err := c.tabular(x.Source, en)
		if err != nil {
			return nil, err
		}
		for _, op := range x.Ops {
			if r, err = c.operator(r, op, en); err != nil {
				return nil, err
			}
		}
		return r, nil
	case *UnionExpr:
		return c.union(nil, x, en)
	case *PrintExpr:
		return c.print(x, en)
	}
	return nil, c.errorf(e.pos(), "expected a tabular expression")
}

// table is the relation that reads a stored table, restricted to the
// query timespan and the table's scope.
func (c *compiler) table(t *Table) *relation {
	q := c.d.Quote
	names := make([]string, len(t.Columns))
	cols := make([]column, len(t.Columns))
	for i, col := range t.Columns {
		names[i] = q(col.Name)
		cols[i] = column{name: col.Name, typ: col.Type}
	}
	var where []string
	if t.Scope != nil {
		where = append(where, q(t.Scope.Column)+" = "+c.param(t.Scope.Value))
	}
	if _, ok := t.column("TimeGenerated"); ok {
		if !c.span.Start.IsZero() {
			where = append(where, q("TimeGenerated")+" >= "+c.param(TimeToTicks(c.span.Start)))
		}
		if !c.span.End.IsZero() {
			where = append(where, q("TimeGenerated")+" < "+c.param(TimeToTicks(c.span.End)))
		}
	}
	tail := " FROM " + q(t.sqlName())
	if len(where) > 0 {
		tail += " WHERE " + strings.Join(where, " AND ")
	}
	return &relation{cols: cols, build: func(need []bool) string {
		return "SELECT " + selectList(pick(need, names)) + tail
	}}
}

func (c *compiler) operator(in *relation, op Operator, en *env) (*relation, error) {
	switch o := op.(type) {
	case *WhereOp:
		return c.where(in, o, en)
	case *ProjectOp:
		return c.project(in, o.Cols, en, false)
	case *ExtendOp:
		return c.project(in, o.Cols, en, true)
	case *ProjectAwayOp:
		return c.projectAway(in, o.Names, false)
	case *ProjectKeepOp:
		return c.projectAway(in, o.Names, true)
	case *ProjectRenameOp:
		return c.projectRename(in, o)
	case *ProjectReorderOp:
		return c.projectReorder(in, o)
	case *SummarizeOp:
		return c.summarize(in, o, en)
	case *SortOp:
		return c.sort(in, o.Keys, nil, en)
	case *TopOp:
		return c.sort(in, o.Keys, o.N, en)
	case *TakeOp:
		return c.take(in, o.N, en)
	case *DistinctOp:
		return c.distinct(in, o, en)
	case *CountOp:
		a := c.alias()
		return &relation{cols: []column{{name: "Count", typ: Long}}, build: func([]bool) string {
			return "SELECT count(*) AS c0 FROM (" + in.build(none(len(in.cols))) + ") AS " + a
		}}, nil
	case *JoinOp:
		return c.join(in, o, en)
	case *UnionOp:
		return c.union(in, o.Union, en)
	case *MvExpandOp:
		return c.mvExpand(in, o, en)
	case *RenderOp:
		return in, nil
	}
	return nil, c.errorf(op.opPos(), "unsupported operator")
}

func (c *compiler) where(in *relation, o *WhereOp, en *env) (*relation, error) {
	a := c.alias()
	sc := scopeOf(in, a, en)
	p, err := c.scalar(o.Pred, sc)
	if err != nil {
		return nil, err
	}
	if p, err = c.predicate(p, o.Pred.pos(), "where"); err != nil {
		return nil, err
	}
	pred := c.text(p)
	uses := sc.uses
	list := passThrough(sc)
	return &relation{cols: in.cols, build: func(need []bool) string {
		return "SELECT " + selectList(pick(need, list)) + " FROM (" + in.build(with(need, uses)) + ") AS " + a + " WHERE " + pred
	}}, nil
}

// predicate checks that e is a bool (a dynamic is converted).
func (c *compiler) predicate(e sqlExpr, p Pos, what string) (sqlExpr, error) {
	switch e.typ {
	case Bool, null:
		return e, nil
	case Dynamic:
		return c.convert(e, Bool, p)
	}
	return e, c.errorf(p, "the %s predicate must be a bool, found %s", what, e.typ)
}

// namer hands out the names Kusto gives unnamed columns.
type namer struct{ used map[string]bool }

func newNamer(cols []column) *namer {
	n := &namer{used: map[string]bool{}}
	for _, col := range cols {
		n.used[col.name] = true
	}
	return n
}

// column returns the next free ColumnN.
func (n *namer) column() string {
	for i := 1; ; i++ {
		name := "Column" + strconv.Itoa(i)
		if !n.used[name] {
			n.used[name] = true
			return name
		}
	}
}

// unique returns name, or name1, name2, ... if taken.
func (n *namer) unique(name string) string {
	if !n.used[name] {
		n.used[name] = true
		return name
	}
	for i := 1; ; i++ {
		cand := name + strconv.Itoa(i)
		if !n.used[cand] {
			n.used[cand] = true
			return cand
		}
	}
}

// project compiles project (extend=false) and extend.
func (c *compiler) project(in *relation, cols []NamedExpr, en *env, extend bool) (*relation, error) {
	a := c.alias()
	inScope := scopeOf(in, a, en)
	// sc grows as the list defines columns: a later expression may use a
	// column an earlier one defined (extend a = 1, b = a * 2).
	sc := &scope{cols: append([]column(nil), in.cols...), alias: a, env: en, uses: colSet{}, defined: map[int]definedCol{}}
	var exprs []string
	var uses []colSet
	var out []column
	if extend {
		exprs = passThrough(inScope)
		for i := range in.cols {
			uses = append(uses, colSet{i: true})
		}
		out = append(out, in.cols...)
	}
	names := newNamer(nil)
	if extend {
		names = newNamer(in.cols)
	}
	// Compile first, so that generated ColumnN names avoid every name
	// the list gives or derives.
	compiled := make([]sqlExpr, len(cols))
	compiledUses := make([]colSet, len(cols))
	for i, ne := range cols {
		e, u, err := c.tracked(ne.X, sc)
		if err != nil {
			return nil, err
		}
		if e.agg {
			return nil, c.errorf(ne.X.pos(), "aggregate functions are only valid in summarize")
		}
		if e.typ == null {
			e.typ = String
			e.konst, e.val, e.sql = true, "", ""
		}
		e.sql = c.text(e)
		compiled[i], compiledUses[i] = e, u
		if ne.Name != "" {
			names.used[ne.Name] = true
			def := column{name: ne.Name, typ: e.typ}
			if j := sc.find(ne.Name); j >= 0 {
				sc.cols[j] = def
				sc.defined[j] = definedCol{sql: e.sql, uses: u}
			} else {
				sc.defined[len(sc.cols)] = definedCol{sql: e.sql, uses: u}
				sc.cols = append(sc.cols, def)
			}
		} else if e.name != "" {
			names.used[e.name] = true
		}
	}
	seen := map[string]bool{}
	for k, ne := range cols {
		e := compiled[k]
		name := ne.Name
		pos := ne.NamePos
		if name == "" {
			pos = ne.X.pos()
			name = e.name
			if name == "" || (!extend && seen[name]) {
				name = names.column()
			}
		}
		if seen[name] {
			return nil, c.errorf(pos, "duplicate column name '%s'", name)
		}
		seen[name] = true
		names.used[name] = true
		if i := findCol(out, name); i >= 0 {
			exprs[i] = e.sql
			uses[i] = compiledUses[k]
			out[i] = column{name: name, typ: e.typ}
			continue
		}
		exprs = append(exprs, e.sql)
		uses = append(uses, compiledUses[k])
		out = append(out, column{name: name, typ: e.typ})
	}
	return &relation{cols: out, build: func(need []bool) string {
		inNeed := none(len(in.cols))
		for i, u := range uses {
			if need[i] {
				for j := range u {
					inNeed[j] = true
				}
			}
		}
		return "SELECT " + selectList(pick(need, exprs)) + " FROM (" + in.build(inNeed) + ") AS " + a
	}}, nil
}

func findCol(cols []column, name string) int {
	for i, col := range cols {
		if col.name == name {
			return i
		}
	}
	return -1
}

// wildcard turns a name with * into a regexp.
func wildcard(pattern string) *regexp.Regexp {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}

// projectAway compiles project-away (keep=false) and project-keep.
func (c *compiler) projectAway(in *relation, names []*Ident, keep bool) (*relation, error) {
	match := make([]bool, len(in.cols))
	for _, id := range names {
		found := false
		if strings.Contains(id.Name, "*") {
			re := wildcard(id.Name)
			for i, col := range in.cols {
				if re.MatchString(col.name) {
					match[i] = true
				}
			}
			continue
		}
		for i, col := range in.cols {
			if col.name == id.Name {
				match[i], found = true, true
			}
		}
		if !found {
			return nil, c.errorf(id.Pos, "unknown column '%s'", id.Name)
		}
	}
	var src []int
	var out []column
	for i, col := range in.cols {
		if match[i] == keep {
			src = append(src, i)
			out = append(out, col)
		}
	}
	if len(out) == 0 {
		return nil, c.errorf(names[0].Pos, "no columns are left")
	}
	return c.mapped(in, src, out), nil
}

func (c *compiler) projectReorder(in *relation, o *ProjectReorderOp) (*relation, error) {
	var order []int
	taken := make([]bool, len(in.cols))
	for _, id := range o.Names {
		found := false
		re := wildcard(id.Name)
		for i, col := range in.cols {
			if re.MatchString(col.name) {
				found = true
				if !taken[i] {
					taken[i] = true
					order = append(order, i)
				}
			}
		}
		if !found && !strings.Contains(id.Name, "*") {
			return nil, c.errorf(id.Pos, "unknown column '%s'", id.Name)
		}
	}
	for i := range in.cols {
		if !taken[i] {
			order = append(order, i)
		}
	}
	out := make([]column, len(order))
	for k, i := range order {
		out[k] = in.cols[i]
	}
	return c.mapped(in, order, out), nil
}

func (c *compiler) projectRename(in *relation, o *ProjectRenameOp) (*relation, error) {
	out := append([]column(nil), in.cols...)
	for _, p := range o.Pairs {
		i := findCol(out, p.Old.Name)
		if i < 0 {
			return nil, c.errorf(p.Old.Pos, "unknown column '%s'", p.Old.Name)
		}
		if j := findCol(out, p.New); j >= 0 && j != i {
			return nil, c.errorf(p.NewPos, "a column named '%s' already exists", p.New)
		}
		out[i].name = p.New
	}
	src := make([]int, len(out))
	for i := range src {
		src[i] = i
	}
	return c.mapped(in, src, out), nil
}

// orderTerm renders one ORDER BY term with an explicit null placement
// (Kusto: nulls first ascending, last descending).
func orderTerm(expr string, desc bool, nulls string) string {
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	if nulls == "" {
		nulls = "first"
		if desc {
			nulls = "last"
		}
	}
	return expr + dir + " NULLS " + strings.ToUpper(nulls)
}

// sort compiles order by and, with n, top.
func (c *compiler) sort(in *relation, keys []SortKey, n Expr, en *env) (*relation, error) {
	a := c.alias()
	sc := scopeOf(in, a, en)
	var terms []string
	for _, k := range keys {
		e, err := c.scalar(k.X, sc)
		if err != nil {
			return nil, err
		}
		if e.agg {
			return nil, c.errorf(k.X.pos(), "aggregate functions are only valid in summarize")
		}
		if e.konst {
			continue // ordering by a constant orders nothing
		}
		terms = append(terms, orderTerm(c.text(e), k.Desc, k.Nulls))
	}
	tail := ""
	if len(terms) > 0 {
		tail += " ORDER BY " + strings.Join(terms, ", ")
	}
	if n != nil {
		lim, err := c.limit(n, en, "top")
		if err != nil {
			return nil, err
		}
		tail += " LIMIT " + lim
	}
	uses := sc.uses
	list := passThrough(sc)
	return &relation{cols: in.cols, build: func(need []bool) string {
		return "SELECT " + selectList(pick(need, list)) + " FROM (" + in.build(with(need, uses)) + ") AS " + a + tail
	}}, nil
}

// limit compiles the row count of take/top: a constant integer.
func (c *compiler) limit(n Expr, en *env, what string) (string, error) {
	e, err := c.scalar(n, &scope{env: en})
	if err != nil {
		return "", err
	}
	if !e.konst || !e.typ.integral() || e.val == nil {
		return "", c.errorf(n.pos(), "the row count of %s must be a constant integer", what)
	}
	v := e.val.(int64)
	if v < 0 {
		v = 0
	}
	return c.param(v), nil
}

func (c *compiler) take(in *relation, n Expr, en *env) (*relation, error) {
	lim, err := c.limit(n, en, "take")
	if err != nil {
		return nil, err
	}
	a := c.alias()
	list := passThrough(scopeOf(in, a, en))
	return &relation{cols: in.cols, build: func(need []bool) string {
		return "SELECT " + selectList(pick(need, list)) + " FROM (" + in.build(need) + ") AS " + a + " LIMIT " + lim
	}}, nil
}

// distinct needs every column it outputs whatever the consumer needs:
// the distinct rows depend on all of them.
func (c *compiler) distinct(in *relation, o *DistinctOp, en *env) (*relation, error) {
	if o.Star {
		a := c.alias()
		list := passThrough(scopeOf(in, a, en))
		return &relation{cols: in.cols, build: func([]bool) string {
			return "SELECT DISTINCT " + selectList(list) + " FROM (" + in.build(all(len(in.cols))) + ") AS " + a
		}}, nil
	}
	r, err := c.project(in, o.Cols, en, false)
	if err != nil {
		return nil, err
	}
	return &relation{cols: r.cols, build: func([]bool) string {
		return "SELECT DISTINCT" + strings.TrimPrefix(r.build(all(len(r.cols))), "SELECT")
	}}, nil
}

func (c *compiler) print(p *PrintExpr, en *env) (*relation, error) {
	sc := &scope{env: en}
	var exprs []string
	var out []column
	seen := map[string]bool{}
	for i, ne := range p.Cols {
		e, err := c.scalar(ne.X, sc)
		if err != nil {
			return nil, err
		}
		if e.agg {
			return nil, c.errorf(ne.X.pos(), "aggregate functions are only valid in summarize")
		}
		if e.typ == null {
			e.typ = String
			e.konst, e.val, e.sql = true, "", ""
		}
		name := ne.Name
		if name == "" {
			name = "print_" + strconv.Itoa(i)
		}
		if seen[name] {
			return nil, c.errorf(ne.NamePos, "duplicate column name '%s'", name)
		}
		seen[name] = true
		exprs = append(exprs, c.text(e))
		out = append(out, column{name: name, typ: e.typ})
	}
	if len(out) == 0 {
		return nil, c.errorf(p.Pos, "print needs at least one expression")
	}
	sql := "SELECT " + selectList(exprs)
	return &relation{cols: out, build: func([]bool) string { return sql }}, nil
}

// union compiles union; in is the piped input, if any.
func (c *compiler) union(in *relation, u *UnionExpr, en *env) (*relation, error) {
	var rels []*relation
	var sources []string
	if in != nil {
		rels = append(rels, in)
		sources = append(sources, "union_arg0")
	}
	for _, t := range u.Tables {
		if id, ok := t.(*Ident); ok && strings.Contains(id.Name, "*") && en.lookup(id.Name) == nil {
			re := wildcard(id.Name)
			var names []string
			for _, tab := range c.schema.Tables() {
				if re.MatchString(tab.Name) {
					names = append(names, tab.Name)
				}
			}
			if len(names) == 0 {
				return nil, c.errorf(id.Pos, "no table matches '%s'", id.Name)
			}
			for _, n := range names {
				tab, _ := c.schema.Table(n)
				rels = append(rels, c.table(tab))
				sources = append(sources, n)
			}
			continue
		}
		if !c.isTabular(t, en) {
			return nil, c.errorf(t.pos(), "union takes tables, found a scalar expression")
		}
		r, err := c.tabular(t, en)
		if err != nil {
			return nil, err
		}
		rels = append(rels, r)
		name := "union_arg" + strconv.Itoa(len(sources))
		if id, ok := t.(*Ident); ok {
			name = id.Name
		}
		sources = append(sources, name)
	}
	// The result columns: by name; a name with different types in
	// different tables becomes name_type for each type.
	types := map[string][]Type{}
	var order []string
	for _, r := range rels {
		for _, col := range r.cols {
			if _, ok := types[col.name]; !ok {
				order = append(order, col.name)
			}
			if !containsType(types[col.name], col.typ) {
				types[col.name] = append(types[col.name], col.typ)
			}
		}
	}
	type outCol struct {
		column
		src string // the input column name
	}
	var outs []outCol
	if u.WithSource != "" {
		outs = append(outs, outCol{column: column{name: u.WithSource, typ: String}})
	}
	for _, name := range order {
		ts := types[name]
		if u.Kind == "inner" {
			inAll := true
			for _, r := range rels {
				if i := r.find(name); i < 0 || r.cols[i].typ != ts[0] {
					inAll = false
				}
			}
			if !inAll || len(ts) > 1 {
				continue
			}
		}
		if len(ts) == 1 {
			outs = append(outs, outCol{column: column{name: name, typ: ts[0]}, src: name})
			continue
		}
		for _, t := range ts {
			outs = append(outs, outCol{column: column{name: name + "_" + string(t), typ: t}, src: name})
		}
	}
	if len(outs) == 0 {
		return nil, c.errorf(u.Pos, "the union has no columns")
	}
	// Per branch: the expression of each output column, and the branch
	// column it reads (-1 for none).
	type branch struct {
		rel   *relation
		alias string
		exprs []string
		src   []int
	}
	var branches []branch
	for bi, r := range rels {
		b := branch{rel: r, alias: c.alias(), exprs: make([]string, len(outs)), src: make([]int, len(outs))}
		for i, oc := range outs {
			b.src[i] = -1
			if oc.src == "" {
				b.exprs[i] = c.param(sources[bi])
				continue
			}
			j := r.find(oc.src)
			switch {
			case j >= 0 && r.cols[j].typ == oc.typ:
				b.exprs[i] = b.alias + "." + colAlias(j)
				b.src[i] = j
			case oc.typ == String:
				b.exprs[i] = "''"
			default:
				b.exprs[i] = "NULL"
			}
		}
		branches = append(branches, b)
	}
	cols := make([]column, len(outs))
	for i, oc := range outs {
		cols[i] = oc.column
	}
	a := c.alias()
	return &relation{cols: cols, build: func(need []bool) string {
		parts := make([]string, len(branches))
		for k, b := range branches {
			inNeed := none(len(b.rel.cols))
			for i, j := range b.src {
				if need[i] && j >= 0 {
					inNeed[j] = true
				}
			}
			parts[k] = "SELECT " + selectList(pick(need, b.exprs)) + " FROM (" + b.rel.build(inNeed) + ") AS " + b.alias
		}
		return "SELECT * FROM (" + strings.Join(parts, " UNION ALL ") + ") AS " + a
	}}, nil
}

func containsType(ts []Type, t Type) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// joinKind normalises a join kind.
func joinKind(k string) string {
	switch k {
	case "", "innerunique":
		return "innerunique"
	case "anti", "leftantisemi":
		return "leftanti"
	case "rightantisemi":
		return "rightanti"
	}
	return k
}

// noAffinity wraps the left operand of a join condition in an expression,
// which has no SQLite type affinity: the comparison then takes the right
// column's affinity (or none), so an index on the right key, computed or
// not, can serve it.
func noAffinity(ref string, t Type) string {
	switch t {
	case String, GUID, Dynamic:
		return "(" + ref + " || '')"
	}
	return "(" + ref + " + 0)"
}

func (c *compiler) join(left *relation, o *JoinOp, en *env) (*relation, error) {
	if !c.isTabular(o.Right, en) {
		return nil, c.errorf(o.Right.pos(), "the right side of join must be a table")
	}
	right, err := c.tabular(o.Right, en)
	if err != nil {
		return nil, err
	}
	kind := joinKind(o.Kind)
	la, ra := c.alias(), c.alias()
	ls, rs := scopeOf(left, la, en), scopeOf(right, ra, en)
	var conds []string
	var lkeys, rkeys []int
	for _, jc := range o.On {
		li := left.find(jc.Left.Name)
		if li < 0 {
			return nil, c.errorf(jc.Left.Pos, "unknown column '%s' on the left side of join", jc.Left.Name)
		}
		ri := right.find(jc.Right.Name)
		if ri < 0 {
			return nil, c.errorf(jc.Right.Pos, "unknown column '%s' on the right side of join", jc.Right.Name)
		}
		lt, rt := left.cols[li].typ, right.cols[ri].typ
		if lt != rt && !(lt.numeric() && rt.numeric()) {
			return nil, c.errorf(jc.Pos, "join keys '%s' (%s) and '%s' (%s) have different types", jc.Left.Name, lt, jc.Right.Name, rt)
		}
		conds = append(conds, noAffinity(ls.plain(li), lt)+" = "+rs.plain(ri))
		lkeys = append(lkeys, li)
		rkeys = append(rkeys, ri)
	}
	on := strings.Join(conds, " AND ")
	nl := len(left.cols)
	switch kind {
	case "leftsemi", "leftanti", "rightsemi", "rightanti":
		keep, keepAlias, keepKeys, other, otherAlias, otherKeys := left, la, lkeys, right, ra, rkeys
		if strings.HasPrefix(kind, "right") {
			keep, keepAlias, keepKeys, other, otherAlias, otherKeys = right, ra, rkeys, left, la, lkeys
		}
		not := ""
		if strings.HasSuffix(kind, "anti") {
			not = "NOT "
		}
		list := passThrough(scopeOf(keep, keepAlias, en))
		return &relation{cols: keep.cols, build: func(need []bool) string {
			keepNeed := with(need, nil)
			for _, k := range keepKeys {
				keepNeed[k] = true
			}
			return "SELECT " + selectList(pick(need, list)) + " FROM (" + keep.build(keepNeed) + ") AS " + keepAlias +
				" WHERE " + not + "EXISTS (SELECT 1 FROM (" + other.build(only(len(other.cols), otherKeys...)) + ") AS " + otherAlias + " WHERE " + on + ")"
		}}, nil
	}
	var u, v string
	if kind == "innerunique" {
		u, v = c.alias(), c.alias()
	}
	joinSQL := map[string]string{
		"innerunique": "JOIN", "inner": "JOIN", "leftouter": "LEFT JOIN",
		"rightouter": "RIGHT JOIN", "fullouter": "FULL JOIN",
	}[kind]
	names := newNamer(left.cols)
	var exprs []string
	var out []column
	nullable := func(ref string, t Type, outer bool) string {
		if outer && t == String {
			return "coalesce(" + ref + ", '')"
		}
		return ref
	}
	for i, col := range left.cols {
		exprs = append(exprs, nullable(ls.plain(i), col.typ, kind == "rightouter" || kind == "fullouter"))
		out = append(out, col)
	}
	for i, col := range right.cols {
		exprs = append(exprs, nullable(rs.plain(i), col.typ, kind == "leftouter" || kind == "fullouter"))
		out = append(out, column{name: names.unique(col.name), typ: col.typ})
	}
	return &relation{cols: out, build: func(need []bool) string {
		lNeed, rNeed := only(nl, lkeys...), only(len(right.cols), rkeys...)
		for i := range need {
			if !need[i] {
				continue
			}
			if i < nl {
				lNeed[i] = true
			} else {
				rNeed[i-nl] = true
			}
		}
		leftSQL := left.build(lNeed)
		if kind == "innerunique" {
			// Keep one left row per key, then join.
			var part []string
			for _, k := range lkeys {
				part = append(part, u+"."+colAlias(k))
			}
			us := scopeOf(left, u, en)
			inner := "SELECT " + selectList(pick(lNeed, passThrough(us))) + ", row_number() OVER (PARTITION BY " + strings.Join(part, ", ") + ") AS kql_rn FROM (" + leftSQL + ") AS " + u
			leftSQL = "SELECT " + selectList(pick(lNeed, passThrough(scopeOf(left, v, en)))) + " FROM (" + inner + ") AS " + v + " WHERE " + v + ".kql_rn = 1"
		}
		// The right side is materialized: its join keys are often computed
		// (extend SubscriptionId = extract(...)), and SQLite can then index
		// the computed values instead of recomputing them for every left
		// row. Only the columns needed are materialized.
		return "WITH " + ra + " AS MATERIALIZED (" + right.build(rNeed) + ") SELECT " + selectList(pick(need, exprs)) +
			" FROM (" + leftSQL + ") AS " + la + " " + joinSQL + " " + ra + " ON " + on
	}}, nil
}

func (c *compiler) mvExpand(in *relation, o *MvExpandOp, en *env) (*relation, error) {
	if len(o.Items) != 1 {
		return nil, c.errorf(o.Pos, "mv-expand of more than one expression is not supported")
	}
	item := o.Items[0]
	a := c.alias()
	sc := scopeOf(in, a, en)
	x, err := c.scalar(item.X, sc)
	if err != nil {
		return nil, err
	}
	if x.agg {
		return nil, c.errorf(item.X.pos(), "aggregate functions are only valid in summarize")
	}
	if x.typ != Dynamic {
		return nil, c.errorf(item.X.pos(), "mv-expand needs a dynamic value, found %s", x.typ)
	}
	xUses := sc.uses
	name := item.Name
	if name == "" {
		if id, ok := item.X.(*Ident); ok {
			name = id.Name
		} else if x.name != "" {
			name = x.name
		} else {
			name = newNamer(in.cols).column()
		}
	}
	j := c.alias()
	from, elem, key, index := c.d.ExpandJSON(c.text(x), j)
	val := sqlExpr{sql: elem, typ: Dynamic}
	if o.Kind == "bag" {
		bag, err := c.d.Call("bag", key, elem)
		if err != nil {
			return nil, err
		}
		val.sql = "(CASE WHEN " + key + " IS NOT NULL THEN " + bag + " ELSE " + elem + " END)"
	} else {
		k, err := c.d.Call("json", key, string(String))
		if err != nil {
			return nil, err
		}
		arr, err := c.d.Call("array", k, elem)
		if err != nil {
			return nil, err
		}
		val.sql = "(CASE WHEN " + key + " IS NOT NULL THEN " + arr + " ELSE " + elem + " END)"
	}
	if item.To != "" && item.To != Dynamic {
		if val, err = c.convert(val, item.To, item.X.pos()); err != nil {
			return nil, err
		}
	}
	exprs := passThrough(sc)
	src := make([]int, len(exprs))
	for i := range src {
		src[i] = i
	}
	out := append([]column(nil), in.cols...)
	col := column{name: name, typ: val.typ}
	if i := findCol(out, name); i >= 0 {
		exprs[i] = c.text(val)
		src[i] = -1
		out[i] = col
	} else {
		exprs = append(exprs, c.text(val))
		src = append(src, -1)
		out = append(out, col)
	}
	if o.ItemIndex != "" {
		if findCol(out, o.ItemIndex) >= 0 {
			return nil, c.errorf(o.Pos, "a column named '%s' already exists", o.ItemIndex)
		}
		exprs = append(exprs, "coalesce("+index+", 0)")
		src = append(src, -1)
		out = append(out, column{name: o.ItemIndex, typ: Long})
	}
	where := ""
	if o.Limit != nil {
		lim, err := c.limit(o.Limit, en, "mv-expand")
		if err != nil {
			return nil, err
		}
		where = " WHERE coalesce(" + index + ", 0) < " + lim
	}
	return &relation{cols: out, build: func(need []bool) string {
		// The expanded value decides how many rows there are: its
		// columns are always needed.
		inNeed := with(none(len(in.cols)), xUses)
		for i, s := range src {
			if need[i] && s >= 0 {
				inNeed[s] = true
			}
		}
		return "SELECT " + selectList(pick(need, exprs)) + " FROM (" + in.build(inNeed) + ") AS " + a + ", " + from + where
	}}, nil
}
