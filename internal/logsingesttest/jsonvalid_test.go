package logsingesttest

import (
	"encoding/json"
	"testing"
)

var validSeeds = []string{
	`[]`, `[{}]`, `[{"a":1,"b":[true,false,null],"c":{"d":"e\u00e9\n"}}]`, ` [ { "a" : -0.5e+3 } , {} ] `, `"x"`, `1`,
	`{}`, `{"a":{}}`, `[[],[[]]]`,
	`[`, `[{]`, `[{"a"}]`, `[{"a":}]`, `[{"a":1,}]`, `[1,]`, `[01]`, `[1.]`, `[-]`, `[1e+]`, `["\q"]`, `["\u12"]`,
	"[\"\x1f\"]", `[tru]`, `[nul]`, `[1 2]`, `{"a":1}}`, `[]]`, ``, ` `, `[{"a":1}`, `{"a" "b"}`, `{1:1}`,
}

func TestValidJSON(t *testing.T) {
	for _, s := range validSeeds {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid = %v", s, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range validSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}
