package amqptest

import (
	"errors"
	"fmt"
)

// Message sections (part 3 of the specification).
const (
	secHeader         = 0x70
	secDeliveryAnns   = 0x71
	secMessageAnns    = 0x72
	secProperties     = 0x73
	secAppProperties  = 0x74
	secData           = 0x75
	secAMQPSequence   = 0x76
	secAMQPValue      = 0x77
	secFooter         = 0x78
	batchMessageFomat = 0x80013700
)

// section is one encoded message section.
type section struct {
	code uint64
	raw  []byte // the whole described value
	body []byte // the described value's value
}

// splitSections cuts an encoded message into its sections.
func splitSections(b []byte) ([]section, error) {
	out := make([]section, 0, 4)
	d := decoder{b: b}
	for d.off < len(b) {
		start := d.off
		c, err := d.byte()
		if err != nil {
			return nil, err
		}
		if c != codeDescribed {
			return nil, fmt.Errorf("amqp: message section at byte %d is not a described value", start)
		}
		desc, err := d.value()
		if err != nil {
			return nil, err
		}
		code, ok := descriptorCode(desc)
		if !ok || code < secHeader || code > secFooter {
			return nil, fmt.Errorf("amqp: unknown message section %v", desc)
		}
		bodyStart := d.off
		if _, err := d.skip(); err != nil {
			return nil, err
		}
		out = append(out, section{code: code, raw: b[start:d.off:d.off], body: b[bodyStart:d.off:d.off]})
	}
	if len(out) == 0 {
		return nil, errors.New("amqp: empty message")
	}
	return out, nil
}

// parsedMessage is what the server reads from a message.
type parsedMessage struct {
	sections    []section
	annotations Map
	messageID   any
	replyTo     string
	contentType string
	appProps    Map
	data        [][]byte
	value       any
	hasValue    bool
}

func parseMessage(b []byte) (*parsedMessage, error) {
	secs, err := splitSections(b)
	if err != nil {
		return nil, err
	}
	m := &parsedMessage{sections: secs}
	for _, s := range secs {
		switch s.code {
		case secMessageAnns:
			v, err := decodeValue(s.body)
			if err != nil {
				return nil, fmt.Errorf("message annotations: %w", err)
			}
			m.annotations, _ = v.(Map)
		case secProperties:
			v, err := decodeValue(s.body)
			if err != nil {
				return nil, fmt.Errorf("message properties: %w", err)
			}
			l, _ := v.([]any)
			if len(l) > 0 {
				m.messageID = l[0]
			}
			if len(l) > 4 {
				m.replyTo, _ = l[4].(string)
			}
			if len(l) > 6 {
				if ct, ok := l[6].(Symbol); ok {
					m.contentType = string(ct)
				}
			}
		case secAppProperties:
			v, err := decodeValue(s.body)
			if err != nil {
				return nil, fmt.Errorf("application properties: %w", err)
			}
			m.appProps, _ = v.(Map)
		case secData:
			v, err := decodeValue(s.body)
			if err != nil {
				return nil, fmt.Errorf("data section: %w", err)
			}
			bin, ok := v.([]byte)
			if !ok {
				return nil, errors.New("data section is not binary")
			}
			m.data = append(m.data, bin)
		case secAMQPValue:
			v, err := decodeValue(s.body)
			if err != nil {
				return nil, fmt.Errorf("amqp-value section: %w", err)
			}
			m.value, m.hasValue = v, true
		}
	}
	return m, nil
}

// withAnnotations re-encodes a message with its message annotations
// replaced by ann (existing annotations with other keys are kept); every
// other section is copied byte for byte.
func withAnnotations(m *parsedMessage, set Map) ([]byte, error) {
	merged := make(Map, 0, len(m.annotations)+len(set))
	for _, kv := range m.annotations {
		replaced := false
		for _, s := range set {
			if sameKey(kv.Key, s.Key) {
				replaced = true
				break
			}
		}
		if !replaced {
			merged = append(merged, kv)
		}
	}
	merged = append(merged, set...)
	ann, err := appendValue(nil, Described{Descriptor: uint64(secMessageAnns), Value: merged})
	if err != nil {
		return nil, err
	}
	size := len(ann)
	for _, s := range m.sections {
		size += len(s.raw)
	}
	out := make([]byte, 0, size)
	written := false
	for _, s := range m.sections {
		switch {
		case s.code == secMessageAnns:
			out = append(out, ann...)
			written = true
			continue
		case !written && s.code > secMessageAnns:
			out = append(out, ann...)
			written = true
		}
		out = append(out, s.raw...)
	}
	if !written {
		out = append(out, ann...)
	}
	return out, nil
}

func sameKey(a, b any) bool {
	as, aok := keyString(a)
	bs, bok := keyString(b)
	return aok && bok && as == bs
}

func keyString(k any) (string, bool) {
	switch s := k.(type) {
	case Symbol:
		return string(s), true
	case string:
		return s, true
	}
	return "", false
}

// encodeMessage builds a message from properties, application properties
// and an amqp-value body (used for management replies).
func encodeMessage(props []any, appProps Map, value any) ([]byte, error) {
	b, err := describedList(nil, secProperties, props...)
	if err != nil {
		return nil, err
	}
	if appProps != nil {
		if b, err = appendValue(b, Described{Descriptor: uint64(secAppProperties), Value: appProps}); err != nil {
			return nil, err
		}
	}
	return appendValue(b, Described{Descriptor: uint64(secAMQPValue), Value: value})
}
