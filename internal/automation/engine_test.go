package automation_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"sluice/internal/armid"
	"sluice/internal/automation"
	"sluice/internal/export"
	"sluice/internal/server/servertest"
	"sluice/internal/store"
)

const unreachableTrigger = "https://127.0.0.1:1/workflows/w/triggers/manual/paths/invoke?api-version=2016-10-01&sig=dW5yZWFjaGFibGUtc2lnbmF0dXJl"

func engineBody(scope string, enabled bool) map[string]any {
	return map[string]any{
		"location": "westeurope",
		"properties": map[string]any{
			"isEnabled": enabled,
			"scopes":    []any{map[string]any{"scopePath": scope}},
			"sources": []any{map[string]any{"eventSource": "Alerts", "ruleSets": []any{
				map[string]any{"rules": []any{rule("Severity", "string", "Equals", "high")}},
			}}},
			"actions": []any{map[string]any{"actionType": "LogicApp", "logicAppResourceId": laID, "uri": unreachableTrigger}},
		},
	}
}

func alertEvent(subID, rgName, severity string) *store.Event {
	return &store.Event{
		ID: "ev-" + rgName + "-" + severity, Source: "Alerts", Subscription: subID, ResourceGroup: rgName,
		ResourceID: "/subscriptions/" + subID + "/resourceGroups/" + rgName + "/providers/Microsoft.Compute/virtualMachines/vm1",
		Body:       []byte(`{"Severity":"` + severity + `","AlertType":"VM_SuspiciousActivity","AzureResourceId":"/subscriptions/` + subID + `"}`),
	}
}

// TestEngineIntegration: after a write the engine holds the automation
// with its scopes, sources, rules and actions (changes apply to the next
// event); a disabled automation matches nothing; after DELETE it is gone
// and its queues with it; after a restart it is loaded again, secrets
// opened with the data directory's key.
func TestEngineIntegration(t *testing.T) {
	dir := t.TempDir()
	path := withVersion(automationPath(sub, rg, "EngineCheck"), v2023)
	key := armid.Key(automationPath(sub, rg, "EngineCheck"))
	actionKey := export.ActionKey(key, 0)
	// mine keeps this automation's actions (the demo estate has its own
	// automations, e.g. the export into the demo workspace).
	mine := func(acts []*export.Action) []*export.Action {
		var out []*export.Action
		for _, a := range acts {
			if strings.HasPrefix(a.Key, key+"/actions/") {
				out = append(out, a)
			}
		}
		return out
	}

	t.Run("first run", func(t *testing.T) {
		env := servertest.New(t, servertest.WithDemo(), servertest.WithData(dir))
		eng := env.Server.Engine
		resp, body := do(t, env, http.MethodPut, path, engineBody(armid.ResourceGroupID(sub, rg), true))
		mustStatus(t, resp, body, http.StatusCreated)

		acts := mine(eng.Match(alertEvent(sub, rg, "High")))
		if len(acts) != 1 || acts[0].Key != actionKey || acts[0].Type != "LogicApp" {
			t.Fatalf("matched actions = %+v", acts)
		}
		if cfg, ok := acts[0].Config.(automation.LogicAppTarget); !ok || cfg.URI != unreachableTrigger {
			t.Errorf("config = %#v", acts[0].Config)
		}
		if !contains(acts[0].Secrets, unreachableTrigger) || acts[0].Fingerprint == "" {
			t.Errorf("secrets/fingerprint not set: %d secrets, fingerprint %q", len(acts[0].Secrets), acts[0].Fingerprint)
		}
		for _, ev := range []*store.Event{
			alertEvent(sub, otherRG, "High"), // outside the resource-group scope
			alertEvent(sub, rg, "Low"),       // rule false
			alertEvent(otherSub, rg, "High"), // another subscription
			func() *store.Event { e := alertEvent(sub, rg, "High"); e.Source = "Assessments"; return e }(),
		} {
			if got := mine(eng.Match(ev)); len(got) != 0 {
				t.Errorf("%s %s matched %d actions", ev.Source, ev.ResourceID, len(got))
			}
		}

		// Widen the scope to the subscription: the next event sees it.
		resp, body = do(t, env, http.MethodPut, path, engineBody("/subscriptions/"+sub, true))
		mustStatus(t, resp, body, http.StatusOK)
		if got := mine(eng.Match(alertEvent(sub, otherRG, "HIGH"))); len(got) != 1 {
			t.Errorf("after widening: %d actions", len(got))
		}
		resp, body = do(t, env, http.MethodPatch, path, map[string]any{"properties": map[string]any{"isEnabled": false}})
		mustStatus(t, resp, body, http.StatusOK)
		if got := mine(eng.Match(alertEvent(sub, rg, "High"))); len(got) != 0 {
			t.Errorf("disabled automation matched %d actions", len(got))
		}
		resp, body = do(t, env, http.MethodPatch, path, map[string]any{"properties": map[string]any{"isEnabled": true}})
		mustStatus(t, resp, body, http.StatusOK)
		if got := mine(eng.Match(alertEvent(sub, rg, "High"))); len(got) != 1 {
			t.Errorf("re-enabled automation matched %d actions", len(got))
		}
	})

	t.Run("after restart", func(t *testing.T) {
		env := servertest.New(t, servertest.WithData(dir))
		eng := env.Server.Engine
		acts := mine(eng.Match(alertEvent(sub, otherRG, "High")))
		if len(acts) != 1 || acts[0].Config.(automation.LogicAppTarget).URI != unreachableTrigger {
			t.Fatalf("after restart: %+v", acts)
		}

		// An event waits in the action's queue (the trigger is unreachable;
		// demo alerts of the first run may be queued before it).
		ctx := context.Background()
		ev := alertEvent(sub, rg, "High")
		if err := env.Server.Store.Update(ctx, func(tx store.Tx) error { return tx.AppendEvent(ctx, ev) }); err != nil {
			t.Fatal(err)
		}
		eng.Notify()
		waitFor(t, "the event to be queued", func() bool {
			q, err := env.Server.Store.Queued(ctx, actionKey, 0, 100)
			for _, e := range q {
				if e.EventID == ev.ID {
					return err == nil
				}
			}
			return false
		})

		resp, body := do(t, env, http.MethodDelete, path, nil)
		mustStatus(t, resp, body, http.StatusNoContent)
		if got := mine(eng.Match(alertEvent(sub, rg, "High"))); len(got) != 0 {
			t.Errorf("deleted automation matched %d actions", len(got))
		}
		if q, err := env.Server.Store.Queued(ctx, actionKey, 0, 10); err != nil || len(q) != 0 {
			t.Errorf("queue after delete: %d entries (%v)", len(q), err)
		}
		if st, err := env.Server.Store.ActionStates(ctx, key+"/"); err != nil || len(st) != 0 {
			t.Errorf("action states after delete: %d (%v)", len(st), err)
		}
		resp, body = do(t, env, http.MethodGet, withVersion(automationPath(sub, rg, "EngineCheck")+"/deliveryHealth", v2023), nil)
		mustStatus(t, resp, body, http.StatusNotFound)
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds or 15 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
