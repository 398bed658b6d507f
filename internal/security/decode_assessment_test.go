package security

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// decodeSeeds are assessment lines the fast decoder must accept, and the
// base of the mutations below.
var decodeSeeds = []string{
	`{"type":"Microsoft.Security/assessments","id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Security/assessments/k","properties":{"resourceDetails":{"source":"Azure"},"status":{"code":"Unhealthy","cause":"PolicyEvaluation","description":"Evaluated <b>by</b> the scanner \u00e9 \ud83d\ude00"},"additionalData":{"scanner":"contoso","notes":"a\nb\"c","nothing":null}}}`,
	`{"id":"x","name":"n","properties":{"resourceDetails":{"source":"OnPremise","machineName":"m","sourceComputerId":"c","vmuuid":"u","workspaceId":"w","id":null},"displayName":"d","status":{"code":"Healthy","firstEvaluationDate":"2024-01-02T03:04:05.1234567Z","statusChangeDate":"2024-01-02T03:04:05"},"links":{"azurePortalUri":"https://p"},"metadata":null,"partnersData":null,"extra":[1,2,{"a":true}]}}`,
	`{"properties":{"resourceDetails":{"source":"OnPremiseSql","serverName":"s","databaseName":"d","nativeResourceId":"n","resourceName":"r","resourceType":"t","resourceProvider":"p"},"status":{"code":"NotApplicable","cause":null},"links":null,"additionalData":{}},"unknown":{"deep":[null]}}`,
}

// mutate returns a variant of a seed: a key's case changed, a value
// replaced by another type or null, a member duplicated, bad UTF-8 or a
// bad time, so that both the fast path and the fallback are exercised.
func mutate(r *rand.Rand, s string) string {
	replacements := [][2]string{
		{`"source"`, `"Source"`}, {`"code"`, `"CODE"`}, {`"properties"`, `"Properties"`}, {`"status"`, `"ſtatus"`},
		{`"Unhealthy"`, `null`}, {`"Unhealthy"`, `12`}, {`"contoso"`, `false`}, {`"contoso"`, `null`}, {`"contoso"`, `"\xff\xfe"`},
		{`{"source":"Azure"}`, `null`}, {`{"source":"Azure"}`, `[]`}, {`"additionalData":{`, `"additionalData":null,"x":{`},
		{`"id":"x"`, `"id":"x","id":"y"`}, {`"2024-01-02T03:04:05"`, `"yesterday"`}, {`"2024-01-02T03:04:05"`, `7`},
		{`"metadata":null`, `"metadata":{}`}, {`"partnersData":null`, `"partnersData":{"partnerName":"p"}`},
		{`"links":null`, `"links":{"azurePortalUri":1}`}, {`"links":null`, `"links":{"AzurePortalUri":"u"}`},
		{`"name":"n"`, `"name":["n"]`}, {`"extra":[1,2,{"a":true}]`, `"extra":[1,2,{"a":tru}]`}, {`}}`, `}},`},
		{`"cause":null`, `"cause":"c","cause":"d"`}, {`"displayName":"d"`, `"displayname":"d"`},
		{`[1,2,`, `[1.5e3,-0,`}, {`[1,2,`, `[1-2,`}, {`[1,2,`, `[01,`}, {`[1,2,`, `[1.,`}, {`[1,2,`, `[-,`}, {`[1,2,`, `[1e,`},
		{`[1,2,`, `[.5,`}, {`[1,2,`, `[+1,`}, {`[1,2,`, `[1E+2,0.0e-1,`}, {`"deep":[null]`, `"deep":[12.5,-3E4]`}, {`"deep":[null]`, `"deep":[1..2]`},
	}
	return applyMutations(r, s, replacements)
}

// applyMutations applies one or two of the replacements, picked at random,
// to s.
func applyMutations(r *rand.Rand, s string, replacements [][2]string) string {
	for range 1 + r.IntN(2) {
		rp := replacements[r.IntN(len(replacements))]
		s = strings.Replace(s, rp[0], rp[1], 1)
	}
	return s
}

// TestDecodeAssessmentFast: whenever the fast decoder accepts a line, it
// decodes it exactly as json.Unmarshal does; it accepts the common shapes.
func TestDecodeAssessmentFast(t *testing.T) {
	for i, seed := range decodeSeeds {
		if _, ok := decodeAssessmentFast([]byte(seed)); !ok {
			t.Errorf("seed %d: not accepted", i)
		}
	}
	r := rand.New(rand.NewPCG(7, 8))
	accepted, declined := 0, 0
	for i := range 5000 {
		line := decodeSeeds[i%len(decodeSeeds)]
		if i >= len(decodeSeeds) {
			line = mutate(r, line)
		}
		got, ok := decodeAssessmentFast([]byte(line))
		if !ok {
			declined++
			continue
		}
		accepted++
		var want Assessment
		if err := json.Unmarshal([]byte(line), &want); err != nil {
			t.Fatalf("accepted %s, which json.Unmarshal refuses: %v", line, err)
		}
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", line, got, &want)
		}
	}
	if accepted < 1000 || declined < 1000 {
		t.Errorf("accepted %d, declined %d: the mutations should exercise both", accepted, declined)
	}
}

// checkAssessmentScan fails when decodeAssessmentScan accepts line but
// decodes it differently from json.Unmarshal, or disagrees with
// requireObject about the properties. It reports whether it accepted.
func checkAssessmentScan(t *testing.T, line []byte) bool {
	t.Helper()
	return checkScan(t, line, decodeAssessmentScan)
}

// checkScan fails when a one-pass decoder accepts line but decodes it
// differently from json.Unmarshal, or disagrees with requireObject about
// the properties. It reports whether it accepted.
func checkScan[T any](t *testing.T, line []byte, decode func([]byte) (*T, bool, bool)) bool {
	t.Helper()
	got, props, ok := decode(line)
	if !ok {
		return false
	}
	var want T
	if err := json.Unmarshal(line, &want); err != nil {
		t.Fatalf("scan accepted %q, which json.Unmarshal refuses: %v", line, err)
	}
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("%q:\n got %+v\nwant %+v", line, got, &want)
	}
	if err := requireObject(line, "properties"); (err == nil) != props {
		t.Fatalf("%q: scan says properties present = %v, requireObject says %v", line, props, err)
	}
	return true
}

// TestDecodeAssessmentScan: the one-pass decoder accepts at least what the
// tree decoder accepts on the seeds, and whatever it accepts it decodes as
// json.Unmarshal does.
func TestDecodeAssessmentScan(t *testing.T) {
	extra := []string{
		`{"properties":null}`, `{}`, ` {"id":"a"} `, `{"properties":{"status":null,"resourceDetails":null}}`,
		`{"properties":{"additionalData":{"a":"1","a":"2","":null}},"x":[[[[{"y":[true,false,null,-0.5e-3]}]]]]}`,
		`{"properties":{"status":{"code":"Healthy"}},"pro\u0070erties":null}`, `{"i\u0064":"\u00e9\n"}`,
		`{"id":"\ud800"}`, `{"id":"a\x"}`, `{"id":"\u12"}`, `{"id":"tab\there"}`, "{\"id\":\"ctl\x01\"}",
		`{"properties":{}} {}`, `[{"properties":{}}]`, `{"properties":{"links":{"azurePortalUri":null}}}`,
		`{"properties":{"displayName":"` + strings.Repeat("é", 40) + `"}}`, "{\"id\":\"\xc3\x28\"}",
		`{"x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, `{"x":tru}`, `{"x":nul}`, `{"x":1.}`,
	}
	for i, seed := range decodeSeeds {
		if !checkAssessmentScan(t, []byte(seed)) {
			t.Errorf("seed %d: not accepted", i)
		}
	}
	for _, line := range extra {
		checkAssessmentScan(t, []byte(line))
	}
	r := rand.New(rand.NewPCG(9, 10))
	accepted, declined := 0, 0
	for i := range 5000 {
		line := mutate(r, decodeSeeds[i%len(decodeSeeds)])
		if checkAssessmentScan(t, []byte(line)) {
			accepted++
		} else {
			declined++
		}
		if _, ok := decodeAssessmentFast([]byte(line)); ok && !checkAssessmentScan(t, []byte(line)) {
			t.Errorf("the tree decoder accepts %q, the scan does not", line)
		}
	}
	if accepted < 1000 || declined < 1000 {
		t.Errorf("accepted %d, declined %d: the mutations should exercise both", accepted, declined)
	}
}

// FuzzDecodeAssessmentScan: whatever the one-pass decoder accepts,
// json.Unmarshal decodes the same way.
func FuzzDecodeAssessmentScan(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"properties":null,"x":[1,{"y":"\u00e9"}]}`))
	f.Fuzz(func(t *testing.T, line []byte) { checkAssessmentScan(t, line) })
}

func TestValidNumber(t *testing.T) {
	for _, s := range []string{"0", "-0", "12", "1.5", "-1.25e10", "1E+2", "0.0e-1", "9e9"} {
		if !validNumber(s) || !json.Valid([]byte(s)) {
			t.Errorf("%q should be valid", s)
		}
	}
	for _, s := range []string{"", "-", "01", "1.", ".5", "+1", "1e", "1e+", "1-2", "1.2.3", "--1", "1ee2"} {
		if validNumber(s) || json.Valid([]byte(s)) {
			t.Errorf("%q should be invalid", s)
		}
	}
}
