package kql_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sluice/internal/kql"
)

// A workspace creates its tables from the storage contract, writes rows
// encoded by the dialect and answers queries with Run.
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "kql-example")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "ws.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()

	alerts := kql.Table{
		Name: "SecurityAlert",
		Columns: []kql.Column{
			{Name: "TimeGenerated", Type: kql.DateTime},
			{Name: "AlertSeverity", Type: kql.String},
			{Name: "Entities", Type: kql.String},
		},
		Indexes: kql.RecommendedIndexes("SecurityAlert"),
	}
	for _, stmt := range kql.CreateTable(kql.SQLite, alerts) {
		if _, err := db.Exec(stmt); err != nil {
			panic(err)
		}
	}
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for i, sev := range []string{"High", "Low", "High"} {
		at, _ := kql.SQLite.Encode(kql.DateTime, now.Add(-time.Duration(i)*time.Hour))
		if _, err := db.Exec(`INSERT INTO "SecurityAlert" VALUES (?, ?, ?)`, at, sev, `[{"HostName":"vm1"}]`); err != nil {
			panic(err)
		}
	}

	schema, err := kql.NewSchema(alerts)
	if err != nil {
		panic(err)
	}
	res, err := kql.Run(context.Background(), db, schema,
		`SecurityAlert | where TimeGenerated > ago(1d) | summarize count(), Hosts = make_set(tostring(parse_json(Entities)[0].HostName)) by AlertSeverity | order by AlertSeverity asc`,
		now, kql.TimeRange{})
	if err != nil {
		panic(err)
	}
	out, _ := json.Marshal(res.Response())
	fmt.Println(string(out))

	_, err = kql.Run(context.Background(), db, schema, "SecurityAlert\n| where Severity == 'High'", now, kql.TimeRange{})
	fmt.Println(err)
	// Output:
	// {"tables":[{"name":"PrimaryResult","columns":[{"name":"AlertSeverity","type":"string"},{"name":"count_","type":"long"},{"name":"Hosts","type":"dynamic"}],"rows":[["High",2,"[\"vm1\"]"],["Low",1,"[\"vm1\"]"]]}]}
	// line 2, column 9: unknown column or variable 'Severity'
	// | where Severity == 'High'
	//         ^
}
