package armapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/armapi"
)

// severity is a named string type, as request models declare enums.
type severity string

// automationBody resembles the request bodies Sluice decodes.
type automationBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		Description string   `json:"description"`
		IsEnabled   *bool    `json:"isEnabled"`
		Severity    severity `json:"severity"`
		Scopes      []struct {
			Description string `json:"description"`
			ScopePath   string `json:"scopePath"`
		} `json:"scopes"`
		Actions []map[string]any `json:"actions"`
		Limit   int8             `json:"limit"`
		Count   uint             `json:"count"`
		Ratio   float64          `json:"ratio"`
		Data    []byte           `json:"data"`
		Since   *time.Time       `json:"since"`
		Address netip.Addr       `json:"address"`
		Amount  json.Number      `json:"amount"`
	} `json:"properties"`
}

func TestUnmarshalAcceptsAndIgnoresUnknownFields(t *testing.T) {
	body := `{"location":"westeurope","unknownTop":{"deep":[1,2,3]},"tags":{"a":"b"},
	"properties":{"description":"d","isEnabled":true,"severity":"High","futureField":"x",
	"scopes":[{"scopePath":"/subscriptions/` + subID + `","extra":1}],"limit":-128,"count":7,"ratio":0.5,
	"since":"2024-01-02T03:04:05Z"}}`
	var v automationBody
	if err := armapi.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if v.Location != "westeurope" || v.Properties.Severity != "High" || len(v.Properties.Scopes) != 1 ||
		v.Properties.Scopes[0].ScopePath != "/subscriptions/"+subID || v.Properties.IsEnabled == nil || !*v.Properties.IsEnabled ||
		v.Properties.Limit != -128 || v.Properties.Count != 7 || v.Tags["a"] != "b" || v.Properties.Since == nil {
		t.Errorf("decoded %+v", v)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		target string
		inMsg  []string
	}{
		{name: "empty", body: "", inMsg: []string{"empty"}},
		{name: "whitespace", body: " \n\t ", inMsg: []string{"empty"}},
		{name: "truncated", body: `{"location":`, inMsg: []string{"unexpected end of JSON input"}},
		{name: "syntax_error_position", body: "{\n  \"location\": \"x\",\n  \"tags\": {,}\n}", inMsg: []string{"line 3", "column 12", "invalid character ','"}},
		{name: "trailing_garbage", body: `{"location":"x"} {}`, inMsg: []string{"after top-level value", "line 1", "column 18"}},
		{name: "single_quotes", body: `{'location':'x'}`, inMsg: []string{"line 1", "column 2"}},
		{name: "bool_as_string", body: `{"properties":{"isEnabled":"true"}}`, target: "properties.isEnabled",
			inMsg: []string{"'properties.isEnabled'", "boolean", "got string"}},
		{name: "string_as_number", body: `{"location":5}`, target: "location", inMsg: []string{"'location'", "type string", "got number"}},
		{name: "enum_as_number", body: `{"properties":{"severity":3}}`, target: "properties.severity",
			inMsg: []string{"'properties.severity'", "type string", "got number"}},
		{name: "array_as_object", body: `{"properties":{"scopes":{}}}`, target: "properties.scopes",
			inMsg: []string{"'properties.scopes'", "type array", "got object"}},
		{name: "nested_in_array", body: `{"properties":{"scopes":[{"scopePath":["a"]}]}}`, target: "properties.scopes.scopePath",
			inMsg: []string{"'properties.scopes.scopePath'", "type string", "got array"}},
		{name: "map_value", body: `{"tags":{"a":1}}`, target: "tags", inMsg: []string{"'tags'", "type string", "got number"}},
		{name: "object_as_string", body: `{"properties":"x"}`, target: "properties", inMsg: []string{"'properties'", "type object", "got string"}},
		{name: "root_is_array", body: `[1]`, target: "(root)", inMsg: []string{"'(root)'", "type object", "got array"}},
		{name: "root_is_string", body: `"x"`, target: "(root)", inMsg: []string{"type object", "got string"}},
		{name: "number_overflow", body: `{"properties":{"limit":128}}`, target: "properties.limit", inMsg: []string{"'properties.limit'", "type number"}},
		{name: "negative_unsigned", body: `{"properties":{"count":-1}}`, target: "properties.count", inMsg: []string{"'properties.count'"}},
		{name: "fraction_for_integer", body: `{"properties":{"count":1.5}}`, target: "properties.count", inMsg: []string{"'properties.count'"}},
		{name: "bytes_expect_base64_string", body: `{"properties":{"data":{}}}`, target: "properties.data", inMsg: []string{"'properties.data'", "type string", "got object"}},
		{name: "text_unmarshaler_expects_string", body: `{"properties":{"address":true}}`, target: "properties.address", inMsg: []string{"'properties.address'", "type string", "got bool"}},
		{name: "json_number_expects_number", body: `{"properties":{"amount":{}}}`, target: "properties.amount", inMsg: []string{"'properties.amount'", "type number", "got object"}},
		{name: "pointer_to_bool", body: `{"properties":{"isEnabled":{}}}`, target: "properties.isEnabled", inMsg: []string{"type boolean"}},
		{name: "bad_base64", body: `{"properties":{"data":"!!"}}`, inMsg: []string{"base64"}},
		{name: "bad_time", body: `{"properties":{"since":"yesterday"}}`, inMsg: []string{"yesterday"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v automationBody
			err := armapi.Unmarshal([]byte(tt.body), &v)
			ae := requireARMError(t, err, http.StatusBadRequest)
			if ae.Code != "InvalidRequestContent" {
				t.Errorf("code = %q, want InvalidRequestContent", ae.Code)
			}
			if ae.Target != tt.target {
				t.Errorf("target = %q, want %q", ae.Target, tt.target)
			}
			if !hasAll(ae.Message, tt.inMsg...) {
				t.Errorf("message %q does not mention all of %q", ae.Message, tt.inMsg)
			}
		})
	}
}

// TestUnmarshalErrorMessageBounded checks that an error never echoes a huge
// piece of the body back to the client.
func TestUnmarshalErrorMessageBounded(t *testing.T) {
	huge := strings.Repeat("9", 1<<20)
	for _, body := range []string{
		`{"properties":{"limit":` + huge + `}}`,
		`{"properties":{"since":"` + huge + `"}}`,
		`{"location":` + huge + `}`,
	} {
		var v automationBody
		ae := requireARMError(t, armapi.Unmarshal([]byte(body), &v), http.StatusBadRequest)
		if len(ae.Message) > 1024 {
			t.Errorf("error message is %d bytes long (starts %q)", len(ae.Message), ae.Message[:80])
		}
	}
}

func requireARMError(t *testing.T, err error, status int) *armapi.Error {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var ae *armapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %T %v is not an *armapi.Error", err, err)
	}
	if ae.Status != status {
		t.Fatalf("status = %d, want %d (%v)", ae.Status, status, err)
	}
	if ae.Message == "" || ae.Code == "" {
		t.Fatalf("error without code or message: %+v", ae)
	}
	return ae
}

func TestReadBody(t *testing.T) {
	limit := int64(armapi.MaxBodyBytes)
	atLimit := bytes.Repeat([]byte("a"), int(limit))
	over := bytes.Repeat([]byte("a"), int(limit)+1)

	t.Run("at_limit", func(t *testing.T) {
		got, err := armapi.ReadBody(httptest.NewRequest("PUT", "/", bytes.NewReader(atLimit)), limit)
		if err != nil || len(got) != len(atLimit) {
			t.Fatalf("ReadBody at the limit: %d bytes, %v", len(got), err)
		}
	})
	t.Run("over_limit_declared", func(t *testing.T) {
		_, err := armapi.ReadBody(httptest.NewRequest("PUT", "/", bytes.NewReader(over)), limit)
		if ae := requireARMError(t, err, http.StatusRequestEntityTooLarge); ae.Code != "RequestEntityTooLarge" {
			t.Errorf("code = %q", ae.Code)
		}
	})
	t.Run("over_limit_declared_small", func(t *testing.T) {
		req := httptest.NewRequest("PUT", "/", bytes.NewReader(over))
		req.ContentLength = -1 // chunked: the size is only known by reading
		_, err := armapi.ReadBody(req, limit)
		requireARMError(t, err, http.StatusRequestEntityTooLarge)
	})
	t.Run("declared_length_alone_rejects", func(t *testing.T) {
		req := httptest.NewRequest("PUT", "/", strings.NewReader("{}"))
		req.ContentLength = limit + 1
		_, err := armapi.ReadBody(req, limit)
		requireARMError(t, err, http.StatusRequestEntityTooLarge)
	})
	t.Run("declared_length_differs", func(t *testing.T) {
		for _, n := range []int64{1, 3} {
			req := httptest.NewRequest("PUT", "/", strings.NewReader("{}"))
			req.ContentLength = n
			_, err := armapi.ReadBody(req, limit)
			if ae := requireARMError(t, err, http.StatusBadRequest); ae.Code != "InvalidRequestContent" {
				t.Errorf("Content-Length %d for 2 bytes: code %q", n, ae.Code)
			}
		}
	})
	t.Run("nil_body", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Body = nil
		got, err := armapi.ReadBody(req, limit)
		if err != nil || got != nil {
			t.Fatalf("ReadBody(nil body) = %q, %v", got, err)
		}
	})
	t.Run("read_error", func(t *testing.T) {
		req := httptest.NewRequest("PUT", "/", nil)
		req.Body = io.NopCloser(iotest.ErrReader(errors.New("connection reset")))
		req.ContentLength = -1
		_, err := armapi.ReadBody(req, limit)
		if ae := requireARMError(t, err, http.StatusBadRequest); ae.Code != "InvalidRequestContent" {
			t.Errorf("code = %q", ae.Code)
		}
	})
}

// TestDecodeJSONOverHTTP runs DecodeJSON inside a router behind the
// middleware, as handlers use it, and checks the status and envelope.
func TestDecodeJSONOverHTTP(t *testing.T) {
	rt := &armapi.Router{}
	rt.Handle(armapi.Route{Method: "PUT", Pattern: "/things/{name}", Public: true, APIVersions: []string{"2023-12-01-preview"},
		Handler: func(w http.ResponseWriter, r *http.Request) error {
			var v automationBody
			if err := armapi.DecodeJSON(r, &v); err != nil {
				return err
			}
			armapi.WriteJSON(w, http.StatusOK, map[string]string{"location": v.Location})
			return nil
		}})
	big := `{"location":"` + strings.Repeat("x", armapi.MaxBodyBytes) + `"}`
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		want   string
	}{
		{"ok", `{"location":"westeurope","newField":1}`, 200, "", `{"location":"westeurope"}`},
		{"malformed", `{"location":}`, 400, "InvalidRequestContent", ""},
		{"wrong_type", `{"location":[]}`, 400, "InvalidRequestContent", ""},
		{"empty", ``, 400, "InvalidRequestContent", ""},
		{"too_large", big, 413, "RequestEntityTooLarge", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(rt, "PUT", "/things/a?api-version=2023-12-01-preview", "", strings.NewReader(tt.body))
			if rec.Code != tt.status {
				t.Fatalf("status = %d %s, want %d", rec.Code, rec.Body, tt.status)
			}
			if tt.code == "" {
				if diff := cmp.Diff(tt.want, rec.Body.String()); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				return
			}
			if got := decodeEnvelope(t, rec.Body.Bytes()).Error.Code; got != tt.code {
				t.Errorf("code = %q, want %q", got, tt.code)
			}
		})
	}
}
