package server

import (
	"context"

	"sluice/internal/auth"
)

// initAccess registers the access-control routes: role definitions and
// role assignments (Microsoft.Authorization).
func (s *Server) initAccess(ctx context.Context) error {
	(&auth.Handlers{Store: s.Store, Resolver: s.Estate}).Register(s.Router)
	return nil
}
