package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/armapi"
	"sluice/internal/catalog"
	"sluice/internal/ingest"
	"sluice/internal/security"
)

// VersionsIngest are the api-versions of the ingestion route.
var VersionsIngest = []string{"2024-01-01"}

// IngestPath is the NDJSON ingestion route (a Sluice extension).
const IngestPath = "/providers/Microsoft.Security/ingest"

// initSecurity builds the security state service, registers its routes and
// the ingestion route, makes it the source of snapshots and, with --demo,
// seeds and animates the demo's security data.
func (s *Server) initSecurity(ctx context.Context) error {
	s.Security = security.NewService(s.Store, catalog.Default(), s.Estate, s.Log.With("component", "security"))
	(&security.Handlers{Svc: s.Security, Notify: s.Engine.Notify}).Register(s.Router)
	in := &ingest.Ingestor{
		Store:      s.Store,
		Parsers:    s.Security.IngestParsers(),
		NewBatch:   s.Security.NewBatch,
		Authz:      s.RBAC,
		MaxBacklog: s.Config.Export.MaxBacklog,
		Notify:     s.Engine.Notify,
		Resent:     s.Security.Resent,
	}
	s.Router.Handle(armapi.Route{Method: http.MethodPost, Pattern: IngestPath, APIVersions: VersionsIngest,
		Permission: armapi.PermissionAuthenticated, Handler: in.ServeHTTP})
	s.snapshots = s.Security
	s.metrics.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sluice_ingest_resent_lines_total",
		Help: "Ingested lines accepted as unchanged without being parsed: byte-identical to the last line that produced their record."},
		func() float64 { return float64(s.Security.ResentLines()) }))
	if s.Config.Demo {
		if err := seedDemoSecurity(ctx, s.Security, s.Log); err != nil {
			return fmt.Errorf("seed demo security data: %w", err)
		}
		go (&demoSimulator{svc: s.Security, log: s.Log, period: demoPeriod, notify: s.Engine.Notify}).run(ctx)
	}
	return nil
}
