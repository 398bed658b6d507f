package kql_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/internal/kql"
)

// runtimeErrors are the errors a valid query may still meet while it runs
// (a pattern computed per row, a query that is too big for SQLite).
var runtimeErrors = []string{
	"invalid regular expression",
	"make_list/make_set",
	"too many terms in compound SELECT",
	"Expression tree is too large",
	"too many columns",
	"context deadline exceeded",
	"interrupted",
	"string or blob too big",
}

// FuzzCompile parses, compiles and runs arbitrary queries over empty
// Security tables: nothing may panic; syntax and semantic errors are
// *kql.Error with a position inside the query; the SQL the compiler
// produces must prepare and run.
func FuzzCompile(f *testing.F) {
	queries, _ := filepath.Glob(filepath.Join("testdata", "*", "query.kql"))
	for _, q := range queries {
		b, err := os.ReadFile(q)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{
		"", "|", "T | where", "print 1..2", "print dynamic([", "print @'", "let x = ;", "print -", "print 1 +",
		"SecurityAlert | join kind=inner (SecurityAlert) on $left.A == $right.B",
		"print a = dynamic({\"a\":{\"b\":[1,{\"c\":2}]}}) | extend x = a.a.b[1].c, y = a['a']['b'][-1], z = a[tostring(1)]",
		"SecurityAlert | summarize arg_max(TimeGenerated, *), count(), arg_min(StartTime, AlertName) by AlertSeverity",
		"union *", "print x = 1 | union (print x = 'a') | mv-expand y = pack_array(x, x)",
	} {
		f.Add(s)
	}
	schema, tables := securitySchema(f)
	db := openDB(f, tables)
	f.Fuzz(func(t *testing.T, q string) {
		if _, err := kql.Parse(q); err != nil {
			checkQueryError(t, q, err)
			return
		}
		if _, err := kql.Compile(q, schema, kql.SQLite, kql.Options{Now: goldenNow}); err != nil {
			checkQueryError(t, q, err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := kql.RunWith(ctx, db, schema, q, kql.RunOptions{Now: goldenNow, MaxRows: 100})
		if err == nil {
			return
		}
		var e *kql.Error
		if errors.As(err, &e) {
			t.Fatalf("Run gave a query error that Compile did not: %v", err)
		}
		for _, ok := range runtimeErrors {
			if strings.Contains(err.Error(), ok) {
				return
			}
		}
		c, _ := kql.Compile(q, schema, kql.SQLite, kql.Options{Now: goldenNow})
		t.Fatalf("query %q: compiled SQL failed: %v\nSQL: %s\nargs: %v", q, err, c.SQL, c.Args)
	})
}

func checkQueryError(t *testing.T, q string, err error) {
	t.Helper()
	var e *kql.Error
	if !errors.As(err, &e) {
		t.Fatalf("query %q: error %v is not a *kql.Error", q, err)
	}
	lines := strings.Count(q, "\n") + 1
	if e.Pos.Line < 1 || e.Pos.Line > lines || e.Pos.Col < 1 || e.Pos.Off < 0 || e.Pos.Off > len(q) {
		t.Fatalf("query %q: error position %+v outside the query", q, e.Pos)
	}
	if e.Msg == "" {
		t.Fatalf("query %q: empty error message", q)
	}
}
