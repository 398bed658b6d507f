package armapi_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/auth"
	"sluice/internal/estate"
	"sluice/internal/store"
	"sluice/internal/store/sqlite"
)

const (
	tenantID = "11111111-2222-4333-8444-555555555555"
	adminID  = "aaaaaaaa-0000-4000-8000-000000000001"
	rgUserID = "aaaaaaaa-0000-4000-8000-000000000002"
	subID    = "6a1c2c4e-5b9f-4d1e-9a7b-1f2e3d4c5b6a"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// signingKey returns one RSA key shared by the package's tests (generating
// a 2048-bit key per test would dominate the run time under -race).
func signingKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

// fixture is a router wired to the real authenticator (built-in issuer) and
// the real RBAC over an SQLite store holding a small estate: one tenant,
// one subscription with groups rg1 and rg10, an Owner at the tenant root and
// a Reader on rg1 only.
type fixture struct {
	t      testing.TB
	store  *sqlite.DB
	issuer *auth.Issuer
	router *armapi.Router
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := estate.CreateTenant(ctx, tx, tenantID, "Test"); err != nil {
			return err
		}
		if err := estate.PutSubscription(ctx, tx, &estate.Subscription{SubscriptionID: subID, DisplayName: "s",
			TenantID: tenantID, ManagementGroupID: tenantID, State: "Enabled"}); err != nil {
			return err
		}
		for _, rg := range []string{"rg1", "rg10"} {
			if err := estate.PutResourceGroup(ctx, tx, subID, &estate.ResourceGroup{Name: rg, Location: "westeurope"}); err != nil {
				return err
			}
		}
		for _, ra := range []*auth.RoleAssignment{
			{ID: estate.GroupID(tenantID) + "/providers/Microsoft.Authorization/roleAssignments/a1", Scope: estate.GroupID(tenantID),
				PrincipalID: adminID, TenantID: tenantID, RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleOwner},
			{ID: "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Authorization/roleAssignments/a2",
				Scope: "/subscriptions/" + subID + "/resourceGroups/rg1", PrincipalID: rgUserID, TenantID: tenantID,
				RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/" + auth.RoleReader},
		} {
			if err := auth.PutRoleAssignment(ctx, tx, ra); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed estate: %v", err)
	}
	iss := auth.NewIssuer(signingKey(t), auth.DefaultIssuer, auth.DefaultAudience)
	rt := &armapi.Router{
		Authn: &auth.Authenticator{Issuer: iss},
		Authz: &auth.RBAC{Store: st, Resolver: &estate.Service{Store: st}},
	}
	return &fixture{t: t, store: st, issuer: iss, router: rt}
}

func (f *fixture) token(objectID string) string {
	f.t.Helper()
	tok, err := f.issuer.Mint(tenantID, objectID, "", time.Hour)
	if err != nil {
		f.t.Fatalf("mint: %v", err)
	}
	return tok
}

// serve sends one request through armapi.Middleware and the router.
func serve(h http.Handler, method, target, token string, body io.Reader, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	armapi.Middleware(quietLog(), h).ServeHTTP(rec, req)
	return rec
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// echo is a handler that answers 200 with the named path values.
func echo(names ...string) armapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		vals := map[string]string{}
		for _, n := range names {
			vals[n] = r.PathValue(n)
		}
		armapi.WriteJSON(w, http.StatusOK, vals)
		return nil
	}
}

func hasAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
