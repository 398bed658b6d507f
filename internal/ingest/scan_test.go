package ingest

import (
	"encoding/json"
	"testing"
)

// TestScanEnvelope compares the fast envelope scan with encoding/json on
// the lines it accepts, and checks that it declines what it cannot read.
func TestScanEnvelope(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
	}{
		{`{"type":"Microsoft.Security/assessments","id":"x","properties":{"a":[1,{"type":"nested"}],"b":"}"}}`, true},
		{`{"properties":{"type":"inner"},"TYPE":"outer","op":"delete"}`, true},
		{` { "type" : "t" , "n" : -1.5e3 , "b" : true , "z" : null } `, true},
		{`{"type":null}`, true},
		{`{}`, true},
		{`{"type":"with \"escape\""}`, false},
		{`{"type":7}`, false},
		{`{"type":"t"`, false},
		{`{"type":"t"} trailing`, false},
		{`[{"type":"t"}]`, false},
		{`{"type":"t",}`, false},
	}
	for _, tt := range tests {
		typ, op, ok := scanEnvelope([]byte(tt.line))
		if ok != tt.ok {
			t.Errorf("scanEnvelope(%s) ok = %v, want %v", tt.line, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		var env envelope
		if err := json.Unmarshal([]byte(tt.line), &env); err != nil {
			t.Fatalf("%s: %v", tt.line, err)
		}
		if typ != env.Type || op != env.Op {
			t.Errorf("scanEnvelope(%s) = %q %q, encoding/json says %q %q", tt.line, typ, op, env.Type, env.Op)
		}
	}
}
