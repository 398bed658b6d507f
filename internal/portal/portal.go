// Package portal is Sluice's web portal: server-rendered pages
// (html/template, htmx for partial updates, every asset embedded) served
// under /portal/. The portal is a client of Sluice's own API: each page
// reads and writes through the same ARM routes, in process, with the
// signed-in user's token, so a user sees and changes exactly what their
// roles allow through the API.
package portal

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"sluice/internal/auth"
)

//go:embed templates static
var files embed.FS

// Prefix is the path under which every portal page is served.
const Prefix = "/portal/"

// Portal serves the web portal.
type Portal struct {
	// API is Sluice's whole HTTP handler; the portal calls it in process.
	API http.Handler
	// Issuer mints the session tokens of local users.
	Issuer *auth.Issuer
	// Verify checks a session token (the API's authenticator).
	Verify func(r *http.Request, token string) (*auth.Principal, error)
	// Users checks local users' passwords.
	Users Authenticator
	// OnSignIn, when set, is told of every successful sign-in (the
	// server writes it to the audit log).
	OnSignIn func(r *http.Request, p *auth.Principal)
	// OIDC lists the external issuers a user can sign in with.
	OIDC []*OIDCProvider
	Log  *slog.Logger
	// SessionTTL is how long a sign-in lasts (8 hours by default).
	SessionTTL time.Duration
	// Now is the clock (time.Now by default).
	Now func() time.Time

	pages map[string]*template.Template
	mux   *http.ServeMux
}

// Init parses the templates and builds the routes; call it once.
func (p *Portal) Init() error {
	if p.Log == nil {
		p.Log = slog.Default()
	}
	if p.SessionTTL == 0 {
		p.SessionTTL = 8 * time.Hour
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if err := p.parseTemplates(); err != nil {
		return err
	}
	p.mux = http.NewServeMux()
	static, err := fs.Sub(files, "static")
	if err != nil {
		return fmt.Errorf("static assets: %w", err)
	}
	p.mux.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix+"static/", cacheStatic(http.FileServerFS(static))))
	p.routes()
	return nil
}

// Register mounts the portal on mux: its pages under /portal/ and a
// redirect from /.
func (p *Portal) Register(mux *http.ServeMux) {
	mux.Handle(Prefix, p)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusFound)
	})
}

func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	p.mux.ServeHTTP(w, r)
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// funcs are the template helpers every page may use.
var funcs = template.FuncMap{
	"lower": strings.ToLower,
	"join":  strings.Join,
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"contains": func(list []string, s string) bool {
		for _, v := range list {
			if strings.EqualFold(v, s) {
				return true
			}
		}
		return false
	},
	"add":  func(a, b int) int { return a + b },
	"base": path.Base,
	"q":    queryEscape,
}

// parseTemplates builds one template set per page: layout.html and every
// templates/partials/*.html, plus the page file templates/<name>.html.
func (p *Portal) parseTemplates() error {
	p.pages = map[string]*template.Template{}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("parse layout: %w", err)
	}
	if m, _ := fs.Glob(files, "templates/partials/*.html"); len(m) > 0 {
		if base, err = base.ParseFS(files, "templates/partials/*.html"); err != nil {
			return fmt.Errorf("parse partials: %w", err)
		}
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return err
		}
		if _, err := t.ParseFS(files, n); err != nil {
			return fmt.Errorf("parse page %s: %w", name, err)
		}
		p.pages[name] = t
	}
	return nil
}

// View is what the layout renders around a page.
type View struct {
	Title string
	// Nav names the active section of the navigation.
	Nav  string
	User *auth.Principal
	CSRF string
	// Flash is a one-line message above the content; Error marks it as
	// an error.
	Flash string
	Error bool
	Data  any
}

// render writes a whole page (status 200 unless status is non-zero).
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, page string, v *View) {
	p.renderTemplate(w, r, status, page, "layout.html", v)
}

// renderPartial writes one named template of a page (an htmx fragment).
func (p *Portal) renderPartial(w http.ResponseWriter, r *http.Request, status int, page, name string, v *View) {
	p.renderTemplate(w, r, status, page, name, v)
}

func (p *Portal) renderTemplate(w http.ResponseWriter, r *http.Request, status int, page, name string, v *View) {
	t := p.pages[page]
	if t == nil {
		p.Log.Error("portal page missing", "page", page)
		http.Error(w, "page not found", http.StatusInternalServerError)
		return
	}
	if s := sessionFrom(r.Context()); s != nil {
		v.User = s.Principal
		v.CSRF = s.CSRF
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		p.Log.Error("render portal page", "page", page, "template", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fail renders an error page for err (an *APIError keeps its status).
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := "Something went wrong."
	if ae, ok := err.(*APIError); ok {
		status, msg = ae.Status, ae.Message
	} else {
		p.Log.Error("portal request", "path", r.URL.Path, "err", err)
	}
	p.render(w, r, status, "error", &View{Title: http.StatusText(status), Flash: msg, Error: true})
}

func queryEscape(s string) string { return url.QueryEscape(s) }
