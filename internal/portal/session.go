package portal

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"

	"sluice/internal/auth"
	"sluice/internal/users"
)

// CookieName is the session cookie. The __Host- prefix makes browsers
// insist on Secure, Path=/ and no Domain.
const CookieName = "__Host-sluice_session"

// Authenticator checks a local user's password.
type Authenticator interface {
	Authenticate(ctx context.Context, name, password string) (*users.User, error)
}

// session is a signed-in user: the bearer token the portal presents to
// the API on their behalf, and the CSRF token derived from it.
type session struct {
	Token     string
	Principal *auth.Principal
	CSRF      string
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// csrfFor derives the CSRF token of a session token: unguessable without
// the session token, and stable for its lifetime.
func csrfFor(token string) string {
	h := sha256.Sum256([]byte("sluice-portal-csrf\x00" + token))
	return hex.EncodeToString(h[:16])
}

func (p *Portal) setSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(p.SessionTTL.Seconds())})
}

func clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// sameOrigin rejects a state-changing request whose Origin (sent by every
// current browser on POST) names another site.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func safeMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// authed wraps a page handler: it requires a valid session (redirecting to
// the sign-in page otherwise) and, for state-changing methods, the same
// origin and the session's CSRF token.
func (p *Portal) authed(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(CookieName)
		var s *session
		if err == nil && c.Value != "" {
			if pr, err := p.Verify(r, c.Value); err == nil {
				s = &session{Token: c.Value, Principal: pr, CSRF: csrfFor(c.Value)}
			}
		}
		if s == nil {
			clearSession(w)
			next := Prefix
			if safeMethod(r.Method) {
				next = r.URL.RequestURI()
			}
			login := Prefix + "login?next=" + url.QueryEscape(next)
			if r.Header.Get("HX-Request") != "" {
				w.Header().Set("HX-Redirect", login)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, login, http.StatusSeeOther)
			return
		}
		if !safeMethod(r.Method) {
			tok := r.Header.Get("X-CSRF-Token")
			if tok == "" {
				tok = r.PostFormValue("csrf")
			}
			if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(tok), []byte(s.CSRF)) != 1 {
				http.Error(w, "The request was rejected: its CSRF token is missing or wrong. Reload the page and try again.", http.StatusForbidden)
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
		if err := h(w, r); err != nil {
			p.fail(w, r, err)
		}
	})
}

// safeNext keeps a post-login redirect inside the portal: a path under
// /portal/ whose dot segments (plain or percent-encoded) do not climb out
// of it.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Prefix
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(path.Clean(u.Path)+"/", Prefix) {
		return Prefix
	}
	return next
}

type loginData struct {
	Next      string
	Name      string
	Providers []*OIDCProvider
}

func (p *Portal) loginPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, 0, "login", &View{Title: "Sign in", Data: &loginData{Next: safeNext(r.URL.Query().Get("next")), Providers: p.OIDC}})
}

func (p *Portal) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site sign-in refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	name, pw := strings.TrimSpace(r.PostFormValue("username")), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	data := &loginData{Next: next, Name: name, Providers: p.OIDC}
	if name == "" || pw == "" {
		p.render(w, r, http.StatusBadRequest, "login", &View{Title: "Sign in", Flash: "Enter your user name and password.", Error: true, Data: data})
		return
	}
	if p.limitLogin(w, r, name, data) {
		return
	}
	u, err := p.Users.Authenticate(r.Context(), name, pw)
	if err != nil {
		if !errors.Is(err, users.ErrInvalidCredentials) {
			p.Log.Error("portal sign-in", "err", err)
		} else {
			p.loginFailed(r, name)
			p.Log.Info("portal sign-in refused", "user", name)
		}
		p.render(w, r, http.StatusUnauthorized, "login", &View{Title: "Sign in", Flash: users.ErrInvalidCredentials.Error() + ".", Error: true, Data: data})
		return
	}
	tok, err := p.Issuer.Mint(u.TenantID, u.ObjectID, u.DisplayName, p.SessionTTL)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.loginSucceeded(name)
	p.Log.Info("portal sign-in", "user", u.Name, "objectId", u.ObjectID)
	p.signedIn(r, &auth.Principal{TenantID: u.TenantID, ObjectID: u.ObjectID, Name: u.DisplayName})
	p.setSession(w, tok)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signedIn reports a successful sign-in to OnSignIn (the audit log).
func (p *Portal) signedIn(r *http.Request, pr *auth.Principal) {
	if p.OnSignIn != nil {
		p.OnSignIn(r, pr)
	}
}

func (p *Portal) logout(w http.ResponseWriter, r *http.Request) error {
	clearSession(w)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
	return nil
}
