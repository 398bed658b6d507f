package amqptest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frames (part 2 of the specification): an 8-byte header (size, data
// offset in 4-byte words, type, channel), a performative and, for
// transfers, the payload that follows it.

const (
	frameAMQP = 0x00
	frameSASL = 0x01
)

// Performative descriptor codes.
const (
	perfOpen        = 0x10
	perfBegin       = 0x11
	perfAttach      = 0x12
	perfFlow        = 0x13
	perfTransfer    = 0x14
	perfDisposition = 0x15
	perfDetach      = 0x16
	perfEnd         = 0x17
	perfClose       = 0x18

	saslMechanisms = 0x40
	saslInit       = 0x41
	saslOutcome    = 0x44

	descError    = 0x1d
	descAccepted = 0x24
	descRejected = 0x25
	descSource   = 0x28
	descTarget   = 0x29
)

// frame is one decoded frame. body is nil for an empty (heartbeat) frame.
type frame struct {
	typ     byte
	channel uint16
	code    uint64   // the performative's descriptor
	fields  []any    // its decoded fields
	raw     [][]byte // each field's encoding, for verbatim echoes
	payload []byte   // bytes after the performative (transfer payload)
	empty   bool
}

// field helpers: missing or null fields read as the zero value.
func (f *frame) at(i int) any {
	if i < len(f.fields) {
		return f.fields[i]
	}
	return nil
}

func (f *frame) rawAt(i int) []byte {
	if i < len(f.raw) {
		return f.raw[i]
	}
	return nil
}

func (f *frame) str(i int) string {
	switch s := f.at(i).(type) {
	case string:
		return s
	case Symbol:
		return string(s)
	}
	return ""
}

func (f *frame) bool(i int) bool { b, _ := f.at(i).(bool); return b }

func (f *frame) u32(i int) (uint32, bool) {
	switch n := f.at(i).(type) {
	case uint32:
		return n, true
	case uint16:
		return uint32(n), true
	case uint8:
		return uint32(n), true
	case uint64:
		if n <= 0xffffffff {
			return uint32(n), true
		}
	}
	return 0, false
}

func (f *frame) binary(i int) []byte { b, _ := f.at(i).([]byte); return b }

// readFrame reads one frame, refusing frames larger than max.
func readFrame(r *bufio.Reader, max uint32) (*frame, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:4])
	doff := int(hdr[4]) * 4
	if size < 8 || doff < 8 || uint32(doff) > size {
		return nil, fmt.Errorf("amqp: malformed frame header (size %d, data offset %d)", size, doff)
	}
	if size > max {
		return nil, fmt.Errorf("amqp: frame of %d bytes exceeds the maximum of %d", size, max)
	}
	buf := make([]byte, size-8)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	f := &frame{typ: hdr[5], channel: binary.BigEndian.Uint16(hdr[6:])}
	body := buf[doff-8:]
	if len(body) == 0 {
		f.empty = true
		return f, nil
	}
	d := decoder{b: body}
	c, err := d.byte()
	if err != nil {
		return nil, err
	}
	if c != codeDescribed {
		return nil, errors.New("amqp: frame body is not a performative")
	}
	desc, err := d.value()
	if err != nil {
		return nil, err
	}
	code, ok := descriptorCode(desc)
	if !ok {
		return nil, fmt.Errorf("amqp: unknown performative %v", desc)
	}
	f.code = code
	if err := decodeFields(&d, f); err != nil {
		return nil, fmt.Errorf("amqp: performative 0x%02x: %w", code, err)
	}
	f.payload = body[d.off:]
	return f, nil
}

// decodeFields reads a performative's list, keeping every field's encoding.
func decodeFields(d *decoder, f *frame) error {
	c, err := d.byte()
	if err != nil {
		return err
	}
	var count, end int
	switch c {
	case codeList0:
		return nil
	case codeList8:
		s, err := d.take(2)
		if err != nil {
			return err
		}
		end, count = d.off+int(s[0])-1, int(s[1])
	case codeList32:
		s, err := d.take(8)
		if err != nil {
			return err
		}
		end, count = d.off+int(binary.BigEndian.Uint32(s))-4, int(binary.BigEndian.Uint32(s[4:]))
	default:
		return fmt.Errorf("fields are not a list (0x%02x)", c)
	}
	if end < d.off || end > len(d.b) || count > end-d.off {
		return errShort
	}
	sub := decoder{b: d.b[:end], off: d.off}
	for i := 0; i < count; i++ {
		start := sub.off
		v, err := sub.value()
		if err != nil {
			return err
		}
		f.fields = append(f.fields, v)
		f.raw = append(f.raw, sub.b[start:sub.off:sub.off])
	}
	d.off = end
	return nil
}

// appendFrame encodes a frame with a performative (code, fields) and a
// payload.
func appendFrame(b []byte, typ byte, channel uint16, code uint64, payload []byte, fields ...any) ([]byte, error) {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 2, typ, byte(channel>>8), byte(channel))
	b, err := describedList(b, code, fields...)
	if err != nil {
		return nil, err
	}
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b, nil
}

// heartbeat is an empty frame.
var heartbeat = []byte{0, 0, 0, 8, 2, 0, 0, 0}

// amqpError builds an amqp:error value.
func amqpError(condition, description string) Described {
	return Described{Descriptor: uint64(descError), Value: []any{Symbol(condition), description}}
}
