package armapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"sluice/internal/armapi"
)

var fuzzSeeds = []string{
	``,
	`{}`,
	`null`,
	`[]`,
	`"x"`,
	`{"location":"westeurope","tags":{"a":"b"},"properties":{"isEnabled":true,"severity":"High","scopes":[{"scopePath":"/subscriptions/x"}],"actions":[{"actionType":"EventHub"}]}}`,
	`{"location":5}`,
	`{"properties":{"scopes":{}}}`,
	`{"properties":{"limit":1e400}}`,
	`{"properties":{"count":-1}}`,
	`{"properties":{"data":"!!"}}`,
	`{"properties":{"since":"yesterday"}}`,
	`{"location":"x"} trailing`,
	"{\n\"a\":\n}",
	`{"a":"\ud800"}`,
	"{\"location\":\"\xff\"}",
	`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
}

// checkDecodeError asserts the promises of Unmarshal and DecodeJSON about
// an input: success only on valid JSON, otherwise an *armapi.Error with an
// allowed status and code, a bounded message, and an envelope that encodes.
func checkDecodeError(t *testing.T, data []byte, err error, allowTooLarge bool) {
	t.Helper()
	if err == nil {
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		return
	}
	var ae *armapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %T %v is not an *armapi.Error", err, err)
	}
	switch {
	case ae.Status == http.StatusBadRequest && ae.Code == "InvalidRequestContent":
	case allowTooLarge && ae.Status == http.StatusRequestEntityTooLarge && ae.Code == "RequestEntityTooLarge":
	default:
		t.Fatalf("error status %d code %q for %q", ae.Status, ae.Code, data)
	}
	if ae.Message == "" || len(ae.Message) > 1024 {
		t.Fatalf("error message of %d bytes for %q", len(ae.Message), data)
	}
	rec := httptest.NewRecorder()
	armapi.WriteError(rec, httptest.NewRequest("PUT", "/", nil), err)
	var env struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if jerr := json.Unmarshal(rec.Body.Bytes(), &env); jerr != nil || env.Error.Code != ae.Code || rec.Code != ae.Status {
		t.Fatalf("WriteError produced %d %q (%v)", rec.Code, rec.Body, jerr)
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v automationBody
		checkDecodeError(t, data, armapi.Unmarshal(data, &v), false)
		var m map[string]any
		checkDecodeError(t, data, armapi.Unmarshal(data, &m), false)
		var a any
		err := armapi.Unmarshal(data, &a)
		checkDecodeError(t, data, err, false)
		// Into any, valid JSON fails only on a number beyond float64 or an
		// empty document.
		if err != nil && json.Valid(data) && !bytes.Contains([]byte(err.Error()), []byte("number")) {
			t.Fatalf("Unmarshal of valid JSON %q into any failed: %v", data, err)
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), int64(len(s)))
		f.Add([]byte(s), int64(-1))
	}
	f.Add([]byte(`{}`), int64(armapi.MaxBodyBytes+1))
	f.Fuzz(func(t *testing.T, data []byte, declared int64) {
		req := httptest.NewRequest("PUT", "/", bytes.NewReader(data))
		// The declared length may lie (a client may claim any length; the
		// server reads what arrives).
		req.ContentLength = declared
		var v automationBody
		err := armapi.DecodeJSON(req, &v)
		checkDecodeError(t, data, err, true)
		var ae *armapi.Error
		if declared > armapi.MaxBodyBytes && (!errors.As(err, &ae) || ae.Status != http.StatusRequestEntityTooLarge) {
			t.Fatalf("declared length %d over the limit was not a 413: %v", declared, err)
		}
	})
}
