// Package oidctest runs an OpenID Connect issuer for tests: it serves the
// discovery document and the JWKS over TLS, mints RS256 tokens with any
// claims, rotates its signing key and counts how often its keys are read.
// For browser sign-ins it also runs the authorization-code flow with PKCE
// (RFC 7636, S256 only): an authorization endpoint that approves a
// configured test user at once, and a token endpoint that checks the
// client, the redirect URI and the code verifier (see AddClient, SetUser).
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
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
	// discoveryReads counts reads of the discovery document.
	discoveryReads atomic.Int64

	flow flowState
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
		s.discoveryReads.Add(1)
		writeJSON(w, map[string]any{"issuer": s.Issuer, "jwks_uri": s.Issuer + "/keys",
			"authorization_endpoint": s.Issuer + "/authorize", "token_endpoint": s.Issuer + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"}, "response_types_supported": []string{"code", "id_token"},
			"grant_types_supported":                 []string{"authorization_code"},
			"code_challenge_methods_supported":      []string{"S256"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
			"subject_types_supported":               []string{"public"}})
	})
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
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

// DiscoveryReads is how many times the discovery document was fetched.
func (s *Server) DiscoveryReads() int64 { return s.discoveryReads.Load() }

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

// Client is an OAuth client registered with the test issuer for the
// authorization-code flow.
type Client struct {
	ID string
	// Secret, when set, must be presented at the token endpoint
	// (client_secret_basic or client_secret_post); empty is a public
	// client, authenticated by PKCE alone.
	Secret string
	// RedirectURIs are the exact redirect URIs the client may use.
	RedirectURIs []string
	// Audience is the aud of the access tokens issued to the client.
	Audience string
}

// codeGrant is an issued authorization code, usable once.
type codeGrant struct {
	client    string
	redirect  string
	challenge string
	nonce     string
	scope     string
	expires   time.Time
}

// flowState is the authorization-code flow's state, guarded by Server.mu.
type flowState struct {
	clients   map[string]Client
	user      map[string]any
	deny      string
	codes     map[string]*codeGrant
	last      url.Values
	tokenReqs int
}

// AddClient registers (or replaces) a client.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flow.clients == nil {
		s.flow.clients = map[string]Client{}
	}
	s.flow.clients[c.ID] = c
}

// SetUser sets the claims of the user the authorization endpoint approves
// (for example sub, oid, tid, name); they go into both the id token and
// the access token.
func (s *Server) SetUser(claims map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flow.user = maps.Clone(claims)
}

// Deny makes the authorization endpoint answer every request with the
// OAuth error code (for example access_denied) instead of a code; ""
// approves again.
func (s *Server) Deny(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flow.deny = code
}

// LastAuthorization returns the query of the latest authorization request.
func (s *Server) LastAuthorization() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.flow.last)
}

// TokenRequests is how many requests the token endpoint answered.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flow.tokenReqs
}

// authorize is the authorization endpoint. An unknown client or a
// redirect URI that is not registered gets an error page (never a
// redirect, RFC 6749 §4.1.2.1); other errors go back to the client.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.flow.last = maps.Clone(q)
	c, known := s.flow.clients[q.Get("client_id")]
	deny, user := s.flow.deny, s.flow.user
	s.mu.Unlock()
	if !known {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	redirect := q.Get("redirect_uri")
	if !slices.Contains(c.RedirectURIs, redirect) {
		http.Error(w, "redirect_uri is not registered for this client", http.StatusBadRequest)
		return
	}
	back := func(params url.Values) {
		u, _ := url.Parse(redirect)
		v := u.Query()
		for k, vs := range params {
			v[k] = vs
		}
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	fail := func(code, desc string) {
		back(url.Values{"error": {code}, "error_description": {desc}})
	}
	scopes := strings.Fields(q.Get("scope"))
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
	case !slices.Contains(scopes, "openid"):
		fail("invalid_scope", "the openid scope is required")
	case q.Get("code_challenge") == "":
		fail("invalid_request", "PKCE is required: code_challenge is missing")
	case q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
	case deny != "":
		fail(deny, "the test issuer was told to refuse")
	case user == nil:
		fail("access_denied", "no test user is configured (SetUser)")
	default:
		code := rand.Text()
		s.mu.Lock()
		if s.flow.codes == nil {
			s.flow.codes = map[string]*codeGrant{}
		}
		s.flow.codes[code] = &codeGrant{client: c.ID, redirect: redirect, challenge: q.Get("code_challenge"),
			nonce: q.Get("nonce"), scope: q.Get("scope"), expires: time.Now().Add(time.Minute)}
		s.mu.Unlock()
		back(url.Values{"code": {code}})
	}
}

// token is the token endpoint for grant_type=authorization_code.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.flow.tokenReqs++
	s.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the form cannot be read")
		return
	}
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if f.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code is supported")
		return
	}
	s.mu.Lock()
	c, known := s.flow.clients[id]
	g := s.flow.codes[f.Get("code")]
	delete(s.flow.codes, f.Get("code")) // a code is used at most once
	s.mu.Unlock()
	switch {
	case !known || c.Secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1:
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	case g == nil || time.Now().After(g.expires) || g.client != c.ID:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the authorization code is unknown, expired or already used")
		return
	case f.Get("redirect_uri") != g.redirect:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
		return
	case !verifierMatches(f.Get("code_verifier"), g.challenge):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the PKCE code_verifier is missing or does not match the code_challenge")
		return
	}
	s.mu.Lock()
	user := maps.Clone(s.flow.user)
	s.mu.Unlock()
	if user == nil {
		user = map[string]any{}
	}
	idClaims := maps.Clone(user)
	idClaims["aud"] = c.ID
	if g.nonce != "" {
		idClaims["nonce"] = g.nonce
	}
	accClaims := maps.Clone(user)
	accClaims["aud"] = c.Audience
	accClaims["scp"] = g.scope
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, map[string]any{"access_token": s.Token(accClaims), "token_type": "Bearer", "expires_in": 3600,
		"id_token": s.Token(idClaims), "scope": g.scope})
}

// verifierMatches checks a PKCE code verifier (RFC 7636 §4.1: 43 to 128
// unreserved characters) against an S256 challenge.
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, c := range verifier {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
