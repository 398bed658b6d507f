package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"sluice/internal/armid"
	"sluice/internal/auth"
)

// initAccess registers the access-control routes: role definitions and
// role assignments (Microsoft.Authorization), service principals
// (Sluice.Identity) and the client-credentials token endpoint; and trusts
// the configured external OpenID Connect issuers.
func (s *Server) initAccess(ctx context.Context) error {
	authn := &auth.Authenticator{Issuer: s.Issuer, RBAC: s.RBAC}
	for i, x := range s.Config.Auth.ExternalIssuers {
		if !armid.IsGUID(x.TenantID) || x.Audience == "" {
			return fmt.Errorf("auth.externalIssuers[%d]: tenantId must be a GUID and audience set", i)
		}
		for _, raw := range []string{x.Issuer, x.JWKSURL} {
			if u, err := url.Parse(raw); raw == x.Issuer && (err != nil || u.Scheme != "https" || u.Host == "") ||
				raw != "" && (err != nil || u.Scheme != "https") {
				return fmt.Errorf("auth.externalIssuers[%d]: issuer and jwksURL must be https URLs", i)
			}
		}
		authn.External = append(authn.External, &auth.ExternalIssuer{TenantID: x.TenantID, Issuer: x.Issuer,
			Audience: x.Audience, JWKSURL: x.JWKSURL, Client: s.outboundClient()})
	}
	s.Router.Authn = authn
	(&auth.Handlers{Store: s.Store, Resolver: s.Estate}).Register(s.Router)
	(&auth.Identity{Store: s.Store, Issuer: s.Issuer}).Register(s.Router)
	return nil
}

// outboundClient is an HTTPS client for Sluice's own requests to identity
// providers: it trusts the system roots plus export.caBundle (s.caPool),
// with a 10 s timeout.
func (s *Server) outboundClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{RootCAs: s.caPool, MinVersion: tls.VersionTLS12},
	}}
}
