package loganalytics_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/latables"
)

var update = flag.Bool("update", false, "regenerate azuredeploy.json from internal/latables")

const (
	templateFile  = "azuredeploy.json"
	tablesAPI     = "2022-10-01"
	dcrAPI        = "2023-03-11"
	tableType     = "Microsoft.OperationalInsights/workspaces/tables"
	dcrType       = "Microsoft.Insights/dataCollectionRules"
	destination   = "workspace"
	schemaVersion = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
)

// tableColumnType is the type name of the Tables API; streamColumnType the
// one of data collection rule stream declarations.
func tableColumnType(t latables.Type) string {
	switch t {
	case latables.Bool:
		return "boolean"
	case latables.DateTime:
		return "dateTime"
	}
	return string(t)
}

func streamColumnType(t latables.Type) string {
	if t == latables.Bool {
		return "boolean"
	}
	return string(t)
}

type column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type param struct {
	Type         string `json:"type"`
	DefaultValue any    `json:"defaultValue,omitempty"`
	Metadata     struct {
		Description string `json:"description"`
	} `json:"metadata"`
}

type resource struct {
	Type       string         `json:"type"`
	APIVersion string         `json:"apiVersion"`
	Name       string         `json:"name"`
	Location   string         `json:"location,omitempty"`
	Kind       string         `json:"kind,omitempty"`
	DependsOn  []string       `json:"dependsOn,omitempty"`
	Properties map[string]any `json:"properties"`
}

type template struct {
	Schema         string            `json:"$schema"`
	ContentVersion string            `json:"contentVersion"`
	Parameters     map[string]param  `json:"parameters"`
	Resources      []resource        `json:"resources"`
	Outputs        map[string]output `json:"outputs"`
}

type output struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

func mkParam(typ string, def any, desc string) param {
	p := param{Type: typ, DefaultValue: def}
	p.Metadata.Description = desc
	return p
}

// generate builds the template from the tables' stream columns.
func generate() ([]byte, error) {
	t := template{
		Schema:         schemaVersion,
		ContentVersion: "1.0.0.0",
		Parameters: map[string]param{
			"workspaceName": mkParam("string", nil, "Name of the existing Log Analytics workspace (in this resource group) that receives the Security tables."),
			"dataCollectionRuleName": mkParam("string", "sluice-continuous-export",
				"Name of the data collection rule Sluice writes through (a Direct rule: it has its own logs ingestion endpoint)."),
			"location":        mkParam("string", "[resourceGroup().location]", "Region of the data collection rule (the workspace's region)."),
			"retentionInDays": mkParam("int", -1, "Retention of the six tables in days (4 to 730); -1 uses the workspace retention."),
		},
		Outputs: map[string]output{
			"dcrImmutableId": {Type: "string",
				Value: fmt.Sprintf("[reference(resourceId('%s', parameters('dataCollectionRuleName')), '%s').immutableId]", dcrType, dcrAPI)},
			"logsIngestionEndpoint": {Type: "string",
				Value: fmt.Sprintf("[reference(resourceId('%s', parameters('dataCollectionRuleName')), '%s').endpoints.logsIngestion]", dcrType, dcrAPI)},
			"workspaceResourceId": {Type: "string", Value: "[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspaceName'))]"},
		},
	}
	streams := map[string]any{}
	var flows []any
	var depends []string
	for _, tab := range latables.Tables() {
		var tcols, scols []column
		for _, c := range tab.StreamColumns() {
			tcols = append(tcols, column{c.Name, tableColumnType(c.Type)})
			scols = append(scols, column{c.Name, streamColumnType(c.Type)})
		}
		t.Resources = append(t.Resources, resource{
			Type: tableType, APIVersion: tablesAPI,
			Name: fmt.Sprintf("[concat(parameters('workspaceName'), '/%s')]", tab.CustomName()),
			Properties: map[string]any{
				"plan":            "Analytics",
				"retentionInDays": "[parameters('retentionInDays')]",
				"schema": map[string]any{
					"name":        tab.CustomName(),
					"description": fmt.Sprintf("Continuous export of Defender for Cloud data, the columns of %s (written by Sluice).", tab.Name),
					"columns":     tcols,
				},
			},
		})
		depends = append(depends, fmt.Sprintf("[resourceId('%s', parameters('workspaceName'), '%s')]", tableType, tab.CustomName()))
		streams[tab.DefaultStream()] = map[string]any{"columns": scols}
		flows = append(flows, map[string]any{
			"streams":      []string{tab.DefaultStream()},
			"destinations": []string{destination},
			"transformKql": "source",
			"outputStream": tab.DefaultStream(),
		})
	}
	t.Resources = append(t.Resources, resource{
		Type: dcrType, APIVersion: dcrAPI, Name: "[parameters('dataCollectionRuleName')]", Location: "[parameters('location')]",
		Kind: "Direct", DependsOn: depends,
		Properties: map[string]any{
			"description":        "Sluice continuous export into the Security custom tables.",
			"streamDeclarations": streams,
			"destinations": map[string]any{"logAnalytics": []any{map[string]any{
				"workspaceResourceId": "[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspaceName'))]",
				"name":                destination,
			}}},
			"dataFlows": flows,
		},
	})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func TestTemplateIsGenerated(t *testing.T) {
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(templateFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s is stale (go test ./deploy/loganalytics -update) (-generated +file):\n%s", templateFile, d)
	}
}

// TestTemplateMatchesTables parses the shipped file on its own terms and
// checks every table and stream against internal/latables.
func TestTemplateMatchesTables(t *testing.T) {
	raw, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Schema    string `json:"$schema"`
		Resources []struct {
			Type       string          `json:"type"`
			Name       string          `json:"name"`
			Kind       string          `json:"kind"`
			Properties json.RawMessage `json:"properties"`
		} `json:"resources"`
		Outputs map[string]json.RawMessage `json:"outputs"`
	}
	if err := json.Unmarshal(raw, &tpl); err != nil {
		t.Fatalf("%s does not parse: %v", templateFile, err)
	}
	if !strings.Contains(tpl.Schema, "deploymentTemplate.json") || tpl.Outputs["dcrImmutableId"] == nil || tpl.Outputs["logsIngestionEndpoint"] == nil {
		t.Errorf("not a deployment template with the dcrImmutableId and logsIngestionEndpoint outputs")
	}
	tables := map[string][]column{}
	var dcr struct {
		StreamDeclarations map[string]struct{ Columns []column } `json:"streamDeclarations"`
		DataFlows          []struct {
			Streams      []string `json:"streams"`
			Destinations []string `json:"destinations"`
			TransformKql string   `json:"transformKql"`
			OutputStream string   `json:"outputStream"`
		} `json:"dataFlows"`
		Destinations struct {
			LogAnalytics []struct{ Name string } `json:"logAnalytics"`
		} `json:"destinations"`
	}
	dcrs := 0
	for _, r := range tpl.Resources {
		switch r.Type {
		case tableType:
			var p struct {
				Schema struct {
					Name    string   `json:"name"`
					Columns []column `json:"columns"`
				} `json:"schema"`
			}
			if err := json.Unmarshal(r.Properties, &p); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(r.Name, "/"+p.Schema.Name+"')]") {
				t.Errorf("table resource %s does not name its schema %s", r.Name, p.Schema.Name)
			}
			tables[p.Schema.Name] = p.Schema.Columns
		case dcrType:
			dcrs++
			if err := json.Unmarshal(r.Properties, &dcr); err != nil {
				t.Fatal(err)
			}
			if r.Kind != "Direct" {
				t.Errorf("data collection rule kind %q, want Direct", r.Kind)
			}
		default:
			t.Errorf("unexpected resource type %s", r.Type)
		}
	}
	if dcrs != 1 || len(tables) != 6 || len(dcr.StreamDeclarations) != 6 || len(dcr.DataFlows) != 6 {
		t.Fatalf("%d rules, %d tables, %d streams, %d flows; want 1, 6, 6, 6", dcrs, len(tables), len(dcr.StreamDeclarations), len(dcr.DataFlows))
	}
	for _, tab := range latables.Tables() {
		var wantTable, wantStream []column
		for _, c := range tab.StreamColumns() {
			wantTable = append(wantTable, column{c.Name, tableColumnType(c.Type)})
			wantStream = append(wantStream, column{c.Name, streamColumnType(c.Type)})
		}
		if d := cmp.Diff(wantTable, tables[tab.CustomName()]); d != "" {
			t.Errorf("table %s (-latables +file):\n%s", tab.CustomName(), d)
		}
		if d := cmp.Diff(wantStream, dcr.StreamDeclarations[tab.DefaultStream()].Columns); d != "" {
			t.Errorf("stream %s (-latables +file):\n%s", tab.DefaultStream(), d)
		}
		for _, c := range tables[tab.CustomName()] {
			if c.Name == "TenantId" || c.Name == "Type" || strings.HasPrefix(c.Name, "_") {
				t.Errorf("table %s declares the reserved column %s", tab.CustomName(), c.Name)
			}
		}
		found := false
		for _, f := range dcr.DataFlows {
			if f.OutputStream == tab.DefaultStream() {
				found = len(f.Streams) == 1 && f.Streams[0] == tab.DefaultStream() && f.TransformKql == "source" &&
					len(f.Destinations) == 1 && f.Destinations[0] == dcr.Destinations.LogAnalytics[0].Name
			}
		}
		if !found {
			t.Errorf("no data flow from %s to its table", tab.DefaultStream())
		}
		hasTime := false
		for _, c := range tables[tab.CustomName()] {
			hasTime = hasTime || (c.Name == "TimeGenerated" && c.Type == "dateTime")
		}
		if !hasTime {
			t.Errorf("%s has no TimeGenerated dateTime column", tab.CustomName())
		}
	}
}
