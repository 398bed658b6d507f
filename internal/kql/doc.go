// Package kql implements the subset of the Kusto Query Language that Sluice's
// embedded Log Analytics workspace answers: a hand-written lexer and
// recursive-descent parser that keep source positions, semantic analysis
// against a caller-supplied schema (tables of typed columns), and a compiler
// from the typed query to SQL behind a Dialect, with an SQLite dialect for
// the embedded store (modernc.org/sqlite).
//
// # Using it
//
//	schema := kql.NewSchema(kql.Table{Name: "SecurityAlert", Columns: cols})
//	res, err := kql.Run(ctx, db, schema, query, time.Now(), kql.TimeRange{})
//
// Run parses, analyses and compiles the query, runs the SQL on db and
// returns the result columns (name and Log Analytics type) and rows as
// JSON-ready values, capped at DefaultMaxRows with a Partial flag. Errors in
// the query are *Error values: they carry the line and column and render the
// source line with a caret under the offending column.
//
// # Storage contract (SQLite)
//
// The workspace creates its tables with SQLite.CreateTable and writes values
// converted by SQLite.Encode; Run reads them back through SQLite.Decode. Per
// KQL type:
//
//	string    TEXT NOT NULL DEFAULT ''   (KQL strings have no null: absent is "")
//	int, long INTEGER                    (NULL is null)
//	real      REAL
//	bool      INTEGER 0/1
//	datetime  INTEGER: 100-nanosecond ticks since 1970-01-01T00:00:00Z (negative
//	          before; covers 0001-01-01, the .NET minimum that some columns carry)
//	timespan  INTEGER: 100-nanosecond ticks
//	dynamic   TEXT holding compact JSON (NULL or JSON null is null)
//	guid      TEXT, lower-case canonical form
//
// Every table gets an index on TimeGenerated when it has that column: the
// query API's timespan and the usual `where TimeGenerated > ago(...)` filters
// are range scans of it. Table.Indexes adds more; RecommendedIndexes gives
// SecurityAlert (AlertSeverity, TimeGenerated), so that counting alerts by
// severity reads that index in order instead of sorting rows. Run
// "PRAGMA optimize" after loading many rows so that the planner knows the
// indexes' selectivity. A Table can map to another SQL table name and carry
// a hidden Scope column (several workspaces in one set of tables).
//
// A connection with "PRAGMA mmap_size" set (e.g. 1 GB) reads pages without
// a system call each; that saves about 8% on the join benchmark.
//
// SQLite cannot store NaN: a real NaN is stored, and read back, as null.
//
// Results are rendered as the Log Analytics query API renders them:
// datetimes as ISO 8601 UTC strings with up to seven fractional digits,
// timespans as [-][d.]hh:mm:ss[.fffffff], dynamic values as a string holding
// the JSON text, reals as JSON numbers ("NaN", "Infinity", "-Infinity" as
// strings), bools as true/false.
//
// # Semantics worth knowing
//
// String comparisons follow Kusto: == and in are case-sensitive; =~, in~,
// contains, has, startswith and endswith are not (Unicode case folding); has
// matches whole terms (maximal runs of ASCII letters and digits). Dynamic
// values are JSON; a dynamic operand compared with a string, number or
// datetime is converted to that type first. Unnamed result columns are named
// the way Kusto names them: count_, sum_X, avg_X, dcount_X, set_X, list_X,
// a column name for a column reference (a_b for a.b), Column1, Column2, …
// otherwise; join renames right-side duplicates X1, X2, ….
//
// Literals never appear in the SQL text: they are bound as numbered
// parameters, so a query cannot inject SQL.
//
// # What is supported
//
// Statements: let (scalars and tabular expressions; later lets shadow
// earlier ones), one tabular query, separated by ';'; // comments.
//
// Tabular: where/filter, project, project-away, project-keep, project-reorder
// (wildcards), project-rename, extend, summarize (count, countif, dcount, dcountif, sum,
// sumif, avg, avgif, min, max, minif, maxif, take_any, make_list, make_set,
// make_list_if, make_set_if, arg_max, arg_min; by any expression, bin()),
// order by / sort by (asc, desc, nulls first/last), top, take/limit,
// distinct, count, join (innerunique by default, inner, leftouter,
// rightouter, fullouter, leftsemi, rightsemi, leftanti, rightanti; on Col or
// $left.A == $right.B), union (as a source or an operator; kind, withsource,
// table wildcards), mv-expand (one expression; kind=bag|array,
// with_itemindex, to typeof(), limit), print, render (ignored).
//
// Scalar: ==, !=, <, <=, >, >=, =~, !~, and, or, not(), + - * / %,
// contains, has, hasprefix, hassuffix, startswith, endswith (each also
// negated with ! and case-sensitive with _cs), in, !in, in~, !in~ (lists,
// dynamic arrays, tabular subqueries), has_any, has_all, between, !between,
// matches regex; literals of every type (datetime(), timespan(), 1d/30m/...,
// dynamic(), guid(), typed nulls, verbatim @"" strings); dynamic access
// a.b, a['b'], a[0], a[-1]; functions ago, now, bin, floor, startof*/endof*
// (day, week, month, year), dayofweek, tostring, toint, tolong, toreal,
// todouble, tobool, todatetime, totimespan, toguid, todynamic/parse_json,
// strlen, tolower, toupper, strcat, strcat_delim, substring, indexof,
// replace_string, split, extract (with typeof()), iff/iif, case, coalesce,
// isempty, isnotempty, isnull, isnotnull, array_length, pack/bag_pack,
// pack_array, abs, round, sqrt, exp, log, log10, log2, pow, toscalar.
//
// Not supported (an error names them): user-defined functions, parse,
// make-series, evaluate plugins, mv-expand of several expressions at once,
// set/declare statements.
package kql
