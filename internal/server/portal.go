package server

import (
	"context"
	"time"

	"errors"
	"fmt"
	"github.com/google/uuid"
	"net/http"

	"sluice/internal/auth"
	"sluice/internal/portal"
	"sluice/internal/store"
	"sluice/internal/users"
)

// AdminUser is the local user name of the bootstrap administrator.
const AdminUser = "admin"

// ensureAdminUser gives the bootstrap administrator a local user with a
// random password the first time the server starts (or the first time
// after an upgrade); the password is returned once to be printed, and is
// empty when the user already existed.
func (s *Server) ensureAdminUser(ctx context.Context) (string, error) {
	_, err := users.Get(ctx, s.Store, AdminUser)
	if err == nil {
		return "", nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	pw, err := users.NewPassword()
	if err != nil {
		return "", err
	}
	iter := s.Config.Auth.PasswordIterations
	if iter == 0 {
		iter = users.Iterations
	}
	h, err := users.HashN(pw, iter)
	if err != nil {
		return "", err
	}
	u := &users.User{Name: AdminUser, TenantID: s.Bootstrap.TenantID, ObjectID: s.Bootstrap.AdminID,
		DisplayName: "Bootstrap Administrator", Hash: h}
	if err := s.Store.Update(ctx, func(tx store.Tx) error { return users.Put(ctx, tx, u) }); err != nil {
		return "", fmt.Errorf("create the administrator's local user: %w", err)
	}
	return pw, nil
}

// initPortal builds the web portal and mounts it on mux.
func (s *Server) initPortal(ctx context.Context, mux *http.ServeMux) error {
	pw, err := s.ensureAdminUser(ctx)
	if err != nil {
		return err
	}
	s.InitialPassword = pw
	authn, _ := s.Router.Authn.(*auth.Authenticator)
	p := &portal.Portal{
		API:    http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }),
		Issuer: s.Issuer,
		Verify: func(r *http.Request, token string) (*auth.Principal, error) {
			return authn.VerifyToken(r.Context(), token)
		},
		Users: &users.Service{Store: s.Store},
		OnSignIn: func(r *http.Request, pr *auth.Principal) {
			s.auditSignIn(r, pr)
		},
		Log: s.Log.With("component", "portal"),
	}
	for _, x := range s.Config.Auth.ExternalIssuers {
		if x.ClientID == "" {
			continue
		}
		p.OIDC = append(p.OIDC, &portal.OIDCProvider{Name: x.Name, Issuer: x.Issuer, ClientID: x.ClientID,
			ClientSecret: x.ClientSecret, Scopes: x.Scopes, Audience: x.Audience, Client: s.outboundClient()})
	}
	if err := p.Init(); err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	p.Register(mux)
	s.Portal = p
	return nil
}

// auditSignIn records a portal sign-in in the audit log of the user's
// tenant (the portal's own pages are not audited request by request: the
// API calls they make are, under the signed-in user).
func (s *Server) auditSignIn(r *http.Request, pr *auth.Principal) {
	e := &AuditEntry{ID: uuid.Must(uuid.NewV7()).String(), Time: time.Now().UTC(), Method: r.Method,
		Path: r.URL.Path, Status: http.StatusSeeOther, TenantID: pr.TenantID, PrincipalID: pr.ObjectID,
		ClientIP: clientIP(r)}
	if err := s.writeAudit(context.WithoutCancel(r.Context()), e); err != nil {
		s.Log.Error("write audit entry", "method", e.Method, "path", e.Path, "err", err)
	}
}
