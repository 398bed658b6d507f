package security

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestScannerStr: a string value reads as json.Unmarshal reads it, and is
// refused exactly when json.Unmarshal refuses it.
func TestScannerStr(t *testing.T) {
	parts := []string{`a`, `plain text `, `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u00e9`, `\ud83d\ude00`, `\ud800`,
		`é`, "\xff", "\x01", `\x`, `\u12`, `"`, `\`, "\u2028"}
	r := rand.New(rand.NewPCG(23, 24))
	for range 20000 {
		var b strings.Builder
		b.WriteByte('"')
		for range r.IntN(6) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		if r.IntN(4) == 0 {
			b.WriteString(strings.Repeat("x", r.IntN(20)))
		}
		b.WriteByte('"')
		doc := b.String()
		sc := &scanner{s: doc}
		got, ok := sc.str()
		ok = ok && sc.end()
		var want string
		err := json.Unmarshal([]byte(doc), &want)
		if ok != (err == nil) {
			t.Fatalf("%q: scanner ok = %v, json.Unmarshal says %v", doc, ok, err)
		}
		if ok && got != want {
			t.Fatalf("%q: scanner %q, json.Unmarshal %q", doc, got, want)
		}
	}
}
