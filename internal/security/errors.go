package security

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Error codes of *Error. They follow the ARM CloudError vocabulary so the HTTP
// layer can pass them through unchanged (with status 400, or 413 for
// CodeRecordTooLarge).
const (
	// CodeInvalidRequestContent: the body is not JSON, or a property has the
	// wrong JSON type (Target names the property).
	CodeInvalidRequestContent = "InvalidRequestContent"
	// CodeMissingRequiredProperty: a required property is absent, null or
	// empty (Target names it).
	CodeMissingRequiredProperty = "MissingRequiredProperty"
	// CodeInvalidEnumValue: a property holds a value outside its enumeration
	// (the message lists the allowed values).
	CodeInvalidEnumValue = "InvalidEnumValue"
	// CodeInvalidPropertyValue: a property has the right type but an
	// unacceptable value (e.g. a key that is not a GUID, text that is too long).
	CodeInvalidPropertyValue = "InvalidPropertyValue"
	// CodeInvalidResourceID: a resource ID is malformed or of the wrong type.
	CodeInvalidResourceID = "InvalidResourceId"
	// CodeRecordTooLarge: the raw record exceeds MaxRecordSize.
	CodeRecordTooLarge = "RecordTooLarge"
)

// MaxRecordSize is the largest raw producer record the parsers accept:
// 256 KiB, the Event Hubs Basic publication limit, so that every accepted
// record can be exported as a single event to every destination.
const MaxRecordSize = 256 << 10

// Error is a validation error for producer input. Message is safe to show to
// the caller; Target is the JSON path of the offending property, if any.
type Error struct {
	Code    string
	Message string
	Target  string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// IsCode reports whether err is (or wraps) an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func errorf(code, target, format string, args ...any) *Error {
	return &Error{Code: code, Target: target, Message: fmt.Sprintf(format, args...)}
}

func missing(target string) *Error {
	return errorf(CodeMissingRequiredProperty, target, "the required property '%s' is missing or empty", target)
}

func badEnum(target, got string, allowed []string) *Error {
	return errorf(CodeInvalidEnumValue, target, "the property '%s' has the invalid value %q; allowed values are: %s",
		target, got, strings.Join(allowed, ", "))
}

// decodeStrict decodes a producer record: size check, JSON syntax and JSON
// types. Unknown fields are ignored.
func decodeStrict(raw []byte, v any) error {
	if len(raw) > MaxRecordSize {
		return errorf(CodeRecordTooLarge, "", "the record is %d bytes; the limit is %d bytes", len(raw), MaxRecordSize)
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return errorf(CodeInvalidRequestContent, "", "the request body is empty")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return jsonError(err)
	}
	return nil
}

var timeType = reflect.TypeOf(Time{})

// jsonError turns an encoding/json error into an *Error naming the field.
func jsonError(err error) *Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var ve *Error
	switch {
	case errors.As(err, &ve):
		return ve
	case errors.As(err, &se):
		return errorf(CodeInvalidRequestContent, "", "the request body is not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
	case errors.As(err, &te):
		field, value := te.Field, te.Value
		// StringMap reports a bad member as `<kind> for key "<key>"`.
		if kind, key, ok := strings.Cut(value, " for key "); ok {
			if k, err := strconv.Unquote(key); err == nil {
				field, value = field+"."+k, kind
			}
		}
		if field == "" {
			return errorf(CodeInvalidRequestContent, "", "the request body must be a JSON object, not %s", jsonKind(te.Value))
		}
		if te.Type == timeType {
			return errorf(CodeInvalidRequestContent, field, "the property '%s' must be an ISO 8601 date-time string, got %s", field, te.Value)
		}
		return errorf(CodeInvalidRequestContent, field, "the property '%s' must be %s, got %s", field, jsonTypeName(te.Type), jsonKind(value))
	default:
		return errorf(CodeInvalidRequestContent, "", "the request body could not be read: %v", err)
	}
}

func jsonKind(v string) string {
	switch {
	case v == "number" || strings.HasPrefix(v, "number "):
		return "a number"
	case v == "string" || strings.HasPrefix(v, "string "):
		return "a string"
	case v == "bool":
		return "a boolean"
	case v == "array":
		return "an array"
	case v == "object":
		return "an object"
	}
	return v
}

func jsonTypeName(t reflect.Type) string {
	if t == reflect.TypeOf(Object{}) {
		return "an object"
	}
	if t == reflect.TypeOf(StringMap{}) {
		return "an object of strings"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return t.String()
}

// canonical returns the allowed value equal to v ignoring case, so producers
// may send "healthy" for "Healthy".
func canonical(v string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return a, true
		}
	}
	return "", false
}

// checkEnum canonicalizes *v against allowed; an empty value is reported as
// missing when required.
func checkEnum(v *string, target string, allowed []string, required bool) *Error {
	if *v == "" {
		if required {
			return missing(target)
		}
		return nil
	}
	c, ok := canonical(*v, allowed)
	if !ok {
		return badEnum(target, *v, allowed)
	}
	*v = c
	return nil
}

func checkLen(v, target string, max int) *Error {
	if len(v) > max {
		return errorf(CodeInvalidPropertyValue, target, "the property '%s' is %d characters long; the limit is %d", target, len(v), max)
	}
	return nil
}

// firstErr returns the first non-nil *Error as an error (nil when none).
func firstErr(errs ...*Error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
