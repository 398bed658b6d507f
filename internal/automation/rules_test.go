package automation

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice/internal/export"
)

// evalBoth evaluates one rule on a document both ways the engine may hand
// it over — the lazy raw Document and a decoded one (export.Document) —
// and fails when they disagree.
func evalBoth(t *testing.T, r Rule, body, extra string) bool {
	t.Helper()
	c, err := compileRule(r, "rule")
	if err != nil {
		t.Fatalf("compile %+v: %v", r, err)
	}
	var ex []byte
	if extra != "" {
		ex = []byte(extra)
	}
	raw := c.test(NewDocument([]byte(body), ex))
	dec := c.test(export.Document([]byte(body), ex))
	if raw != dec {
		t.Fatalf("rule %+v on %s: raw document says %v, decoded says %v", r, body, raw, dec)
	}
	return raw
}

const semanticsDoc = `{
  "Severity": "High",
  "name": "Ärger-Übersicht",
  "count": 5,
  "ratio": 0.75,
  "countText": " 42 ",
  "big": 1e3,
  "enabled": true,
  "enabledText": "FALSE",
  "nothing": null,
  "obj": {"a": {"b": "deep"}},
  "Entities": [{"Type": "host", "HostName": "vm-1"}, {"Type": "ip", "Address": "10.0.0.1"}],
  "properties": {"metadata": {"severity": "Medium"}, "status": {"code": "Unhealthy"}, "score": {"current": 3.5, "max": 10}},
  "escaped": "tab\there \u00e9t\u00e9 \"q\"",
  "MixedCase": "exact",
  "mixedcase": "lower"
}`

// TestRuleSemantics: every operator × property type, case handling,
// numbers in strings, booleans, missing and null values, composites,
// arrays, root and bracket paths, and the case-insensitive name fallback.
func TestRuleSemantics(t *testing.T) {
	cases := []struct {
		path, typ, op, exp string
		want               bool
	}{
		// String: the five text operators, case-insensitive.
		{"Severity", "String", "Equals", "high", true},
		{"Severity", "String", "Equals", "HIGH", true},
		{"Severity", "String", "Equals", "Hig", false},
		{"Severity", "String", "NotEquals", "low", true},
		{"Severity", "String", "NotEquals", "hIgH", false},
		{"Severity", "String", "Contains", "IG", true},
		{"Severity", "String", "Contains", "x", false},
		{"Severity", "String", "Contains", "", true},
		{"Severity", "String", "StartsWith", "hi", true},
		{"Severity", "String", "StartsWith", "gh", false},
		{"Severity", "String", "EndsWith", "GH", true},
		{"Severity", "String", "EndsWith", "hi", false},
		{"Severity", "String", "EndsWith", "too long for it", false},
		{"name", "String", "StartsWith", "ärger", true},
		{"name", "String", "Contains", "ÜBERSICHT", true},
		{"name", "String", "Equals", "ÄRGER-ÜBERSICHT", true},
		{"name", "String", "EndsWith", "sicht", true},
		{"escaped", "String", "Contains", "\there été \"Q\"", true},
		{"escaped", "String", "StartsWith", "TAB\t", true},
		// String compares the text of numbers and booleans.
		{"count", "String", "Equals", "5", true},
		{"big", "String", "Equals", "1000", true},
		{"ratio", "String", "StartsWith", "0.7", true},
		{"enabled", "String", "Equals", "TRUE", true},
		// Integer and Number: numeric, strings holding numbers count.
		{"count", "Integer", "Equals", "5", true},
		{"count", "Integer", "NotEquals", "5", false},
		{"count", "Integer", "GreaterThan", "4", true},
		{"count", "Integer", "GreaterThan", "5", false},
		{"count", "Integer", "GreaterThanOrEqualTo", "5", true},
		{"count", "Integer", "LesserThan", "6", true},
		{"count", "Integer", "LesserThan", "5", false},
		{"count", "Integer", "LesserThanOrEqualTo", "5", true},
		{"countText", "Integer", "Equals", "42", true},
		{"countText", "Integer", "GreaterThan", "41", true},
		{"big", "Integer", "Equals", "1000", true},
		{"ratio", "Number", "Equals", "0.75", true},
		{"ratio", "Number", "Equals", "7.5e-1", true},
		{"ratio", "Number", "NotEquals", "0.7", true},
		{"ratio", "Number", "GreaterThan", "0.5", true},
		{"ratio", "Number", "GreaterThanOrEqualTo", "0.75", true},
		{"ratio", "Number", "LesserThan", "0.75", false},
		{"ratio", "Number", "LesserThanOrEqualTo", "-1", false},
		{"ratio", "Integer", "LesserThan", "1", true},
		{"properties.score.current", "Number", "GreaterThan", "3", true},
		{"properties.score.max", "Integer", "Equals", "10", true},
		{"Severity", "Integer", "NotEquals", "1", false}, // not a number: false, NotEquals too
		{"Severity", "Number", "LesserThan", "1", false},
		{"enabled", "Integer", "Equals", "1", false},
		// Boolean: true/false, strings holding booleans count.
		{"enabled", "Boolean", "Equals", "true", true},
		{"enabled", "Boolean", "Equals", "FALSE", false},
		{"enabled", "Boolean", "NotEquals", "false", true},
		{"enabledText", "Boolean", "Equals", "false", true},
		{"enabledText", "Boolean", "NotEquals", "true", true},
		{"Severity", "Boolean", "NotEquals", "true", false},
		{"count", "Boolean", "Equals", "true", false},
		// Missing, null and composite values make every rule false.
		{"absent", "String", "NotEquals", "x", false},
		{"absent", "Integer", "NotEquals", "1", false},
		{"absent", "Boolean", "NotEquals", "true", false},
		{"nothing", "String", "NotEquals", "x", false},
		{"nothing", "String", "Equals", "", false},
		{"obj", "String", "NotEquals", "x", false},
		{"Entities", "String", "Contains", "host", false},
		{"obj.a.b.c", "String", "NotEquals", "x", false},
		{"Severity.x", "String", "NotEquals", "x", false},
		// Arrays and path forms.
		{"Entities[0].Type", "String", "Equals", "host", true},
		{"Entities[1].Address", "String", "StartsWith", "10.", true},
		{"Entities[-1].Type", "String", "Equals", "ip", true},
		{"Entities[2].Type", "String", "NotEquals", "x", false},
		{"Entities[0]", "String", "NotEquals", "x", false},
		{"obj.a.b", "String", "Equals", "deep", true},
		{"$.obj.a.b", "String", "Equals", "deep", true},
		{"$['obj']['a'].b", "String", "Equals", "deep", true},
		{"['properties'].metadata.severity", "String", "Equals", "medium", true},
		{"properties.metadata.severity", "String", "Equals", "Medium", true},
		{"properties.status.code", "String", "Equals", "unhealthy", true},
		// Names: exact first, then case-insensitive (smallest name wins).
		{"severity", "String", "Equals", "High", true},
		{"entities[0].type", "String", "Equals", "host", true},
		{"MixedCase", "String", "Equals", "exact", true},
		{"mixedcase", "String", "Equals", "lower", true},
		{"MIXEDCASE", "String", "Equals", "exact", true},
		{"PROPERTIES.METADATA.SEVERITY", "String", "Equals", "medium", true},
		// Other JPath forms are evaluated by ojg (exact names).
		{"Entities[*].Type", "String", "Equals", "host", true},
		{"$..HostName", "String", "Equals", "vm-1", true},
		{"Entities[?(@.Type == 'ip')].Address", "String", "Equals", "10.0.0.1", true},
		{"Entities[?(@.Type == 'none')].Address", "String", "NotEquals", "x", false},
		{"Entities[0,1].Type", "String", "Equals", "host", true},
		{"Entities[*].Type", "String", "Equals", "ip", true}, // any value selected
		{"Entities[*].Type", "String", "NotEquals", "host", true},
		{"Entities[*].Type", "String", "Equals", "process", false},
		{"obj.*.b", "String", "Equals", "deep", true},
		{"*", "String", "Equals", "exact", true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s %s %s %q", tc.path, tc.typ, tc.op, tc.exp), func(t *testing.T) {
			if got := evalBoth(t, Rule{PropertyJPath: tc.path, PropertyType: tc.typ, Operator: tc.op, ExpectedValue: tc.exp}, semanticsDoc, ""); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRuleExtraFields: the rule-only fields of an event (an alert's
// ProductComponentName, Version) count where the body lacks them.
func TestRuleExtraFields(t *testing.T) {
	body := `{"Severity":"Low","ProductName":"Microsoft Defender for Cloud","Version":"body wins"}`
	extra := `{"ProductComponentName":"Storage","Version":"3.0","Severity":"ignored","Techniques":["T1078"]}`
	for _, tc := range []struct {
		path, op, exp string
		want          bool
	}{
		{"ProductComponentName", "Equals", "storage", true},
		{"Version", "Equals", "body wins", true},
		{"Severity", "Equals", "low", true},
		{"Techniques[0]", "StartsWith", "t10", true},
		{"productcomponentname", "Equals", "Storage", true},
		{"Missing", "NotEquals", "x", false},
	} {
		if got := evalBoth(t, Rule{PropertyJPath: tc.path, PropertyType: "String", Operator: tc.op, ExpectedValue: tc.exp}, body, extra); got != tc.want {
			t.Errorf("%s %s %q = %v, want %v", tc.path, tc.op, tc.exp, got, tc.want)
		}
	}
	// An exact name among the extra fields wins over a case-folded one in
	// the body; between case-folded names the smallest wins.
	for _, tc := range []struct {
		body, extra, path, want string
	}{
		{`{"severity":"body"}`, `{"Severity":"extra"}`, "Severity", "extra"},
		{`{"severity":"body"}`, `{"SEVERITY":"extra"}`, "Severity", "extra"},
		{`{"SEVERITY":"body"}`, `{"severity":"extra"}`, "Severity", "body"},
		{`{"SEVERITY":"body"}`, `{"SEVERITY":"extra"}`, "Severity", "body"},
		{`{"Severity":"body"}`, `{"Severity":"extra"}`, "severity", "body"},
		{`{"x":1}`, `{"sEverity":"extra"}`, "Severity", "extra"},
	} {
		if !evalBoth(t, Rule{PropertyJPath: tc.path, PropertyType: "String", Operator: "Equals", ExpectedValue: tc.want}, tc.body, tc.extra) {
			t.Errorf("%s on %s + %s: want the %s value", tc.path, tc.body, tc.extra, tc.want)
		}
	}
	// The policies' match-all alert rule: Version Contains "3.".
	if !evalBoth(t, Rule{PropertyJPath: "Version", PropertyType: "String", Operator: "Contains", ExpectedValue: "3."},
		`{"Severity":"High"}`, extra) {
		t.Error(`Version Contains "3." did not match the alert's rule-only Version`)
	}
}

// TestMatcherLogic: OR across rule sets, AND within one, no rule sets (or
// an empty one) matches everything, sources the automation does not take
// never match, and NeedsDoc tells when the document is read.
func TestMatcherLogic(t *testing.T) {
	high := Rule{PropertyJPath: "Severity", PropertyType: "string", Operator: "equals", ExpectedValue: "High"}
	medium := Rule{PropertyJPath: "Severity", PropertyType: "String", Operator: "Equals", ExpectedValue: "Medium"}
	storage := Rule{PropertyJPath: "ProductComponentName", PropertyType: "String", Operator: "Equals", ExpectedValue: "Storage"}
	m, err := NewMatcher([]Source{
		{EventSource: "alerts", RuleSets: []RuleSet{{Rules: []Rule{high, storage}}, {Rules: []Rule{medium}}}},
		{EventSource: "SecureScores"},
		{EventSource: "Assessments", RuleSets: []RuleSet{{Rules: []Rule{high}}}},
		{EventSource: "Assessments", RuleSets: []RuleSet{{Rules: []Rule{}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := func(s string) any { return NewDocument([]byte(s), nil) }
	for _, tc := range []struct {
		source, body string
		want         bool
	}{
		{"Alerts", `{"Severity":"High","ProductComponentName":"Storage"}`, true},
		{"Alerts", `{"Severity":"High","ProductComponentName":"Sql"}`, false},
		{"Alerts", `{"Severity":"Medium","ProductComponentName":"Sql"}`, true},
		{"Alerts", `{"Severity":"Low"}`, false},
		{"ALERTS", `{"Severity":"Medium"}`, true},
		{"SecureScores", `{}`, true},
		{"Assessments", `{"Severity":"Low"}`, true}, // the second Assessments source has an empty rule set
		{"SubAssessments", `{"Severity":"High"}`, false},
		{"Unknown", `{}`, false},
	} {
		if got := m.Match(tc.source, doc(tc.body)); got != tc.want {
			t.Errorf("Match(%s, %s) = %v, want %v", tc.source, tc.body, got, tc.want)
		}
	}
	if !m.NeedsDoc("Alerts") || m.NeedsDoc("SecureScores") || m.NeedsDoc("Assessments") || m.NeedsDoc("SubAssessments") {
		t.Error("NeedsDoc wrong")
	}
	if got := strings.Join(m.Sources(), ","); got != "Assessments,Alerts,SecureScores" {
		t.Errorf("Sources = %s", got)
	}
	if m.Match("Alerts", nil) {
		t.Error("a nil document matched rules")
	}
	if !m.Match("SecureScores", nil) {
		t.Error("a source without rules needs no document")
	}
}

// Realistic event bodies, abridged from the export formats.
var (
	alertBody = func(sev string) string {
		return `{"VendorName":"Microsoft","AlertType":"Storage.Blob_AnonymousAccessAnomaly","ProductName":"Microsoft Defender for Cloud",` +
			`"Severity":"` + sev + `","Status":"New","IsIncident":false,"SystemAlertId":"2517","Intent":"Collection",` +
			`"AzureResourceId":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa",` +
			`"Entities":[{"$id":"1","Type":"azure-resource","ResourceId":"/subscriptions/00000000-0000-0000-0000-000000000000"}],` +
			`"ExtendedProperties":{"resourceType":"Storage","ProductComponentName":"Storage"}}`
	}
	assessmentBody = func(name, sev string) string {
		return `{"assessmentEventDataEnrichment":{"action":"Insert","isSnapshot":false},"tenantId":"t",` +
			`"type":"Microsoft.Security/assessments","id":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Security/assessments/` + name + `",` +
			`"name":"` + name + `","properties":{"displayName":"d","status":{"code":"Unhealthy"},"metadata":{"severity":"` + sev + `","assessmentType":"BuiltIn"}}}`
	}
	subAssessmentBody = func(parent string) string {
		return `{"type":"Microsoft.Security/assessments/subAssessments","id":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Security/assessments/` +
			parent + `/subAssessments/CVE-2024-0001","name":"CVE-2024-0001","properties":{"status":{"code":"Unhealthy","severity":"High"}}}`
	}
	controlBody = func(name string) string {
		return `{"type":"Microsoft.Security/secureScores/secureScoreControls","id":"/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Security/secureScores/ascScore/secureScoreControls/` +
			name + `","name":"` + name + `","properties":{"score":{"max":6,"current":4.5,"percentage":0.75}}}`
	}
	complianceBody = func(standard string) string {
		return `{"type":"Microsoft.Security/regulatoryComplianceStandards/regulatoryComplianceControls/regulatoryComplianceAssessments",` +
			`"id":"/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Security/regulatoryComplianceStandards/` + standard +
			`/regulatoryComplianceControls/1.1/regulatoryComplianceAssessments/a","name":"a","properties":{"state":"Failed"}}`
	}
)

func policySources(t *testing.T, file string) []Source {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "samples", file))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(a, "00000000-0000-0000-0000-000000000000"); err != nil {
		t.Fatalf("%s does not validate: %v", file, err)
	}
	return a.Properties.Sources
}

// TestPolicyRuleSets evaluates the rule sets the built-in policies build
// against realistic event bodies.
func TestPolicyRuleSets(t *testing.T) {
	check := func(t *testing.T, m *Matcher, source, body string, want bool) {
		t.Helper()
		raw := m.Match(source, NewDocument([]byte(body), nil))
		dec := m.Match(source, export.Document([]byte(body), nil))
		if raw != want || dec != want {
			t.Errorf("%s %.90s…: raw %v decoded %v, want %v", source, body, raw, dec, want)
		}
	}
	t.Run("workspace defaults", func(t *testing.T) {
		m, err := NewMatcher(policySources(t, "api-policy-derived-workspace-defaults.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, sev := range []string{"High", "Medium", "Low"} {
			check(t, m, "Alerts", alertBody(sev), true)
			check(t, m, "Assessments", assessmentBody("4fb67663-9ab9-475d-b026-8c544cced439", sev), true)
			check(t, m, "AssessmentsSnapshot", assessmentBody("4fb67663-9ab9-475d-b026-8c544cced439", sev), true)
		}
		check(t, m, "Alerts", alertBody("Informational"), false)
		check(t, m, "Assessments", `{"type":"Microsoft.Security/assessments","properties":{"metadata":{}}}`, false)
		check(t, m, "Assessments", `{"type":"Microsoft.Security/somethingElse","properties":{"metadata":{"severity":"High"}}}`, false)
		check(t, m, "SubAssessments", subAssessmentBody("anything"), true)
		check(t, m, "SecureScores", `{}`, true)
		check(t, m, "SecureScoreControlsSnapshot", controlBody("x"), true)
		check(t, m, "RegulatoryComplianceAssessment", complianceBody("Azure-CIS-1.1.0"), true)
		check(t, m, "AttackPaths", `{}`, false)
	})
	t.Run("event hub custom", func(t *testing.T) {
		m, err := NewMatcher(policySources(t, "api-policy-derived-eventhub-custom.json"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, m, "Alerts", alertBody("High"), true)
		check(t, m, "Alerts", alertBody("Medium"), false)
		check(t, m, "Assessments", assessmentBody("4fb67663-9ab9-475d-b026-8c544cced439", "Medium"), true)
		check(t, m, "Assessments", assessmentBody("1195afff-c881-495e-9bc5-1486211ae03f", "High"), true)
		check(t, m, "Assessments", assessmentBody("1195afff-c881-495e-9bc5-1486211ae03f", "Low"), false)
		check(t, m, "Assessments", assessmentBody("00000000-aaaa-bbbb-cccc-000000000000", "High"), false)
		check(t, m, "SubAssessments", subAssessmentBody("4fb67663-9ab9-475d-b026-8c544cced439"), true)
		check(t, m, "SubAssessments", subAssessmentBody("00000000-aaaa-bbbb-cccc-000000000000"), false)
		check(t, m, "SecureScoreControls", controlBody("ef1a1e6a-0f7e-4b3b-9a3d-7a1b2f0c4b6d"), true)
		check(t, m, "SecureScoreControls", controlBody("another"), false)
		check(t, m, "RegulatoryComplianceAssessmentSnapshot", complianceBody("Azure-CIS-1.1.0"), true)
		check(t, m, "RegulatoryComplianceAssessmentSnapshot", complianceBody("PCI-DSS-4"), false)
		check(t, m, "RegulatoryComplianceAssessment", complianceBody("Azure-CIS-1.1.0"), false) // only the snapshot was selected
		check(t, m, "SecureScores", `{}`, false)
	})
}

// TestRawScannerEdges: malformed or truncated JSON never panics and
// resolves to nothing; whitespace and escapes in names are handled.
func TestRawScannerEdges(t *testing.T) {
	p, err := CompilePath("a.b")
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{``, `{`, `{"a"`, `{"a":`, `{"a":{"b"`, `{"a":{"b":"x`, `{"a":[}`, `[1,2`, `"str`, `{"a" {"b":1}}`, `{,,}`, `nul`} {
		if v := NewDocument([]byte(body), nil).(*Document).lookup(p); v.kind != vMissing {
			t.Errorf("%q resolved to %+v", body, v)
		}
	}
	for _, tc := range []struct{ body, want string }{
		{" { \"a\" : { \"b\" : \"x\" } } ", "x"},
		{`{"\u0061":{"b":"esc"}}`, "esc"},
		{`{"x":"a\"b\\","a":{"z":[1,{"b":2}],"b":"after"}}`, "after"},
		{`{"a":{"b":"first"},"a":{"b":"second"}}`, "first"},
	} {
		v := NewDocument([]byte(tc.body), nil).(*Document).lookup(p)
		if v.kind != vString || v.s != tc.want {
			t.Errorf("%s: got %+v, want %q", tc.body, v, tc.want)
		}
	}
	var n json.Number = "12"
	if v := valueOf(n); v.kind != vNumber || v.f != 12 {
		t.Errorf("json.Number = %+v", v)
	}
}

// TestRepeatedRules: a rule repeated in several sets is evaluated once per
// event and its outcome reused, also when it comes after a false rule in
// one set and first in the next; groups with more distinct rules than are
// remembered evaluate each one.
func TestRepeatedRules(t *testing.T) {
	typ := Rule{PropertyJPath: "type", PropertyType: "String", Operator: "Contains", ExpectedValue: "assessments"}
	sev := func(v string) Rule {
		return Rule{PropertyJPath: "properties.severity", PropertyType: "String", Operator: "Equals", ExpectedValue: v}
	}
	n := func(i int) Rule {
		return Rule{PropertyJPath: "n", PropertyType: "Integer", Operator: "Equals", ExpectedValue: fmt.Sprint(i)}
	}
	var many []RuleSet
	for i := range maxSlots + 10 {
		many = append(many, RuleSet{Rules: []Rule{n(i), typ}})
	}
	for _, tc := range []struct {
		sets []RuleSet
		body string
		want bool
	}{
		{[]RuleSet{{Rules: []Rule{typ, sev("High")}}, {Rules: []Rule{typ, sev("Low")}}}, `{"type":"x/assessments","properties":{"severity":"low"}}`, true},
		{[]RuleSet{{Rules: []Rule{typ, sev("High")}}, {Rules: []Rule{typ, sev("Low")}}}, `{"type":"x/assessments","properties":{"severity":"medium"}}`, false},
		{[]RuleSet{{Rules: []Rule{sev("High"), typ}}, {Rules: []Rule{typ}}}, `{"type":"x/assessments","properties":{"severity":"low"}}`, true},
		{[]RuleSet{{Rules: []Rule{sev("High"), typ}}, {Rules: []Rule{typ}}}, `{"type":"x/alerts","properties":{"severity":"high"}}`, false},
		{many, fmt.Sprintf(`{"type":"assessments","n":%d}`, maxSlots+9), true},
		{many, fmt.Sprintf(`{"type":"assessments","n":%d}`, maxSlots+10), false},
		{many, fmt.Sprintf(`{"type":"alerts","n":%d}`, maxSlots+9), false},
	} {
		m, err := NewMatcher([]Source{{EventSource: "Assessments", RuleSets: tc.sets}})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match("Assessments", NewDocument([]byte(tc.body), nil)); got != tc.want {
			t.Errorf("%d sets on %s: %v, want %v", len(tc.sets), tc.body, got, tc.want)
		}
		if got := m.Match("Assessments", export.Document([]byte(tc.body), nil)); got != tc.want {
			t.Errorf("%d sets on decoded %s: %v, want %v", len(tc.sets), tc.body, got, tc.want)
		}
	}
}

// TestScannerWordBoundaries: the scanner reads eight bytes at a time, so
// quotes, escapes and non-ASCII bytes are put at every offset around the
// word boundaries (names and values of 0 to 24 bytes, padded by a prefix
// of 0 to 8 bytes), and the raw Document must agree with the decoded one
// on every rule of the five text operators.
func TestScannerWordBoundaries(t *testing.T) {
	pieces := []string{``, `a`, `\"`, `\\`, `\u00e9`, `é`, `K`, `\/`, `x\"y`}
	fill := func(n int, p string) string {
		var b strings.Builder
		for b.Len() < n {
			b.WriteString("abcdefgh"[:1+b.Len()%8])
		}
		return b.String()[:n] + p
	}
	n := 0
	for pad := 0; pad <= 8; pad++ {
		for ln := 0; ln <= 24; ln += 3 {
			for _, p := range pieces {
				name := fill(ln, p)
				val := p + fill(ln, "")
				body := fmt.Sprintf(`{"p%s":1,"%s":{"j%s":"%s","k":"%s%s"},"kelvin":"x","v":"%s"}`,
					fill(pad, ""), name, p, val, p, fill(ln, p), val)
				for _, path := range []string{"v", "kelvin", "kelvin", "K", "$['" + strings.ReplaceAll(name, `\`, ``) + "'].k"} {
					for _, op := range []string{"Equals", "Contains", "StartsWith", "EndsWith", "NotEquals"} {
						for _, exp := range []string{"a", "é", val, "abc"} {
							evalBoth(t, Rule{PropertyJPath: path, PropertyType: "String", Operator: op, ExpectedValue: exp}, body, "")
							n++
						}
					}
				}
			}
		}
	}
	// A name of another length may still fold to the key: the Kelvin sign
	// is three bytes and folds to "k".
	if !evalBoth(t, Rule{PropertyJPath: "k", PropertyType: "String", Operator: "Equals", ExpectedValue: "x"}, `{"\u212a":"x"}`, "") ||
		!evalBoth(t, Rule{PropertyJPath: "k", PropertyType: "String", Operator: "Equals", ExpectedValue: "x"}, "{\"\u212a\":\"x\"}", "") {
		t.Error("the Kelvin sign did not fold to k")
	}
	t.Logf("%d rules compared", n)
}

// TestSourceIndex keeps the fast source switch in step with EventSources.
func TestSourceIndex(t *testing.T) {
	if len(EventSources) != numSources {
		t.Fatalf("%d event sources, numSources %d", len(EventSources), numSources)
	}
	for i, s := range EventSources {
		if got := sourceIndex(s); got != i {
			t.Errorf("sourceIndex(%s) = %d, want %d", s, got, i)
		}
		if got := sourceIndex(strings.ToLower(s)); got != i {
			t.Errorf("sourceIndex(%s) = %d, want %d", strings.ToLower(s), got, i)
		}
	}
	if sourceIndex("Incidents") != -1 {
		t.Error("unknown source indexed")
	}
}
