package security

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"testing"
)

// This file holds the JSON shape comparison used by the golden tests: two
// documents have the same shape when their objects have the same keys in
// the same order and spelling, their values the same JSON types, and
// timestamps the same .NET style. Arrays are compared element by element up
// to the shorter length (so an array of objects compares element shapes).
// A null on either side matches any type: the samples themselves disagree
// on which fields are null (ConfidenceScore, ExtendedLinks, AgentId).

func decodeOrdered(t interface{ Fatalf(string, ...any) }, b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		t.Fatalf("decode %.80q: %v", b, err)
	}
	return v
}

var (
	anyTimestampRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)
	netTimestampRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?Z$`)
)

type shapeOpts struct {
	// unordered compares object key sets, ignoring order.
	unordered bool
	// skip lists paths whose values are free-form (compared by type only).
	skip []string
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case Object:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}

// shapeDiff lists the differences in shape between got and want.
func shapeDiff(path string, got, want any, o shapeOpts) []string {
	if got == nil || want == nil {
		return nil
	}
	if jsonType(got) != jsonType(want) {
		return []string{fmt.Sprintf("%s: type %s, want %s", path, jsonType(got), jsonType(want))}
	}
	if slices.Contains(o.skip, path) {
		return nil
	}
	var diffs []string
	switch w := want.(type) {
	case string:
		g := got.(string)
		if anyTimestampRe.MatchString(w) && !netTimestampRe.MatchString(g) {
			diffs = append(diffs, fmt.Sprintf("%s: %q is not a .NET-style timestamp like %q", path, g, w))
		}
	case []any:
		g := got.([]any)
		for i := 0; i < len(g) && i < len(w); i++ {
			diffs = append(diffs, shapeDiff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i], o)...)
		}
	case Object:
		g := got.(Object)
		gk, wk := keys(g), keys(w)
		if o.unordered {
			slices.Sort(gk)
			slices.Sort(wk)
		}
		if !slices.Equal(gk, wk) {
			diffs = append(diffs, fmt.Sprintf("%s: keys\n\t%q\nwant\n\t%q", path, gk, wk))
		}
		for _, m := range w {
			if gv, ok := getExact(g, m.Key); ok {
				diffs = append(diffs, shapeDiff(path+"."+m.Key, gv, m.Value, o)...)
			}
		}
	}
	return diffs
}

func keys(o Object) []string {
	out := make([]string, len(o))
	for i, m := range o {
		out[i] = m.Key
	}
	return out
}

func getExact(o Object, k string) (any, bool) {
	for _, m := range o {
		if m.Key == k {
			return m.Value, true
		}
	}
	return nil, false
}

func TestShapeDiff(t *testing.T) {
	tests := []struct {
		name      string
		got, want string
		opts      shapeOpts
		wantDiffs int
	}{
		{name: "same", got: `{"a":1,"b":{"c":"x"}}`, want: `{"a":2,"b":{"c":"y"}}`},
		{name: "key_order", got: `{"b":1,"a":1}`, want: `{"a":1,"b":1}`, wantDiffs: 1},
		{name: "key_order_unordered", got: `{"b":1,"a":1}`, want: `{"a":1,"b":1}`, opts: shapeOpts{unordered: true}},
		{name: "casing", got: `{"A":1}`, want: `{"a":1}`, wantDiffs: 1},
		{name: "type", got: `{"a":"1"}`, want: `{"a":1}`, wantDiffs: 1},
		{name: "null_matches_any", got: `{"a":null,"b":[1]}`, want: `{"a":{},"b":null}`},
		{name: "nested_array_elements", got: `{"a":[{"x":1},{"y":1}]}`, want: `{"a":[{"x":1},{"x":1}]}`, wantDiffs: 1},
		{name: "timestamp_style", got: `{"t":"2024-11-20T09:19:16.4850000Z"}`, want: `{"t":"2024-11-20T09:19:16.485Z"}`, wantDiffs: 1},
		{name: "timestamp_ok", got: `{"t":"2024-11-20T09:19:16Z"}`, want: `{"t":"2024-11-20T09:19:16.485Z"}`},
		{name: "skip_free_form", got: `{"p":{"x":1}}`, want: `{"p":{"y":1}}`, opts: shapeOpts{skip: []string{"$.p"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := shapeDiff("$", decodeOrdered(t, []byte(tt.got)), decodeOrdered(t, []byte(tt.want)), tt.opts)
			if len(d) != tt.wantDiffs {
				t.Errorf("diffs = %q, want %d", d, tt.wantDiffs)
			}
		})
	}
}
