package auth_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"sluice/internal/auth"
	"sluice/internal/server/servertest"
)

type jwk struct {
	Kty, Use, Alg, Kid, N, E string
}

func parseJWKS(t *testing.T, data []byte) jwk {
	t.Helper()
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatalf("JWKS %s: %v", data, err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	return set.Keys[0]
}

// publicKey rebuilds an RSA public key from a JWK's n and e.
func (k jwk) publicKey(t *testing.T) *rsa.PublicKey {
	t.Helper()
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil {
		t.Fatalf("JWK n: %v", err)
	}
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil {
		t.Fatalf("JWK e: %v", err)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
}

func TestIssuerKeyPersisted(t *testing.T) {
	dir := t.TempDir()
	first, err := auth.LoadOrCreateIssuer(dir, "", "")
	if err != nil {
		t.Fatalf("LoadOrCreateIssuer: %v", err)
	}
	if first.Issuer() != auth.DefaultIssuer || first.Audience() != auth.DefaultAudience {
		t.Errorf("defaults: iss %q aud %q", first.Issuer(), first.Audience())
	}
	path := filepath.Join(dir, "keys", "issuer.pem")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if dst, err := os.Stat(filepath.Dir(path)); err != nil || dst.Mode().Perm()&0o077 != 0 {
		t.Errorf("key directory mode %v (%v), want no group/other access", dst.Mode().Perm(), err)
	}
	pemBytes, _ := os.ReadFile(path)
	tok, err := first.Mint("t", "o", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	second, err := auth.LoadOrCreateIssuer(dir, "", "")
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !bytes.Equal(first.JWKS(), second.JWKS()) {
		t.Error("the reloaded issuer publishes another key")
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, pemBytes) {
		t.Error("reloading rewrote the key file")
	}
	if _, err := second.Verify(tok); err != nil {
		t.Errorf("a token minted before the reload is rejected after it: %v", err)
	}

	elsewhere, err := auth.LoadOrCreateIssuer(t.TempDir(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first.JWKS(), elsewhere.JWKS()) {
		t.Error("two data directories got the same key")
	}
	if _, err := elsewhere.Verify(tok); err == nil {
		t.Error("another data directory's issuer accepted the token")
	}
}

func TestIssuerBadKeyFiles(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	tests := map[string][]byte{
		"not_pem":     []byte("hello"),
		"bad_der":     pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
		"not_rsa_key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "keys", "issuer.pem")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := auth.LoadOrCreateIssuer(dir, "", ""); err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("LoadOrCreateIssuer with a bad key file: %v, want an error naming %s", err, path)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
				t.Error("a bad key file was overwritten (tokens issued with the old key would silently die)")
			}
		})
	}
}

func TestMintClaims(t *testing.T) {
	iss := auth.NewIssuer(foreignKey(t), "https://iss.example/", "https://aud.example/")
	before := time.Now().Truncate(time.Second)
	tok, err := iss.Mint("Tenant-1", "Object-1", "Ada", 90*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	key := parseJWKS(t, iss.JWKS())

	// Verify independently: the JWKS key, RS256 only.
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return key.publicKey(t), nil },
		jwt.WithValidMethods([]string{"RS256"}))
	if err != nil {
		t.Fatalf("the token does not verify with the published JWKS key: %v", err)
	}
	if parsed.Header["kid"] != key.Kid || parsed.Header["alg"] != "RS256" {
		t.Errorf("header %v, want kid %q alg RS256", parsed.Header, key.Kid)
	}
	if claims["iss"] != "https://iss.example/" || claims["tid"] != "Tenant-1" || claims["oid"] != "Object-1" || claims["name"] != "Ada" {
		t.Errorf("claims %v", claims)
	}
	aud, err := claims.GetAudience()
	if err != nil || len(aud) != 1 || aud[0] != "https://aud.example/" {
		t.Errorf("aud = %v (%v)", aud, err)
	}
	iat, err1 := claims.GetIssuedAt()
	exp, err2 := claims.GetExpirationTime()
	if err1 != nil || err2 != nil || iat == nil || exp == nil {
		t.Fatalf("iat %v exp %v (%v, %v)", iat, exp, err1, err2)
	}
	if iat.Before(before) || iat.After(time.Now()) {
		t.Errorf("iat %v is not now", iat)
	}
	if got := exp.Sub(iat.Time); got != 90*time.Minute {
		t.Errorf("exp - iat = %v, want 90m", got)
	}

	c, err := iss.Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.TenantID != "Tenant-1" || c.ObjectID != "Object-1" {
		t.Errorf("Verify claims %+v", c)
	}

	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := iss.Mint("t", "o", "", ttl); err == nil {
			t.Errorf("Mint with ttl %v succeeded", ttl)
		}
	}
}

func TestVerifyErrorsDoNotEchoTheToken(t *testing.T) {
	iss := auth.NewIssuer(foreignKey(t), auth.DefaultIssuer, auth.DefaultAudience)
	good, _ := iss.Mint("t", "o", "", time.Hour)
	other := auth.NewIssuer(foreignKey(t), "https://other/", auth.DefaultAudience)
	wrongIss, _ := other.Mint("t", "o", "", time.Hour)
	for _, tok := range []string{good + "x", wrongIss, "aaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbb.ccccccccccccccccc"} {
		_, err := iss.Verify(tok)
		if err == nil {
			t.Fatalf("Verify(%q) succeeded", tok)
		}
		for _, part := range strings.Split(tok, ".") {
			if len(part) > 8 && strings.Contains(err.Error(), part) {
				t.Errorf("error %q repeats part of the token", err)
			}
		}
	}
}

func TestDiscoveryDocuments(t *testing.T) {
	iss := auth.NewIssuer(foreignKey(t), "https://sluice.example/", auth.DefaultAudience)
	var d struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
		Claims  []string `json:"claims_supported"`
	}
	if err := json.Unmarshal(iss.Discovery("https://host:8443/"), &d); err != nil {
		t.Fatal(err)
	}
	if d.Issuer != "https://sluice.example/" || d.JWKSURI != "https://host:8443/.well-known/jwks.json" {
		t.Errorf("discovery = %+v", d)
	}
	if len(d.Algs) != 1 || d.Algs[0] != "RS256" {
		t.Errorf("algorithms = %v", d.Algs)
	}
	for _, c := range []string{"iss", "aud", "tid", "oid", "iat", "exp"} {
		if !strings.Contains(","+strings.Join(d.Claims, ",")+",", ","+c+",") {
			t.Errorf("claims_supported %v lacks %s", d.Claims, c)
		}
	}
	k := parseJWKS(t, iss.JWKS())
	if k.Kty != "RSA" || k.Use != "sig" || k.Alg != "RS256" || k.Kid == "" {
		t.Errorf("JWK = %+v", k)
	}
	if pub := k.publicKey(t); pub.N.Cmp(foreignKey(t).N) != 0 || pub.E != foreignKey(t).E {
		t.Error("the JWK's n/e are not the signing key's public key")
	}
}

// TestDiscoveryOverHTTP follows the server's discovery document to its JWKS
// and verifies the bootstrap token with the key found there.
func TestDiscoveryOverHTTP(t *testing.T) {
	env := servertest.New(t)
	resp, body := env.Do("GET", "/.well-known/openid-configuration", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("discovery: %d %s", resp.StatusCode, body)
	}
	var d struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Issuer != env.Server.Issuer.Issuer() {
		t.Errorf("issuer %q, want %q", d.Issuer, env.Server.Issuer.Issuer())
	}
	if !strings.HasPrefix(d.JWKSURI, env.URL+"/") {
		t.Fatalf("jwks_uri %q is not on the server %s", d.JWKSURI, env.URL)
	}
	resp, body = env.Do("GET", strings.TrimPrefix(d.JWKSURI, env.URL), "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("jwks: %d %s", resp.StatusCode, body)
	}
	key := parseJWKS(t, body)
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(env.Token, claims, func(*jwt.Token) (any, error) { return key.publicKey(t), nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(d.Issuer), jwt.WithAudience(env.Server.Issuer.Audience()))
	if err != nil {
		t.Fatalf("the bootstrap token does not verify with the published key: %v", err)
	}
	if tok.Header["kid"] != key.Kid {
		t.Errorf("token kid %v, JWKS kid %q", tok.Header["kid"], key.Kid)
	}
	if claims["tid"] != env.TenantID || claims["oid"] != env.AdminID {
		t.Errorf("claims %v, want tid %s oid %s", claims, env.TenantID, env.AdminID)
	}
}
