package security

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"sluice/internal/armid"
)

// randomValue returns a free-form value as the decoders build them.
func randomValue(r *rand.Rand, depth int) any {
	pick := func() string { return encodeSamples[r.IntN(len(encodeSamples))] }
	switch n := r.IntN(10); {
	case depth > 2 || n < 3:
		return []any{pick(), nil, true, false, json.Number("12.5"), json.Number("-3")}[r.IntN(6)]
	case n < 7:
		o := Object{}
		keys := []string{"type", "Type", "$id", "$ref", "name", "Name", "hostName", pick()}
		for range r.IntN(5) {
			o = append(o, Member{keys[r.IntN(len(keys))], randomValue(r, depth+1)})
		}
		return o
	default:
		a := []any{}
		for range r.IntN(4) {
			a = append(a, randomValue(r, depth+1))
		}
		return a
	}
}

// randomAlert returns an alert with every field set or not, entities
// that repeat each other and references between them.
func randomAlert(r *rand.Rand) *Alert {
	pick := func() string { return encodeSamples[r.IntN(len(encodeSamples))] }
	maybeTime := func() *Time {
		if r.IntN(3) == 0 {
			return nil
		}
		return NewTime(time.Unix(r.Int64N(4e9), r.Int64N(1e9)))
	}
	picks := func() []string {
		if r.IntN(3) == 0 {
			return nil
		}
		out := []string{}
		for range r.IntN(3) {
			out = append(out, pick())
		}
		return out
	}
	a := &Alert{ID: pick(), Name: pick(), Type: pick(), Properties: AlertProperties{
		Version: pick(), AlertType: pick(), SystemAlertID: pick(), ProductComponentName: pick(), AlertDisplayName: pick(),
		Description: pick(), Severity: pick(), Intent: pick(), StartTimeUTC: maybeTime(), EndTimeUTC: maybeTime(),
		RemediationSteps: picks(), VendorName: pick(), Status: pick(), AlertURI: pick(), TimeGeneratedUTC: maybeTime(),
		ProductName: pick(), ProcessingEndTimeUTC: maybeTime(), IsIncident: r.IntN(2) == 0, CorrelationKey: pick(),
		CompromisedEntity: pick(), Techniques: picks(), SubTechniques: picks(),
	}}
	p := &a.Properties
	ids := []string{"/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", "/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f", pick()}
	for range r.IntN(3) {
		switch r.IntN(2) {
		case 0:
			p.ResourceIdentifiers = append(p.ResourceIdentifiers, ResourceIdentifier{Type: "AzureResource", AzureResourceID: ids[r.IntN(len(ids))]})
		default:
			p.ResourceIdentifiers = append(p.ResourceIdentifiers, ResourceIdentifier{Type: "LogAnalytics", WorkspaceID: pick(),
				WorkspaceSubscriptionID: pick(), WorkspaceResourceGroup: pick(), AgentID: pick()})
		}
	}
	for range r.IntN(3) {
		var cat *string
		if r.IntN(2) == 0 {
			c := pick()
			cat = &c
		}
		p.ExtendedLinks = append(p.ExtendedLinks, ExtendedLink{Href: pick(), Category: cat, Label: pick(), Type: pick()})
	}
	entities := []Object{{{"$id", "4"}, {"type", "host"}, {"hostName", "vm"}}, {{"$ref", "4"}}, {{"type", "ip"}, {"address", "10.0.0.1"}, {"Asset", true}}}
	for range r.IntN(5) {
		if r.IntN(2) == 0 {
			p.Entities = append(p.Entities, entities[r.IntN(len(entities))])
		} else if o, ok := randomValue(r, 0).(Object); ok {
			p.Entities = append(p.Entities, append(Object{{"type", pick()}}, o...))
		}
	}
	for range r.IntN(4) {
		p.ExtendedProperties = append(p.ExtendedProperties, StringPair{[]string{"resourceType", "CompromisedEntity", pick()}[r.IntN(3)], pick()})
	}
	return a
}

// TestAlertEventEncoding: the event body is byte for byte marshal's.
func TestAlertEventEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for i := range 3000 {
		ev := newAlertEvent(randomAlert(r), []string{"", testTenant}[r.IntN(2)])
		if r.IntN(4) == 0 {
			ev.ConfidenceReasons = []string{"a", "<b>"}
			s1, s2 := "x", "y&"
			ev.ProviderAlertStatus, ev.ConfidenceLevel = &s1, &s2
			ev.ResourceIdentifiers = nil
		}
		want, err := marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := ev.appendJSON(nil)
		if !ok {
			t.Fatalf("case %d: not encoded", i)
		}
		if string(got) != string(want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
	ev := newAlertEvent(randomAlert(r), testTenant)
	ev.ConfidenceScore = json.RawMessage("0.5")
	if _, ok := ev.appendJSON(nil); ok {
		t.Error("a score other than 0.0 should take marshal")
	}
}

// oldCanonicalKey is the reference form of canonicalKey.
func oldCanonicalKey(v any) string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case Object:
			keys := make([]string, 0, len(t))
			vals := map[string]any{}
			for _, m := range t {
				k := strings.ToLower(m.Key)
				if k == "$id" {
					continue
				}
				keys = append(keys, k)
				vals[k] = m.Value
			}
			sort.Strings(keys)
			b.WriteByte('{')
			for _, k := range keys {
				fmt.Fprintf(&b, "%q:", k)
				walk(vals[k])
				b.WriteByte(',')
			}
			b.WriteByte('}')
		case []any:
			b.WriteByte('[')
			for _, e := range t {
				walk(e)
				b.WriteByte(',')
			}
			b.WriteByte(']')
		default:
			x, _ := json.Marshal(t)
			b.Write(x)
		}
	}
	walk(v)
	return b.String()
}

func TestCanonicalKey_matches_reference(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for range 5000 {
		v := randomValue(r, 0)
		if r.IntN(3) == 0 {
			v = Object{{"B", 1.5}, {"a", v}, {"A", "x"}, {"$ID", "7"}, {"b", json.Number("01")}}
		}
		if got, want := canonicalKey(v), oldCanonicalKey(v); got != want {
			t.Fatalf("canonicalKey(%#v) = %s, want %s", v, got, want)
		}
	}
}

// TestAppendAlertREST: the stored body and the rule extras are byte for
// byte json.Marshal's.
func TestAppendAlertREST(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for i := range 3000 {
		a := randomAlert(r)
		if r.IntN(3) == 0 {
			if o, ok := randomValue(r, 0).(Object); ok {
				a.Properties.SupportingEvidence = o
			}
		}
		if r.IntN(4) == 0 {
			a.Properties.ExtendedLinks = nil
			a.Properties.Entities = nil
			a.Properties.ResourceIdentifiers = nil
		}
		if r.IntN(4) == 0 {
			a.Properties.Entities = append(a.Properties.Entities, nil, Object{{"x<y", "a&b>c"}})
		}
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendAlertREST(nil, a)
		if !ok {
			t.Fatalf("case %d: not encoded", i)
		}
		if string(got) != string(want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
		want, err = json.Marshal(AlertRuleExtras(a))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendAlertRuleExtras(nil, a); string(got) != string(want) {
			t.Fatalf("case %d extras:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestResourceTypeDisplayName_matches_reference compares the lookup with
// the plain form (lower-case the joined type with strings.ToLower).
func TestResourceTypeDisplayName_matches_reference(t *testing.T) {
	ref := func(resourceID string) string {
		id, err := armid.Parse(resourceID)
		if err != nil {
			return ""
		}
		if !id.IsResource() {
			if id.ResourceGroup != "" {
				return "Resource Group"
			}
			return "Subscription"
		}
		if n, ok := resourceTypeNames[strings.ToLower(id.Namespace+"/"+strings.Join(id.Types, "/"))]; ok {
			return n
		}
		return id.Types[len(id.Types)-1]
	}
	const sub = "/subscriptions/8f3b7c1e-2d4a-4e6b-9c0d-1a2b3c4d5e6f"
	ids := []string{"", "x", sub, sub + "/resourceGroups/rg", sub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
		sub + "/providers/MICROSOFT.KEYVAULT/Vaults/v", sub + "/providers/Microsoft.\u212aeyVault/vaults/v", sub + "/providers/Microsoft.Sql/servers/s/databases/d",
		sub + "/providers/Microsoft.Resources/subscriptions/s/resources/r", sub + "/providers/Contoso.Ünïcode/things/t",
		sub + "/providers/" + strings.Repeat("Long.", 40) + "/types/t", sub + "/resourceGroups/rg/providers/Microsoft.Web/sites/app/providers/Microsoft.Security/assessments/a"}
	for _, id := range ids {
		if got, want := ResourceTypeDisplayName(id), ref(id); got != want {
			t.Errorf("ResourceTypeDisplayName(%q) = %q, want %q", id, got, want)
		}
	}
}
