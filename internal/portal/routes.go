package portal

import "net/http"

// routes registers every page. Each page's handlers live in the file
// named after it.
func (p *Portal) routes() {
	m := p.mux
	m.HandleFunc("GET "+Prefix+"login", p.loginPage)
	m.HandleFunc("POST "+Prefix+"login", p.login)
	m.Handle("POST "+Prefix+"logout", p.authed(p.logout))
	m.Handle("GET "+Prefix+"{$}", p.authed(p.environment))
	m.Handle("GET "+Prefix+"environment", p.authed(p.environment))
	p.oidcRoutes()
	p.exportRoutes()
	p.reportRoutes()
	p.healthRoutes()
	p.workspaceRoutes()
	p.summaryRoutes()
	m.Handle(Prefix, p.authed(func(w http.ResponseWriter, r *http.Request) error {
		return &APIError{Status: http.StatusNotFound, Code: "NotFound", Message: "There is no portal page at " + r.URL.Path + "."}
	}))
}
