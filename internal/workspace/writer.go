package workspace

import (
	"context"
	"errors"
	"fmt"

	"sluice/internal/latables"
	"sluice/internal/sink"
)

// HostedWriter writes rows into a workspace hosted by the Service; it is
// the Writer of the workspace sink for Workspace actions whose
// workspaceResourceId names such a workspace. It looks the workspace up on
// every write, so a deleted workspace fails permanently instead of being
// recreated.
type HostedWriter struct {
	Svc        *Service
	CustomerID string
}

// Writer returns the writer of a hosted workspace.
func (s *Service) Writer(customerID string) *HostedWriter {
	return &HostedWriter{Svc: s, CustomerID: customerID}
}

// WriteRows implements the workspace sink's Writer.
func (w *HostedWriter) WriteRows(ctx context.Context, table *latables.Table, rows []*latables.Row) error {
	if _, err := w.Svc.ByCustomerID(ctx, w.CustomerID); err != nil {
		if errors.Is(err, errNoWorkspace) {
			return sink.Permanent(fmt.Errorf("workspace %s no longer exists", w.CustomerID))
		}
		return sink.Retryable(err)
	}
	db, err := w.Svc.DB(w.CustomerID)
	if err != nil {
		return sink.Retryable(err)
	}
	if err := db.WriteRows(ctx, table, rows); err != nil {
		return sink.Retryable(err)
	}
	return nil
}
