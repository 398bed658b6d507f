package portal

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const zeroSub = "00000000-0000-0000-0000-000000000000"

// golden reads a derived policy sample: the body without its _comment and
// _params, and the _params.
func golden(t *testing.T, name string) (body map[string]any, params *policyParams) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "export", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if p, ok := body["_params"]; ok {
		b, _ := json.Marshal(p)
		params = &policyParams{}
		if err := json.Unmarshal(b, params); err != nil {
			t.Fatal(err)
		}
	}
	delete(body, "_comment")
	delete(body, "_params")
	return body, params
}

// policyParams are the built-in policies' parameters.
type policyParams struct {
	ExportedDataTypes                  []string `json:"exportedDataTypes"`
	RecommendationNames                []string `json:"recommendationNames"`
	RecommendationSeverities           []string `json:"recommendationSeverities"`
	IsSecurityFindingsEnabled          bool     `json:"isSecurityFindingsEnabled"`
	SecureScoreControlsNames           []string `json:"secureScoreControlsNames"`
	AlertSeverities                    []string `json:"alertSeverities"`
	RegulatoryComplianceStandardsNames []string `json:"regulatoryComplianceStandardsNames"`
}

// choices turns policy parameters into the form's choices; it fails the
// test when the data types are not in the policies' order (the form
// cannot express another order).
func (p *policyParams) choices(t *testing.T, target TargetKind, sub string) ExportChoices {
	t.Helper()
	c := ExportChoices{Target: target, Subscription: sub,
		RecommendationNames: p.RecommendationNames, RecommendationSeverities: p.RecommendationSeverities,
		SecurityFindings: Frequency{Streaming: p.IsSecurityFindingsEnabled}, AlertSeverities: p.AlertSeverities,
		SecureScoreControlNames: p.SecureScoreControlsNames, RegulatoryComplianceStandardNames: p.RegulatoryComplianceStandardsNames}
	for _, dt := range p.ExportedDataTypes {
		switch dt {
		case dtRecommendations:
			c.Recommendations.Streaming = true
		case dtAlerts:
			c.Alerts.Streaming = true
		case dtSecureScore:
			c.SecureScore.Streaming = true
		case dtControls:
			c.SecureScoreControls.Streaming = true
		case dtCompliance:
			c.RegulatoryCompliance.Streaming = true
		case dtSecureScoreSnapshot:
			c.SecureScore.Snapshot = true
		case dtControlsSnapshot:
			c.SecureScoreControls.Snapshot = true
		case dtComplianceSnapshot:
			c.RegulatoryCompliance.Snapshot = true
		case dtRecommendationsSnapshot:
			c.Recommendations.Snapshot = true
		case dtFindingsSnapshot:
			c.SecurityFindings.Snapshot = true
		default:
			t.Fatalf("unknown data type %q", dt)
		}
	}
	if got := c.DataTypes(); !slices.Equal(got, p.ExportedDataTypes) {
		t.Fatalf("data types %q come back as %q", p.ExportedDataTypes, got)
	}
	return c
}

func asJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}

func action(body map[string]any) map[string]any {
	return body["properties"].(map[string]any)["actions"].([]any)[0].(map[string]any)
}

func TestBuildAutomationWorkspaceDefaults(t *testing.T) {
	want, _ := golden(t, "api-policy-derived-workspace-defaults.json")
	c := DefaultChoices(TargetWorkspace, zeroSub)
	c.Location = "westeurope"
	c.WorkspaceResourceID = action(want)["workspaceResourceId"].(string)
	got, err := BuildAutomation(c)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, asJSON(t, got)); d != "" {
		t.Errorf("default workspace export differs from the policy's (-want +got):\n%s", d)
	}
	// The policies' default list of data types, in their order.
	if got := c.DataTypes(); len(got) != 10 || got[0] != dtRecommendations || got[9] != dtFindingsSnapshot {
		t.Errorf("default data types = %q", got)
	}
}

func TestBuildAutomationEventHubCustom(t *testing.T) {
	want, params := golden(t, "api-policy-derived-eventhub-custom.json")
	if params == nil {
		t.Fatal("the sample has no _params")
	}
	c := params.choices(t, TargetEventHub, zeroSub)
	c.Location = "westeurope"
	c.EventHubResourceID = action(want)["eventHubResourceId"].(string)
	c.ConnectionString = action(want)["connectionString"].(string)
	got, err := BuildAutomation(c)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, asJSON(t, got)); d != "" {
		t.Errorf("custom Event Hub export differs from the policy's (-want +got):\n%s", d)
	}

	// The policy takes an authorization rule of the hub and keeps the hub.
	c.EventHubResourceID += "/authorizationRules/send"
	got, err = BuildAutomation(c)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, asJSON(t, got)); d != "" {
		t.Errorf("with an authorization rule id (-want +got):\n%s", d)
	}

	// The trusted-service policy: no connection string, the flag set.
	c.ConnectionString, c.TrustedService = "", true
	got, err = BuildAutomation(c)
	if err != nil {
		t.Fatal(err)
	}
	wantAct := map[string]any{"actionType": "EventHub", "isTrustedServiceEnabled": true, "eventHubResourceId": action(want)["eventHubResourceId"]}
	if d := cmp.Diff(wantAct, action(asJSON(t, got))); d != "" {
		t.Errorf("trusted-service action (-want +got):\n%s", d)
	}
}

// stored turns a PUT body into what the API answers for it: id and name,
// no connection string but its policy name, null rule sets as [].
func stored(t *testing.T, body map[string]any, rg, name string) []byte {
	t.Helper()
	b, _ := json.Marshal(body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	out["id"] = "/subscriptions/" + zeroSub + "/resourceGroups/" + rg + "/providers/Microsoft.Security/automations/" + name
	out["name"] = name
	props := out["properties"].(map[string]any)
	for _, s := range props["sources"].([]any) {
		if s.(map[string]any)["ruleSets"] == nil {
			s.(map[string]any)["ruleSets"] = []any{}
		}
	}
	act := action(out)
	if cs, ok := act["connectionString"]; ok {
		delete(act, "connectionString")
		act["sasPolicyName"] = strings.Split(strings.Split(cs.(string), "SharedAccessKeyName=")[1], ";")[0]
	}
	if act["actionType"] == "EventHub" {
		if _, ok := act["isTrustedServiceEnabled"]; !ok {
			act["isTrustedServiceEnabled"] = false
		}
	}
	b, _ = json.Marshal(out)
	return b
}

func TestChoicesRoundTrip(t *testing.T) {
	_, params := golden(t, "api-policy-derived-eventhub-custom.json")
	ws := "/subscriptions/" + zeroSub + "/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws"
	hub := "/subscriptions/" + zeroSub + "/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns/eventhubs/hub"
	custom := params.choices(t, TargetEventHub, zeroSub)
	custom.EventHubResourceID = hub
	custom.ConnectionString = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=rule;SharedAccessKey=k;EntityPath=hub"
	trusted := custom
	trusted.ConnectionString, trusted.TrustedService = "", true
	wsDefaults := DefaultChoices(TargetWorkspace, zeroSub)
	wsDefaults.WorkspaceResourceID = ws
	onlyFindings := ExportChoices{Target: TargetWorkspace, Subscription: zeroSub, WorkspaceResourceID: ws,
		SecurityFindings: Frequency{Streaming: true, Snapshot: true}, RecommendationNames: []string{"a", "b"},
		RecommendationSeverities: []string{"Low"}, AlertSeverities: []string{"High"}}
	snapshots := DefaultChoices(TargetWorkspace, zeroSub)
	snapshots.WorkspaceResourceID = ws
	snapshots.Recommendations.Streaming, snapshots.SecurityFindings.Streaming, snapshots.Alerts.Streaming = false, false, false
	snapshots.SecureScoreControlNames = []string{"c1", "c2"}
	snapshots.RegulatoryComplianceStandardNames = []string{"Azure-CIS-1.1.0"}
	snapshots.RecommendationSeverities = []string{"Medium", "High"}

	for name, c := range map[string]ExportChoices{"custom": custom, "trusted": trusted, "workspace_defaults": wsDefaults,
		"only_findings": onlyFindings, "snapshots": snapshots} {
		t.Run(name, func(t *testing.T) {
			c.Location, c.ResourceGroup = "northeurope", "exports"
			b, err := BuildAutomation(c)
			if err != nil {
				t.Fatal(err)
			}
			st, err := choicesFromAutomation(zeroSub, stored(t, asJSON(t, b), "exports", c.Target.AutomationName()))
			if err != nil {
				t.Fatal(err)
			}
			if st.Unrepresentable != "" {
				t.Fatalf("the form's own automation is flagged: %s", st.Unrepresentable)
			}
			if st.HasConnectionString != (c.ConnectionString != "") {
				t.Errorf("HasConnectionString = %v", st.HasConnectionString)
			}
			want := c
			want.ConnectionString = ""
			if !want.Alerts.Streaming {
				want.AlertSeverities = Severities // not stored: back to the default
			}
			if !want.Recommendations.Any() {
				want.RecommendationSeverities = Severities
			}
			if d := cmp.Diff(want, st.Choices); d != "" {
				t.Errorf("choices read back (-want +got):\n%s", d)
			}
			// And the choices read back build the same body.
			again, err := BuildAutomation(st.Choices)
			if err != nil {
				t.Fatal(err)
			}
			orig := asJSON(t, b)
			delete(action(orig), "connectionString")
			if d := cmp.Diff(orig, asJSON(t, again)); d != "" {
				t.Errorf("rebuilt body (-want +got):\n%s", d)
			}
		})
	}
}

func TestChoicesFromForeignAutomation(t *testing.T) {
	ws := "/subscriptions/" + zeroSub + "/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws"
	base := DefaultChoices(TargetWorkspace, zeroSub)
	base.WorkspaceResourceID, base.Location = ws, "westeurope"
	body := func(edit func(m map[string]any)) []byte {
		b, err := BuildAutomation(base)
		if err != nil {
			t.Fatal(err)
		}
		m := asJSON(t, b)
		edit(m)
		return stored(t, m, "rg", "ExportToWorkspace")
	}
	props := func(m map[string]any) map[string]any { return m["properties"].(map[string]any) }
	for name, c := range map[string]struct {
		raw  []byte
		want string
	}{
		"api_created_like_the_demo": {[]byte(`{"id":"/subscriptions/` + zeroSub + `/resourceGroups/web-prod/providers/Microsoft.Security/automations/ExportToWorkspace",
			"location":"westeurope","tags":{},"properties":{"description":"Exports Contoso Production","isEnabled":true,
			"scopes":[{"description":"Contoso Production","scopePath":"/subscriptions/` + zeroSub + `"}],
			"sources":[{"eventSource":"Alerts","ruleSets":[]},{"eventSource":"Assessments","ruleSets":[]}],
			"actions":[{"actionType":"Workspace","workspaceResourceId":"` + ws + `"}]}}`), "description"},
		"disabled": {body(func(m map[string]any) { props(m)["isEnabled"] = false }), "disabled"},
		"tags":     {body(func(m map[string]any) { m["tags"] = map[string]any{"owner": "secops"} }), "tags"},
		"two_actions": {body(func(m map[string]any) {
			props(m)["actions"] = append(props(m)["actions"].([]any), props(m)["actions"].([]any)[0])
		}), "2 actions"},
		"logic_app": {body(func(m map[string]any) {
			props(m)["actions"] = []any{map[string]any{"actionType": "LogicApp", "logicAppResourceId": "/subscriptions/x/resourceGroups/r/providers/Microsoft.Logic/workflows/w"}}
		}), "LogicApp"},
		"attack_paths": {body(func(m map[string]any) {
			props(m)["sources"] = append(props(m)["sources"].([]any), map[string]any{"eventSource": "AttackPaths", "ruleSets": nil})
		}), "AttackPaths"},
		"changed_rule": {body(func(m map[string]any) {
			src := props(m)["sources"].([]any)[1].(map[string]any)
			src["ruleSets"].([]any)[0].(map[string]any)["rules"].([]any)[1].(map[string]any)["operator"] = "NotEquals"
		}), "sources and rules"},
		"resource_group_scope": {body(func(m map[string]any) {
			props(m)["scopes"].([]any)[0].(map[string]any)["scopePath"] = "/subscriptions/" + zeroSub + "/resourceGroups/rg"
		}), "scopes"},
		"all_alerts": {body(func(m map[string]any) {
			props(m)["sources"].([]any)[2].(map[string]any)["ruleSets"] = []any{}
		}), "sources and rules"},
	} {
		t.Run(name, func(t *testing.T) {
			st, err := choicesFromAutomation(zeroSub, c.raw)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(st.Unrepresentable, c.want) {
				t.Errorf("Unrepresentable = %q, want it to mention %q", st.Unrepresentable, c.want)
			}
		})
	}
	// Case does not matter where the engine ignores it.
	st, err := choicesFromAutomation(zeroSub, body(func(m map[string]any) {
		src := props(m)["sources"].([]any)[2].(map[string]any) // Alerts
		r := src["ruleSets"].([]any)[0].(map[string]any)["rules"].([]any)[0].(map[string]any)
		r["expectedValue"], r["propertyType"], src["eventSource"] = "High", "String", "alerts"
	}))
	if err != nil || st.Unrepresentable != "" {
		t.Errorf("case-only differences: %v %q", err, st.Unrepresentable)
	}
	if _, err := choicesFromAutomation(zeroSub, []byte(`{`)); err == nil {
		t.Error("malformed JSON read without error")
	}
}

func TestBuildAutomationRejects(t *testing.T) {
	ws := "/subscriptions/" + zeroSub + "/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws"
	hub := "/subscriptions/" + zeroSub + "/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns/eventhubs/hub"
	ok := DefaultChoices(TargetWorkspace, zeroSub)
	ok.Location, ok.WorkspaceResourceID = "westeurope", ws
	for name, c := range map[string]struct {
		edit  func(c *ExportChoices)
		field string
	}{
		"no_target": {func(c *ExportChoices) { c.Target = "" }, "tab"},
		"no_data_type": {func(c *ExportChoices) {
			*c = ExportChoices{Target: TargetWorkspace, Subscription: zeroSub, Location: "x", WorkspaceResourceID: ws}
		}, "datatypes"},
		"alerts_snapshot":   {func(c *ExportChoices) { c.Alerts.Snapshot = true }, "alerts_snapshot"},
		"bad_severity":      {func(c *ExportChoices) { c.AlertSeverities = []string{"Critical"} }, "alert_severity"},
		"no_rec_severity":   {func(c *ExportChoices) { c.RecommendationSeverities = nil }, "rec_severity"},
		"no_alert_severity": {func(c *ExportChoices) { c.AlertSeverities = nil }, "alert_severity"},
		"no_location":       {func(c *ExportChoices) { c.Location = " " }, "location"},
		"no_workspace":      {func(c *ExportChoices) { c.WorkspaceResourceID = "" }, "workspace"},
		"malformed_ws":      {func(c *ExportChoices) { c.WorkspaceResourceID = "not/an/id" }, "workspace"},
		"hub_as_workspace":  {func(c *ExportChoices) { c.WorkspaceResourceID = hub }, "workspace"},
		"bad_name":          {func(c *ExportChoices) { c.RecommendationNames = []string{`a"b`} }, "rec_names"},
		"bad_subscription":  {func(c *ExportChoices) { c.Subscription = "a/b" }, "subscription"},
		"malformed_hub":     {func(c *ExportChoices) { c.Target, c.EventHubResourceID = TargetEventHub, "/subscriptions/x/nope" }, "eventhub"},
		"workspace_as_hub":  {func(c *ExportChoices) { c.Target, c.EventHubResourceID = TargetEventHub, ws }, "eventhub"},
		"no_hub":            {func(c *ExportChoices) { c.Target = TargetEventHub }, "eventhub"},
		"key_and_trusted": {func(c *ExportChoices) {
			c.Target, c.EventHubResourceID, c.ConnectionString, c.TrustedService = TargetEventHub, hub, "Endpoint=x", true
		}, "connection_string"},
	} {
		t.Run(name, func(t *testing.T) {
			x := ok
			x.AlertSeverities = slices.Clone(ok.AlertSeverities)
			c.edit(&x)
			_, err := BuildAutomation(x)
			var ce *ChoiceError
			if !errors.As(err, &ce) || ce.Field != c.field || ce.Message == "" {
				t.Errorf("err = %v, want a ChoiceError on %s", err, c.field)
			}
		})
	}
	// Only "include security findings" is a data type of its own.
	x := ExportChoices{Target: TargetWorkspace, Subscription: zeroSub, Location: "x", WorkspaceResourceID: ws, SecurityFindings: Frequency{Streaming: true}}
	b, err := BuildAutomation(x)
	if err != nil {
		t.Fatal(err)
	}
	if srcs := asJSON(t, b)["properties"].(map[string]any)["sources"].([]any); len(srcs) != 1 || srcs[0].(map[string]any)["eventSource"] != "SubAssessments" {
		t.Errorf("findings only: %v", srcs)
	}
}
