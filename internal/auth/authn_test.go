package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"sluice/internal/auth"
	"sluice/internal/server/servertest"
)

const (
	listSubs = "/subscriptions?api-version=2022-12-01"
	// demoSub is the demo estate's production subscription.
	demoSub = "6a1c2c4e-5b9f-4d1e-9a7b-1f2e3d4c5b6a"
)

var (
	otherKeyOnce sync.Once
	otherKey     *rsa.PrivateKey
)

// foreignKey is an RSA key that is not the server's (shared by the tests:
// generating 2048-bit keys is slow under -race).
func foreignKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	otherKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		otherKey = k
	})
	return otherKey
}

// serverKID reads the key id the server publishes in its JWKS.
func serverKID(t *testing.T, env *servertest.Env) string {
	t.Helper()
	resp, body := env.Do("GET", "/.well-known/jwks.json", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("jwks: %d %s", resp.StatusCode, body)
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) != 1 || set.Keys[0].Kid == "" {
		t.Fatalf("jwks %s: %v", body, err)
	}
	return set.Keys[0].Kid
}

// sign builds a token with the given header fields and claims.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

func TestTokenRejection(t *testing.T) {
	env := servertest.New(t)
	key, ok := env.Server.Issuer.Signer().(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("the issuer's signer is %T, want *rsa.PrivateKey", env.Server.Issuer.Signer())
	}
	kid := serverKID(t, env)
	iss, aud := env.Server.Issuer.Issuer(), env.Server.Issuer.Audience()
	now := time.Now()
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": iss, "aud": aud, "tid": env.TenantID, "oid": env.AdminID, "sub": env.AdminID,
			"iat": now.Add(-5 * time.Minute).Unix(), "nbf": now.Add(-5 * time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	good := sign(t, jwt.SigningMethodRS256, key, kid, claims(nil))
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims(nil))
	other := auth.NewIssuer(foreignKey(t), iss, aud)
	otherTok, err := other.Mint(env.TenantID, env.AdminID, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Same claims and header as a good token, but the payload says another
	// principal: the signature no longer matches.
	parts := strings.Split(good, ".")
	forged := claims(func(c jwt.MapClaims) { c["oid"] = uuid.NewString() })
	payload, _ := json.Marshal(forged)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]

	tests := []struct {
		name   string
		header string // the whole Authorization header; "" sends none
	}{
		{"missing_header", ""},
		{"basic_scheme", "Basic dXNlcjpwYXNzd29yZA=="},
		{"bearer_without_token", "Bearer"},
		{"bearer_blank_token", "Bearer    "},
		{"token_without_scheme", good},
		{"malformed_one_part", "Bearer not-a-jwt"},
		{"malformed_bad_base64", "Bearer a.b.c"},
		{"malformed_json_header", "Bearer " + base64.RawURLEncoding.EncodeToString([]byte("{")) + "." + parts[1] + "." + parts[2]},
		{"expired", "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-10*time.Minute).Unix()
		}))},
		{"not_yet_valid", "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(10 * time.Minute).Unix() }))},
		{"issued_in_the_future", "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) { c["iat"] = now.Add(10 * time.Minute).Unix() }))},
		{"no_expiry", "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) { delete(c, "exp") }))},
		{"wrong_key_other_issuer_same_iss_aud", "Bearer " + otherTok},
		{"wrong_key_with_server_kid", "Bearer " + sign(t, jwt.SigningMethodRS256, foreignKey(t), kid, claims(nil))},
		{"wrong_key_without_kid", "Bearer " + sign(t, jwt.SigningMethodRS256, foreignKey(t), "", claims(nil))},
		{"tampered_payload", "Bearer " + tampered},
		{"wrong_audience", "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) { c["aud"] = "https://management.azure.com/" }))},
		{"no_audience", "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) { delete(c, "aud") }))},
		{"wrong_issuer", "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) { c["iss"] = "https://sts.windows.net/" + env.TenantID + "/" }))},
		{"no_issuer", "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) { delete(c, "iss") }))},
		{"no_tenant", "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) { delete(c, "tid") }))},
		{"no_object_id", "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) { delete(c, "oid") }))},
		{"alg_none", "Bearer " + none},
		{"alg_none_unsigned_good_claims", "Bearer " + base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."},
		{"hs256_public_key_pem_as_secret", "Bearer " + sign(t, jwt.SigningMethodHS256, pubPEM, kid, claims(nil))},
		{"hs256_public_key_der_as_secret", "Bearer " + sign(t, jwt.SigningMethodHS256, pubDER, kid, claims(nil))},
		{"rs512_with_the_right_key", "Bearer " + sign(t, jwt.SigningMethodRS512, key, kid, claims(nil))},
		{"ps256_with_the_right_key", "Bearer " + sign(t, jwt.SigningMethodPS256, key, kid, claims(nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", env.URL+listSubs, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := env.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401", resp.StatusCode)
			}
			if err != nil {
				t.Fatalf("body is not an ARM error: %v", err)
			}
			switch body.Error.Code {
			case "AuthenticationFailed", "InvalidAuthenticationToken":
			default:
				t.Errorf("code = %q, want AuthenticationFailed or InvalidAuthenticationToken", body.Error.Code)
			}
			if body.Error.Message == "" {
				t.Error("empty message")
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			ch := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(ch, "Bearer ") || !strings.Contains(ch, `error="`) {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge with an error", ch)
			}
			if tok := strings.TrimPrefix(tt.header, "Bearer "); len(tok) > 20 &&
				(strings.Contains(body.Error.Message, tok) || strings.Contains(ch, tok)) {
				t.Error("the token is echoed back")
			}
		})
	}

	// Within the two-minute clock skew, and with a lower-case scheme, the
	// same server accepts: the rejections above are about the tokens.
	for name, header := range map[string]string{
		"good":                   "Bearer " + good,
		"lower_case_scheme":      "bearer " + good,
		"expired_within_skew":    "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })),
		"audience_without_slash": "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) { c["aud"] = strings.TrimSuffix(aud, "/") })),
		"audience_in_a_list":     "Bearer " + sign(t, jwt.SigningMethodRS256, key, kid, claims(func(c jwt.MapClaims) { c["aud"] = []string{"urn:other", aud} })),
		"minted_by_issuer":       "Bearer " + env.Token,
	} {
		req, _ := http.NewRequest("GET", env.URL+listSubs, nil)
		req.Header.Set("Authorization", header)
		resp, err := env.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status = %d, want 200", name, resp.StatusCode)
		}
	}
}

func TestAuthorizationOverHTTP(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	nobody := env.TokenFor(env.TenantID, uuid.NewString())
	foreign := env.TokenFor(uuid.NewString(), uuid.NewString())
	tests := []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"admin_lists_subscriptions", listSubs, env.Token, 200, ""},
		{"admin_reads_subscription", "/subscriptions/" + demoSub + "?api-version=2022-12-01", env.Token, 200, ""},
		{"admin_reads_root_group", "/providers/Microsoft.Management/managementGroups/" + env.TenantID + "?api-version=2021-04-01", env.Token, 200, ""},
		{"no_rights_reads_subscription", "/subscriptions/" + demoSub + "?api-version=2022-12-01", nobody, 403, "AuthorizationFailed"},
		{"no_rights_lists_groups_of_subscription", "/subscriptions/" + demoSub + "/resourcegroups?api-version=2021-04-01", nobody, 403, "AuthorizationFailed"},
		{"no_rights_reads_root_group", "/providers/Microsoft.Management/managementGroups/" + env.TenantID + "?api-version=2021-04-01", nobody, 403, "AuthorizationFailed"},
		{"other_tenant_reads_subscription", "/subscriptions/" + demoSub + "?api-version=2022-12-01", foreign, 401, "InvalidAuthenticationTokenTenant"},
		{"health_needs_no_token", "/healthz", "", 200, ""},
		{"discovery_needs_no_token", "/.well-known/openid-configuration", "", 200, ""},
		{"jwks_needs_no_token", "/.well-known/jwks.json", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.Do("GET", tt.path, tt.token, nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d %s, want %d", resp.StatusCode, body, tt.status)
			}
			if tt.code != "" {
				if got := servertest.ErrorCode(body); got != tt.code {
					t.Errorf("code = %q, want %q (%s)", got, tt.code, body)
				}
			}
		})
	}

	// A principal without rights sees an empty subscription list, not an
	// error: the list filters by the caller's rights.
	resp, body := env.Do("GET", listSubs, nobody, nil)
	var l struct {
		Value []json.RawMessage `json:"value"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &l) != nil || len(l.Value) != 0 {
		t.Errorf("list for a principal without rights = %d %s, want 200 with no subscriptions", resp.StatusCode, body)
	}
}

// TestTokenRejectionWithSDK drives the real armsubscriptions client with
// bad credentials: the SDK must see a 401 it can interpret.
func TestTokenRejectionWithSDK(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	expired := func() string {
		key := env.Server.Issuer.Signer().(*rsa.PrivateKey)
		c := jwt.MapClaims{"iss": env.Server.Issuer.Issuer(), "aud": env.Server.Issuer.Audience(), "tid": env.TenantID,
			"oid": env.AdminID, "iat": time.Now().Add(-3 * time.Hour).Unix(), "exp": time.Now().Add(-2 * time.Hour).Unix()}
		return sign(t, jwt.SigningMethodRS256, key, serverKID(t, env), c)
	}()
	for name, tok := range map[string]string{"expired": expired, "garbage": "x.y.z"} {
		c, err := armsubscriptions.NewClient(servertest.Credential(tok), env.ARMOptions())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Get(context.Background(), demoSub, nil)
		var re *azcore.ResponseError
		if !errors.As(err, &re) {
			t.Fatalf("%s: error %v is not an azcore.ResponseError", name, err)
		}
		if re.StatusCode != http.StatusUnauthorized || re.ErrorCode != "InvalidAuthenticationToken" {
			t.Errorf("%s: SDK saw %d %q, want 401 InvalidAuthenticationToken", name, re.StatusCode, re.ErrorCode)
		}
	}
	c, err := armsubscriptions.NewClient(env.Cred(), env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(context.Background(), demoSub, nil)
	if err != nil {
		t.Fatalf("admin Get: %v", err)
	}
	if got.SubscriptionID == nil || *got.SubscriptionID != demoSub {
		t.Errorf("admin Get returned %+v", got.Subscription)
	}
}
