package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// External refetch policy: keys are refreshed at least every KeyCacheTTL,
// and an unknown kid triggers a refetch at most once per MinRefetch.
const (
	KeyCacheTTL = 24 * time.Hour
	MinRefetch  = 30 * time.Second
)

// ExternalIssuer verifies tokens of an external OpenID Connect issuer
// trusted by one tenant.
type ExternalIssuer struct {
	TenantID string
	Issuer   string
	Audience string
	// JWKSURL is where the keys are; empty means the jwks_uri of
	// Issuer/.well-known/openid-configuration.
	JWKSURL string
	// Client fetches discovery and keys (a 10 s timeout client when nil).
	Client *http.Client
	// MinRefetch bounds refetches for unknown kids (MinRefetch when 0).
	MinRefetch time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu        sync.Mutex
	keys      map[string]any
	fetched   time.Time
	attempted time.Time
	jwksURL   string
}

// Claims of an external token that Sluice reads.
type externalClaims struct {
	jwt.RegisteredClaims
	TenantID string `json:"tid"`
	ObjectID string `json:"oid"`
	Name     string `json:"name"`
}

func (e *ExternalIssuer) clock() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *ExternalIssuer) client() *http.Client {
	if e.Client != nil {
		return e.Client
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (e *ExternalIssuer) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := e.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// refresh fetches the key set (and, first, the discovery document).
func (e *ExternalIssuer) refresh(ctx context.Context) error {
	e.attempted = e.clock()
	if e.jwksURL == "" {
		e.jwksURL = e.JWKSURL
	}
	if e.jwksURL == "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := e.getJSON(ctx, strings.TrimSuffix(e.Issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			return fmt.Errorf("openid discovery of %s: %w", e.Issuer, err)
		}
		if doc.Issuer != e.Issuer || doc.JWKSURI == "" {
			return fmt.Errorf("openid discovery of %s: issuer %q, jwks_uri %q", e.Issuer, doc.Issuer, doc.JWKSURI)
		}
		e.jwksURL = doc.JWKSURI
	}
	var set jose.JSONWebKeySet
	if err := e.getJSON(ctx, e.jwksURL, &set); err != nil {
		return fmt.Errorf("keys of %s: %w", e.Issuer, err)
	}
	keys := map[string]any{}
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.IsPublic() && k.Valid() {
			keys[k.KeyID] = k.Key
		}
	}
	e.keys, e.fetched = keys, e.clock()
	return nil
}

// key returns the verification key for kid, refetching the key set when
// it is stale or (rate-limited) when the kid is unknown.
func (e *ExternalIssuer) key(ctx context.Context, kid string) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock()
	minRe := e.MinRefetch
	if minRe <= 0 {
		minRe = MinRefetch
	}
	stale := e.keys == nil || now.Sub(e.fetched) > KeyCacheTTL
	if _, known := e.keys[kid]; stale || !known {
		if e.attempted.IsZero() || now.Sub(e.attempted) >= minRe {
			if err := e.refresh(ctx); err != nil && e.keys == nil {
				return nil, err
			}
		}
	}
	if k, ok := e.keys[kid]; ok {
		return k, nil
	}
	if kid == "" && len(e.keys) == 1 {
		for _, k := range e.keys {
			return k, nil
		}
	}
	return nil, fmt.Errorf("unknown signing key %q", kid)
}

// Verify checks an external token and returns the principal it names.
func (e *ExternalIssuer) Verify(ctx context.Context, token string) (*Principal, error) {
	var c externalClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384"}),
		jwt.WithIssuer(e.Issuer),
		jwt.WithLeeway(ClockSkew),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(e.clock),
	)
	var keyErr error
	_, err := parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, err := e.key(ctx, kid)
		keyErr = err
		return k, err
	})
	if err != nil {
		if keyErr != nil {
			return nil, keyErr
		}
		return nil, describe(err)
	}
	if !audienceMatches(c.Audience, e.Audience) {
		return nil, errors.New("the token's audience is not accepted by this server")
	}
	if c.TenantID != "" && !strings.EqualFold(c.TenantID, e.TenantID) {
		return nil, fmt.Errorf("the token's tenant %q is not the tenant %q that trusts its issuer", c.TenantID, e.TenantID)
	}
	oid := c.ObjectID
	if oid == "" {
		oid = c.Subject
	}
	if oid == "" {
		return nil, errors.New("the token has no oid or sub claim")
	}
	return &Principal{TenantID: strings.ToLower(e.TenantID), ObjectID: strings.ToLower(oid), Name: c.Name}, nil
}

// issuerOf reads the iss claim of a token without verifying it (to pick
// the verifier).
func issuerOf(token string) string {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return ""
	}
	return c.Issuer
}
