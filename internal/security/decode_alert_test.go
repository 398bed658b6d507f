package security

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// alertSeeds are alert lines the one-pass decoder must accept, and the
// base of the mutations below.
var alertSeeds = []string{
	`{"type":"Microsoft.Security/Locations/alerts","properties":{"alertType":"VM_SuspiciousActivity","alertDisplayName":"Suspicious process executed on <b>vm</b>","description":"Machine logs indicate \"mimikatz\" ran. é","severity":"High","intent":"CredentialAccess, Execution","systemAlertId":"0a1b","productComponentName":"Servers","remediationSteps":["Run a scan.","Install the tool."],"resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"}],"entities":[{"$id":"4","type":"host","hostName":"vm","azureID":"x","n":-1.5e3,"ok":true,"no":false,"nil":null,"list":[1,"a",{"b":[]}]},{"type":"process","processId":"0x1","commandLine":"c:\\windows\\temp\\m.exe -a"},{"$ref":"4"}],"extendedProperties":{"process name":"m.exe","user SID":"S-1-5-21","empty":null}}}`,
	`{"id":"/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f/providers/Microsoft.Security/locations/westeurope/alerts/a1","name":"a1","properties":{"version":"2022-01-01","alertType":"T","alertDisplayName":"D","severity":"Low","status":"Active","vendorName":"V","productName":"P","alertUri":"https://u","correlationKey":"c","compromisedEntity":"e","isIncident":true,"startTimeUtc":"2024-01-02T03:04:05.1234567Z","endTimeUtc":"2024-01-02T03:04:06Z","timeGeneratedUtc":null,"processingEndTimeUtc":"2024-01-02T03:04:07","techniques":["T1003"],"subTechniques":[],"supportingEvidence":{"type":"tabularEvidences","columns":["a"]},"resourceIdentifiers":[{"type":"LogAnalytics","workspaceId":"w","workspaceSubscriptionId":"s","workspaceResourceGroup":"g","agentId":"x"}],"entities":[],"remediationSteps":null,"extra":{"deep":[null,{"x":1}]}}}`,
	`{"properties":{"alertType":"T","alertDisplayName":"D","severity":"medium","resourceIdentifiers":null,"entities":null,"isIncident":null,"intent":null}}`,
}

// mutateAlert returns a variant of an alert seed: a key's case changed,
// a value replaced by another type or null, a member duplicated, bad UTF-8
// or a bad time.
func mutateAlert(r *rand.Rand, s string) string {
	replacements := [][2]string{
		{`"severity"`, `"Severity"`}, {`"entities"`, `"ENTITIES"`}, {`"properties"`, `"Properties"`}, {`"status"`, `"ſtatus"`},
		{`"High"`, `null`}, {`"High"`, `12`}, {`"Servers"`, `false`}, {`"Servers"`, `"\xff\xfe"`}, {`"m.exe"`, `null`}, {`"m.exe"`, `1`},
		{`"remediationSteps":[`, `"remediationSteps":[null,`}, {`"remediationSteps":[`, `"remediationSteps":[1,`},
		{`"entities":[`, `"entities":[null,`}, {`"entities":[`, `"entities":["x",`}, {`"entities":[`, `"entities":[{"a":01},`},
		{`"isIncident":true`, `"isIncident":"yes"`}, {`"isIncident":true`, `"isIncident":false,"isIncident":true`},
		{`"2024-01-02T03:04:07"`, `"yesterday"`}, {`"2024-01-02T03:04:07"`, `7`}, {`"startTimeUtc":"`, `"startTimeUtc":null,"x":"`},
		{`"resourceIdentifiers":[`, `"resourceIdentifiers":[null,`}, {`"resourceIdentifiers":null`, `"resourceIdentifiers":{}`},
		{`"type":"AzureResource"`, `"Type":"AzureResource"`}, {`"extendedProperties":{`, `"extendedProperties":null,"y":{`},
		{`"supportingEvidence":{`, `"supportingEvidence":null,"z":{`}, {`"techniques":["T1003"]`, `"techniques":"T1003"`},
		{`"extra":{`, `"extendedLinks":[{"Href":"h","Category":null,"Label":"l","Type":"t"}],"extra":{`},
		{`"name":"a1"`, `"name":["a1"]`}, {`}}`, `}},`}, {`"list":[1,`, `"list":[1.,`}, {`"list":[1,`, `"list":[tru,`},
		{`"alertType":"T"`, `"alertType":"T","alertType":"U"`}, {`"alertType":"T"`, `"alerttype":"T"`}, {`"4"`, `"\u0034"`},
		{`"hostName":"vm"`, `"host\u004eame":"vm"`}, {`"entities":[`, `"entities":[{"type":"t","k":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `},`},
	}
	return applyMutations(r, s, replacements)
}

// checkAlertScan is checkScan for alerts.
func checkAlertScan(t *testing.T, line []byte) bool {
	t.Helper()
	return checkScan(t, line, decodeAlertScan)
}

// TestDecodeAlertScan: the one-pass decoder accepts the common shapes, and
// whatever it accepts it decodes as json.Unmarshal does.
func TestDecodeAlertScan(t *testing.T) {
	for i, seed := range alertSeeds {
		if !checkAlertScan(t, []byte(seed)) {
			t.Errorf("seed %d: not accepted", i)
		}
	}
	for _, line := range []string{`{}`, `{"properties":null}`, `[]`, `{"properties":{}} x`, `{"properties":{"entities":[{}],"extendedProperties":{}}}`} {
		checkAlertScan(t, []byte(line))
	}
	r := rand.New(rand.NewPCG(21, 22))
	accepted, declined := 0, 0
	for i := range 5000 {
		if checkAlertScan(t, []byte(mutateAlert(r, alertSeeds[i%len(alertSeeds)]))) {
			accepted++
		} else {
			declined++
		}
	}
	if accepted < 1000 || declined < 1000 {
		t.Errorf("accepted %d, declined %d: the mutations should exercise both", accepted, declined)
	}
}

// FuzzDecodeAlertScan: whatever the one-pass decoder accepts,
// json.Unmarshal decodes the same way.
func FuzzDecodeAlertScan(f *testing.F) {
	for _, s := range alertSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) { checkAlertScan(t, line) })
}
