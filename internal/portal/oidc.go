package portal

// OIDCProvider is an external OpenID Connect issuer users can sign in
// with (authorization-code flow with PKCE).
type OIDCProvider struct {
	// Name is the provider's path segment and button label.
	Name string
	// Issuer is the issuer URL; its discovery document names the
	// authorization and token endpoints.
	Issuer   string
	ClientID string
	// Audience is the audience Sluice expects in the issuer's tokens.
	Audience string
	// ClientSecret is optional (public clients use PKCE alone).
	ClientSecret string
	// Scopes requested besides openid.
	Scopes []string
}

// oidcRoutes registers the sign-in routes of the external providers.
func (p *Portal) oidcRoutes() {}
