package armapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
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
		line, col := position(data, se.Offset)
		return BadRequest("InvalidRequestContent",
			"The request content was invalid and could not be deserialized: %s at line %d, column %d.", se.Error(), line, col)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(root)"
		}
		return &Error{Status: http.StatusBadRequest, Code: "InvalidRequestContent", Target: field,
			Message: fmt.Sprintf("The request content was invalid: property '%s' must be of type %s, got %s.", field, jsonTypeName(te.Type.String()), te.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("InvalidRequestContent", "The request content was invalid: unexpected end of JSON input.")
	default:
		return BadRequest("InvalidRequestContent", "The request content was invalid: %s.", strings.TrimPrefix(err.Error(), "json: "))
	}
}

func jsonTypeName(goType string) string {
	switch {
	case goType == "string":
		return "string"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "number"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "object"
	}
	return goType
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
