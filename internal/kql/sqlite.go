package kql

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// SQLite is the dialect of the embedded store (modernc.org/sqlite). Its
// storage contract is described in the package documentation.
var SQLite Dialect = sqliteDialect{}

type sqliteDialect struct{}

func (sqliteDialect) Name() string { return "sqlite" }

func (sqliteDialect) Placeholder(n int) string { return "?" + strconv.Itoa(n) }

func (sqliteDialect) Quote(ident string) string {
	return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"`
}

func (sqliteDialect) ColumnType(t Type) string {
	switch t {
	case String:
		return "TEXT NOT NULL DEFAULT ''"
	case Int, Long, Bool, DateTime, Timespan:
		return "INTEGER"
	case Real:
		return "REAL"
	}
	return "TEXT" // dynamic, guid
}

// CreateTable returns the statements that create t (if missing), its
// index on TimeGenerated (when it has that column) and t.Indexes. After
// loading many rows, run "PRAGMA optimize" (or ANALYZE) so that the
// planner knows the indexes' selectivity.
func CreateTable(d Dialect, t Table) []string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (", d.Quote(t.sqlName()))
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", d.Quote(c.Name), d.ColumnType(c.Type))
	}
	if t.Scope != nil {
		fmt.Fprintf(&b, ", %s TEXT", d.Quote(t.Scope.Column))
	}
	b.WriteString(")")
	stmts := []string{b.String()}
	if _, ok := t.column("TimeGenerated"); ok {
		cols := d.Quote("TimeGenerated")
		if t.Scope != nil {
			cols = d.Quote(t.Scope.Column) + ", " + cols
		}
		stmts = append(stmts, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)",
			d.Quote(t.sqlName()+"_TimeGenerated"), d.Quote(t.sqlName()), cols))
	}
	for _, idx := range t.Indexes {
		var cols []string
		if t.Scope != nil {
			cols = append(cols, d.Quote(t.Scope.Column))
		}
		for _, c := range idx {
			cols = append(cols, d.Quote(c))
		}
		stmts = append(stmts, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)",
			d.Quote(t.sqlName()+"_"+strings.Join(idx, "_")), d.Quote(t.sqlName()), strings.Join(cols, ", ")))
	}
	return stmts
}

// sqliteCalls are the templates of Call; %[n]s is the n-th argument.
var sqliteCalls = map[string]string{
	"lower":        "kql_lower(%[1]s)",
	"upper":        "kql_upper(%[1]s)",
	"contains":     "kql_contains(%[1]s, %[2]s, %[3]s)",
	"has":          "kql_has(%[1]s, %[2]s, %[3]s, 0, 0)",
	"hasprefix":    "kql_has(%[1]s, %[2]s, %[3]s, 1, 0)",
	"hassuffix":    "kql_has(%[1]s, %[2]s, %[3]s, 0, 1)",
	"startswith":   "kql_startswith(%[1]s, %[2]s, %[3]s)",
	"endswith":     "kql_endswith(%[1]s, %[2]s, %[3]s)",
	"regex":        "kql_regex(%[1]s, %[2]s)",
	"extract":      "kql_extract(%[1]s, %[2]s, %[3]s)",
	"strlen":       "length(%[1]s)",
	"substring":    "kql_substring(%[1]s, %[2]s, %[3]s)",
	"indexof":      "kql_indexof(%[1]s, %[2]s)",
	"replace":      "replace(%[1]s, %[2]s, %[3]s)",
	"split":        "kql_split(%[1]s, %[2]s)",
	"split_at":     "kql_split_at(%[1]s, %[2]s, %[3]s)",
	"str_long":     "coalesce(CAST(%[1]s AS TEXT), '')",
	"str_real":     "kql_str_real(%[1]s)",
	"str_bool":     "(CASE %[1]s WHEN 1 THEN 'true' WHEN 0 THEN 'false' ELSE '' END)",
	"str_datetime": "kql_str_datetime(%[1]s)",
	"str_timespan": "kql_str_timespan(%[1]s)",
	"str_dynamic":  "kql_str_dynamic(%[1]s)",
	"to_long":      "kql_to_long(%[1]s)",
	"to_real":      "kql_to_real(%[1]s)",
	"to_bool":      "kql_to_bool(%[1]s)",
	"to_datetime":  "kql_to_datetime(%[1]s)",
	"to_timespan":  "kql_to_timespan(%[1]s)",
	"parse_json":   "kql_parse_json(%[1]s)",
	"dyn_get":      "(%[1]s -> %[2]s)",
	"dyn_key":      "kql_dyn_key(%[1]s, %[2]s)",
	"dyn_at":       "kql_dyn_at(%[1]s, %[2]s)",
	"dyn_value":    "(%[1]s ->> '$')",
	"dyn_isnull":   "(%[1]s IS NULL OR %[1]s = 'null')",
	"array_length": "(CASE WHEN json_type(%[1]s) = 'array' THEN json_array_length(%[1]s) END)",
	"bin_long":     "(CASE WHEN %[2]s > 0 THEN %[1]s - ((%[1]s %% %[2]s) + %[2]s) %% %[2]s END)",
	"bin_real":     "(CASE WHEN %[2]s > 0 THEN floor(%[1]s / %[2]s) * %[2]s END)",
	"bin_datetime": "(CASE WHEN %[2]s > 0 THEN ((%[1]s + " + strconv.FormatInt(epochOffset, 10) + ") / %[2]s) * %[2]s - " + strconv.FormatInt(epochOffset, 10) + " END)",
	"period":       "kql_period(%[1]s, %[2]s, %[3]s)",
	"div":          "(%[1]s / %[2]s)",
}

func (sqliteDialect) Call(fn string, args ...string) (string, error) {
	switch fn {
	case "bag":
		return "json_object(" + strings.Join(jsonArgs(args, true), ", ") + ")", nil
	case "array":
		return "json_array(" + strings.Join(jsonArgs(args, false), ", ") + ")", nil
	case "json":
		if len(args) != 2 {
			return "", fmt.Errorf("kql: json needs 2 arguments")
		}
		return sqliteJSON(args[0], Type(strings.Trim(args[1], "'"))), nil
	}
	tmpl, ok := sqliteCalls[fn]
	if !ok {
		return "", fmt.Errorf("kql: sqlite dialect has no function %q", fn)
	}
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a
	}
	return fmt.Sprintf(tmpl, vals...), nil
}

// jsonArgs wraps dynamic values in json() so that json_object and
// json_array embed them rather than quote them; keys stay as they are.
func jsonArgs(args []string, bag bool) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if bag && i%2 == 0 {
			out[i] = a
		} else {
			out[i] = "json(" + a + ")"
		}
	}
	return out
}

// sqliteJSON renders the dynamic (JSON text) form of x of type t.
func sqliteJSON(x string, t Type) string {
	switch t {
	case String, GUID:
		return "json_quote(" + x + ")"
	case Int, Long:
		return "CAST(" + x + " AS TEXT)"
	case Real:
		return "kql_json_real(" + x + ")"
	case Bool:
		return "(CASE " + x + " WHEN 1 THEN 'true' WHEN 0 THEN 'false' END)"
	case DateTime:
		return "json_quote(kql_str_datetime(" + x + "))"
	case Timespan:
		return "json_quote(kql_str_timespan(" + x + "))"
	}
	return x // dynamic
}

func (sqliteDialect) Aggregate(fn string, args ...string) (string, error) {
	switch fn {
	case "count":
		return "count(*)", nil
	case "count_distinct":
		return "count(DISTINCT " + args[0] + ")", nil
	case "sum", "avg", "min", "max":
		return fn + "(" + args[0] + ")", nil
	case "make_list", "make_set":
		return "coalesce(kql_" + fn + "(" + args[0] + ", " + args[1] + "), '[]')", nil
	}
	return "", fmt.Errorf("kql: sqlite dialect has no aggregate %q", fn)
}

func (sqliteDialect) ExpandJSON(value, alias string) (from, elem, key, index string) {
	from = "json_each(coalesce(" + value + ", 'null')) AS " + alias
	elem = "(CASE " + alias + ".type WHEN 'object' THEN " + alias + ".value WHEN 'array' THEN " + alias +
		".value WHEN 'null' THEN NULL WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE json_quote(" + alias + ".value) END)"
	key = "(CASE WHEN json_type(" + value + ") = 'object' THEN " + alias + ".key END)"
	index = "(CASE WHEN json_type(" + value + ") = 'array' THEN " + alias + ".key END)"
	return from, elem, key, index
}

var errEncode = errors.New("kql: value does not fit the column type")

func (sqliteDialect) Encode(t Type, v any) (any, error) {
	if v == nil {
		if t == String {
			return "", nil
		}
		return nil, nil
	}
	bad := func() (any, error) { return nil, fmt.Errorf("%w: %T for %s", errEncode, v, t) }
	switch t {
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case GUID:
		if s, ok := v.(string); ok {
			if g, ok := parseGUID(s); ok {
				return g, nil
			}
			return s, nil
		}
	case Int, Long:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		case int32:
			return int64(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
				return int64(x), nil
			}
		}
	case Real:
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) {
				return nil, nil
			}
			return x, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		}
	case Bool:
		if b, ok := v.(bool); ok {
			if b {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case DateTime:
		switch x := v.(type) {
		case time.Time:
			return TimeToTicks(x), nil
		case string:
			if n, ok := parseDatetime(x); ok {
				return n, nil
			}
		}
	case Timespan:
		switch x := v.(type) {
		case time.Duration:
			return DurationToTicks(x), nil
		case string:
			if n, ok := parseSpan(x); ok {
				return n, nil
			}
		}
	case Dynamic:
		var raw []byte
		switch x := v.(type) {
		case json.RawMessage:
			raw = x
		case []byte:
			raw = x
		case string:
			raw = []byte(x)
		default:
			return bad()
		}
		// One pass validates and compacts (Compact fails on invalid JSON).
		var b bytes.Buffer
		b.Grow(len(raw))
		if err := json.Compact(&b, raw); err != nil || b.Len() == 0 {
			return nil, fmt.Errorf("%w: invalid JSON for a dynamic column", errEncode)
		}
		c := b.String()
		if c == "null" {
			return nil, nil
		}
		return c, nil
	}
	return bad()
}

func (sqliteDialect) Decode(t Type, v any) (any, error) {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	if v == nil {
		if t == String {
			return "", nil
		}
		return nil, nil
	}
	switch t {
	case String, GUID:
		switch x := v.(type) {
		case string:
			return v, nil // the value as read: no new allocation
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return formatReal(x), nil
		}
	case Int, Long:
		switch x := v.(type) {
		case int64:
			return v, nil
		case float64:
			if n, ok := toLong(x); ok {
				return n, nil
			}
			return nil, nil
		case string:
			if n, ok := toLong(x); ok {
				return n, nil
			}
			return nil, nil
		}
	case Real:
		var f float64
		switch x := v.(type) {
		case float64:
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				return v, nil
			}
			f = x
		case int64:
			f = float64(x)
		case string:
			g, ok := toReal(x)
			if !ok {
				return nil, nil
			}
			f = g
		default:
			return nil, fmt.Errorf("kql: cannot read %T as %s", v, t)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return formatReal(f), nil
		}
		return f, nil
	case Bool:
		if b, ok := toBool(v); ok {
			return b, nil
		}
		return nil, nil
	case DateTime:
		if n, ok := v.(int64); ok {
			return formatTicks(n), nil
		}
		if f, ok := v.(float64); ok {
			return formatTicks(int64(f)), nil
		}
	case Timespan:
		if n, ok := v.(int64); ok {
			return formatSpan(n), nil
		}
		if f, ok := v.(float64); ok {
			return formatSpan(int64(f)), nil
		}
	case Dynamic:
		switch x := v.(type) {
		case string:
			if x == "null" {
				return nil, nil
			}
			return v, nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
	}
	return nil, fmt.Errorf("kql: cannot read %T as %s", v, t)
}

// The SQL functions of the SQLite dialect, registered once for every
// connection the "sqlite" driver opens.

var registerErr error

func init() { registerErr = registerSQLiteFunctions() }

func argString(v driver.Value) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return formatReal(x), true
	}
	return "", false
}

func argInt(v driver.Value) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), true
	case string:
		return toLong(x)
	}
	return 0, false
}

func boolValue(b bool) driver.Value {
	if b {
		return int64(1)
	}
	return int64(0)
}

type scalarFn func(args []driver.Value) (driver.Value, error)

func stringPredicate(f func(h, n string, cs bool) bool) scalarFn {
	return func(a []driver.Value) (driver.Value, error) {
		h, ok1 := argString(a[0])
		n, ok2 := argString(a[1])
		if !ok1 || !ok2 {
			return nil, nil
		}
		cs, _ := argInt(a[2])
		return boolValue(f(h, n, cs != 0)), nil
	}
}

func stringFn(f func(string) driver.Value, null driver.Value) scalarFn {
	return func(a []driver.Value) (driver.Value, error) {
		s, ok := argString(a[0])
		if !ok {
			return null, nil
		}
		return f(s), nil
	}
}

func registerSQLiteFunctions() error {
	fns := map[string]struct {
		n  int32
		fn scalarFn
	}{
		"kql_lower":      {1, stringFn(func(s string) driver.Value { return strings.ToLower(s) }, "")},
		"kql_upper":      {1, stringFn(func(s string) driver.Value { return strings.ToUpper(s) }, "")},
		"kql_contains":   {3, stringPredicate(kqlContains)},
		"kql_startswith": {3, stringPredicate(kqlStartsWith)},
		"kql_endswith":   {3, stringPredicate(kqlEndsWith)},
		"kql_has": {5, func(a []driver.Value) (driver.Value, error) {
			h, ok1 := argString(a[0])
			n, ok2 := argString(a[1])
			if !ok1 || !ok2 {
				return nil, nil
			}
			cs, _ := argInt(a[2])
			pre, _ := argInt(a[3])
			suf, _ := argInt(a[4])
			return boolValue(kqlTerm(h, n, cs != 0, pre != 0, suf != 0)), nil
		}},
		"kql_regex": {2, func(a []driver.Value) (driver.Value, error) {
			s, ok1 := argString(a[0])
			p, ok2 := argString(a[1])
			if !ok1 || !ok2 {
				return nil, nil
			}
			re, err := compileRegex(p)
			if err != nil {
				return nil, fmt.Errorf("invalid regular expression: %v", err)
			}
			return boolValue(re.MatchString(s)), nil
		}},
		"kql_extract": {3, func(a []driver.Value) (driver.Value, error) {
			p, ok1 := argString(a[0])
			g, ok2 := argInt(a[1])
			s, ok3 := argString(a[2])
			if !ok1 || !ok2 || !ok3 {
				return "", nil
			}
			re, err := compileRegex(p)
			if err != nil {
				return nil, fmt.Errorf("invalid regular expression: %v", err)
			}
			return kqlExtract(re, g, s), nil
		}},
		"kql_substring": {3, func(a []driver.Value) (driver.Value, error) {
			s, ok1 := argString(a[0])
			start, ok2 := argInt(a[1])
			n, ok3 := argInt(a[2])
			if !ok1 || !ok2 {
				return "", nil
			}
			if !ok3 {
				n = -1
			}
			return kqlSubstring(s, start, n), nil
		}},
		"kql_indexof": {2, func(a []driver.Value) (driver.Value, error) {
			s, ok1 := argString(a[0])
			l, ok2 := argString(a[1])
			if !ok1 || !ok2 {
				return nil, nil
			}
			return kqlIndexOf(s, l), nil
		}},
		"kql_split": {2, func(a []driver.Value) (driver.Value, error) {
			s, _ := argString(a[0])
			d, _ := argString(a[1])
			return kqlSplit(s, d), nil
		}},
		"kql_split_at": {3, func(a []driver.Value) (driver.Value, error) {
			s, _ := argString(a[0])
			d, _ := argString(a[1])
			i, ok := argInt(a[2])
			if !ok {
				return "[]", nil
			}
			return kqlSplitAt(s, d, i), nil
		}},
		"kql_str_real": {1, func(a []driver.Value) (driver.Value, error) {
			f, ok := toReal(a[0])
			if !ok || a[0] == nil {
				return "", nil
			}
			return formatReal(f), nil
		}},
		"kql_json_real": {1, func(a []driver.Value) (driver.Value, error) {
			f, ok := toReal(a[0])
			if !ok || a[0] == nil {
				return nil, nil
			}
			s, _ := elemJSON(Real, f)
			return s, nil
		}},
		"kql_str_datetime": {1, func(a []driver.Value) (driver.Value, error) {
			n, ok := a[0].(int64)
			if !ok {
				return "", nil
			}
			return formatTicks(n), nil
		}},
		"kql_str_timespan": {1, func(a []driver.Value) (driver.Value, error) {
			n, ok := a[0].(int64)
			if !ok {
				return "", nil
			}
			return formatSpan(n), nil
		}},
		"kql_str_dynamic": {1, stringFn(func(s string) driver.Value { return dynString(s) }, "")},
		"kql_to_long": {1, func(a []driver.Value) (driver.Value, error) {
			if n, ok := toLong(a[0]); ok {
				return n, nil
			}
			return nil, nil
		}},
		"kql_to_real": {1, func(a []driver.Value) (driver.Value, error) {
			if f, ok := toReal(a[0]); ok && !math.IsNaN(f) {
				return f, nil
			}
			return nil, nil
		}},
		"kql_to_bool": {1, func(a []driver.Value) (driver.Value, error) {
			if b, ok := toBool(a[0]); ok {
				return boolValue(b), nil
			}
			return nil, nil
		}},
		"kql_to_datetime": {1, func(a []driver.Value) (driver.Value, error) {
			if n, ok := toDatetime(a[0]); ok {
				return n, nil
			}
			return nil, nil
		}},
		"kql_to_timespan": {1, func(a []driver.Value) (driver.Value, error) {
			if n, ok := toTimespan(a[0]); ok {
				return n, nil
			}
			return nil, nil
		}},
		"kql_parse_json": {1, func(a []driver.Value) (driver.Value, error) {
			s, ok := argString(a[0])
			if !ok {
				return nil, nil
			}
			return parseJSON(s), nil
		}},
		"kql_dyn_key": {2, func(a []driver.Value) (driver.Value, error) {
			j, ok1 := argString(a[0])
			k, ok2 := argString(a[1])
			if !ok1 || !ok2 {
				return nil, nil
			}
			var m map[string]json.RawMessage
			if json.Unmarshal([]byte(j), &m) != nil {
				return nil, nil
			}
			v, ok := m[k]
			if !ok {
				return nil, nil
			}
			return string(v), nil
		}},
		"kql_dyn_at": {2, func(a []driver.Value) (driver.Value, error) {
			j, ok1 := argString(a[0])
			i, ok2 := argInt(a[1])
			if !ok1 || !ok2 {
				return nil, nil
			}
			var arr []json.RawMessage
			if json.Unmarshal([]byte(j), &arr) != nil {
				return nil, nil
			}
			if i < 0 {
				i += int64(len(arr))
			}
			if i < 0 || i >= int64(len(arr)) {
				return nil, nil
			}
			return string(arr[i]), nil
		}},
		"kql_period": {3, func(a []driver.Value) (driver.Value, error) {
			n, ok := a[0].(int64)
			unit, _ := argString(a[1])
			end, _ := argInt(a[2])
			if !ok {
				return nil, nil
			}
			if p, ok := period(n, unit, end != 0); ok {
				return p, nil
			}
			return nil, nil
		}},
	}
	for name, f := range fns {
		fn := f.fn
		err := sqlite.RegisterFunction(name, &sqlite.FunctionImpl{
			NArgs:         f.n,
			Deterministic: true,
			Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
				return fn(args)
			},
		})
		if err != nil {
			return fmt.Errorf("kql: register %s: %w", name, err)
		}
	}
	for _, name := range []string{"kql_make_list", "kql_make_set"} {
		set := name == "kql_make_set"
		err := sqlite.RegisterFunction(name, &sqlite.FunctionImpl{
			NArgs:         2,
			Deterministic: true,
			MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) {
				a := &listAgg{max: 1 << 20}
				if set {
					a.seen = map[string]bool{}
				}
				return a, nil
			},
		})
		if err != nil {
			return fmt.Errorf("kql: register %s: %w", name, err)
		}
	}
	return nil
}

// listAgg is make_list / make_set over JSON elements.
type listAgg struct {
	elems []string
	size  int
	max   int64
	seen  map[string]bool
}

func (a *listAgg) Step(_ *sqlite.FunctionContext, args []driver.Value) error {
	if m, ok := argInt(args[1]); ok && m >= 0 {
		a.max = m
	}
	s, ok := argString(args[0])
	if !ok || args[0] == nil || s == "null" || int64(len(a.elems)) >= a.max {
		return nil
	}
	if a.seen != nil {
		if a.seen[s] {
			return nil
		}
		a.seen[s] = true
	}
	a.size += len(s) + 1
	if a.size > maxDynamicSize {
		return fmt.Errorf("make_list/make_set result exceeds %d bytes", maxDynamicSize)
	}
	a.elems = append(a.elems, s)
	return nil
}

// maxDynamicSize bounds a dynamic value built by an aggregate (Kusto's
// limit on a dynamic value is 1 MB; this leaves room).
const maxDynamicSize = 64 << 20

func (a *listAgg) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return errors.New("make_list/make_set cannot be used as a window function")
}

func (a *listAgg) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	return "[" + strings.Join(a.elems, ",") + "]", nil
}

func (a *listAgg) Final(*sqlite.FunctionContext) {}
