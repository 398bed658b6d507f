package kql_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"sluice/internal/kql"
	"sluice/internal/latables"

	_ "modernc.org/sqlite"
)

// securitySchema is the schema of the six Security tables, from latables
// (the same column lists the workspace stores).
func securitySchema(tb testing.TB) (*kql.Schema, []kql.Table) {
	tb.Helper()
	var tables []kql.Table
	for _, t := range latables.Tables() {
		kt := kql.Table{Name: t.Name, Indexes: kql.RecommendedIndexes(t.Name)}
		for _, c := range t.Columns {
			kt.Columns = append(kt.Columns, kql.Column{Name: c.Name, Type: kql.Type(c.Type)})
		}
		tables = append(tables, kt)
	}
	s, err := kql.NewSchema(tables...)
	if err != nil {
		tb.Fatal(err)
	}
	return s, tables
}

// openDB opens a new SQLite database in a temporary directory and creates
// the tables.
func openDB(tb testing.TB, tables []kql.Table) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(tb.TempDir(), "ws.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, t := range tables {
		for _, stmt := range kql.CreateTable(kql.SQLite, t) {
			if _, err := db.Exec(stmt); err != nil {
				tb.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	return db
}

// inserter writes rows given as column name → Go value, encoded with the
// SQLite storage contract.
type inserter struct {
	tb    testing.TB
	table kql.Table
	stmt  *sql.Stmt
}

func newInserter(tb testing.TB, tx *sql.Tx, t kql.Table) *inserter {
	tb.Helper()
	q := fmt.Sprintf("INSERT INTO %s VALUES (", kql.SQLite.Quote(t.Name))
	for i := range t.Columns {
		if i > 0 {
			q += ", "
		}
		q += "?"
	}
	stmt, err := tx.Prepare(q + ")")
	if err != nil {
		tb.Fatal(err)
	}
	return &inserter{tb: tb, table: t, stmt: stmt}
}

func (in *inserter) insert(row map[string]any) {
	in.tb.Helper()
	vals := make([]any, len(in.table.Columns))
	for i, c := range in.table.Columns {
		v, err := kql.SQLite.Encode(c.Type, row[c.Name])
		if err != nil {
			in.tb.Fatalf("%s.%s: %v", in.table.Name, c.Name, err)
		}
		vals[i] = v
		delete(row, c.Name)
	}
	if len(row) > 0 {
		in.tb.Fatalf("%s: unknown columns %v", in.table.Name, row)
	}
	if _, err := in.stmt.Exec(vals...); err != nil {
		in.tb.Fatal(err)
	}
}

func tableByName(tables []kql.Table, name string) kql.Table {
	for _, t := range tables {
		if t.Name == name {
			return t
		}
	}
	panic("no table " + name)
}
