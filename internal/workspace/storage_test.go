package workspace_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

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
