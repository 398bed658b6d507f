package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// APIError is an error answer of Sluice's API, with its ARM error code.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// recorder is an in-memory http.ResponseWriter for in-process API calls.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// apiRequest builds an in-process API request on behalf of the session of
// the portal request r. target is a path with its query (api-version…).
func (p *Portal) apiRequest(ctx context.Context, r *http.Request, method, target string, body io.Reader) (*http.Request, error) {
	s := sessionFrom(r.Context())
	if s == nil {
		return nil, &APIError{Status: http.StatusUnauthorized, Code: "AuthenticationFailed", Message: "Sign in first."}
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+r.Host+target, body)
	if err != nil {
		return nil, fmt.Errorf("build API request %s %s: %w", method, target, err)
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.TLS = r.TLS
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sluice-portal")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// call sends an in-process API request and returns the answer's status
// and body. Answers of 400 and above come back as *APIError.
func (p *Portal) call(r *http.Request, method, target string, in any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode API request body: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := p.apiRequest(r.Context(), r, method, target, body)
	if err != nil {
		return nil, err
	}
	rec := &recorder{header: http.Header{}}
	p.API.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 400 {
		return nil, decodeAPIError(rec.status, rec.body.Bytes())
	}
	return rec.body.Bytes(), nil
}

// getJSON calls the API with method and decodes its JSON answer into out
// (when out is not nil).
func (p *Portal) getJSON(r *http.Request, method, target string, in, out any) error {
	b, err := p.call(r, method, target, in)
	if err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode API answer of %s %s: %w", method, target, err)
	}
	return nil
}

// listAll follows an ARM list's nextLink pages (at most maxPages) and
// returns every value.
func (p *Portal) listAll(r *http.Request, target string, maxPages int) ([]json.RawMessage, error) {
	var all []json.RawMessage
	for i := 0; target != "" && i < maxPages; i++ {
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"nextLink"`
		}
		if err := p.getJSON(r, http.MethodGet, target, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Value...)
		target = ""
		if page.NextLink != "" {
			// nextLink is absolute; keep its path and query.
			if i := strings.Index(page.NextLink, "://"); i >= 0 {
				rest := page.NextLink[i+3:]
				if j := strings.IndexByte(rest, '/'); j >= 0 {
					target = rest[j:]
				}
			}
		}
	}
	return all, nil
}

func decodeAPIError(status int, b []byte) *APIError {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	e := &APIError{Status: status, Code: http.StatusText(status), Message: strings.TrimSpace(string(b))}
	if json.Unmarshal(b, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	}
	if len(e.Message) > 2000 {
		e.Message = e.Message[:2000] + "…"
	}
	return e
}

// stream sends an in-process API request whose answer is copied straight
// to w (CSV reports: constant memory whatever their size).
func (p *Portal) stream(w http.ResponseWriter, r *http.Request, target string) error {
	req, err := p.apiRequest(r.Context(), r, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", r.Header.Get("Accept"))
	p.API.ServeHTTP(w, req)
	return nil
}

// nextSkipToken extracts $skipToken from an ARM nextLink ("" when none).
func nextSkipToken(next string) string {
	if next == "" {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil {
		return ""
	}
	for k, vs := range u.Query() {
		if strings.EqualFold(k, "$skipToken") && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}
