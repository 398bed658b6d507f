package security

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"sluice/internal/armid"
	"sluice/internal/catalog"
	"sluice/internal/ingest"
)

// hotLines returns n realistic NDJSON records of each kind of the
// ingestion mix (assessments, findings, alerts), as BenchmarkIngest sends
// them, over the subscription sub.
func hotLines(r *rand.Rand, sub string, n int) (assessments, findings, alerts [][]byte) {
	recs := catalog.Default().ForResourceType("Microsoft.Compute/virtualMachines")
	codes := []string{"Healthy", "Unhealthy", "NotApplicable"}
	compact := func(s string) []byte {
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(s)); err != nil {
			panic(err)
		}
		return b.Bytes()
	}
	for i := range n {
		vm := fmt.Sprintf("/subscriptions/%s/resourceGroups/rg%d/providers/Microsoft.Compute/virtualMachines/vm-%07d", sub, i%20, i)
		aid := AssessmentID(vm, recs[r.IntN(len(recs))].Name)
		assessments = append(assessments, compact(fmt.Sprintf(`{"type":"Microsoft.Security/assessments","id":"%s","properties":{"resourceDetails":{"source":"Azure"},
			"status":{"code":"%s","cause":"PolicyEvaluation","description":"Evaluated by the scanner at its scheduled run. %s"},
			"additionalData":{"scanner":"contoso-vuln-scanner","scannerVersion":"4.12.3","scanId":"%s","agentId":"%s","osName":"Ubuntu 22.04.4 LTS",
			"kernel":"5.15.0-1064-azure","lastBoot":"2025-01-02T03:04:05Z","notes":"%s"}}}`,
			aid, codes[r.IntN(len(codes))], strings.Repeat("No further detail. ", 2+r.IntN(6)), uuid.NewString(), uuid.NewString(),
			strings.Repeat("Checked. ", 20+r.IntN(40)))))
		findings = append(findings, compact(fmt.Sprintf(`{"type":"Microsoft.Security/assessments/subAssessments","id":"%s/subAssessments/%s","properties":{"id":"CVE-2024-%d",
			"displayName":"Heap buffer overflow in a widely used imaging library allows remote code execution","status":{"code":"Unhealthy","severity":"High"},
			"remediation":"Update the affected package to the fixed version published by the vendor and restart the affected services.",
			"impact":"A remote attacker could execute arbitrary code in the context of the vulnerable process. %s",
			"category":"Vulnerability","description":"A crafted file processed by the library overflows a heap buffer.","resourceDetails":{"source":"Azure"},
			"additionalData":{"assessedResourceType":"ServerVulnerabilityAssessment","type":"Vulnerability","cvss":{"2.0":null,"3.0":{"base":8.8}},"patchable":true,
			"cve":[{"title":"CVE-2024-%d","link":"https://nvd.nist.gov/vuln/detail/CVE-2024-%d"}],"threat":"Exploit available","publishedTime":"2024-09-12T00:00:00Z"}}}`,
			aid, uuid.NewString(), i, strings.Repeat("Apply the update promptly. ", 2+r.IntN(6)), i, i)))
		alerts = append(alerts, compact(fmt.Sprintf(`{"type":"Microsoft.Security/Locations/alerts","properties":{"alertType":"VM_SuspiciousActivity","alertDisplayName":"Suspicious process executed on %[1]s",
			"description":"Machine logs indicate that the suspicious process %[2]s was running on the machine, often associated with attacker attempts to access credentials. %[3]s",
			"severity":"High","intent":"CredentialAccess, Execution","systemAlertId":"%[4]s","productComponentName":"Servers",
			"remediationSteps":["Run a full antimalware scan and verify that the threat was removed.","Install and run Microsoft's Malicious Software Removal Tool.","Review the machine for other signs of compromise."],
			"resourceIdentifiers":[{"type":"AzureResource","azureResourceId":"%[1]s"}],
			"entities":[{"type":"host","hostName":"vm-%[5]d","azureID":"%[1]s","omsAgentID":"%[4]s"},{"type":"process","processId":"0x%[5]x","commandLine":"c:\\windows\\temp\\%[2]s -a -b -c"},{"type":"account","name":"svc-backup","ntDomain":"CONTOSO"}],
			"extendedProperties":{"process name":"%[2]s","account logon id":"0x%[5]x","user SID":"S-1-5-21-3623811015-3361044348-30300820-1013"}}}`,
			vm, fmt.Sprintf("mimikatz-%d.exe", i), strings.Repeat("Investigate the activity. ", 4+r.IntN(8)), uuid.NewString(), i)))
	}
	return assessments, findings, alerts
}

// hotService returns a service whose caches know sub (its tenant, an empty
// aggregate and the locations of its resource groups), so that Prepare
// speculates as it does on the ingestion route.
func hotService(sub string) *Service {
	s := NewService(nil, catalog.Default(), nil, nil)
	s.tenants[sub] = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	s.aggs[sub] = &cachedAgg{agg: newSubAgg(s.ix), valid: true}
	for i := range 20 {
		s.rgLocs[armid.Key(armid.ResourceGroupID(sub, fmt.Sprintf("rg%d", i)))] = "westeurope"
	}
	return s
}

// benchParse runs parse (and Prepare when prepare is set) over lines,
// reporting per-record cost; it fails when a line is rejected or a
// speculation does not happen.
func benchParse(b *testing.B, lines [][]byte, parse func([]byte) (ingest.Record, error), prepare bool) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	b.ReportAllocs()
	b.SetBytes(int64(len(lines[0])))
	b.ResetTimer()
	for i := range b.N {
		rec, err := parse(lines[i%len(lines)])
		if err != nil {
			b.Fatalf("line %d: %v", i%len(lines), err)
		}
		if prepare {
			rec.(ingest.Preparer).Prepare(now)
		}
	}
}

// BenchmarkParseLine measures the per-record work of the ingestion route
// outside the store's writer: parse, and parse + Prepare (speculate), for
// each kind of record of the BenchmarkIngest mix.
func BenchmarkParseLine(b *testing.B) {
	sub := "8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f"
	s := hotService(sub)
	assessments, findings, alerts := hotLines(rand.New(rand.NewPCG(1, 2)), sub, 512)
	for _, k := range []struct {
		name  string
		lines [][]byte
		parse func([]byte) (ingest.Record, error)
	}{{"assessment", assessments, s.parseAssessmentLine}, {"finding", findings, s.parseSubAssessmentLine}, {"alert", alerts, s.parseAlertLine}} {
		b.Run(k.name+"/parse", func(b *testing.B) { benchParse(b, k.lines, k.parse, false) })
		b.Run(k.name+"/parse+prepare", func(b *testing.B) { benchParse(b, k.lines, k.parse, true) })
	}
}
