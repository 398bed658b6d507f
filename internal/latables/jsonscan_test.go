package latables

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

var scanSeeds = []string{
	`{}`, `[]`, `{"a":1}`, ` {"a" : [1, 2.5e-3, -0, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9"]} `,
	`{"a":{"b":{"c":[{}]}}}`, `"s"`, `0`, `-1.0E+2`,
	`{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[01]`, `[1.]`, `[.5]`, `[1e]`, `[-]`, `"\x"`, `"\u12g4"`, "\"a\x01\"",
	`{"a":1}x`, `tru`, `nul`, `[1 2]`, `{"a" 1}`, `{1:2}`, `[`, `"abc`, `{"a":"b"`, ``, ` `,
}

// TestValidateAgreesWithEncodingJSON: the scanner accepts exactly what
// encoding/json accepts.
func TestValidateAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range scanSeeds {
		_, err := validate([]byte(s))
		if (err == nil) != json.Valid([]byte(s)) {
			t.Errorf("validate(%q) = %v, json.Valid = %v", s, err, json.Valid([]byte(s)))
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/events/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := validate(b)
		if (err == nil) != json.Valid(b) {
			t.Fatalf("validate(%q) = %v, json.Valid = %v", b, err, json.Valid(b))
		}
		if err != nil {
			return
		}
		// Member lookups agree with encoding/json on valid objects.
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil || m == nil { // not an object (null decodes into a nil map)
			return
		}
		if !utf8.Valid(b) { // encoding/json turns a bad byte of a name into U+FFFD
			return
		}
		o, ok := parseObject(b)
		if !ok {
			t.Fatalf("parseObject refused the object %q", b)
		}
		for k, v := range m {
			got := o.raw(k)
			var a, c any
			if json.Unmarshal(got, &a) != nil || json.Unmarshal(v, &c) != nil {
				t.Fatalf("member %q: span %q is not a value", k, got)
			}
		}
	})
}
