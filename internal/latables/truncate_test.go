package latables_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"sluice/internal/latables"
)

func bigAlert(t *testing.T, entities, description int) *latables.Row {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(readEvent(t, "schema-alert-eventhub-sumologic.json"), &ev); err != nil {
		t.Fatal(err)
	}
	var ents []any
	for i := 0; len(fmt.Sprint(ents)) < entities; i++ {
		ents = append(ents, map[string]any{"$id": fmt.Sprint(i + 10), "Type": "ip", "Address": fmt.Sprintf("10.0.%d.%d", i/250, i%250),
			"Note": strings.Repeat("é\"x", 20)})
	}
	ev["Entities"] = ents
	ev["Description"] = strings.Repeat("d", description)
	body, _ := json.Marshal(ev)
	r, err := latables.Build("Alerts", body, latables.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var markerRe = regexp.MustCompile(`…\[truncated by Sluice: (\d+) bytes\]$`)

func TestFitStreamCutsLargestFirst(t *testing.T) {
	r := bigAlert(t, 60_000, 5_000)
	before := r.StreamSize()
	origEntities := r.Get("Entities").(string)
	cuts, err := r.FitStream(latables.MaxRecordBytes)
	if err != nil {
		t.Fatal(err)
	}
	out := r.AppendStreamJSON(nil)
	if len(out) > latables.MaxRecordBytes || len(out) < latables.MaxRecordBytes-64 {
		t.Errorf("record is %d bytes after fitting (was %d), want just under %d", len(out), before, latables.MaxRecordBytes)
	}
	if !json.Valid(out) {
		t.Fatal("fitted record is not valid JSON")
	}
	if len(cuts) != 1 || cuts[0].Column != "Entities" || cuts[0].Original != len(origEntities) {
		t.Fatalf("cuts = %+v, want only Entities", cuts)
	}
	got := r.Get("Entities").(string)
	m := markerRe.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("Entities has no marker: …%s", got[len(got)-60:])
	}
	if m[1] != fmt.Sprint(cuts[0].Removed) {
		t.Errorf("marker says %s bytes, cut says %d", m[1], cuts[0].Removed)
	}
	kept := strings.TrimSuffix(got, m[0])
	if !strings.HasPrefix(origEntities, kept) || len(kept)+cuts[0].Removed != len(origEntities) || !utf8.ValidString(kept) {
		t.Error("the kept part is not a valid prefix of the original")
	}
	if r.Get("Description") != strings.Repeat("d", 5_000) {
		t.Error("Description was cut although cutting Entities sufficed")
	}
}

func TestFitStreamSeveralColumns(t *testing.T) {
	r := bigAlert(t, 20_000, 20_000)
	cuts, err := r.FitStream(8_000)
	if err != nil {
		t.Fatal(err)
	}
	if n := r.StreamSize(); n > 8_000 {
		t.Fatalf("size %d after fitting", n)
	}
	cols := map[string]bool{}
	for _, c := range cuts {
		cols[c.Column] = true
	}
	if !cols["Entities"] || !cols["Description"] {
		t.Errorf("cuts = %+v, want Entities and Description", cuts)
	}
}

func TestFitStreamDynamicBecomesString(t *testing.T) {
	var ev map[string]any
	if err := json.Unmarshal(readEvent(t, "schema-assessment-eventhub-sumologic.json"), &ev); err != nil {
		t.Fatal(err)
	}
	add := map[string]any{}
	for i := 0; i < 3000; i++ {
		add[fmt.Sprintf("k%04d", i)] = strings.Repeat("v", 20)
	}
	ev["properties"].(map[string]any)["additionalData"] = add
	body, _ := json.Marshal(ev)
	r, err := latables.Build("Assessments", body, latables.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.FitStream(latables.MaxRecordBytes); err != nil {
		t.Fatal(err)
	}
	if r.StreamSize() > latables.MaxRecordBytes {
		t.Fatal("too large")
	}
	for _, col := range []string{"Properties", "RecommendationAdditionalData"} {
		s, ok := r.Get(col).(string)
		if !ok || !markerRe.MatchString(s) {
			t.Errorf("%s = %T, want a truncated string", col, r.Get(col))
		}
	}
	if r.Get("RecommendationId") != "1f655fb7-63ca-4980-91a3-56dbc2b715c6" {
		t.Error("a small column was touched")
	}
}

func TestFitStreamNoop(t *testing.T) {
	r := build(t, "Alerts", "schema-alert-eventhub-sumologic.json")
	before := string(r.AppendStreamJSON(nil))
	cuts, err := r.FitStream(latables.MaxRecordBytes)
	if err != nil || cuts != nil || string(r.AppendStreamJSON(nil)) != before {
		t.Errorf("a small row changed: %v %v", cuts, err)
	}
}

func TestFitStreamImpossible(t *testing.T) {
	r := build(t, "SecureScores", "schema-securescore-eventhub-INFERRED.json")
	if _, err := r.FitStream(40); err == nil {
		t.Error("fitting a row into 40 bytes succeeded")
	}
}
