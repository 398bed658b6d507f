package workspace_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/internal/kql"

	"sluice/internal/latables"
	"sluice/internal/workspace"
)

// TestInsertLeavesDefaultColumnsOut writes chunks whose empty columns
// differ (the insert leaves all-default columns of a chunk out of its
// statement) and reads every value back: strings left out are empty, other
// types NULL, and a column empty in one chunk keeps its values in another.
func TestInsertLeavesDefaultColumnsOut(t *testing.T) {
	db, err := workspace.OpenDB(filepath.Join(t.TempDir(), "ws.db"), "3f1e2d4c-5b6a-4788-9900-aabbccddeeff")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tab, _ := latables.Lookup("SecurityAlert")
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	mk := func(i int, withDesc bool, conf any) []any {
		r := make([]any, len(tab.Columns))
		r[tab.Index("TimeGenerated")] = at.Add(time.Duration(i) * time.Second)
		r[tab.Index("AlertName")] = "a"
		if withDesc {
			r[tab.Index("Description")] = "described"
		}
		r[tab.Index("ConfidenceScore")] = conf
		return r
	}
	var rows [][]any
	// 200 rows: chunks of 64 rows; Description only in rows >= 100,
	// ConfidenceScore only in even rows below 64.
	for i := range 200 {
		var conf any
		if i < 64 && i%2 == 0 {
			conf = 0.5
		}
		rows = append(rows, mk(i, i >= 100, conf))
	}
	// A row of defaults only (no column set at all but the time).
	empty := make([]any, len(tab.Columns))
	rows = append(rows, empty)
	if err := db.Insert(context.Background(), "SecurityAlert", rows); err != nil {
		t.Fatal(err)
	}
	q := func(sql string) int {
		var n int
		if err := db.SQL.QueryRow(sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	checks := []struct {
		sql  string
		want int
	}{
		{`SELECT count(*) FROM "SecurityAlert"`, 201},
		{`SELECT count(*) FROM "SecurityAlert" WHERE "Description" = 'described'`, 100},
		{`SELECT count(*) FROM "SecurityAlert" WHERE "Description" = ''`, 101},
		{`SELECT count(*) FROM "SecurityAlert" WHERE "ConfidenceScore" = 0.5`, 32},
		{`SELECT count(*) FROM "SecurityAlert" WHERE "ConfidenceScore" IS NULL`, 169},
		{`SELECT count(*) FROM "SecurityAlert" WHERE "TenantId" = '3f1e2d4c-5b6a-4788-9900-aabbccddeeff'`, 201},
		{`SELECT count(*) FROM "SecurityAlert" WHERE "Type" = 'SecurityAlert'`, 201},
		{`SELECT count(*) FROM "SecurityAlert" WHERE "TimeGenerated" IS NULL`, 1},
	}
	for _, c := range checks {
		if got := q(c.sql); got != c.want {
			t.Errorf("%s = %d, want %d", c.sql, got, c.want)
		}
	}
}

func openTestDB(t *testing.T, path string) *workspace.DB {
	t.Helper()
	db, err := workspace.OpenDB(path, "3f1e2d4c-5b6a-4788-9900-aabbccddeeff")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// exportedRows builds n rows of source from a reference export body, a
// different resource group per row.
func exportedRows(t *testing.T, source, file string, n int) []*latables.Row {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "latables", "testdata", "events", file))
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]*latables.Row, n)
	for i := range rows {
		body := bytes.ReplaceAll(raw, []byte("/resourceGroups/"), fmt.Appendf(nil, "/resourceGroups/rg%d-", i))
		r, err := latables.Build(source, body, latables.Options{Now: benchNow.Add(time.Duration(i) * time.Second), WorkspaceID: "3f1e2d4c-5b6a-4788-9900-aabbccddeeff"})
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = r
	}
	return rows
}

func runKQL(t *testing.T, db *workspace.DB, query string) *kql.Result {
	t.Helper()
	res, err := kql.Run(context.Background(), db.SQL, workspace.Schema(), query, benchNow, kql.TimeRange{})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return res
}

// TestWriteRowsMatchesInsert writes the same exported rows through
// WriteRows (JSON stored as latables compacted it, statements of 64 rows
// and fewer) into one database and
// through Insert one row at a time (every dynamic value validated and
// compacted by the kql encoder) into another: every query answers the same.
func TestWriteRowsMatchesInsert(t *testing.T) {
	for _, c := range []struct{ source, file, table string }{
		{"Alerts", "schema-alert-eventhub-sumologic.json", "SecurityAlert"},
		{"Assessments", "schema-assessment-eventhub-sumologic.json", "SecurityRecommendation"},
	} {
		t.Run(c.source, func(t *testing.T) {
			rows := exportedRows(t, c.source, c.file, 203)
			a := openTestDB(t, filepath.Join(t.TempDir(), "a.db"))
			b := openTestDB(t, filepath.Join(t.TempDir(), "b.db"))
			// Batches of 150 and 53 rows: chunks of 64, 64, 22 and 53.
			if err := a.WriteRows(context.Background(), rows[0].Table, rows[:150]); err != nil {
				t.Fatal(err)
			}
			if err := a.WriteRows(context.Background(), rows[0].Table, rows[150:]); err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				vals := make([]any, len(r.Values))
				for i, v := range r.Values {
					if raw, ok := v.(json.RawMessage); ok {
						v = string(raw) // not trusted: validated and compacted again
					}
					vals[i] = v
				}
				if err := b.Insert(context.Background(), c.table, [][]any{vals}); err != nil {
					t.Fatal(err)
				}
			}
			query := c.table + " | order by TimeGenerated asc"
			ra, rb := runKQL(t, a, query), runKQL(t, b, query)
			if len(ra.Rows) != len(rows) {
				t.Fatalf("%d rows, want %d", len(ra.Rows), len(rows))
			}
			ja, _ := json.Marshal(ra)
			jb, _ := json.Marshal(rb)
			if !bytes.Equal(ja, jb) {
				t.Errorf("WriteRows and Insert differ:\n%s\n%s", ja[:min(len(ja), 2000)], jb[:min(len(jb), 2000)])
			}
			// A dynamic column keeps its JSON, and a property reads through it.
			dyn := map[string]string{"SecurityAlert": "ExtendedProperties", "SecurityRecommendation": "Properties"}[c.table]
			got := runKQL(t, a, c.table+" | where isnotempty("+dyn+") | count")
			if n := got.Rows[0][0]; fmt.Sprint(n) != "203" {
				t.Errorf("%s set in %v rows, want 203", dyn, n)
			}
		})
	}
}

// TestInsertBatchSizes writes batches of many sizes (statements of a
// power of two rows, kept prepared from one write to the next) and reads
// every row back once.
func TestInsertBatchSizes(t *testing.T) {
	db := openTestDB(t, filepath.Join(t.TempDir(), "ws.db"))
	tab, _ := latables.Lookup("SecurityAlert")
	next := 0
	for _, n := range []int{1, 3, 64, 65, 130, 7, 1, 200, 127} {
		var rows [][]any
		for range n {
			r := make([]any, len(tab.Columns))
			r[tab.Index("TimeGenerated")] = benchNow.Add(time.Duration(next) * time.Second)
			r[tab.Index("SystemAlertId")] = fmt.Sprintf("alert-%04d", next)
			if next%3 == 0 {
				r[tab.Index("AlertSeverity")] = "High"
			}
			rows = append(rows, r)
			next++
		}
		if err := db.Insert(context.Background(), "SecurityAlert", rows); err != nil {
			t.Fatalf("batch of %d: %v", n, err)
		}
	}
	res := runKQL(t, db, `SecurityAlert | summarize n=count(), ids=dcount(SystemAlertId), high=countif(AlertSeverity == "High"), first=min(SystemAlertId), last=max(SystemAlertId)`)
	want := fmt.Sprint([]any{int64(next), int64(next), int64((next + 2) / 3), "alert-0000", fmt.Sprintf("alert-%04d", next-1)})
	if got := fmt.Sprint(res.Rows[0]); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestInsertFailureWritesNothing: a bad value in the third chunk of a batch
// fails the whole batch (the first two chunks written are rolled back), and
// the writer goes on with the next one.
func TestInsertFailureWritesNothing(t *testing.T) {
	db := openTestDB(t, filepath.Join(t.TempDir(), "ws.db"))
	tab, _ := latables.Lookup("SecurityRecommendation")
	mk := func(n int) [][]any {
		rows := make([][]any, n)
		for i := range rows {
			r := make([]any, len(tab.Columns))
			r[tab.Index("TimeGenerated")] = benchNow
			r[tab.Index("RecommendationName")] = fmt.Sprintf("r%d", i)
			rows[i] = r
		}
		return rows
	}
	bad := mk(300)
	bad[150][tab.Index("Properties")] = "{not json"
	err := db.Insert(context.Background(), "SecurityRecommendation", bad)
	if err == nil || !strings.Contains(err.Error(), "row 150 column Properties") {
		t.Fatalf("err = %v, want the bad row's", err)
	}
	short := mk(100)
	short[99] = short[99][:3]
	if err := db.Insert(context.Background(), "SecurityRecommendation", short); err == nil || !strings.Contains(err.Error(), "row 99 has 3 values") {
		t.Fatalf("err = %v, want the short row's", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.Insert(ctx, "SecurityRecommendation", mk(200)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n, err := db.Count(context.Background(), "SecurityRecommendation"); err != nil || n != 0 {
		t.Fatalf("count = %d, %v after failed batches, want 0", n, err)
	}
	if err := db.Insert(context.Background(), "SecurityRecommendation", mk(200)); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Count(context.Background(), "SecurityRecommendation"); err != nil || n != 200 {
		t.Fatalf("count = %d, %v, want 200", n, err)
	}
}

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPageSize: a new database has 32 KB pages and is in WAL mode; a
// database created with SQLite's default 4 KB pages (before this) keeps
// them, its rows readable and new rows written.
func TestPageSize(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, filepath.Join(dir, "new.db"))
	if got := pragma(t, db.SQL, "page_size"); got != "32768" {
		t.Errorf("new database: page_size %s, want 32768", got)
	}
	if got := pragma(t, db.SQL, "journal_mode"); got != "wal" {
		t.Errorf("new database: journal_mode %s, want wal", got)
	}

	old := filepath.Join(dir, "old.db")
	raw, err := sql.Open("sqlite", "file:"+old+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	tab, _ := latables.Lookup("SecurityAlert")
	kt := kql.Table{Name: tab.Name, Indexes: kql.RecommendedIndexes(tab.Name)}
	for _, c := range tab.Columns {
		kt.Columns = append(kt.Columns, kql.Column{Name: c.Name, Type: kql.Type(c.Type)})
	}
	for _, stmt := range kql.CreateTable(kql.SQLite, kt) {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(`INSERT INTO "SecurityAlert" ("TimeGenerated", "AlertName") VALUES (?, 'before')`, kql.TimeToTicks(benchNow)); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	odb := openTestDB(t, old)
	if got := pragma(t, odb.SQL, "page_size"); got != "4096" {
		t.Errorf("old database: page_size %s, want 4096", got)
	}
	r := make([]any, len(tab.Columns))
	r[tab.Index("TimeGenerated")] = benchNow
	r[tab.Index("AlertName")] = "after"
	if err := odb.Insert(context.Background(), "SecurityAlert", [][]any{r}); err != nil {
		t.Fatal(err)
	}
	res := runKQL(t, odb, `SecurityAlert | order by AlertName asc | project AlertName`)
	if got := fmt.Sprint(res.Rows); got != "[[after] [before]]" {
		t.Errorf("old database rows %s, want after and before", got)
	}
}
