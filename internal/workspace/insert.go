package workspace

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"

	"sluice/internal/kql"
)

// chunkRows is how many rows share one column list: a column whose values
// are all its default (NULL, or the empty string) in a chunk is left out
// of that chunk's INSERT, SQLite filling in the same default without a
// bound parameter each (exported rows leave many columns empty, and
// binding is a large part of the cost of a row).
const chunkRows = 64

// rowsPerStmt is how many rows one INSERT statement writes at most.
const rowsPerStmt = 64

// sqliteMaxVars bounds the parameters of one statement (SQLite's default
// SQLITE_MAX_VARIABLE_NUMBER is 32766).
const sqliteMaxVars = 32766

// rawConn is what Insert needs of the driver's connection.
type rawConn interface {
	driver.ConnBeginTx
	driver.ConnPrepareContext
}

// Insert writes rows of one table (values in the table's column order, as
// Go values of latables.Row) in one transaction, committed when it
// returns. TenantId defaults to the customer id and Type to the table
// name.
func (d *DB) Insert(ctx context.Context, table string, rows [][]any) error {
	return d.insert(ctx, table, rows, false)
}

// insert is Insert; trustedJSON says that the json.RawMessage values of
// dynamic columns are valid, compact JSON already (latables.Build's are),
// stored as they are instead of being validated and compacted again.
//
// It runs on the writer connection through the driver's own interfaces
// (database/sql would convert and check every argument again), with
// prepared statements kept from one call to the next. ctx is checked
// between chunks rather than watched during each statement (the driver
// starts a goroutine per statement for a context that can end).
func (d *DB) insert(ctx context.Context, table string, rows [][]any, trustedJSON bool) error {
	t, ok := kqlTables[table]
	if !ok {
		return fmt.Errorf("workspace: no table %q", table)
	}
	if len(rows) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ck != nil {
		d.ck.BeforeWrite()
	}
	conn, err := d.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("workspace: writer connection: %w", err)
	}
	defer conn.Close()
	in := newInserter(d, t, trustedJSON)
	var written int64
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(rawConn)
		if !ok {
			return fmt.Errorf("workspace: driver connection %T lacks transactions or statements", dc)
		}
		var err error
		written, err = in.run(ctx, c, rows)
		return err
	}); err != nil {
		return err
	}
	if d.ck != nil {
		d.ck.Wrote(written)
	}
	return nil
}

// inserter is the state of one insert.
type inserter struct {
	d                  *DB
	t                  kql.Table
	trustedJSON        bool
	tenantCol, typeCol int
}

func newInserter(d *DB, t kql.Table, trustedJSON bool) *inserter {
	in := &inserter{d: d, t: t, trustedJSON: trustedJSON, tenantCol: -1, typeCol: -1}
	for i, c := range t.Columns {
		switch c.Name {
		case "TenantId":
			in.tenantCol = i
		case "Type":
			in.typeCol = i
		}
	}
	return in
}

// encode returns the stored value of v in column i (kql's storage
// contract), without boxing again what is stored as it is.
func (in *inserter) encode(i int, v any) (driver.Value, error) {
	col := in.t.Columns[i]
	switch x := v.(type) {
	case nil:
		switch i {
		case in.tenantCol:
			v = in.d.CustomerID
		case in.typeCol:
			v = in.t.Name
		}
	case string:
		if col.Type == kql.String {
			return v, nil
		}
	case json.RawMessage:
		if in.trustedJSON && col.Type == kql.Dynamic {
			if len(x) == 0 || string(x) == "null" {
				return nil, nil
			}
			return string(x), nil
		}
	}
	return kql.SQLite.Encode(col.Type, v)
}

// chunk is the encoded values of up to chunkRows rows.
type chunk struct {
	start   int            // index of the first row
	n       int            // rows
	enc     []driver.Value // n rows of len(t.Columns) values
	cols    []int          // the columns written
	key     string         // cols as a mask of '0' and '1'
	written int64          // bytes of the values written
	err     error
}

// encodeChunk encodes rows (starting at row start of the batch) into c.
func (in *inserter) encodeChunk(c *chunk, start int, rows [][]any) {
	t := in.t
	ncol := len(t.Columns)
	c.start, c.n, c.written, c.err = start, len(rows), 0, nil
	if cap(c.enc) < len(rows)*ncol {
		c.enc = make([]driver.Value, chunkRows*ncol)
	}
	c.enc = c.enc[:len(rows)*ncol]
	used := make([]bool, ncol)
	for ri, r := range rows {
		if len(r) != ncol {
			c.err = fmt.Errorf("workspace: %s row %d has %d values, want %d", t.Name, start+ri, len(r), ncol)
			return
		}
		for i, v := range r {
			e, err := in.encode(i, v)
			if err != nil {
				c.err = fmt.Errorf("workspace: %s row %d column %s: %w", t.Name, start+ri, t.Columns[i].Name, err)
				return
			}
			switch x := e.(type) {
			case nil:
			case string:
				if x != "" {
					used[i] = true
					c.written += int64(len(x))
				}
			default:
				used[i] = true
				c.written += 8
			}
			c.enc[ri*ncol+i] = e
		}
	}
	c.cols = c.cols[:0]
	key := make([]byte, ncol)
	for i, u := range used {
		key[i] = '0'
		if u {
			c.cols = append(c.cols, i)
			key[i] = '1'
		}
	}
	if len(c.cols) == 0 { // every value is a default: keep one column
		c.cols, key[0] = append(c.cols, 0), '1'
	}
	c.key = string(key)
}

// run writes rows in one transaction and returns the bytes of the values
// it bound.
func (in *inserter) run(ctx context.Context, c rawConn, rows [][]any) (int64, error) {
	bg := context.Background()
	tx, err := c.BeginTx(bg, driver.TxOptions{})
	if err != nil {
		return 0, fmt.Errorf("workspace: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tx.Rollback()
		}
	}()
	ncol := len(in.t.Columns)
	per := max(1, min(rowsPerStmt, sqliteMaxVars/ncol))
	args := make([]driver.NamedValue, 0, per*ncol)
	var written int64
	write := func(ch *chunk) error {
		if ch.err != nil {
			return ch.err
		}
		for r0 := 0; r0 < ch.n; {
			// Statements of a power of two rows: a few shapes serve every
			// batch size, so the cache keeps them prepared.
			n := 1
			for n*2 <= min(per, ch.n-r0) {
				n *= 2
			}
			st, err := in.d.stmts.get(c, in.t, ch.cols, ch.key, n)
			if err != nil {
				return err
			}
			args = args[:0]
			for ri := r0; ri < r0+n; ri++ {
				for _, ci := range ch.cols {
					args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: ch.enc[ri*ncol+ci]})
				}
			}
			if _, err := st.ExecContext(bg, args); err != nil {
				return fmt.Errorf("workspace: insert into %s: %w", in.t.Name, err)
			}
			r0 += n
		}
		written += ch.written
		return nil
	}
	var ch chunk
	for start := 0; start < len(rows); start += chunkRows {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		in.encodeChunk(&ch, start, rows[start:min(start+chunkRows, len(rows))])
		if err := write(&ch); err != nil {
			return 0, err
		}
	}
	done = true
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("workspace: commit: %w", err)
	}
	return written, nil
}

// maxCachedStmts bounds the prepared statements the writer keeps.
const maxCachedStmts = 64

// stmtCache keeps the writer connection's prepared INSERTs by table,
// column list and row count (a 64-row INSERT takes about 0.3 ms to
// prepare: as much as writing 20 rows).
type stmtCache struct {
	conn any // the driver connection the statements belong to
	m    map[stmtKey]driver.Stmt
}

type stmtKey struct {
	table, cols string
	n           int
}

// reset forgets the statements, the next ones belonging to conn. It
// closes them when they belong to conn; a connection database/sql has
// discarded (after an interrupted statement, say) is closed already, and
// closing its statements would use its freed state: they are dropped
// (SQLite keeps the closed connection's memory until they are finalized,
// a rare leak).
func (c *stmtCache) reset(conn any) {
	if c.conn == conn {
		for _, st := range c.m {
			st.Close()
		}
	}
	c.m, c.conn = nil, conn
}

// close closes the statements of the writer's current connection, if any.
func (c *stmtCache) close(w *sql.DB) {
	if c.m == nil {
		return
	}
	conn, err := w.Conn(context.Background())
	if err != nil {
		return
	}
	defer conn.Close()
	conn.Raw(func(dc any) error {
		c.reset(dc)
		return nil
	})
}

// get returns the INSERT of n rows into t's columns cols (named by key),
// preparing it on conn when missing.
func (c *stmtCache) get(conn rawConn, t kql.Table, cols []int, key string, n int) (driver.StmtExecContext, error) {
	if c.conn != conn {
		c.reset(conn)
	}
	k := stmtKey{t.Name, key, n}
	if st, ok := c.m[k]; ok {
		return st.(driver.StmtExecContext), nil
	}
	if len(c.m) >= maxCachedStmts {
		c.reset(conn)
	}
	st, err := conn.PrepareContext(context.Background(), insertSQL(t, cols, n))
	if err != nil {
		return nil, fmt.Errorf("workspace: prepare insert: %w", err)
	}
	if _, ok := st.(driver.StmtExecContext); !ok {
		st.Close()
		return nil, fmt.Errorf("workspace: driver statement %T lacks ExecContext", st)
	}
	if c.m == nil {
		c.m = map[stmtKey]driver.Stmt{}
	}
	c.m[k] = st
	return st.(driver.StmtExecContext), nil
}

// insertSQL returns the INSERT of n rows into table's columns cols
// (indexes into t.Columns).
func insertSQL(t kql.Table, cols []int, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT %sINTO %s (", insertOr, kql.SQLite.Quote(t.Name))
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
	return b.String()
}

// insertOr is the conflict clause of the INSERTs. With the default (ABORT)
// and the NOT NULL of the string columns, SQLite copies every page a
// multi-row INSERT changes into a statement journal, to undo that one
// statement alone; FAIL needs no journal, and a failed statement fails
// the whole transaction anyway (no NOT NULL column is ever bound a NULL:
// a missing string is the empty string).
const insertOr = "OR FAIL "
