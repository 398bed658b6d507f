package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/store"
)

// Reach is where a caller holds a permission within a scope: everywhere
// in it (the permission holds at the scope itself or above), or only at
// some scopes below it, as ARM lists answer a caller whose roles are
// assigned on some resource groups or resources of a subscription.
type Reach struct {
	all bool
	// scopes are the lower-case keys of the scopes below the listed scope
	// where the permission holds, sorted, none inside another.
	scopes []string
}

// All reports whether the permission holds on the whole scope.
func (r *Reach) All() bool { return r.all }

// Scopes lists the scopes below the listed one where the permission holds
// (lower-case keys, sorted; nil when All).
func (r *Reach) Scopes() []string { return r.scopes }

// Covers reports whether the resource id lies within the reach.
func (r *Reach) Covers(id string) bool {
	if r.all {
		return true
	}
	for _, s := range r.scopes {
		if armid.Contains(s, id) {
			return true
		}
	}
	return false
}

// Reach computes where the caller holds permission within scope, reading
// the caller's role assignments once. It fails as Authorize does when the
// scope does not resolve (404), belongs to another tenant (401
// InvalidAuthenticationTokenTenant), or the caller holds the permission
// nowhere at, above or below it (403 AuthorizationFailed).
func (a *RBAC) Reach(ctx context.Context, permission, scope string) (*Reach, error) {
	p := FromContext(ctx)
	if p == nil {
		return nil, armapi.Errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication is required.")
	}
	tenant, groups, err := a.Resolver.Resolve(ctx, scope)
	if err != nil {
		return nil, err
	}
	if tenant != "" && !strings.EqualFold(tenant, p.TenantID) {
		return nil, WrongTenant(p.TenantID, scope, tenant)
	}
	recs, err := a.Store.List(ctx, store.ListOptions{Kind: KindRoleAssignment, Parent: PrincipalKey(p.TenantID, p.ObjectID)})
	if err != nil {
		return nil, fmt.Errorf("read role assignments: %w", err)
	}
	var below []string
	for _, rec := range recs {
		var ra RoleAssignment
		if err := json.Unmarshal(rec.Body, &ra); err != nil {
			return nil, fmt.Errorf("decode role assignment %s: %w", rec.Key, err)
		}
		role := RoleByID(ra.RoleDefinitionID)
		if role == nil || !role.Allows(permission) {
			continue
		}
		if applies(ra.Scope, scope, groups) {
			return &Reach{all: true}, nil
		}
		if armid.Contains(scope, ra.Scope) {
			below = append(below, armid.Key(ra.Scope))
		}
	}
	if len(below) == 0 {
		return nil, armapi.Errorf(http.StatusForbidden, "AuthorizationFailed",
			"The client with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid.",
			p.ObjectID, permission, scope)
	}
	sort.Strings(below)
	var out []string
next:
	for _, s := range below {
		// A scope inside one already kept adds nothing (an outer scope
		// sorts before the scopes inside it).
		for _, o := range out {
			if armid.Contains(o, s) {
				continue next
			}
		}
		out = append(out, s)
	}
	return &Reach{scopes: out}, nil
}

// WrongTenant is ARM's answer to a token of one tenant for a scope of
// another: 401 InvalidAuthenticationTokenTenant (the token is valid, but
// not for this scope's tenant, so the caller must get another one).
func WrongTenant(tokenTenant, scope, scopeTenant string) *armapi.Error {
	return armapi.Errorf(http.StatusUnauthorized, "InvalidAuthenticationTokenTenant",
		"The access token is from the wrong issuer: tenant '%s'. The scope '%s' belongs to tenant '%s'; use a token of that tenant.",
		tokenTenant, scope, scopeTenant)
}

// ReachFrom computes the caller's reach with the authorizer carried by the
// request context (see Authenticator.RBAC).
func ReachFrom(ctx context.Context, permission, scope string) (*Reach, error) {
	a, _ := ctx.Value(authzKey{}).(*RBAC)
	if a == nil {
		return nil, armapi.Errorf(http.StatusForbidden, "AuthorizationFailed", "No authorizer is configured.")
	}
	return a.Reach(ctx, permission, scope)
}

// ListReach pages the records of opts.Kind (under opts.Prefix, with
// opts.Parent when set) that lie within reach and that keep accepts (nil
// keeps all), in key order after page.After. It returns at most
// page.Limit records and the key to continue after, "" when no more
// follow; a page ends early only at the end of the list.
//
// With a partial reach it reads only the key ranges of the reached
// scopes (the record named by each scope, and those below it), so the
// records the caller may not read cost nothing.
func ListReach(ctx context.Context, st store.Reader, reach *Reach, opts store.ListOptions, page armapi.Page,
	keep func(*store.Record) bool) ([]*store.Record, string, error) {
	limit := max(page.Limit, 1)
	var cands []*store.Record
	if reach.All() {
		got, err := collect(ctx, st, opts, page.After, limit+1, keep)
		if err != nil {
			return nil, "", err
		}
		cands = got
	} else {
		for _, s := range reach.scopes {
			// The record the scope itself names (an automation, a
			// workspace, a resource group).
			if (opts.Prefix == "" || strings.HasPrefix(s, opts.Prefix)) && s > page.After {
				rec, err := st.Get(ctx, opts.Kind, s)
				switch {
				case errors.Is(err, store.ErrNotFound):
				case err != nil:
					return nil, "", err
				case (opts.Parent == "" || rec.Parent == opts.Parent) && (keep == nil || keep(rec)):
					cands = append(cands, rec)
				}
			}
			// The records below it, within the listed prefix.
			sub := opts
			switch below := s + "/"; {
			case strings.HasPrefix(below, opts.Prefix):
				sub.Prefix = below
			case strings.HasPrefix(opts.Prefix, below):
			default:
				continue
			}
			got, err := collect(ctx, st, sub, page.After, limit+1, keep)
			if err != nil {
				return nil, "", err
			}
			cands = append(cands, got...)
		}
		sort.Slice(cands, func(i, j int) bool { return cands[i].Key < cands[j].Key })
		cands = dedupe(cands)
	}
	if len(cands) > limit {
		cands = cands[:limit]
		return cands, cands[limit-1].Key, nil
	}
	return cands, "", nil
}

// collect reads the first n records of opts after the key after that keep
// accepts.
func collect(ctx context.Context, st store.Reader, opts store.ListOptions, after string, n int,
	keep func(*store.Record) bool) ([]*store.Record, error) {
	var out []*store.Record
	opts.After, opts.Limit = after, n
	if keep != nil {
		opts.Limit = max(n, 256)
	}
	for {
		recs, err := st.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			if keep == nil || keep(rec) {
				out = append(out, rec)
				if len(out) == n {
					return out, nil
				}
			}
		}
		if len(recs) < opts.Limit {
			return out, nil
		}
		opts.After = recs[len(recs)-1].Key
	}
}

// dedupe drops repeated keys from sorted records.
func dedupe(recs []*store.Record) []*store.Record {
	var out []*store.Record
	for _, r := range recs {
		if n := len(out); n > 0 && out[n-1].Key == r.Key {
			continue
		}
		out = append(out, r)
	}
	return out
}
