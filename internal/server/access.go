package server

import (
	"context"

	"sluice/internal/auth"
)

// initAccess registers the access-control routes: role definitions and
// role assignments (Microsoft.Authorization), service principals
// (Sluice.Identity) and the client-credentials token endpoint.
func (s *Server) initAccess(ctx context.Context) error {
	(&auth.Handlers{Store: s.Store, Resolver: s.Estate}).Register(s.Router)
	(&auth.Identity{Store: s.Store, Issuer: s.Issuer}).Register(s.Router)
	return nil
}
