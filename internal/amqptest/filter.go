package amqptest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// selectorFilter is the descriptor of the Event Hubs start-position
// filter (apache.org:selector-filter:string).
const (
	selectorFilterCode = uint64(0x0000468C00000004)
	selectorFilterName = "apache.org:selector-filter:string"
)

// startFilter is a parsed start position: events whose field is greater
// than (or, inclusive, equal to) value.
type startFilter struct {
	field     string // x-opt-offset, x-opt-sequence-number, x-opt-enqueued-time, or latest
	inclusive bool
	value     int64
}

var selectorRE = regexp.MustCompile(`^\s*amqp\.annotation\.(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>)\s*'([^']*)'\s*$`)

// parseSelector parses expressions such as
// "amqp.annotation.x-opt-offset > '-1'" or
// "amqp.annotation.x-opt-sequence-number >= '42'". An empty selector
// starts at the end of the partition.
func parseSelector(s string) (startFilter, error) {
	if strings.TrimSpace(s) == "" {
		return startFilter{field: "latest"}, nil
	}
	m := selectorRE.FindStringSubmatch(s)
	if m == nil {
		return startFilter{}, fmt.Errorf("unsupported selector %q", s)
	}
	f := startFilter{field: strings.ToLower(m[1]), inclusive: m[2] == ">="}
	if f.field == "x-opt-offset" && m[3] == "@latest" {
		f.field = "latest"
		return f, nil
	}
	v, err := strconv.ParseInt(m[3], 10, 64)
	if err != nil {
		return startFilter{}, fmt.Errorf("selector %q: %q is not an integer", s, m[3])
	}
	f.value = v
	return f, nil
}

// selectorFromSource finds the selector filter in an attach's source.
func selectorFromSource(src any) (string, bool) {
	d, ok := src.(Described)
	if !ok {
		return "", false
	}
	fields, _ := d.Value.([]any)
	if len(fields) <= 7 {
		return "", false
	}
	set, _ := fields[7].(Map)
	for _, kv := range set {
		fd, ok := kv.Value.(Described)
		if !ok {
			continue
		}
		code, _ := fd.Descriptor.(uint64)
		name, _ := fd.Descriptor.(Symbol)
		if code == selectorFilterCode || string(name) == selectorFilterName {
			s, _ := fd.Value.(string)
			return s, true
		}
	}
	return "", false
}

// terminusAddress reads the address of a source or target.
func terminusAddress(t any) string {
	d, ok := t.(Described)
	if !ok {
		return ""
	}
	fields, _ := d.Value.([]any)
	if len(fields) == 0 {
		return ""
	}
	switch a := fields[0].(type) {
	case string:
		return a
	case Symbol:
		return string(a)
	}
	return ""
}
