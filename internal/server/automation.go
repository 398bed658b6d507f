package server

import (
	"context"
	"fmt"

	"sluice/internal/automation"
	"sluice/internal/export"
	"sluice/internal/secrets"
	"sluice/internal/store"
)

// initAutomations opens the secrets box (<data>/keys/secrets.key), loads
// the stored automations into the export engine and registers the
// automation routes and the delivery routes under them.
func (s *Server) initAutomations(ctx context.Context) error {
	box, err := secrets.LoadOrCreate(s.Config.Data)
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	s.Automations = &automation.Service{Store: s.Store, Box: box, Engine: s.Engine, Log: s.Log.With("component", "automation")}
	if err := s.Automations.Load(ctx); err != nil {
		return err
	}
	(&automation.Handlers{Svc: s.Automations, Estate: s.Estate}).Register(s.Router)
	(&export.API{Engine: s.Engine, Store: s.Store, Snapshots: serverSnapshots{s}}).Register(s.Router)
	return nil
}

// serverSnapshots reads s.snapshots when a backfill runs, so the security
// state service may be wired after the routes.
type serverSnapshots struct{ s *Server }

func (v serverSnapshots) Snapshot(ctx context.Context, subscription, source string, emit func(*store.Event) error) error {
	if v.s.snapshots == nil {
		return fmt.Errorf("no security state is available to snapshot")
	}
	return v.s.snapshots.Snapshot(ctx, subscription, source, emit)
}
