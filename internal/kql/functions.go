package kql

import (
	"strconv"
	"strings"
)

// aggregates are the aggregation functions of summarize, with the prefix
// of the column names Kusto gives them.
var aggregates = map[string]string{
	"count": "count", "countif": "countif", "dcount": "dcount", "dcountif": "dcountif",
	"sum": "sum", "sumif": "sumif", "avg": "avg", "avgif": "avgif",
	"min": "min", "max": "max", "minif": "minif", "maxif": "maxif",
	"make_list": "list", "make_set": "set", "make_list_if": "list", "make_set_if": "set",
	"take_any": "take_any", "any": "any",
}

// conversions name their result after their argument.
var conversions = map[string]Type{
	"tostring": String, "toint": Int, "tolong": Long, "toreal": Real, "todouble": Real,
	"todecimal": Real, "tobool": Bool, "toboolean": Bool, "todatetime": DateTime,
	"totimespan": Timespan, "totime": Timespan, "toguid": GUID,
}

// argCount checks the number of arguments.
func (c *compiler) argCount(x *Call, lo, hi int) error {
	n := len(x.Args)
	if n < lo || (hi >= 0 && n > hi) {
		want := strconv.Itoa(lo)
		switch {
		case hi < 0:
			want = "at least " + want
		case hi != lo:
			want += " to " + strconv.Itoa(hi)
		}
		return c.errorf(x.Pos, "%s() takes %s argument(s), found %d", x.Name, want, n)
	}
	return nil
}

// scalars compiles the arguments.
func (c *compiler) scalars(x *Call, sc *scope) ([]sqlExpr, error) {
	out := make([]sqlExpr, len(x.Args))
	for i, a := range x.Args {
		v, err := c.scalar(a, sc)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// intConst reads a constant integer argument.
func (c *compiler) intConst(e sqlExpr, p Pos, what string) (int64, error) {
	if !e.konst || !e.typ.integral() || e.val == nil {
		return 0, c.errorf(p, "%s must be a constant integer", what)
	}
	return e.val.(int64), nil
}

func (c *compiler) call(x *Call, sc *scope) (sqlExpr, error) {
	if prefix, ok := aggregates[x.Name]; ok {
		return c.aggregate(x, prefix, sc)
	}
	if x.Name == "arg_max" || x.Name == "arg_min" {
		return sqlExpr{}, c.errorf(x.Pos, "%s() must be a whole aggregation of summarize", x.Name)
	}
	if t, ok := conversions[x.Name]; ok {
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		v, err := c.scalar(x.Args[0], sc)
		if err != nil {
			return v, err
		}
		out, err := c.convert(v, t, x.Pos)
		out.name = v.name
		return out, err
	}
	switch x.Name {
	case "toscalar":
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		if !c.isTabular(x.Args[0], sc.env) {
			return c.scalar(x.Args[0], sc)
		}
		r, err := c.tabular(x.Args[0], sc.env)
		if err != nil {
			return sqlExpr{}, err
		}
		a := c.alias()
		return sqlExpr{sql: "(SELECT " + a + ".c0 FROM (" + r.build(only(len(r.cols), 0)) + ") AS " + a + " LIMIT 1)", typ: r.cols[0].typ}, nil
	case "typeof":
		return sqlExpr{}, c.errorf(x.Pos, "typeof() is only valid in extract() and mv-expand")
	}
	compiled := x
	if x.Name == "extract" && len(x.Args) == 4 {
		// The fourth argument is typeof(T), not a value.
		compiled = &Call{Pos: x.Pos, Name: x.Name, Args: x.Args[:3]}
	}
	args, err := c.scalars(compiled, sc)
	if err != nil {
		return sqlExpr{}, err
	}
	return c.builtin(x, args, sc)
}

func (c *compiler) builtin(x *Call, args []sqlExpr, sc *scope) (sqlExpr, error) {
	p := x.Pos
	arg := func(i int, t Type) (sqlExpr, error) { return c.convert(args[i], t, x.Args[i].pos()) }
	switch x.Name {
	case "now", "ago":
		if err := c.argCount(x, 0, 1); err != nil {
			return sqlExpr{}, err
		}
		if x.Name == "ago" && len(args) == 0 {
			return sqlExpr{}, c.argCount(x, 1, 1)
		}
		now := c.konst(DateTime, c.now)
		if len(args) == 0 {
			return now, nil
		}
		d, err := arg(0, Timespan)
		if err != nil {
			return d, err
		}
		op := "+"
		if x.Name == "ago" {
			op = "-"
		}
		return c.arith(&Binary{Pos: p, Op: op}, now, d)
	case "bin", "floor":
		if x.Name == "floor" && len(args) == 1 {
			v, err := arg(0, Real)
			if err != nil {
				return v, err
			}
			return raw("floor("+c.text(v)+")", Real, v), nil
		}
		if err := c.argCount(x, 2, 2); err != nil {
			return sqlExpr{}, err
		}
		return c.bin(x, args[0], args[1])
	case "startofday", "startofweek", "startofmonth", "startofyear",
		"endofday", "endofweek", "endofmonth", "endofyear":
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		v, err := arg(0, DateTime)
		if err != nil {
			return v, err
		}
		unit := strings.TrimPrefix(strings.TrimPrefix(x.Name, "startof"), "endof")
		end := strings.HasPrefix(x.Name, "end")
		if unit == "day" && !end {
			return c.fn(p, "bin_datetime", DateTime, v, c.konst(Timespan, ticksPerDay))
		}
		return c.fn(p, "period", DateTime, v, sqlExpr{sql: "'" + unit + "'", typ: String}, sqlExpr{sql: sqlBool(end), typ: Bool})
	case "dayofweek":
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		v, err := arg(0, DateTime)
		if err != nil {
			return v, err
		}
		day := strconv.FormatInt(ticksPerDay, 10)
		return raw("((((("+c.text(v)+" + "+strconv.FormatInt(epochOffset, 10)+") / "+day+") + 1) % 7) * "+day+")", Timespan, v), nil
	case "todynamic", "parse_json":
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		v := args[0]
		switch {
		case v.typ == Dynamic:
			return v, nil
		case v.typ == String && v.konst:
			return sqlExpr{konst: true, typ: Dynamic, val: parseJSON(v.val.(string)), name: v.name}, nil
		case v.typ == String:
			out, err := c.fn(p, "parse_json", Dynamic, v)
			out.name = v.name
			return out, err
		}
		return c.convert(v, Dynamic, p)
	case "strlen":
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		s, err := arg(0, String)
		if err != nil {
			return s, err
		}
		return c.fn(p, "strlen", Long, s)
	case "tolower", "toupper":
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		s, err := arg(0, String)
		if err != nil {
			return s, err
		}
		if s.konst {
			v := s.val.(string)
			if x.Name == "tolower" {
				return c.konst(String, strings.ToLower(v)), nil
			}
			return c.konst(String, strings.ToUpper(v)), nil
		}
		return c.fn(p, strings.TrimPrefix(x.Name, "to"), String, s)
	case "strcat", "strcat_delim":
		lo := 1
		if x.Name == "strcat_delim" {
			lo = 2
		}
		if err := c.argCount(x, lo, 64); err != nil {
			return sqlExpr{}, err
		}
		parts := make([]string, 0, len(args))
		var delim string
		for i := range args {
			s, err := arg(i, String)
			if err != nil {
				return s, err
			}
			if x.Name == "strcat_delim" && i == 0 {
				delim = c.text(s)
				continue
			}
			parts = append(parts, c.text(s))
		}
		sep := " || "
		if delim != "" {
			sep = " || " + delim + " || "
		}
		return raw("("+strings.Join(parts, sep)+")", String, args...), nil
	case "substring":
		if err := c.argCount(x, 2, 3); err != nil {
			return sqlExpr{}, err
		}
		s, err := arg(0, String)
		if err != nil {
			return s, err
		}
		start, err := arg(1, Long)
		if err != nil {
			return start, err
		}
		n := sqlExpr{sql: "-1", typ: Long}
		if len(args) == 3 {
			if n, err = arg(2, Long); err != nil {
				return n, err
			}
		}
		return c.fn(p, "substring", String, s, start, n)
	case "indexof":
		if err := c.argCount(x, 2, 2); err != nil {
			return sqlExpr{}, err
		}
		s, err := arg(0, String)
		if err != nil {
			return s, err
		}
		l, err := arg(1, String)
		if err != nil {
			return l, err
		}
		return c.fn(p, "indexof", Long, s, l)
	case "replace_string":
		if err := c.argCount(x, 3, 3); err != nil {
			return sqlExpr{}, err
		}
		var ss [3]sqlExpr
		for i := range ss {
			v, err := arg(i, String)
			if err != nil {
				return v, err
			}
			ss[i] = v
		}
		return c.fn(p, "replace", String, ss[0], ss[1], ss[2])
	case "split":
		if err := c.argCount(x, 2, 3); err != nil {
			return sqlExpr{}, err
		}
		s, err := arg(0, String)
		if err != nil {
			return s, err
		}
		d, err := arg(1, String)
		if err != nil {
			return d, err
		}
		if len(args) == 3 {
			i, err := arg(2, Long)
			if err != nil {
				return i, err
			}
			return c.fn(p, "split_at", Dynamic, s, d, i)
		}
		return c.fn(p, "split", Dynamic, s, d)
	case "extract":
		if err := c.argCount(x, 3, 4); err != nil {
			return sqlExpr{}, err
		}
		re, err := c.regexArg(args[0], x.Args[0].pos())
		if err != nil {
			return re, err
		}
		g, err := arg(1, Long)
		if err != nil {
			return g, err
		}
		s, err := arg(2, String)
		if err != nil {
			return s, err
		}
		out, err := c.fn(p, "extract", String, re, g, s)
		if err != nil || len(x.Args) == 3 {
			return out, err
		}
		t, err := c.typeofArg(x.Args[3])
		if err != nil {
			return out, err
		}
		return c.convert(out, t, p)
	case "iff", "iif":
		if err := c.argCount(x, 3, 3); err != nil {
			return sqlExpr{}, err
		}
		return c.caseExpr(x, args)
	case "case":
		if err := c.argCount(x, 3, -1); err != nil {
			return sqlExpr{}, err
		}
		if len(args)%2 == 0 {
			return sqlExpr{}, c.errorf(p, "case() takes pairs of predicate and value, then an else value")
		}
		return c.caseExpr(x, args)
	case "coalesce":
		if err := c.argCount(x, 1, 64); err != nil {
			return sqlExpr{}, err
		}
		t, err := c.unify(x, args)
		if err != nil {
			return sqlExpr{}, err
		}
		parts := make([]string, 0, len(args)+1)
		for i := range args {
			v, err := arg(i, t)
			if err != nil {
				return v, err
			}
			switch t {
			case String:
				parts = append(parts, "nullif("+c.text(v)+", '')")
			case Dynamic:
				parts = append(parts, "nullif("+c.text(v)+", 'null')")
			default:
				parts = append(parts, c.text(v))
			}
		}
		if t == String {
			parts = append(parts, "''")
		}
		if len(parts) == 1 {
			parts = append(parts, "NULL")
		}
		return raw("coalesce("+strings.Join(parts, ", ")+")", t, args...), nil
	case "isempty", "isnotempty", "isnull", "isnotnull":
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		v := args[0]
		var s string
		vt := c.text(v)
		empty := strings.HasSuffix(x.Name, "empty")
		switch {
		case v.typ == String && empty:
			s = "(" + vt + " IS NULL OR " + vt + " = '')"
		case v.typ == String:
			s = "(" + vt + " IS NULL)" // strings are never null: "" is empty, not null
		case v.typ == Dynamic && empty:
			s = "(" + vt + " IS NULL OR " + vt + " = 'null' OR " + vt + " = '\"\"')"
		case v.typ == Dynamic:
			n, err := c.fn(p, "dyn_isnull", Bool, v)
			if err != nil {
				return n, err
			}
			s = n.sql
		default:
			s = "(" + vt + " IS NULL)"
		}
		if strings.HasPrefix(x.Name, "isnot") {
			s = "(NOT " + s + ")"
		}
		return raw(s, Bool, v), nil
	case "array_length":
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		if args[0].typ != Dynamic {
			return sqlExpr{}, c.errorf(x.Args[0].pos(), "array_length() needs a dynamic value, found %s", args[0].typ)
		}
		return c.fn(p, "array_length", Long, args[0])
	case "not":
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		v, err := c.predicate(args[0], x.Args[0].pos(), "not()")
		if err != nil {
			return v, err
		}
		return raw("(NOT "+c.text(v)+")", Bool, v), nil
	case "abs":
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		v := args[0]
		if !v.typ.numeric() && v.typ != Timespan {
			if v, err := arg(0, Real); err == nil {
				return raw("abs("+c.text(v)+")", Real, v), nil
			}
			return sqlExpr{}, c.errorf(x.Args[0].pos(), "abs() needs a number, found %s", v.typ)
		}
		return raw("abs("+c.text(v)+")", v.typ, v), nil
	case "round":
		if err := c.argCount(x, 1, 2); err != nil {
			return sqlExpr{}, err
		}
		v, err := arg(0, Real)
		if err != nil {
			return v, err
		}
		prec := sqlExpr{sql: "0", typ: Long}
		if len(args) == 2 {
			if prec, err = arg(1, Long); err != nil {
				return prec, err
			}
		}
		return raw("round("+c.text(v)+", "+c.text(prec)+")", Real, v, prec), nil
	case "sqrt", "exp", "log", "log10", "log2":
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		v, err := arg(0, Real)
		if err != nil {
			return v, err
		}
		f := map[string]string{"sqrt": "sqrt", "exp": "exp", "log": "ln", "log10": "log10", "log2": "log2"}[x.Name]
		return raw(f+"("+c.text(v)+")", Real, v), nil
	case "pow":
		if err := c.argCount(x, 2, 2); err != nil {
			return sqlExpr{}, err
		}
		a, err := arg(0, Real)
		if err != nil {
			return a, err
		}
		b, err := arg(1, Real)
		if err != nil {
			return b, err
		}
		return raw("pow("+c.text(a)+", "+c.text(b)+")", Real, a, b), nil
	case "pack", "bag_pack", "pack_array":
		if x.Name != "pack_array" && len(args)%2 != 0 {
			return sqlExpr{}, c.errorf(p, "%s() takes pairs of key and value", x.Name)
		}
		vals := make([]sqlExpr, len(args))
		for i := range args {
			t := Dynamic
			if x.Name != "pack_array" && i%2 == 0 {
				t = String
			}
			v, err := arg(i, t)
			if err != nil {
				return v, err
			}
			vals[i] = v
		}
		f := "bag"
		if x.Name == "pack_array" {
			f = "array"
		}
		return c.fn(p, f, Dynamic, vals...)
	}
	return sqlExpr{}, c.errorf(p, "unknown function '%s'", x.Name)
}

// typeofArg reads typeof(T).
func (c *compiler) typeofArg(e Expr) (Type, error) {
	call, ok := e.(*Call)
	if ok && call.Name == "typeof" && len(call.Args) == 1 {
		if id, ok := call.Args[0].(*Ident); ok {
			if t, ok := ParseType(id.Name); ok {
				return t, nil
			}
		}
	}
	return "", c.errorf(e.pos(), "expected typeof(type)")
}

// unify finds the common type of values (iff branches, coalesce): equal
// types, numbers widened, nulls take the other type.
func (c *compiler) unify(x *Call, vals []sqlExpr) (Type, error) {
	t := null
	for i, v := range vals {
		switch {
		case v.typ == null || v.typ == t:
		case t == null:
			t = v.typ
		case t.numeric() && v.typ.numeric():
			t = arithType("+", t, v.typ)
		default:
			return "", c.errorf(x.Args[i].pos(), "%s(): the values must have one type, found %s and %s", x.Name, t, v.typ)
		}
	}
	if t == null {
		t = String
	}
	return t, nil
}

// caseExpr compiles iff(p, a, b) and case(p1, v1, ..., else).
func (c *compiler) caseExpr(x *Call, args []sqlExpr) (sqlExpr, error) {
	var vals []sqlExpr
	var valArgs []Expr
	for i := 1; i < len(args); i += 2 {
		vals = append(vals, args[i])
		valArgs = append(valArgs, x.Args[i])
	}
	vals = append(vals, args[len(args)-1])
	valArgs = append(valArgs, x.Args[len(args)-1])
	t, err := c.unify(&Call{Pos: x.Pos, Name: x.Name, Args: valArgs}, vals)
	if err != nil {
		return sqlExpr{}, err
	}
	var b strings.Builder
	b.WriteString("(CASE")
	for i := 0; i+1 < len(args); i += 2 {
		cond, err := c.predicate(args[i], x.Args[i].pos(), x.Name+"()")
		if err != nil {
			return cond, err
		}
		v, err := c.convert(args[i+1], t, x.Args[i+1].pos())
		if err != nil {
			return v, err
		}
		b.WriteString(" WHEN " + c.text(cond) + " THEN " + c.text(v))
	}
	e, err := c.convert(args[len(args)-1], t, x.Args[len(args)-1].pos())
	if err != nil {
		return e, err
	}
	b.WriteString(" ELSE " + c.text(e) + " END)")
	return raw(b.String(), t, args...), nil
}

// bin compiles bin(x, size).
func (c *compiler) bin(x *Call, v, size sqlExpr) (sqlExpr, error) {
	p := x.Pos
	var out sqlExpr
	var err error
	switch v.typ {
	case DateTime:
		if size, err = c.convert(size, Timespan, x.Args[1].pos()); err != nil {
			return size, err
		}
		out, err = c.fn(p, "bin_datetime", DateTime, v, size)
	case Timespan:
		if size, err = c.convert(size, Timespan, x.Args[1].pos()); err != nil {
			return size, err
		}
		out, err = c.fn(p, "bin_long", Timespan, v, size)
	case Int, Long:
		if size.typ == Real {
			out, err = c.fn(p, "bin_real", Real, v, size)
		} else {
			if size, err = c.convert(size, Long, x.Args[1].pos()); err != nil {
				return size, err
			}
			out, err = c.fn(p, "bin_long", v.typ, v, size)
		}
	case Real, Dynamic:
		if v, err = c.convert(v, Real, x.Args[0].pos()); err != nil {
			return v, err
		}
		if size, err = c.convert(size, Real, x.Args[1].pos()); err != nil {
			return size, err
		}
		out, err = c.fn(p, "bin_real", Real, v, size)
	case null:
		return c.konst(null, nil), nil
	default:
		return sqlExpr{}, c.errorf(x.Args[0].pos(), "bin() needs a number, datetime or timespan, found %s", v.typ)
	}
	out.name = v.name
	return out, err
}

// aggregate compiles an aggregation function inside summarize.
func (c *compiler) aggregate(x *Call, prefix string, sc *scope) (sqlExpr, error) {
	switch c.agg {
	case aggNone:
		return sqlExpr{}, c.errorf(x.Pos, "aggregate function %s() is only valid in summarize", x.Name)
	case aggInside:
		return sqlExpr{}, c.errorf(x.Pos, "aggregate functions cannot be nested")
	}
	c.agg = aggInside
	args, err := c.scalars(x, sc)
	c.agg = aggAllowed
	if err != nil {
		return sqlExpr{}, err
	}
	p := x.Pos
	name := func(i int) string {
		if i < len(args) && args[i].name != "" {
			return prefix + "_" + args[i].name
		}
		return prefix + "_"
	}
	done := func(s string, t Type, n string) (sqlExpr, error) {
		return sqlExpr{sql: s, typ: t, agg: true, name: n}, nil
	}
	agg := func(f string, a ...string) (string, error) {
		s, err := c.d.Aggregate(f, a...)
		if err != nil {
			return "", c.errorf(p, "%v", err)
		}
		return s, nil
	}
	// cond returns the predicate argument i for the *if variants.
	cond := func(i int) (string, error) {
		v, err := c.predicate(args[i], x.Args[i].pos(), x.Name+"()")
		return c.text(v), err
	}
	switch x.Name {
	case "count":
		if err := c.argCount(x, 0, 0); err != nil {
			return sqlExpr{}, err
		}
		s, err := agg("count")
		if err != nil {
			return sqlExpr{}, err
		}
		return done(s, Long, "count_")
	case "countif":
		if err := c.argCount(x, 1, 1); err != nil {
			return sqlExpr{}, err
		}
		p, err := cond(0)
		if err != nil {
			return sqlExpr{}, err
		}
		return done("count(CASE WHEN "+p+" THEN 1 END)", Long, "countif_")
	case "dcount", "dcountif":
		lo, hi := 1, 2
		if x.Name == "dcountif" {
			lo, hi = 2, 3
		}
		if err := c.argCount(x, lo, hi); err != nil {
			return sqlExpr{}, err
		}
		v := c.text(args[0])
		if x.Name == "dcountif" {
			p, err := cond(1)
			if err != nil {
				return sqlExpr{}, err
			}
			v = "CASE WHEN " + p + " THEN " + v + " END"
		}
		s, err := agg("count_distinct", v)
		if err != nil {
			return sqlExpr{}, err
		}
		return done(s, Long, name(0))
	case "sum", "sumif", "avg", "avgif", "min", "max", "minif", "maxif", "take_any", "any":
		n := 1
		if strings.HasSuffix(x.Name, "if") {
			n = 2
		}
		if err := c.argCount(x, n, n); err != nil {
			return sqlExpr{}, err
		}
		v := args[0]
		base := strings.TrimSuffix(x.Name, "if")
		if base == "take_any" || base == "any" {
			base = "min"
		}
		if v.typ == Dynamic && base != "min" && base != "max" {
			if v, err = c.convert(v, Real, x.Args[0].pos()); err != nil {
				return v, err
			}
		}
		t := v.typ
		switch base {
		case "sum":
			if !t.numeric() && t != Timespan {
				return sqlExpr{}, c.errorf(x.Args[0].pos(), "%s() needs a number or timespan, found %s", x.Name, t)
			}
			if t == Int {
				t = Long
			}
		case "avg":
			if !t.numeric() && t != Timespan {
				return sqlExpr{}, c.errorf(x.Args[0].pos(), "%s() needs a number or timespan, found %s", x.Name, t)
			}
			if t != Timespan {
				t = Real
			}
		}
		vs := c.text(v)
		if n == 2 {
			p, err := cond(1)
			if err != nil {
				return sqlExpr{}, err
			}
			vs = "CASE WHEN " + p + " THEN " + vs + " END"
		}
		s, err := agg(base, vs)
		if err != nil {
			return sqlExpr{}, err
		}
		switch {
		case base == "sum":
			zero := "0"
			if t == Real {
				zero = "0.0"
			}
			s = "coalesce(" + s + ", " + zero + ")"
		case base == "avg" && t == Timespan:
			s = "CAST(" + s + " AS INTEGER)"
		}
		if t == null {
			t = String
		}
		return done(s, t, name(0))
	case "make_list", "make_set", "make_list_if", "make_set_if":
		lo, hi := 1, 2
		if strings.HasSuffix(x.Name, "_if") {
			lo, hi = 2, 3
		}
		if err := c.argCount(x, lo, hi); err != nil {
			return sqlExpr{}, err
		}
		elem, err := c.convert(args[0], Dynamic, x.Args[0].pos())
		if err != nil {
			return elem, err
		}
		es := c.text(elem)
		if lo == 2 {
			p, err := cond(1)
			if err != nil {
				return sqlExpr{}, err
			}
			es = "CASE WHEN " + p + " THEN " + es + " END"
		}
		maxSize := "1048576"
		if len(args) == hi {
			n, err := c.intConst(args[hi-1], x.Args[hi-1].pos(), "the maximum size")
			if err != nil {
				return sqlExpr{}, err
			}
			maxSize = c.param(n)
		}
		f := "make_list"
		if strings.HasPrefix(x.Name, "make_set") {
			f = "make_set"
		}
		s, err := agg(f, es, maxSize)
		if err != nil {
			return sqlExpr{}, err
		}
		return done(s, Dynamic, name(0))
	}
	return sqlExpr{}, c.errorf(p, "unknown aggregate function '%s'", x.Name)
}
