package automation

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/auth"
	"sluice/internal/estate"
	"sluice/internal/store"
)

// API versions of the automation routes: 2019-01-01-preview (Terraform,
// the built-in policies, armsecurity ≤ v0.13.0) and 2023-12-01-preview
// (armsecurity v0.14.0+). PATCH exists only in 2023-12-01-preview.
var (
	APIVersions   = []string{"2019-01-01-preview", "2023-12-01-preview"}
	PatchVersions = []string{"2023-12-01-preview"}
)

// Permissions of the automation routes.
const (
	PermRead     = "Microsoft.Security/automations/read"
	PermWrite    = "Microsoft.Security/automations/write"
	PermDelete   = "Microsoft.Security/automations/delete"
	PermValidate = "Microsoft.Security/automations/validate/action"
)

// ResourceGroups finds resource groups (estate.Service does).
type ResourceGroups interface {
	ResourceGroup(ctx context.Context, r store.Reader, sub, name string) (*estate.ResourceGroup, error)
}

// Handlers serves the automation routes.
type Handlers struct {
	Svc    *Service
	Estate ResourceGroups
}

const (
	listSubPath = "/subscriptions/{subscriptionId}/providers/Microsoft.Security/automations"
	listRGPath  = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Security/automations"
	itemPath    = listRGPath + "/{automationName}"
)

// Register adds the routes to rt.
func (h *Handlers) Register(rt *armapi.Router) {
	// Lists answer the automations the caller may read: the handlers check
	// the read permission themselves (auth.ReachFrom).
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: listSubPath, APIVersions: APIVersions, Permission: armapi.PermissionAuthenticated, Handler: h.listSub})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: listRGPath, APIVersions: APIVersions, Permission: armapi.PermissionAuthenticated, Handler: h.listRG})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: itemPath, APIVersions: APIVersions, Permission: PermRead, Scope: armapi.ResourceGroupScope, Handler: h.get})
	rt.Handle(armapi.Route{Method: http.MethodPut, Pattern: itemPath, APIVersions: APIVersions, Permission: PermWrite, Scope: armapi.ResourceGroupScope, Handler: h.put})
	rt.Handle(armapi.Route{Method: http.MethodPatch, Pattern: itemPath, APIVersions: PatchVersions, Permission: PermWrite, Scope: armapi.ResourceGroupScope, Handler: h.patch})
	rt.Handle(armapi.Route{Method: http.MethodDelete, Pattern: itemPath, APIVersions: APIVersions, Permission: PermDelete, Scope: armapi.ResourceGroupScope, Handler: h.delete})
	rt.Handle(armapi.Route{Method: http.MethodPost, Pattern: itemPath + "/validate", APIVersions: APIVersions, Permission: PermValidate, Scope: armapi.ResourceGroupScope, Handler: h.validate})
}

// ref resolves the path's automation; the resource group must exist (its
// stored spelling goes into new ids).
func (h *Handlers) ref(r *http.Request) (Ref, error) {
	sub, rgName := r.PathValue("subscriptionId"), r.PathValue("resourceGroupName")
	rg, err := h.Estate.ResourceGroup(r.Context(), h.Svc.Store, sub, rgName)
	if err != nil {
		return Ref{}, err
	}
	return Ref{Subscription: armid.Key(sub), ResourceGroup: rg.Name, Name: r.PathValue("automationName")}, nil
}

// render is the response form of a stored automation.
func render(a *Automation) json.RawMessage {
	out := *a
	out.Type = ResourceType
	normalise(&out)
	b, _ := json.Marshal(&out)
	return b
}

func (h *Handlers) get(w http.ResponseWriter, r *http.Request) error {
	ref, err := h.ref(r)
	if err != nil {
		return err
	}
	a, err := h.Svc.Get(r.Context(), ref)
	if err != nil {
		return err
	}
	armapi.WriteRaw(w, http.StatusOK, render(a))
	return nil
}

func (h *Handlers) put(w http.ResponseWriter, r *http.Request) error {
	ref, err := h.ref(r)
	if err != nil {
		return err
	}
	if err := ValidateName(ref.Name); err != nil {
		return err
	}
	body, err := armapi.ReadBody(r, armapi.MaxBodyBytes)
	if err != nil {
		return err
	}
	a, err := Parse(body)
	err = errors.Join(err, checkTargets(r.Context(), actionsOf(a)))
	if err != nil {
		return err
	}
	out, created, err := h.Svc.Put(r.Context(), ref, a, ConditionsFrom(r))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	armapi.WriteRaw(w, status, render(out))
	return nil
}

func (h *Handlers) patch(w http.ResponseWriter, r *http.Request) error {
	ref, err := h.ref(r)
	if err != nil {
		return err
	}
	body, err := armapi.ReadBody(r, armapi.MaxBodyBytes)
	if err != nil {
		return err
	}
	p, err := ParsePatch(body)
	err = errors.Join(err, checkTargets(r.Context(), patchActionsOf(p)))
	if err != nil {
		return err
	}
	out, err := h.Svc.Patch(r.Context(), ref, p, ConditionsFrom(r))
	if err != nil {
		return err
	}
	armapi.WriteRaw(w, http.StatusOK, render(out))
	return nil
}

// delete answers 204 with an empty body whether or not the automation (or
// its resource group) exists: Terraform and armsecurity ≤ v0.13.0 accept
// nothing else.
func (h *Handlers) delete(w http.ResponseWriter, r *http.Request) error {
	ref := Ref{Subscription: armid.Key(r.PathValue("subscriptionId")), ResourceGroup: r.PathValue("resourceGroupName"),
		Name: r.PathValue("automationName")}
	if err := h.Svc.Delete(r.Context(), ref, ConditionsFrom(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ValidationResult is the body of the validate action.
type ValidationResult struct {
	IsValid bool   `json:"isValid"`
	Message string `json:"message"`
}

func (h *Handlers) validate(w http.ResponseWriter, r *http.Request) error {
	ref, err := h.ref(r)
	if err != nil {
		return err
	}
	body, err := armapi.ReadBody(r, armapi.MaxBodyBytes)
	if err != nil {
		return err
	}
	a, err := Parse(body)
	if err != nil {
		return err
	}
	res := ValidationResult{IsValid: true, Message: "Validation Successful"}
	err = ValidateName(ref.Name)
	if err == nil {
		err = h.Svc.Validate(r.Context(), ref, a)
	}
	if err != nil {
		var ae *armapi.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
			return err
		}
		res = ValidationResult{IsValid: false, Message: ae.Message}
	}
	armapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (h *Handlers) listSub(w http.ResponseWriter, r *http.Request) error {
	reach, err := auth.ReachFrom(r.Context(), PermRead, armapi.SubscriptionScope(r))
	if err != nil {
		return err
	}
	return h.list(w, r, reach, "")
}

func (h *Handlers) listRG(w http.ResponseWriter, r *http.Request) error {
	reach, err := auth.ReachFrom(r.Context(), PermRead, armapi.ResourceGroupScope(r))
	if err != nil {
		return err
	}
	sub, rg := r.PathValue("subscriptionId"), r.PathValue("resourceGroupName")
	if _, err := h.Estate.ResourceGroup(r.Context(), h.Svc.Store, sub, rg); err != nil {
		return err
	}
	return h.list(w, r, reach, rg)
}

// list pages the automations of the subscription (or of its resource group
// rg) within the caller's reach.
func (h *Handlers) list(w http.ResponseWriter, r *http.Request, reach *auth.Reach, rg string) error {
	page, err := armapi.PageFrom(r)
	if err != nil {
		return err
	}
	items, last, err := h.Svc.List(r.Context(), reach, r.PathValue("subscriptionId"), rg, page)
	if err != nil {
		return err
	}
	out := make([]json.RawMessage, 0, len(items))
	for _, a := range items {
		out = append(out, render(a))
	}
	armapi.WriteList(w, r, out, last)
	return nil
}
