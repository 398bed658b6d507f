package security

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/google/uuid"
)

// This file holds the realistic ingestion lines of the benchmarks (about
// 1–2 KB each), shared by the route's benchmark (package security_test) and
// the per-record ones here.

var benchCodes = []string{"Healthy", "Unhealthy", "NotApplicable"}

// BenchAssessmentLine is an assessment line of a scanner for the assessment
// id, with a random status.
func BenchAssessmentLine(r *rand.Rand, id string) []byte {
	return compactLine(fmt.Sprintf(`{"type":"Microsoft.Security/assessments","id":"%s","properties":{"resourceDetails":{"source":"Azure"},
		"status":{"code":"%s","cause":"PolicyEvaluation","description":"Evaluated by the scanner at its scheduled run. %s"},
		"additionalData":{"scanner":"contoso-vuln-scanner","scannerVersion":"4.12.3","scanId":"%s","agentId":"%s","osName":"Ubuntu 22.04.4 LTS",
		"kernel":"5.15.0-1064-azure","lastBoot":"2025-01-02T03:04:05Z","notes":"%s"}}}`,
		id, benchCodes[r.IntN(len(benchCodes))], strings.Repeat("No further detail. ", 2+r.IntN(6)), uuid.NewString(), uuid.NewString(),
		strings.Repeat("Checked. ", 20+r.IntN(40))))
}

// BenchFindingLine is a vulnerability finding line (number i) under the
// assessment id.
func BenchFindingLine(r *rand.Rand, assessmentID string, i int) []byte {
	return compactLine(fmt.Sprintf(`{"type":"Microsoft.Security/assessments/subAssessments","id":"%s/subAssessments/%s","properties":{"id":"CVE-2024-%d",
		"displayName":"Heap buffer overflow in a widely used imaging library allows remote code execution","status":{"code":"Unhealthy","severity":"High"},
		"remediation":"Update the affected package to the fixed version published by the vendor and restart the affected services.",
		"impact":"A remote attacker could execute arbitrary code in the context of the vulnerable process. %s",
		"category":"Vulnerability","description":"A crafted file processed by the library overflows a heap buffer.","resourceDetails":{"source":"Azure"},
		"additionalData":{"assessedResourceType":"ServerVulnerabilityAssessment","type":"Vulnerability","cvss":{"2.0":null,"3.0":{"base":8.8}},"patchable":true,
		"cve":[{"title":"CVE-2024-%d","link":"https://nvd.nist.gov/vuln/detail/CVE-2024-%d"}],"threat":"Exploit available","publishedTime":"2024-09-12T00:00:00Z"}}}`,
		assessmentID, uuid.NewString(), i, strings.Repeat("Apply the update promptly. ", 2+r.IntN(6)), i, i))
}

// BenchAlertLine is an alert line (number i) about the virtual machine vm,
// without an id (placed from its resource).
func BenchAlertLine(r *rand.Rand, vm string, i int) []byte {
	return compactLine(fmt.Sprintf(`{"type":"Microsoft.Security/Locations/alerts","properties":{"alertType":"VM_SuspiciousActivity","alertDisplayName":"Suspicious process executed on %[1]s",
		"description":"Machine logs indicate that the suspicious process %[2]s was running on the machine, often associated with attacker attempts to access credentials. %[3]s",
		"severity":"High","intent":"CredentialAccess, Execution","systemAlertId":"%[4]s","productComponentName":"Servers",
		"remediationSteps":["Run a full antimalware scan and verify that the threat was removed.","Install and run Microsoft's Malicious Software Removal Tool.","Review the machine for other signs of compromise."],
		"resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"%[1]s"}],
		"entities":[{"type":"host","hostName":"vm-%[5]d","azureID":"%[1]s","omsAgentID":"%[4]s"},{"type":"process","processId":"0x%[5]x","commandLine":"c:\\windows\\temp\\%[2]s -a -b -c"},{"type":"account","name":"svc-backup","ntDomain":"CONTOSO"}],
		"extendedProperties":{"process name":"%[2]s","account logon id":"0x%[5]x","user SID":"S-1-5-21-3623811015-3361044348-30300820-1013"}}}`,
		vm, fmt.Sprintf("mimikatz-%d.exe", i), strings.Repeat("Investigate the activity. ", 4+r.IntN(8)), uuid.NewString(), i))
}

func compactLine(s string) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.Bytes()
}
