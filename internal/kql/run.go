package kql

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// DefaultMaxRows is the query API's cap on the rows of a result; a result
// cut there is partial.
const DefaultMaxRows = 500_000

// ResultColumn is a result column as the query API lists it.
type ResultColumn struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
}

// Result is the answer to a query.
type Result struct {
	Columns []ResultColumn
	// Rows hold JSON-ready values (see the package documentation).
	Rows [][]any
	// Partial is set when the result was cut at the row cap.
	Partial bool
}

// ResponseTable is one table of the query API's answer.
type ResponseTable struct {
	Name    string         `json:"name"`
	Columns []ResultColumn `json:"columns"`
	Rows    [][]any        `json:"rows"`
}

// Response is the body of the query API's answer:
// {"tables":[{"name":"PrimaryResult","columns":[...],"rows":[...]}]}.
type Response struct {
	Tables []ResponseTable `json:"tables"`
}

// Response wraps the result as the query API answers it.
func (r *Result) Response() Response {
	rows := r.Rows
	if rows == nil {
		rows = [][]any{}
	}
	return Response{Tables: []ResponseTable{{Name: "PrimaryResult", Columns: r.Columns, Rows: rows}}}
}

// RunOptions configures RunWith.
type RunOptions struct {
	// Now is the time now() and ago() count from; zero means time.Now().
	Now time.Time
	// Timespan restricts TimeGenerated of every table read.
	Timespan TimeRange
	// MaxRows caps the result (DefaultMaxRows when zero).
	MaxRows int
	// Dialect of db (SQLite when nil).
	Dialect Dialect
}

// Run runs a query on db (tables laid out as the SQLite storage contract
// says) and returns at most DefaultMaxRows rows. Query errors are *Error
// values with a position; errors while running are wrapped.
func Run(ctx context.Context, db *sql.DB, schema *Schema, query string, now time.Time, span TimeRange) (*Result, error) {
	return RunWith(ctx, db, schema, query, RunOptions{Now: now, Timespan: span})
}

// RunWith is Run with options.
func RunWith(ctx context.Context, db *sql.DB, schema *Schema, query string, opts RunOptions) (*Result, error) {
	d := opts.Dialect
	if d == nil {
		d = SQLite
	}
	if d == SQLite && registerErr != nil {
		return nil, registerErr
	}
	maxRows := opts.MaxRows
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	comp, err := Compile(query, schema, d, Options{Now: opts.Now, Timespan: opts.Timespan})
	if err != nil {
		return nil, err
	}
	args := append([]any(nil), comp.Args...)
	args = append(args, int64(maxRows)+1)
	stmt := "SELECT * FROM (" + comp.SQL + ") AS kql_result LIMIT " + d.Placeholder(len(args))
	rows, err := db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("kql: run query: %w", err)
	}
	defer rows.Close()
	res := &Result{Columns: make([]ResultColumn, len(comp.Columns))}
	for i, col := range comp.Columns {
		res.Columns[i] = ResultColumn(col)
	}
	vals := make([]any, len(comp.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if len(res.Rows) == maxRows {
			res.Partial = true
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("kql: read result: %w", err)
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			out, err := d.Decode(comp.Columns[i].Type, v)
			if err != nil {
				return nil, fmt.Errorf("kql: read column %s: %w", comp.Columns[i].Name, err)
			}
			row[i] = out
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kql: run query: %w", err)
	}
	return res, nil
}
