package portal_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"sluice/internal/auth"
	"sluice/internal/config"
	"sluice/internal/oidctest"
	"sluice/internal/portal"
	"sluice/internal/server"
	"sluice/internal/server/servertest"
)

// The external issuer of these tests, as configured in Sluice.
const (
	oidcName     = "corp"
	oidcClientID = "sluice-portal"
	oidcSecret   = "test-client-secret"
	oidcAudience = "api://sluice-test"
)

// oidcEnv is a Sluice server that trusts an oidctest issuer for its
// default tenant and offers it as the portal sign-in "corp".
type oidcEnv struct {
	env  *servertest.Env
	idp  *oidctest.Server
	user string // the external user's object id
}

// newOIDCEnv starts the issuer and the server. The issuer's entry needs
// the default tenant's id, which the first start of a data directory
// creates: so the data directory is made by a first, short-lived server
// (the demo estate is seeded by the second start).
func newOIDCEnv(t *testing.T, opts ...servertest.Option) *oidcEnv {
	t.Helper()
	idp := oidctest.New(t)
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Data, cfg.Addr, cfg.Store.Synchronous, cfg.Auth.PasswordIterations = dir, "127.0.0.1:0", "NORMAL", 1000
	first, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("create the data directory: %v", err)
	}
	tenant := first.Bootstrap.TenantID
	first.Store.Close()

	opts = append([]servertest.Option{servertest.WithData(dir), servertest.WithDemo(), func(c *config.Config) {
		c.Auth.ExternalIssuers = append(c.Auth.ExternalIssuers, config.ExternalIssuer{TenantID: tenant, Issuer: idp.Issuer,
			Audience: oidcAudience, Name: oidcName, ClientID: oidcClientID, ClientSecret: oidcSecret, Scopes: []string{"profile", "email"}})
	}}, opts...)
	env := servertest.New(t, opts...)
	// Both the API's authenticator (keys) and the portal (discovery, code
	// exchange) reach the issuer with a client trusting its test certificate.
	authn, ok := env.Server.Router.Authn.(*auth.Authenticator)
	if !ok || len(authn.External) != 1 || len(env.Server.Portal.OIDC) != 1 {
		t.Fatalf("the server did not configure the external issuer")
	}
	authn.External[0].Client = idp.Client()
	env.Server.Portal.OIDC[0].Client = idp.Client()

	user := uuid.NewString()
	idp.AddClient(oidctest.Client{ID: oidcClientID, Secret: oidcSecret, Audience: oidcAudience,
		RedirectURIs: []string{env.URL + "/portal/oidc/" + oidcName + "/callback"}})
	idp.SetUser(map[string]any{"sub": user, "oid": user, "tid": tenant, "name": "Erin External"})
	return &oidcEnv{env: env, idp: idp, user: user}
}

// grantReader gives the external user Reader at the tenant root, as the
// administrator, through the role-assignment API.
func (o *oidcEnv) grantReader(t *testing.T) {
	t.Helper()
	scope := "/providers/Microsoft.Management/managementGroups/" + o.env.TenantID
	resp, body := o.env.Do("PUT", scope+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2022-04-01",
		o.env.Token, map[string]any{"properties": map[string]any{"principalId": o.user,
			"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleReader}})
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("assign Reader: %d %s", resp.StatusCode, body)
	}
}

// flowClient is a cookie-keeping HTTP client that does not follow
// redirects, to drive the sign-in step by step.
type flowClient struct {
	t   *testing.T
	c   *http.Client
	jar *cookiejar.Jar
	url string
}

func newFlowClient(t *testing.T, env *servertest.Env) *flowClient {
	jar, _ := cookiejar.New(nil)
	return &flowClient{t: t, jar: jar, url: env.URL, c: &http.Client{Transport: env.Client.Transport, Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (f *flowClient) get(u string) (*http.Response, string) {
	f.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = f.url + u
	}
	resp, err := f.c.Get(u)
	if err != nil {
		f.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// expect checks a response's status and returns its Location.
func (f *flowClient) expect(what string, resp *http.Response, body string, status int) string {
	f.t.Helper()
	if resp.StatusCode != status {
		f.t.Fatalf("%s: status %d, want %d\n%s", what, resp.StatusCode, status, body)
	}
	return resp.Header.Get("Location")
}

// session returns the session cookie the client holds ("" for none).
func (f *flowClient) session() string {
	u, _ := url.Parse(f.url)
	for _, c := range f.jar.Cookies(u) {
		if c.Name == portal.CookieName {
			return c.Value
		}
	}
	return ""
}

// start begins a sign-in and returns the authorization URL.
func (f *flowClient) start(next string) string {
	f.t.Helper()
	resp, body := f.get("/portal/oidc/" + oidcName + "/start?next=" + url.QueryEscape(next))
	return f.expect("start", resp, body, http.StatusFound)
}

// authorize visits the issuer and returns the callback URL it sends back.
func (f *flowClient) authorize(authURL string) string {
	f.t.Helper()
	resp, body := f.get(authURL)
	return f.expect("authorize", resp, body, http.StatusFound)
}

// refused checks that a callback answer is an error page with msg and no
// session.
func (f *flowClient) refused(what string, resp *http.Response, body string, status int, msg string) {
	f.t.Helper()
	f.expect(what, resp, body, status)
	if !strings.Contains(html.UnescapeString(body), msg) {
		f.t.Errorf("%s: the page does not say %q:\n%s", what, msg, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == portal.CookieName && c.Value != "" {
			f.t.Errorf("%s: a session cookie was set", what)
		}
	}
	if f.session() != "" {
		f.t.Errorf("%s: the client holds a session", what)
	}
}

func TestOIDCSignIn(t *testing.T) {
	o := newOIDCEnv(t)
	o.grantReader(t)
	f := newFlowClient(t, o.env)

	authURL := f.start("/portal/environment")
	if !strings.HasPrefix(authURL, o.idp.Issuer+"/authorize?") {
		t.Fatalf("start redirects to %s, not the issuer's authorization endpoint", authURL)
	}
	// The flow cookie: __Host-, Secure, HttpOnly, Lax, 10 minutes.
	u, _ := url.Parse(o.env.URL)
	var flow *http.Cookie
	for _, c := range f.jar.Cookies(u) {
		if c.Name == "__Host-sluice_oidc" {
			flow = c
		}
	}
	if flow == nil || flow.Value == "" {
		t.Fatal("start set no __Host-sluice_oidc cookie")
	}
	cb := f.authorize(authURL)
	q := o.idp.LastAuthorization()
	for k, want := range map[string]string{"response_type": "code", "client_id": oidcClientID, "code_challenge_method": "S256",
		"scope": "openid profile email", "redirect_uri": o.env.URL + "/portal/oidc/corp/callback"} {
		if q.Get(k) != want {
			t.Errorf("authorization request %s = %q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 20 {
			t.Errorf("authorization request %s = %q: missing or short", k, q.Get(k))
		}
	}
	if strings.Contains(flow.Value, q.Get("state")) || strings.Contains(flow.Value, q.Get("nonce")) {
		t.Error("the flow cookie shows its state or nonce in the clear")
	}
	if !strings.HasPrefix(cb, o.env.URL+"/portal/oidc/corp/callback?") {
		t.Fatalf("the issuer sends back to %s", cb)
	}

	resp, body := f.get(cb)
	if loc := f.expect("callback", resp, body, http.StatusSeeOther); loc != "/portal/environment" {
		t.Fatalf("callback redirects to %q, want /portal/environment", loc)
	}
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == portal.CookieName {
			sess = c
		}
	}
	if sess == nil || sess.Value == "" {
		t.Fatal("the callback set no session cookie")
	}
	if !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" {
		t.Errorf("session cookie attributes: %+v", sess)
	}
	// The session lasts as long as the issuer's token (one hour), not 8 hours.
	if sess.MaxAge < 3500 || sess.MaxAge > 3600 {
		t.Errorf("session Max-Age = %d, want the token's remaining life (~3600)", sess.MaxAge)
	}
	// The session is the issuer's access token: the API accepts it as a
	// bearer for the external user.
	resp, apiBody := o.env.Do("GET", "/subscriptions?api-version=2022-12-01", sess.Value, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(apiBody), "Contoso Production") {
		t.Fatalf("the session token as a bearer: %d %s", resp.StatusCode, apiBody)
	}
	if o.idp.TokenRequests() != 1 {
		t.Errorf("token requests = %d, want 1", o.idp.TokenRequests())
	}

	resp, body = f.get("/portal/environment")
	f.expect("environment", resp, body, http.StatusOK)
	if !strings.Contains(body, "Erin External") || !strings.Contains(body, "Contoso Production") {
		t.Errorf("the environment page does not show the external user's view:\n%s", body)
	}

	// The same callback again, even with the flow cookie put back: refused.
	f.jar.SetCookies(u, []*http.Cookie{{Name: flow.Name, Value: flow.Value, Path: "/", Secure: true}})
	f2 := newFlowClient(t, o.env)
	f2.jar.SetCookies(u, []*http.Cookie{{Name: flow.Name, Value: flow.Value, Path: "/", Secure: true}})
	resp, body = f2.get(cb)
	f2.refused("replayed callback", resp, body, http.StatusBadRequest, "This sign-in answer was already used")
	// And without the cookie (the browser dropped it after the first use).
	resp, body = newFlowClient(t, o.env).get(cb)
	newFlowClient(t, o.env).refused("callback without the flow cookie", resp, body, http.StatusBadRequest, "it was not started in this browser")
	if o.idp.TokenRequests() != 1 {
		t.Errorf("a refused callback reached the token endpoint: %d requests", o.idp.TokenRequests())
	}
}

func TestOIDCCallbackRefusals(t *testing.T) {
	o := newOIDCEnv(t)
	o.grantReader(t)

	t.Run("wrong state", func(t *testing.T) {
		f := newFlowClient(t, o.env)
		cb, _ := url.Parse(f.authorize(f.start("/portal/")))
		q := cb.Query()
		q.Set("state", "not-the-state-of-this-browser")
		cb.RawQuery = q.Encode()
		resp, body := f.get(cb.String())
		f.refused("wrong state", resp, body, http.StatusBadRequest, "does not belong to the sign-in started in this browser")
	})

	t.Run("forged flow cookie", func(t *testing.T) {
		f := newFlowClient(t, o.env)
		cb := f.authorize(f.start("/portal/"))
		u, _ := url.Parse(o.env.URL)
		forged := base64.RawURLEncoding.EncodeToString([]byte(`{"p":"corp","s":"x","n":"y","v":"z","e":9999999999}` + strings.Repeat("0", 28)))
		f.jar.SetCookies(u, []*http.Cookie{{Name: "__Host-sluice_oidc", Value: forged, Path: "/", Secure: true}})
		resp, body := f.get(cb)
		f.refused("forged cookie", resp, body, http.StatusBadRequest, "its state cannot be verified")
	})

	t.Run("code challenge changed on the way", func(t *testing.T) {
		// The issuer binds the code to another challenge: the portal's
		// verifier does not match it, and the issuer refuses the code.
		f := newFlowClient(t, o.env)
		a, _ := url.Parse(f.start("/portal/"))
		q := a.Query()
		other := sha256.Sum256([]byte(strings.Repeat("another-verifier-", 4)))
		q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(other[:]))
		a.RawQuery = q.Encode()
		resp, body := f.get(f.authorize(a.String()))
		f.refused("mismatched verifier", resp, body, http.StatusUnauthorized, "corp refused to complete the sign-in: invalid_grant: the PKCE code_verifier is missing or does not match")
	})

	t.Run("no code challenge", func(t *testing.T) {
		f := newFlowClient(t, o.env)
		a, _ := url.Parse(f.start("/portal/"))
		q := a.Query()
		q.Del("code_challenge")
		q.Del("code_challenge_method")
		a.RawQuery = q.Encode()
		resp, body := f.get(f.authorize(a.String()))
		f.refused("no PKCE", resp, body, http.StatusUnauthorized, "corp refused the sign-in (invalid_request): PKCE is required")
	})

	t.Run("nonce changed on the way", func(t *testing.T) {
		f := newFlowClient(t, o.env)
		a, _ := url.Parse(f.start("/portal/"))
		q := a.Query()
		q.Set("nonce", "an-injected-nonce")
		a.RawQuery = q.Encode()
		resp, body := f.get(f.authorize(a.String()))
		f.refused("nonce", resp, body, http.StatusUnauthorized, "the id_token's nonce does not match this sign-in")
	})

	t.Run("error answer", func(t *testing.T) {
		o.idp.Deny("access_denied")
		defer o.idp.Deny("")
		f := newFlowClient(t, o.env)
		resp, body := f.get(f.authorize(f.start("/portal/")))
		f.refused("access_denied", resp, body, http.StatusUnauthorized, "corp refused the sign-in (access_denied): the test issuer was told to refuse.")
	})

	t.Run("token for another audience", func(t *testing.T) {
		o.idp.AddClient(oidctest.Client{ID: oidcClientID, Secret: oidcSecret, Audience: "api://someone-else",
			RedirectURIs: []string{o.env.URL + "/portal/oidc/corp/callback"}})
		defer o.idp.AddClient(oidctest.Client{ID: oidcClientID, Secret: oidcSecret, Audience: oidcAudience,
			RedirectURIs: []string{o.env.URL + "/portal/oidc/corp/callback"}})
		f := newFlowClient(t, o.env)
		resp, body := f.get(f.authorize(f.start("/portal/")))
		f.refused("audience", resp, body, http.StatusForbidden, "Sluice does not accept the tokens of corp: its access token is refused (the token's audience is not accepted by this server); the audience must be api://sluice-test")
	})

	t.Run("wrong client secret", func(t *testing.T) {
		o.env.Server.Portal.OIDC[0].ClientSecret = "not-the-secret"
		defer func() { o.env.Server.Portal.OIDC[0].ClientSecret = oidcSecret }()
		f := newFlowClient(t, o.env)
		resp, body := f.get(f.authorize(f.start("/portal/")))
		f.refused("client secret", resp, body, http.StatusUnauthorized, "corp refused to complete the sign-in: invalid_client")
		if strings.Contains(body, "not-the-secret") {
			t.Error("the page shows the client secret")
		}
	})

	t.Run("unknown provider", func(t *testing.T) {
		f := newFlowClient(t, o.env)
		resp, body := f.get("/portal/oidc/nobody/start")
		f.refused("unknown provider", resp, body, http.StatusNotFound, `There is no sign-in provider named "nobody"`)
	})

	t.Run("next stays inside the portal", func(t *testing.T) {
		for _, next := range []string{"https://evil.example/", "//evil.example/portal/", "/portal/../x", "/portal/%2e%2e/x", "/\\evil.example"} {
			f := newFlowClient(t, o.env)
			resp, body := f.get(f.authorize(f.start(next)))
			loc := f.expect("callback", resp, body, http.StatusSeeOther)
			if !strings.HasPrefix(loc, "/portal/") || strings.Contains(loc, "evil") || strings.Contains(loc, "x") {
				t.Errorf("next=%q: the sign-in ends at %q", next, loc)
			}
		}
	})

	t.Run("next from the sign-in page's link", func(t *testing.T) {
		// The login page's link carries next percent-encoded once more.
		f := newFlowClient(t, o.env)
		_, page := f.get("/portal/login?next=" + url.QueryEscape("/portal/environment"))
		i := strings.Index(page, `href="/portal/oidc/corp/start?`)
		if i < 0 {
			t.Fatalf("the sign-in page has no corp button:\n%s", page)
		}
		href := html.UnescapeString(page[i+len(`href="`) : i+strings.Index(page[i:], `">`)])
		resp, body := f.get(href)
		a := f.expect("start", resp, body, http.StatusFound)
		resp, body = f.get(f.authorize(a))
		if loc := f.expect("callback", resp, body, http.StatusSeeOther); loc != "/portal/environment" {
			t.Errorf("the sign-in from the button ends at %q, want /portal/environment", loc)
		}
	})

	t.Run("issuer refuses unknown clients and redirect URIs", func(t *testing.T) {
		// Neither is sent back to the redirect URI (RFC 6749 §4.1.2.1).
		f := newFlowClient(t, o.env)
		for param, value := range map[string]string{"client_id": "someone-else", "redirect_uri": "https://evil.example/portal/oidc/corp/callback"} {
			a, _ := url.Parse(f.start("/portal/"))
			q := a.Query()
			q.Set(param, value)
			a.RawQuery = q.Encode()
			resp, body := f.get(a.String())
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("%s=%s: %d Location %q, want 400 without a redirect\n%s", param, value, resp.StatusCode, resp.Header.Get("Location"), body)
			}
		}
	})

	// A dozen sign-ins read the discovery document once for the portal
	// (cached for an hour) and once for the API's key fetch.
	if n := o.idp.DiscoveryReads(); n > 2 {
		t.Errorf("discovery read %d times, want at most 2", n)
	}

	// The issuer's token endpoint itself refuses a code without its
	// verifier, or with the verifier of another challenge.
	t.Run("test issuer checks the verifier", func(t *testing.T) {
		f := newFlowClient(t, o.env)
		redirect := o.env.URL + "/portal/oidc/corp/callback"
		redeem := func(code, verifier string) (int, string) {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "client_id": {oidcClientID},
				"client_secret": {oidcSecret}}
			if verifier != "" {
				form.Set("code_verifier", verifier)
			}
			resp, err := o.idp.Client().PostForm(o.idp.Issuer+"/token", form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		for _, verifier := range []string{"", "too-short", strings.Repeat("v", 43)} {
			cb, _ := url.Parse(f.authorize(f.start("/portal/")))
			status, body := redeem(cb.Query().Get("code"), verifier)
			if status != http.StatusBadRequest || !strings.Contains(body, "invalid_grant") {
				t.Errorf("verifier %q: %d %s, want 400 invalid_grant", verifier, status, body)
			}
		}
	})
}
