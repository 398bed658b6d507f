package portal_test

import (
	"crypto/rsa"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"sluice/internal/oidctest"
	"sluice/internal/portal"
	"sluice/internal/server/servertest"
)

// post sends a form with the given Origin ("" for none) and extra headers.
func (f *flowClient) post(path string, form url.Values, origin string, hdr map[string]string) (*http.Response, string) {
	f.t.Helper()
	req, err := http.NewRequest("POST", f.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := f.c.Do(req)
	if err != nil {
		f.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// getWith sends a GET with extra headers.
func (f *flowClient) getWith(path string, hdr map[string]string) *http.Response {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.url+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := f.c.Do(req)
	if err != nil {
		f.t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp
}

func (f *flowClient) login(user, password, next string) (*http.Response, string) {
	f.t.Helper()
	return f.post("/portal/login", url.Values{"username": {user}, "password": {password}, "next": {next}}, f.url, nil)
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == portal.CookieName {
			return c
		}
	}
	return nil
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrf scrapes the session's CSRF token from a portal page.
func (f *flowClient) csrf() string {
	f.t.Helper()
	resp, body := f.get("/portal/environment")
	f.expect("environment", resp, body, http.StatusOK)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		f.t.Fatalf("no CSRF field on the page:\n%s", body)
	}
	return m[1]
}

func TestSessionCookieAndSignOut(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	f := newFlowClient(t, env)
	resp, body := f.login("admin", env.Server.InitialPassword, "/portal/environment")
	if loc := f.expect("sign in", resp, body, http.StatusSeeOther); loc != "/portal/environment" {
		t.Fatalf("sign-in redirects to %q", loc)
	}
	c := sessionCookie(resp)
	if c == nil || c.Value == "" {
		t.Fatal("no session cookie")
	}
	raw := resp.Header.Get("Set-Cookie")
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" ||
		strings.Contains(strings.ToLower(raw), "domain=") {
		t.Errorf("session cookie attributes: %s", raw)
	}
	if c.MaxAge != int((8 * time.Hour).Seconds()) {
		t.Errorf("session Max-Age = %d, want 8 hours", c.MaxAge)
	}

	// Signing out needs the CSRF token and the portal's origin.
	token := f.csrf()
	for _, tc := range []struct {
		name, origin string
		form         url.Values
	}{
		{"no CSRF token", env.URL, url.Values{}},
		{"wrong CSRF token", env.URL, url.Values{"csrf": {strings.Repeat("0", 32)}}},
		{"foreign origin", "https://evil.example", url.Values{"csrf": {token}}},
		{"opaque origin", "null", url.Values{"csrf": {token}}},
	} {
		resp, body := f.post("/portal/logout", tc.form, tc.origin, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign-out with %s: %d, want 403\n%s", tc.name, resp.StatusCode, body)
		}
		if sessionCookie(resp) != nil {
			t.Errorf("sign-out with %s touched the session cookie", tc.name)
		}
	}
	if f.session() == "" {
		t.Fatal("a refused sign-out ended the session")
	}
	// The token in a header (as htmx sends it) is accepted.
	resp, body = f.post("/portal/logout", url.Values{}, env.URL, map[string]string{"X-CSRF-Token": token})
	if loc := f.expect("sign out", resp, body, http.StatusSeeOther); loc != "/portal/login" {
		t.Errorf("sign-out redirects to %q", loc)
	}
	if c := sessionCookie(resp); c == nil || c.Value != "" || c.MaxAge >= 0 {
		t.Errorf("sign-out does not delete the cookie: %s", resp.Header.Get("Set-Cookie"))
	}
	if f.session() != "" {
		t.Error("the client still holds a session after signing out")
	}
	resp, body = f.get("/portal/environment")
	if loc := f.expect("after sign-out", resp, body, http.StatusSeeOther); !strings.HasPrefix(loc, "/portal/login?") {
		t.Errorf("after sign-out a page redirects to %q, not the sign-in page", loc)
	}
}

func TestSessionNextStaysInPortal(t *testing.T) {
	env := servertest.New(t)
	pw := env.Server.InitialPassword
	for _, next := range []string{"//evil.example", "https://evil.example", "//evil.example/portal/", `/\evil.example`, "javascript:alert(1)", ""} {
		f := newFlowClient(t, env)
		resp, body := f.login("admin", pw, next)
		if loc := f.expect("sign in next="+next, resp, body, http.StatusSeeOther); loc != "/portal/" {
			t.Errorf("next=%q: sign-in redirects to %q, want /portal/", next, loc)
		}
	}
	// The sign-in page does not carry a foreign next into its form either.
	f := newFlowClient(t, env)
	resp, body := f.get("/portal/login?next=" + url.QueryEscape("https://evil.example/"))
	f.expect("login page", resp, body, http.StatusOK)
	if strings.Contains(body, "evil.example") {
		t.Errorf("the sign-in page carries the foreign next:\n%s", body)
	}
}

func TestSessionExpiredOrForged(t *testing.T) {
	env := servertest.New(t)
	key, ok := env.Server.Issuer.Signer().(*rsa.PrivateKey)
	if !ok {
		t.Fatal("the issuer's key is not RSA")
	}
	expired := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": env.Server.Issuer.Issuer(),
		"aud": env.Server.Issuer.Audience(), "tid": env.TenantID, "oid": env.AdminID,
		"iat": time.Now().Add(-3 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()})
	expiredTok, err := expired.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	other := oidctest.New(t)
	forged := other.Token(map[string]any{"iss": env.Server.Issuer.Issuer(), "aud": env.Server.Issuer.Audience(),
		"tid": env.TenantID, "oid": env.AdminID})
	u, _ := url.Parse(env.URL)
	for name, tok := range map[string]string{"expired": expiredTok, "forged": forged, "garbage": "not-a-token"} {
		f := newFlowClient(t, env)
		f.jar.SetCookies(u, []*http.Cookie{{Name: portal.CookieName, Value: tok, Path: "/", Secure: true}})
		resp, body := f.get("/portal/environment?x=1")
		loc := f.expect(name+" session", resp, body, http.StatusSeeOther)
		if want := "/portal/login?next=" + url.QueryEscape("/portal/environment?x=1"); loc != want {
			t.Errorf("%s session: redirect to %q, want %q", name, loc, want)
		}
		if c := sessionCookie(resp); c == nil || c.MaxAge >= 0 {
			t.Errorf("%s session: the cookie is not deleted", name)
		}
		// htmx requests get HX-Redirect instead of a redirect.
		f.jar.SetCookies(u, []*http.Cookie{{Name: portal.CookieName, Value: tok, Path: "/", Secure: true}})
		hx := f.getWith("/portal/environment", map[string]string{"HX-Request": "true"})
		if hx.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(hx.Header.Get("HX-Redirect"), "/portal/login?next=") {
			t.Errorf("%s session, htmx: %d HX-Redirect %q, want 401 to the sign-in page", name, hx.StatusCode, hx.Header.Get("HX-Redirect"))
		}
	}
}

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	anon := newFlowClient(t, env)
	signed := newFlowClient(t, env)
	resp, body := signed.login("admin", env.Server.InitialPassword, "/portal/")
	signed.expect("sign in", resp, body, http.StatusSeeOther)
	pages := []string{"/portal/", "/portal/environment", "/portal/alerts", "/portal/recommendations", "/portal/score",
		"/portal/compliance", "/portal/health", "/portal/workspace", "/portal/no-such-page", "/portal/static/app.css",
		"/portal/subscriptions/00000000-0000-0000-0000-000000000000/export"}
	check := func(who, path string, resp *http.Response) {
		t.Helper()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s %s: Content-Security-Policy %q", who, path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: X-Frame-Options %q, X-Content-Type-Options %q", who, path, h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"))
		}
	}
	for _, p := range append([]string{"/portal/login", "/portal/oidc/none/start"}, pages...) {
		resp, _ := anon.get(p)
		check("signed out", p, resp)
	}
	for _, p := range pages {
		resp, _ := signed.get(p)
		check("signed in", p, resp)
	}
	resp, _ = anon.login("admin", "wrong", "/portal/")
	check("failed sign-in", "/portal/login", resp)
}

func TestLoginLimiter(t *testing.T) {
	env := servertest.New(t)
	f := newFlowClient(t, env)
	pw := env.Server.InitialPassword
	fail := func(user string, n int) {
		t.Helper()
		for i := range n {
			resp, body := f.login(user, "wrong-password", "/portal/")
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d for %s: %d, want 401", i+1, user, resp.StatusCode)
			}
			if !strings.Contains(body, "incorrect") {
				t.Fatalf("failure %d for %s does not say the credentials are incorrect", i+1, user)
			}
		}
	}
	// Five failures lock the user name: the right password is refused too.
	fail("admin", 5)
	resp, body := f.login("admin", pw, "/portal/")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 5 failures: %d, want 429\n%s", resp.StatusCode, body)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q, want 1..60 seconds", resp.Header.Get("Retry-After"))
	}
	msg := "Too many failed sign-ins for this user name or from this address. Try again in 1 minute."
	if !strings.Contains(html.UnescapeString(body), msg) {
		t.Errorf("the 429 page does not say %q:\n%s", msg, body)
	}
	if sessionCookie(resp) != nil || f.session() != "" {
		t.Error("a throttled sign-in set a session")
	}
	// A user name that does not exist is treated the same way.
	fail("nobody-here", 5)
	resp, body = f.login("nobody-here", "whatever", "/portal/")
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(html.UnescapeString(body), msg) {
		t.Errorf("unknown user after 5 failures: %d, want the same 429", resp.StatusCode)
	}
}
