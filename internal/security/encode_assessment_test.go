package security

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// encodeSamples are strings that exercise every escaping rule: HTML
// characters, quotes, control characters, invalid UTF-8, U+2028/2029 and
// multi-byte runes.
var encodeSamples = []string{"", "plain", `<br>a & b > c`, `quote " and \ backslash`, "tab\tnl\nnul\x00\x1f\x7f",
	"bad \xff utf8 \xc3", "line\u2028para\u2029", "héllo wörld ✓ 𝄞", "/subscriptions/x/resourceGroups/RG"}

func randomAssessment(r *rand.Rand) *Assessment {
	pick := func() string { return encodeSamples[r.IntN(len(encodeSamples))] }
	maybeTime := func() *Time {
		if r.IntN(3) == 0 {
			return nil
		}
		return NewTime(time.Unix(r.Int64N(4e9), r.Int64N(1e9)))
	}
	a := &Assessment{ID: pick(), Name: pick(), Type: pick(), Properties: AssessmentProperties{
		ResourceDetails: ResourceDetails{Source: pick(), ID: pick(), ResourceName: pick(), ResourceType: pick(), ResourceProvider: pick(),
			NativeResourceID: pick(), MachineName: pick(), SourceComputerID: pick(), Vmuuid: pick(), WorkspaceID: pick(),
			ServerName: pick(), DatabaseName: pick()},
		DisplayName: pick(),
		Status: AssessmentStatus{Code: StatusCode(pick()), Cause: pick(), Description: pick(),
			FirstEvaluationDate: maybeTime(), StatusChangeDate: maybeTime()},
	}}
	for range r.IntN(4) {
		a.Properties.AdditionalData = append(a.Properties.AdditionalData, StringPair{pick(), pick()})
	}
	if r.IntN(3) == 0 {
		a.Properties.AdditionalData = StringMap{}
	}
	if r.IntN(2) == 0 {
		a.Properties.Links = &AssessmentLinks{AzurePortalURI: pick()}
	}
	return a
}

// TestAppendAssessmentREST: the stored body is byte for byte json.Marshal's.
func TestAppendAssessmentREST(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 3000 {
		a := randomAssessment(r)
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendAssessmentREST(nil, a); string(got) != string(want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestAssessmentEventEncoding: the event body is byte for byte marshal's
// (encoding/json without HTML escaping), with and without metadata.
func TestAssessmentEventEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pick := func() string { return encodeSamples[r.IntN(len(encodeSamples))] }
	picks := func() []string {
		if r.IntN(4) == 0 {
			return nil
		}
		out := []string{}
		for range r.IntN(3) {
			out = append(out, pick())
		}
		return out
	}
	for i := range 3000 {
		a := randomAssessment(r)
		if r.IntN(2) == 0 {
			a.Properties.Metadata = &AssessmentMetadataProperties{DisplayName: pick(), PolicyDefinitionID: pick(), Description: pick(),
				RemediationDescription: pick(), Categories: picks(), Severity: pick(), UserImpact: pick(),
				ImplementationEffort: pick(), Threats: picks(), AssessmentType: pick()}
		}
		action := []Action{ActionInsert, ActionDelete}[r.IntN(2)]
		ev, err := newAssessmentEvent(a, pick(), action, r.IntN(2) == 0)
		if err != nil {
			t.Fatal(err)
		}
		if r.IntN(2) == 0 {
			ev.AssessmentEnrichment.Interval = pick()
		}
		want, err := marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.appendJSON(nil); string(got) != string(want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestAppendNetTime: the hand-written formatter writes what the layout
// does, for every precision and for years outside 0–9999.
func TestAppendNetTime(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	times := []time.Time{{}, time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 100, time.UTC), time.Date(2024, 11, 20, 9, 19, 16, 485000000, time.FixedZone("x", 3600))}
	for range 20000 {
		ns := r.Int64N(1e9)
		switch r.IntN(4) {
		case 0:
			ns = 0
		case 1:
			ns -= ns % 1e6
		case 2:
			ns -= ns % 100
		}
		times = append(times, time.Unix(r.Int64N(4e11)-2e11, ns))
	}
	for _, tm := range times {
		want := tm.UTC().Format(netLayout)
		if got := string(appendNetTime(nil, tm)); got != want {
			t.Fatalf("appendNetTime(%v) = %s, want %s", tm, got, want)
		}
		if got := FormatTime(tm); got != want {
			t.Fatalf("FormatTime(%v) = %s, want %s", tm, got, want)
		}
		if b, _ := (Time{tm}).MarshalJSON(); string(b) != `"`+want+`"` {
			t.Fatalf("MarshalJSON(%v) = %s, want %q", tm, b, want)
		}
	}
}
