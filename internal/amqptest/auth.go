package amqptest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Token types of a $cbs put-token request.
const (
	TokenTypeSAS = "servicebus.windows.net:sastoken"
	TokenTypeJWT = "jwt"
)

// Key is a shared access policy: a named key and the rights it grants.
type Key struct {
	Name, Value string
	// Send and Listen are the policy's rights (Manage implies both).
	Send, Listen bool
}

// claim is what a connection gained from a put-token (or SASL PLAIN): the
// right to use entities under path until expires.
type claim struct {
	path         string // lower-case entity path ("" covers the namespace)
	expires      time.Time
	send, listen bool
}

func (c claim) covers(entity string) bool {
	return c.path == "" || entity == c.path || strings.HasPrefix(entity, c.path+"/")
}

// authError is a refused token: a status code for $cbs and a condition for
// links.
type authError struct {
	status int32
	msg    string
}

func (e *authError) Error() string { return e.msg }

func unauthorized(format string, args ...any) *authError {
	return &authError{status: 401, msg: fmt.Sprintf(format, args...)}
}

// SignSAS builds a shared access signature for resource (a URI such as
// "amqp://host:port/hub"), signed with key and expiring at expiry, in the
// form Event Hubs clients send.
func SignSAS(resource, keyName, key string, expiry time.Time) string {
	sr := strings.ToLower(url.QueryEscape(resource))
	se := strconv.FormatInt(expiry.Unix(), 10)
	return fmt.Sprintf("SharedAccessSignature sr=%s&sig=%s&se=%s&skn=%s", sr, url.QueryEscape(sasSignature(key, sr, se)), se, keyName)
}

func sasSignature(key, sr, se string) string {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(sr + "\n" + se))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// entityPath normalises an audience or resource URI to its lower-case
// entity path: "amqp://Host:1/Hub/Partitions/0" → "hub/partitions/0".
func entityPath(uri string) string {
	s := strings.ToLower(strings.TrimSpace(uri))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
		if j := strings.IndexByte(s, '/'); j >= 0 {
			s = s[j+1:]
		} else {
			s = ""
		}
	}
	return strings.Trim(s, "/")
}

// verifySAS checks a shared access signature against the server's keys:
// known key name, valid HMAC-SHA256 signature, not expired, and a resource
// that covers entity (an entity path).
func (s *Server) verifySAS(token, entity string) (claim, error) {
	const prefix = "SharedAccessSignature "
	if !strings.HasPrefix(token, prefix) {
		return claim{}, unauthorized("InvalidToken: the token is not a SharedAccessSignature")
	}
	var sr, sig, se, skn string
	for _, part := range strings.Split(strings.TrimPrefix(token, prefix), "&") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "sr":
			sr = v
		case "sig":
			sig = v
		case "se":
			se = v
		case "skn":
			skn = v
		}
	}
	if sr == "" || sig == "" || se == "" || skn == "" {
		return claim{}, unauthorized("InvalidToken: the SharedAccessSignature lacks sr, sig, se or skn")
	}
	var key *Key
	for i := range s.keys {
		if s.keys[i].Name == skn {
			key = &s.keys[i]
		}
	}
	if key == nil {
		return claim{}, unauthorized("InvalidIssuer: the shared access policy %q does not exist", skn)
	}
	rawSig, err := url.QueryUnescape(sig)
	if err != nil {
		return claim{}, unauthorized("InvalidSignature: the signature is not URL-encoded")
	}
	want := sasSignature(key.Value, sr, se)
	if !hmac.Equal([]byte(rawSig), []byte(want)) {
		return claim{}, unauthorized("InvalidSignature: the token has an invalid signature (wrong key for policy %q)", skn)
	}
	exp, err := strconv.ParseInt(se, 10, 64)
	if err != nil {
		return claim{}, unauthorized("InvalidToken: the expiry %q is not a number", se)
	}
	expires := time.Unix(exp, 0)
	if !s.now().Before(expires) {
		return claim{}, unauthorized("ExpiredToken: the token expired at %s", expires.UTC().Format(time.RFC3339))
	}
	resource, err := url.QueryUnescape(sr)
	if err != nil {
		return claim{}, unauthorized("InvalidAudience: the resource is not URL-encoded")
	}
	path := entityPath(resource)
	c := claim{path: path, expires: expires, send: key.Send, listen: key.Listen}
	if !c.covers(entity) {
		return claim{}, unauthorized("InvalidAudience: the token's resource %q does not cover %q", resource, entity)
	}
	return c, nil
}

// verifyToken checks a token of either type for entity.
func (s *Server) verifyToken(typ, token, entity string, expiry string) (claim, error) {
	if typ == TokenTypeJWT || (typ == "" && !strings.HasPrefix(token, "SharedAccessSignature ")) {
		if s.opts.AcceptJWT == nil {
			return claim{}, unauthorized("InvalidToken: JSON web tokens are not accepted here")
		}
		if err := s.opts.AcceptJWT(token); err != nil {
			return claim{}, unauthorized("InvalidToken: the JSON web token was refused: %v", err)
		}
		c := claim{path: entity, send: true, listen: true}
		if n, err := strconv.ParseInt(expiry, 10, 64); err == nil && n > 0 {
			c.expires = time.Unix(n, 0)
		}
		return c, nil
	}
	if typ != "" && typ != TokenTypeSAS {
		return claim{}, unauthorized("InvalidToken: unsupported token type %q", typ)
	}
	return s.verifySAS(token, entity)
}
