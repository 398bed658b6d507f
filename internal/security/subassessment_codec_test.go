package security

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// subSeeds are finding lines the one-pass decoder must accept, and the
// base of the mutations below.
var subSeeds = []string{
	`{"type":"Microsoft.Security/assessments/subAssessments","id":"/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Security/assessments/k/subAssessments/f","properties":{"id":"CVE-2024-1","displayName":"Heap <b>overflow</b>","status":{"code":"Unhealthy","severity":"High"},"remediation":"Update \"it\".","impact":"RCE é","category":"Vulnerability","description":"d","resourceDetails":{"source":"Azure"},"additionalData":{"assessedResourceType":"ServerVulnerabilityAssessment","cvss":{"2.0":null,"3.0":{"base":8.8}},"patchable":true,"cve":[{"title":"CVE","link":"https://n"}],"threat":"x & y"}}}`,
	`{"name":"f","properties":{"displayName":"D","status":{"code":"Healthy","cause":"c","severity":"Low","description":"x"},"timeGenerated":"2024-01-02T03:04:05.5Z","resourceDetails":{"source":"OnPremise","machineName":"m","id":null},"extra":[1,{"a":false}]}}`,
	`{"properties":{"displayName":"D","status":null,"resourceDetails":null,"timeGenerated":null,"id":null}}`,
}

func mutateSub(r *rand.Rand, s string) string {
	replacements := [][2]string{
		{`"severity"`, `"Severity"`}, {`"status"`, `"ſtatus"`}, {`"properties"`, `"PROPERTIES"`}, {`"High"`, `null`}, {`"High"`, `1`},
		{`"additionalData":{`, `"additionalData":null,"q":{`}, {`"additionalData":{`, `"additionalData":[],"q":{`},
		{`"patchable":true`, `"patchable":tru`}, {`"base":8.8`, `"base":08`}, {`"2024-01-02T03:04:05.5Z"`, `"soon"`},
		{`"displayName":"D"`, `"displayName":"D","displayName":"E"`}, {`"code":"Healthy"`, `"code":7`}, {`"Update \"it\"."`, `"\u0055pdate"`},
		{`"source":"Azure"`, `"source":"Azure","Source":"x"`}, {`"name":"f"`, `"name":false`}, {`}}`, `}}]`}, {`"title":"CVE"`, `"title":"\xff"`},
	}
	return applyMutations(r, s, replacements)
}

// checkSubScan is checkScan for findings.
func checkSubScan(t *testing.T, line []byte) bool {
	t.Helper()
	return checkScan(t, line, decodeSubAssessmentScan)
}

// TestDecodeSubAssessmentScan: the one-pass decoder accepts the common
// shapes, and whatever it accepts it decodes as json.Unmarshal does.
func TestDecodeSubAssessmentScan(t *testing.T) {
	for i, seed := range subSeeds {
		if !checkSubScan(t, []byte(seed)) {
			t.Errorf("seed %d: not accepted", i)
		}
	}
	r := rand.New(rand.NewPCG(27, 28))
	accepted, declined := 0, 0
	for i := range 5000 {
		if checkSubScan(t, []byte(mutateSub(r, subSeeds[i%len(subSeeds)]))) {
			accepted++
		} else {
			declined++
		}
	}
	if accepted < 1000 || declined < 1000 {
		t.Errorf("accepted %d, declined %d: the mutations should exercise both", accepted, declined)
	}
}

func FuzzDecodeSubAssessmentScan(f *testing.F) {
	for _, s := range subSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) { checkSubScan(t, line) })
}

// TestSubAssessmentEncoding: the stored body is json.Marshal's and the
// event body marshal's, byte for byte.
func TestSubAssessmentEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	pick := func() string { return encodeSamples[r.IntN(len(encodeSamples))] }
	for i := range 3000 {
		s := &SubAssessment{ID: pick(), Name: pick(), Type: pick(), Properties: SubAssessmentProperties{
			ID: pick(), DisplayName: pick(), Status: SubAssessmentStatus{Code: StatusCode(pick()), Cause: pick(), Severity: pick(), Description: pick()},
			Remediation: pick(), Impact: pick(), Category: pick(), Description: pick(),
			ResourceDetails: ResourceDetails{Source: []string{"", "Azure", "OnPremise", pick()}[r.IntN(4)], ID: pick(), MachineName: pick(), ServerName: pick()},
		}}
		if r.IntN(2) == 0 {
			s.Properties.TimeGenerated = NewTime(time.Unix(r.Int64N(4e9), r.Int64N(1e9)))
		}
		if o, ok := randomValue(r, 0).(Object); ok {
			s.Properties.AdditionalData = append(Object{{"assessedResourceType", pick()}}, o...)
		}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendSubAssessmentREST(nil, s)
		if !ok || string(got) != string(want) {
			t.Fatalf("case %d (ok %v):\n got %s\nwant %s", i, ok, got, want)
		}
		ev, err := newSubAssessmentEvent(s, pick(), []Action{ActionInsert, ActionDelete}[r.IntN(2)], r.IntN(2) == 0)
		if err != nil {
			t.Fatal(err)
		}
		want, err = marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, ok = ev.appendJSON(nil)
		if !ok || string(got) != string(want) {
			t.Fatalf("case %d event (ok %v):\n got %s\nwant %s", i, ok, got, want)
		}
	}
}
