package kql_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/kql"
)

func TestSemanticErrors(t *testing.T) {
	schema, _ := securitySchema(t)
	for _, c := range []struct{ q, want string }{
		{"SecurityAlert | project Nope", "line 1, column 25: unknown column or variable 'Nope'"},
		{"SecurityAlert | where AlertName", "line 1, column 23: the where predicate must be a bool, found string"},
		{"SecurityAlert | where AlertName + 1 > 2", "line 1, column 33: operator '+' cannot be applied to string and long"},
		{"SecurityAlert | where IsIncident == 1", "line 1, column 34: cannot compare bool with long using '=='"},
		{"SecurityAlert | project a = 1, a = 2", "line 1, column 32: duplicate column name 'a'"},
		{"SecurityAlert | project-away Nope", "line 1, column 30: unknown column 'Nope'"},
		{"SecurityAlert | project-rename AlertName = Status", "line 1, column 32: a column named 'AlertName' already exists"},
		{"SecurityAlert | project-rename X = Nope", "line 1, column 36: unknown column 'Nope'"},
		{"SecurityAlert | take AlertName", "line 1, column 22: unknown column or variable 'AlertName'"},
		{"SecurityAlert | take 1.5", "line 1, column 22: the row count of take must be a constant integer"},
		{"SecurityAlert | top 2.5 by TimeGenerated", "line 1, column 21: the row count of top must be a constant integer"},
		{"SecurityAlert | summarize AlertName", "line 1, column 27: column 'AlertName' must be inside an aggregation function"},
		{"SecurityAlert | summarize 1", "line 1, column 27: summarize needs an aggregation function here (count(), sum(), ...)"},
		{"SecurityAlert | summarize sum(count())", "line 1, column 31: aggregate functions cannot be nested"},
		{"SecurityAlert | summarize count() by count()", "line 1, column 38: aggregate function count() is only valid in summarize"},
		{"SecurityAlert | summarize sum(AlertName)", "line 1, column 31: sum() needs a number or timespan, found string"},
		{"SecurityAlert | summarize arg_max(TimeGenerated)", "line 1, column 27: arg_max() takes the expression to maximize and the columns to return (or *)"},
		{"SecurityAlert | extend x = arg_max(TimeGenerated, *)", "line 1, column 28: arg_max() must be a whole aggregation of summarize"},
		{"SecurityAlert | extend x = iff(IsIncident, 1, 'a')", "line 1, column 47: iff(): the values must have one type, found long and string"},
		{"SecurityAlert | extend x = strlen()", "line 1, column 28: strlen() takes 1 argument(s), found 0"},
		{"SecurityAlert | extend x = substring('a')", "line 1, column 28: substring() takes 2 to 3 argument(s), found 1"},
		{"SecurityAlert | extend x = case(true, 1)", "line 1, column 28: case() takes at least 3 argument(s), found 2"},
		{"SecurityAlert | extend x = bin(AlertName, 1h)", "line 1, column 32: bin() needs a number, datetime or timespan, found string"},
		{"SecurityAlert | extend x = array_length(AlertName)", "line 1, column 41: array_length() needs a dynamic value, found string"},
		{"SecurityAlert | extend x = todatetime(IsIncident)", "line 1, column 28: cannot convert bool to datetime"},
		{"SecurityAlert | mv-expand AlertName", "line 1, column 27: mv-expand needs a dynamic value, found string"},
		{"SecurityAlert | mv-expand a = Entities, b = Tactics", "line 1, column 17: mv-expand of more than one expression is not supported"},
		{"SecurityAlert | join (SecurityRecommendation) on $left.IsIncident == $right.AlertName", "line 1, column 77: unknown column 'AlertName' on the right side of join"},
		{"SecurityAlert | join (SecurityRecommendation) on $left.IsIncident == $right.RecommendationName", "line 1, column 50: join keys 'IsIncident' (bool) and 'RecommendationName' (string) have different types"},
		{"SecurityAlert | join (print x = 1) on x", "line 1, column 39: unknown column 'x' on the left side of join"},
		{"SecurityAlert | join 5 on x", "line 1, column 22: the right side of join must be a table"},
		{"union Nothing*", "line 1, column 7: no table matches 'Nothing*'"},
		{"let x = 5; x | take 1", "line 1, column 12: a pipeline must start with a table, found a scalar expression"},
		{"let T = SecurityAlert; print T", "line 1, column 30: 'T' is a table: use it in a pipeline or in toscalar()"},
		{"print SecurityAlert", "line 1, column 7: 'SecurityAlert' is a table: use it in a pipeline or in toscalar()"},
		{"print 1", ""},
		{"5", "line 1, column 1: the query must be a tabular expression (a table, a pipeline, print or union)"},
		{"SecurityAlert | where $left.x == 1", "line 1, column 23: $left is only valid in a join condition"},
		{"SecurityAlert | extend x = AlertName[0]", "line 1, column 37: path expression source must be dynamic, found string (use parse_json())"},
		{"SecurityAlert | extend x = parse_json(Entities)[1.5]", "line 1, column 49: an index must be a string or an integer, found real"},
		{"SecurityAlert | where AlertName matches regex '['", "line 1, column 47: invalid regular expression: error parsing regexp: missing closing ]: `[`"},
		{"SecurityAlert | extend x = extract('(a', 1, AlertName)", "line 1, column 36: invalid regular expression: error parsing regexp: missing closing ): `(a`"},
		{"SecurityAlert | extend x = extract('a', 1, AlertName, long)", "line 1, column 55: expected typeof(type)"},
		{"SecurityAlert | extend x = not(AlertName)", "line 1, column 32: the not() predicate must be a bool, found string"},
		{"SecurityAlert | extend x = (SecurityAlert | count)", "line 1, column 28: expected a scalar, found a tabular expression (use toscalar())"},
		{"SecurityAlert | extend x = -AlertName", "line 1, column 28: unary '-' needs a number or timespan, found string"},
		{"SecurityAlert | summarize make_list(AlertName, Status)", "line 1, column 48: the maximum size must be a constant integer"},
		{"SecurityAlert | extend x = 1 | project-keep Nope", "line 1, column 45: unknown column 'Nope'"},
		{"SecurityAlert | project-away *", "line 1, column 30: no columns are left"},
		{"SecurityAlert | mv-expand with_itemindex=AlertName x = parse_json(Entities)", "line 1, column 17: a column named 'AlertName' already exists"},
	} {
		_, err := kql.Compile(c.q, schema, kql.SQLite, kql.Options{Now: goldenNow})
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.q, err)
			}
			continue
		}
		var e *kql.Error
		if !errors.As(err, &e) {
			t.Errorf("%s: got %v, want a *kql.Error", c.q, err)
			continue
		}
		got := strings.SplitN(err.Error(), "\n", 2)[0]
		if got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.q, got, c.want)
		}
	}
}

func TestResultColumns(t *testing.T) {
	schema, _ := securitySchema(t)
	for _, c := range []struct {
		q    string
		want string
	}{
		{"SecurityAlert | summarize count() by AlertSeverity", "AlertSeverity:string count_:long"},
		{"SecurityAlert | summarize countif(IsIncident), dcount(AlertName), sum(ConfidenceScore), avg(ConfidenceScore), min(StartTime), max(EndTime), make_set(Status), make_list(Status)",
			"countif_:long dcount_AlertName:long sum_ConfidenceScore:real avg_ConfidenceScore:real min_StartTime:datetime max_EndTime:datetime set_Status:dynamic list_Status:dynamic"},
		{"SecureScoreControls | summarize sum(HealthyResources), sum(Weight), avg(HealthyResources) by bin(TimeGenerated, 1h)",
			"TimeGenerated:datetime sum_HealthyResources:long sum_Weight:long avg_HealthyResources:real"},
		{"SecurityAlert | project tostring(AlertSeverity), AlertName, strlen(AlertName), 1 + 1, parse_json(Entities)[0].HostName",
			"AlertSeverity:string AlertName:string Column1:long Column2:long Entities_0_HostName:dynamic"},
		{"SecurityRecommendation | project Properties.status.code, Properties['metadata'].severity, RecommendationAdditionalData[0]",
			"Properties_status_code:dynamic Properties_metadata_severity:dynamic RecommendationAdditionalData_0:dynamic"},
		{"SecurityAlert | extend Column1 = 1 | project AlertName, 2, Column1", "AlertName:string Column2:long Column1:long"},
		{"SecurityAlert | summarize arg_max(TimeGenerated, *) by AlertSeverity | project-keep AlertSeverity, TimeGenerated, AlertName",
			"AlertSeverity:string TimeGenerated:datetime AlertName:string"},
		{"SecurityAlert | summarize arg_min(TimeGenerated, AlertName, tolower(Status)) by AlertSeverity",
			"AlertSeverity:string TimeGenerated:datetime AlertName:string Column1:string"},
		{"SecurityAlert | count", "Count:long"},
		{"SecurityAlert | project a = now() - TimeGenerated, b = TimeGenerated + 1d, c = 1d / 2h, d = 2 * 1h, e = 7 / 2, f = 7 / 2.0",
			"a:timespan b:datetime c:real d:timespan e:long f:real"},
		{"print int(1) + int(2), int(1) + 2, toint('1'), tolong('1'), todouble(1), todecimal(1), tobool(1), totimespan('1d'), toguid('x')",
			"print_0:int print_1:long print_2:int print_3:long print_4:real print_5:real print_6:bool print_7:timespan print_8:guid"},
		{"SecurityAlert | project AlertName | join kind=leftsemi (SecurityAlert | project AlertName) on AlertName", "AlertName:string"},
		{"SecurityAlert | project AlertName, Status | join (SecurityAlert | project AlertName, Status, X = 1) on AlertName",
			"AlertName:string Status:string AlertName1:string Status1:string X:long"},
		{"SecurityAlert | mv-expand with_itemindex=i e = parse_json(Entities) to typeof(string) | project e, i", "e:string i:long"},
		{"SecurityAlert | extend AlertName = strlen(AlertName) | project AlertName", "AlertName:long"},
		{"print x = iff(true, 1, 2.5), y = iff(true, long(null), 1), z = coalesce(real(null), 1), w = case(false, 'a', 'b')",
			"x:real y:long z:real w:string"},
	} {
		comp, err := kql.Compile(c.q, schema, kql.SQLite, kql.Options{Now: goldenNow})
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		var got []string
		for _, col := range comp.Columns {
			got = append(got, col.Name+":"+string(col.Type))
		}
		if diff := cmp.Diff(c.want, strings.Join(got, " ")); diff != "" {
			t.Errorf("%s: columns (-want +got):\n%s", c.q, diff)
		}
	}
}

// TestLiteralsAreParameters checks that query text never reaches the SQL:
// a literal built to break out of a string is bound as a parameter and
// matches as data.
func TestLiteralsAreParameters(t *testing.T) {
	db, schema := loadFixture(t)
	evil := `x'); DROP TABLE "SecurityAlert"; --`
	q := `SecurityAlert | where AlertName == "` + strings.ReplaceAll(evil, `"`, `\"`) + `" or AlertName has "` + strings.ReplaceAll(evil, `"`, `\"`) + `" | extend p = Properties_placeholder`
	q = strings.Replace(q, " | extend p = Properties_placeholder", " | extend d = dynamic({\"k\\\"'\": 1})['k\"\\'']", 1)
	comp, err := kql.Compile(q, schema, kql.SQLite, kql.Options{Now: goldenNow})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(comp.SQL, "DROP") || strings.Contains(comp.SQL, "x'") {
		t.Fatalf("literal text in the SQL: %s", comp.SQL)
	}
	found := false
	for _, a := range comp.Args {
		if a == evil {
			found = true
		}
	}
	if !found {
		t.Fatalf("the literal is not a parameter: %v", comp.Args)
	}
	res, err := kql.Run(context.Background(), db, schema, q, goldenNow, kql.TimeRange{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 0 {
		t.Fatalf("%d rows", len(res.Rows))
	}
	res, err = kql.Run(context.Background(), db, schema, "SecurityAlert | count", goldenNow, kql.TimeRange{})
	if err != nil || res.Rows[0][0] != int64(12) {
		t.Fatalf("the table changed: %v %v", res, err)
	}
}

func TestTimespanFilterUsesParameters(t *testing.T) {
	schema, _ := securitySchema(t)
	span := kql.TimeRange{Start: goldenNow.Add(-time.Hour), End: goldenNow}
	comp, err := kql.Compile("SecurityAlert | take 1", schema, kql.SQLite, kql.Options{Now: goldenNow, Timespan: span})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(comp.SQL, `"TimeGenerated" >= ?1 AND "TimeGenerated" < ?2`) {
		t.Errorf("SQL does not filter on TimeGenerated: %s", comp.SQL)
	}
	if diff := cmp.Diff([]any{kql.TimeToTicks(span.Start), kql.TimeToTicks(span.End), int64(1)}, comp.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
}

// TestScopeAndSQLName keeps two workspaces in one table and reads each.
func TestScopeAndSQLName(t *testing.T) {
	cols := []kql.Column{{Name: "TimeGenerated", Type: kql.DateTime}, {Name: "Name", Type: kql.String}}
	mk := func(ws string) kql.Table {
		return kql.Table{Name: "Events", SQLName: "ws_events", Columns: cols, Scope: &kql.Scope{Column: "workspace", Value: ws}}
	}
	db := openDB(t, []kql.Table{mk("a")})
	for _, r := range []struct{ ws, name string }{{"a", "one"}, {"a", "two"}, {"b", "three"}} {
		if _, err := db.Exec(`INSERT INTO ws_events VALUES (?, ?, ?)`, kql.TimeToTicks(goldenNow), r.name, r.ws); err != nil {
			t.Fatal(err)
		}
	}
	for ws, want := range map[string]int64{"a": 2, "b": 1, "c": 0} {
		s, err := kql.NewSchema(mk(ws))
		if err != nil {
			t.Fatal(err)
		}
		res, err := kql.Run(context.Background(), db, s, "Events | count", goldenNow, kql.TimeRange{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows[0][0] != want {
			t.Errorf("workspace %s: %v rows, want %d", ws, res.Rows[0][0], want)
		}
	}
}

func TestNewSchemaRejects(t *testing.T) {
	for _, tables := range [][]kql.Table{
		{{Name: ""}},
		{{Name: "A"}, {Name: "A"}},
		{{Name: "A", Columns: []kql.Column{{Name: "x", Type: "text"}}}},
		{{Name: "A", Columns: []kql.Column{{Name: "x", Type: kql.Long}, {Name: "X", Type: kql.Long}}}},
		{{Name: "A", Columns: []kql.Column{{Name: "x", Type: kql.Long}}, Indexes: [][]string{{"y"}}}},
		{{Name: "A", Columns: []kql.Column{{Name: "x", Type: kql.Long}}, Indexes: [][]string{{}}}},
	} {
		if _, err := kql.NewSchema(tables...); err == nil {
			t.Errorf("NewSchema(%+v) accepted", tables)
		}
	}
}

func TestStorageContractRoundTrip(t *testing.T) {
	d := kql.SQLite
	when := time.Date(2026, 11, 20, 10, 11, 12, 123456700, time.UTC)
	for _, c := range []struct {
		typ    kql.Type
		in     any
		stored any
		out    any
	}{
		{kql.String, "x", "x", "x"},
		{kql.String, nil, "", ""},
		{kql.Long, int64(-3), int64(-3), int64(-3)},
		{kql.Int, 7, int64(7), int64(7)},
		{kql.Long, nil, nil, nil},
		{kql.Real, 2.5, 2.5, 2.5},
		{kql.Real, math.NaN(), nil, nil},
		{kql.Real, math.Inf(1), math.Inf(1), "Infinity"},
		{kql.Bool, true, int64(1), true},
		{kql.Bool, false, int64(0), false},
		{kql.DateTime, when, kql.TimeToTicks(when), "2026-11-20T10:11:12.1234567Z"},
		{kql.DateTime, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), int64(-621355968000000000), "0001-01-01T00:00:00Z"},
		{kql.DateTime, "2026-11-20T10:00:00Z", kql.TimeToTicks(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)), "2026-11-20T10:00:00Z"},
		{kql.Timespan, 90 * time.Minute, int64(54_000_000_000), "01:30:00"},
		{kql.Timespan, -(26*time.Hour + 500*time.Millisecond), int64(-936_005_000_000), "-1.02:00:00.5000000"},
		{kql.Dynamic, json.RawMessage(`{ "a" : [1, 2] }`), `{"a":[1,2]}`, `{"a":[1,2]}`},
		{kql.Dynamic, json.RawMessage(`null`), nil, nil},
		{kql.Dynamic, "\"s\"", `"s"`, `"s"`},
		{kql.GUID, "6A3F9C1E-0B2D-4E5F-8A7B-9C0D1E2F3A4B", "6a3f9c1e-0b2d-4e5f-8a7b-9c0d1e2f3a4b", "6a3f9c1e-0b2d-4e5f-8a7b-9c0d1e2f3a4b"},
	} {
		stored, err := d.Encode(c.typ, c.in)
		if err != nil {
			t.Errorf("Encode(%s, %v): %v", c.typ, c.in, err)
			continue
		}
		if diff := cmp.Diff(c.stored, stored); diff != "" {
			t.Errorf("Encode(%s, %v) (-want +got):\n%s", c.typ, c.in, diff)
		}
		out, err := d.Decode(c.typ, stored)
		if err != nil {
			t.Errorf("Decode(%s, %v): %v", c.typ, stored, err)
			continue
		}
		if diff := cmp.Diff(c.out, out); diff != "" {
			t.Errorf("Decode(%s, %v) (-want +got):\n%s", c.typ, stored, diff)
		}
	}
	for _, bad := range []struct {
		typ kql.Type
		v   any
	}{
		{kql.Long, "x"}, {kql.Bool, 1}, {kql.DateTime, "yesterday"}, {kql.Dynamic, json.RawMessage(`{`)}, {kql.String, 5},
	} {
		if _, err := d.Encode(bad.typ, bad.v); err == nil {
			t.Errorf("Encode(%s, %v) accepted", bad.typ, bad.v)
		}
	}
}

func TestCreateTable(t *testing.T) {
	stmts := kql.CreateTable(kql.SQLite, kql.Table{
		Name: "SecurityAlert", Columns: []kql.Column{{Name: "TimeGenerated", Type: kql.DateTime}, {Name: "AlertSeverity", Type: kql.String}, {Name: "E", Type: kql.Dynamic}},
		Indexes: kql.RecommendedIndexes("SecurityAlert"),
	})
	want := []string{
		`CREATE TABLE IF NOT EXISTS "SecurityAlert" ("TimeGenerated" INTEGER, "AlertSeverity" TEXT NOT NULL DEFAULT '', "E" TEXT)`,
		`CREATE INDEX IF NOT EXISTS "SecurityAlert_TimeGenerated" ON "SecurityAlert" ("TimeGenerated")`,
		`CREATE INDEX IF NOT EXISTS "SecurityAlert_AlertSeverity_TimeGenerated" ON "SecurityAlert" ("AlertSeverity", "TimeGenerated")`,
	}
	if diff := cmp.Diff(want, stmts); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseTimespan(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		in         string
		start, end string
	}{
		{"PT1H", "2026-11-20T11:00:00Z", "2026-11-20T12:00:00Z"},
		{"P1D", "2026-11-19T12:00:00Z", "2026-11-20T12:00:00Z"},
		{"P1W", "2026-11-13T12:00:00Z", "2026-11-20T12:00:00Z"},
		{"P1M", "2026-10-20T12:00:00Z", "2026-11-20T12:00:00Z"},
		{"P1DT1.5H", "2026-11-19T10:30:00Z", "2026-11-20T12:00:00Z"},
		{"2026-11-01T00:00:00Z/2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"},
		{"2026-11-01T00:00:00Z/PT6H", "2026-11-01T00:00:00Z", "2026-11-01T06:00:00Z"},
		{"P2D/2026-11-03T00:00:00Z", "2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z"},
	} {
		got, err := kql.ParseTimespan(c.in, now)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if !got.Start.Equal(ts(c.start)) || !got.End.Equal(ts(c.end)) {
			t.Errorf("%s = %v..%v, want %s..%s", c.in, got.Start, got.End, c.start, c.end)
		}
	}
	for _, bad := range []string{"1h", "P", "PT", "P1H", "PT1D", "P1.5D", "x/y", "2026-11-02T00:00:00Z/2026-11-01T00:00:00Z", "P1D/P1D"} {
		if _, err := kql.ParseTimespan(bad, now); err == nil {
			t.Errorf("ParseTimespan(%q) accepted", bad)
		}
	}
	if r, err := kql.ParseTimespan("", now); err != nil || !r.Start.IsZero() || !r.End.IsZero() {
		t.Errorf("empty timespan: %v %v", r, err)
	}
}

func TestRunCancelled(t *testing.T) {
	db, schema := loadFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := kql.Run(ctx, db, schema, "SecurityAlert | count", goldenNow, kql.TimeRange{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a cancelled context: %v", err)
	}
}

func TestRunRuntimeErrorIsWrapped(t *testing.T) {
	db, schema := loadFixture(t)
	// The pattern is computed per row, so it is checked when the query runs.
	_, err := kql.Run(context.Background(), db, schema, `SecurityAlert | where AlertName matches regex strcat("(", AlertSeverity)`, goldenNow, kql.TimeRange{})
	var e *kql.Error
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "invalid regular expression") {
		t.Fatalf("got %v, want a wrapped runtime error", err)
	}
}
