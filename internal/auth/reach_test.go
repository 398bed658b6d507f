package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/auth"
	"sluice/internal/estate"
	"sluice/internal/store"
	"sluice/internal/store/sqlite"
)

func as(tenant, principal string) context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{TenantID: tenant, ObjectID: principal})
}

func TestReach(t *testing.T) {
	a := newRBAC(t)
	tests := []struct {
		name, principal, tenant, permission, scope string
		all                                        bool
		scopes                                     []string
		status                                     int
		code                                       string
	}{
		{name: "subscription contributor", principal: pS1Contributor, permission: readAuto, scope: sub(subS1), all: true},
		{name: "group assignment above", principal: pMgBSecReader, permission: readAuto, scope: sub(subS1), all: true},
		{name: "root owner", principal: pSlashOwner, permission: writeAuto, scope: rg(subS1, "rg1"), all: true},
		{name: "resource group reader", principal: pRg1Reader, permission: readAuto, scope: sub(subS1),
			scopes: []string{armid.Key(rg(subS1, "rg1"))}},
		{name: "resource reader in its group", principal: pResourceAdmin, permission: readAuto, scope: rg(subS1, "rg1"),
			scopes: []string{armid.Key(auto(subS1, "rg1", "a1"))}},
		{name: "reader cannot write anywhere", principal: pRg1Reader, permission: writeAuto, scope: sub(subS1),
			status: http.StatusForbidden, code: "AuthorizationFailed"},
		{name: "nothing", principal: pNothing, permission: readAuto, scope: sub(subS1),
			status: http.StatusForbidden, code: "AuthorizationFailed"},
		{name: "other subscription", principal: pRg1Reader, permission: readAuto, scope: sub(subS2),
			status: http.StatusForbidden, code: "AuthorizationFailed"},
		{name: "unknown subscription", principal: pRg1Reader, permission: readAuto, scope: sub(subNone),
			status: http.StatusNotFound, code: "SubscriptionNotFound"},
		{name: "other tenant", principal: pS1Contributor, permission: readAuto, scope: sub(subS3),
			status: http.StatusUnauthorized, code: "InvalidAuthenticationTokenTenant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := a.Reach(as(tenantT, tc.principal), tc.permission, tc.scope)
			if tc.status != 0 {
				var ae *armapi.Error
				if !errors.As(err, &ae) || ae.Status != tc.status || ae.Code != tc.code {
					t.Fatalf("err = %v, want %d %s", err, tc.status, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.All() != tc.all || !slices.Equal(r.Scopes(), tc.scopes) {
				t.Fatalf("reach = all %v %v, want all %v %v", r.All(), r.Scopes(), tc.all, tc.scopes)
			}
		})
	}
	r, err := a.Reach(as(tenantT, pRg1Reader), readAuto, sub(subS1))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{
		auto(subS1, "rg1", "x"): true, rg(subS1, "RG1"): true, auto(subS1, "rg10", "x"): false, rg(subS1, "rg10"): false, sub(subS1): false,
	} {
		if r.Covers(id) != want {
			t.Errorf("Covers(%s) = %v, want %v", id, !want, want)
		}
	}
}

// TestListReach pages a kind's records through partial reaches: every
// page continues until the last readable record, whatever the page size,
// and only readable records come back.
func TestListReach(t *testing.T) {
	a := newRBAC(t)
	st := a.Store.(store.Store)
	ctx := context.Background()
	const kind = "reachtest"
	var ids []string
	for _, group := range []string{"rg0", "rg1", "rg10", "rg1-a", "rg2"} {
		for _, name := range []string{"a0", "a1", "a2", "b"} {
			ids = append(ids, auto(subS1, group, name))
		}
	}
	ids = append(ids, auto(subS2, "rg1", "a1"))
	err := st.Update(ctx, func(tx store.Tx) error {
		for _, id := range ids {
			k := armid.Key(id)
			if err := tx.Put(ctx, &store.Record{Kind: kind, Key: k, ID: id, Parent: strings.Split(k, "/")[2], Body: []byte("{}")}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	within := func(scope string) []string {
		var out []string
		for _, id := range ids {
			if armid.Contains(scope, id) {
				out = append(out, armid.Key(id))
			}
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name, principal, scope string
		opts                   store.ListOptions
		keep                   func(*store.Record) bool
		want                   []string
	}{
		{name: "whole subscription", principal: pS1Contributor, scope: sub(subS1),
			opts: store.ListOptions{Kind: kind, Prefix: armid.Key(sub(subS1)) + "/"}, want: within(sub(subS1))},
		{name: "one group of the subscription", principal: pRg1Reader, scope: sub(subS1),
			opts: store.ListOptions{Kind: kind, Prefix: armid.Key(sub(subS1)) + "/"}, want: within(rg(subS1, "rg1"))},
		{name: "by parent", principal: pRg1Reader, scope: sub(subS1),
			opts: store.ListOptions{Kind: kind, Parent: subS1}, want: within(rg(subS1, "rg1"))},
		{name: "the resource itself", principal: pResourceAdmin, scope: sub(subS1),
			opts: store.ListOptions{Kind: kind, Prefix: armid.Key(sub(subS1)) + "/"}, want: []string{armid.Key(auto(subS1, "rg1", "a1"))}},
		{name: "filtered", principal: pRg1Reader, scope: sub(subS1),
			opts: store.ListOptions{Kind: kind, Prefix: armid.Key(sub(subS1)) + "/"},
			keep: func(r *store.Record) bool { return strings.Contains(r.Key, "/automations/a") },
			want: within(rg(subS1, "rg1"))[:3]},
		{name: "narrower prefix than the reach", principal: pRg1Reader, scope: sub(subS1),
			opts: store.ListOptions{Kind: kind, Prefix: armid.Key(rg(subS1, "rg1")) + "/providers/microsoft.security/automations/a"},
			want: within(rg(subS1, "rg1"))[:3]},
	}
	for _, tc := range tests {
		for _, limit := range []int{1, 2, 3, 100} {
			t.Run(tc.name+"/"+string(rune('0'+limit%10)), func(t *testing.T) {
				reach, err := a.Reach(as(tenantT, tc.principal), readAuto, tc.scope)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				page := armapi.Page{Limit: limit}
				for i := 0; ; i++ {
					if i > len(ids) {
						t.Fatal("paging does not end")
					}
					recs, last, err := auth.ListReach(ctx, st, reach, tc.opts, page, tc.keep)
					if err != nil {
						t.Fatal(err)
					}
					if len(recs) > limit || last != "" && len(recs) != limit {
						t.Fatalf("page of %d records (limit %d), next after %q", len(recs), limit, last)
					}
					for _, r := range recs {
						got = append(got, r.Key)
					}
					if last == "" {
						break
					}
					page.After = last
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("listed\n%v\nwant\n%v", got, tc.want)
				}
			})
		}
	}
}

// BenchmarkListReach pages 100 records of a subscription holding 10,000
// (100 groups of 100) for a caller who may read the whole subscription,
// and for a caller who may read 3 of its groups (each page reads only the
// key ranges of those groups).
func BenchmarkListReach(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const kind = "reachbench"
	err = st.Update(ctx, func(tx store.Tx) error {
		for g := range 100 {
			for n := range 100 {
				id := auto(subS1, fmt.Sprintf("rg%03d", g), fmt.Sprintf("a%03d", n))
				if err := tx.Put(ctx, &store.Record{Kind: kind, Key: armid.Key(id), ID: id, Body: []byte("{}")}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	a := newRBACWith(b, st)
	opts := store.ListOptions{Kind: kind, Prefix: armid.Key(sub(subS1)) + "/"}
	for _, c := range []struct{ name, principal string }{{"whole", pS1Contributor}, {"three-groups", pRg3Reader}} {
		b.Run(c.name, func(b *testing.B) {
			reach, err := a.Reach(as(tenantT, c.principal), readAuto, sub(subS1))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				recs, _, err := auth.ListReach(ctx, st, reach, opts, armapi.Page{Limit: 100}, nil)
				if err != nil || len(recs) != 100 {
					b.Fatalf("%d records: %v", len(recs), err)
				}
			}
		})
	}
}

const pRg3Reader = "00000000-aaaa-4000-8000-0000000000b1"

// newRBACWith builds the RBAC of the benchmark on st: tenant T with
// subscription S1, its Contributor, and a Reader of three of its groups.
func newRBACWith(tb testing.TB, st store.Store) *auth.RBAC {
	ctx := context.Background()
	err := st.Update(ctx, func(tx store.Tx) error {
		if err := estate.CreateTenant(ctx, tx, tenantT, tenantT); err != nil {
			return err
		}
		if err := estate.PutSubscription(ctx, tx, &estate.Subscription{SubscriptionID: subS1, TenantID: tenantT, ManagementGroupID: tenantT, State: "Enabled"}); err != nil {
			return err
		}
		assign := func(scope, principal, role string) error {
			return auth.PutRoleAssignment(ctx, tx, &auth.RoleAssignment{ID: scope + "/providers/Microsoft.Authorization/roleAssignments/" + principal + role[:4],
				Scope: scope, PrincipalID: principal, TenantID: tenantT, RoleDefinitionID: auth.RoleDefinitionID("", role)})
		}
		if err := assign(sub(subS1), pS1Contributor, auth.RoleContributor); err != nil {
			return err
		}
		for _, g := range []string{"rg000", "rg050", "rg099"} {
			if err := assign(rg(subS1, g), pRg3Reader, auth.RoleReader); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &auth.RBAC{Store: st, Resolver: &estate.Service{Store: st}}
}
