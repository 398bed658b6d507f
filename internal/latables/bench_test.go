package latables_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"sluice/internal/latables"
)

func benchBody(b *testing.B, file string) []byte {
	raw := readEvent(&testing.T{}, file)
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		b.Fatal(err)
	}
	return c.Bytes()
}

func BenchmarkBuild(b *testing.B) {
	for _, s := range samples {
		body := benchBody(b, s.file)
		b.Run(s.file, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				r, err := latables.Build(s.source, body, latables.Options{Now: now})
				if err != nil {
					b.Fatal(err)
				}
				buf = r.AppendStreamJSON(buf[:0])
			}
		})
	}
}
