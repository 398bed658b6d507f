package main

import "testing"

func TestTopLevelID(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"type":"x","id":"/subscriptions/a","properties":{"id":"inner"}}`, "/subscriptions/a"},
		{`{"properties":{"id":"inner","list":[{"id":"deeper"}]},"name":"id","id" : "top\"q"}`, `top"q`},
		{`{"Severity":"High","SystemAlertId":"s","id":"a\\b"}`, `a\b`},
	} {
		got, err := topLevelID([]byte(c.in))
		if err != nil || got != c.want {
			t.Errorf("topLevelID(%s) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`{"properties":{"id":"inner"}}`, `{"id":`, `{"a":"unterminated`, `{"id":12}`} {
		if got, err := topLevelID([]byte(bad)); err == nil {
			t.Errorf("topLevelID(%s) = %q, want an error", bad, got)
		}
	}
}
