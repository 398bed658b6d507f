package automation_test

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sluice/internal/automation"
	"sluice/internal/export"
	"sluice/internal/store"
)

// Event body templates in the export formats (sizes as exported: alerts
// ~3 KB, assessments ~2.7 KB). {SUB}, {RG}, {SEV}, {NAME} are replaced.
const (
	benchAlert         = `{"VendorName":"Microsoft","AlertType":"VM_SuspiciousAuthentication","ProductName":"Microsoft Defender for Cloud","StartTimeUtc":"2024-05-11T13:15:45.0170422Z","EndTimeUtc":"2024-05-11T13:15:45.0170422Z","TimeGenerated":"2024-05-11T13:17:09.0170422Z","ProcessingEndTime":"2024-05-11T13:17:09.0170422Z","Severity":"{SEV}","Status":"New","ProviderAlertStatus":null,"ConfidenceLevel":null,"ConfidenceScore":0.0,"ConfidenceReasons":null,"IsIncident":false,"SystemAlertId":"2517184898549829577_{NAME}","CorrelationKey":"kso0LFWxzCll5tqrk5hmrBJ+MY1BX806W6q6+0s9Lk=","Intent":"PreAttack","AzureResourceId":"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm-{NAME}","WorkspaceId":"00000000-0000-0000-0000-000000000001","WorkspaceSubscriptionId":"00000000-0000-0000-0000-000000000001","WorkspaceResourceGroup":"Sample-RG","AgentId":"00000000-0000-0000-0000-000000000002","CompromisedEntity":"vm-{NAME}","AlertDisplayName":"Suspicious authentication activity","Description":"Although none of them succeeded, some of them used accounts were recognized by the host. This resembles a dictionary attack.","Entities":[{"$id":"5","HostName":"vm-{NAME}","AzureID":"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm-{NAME}","OsFamily":"Linux","Asset":false,"Type":"host"},{"$id":"6","Address":"198.51.100.7","Location":{"CountryCode":"US","City":"Washington","Longitude":-78.17197,"Asn":8075},"Asset":false,"Type":"ip"},{"$id":"7","Name":"Sample-account","Host":{"$ref":"5"},"Asset":false,"Type":"account"},{"$id":"8","ProcessId":"0x1e99b","CommandLine":"sshd","Account":{"$ref":"7"},"Host":{"$ref":"5"},"Asset":false,"Type":"process"}],"ExtendedLinks":[{"Href":"https://example.com/report","Category":null,"Label":"Report","Type":"webLink"}],"RemediationSteps":["Enforce the use of strong passwords and do not re-use them across multiple resources and services.","Block the IP address of the attacker at the network security group."],"ExtendedProperties":{"resourceType":"Virtual Machine","Client IP address":"198.51.100.7","EffectiveAzureResourceId":"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm-{NAME}","CompromisedEntity":"vm-{NAME}","ProductComponentName":"Servers","EffectiveSubscriptionId":"{SUB}"},"ResourceIdentifiers":[{"$id":"2","AzureResourceId":"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm-{NAME}","Type":"AzureResource","AzureResourceTenantId":"aa40685b-417d-4664-b4ec-8f7640719adb"},{"$id":"3","AadTenantId":"aa40685b-417d-4664-b4ec-8f7640719adb","Type":"AAD"}],"AlertUri":"https://portal.azure.com/#blade/Microsoft_Azure_Security_AzureDefenderForData/AlertBlade/alertId/2517184898549829577_{NAME}/subscriptionId/{SUB}/referencedFrom/alertDeepLink/location/centralus"}`
	benchAlertExtra    = `{"ProductComponentName":"Servers","Version":"3.0","Techniques":["T1110"],"SubTechniques":[],"ResourceType":"Virtual Machine"}`
	benchAssessment    = `{"assessmentEventDataEnrichment":{"action":"Insert","apiVersion":"2019-01-01","isSnapshot":false},"securityEventDataEnrichment":{"action":"Insert","apiVersion":"2019-01-01","isSnapshot":false},"tenantId":"a39bedba-be8f-4c0f-bfe2-b8c7913501ea","type":"Microsoft.Security/assessments","kind":null,"location":null,"id":"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm-{NAME}/providers/Microsoft.Security/assessments/{ASSESS}","name":"{ASSESS}","tags":null,"properties":{"resourceDetails":{"source":"Azure","id":"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm-{NAME}","resourceName":"vm-{NAME}","resourceType":"virtualMachines","resourceProvider":"Microsoft.Compute","nativeResourceId":"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm-{NAME}"},"displayName":"Vulnerabilities in security configuration on your Linux machines should be remediated (powered by Guest Configuration)","status":{"code":"{STATUS}","statusChangeDate":"2024-11-20T10:51:36.3376828Z","firstEvaluationDate":"2024-11-20T10:51:36.3376828Z"},"additionalData":{"subAssessmentsLink":"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm-{NAME}/providers/Microsoft.Security/assessments/{ASSESS}/subAssessments"},"metadata":{"displayName":"Vulnerabilities in security configuration on your Linux machines should be remediated (powered by Guest Configuration)","assessmentType":"BuiltIn","policyDefinitionId":"/providers/Microsoft.Authorization/policyDefinitions/fc9b3da7-8347-4380-8e70-0a0361d8dedd","description":"Remediate vulnerabilities in security configuration on your Linux machines to protect them from attacks.","remediationDescription":"1. Select any of the findings below.<br>2. On the right pane opened, follow the instructions under 'Remediation' if exist.","categories":["Compute"],"severity":"{SEV}","userImpact":"Moderate","implementationEffort":"Moderate","threats":["DataExfiltration","DataSpillage","AccountBreach"]},"links":{"azurePortal":"portal.azure.com/#blade/Microsoft_Azure_Security/RecommendationsBlade/assessmentKey/{ASSESS}/resourceId/%2fsubscriptions%2f{SUB}%2fresourceGroups%2f{RG}%2fproviders%2fMicrosoft.Compute%2fvirtualMachines%2fvm-{NAME}"}}}`
	benchSubAssessment = `{"$type":"subAssessmentEvent","SubAssessmentEventDataEnrichment":{"$type":"subAssessmentEventDataEnrichment","Action":"Insert","ApiVersion":"2020-01-01","IsSnapshot":false},"SecurityEventDataEnrichment":{"$type":"subAssessmentEventDataEnrichment","Action":"Insert","ApiVersion":"2020-01-01","IsSnapshot":false},"TenantId":"aa40685b-417d-4664-b4ec-8f7640719adb","Type":"Microsoft.Security/assessments/subAssessments","Id":"/subscriptions/{SUB}/resourcegroups/{RG}/providers/microsoft.compute/virtualmachines/vm-{NAME}/providers/Microsoft.Security/assessments/{ASSESS}/subassessments/93d2736e-7329-8806-3ef6-e71bb2203d11","Name":"93d2736e-7329-8806-3ef6-e71bb2203d11","Properties":{"$type":"response/subAssessmentProperties","Id":"93d2736e-7329-8806-3ef6-e71bb2203d11","DisplayName":"Ensure DCCP is disabled","Status":{"$type":"status","Code":"Unhealthy","Severity":"{SEV}"},"Remediation":"Edit or create a file in the /etc/modprobe.d/ directory ending in .conf and add install dccp /bin/true.","Impact":"If the protocol is not required, it is recommended that the drivers not be installed to reduce the potential attack surface.","Category":"N/A","Description":"Ensure DCCP is disabled","TimeGenerated":"2023-05-12T09:58:32.2607101Z","ResourceDetails":{"$type":"resourceDetails/azure","Source":"Azure","Id":"/subscriptions/{SUB}/resourcegroups/{RG}/providers/microsoft.compute/virtualmachines/vm-{NAME}"},"AdditionalData":{"$type":"additionalData/general","AssessedResourceType":"GeneralVulnerability","Data":{"OsName":"Linux","RuleType":"Command"}}}}`
	benchControl       = `{"securityEventDataEnrichment":{"action":"Insert","apiVersion":"2020-01-01","isSnapshot":false},"tenantId":"a39bedba-be8f-4c0f-bfe2-b8c7913501ea","type":"Microsoft.Security/secureScores/secureScoreControls","id":"/subscriptions/{SUB}/providers/Microsoft.Security/secureScores/ascScore/secureScoreControls/{ASSESS}","name":"{ASSESS}","properties":{"displayName":"Enable MFA","healthyResourceCount":4,"unhealthyResourceCount":1,"notApplicableResourceCount":0,"weight":10,"score":{"max":10,"current":8.33,"percentage":0.833}}}`
	benchScore         = `{"securityEventDataEnrichment":{"action":"Insert","apiVersion":"2020-01-01","isSnapshot":false},"id":"/subscriptions/{SUB}/providers/Microsoft.Security/secureScores/ascScore","name":"ascScore","type":"Microsoft.Security/secureScores","properties":{"displayName":"ASC score","score":{"max":39,"current":23.53,"percentage":0.6033},"weight":67}}`
	benchCompliance    = `{"securityEventDataEnrichment":{"action":"Insert","apiVersion":"2019-01-01-preview","isSnapshot":false},"tenantId":"a39bedba-be8f-4c0f-bfe2-b8c7913501ea","type":"Microsoft.Security/regulatoryComplianceStandards/regulatoryComplianceControls/regulatoryComplianceAssessments","id":"/subscriptions/{SUB}/providers/Microsoft.Security/regulatoryComplianceStandards/Azure-CIS-1.1.0/regulatoryComplianceControls/1.1/regulatoryComplianceAssessments/{ASSESS}","name":"{ASSESS}","properties":{"description":"Ensure that multi-factor authentication is enabled for all privileged users","state":"Failed","passedResources":3,"failedResources":1,"skippedResources":0,"assessmentType":"Azure Defender for Cloud"}}`
)

var benchAssessmentNames = []string{"4fb67663-9ab9-475d-b026-8c544cced439", "1195afff-c881-495e-9bc5-1486211ae03f",
	"1f655fb7-63ca-4980-91a3-56dbc2b715c6", "c476dc48-8110-4139-91af-c8d940896b98", "ef1a1e6a-0f7e-4b3b-9a3d-7a1b2f0c4b6d"}

func benchSub(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i+1, i+1) }

var benchRGs = []string{"web-prod", "data-prod", "network-prod"}

// benchAutomations builds perSub automations for each of subs
// subscriptions, a realistic mix: the built-in policies' two bodies, a
// resource-group-scoped alert export with ANDed rules, a high-severity
// assessments export (the spec example), and some disabled ones.
func benchAutomations(b testing.TB, subs, perSub int) []*export.Export {
	b.Helper()
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", "samples", name))
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	policyLA := string(read("api-policy-derived-workspace-defaults.json"))
	policyEH := string(read("api-policy-derived-eventhub-custom.json"))
	rgAlerts := `{"location":"westeurope","properties":{"isEnabled":true,"scopes":[{"scopePath":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{RG}"}],
		"sources":[{"eventSource":"Alerts","ruleSets":[{"rules":[{"propertyJPath":"Severity","propertyType":"String","expectedValue":"High","operator":"Equals"},
		{"propertyJPath":"ProductComponentName","propertyType":"String","expectedValue":"Servers","operator":"Equals"}]},
		{"rules":[{"propertyJPath":"Entities[0].Type","propertyType":"String","expectedValue":"host","operator":"Equals"},{"propertyJPath":"ConfidenceScore","propertyType":"Number","expectedValue":"0.5","operator":"GreaterThan"}]}]}],
		"actions":[{"actionType":"LogicApp","logicAppResourceId":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Logic/workflows/w","uri":"https://example.invalid/x?sig=s"}]}}`
	highAssess := `{"location":"westeurope","properties":{"isEnabled":{ENABLED},"scopes":[{"scopePath":"/subscriptions/00000000-0000-0000-0000-000000000000"}],
		"sources":[{"eventSource":"Assessments","ruleSets":[{"rules":[{"propertyJPath":"properties.metadata.severity","propertyType":"String","expectedValue":"High","operator":"Equals"},
		{"propertyJPath":"properties.status.code","propertyType":"String","expectedValue":"unhealthy","operator":"Equals"}]}]},
		{"eventSource":"SecureScoreControls","ruleSets":[{"rules":[{"propertyJPath":"properties.score.percentage","propertyType":"Number","expectedValue":"0.9","operator":"LesserThan"}]}]}],
		"actions":[{"actionType":"Workspace","workspaceResourceId":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w"}]}}`
	var out []*export.Export
	for s := range subs {
		sub := benchSub(s)
		for n := range perSub {
			var body string
			switch n % 10 {
			case 0, 1, 2, 3:
				body = policyLA
			case 4, 5:
				body = policyEH
			case 6, 7:
				body = strings.ReplaceAll(rgAlerts, "{RG}", benchRGs[n%3])
			case 8:
				body = strings.ReplaceAll(highAssess, "{ENABLED}", "true")
			default:
				body = strings.ReplaceAll(highAssess, "{ENABLED}", "false")
			}
			body = strings.ReplaceAll(body, "00000000-0000-0000-0000-000000000000", sub)
			a, err := automation.Parse([]byte(body))
			if err != nil {
				b.Fatal(err)
			}
			if err := automation.Validate(a, sub); err != nil {
				b.Fatal(err)
			}
			a.ID = fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Security/automations/auto-%d", sub, benchRGs[n%3], n)
			x, err := automation.Compile(a)
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, x)
		}
	}
	return out
}

// benchEvents builds n events spread over the subscriptions: 40% alerts,
// 30% assessments, 10% each sub-assessments and secure score controls, 5%
// each regulatory compliance assessments and secure scores, with mixed
// severities and assessment statuses.
func benchEvents(subs, n int) []*store.Event {
	r := rand.New(rand.NewPCG(1, 2))
	// Alerts also come as Informational, which the policies do not
	// export; a third of the assessments are healthy.
	sevs := []string{"High", "Medium", "Low", "Informational"}
	statuses := []string{"Unhealthy", "Unhealthy", "Healthy"}
	evs := make([]*store.Event, n)
	for i := range evs {
		sub := benchSub(r.IntN(subs))
		rg := benchRGs[r.IntN(len(benchRGs))]
		name := fmt.Sprintf("%06d", i)
		assess := benchAssessmentNames[r.IntN(len(benchAssessmentNames))]
		k := r.IntN(20)
		sev := sevs[r.IntN(3)]
		if k < 8 && r.IntN(4) == 0 {
			sev = sevs[3]
		}
		repl := strings.NewReplacer("{SUB}", sub, "{RG}", rg, "{SEV}", sev, "{NAME}", name, "{ASSESS}", assess, "{STATUS}", statuses[r.IntN(3)])
		ev := &store.Event{Seq: int64(i + 1), ID: name, Subscription: sub, ResourceGroup: rg,
			ResourceID: "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachines/vm-" + name}
		switch {
		case k < 8:
			ev.Source, ev.Body, ev.Extra = "Alerts", []byte(repl.Replace(benchAlert)), []byte(benchAlertExtra)
		case k < 14:
			ev.Source, ev.Body = "Assessments", []byte(repl.Replace(benchAssessment))
		case k < 16:
			ev.Source, ev.Body = "SubAssessments", []byte(repl.Replace(benchSubAssessment))
		case k < 18:
			ev.Source, ev.Body, ev.ResourceID = "SecureScoreControls", []byte(repl.Replace(benchControl)), ""
		case k < 19:
			ev.Source, ev.Body, ev.ResourceID = "RegulatoryComplianceAssessment", []byte(repl.Replace(benchCompliance)), ""
		default:
			ev.Source, ev.Body, ev.ResourceID = "SecureScores", []byte(repl.Replace(benchScore)), ""
		}
		evs[i] = ev
	}
	return evs
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMatch matches realistic events against 10,000 automations spread
// over 1,000 subscriptions (10% of them disabled) through
// export.Engine.Match, with the lazy raw documents the server uses (Raw)
// and with fully decoded documents (Decoded, export.Document). Run with
// -cpu 1 -benchmem for a per-core figure. Metrics: events/s (wall clock),
// events/cpu-s (per CPU-second of the process, GC included: the per-core
// figure on a shared machine), actions/event (deliveries queued per
// event) and matched-% (events that reach at least one action).
func BenchmarkMatch(b *testing.B) {
	const subs, perSub = 1000, 10
	exports := benchAutomations(b, subs, perSub)
	events := benchEvents(subs, 8192)
	for _, mode := range []struct {
		name string
		doc  func(body, extra []byte) any
	}{
		{"Raw", automation.NewDocument},
		{"Decoded", export.Document},
	} {
		b.Run(mode.name, func(b *testing.B) {
			eng := export.New(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), export.Options{Document: mode.doc})
			eng.SetExports(exports)
			matched, hit := 0, 0
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			i := 0
			for b.Loop() {
				n := len(eng.Match(events[i%len(events)]))
				matched += n
				if n > 0 {
					hit++
				}
				i++
			}
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
			if cpu > 0 {
				// Per CPU-second of the process (GC included): the per-core
				// figure, unaffected by other processes sharing the machine.
				b.ReportMetric(float64(i)/cpu.Seconds(), "events/cpu-s")
			}
			b.ReportMetric(float64(matched)/float64(i), "actions/event")
			b.ReportMetric(100*float64(hit)/float64(i), "matched-%")
		})
	}
}
