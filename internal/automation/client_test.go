package automation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/security/armsecurity"
	"github.com/google/go-cmp/cmp"

	"sluice/internal/automation"
	"sluice/internal/server/servertest"
)

const (
	testConnString = "Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=c2VjcmV0LWtleS1kby1ub3QtbGVhaw==;EntityPath=alerts"
	testTriggerURI = "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=c2lnbmF0dXJlLWRvLW5vdC1sZWFr"
)

func automationsClient(t *testing.T, env *servertest.Env, sub string) *armsecurity.AutomationsClient {
	t.Helper()
	c, err := armsecurity.NewAutomationsClient(sub, env.Cred(), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// expectedFor returns an expected value of the property type that parses.
func expectedFor(pt armsecurity.PropertyType) string {
	switch pt {
	case armsecurity.PropertyTypeInteger:
		return "3"
	case armsecurity.PropertyTypeNumber:
		return "7.5"
	case armsecurity.PropertyTypeBoolean:
		return "true"
	}
	return "High"
}

// allowed mirrors the spec's operator descriptions.
func allowed(pt armsecurity.PropertyType, op armsecurity.Operator) bool {
	switch op {
	case armsecurity.OperatorEquals, armsecurity.OperatorNotEquals:
		return true
	case armsecurity.OperatorContains, armsecurity.OperatorStartsWith, armsecurity.OperatorEndsWith:
		return pt == armsecurity.PropertyTypeString
	}
	return pt == armsecurity.PropertyTypeInteger || pt == armsecurity.PropertyTypeNumber
}

// ruleMatrix is one rule set per property type, holding a rule for every
// operator the type allows (as the SDK enumerates them).
func ruleMatrix() []*armsecurity.AutomationRuleSet {
	var sets []*armsecurity.AutomationRuleSet
	for _, pt := range armsecurity.PossiblePropertyTypeValues() {
		set := &armsecurity.AutomationRuleSet{}
		for _, op := range armsecurity.PossibleOperatorValues() {
			if !allowed(pt, op) {
				continue
			}
			set.Rules = append(set.Rules, &armsecurity.AutomationTriggeringRule{
				PropertyJPath: to.Ptr("properties.test." + string(pt)), PropertyType: to.Ptr(pt),
				ExpectedValue: to.Ptr(expectedFor(pt)), Operator: to.Ptr(op)})
		}
		sets = append(sets, set)
	}
	return sets
}

// fullAutomation takes every event source with the rule matrix and one
// action of the given type.
func fullAutomation(sub string, action armsecurity.AutomationActionClassification) armsecurity.Automation {
	var sources []*armsecurity.AutomationSource
	for _, es := range armsecurity.PossibleEventSourceValues() {
		sources = append(sources, &armsecurity.AutomationSource{EventSource: to.Ptr(es), RuleSets: ruleMatrix()})
	}
	return armsecurity.Automation{
		Location: to.Ptr("westeurope"),
		Tags:     map[string]*string{"owner": to.Ptr("secops")},
		Properties: &armsecurity.AutomationProperties{
			Description: to.Ptr("every source, operator and property type"),
			IsEnabled:   to.Ptr(true),
			Scopes: []*armsecurity.AutomationScope{
				{Description: to.Ptr("the subscription"), ScopePath: to.Ptr("/subscriptions/" + sub)},
				{Description: to.Ptr("a resource group"), ScopePath: to.Ptr("/subscriptions/" + sub + "/resourceGroups/" + rg)},
			},
			Sources: sources,
			Actions: []armsecurity.AutomationActionClassification{action},
		},
	}
}

func actionsOfEveryType(sub string) map[string]armsecurity.AutomationActionClassification {
	return map[string]armsecurity.AutomationActionClassification{
		"ExportToEventHub": &armsecurity.AutomationActionEventHub{ActionType: to.Ptr(armsecurity.ActionTypeEventHub),
			EventHubResourceID: to.Ptr("/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.EventHub/namespaces/contoso-ns/eventhubs/alerts"),
			ConnectionString:   to.Ptr(testConnString)},
		"ExportToLogicApp": &armsecurity.AutomationActionLogicApp{ActionType: to.Ptr(armsecurity.ActionTypeLogicApp),
			LogicAppResourceID: to.Ptr("/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Logic/workflows/notify"),
			URI:                to.Ptr(testTriggerURI)},
		"ExportToWorkspace": &armsecurity.AutomationActionWorkspace{ActionType: to.Ptr(armsecurity.ActionTypeWorkspace),
			WorkspaceResourceID: to.Ptr("/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.OperationalInsights/workspaces/sec-ws")},
	}
}

func responseCode(err error) (int, string) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, re.ErrorCode
	}
	return 0, ""
}

// checkRoundTrip compares what the server returned with what was sent:
// identical scopes and sources, the action without its secret.
func checkRoundTrip(t *testing.T, sub string, sent armsecurity.Automation, got armsecurity.Automation, name string) {
	t.Helper()
	wantID := automationPath(sub, rg, name)
	if *got.ID != wantID || *got.Name != name || *got.Type != "Microsoft.Security/automations" || *got.Location != "westeurope" {
		t.Errorf("envelope: id %s name %s type %s location %s", *got.ID, *got.Name, *got.Type, *got.Location)
	}
	if got.Etag == nil || *got.Etag == "" {
		t.Error("no etag")
	}
	if got.SystemData == nil || got.SystemData.CreatedAt == nil || got.SystemData.CreatedBy == nil || *got.SystemData.LastModifiedBy == "" {
		t.Errorf("systemData = %+v", got.SystemData)
	}
	if d := cmp.Diff(sent.Tags, got.Tags); d != "" {
		t.Errorf("tags (-sent +got):\n%s", d)
	}
	if d := cmp.Diff(sent.Properties.Scopes, got.Properties.Scopes); d != "" {
		t.Errorf("scopes (-sent +got):\n%s", d)
	}
	if d := cmp.Diff(sent.Properties.Sources, got.Properties.Sources); d != "" {
		t.Errorf("sources (-sent +got):\n%s", d)
	}
	if *got.Properties.Description != *sent.Properties.Description || !*got.Properties.IsEnabled {
		t.Errorf("description/isEnabled = %q/%v", *got.Properties.Description, *got.Properties.IsEnabled)
	}
	if len(got.Properties.Actions) != 1 {
		t.Fatalf("actions = %d", len(got.Properties.Actions))
	}
	switch a := got.Properties.Actions[0].(type) {
	case *armsecurity.AutomationActionEventHub:
		s := sent.Properties.Actions[0].(*armsecurity.AutomationActionEventHub)
		if a.ConnectionString != nil {
			t.Error("connectionString returned")
		}
		if *a.EventHubResourceID != *s.EventHubResourceID || a.SasPolicyName == nil || *a.SasPolicyName != "RootManageSharedAccessKey" ||
			a.IsTrustedServiceEnabled == nil || *a.IsTrustedServiceEnabled {
			t.Errorf("EventHub action = %+v", a)
		}
	case *armsecurity.AutomationActionLogicApp:
		s := sent.Properties.Actions[0].(*armsecurity.AutomationActionLogicApp)
		if a.URI != nil {
			t.Error("uri returned")
		}
		if *a.LogicAppResourceID != *s.LogicAppResourceID {
			t.Errorf("LogicApp action = %+v", a)
		}
	case *armsecurity.AutomationActionWorkspace:
		s := sent.Properties.Actions[0].(*armsecurity.AutomationActionWorkspace)
		if *a.WorkspaceResourceID != *s.WorkspaceResourceID {
			t.Errorf("Workspace action = %+v", a)
		}
	default:
		t.Errorf("action decoded as %T (actionType not canonical?)", a)
	}
}

// testSDKClientLifecycle drives the real armsecurity v0.15.0 client
// (2023-12-01-preview) through create, replace, get, list, update,
// validate and delete, for every action type, with every event source and
// a rule for every operator × property type the spec allows.
func testSDKClientLifecycle(t *testing.T, env *servertest.Env, sub string) {
	client := automationsClient(t, env, sub)
	ctx := context.Background()
	actions := actionsOfEveryType(sub)
	names := []string{"ExportToEventHub", "ExportToLogicApp", "ExportToWorkspace"}

	for _, name := range names {
		sent := fullAutomation(sub, actions[name])
		var raw *http.Response
		res, err := client.CreateOrUpdate(policy.WithCaptureResponse(ctx, &raw), rg, name, sent, nil)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if raw.StatusCode != http.StatusCreated {
			t.Errorf("create %s: status %d, want 201", name, raw.StatusCode)
		}
		checkRoundTrip(t, sub, sent, res.Automation, name)
		firstETag := *res.Etag

		res, err = client.CreateOrUpdate(policy.WithCaptureResponse(ctx, &raw), rg, name, sent, nil)
		if err != nil {
			t.Fatalf("replace %s: %v", name, err)
		}
		if raw.StatusCode != http.StatusOK || *res.Etag == firstETag {
			t.Errorf("replace %s: status %d, etag %s (first %s)", name, raw.StatusCode, *res.Etag, firstETag)
		}

		got, err := client.Get(ctx, rg, name, nil)
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		checkRoundTrip(t, sub, sent, got.Automation, name)
		if *got.Etag != *res.Etag {
			t.Errorf("get etag %s, want %s", *got.Etag, *res.Etag)
		}
	}
	// One more in another resource group, to tell the lists apart.
	other := fullAutomation(sub, actions["ExportToWorkspace"])
	other.Properties.Scopes = []*armsecurity.AutomationScope{{ScopePath: to.Ptr("/subscriptions/" + sub + "/resourceGroups/" + otherRG)}}
	if _, err := client.CreateOrUpdate(ctx, otherRG, "elsewhere", other, nil); err != nil {
		t.Fatal(err)
	}

	var all []string
	for pager := client.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Value {
			all = append(all, *a.Name)
		}
	}
	slices.Sort(all)
	if d := cmp.Diff([]string{"ExportToEventHub", "ExportToLogicApp", "ExportToWorkspace", "elsewhere"}, all); d != "" {
		t.Errorf("list by subscription (-want +got):\n%s", d)
	}
	var inRG []string
	for pager := client.NewListByResourceGroupPager(rg, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Value {
			inRG = append(inRG, *a.Name)
			if _, ok := a.Properties.Actions[0].(*armsecurity.AutomationAction); ok {
				t.Errorf("%s: listed action not decoded to its type", *a.Name)
			}
		}
	}
	slices.Sort(inRG)
	if d := cmp.Diff(names, inRG); d != "" {
		t.Errorf("list by resource group (-want +got):\n%s", d)
	}

	// PATCH merges tags and replaces only the properties sent.
	var raw *http.Response
	upd, err := client.Update(policy.WithCaptureResponse(ctx, &raw), rg, "ExportToEventHub", armsecurity.AutomationUpdateModel{
		Tags:       map[string]*string{"team": to.Ptr("blue")},
		Properties: &armsecurity.AutomationProperties{IsEnabled: to.Ptr(false)},
	}, nil)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if raw.StatusCode != http.StatusOK {
		t.Errorf("update status %d", raw.StatusCode)
	}
	if *upd.Properties.IsEnabled || len(upd.Properties.Sources) != len(armsecurity.PossibleEventSourceValues()) ||
		*upd.Tags["owner"] != "secops" || *upd.Tags["team"] != "blue" {
		t.Errorf("update result: enabled %v, %d sources, tags %v", *upd.Properties.IsEnabled, len(upd.Properties.Sources), upd.Tags)
	}
	// The stored connection string survived the PATCH (no secret was sent),
	// and the engine sees the automation disabled.
	stored, err := env.Server.Automations.Get(ctx, automation.Ref{Subscription: sub, ResourceGroup: rg, Name: "ExportToEventHub"})
	if err != nil || stored.Properties.Actions[0].ConnectionString != testConnString {
		t.Errorf("stored connection string lost by PATCH (err %v)", err)
	}
	if h := deliveryHealth(t, env, sub, "ExportToEventHub"); h == nil || h["isEnabled"] != false || len(h["actions"].([]any)) != 1 {
		t.Errorf("engine view after PATCH = %v", h)
	}
	if h := deliveryHealth(t, env, sub, "ExportToWorkspace"); h == nil || h["isEnabled"] != true {
		t.Errorf("engine view of an enabled automation = %v", h)
	}

	// Validate: a valid body, then one with an operator the type forbids.
	okBody := fullAutomation(sub, actions["ExportToLogicApp"])
	vres, err := client.Validate(ctx, rg, "candidate", okBody, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !*vres.IsValid || *vres.Message != "Validation Successful" {
		t.Errorf("validate = %v %q", *vres.IsValid, *vres.Message)
	}
	bad := fullAutomation(sub, actions["ExportToLogicApp"])
	bad.Properties.Sources[0].RuleSets[0].Rules[0].PropertyType = to.Ptr(armsecurity.PropertyTypeInteger)
	bad.Properties.Sources[0].RuleSets[0].Rules[0].Operator = to.Ptr(armsecurity.OperatorContains)
	vres, err = client.Validate(ctx, rg, "candidate", bad, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *vres.IsValid || *vres.Message == "" {
		t.Errorf("validate bad = %v %q", *vres.IsValid, *vres.Message)
	}
	if _, err := client.Get(ctx, rg, "candidate", nil); err == nil {
		t.Error("validate stored the automation")
	}
	// A PUT of the bad body is a 400 with the same message.
	_, err = client.CreateOrUpdate(ctx, rg, "candidate", bad, nil)
	if code, ec := responseCode(err); code != http.StatusBadRequest || ec != "InvalidOperator" {
		t.Errorf("put bad: %d %s (%v)", code, ec, err)
	}

	// Delete: 200/204 for the SDK, then 404 on GET, and delete again works.
	for _, name := range names {
		if _, err := client.Delete(ctx, rg, name, nil); err != nil {
			t.Fatalf("delete %s: %v", name, err)
		}
		_, err := client.Get(ctx, rg, name, nil)
		if code, ec := responseCode(err); code != http.StatusNotFound || ec != "ResourceNotFound" {
			t.Errorf("get after delete: %d %s", code, ec)
		}
		if _, err := client.Delete(ctx, rg, name, nil); err != nil {
			t.Errorf("second delete %s: %v", name, err)
		}
		if deliveryHealth(t, env, sub, name) != nil {
			t.Errorf("%s still in the engine after delete", name)
		}
	}
}

// TestSDKClient runs the armsecurity v0.15.0 tests against one server,
// each in a subscription of its own (they list whole subscriptions).
func TestSDKClient(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	trustSluice(t, env)
	for i, tc := range []struct {
		name string
		run  func(*testing.T, *servertest.Env, string)
	}{
		{"Lifecycle", testSDKClientLifecycle},
		{"Paging", testSDKClientPaging},
	} {
		s := fmt.Sprintf("5d4c3b2a-0000-4000-8000-%012d", i+1)
		registerSubscription(t, env, s, rg)
		createRG(t, env, s, otherRG)
		t.Run(tc.name, func(t *testing.T) { tc.run(t, env, s) })
	}
}

// deliveryHealth reads the engine's view of an automation of rg through
// the delivery health route; nil when the engine does not know it.
func deliveryHealth(t *testing.T, env *servertest.Env, sub, name string) map[string]any {
	t.Helper()
	resp, body := do(t, env, http.MethodGet, withVersion(automationPath(sub, rg, name)+"/deliveryHealth", v2023), nil)
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	mustStatus(t, resp, body, http.StatusOK)
	return decodeJSON(t, body)
}

// testSDKClientPaging lists more automations than fit a page with the
// SDK's pagers, which follow the absolute nextLink verbatim.
func testSDKClientPaging(t *testing.T, env *servertest.Env, sub string) {
	client := automationsClient(t, env, sub)
	ctx := context.Background()
	// 100 automations through the service, 5 through the SDK, half of
	// them in another resource group.
	const n = 105
	for i := range n {
		group := rg
		if i%2 == 1 {
			group = otherRG
		}
		name := fmt.Sprintf("auto-%03d", i)
		if i < 100 {
			data, _ := json.Marshal(minimal(sub))
			a, err := automation.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := env.Server.Automations.Put(ctx, automation.Ref{Subscription: sub, ResourceGroup: group, Name: name}, a, automation.Conditions{}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		body := fullAutomation(sub, actionsOfEveryType(sub)["ExportToWorkspace"])
		body.Properties.Sources = body.Properties.Sources[:1]
		if _, err := client.CreateOrUpdate(ctx, group, name, body, nil); err != nil {
			t.Fatal(err)
		}
	}
	pages, seen := 0, map[string]bool{}
	for pager := client.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range page.Value {
			if seen[*a.ID] {
				t.Errorf("%s listed twice", *a.ID)
			}
			seen[*a.ID] = true
		}
	}
	if len(seen) != n || pages < 2 {
		t.Errorf("listed %d automations in %d pages, want %d in at least 2", len(seen), pages, n)
	}
	inRG := 0
	for pager := client.NewListByResourceGroupPager(otherRG, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		inRG += len(page.Value)
	}
	if inRG != n/2 {
		t.Errorf("listed %d in %s, want %d", inRG, otherRG, n/2)
	}
}
