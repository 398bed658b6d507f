package estate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/auth"
	"sluice/internal/store"
)

// API versions the real clients send.
var (
	VersionsGroups         = []string{"2021-04-01", "2020-05-01", "2023-04-01"}
	VersionsSubscriptions  = []string{"2022-12-01", "2021-01-01", "2020-01-01", "2016-06-01"}
	VersionsResourceGroups = []string{"2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-04-01"}
)

// Permissions of the estate routes.
const (
	PermGroupRead  = "Microsoft.Management/managementGroups/read"
	PermGroupWrite = "Microsoft.Management/managementGroups/write"
	PermGroupDel   = "Microsoft.Management/managementGroups/delete"
	PermSubWrite   = "Microsoft.Management/managementGroups/subscriptions/write"
	PermSubRead    = "Microsoft.Resources/subscriptions/read"
	PermRGRead     = "Microsoft.Resources/subscriptions/resourceGroups/read"
	PermRGWrite    = "Microsoft.Resources/subscriptions/resourceGroups/write"
	PermRGDelete   = "Microsoft.Resources/subscriptions/resourceGroups/delete"
)

// Checker answers whether the caller holds a permission at a scope; lists
// use it to return only what the caller may read.
type Checker interface {
	Can(ctx context.Context, permission, scope string) bool
}

// Handlers serves the estate routes.
type Handlers struct {
	Svc   *Service
	Authz Checker
}

// tenantRoot is the scope of tenant-level operations: the caller's root group.
func tenantRoot(r *http.Request) string {
	if p := auth.FromContext(r.Context()); p != nil {
		return GroupID(p.TenantID)
	}
	return "/"
}

// Register adds the estate routes to rt.
func (h *Handlers) Register(rt *armapi.Router) {
	g := "/providers/Microsoft.Management/managementGroups"
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: g, APIVersions: VersionsGroups, Permission: armapi.PermissionAuthenticated, Handler: h.listGroups})
	rt.Handle(armapi.Route{Method: http.MethodPut, Pattern: g + "/{groupId}", APIVersions: VersionsGroups, Permission: PermGroupWrite, Scope: tenantRoot, Handler: h.putGroup})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: g + "/{groupId}", APIVersions: VersionsGroups, Permission: PermGroupRead, Handler: h.getGroup})
	rt.Handle(armapi.Route{Method: http.MethodPatch, Pattern: g + "/{groupId}", APIVersions: VersionsGroups, Permission: PermGroupWrite, Handler: h.patchGroup})
	rt.Handle(armapi.Route{Method: http.MethodDelete, Pattern: g + "/{groupId}", APIVersions: VersionsGroups, Permission: PermGroupDel, Handler: h.deleteGroup})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: g + "/{groupId}/subscriptions", APIVersions: VersionsGroups, Permission: PermGroupRead, Scope: groupScope, Handler: h.listGroupSubscriptions})
	rt.Handle(armapi.Route{Method: http.MethodPut, Pattern: g + "/{groupId}/subscriptions/{subscriptionId}", APIVersions: VersionsGroups, Permission: PermSubWrite, Scope: groupScope, Handler: h.moveSubscription})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: g + "/{groupId}/subscriptions/{subscriptionId}", APIVersions: VersionsGroups, Permission: PermGroupRead, Scope: groupScope, Handler: h.getGroupSubscription})
	rt.Handle(armapi.Route{Method: http.MethodDelete, Pattern: g + "/{groupId}/subscriptions/{subscriptionId}", APIVersions: VersionsGroups, Permission: PermSubWrite, Scope: groupScope, Handler: h.unlinkSubscription})

	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: "/subscriptions", APIVersions: VersionsSubscriptions, Permission: armapi.PermissionAuthenticated, Handler: h.listSubscriptions})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}", APIVersions: VersionsSubscriptions, Permission: PermSubRead, Scope: pathScope, Handler: h.getSubscription})
	rt.Handle(armapi.Route{Method: http.MethodPut, Pattern: "/subscriptions/{subscriptionId}", APIVersions: VersionsSubscriptions, Permission: PermSubWrite, Scope: tenantRoot, Handler: h.putSubscription})
	rt.Handle(armapi.Route{Method: http.MethodDelete, Pattern: "/subscriptions/{subscriptionId}", APIVersions: VersionsSubscriptions, Permission: PermSubWrite, Scope: pathScope, Handler: h.deleteSubscription})

	rgs := "/subscriptions/{subscriptionId}/resourceGroups"
	// The list answers the groups the caller may read (the handler checks).
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: rgs, APIVersions: VersionsResourceGroups, Permission: armapi.PermissionAuthenticated, Handler: h.listResourceGroups})
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		rt.Handle(armapi.Route{Method: m, Pattern: rgs + "/{resourceGroupName}", APIVersions: VersionsResourceGroups, Permission: PermRGRead, Scope: pathScope, Handler: h.getResourceGroup})
	}
	rt.Handle(armapi.Route{Method: http.MethodPut, Pattern: rgs + "/{resourceGroupName}", APIVersions: VersionsResourceGroups, Permission: PermRGWrite, Scope: armapi.SubscriptionScope, Handler: h.putResourceGroup})
	rt.Handle(armapi.Route{Method: http.MethodPatch, Pattern: rgs + "/{resourceGroupName}", APIVersions: VersionsResourceGroups, Permission: PermRGWrite, Scope: pathScope, Handler: h.patchResourceGroup})
	rt.Handle(armapi.Route{Method: http.MethodDelete, Pattern: rgs + "/{resourceGroupName}", APIVersions: VersionsResourceGroups, Permission: PermRGDelete, Scope: pathScope, Handler: h.deleteResourceGroup})
}

func groupScope(r *http.Request) string { return GroupID(r.PathValue("groupId")) }

// pathScope is the scope of a route below /subscriptions/{subscriptionId}:
// the longest prefix of the path that parses, or, when none does because the
// subscription id is malformed, the bare subscription scope, which Resolve
// reports as InvalidSubscriptionId.
func pathScope(r *http.Request) string {
	if s := armid.ScopeOf(r.URL.Path); s != "" {
		return s
	}
	return "/subscriptions/" + r.PathValue("subscriptionId")
}

// subscriptionParam is the {subscriptionId} of the path, which must be a GUID.
func subscriptionParam(r *http.Request) (string, error) {
	id := r.PathValue("subscriptionId")
	if !armid.IsGUID(id) {
		return "", invalidSubscriptionID(id)
	}
	return id, nil
}

func invalidSubscriptionID(id string) *armapi.Error {
	return armapi.BadRequest("InvalidSubscriptionId", "The subscription id '%s' is not a GUID.", id)
}

var groupNameRe = regexp.MustCompile(`^[A-Za-z0-9_().-]{1,90}$`)

// ---- management groups ----

type groupJSON struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Properties groupPropsJSON `json:"properties"`
}

type groupPropsJSON struct {
	TenantID    string       `json:"tenantId"`
	DisplayName string       `json:"displayName"`
	Details     groupDetails `json:"details"`
	Children    []childJSON  `json:"children,omitempty"`
}

type groupDetails struct {
	Parent *parentJSON `json:"parent,omitempty"`
}

type parentJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

type childJSON struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

func (h *Handlers) renderGroup(ctx context.Context, g *ManagementGroup, children bool) (*groupJSON, error) {
	out := &groupJSON{ID: g.ID(), Type: "Microsoft.Management/managementGroups", Name: g.Name,
		Properties: groupPropsJSON{TenantID: g.TenantID, DisplayName: g.DisplayName}}
	if g.Parent != "" {
		p := &parentJSON{ID: GroupID(g.Parent), Name: g.Parent}
		if pg, err := h.Svc.Group(ctx, h.Svc.Store, g.Parent); err == nil {
			p.Name, p.DisplayName = pg.Name, pg.DisplayName
			p.ID = pg.ID()
		}
		out.Properties.Details.Parent = p
	}
	if children {
		kids, err := h.Svc.Store.List(ctx, store.ListOptions{Kind: KindManagementGroup, Parent: strings.ToLower(g.Name)})
		if err != nil {
			return nil, err
		}
		for _, k := range kids {
			var c ManagementGroup
			if err := json.Unmarshal(k.Body, &c); err != nil {
				return nil, err
			}
			out.Properties.Children = append(out.Properties.Children, childJSON{Type: "Microsoft.Management/managementGroups", ID: c.ID(), Name: c.Name, DisplayName: c.DisplayName})
		}
		subs, err := h.Svc.Store.List(ctx, store.ListOptions{Kind: KindSubscription, Parent: strings.ToLower(g.Name)})
		if err != nil {
			return nil, err
		}
		for _, k := range subs {
			var s Subscription
			if err := json.Unmarshal(k.Body, &s); err != nil {
				return nil, err
			}
			out.Properties.Children = append(out.Properties.Children, childJSON{Type: "/subscriptions", ID: armid.SubscriptionID(s.SubscriptionID), Name: s.SubscriptionID, DisplayName: s.DisplayName})
		}
	}
	return out, nil
}

func (h *Handlers) listGroups(w http.ResponseWriter, r *http.Request) error {
	page, err := armapi.PageFrom(r)
	if err != nil {
		return err
	}
	p := auth.FromContext(r.Context())
	items, last, err := h.filteredPage(r.Context(), page, store.ListOptions{Kind: KindManagementGroup}, func(rec *store.Record) (any, bool, error) {
		var g ManagementGroup
		if err := json.Unmarshal(rec.Body, &g); err != nil {
			return nil, false, err
		}
		if g.TenantID != p.TenantID || !h.Authz.Can(r.Context(), PermGroupRead, g.ID()) {
			return nil, false, nil
		}
		out, err := h.renderGroup(r.Context(), &g, false)
		return out, err == nil, err
	})
	if err != nil {
		return err
	}
	armapi.WriteList(w, r, items, last)
	return nil
}

func (h *Handlers) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := h.Svc.Group(r.Context(), h.Svc.Store, r.PathValue("groupId"))
	if err != nil {
		return err
	}
	expand := strings.Contains(strings.ToLower(r.URL.Query().Get("$expand")), "children")
	out, err := h.renderGroup(r.Context(), g, expand)
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

type createGroupRequest struct {
	Name       string `json:"name"`
	Properties *struct {
		DisplayName string `json:"displayName"`
		Details     *struct {
			Parent *struct {
				ID string `json:"id"`
			} `json:"parent"`
		} `json:"details"`
	} `json:"properties"`
}

func (h *Handlers) putGroup(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("groupId")
	if !groupNameRe.MatchString(name) {
		return armapi.BadRequest("InvalidManagementGroupName", "The management group name '%s' is invalid: use 1 to 90 letters, digits, '-', '_', '(', ')' and '.'.", name)
	}
	var req createGroupRequest
	if err := armapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	p := auth.FromContext(r.Context())
	g := &ManagementGroup{Name: name, TenantID: p.TenantID, DisplayName: name, Parent: p.TenantID}
	if req.Properties != nil {
		if req.Properties.DisplayName != "" {
			g.DisplayName = req.Properties.DisplayName
		}
		if d := req.Properties.Details; d != nil && d.Parent != nil && d.Parent.ID != "" {
			parent, err := parentName(d.Parent.ID, "properties.details.parent.id")
			if err != nil {
				return err
			}
			g.Parent = parent
		}
	}
	ctx := r.Context()
	var status int
	err := h.Svc.Store.Update(ctx, func(tx store.Tx) error {
		existing, err := h.Svc.Group(ctx, tx, name)
		switch {
		case err == nil:
			if existing.TenantID != p.TenantID {
				return armapi.Errorf(http.StatusForbidden, "AuthorizationFailed", "The management group '%s' belongs to another tenant.", name)
			}
			if strings.EqualFold(existing.Name, p.TenantID) {
				g.Parent = "" // the root group stays the root
			}
			g.Name = existing.Name
			status = http.StatusOK
		case isNotFound(err):
			status = http.StatusOK
		default:
			return err
		}
		if g.Parent != "" {
			if err := h.checkParent(ctx, tx, g, p.TenantID); err != nil {
				return err
			}
		}
		return PutGroup(ctx, tx, g)
	})
	if err != nil {
		return err
	}
	out, err := h.renderGroup(ctx, g, false)
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, status, out)
	return nil
}

// parentName reads a parent management group id
// (/providers/Microsoft.Management/managementGroups/{groupId}) from the
// body property target.
func parentName(id, target string) (string, error) {
	parent, ok := strings.CutPrefix(strings.ToLower(id), strings.ToLower(GroupID("")))
	if !ok || parent == "" || strings.Contains(parent, "/") {
		return "", &armapi.Error{Status: http.StatusBadRequest, Code: "InvalidParentId", Target: target,
			Message: fmt.Sprintf("The parent id '%s' is not a management group id (/providers/Microsoft.Management/managementGroups/{groupId}).", id)}
	}
	return parent, nil
}

// checkParent validates placing g under g.Parent: the parent exists in the
// tenant, the move makes no cycle, and neither g nor any group below it ends
// up deeper than the hierarchy allows.
func (h *Handlers) checkParent(ctx context.Context, tx store.Tx, g *ManagementGroup, tenantID string) error {
	chain, tenant, err := h.Svc.Ancestors(ctx, tx, g.Parent)
	if err != nil {
		if isNotFound(err) {
			return armapi.BadRequest("ParentNotFound", "The parent management group '%s' does not exist.", g.Parent)
		}
		return err
	}
	if tenant != tenantID {
		return armapi.BadRequest("ParentNotFound", "The parent management group '%s' does not exist in this tenant.", g.Parent)
	}
	for _, c := range chain {
		if strings.EqualFold(c, g.Name) {
			return armapi.BadRequest("InvalidParentId", "Moving '%s' under '%s' would create a cycle.", g.Name, g.Parent)
		}
	}
	below, err := subtreeHeight(ctx, tx, strings.ToLower(g.Name))
	if err != nil {
		return err
	}
	if len(chain)+below >= maxGroupDepth {
		if below > 0 {
			return armapi.BadRequest("TooManyLevels", "Management groups can be nested at most %d levels below the root; '%s' with the %d level(s) of groups below it does not fit under '%s'.",
				maxGroupDepth-1, g.Name, below, g.Parent)
		}
		return armapi.BadRequest("TooManyLevels", "Management groups can be nested at most %d levels below the root.", maxGroupDepth-1)
	}
	return nil
}

// subtreeHeight is the number of levels of groups below the group with key
// name (0 for a leaf or a new group).
func subtreeHeight(ctx context.Context, r store.Reader, name string) (int, error) {
	level := []string{name}
	for height := 0; ; height++ {
		var next []string
		for _, parent := range level {
			kids, err := r.List(ctx, store.ListOptions{Kind: KindManagementGroup, Parent: parent})
			if err != nil {
				return 0, err
			}
			for _, k := range kids {
				next = append(next, k.Key)
			}
		}
		if len(next) == 0 || height > maxGroupDepth {
			return height, nil
		}
		level = next
	}
}

type patchGroupRequest struct {
	DisplayName   *string `json:"displayName"`
	ParentGroupID *string `json:"parentGroupId"`
}

// patchGroup renames a management group or moves it under another parent.
func (h *Handlers) patchGroup(w http.ResponseWriter, r *http.Request) error {
	var req patchGroupRequest
	if err := armapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	parent := ""
	if req.ParentGroupID != nil && *req.ParentGroupID != "" {
		var err error
		if parent, err = parentName(*req.ParentGroupID, "parentGroupId"); err != nil {
			return err
		}
		if !h.Authz.Can(r.Context(), PermGroupWrite, GroupID(parent)) {
			if _, err := h.Svc.Group(r.Context(), h.Svc.Store, parent); isNotFound(err) {
				return armapi.BadRequest("ParentNotFound", "The parent management group '%s' does not exist.", parent)
			}
			p := auth.FromContext(r.Context())
			return armapi.Errorf(http.StatusForbidden, "AuthorizationFailed",
				"The client with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid.",
				p.ObjectID, PermGroupWrite, GroupID(parent))
		}
	}
	p := auth.FromContext(r.Context())
	ctx := r.Context()
	var g *ManagementGroup
	err := h.Svc.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if g, err = h.Svc.Group(ctx, tx, r.PathValue("groupId")); err != nil {
			return err
		}
		if g.TenantID != p.TenantID {
			return armapi.Errorf(http.StatusForbidden, "AuthorizationFailed", "The management group '%s' belongs to another tenant.", g.Name)
		}
		if req.DisplayName != nil && strings.TrimSpace(*req.DisplayName) != "" {
			g.DisplayName = *req.DisplayName
		}
		if parent != "" && !strings.EqualFold(parent, g.Parent) {
			if g.Parent == "" {
				return armapi.BadRequest("InvalidParentId", "The root management group of a tenant cannot be moved.")
			}
			g.Parent = parent
			if err := h.checkParent(ctx, tx, g, p.TenantID); err != nil {
				return err
			}
		}
		return PutGroup(ctx, tx, g)
	})
	if err != nil {
		return err
	}
	out, err := h.renderGroup(ctx, g, false)
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// listGroupSubscriptions lists the subscriptions directly under a group.
func (h *Handlers) listGroupSubscriptions(w http.ResponseWriter, r *http.Request) error {
	page, err := armapi.PageFrom(r)
	if err != nil {
		return err
	}
	g, err := h.Svc.Group(r.Context(), h.Svc.Store, r.PathValue("groupId"))
	if err != nil {
		return err
	}
	opts := store.ListOptions{Kind: KindSubscription, Parent: strings.ToLower(g.Name)}
	items, last, err := h.filteredPage(r.Context(), page, opts, func(rec *store.Record) (any, bool, error) {
		var s Subscription
		if err := json.Unmarshal(rec.Body, &s); err != nil {
			return nil, false, err
		}
		return renderSubUnderGroup(&s), true, nil
	})
	if err != nil {
		return err
	}
	armapi.WriteList(w, r, items, last)
	return nil
}

func isNotFound(err error) bool {
	var ae *armapi.Error
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound || errors.Is(err, store.ErrNotFound)
}

func (h *Handlers) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("groupId")
	ctx := r.Context()
	err := h.Svc.Store.Update(ctx, func(tx store.Tx) error {
		g, err := h.Svc.Group(ctx, tx, name)
		if err != nil {
			return err
		}
		if g.Parent == "" {
			return armapi.BadRequest("CannotDeleteRootManagementGroup", "The root management group of a tenant cannot be deleted.")
		}
		key := strings.ToLower(g.Name)
		for _, kind := range []string{KindManagementGroup, KindSubscription} {
			n, err := tx.Count(ctx, store.ListOptions{Kind: kind, Parent: key})
			if err != nil {
				return err
			}
			if n > 0 {
				return armapi.BadRequest("ManagementGroupHasChildren", "The management group '%s' still has %d child %s; move them first.", g.Name, n, map[string]string{KindManagementGroup: "groups", KindSubscription: "subscriptions"}[kind])
			}
		}
		_, err = tx.Delete(ctx, KindManagementGroup, key)
		return err
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type subUnderGroupJSON struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Name       string `json:"name"`
	Properties struct {
		Tenant      string     `json:"tenant"`
		DisplayName string     `json:"displayName"`
		Parent      parentJSON `json:"parent"`
		State       string     `json:"state"`
	} `json:"properties"`
}

func renderSubUnderGroup(s *Subscription) *subUnderGroupJSON {
	out := &subUnderGroupJSON{ID: GroupID(s.ManagementGroupID) + "/subscriptions/" + s.SubscriptionID,
		Type: "Microsoft.Management/managementGroups/subscriptions", Name: s.SubscriptionID}
	out.Properties.Tenant = s.TenantID
	out.Properties.DisplayName = s.DisplayName
	out.Properties.Parent = parentJSON{ID: GroupID(s.ManagementGroupID)}
	out.Properties.State = s.State
	return out
}

func (h *Handlers) moveSubscription(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	subID, err := subscriptionParam(r)
	if err != nil {
		return err
	}
	if err := h.canMove(r, subID); err != nil {
		return err
	}
	var sub *Subscription
	err = h.Svc.Store.Update(ctx, func(tx store.Tx) error {
		g, err := h.Svc.Group(ctx, tx, r.PathValue("groupId"))
		if err != nil {
			return err
		}
		sub, err = h.Svc.Subscription(ctx, tx, subID)
		if err != nil {
			return err
		}
		if sub.TenantID != g.TenantID {
			return armapi.BadRequest("InvalidTenant", "The subscription '%s' is not in the tenant of management group '%s'.", sub.SubscriptionID, g.Name)
		}
		sub.ManagementGroupID = g.Name
		return PutSubscription(ctx, tx, sub)
	})
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, renderSubUnderGroup(sub))
	return nil
}

// canMove checks that the caller may move the subscription: besides the
// route's permission on the group, write access on the subscription itself
// (held there or inherited from its current group), so that rights over
// one group never pull in a subscription from elsewhere.
func (h *Handlers) canMove(r *http.Request, subID string) error {
	if _, err := h.Svc.Subscription(r.Context(), h.Svc.Store, subID); err != nil {
		return err // an unknown subscription is 404, not 403
	}
	if h.Authz.Can(r.Context(), PermSubWrite, armid.SubscriptionID(subID)) {
		return nil
	}
	return armapi.Errorf(http.StatusForbidden, "AuthorizationFailed",
		"The client does not have authorization to perform action '%s' over scope '%s'.", PermSubWrite, armid.SubscriptionID(subID))
}

func (h *Handlers) getGroupSubscription(w http.ResponseWriter, r *http.Request) error {
	subID, err := subscriptionParam(r)
	if err != nil {
		return err
	}
	sub, err := h.Svc.Subscription(r.Context(), h.Svc.Store, subID)
	if err != nil {
		return err
	}
	if !strings.EqualFold(sub.ManagementGroupID, r.PathValue("groupId")) {
		return armapi.NotFound("SubscriptionNotFound", "The subscription '%s' is not directly under management group '%s'.", sub.SubscriptionID, r.PathValue("groupId"))
	}
	armapi.WriteJSON(w, http.StatusOK, renderSubUnderGroup(sub))
	return nil
}

// unlinkSubscription moves a subscription from a group back to the root.
func (h *Handlers) unlinkSubscription(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	subID, err := subscriptionParam(r)
	if err != nil {
		return err
	}
	if err := h.canMove(r, subID); err != nil {
		return err
	}
	err = h.Svc.Store.Update(ctx, func(tx store.Tx) error {
		sub, err := h.Svc.Subscription(ctx, tx, subID)
		if err != nil {
			return err
		}
		if !strings.EqualFold(sub.ManagementGroupID, r.PathValue("groupId")) {
			return nil // already elsewhere: deleting the link is idempotent
		}
		sub.ManagementGroupID = sub.TenantID
		return PutSubscription(ctx, tx, sub)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// ---- subscriptions ----

type subscriptionJSON struct {
	ID                   string          `json:"id"`
	SubscriptionID       string          `json:"subscriptionId"`
	TenantID             string          `json:"tenantId"`
	DisplayName          string          `json:"displayName"`
	State                string          `json:"state"`
	AuthorizationSource  string          `json:"authorizationSource"`
	ManagedByTenants     []any           `json:"managedByTenants"`
	SubscriptionPolicies json.RawMessage `json:"subscriptionPolicies"`
	Tags                 map[string]any  `json:"tags,omitempty"`
	ManagementGroupID    string          `json:"managementGroupId"`
}

func renderSubscription(s *Subscription) *subscriptionJSON {
	return &subscriptionJSON{ID: armid.SubscriptionID(s.SubscriptionID), SubscriptionID: s.SubscriptionID, TenantID: s.TenantID,
		DisplayName: s.DisplayName, State: s.State, AuthorizationSource: "RoleBased", ManagedByTenants: []any{},
		SubscriptionPolicies: json.RawMessage(`{"locationPlacementId":"Public_2014-09-01","quotaId":"PayAsYouGo_2014-09-01","spendingLimit":"Off"}`),
		ManagementGroupID:    GroupID(s.ManagementGroupID)}
}

func (h *Handlers) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	page, err := armapi.PageFrom(r)
	if err != nil {
		return err
	}
	items, last, err := h.filteredPage(r.Context(), page, store.ListOptions{Kind: KindSubscription}, func(rec *store.Record) (any, bool, error) {
		var s Subscription
		if err := json.Unmarshal(rec.Body, &s); err != nil {
			return nil, false, err
		}
		if id := armid.SubscriptionID(s.SubscriptionID); !h.Authz.Can(r.Context(), PermSubRead, id) {
			// As in Azure, a subscription is listed to a caller with read on
			// part of it (a resource group or a resource) too.
			if _, err := auth.ReachFrom(r.Context(), PermSubRead, id); err != nil {
				return nil, false, nil
			}
		}
		return renderSubscription(&s), true, nil
	})
	if err != nil {
		return err
	}
	armapi.WriteList(w, r, items, last)
	return nil
}

// filteredPage reads records in key order after page.After and keeps those
// render accepts until the page is full. It returns the key to continue
// after, or "" when the list is exhausted.
func (h *Handlers) filteredPage(ctx context.Context, page armapi.Page, opts store.ListOptions,
	render func(*store.Record) (any, bool, error)) ([]json.RawMessage, string, error) {
	items := []json.RawMessage{}
	opts.After, opts.Limit = page.After, page.Limit+1
	for {
		recs, err := h.Svc.Store.List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		for _, rec := range recs {
			if len(items) == page.Limit {
				// More records remain: continue after the last one returned.
				return items, opts.After, nil
			}
			opts.After = rec.Key
			v, ok, err := render(rec)
			if err != nil {
				return nil, "", err
			}
			if ok {
				b, err := json.Marshal(v)
				if err != nil {
					return nil, "", err
				}
				items = append(items, b)
			}
		}
		if len(recs) < opts.Limit {
			return items, "", nil
		}
	}
}

func (h *Handlers) getSubscription(w http.ResponseWriter, r *http.Request) error {
	s, err := h.Svc.Subscription(r.Context(), h.Svc.Store, r.PathValue("subscriptionId"))
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, renderSubscription(s))
	return nil
}

type putSubscriptionRequest struct {
	DisplayName       string `json:"displayName"`
	TenantID          string `json:"tenantId"`
	ManagementGroupID string `json:"managementGroupId"`
}

func (h *Handlers) putSubscription(w http.ResponseWriter, r *http.Request) error {
	id, err := subscriptionParam(r)
	if err != nil {
		return err
	}
	id = strings.ToLower(id)
	var req putSubscriptionRequest
	if err := armapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	p := auth.FromContext(r.Context())
	if req.TenantID == "" {
		req.TenantID = p.TenantID
	}
	req.TenantID = strings.ToLower(req.TenantID)
	if req.TenantID != p.TenantID {
		return armapi.Errorf(http.StatusForbidden, "InvalidTenant", "Subscriptions can only be registered in the caller's tenant '%s'.", p.TenantID)
	}
	if strings.TrimSpace(req.DisplayName) == "" {
		return &armapi.Error{Status: http.StatusBadRequest, Code: "MissingRequiredProperty", Target: "displayName", Message: "The property 'displayName' is required."}
	}
	group := req.ManagementGroupID
	if g, ok := strings.CutPrefix(strings.ToLower(group), strings.ToLower(GroupID(""))); ok {
		group = g
	}
	ctx := r.Context()
	status := http.StatusCreated
	var sub *Subscription
	err = h.Svc.Store.Update(ctx, func(tx store.Tx) error {
		existing, err := h.Svc.Subscription(ctx, tx, id)
		if err != nil && !isNotFound(err) {
			return err
		}
		group := group
		if group == "" {
			// A new subscription goes under the root; an update without a
			// group keeps the subscription where it is.
			group = req.TenantID
			if existing != nil && existing.TenantID == req.TenantID {
				group = existing.ManagementGroupID
			}
		}
		g, err := h.Svc.Group(ctx, tx, group)
		if err != nil {
			if isNotFound(err) {
				return &armapi.Error{Status: http.StatusBadRequest, Code: "ManagementGroupNotFound", Target: "managementGroupId",
					Message: fmt.Sprintf("The management group '%s' does not exist.", req.ManagementGroupID)}
			}
			return err
		}
		if g.TenantID != req.TenantID {
			return armapi.BadRequest("ManagementGroupNotFound", "The management group '%s' is not in tenant '%s'.", g.Name, req.TenantID)
		}
		sub = &Subscription{SubscriptionID: id, DisplayName: req.DisplayName, TenantID: req.TenantID,
			ManagementGroupID: g.Name, State: "Enabled", Created: time.Now().UTC()}
		if existing != nil {
			if existing.TenantID != req.TenantID {
				return armapi.Errorf(http.StatusConflict, "SubscriptionInAnotherTenant", "The subscription '%s' is registered in another tenant.", id)
			}
			status = http.StatusOK
			sub.Created = existing.Created
		}
		return PutSubscription(ctx, tx, sub)
	})
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, status, renderSubscription(sub))
	return nil
}

func (h *Handlers) deleteSubscription(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := strings.ToLower(r.PathValue("subscriptionId"))
	err := h.Svc.Store.Update(ctx, func(tx store.Tx) error {
		rgs, err := tx.List(ctx, store.ListOptions{Kind: KindResourceGroup, Parent: id})
		if err != nil {
			return err
		}
		for _, rg := range rgs {
			if _, err := tx.Delete(ctx, KindResourceGroup, rg.Key); err != nil {
				return err
			}
		}
		_, err = tx.Delete(ctx, KindSubscription, id)
		return err
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// ---- resource groups ----

type putRGRequest struct {
	Location  string            `json:"location"`
	ManagedBy string            `json:"managedBy"`
	Tags      map[string]string `json:"tags"`
}

func validateTags(tags map[string]string) error {
	if len(tags) > 50 {
		return &armapi.Error{Status: http.StatusBadRequest, Code: "InvalidTag", Target: "tags", Message: fmt.Sprintf("At most 50 tags are allowed; got %d.", len(tags))}
	}
	for k, v := range tags {
		if k == "" || len(k) > 512 || strings.ContainsAny(k, "<>%&\\?/") {
			return &armapi.Error{Status: http.StatusBadRequest, Code: "InvalidTagNameCharacters", Target: "tags",
				Message: fmt.Sprintf("The tag name '%s' is invalid: 1 to 512 characters, none of < > %% & \\ ? /.", k)}
		}
		if len(v) > 256 {
			return &armapi.Error{Status: http.StatusBadRequest, Code: "InvalidTag", Target: "tags", Message: fmt.Sprintf("The value of tag '%s' is longer than 256 characters.", k)}
		}
	}
	return nil
}

func (h *Handlers) putResourceGroup(w http.ResponseWriter, r *http.Request) error {
	subID, name := r.PathValue("subscriptionId"), r.PathValue("resourceGroupName")
	if err := armid.ValidateResourceGroupName(name); err != nil {
		return armapi.BadRequest("InvalidResourceGroupName", "%s.", err.Error())
	}
	var req putRGRequest
	if err := armapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Location) == "" {
		return &armapi.Error{Status: http.StatusBadRequest, Code: "LocationRequired", Target: "location", Message: "The location property is required for this definition."}
	}
	if err := validateTags(req.Tags); err != nil {
		return err
	}
	ctx := r.Context()
	status := http.StatusCreated
	rg := &ResourceGroup{Name: name, Location: strings.ToLower(strings.ReplaceAll(req.Location, " ", "")), ManagedBy: req.ManagedBy, Tags: req.Tags}
	err := h.Svc.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := h.Svc.Subscription(ctx, tx, subID); err != nil {
			return err
		}
		existing, err := h.Svc.ResourceGroup(ctx, tx, subID, name)
		switch {
		case err == nil:
			if !strings.EqualFold(existing.Location, rg.Location) {
				return armapi.BadRequest("InvalidResourceGroupLocation",
					"Invalid resource group location '%s'. The resource group '%s' already exists in location '%s'.", req.Location, existing.Name, existing.Location)
			}
			rg.Name = existing.Name
			status = http.StatusOK
		case !isNotFound(err):
			return err
		}
		return PutResourceGroup(ctx, tx, strings.ToLower(subID), rg)
	})
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, status, rg)
	return nil
}

func (h *Handlers) patchResourceGroup(w http.ResponseWriter, r *http.Request) error {
	subID, name := r.PathValue("subscriptionId"), r.PathValue("resourceGroupName")
	var req struct {
		Tags      map[string]string `json:"tags"`
		ManagedBy *string           `json:"managedBy"`
	}
	if err := armapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := validateTags(req.Tags); err != nil {
		return err
	}
	ctx := r.Context()
	var rg *ResourceGroup
	err := h.Svc.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		rg, err = h.Svc.ResourceGroup(ctx, tx, subID, name)
		if err != nil {
			return err
		}
		if req.Tags != nil {
			rg.Tags = req.Tags
		}
		if req.ManagedBy != nil {
			rg.ManagedBy = *req.ManagedBy
		}
		return PutResourceGroup(ctx, tx, strings.ToLower(subID), rg)
	})
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, rg)
	return nil
}

func (h *Handlers) getResourceGroup(w http.ResponseWriter, r *http.Request) error {
	rg, err := h.Svc.ResourceGroup(r.Context(), h.Svc.Store, r.PathValue("subscriptionId"), r.PathValue("resourceGroupName"))
	if r.Method == http.MethodHead {
		if err != nil {
			if isNotFound(err) {
				w.WriteHeader(http.StatusNotFound)
				return nil
			}
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, rg)
	return nil
}

// listResourceGroups answers the subscription's groups the caller may
// read: all of them with read on the subscription, else the groups where
// it holds read (a reader of one group lists that group, as in ARM).
func (h *Handlers) listResourceGroups(w http.ResponseWriter, r *http.Request) error {
	reach, err := auth.ReachFrom(r.Context(), PermRGRead, pathScope(r))
	if err != nil {
		return err
	}
	subID := strings.ToLower(r.PathValue("subscriptionId"))
	if _, err := h.Svc.Subscription(r.Context(), h.Svc.Store, subID); err != nil {
		return err
	}
	page, err := armapi.PageFrom(r)
	if err != nil {
		return err
	}
	filter, err := parseRGFilter(r.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	var keep func(*store.Record) bool
	var decodeErr error
	if filter != nil {
		keep = func(rec *store.Record) bool {
			var rg ResourceGroup
			if err := json.Unmarshal(rec.Body, &rg); err != nil {
				decodeErr = fmt.Errorf("decode resource group %s: %w", rec.Key, err)
				return false
			}
			return filter.match(&rg)
		}
	}
	recs, last, err := auth.ListReach(r.Context(), h.Svc.Store, reach, store.ListOptions{Kind: KindResourceGroup, Parent: subID}, page, keep)
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return err
	}
	items := make([]json.RawMessage, len(recs))
	for i, rec := range recs {
		items[i] = rec.Body
	}
	armapi.WriteList(w, r, items, last)
	return nil
}

func (h *Handlers) deleteResourceGroup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	subID, name := r.PathValue("subscriptionId"), r.PathValue("resourceGroupName")
	err := h.Svc.Store.Update(ctx, func(tx store.Tx) error {
		rg, err := h.Svc.ResourceGroup(ctx, tx, subID, name)
		if err != nil {
			return err
		}
		_, err = tx.Delete(ctx, KindResourceGroup, armid.Key(rg.ID))
		return err
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
