// Package auth issues and verifies bearer tokens, carries the calling
// principal in the request context, and decides permissions from role
// assignments at ARM scopes.
package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Defaults for the built-in issuer.
const (
	DefaultIssuer   = "https://sluice.local/"
	DefaultAudience = "https://management.sluice.local/"
	// ClockSkew is the leeway allowed on exp, nbf and iat.
	ClockSkew = 2 * time.Minute
)

// Claims are the token claims Sluice issues and reads.
type Claims struct {
	jwt.RegisteredClaims
	TenantID string `json:"tid"`
	ObjectID string `json:"oid"`
	Name     string `json:"name,omitempty"`
	AppID    string `json:"appid,omitempty"`
}

// Issuer is the built-in token issuer: an RSA key kept in the data
// directory, with a fixed issuer and audience.
type Issuer struct {
	key      *rsa.PrivateKey
	kid      string
	issuer   string
	audience string
	now      func() time.Time
}

// LoadOrCreateIssuer reads the signing key from dir/keys/issuer.pem,
// creating it (mode 0600) on first use.
func LoadOrCreateIssuer(dir, issuer, audience string) (*Issuer, error) {
	if issuer == "" {
		issuer = DefaultIssuer
	}
	if audience == "" {
		audience = DefaultAudience
	}
	path := filepath.Join(dir, "keys", "issuer.pem")
	key, err := readKey(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err = createKey(path)
	}
	if err != nil {
		return nil, err
	}
	return NewIssuer(key, issuer, audience), nil
}

// NewIssuer builds an issuer around an existing key.
func NewIssuer(key *rsa.PrivateKey, issuer, audience string) *Issuer {
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(der)
	return &Issuer{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:16]), issuer: issuer,
		audience: audience, now: time.Now}
}

func readKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("issuer key %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("issuer key %s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("issuer key %s: not an RSA key", path)
	}
	return rk, nil
}

func createKey(path string) (*rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate issuer key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("write issuer key: %w", err)
	}
	return key, nil
}

// writeFileAtomic writes data to a temporary file, syncs it and renames it
// into place, so a crash never leaves a half-written file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Issuer returns the iss value of issued tokens.
func (i *Issuer) Issuer() string { return i.issuer }

// Audience returns the aud value of issued tokens.
func (i *Issuer) Audience() string { return i.audience }

// Mint signs a token for a principal of a tenant valid for ttl.
func (i *Issuer) Mint(tenant, objectID, name string, ttl time.Duration) (string, error) {
	return i.MintApp(tenant, objectID, name, "", ttl)
}

// MintApp signs a token for an application (appid claim set) or, with an
// empty appID, a user.
func (i *Issuer) MintApp(tenant, objectID, name, appID string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("token lifetime must be positive, got %s", ttl)
	}
	now := i.now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Subject:   objectID,
			Audience:  jwt.ClaimStrings{i.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        uuid.NewString(),
		},
		TenantID: tenant, ObjectID: objectID, Name: name, AppID: appID,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = i.kid
	return t.SignedString(i.key)
}

// Verify checks a token's signature, issuer, audience and times and returns
// its claims. The error says what is wrong without echoing the token.
func (i *Issuer) Verify(token string) (*Claims, error) {
	var c Claims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(i.issuer),
		jwt.WithLeeway(ClockSkew),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(i.now),
	)
	_, err := parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != "" && kid != i.kid {
			return nil, fmt.Errorf("unknown signing key %q", kid)
		}
		return &i.key.PublicKey, nil
	})
	if err != nil {
		return nil, describe(err)
	}
	if !audienceMatches(c.Audience, i.audience) {
		return nil, errors.New("the token's audience is not accepted by this server")
	}
	if c.TenantID == "" || c.ObjectID == "" {
		return nil, errors.New("the token has no tid or oid claim")
	}
	return &c, nil
}

func audienceMatches(got jwt.ClaimStrings, want string) bool {
	w := strings.TrimSuffix(want, "/")
	for _, a := range got {
		if strings.EqualFold(strings.TrimSuffix(a, "/"), w) {
			return true
		}
	}
	return false
}

func describe(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return errors.New("the token is expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return errors.New("the token is not valid yet")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return errors.New("the token's signature is invalid")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return errors.New("the token's issuer is not trusted")
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errors.New("the token is malformed")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return errors.New("the token lacks a required claim")
	}
	return fmt.Errorf("the token is invalid: %w", err)
}

// JWKS returns the JSON Web Key Set publishing the verification key.
func (i *Issuer) JWKS() []byte {
	pub := i.key.PublicKey
	key := map[string]any{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": i.kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
	out, _ := json.Marshal(map[string]any{"keys": []any{key}})
	return out
}

// Discovery returns the OpenID Connect discovery document; base is the
// server's external https URL.
func (i *Issuer) Discovery(base string) []byte {
	base = strings.TrimSuffix(base, "/")
	out, _ := json.Marshal(map[string]any{
		"issuer":                                i.issuer,
		"jwks_uri":                              base + "/.well-known/jwks.json",
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"public"},
		"claims_supported":                      []string{"iss", "aud", "tid", "oid", "iat", "exp", "nbf", "sub", "name"},
	})
	return out
}

// Signer exposes the signing key for components that mint their own tokens
// (for example, sinks authenticating as Sluice's service identity).
func (i *Issuer) Signer() crypto.Signer { return i.key }
