package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/store"
)

// KindServicePrincipal is the store kind of registered service principals
// (key: the application (client) id).
const KindServicePrincipal = "serviceprincipal"

// Service principal routes and their permissions (a Sluice extension: Entra
// ID's application registry has no ARM API).
const (
	ServicePrincipalsPath = "/providers/Sluice.Identity/servicePrincipals"
	PermSPWrite           = "Sluice.Identity/servicePrincipals/write"
	PermSPRead            = "Sluice.Identity/servicePrincipals/read"
	PermSPDelete          = "Sluice.Identity/servicePrincipals/delete"
	// TokenLifetime is the lifetime of client-credentials tokens.
	TokenLifetime = time.Hour
)

// VersionsIdentity are the api-versions of the servicePrincipals routes.
var VersionsIdentity = []string{"2024-01-01"}

// ServicePrincipal is a registered application identity. Only a hash of
// its client secret is kept.
type ServicePrincipal struct {
	TenantID    string    `json:"tenantId"`
	ObjectID    string    `json:"objectId"`
	AppID       string    `json:"appId"`
	DisplayName string    `json:"displayName"`
	SecretHash  string    `json:"secretHash"`
	Created     time.Time `json:"created"`
}

// Identity serves service principal registration and the OAuth 2.0
// client-credentials token endpoint of the built-in issuer.
type Identity struct {
	Store  store.Store
	Issuer *Issuer
}

func tenantRootOfCaller(r *http.Request) string {
	p := FromContext(r.Context())
	if p == nil {
		return ""
	}
	return "/providers/Microsoft.Management/managementGroups/" + p.TenantID
}

// Register adds the identity routes to rt.
func (id *Identity) Register(rt *armapi.Router) {
	item := ServicePrincipalsPath + "/{objectId}"
	rt.Handle(armapi.Route{Method: http.MethodPut, Pattern: item, APIVersions: VersionsIdentity, Permission: PermSPWrite, Scope: tenantRootOfCaller, Handler: id.put})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: item, APIVersions: VersionsIdentity, Permission: PermSPRead, Scope: tenantRootOfCaller, Handler: id.get})
	rt.Handle(armapi.Route{Method: http.MethodDelete, Pattern: item, APIVersions: VersionsIdentity, Permission: PermSPDelete, Scope: tenantRootOfCaller, Handler: id.delete})
	rt.Handle(armapi.Route{Method: http.MethodPost, Pattern: "/{tenantId}/oauth2/v2.0/token", Public: true, Handler: id.token})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: "/{tenantId}/v2.0/.well-known/openid-configuration", Public: true, Handler: id.discovery})
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

type spJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		TenantID     string `json:"tenantId"`
		AppID        string `json:"appId"`
		DisplayName  string `json:"displayName"`
		ClientSecret string `json:"clientSecret,omitempty"`
	} `json:"properties"`
}

func renderSP(sp *ServicePrincipal, secret string) *spJSON {
	out := &spJSON{ID: ServicePrincipalsPath + "/" + sp.ObjectID, Name: sp.ObjectID, Type: "Sluice.Identity/servicePrincipals"}
	out.Properties.TenantID, out.Properties.AppID, out.Properties.DisplayName = sp.TenantID, sp.AppID, sp.DisplayName
	out.Properties.ClientSecret = secret
	return out
}

// findSP returns the caller's tenant's service principal with the object id.
func (id *Identity) findSP(ctx context.Context, r store.Reader, tenant, objectID string) (*ServicePrincipal, error) {
	recs, err := r.List(ctx, store.ListOptions{Kind: KindServicePrincipal, Parent: strings.ToLower(tenant)})
	if err != nil {
		return nil, fmt.Errorf("list service principals: %w", err)
	}
	for _, rec := range recs {
		var sp ServicePrincipal
		if err := json.Unmarshal(rec.Body, &sp); err != nil {
			return nil, fmt.Errorf("decode service principal %s: %w", rec.Key, err)
		}
		if strings.EqualFold(sp.ObjectID, objectID) {
			return &sp, nil
		}
	}
	return nil, store.ErrNotFound
}

func putSP(ctx context.Context, tx store.Tx, sp *ServicePrincipal) error {
	body, err := json.Marshal(sp)
	if err != nil {
		return err
	}
	return tx.Put(ctx, &store.Record{Kind: KindServicePrincipal, Key: strings.ToLower(sp.AppID), ID: sp.AppID,
		Parent: strings.ToLower(sp.TenantID), Body: body})
}

func newSecret() (string, error) {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// put registers a service principal (201 with its client secret, shown only
// then) or renames an existing one (200, no secret). ?regenerateSecret=true
// issues a new secret, invalidating the old one.
func (id *Identity) put(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	caller := FromContext(ctx)
	oid := strings.ToLower(r.PathValue("objectId"))
	if !armid.IsGUID(oid) {
		return armapi.BadRequest("InvalidObjectId", "The object id '%s' is not a GUID.", r.PathValue("objectId"))
	}
	var req struct {
		Properties struct {
			DisplayName string `json:"displayName"`
		} `json:"properties"`
	}
	if err := armapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	name := strings.TrimSpace(req.Properties.DisplayName)
	if name == "" || len(name) > 256 {
		return armapi.BadRequest("InvalidDisplayName", "properties.displayName must have 1 to 256 characters.")
	}
	regenerate := strings.EqualFold(r.URL.Query().Get("regenerateSecret"), "true")
	var out *ServicePrincipal
	secret, status := "", http.StatusOK
	err := id.Store.Update(ctx, func(tx store.Tx) error {
		sp, err := id.findSP(ctx, tx, caller.TenantID, oid)
		switch {
		case errors.Is(err, store.ErrNotFound):
			sp = &ServicePrincipal{TenantID: caller.TenantID, ObjectID: oid, AppID: uuid.NewString(), Created: time.Now().UTC()}
			status, regenerate = http.StatusCreated, true
		case err != nil:
			return err
		}
		sp.DisplayName = name
		if regenerate {
			if secret, err = newSecret(); err != nil {
				return fmt.Errorf("generate client secret: %w", err)
			}
			sp.SecretHash = hashSecret(secret)
		}
		out = sp
		return putSP(ctx, tx, sp)
	})
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, status, renderSP(out, secret))
	return nil
}

func (id *Identity) get(w http.ResponseWriter, r *http.Request) error {
	sp, err := id.findSP(r.Context(), id.Store, FromContext(r.Context()).TenantID, r.PathValue("objectId"))
	if errors.Is(err, store.ErrNotFound) {
		return armapi.NotFound("ServicePrincipalNotFound", "The service principal '%s' was not found.", r.PathValue("objectId"))
	}
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, renderSP(sp, ""))
	return nil
}

func (id *Identity) delete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	found := false
	err := id.Store.Update(ctx, func(tx store.Tx) error {
		sp, err := id.findSP(ctx, tx, FromContext(ctx).TenantID, r.PathValue("objectId"))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		_, err = tx.Delete(ctx, KindServicePrincipal, strings.ToLower(sp.AppID))
		return err
	})
	if err != nil {
		return err
	}
	if !found {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// LookupServicePrincipal returns a registered service principal by object
// id within a tenant (store.ErrNotFound if none).
func LookupServicePrincipal(ctx context.Context, r store.Reader, tenant, objectID string) (*ServicePrincipal, error) {
	return (&Identity{}).findSP(ctx, r, tenant, objectID)
}

// oauthError writes an OAuth 2.0 error response (RFC 6749 §5.2) with the
// Entra-style error code in error_codes.
func oauthError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	armapi.WriteJSON(w, status, map[string]any{"error": code,
		"error_description": fmt.Sprintf("AADSTS%d: %s", aadsts, desc), "error_codes": []int{aadsts},
		"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z")})
}

// token implements the client-credentials grant at
// /{tenantId}/oauth2/v2.0/token.
func (id *Identity) token(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded.")
		return nil
	}
	tenant := strings.ToLower(r.PathValue("tenantId"))
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The grant type '%s' is not supported; use client_credentials.", gt))
		return nil
	}
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if clientID == "" || secret == "" {
		if u, p, ok := r.BasicAuth(); ok {
			clientID, secret = u, p
		}
	}
	if clientID == "" || secret == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain client_id and client_secret.")
		return nil
	}
	// MSAL adds the OpenID scopes; exactly one resource/.default must remain.
	scope := ""
	for _, s := range strings.Fields(r.PostForm.Get("scope")) {
		switch s {
		case "openid", "offline_access", "profile", "email":
		default:
			if scope != "" {
				scope = r.PostForm.Get("scope")
				break
			}
			scope = s
		}
	}
	resource := strings.TrimSuffix(strings.TrimSuffix(scope, "/.default"), "/")
	if !strings.HasSuffix(scope, "/.default") || !strings.EqualFold(resource, strings.TrimSuffix(id.Issuer.Audience(), "/")) {
		oauthError(w, http.StatusBadRequest, "invalid_scope", 500011,
			fmt.Sprintf("The scope '%s' is not valid; request '%s/.default'.", scope, strings.TrimSuffix(id.Issuer.Audience(), "/")))
		return nil
	}
	rec, err := id.Store.Get(r.Context(), KindServicePrincipal, strings.ToLower(clientID))
	var sp ServicePrincipal
	if err == nil {
		err = json.Unmarshal(rec.Body, &sp)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil || !strings.EqualFold(sp.TenantID, tenant) {
		oauthError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, tenant))
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(sp.SecretHash)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided.")
		return nil
	}
	tok, err := id.Issuer.MintApp(sp.TenantID, sp.ObjectID, sp.DisplayName, sp.AppID, TokenLifetime)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	secs := int(TokenLifetime / time.Second)
	armapi.WriteJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
	return nil
}

// discovery serves the tenant's OpenID Connect configuration (what MSAL
// reads before it asks for a token).
func (id *Identity) discovery(w http.ResponseWriter, r *http.Request) error {
	base := strings.TrimSuffix(armapi.BaseURL(r), "/")
	tenant := url(r.PathValue("tenantId"))
	armapi.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base + "/" + tenant + "/v2.0",
		"token_endpoint":                        base + "/" + tenant + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/" + tenant + "/oauth2/v2.0/authorize",
		"jwks_uri":                              base + "/.well-known/jwks.json",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"grant_types_supported":                 []string{"client_credentials"},
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"tenant_region_scope":                   nil,
	})
	return nil
}

// url keeps a path value safe to embed in a URL (tenant ids are GUIDs or
// domain names).
func url(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c < 128 && (c == '-' || c == '.' || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Registered reports whether a principal is known in a tenant: a
// registered service principal, or a holder of some role assignment.
func Registered(ctx context.Context, r store.Reader, tenant, objectID string) (bool, error) {
	if _, err := (&Identity{}).findSP(ctx, r, tenant, objectID); err == nil {
		return true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	n, err := r.Count(ctx, store.ListOptions{Kind: KindRoleAssignment, Parent: PrincipalKey(tenant, objectID)})
	if err != nil {
		return false, fmt.Errorf("read role assignments: %w", err)
	}
	return n > 0, nil
}
