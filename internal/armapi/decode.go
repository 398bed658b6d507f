package armapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes bounds every ARM request body (ARM itself caps at 4 MB).
const MaxBodyBytes = 4 << 20

// ReadBody reads the request body up to limit bytes; a larger body is a 413.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	if n := r.ContentLength; n > 0 {
		// The length is known (and net/http holds the body to it): read
		// it into one buffer of that size instead of growing one.
		data := make([]byte, n)
		if _, err := io.ReadFull(r.Body, data); err != nil {
			return nil, BadRequest("InvalidRequestContent", "The request body could not be read: %v", err)
		}
		var extra [1]byte
		if m, _ := r.Body.Read(extra[:]); m > 0 {
			return nil, BadRequest("InvalidRequestContent", "The request body is longer than its Content-Length of %d bytes.", n)
		}
		return data, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, BadRequest("InvalidRequestContent", "The request body could not be read: %v", err)
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(limit)
	}
	return data, nil
}

func tooLarge(limit int64) *Error {
	return Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
		"The request body is larger than the limit of %d bytes.", limit)
}

// DecodeJSON reads a JSON body (at most MaxBodyBytes) into v. Unknown fields
// are ignored, as ARM clients expect; syntax and type errors become 400
// InvalidRequestContent naming where the problem is.
func DecodeJSON(r *http.Request, v any) error {
	data, err := ReadBody(r, MaxBodyBytes)
	if err != nil {
		return err
	}
	return Unmarshal(data, v)
}

// Unmarshal decodes data into v with the errors DecodeJSON gives.
func Unmarshal(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return BadRequest("InvalidRequestContent", "The request content was invalid: the body is empty.")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return JSONError(data, err)
	}
	return nil
}

// JSONError turns an encoding/json error into a 400 InvalidRequestContent
// that says where the problem is.
func JSONError(data []byte, err error) *Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset counts the bytes read including the offending one; at the
		// end of the input there is no offending byte and the position is
		// just past the last one.
		off := se.Offset
		if off > 0 && off <= int64(len(data)) && !strings.Contains(se.Error(), "unexpected end") {
			off--
		}
		line, col := position(data, off)
		return BadRequest("InvalidRequestContent",
			"The request content was invalid and could not be deserialized: %s at line %d, column %d.", clip(se.Error()), line, col)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(root)"
		}
		return &Error{Status: http.StatusBadRequest, Code: "InvalidRequestContent", Target: field,
			Message: fmt.Sprintf("The request content was invalid: property '%s' must be of type %s, got %s.", clip(field), jsonTypeName(te.Type), clip(te.Value))}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("InvalidRequestContent", "The request content was invalid: unexpected end of JSON input.")
	default:
		return BadRequest("InvalidRequestContent", "The request content was invalid: %s.", clip(strings.TrimPrefix(err.Error(), "json: ")))
	}
}

// maxEcho bounds how much of the client's input an error message repeats
// (a 4 MB number literal must not come back in a 4 MB message).
const maxEcho = 200

func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// jsonTypeName names the JSON type a Go type decodes from, by its kind
// (a named string type such as an enum is a JSON string).
func jsonTypeName(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == nil:
		return "value"
	case t == reflect.TypeFor[json.Number]():
		return "number"
	case t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler):
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string" // base64
		}
		return "array"
	case reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "value"
}

func position(data []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
