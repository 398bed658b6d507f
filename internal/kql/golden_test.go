package kql_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/kql"
)

var update = flag.Bool("update", false, "rewrite the expected.json files of the golden tests")

// goldenNow is "now" for every golden query.
var goldenNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// loadFixture fills a new database from testdata/fixture.json: for each
// table, rows of column → JSON value (datetimes as RFC 3339 strings,
// dynamic columns as JSON).
func loadFixture(tb testing.TB) (*sql.DB, *kql.Schema) {
	tb.Helper()
	schema, tables := securitySchema(tb)
	db := openDB(tb, tables)
	raw, err := os.ReadFile(filepath.Join("testdata", "fixture.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var fixture map[string][]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fixture); err != nil {
		tb.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	for name, rows := range fixture {
		t := tableByName(tables, name)
		ins := newInserter(tb, tx, t)
		for _, row := range rows {
			vals := map[string]any{}
			for col, v := range row {
				typ := columnType(tb, t, col)
				vals[col] = fixtureValue(tb, typ, v)
			}
			ins.insert(vals)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	return db, schema
}

func columnType(tb testing.TB, t kql.Table, name string) kql.Type {
	for _, c := range t.Columns {
		if c.Name == name {
			return c.Type
		}
	}
	tb.Fatalf("fixture: %s has no column %s", t.Name, name)
	return ""
}

func fixtureValue(tb testing.TB, t kql.Type, v json.RawMessage) any {
	tb.Helper()
	if string(v) == "null" {
		return nil
	}
	var err error
	var out any
	switch t {
	case kql.String, kql.GUID:
		var s string
		err = json.Unmarshal(v, &s)
		out = s
	case kql.Int, kql.Long:
		var n int64
		err = json.Unmarshal(v, &n)
		out = n
	case kql.Real:
		var f float64
		err = json.Unmarshal(v, &f)
		out = f
	case kql.Bool:
		var b bool
		err = json.Unmarshal(v, &b)
		out = b
	case kql.DateTime:
		var s string
		if err = json.Unmarshal(v, &s); err == nil {
			out, err = time.Parse(time.RFC3339Nano, s)
		}
	case kql.Dynamic:
		out = v
	}
	if err != nil {
		tb.Fatalf("fixture value %s for %s: %v", v, t, err)
	}
	return out
}

// goldenOptions are the optional options.json of a case.
type goldenOptions struct {
	Timespan string `json:"timespan"`
	MaxRows  int    `json:"maxRows"`
}

// goldenResult is what expected.json holds: the query API's answer, with
// "partial" when the row cap cut it, or the error text.
type goldenResult struct {
	Tables  []kql.ResponseTable `json:"tables,omitempty"`
	Partial bool                `json:"partial,omitempty"`
	Error   string              `json:"error,omitempty"`
}

var orderedRE = regexp.MustCompile(`\b(order|sort)\s+by\b|\btop\b`)

// TestGolden runs testdata/<case>/query.kql against the fixture and
// compares the answer with testdata/<case>/expected.json. Rows of a query
// that does not sort are compared as a multiset.
func TestGolden(t *testing.T) {
	db, schema := loadFixture(t)
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "query.kql"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 30 {
		t.Fatalf("found %d golden cases, expected at least 30", len(dirs))
	}
	for _, q := range dirs {
		dir := filepath.Dir(q)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			query, err := os.ReadFile(q)
			if err != nil {
				t.Fatal(err)
			}
			var opts goldenOptions
			if raw, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
				if err := json.Unmarshal(raw, &opts); err != nil {
					t.Fatal(err)
				}
			}
			span, err := kql.ParseTimespan(opts.Timespan, goldenNow)
			if err != nil {
				t.Fatal(err)
			}
			var got goldenResult
			res, err := kql.RunWith(context.Background(), db, schema, string(query), kql.RunOptions{Now: goldenNow, Timespan: span, MaxRows: opts.MaxRows})
			if err != nil {
				got.Error = err.Error()
			} else {
				got.Tables = res.Response().Tables
				got.Partial = res.Partial
			}
			gotJSON := marshalGolden(t, got)
			file := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(file, gotJSON, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantJSON, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			var want goldenResult
			if err := json.Unmarshal(wantJSON, &want); err != nil {
				t.Fatal(err)
			}
			// Compare through JSON, as a client sees the answer.
			var gotBack goldenResult
			if err := json.Unmarshal(gotJSON, &gotBack); err != nil {
				t.Fatal(err)
			}
			if !orderedRE.Match(query) {
				sortRows(t, &want)
				sortRows(t, &gotBack)
			}
			if diff := cmp.Diff(want, gotBack); diff != "" {
				t.Errorf("query:\n%s\nresult mismatch (-want +got):\n%s", query, diff)
			}
		})
	}
}

func marshalGolden(t *testing.T, r goldenResult) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("{\n")
	if r.Error != "" {
		e, _ := json.Marshal(r.Error)
		b.WriteString(`  "error": ` + string(e) + "\n}\n")
		return b.Bytes()
	}
	for _, tab := range r.Tables {
		cols, _ := json.Marshal(tab.Columns)
		b.WriteString(`  "tables": [{"name": "` + tab.Name + `",` + "\n")
		b.WriteString(`    "columns": ` + string(cols) + ",\n")
		b.WriteString(`    "rows": [`)
		for i, row := range tab.Rows {
			if i > 0 {
				b.WriteString(",")
			}
			rj, err := json.Marshal(row)
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString("\n      " + string(rj))
		}
		if len(tab.Rows) > 0 {
			b.WriteString("\n    ")
		}
		b.WriteString("]}]")
	}
	if r.Partial {
		b.WriteString(",\n  \"partial\": true")
	}
	b.WriteString("\n}\n")
	return b.Bytes()
}

func sortRows(t *testing.T, r *goldenResult) {
	for _, tab := range r.Tables {
		keys := make([]string, len(tab.Rows))
		for i, row := range tab.Rows {
			k, err := json.Marshal(row)
			if err != nil {
				t.Fatal(err)
			}
			keys[i] = string(k)
		}
		sort.Sort(byKey{tab.Rows, keys})
	}
}

type byKey struct {
	rows [][]any
	keys []string
}

func (b byKey) Len() int           { return len(b.rows) }
func (b byKey) Less(i, j int) bool { return b.keys[i] < b.keys[j] }
func (b byKey) Swap(i, j int) {
	b.rows[i], b.rows[j] = b.rows[j], b.rows[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
}
