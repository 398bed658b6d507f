package security

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	sauth "sluice/internal/auth"
	"sluice/internal/store"
)

// API versions the routes answer (the first is what armsecurity v0.15.0
// sends).
var (
	VersionsAssessments    = []string{"2025-05-04", "2021-06-01", "2020-01-01", "2019-01-01-preview"}
	VersionsMetadata       = []string{"2025-05-04", "2021-06-01", "2020-01-01", "2019-01-01-preview"}
	VersionsSubAssessments = []string{"2019-01-01-preview"}
	VersionsAlerts         = []string{"2022-01-01", "2021-01-01", "2020-01-01", "2019-01-01"}
	VersionsScores         = []string{"2020-01-01", "2020-01-01-preview"}
	VersionsCompliance     = []string{"2019-01-01-preview"}
)

// Handlers serves the security routes.
type Handlers struct {
	Svc *Service
	// Notify is called after a write that may have appended events.
	Notify func()
}

const (
	prov    = "/providers/Microsoft.Security"
	subProv = "/subscriptions/{subscriptionId}" + prov
	rgProv  = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}" + prov
)

// Register adds the routes to rt.
func (h *Handlers) Register(rt *armapi.Router) {
	get, put, del, post := http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPost
	route := func(method, pattern string, versions []string, perm string, scope func(*http.Request) string, fn armapi.HandlerFunc) {
		rt.Handle(armapi.Route{Method: method, Pattern: pattern, APIVersions: versions, Permission: perm, Scope: scope, Handler: fn})
	}
	auth := armapi.PermissionAuthenticated

	// Recommendation definitions.
	route(get, prov+"/assessmentMetadata", VersionsMetadata, auth, nil, h.listBuiltinMetadata)
	route(get, prov+"/assessmentMetadata/{name}", VersionsMetadata, auth, nil, h.getBuiltinMetadata)
	route(get, subProv+"/assessmentMetadata", VersionsMetadata, PermMetadataRead, armapi.SubscriptionScope, h.listMetadata)
	route(get, subProv+"/assessmentMetadata/{name}", VersionsMetadata, PermMetadataRead, armapi.SubscriptionScope, h.getMetadata)
	route(put, subProv+"/assessmentMetadata/{name}", VersionsMetadata, PermMetadataWrite, armapi.SubscriptionScope, h.putMetadata)
	route(del, subProv+"/assessmentMetadata/{name}", VersionsMetadata, PermMetadataDelete, armapi.SubscriptionScope, h.deleteMetadata)

	// Assessments on any resource, lists at any scope in a subscription.
	// Lists at a scope answer what the caller may read in it (a reader of
	// some resource groups lists theirs): the handlers check the read
	// permission themselves (auth.ReachFrom).
	route(get, "/{scope...}"+prov+"/assessments", VersionsAssessments, auth, nil, h.listAssessments)
	route(get, "/{resourceId...}"+prov+"/assessments/{name}", VersionsAssessments, PermAssessmentRead, pathScope("resourceId"), h.getAssessment)
	route(put, "/{resourceId...}"+prov+"/assessments/{name}", VersionsAssessments, PermAssessmentWrite, pathScope("resourceId"), h.putAssessment)
	route(del, "/{resourceId...}"+prov+"/assessments/{name}", VersionsAssessments, PermAssessmentDelete, pathScope("resourceId"), h.deleteAssessment)

	// Sub-assessments.
	route(get, "/{scope...}"+prov+"/subAssessments", VersionsSubAssessments, auth, nil, h.listAllSubAssessments)
	route(get, "/{scope...}"+prov+"/assessments/{name}/subAssessments", VersionsSubAssessments, PermSubAssessmentRead, pathScope("scope"), h.listSubAssessments)
	route(get, "/{scope...}"+prov+"/assessments/{name}/subAssessments/{subName}", VersionsSubAssessments, PermSubAssessmentRead, pathScope("scope"), h.getSubAssessment)

	// Alerts.
	route(get, subProv+"/alerts", VersionsAlerts, auth, nil, h.listAlerts)
	route(get, rgProv+"/alerts", VersionsAlerts, auth, nil, h.listAlerts)
	route(get, subProv+"/locations/{location}/alerts", VersionsAlerts, auth, nil, h.listAlerts)
	route(get, rgProv+"/locations/{location}/alerts", VersionsAlerts, auth, nil, h.listAlerts)
	route(get, subProv+"/locations/{location}/alerts/{alertName}", VersionsAlerts, PermAlertRead, armapi.SubscriptionScope, h.getAlert)
	route(get, rgProv+"/locations/{location}/alerts/{alertName}", VersionsAlerts, PermAlertRead, armapi.ResourceGroupScope, h.getAlert)
	for action, status := range alertActions {
		route(post, subProv+"/locations/{location}/alerts/{alertName}/"+action, VersionsAlerts, PermAlertWrite, armapi.SubscriptionScope, h.alertState(status))
		route(post, rgProv+"/locations/{location}/alerts/{alertName}/"+action, VersionsAlerts, PermAlertWrite, armapi.ResourceGroupScope, h.alertState(status))
	}
	route(post, subProv+"/locations/{location}/alerts/default/simulate", VersionsAlerts, PermAlertWrite, armapi.SubscriptionScope, h.simulate)
	route(get, subProv+"/locations/{location}/alerts/default/simulate/operationResults/{operationId}", VersionsAlerts, PermAlertRead, armapi.SubscriptionScope, h.simulateResult)

	// Secure score.
	route(get, subProv+"/secureScores", VersionsScores, PermScoreRead, armapi.SubscriptionScope, h.listScores)
	route(get, subProv+"/secureScores/{name}", VersionsScores, PermScoreRead, armapi.SubscriptionScope, h.getScore)
	route(get, subProv+"/secureScores/{name}/secureScoreControls", VersionsScores, PermScoreRead, armapi.SubscriptionScope, h.listControls)
	route(get, subProv+"/secureScoreControls", VersionsScores, PermScoreRead, armapi.SubscriptionScope, h.listControls)
	route(get, prov+"/secureScoreControlDefinitions", VersionsScores, auth, nil, h.listControlDefinitions)
	route(get, subProv+"/secureScoreControlDefinitions", VersionsScores, PermScoreRead, armapi.SubscriptionScope, h.listControlDefinitions)

	// Regulatory compliance.
	std := subProv + "/regulatoryComplianceStandards"
	route(get, std, VersionsCompliance, PermComplianceRead, armapi.SubscriptionScope, h.listStandards)
	route(get, std+"/{standard}", VersionsCompliance, PermComplianceRead, armapi.SubscriptionScope, h.getStandard)
	route(get, std+"/{standard}/regulatoryComplianceControls", VersionsCompliance, PermComplianceRead, armapi.SubscriptionScope, h.listComplianceControls)
	route(get, std+"/{standard}/regulatoryComplianceControls/{control}", VersionsCompliance, PermComplianceRead, armapi.SubscriptionScope, h.getComplianceControl)
	route(get, std+"/{standard}/regulatoryComplianceControls/{control}/regulatoryComplianceAssessments", VersionsCompliance, PermComplianceRead, armapi.SubscriptionScope, h.listComplianceAssessments)
	route(get, std+"/{standard}/regulatoryComplianceControls/{control}/regulatoryComplianceAssessments/{assessment}", VersionsCompliance, PermComplianceRead, armapi.SubscriptionScope, h.getComplianceAssessment)

	// Reports (Sluice extension, reports.go).
	h.registerReports(rt)
}

var alertActions = map[string]string{"dismiss": "Dismissed", "activate": "Active", "resolve": "Resolved", "inProgress": "InProgress"}

// pathScope checks permissions at the scope named by a path parameter.
func pathScope(param string) func(*http.Request) string {
	return func(r *http.Request) string { return r.PathValue(param) }
}

func (h *Handlers) notify() {
	if h.Notify != nil {
		h.Notify()
	}
}

// ---- helpers ----

// scopeID parses a scope or resource path parameter that must lie in a
// subscription.
func scopeID(r *http.Request, param string) (*armid.ID, error) {
	raw := r.PathValue(param)
	id, err := armid.Parse(raw)
	if err != nil {
		return nil, armapi.BadRequest(CodeInvalidResourceID, "The scope '%s' is not a valid resource ID: %v", raw, err)
	}
	if id.Subscription == "" {
		return nil, armapi.BadRequest("UnsupportedScope", "The scope '%s' is not within a subscription; use a subscription, resource group or resource scope.", raw)
	}
	return id, nil
}

func writeRecords(w http.ResponseWriter, r *http.Request, recs []*store.Record, last string, item func(*store.Record) (json.RawMessage, error)) error {
	items := make([]json.RawMessage, 0, len(recs))
	for _, rec := range recs {
		it, err := item(rec)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	armapi.WriteList(w, r, items, last)
	return nil
}

// writePage writes an in-memory list, paged by the items' (unique, sorted)
// keys.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T, key func(T) string) error {
	page, err := armapi.PageFrom(r)
	if err != nil {
		return err
	}
	start := 0
	if page.After != "" {
		start = len(items)
		for i, it := range items {
			if key(it) > page.After {
				start = i
				break
			}
		}
	}
	end := min(len(items), start+page.Limit)
	out := make([]json.RawMessage, 0, end-start)
	for _, it := range items[start:end] {
		b, err := json.Marshal(it)
		if err != nil {
			return err
		}
		out = append(out, b)
	}
	last := ""
	if end < len(items) {
		last = key(items[end-1])
	}
	armapi.WriteList(w, r, out, last)
	return nil
}

func readBody(r *http.Request) ([]byte, error) { return armapi.ReadBody(r, armapi.MaxBodyBytes) }

// ---- assessment metadata ----

func (h *Handlers) builtinList() []*AssessmentMetadata {
	out := make([]*AssessmentMetadata, 0, len(h.Svc.Catalog.Recommendations))
	for _, rec := range h.Svc.Catalog.Recommendations {
		out = append(out, MetadataFromCatalog(rec))
	}
	slices.SortFunc(out, func(a, b *AssessmentMetadata) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out
}

func metadataKey(m *AssessmentMetadata) string { return strings.ToLower(m.Name) }

func (h *Handlers) listBuiltinMetadata(w http.ResponseWriter, r *http.Request) error {
	return writePage(w, r, h.builtinList(), metadataKey)
}

func (h *Handlers) getBuiltinMetadata(w http.ResponseWriter, r *http.Request) error {
	m, err := h.Svc.BuiltinMetadata(r.PathValue("name"))
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

// listMetadata lists the subscription's custom metadata together with the
// built-in definitions, by name.
func (h *Handlers) listMetadata(w http.ResponseWriter, r *http.Request) error {
	sub := r.PathValue("subscriptionId")
	recs, err := h.Svc.Store.List(r.Context(), store.ListOptions{Kind: KindMetadata, Parent: strings.ToLower(sub)})
	if err != nil {
		return err
	}
	all := h.builtinList()
	for _, rec := range recs {
		m, err := decodeRecord[AssessmentMetadata](rec)
		if err != nil {
			return err
		}
		all = append(all, m.withoutSecrets())
	}
	slices.SortFunc(all, func(a, b *AssessmentMetadata) int { return strings.Compare(metadataKey(a), metadataKey(b)) })
	return writePage(w, r, all, metadataKey)
}

func (h *Handlers) getMetadata(w http.ResponseWriter, r *http.Request) error {
	sub, name := r.PathValue("subscriptionId"), r.PathValue("name")
	if m, err := h.Svc.BuiltinMetadata(name); err == nil {
		armapi.WriteJSON(w, http.StatusOK, m)
		return nil
	}
	m, err := h.Svc.GetMetadata(r.Context(), sub, name)
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

func (h *Handlers) putMetadata(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	m, err := ParseAssessmentMetadata(body)
	if err != nil {
		return apiError(err)
	}
	err = h.Svc.Update(r.Context(), func(wr *Writer) error {
		_, _, err := wr.PutMetadata(r.Context(), r.PathValue("subscriptionId"), r.PathValue("name"), m)
		return err
	})
	if err != nil {
		return err
	}
	// The client accepts only 200, created or not.
	armapi.WriteJSON(w, http.StatusOK, m.withoutSecrets())
	return nil
}

func (h *Handlers) deleteMetadata(w http.ResponseWriter, r *http.Request) error {
	sub, name := r.PathValue("subscriptionId"), r.PathValue("name")
	if _, err := h.Svc.BuiltinMetadata(name); err == nil {
		return armapi.Errorf(http.StatusConflict, "BuiltInAssessmentMetadata", "The built-in assessment metadata '%s' cannot be deleted.", name)
	}
	err := h.Svc.Update(r.Context(), func(wr *Writer) error {
		_, err := wr.DeleteMetadata(r.Context(), sub, name)
		return err
	})
	if err != nil {
		return err
	}
	// The client accepts only 200, whether or not it existed.
	w.WriteHeader(http.StatusOK)
	return nil
}

// ---- assessments ----

func (h *Handlers) assessmentItem(rec *store.Record) (json.RawMessage, error) {
	a, err := h.Svc.decodeAssessment(rec)
	if err != nil {
		return nil, err
	}
	return json.Marshal(a.WithoutSecrets())
}

// listReadable pages the records of a kind under prefix within the
// caller's reach (where it holds the list's read permission).
func (h *Handlers) listReadable(r *http.Request, reach *sauth.Reach, kind, prefix string) ([]*store.Record, string, error) {
	page, err := armapi.PageFrom(r)
	if err != nil {
		return nil, "", err
	}
	return sauth.ListReach(r.Context(), h.Svc.Store, reach, store.ListOptions{Kind: kind, Prefix: prefix}, page, nil)
}

func (h *Handlers) listAssessments(w http.ResponseWriter, r *http.Request) error {
	reach, err := sauth.ReachFrom(r.Context(), PermAssessmentRead, r.PathValue("scope"))
	if err != nil {
		return err
	}
	scope, err := scopeID(r, "scope")
	if err != nil {
		return err
	}
	recs, last, err := h.listReadable(r, reach, KindAssessment, scope.Key()+"/")
	if err != nil {
		return err
	}
	return writeRecords(w, r, recs, last, h.assessmentItem)
}

func (h *Handlers) getAssessment(w http.ResponseWriter, r *http.Request) error {
	rid, err := scopeID(r, "resourceId")
	if err != nil {
		return err
	}
	a, err := h.Svc.GetAssessment(r.Context(), AssessmentID(rid.String(), r.PathValue("name")))
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, a)
	return nil
}

func (h *Handlers) putAssessment(w http.ResponseWriter, r *http.Request) error {
	rid, err := scopeID(r, "resourceId")
	if err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	a, err := ParseAssessment(body)
	if err != nil {
		return apiError(err)
	}
	var created bool
	var events int
	err = h.Svc.Update(r.Context(), func(wr *Writer) error {
		_, c, err := wr.PutAssessment(r.Context(), rid.String(), r.PathValue("name"), a)
		created = c
		events = wr.Events
		return err
	})
	if err != nil {
		return err
	}
	if events > 0 {
		h.notify()
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	armapi.WriteJSON(w, status, a.WithoutSecrets())
	return nil
}

func (h *Handlers) deleteAssessment(w http.ResponseWriter, r *http.Request) error {
	rid, err := scopeID(r, "resourceId")
	if err != nil {
		return err
	}
	var found bool
	err = h.Svc.Update(r.Context(), func(wr *Writer) error {
		found, err = wr.DeleteAssessment(r.Context(), rid.String(), r.PathValue("name"))
		return err
	})
	if err != nil {
		return err
	}
	if !found {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	h.notify()
	w.WriteHeader(http.StatusOK)
	return nil
}

// ---- sub-assessments ----

// listFiltered pages records of a kind under prefix whose key contains
// infix.
func (h *Handlers) listFiltered(w http.ResponseWriter, r *http.Request, kind, prefix, infix string) error {
	page, err := armapi.PageFrom(r)
	if err != nil {
		return err
	}
	var out []*store.Record
	after, last := page.After, ""
	for len(out) < page.Limit {
		recs, err := h.Svc.Store.List(r.Context(), store.ListOptions{Kind: kind, Prefix: prefix, After: after, Limit: 1000})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if strings.Contains(rec.Key, infix) {
				out = append(out, rec)
				if len(out) == page.Limit {
					last = rec.Key
					break
				}
			}
		}
		if len(recs) < 1000 {
			break
		}
		after = recs[len(recs)-1].Key
	}
	if last != "" {
		// Only hand out a next link when more may follow.
		more, err := h.Svc.Store.List(r.Context(), store.ListOptions{Kind: kind, Prefix: prefix, After: last, Limit: 1})
		if err != nil {
			return err
		}
		if len(more) == 0 {
			last = ""
		}
	}
	return writeRecords(w, r, out, last, func(rec *store.Record) (json.RawMessage, error) { return rec.Body, nil })
}

func (h *Handlers) listAllSubAssessments(w http.ResponseWriter, r *http.Request) error {
	reach, err := sauth.ReachFrom(r.Context(), PermSubAssessmentRead, r.PathValue("scope"))
	if err != nil {
		return err
	}
	scope, err := scopeID(r, "scope")
	if err != nil {
		return err
	}
	recs, last, err := h.listReadable(r, reach, KindSubAssessment, scope.Key()+"/")
	if err != nil {
		return err
	}
	return writeRecords(w, r, recs, last, func(rec *store.Record) (json.RawMessage, error) { return rec.Body, nil })
}

func (h *Handlers) listSubAssessments(w http.ResponseWriter, r *http.Request) error {
	scope, err := scopeID(r, "scope")
	if err != nil {
		return err
	}
	name := strings.ToLower(r.PathValue("name"))
	return h.listFiltered(w, r, KindSubAssessment, scope.Key()+"/", assessmentsMarker+name+"/subassessments/")
}

func (h *Handlers) getSubAssessment(w http.ResponseWriter, r *http.Request) error {
	scope, err := scopeID(r, "scope")
	if err != nil {
		return err
	}
	s, err := h.Svc.GetSubAssessment(r.Context(), SubAssessmentID(AssessmentID(scope.String(), r.PathValue("name")), r.PathValue("subName")))
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, s)
	return nil
}

// ---- alerts ----

func alertScopePrefix(r *http.Request) string {
	p := "/subscriptions/" + strings.ToLower(r.PathValue("subscriptionId"))
	if rg := r.PathValue("resourceGroupName"); rg != "" {
		p += "/resourcegroups/" + strings.ToLower(rg)
	}
	return p
}

func (h *Handlers) listAlerts(w http.ResponseWriter, r *http.Request) error {
	prefix := alertScopePrefix(r) + "/"
	if loc := r.PathValue("location"); loc != "" {
		prefix = alertScopePrefix(r) + "/providers/microsoft.security/locations/" + strings.ToLower(loc) + "/alerts/"
	}
	scope := armapi.SubscriptionScope(r)
	if r.PathValue("resourceGroupName") != "" {
		scope = armapi.ResourceGroupScope(r)
	}
	reach, err := sauth.ReachFrom(r.Context(), PermAlertRead, scope)
	if err != nil {
		return err
	}
	recs, last, err := h.listReadable(r, reach, KindAlert, prefix)
	if err != nil {
		return err
	}
	return writeRecords(w, r, recs, last, func(rec *store.Record) (json.RawMessage, error) { return rec.Body, nil })
}

func alertPathID(r *http.Request) string {
	return alertScopePrefix(r) + "/providers/Microsoft.Security/locations/" + r.PathValue("location") + "/alerts/" + r.PathValue("alertName")
}

func (h *Handlers) getAlert(w http.ResponseWriter, r *http.Request) error {
	a, err := h.Svc.GetAlert(r.Context(), alertPathID(r))
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, a)
	return nil
}

func (h *Handlers) alertState(status string) armapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var events int
		err := h.Svc.Update(r.Context(), func(wr *Writer) error {
			err := wr.SetAlertStatus(r.Context(), alertPathID(r), status)
			events = wr.Events
			return err
		})
		if err != nil {
			return err
		}
		if events > 0 {
			h.notify()
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

type simulateRequest struct {
	Properties *struct {
		Kind    string   `json:"kind"`
		Bundles []string `json:"bundles"`
	} `json:"properties"`
}

// simulate creates sample alerts for the requested bundles; it completes
// at once and answers 202 with a Location the client's poller reads.
func (h *Handlers) simulate(w http.ResponseWriter, r *http.Request) error {
	var req simulateRequest
	if err := armapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Properties == nil {
		return &armapi.Error{Status: http.StatusBadRequest, Code: CodeMissingRequiredProperty, Target: "properties",
			Message: "The request needs properties with kind 'Bundles' and the bundles to simulate."}
	}
	if !strings.EqualFold(req.Properties.Kind, "Bundles") {
		return &armapi.Error{Status: http.StatusBadRequest, Code: CodeInvalidEnumValue, Target: "properties.kind",
			Message: fmt.Sprintf("The simulation kind '%s' is not supported; use 'Bundles'.", req.Properties.Kind)}
	}
	bundles := req.Properties.Bundles
	for i, b := range bundles {
		if _, ok := CanonicalBundle(b); !ok {
			return &armapi.Error{Status: http.StatusBadRequest, Code: CodeInvalidEnumValue, Target: fmt.Sprintf("properties.bundles[%d]", i),
				Message: fmt.Sprintf("The bundle '%s' is not known; allowed values are: %s.", b, strings.Join(SimulationBundles, ", "))}
		}
	}
	if len(bundles) == 0 {
		bundles = SimulationBundles
	}
	sub, loc := strings.ToLower(r.PathValue("subscriptionId")), r.PathValue("location")
	if _, err := h.Svc.RequireSubscription(r.Context(), sub); err != nil {
		return err
	}
	resources, err := h.Svc.resourcesOf(r, sub, 2000)
	if err != nil {
		return err
	}
	now := h.Svc.Now()
	alerts := SimulateAlerts(sub, loc, bundles, now, resources)
	err = h.Svc.Update(r.Context(), func(wr *Writer) error {
		for _, a := range alerts {
			if _, _, err := wr.PutAlert(r.Context(), a, a.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.notify()
	u := "https://" + r.Host + "/subscriptions/" + sub + "/providers/Microsoft.Security/locations/" + loc +
		"/alerts/default/simulate/operationResults/" + uuid.NewString() + "?api-version=" + r.URL.Query().Get("api-version")
	w.Header().Set("Location", u)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// simulateResult answers the poller: simulations complete before the 202.
func (h *Handlers) simulateResult(w http.ResponseWriter, r *http.Request) error {
	if _, err := uuid.Parse(r.PathValue("operationId")); err != nil {
		return armapi.NotFound("OperationNotFound", "The operation '%s' was not found.", r.PathValue("operationId"))
	}
	armapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "Succeeded"})
	return nil
}

// resourcesOf lists up to limit distinct assessed resources of a
// subscription (where simulated alerts are placed).
func (s *Service) resourcesOf(r *http.Request, sub string, limit int) ([]string, error) {
	recs, err := s.Store.List(r.Context(), store.ListOptions{Kind: KindAssessment, Prefix: "/subscriptions/" + sub + "/", Limit: limit})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, rec := range recs {
		res, _, ok := splitAssessmentKey(rec.Key)
		if !ok || seen[res] {
			continue
		}
		seen[res] = true
		i := strings.LastIndex(strings.ToLower(rec.ID), assessmentsMarker)
		out = append(out, rec.ID[:i])
	}
	return out, nil
}

// ---- secure score ----

func (h *Handlers) listScores(w http.ResponseWriter, r *http.Request) error {
	sub := strings.ToLower(r.PathValue("subscriptionId"))
	res, err := h.Svc.Score(r.Context(), sub)
	if err != nil {
		return err
	}
	return writePage(w, r, []*SecureScore{SecureScoreRecord(sub, res)}, func(s *SecureScore) string { return strings.ToLower(s.Name) })
}

func (h *Handlers) getScore(w http.ResponseWriter, r *http.Request) error {
	sub, name := strings.ToLower(r.PathValue("subscriptionId")), r.PathValue("name")
	if !strings.EqualFold(name, SecureScoreName) {
		return armapi.NotFound("SecureScoreNotFound", "The secure score '%s' was not found; the only secure score is '%s'.", name, SecureScoreName)
	}
	res, err := h.Svc.Score(r.Context(), sub)
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, SecureScoreRecord(sub, res))
	return nil
}

func (h *Handlers) listControls(w http.ResponseWriter, r *http.Request) error {
	sub := strings.ToLower(r.PathValue("subscriptionId"))
	if name := r.PathValue("name"); name != "" && !strings.EqualFold(name, SecureScoreName) {
		return armapi.NotFound("SecureScoreNotFound", "The secure score '%s' was not found; the only secure score is '%s'.", name, SecureScoreName)
	}
	expand := false
	if e := r.URL.Query().Get("$expand"); e != "" {
		if !strings.EqualFold(e, "definition") {
			return armapi.BadRequest("InvalidQueryParameterValue", "The value '%s' of $expand is not supported; use 'definition'.", e)
		}
		expand = true
	}
	res, err := h.Svc.Score(r.Context(), sub)
	if err != nil {
		return err
	}
	items := make([]*SecureScoreControl, 0, len(res.Controls))
	for _, c := range res.Controls {
		items = append(items, SecureScoreControlRecord(sub, c, expand))
	}
	slices.SortFunc(items, func(a, b *SecureScoreControl) int { return strings.Compare(a.Name, b.Name) })
	return writePage(w, r, items, func(c *SecureScoreControl) string { return c.Name })
}

func (h *Handlers) listControlDefinitions(w http.ResponseWriter, r *http.Request) error {
	items := make([]*SecureScoreControlDefinition, 0, len(h.Svc.Catalog.Controls))
	for _, c := range h.Svc.Catalog.Controls {
		items = append(items, ControlDefinitionRecord(c))
	}
	slices.SortFunc(items, func(a, b *SecureScoreControlDefinition) int { return strings.Compare(a.Name, b.Name) })
	return writePage(w, r, items, func(d *SecureScoreControlDefinition) string { return d.Name })
}

// ---- regulatory compliance ----

func (h *Handlers) compliance(r *http.Request) (string, []ComplianceStandardResult, error) {
	sub := strings.ToLower(r.PathValue("subscriptionId"))
	res, err := h.Svc.Compliance(r.Context(), sub)
	return sub, res, err
}

func (h *Handlers) standard(r *http.Request) (string, *ComplianceStandardResult, error) {
	sub, res, err := h.compliance(r)
	if err != nil {
		return "", nil, err
	}
	name := r.PathValue("standard")
	for i := range res {
		if strings.EqualFold(res[i].Name, name) {
			return sub, &res[i], nil
		}
	}
	return "", nil, armapi.NotFound("RegulatoryComplianceStandardNotFound", "The regulatory compliance standard '%s' was not found.", name)
}

func (h *Handlers) control(r *http.Request) (string, *ComplianceStandardResult, *ComplianceControlResult, error) {
	sub, std, err := h.standard(r)
	if err != nil {
		return "", nil, nil, err
	}
	name := r.PathValue("control")
	for i := range std.Controls {
		if strings.EqualFold(std.Controls[i].Name, name) {
			return sub, std, &std.Controls[i], nil
		}
	}
	return "", nil, nil, armapi.NotFound("RegulatoryComplianceControlNotFound", "The control '%s' of standard '%s' was not found.", name, std.Name)
}

func lowerName[T interface{ name() string }](v T) string { return strings.ToLower(v.name()) }

func (s *RegulatoryComplianceStandard) name() string   { return s.Name }
func (c *RegulatoryComplianceControl) name() string    { return c.Name }
func (a *RegulatoryComplianceAssessment) name() string { return a.Name }

func sortedByName[T interface{ name() string }](items []T) []T {
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(lowerName(a), lowerName(b)) })
	return items
}

func (h *Handlers) listStandards(w http.ResponseWriter, r *http.Request) error {
	sub, res, err := h.compliance(r)
	if err != nil {
		return err
	}
	var items []*RegulatoryComplianceStandard
	for _, s := range res {
		items = append(items, ComplianceStandardRecord(sub, s))
	}
	return writePage(w, r, sortedByName(items), lowerName[*RegulatoryComplianceStandard])
}

func (h *Handlers) getStandard(w http.ResponseWriter, r *http.Request) error {
	sub, std, err := h.standard(r)
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, ComplianceStandardRecord(sub, *std))
	return nil
}

func (h *Handlers) listComplianceControls(w http.ResponseWriter, r *http.Request) error {
	sub, std, err := h.standard(r)
	if err != nil {
		return err
	}
	var items []*RegulatoryComplianceControl
	for _, c := range std.Controls {
		items = append(items, ComplianceControlRecord(sub, std.Name, c))
	}
	return writePage(w, r, sortedByName(items), lowerName[*RegulatoryComplianceControl])
}

func (h *Handlers) getComplianceControl(w http.ResponseWriter, r *http.Request) error {
	sub, std, ctl, err := h.control(r)
	if err != nil {
		return err
	}
	armapi.WriteJSON(w, http.StatusOK, ComplianceControlRecord(sub, std.Name, *ctl))
	return nil
}

func (h *Handlers) listComplianceAssessments(w http.ResponseWriter, r *http.Request) error {
	sub, std, ctl, err := h.control(r)
	if err != nil {
		return err
	}
	var items []*RegulatoryComplianceAssessment
	for _, a := range ctl.Assessments {
		items = append(items, ComplianceAssessmentRecord(sub, std.Name, ctl.Name, a))
	}
	return writePage(w, r, sortedByName(items), lowerName[*RegulatoryComplianceAssessment])
}

func (h *Handlers) getComplianceAssessment(w http.ResponseWriter, r *http.Request) error {
	sub, std, ctl, err := h.control(r)
	if err != nil {
		return err
	}
	name := r.PathValue("assessment")
	for _, a := range ctl.Assessments {
		if strings.EqualFold(a.Key, name) {
			armapi.WriteJSON(w, http.StatusOK, ComplianceAssessmentRecord(sub, std.Name, ctl.Name, a))
			return nil
		}
	}
	return armapi.NotFound("RegulatoryComplianceAssessmentNotFound", "The assessment '%s' of control '%s' was not found.", name, ctl.Name)
}
