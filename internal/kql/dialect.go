package kql

// Dialect renders what differs between SQL engines. The compiler produces
// the query structure (SELECT / FROM / WHERE / GROUP BY / ORDER BY / LIMIT,
// joins, UNION ALL, window functions, CASE, arithmetic and comparisons,
// which SQLite and PostgreSQL share) and asks the dialect for the rest:
// placeholders, quoting, column types, the built-in functions below, JSON
// expansion, and how values are stored and read back.
//
// Call renders a scalar built-in over already compiled operands (SQL text).
// The function names and their contracts:
//
//	lower(s), upper(s)          Unicode case mapping
//	contains(h, n, cs)          substring test; cs is "1" (case-sensitive) or "0"
//	has(h, n, cs)               whole-term test (terms: runs of ASCII letters/digits)
//	hasprefix(h, n, cs)         a term starts with n
//	hassuffix(h, n, cs)         a term ends with n
//	startswith(h, n, cs), endswith(h, n, cs)
//	regex(s, re)                RE2 match anywhere in s
//	extract(re, group, s)       capture group (0 = whole match) or ""
//	strlen(s), substring(s, start, len)   characters; len < 0 means to the end
//	indexof(s, lookup)          0-based character index or -1
//	replace(s, lookup, rewrite) every occurrence, literal
//	split(s, delim), split_at(s, delim, i)  dynamic array of strings
//	str_long(x), str_real(x), str_bool(x), str_datetime(x), str_timespan(x),
//	str_dynamic(x)              tostring() of each type ("" for null)
//	to_long(x), to_real(x), to_bool(x), to_datetime(x), to_timespan(x)
//	                            conversion of a string or a native value; null when invalid
//	parse_json(s)               dynamic from a string: its JSON, or the string as JSON
//	json(x, type)               dynamic from a native value of type (a Type constant)
//	dyn_get(x, path)            dynamic member: path is a parameter holding a JSONPath
//	dyn_key(x, key)             dynamic member by a computed string key
//	dyn_at(x, i)                dynamic array element by a computed index (negative from the end)
//	dyn_value(x)                the native scalar a dynamic holds (for comparisons)
//	dyn_isnull(x)               dynamic null (SQL NULL or JSON null)
//	array_length(x)             length of a dynamic array, null otherwise
//	bag(k1, v1, ...), array(v1, ...)  dynamic from dynamic values
//	bin_long(x, s), bin_real(x, s), bin_datetime(x, s)   floor to a multiple
//	period(x, unit, end)        start (end "0") or end ("1") of the day/week/month/year
//	div(a, b)                   division (null when dividing by zero)
//
// Aggregate renders an aggregate: count(), count_distinct(x), sum(x),
// avg(x), min(x), max(x), make_list(json, max), make_set(json, max) (json
// is the element as dynamic, see json above).
type Dialect interface {
	// Name identifies the dialect, e.g. "sqlite".
	Name() string
	// Placeholder is the text of the n-th (1-based) bound parameter.
	Placeholder(n int) string
	// Quote quotes an identifier.
	Quote(ident string) string
	// ColumnType is the column type used to store a KQL type.
	ColumnType(t Type) string
	// Call renders a scalar built-in (see above).
	Call(fn string, args ...string) (string, error)
	// Aggregate renders an aggregate (see above).
	Aggregate(fn string, args ...string) (string, error)
	// ExpandJSON renders the FROM item that turns a dynamic value into one
	// row per array element or bag member (one row for a scalar or null,
	// none for an empty array or bag), aliased alias, and the expressions
	// of the element (dynamic), the member key (null for arrays) and the
	// element index (null for bags).
	ExpandJSON(value, alias string) (from, elem, key, index string)
	// Encode converts a Go value to its stored form for a column of type
	// t: string, int64/int, float64, bool, time.Time, time.Duration,
	// json.RawMessage/[]byte (dynamic) or nil.
	Encode(t Type, v any) (any, error)
	// Decode converts a value read from the database (for a result column
	// of type t) to a JSON-ready value as the query API renders it.
	Decode(t Type, v any) (any, error)
}
