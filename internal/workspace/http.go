package workspace

import (
	"encoding/json"
	"net/http"
	"strings"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/auth"
)

// Handlers serves the workspace routes: the ARM resource, the query API and
// the Logs Ingestion API.
type Handlers struct {
	Svc *Service
	// RootScope is the scope whose read permission a query or an upload
	// for an unknown workspace needs (the tenant root group): callers
	// without it learn nothing about which workspaces exist.
	RootScope string
}

const (
	listSubPath = "/subscriptions/{subscriptionId}/providers/Microsoft.OperationalInsights/workspaces"
	listRGPath  = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.OperationalInsights/workspaces"
	itemPath    = listRGPath + "/{workspaceName}"

	// QueryPath is the Log Analytics query API.
	QueryPath = "/v1/workspaces/{workspaceId}/query"
	// IngestPath is the Logs Ingestion API.
	IngestPath = "/dataCollectionRules/{dcrImmutableId}/streams/{stream}"
)

// IngestionAPIVersions are the api-version values of the Logs Ingestion API.
var IngestionAPIVersions = []string{"2023-01-01", "2021-11-01-preview"}

// Register adds the routes to rt.
func (h *Handlers) Register(rt *armapi.Router) {
	// Lists answer the workspaces the caller may read: the handlers check
	// the read permission themselves (auth.ReachFrom).
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: listSubPath, APIVersions: APIVersions, Permission: armapi.PermissionAuthenticated, Handler: h.listSub})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: listRGPath, APIVersions: APIVersions, Permission: armapi.PermissionAuthenticated, Handler: h.listRG})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: itemPath, APIVersions: APIVersions, Permission: PermRead, Scope: armapi.ResourceGroupScope, Handler: h.get})
	rt.Handle(armapi.Route{Method: http.MethodPut, Pattern: itemPath, APIVersions: APIVersions, Permission: PermWrite, Scope: armapi.ResourceGroupScope, Handler: h.put})
	rt.Handle(armapi.Route{Method: http.MethodDelete, Pattern: itemPath, APIVersions: APIVersions, Permission: PermDelete, Scope: armapi.ResourceGroupScope, Handler: h.delete})
	rt.Handle(armapi.Route{Method: http.MethodPost, Pattern: QueryPath, Permission: PermRead, Scope: h.queryScope, Handler: h.query})
	rt.Handle(armapi.Route{Method: http.MethodGet, Pattern: QueryPath, Permission: PermRead, Scope: h.queryScope, Handler: h.query})
	rt.Handle(armapi.Route{Method: http.MethodPost, Pattern: IngestPath, APIVersions: IngestionAPIVersions, Permission: PermWrite, Scope: h.ingestScope, Handler: h.ingest})
}

// queryScope is the workspace the query's customer id names.
func (h *Handlers) queryScope(r *http.Request) string {
	w, err := h.Svc.ByCustomerID(r.Context(), r.PathValue("workspaceId"))
	if err != nil {
		return h.RootScope
	}
	return w.ID
}

// ingestScope is the workspace the DCR immutable id names.
func (h *Handlers) ingestScope(r *http.Request) string {
	cid, ok := customerFromDCR(r.PathValue("dcrImmutableId"))
	if !ok {
		return h.RootScope
	}
	w, err := h.Svc.ByCustomerID(r.Context(), cid)
	if err != nil {
		return h.RootScope
	}
	return w.ID
}

func itemID(r *http.Request) string {
	return armapi.ResourceGroupScope(r) + "/providers/" + ResourceType + "/" + r.PathValue("workspaceName")
}

func render(w *Workspace) json.RawMessage {
	b, _ := json.Marshal(w)
	return b
}

func (h *Handlers) get(w http.ResponseWriter, r *http.Request) error {
	ws, err := h.Svc.Get(r.Context(), itemID(r))
	if err != nil {
		return err
	}
	armapi.WriteRaw(w, http.StatusOK, render(ws))
	return nil
}

func (h *Handlers) put(w http.ResponseWriter, r *http.Request) error {
	sub := r.PathValue("subscriptionId")
	rg, err := h.Svc.Estate.ResourceGroup(r.Context(), h.Svc.Store, sub, r.PathValue("resourceGroupName"))
	if err != nil {
		return err
	}
	body, err := armapi.ReadBody(r, armapi.MaxBodyBytes)
	if err != nil {
		return err
	}
	ws, created, err := h.Svc.Put(r.Context(), strings.ToLower(sub), rg, r.PathValue("workspaceName"), body)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	armapi.WriteRaw(w, status, render(ws))
	return nil
}

// delete answers 200 when the workspace existed and 204 when it did not;
// both end the SDK's poller at once.
func (h *Handlers) delete(w http.ResponseWriter, r *http.Request) error {
	existed, err := h.Svc.Delete(r.Context(), itemID(r))
	if err != nil {
		return err
	}
	if existed {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

func (h *Handlers) listSub(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, armapi.SubscriptionScope(r))
}

func (h *Handlers) listRG(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, armapi.ResourceGroupScope(r))
}

// list answers the workspaces in scope that the caller may read: all of
// them with read on the scope, else those within the resource groups or
// workspaces where it holds read.
func (h *Handlers) list(w http.ResponseWriter, r *http.Request, scope string) error {
	reach, err := auth.ReachFrom(r.Context(), PermRead, scope)
	if err != nil {
		return err
	}
	all, err := h.Svc.List(r.Context(), armid.Key(scope)+"/")
	if err != nil {
		return err
	}
	items := make([]json.RawMessage, 0, len(all))
	for _, ws := range all {
		if reach.Covers(ws.ID) {
			items = append(items, render(ws))
		}
	}
	armapi.WriteList(w, r, items, "")
	return nil
}
