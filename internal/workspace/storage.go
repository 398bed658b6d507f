package workspace

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// insertSQL returns the INSERT of n rows into table.
func (d *DB) insertSQL(t kql.Table, n int) string {
	k := fmt.Sprintf("%s/%d", t.Name, n)
	if s, ok := d.inserts[k]; ok {
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (", kql.SQLite.Quote(t.Name))
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(kql.SQLite.Quote(c.Name))
	}
	b.WriteString(") VALUES ")
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.Columns)), ", ") + ")"
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	d.inserts[k] = b.String()
	return d.inserts[k]
}

// Insert writes rows of one table (values in the table's column order, as
// Go values of latables.Row) in one transaction. TenantId defaults to the
// customer id and Type to the table name.
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
	d.mu.Lock()
	defer d.mu.Unlock()
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("workspace: begin: %w", err)
	}
	defer tx.Rollback()
	args := make([]any, 0, per*ncol)
	var full *sql.Stmt
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args = args[:0]
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
				enc, err := kql.SQLite.Encode(c.Type, v)
				if err != nil {
					return fmt.Errorf("workspace: %s row %d column %s: %w", table, start+ri, c.Name, err)
				}
				args = append(args, enc)
			}
		}
		if len(chunk) == per {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, d.insertSQL(t, per)); err != nil {
					return fmt.Errorf("workspace: prepare insert: %w", err)
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, d.insertSQL(t, len(chunk)), args...)
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

// WriteRows implements the workspace sink's Writer (sink/workspace).
func (d *DB) WriteRows(ctx context.Context, table *latables.Table, rows []*latables.Row) error {
	vals := make([][]any, len(rows))
	for i, r := range rows {
		vals[i] = r.Values
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
