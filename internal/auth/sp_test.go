package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"

	"sluice/internal/auth"
	"sluice/internal/server/servertest"
)

func registerSP(t *testing.T, env *servertest.Env, oid string) (appID, secret string) {
	t.Helper()
	resp, body := env.Do(http.MethodPut, auth.ServicePrincipalsPath+"/"+oid+"?api-version=2024-01-01", env.Token,
		map[string]any{"properties": map[string]any{"displayName": "exporter"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %s", resp.StatusCode, body)
	}
	var v struct {
		Properties struct{ AppID, ClientSecret string }
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Properties.AppID == "" || len(v.Properties.ClientSecret) < 32 {
		t.Fatalf("register body: %v %s", err, body)
	}
	return v.Properties.AppID, v.Properties.ClientSecret
}

func TestClientCredentialsWithAzidentity(t *testing.T) {
	env := servertest.New(t, servertest.WithDemo())
	ctx := context.Background()
	oid := uuid.NewString()
	appID, secret := registerSP(t, env, oid)

	// The secret is shown once: GET and a re-PUT do not return it, and the store keeps only a hash.
	resp, body := env.Do(http.MethodGet, auth.ServicePrincipalsPath+"/"+oid+"?api-version=2024-01-01", env.Token, nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), secret) || strings.Contains(string(body), "clientSecret") {
		t.Errorf("get: %d %s", resp.StatusCode, body)
	}
	resp, body = env.Do(http.MethodPut, auth.ServicePrincipalsPath+"/"+oid+"?api-version=2024-01-01", env.Token,
		map[string]any{"properties": map[string]any{"displayName": "renamed"}})
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "clientSecret") {
		t.Errorf("re-put: %d %s", resp.StatusCode, body)
	}
	rec, err := env.Server.Store.Get(ctx, auth.KindServicePrincipal, appID)
	if err != nil || strings.Contains(string(rec.Body), secret) {
		t.Errorf("stored record: %v (must not hold the secret)", err)
	}

	cred, err := azidentity.NewClientSecretCredential(env.TenantID, appID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: env.URL + "/"},
			Transport: env.Client,
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The principal has no role yet: the token works, the call is forbidden.
	ras, err := armauthorization.NewRoleAssignmentsClient(prodSub, cred, env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	scope := "/subscriptions/" + prodSub
	_, err = ras.Get(ctx, scope, uuid.NewString(), nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		t.Fatalf("call without a role: %v", err)
	}
	// Grant it Reader on the subscription; the same credential now reads.
	admin, _ := armauthorization.NewRoleAssignmentsClient(prodSub, env.Cred(), env.ARMOptions())
	name := uuid.NewString()
	if _, err := admin.Create(ctx, scope, name, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID: to.Ptr(oid), PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
		RoleDefinitionID: to.Ptr("/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleReader)}}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := ras.Get(ctx, scope, name, nil)
	if err != nil || *got.Properties.PrincipalID != oid {
		t.Fatalf("call with Reader: %v", err)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{env.Server.Issuer.Audience() + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := env.Server.Issuer.Verify(tok.Token)
	if err != nil || c.ObjectID != oid || c.AppID != appID || !strings.EqualFold(c.TenantID, env.TenantID) {
		t.Errorf("token claims: %v %+v", err, c)
	}

	// Wrong secret, unknown client, wrong tenant, bad grant: OAuth errors without the secret.
	post := func(tenant string, form url.Values) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, env.URL+"/"+tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := env.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v.Error
	}
	form := func(id, sec string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec},
			"scope": {env.Server.Issuer.Audience() + "/.default"}}
	}
	cases := []struct {
		name, tenant string
		form         url.Values
		status       int
		code         string
	}{
		{"ok", env.TenantID, form(appID, secret), 200, ""},
		{"wrong secret", env.TenantID, form(appID, secret+"x"), 401, "invalid_client"},
		{"unknown client", env.TenantID, form(uuid.NewString(), secret), 400, "unauthorized_client"},
		{"other tenant", uuid.NewString(), form(appID, secret), 400, "unauthorized_client"},
		{"bad scope", env.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret}, "scope": {"https://x/.default"}}, 400, "invalid_scope"},
		{"password grant", env.TenantID, url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
	}
	for _, c := range cases {
		if st, code := post(c.tenant, c.form); st != c.status || code != c.code {
			t.Errorf("%s: %d %q, want %d %q", c.name, st, code, c.status, c.code)
		}
	}
	// Regenerating the secret invalidates the old one.
	resp, body = env.Do(http.MethodPut, auth.ServicePrincipalsPath+"/"+oid+"?api-version=2024-01-01&regenerateSecret=true", env.Token,
		map[string]any{"properties": map[string]any{"displayName": "renamed"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "clientSecret") {
		t.Errorf("regenerate: %d", resp.StatusCode)
	}
	if st, code := post(env.TenantID, form(appID, secret)); st != 401 || code != "invalid_client" {
		t.Errorf("old secret after regeneration: %d %s", st, code)
	}
	// Registering needs the write permission at the tenant root.
	stranger := env.TokenFor(env.TenantID, uuid.NewString())
	resp, _ = env.Do(http.MethodPut, auth.ServicePrincipalsPath+"/"+uuid.NewString()+"?api-version=2024-01-01", stranger,
		map[string]any{"properties": map[string]any{"displayName": "x"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("stranger registering: %d", resp.StatusCode)
	}
}
