package kql

import (
	"fmt"
	"strings"
)

// Type is a KQL scalar type, spelled as the Log Analytics query API and the
// table reference spell it.
type Type string

// The KQL scalar types.
const (
	String   Type = "string"
	Int      Type = "int"
	Long     Type = "long"
	Real     Type = "real"
	Bool     Type = "bool"
	DateTime Type = "datetime"
	Timespan Type = "timespan"
	Dynamic  Type = "dynamic"
	GUID     Type = "guid"

	// null is the type of an untyped null (never a column type).
	null Type = "null"
)

// ParseType reads a type name as KQL accepts it (including the aliases
// double, boolean, date, time, decimal).
func ParseType(s string) (Type, bool) {
	switch strings.ToLower(s) {
	case "string":
		return String, true
	case "int":
		return Int, true
	case "long":
		return Long, true
	case "real", "double", "decimal":
		return Real, true
	case "bool", "boolean":
		return Bool, true
	case "datetime", "date":
		return DateTime, true
	case "timespan", "time":
		return Timespan, true
	case "dynamic":
		return Dynamic, true
	case "guid", "uniqueid":
		return GUID, true
	}
	return "", false
}

func (t Type) numeric() bool { return t == Int || t == Long || t == Real }

func (t Type) integral() bool { return t == Int || t == Long }

// Column is a named, typed column.
type Column struct {
	Name string
	Type Type
}

// Table is a table the queries may name.
type Table struct {
	// Name is the KQL name (case-sensitive), e.g. SecurityAlert.
	Name string
	// SQLName is the table's name in the database; empty means Name. A
	// workspace that keeps several workspaces in one database can map each
	// to its own tables.
	SQLName string
	// Columns in table order.
	Columns []Column
	// Scope, when set, restricts every read of the table to rows whose
	// (hidden, non-KQL) column Scope.Column equals Scope.Value: one set of
	// tables can hold several workspaces.
	Scope *Scope
	// Indexes are the indexes CreateTable makes besides the one on
	// TimeGenerated, as column lists (see RecommendedIndexes).
	Indexes [][]string
}

// RecommendedIndexes returns the extra indexes Sluice gives a Security
// table. SecurityAlert is grouped and filtered by severity above all: an
// index on (AlertSeverity, TimeGenerated) lets SQLite count alerts by
// severity in index order, without sorting, for any time range.
func RecommendedIndexes(table string) [][]string {
	switch table {
	case "SecurityAlert":
		return [][]string{{"AlertSeverity", "TimeGenerated"}}
	}
	return nil
}

// Scope is a hidden equality filter on a table.
type Scope struct {
	Column string
	Value  any
}

func (t *Table) sqlName() string {
	if t.SQLName != "" {
		return t.SQLName
	}
	return t.Name
}

func (t *Table) column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Schema is the set of tables a query may read.
type Schema struct {
	tables map[string]*Table
	order  []string
}

// NewSchema returns a schema of the given tables. It rejects duplicate
// table or column names and unknown column types.
func NewSchema(tables ...Table) (*Schema, error) {
	s := &Schema{tables: map[string]*Table{}}
	for i := range tables {
		t := tables[i]
		if t.Name == "" {
			return nil, fmt.Errorf("kql: table %d has no name", i)
		}
		if _, dup := s.tables[t.Name]; dup {
			return nil, fmt.Errorf("kql: duplicate table %q", t.Name)
		}
		seen := map[string]bool{}
		for _, c := range t.Columns {
			if !c.Type.Valid() {
				return nil, fmt.Errorf("kql: table %s: column %q has unknown type %q", t.Name, c.Name, c.Type)
			}
			if c.Name == "" || seen[strings.ToLower(c.Name)] {
				return nil, fmt.Errorf("kql: table %s: empty or duplicate column name %q", t.Name, c.Name)
			}
			seen[strings.ToLower(c.Name)] = true
		}
		for _, idx := range t.Indexes {
			if len(idx) == 0 {
				return nil, fmt.Errorf("kql: table %s: empty index", t.Name)
			}
			for _, c := range idx {
				if _, ok := t.column(c); !ok {
					return nil, fmt.Errorf("kql: table %s: index on unknown column %q", t.Name, c)
				}
			}
		}
		t.Columns = append([]Column(nil), t.Columns...)
		s.tables[t.Name] = &t
		s.order = append(s.order, t.Name)
	}
	return s, nil
}

// Valid reports whether t is one of the Type constants (a column type).
func (t Type) Valid() bool {
	switch t {
	case String, Int, Long, Real, Bool, DateTime, Timespan, Dynamic, GUID:
		return true
	}
	return false
}

// Table returns the named table.
func (s *Schema) Table(name string) (*Table, bool) {
	t, ok := s.tables[name]
	return t, ok
}

// Tables returns the tables in the order they were given.
func (s *Schema) Tables() []*Table {
	out := make([]*Table, len(s.order))
	for i, n := range s.order {
		out[i] = s.tables[n]
	}
	return out
}
