package workspace

import (
	"context"
	"database/sql/driver"
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

// rowsPerStmt is how many rows one INSERT statement writes.
var rowsPerStmt = 64

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
//
// It runs on the writer connection through the driver's own interfaces
// (database/sql would convert and check every argument again), with
// prepared statements reused within the call. ctx is checked between
// chunks rather than watched during each statement (the driver starts a
// goroutine per statement for a context that can end).
func (d *DB) Insert(ctx context.Context, table string, rows [][]any) error {
	t, ok := kqlTables[table]
	if !ok {
		return fmt.Errorf("workspace: no table %q", table)
	}
	if len(rows) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	conn, err := d.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("workspace: writer connection: %w", err)
	}
	defer conn.Close()
	var written int64
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(rawConn)
		if !ok {
			return fmt.Errorf("workspace: driver connection %T lacks transactions or statements", dc)
		}
		in := newInserter(d, t)
		defer in.close()
		var err error
		written, err = in.run(ctx, c, rows)
		return err
	}); err != nil {
		return err
	}
	if d.ck != nil {
		d.ck.wrote(written)
	}
	return nil
}

// inserter is the state of one Insert.
type inserter struct {
	d                  *DB
	t                  kql.Table
	tenantCol, typeCol int
	stmts              map[string]driver.StmtExecContext
	closers            []driver.Stmt
}

func newInserter(d *DB, t kql.Table) *inserter {
	in := &inserter{d: d, t: t, tenantCol: -1, typeCol: -1, stmts: map[string]driver.StmtExecContext{}}
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

func (in *inserter) close() {
	for _, st := range in.closers {
		st.Close()
	}
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
	t := in.t
	ncol := len(t.Columns)
	per := max(1, min(rowsPerStmt, sqliteMaxVars/ncol))
	enc := make([]driver.Value, chunkRows*ncol)
	used := make([]bool, ncol)
	cols := make([]int, 0, ncol)
	key := make([]byte, 0, ncol)
	args := make([]driver.NamedValue, 0, per*ncol)
	var written int64
	for start := 0; start < len(rows); start += chunkRows {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		chunk := rows[start:min(start+chunkRows, len(rows))]
		clear(used)
		for ri, r := range chunk {
			if len(r) != ncol {
				return 0, fmt.Errorf("workspace: %s row %d has %d values, want %d", t.Name, start+ri, len(r), ncol)
			}
			for i, col := range t.Columns {
				v := r[i]
				if v == nil {
					switch i {
					case in.tenantCol:
						v = in.d.CustomerID
					case in.typeCol:
						v = t.Name
					}
				}
				var e any
				if cj, ok := v.(compactJSON); ok && col.Type == kql.Dynamic {
					if cj != "null" {
						e = string(cj)
					}
				} else if e, err = kql.SQLite.Encode(col.Type, v); err != nil {
					return 0, fmt.Errorf("workspace: %s row %d column %s: %w", t.Name, start+ri, col.Name, err)
				}
				switch x := e.(type) {
				case nil:
				case string:
					if x != "" {
						used[i] = true
						written += int64(len(x))
					}
				default:
					used[i] = true
					written += 8
				}
				enc[ri*ncol+i] = e
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
		for r0 := 0; r0 < len(chunk); r0 += per {
			n := min(per, len(chunk)-r0)
			st, err := in.stmt(c, cols, string(key), n)
			if err != nil {
				return 0, err
			}
			args = args[:0]
			for ri := r0; ri < r0+n; ri++ {
				for _, ci := range cols {
					args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: enc[ri*ncol+ci]})
				}
			}
			if _, err := st.ExecContext(bg, args); err != nil {
				return 0, fmt.Errorf("workspace: insert into %s: %w", t.Name, err)
			}
		}
	}
	done = true
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("workspace: commit: %w", err)
	}
	return written, nil
}

// stmt returns the prepared INSERT of n rows into the columns cols (named
// by key).
func (in *inserter) stmt(c rawConn, cols []int, key string, n int) (driver.StmtExecContext, error) {
	k := key + "/" + fmt.Sprint(n)
	if st, ok := in.stmts[k]; ok {
		return st, nil
	}
	if len(in.stmts) >= 8 { // bound the statements one transaction keeps
		in.close()
		in.closers = in.closers[:0]
		clear(in.stmts)
	}
	st, err := c.PrepareContext(context.Background(), insertSQL(in.t, cols, n))
	if err != nil {
		return nil, fmt.Errorf("workspace: prepare insert: %w", err)
	}
	se, ok := st.(driver.StmtExecContext)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("workspace: driver statement %T lacks ExecContext", st)
	}
	in.closers = append(in.closers, st)
	in.stmts[k] = se
	return se, nil
}

// insertSQL returns the INSERT of n rows into table's columns cols
// (indexes into t.Columns).
func insertSQL(t kql.Table, cols []int, n int) string {
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
	return b.String()
}
