// Package oidctest runs an OpenID Connect issuer for tests: it serves the
// discovery document and the JWKS over TLS, mints RS256 tokens with any
// claims, rotates its signing key and counts how often its keys are read.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

// Server is a running test issuer.
type Server struct {
	HTTP *httptest.Server
	// Issuer is the iss of minted tokens (the server's https URL).
	Issuer string

	mu        sync.Mutex
	current   signingKey
	published []signingKey
	jwksReads atomic.Int64
}

// New starts an issuer that stops with the test.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	k, err := newKey()
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	s.current, s.published = k, []signingKey{k}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"issuer": s.Issuer, "jwks_uri": s.Issuer + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"}, "response_types_supported": []string{"id_token"},
			"subject_types_supported": []string{"public"}})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		s.jwksReads.Add(1)
		s.mu.Lock()
		set := jose.JSONWebKeySet{}
		for _, k := range s.published {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.key.PublicKey, KeyID: k.kid, Algorithm: "RS256", Use: "sig"})
		}
		s.mu.Unlock()
		writeJSON(w, set)
	})
	s.HTTP = httptest.NewTLSServer(mux)
	s.Issuer = s.HTTP.URL
	t.Cleanup(s.HTTP.Close)
	return s
}

func newKey() (signingKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return signingKey{}, err
	}
	return signingKey{kid: uuid.NewString(), key: k}, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Client trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.HTTP.Client() }

// JWKSReads is how many times the key set was fetched.
func (s *Server) JWKSReads() int64 { return s.jwksReads.Load() }

// Rotate makes a new signing key current. With keepOld the old key stays
// published (a rollover); without, it is withdrawn.
func (s *Server) Rotate(keepOld bool) error {
	k, err := newKey()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if keepOld {
		s.published = append(s.published, k)
	} else {
		s.published = []signingKey{k}
	}
	s.current = k
	return nil
}

// Token mints a token signed with the current key: iss, iat, nbf and a
// one-hour exp are set unless claims override them.
func (s *Server) Token(claims map[string]any) string {
	s.mu.Lock()
	k := s.current
	s.mu.Unlock()
	return SignWith(k.key, k.kid, s.Issuer, claims)
}

// SignWith mints a token with any key (for "unknown key" tests); "" if the
// key cannot sign.
func SignWith(key *rsa.PrivateKey, kid, issuer string, claims map[string]any) string {
	if key == nil {
		return ""
	}
	now := time.Now()
	mc := jwt.MapClaims{"iss": issuer, "iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(mc, k)
			continue
		}
		mc[k] = v
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, mc)
	t.Header["kid"] = kid
	out, err := t.SignedString(key)
	if err != nil {
		return "" // a broken key: the empty token fails verification
	}
	return out
}
