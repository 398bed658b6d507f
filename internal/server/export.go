package server

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sluice/internal/automation"
	"sluice/internal/export"
)

// LogicAppTarget is the sink configuration of LogicApp (and webhook-like)
// actions; compiled automations carry it.
type LogicAppTarget = automation.LogicAppTarget

// newEngine builds the export engine from the configuration.
func (s *Server) newEngine() error {
	c := s.Config.Export
	var pool *x509.CertPool
	if c.CABundle != "" {
		data, err := os.ReadFile(c.CABundle)
		if err != nil {
			return fmt.Errorf("export.caBundle: %w", err)
		}
		sys, err := x509.SystemCertPool()
		if err != nil || sys == nil {
			sys = x509.NewCertPool()
		}
		if !sys.AppendCertsFromPEM(data) {
			return fmt.Errorf("export.caBundle %s holds no PEM certificate", c.CABundle)
		}
		pool = sys
	}
	s.caPool = pool
	s.Engine = export.New(s.Store, s.sinkFor, s.Log.With("component", "export"), export.Options{
		BatchSize: c.BatchSize, Workers: c.Workers, MaxAge: time.Duration(c.MaxRetryAge), Document: automation.NewDocument,
	})
	start, _ := time.Parse(time.RFC3339, c.SnapshotStart)
	s.schedule = export.Schedule{Interval: time.Duration(c.SnapshotInterval), Start: start}
	s.metrics = prometheus.NewRegistry()
	s.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.Engine.Collector())
	return nil
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{})
}

// RunBackground runs the export engine, the snapshot scheduler, the
// event-log pruner and the hosted workspaces' retention until ctx ends.
func (s *Server) RunBackground(ctx context.Context) (wait func()) {
	done := make(chan struct{}, 3)
	go func() { s.Engine.Run(ctx); done <- struct{}{} }()
	go func() {
		if s.snapshots != nil {
			(&export.Scheduler{Engine: s.Engine, Source: s.snapshots, Schedule: s.schedule}).Run(ctx)
		}
		done <- struct{}{}
	}()
	go func() { s.pruneLoop(ctx); done <- struct{}{} }()
	waitWorkspaces := s.runWorkspaceRetention(ctx)
	return func() {
		for range 3 {
			<-done
		}
		waitWorkspaces()
		// The engine has stopped: nothing writes to the workspaces now.
		s.closeWorkspaces()
	}
}

func (s *Server) pruneLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		cutoff := time.Now().Add(-time.Duration(s.Config.Export.EventRetention))
		if n, err := s.Store.PruneEvents(ctx, cutoff); err != nil && ctx.Err() == nil {
			s.Log.Error("prune event log", "err", err)
		} else if n > 0 {
			s.Log.Info("pruned the event log", "events", n, "older_than", cutoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
