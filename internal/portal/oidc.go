package portal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"

	"sluice/internal/armapi"
	"sluice/internal/auth"
)

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
	// Client makes the discovery and token requests (the system's trust
	// store and a 10 s timeout when nil).
	Client *http.Client

	mu    sync.Mutex
	doc   *discovery
	docAt time.Time
	// used holds the states of callbacks already answered, until their
	// flow would have expired anyway: a callback is handled once.
	used map[string]time.Time
}

// The external sign-in's limits.
const (
	// oidcCookie keeps a sign-in in progress (state, nonce, PKCE verifier,
	// where to go next), sealed with AES-GCM.
	oidcCookie = "__Host-sluice_oidc"
	// oidcFlowTTL is how long a started sign-in may take.
	oidcFlowTTL = 10 * time.Minute
	// discoveryTTL is how long a provider's discovery document is reused.
	discoveryTTL = time.Hour
	// oidcTimeout bounds each request to a provider.
	oidcTimeout = 10 * time.Second
	// maxUsedStates bounds the replay memory of each provider.
	maxUsedStates = 10000
)

// discovery is the part of an OpenID Provider's metadata the sign-in uses.
type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
}

// oidcFlow is a sign-in in progress, kept in the oidcCookie.
type oidcFlow struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Redirect string `json:"r"`
	Next     string `json:"x"`
	Expires  int64  `json:"e"`
}

// oidcRoutes registers the sign-in routes of the external providers.
func (p *Portal) oidcRoutes() {
	p.mux.HandleFunc("GET "+Prefix+"oidc/{name}/start", p.oidcStart)
	p.mux.HandleFunc("GET "+Prefix+"oidc/{name}/callback", p.oidcCallback)
}

func (p *Portal) provider(name string) *OIDCProvider {
	for _, o := range p.OIDC {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// oidcFail answers a failed external sign-in with the sign-in page and a
// message saying what went wrong. It never sets a session.
func (p *Portal) oidcFail(w http.ResponseWriter, r *http.Request, status int, next, msg string) {
	p.render(w, r, status, "login", &View{Title: "Sign in", Flash: msg, Error: true,
		Data: &loginData{Next: safeNext(next), Providers: p.OIDC}})
}

// oidcStart begins a sign-in: it creates state, nonce and a PKCE code
// verifier, seals them into the oidcCookie and sends the browser to the
// provider's authorization endpoint.
func (p *Portal) oidcStart(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	prov := p.provider(r.PathValue("name"))
	if prov == nil {
		p.oidcFail(w, r, http.StatusNotFound, next, fmt.Sprintf("There is no sign-in provider named %q.", r.PathValue("name")))
		return
	}
	doc, err := prov.discover(r.Context(), p.Now())
	if err != nil {
		p.Log.Warn("portal external sign-in: discovery", "provider", prov.Name, "err", err)
		p.oidcFail(w, r, http.StatusBadGateway, next, fmt.Sprintf("The sign-in service %s cannot be used right now: %v.", prov.Name, err))
		return
	}
	f := &oidcFlow{Provider: prov.Name, State: rand.Text(), Nonce: rand.Text(), Verifier: rand.Text() + rand.Text(),
		Redirect: armapi.BaseURL(r) + Prefix + "oidc/" + url.PathEscape(prov.Name) + "/callback",
		Next:     next, Expires: p.Now().Add(oidcFlowTTL).Unix()}
	sealed, err := p.sealFlow(f)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	authz, err := url.Parse(doc.AuthorizationEndpoint)
	if err != nil {
		p.oidcFail(w, r, http.StatusBadGateway, next, fmt.Sprintf("The sign-in service %s names an invalid authorization endpoint.", prov.Name))
		return
	}
	sum := sha256.Sum256([]byte(f.Verifier))
	q := authz.Query()
	q.Set("response_type", "code")
	q.Set("client_id", prov.ClientID)
	q.Set("redirect_uri", f.Redirect)
	q.Set("scope", strings.Join(prov.scopes(), " "))
	q.Set("state", f.State)
	q.Set("nonce", f.Nonce)
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	q.Set("code_challenge_method", "S256")
	authz.RawQuery = q.Encode()
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: sealed, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(oidcFlowTTL.Seconds())})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authz.String(), http.StatusFound)
}

// oidcCallback finishes a sign-in: it checks the state against the
// oidcCookie, exchanges the code (with the PKCE verifier) at the token
// endpoint, checks the id token's nonce, and signs the user in with the
// provider's token that Sluice's API accepts.
func (p *Portal) oidcCallback(w http.ResponseWriter, r *http.Request) {
	// Whatever happens, this sign-in attempt is over.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	prov := p.provider(r.PathValue("name"))
	if prov == nil {
		p.oidcFail(w, r, http.StatusNotFound, Prefix, fmt.Sprintf("There is no sign-in provider named %q.", r.PathValue("name")))
		return
	}
	q := r.URL.Query()
	now := p.Now()
	refuse := func(status int, next, reason, msg string) {
		p.Log.Info("portal external sign-in refused", "provider", prov.Name, "reason", reason)
		p.oidcFail(w, r, status, next, msg)
	}
	c, err := r.Cookie(oidcCookie)
	if err != nil || c.Value == "" {
		refuse(http.StatusBadRequest, Prefix, "no flow cookie",
			"The sign-in could not be completed: it was not started in this browser, or took longer than 10 minutes. Start it again.")
		return
	}
	f, err := p.openFlow(c.Value)
	if err != nil || f.Provider != prov.Name {
		refuse(http.StatusBadRequest, Prefix, "flow cookie not valid",
			"The sign-in could not be completed: its state cannot be verified. Start it again.")
		return
	}
	exp := time.Unix(f.Expires, 0)
	if now.After(exp) {
		refuse(http.StatusBadRequest, f.Next, "flow expired",
			"The sign-in took longer than 10 minutes. Start it again.")
		return
	}
	if st := q.Get("state"); st == "" || subtle.ConstantTimeCompare([]byte(st), []byte(f.State)) != 1 {
		refuse(http.StatusBadRequest, f.Next, "state mismatch",
			"The sign-in could not be completed: the answer of "+prov.Name+" does not belong to the sign-in started in this browser. Start it again.")
		return
	}
	if !prov.consume(f.State, exp, now) {
		refuse(http.StatusBadRequest, f.Next, "callback replayed",
			"This sign-in answer was already used. Start the sign-in again.")
		return
	}
	if e := q.Get("error"); e != "" {
		msg := fmt.Sprintf("%s refused the sign-in (%s)", prov.Name, printable(e, 64))
		if d := printable(q.Get("error_description"), 300); d != "" {
			msg += ": " + d
		}
		refuse(http.StatusUnauthorized, f.Next, "provider error "+printable(e, 64), msg+".")
		return
	}
	code := q.Get("code")
	if code == "" {
		refuse(http.StatusBadRequest, f.Next, "no code", "The answer of "+prov.Name+" carries no authorization code. Start the sign-in again.")
		return
	}
	doc, err := prov.discover(r.Context(), now)
	if err != nil {
		p.Log.Warn("portal external sign-in: discovery", "provider", prov.Name, "err", err)
		p.oidcFail(w, r, http.StatusBadGateway, f.Next, fmt.Sprintf("The sign-in service %s cannot be used right now: %v.", prov.Name, err))
		return
	}
	tr, err := prov.exchange(r.Context(), doc, code, f)
	if err != nil {
		var oe *oauthError
		if errors.As(err, &oe) {
			refuse(http.StatusUnauthorized, f.Next, "token endpoint: "+oe.Code,
				fmt.Sprintf("%s refused to complete the sign-in: %s.", prov.Name, oe))
			return
		}
		p.Log.Warn("portal external sign-in: token request", "provider", prov.Name, "err", err)
		p.oidcFail(w, r, http.StatusBadGateway, f.Next, fmt.Sprintf("The sign-in service %s cannot be used right now: %v.", prov.Name, err))
		return
	}
	if err := prov.checkIDToken(tr.IDToken, f.Nonce, now); err != nil {
		refuse(http.StatusUnauthorized, f.Next, "id token: "+err.Error(),
			fmt.Sprintf("The sign-in with %s failed: %v.", prov.Name, err))
		return
	}
	tok, pr, until, err := p.sessionToken(r, prov, tr, now)
	if err != nil {
		refuse(http.StatusForbidden, f.Next, "no accepted token: "+err.Error(),
			fmt.Sprintf("Sluice does not accept the tokens of %s: %v.", prov.Name, err))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: tok, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(until.Sub(now).Seconds())})
	p.Log.Info("portal sign-in", "provider", prov.Name, "tenant", pr.TenantID, "objectId", pr.ObjectID)
	p.signedIn(r, pr)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, safeNext(f.Next), http.StatusSeeOther)
}

func (o *OIDCProvider) scopes() []string {
	s := []string{"openid"}
	for _, x := range o.Scopes {
		if x != "" && !slices.Contains(s, x) {
			s = append(s, x)
		}
	}
	return s
}

func (o *OIDCProvider) client() *http.Client {
	if o.Client != nil {
		return o.Client
	}
	return &http.Client{Timeout: oidcTimeout}
}

// discover returns the provider's discovery document, fetched at most once
// an hour (failures are not kept: the next sign-in tries again).
func (o *OIDCProvider) discover(ctx context.Context, now time.Time) (*discovery, error) {
	o.mu.Lock()
	doc, at := o.doc, o.docAt
	o.mu.Unlock()
	if doc != nil && now.Sub(at) < discoveryTTL {
		return doc, nil
	}
	ctx, cancel := context.WithTimeout(ctx, oidcTimeout)
	defer cancel()
	u := strings.TrimSuffix(o.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("discovery: GET %s answered %d", u, resp.StatusCode)
	}
	var d discovery
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&d); err != nil {
		return nil, fmt.Errorf("discovery: decode %s: %w", u, err)
	}
	switch {
	case d.Issuer != o.Issuer:
		return nil, fmt.Errorf("discovery: the document names the issuer %q, not %q", d.Issuer, o.Issuer)
	case !isHTTPS(d.AuthorizationEndpoint) || !isHTTPS(d.TokenEndpoint):
		return nil, errors.New("discovery: authorization_endpoint and token_endpoint must be https URLs")
	case len(d.CodeChallengeMethods) > 0 && !slices.Contains(d.CodeChallengeMethods, "S256"):
		return nil, errors.New("discovery: the provider does not support PKCE with S256")
	}
	o.mu.Lock()
	o.doc, o.docAt = &d, now
	o.mu.Unlock()
	return &d, nil
}

func isHTTPS(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

// consume records that the callback of a flow was answered; false when it
// already was.
func (o *OIDCProvider) consume(state string, exp, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, done := o.used[state]; done {
		return false
	}
	if o.used == nil {
		o.used = map[string]time.Time{}
	}
	if len(o.used) >= maxUsedStates {
		var oldest string
		var oldestExp time.Time
		for s, e := range o.used {
			if !now.Before(e) {
				delete(o.used, s)
			} else if oldest == "" || e.Before(oldestExp) {
				oldest, oldestExp = s, e
			}
		}
		if len(o.used) >= maxUsedStates {
			// A flood of sign-ins: forget the oldest. Its code is single-use
			// at the provider, and its cookie expires soon.
			delete(o.used, oldest)
		}
	}
	o.used[state] = exp
	return true
}

// tokenAnswer is the token endpoint's answer.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
	TokenType   string `json:"token_type"`
}

// oauthError is an error answer of the token endpoint (RFC 6749 §5.2).
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *oauthError) Error() string {
	s := printable(e.Code, 64)
	if d := printable(e.Description, 300); d != "" {
		s += ": " + d
	}
	return s
}

// exchange redeems an authorization code with the flow's PKCE verifier.
// A configured client secret goes in HTTP Basic authentication unless the
// provider supports only client_secret_post.
func (o *OIDCProvider) exchange(ctx context.Context, d *discovery, code string, f *oidcFlow) (*tokenAnswer, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.Redirect},
		"code_verifier": {f.Verifier}, "client_id": {o.ClientID}}
	basic := o.ClientSecret != "" && (len(d.TokenAuthMethods) == 0 || slices.Contains(d.TokenAuthMethods, "client_secret_basic"))
	if o.ClientSecret != "" && !basic {
		form.Set("client_secret", o.ClientSecret)
	}
	ctx, cancel := context.WithTimeout(ctx, oidcTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		req.SetBasicAuth(url.QueryEscape(o.ClientID), url.QueryEscape(o.ClientSecret))
	}
	resp, err := o.client().Do(req)
	if err != nil {
		// The error names the endpoint, never the form (code, verifier, secret).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("token request to %s: %w", d.TokenEndpoint, err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, 1<<20)
	if resp.StatusCode != http.StatusOK {
		var oe oauthError
		if json.NewDecoder(body).Decode(&oe) == nil && oe.Code != "" {
			return nil, &oe
		}
		return nil, fmt.Errorf("token request to %s: status %d", d.TokenEndpoint, resp.StatusCode)
	}
	var t tokenAnswer
	if err := json.NewDecoder(body).Decode(&t); err != nil {
		return nil, fmt.Errorf("token answer of %s: %w", d.TokenEndpoint, err)
	}
	return &t, nil
}

// idClaims are the id token claims the sign-in checks.
type idClaims struct {
	jwt.RegisteredClaims
	Nonce string `json:"nonce"`
}

// checkIDToken checks the id token of the token answer: issuer, audience
// (the client id), lifetime and nonce. It came straight from the token
// endpoint over TLS, which authenticates the provider (OpenID Connect Core
// §3.1.3.7); the token that becomes the session is verified in full, keys
// and all, by the API's authenticator.
func (o *OIDCProvider) checkIDToken(raw string, nonce string, now time.Time) error {
	if raw == "" {
		return errors.New("the provider returned no id_token")
	}
	var c idClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err != nil {
		return errors.New("the id_token is malformed")
	}
	switch {
	case c.Issuer != o.Issuer:
		return fmt.Errorf("the id_token was issued by %q, not %q", printable(c.Issuer, 200), o.Issuer)
	case !slices.Contains([]string(c.Audience), o.ClientID):
		return errors.New("the id_token is not meant for this client")
	case c.ExpiresAt == nil || now.After(c.ExpiresAt.Add(auth.ClockSkew)):
		return errors.New("the id_token is expired")
	case c.Nonce == "" || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1:
		return errors.New("the id_token's nonce does not match this sign-in")
	}
	return nil
}

// sessionToken picks the provider's token that becomes the session: the
// access token, or else the id token, whichever the API's authenticator
// accepts (issuer, audience, keys, tenant). The session lasts as long as
// the token.
func (p *Portal) sessionToken(r *http.Request, o *OIDCProvider, t *tokenAnswer, now time.Time) (string, *auth.Principal, time.Time, error) {
	var firstErr error
	for _, c := range []struct{ name, tok string }{{"access token", t.AccessToken}, {"id token", t.IDToken}} {
		if c.tok == "" {
			continue
		}
		var rc jwt.RegisteredClaims
		if _, _, err := jwt.NewParser().ParseUnverified(c.tok, &rc); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("its %s is not a JWT", c.name)
			}
			continue
		}
		if rc.Issuer != o.Issuer {
			if firstErr == nil {
				firstErr = fmt.Errorf("its %s was issued by %q", c.name, printable(rc.Issuer, 200))
			}
			continue
		}
		pr, err := p.Verify(r, c.tok)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("its %s is refused (%v); the audience must be %s", c.name, err, o.Audience)
			}
			continue
		}
		if rc.ExpiresAt == nil || !rc.ExpiresAt.After(now) {
			if firstErr == nil {
				firstErr = fmt.Errorf("its %s is expired", c.name)
			}
			continue
		}
		return c.tok, pr, rc.ExpiresAt.Time, nil
	}
	if firstErr == nil {
		firstErr = errors.New("the provider returned no token")
	}
	return "", nil, time.Time{}, firstErr
}

// flowAEAD seals the oidcCookie. Its key is derived (HKDF-SHA256) from the
// built-in issuer's RSA signing key, so it needs no storage of its own and
// cookies stay valid across restarts.
func (p *Portal) flowAEAD() (cipher.AEAD, error) {
	if p.Issuer == nil {
		return nil, errors.New("external sign-in needs the built-in issuer's key")
	}
	k, ok := p.Issuer.Signer().(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("external sign-in needs an RSA issuer key")
	}
	key, err := hkdf.Key(sha256.New, k.D.Bytes(), nil, "sluice portal oidc flow cookie v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive the sign-in cookie key: %w", err)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func (p *Portal) sealFlow(f *oidcFlow) (string, error) {
	a, err := p.flowAEAD()
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, a.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(a.Seal(nonce, nonce, plain, []byte(oidcCookie))), nil
}

func (p *Portal) openFlow(v string) (*oidcFlow, error) {
	a, err := p.flowAEAD()
	if err != nil {
		return nil, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) < a.NonceSize() {
		return nil, errors.New("malformed sign-in cookie")
	}
	plain, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], []byte(oidcCookie))
	if err != nil {
		return nil, errors.New("the sign-in cookie does not verify")
	}
	var f oidcFlow
	if err := json.Unmarshal(plain, &f); err != nil {
		return nil, errors.New("malformed sign-in cookie")
	}
	return &f, nil
}

// printable cuts s to n runes and drops control characters (text from a
// provider or the query string shown on a page and logged).
func printable(s string, n int) string {
	var b strings.Builder
	for _, c := range s {
		if n == 0 {
			b.WriteString("…")
			break
		}
		if unicode.IsPrint(c) {
			b.WriteRune(c)
			n--
		}
	}
	return b.String()
}
