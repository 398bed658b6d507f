package kql

import (
	"fmt"
	"strconv"
	"strings"
)

// argSpec is one arg_max / arg_min of a summarize.
type argSpec struct {
	max   bool
	by    sqlExpr   // the expression maximized
	rets  []sqlExpr // the returned expressions
	names []string  // output names: by, then rets
}

// outItem is one output column of a summarize: a plain aggregate or one
// column of an arg_max/arg_min.
type outItem struct {
	col  column
	expr sqlExpr // plain aggregates
	uses colSet  // the input columns a plain aggregate reads
	arg  int     // index into specs, or -1
	pos  int     // column within the spec: 0 = by, 1.. = rets
}

func (c *compiler) summarize(in *relation, o *SummarizeOp, en *env) (*relation, error) {
	a := c.alias()
	sc := scopeOf(in, a, en)
	names := newNamer(nil)
	seen := map[string]bool{}
	claim := func(name string, pos Pos, explicit bool) (string, error) {
		if explicit {
			if seen[name] {
				return "", c.errorf(pos, "duplicate column name '%s'", name)
			}
		} else {
			name = names.unique(name)
		}
		seen[name] = true
		names.used[name] = true
		return name, nil
	}

	var keys []sqlExpr
	var keyCols []column
	keyUses := colSet{}
	for _, ne := range o.By {
		e, u, err := c.tracked(ne.X, sc)
		keyUses.add(u)
		if err != nil {
			return nil, err
		}
		if e.agg {
			return nil, c.errorf(ne.X.pos(), "aggregate functions are not valid in 'by'")
		}
		if e.typ == null {
			e = c.konst(String, "")
		}
		name := ne.Name
		explicit := name != ""
		pos := ne.NamePos
		if !explicit {
			pos = ne.X.pos()
			name = e.name
		}
		if name == "" {
			name = names.column()
			explicit = true // already unique
		}
		if name, err = claim(name, pos, explicit); err != nil {
			return nil, err
		}
		e.sql = c.text(e)
		keys = append(keys, e)
		keyCols = append(keyCols, column{name: name, typ: e.typ})
	}

	var items []outItem
	var specs []*argSpec
	plain := 0
	for _, ne := range o.Aggs {
		if call, ok := ne.X.(*Call); ok && (call.Name == "arg_max" || call.Name == "arg_min") {
			spec, err := c.argSpec(call, sc, ne, claim, keyCols)
			if err != nil {
				return nil, err
			}
			for i, n := range spec.names {
				t := spec.by.typ
				if i > 0 {
					t = spec.rets[i-1].typ
				}
				items = append(items, outItem{col: column{name: n, typ: t}, arg: len(specs), pos: i})
			}
			specs = append(specs, spec)
			continue
		}
		c.agg = aggAllowed
		e, u, err := c.tracked(ne.X, sc)
		c.agg = aggNone
		if err != nil {
			return nil, err
		}
		if !e.agg {
			return nil, c.errorf(ne.X.pos(), "summarize needs an aggregation function here (count(), sum(), ...)")
		}
		name := ne.Name
		explicit := name != ""
		pos := ne.NamePos
		if !explicit {
			pos = ne.X.pos()
			name = e.name
		}
		if name == "" {
			name = names.column()
			explicit = true // already unique
		}
		if name, err = claim(name, pos, explicit); err != nil {
			return nil, err
		}
		e.sql = c.text(e)
		items = append(items, outItem{col: column{name: name, typ: e.typ}, expr: e, uses: u, arg: -1})
		plain++
	}

	keyTexts := make([]string, len(keys))
	for i, k := range keys {
		keyTexts[i] = k.sql
	}
	groupBy := ""
	if len(keys) > 0 {
		groupBy = " GROUP BY " + strings.Join(keyTexts, ", ")
	}
	cols := append([]column(nil), keyCols...)
	for _, it := range items {
		cols = append(cols, it.col)
	}

	if len(specs) == 0 {
		exprs := append([]string(nil), keyTexts...)
		for _, it := range items {
			exprs = append(exprs, it.expr.sql)
		}
		return &relation{cols: cols, build: func(need []bool) string {
			// The keys make the groups: they are always computed.
			outNeed := with(need, nil)
			inNeed := with(none(len(in.cols)), keyUses)
			for i := range keys {
				outNeed[i] = true
			}
			for k, it := range items {
				if need[len(keys)+k] {
					inNeed = with(inNeed, it.uses)
				}
			}
			return "SELECT " + selectList(pick(outNeed, exprs)) + " FROM (" + in.build(inNeed) + ") AS " + a + groupBy
		}}, nil
	}
	// With arg_max/arg_min every column is computed; the input columns
	// needed are all those any part reads.
	allUses := sc.uses
	inSQL := func() string { return in.build(with(none(len(in.cols)), allUses)) }

	// Each arg_max/arg_min is the first row of its group by the maximized
	// expression; the plain aggregates are a GROUP BY; the parts are joined
	// on the group keys (null-safe).
	spec := func(i int) string {
		s := specs[i]
		exprs := append([]string(nil), keyTexts...)
		exprs = append(exprs, s.by.sql)
		for _, r := range s.rets {
			exprs = append(exprs, r.sql)
		}
		var list []string
		for j, e := range exprs {
			list = append(list, e+" AS "+specCol(j, len(keys)))
		}
		over := "row_number() OVER ("
		if len(keys) > 0 {
			over += "PARTITION BY " + strings.Join(keyTexts, ", ") + " "
		}
		over += "ORDER BY " + orderTerm(s.by.sql, s.max, "last") + ")"
		inner := "SELECT " + strings.Join(list, ", ") + ", " + over + " AS kql_rn FROM (" + inSQL() + ") AS " + a
		return "SELECT * FROM (" + inner + ") AS kql_s WHERE kql_s.kql_rn = 1"
	}
	ref := func(part string, it outItem) string {
		if it.arg < 0 {
			return part + ".v" + strconv.Itoa(it.pos)
		}
		return part + "." + specCol(len(keys)+it.pos, len(keys))
	}
	if plain == 0 && len(specs) == 1 {
		var exprs []string
		for i := range keys {
			exprs = append(exprs, "s0."+specCol(i, len(keys)))
		}
		for _, it := range items {
			exprs = append(exprs, ref("s0", it))
		}
		return &relation{cols: cols, build: func([]bool) string {
			return "SELECT " + selectList(exprs) + " FROM (" + spec(0) + ") AS s0"
		}}, nil
	}
	// The base part: the group keys and the plain aggregates.
	var base []string
	for i, k := range keyTexts {
		base = append(base, k+" AS "+specCol(i, len(keys)))
	}
	vi := 0
	for i := range items {
		if items[i].arg < 0 {
			base = append(base, items[i].expr.sql+" AS v"+strconv.Itoa(vi))
			items[i].pos = vi
			vi++
		}
	}
	if len(base) == 0 {
		base = append(base, "1 AS kql_one")
	}
	fromBase := "(SELECT " + strings.Join(base, ", ") + " FROM ("
	fromTail := ") AS " + a + groupBy + ") AS g"
	var joins string
	for i := range specs {
		part := "s" + strconv.Itoa(i)
		var on []string
		for k := range keys {
			on = append(on, "g."+specCol(k, len(keys))+" IS "+part+"."+specCol(k, len(keys)))
		}
		if len(on) == 0 {
			on = append(on, "1 = 1")
		}
		joins += " LEFT JOIN (%s) AS " + part + " ON " + strings.Join(on, " AND ")
	}
	var exprs []string
	for i := range keys {
		exprs = append(exprs, "g."+specCol(i, len(keys)))
	}
	for _, it := range items {
		part := "g"
		if it.arg >= 0 {
			part = "s" + strconv.Itoa(it.arg)
		}
		exprs = append(exprs, ref(part, it))
	}
	return &relation{cols: cols, build: func([]bool) string {
		specs := make([]any, len(specs))
		for i := range specs {
			specs[i] = spec(i)
		}
		return "SELECT " + selectList(exprs) + " FROM " + fromBase + inSQL() + fromTail + fmt.Sprintf(joins, specs...)
	}}, nil
}

// specCol names the columns of the parts of a summarize: k0.. for the
// keys, then a0.. for an arg_max's expression and returned values.
func specCol(i, nkeys int) string {
	if i < nkeys {
		return "k" + strconv.Itoa(i)
	}
	return "a" + strconv.Itoa(i-nkeys)
}

// argSpec compiles arg_max(by, *|expr, ...) / arg_min.
func (c *compiler) argSpec(call *Call, sc *scope, ne NamedExpr, claim func(string, Pos, bool) (string, error), keys []column) (*argSpec, error) {
	if len(call.Args) < 2 {
		return nil, c.errorf(call.Pos, "%s() takes the expression to maximize and the columns to return (or *)", call.Name)
	}
	if ne.Name != "" {
		return nil, c.errorf(ne.NamePos, "%s() columns cannot be named with '='", call.Name)
	}
	s := &argSpec{max: call.Name == "arg_max"}
	by, err := c.scalar(call.Args[0], sc)
	if err != nil {
		return nil, err
	}
	if by.agg {
		return nil, c.errorf(call.Args[0].pos(), "aggregate functions cannot be nested")
	}
	by.sql = c.text(by)
	s.by = by
	byName := by.name
	if byName == "" {
		byName = strings.TrimPrefix(call.Name, "arg_") + "_"
	}
	n, err := claim(byName, call.Args[0].pos(), false)
	if err != nil {
		return nil, err
	}
	s.names = append(s.names, n)
	taken := map[string]bool{by.name: true}
	for _, k := range keys {
		taken[k.name] = true
	}
	for _, arg := range call.Args[1:] {
		if _, ok := arg.(*Star); ok {
			for i, col := range sc.cols {
				if taken[col.name] {
					continue
				}
				taken[col.name] = true
				s.rets = append(s.rets, sqlExpr{sql: sc.ref(i), typ: col.typ})
				n, err := claim(col.name, arg.pos(), false)
				if err != nil {
					return nil, err
				}
				s.names = append(s.names, n)
			}
			continue
		}
		e, err := c.scalar(arg, sc)
		if err != nil {
			return nil, err
		}
		if e.agg {
			return nil, c.errorf(arg.pos(), "aggregate functions cannot be nested")
		}
		if e.typ == null {
			e = c.konst(String, "")
		}
		e.sql = c.text(e)
		name := e.name
		if name == "" {
			name = "Column1"
		}
		if e.name != "" {
			taken[e.name] = true
		}
		n, err := claim(name, arg.pos(), false)
		if err != nil {
			return nil, err
		}
		s.rets = append(s.rets, e)
		s.names = append(s.names, n)
	}
	return s, nil
}
