package logsingesttest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Authority is a Microsoft Entra ID stand-in for the client-credentials
// flow azidentity's ClientSecretCredential uses: the tenant's OpenID
// configuration and its token endpoint. Point the credential at it with
// AuthorityHost = URL and instance discovery disabled. Tokens are opaque;
// Verifier checks them for a Server.
type Authority struct {
	// URL is the authority host (https://127.0.0.1:port).
	URL string

	srv *httptest.Server

	mu      sync.Mutex
	clients map[string]string // tenant/clientID → secret
	tokens  map[string]grant
	issued  int
}

type grant struct {
	tenant, client, resource string
	expires                  time.Time
}

// NewAuthority starts an authority; Close stops it.
func NewAuthority() *Authority {
	a := &Authority{clients: map[string]string{}, tokens: map[string]grant{}}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	a.URL = a.srv.URL
	return a
}

// Close stops the authority.
func (a *Authority) Close() { a.srv.Close() }

// Client returns an HTTP client trusting the authority (and every other
// httptest TLS server).
func (a *Authority) Client() *http.Client { return a.srv.Client() }

// AddClient registers an application (service principal) of a tenant with
// its client secret.
func (a *Authority) AddClient(tenant, clientID, secret string) {
	a.mu.Lock()
	a.clients[strings.ToLower(tenant)+"/"+clientID] = secret
	a.mu.Unlock()
}

// Issued counts the tokens issued so far.
func (a *Authority) Issued() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.issued
}

// Verifier accepts tokens this authority issued for resource (e.g.
// "https://monitor.azure.com/") that have not expired; a rule with a
// Tenant accepts only tokens of that tenant (403 otherwise).
func (a *Authority) Verifier(resource string) Verifier {
	return func(token string, rule Rule) error {
		a.mu.Lock()
		g, ok := a.tokens[token]
		a.mu.Unlock()
		switch {
		case !ok || time.Now().After(g.expires):
			return &AuthError{Status: http.StatusUnauthorized, Code: "InvalidToken", Message: "The provided access token is not valid or has expired."}
		case strings.TrimRight(g.resource, "/") != strings.TrimRight(resource, "/"):
			return &AuthError{Status: http.StatusUnauthorized, Code: "InvalidAudience", Message: "The access token was issued for " + g.resource + "."}
		case rule.Tenant != "" && !strings.EqualFold(rule.Tenant, g.tenant):
			return &AuthError{Status: http.StatusForbidden, Code: "OperationFailed",
				Message: "The authentication token provided does not have access to ingest data for the data collection rule with immutable Id '" + rule.ImmutableID + "'."}
		}
		return nil
	}
}

func (a *Authority) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	tenant := parts[0]
	base := a.URL + "/" + tenant
	switch rest := strings.Join(parts[1:], "/"); {
	case rest == "v2.0/.well-known/openid-configuration" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                 base + "/v2.0",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"jwks_uri":               base + "/discovery/v2.0/keys",
			"tenant_region_scope":    "WW",
		})
	case rest == "oauth2/v2.0/token" && r.Method == http.MethodPost:
		a.token(w, r, tenant)
	default:
		http.NotFound(w, r)
	}
}

func (a *Authority) token(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: the request body is malformed.")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: only client_credentials is supported here.")
		return
	}
	client, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	a.mu.Lock()
	want, known := a.clients[strings.ToLower(tenant)+"/"+client]
	a.mu.Unlock()
	switch {
	case !known:
		oauthError(w, http.StatusBadRequest, "unauthorized_client",
			"AADSTS700016: Application with identifier '"+client+"' was not found in the directory '"+tenant+"'.")
		return
	case secret != want:
		oauthError(w, http.StatusUnauthorized, "invalid_client",
			"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		return
	}
	scope := r.PostForm.Get("scope")
	resource := strings.TrimSuffix(strings.Fields(scope + " x")[0], "/.default")
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	a.mu.Lock()
	a.tokens[tok] = grant{tenant: strings.ToLower(tenant), client: client, resource: resource, expires: time.Now().Add(time.Hour)}
	a.issued++
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc, "error_codes": []int{}, "timestamp": time.Now().UTC().Format(time.DateTime)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
