package security

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAppendString_matches_encoding_json compares the fast string encoder
// with encoding/json (HTML escaping off) on every ASCII byte, the special
// runes and random byte strings, valid UTF-8 or not.
func TestAppendString_matches_encoding_json(t *testing.T) {
	inputs := []string{"", "plain", "<br>&amp;", "tab\there", "\u2028\u2029", "é漢字🙂", "\xff\xfe", "a\x00b\x1f\x7f"}
	for c := range 128 {
		inputs = append(inputs, string(rune(c)))
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		want, err := marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, in); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", in, got, want)
		}
		// With HTML escaping, as json.Marshal does by default.
		wantHTML, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendStringHTML(nil, in); !bytes.Equal(got, wantHTML) {
			t.Fatalf("appendStringHTML(%q) = %s, want %s", in, got, wantHTML)
		}
	}
}

func randomDoc(r *rand.Rand, depth int) string {
	strs := []string{`"a"`, `"with \"escapes\" \\ \n \u00e9 \ud83d\ude42"`, `"<b>"`, `""`, `"Ünïcödé"`}
	scalars := []string{`1`, `-2.5e3`, `0`, `true`, `false`, `null`, `12345678901234567890`}
	switch n := r.IntN(10); {
	case depth > 3 || n < 4:
		if r.IntN(2) == 0 {
			return strs[r.IntN(len(strs))]
		}
		return scalars[r.IntN(len(scalars))]
	case n < 7:
		parts := make([]string, r.IntN(4))
		for i := range parts {
			parts[i] = strs[r.IntN(len(strs))] + ` : ` + randomDoc(r, depth+1)
		}
		return "{ " + strings.Join(parts, ",\n") + " }"
	default:
		parts := make([]string, r.IntN(4))
		for i := range parts {
			parts[i] = randomDoc(r, depth+1)
		}
		return "[" + strings.Join(parts, " , ") + "]"
	}
}

// TestDecodeFast_matches_token_decoder compares the fast decoder with the
// token decoder, and the fast encoder with encoding/json, on random
// documents.
func TestDecodeFast_matches_token_decoder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 3000 {
		doc := randomDoc(r, 0)
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		want, err := decodeValue(dec)
		if err != nil {
			t.Fatalf("token decoder on %s: %v", doc, err)
		}
		got, err := decodeFast([]byte(doc))
		if err != nil {
			t.Fatalf("decodeFast(%s): %v", doc, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("decodeFast(%s) (-token +fast):\n%s", doc, diff)
		}
		enc, err := appendValue(nil, got)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(enc, &a); err != nil {
			t.Fatalf("re-encoded %s: %v", enc, err)
		}
		_ = json.Unmarshal([]byte(doc), &b)
		if diff := cmp.Diff(b, a); diff != "" {
			t.Fatalf("round trip of %s (-doc +encoded):\n%s", doc, diff)
		}
	}
	for _, bad := range []string{`{`, `{"a":}`, `[1,]`, `"open`, `tru`, `{"a" 1}`, `{} x`} {
		if _, err := decodeFast([]byte(bad)); err == nil {
			t.Errorf("decodeFast(%s) accepted malformed input", bad)
		}
	}
}

func TestTopLevelMember(t *testing.T) {
	tests := []struct {
		doc, key, value string
		found, ok       bool
	}{
		{`{"a":1,"Properties":{"x":[1,{"y":"}"}]},"b":"c"}`, "properties", `{"x":[1,{"y":"}"}]}`, true, true},
		{`{"properties":null}`, "properties", `null`, true, true},
		{`{"properties":1,"PROPERTIES":"last"}`, "properties", `"last"`, true, true},
		{`{"a":"properties"}`, "properties", "", false, true},
		{`{}`, "properties", "", false, true},
		{`[1]`, "properties", "", false, false},
		{`{"a":1`, "properties", "", false, false},
	}
	for _, tt := range tests {
		v, found, ok := topLevelMember([]byte(tt.doc), tt.key)
		if string(v) != tt.value || found != tt.found || ok != tt.ok {
			t.Errorf("topLevelMember(%s) = %s %v %v, want %s %v %v", tt.doc, v, found, ok, tt.value, tt.found, tt.ok)
		}
	}
}

// TestAppendString_long_runs: strings long enough for the 8-byte test,
// mostly plain with every kind of special byte at every offset.
func TestAppendString_long_runs(t *testing.T) {
	specials := []string{"\"", "\\", "\x00", "\x1f", " ", "\x7f", "<", ">", "&", "é", "\u2028", "\xff", "~", "!"}
	r := rand.New(rand.NewPCG(15, 16))
	for range 20000 {
		b := []byte(strings.Repeat("abcdefghij", 1+r.IntN(5)))
		for range r.IntN(3) {
			i := r.IntN(len(b) + 1)
			b = append(b[:i:i], append([]byte(specials[r.IntN(len(specials))]), b[i:]...)...)
		}
		in := string(b)
		want, _ := marshal(in)
		if got := appendString(nil, in); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", in, got, want)
		}
		wantHTML, _ := json.Marshal(in)
		if got := appendStringHTML(nil, in); !bytes.Equal(got, wantHTML) {
			t.Fatalf("appendStringHTML(%q) = %s, want %s", in, got, wantHTML)
		}
	}
}
