package armapi

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strings"

	"sluice/internal/armid"
)

// HandlerFunc is an HTTP handler that returns its error instead of writing
// it; the router writes the CloudError envelope.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Authenticator establishes who is calling. It returns a context carrying
// the caller, or an error (a 401 *Error) when the credentials are missing or
// invalid.
type Authenticator interface {
	Authenticate(r *http.Request) (context.Context, error)
}

// Authorizer decides whether the caller in ctx holds permission at scope. It
// returns nil or an *Error (403, or 404 when the scope does not exist).
type Authorizer interface {
	Authorize(ctx context.Context, permission, scope string) error
}

// Route is one method and path pattern. Pattern segments are literals
// (matched case-insensitively), {name} (one segment) or {name...} (one or
// more segments, e.g. an arbitrary resource ID). Parameters are read with
// r.PathValue.
type Route struct {
	Method  string
	Pattern string
	// APIVersions lists the accepted api-version values; empty means the
	// route takes no api-version (non-ARM routes).
	APIVersions []string
	// Public routes need no token (health, discovery documents).
	Public bool
	// Permission is the ARM action the caller must hold at Scope, e.g.
	// Microsoft.Security/automations/read. Every non-public route has one;
	// "Microsoft.Authenticated" only requires a valid token (used by routes
	// that filter what they return by the caller's rights).
	Permission string
	// Scope returns the ARM scope the permission is checked at; nil means
	// the request path itself.
	Scope   func(r *http.Request) string
	Handler HandlerFunc
}

// PermissionAuthenticated is the permission of routes that only need a
// valid token and filter their results by the caller's rights.
const PermissionAuthenticated = "Microsoft.Authenticated"

type segment struct {
	lit   string // literal, lower case
	param string
	rest  bool // {param...}
}

type compiled struct {
	Route
	segs     []segment
	literals int
	wildcard bool
}

// Router dispatches ARM-style paths case-insensitively and applies
// api-version, authentication and authorization checks before a handler
// runs.
type Router struct {
	Authn  Authenticator
	Authz  Authorizer
	routes []*compiled
}

// Handle registers a route. It panics on a malformed pattern or a
// non-public route without a permission, which are programming errors.
func (rt *Router) Handle(r Route) {
	if !r.Public && r.Permission == "" {
		panic("armapi: route " + r.Method + " " + r.Pattern + " has no permission")
	}
	c := &compiled{Route: r}
	for _, s := range strings.Split(strings.Trim(r.Pattern, "/"), "/") {
		switch {
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "...}"):
			c.segs = append(c.segs, segment{param: s[1 : len(s)-4], rest: true})
			c.wildcard = true
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			c.segs = append(c.segs, segment{param: s[1 : len(s)-1]})
		case s == "":
			panic("armapi: empty segment in " + r.Pattern)
		default:
			c.segs = append(c.segs, segment{lit: strings.ToLower(s)})
			c.literals++
		}
	}
	rt.routes = append(rt.routes, c)
	sort.SliceStable(rt.routes, func(i, j int) bool {
		a, b := rt.routes[i], rt.routes[j]
		if a.wildcard != b.wildcard {
			return !a.wildcard
		}
		return a.literals > b.literals
	})
}

// Routes lists the registered routes.
func (rt *Router) Routes() []Route {
	out := make([]Route, 0, len(rt.routes))
	for _, c := range rt.routes {
		out = append(out, c.Route)
	}
	return out
}

// Match reports whether some route serves the path (any method).
func (rt *Router) Match(path string) bool {
	segs := splitPath(path)
	if len(segs) > MaxSegments {
		return false
	}
	for _, c := range rt.routes {
		if _, ok := match(c.segs, segs, nil); ok {
			return true
		}
	}
	return false
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

type param struct{ name, value string }

func match(pat []segment, segs []string, acc []param) ([]param, bool) {
	if len(pat) == 0 {
		return acc, len(segs) == 0
	}
	p := pat[0]
	if len(segs) == 0 {
		return nil, false
	}
	switch {
	case p.rest:
		tail := pat[1:]
		if !hasRest(tail) {
			// A tail without wildcards matches exactly its own length, so
			// only one span can work: no search (a search over a long path
			// costs quadratic time, before any authentication).
			n := len(segs) - len(tail)
			if n < 1 {
				return nil, false
			}
			got, ok := match(tail, segs[n:], acc)
			if !ok {
				return nil, false
			}
			return append(got, param{p.param, "/" + strings.Join(segs[:n], "/")}), true
		}
		// Try the longest span first; the remaining pattern must match the rest.
		for n := len(segs) - minSegs(tail); n >= 1; n-- {
			if got, ok := match(tail, segs[n:], acc); ok {
				return append(got, param{p.param, "/" + strings.Join(segs[:n], "/")}), true
			}
		}
		return nil, false
	case p.param != "":
		return match(pat[1:], segs[1:], append(acc, param{p.param, segs[0]}))
	default:
		if !equalFoldASCII(p.lit, segs[0]) {
			return nil, false
		}
		return match(pat[1:], segs[1:], acc)
	}
}

func minSegs(pat []segment) int { return len(pat) }

func hasRest(pat []segment) bool {
	for _, p := range pat {
		if p.rest {
			return true
		}
	}
	return false
}

// MaxSegments bounds the path segments a request may have; longer paths
// match no route. ARM resource ids are far shorter, and it keeps the cost of
// matching and of finding a path's scope small for any request.
const MaxSegments = 128

// equalFoldASCII compares a lower-case ASCII literal with a path segment,
// folding ASCII case only: ARM paths are ASCII-case-insensitive, and Unicode
// folds (U+017F for 's', U+212A for 'k') must not reach a route whose
// literals armid would then refuse to parse.
func equalFoldASCII(lit, seg string) bool {
	if len(lit) != len(seg) {
		return false
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lit[i] {
			return false
		}
	}
	return true
}

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := splitPath(r.URL.Path)
	if len(segs) > MaxSegments {
		WriteError(w, r, NotFound("NotFound", "No route serves %s paths of more than %d segments.", r.Method, MaxSegments))
		return
	}
	var found *compiled
	var params []param
	allowed := []string{}
	for _, c := range rt.routes {
		ps, ok := match(c.segs, segs, nil)
		if !ok {
			continue
		}
		if c.Method != r.Method {
			if !slices.Contains(allowed, c.Method) {
				allowed = append(allowed, c.Method)
			}
			continue
		}
		found, params = c, ps
		break
	}
	if found == nil {
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			WriteError(w, r, Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed",
				"The method %s is not allowed on %s; allowed: %s.", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
			return
		}
		WriteError(w, r, NotFound("NotFound", "No route serves %s %s.", r.Method, r.URL.Path))
		return
	}
	for _, p := range params {
		r.SetPathValue(p.name, p.value)
	}
	if err := rt.serve(found, w, r); err != nil {
		WriteError(w, r, err)
	}
}

func (rt *Router) serve(c *compiled, w http.ResponseWriter, r *http.Request) error {
	if !c.Public {
		if rt.Authn == nil {
			return Errorf(http.StatusUnauthorized, "AuthenticationFailed", "No authenticator is configured.")
		}
		ctx, err := rt.Authn.Authenticate(r)
		if err != nil {
			return err
		}
		r = r.WithContext(ctx)
	}
	if len(c.APIVersions) > 0 {
		if err := CheckAPIVersion(r, c.APIVersions); err != nil {
			return err
		}
	}
	if !c.Public && c.Permission != PermissionAuthenticated {
		scope := armid.ScopeOf(r.URL.Path)
		if c.Scope != nil {
			scope = c.Scope(r)
		}
		if rt.Authz == nil {
			return Errorf(http.StatusForbidden, "AuthorizationFailed", "No authorizer is configured.")
		}
		if err := rt.Authz.Authorize(r.Context(), c.Permission, scope); err != nil {
			return err
		}
	}
	return c.Handler(w, r)
}

// CheckAPIVersion requires the api-version query parameter to be one of
// supported.
func CheckAPIVersion(r *http.Request, supported []string) error {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return BadRequest("MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests. Supported versions: %s.", strings.Join(supported, ", "))
	}
	for _, s := range supported {
		if strings.EqualFold(s, v) {
			return nil
		}
	}
	return BadRequest("InvalidApiVersionParameter",
		"The api-version '%s' is invalid. The supported versions are '%s'.", v, strings.Join(supported, ","))
}

// SubscriptionScope is a Route.Scope for patterns with {subscriptionId}:
// the subscription.
func SubscriptionScope(r *http.Request) string {
	return armid.SubscriptionID(r.PathValue("subscriptionId"))
}

// ResourceGroupScope is a Route.Scope for patterns with {subscriptionId}
// and {resourceGroupName}: the resource group.
func ResourceGroupScope(r *http.Request) string {
	return armid.ResourceGroupID(r.PathValue("subscriptionId"), r.PathValue("resourceGroupName"))
}
