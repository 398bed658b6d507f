package ingest

import (
	"strings"
	"testing"
)

func TestTopLevelString(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`{"type":"x","id":"/subscriptions/1/a"}`, "/subscriptions/1/a", true},
		{` { "id" : "a b" , "id":"second"}`, "a b", true},
		{`{"properties":{"id":"nested"},"id":"top"}`, "top", true},
		{`{"list":[{"id":"in array"}],"name":"id","id":"top"}`, "top", true},
		{`{"x":"\"id\":\"quoted\"","id":"top"}`, "top", true},
		{`{"id":"with \"escape\""}`, "", false},
		{`{"id":42}`, "", false},
		{`{"ID":"other case"}`, "", false},
		{`{"properties":{"id":"nested only"}}`, "", false},
		{`{"id":"unterminated`, "", false},
		{``, "", false},
	} {
		got, ok := TopLevelString([]byte(tc.in), "id")
		if got != tc.want || ok != tc.ok {
			t.Errorf("TopLevelString(%s) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzTopLevelString checks that the scan never panics and that what it
// returns is an escape-free string taken from its input.
func FuzzTopLevelString(f *testing.F) {
	for _, s := range []string{`{"id":"a"}`, `{"a":{"id":"b"},"id":"c"}`, `{"id":"\u0041"}`, `[{"id":"x"}]`, `{"id"`, `"id":"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, ok := TopLevelString(b, "id")
		if !ok {
			if id != "" {
				t.Fatalf("not found, yet %q", id)
			}
			return
		}
		if strings.ContainsAny(id, `"\`) || !strings.Contains(string(b), `"`+id+`"`) {
			t.Fatalf("id %q is not an escape-free string of %q", id, b)
		}
	})
}
