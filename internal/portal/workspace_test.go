package portal

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWSDecodeResult: the streaming decoder keeps the first table's
// columns and at most wsMaxRows rows, counts the rest, reads keys in any
// order, skips other tables and reports PartialError.
func TestWSDecodeResult(t *testing.T) {
	var rows []string
	for i := range wsMaxRows + 5 {
		rows = append(rows, fmt.Sprintf(`[%d,"s%d",null,"{\"a\":%d}"]`, i, i, i))
	}
	body := `{"tables":[{"rows":[` + strings.Join(rows, ",") + `],"name":"PrimaryResult",` +
		`"columns":[{"name":"n","type":"long"},{"name":"s","type":"string"},{"name":"z","type":"string"},{"name":"d","type":"dynamic"}]},` +
		`{"name":"Other","columns":[],"rows":[[1]]}],` +
		`"error":{"code":"PartialError","message":"There were some errors.","details":[{"code":"EngineError","message":"Capped at 500000 rows."}]}}`
	res, err := wsDecodeResult([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != wsMaxRows+5 || len(res.Rows) != wsMaxRows || !res.Truncated {
		t.Errorf("total %d, kept %d, truncated %v", res.Total, len(res.Rows), res.Truncated)
	}
	want := []wsCell{{Text: "7"}, {Text: "s7"}, {Null: true}, {Text: `{"a":7}`, Code: true}}
	if diff := cmp.Diff(want, res.Rows[7]); diff != "" {
		t.Errorf("row 7 (-want +got):\n%s", diff)
	}
	if len(res.Columns) != 4 || res.Columns[3] != (wsColumn{Name: "d", Type: "dynamic"}) {
		t.Errorf("columns %+v", res.Columns)
	}
	if res.Partial != "There were some errors. Capped at 500000 rows." {
		t.Errorf("partial %q", res.Partial)
	}
	for _, bad := range []string{``, `[]`, `{"tables":{}}`, `{"tables":[{"rows":[[1],]}]}`} {
		if _, err := wsDecodeResult([]byte(bad)); err == nil {
			t.Errorf("%q decoded without an error", bad)
		}
	}
	small, err := wsDecodeResult([]byte(`{"tables":[{"name":"PrimaryResult","columns":[{"name":"c","type":"long"}],"rows":[[3]]}]}`))
	if err != nil || small.Total != 1 || small.Truncated || small.Rows[0][0].Text != "3" {
		t.Errorf("small answer %+v %v", small, err)
	}
}

// TestWSDecodeError digs out the KQL error's kind, detail and position.
func TestWSDecodeError(t *testing.T) {
	body := `{"error":{"code":"BadArgumentError","message":"The request had some invalid properties","innererror":{"code":"SyntaxError","message":"bad","innererror":{"code":"SYN0002","message":"Query could not be parsed at line 1, column 5","line":1,"pos":5,"token":"x"}}}}`
	got := wsDecodeError(400, []byte(body))
	want := &wsError{Code: "SyntaxError", Message: "bad", InnerCode: "SYN0002", Detail: "Query could not be parsed at line 1, column 5", Line: 1, Pos: 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	plain := wsDecodeError(403, []byte(`{"error":{"code":"AuthorizationFailed","message":"no"}}`))
	if plain.Code != "AuthorizationFailed" || plain.Message != "no" || plain.Line != 0 {
		t.Errorf("plain error %+v", plain)
	}
	if e := wsDecodeError(502, []byte("not json")); e.Message != "not json" {
		t.Errorf("non-JSON error %+v", e)
	}
}
