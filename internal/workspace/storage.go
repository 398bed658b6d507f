package workspace

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"sluice/internal/kql"
	"sluice/internal/latables"
	"sluice/internal/walcheck"
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
	// SQL is the pool queries read through. Writes go through the DB's own
	// writer connection (Insert, Prune, Optimize).
	SQL *sql.DB
	// CustomerID is the workspace's customer id.
	CustomerID string
	path       string

	mu    sync.Mutex // one writer at a time; guards what follows
	w     *sql.DB    // the writer: one connection
	ck    *walcheck.Checkpointer
	stmts stmtCache // the writer connection's prepared INSERTs
}

// pageSize is the page size of a new workspace database. Exported rows are
// 2–4 KB: with SQLite's default 4 KB pages each row takes a leaf page of
// its own (a larger one also overflow pages), so every row costs a new
// page, a WAL frame (two writes) and a checkpointed page; a 32 KB page
// holds about ten.
const pageSize = 32 << 10

// writerCacheKiB is the page cache of the writer connection: a batch of
// rows (1,000 exported rows are about 3.5 MB with their index entries)
// fits without SQLite spilling dirty pages into the WAL before the commit
// (and writing some of them twice).
const writerCacheKiB = 8 << 10

// OpenDB opens (creating when missing) the database of a workspace at path.
//
// The writer connection does not checkpoint the WAL at its commits
// (wal_autocheckpoint 0): a background goroutine does, on a reader
// connection, once enough has been written, so that copying the WAL into
// the database runs on the other core while the writer goes on.
func OpenDB(path, customerID string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("workspace %s: create directory: %w", customerID, err)
	}
	if err := create(path, customerID); err != nil {
		return nil, err
	}
	base := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=temp_store(MEMORY)"
	db, err := sql.Open("sqlite", base)
	if err != nil {
		return nil, fmt.Errorf("workspace %s: open database: %w", customerID, err)
	}
	w, err := sql.Open("sqlite", base+fmt.Sprintf("&_pragma=cache_size(-%d)&_pragma=wal_autocheckpoint(0)", writerCacheKiB))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("workspace %s: open database: %w", customerID, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	for _, t := range latables.Tables() {
		for _, stmt := range kql.CreateTable(kql.SQLite, kqlTables[t.Name]) {
			if _, err := w.Exec(stmt); err != nil {
				db.Close()
				w.Close()
				return nil, fmt.Errorf("workspace %s: create table %s: %w", customerID, t.Name, err)
			}
		}
	}
	return &DB{SQL: db, CustomerID: customerID, path: path, w: w, ck: startCheckpointer(db)}, nil
}

// create makes a new, empty database file at path with pageSize pages, in
// WAL mode (the page size of a database is fixed once it has a table;
// existing databases keep theirs).
func create(path, customerID string) error {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return fmt.Errorf("workspace %s: create database: %w", customerID, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, stmt := range []string{
		fmt.Sprintf("PRAGMA page_size=%d", pageSize),
		"PRAGMA journal_mode=WAL",
	} {
		if _, err := db.Exec(stmt); err != nil {
			return fmt.Errorf("workspace %s: create database: %w", customerID, err)
		}
	}
	return db.Close()
}

// Close stops the checkpointer and closes the database.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ck != nil {
		d.ck.Stop()
		d.ck = nil
	}
	d.stmts.close(d.w)
	return errors.Join(d.w.Close(), d.SQL.Close())
}

// WriteRows implements the workspace sink's Writer (sink/workspace). The
// rows come from latables.Build, whose dynamic values (json.RawMessage)
// are validated and compacted already: they are stored as they are.
func (d *DB) WriteRows(ctx context.Context, table *latables.Table, rows []*latables.Row) error {
	vals := make([][]any, len(rows))
	for i, r := range rows {
		vals[i] = r.Values
	}
	return d.insert(ctx, table.Name, vals, true)
}

// Prune removes the rows whose TimeGenerated is before cutoff and returns
// how many.
func (d *DB) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ck != nil {
		d.ck.BeforeWrite()
	}
	ticks := kql.TimeToTicks(cutoff)
	var total int64
	defer func() {
		if d.ck != nil && total > 0 {
			d.ck.Wrote(checkpointBytes) // rows deleted: have the pages written checkpointed
		}
	}()
	for _, t := range latables.Tables() {
		res, err := d.w.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s WHERE %s < ?", kql.SQLite.Quote(t.Name), kql.SQLite.Quote("TimeGenerated")), ticks)
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
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.w.ExecContext(ctx, "PRAGMA optimize=0x10002")
	return err
}

var errNoWorkspace = errors.New("workspace: not found")

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
