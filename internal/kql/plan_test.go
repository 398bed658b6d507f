package kql_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"sluice/internal/kql"
)

func queryPlan(t *testing.T, db *sql.DB, schema *kql.Schema, q string) string {
	t.Helper()
	c, err := kql.Compile(q, schema, kql.SQLite, kql.Options{Now: benchNow})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("EXPLAIN QUERY PLAN "+c.SQL, c.Args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	return b.String()
}

// TestSeverityCountPlan: the nested SELECTs the compiler emits flatten into
// one read of the (AlertSeverity, TimeGenerated) index, grouped in index
// order without a sort.
func TestSeverityCountPlan(t *testing.T) {
	schema, tables := securitySchema(t)
	db := fillAlerts(t, tables, 2000, 30*24*time.Hour)
	plan := queryPlan(t, db, schema, severityQuery)
	if !strings.Contains(plan, "COVERING INDEX SecurityAlert_AlertSeverity_TimeGenerated") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("plan:\n%s", plan)
	}
	plan = queryPlan(t, db, schema, "SecurityAlert | where TimeGenerated > ago(1h) | project AlertName")
	if !strings.Contains(plan, "INDEX SecurityAlert_TimeGenerated (TimeGenerated>?)") {
		t.Errorf("a time filter does not use the TimeGenerated index:\n%s", plan)
	}
}

// TestJoinPlan: the right side of a join is materialized and indexed on
// both keys, including one computed with extract().
func TestJoinPlan(t *testing.T) {
	schema, tables := securitySchema(t)
	db := fillJoin(t, tables, 2000)
	plan := queryPlan(t, db, schema, joinQuery)
	if !strings.Contains(plan, "AUTOMATIC COVERING INDEX (c") || !strings.Contains(plan, "=? AND c") {
		t.Errorf("the join does not index both keys:\n%s", plan)
	}
}

// TestUnusedColumnsArePruned: the materialized right side of a join holds
// only the columns the query uses, and an unused expensive column is not
// computed.
func TestUnusedColumnsArePruned(t *testing.T) {
	schema, _ := securitySchema(t)
	c, err := kql.Compile(`SecurityRegulatoryCompliance
| join kind=inner (SecurityRecommendation | extend Unused = extract("(x+)", 1, Description)) on RecommendationId
| project State, RecommendationState`, schema, kql.SQLite, kql.Options{Now: benchNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, unused := range []string{`"Properties"`, `"Description"`, `"RecommendationAdditionalData"`, "kql_extract", `"PassedResources"`} {
		if strings.Contains(c.SQL, unused) {
			t.Errorf("the SQL reads %s:\n%s", unused, c.SQL)
		}
	}
	for _, used := range []string{`"State"`, `"RecommendationState"`, `"RecommendationId"`} {
		if !strings.Contains(c.SQL, used) {
			t.Errorf("the SQL does not read %s:\n%s", used, c.SQL)
		}
	}
}
