package workspace

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"sluice/internal/kql"
	"sluice/internal/latables"
)

// schema is the KQL schema of the six Security tables (the same for every
// workspace: each has its own database file).
var schema, kqlTables = mustSchema()

func mustSchema() (*kql.Schema, map[string]kql.Table) {
	byName := map[string]kql.Table{}
	var tables []kql.Table
	for _, t := range latables.Tables() {
		kt := kql.Table{Name: t.Name, Indexes: kql.RecommendedIndexes(t.Name)}
		for _, c := range t.Columns {
			kt.Columns = append(kt.Columns, kql.Column{Name: c.Name, Type: kql.Type(c.Type)})
		}
		tables = append(tables, kt)
		byName[t.Name] = kt
	}
	s, err := kql.NewSchema(tables...)
	if err != nil {
		panic("workspace: the Security tables do not form a KQL schema: " + err.Error()) // static tables
	}
	return s, byName
}

// Schema returns the KQL schema the query API runs queries against.
func Schema() *kql.Schema { return schema }

// DB is the database of one workspace: the six Security tables.
type DB struct {
	SQL *sql.DB
	// CustomerID is the workspace's customer id.
	CustomerID string
	path       string

	mu      sync.Mutex // one writer at a time
	inserts map[string]string
}

// sqliteMaxVars bounds the parameters of one statement (SQLite's default
// SQLITE_MAX_VARIABLE_NUMBER is 32766).
const sqliteMaxVars = 32766

// maxRowsPerInsert bounds the rows of one multi-row INSERT.
const maxRowsPerInsert = 64

// OpenDB opens (creating when missing) the database of a workspace at path.
func OpenDB(path, customerID string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("workspace %s: create directory: %w", customerID, err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=temp_store(MEMORY)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("workspace %s: open database: %w", customerID, err)
	}
	for _, t := range latables.Tables() {
		for _, stmt := range kql.CreateTable(kql.SQLite, kqlTables[t.Name]) {
			if _, err := db.Exec(stmt); err != nil {
				db.Close()
				return nil, fmt.Errorf("workspace %s: create table %s: %w", customerID, t.Name, err)
			}
		}
	}
	return &DB{SQL: db, CustomerID: customerID, path: path, inserts: map[string]string{}}, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.SQL.Close() }

// insertSQL returns the INSERT of n rows into table's columns cols
// (indexes into t.Columns, named by key).
func (d *DB) insertSQL(t kql.Table, cols []int, key string, n int) string {
	k := t.Name + "/" + key + "/" + strconv.Itoa(n)
	if s, ok := d.inserts[k]; ok {
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (", kql.SQLite.Quote(t.Name))
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(kql.SQLite.Quote(t.Columns[c].Name))
	}
	b.WriteString(") VALUES ")
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	d.inserts[k] = b.String()
	return d.inserts[k]
}

// isDefault reports whether an encoded value equals its column's default
// (NULL, or the empty string for strings), so that the column can be left
// out.
func isDefault(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	}
	return false
}

// Insert writes rows of one table (values in the table's column order, as
// Go values of latables.Row) in one transaction. TenantId defaults to the
// customer id and Type to the table name.
//
// Rows go in multi-row INSERTs of up to maxRowsPerInsert rows. A column
// whose values are all its default (NULL, or the empty string) in a chunk
// is left out of that chunk's INSERT: SQLite fills in the same default
// without a bound parameter each, and binding is most of the cost of a
// row (exported rows leave many columns empty).
func (d *DB) Insert(ctx context.Context, table string, rows [][]any) error {
	t, ok := kqlTables[table]
	if !ok {
		return fmt.Errorf("workspace: no table %q", table)
	}
	if len(rows) == 0 {
		return nil
	}
	tenantCol, typeCol := -1, -1
	for i, c := range t.Columns {
		switch c.Name {
		case "TenantId":
			tenantCol = i
		case "Type":
			typeCol = i
		}
	}
	ncol := len(t.Columns)
	per := min(maxRowsPerInsert, sqliteMaxVars/ncol)
	enc := make([]any, per*ncol)
	used := make([]bool, ncol)
	cols := make([]int, 0, ncol)
	args := make([]any, 0, per*ncol)
	key := make([]byte, 0, ncol)
	d.mu.Lock()
	defer d.mu.Unlock()
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("workspace: begin: %w", err)
	}
	defer tx.Rollback()
	stmts := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		clear(used)
		for ri, r := range chunk {
			if len(r) != ncol {
				return fmt.Errorf("workspace: %s row %d has %d values, want %d", table, start+ri, len(r), ncol)
			}
			for i, c := range t.Columns {
				v := r[i]
				if v == nil {
					switch i {
					case tenantCol:
						v = d.CustomerID
					case typeCol:
						v = table
					}
				}
				var e any
				if cj, ok := v.(compactJSON); ok && c.Type == kql.Dynamic {
					if cj != "null" {
						e = string(cj)
					}
				} else if e, err = kql.SQLite.Encode(c.Type, v); err != nil {
					return fmt.Errorf("workspace: %s row %d column %s: %w", table, start+ri, c.Name, err)
				}
				enc[ri*ncol+i] = e
				if !used[i] && !isDefault(e) {
					used[i] = true
				}
			}
		}
		cols, key = cols[:0], key[:0]
		for i, u := range used {
			if u {
				cols = append(cols, i)
				key = append(key, '1')
			} else {
				key = append(key, '0')
			}
		}
		if len(cols) == 0 { // every value is a default: keep one column
			cols, key[0] = append(cols, 0), '1'
		}
		args = args[:0]
		for ri := range chunk {
			for _, c := range cols {
				args = append(args, enc[ri*ncol+c])
			}
		}
		q := d.insertSQL(t, cols, string(key), len(chunk))
		if len(chunk) == per {
			st := stmts[q]
			if st == nil {
				if len(stmts) >= 8 { // bound the statements one transaction keeps
					for k, old := range stmts {
						old.Close()
						delete(stmts, k)
					}
				}
				if st, err = tx.PrepareContext(ctx, q); err != nil {
					return fmt.Errorf("workspace: prepare insert: %w", err)
				}
				stmts[q] = st
			}
			_, err = st.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, q, args...)
		}
		if err != nil {
			return fmt.Errorf("workspace: insert into %s: %w", table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("workspace: commit: %w", err)
	}
	return nil
}

// compactJSON is a dynamic value known to be valid, compact JSON: Insert
// stores it without validating and compacting it again.
type compactJSON string

// WriteRows implements the workspace sink's Writer (sink/workspace). The
// rows come from latables.Build, whose dynamic values (json.RawMessage)
// are validated and compacted already.
func (d *DB) WriteRows(ctx context.Context, table *latables.Table, rows []*latables.Row) error {
	vals := make([][]any, len(rows))
	for i, r := range rows {
		v := make([]any, len(r.Values))
		for j, x := range r.Values {
			if raw, ok := x.(json.RawMessage); ok {
				x = compactJSON(raw)
			}
			v[j] = x
		}
		vals[i] = v
	}
	return d.Insert(ctx, table.Name, vals)
}

// Prune removes the rows whose TimeGenerated is before cutoff and returns
// how many.
func (d *DB) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ticks := kql.TimeToTicks(cutoff)
	var total int64
	for _, t := range latables.Tables() {
		res, err := d.SQL.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s WHERE %s < ?", kql.SQLite.Quote(t.Name), kql.SQLite.Quote("TimeGenerated")), ticks)
		if err != nil {
			return total, fmt.Errorf("workspace: prune %s: %w", t.Name, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// Count returns the number of rows of a table.
func (d *DB) Count(ctx context.Context, table string) (int, error) {
	if _, ok := kqlTables[table]; !ok {
		return 0, fmt.Errorf("workspace: no table %q", table)
	}
	var n int
	err := d.SQL.QueryRowContext(ctx, "SELECT count(*) FROM "+kql.SQLite.Quote(table)).Scan(&n)
	return n, err
}

// Optimize lets SQLite's planner learn the indexes' selectivity (run after
// loading many rows).
func (d *DB) Optimize(ctx context.Context) error {
	_, err := d.SQL.ExecContext(ctx, "PRAGMA optimize=0x10002")
	return err
}

var errNoWorkspace = errors.New("workspace: not found")

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
