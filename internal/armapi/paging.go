package armapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Paging bounds.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Page is the request's position in a list: the key to continue after and
// the page size.
type Page struct {
	After string
	Limit int
}

// queryFold returns the value of a query parameter whose name matches
// name case-insensitively ($skipToken, $skiptoken, $SkipToken).
func queryFold(q url.Values, name string) string {
	if v := q.Get(name); v != "" {
		return v
	}
	for k, vs := range q {
		if len(vs) > 0 && strings.EqualFold(k, name) {
			return vs[0]
		}
	}
	return ""
}

// PageFrom reads $skipToken and $top from the request. A malformed token is
// a 400 InvalidSkipToken.
func PageFrom(r *http.Request) (Page, error) {
	q := r.URL.Query()
	p := Page{Limit: DefaultPageSize}
	if t := queryFold(q, "$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n <= 0 {
			return p, BadRequest("InvalidQueryParameterValue", "The value '%s' of $top is not a positive integer.", t)
		}
		p.Limit = min(n, MaxPageSize)
	}
	if tok := queryFold(q, "$skipToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return p, BadRequest("InvalidSkipToken", "The $skipToken value is malformed.")
		}
		p.After = string(raw)
	}
	return p, nil
}

// NextLink builds the absolute https link to the page after key, carrying
// every query parameter of r (api-version among them).
func NextLink(r *http.Request, key string) string {
	q := r.URL.Query()
	for k := range q {
		if strings.EqualFold(k, "$skipToken") {
			q.Del(k)
		}
	}
	q.Set("$skipToken", base64.RawURLEncoding.EncodeToString([]byte(key)))
	return BaseURL(r) + (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String()
}

type baseURLKey struct{}

// WithBaseURL records the server's external base URL (its configured
// public URL, e.g. behind a reverse proxy) for the links it builds.
func WithBaseURL(r *http.Request, base string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), baseURLKey{}, strings.TrimRight(base, "/")))
}

// BaseURL is the external base URL of the server for absolute links:
// the one recorded by WithBaseURL, or https://<request host>.
func BaseURL(r *http.Request) string {
	if b, ok := r.Context().Value(baseURLKey{}).(string); ok && b != "" {
		return b
	}
	return "https://" + r.Host
}

// List is the ARM list envelope.
type List struct {
	Value    []json.RawMessage `json:"value"`
	NextLink string            `json:"nextLink,omitempty"`
}

// WriteList writes items as {"value":[…],"nextLink":…}; lastKey is the key
// of the last item when more may follow, "" otherwise.
func WriteList(w http.ResponseWriter, r *http.Request, items []json.RawMessage, lastKey string) {
	l := List{Value: items}
	if l.Value == nil {
		l.Value = []json.RawMessage{}
	}
	if lastKey != "" {
		l.NextLink = NextLink(r, lastKey)
	}
	WriteJSON(w, http.StatusOK, l)
}
