package amqptest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The AMQP 1.0 type system (part 1 of the specification), as much of it as
// an Event Hubs peer exchanges. Values decode to plain Go types:
//
//	null → nil, boolean → bool, ubyte/ushort/uint/ulong → uint8…uint64,
//	byte/short/int/long → int8…int64, float/double → float32/float64,
//	char → Char, timestamp → time.Time (UTC), uuid → UUID, binary → []byte,
//	string → string, symbol → Symbol, list → []any, map → Map,
//	array → Array, described → Described, decimals → Decimal.
//
// Encoding accepts the same types (plus int, encoded as long, and Raw,
// written verbatim) and picks the most compact constructor.

// Symbol is an AMQP symbol (an ASCII name such as an error condition).
type Symbol string

// Char is an AMQP char (one UTF-32 code point).
type Char rune

// UUID is an AMQP uuid.
type UUID [16]byte

// Decimal is an undecoded AMQP decimal32/64/128 value.
type Decimal struct {
	Code  byte
	Bytes []byte
}

// Described is a described value: a descriptor (usually a ulong code or a
// symbol) and the value it describes.
type Described struct {
	Descriptor any
	Value      any
}

// KV is one entry of a Map.
type KV struct {
	Key, Value any
}

// Map is an AMQP map in wire order.
type Map []KV

// Get returns the value whose key is the string or symbol k.
func (m Map) Get(k string) (any, bool) {
	for _, kv := range m {
		switch key := kv.Key.(type) {
		case string:
			if key == k {
				return kv.Value, true
			}
		case Symbol:
			if string(key) == k {
				return kv.Value, true
			}
		}
	}
	return nil, false
}

// String returns the string (or symbol) value of key k, or "".
func (m Map) String(k string) string {
	v, _ := m.Get(k)
	switch s := v.(type) {
	case string:
		return s
	case Symbol:
		return string(s)
	}
	return ""
}

// Array is an AMQP array: elements that all share one constructor.
type Array struct {
	Elems []any
	// ctor is the element constructor seen when decoding (kept so that an
	// empty array re-encodes with its type); 0 lets the encoder infer it.
	ctor byte
}

// Raw is an already encoded AMQP value, written verbatim.
type Raw []byte

// Type codes.
const (
	codeDescribed = 0x00
	codeNull      = 0x40
	codeTrue      = 0x41
	codeFalse     = 0x42
	codeUint0     = 0x43
	codeUlong0    = 0x44
	codeList0     = 0x45
	codeUbyte     = 0x50
	codeByte      = 0x51
	codeSmallUint = 0x52
	codeSmallUlng = 0x53
	codeSmallInt  = 0x54
	codeSmallLong = 0x55
	codeBool      = 0x56
	codeUshort    = 0x60
	codeShort     = 0x61
	codeUint      = 0x70
	codeInt       = 0x71
	codeFloat     = 0x72
	codeChar      = 0x73
	codeDec32     = 0x74
	codeUlong     = 0x80
	codeLong      = 0x81
	codeDouble    = 0x82
	codeTimestamp = 0x83
	codeDec64     = 0x84
	codeDec128    = 0x94
	codeUUID      = 0x98
	codeVbin8     = 0xa0
	codeStr8      = 0xa1
	codeSym8      = 0xa3
	codeVbin32    = 0xb0
	codeStr32     = 0xb1
	codeSym32     = 0xb3
	codeList8     = 0xc0
	codeMap8      = 0xc1
	codeList32    = 0xd0
	codeMap32     = 0xd1
	codeArray8    = 0xe0
	codeArray32   = 0xf0
)

var errShort = errors.New("amqp: truncated value")

// maxNesting bounds compound nesting so hostile input cannot exhaust the
// stack.
const maxNesting = 64

// decoder reads AMQP values from a byte slice.
type decoder struct {
	b     []byte
	off   int
	depth int
}

func (d *decoder) need(n int) error {
	if n < 0 || len(d.b)-d.off < n {
		return errShort
	}
	return nil
}

func (d *decoder) byte() (byte, error) {
	if err := d.need(1); err != nil {
		return 0, err
	}
	c := d.b[d.off]
	d.off++
	return c, nil
}

func (d *decoder) take(n int) ([]byte, error) {
	if err := d.need(n); err != nil {
		return nil, err
	}
	s := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return s, nil
}

func (d *decoder) u32() (uint32, error) {
	s, err := d.take(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(s), nil
}

// value decodes the next value.
func (d *decoder) value() (any, error) {
	c, err := d.byte()
	if err != nil {
		return nil, err
	}
	return d.valueOf(c)
}

// valueOf decodes a value whose constructor c was already read.
func (d *decoder) valueOf(c byte) (any, error) {
	switch c {
	case codeDescribed:
		if d.depth >= maxNesting {
			return nil, errors.New("amqp: values nested too deeply")
		}
		d.depth++
		defer func() { d.depth-- }()
		desc, err := d.value()
		if err != nil {
			return nil, err
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		return Described{Descriptor: desc, Value: v}, nil
	case codeNull:
		return nil, nil
	case codeTrue:
		return true, nil
	case codeFalse:
		return false, nil
	case codeUint0:
		return uint32(0), nil
	case codeUlong0:
		return uint64(0), nil
	case codeList0:
		return []any{}, nil
	case codeUbyte:
		return d.byte()
	case codeByte:
		b, err := d.byte()
		return int8(b), err
	case codeSmallUint:
		b, err := d.byte()
		return uint32(b), err
	case codeSmallUlng:
		b, err := d.byte()
		return uint64(b), err
	case codeSmallInt:
		b, err := d.byte()
		return int32(int8(b)), err
	case codeSmallLong:
		b, err := d.byte()
		return int64(int8(b)), err
	case codeBool:
		b, err := d.byte()
		return b != 0, err
	case codeUshort, codeShort:
		s, err := d.take(2)
		if err != nil {
			return nil, err
		}
		if c == codeShort {
			return int16(binary.BigEndian.Uint16(s)), nil
		}
		return binary.BigEndian.Uint16(s), nil
	case codeUint, codeInt, codeFloat, codeChar, codeDec32:
		s, err := d.take(4)
		if err != nil {
			return nil, err
		}
		u := binary.BigEndian.Uint32(s)
		switch c {
		case codeUint:
			return u, nil
		case codeInt:
			return int32(u), nil
		case codeFloat:
			return math.Float32frombits(u), nil
		case codeChar:
			return Char(u), nil
		}
		return Decimal{Code: c, Bytes: s}, nil
	case codeUlong, codeLong, codeDouble, codeTimestamp, codeDec64:
		s, err := d.take(8)
		if err != nil {
			return nil, err
		}
		u := binary.BigEndian.Uint64(s)
		switch c {
		case codeUlong:
			return u, nil
		case codeLong:
			return int64(u), nil
		case codeDouble:
			return math.Float64frombits(u), nil
		case codeTimestamp:
			return time.UnixMilli(int64(u)).UTC(), nil
		}
		return Decimal{Code: c, Bytes: s}, nil
	case codeDec128:
		s, err := d.take(16)
		return Decimal{Code: c, Bytes: s}, err
	case codeUUID:
		s, err := d.take(16)
		if err != nil {
			return nil, err
		}
		var u UUID
		copy(u[:], s)
		return u, nil
	case codeVbin8, codeStr8, codeSym8, codeVbin32, codeStr32, codeSym32:
		var n int
		if c&0xf0 == 0xa0 {
			b, err := d.byte()
			if err != nil {
				return nil, err
			}
			n = int(b)
		} else {
			u, err := d.u32()
			if err != nil {
				return nil, err
			}
			n = int(u)
		}
		s, err := d.take(n)
		if err != nil {
			return nil, err
		}
		switch c & 0x0f {
		case 0x00:
			return s, nil
		case 0x01:
			return string(s), nil
		}
		return Symbol(s), nil
	case codeList8, codeList32, codeMap8, codeMap32, codeArray8, codeArray32:
		return d.compound(c)
	}
	return nil, fmt.Errorf("amqp: unknown type constructor 0x%02x", c)
}

// compound decodes a list, map or array.
func (d *decoder) compound(c byte) (any, error) {
	if d.depth >= maxNesting {
		return nil, errors.New("amqp: values nested too deeply")
	}
	d.depth++
	defer func() { d.depth-- }()
	var size, count int
	if c == codeList8 || c == codeMap8 || c == codeArray8 {
		s, err := d.take(2)
		if err != nil {
			return nil, err
		}
		size, count = int(s[0]), int(s[1])
		size-- // the count byte is inside the size
	} else {
		s, err := d.take(8)
		if err != nil {
			return nil, err
		}
		size, count = int(binary.BigEndian.Uint32(s)), int(binary.BigEndian.Uint32(s[4:]))
		size -= 4
	}
	if size < 0 || count < 0 || d.need(size) != nil {
		return nil, errShort
	}
	// Every element takes at least one byte (arrays: see below), so a count
	// larger than the size is malformed; checking it bounds allocations.
	end := d.off + size
	sub := decoder{b: d.b[:end], off: d.off, depth: d.depth}
	defer func() { d.off = end }()
	switch c {
	case codeList8, codeList32:
		if count > size {
			return nil, errors.New("amqp: list count exceeds its size")
		}
		out := make([]any, 0, count)
		for i := 0; i < count; i++ {
			v, err := sub.value()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case codeMap8, codeMap32:
		if count%2 != 0 || count > size {
			return nil, errors.New("amqp: malformed map")
		}
		out := make(Map, 0, count/2)
		for i := 0; i < count; i += 2 {
			k, err := sub.value()
			if err != nil {
				return nil, err
			}
			v, err := sub.value()
			if err != nil {
				return nil, err
			}
			out = append(out, KV{k, v})
		}
		return out, nil
	}
	// Array: one constructor (possibly described), then count bodies.
	ctor, err := sub.byte()
	if err != nil {
		return nil, err
	}
	var desc any
	described := ctor == codeDescribed
	if described {
		if desc, err = sub.value(); err != nil {
			return nil, err
		}
		if ctor, err = sub.byte(); err != nil {
			return nil, err
		}
	}
	if count > size && !zeroWidth(ctor) {
		return nil, errors.New("amqp: array count exceeds its size")
	}
	if count > 1<<20 {
		return nil, errors.New("amqp: array too long")
	}
	arr := Array{Elems: make([]any, 0, count), ctor: ctor}
	for i := 0; i < count; i++ {
		v, err := sub.valueOf(ctor)
		if err != nil {
			return nil, err
		}
		if described {
			v = Described{Descriptor: desc, Value: v}
		}
		arr.Elems = append(arr.Elems, v)
	}
	return arr, nil
}

func zeroWidth(c byte) bool { return c>>4 == 0x4 }

// skip advances past one value without building it, returning its bytes.
func (d *decoder) skip() ([]byte, error) {
	start := d.off
	c, err := d.byte()
	if err != nil {
		return nil, err
	}
	if err := d.skipOf(c); err != nil {
		return nil, err
	}
	return d.b[start:d.off:d.off], nil
}

func (d *decoder) skipOf(c byte) error {
	var n int
	switch {
	case c == codeDescribed:
		if _, err := d.skip(); err != nil {
			return err
		}
		_, err := d.skip()
		return err
	case c>>4 == 0x4:
		n = 0
	case c>>4 == 0x5:
		n = 1
	case c>>4 == 0x6:
		n = 2
	case c>>4 == 0x7:
		n = 4
	case c>>4 == 0x8:
		n = 8
	case c>>4 == 0x9:
		n = 16
	case c>>4 == 0xa || c>>4 == 0xc || c>>4 == 0xe:
		b, err := d.byte()
		if err != nil {
			return err
		}
		n = int(b)
	case c>>4 == 0xb || c>>4 == 0xd || c>>4 == 0xf:
		u, err := d.u32()
		if err != nil {
			return err
		}
		n = int(u)
	default:
		return fmt.Errorf("amqp: unknown type constructor 0x%02x", c)
	}
	_, err := d.take(n)
	return err
}

// decodeValue decodes exactly one value from b.
func decodeValue(b []byte) (any, error) {
	d := decoder{b: b}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	if d.off != len(b) {
		return nil, errors.New("amqp: trailing bytes after value")
	}
	return v, nil
}

// appendValue encodes v.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, codeNull), nil
	case Raw:
		return append(b, x...), nil
	case bool:
		if x {
			return append(b, codeTrue), nil
		}
		return append(b, codeFalse), nil
	case uint8:
		return append(b, codeUbyte, x), nil
	case uint16:
		return binary.BigEndian.AppendUint16(append(b, codeUshort), x), nil
	case uint32:
		switch {
		case x == 0:
			return append(b, codeUint0), nil
		case x < 256:
			return append(b, codeSmallUint, byte(x)), nil
		}
		return binary.BigEndian.AppendUint32(append(b, codeUint), x), nil
	case uint64:
		switch {
		case x == 0:
			return append(b, codeUlong0), nil
		case x < 256:
			return append(b, codeSmallUlng, byte(x)), nil
		}
		return binary.BigEndian.AppendUint64(append(b, codeUlong), x), nil
	case int8:
		return append(b, codeByte, byte(x)), nil
	case int16:
		return binary.BigEndian.AppendUint16(append(b, codeShort), uint16(x)), nil
	case int32:
		if x >= -128 && x <= 127 {
			return append(b, codeSmallInt, byte(int8(x))), nil
		}
		return binary.BigEndian.AppendUint32(append(b, codeInt), uint32(x)), nil
	case int64:
		if x >= -128 && x <= 127 {
			return append(b, codeSmallLong, byte(int8(x))), nil
		}
		return binary.BigEndian.AppendUint64(append(b, codeLong), uint64(x)), nil
	case int:
		return appendValue(b, int64(x))
	case float32:
		return binary.BigEndian.AppendUint32(append(b, codeFloat), math.Float32bits(x)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, codeDouble), math.Float64bits(x)), nil
	case Char:
		return binary.BigEndian.AppendUint32(append(b, codeChar), uint32(x)), nil
	case time.Time:
		return binary.BigEndian.AppendUint64(append(b, codeTimestamp), uint64(x.UnixMilli())), nil
	case UUID:
		return append(append(b, codeUUID), x[:]...), nil
	case Decimal:
		return append(append(b, x.Code), x.Bytes...), nil
	case []byte:
		return appendVariable(b, codeVbin8, codeVbin32, x), nil
	case string:
		return appendVariable(b, codeStr8, codeStr32, []byte(x)), nil
	case Symbol:
		return appendVariable(b, codeSym8, codeSym32, []byte(x)), nil
	case []any:
		return appendList(b, x)
	case []string:
		elems := make([]any, len(x))
		for i, s := range x {
			elems[i] = s
		}
		return appendArray(b, Array{Elems: elems, ctor: codeStr32})
	case Map:
		return appendMap(b, x)
	case map[string]any:
		m := make(Map, 0, len(x))
		for k, v := range x {
			m = append(m, KV{k, v})
		}
		return appendMap(b, m)
	case Array:
		return appendArray(b, x)
	case Described:
		b = append(b, codeDescribed)
		b, err := appendValue(b, x.Descriptor)
		if err != nil {
			return nil, err
		}
		return appendValue(b, x.Value)
	}
	return nil, fmt.Errorf("amqp: cannot encode %T", v)
}

func appendVariable(b []byte, short, long byte, s []byte) []byte {
	if len(s) < 256 {
		b = append(b, short, byte(len(s)))
	} else {
		b = binary.BigEndian.AppendUint32(append(b, long), uint32(len(s)))
	}
	return append(b, s...)
}

// appendCompound writes a list or map header around elements encoded by
// body; count is the number of encoded values.
func appendCompound(b []byte, small, large byte, count int, body func([]byte) ([]byte, error)) ([]byte, error) {
	// Reserve the large header, encode, then compact if it fits the small one.
	start := len(b)
	b = append(b, large, 0, 0, 0, 0, 0, 0, 0, 0)
	b, err := body(b)
	if err != nil {
		return nil, err
	}
	size := len(b) - start - 9
	if size+1 < 256 && count < 256 {
		b[start] = small
		b[start+1] = byte(size + 1)
		b[start+2] = byte(count)
		copy(b[start+3:], b[start+9:])
		return b[:len(b)-6], nil
	}
	binary.BigEndian.PutUint32(b[start+1:], uint32(size+4))
	binary.BigEndian.PutUint32(b[start+5:], uint32(count))
	return b, nil
}

func appendList(b []byte, l []any) ([]byte, error) {
	if len(l) == 0 {
		return append(b, codeList0), nil
	}
	return appendCompound(b, codeList8, codeList32, len(l), func(b []byte) ([]byte, error) {
		var err error
		for _, v := range l {
			if b, err = appendValue(b, v); err != nil {
				return nil, err
			}
		}
		return b, nil
	})
}

func appendMap(b []byte, m Map) ([]byte, error) {
	return appendCompound(b, codeMap8, codeMap32, 2*len(m), func(b []byte) ([]byte, error) {
		var err error
		for _, kv := range m {
			if b, err = appendValue(b, kv.Key); err != nil {
				return nil, err
			}
			if b, err = appendValue(b, kv.Value); err != nil {
				return nil, err
			}
		}
		return b, nil
	})
}

// appendArray writes an array32 whose element constructor is the array's
// own, or inferred from its first element.
func appendArray(b []byte, a Array) ([]byte, error) {
	ctor := a.ctor
	if ctor == 0 || len(a.Elems) > 0 {
		if len(a.Elems) == 0 {
			ctor = codeSym8
		} else {
			switch a.Elems[0].(type) {
			case Symbol:
				ctor = codeSym32
			case string:
				ctor = codeStr32
			case []byte:
				ctor = codeVbin32
			case uint64:
				ctor = codeUlong
			case uint32:
				ctor = codeUint
			case int32:
				ctor = codeInt
			case int64:
				ctor = codeLong
			case bool:
				ctor = codeBool
			case uint8:
				ctor = codeUbyte
			case time.Time:
				ctor = codeTimestamp
			case UUID:
				ctor = codeUUID
			default:
				return nil, fmt.Errorf("amqp: cannot encode an array of %T", a.Elems[0])
			}
		}
	}
	start := len(b)
	b = append(b, codeArray32, 0, 0, 0, 0, 0, 0, 0, 0, ctor)
	for _, e := range a.Elems {
		var err error
		if b, err = appendArrayElem(b, ctor, e); err != nil {
			return nil, err
		}
	}
	binary.BigEndian.PutUint32(b[start+1:], uint32(len(b)-start-5))
	binary.BigEndian.PutUint32(b[start+5:], uint32(len(a.Elems)))
	return b, nil
}

// appendArrayElem writes one array element without its constructor.
func appendArrayElem(b []byte, ctor byte, v any) ([]byte, error) {
	bad := func() ([]byte, error) {
		return nil, fmt.Errorf("amqp: array element %T does not match constructor 0x%02x", v, ctor)
	}
	switch ctor {
	case codeSym8, codeSym32, codeStr8, codeStr32, codeVbin8, codeVbin32:
		var s []byte
		switch x := v.(type) {
		case Symbol:
			s = []byte(x)
		case string:
			s = []byte(x)
		case []byte:
			s = x
		default:
			return bad()
		}
		if ctor&0xf0 == 0xa0 {
			if len(s) > 255 {
				return bad()
			}
			return append(append(b, byte(len(s))), s...), nil
		}
		return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...), nil
	case codeUlong, codeLong, codeTimestamp:
		switch x := v.(type) {
		case uint64:
			return binary.BigEndian.AppendUint64(b, x), nil
		case int64:
			return binary.BigEndian.AppendUint64(b, uint64(x)), nil
		case time.Time:
			return binary.BigEndian.AppendUint64(b, uint64(x.UnixMilli())), nil
		}
	case codeUint, codeInt:
		switch x := v.(type) {
		case uint32:
			return binary.BigEndian.AppendUint32(b, x), nil
		case int32:
			return binary.BigEndian.AppendUint32(b, uint32(x)), nil
		}
	case codeBool, codeUbyte:
		switch x := v.(type) {
		case bool:
			if x {
				return append(b, 1), nil
			}
			return append(b, 0), nil
		case uint8:
			return append(b, x), nil
		}
	case codeUUID:
		if x, ok := v.(UUID); ok {
			return append(b, x[:]...), nil
		}
	}
	return bad()
}

// describedList encodes a described list with a ulong descriptor, leaving
// out trailing null fields as the specification allows.
func describedList(b []byte, code uint64, fields ...any) ([]byte, error) {
	for len(fields) > 0 && fields[len(fields)-1] == nil {
		fields = fields[:len(fields)-1]
	}
	b = append(b, codeDescribed)
	b, _ = appendValue(b, code)
	return appendList(b, fields)
}

// descriptorCode returns a described value's numeric descriptor, mapping the
// symbolic names of the types Sluice meets to their codes.
func descriptorCode(d any) (uint64, bool) {
	switch x := d.(type) {
	case uint64:
		return x, true
	case Symbol:
		if c, ok := symbolicDescriptors[string(x)]; ok {
			return c, true
		}
	}
	return 0, false
}

var symbolicDescriptors = map[string]uint64{
	"amqp:header:list": 0x70, "amqp:delivery-annotations:map": 0x71, "amqp:message-annotations:map": 0x72,
	"amqp:properties:list": 0x73, "amqp:application-properties:map": 0x74, "amqp:data:binary": 0x75,
	"amqp:amqp-sequence:list": 0x76, "amqp:amqp-value:*": 0x77, "amqp:footer:map": 0x78,
	"amqp:source:list": 0x28, "amqp:target:list": 0x29, "amqp:error:list": 0x1d,
	"amqp:received:list": 0x23, "amqp:accepted:list": 0x24, "amqp:rejected:list": 0x25,
	"amqp:released:list": 0x26, "amqp:modified:list": 0x27,
}
