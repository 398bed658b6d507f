package kql

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// sqlExpr is a compiled scalar expression.
type sqlExpr struct {
	sql   string // SQL text; empty for a constant not yet bound
	typ   Type
	konst bool // a compile-time constant: val holds it (nil is null)
	val   any  // string, int64 (also ticks), float64, bool, JSON text
	agg   bool // contains an aggregate
	name  string
}

func (c *compiler) konst(t Type, v any) sqlExpr { return sqlExpr{typ: t, konst: true, val: v} }

// text returns the SQL of e, binding a constant as a parameter.
func (c *compiler) text(e sqlExpr) string {
	if e.sql != "" || !e.konst {
		return e.sql
	}
	if e.val == nil {
		return "NULL"
	}
	if e.typ == Bool {
		if b, ok := e.val.(bool); ok {
			v, _ := c.d.Encode(Bool, b)
			return c.param(v)
		}
	}
	return c.param(e.val)
}

// call renders a dialect function over compiled operands.
func (c *compiler) fn(p Pos, name string, typ Type, args ...sqlExpr) (sqlExpr, error) {
	texts := make([]string, len(args))
	agg := false
	for i, a := range args {
		texts[i] = c.text(a)
		agg = agg || a.agg
	}
	s, err := c.d.Call(name, texts...)
	if err != nil {
		return sqlExpr{}, c.errorf(p, "%v", err)
	}
	return sqlExpr{sql: s, typ: typ, agg: agg}, nil
}

// raw wraps SQL text built by the compiler.
func raw(sql string, typ Type, parts ...sqlExpr) sqlExpr {
	e := sqlExpr{sql: sql, typ: typ}
	for _, p := range parts {
		e.agg = e.agg || p.agg
	}
	return e
}

func sqlBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (c *compiler) scalar(e Expr, sc *scope) (sqlExpr, error) {
	switch x := e.(type) {
	case *Literal:
		if x.Kind == LitNull {
			return c.konst(x.Type, nil), nil
		}
		return c.konst(x.Type, x.Value), nil
	case *Ident:
		return c.ident(x, sc)
	case *Paren:
		if c.isTabular(x.X, sc.env) {
			return sqlExpr{}, c.errorf(x.Pos, "expected a scalar, found a tabular expression (use toscalar())")
		}
		return c.scalar(x.X, sc)
	case *Unary:
		v, err := c.scalar(x.X, sc)
		if err != nil {
			return v, err
		}
		if !v.typ.numeric() && v.typ != Timespan && v.typ != null {
			return v, c.errorf(x.Pos, "unary '-' needs a number or timespan, found %s", v.typ)
		}
		if v.konst {
			switch n := v.val.(type) {
			case int64:
				return c.konst(v.typ, -n), nil
			case float64:
				return c.konst(v.typ, -n), nil
			case nil:
				return v, nil
			}
		}
		return raw("(-"+c.text(v)+")", v.typ, v), nil
	case *Binary:
		return c.binary(x, sc)
	case *InList:
		return c.inList(x, sc)
	case *Between:
		return c.between(x, sc)
	case *Member, *Index:
		return c.access(e, sc)
	case *Call:
		return c.call(x, sc)
	case *Star:
		return sqlExpr{}, c.errorf(x.Pos, "'*' is only valid as an argument of arg_max, arg_min or count")
	case *Pipe, *UnionExpr, *PrintExpr:
		return sqlExpr{}, c.errorf(e.pos(), "expected a scalar, found a tabular expression (use toscalar())")
	}
	return sqlExpr{}, c.errorf(e.pos(), "unsupported expression")
}

func (c *compiler) ident(x *Ident, sc *scope) (sqlExpr, error) {
	if i := sc.find(x.Name); i >= 0 {
		if c.agg == aggAllowed {
			return sqlExpr{}, c.errorf(x.Pos, "column '%s' must be inside an aggregation function", x.Name)
		}
		return sqlExpr{sql: sc.ref(i), typ: sc.cols[i].typ, name: x.Name}, nil
	}
	if b := sc.env.lookup(x.Name); b != nil {
		if b.scalar == nil {
			return sqlExpr{}, c.errorf(x.Pos, "'%s' is a table: use it in a pipeline or in toscalar()", x.Name)
		}
		v := *b.scalar
		v.name = x.Name
		return v, nil
	}
	if _, ok := c.schema.Table(x.Name); ok {
		return sqlExpr{}, c.errorf(x.Pos, "'%s' is a table: use it in a pipeline or in toscalar()", x.Name)
	}
	if x.Name == "$left" || x.Name == "$right" {
		return sqlExpr{}, c.errorf(x.Pos, "%s is only valid in a join condition", x.Name)
	}
	return sqlExpr{}, c.errorf(x.Pos, "unknown column or variable '%s'", x.Name)
}

// arithType is the result type of l op r, or "" if the operator does not
// apply.
func arithType(op string, l, r Type) Type {
	if l == null {
		l = r
	}
	if r == null {
		r = l
	}
	if l == null && r == null {
		return null
	}
	switch {
	case l.numeric() && r.numeric():
		switch {
		case l == Real || r == Real:
			return Real
		case l == Long || r == Long:
			return Long
		}
		return Int
	case l == DateTime && r == DateTime && op == "-":
		return Timespan
	case l == DateTime && r == Timespan && (op == "+" || op == "-"):
		return DateTime
	case l == Timespan && r == DateTime && op == "+":
		return DateTime
	case l == Timespan && r == Timespan:
		switch op {
		case "+", "-", "%":
			return Timespan
		case "/":
			return Real
		}
	case l == Timespan && r.numeric() && (op == "*" || op == "/"):
		return Timespan
	case l.numeric() && r == Timespan && op == "*":
		return Timespan
	}
	return ""
}

func (c *compiler) binary(x *Binary, sc *scope) (sqlExpr, error) {
	l, err := c.scalar(x.L, sc)
	if err != nil {
		return l, err
	}
	r, err := c.scalar(x.R, sc)
	if err != nil {
		return r, err
	}
	switch x.Op {
	case "and", "or":
		if l, err = c.predicate(l, x.L.pos(), "'"+x.Op+"'"); err != nil {
			return l, err
		}
		if r, err = c.predicate(r, x.R.pos(), "'"+x.Op+"'"); err != nil {
			return r, err
		}
		return raw("("+c.text(l)+" "+strings.ToUpper(x.Op)+" "+c.text(r)+")", Bool, l, r), nil
	case "+", "-", "*", "/", "%":
		return c.arith(x, l, r)
	case "==", "!=", "<", "<=", ">", ">=":
		return c.compare(x.Pos, x.Op, l, r)
	case "=~", "!~":
		if l, err = c.convert(l, String, x.L.pos()); err != nil {
			return l, err
		}
		if r, err = c.convert(r, String, x.R.pos()); err != nil {
			return r, err
		}
		if l, err = c.lower(l, x.Pos); err != nil {
			return l, err
		}
		if r, err = c.lower(r, x.Pos); err != nil {
			return r, err
		}
		op := " = "
		if x.Op == "!~" {
			op = " <> "
		}
		return raw("("+c.text(l)+op+c.text(r)+")", Bool, l, r), nil
	case "matches regex":
		if l, err = c.convert(l, String, x.L.pos()); err != nil {
			return l, err
		}
		if r, err = c.regexArg(r, x.R.pos()); err != nil {
			return r, err
		}
		return c.fn(x.Pos, "regex", Bool, l, r)
	}
	if stringOps[x.Op] {
		neg := strings.HasPrefix(x.Op, "!")
		base := strings.TrimPrefix(x.Op, "!")
		cs := strings.HasSuffix(base, "_cs")
		base = strings.TrimSuffix(base, "_cs")
		if l, err = c.convert(l, String, x.L.pos()); err != nil {
			return l, err
		}
		if r, err = c.convert(r, String, x.R.pos()); err != nil {
			return r, err
		}
		out, err := c.fn(x.Pos, base, Bool, l, r, sqlExpr{sql: sqlBool(cs), typ: Bool})
		if err != nil {
			return out, err
		}
		if neg {
			out.sql = "(NOT " + out.sql + ")"
		}
		return out, nil
	}
	return sqlExpr{}, c.errorf(x.Pos, "unknown operator '%s'", x.Op)
}

// regexArg checks a pattern argument: a constant pattern must compile.
func (c *compiler) regexArg(r sqlExpr, p Pos) (sqlExpr, error) {
	r, err := c.convert(r, String, p)
	if err != nil {
		return r, err
	}
	if r.konst {
		s, _ := r.val.(string)
		if _, err := regexp.Compile(s); err != nil {
			return r, c.errorf(p, "invalid regular expression: %v", err)
		}
	}
	return r, nil
}

func (c *compiler) lower(e sqlExpr, p Pos) (sqlExpr, error) {
	if e.konst {
		if s, ok := e.val.(string); ok {
			return c.konst(String, strings.ToLower(s)), nil
		}
		return e, nil
	}
	return c.fn(p, "lower", String, e)
}

func (c *compiler) arith(x *Binary, l, r sqlExpr) (sqlExpr, error) {
	// A dynamic operand takes part as the number it holds.
	for _, e := range []*sqlExpr{&l, &r} {
		if e.typ == Dynamic {
			v, err := c.convert(*e, Real, x.Pos)
			if err != nil {
				return v, err
			}
			*e = v
		}
	}
	t := arithType(x.Op, l.typ, r.typ)
	if t == "" {
		return sqlExpr{}, c.errorf(x.Pos, "operator '%s' cannot be applied to %s and %s", x.Op, l.typ, r.typ)
	}
	if l.konst && r.konst {
		if v, ok := foldArith(x.Op, l, r, t); ok {
			return c.konst(t, v), nil
		}
	}
	ls, rs := c.text(l), c.text(r)
	var s string
	switch {
	case x.Op == "/" && l.typ == Timespan && r.typ == Timespan:
		s = "(CAST(" + ls + " AS REAL) / " + rs + ")"
	case t == Timespan && (l.typ == Real || r.typ == Real):
		s = "CAST(" + ls + " " + x.Op + " " + rs + " AS INTEGER)"
	case x.Op == "/":
		d, err := c.d.Call("div", ls, rs)
		if err != nil {
			return sqlExpr{}, c.errorf(x.Pos, "%v", err)
		}
		s = d
	default:
		s = "(" + ls + " " + x.Op + " " + rs + ")"
	}
	return raw(s, t, l, r), nil
}

// foldArith evaluates constant arithmetic; ok is false when it does not
// (the SQL does it then).
func foldArith(op string, l, r sqlExpr, t Type) (any, bool) {
	if l.val == nil || r.val == nil {
		return nil, true
	}
	li, lInt := l.val.(int64)
	ri, rInt := r.val.(int64)
	if lInt && rInt && (t != Real) {
		switch op {
		case "+":
			s := li + ri
			if (s > li) != (ri > 0) {
				return nil, false
			}
			return s, true
		case "-":
			s := li - ri
			if (s < li) != (ri > 0) {
				return nil, false
			}
			return s, true
		case "*":
			if li != 0 && ri != 0 {
				p := li * ri
				if p/ri != li || (li == -1 && ri == math.MinInt64) || (ri == -1 && li == math.MinInt64) {
					return nil, false
				}
				return p, true
			}
			return int64(0), true
		case "/", "%":
			if ri == 0 || (li == math.MinInt64 && ri == -1) {
				return nil, true
			}
			if op == "/" {
				return li / ri, true
			}
			return li % ri, true
		}
		return nil, false
	}
	lf, ok1 := toReal(l.val)
	rf, ok2 := toReal(r.val)
	if !ok1 || !ok2 || t != Real {
		return nil, false
	}
	if lInt && rInt && op == "/" { // timespan / timespan
		if ri == 0 {
			return nil, true
		}
	}
	switch op {
	case "+":
		return lf + rf, true
	case "-":
		return lf - rf, true
	case "*":
		return lf * rf, true
	case "/":
		if rf == 0 {
			return nil, true
		}
		return lf / rf, true
	}
	return nil, false
}

// comparable unifies the operand types of a comparison: a dynamic side
// is converted to the other side's type.
func (c *compiler) comparable(p Pos, op string, l, r sqlExpr) (sqlExpr, sqlExpr, error) {
	var err error
	switch {
	case l.typ == r.typ, l.typ == null, r.typ == null:
	case l.typ.numeric() && r.typ.numeric():
	case (l.typ == String && r.typ == GUID) || (l.typ == GUID && r.typ == String):
	case l.typ == Dynamic:
		l, err = c.dynAs(l, r.typ, p)
	case r.typ == Dynamic:
		r, err = c.dynAs(r, l.typ, p)
	default:
		err = c.errorf(p, "cannot compare %s with %s using '%s'", l.typ, r.typ, op)
	}
	return l, r, err
}

// dynAs converts a dynamic operand for a comparison with a value of type
// t: numbers compare as the number the JSON holds.
func (c *compiler) dynAs(e sqlExpr, t Type, p Pos) (sqlExpr, error) {
	if t.numeric() {
		v, err := c.fn(p, "dyn_value", t, e)
		return v, err
	}
	return c.convert(e, t, p)
}

func (c *compiler) compare(p Pos, op string, l, r sqlExpr) (sqlExpr, error) {
	l, r, err := c.comparable(p, op, l, r)
	if err != nil {
		return sqlExpr{}, err
	}
	sqlOp := map[string]string{"==": "=", "!=": "<>"}[op]
	if sqlOp == "" {
		sqlOp = op
	}
	return raw("("+c.text(l)+" "+sqlOp+" "+c.text(r)+")", Bool, l, r), nil
}

func (c *compiler) inList(x *InList, sc *scope) (sqlExpr, error) {
	v, err := c.scalar(x.X, sc)
	if err != nil {
		return v, err
	}
	op := x.Op
	ci := strings.HasSuffix(op, "~")
	neg := strings.HasPrefix(op, "!")
	if op == "has_any" || op == "has_all" {
		ci = true
	}
	var items []sqlExpr
	var subqueries []string
	for _, it := range x.List {
		if c.isTabular(it, sc.env) {
			r, err := c.tabular(it, sc.env)
			if err != nil {
				return sqlExpr{}, err
			}
			a := c.alias()
			if op == "has_any" || op == "has_all" {
				return sqlExpr{}, c.errorf(it.pos(), "%s takes scalar values", op)
			}
			col := sqlExpr{sql: a + ".c0", typ: r.cols[0].typ}
			if ci {
				if col, err = c.convert(col, String, it.pos()); err != nil {
					return col, err
				}
				if col, err = c.lower(col, it.pos()); err != nil {
					return col, err
				}
			}
			subqueries = append(subqueries, "SELECT "+c.text(col)+" FROM ("+r.build(only(len(r.cols), 0))+") AS "+a)
			if v.typ == Dynamic {
				if v, err = c.dynAs(v, r.cols[0].typ, x.Pos); err != nil {
					return v, err
				}
			}
			continue
		}
		e, err := c.scalar(it, sc)
		if err != nil {
			return e, err
		}
		if e.konst && e.typ == Dynamic && e.val != nil {
			vals, ok := dynamicConsts(e.val.(string))
			if !ok {
				return e, c.errorf(it.pos(), "a dynamic list value must be an array of scalars")
			}
			items = append(items, vals...)
			continue
		}
		items = append(items, e)
	}
	if op == "has_any" || op == "has_all" {
		s, err := c.convert(v, String, x.X.pos())
		if err != nil {
			return s, err
		}
		if len(items) == 0 {
			return c.konst(Bool, op == "has_all"), nil
		}
		var parts []string
		for _, it := range items {
			if it, err = c.convert(it, String, x.Pos); err != nil {
				return it, err
			}
			h, err := c.fn(x.Pos, "has", Bool, s, it, sqlExpr{sql: "0", typ: Bool})
			if err != nil {
				return h, err
			}
			parts = append(parts, h.sql)
		}
		join := " OR "
		if op == "has_all" {
			join = " AND "
		}
		return raw("("+strings.Join(parts, join)+")", Bool, s), nil
	}
	if ci {
		if v, err = c.convert(v, String, x.X.pos()); err != nil {
			return v, err
		}
		if v, err = c.lower(v, x.Pos); err != nil {
			return v, err
		}
	}
	var texts []string
	for _, it := range items {
		if ci {
			if it, err = c.convert(it, String, x.Pos); err != nil {
				return it, err
			}
			if it, err = c.lower(it, x.Pos); err != nil {
				return it, err
			}
		} else {
			var l sqlExpr
			if l, it, err = c.comparable(x.Pos, op, v, it); err != nil {
				return l, err
			}
			v = l
		}
		texts = append(texts, c.text(it))
	}
	texts = append(texts, subqueries...)
	if len(texts) == 0 {
		return c.konst(Bool, neg), nil
	}
	var parts []string
	vt := c.text(v)
	if len(items) > 0 {
		list := make([]string, 0, len(items))
		list = append(list, texts[:len(texts)-len(subqueries)]...)
		parts = append(parts, vt+" IN ("+strings.Join(list, ", ")+")")
	}
	for _, s := range subqueries {
		parts = append(parts, vt+" IN ("+s+")")
	}
	s := "(" + strings.Join(parts, " OR ") + ")"
	if neg {
		s = "(NOT " + s + ")"
	}
	return raw(s, Bool, v), nil
}

// dynamicConsts turns a JSON array of scalars into constants.
func dynamicConsts(j string) ([]sqlExpr, bool) {
	dec := json.NewDecoder(strings.NewReader(j))
	dec.UseNumber()
	var arr []any
	if err := dec.Decode(&arr); err != nil {
		return nil, false
	}
	out := make([]sqlExpr, 0, len(arr))
	for _, v := range arr {
		switch x := v.(type) {
		case string:
			out = append(out, sqlExpr{konst: true, typ: String, val: x})
		case bool:
			out = append(out, sqlExpr{konst: true, typ: Bool, val: x})
		case json.Number:
			if n, err := x.Int64(); err == nil {
				out = append(out, sqlExpr{konst: true, typ: Long, val: n})
			} else if f, err := x.Float64(); err == nil {
				out = append(out, sqlExpr{konst: true, typ: Real, val: f})
			} else {
				return nil, false
			}
		case nil:
		default:
			return nil, false
		}
	}
	return out, true
}

func (c *compiler) between(x *Between, sc *scope) (sqlExpr, error) {
	v, err := c.scalar(x.X, sc)
	if err != nil {
		return v, err
	}
	lo, err := c.scalar(x.Lo, sc)
	if err != nil {
		return lo, err
	}
	hi, err := c.scalar(x.Hi, sc)
	if err != nil {
		return hi, err
	}
	if hi.typ == Timespan && (lo.typ == DateTime || (lo.typ == Timespan && v.typ == DateTime)) {
		// between (start .. duration)
		if hi, err = c.arith(&Binary{Pos: x.Pos, Op: "+"}, lo, hi); err != nil {
			return hi, err
		}
	}
	var l sqlExpr
	if l, lo, err = c.comparable(x.Pos, "between", v, lo); err != nil {
		return l, err
	}
	if l, hi, err = c.comparable(x.Pos, "between", l, hi); err != nil {
		return l, err
	}
	s := "(" + c.text(l) + " BETWEEN " + c.text(lo) + " AND " + c.text(hi) + ")"
	if x.Not {
		s = "(NOT " + s + ")"
	}
	return raw(s, Bool, l, lo, hi), nil
}

// pathSeg is one step of a dynamic access: a key, an index or a computed
// index.
type pathSeg struct {
	pos      Pos
	key      string
	index    int64
	isIndex  bool
	computed *sqlExpr
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// access compiles x.a.b[0]['c'] chains into one JSON path where it can.
func (c *compiler) access(e Expr, sc *scope) (sqlExpr, error) {
	var segs []pathSeg
	cur := e
loop:
	for {
		switch x := cur.(type) {
		case *Member:
			segs = append(segs, pathSeg{pos: x.Pos, key: x.Name})
			cur = x.X
		case *Index:
			idx, err := c.scalar(x.Index, sc)
			if err != nil {
				return idx, err
			}
			seg := pathSeg{pos: x.Pos}
			switch {
			case idx.konst && idx.typ == String:
				seg.key, _ = idx.val.(string)
			case idx.konst && idx.typ.integral() && idx.val != nil:
				seg.index, seg.isIndex = idx.val.(int64), true
			case idx.typ == String || idx.typ.integral() || idx.typ == Dynamic:
				if idx.typ == Dynamic {
					if idx, err = c.convert(idx, String, x.Index.pos()); err != nil {
						return idx, err
					}
				}
				seg.computed = &idx
			default:
				return sqlExpr{}, c.errorf(x.Index.pos(), "an index must be a string or an integer, found %s", idx.typ)
			}
			segs = append(segs, seg)
			cur = x.X
		default:
			break loop
		}
	}
	base, err := c.scalar(cur, sc)
	if err != nil {
		return base, err
	}
	if base.typ != Dynamic {
		return base, c.errorf(segs[len(segs)-1].pos, "path expression source must be dynamic, found %s (use parse_json())", base.typ)
	}
	name := base.name
	out := base
	path := "$"
	flush := func() error {
		if path == "$" {
			return nil
		}
		v, err := c.fn(segs[0].pos, "dyn_get", Dynamic, out, c.konst(String, path))
		if err != nil {
			return err
		}
		out = v
		path = "$"
		return nil
	}
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		switch {
		case s.computed != nil:
			if err := flush(); err != nil {
				return out, err
			}
			f := "dyn_key"
			if s.computed.typ.integral() {
				f = "dyn_at"
			}
			if out, err = c.fn(s.pos, f, Dynamic, out, *s.computed); err != nil {
				return out, err
			}
			name = ""
		case s.isIndex:
			if s.index < 0 {
				path += "[#" + strconv.FormatInt(s.index, 10) + "]"
			} else {
				path += "[" + strconv.FormatInt(s.index, 10) + "]"
			}
			if name != "" {
				name += "_" + strconv.FormatInt(s.index, 10)
			}
		case plainKey.MatchString(s.key):
			path += "." + s.key
			if name != "" {
				name += "_" + s.key
			}
		case !strings.ContainsAny(s.key, "\"\\"):
			path += `."` + s.key + `"`
			if name != "" {
				name += "_" + s.key
			}
		default:
			if err := flush(); err != nil {
				return out, err
			}
			if out, err = c.fn(s.pos, "dyn_key", Dynamic, out, c.konst(String, s.key)); err != nil {
				return out, err
			}
			name = ""
		}
	}
	if err := flush(); err != nil {
		return out, err
	}
	out.name = name
	return out, nil
}

// convert converts e to type t as tostring(), tolong() ... do.
func (c *compiler) convert(e sqlExpr, t Type, p Pos) (sqlExpr, error) {
	if e.typ == t {
		return e, nil
	}
	name := e.name
	if e.typ == null || (e.konst && e.val == nil) {
		if t == String {
			return sqlExpr{konst: true, typ: String, val: "", name: name}, nil
		}
		return sqlExpr{konst: true, typ: t, name: name}, nil
	}
	if e.konst {
		if v, ok := convertConst(e.typ, e.val, t); ok {
			return sqlExpr{konst: true, typ: t, val: v, name: name}, nil
		}
	}
	bad := func() (sqlExpr, error) {
		return sqlExpr{}, c.errorf(p, "cannot convert %s to %s", e.typ, t)
	}
	var out sqlExpr
	var err error
	from := e.typ
	switch t {
	case String:
		f := map[Type]string{Int: "str_long", Long: "str_long", GUID: "str_long", Real: "str_real",
			Bool: "str_bool", DateTime: "str_datetime", Timespan: "str_timespan", Dynamic: "str_dynamic"}[from]
		if f == "" {
			return bad()
		}
		out, err = c.fn(p, f, String, e)
	case Int, Long:
		switch from {
		case Int, Long, Bool, Timespan:
			out = raw(c.text(e), t, e)
		case Real:
			out = raw("CAST("+c.text(e)+" AS INTEGER)", t, e)
		case String:
			out, err = c.fn(p, "to_long", t, e)
		case Dynamic:
			if out, err = c.fn(p, "dyn_value", Dynamic, e); err == nil {
				out, err = c.fn(p, "to_long", t, out)
			}
		case DateTime:
			out = raw("("+c.text(e)+" + "+strconv.FormatInt(epochOffset, 10)+")", t, e)
		default:
			return bad()
		}
	case Real:
		switch from {
		case Int, Long, Bool, Timespan:
			out = raw("CAST("+c.text(e)+" AS REAL)", Real, e)
		case String:
			out, err = c.fn(p, "to_real", Real, e)
		case Dynamic:
			if out, err = c.fn(p, "dyn_value", Dynamic, e); err == nil {
				out, err = c.fn(p, "to_real", Real, out)
			}
		default:
			return bad()
		}
	case Bool:
		switch from {
		case Int, Long, Real:
			out = raw("(CASE WHEN "+c.text(e)+" IS NULL THEN NULL WHEN "+c.text(e)+" <> 0 THEN 1 ELSE 0 END)", Bool, e)
		case String:
			out, err = c.fn(p, "to_bool", Bool, e)
		case Dynamic:
			if out, err = c.fn(p, "dyn_value", Dynamic, e); err == nil {
				out, err = c.fn(p, "to_bool", Bool, out)
			}
		default:
			return bad()
		}
	case DateTime:
		switch from {
		case String:
			out, err = c.fn(p, "to_datetime", DateTime, e)
		case Dynamic:
			if out, err = c.fn(p, "dyn_value", Dynamic, e); err == nil {
				out, err = c.fn(p, "to_datetime", DateTime, out)
			}
		case Int, Long:
			out = raw("("+c.text(e)+" - "+strconv.FormatInt(epochOffset, 10)+")", DateTime, e)
		default:
			return bad()
		}
	case Timespan:
		switch from {
		case String:
			out, err = c.fn(p, "to_timespan", Timespan, e)
		case Dynamic:
			if out, err = c.fn(p, "dyn_value", Dynamic, e); err == nil {
				out, err = c.fn(p, "to_timespan", Timespan, out)
			}
		case Int, Long:
			out = raw(c.text(e), Timespan, e)
		case Real:
			out = raw("CAST("+c.text(e)+" AS INTEGER)", Timespan, e)
		default:
			return bad()
		}
	case Dynamic:
		out, err = c.fn(p, "json", Dynamic, e, sqlExpr{sql: string(from), typ: String})
	case GUID:
		switch from {
		case String:
			out = raw(c.text(e), GUID, e)
		case Dynamic:
			out, err = c.fn(p, "str_dynamic", GUID, e)
		default:
			return bad()
		}
	default:
		return bad()
	}
	if err != nil {
		return out, err
	}
	out.typ = t
	out.name = name
	return out, nil
}

// convertConst converts a constant; ok is false when the SQL should do it.
func convertConst(from Type, v any, to Type) (any, bool) {
	switch to {
	case String:
		switch x := v.(type) {
		case string:
			if from == Dynamic {
				return dynString(x), true
			}
			return x, true
		case int64:
			switch from {
			case DateTime:
				return formatTicks(x), true
			case Timespan:
				return formatSpan(x), true
			}
			return strconv.FormatInt(x, 10), true
		case float64:
			return formatReal(x), true
		case bool:
			return strconv.FormatBool(x), true
		}
	case Long, Int:
		if from == String {
			if n, ok := toLong(v); ok {
				return n, true
			}
			return nil, true
		}
		if from == Real || from == Bool || from.integral() {
			if n, ok := toLong(v); ok {
				return n, true
			}
		}
	case Real:
		if from == String || from.numeric() || from == Bool {
			if f, ok := toReal(v); ok {
				return f, true
			}
			return nil, true
		}
	case DateTime:
		if from == String {
			if n, ok := toDatetime(v); ok {
				return n, true
			}
			return nil, true
		}
	case Timespan:
		if from == String {
			if n, ok := toTimespan(v); ok {
				return n, true
			}
			return nil, true
		}
	case Dynamic:
		if s, ok := elemJSON(from, v); ok {
			return s, true
		}
	case Bool:
		if from == String || from.numeric() {
			if b, ok := toBool(v); ok {
				return b, true
			}
			return nil, true
		}
	}
	return nil, false
}
