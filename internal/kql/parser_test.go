package kql_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/kql"
)

func mustParse(t *testing.T, q string) *kql.Query {
	t.Helper()
	p, err := kql.Parse(q)
	if err != nil {
		t.Fatalf("Parse(%q): %v", q, err)
	}
	return p
}

func pipeOf(t *testing.T, q string) *kql.Pipe {
	t.Helper()
	p, ok := mustParse(t, q).Body.(*kql.Pipe)
	if !ok {
		t.Fatalf("%q: body is %T, want *kql.Pipe", q, mustParse(t, q).Body)
	}
	return p
}

type lc struct{ Line, Col int }

func at(p kql.Pos) lc { return lc{p.Line, p.Col} }

func TestParsePositions(t *testing.T) {
	q := "let x = 1;\nSecurityAlert\n| where AlertSeverity == 'Hîgh' and x > 0\n  | project  Name = AlertName, Properties.status"
	parsed := mustParse(t, q)
	if got := at(parsed.Lets[0].Pos); got != (lc{1, 5}) {
		t.Errorf("let name at %v, want 1:5", got)
	}
	pipe := parsed.Body.(*kql.Pipe)
	if got := at(pipe.Source.(*kql.Ident).Pos); got != (lc{2, 1}) {
		t.Errorf("table at %v", got)
	}
	where := pipe.Ops[0].(*kql.WhereOp)
	if got := at(where.Pos); got != (lc{3, 3}) {
		t.Errorf("where at %v, want 3:3", got)
	}
	and := where.Pred.(*kql.Binary)
	if and.Op != "and" || at(and.Pos) != (lc{3, 33}) {
		t.Errorf("and: %q at %v, want 3:33", and.Op, at(and.Pos))
	}
	eq := and.L.(*kql.Binary)
	if at(eq.Pos) != (lc{3, 23}) || at(eq.L.(*kql.Ident).Pos) != (lc{3, 9}) || at(eq.R.(*kql.Literal).Pos) != (lc{3, 26}) {
		t.Errorf("== at %v, left %v, right %v", at(eq.Pos), at(eq.L.(*kql.Ident).Pos), at(eq.R.(*kql.Literal).Pos))
	}
	// Columns count characters: 'Hîgh' is 6 characters, 7 bytes.
	gt := and.R.(*kql.Binary)
	if at(gt.L.(*kql.Ident).Pos) != (lc{3, 37}) {
		t.Errorf("x at %v, want 3:37 (columns count characters)", at(gt.L.(*kql.Ident).Pos))
	}
	proj := pipe.Ops[1].(*kql.ProjectOp)
	if at(proj.Pos) != (lc{4, 5}) || proj.Cols[0].Name != "Name" || at(proj.Cols[0].NamePos) != (lc{4, 14}) {
		t.Errorf("project at %v, first column %q at %v", at(proj.Pos), proj.Cols[0].Name, at(proj.Cols[0].NamePos))
	}
	m := proj.Cols[1].X.(*kql.Member)
	if m.Name != "status" || at(m.Pos) != (lc{4, 42}) {
		t.Errorf("member %q at %v, want status at 4:42", m.Name, at(m.Pos))
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ name, q, want string }{
		{"missing operand", "T | where a ==", "line 1, column 15: expected an expression, found end of query\nT | where a ==\n              ^"},
		{"second line", "T\n| where a = 1", "line 2, column 11: expected ';' or end of query, found '='\n| where a = 1\n          ^"},
		{"unknown operator", "T | frobnicate x", "line 1, column 5: unknown or unsupported tabular operator 'frobnicate'\nT | frobnicate x\n    ^"},
		{"tab keeps alignment", "T\n\t| take ^", "line 2, column 9: unexpected character '^'\n\t| take ^\n\t       ^"},
		{"unterminated string", "print 'abc", "line 1, column 7: unterminated string literal\nprint 'abc\n      ^"},
		{"string ends at newline", "print \"a\nb\"", "line 1, column 7: unterminated string literal\nprint \"a\n      ^"},
		{"bad escape", `print "a\q"`, "line 1, column 9: unknown escape sequence \\q\nprint \"a\\q\"\n        ^"},
		{"bad datetime", "print datetime(2026-13-45)", "line 1, column 7: invalid datetime literal \"2026-13-45\"\nprint datetime(2026-13-45)\n      ^"},
		{"bad dynamic", "print dynamic({a:1})", "line 1, column 7: invalid dynamic literal \"{a:1}\"\nprint dynamic({a:1})\n      ^"},
		{"bad timespan unit", "print 5years", "line 1, column 7: invalid literal \"5years\"\nprint 5years\n      ^"},
		{"number out of range", "print 99999999999999999999", "line 1, column 7: number 99999999999999999999 is out of range\nprint 99999999999999999999\n      ^"},
		{"unclosed paren", "T | where (a > 1", "line 1, column 17: expected ')', found end of query\nT | where (a > 1\n                ^"},
		{"join without on", "T | join U", "line 1, column 11: expected 'on', found end of query\nT | join U\n          ^"},
		{"bad join kind", "T | join kind=outer U on a", "line 1, column 15: unknown join kind 'outer'\nT | join kind=outer U on a\n              ^"},
		{"join condition sides", "T | join U on $left.a == $left.b", "line 1, column 15: a join condition must compare $left with $right\nT | join U on $left.a == $left.b\n              ^"},
		{"two queries", "T | take 1; U", "line 1, column 13: only one query statement is supported: found 'U' after the query\nT | take 1; U\n            ^"},
		{"no query", "let x = 1;", "line 1, column 11: the query has no tabular expression\nlet x = 1;\n          ^"},
		{"functions unsupported", "let f = (a:long) { a }; T", "line 1, column 9: user-defined functions are not supported\nlet f = (a:long) { a }; T\n        ^"},
		{"set unsupported", "set truncationmaxrecords=1; T", "line 1, column 1: 'set' statements are not supported\nset truncationmaxrecords=1; T\n^"},
		{"summarize nothing", "T | summarize", "line 1, column 14: summarize needs an aggregation or a 'by' clause\nT | summarize\n             ^"},
		{"sort needs by", "T | order x", "line 1, column 11: expected 'by', found 'x'\nT | order x\n          ^"},
		{"nulls what", "T | sort by a nulls middle", "line 1, column 21: expected 'first' or 'last' after 'nulls', found 'middle'\nT | sort by a nulls middle\n                    ^"},
		{"call non-name", "print (1)(2)", "line 1, column 10: only a function name can be called\nprint (1)(2)\n         ^"},
		{"between needs range", "T | where a between (1, 2)", "line 1, column 23: expected '..', found ','\nT | where a between (1, 2)\n                      ^"},
		{"mv-expand kind", "T | mv-expand kind=list a", "line 1, column 5: unknown mv-expand kind 'list' (bag or array)\nT | mv-expand kind=list a\n    ^"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := kql.Parse(c.q)
			var e *kql.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %v, want a *kql.Error", c.q, err)
			}
			if diff := cmp.Diff(c.want, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDeepNestingIsAnError(t *testing.T) {
	q := "print " + strings.Repeat("(", 10000) + "1" + strings.Repeat(")", 10000)
	_, err := kql.Parse(q)
	if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("Parse(deep) = %v, want a nesting error", err)
	}
	q = "print " + strings.Repeat("-", 10000) + "1"
	if _, err := kql.Parse(q); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("Parse(many minus) = %v, want a nesting error", err)
	}
}

func TestParseErrorLineIsCapped(t *testing.T) {
	q := "print " + strings.Repeat("x + ", 1000) + "§"
	_, err := kql.Parse(q)
	var e *kql.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if len(e.Line) > 500 || e.Pos.Col != 4007 {
		t.Errorf("line of %d bytes, column %d; want at most 500 bytes, column 4007", len(e.Line), e.Pos.Col)
	}
}

func TestParseLiterals(t *testing.T) {
	lit := func(q string) *kql.Literal {
		t.Helper()
		pr := mustParse(t, "print "+q).Body.(*kql.PrintExpr)
		l, ok := pr.Cols[0].X.(*kql.Literal)
		if !ok {
			t.Fatalf("%s: %T, want a literal", q, pr.Cols[0].X)
		}
		return l
	}
	for _, c := range []struct {
		q    string
		typ  kql.Type
		want any
	}{
		{`'it\'s'`, kql.String, "it's"},
		{`"tab\there"`, kql.String, "tab\there"},
		{`@"C:\temp\"`, kql.String, `C:\temp\`},
		{`@'a''b'`, kql.String, "a'b"},
		{`"\u00e9"`, kql.String, "é"},
		{`h"secret"`, kql.String, "secret"},
		{"```multi\nline```", kql.String, "multi\nline"},
		{`"a" 'b' @"c"`, kql.String, "abc"},
		{"42", kql.Long, int64(42)},
		{"0xff", kql.Long, int64(255)},
		{"-9223372036854775808", kql.Long, int64(-9223372036854775808)},
		{"1.5", kql.Real, 1.5},
		{"2e3", kql.Real, 2000.0},
		{"true", kql.Bool, true},
		{"1d", kql.Timespan, int64(864_000_000_000)},
		{"1.5h", kql.Timespan, int64(54_000_000_000)},
		{"30m", kql.Timespan, int64(18_000_000_000)},
		{"10s", kql.Timespan, int64(100_000_000)},
		{"100ms", kql.Timespan, int64(1_000_000)},
		{"3microseconds", kql.Timespan, int64(30)},
		{"7ticks", kql.Timespan, int64(7)},
		{"-2d", kql.Timespan, int64(-1_728_000_000_000)},
		{"timespan(1.02:00:00)", kql.Timespan, int64(936_000_000_000)},
		{"time(00:00:00.5)", kql.Timespan, int64(5_000_000)},
		{"datetime(1970-01-02)", kql.DateTime, int64(864_000_000_000)},
		{"datetime(2026-11-20 10:11:12.5)", kql.DateTime, int64(17_951_694_725_000_000)},
		{"datetime(0001-01-01)", kql.DateTime, int64(-621_355_968_000_000_000)},
		{`dynamic({ "a" : [1, 2.5, "x"] })`, kql.Dynamic, `{"a":[1,2.5,"x"]}`},
		{"guid(6A3F9C1E-0B2D-4E5F-8A7B-9C0D1E2F3A4B)", kql.GUID, "6a3f9c1e-0b2d-4e5f-8a7b-9c0d1e2f3a4b"},
		{"long(-5)", kql.Long, int64(-5)},
		{"real(+inf)", kql.Real, 0.0}, // checked below
		{"bool(false)", kql.Bool, false},
		{"long(null)", kql.Long, nil},
		{"dynamic(null)", kql.Dynamic, nil},
	} {
		l := lit(c.q)
		if l.Type != c.typ {
			t.Errorf("%s: type %s, want %s", c.q, l.Type, c.typ)
		}
		if c.q == "real(+inf)" {
			if f, ok := l.Value.(float64); !ok || f < 1e308 {
				t.Errorf("%s = %v, want +Inf", c.q, l.Value)
			}
			continue
		}
		if diff := cmp.Diff(c.want, l.Value); diff != "" {
			t.Errorf("%s: value mismatch (-want +got):\n%s", c.q, diff)
		}
	}
}

func TestParseOperators(t *testing.T) {
	p := pipeOf(t, `T
| where a in~ ("x") and b !in (1) and c !between (1 .. 2) and d !contains_cs "y" and e matches regex "z" and f has_any ("q")
| project-away a*, *b, ['weird name']
| project-rename n = o, p = q
| project-keep n
| extend ['x y'] = 1
| summarize hint.strategy=shuffle by n, bin(p, 1h)
| sort by n asc nulls last, p
| top 3 by n desc nulls first
| take 5
| distinct *
| count
| join kind=leftouter hint.remote=auto (U | where z) on $right.k == $left.n, m
| union kind=inner withsource=Src U, V*, (W)
| mv-expand bagexpansion=array with_itemindex=I v = w.x to typeof(long) limit 10
| render timechart with (title="t | x", ysplit=axes)`)
	ops := p.Ops
	where := ops[0].(*kql.WhereOp)
	var ops2 []string
	var walk func(e kql.Expr)
	walk = func(e kql.Expr) {
		switch x := e.(type) {
		case *kql.Binary:
			walk(x.L)
			ops2 = append(ops2, x.Op)
			walk(x.R)
		case *kql.InList:
			ops2 = append(ops2, x.Op)
		case *kql.Between:
			if x.Not {
				ops2 = append(ops2, "!between")
			} else {
				ops2 = append(ops2, "between")
			}
		}
	}
	walk(where.Pred)
	want := []string{"in~", "and", "!in", "and", "!between", "and", "!contains_cs", "and", "matches regex", "and", "has_any"}
	if diff := cmp.Diff(want, ops2); diff != "" {
		t.Errorf("where operators (-want +got):\n%s", diff)
	}
	var away []string
	for _, id := range ops[1].(*kql.ProjectAwayOp).Names {
		away = append(away, id.Name)
	}
	if diff := cmp.Diff([]string{"a*", "*b", "weird name"}, away); diff != "" {
		t.Errorf("project-away names: %s", diff)
	}
	if r := ops[2].(*kql.ProjectRenameOp); len(r.Pairs) != 2 || r.Pairs[1].New != "p" || r.Pairs[1].Old.Name != "q" {
		t.Errorf("project-rename: %+v", r.Pairs)
	}
	if ops[4].(*kql.ExtendOp).Cols[0].Name != "x y" {
		t.Errorf("extend name: %q", ops[4].(*kql.ExtendOp).Cols[0].Name)
	}
	if s := ops[5].(*kql.SummarizeOp); len(s.Aggs) != 0 || len(s.By) != 2 {
		t.Errorf("summarize: %d aggs, %d by", len(s.Aggs), len(s.By))
	}
	sort := ops[6].(*kql.SortOp)
	if sort.Keys[0].Desc || sort.Keys[0].Nulls != "last" || !sort.Keys[1].Desc || sort.Keys[1].Nulls != "" {
		t.Errorf("sort keys: %+v", sort.Keys)
	}
	top := ops[7].(*kql.TopOp)
	if !top.Keys[0].Desc || top.Keys[0].Nulls != "first" {
		t.Errorf("top keys: %+v", top.Keys)
	}
	if !ops[9].(*kql.DistinctOp).Star {
		t.Error("distinct * not parsed")
	}
	if _, ok := ops[10].(*kql.CountOp); !ok {
		t.Errorf("count: %T", ops[10])
	}
	j := ops[11].(*kql.JoinOp)
	if j.Kind != "leftouter" || len(j.On) != 2 || j.On[0].Left.Name != "n" || j.On[0].Right.Name != "k" || j.On[1].Left.Name != "m" || j.On[1].Right.Name != "m" {
		t.Errorf("join: kind %q, on %+v", j.Kind, j.On)
	}
	if _, ok := j.Right.(*kql.Paren); !ok {
		t.Errorf("join right: %T", j.Right)
	}
	u := ops[12].(*kql.UnionOp).Union
	if u.Kind != "inner" || u.WithSource != "Src" || len(u.Tables) != 3 || u.Tables[1].(*kql.Ident).Name != "V*" {
		t.Errorf("union: %+v", u)
	}
	mv := ops[13].(*kql.MvExpandOp)
	if mv.Kind != "array" || mv.ItemIndex != "I" || len(mv.Items) != 1 || mv.Items[0].Name != "v" || mv.Items[0].To != kql.Long || mv.Limit == nil {
		t.Errorf("mv-expand: %+v", mv)
	}
	if _, ok := ops[14].(*kql.RenderOp); !ok || len(ops) != 15 {
		t.Errorf("render: %T, %d operators", ops[14], len(ops))
	}
}

func TestParseLetAndStatements(t *testing.T) {
	q := mustParse(t, "let a = 1; let T2 = T | take 1;;\nlet s = toscalar(T | count);\nT2 | where x > a;")
	if len(q.Lets) != 3 || q.Lets[0].Name != "a" || q.Lets[1].Name != "T2" || q.Lets[2].Name != "s" {
		t.Fatalf("lets: %+v", q.Lets)
	}
	if _, ok := q.Lets[1].Value.(*kql.Pipe); !ok {
		t.Errorf("tabular let value: %T", q.Lets[1].Value)
	}
	if c, ok := q.Lets[2].Value.(*kql.Call); !ok || c.Name != "toscalar" {
		t.Errorf("toscalar let value: %T", q.Lets[2].Value)
	}
}

func TestParseComments(t *testing.T) {
	p := pipeOf(t, "// heading\nT // the table\n// between\n| take 1 // trailing")
	if len(p.Ops) != 1 {
		t.Fatalf("%d operators", len(p.Ops))
	}
}

func TestErrorCaretUnderColumn(t *testing.T) {
	e := &kql.Error{Pos: kql.Pos{Line: 3, Col: 4}, Msg: "boom", Line: "\tab"}
	if got, want := e.Error(), "line 3, column 4: boom\n\tab\n\t  ^"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
