package workspace_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"sluice/internal/export"
	"sluice/internal/logsingesttest"
	"sluice/internal/sink/workspace"
	"sluice/internal/store"
	"sluice/internal/store/sqlite"
)

const engineSub = "11111111-2222-3333-4444-555555555555"

// TestEngineDeadLettersFullRecord runs the real export engine over the
// SQLite store with this sink: a record over 32 KB is written truncated,
// its full event lands in the dead-letter store with the "Data limit has
// been exceeded" reason, and the action's health carries a warning naming
// it; the other events are delivered and nothing is retried.
func TestEngineDeadLettersFullRecord(t *testing.T) {
	e := newEnv(t, logsingesttest.Options{})
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.config(ruleA, tenantA, clientA, secretA)
	var eng *export.Engine
	factory := func(a *export.Action) (export.Sink, error) {
		return workspace.NewLogsIngestion(a.Config.(workspace.Config), workspace.Deps{
			Transport: e.srv.Client(),
			Warn: func(ctx context.Context, eventID, msg string) {
				if err := eng.Warn(ctx, a.Key, eventID, msg); err != nil {
					t.Errorf("Warn: %v", err)
				}
			},
			Log: slog.New(slog.NewTextHandler(e.logs, nil)),
		})
	}
	eng = export.New(st, factory, slog.New(slog.NewTextHandler(e.logs, nil)), export.Options{
		Poll: 10 * time.Millisecond, Backoff: export.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })

	const key = "/subscriptions/" + engineSub + "/resourcegroups/rg/providers/microsoft.security/automations/to-la"
	action := export.ActionKey(key, 0)
	eng.SetExports([]*export.Export{{Key: key, ID: key, Subscription: engineSub, Enabled: true,
		Scopes: []string{"/subscriptions/" + engineSub}, Sources: []string{"Alerts", "Assessments"},
		Actions: []*export.Action{{Key: action, Type: "Workspace", Config: cfg, Fingerprint: "la", Secrets: []string{secretA}}}}})

	big := bigAlert(t, "big-alert")
	small := assessments(t, 2)
	res := "/subscriptions/" + engineSub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
	err = st.Update(context.Background(), func(tx store.Tx) error {
		for _, m := range append(small, big) {
			ev := &store.Event{ID: m.EventID, Source: m.Source, Subscription: engineSub, ResourceGroup: "rg", ResourceID: res, Body: m.Body, Time: time.Now()}
			if err := tx.AppendEvent(context.Background(), ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	eng.Notify()

	var dead []*store.DeadLetter
	deadline := time.Now().Add(20 * time.Second)
	for {
		dead, err = st.DeadLetters(context.Background(), action, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) > 0 && e.srv.Count(ruleA, "Custom-SecurityRecommendation_CL") == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %d dead letters, %d rows", len(dead), e.srv.Count(ruleA, "Custom-SecurityRecommendation_CL"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(dead) != 1 || dead[0].EventID != "big-alert" || !bytes.Equal(dead[0].Body, big.Body) {
		t.Fatalf("dead letters = %+v, want the full big-alert event", dead)
	}
	if !strings.HasPrefix(dead[0].Reason, workspace.DataLimitExceeded) {
		t.Errorf("dead letter reason %q", dead[0].Reason)
	}
	if n := e.srv.Count(ruleA, "Custom-SecurityAlert_CL"); n != 1 {
		t.Errorf("%d alert rows, want the truncated one", n)
	}
	hs, err := eng.Health(context.Background(), key)
	if err != nil || len(hs) != 1 {
		t.Fatalf("health: %v %v", hs, err)
	}
	h := hs[0]
	if len(h.Warnings) != 1 || h.Warnings[0].EventID != "big-alert" || !strings.HasPrefix(h.Warnings[0].Message, workspace.DataLimitExceeded) {
		t.Errorf("warnings = %+v", h.Warnings)
	}
	if h.Delivered != 2 || h.DeadLettered != 1 || h.Retried != 0 || h.QueueDepth != 0 {
		t.Errorf("health = delivered %d, dead-lettered %d, retried %d, queued %d", h.Delivered, h.DeadLettered, h.Retried, h.QueueDepth)
	}
	if strings.Contains(e.logs.String(), secretA) {
		t.Error("the client secret leaked into the logs")
	}
}
