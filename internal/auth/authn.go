package auth

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"sluice/internal/armapi"
)

// Principal is the authenticated caller.
type Principal struct {
	TenantID string
	ObjectID string
	Name     string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller, or nil for an unauthenticated context.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Authenticator verifies bearer tokens from the built-in issuer.
type Authenticator struct {
	Issuer *Issuer
}

// Authenticate implements armapi.Authenticator.
func (a *Authenticator) Authenticate(r *http.Request) (context.Context, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, unauthorized("invalid_request", "AuthenticationFailed",
			"Authentication failed. The 'Authorization' header is missing.")
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, unauthorized("invalid_request", "InvalidAuthenticationToken",
			"Authentication failed. The 'Authorization' header is not a bearer token.")
	}
	c, err := a.Issuer.Verify(strings.TrimSpace(token))
	if err != nil {
		return nil, unauthorized("invalid_token", "InvalidAuthenticationToken",
			fmt.Sprintf("The access token is invalid: %v.", err))
	}
	return WithPrincipal(r.Context(), &Principal{TenantID: strings.ToLower(c.TenantID),
		ObjectID: strings.ToLower(c.ObjectID), Name: c.Name}), nil
}

func unauthorized(oauthErr, code, msg string) error {
	return &armapi.Error{Status: http.StatusUnauthorized, Code: code, Message: msg,
		Challenge: fmt.Sprintf(`Bearer error="%s", error_description="%s"`, oauthErr, strings.ReplaceAll(msg, `"`, "'"))}
}
