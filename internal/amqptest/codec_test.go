package amqptest

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestValueRoundTrip(t *testing.T) {
	ts := time.UnixMilli(1_700_000_000_123).UTC()
	cases := map[string]any{
		"null":        nil,
		"true":        true,
		"false":       false,
		"ubyte":       uint8(200),
		"ushort":      uint16(65000),
		"uint0":       uint32(0),
		"small_uint":  uint32(7),
		"uint":        uint32(1 << 20),
		"ulong0":      uint64(0),
		"small_ulong": uint64(9),
		"ulong":       uint64(1 << 40),
		"byte":        int8(-5),
		"short":       int16(-3000),
		"small_int":   int32(-100),
		"int":         int32(-100000),
		"small_long":  int64(42),
		"long":        int64(-1 << 40),
		"float":       float32(1.5),
		"double":      float64(-2.25),
		"char":        Char('é'),
		"timestamp":   ts,
		"uuid":        UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		"vbin8":       []byte("short"),
		"vbin32":      bytes.Repeat([]byte{7}, 300),
		"str8":        "héllo",
		"str32":       strings.Repeat("x", 256),
		"sym8":        Symbol("amqp:not-found"),
		"sym32":       Symbol(strings.Repeat("s", 300)),
		"list0":       []any{},
		"list8":       []any{uint32(1), "two", Symbol("three"), nil},
		"list32":      []any{strings.Repeat("y", 300), int64(5)},
		"map8":        Map{{Symbol("x-opt-offset"), "12"}, {"k", int64(1)}},
		"map32":       Map{{"big", strings.Repeat("z", 300)}},
		"array_sym":   Array{Elems: []any{Symbol("ANONYMOUS"), Symbol("PLAIN")}, ctor: codeSym32},
		"array_str":   Array{Elems: []any{"0", "1", "2"}, ctor: codeStr32},
		"array_long":  Array{Elems: []any{int64(1), int64(-2)}, ctor: codeLong},
		"array_empty": Array{Elems: []any{}, ctor: codeSym8},
		"described":   Described{Descriptor: uint64(0x24), Value: []any{}},
		"nested":      Described{Descriptor: Symbol("amqp:source:list"), Value: []any{"hub", Map{{Symbol("f"), Described{uint64(selectorFilterCode), "sel"}}}}},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := appendValue(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeValue(b)
			if err != nil {
				t.Fatalf("decode % x: %v", b, err)
			}
			if diff := cmp.Diff(v, got, cmp.AllowUnexported(Array{})); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
			d := decoder{b: b}
			raw, err := d.skip()
			if err != nil || !bytes.Equal(raw, b) {
				t.Fatalf("skip = % x, %v; want the whole encoding", raw, err)
			}
		})
	}
}

func TestCompactEncodings(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want []byte
	}{
		{uint32(0), []byte{0x43}},
		{uint64(5), []byte{0x53, 5}},
		{int64(-1), []byte{0x55, 0xff}},
		{[]any{}, []byte{0x45}},
		{[]any{true}, []byte{0xc0, 2, 1, 0x41}},
		{Symbol("ab"), []byte{0xa3, 2, 'a', 'b'}},
	} {
		got, err := appendValue(nil, tc.v)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("encode %#v = % x, %v; want % x", tc.v, got, err, tc.want)
		}
	}
}

func TestMalformedValuesAreErrors(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":            {},
		"truncated_uint":   {0x70, 0, 0},
		"truncated_str":    {0xa1, 10, 'a'},
		"list_count_large": {0xc0, 2, 200, 0x40},
		"odd_map":          {0xc1, 2, 1, 0x40},
		"unknown_ctor":     {0x01},
		"array_overflow":   {0xe0, 2, 100, 0x70},
		"trailing":         {0x40, 0x40},
	} {
		if _, err := decodeValue(b); err == nil {
			t.Errorf("%s: decoded % x without error", name, b)
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	b, err := appendFrame(nil, frameAMQP, 3, perfTransfer, []byte("payload"), uint32(1), uint32(2), []byte("tag"), uint32(0), true, false)
	if err != nil {
		t.Fatal(err)
	}
	f, err := readFrame(bufio.NewReader(bytes.NewReader(b)), 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	if f.channel != 3 || f.code != perfTransfer || string(f.payload) != "payload" || !f.bool(4) || string(f.binary(2)) != "tag" {
		t.Fatalf("frame = %+v", f)
	}
	if _, err := readFrame(bufio.NewReader(bytes.NewReader(b)), 16); err == nil {
		t.Fatal("a frame over the maximum size was read")
	}
}

func TestWithAnnotationsKeepsOtherSectionsVerbatim(t *testing.T) {
	var msg []byte
	msg, _ = describedList(msg, secHeader, true)
	msg, _ = appendValue(msg, Described{uint64(secMessageAnns), Map{{Symbol("x-opt-partition-key"), "k"}, {Symbol("custom"), int32(1)}}})
	msg, _ = describedList(msg, secProperties, "id-1", nil, nil, nil, nil, nil, Symbol("application/json"))
	msg, _ = appendValue(msg, Described{uint64(secData), []byte(`{"a":1}`)})
	m, err := parseMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := withAnnotations(m, Map{{Symbol("x-opt-sequence-number"), int64(7)}, {Symbol("x-opt-partition-key"), "k2"}})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := parseMessage(out)
	if err != nil {
		t.Fatal(err)
	}
	want := Map{{Symbol("custom"), int32(1)}, {Symbol("x-opt-sequence-number"), int64(7)}, {Symbol("x-opt-partition-key"), "k2"}}
	if diff := cmp.Diff(want, m2.annotations); diff != "" {
		t.Fatalf("annotations (-want +got):\n%s", diff)
	}
	if m2.messageID != "id-1" || m2.contentType != "application/json" || string(m2.data[0]) != `{"a":1}` {
		t.Fatalf("message = %+v", m2)
	}
	for i, s := range m2.sections {
		if s.code != secMessageAnns && !bytes.Equal(s.raw, m.sections[i].raw) {
			t.Fatalf("section 0x%x changed", s.code)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range []any{Map{{"a", []any{uint32(1), Array{Elems: []any{"x"}}}}}, Described{uint64(0x70), []any{true}}, "s"} {
		b, _ := appendValue(nil, v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeValue(b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode and decode to the same value.
		enc, err := appendValue(nil, v)
		if err != nil {
			return // e.g. arrays of types the encoder does not write
		}
		if _, err := decodeValue(enc); err != nil {
			t.Fatalf("re-encoded % x does not decode: %v", enc, err)
		}
		_, _ = splitSections(b)
	})
}
