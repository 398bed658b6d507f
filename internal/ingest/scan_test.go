package ingest

import (
	"encoding/json"
	"strings"
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
		{`{"typ\u0065":"t"}`, false},
		{"{\"type\":\"\xe7\"}", false},
		{`{"type":7}`, false},
		{`{"type":"t"`, false},
		{`{"type":"t"} trailing`, false},
		{`[{"type":"t"}]`, false},
		{`{"type":"t",}`, false},
		{`{"id":"` + strings.Repeat("abcdefgh", 9) + `é\"\\x","type":"long ` + strings.Repeat("x", 40) + `","p":{"a":"` + strings.Repeat("}", 17) + `"}}`, true},
		{"{\"a\":\"" + strings.Repeat("x", 20) + "\x01\",\"type\":\"t\"}", false},
		{`{"a":"` + strings.Repeat("x", 20) + `\"}","type":"t"}`, true},
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

// FuzzScanEnvelope: of a valid line the scan accepts, encoding/json reads
// the same type and op. (The scan does not promise to refuse every
// malformed line: the record parsers decode the whole line after it.)
func FuzzScanEnvelope(f *testing.F) {
	f.Add([]byte(`{"type":"Microsoft.Security/assessments","id":"x","properties":{"a":[1,{"type":"nested"}],"b":"}"}}`))
	f.Add([]byte(`{"properties":{"type":"inner"},"TYPE":"outer","op":"delete"}`))
	f.Add([]byte(`{"typ\u0065":"t","\u006fp":"delete"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		typ, op, ok := scanEnvelope(line)
		if !ok {
			return
		}
		var env envelope
		if err := json.Unmarshal(line, &env); err != nil {
			return
		}
		if typ != env.Type || op != env.Op {
			t.Fatalf("scanEnvelope(%q) = %q %q, encoding/json says %q %q", line, typ, op, env.Type, env.Op)
		}
	})
}

// BenchmarkScanEnvelope reads the envelope of a realistic 1.2 KB
// assessment line.
func BenchmarkScanEnvelope(b *testing.B) {
	line := []byte(`{"type":"Microsoft.Security/assessments","id":"/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm-0000001/providers/Microsoft.Security/assessments/4fb67663-9ab9-475d-b026-8c544cced439","properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"Unhealthy","cause":"PolicyEvaluation","description":"Evaluated by the scanner at its scheduled run. ` +
		strings.Repeat("No further detail. ", 4) + `"},"additionalData":{"scanner":"contoso-vuln-scanner","scannerVersion":"4.12.3","scanId":"0b5f1d3e-7a6c-4e2b-9d8f-1c2b3a4d5e6f","agentId":"7c6b5a4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d","osName":"Ubuntu 22.04.4 LTS","kernel":"5.15.0-1064-azure","lastBoot":"2025-01-02T03:04:05Z","notes":"` +
		strings.Repeat("Checked. ", 60) + `"}}}`)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for range b.N {
		if typ, _, ok := scanEnvelope(line); !ok || typ == "" {
			b.Fatal("not scanned")
		}
	}
}
