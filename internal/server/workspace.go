package server

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"sluice/internal/automation"
	"sluice/internal/export"
	"sluice/internal/sink/workspace"
	hosted "sluice/internal/workspace"
)

// workspaceRetentionInterval is how often rows past a hosted workspace's
// retention are removed.
const workspaceRetentionInterval = time.Hour

// initWorkspaces opens the embedded Log Analytics workspaces
// (<data>/workspaces/<customerId>.db) and registers their ARM, query and
// Logs Ingestion routes; with --demo, it seeds the demo workspace once.
func (s *Server) initWorkspaces(ctx context.Context) error {
	s.Workspaces = &hosted.Service{Store: s.Store, Estate: s.Estate, Dir: filepath.Join(s.Config.Data, "workspaces"),
		Log: s.Log.With("component", "workspace")}
	(&hosted.Handlers{Svc: s.Workspaces, RootScope: "/providers/Microsoft.Management/managementGroups/" + s.Bootstrap.TenantID}).Register(s.Router)
	if s.Config.Demo {
		if err := s.seedDemoWorkspace(ctx); err != nil {
			return fmt.Errorf("seed demo workspace: %w", err)
		}
	}
	return nil
}

// runWorkspaceRetention removes rows past the workspaces' retention every
// hour until ctx ends; the returned function waits for it to stop.
func (s *Server) runWorkspaceRetention(ctx context.Context) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Workspaces.RunRetention(ctx, workspaceRetentionInterval)
	}()
	return func() { <-done }
}

// closeWorkspaces closes the workspace databases; call it once nothing
// writes to them any more (the export engine has stopped).
func (s *Server) closeWorkspaces() {
	if err := s.Workspaces.Close(); err != nil {
		s.Log.Warn("close workspace databases", "err", err)
	}
}

// hostedWorkspaceSink is the sink of a Workspace action whose workspace
// this server hosts (nil when it hosts no such workspace): rows go straight
// into the workspace's tables through the same sink as external
// workspaces, with the 32 KB record rule of Log Analytics.
func (s *Server) hostedWorkspaceSink(a *export.Action, cfg automation.WorkspaceTarget) (export.Sink, error) {
	if s.Workspaces == nil {
		return nil, nil
	}
	ws, err := s.Workspaces.ByResourceID(context.Background(), cfg.ResourceID)
	if err != nil || ws == nil {
		return nil, err
	}
	return workspace.NewSink(workspace.Options{
		Writer:      s.Workspaces.Writer(ws.Properties.CustomerID),
		WorkspaceID: ws.Properties.CustomerID,
		Warn: func(ctx context.Context, eventID, msg string) {
			if err := s.Engine.Warn(ctx, a.Key, eventID, msg); err != nil {
				s.Log.Warn("record a delivery warning", "action", a.Key, "err", err)
			}
		},
		Log: s.Log.With("component", "workspace-sink", "action", a.Key),
	})
}
