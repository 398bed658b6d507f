package auth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"sluice/internal/auth"
	"sluice/internal/oidctest"
	"sluice/internal/server/servertest"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestExternalIssuer(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	oidc := oidctest.New(t)
	clock := &fakeClock{t: time.Now()}
	const aud = "api://sluice"
	ext := &auth.ExternalIssuer{TenantID: env.TenantID, Issuer: oidc.Issuer, Audience: aud, Client: oidc.Client(),
		MinRefetch: time.Minute, Now: clock.Now}
	env.Server.Router.Authn.(*auth.Authenticator).External = []*auth.ExternalIssuer{ext}

	user := uuid.NewString()
	resp, body := env.Do(http.MethodPut, "/subscriptions/"+prodSub+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2022-04-01",
		env.Token, map[string]any{"properties": map[string]any{"principalId": user,
			"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleReader}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("assign: %d %s", resp.StatusCode, body)
	}
	path := "/subscriptions/" + prodSub + "/providers/Microsoft.Security/automations?api-version=2023-12-01-preview"
	call := func(tok string) (int, string) {
		resp, body := env.Do(http.MethodGet, path, tok, nil)
		return resp.StatusCode, string(body)
	}
	good := map[string]any{"aud": aud, "tid": env.TenantID, "oid": user}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	if st, b := call(oidc.Token(good)); st != http.StatusOK {
		t.Fatalf("valid external token: %d %s", st, b)
	}
	// The built-in issuer still works beside it.
	if st, b := call(env.Token); st != http.StatusOK {
		t.Fatalf("built-in token: %d %s", st, b)
	}
	// sub stands in for oid (this one holds no role); no oid nor sub is 401.
	if st, _ := call(oidc.Token(with("oid", nil))); st != http.StatusUnauthorized {
		t.Errorf("token without oid or sub: %d, want 401", st)
	}
	if st, _ := call(oidc.Token(map[string]any{"aud": aud, "tid": env.TenantID, "sub": uuid.NewString()})); st != http.StatusForbidden {
		t.Errorf("token whose sub is unassigned: %d, want 403", st)
	}
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	bad := []struct {
		name, token, want string
	}{
		{"wrong audience", oidc.Token(with("aud", "api://other")), "audience"},
		{"wrong issuer", oidctest.SignWith(otherKey, "k", "https://evil.example", good), "issuer"},
		{"expired", oidc.Token(with("exp", time.Now().Add(-10*time.Minute).Unix())), "expired"},
		{"not yet valid", oidc.Token(with("nbf", time.Now().Add(10*time.Minute).Unix())), "not valid yet"},
		{"other tenant", oidc.Token(with("tid", uuid.NewString())), "tenant"},
		{"unknown key", oidctest.SignWith(otherKey, "kid-unknown", oidc.Issuer, good), "unknown signing key"},
		{"forged with a known kid", func() string {
			tok := oidc.Token(good)
			return tok[:strings.LastIndex(tok, ".")+1] + strings.Repeat("A", 342)
		}(), "signature"},
	}
	for _, c := range bad {
		st, b := call(c.token)
		if st != http.StatusUnauthorized || !strings.Contains(b, c.want) {
			t.Errorf("%s: %d %s, want 401 mentioning %q", c.name, st, b, c.want)
		}
	}
	// Skew: a token that expired a minute ago is still inside the bound.
	if st, b := call(oidc.Token(with("exp", time.Now().Add(-time.Minute).Unix()))); st != http.StatusOK {
		t.Errorf("inside clock skew: %d %s", st, b)
	}
	// Unknown kids refetch at most once per MinRefetch.
	reads := oidc.JWKSReads()
	clock.Add(2 * time.Minute)
	for range 3 {
		call(oidctest.SignWith(otherKey, uuid.NewString(), oidc.Issuer, good))
	}
	if got := oidc.JWKSReads() - reads; got != 1 {
		t.Errorf("JWKS reads for 3 unknown kids within a minute: %d, want 1", got)
	}
	// Rotation: the new key is picked up on its first token once the rate limit allows.
	oldTok := oidc.Token(good)
	if err := oidc.Rotate(false); err != nil {
		t.Fatal(err)
	}
	newTok := oidc.Token(good)
	if st, _ := call(newTok); st != http.StatusUnauthorized {
		t.Errorf("rotated key inside the refetch limit: %d, want 401", st)
	}
	clock.Add(2 * time.Minute)
	if st, b := call(newTok); st != http.StatusOK {
		t.Errorf("rotated key after the limit: %d %s", st, b)
	}
	if st, _ := call(oldTok); st != http.StatusUnauthorized {
		t.Errorf("withdrawn key: %d, want 401", st)
	}
	// A rollover keeps the old key valid.
	clock.Add(2 * time.Minute)
	keep := oidc.Token(good)
	if err := oidc.Rotate(true); err != nil {
		t.Fatal(err)
	}
	if st, b := call(oidc.Token(good)); st != http.StatusOK {
		t.Errorf("rollover new key: %d %s", st, b)
	}
	if st, b := call(keep); st != http.StatusOK {
		t.Errorf("rollover old key: %d %s", st, b)
	}
}

func TestExternalIssuerDiscovery(t *testing.T) {
	oidc := oidctest.New(t)
	ext := &auth.ExternalIssuer{TenantID: uuid.NewString(), Issuer: oidc.Issuer, Audience: "a", Client: oidc.Client()}
	p, err := ext.Verify(t.Context(), oidc.Token(map[string]any{"aud": "a", "oid": "OID-1"}))
	if err != nil || p.ObjectID != "oid-1" || p.TenantID != strings.ToLower(ext.TenantID) {
		t.Fatalf("verify through discovery: %v %+v", err, p)
	}
	// An unreachable issuer is an error, not a panic.
	down := &auth.ExternalIssuer{TenantID: ext.TenantID, Issuer: "https://127.0.0.1:1", Audience: "a"}
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	if _, err := down.Verify(t.Context(), oidctest.SignWith(key, "k", "https://127.0.0.1:1", map[string]any{"aud": "a", "oid": "x"})); err == nil {
		t.Error("unreachable issuer: no error")
	}
}
