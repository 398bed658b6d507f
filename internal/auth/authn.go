package auth

import (
	"context"
	"errors"
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

// Authenticator verifies bearer tokens from the built-in issuer and from
// the external issuers tenants trust.
type Authenticator struct {
	Issuer   *Issuer
	External []*ExternalIssuer
	// RBAC, when set, is carried in the request context for handlers that
	// check permissions beyond their route's (AuthorizerFrom).
	RBAC *RBAC
}

type authzKey struct{}

// AuthorizerFrom returns the authorizer carried by an authenticated
// request's context, or nil.
func AuthorizerFrom(ctx context.Context) armapi.Authorizer {
	a, _ := ctx.Value(authzKey{}).(*RBAC)
	if a == nil {
		return nil
	}
	return a
}

// VerifyToken checks a bearer token from any trusted issuer and returns its
// principal.
func (a *Authenticator) VerifyToken(ctx context.Context, token string) (*Principal, error) {
	iss := issuerOf(token)
	if len(a.External) == 0 || iss == "" || iss == a.Issuer.Issuer() {
		c, err := a.Issuer.Verify(token)
		if err != nil {
			return nil, err
		}
		return &Principal{TenantID: strings.ToLower(c.TenantID), ObjectID: strings.ToLower(c.ObjectID), Name: c.Name}, nil
	}
	var firstErr error
	for _, e := range a.External {
		if e.Issuer != iss {
			continue
		}
		p, err := e.Verify(ctx, token)
		if err == nil {
			return p, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = errors.New("the token's issuer is not trusted")
	}
	return nil, firstErr
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
	p, err := a.VerifyToken(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return nil, unauthorized("invalid_token", "InvalidAuthenticationToken",
			fmt.Sprintf("The access token is invalid: %v.", err))
	}
	ctx := WithPrincipal(r.Context(), p)
	if a.RBAC != nil {
		ctx = context.WithValue(ctx, authzKey{}, a.RBAC)
	}
	if aux := r.Header.Get(HeaderAuxiliary); aux != "" {
		var ps []*Principal
		for _, part := range strings.Split(aux, ",") {
			scheme, tok, ok := strings.Cut(strings.TrimSpace(part), " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				return nil, unauthorized("invalid_request", "InvalidAuthenticationTokenAuxiliary",
					"Authentication failed. Each value of the 'x-ms-authorization-auxiliary' header must be a bearer token.")
			}
			ap, err := a.VerifyToken(r.Context(), strings.TrimSpace(tok))
			if err != nil {
				return nil, unauthorized("invalid_token", "InvalidAuthenticationTokenAuxiliary",
					fmt.Sprintf("An auxiliary access token is invalid: %v.", err))
			}
			ps = append(ps, ap)
		}
		ctx = context.WithValue(ctx, auxKey{}, ps)
	}
	return ctx, nil
}

// HeaderAuxiliary carries tokens of other tenants, as ARM takes them for
// operations that reach resources there.
const HeaderAuxiliary = "x-ms-authorization-auxiliary"

type auxKey struct{}

// AuxiliaryFrom returns the principals of the request's verified auxiliary
// tokens (other tenants), or nil.
func AuxiliaryFrom(ctx context.Context) []*Principal {
	ps, _ := ctx.Value(auxKey{}).([]*Principal)
	return ps
}

func unauthorized(oauthErr, code, msg string) error {
	return &armapi.Error{Status: http.StatusUnauthorized, Code: code, Message: msg,
		Challenge: fmt.Sprintf(`Bearer error="%s", error_description="%s"`, oauthErr, strings.ReplaceAll(msg, `"`, "'"))}
}
