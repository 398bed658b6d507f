package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/store"
)

// VersionsAuthorization are the accepted api-versions of the
// Microsoft.Authorization routes (armauthorization v2 sends 2022-04-01).
var VersionsAuthorization = []string{"2022-04-01", "2018-01-01-preview", "2015-07-01"}

// Permissions of the Microsoft.Authorization routes.
const (
	PermRoleDefinitionRead   = "Microsoft.Authorization/roleDefinitions/read"
	PermRoleAssignmentRead   = "Microsoft.Authorization/roleAssignments/read"
	PermRoleAssignmentWrite  = "Microsoft.Authorization/roleAssignments/write"
	PermRoleAssignmentDelete = "Microsoft.Authorization/roleAssignments/delete"
)

const (
	roleAssignmentsSeg = "/providers/Microsoft.Authorization/roleAssignments"
	roleAssignmentType = "Microsoft.Authorization/roleAssignments"
)

// Handlers serves role definitions and role assignments.
type Handlers struct {
	Store    store.Store
	Resolver Resolver
	// Now is the clock of createdOn/updatedOn (time.Now when nil).
	Now func() time.Time
}

func scopeParam(r *http.Request) string { return r.PathValue("scope") }

// Register adds the Microsoft.Authorization routes to rt.
func (h *Handlers) Register(rt *armapi.Router) {
	const defs = "/providers/Microsoft.Authorization/roleDefinitions"
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: defs, APIVersions: VersionsAuthorization,
		Permission: armapi.PermissionAuthenticated, Handler: h.listDefinitions})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: defs + "/{roleDefinitionId}", APIVersions: VersionsAuthorization,
		Permission: armapi.PermissionAuthenticated, Handler: h.getDefinition})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: "/{scope...}" + defs, APIVersions: VersionsAuthorization,
		Permission: PermRoleDefinitionRead, Scope: scopeParam, Handler: h.listDefinitions})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: "/{scope...}" + defs + "/{roleDefinitionId}", APIVersions: VersionsAuthorization,
		Permission: PermRoleDefinitionRead, Scope: scopeParam, Handler: h.getDefinition})

	ras := "/{scope...}" + roleAssignmentsSeg
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: ras, APIVersions: VersionsAuthorization,
		Permission: PermRoleAssignmentRead, Scope: scopeParam, Handler: h.listAssignments})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: ras + "/{roleAssignmentName}", APIVersions: VersionsAuthorization,
		Permission: PermRoleAssignmentRead, Scope: scopeParam, Handler: h.getAssignment})
	rt.Handle(armapi.Route{Method: http.MethodPut, Pattern: ras + "/{roleAssignmentName}", APIVersions: VersionsAuthorization,
		Permission: PermRoleAssignmentWrite, Scope: scopeParam, Handler: h.putAssignment})
	rt.Handle(armapi.Route{Method: http.MethodDelete, Pattern: ras + "/{roleAssignmentName}", APIVersions: VersionsAuthorization,
		Permission: PermRoleAssignmentDelete, Scope: scopeParam, Handler: h.deleteAssignment})
}

func (h *Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// ---- role definitions ----

type permissionJSON struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

type roleDefinitionJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		RoleName         string           `json:"roleName"`
		Type             string           `json:"type"`
		Description      string           `json:"description"`
		AssignableScopes []string         `json:"assignableScopes"`
		Permissions      []permissionJSON `json:"permissions"`
		CreatedOn        string           `json:"createdOn"`
		UpdatedOn        string           `json:"updatedOn"`
		CreatedBy        *string          `json:"createdBy"`
		UpdatedBy        *string          `json:"updatedBy"`
	} `json:"properties"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func renderDefinition(scope string, d *RoleDefinition) *roleDefinitionJSON {
	out := &roleDefinitionJSON{ID: RoleDefinitionID(scope, d.ID), Name: d.ID, Type: roleDefinitionType}
	p := &out.Properties
	p.RoleName, p.Type, p.Description = d.Name, builtInRoleType, d.Description
	p.AssignableScopes = []string{"/"}
	p.Permissions = []permissionJSON{{Actions: nonNil(d.Actions), NotActions: nonNil(d.NotActions),
		DataActions: nonNil(d.DataActions), NotDataActions: nonNil(d.NotDataActions)}}
	p.CreatedOn, p.UpdatedOn = builtInRolesCreatedOn, builtInRolesUpdatedOn
	return out
}

var (
	filterEqRe   = regexp.MustCompile(`(?i)^\s*(roleName|type|principalId)\s+eq\s+'([^']*)'\s*$`)
	filterFuncRe = regexp.MustCompile(`(?i)^\s*(atScope|assignedTo)\(\s*(?:'([^']*)')?\s*\)\s*$`)
	andRe        = regexp.MustCompile(`(?i)\s+and\s+`)
)

type filter struct {
	roleName, typ, principalID, assignedTo string
	atScope                                bool
}

// parseFilter reads the $filter forms ARM accepts on these lists.
func parseFilter(r *http.Request) (*filter, error) {
	f := &filter{}
	raw := ""
	for k, vs := range r.URL.Query() {
		if strings.EqualFold(k, "$filter") && len(vs) > 0 {
			raw = vs[0]
		}
	}
	if strings.TrimSpace(raw) == "" {
		return f, nil
	}
	for _, part := range andRe.Split(raw, -1) {
		if m := filterEqRe.FindStringSubmatch(part); m != nil {
			switch strings.ToLower(m[1]) {
			case "rolename":
				f.roleName = m[2]
			case "type":
				f.typ = m[2]
			case "principalid":
				f.principalID = m[2]
			}
			continue
		}
		if m := filterFuncRe.FindStringSubmatch(part); m != nil {
			if strings.EqualFold(m[1], "atScope") {
				f.atScope = true
			} else {
				f.assignedTo = m[2]
			}
			continue
		}
		return nil, armapi.BadRequest("InvalidFilterInQueryString", "The $filter '%s' is not supported.", raw)
	}
	return f, nil
}

func (h *Handlers) listDefinitions(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilter(r)
	if err != nil {
		return err
	}
	var out []*roleDefinitionJSON
	for _, d := range SortedRoles() {
		if f.roleName != "" && !strings.EqualFold(f.roleName, d.Name) {
			continue
		}
		if f.typ != "" && !strings.EqualFold(f.typ, builtInRoleType) {
			continue
		}
		out = append(out, renderDefinition(scopeParam(r), d))
	}
	if out == nil {
		out = []*roleDefinitionJSON{}
	}
	armapi.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

func (h *Handlers) getDefinition(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("roleDefinitionId")
	d := BuiltinRoles[strings.ToLower(id)]
	if d == nil {
		return armapi.NotFound("RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", id)
	}
	armapi.WriteJSON(w, http.StatusOK, renderDefinition(scopeParam(r), d))
	return nil
}

// ---- role assignments ----

type roleAssignmentJSON struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	Type       string                   `json:"type"`
	Properties roleAssignmentProperties `json:"properties"`
}

type roleAssignmentProperties struct {
	RoleDefinitionID string  `json:"roleDefinitionId"`
	PrincipalID      string  `json:"principalId"`
	PrincipalType    string  `json:"principalType,omitempty"`
	Scope            string  `json:"scope,omitempty"`
	Description      *string `json:"description"`
	Condition        *string `json:"condition"`
	ConditionVersion *string `json:"conditionVersion"`
	CreatedOn        string  `json:"createdOn,omitempty"`
	UpdatedOn        string  `json:"updatedOn,omitempty"`
	CreatedBy        string  `json:"createdBy,omitempty"`
	UpdatedBy        string  `json:"updatedBy,omitempty"`
}

func renderAssignment(ra *RoleAssignment) *roleAssignmentJSON {
	out := &roleAssignmentJSON{ID: ra.ID, Name: lastSegment(ra.ID), Type: roleAssignmentType}
	p := &out.Properties
	p.RoleDefinitionID, p.PrincipalID, p.Scope = ra.RoleDefinitionID, ra.PrincipalID, ra.Scope
	p.PrincipalType = ra.PrincipalType
	if p.PrincipalType == "" {
		p.PrincipalType = "User"
	}
	if ra.Description != "" {
		d := ra.Description
		p.Description = &d
	}
	p.CreatedOn, p.UpdatedOn, p.CreatedBy, p.UpdatedBy = ra.CreatedOn, ra.UpdatedOn, ra.CreatedBy, ra.UpdatedBy
	return out
}

func assignmentID(scope, name string) string {
	return strings.TrimSuffix(scope, "/") + roleAssignmentsSeg + "/" + name
}

func (h *Handlers) getStored(ctx context.Context, id string) (*RoleAssignment, error) {
	rec, err := h.Store.Get(ctx, KindRoleAssignment, armid.Key(id))
	if err != nil {
		return nil, err
	}
	var ra RoleAssignment
	if err := json.Unmarshal(rec.Body, &ra); err != nil {
		return nil, fmt.Errorf("decode role assignment %s: %w", rec.Key, err)
	}
	return &ra, nil
}

func notFoundAssignment(name string) error {
	return armapi.NotFound("RoleAssignmentNotFound", "The role assignment '%s' is not found.", name)
}

func (h *Handlers) getAssignment(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("roleAssignmentName")
	ra, err := h.getStored(r.Context(), assignmentID(scopeParam(r), name))
	if errors.Is(err, store.ErrNotFound) {
		return notFoundAssignment(name)
	}
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, renderAssignment(ra))
	return nil
}

type createAssignmentRequest struct {
	Properties *struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
		Description      string `json:"description"`
		Condition        string `json:"condition"`
	} `json:"properties"`
}

var principalTypes = []string{"User", "Group", "ServicePrincipal", "ForeignGroup", "Device"}

func (h *Handlers) putAssignment(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	scope, name := scopeParam(r), r.PathValue("roleAssignmentName")
	if !armid.IsGUID(name) {
		return armapi.BadRequest("InvalidRoleAssignmentId",
			"The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name)
	}
	var req createAssignmentRequest
	if err := armapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Properties == nil {
		return armapi.BadRequest("InvalidRequestContent", "The request content is missing 'properties'.")
	}
	p := req.Properties
	role := RoleByID(p.RoleDefinitionID)
	if p.RoleDefinitionID == "" || role == nil || !strings.Contains(strings.ToLower(p.RoleDefinitionID), "/providers/microsoft.authorization/roledefinitions/") {
		return armapi.BadRequest("RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", lastSegment(p.RoleDefinitionID))
	}
	if !armid.IsGUID(p.PrincipalID) {
		return armapi.BadRequest("InvalidPrincipalId", "The principal ID '%s' is not valid. It must be a GUID.", p.PrincipalID)
	}
	if p.Condition != "" {
		return armapi.BadRequest("InvalidRoleAssignmentRequest", "Role assignment conditions are not supported.")
	}
	ptype := "User"
	if p.PrincipalType != "" {
		ptype = ""
		for _, t := range principalTypes {
			if strings.EqualFold(t, p.PrincipalType) {
				ptype = t
			}
		}
		if ptype == "" {
			return armapi.BadRequest("InvalidPrincipalType", "The principal type '%s' is not valid; expected one of %s.",
				p.PrincipalType, strings.Join(principalTypes, ", "))
		}
	}
	tenant, _, err := h.Resolver.Resolve(ctx, scope)
	if err != nil {
		return err
	}
	caller := FromContext(ctx)
	now := h.now().UTC().Format(time.RFC3339Nano)
	ra := &RoleAssignment{ID: assignmentID(scope, strings.ToLower(name)), Scope: scope, PrincipalID: strings.ToLower(p.PrincipalID),
		TenantID: strings.ToLower(tenant), RoleDefinitionID: RoleDefinitionID(definitionScope(scope), role.ID),
		PrincipalType: ptype, Description: p.Description, CreatedOn: now, UpdatedOn: now}
	if caller != nil {
		ra.CreatedBy, ra.UpdatedBy = caller.ObjectID, caller.ObjectID
	}
	status := http.StatusCreated
	err = h.Store.Update(ctx, func(tx store.Tx) error {
		if rec, err := tx.Get(ctx, KindRoleAssignment, armid.Key(ra.ID)); err == nil {
			var old RoleAssignment
			if err := json.Unmarshal(rec.Body, &old); err != nil {
				return fmt.Errorf("decode role assignment: %w", err)
			}
			if old.PrincipalID != ra.PrincipalID || RoleByID(old.RoleDefinitionID) != role || !armid.Equal(old.Scope, ra.Scope) {
				return armapi.Errorf(http.StatusConflict, "RoleAssignmentUpdateNotPermitted",
					"Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
			}
			ra.CreatedOn, ra.CreatedBy = old.CreatedOn, old.CreatedBy
			ra.ID, ra.Scope = old.ID, old.Scope
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		} else {
			dup, err := findDuplicate(ctx, tx, ra)
			if err != nil {
				return err
			}
			if dup != "" {
				return armapi.Errorf(http.StatusConflict, "RoleAssignmentExists",
					"The role assignment already exists. The ID of the existing role assignment is %s.", lastSegment(dup))
			}
		}
		return PutRoleAssignment(ctx, tx, ra)
	})
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, status, renderAssignment(ra))
	return nil
}

// definitionScope is the scope role definition ids are written at: the
// subscription of scope, or the tenant level above one.
func definitionScope(scope string) string {
	segs := strings.Split(strings.Trim(scope, "/"), "/")
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		return "/subscriptions/" + segs[1]
	}
	return ""
}

// findDuplicate returns the id of an assignment of the same role to the
// same principal at the same scope, or "".
func findDuplicate(ctx context.Context, r store.Reader, ra *RoleAssignment) (string, error) {
	recs, err := r.List(ctx, store.ListOptions{Kind: KindRoleAssignment, Parent: PrincipalKey(ra.TenantID, ra.PrincipalID)})
	if err != nil {
		return "", err
	}
	for _, rec := range recs {
		var o RoleAssignment
		if json.Unmarshal(rec.Body, &o) != nil {
			continue
		}
		if armid.Equal(o.Scope, ra.Scope) && strings.EqualFold(lastSegment(o.RoleDefinitionID), lastSegment(ra.RoleDefinitionID)) {
			return o.ID, nil
		}
	}
	return "", nil
}

func (h *Handlers) deleteAssignment(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := assignmentID(scopeParam(r), r.PathValue("roleAssignmentName"))
	var gone *RoleAssignment
	err := h.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := tx.Get(ctx, KindRoleAssignment, armid.Key(id))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var ra RoleAssignment
		if err := json.Unmarshal(rec.Body, &ra); err != nil {
			return fmt.Errorf("decode role assignment: %w", err)
		}
		if _, err := tx.Delete(ctx, KindRoleAssignment, rec.Key); err != nil {
			return err
		}
		gone = &ra
		return nil
	})
	if err != nil {
		return err
	}
	if gone == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	armapi.WriteJSON(w, http.StatusOK, renderAssignment(gone))
	return nil
}

func (h *Handlers) listAssignments(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := parseFilter(r)
	if err != nil {
		return err
	}
	if f.roleName != "" || f.typ != "" {
		return armapi.BadRequest("InvalidFilterInQueryString", "Role assignments filter on atScope(), principalId or assignedTo().")
	}
	scope := scopeParam(r)
	tenant, groups, err := h.Resolver.Resolve(ctx, scope)
	if err != nil {
		return err
	}
	recs, err := h.Store.List(ctx, store.ListOptions{Kind: KindRoleAssignment})
	if err != nil {
		return fmt.Errorf("list role assignments: %w", err)
	}
	who := strings.ToLower(f.principalID)
	if f.assignedTo != "" {
		who = strings.ToLower(f.assignedTo)
	}
	out := []*roleAssignmentJSON{}
	for _, rec := range recs {
		var ra RoleAssignment
		if err := json.Unmarshal(rec.Body, &ra); err != nil {
			return fmt.Errorf("decode role assignment %s: %w", rec.Key, err)
		}
		if tenant != "" && !strings.EqualFold(ra.TenantID, tenant) {
			continue
		}
		if who != "" && !strings.EqualFold(ra.PrincipalID, who) {
			continue
		}
		above := applies(ra.Scope, scope, groups)
		below := armid.Contains(scope, ra.Scope)
		if !above && (f.atScope || !below) {
			continue
		}
		out = append(out, renderAssignment(&ra))
	}
	sort.Slice(out, func(i, j int) bool { return armid.Key(out[i].ID) < armid.Key(out[j].ID) })
	armapi.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}
