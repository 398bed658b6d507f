package security

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/store"
)

// Writer applies security writes within one store transaction. Each write
// runs under its own savepoint (a failed write leaves nothing behind) and
// appends its events; Finish recomputes the secure score and compliance of
// the subscriptions whose assessments changed, once, and appends their
// events. A Writer is used by one goroutine, inside one Update.
type Writer struct {
	s   *Service
	tx  store.Tx
	now time.Time

	tenants map[string]string // subscription -> tenant ("" = not registered)
	rgLoc   map[string]string // resource group id key -> location
	meta    map[string]*AssessmentMetadataProperties
	touched map[string]*cachedAgg
	// changed marks subscriptions whose cache changed; scored those whose
	// assessment codes changed (their score and compliance are recomputed).
	changed, scored map[string]bool
	pending         []pendingOp
	// Events counts the events appended.
	Events int
}

// pendingOp is a cache change that applies once its write succeeded.
type pendingOp struct {
	sub    string
	scored bool
	fn     func(a *subAgg)
}

// NewWriter returns a Writer over tx; now stamps the writes.
func (s *Service) NewWriter(tx store.Tx, now time.Time) *Writer {
	return &Writer{s: s, tx: tx, now: now.UTC(), tenants: map[string]string{}, rgLoc: map[string]string{},
		meta: map[string]*AssessmentMetadataProperties{}, touched: map[string]*cachedAgg{}, changed: map[string]bool{}, scored: map[string]bool{}}
}

// apply runs fn under a savepoint; the counter changes fn queued are applied
// only when it succeeds.
func (w *Writer) apply(ctx context.Context, fn func() error) error {
	w.pending = w.pending[:0]
	events := w.Events
	outer := w.tx
	err := outer.Savepoint(ctx, func(tx store.Tx) error {
		w.tx = tx
		return fn()
	})
	w.tx = outer
	if err != nil {
		w.pending = w.pending[:0]
		w.Events = events
		return err
	}
	if len(w.pending) > 0 {
		w.s.mu.Lock()
		for _, op := range w.pending {
			op.fn(w.touched[op.sub].agg)
			w.changed[op.sub] = true
			if op.scored {
				w.scored[op.sub] = true
			}
		}
		w.s.mu.Unlock()
		w.pending = w.pending[:0]
	}
	return nil
}

// tenant returns the tenant of a registered subscription, or a 404
// SubscriptionNotFound.
func (w *Writer) tenant(ctx context.Context, sub string) (string, error) {
	sub = strings.ToLower(sub)
	if t, ok := w.tenants[sub]; ok {
		if t == "" {
			return "", notRegistered(sub)
		}
		return t, nil
	}
	s, err := w.s.Estate.Subscription(ctx, w.tx, sub)
	if err != nil {
		var ae *armapi.Error
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			w.tenants[sub] = ""
			return "", notRegistered(sub)
		}
		return "", err
	}
	w.tenants[sub] = s.TenantID
	w.s.mu.Lock()
	w.s.tenants[sub] = s.TenantID
	w.s.mu.Unlock()
	return s.TenantID, nil
}

func notRegistered(sub string) error {
	return armapi.NotFound("SubscriptionNotFound", "The subscription '%s' is not registered with Sluice.", sub)
}

// touch validates (or rebuilds) the counters of a subscription before its
// first change in this writer.
func (w *Writer) touch(ctx context.Context, sub string) (*cachedAgg, error) {
	if e, ok := w.touched[sub]; ok {
		return e, nil
	}
	st, err := readState(ctx, w.tx, sub)
	if err != nil {
		return nil, err
	}
	var rev int64
	if st != nil {
		rev = st.Rev
	}
	w.s.mu.Lock()
	e := w.s.aggs[sub]
	ok := e != nil && e.valid && e.rev == rev
	if ok {
		e.valid = false // in use until Finish stores its state
	}
	w.s.mu.Unlock()
	if !ok {
		agg, err := w.s.loadAgg(ctx, w.tx, sub)
		if err != nil {
			return nil, err
		}
		e = &cachedAgg{agg: agg, rev: rev, last: st}
		w.s.mu.Lock()
		w.s.aggs[sub] = e
		w.s.mu.Unlock()
	}
	w.touched[sub] = e
	return e, nil
}

// lookup reads the cache of a touched subscription.
func (w *Writer) lookup(e *cachedAgg, fn func(a *subAgg)) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	fn(e.agg)
}

// later queues a cache change for when the current write succeeds.
func (w *Writer) later(sub string, scored bool, fn func(a *subAgg)) {
	w.pending = append(w.pending, pendingOp{sub: sub, scored: scored, fn: fn})
}

func (w *Writer) emit(ctx context.Context, ev *store.Event) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("event id: %w", err)
	}
	ev.ID = id.String()
	ev.Time = w.now
	if err := w.tx.AppendEvent(ctx, ev); err != nil {
		return err
	}
	w.Events++
	return nil
}

// put stores a record unless the stored body is byte-identical; it reports
// whether it wrote.
func (w *Writer) put(ctx context.Context, kind, id, parent string, prev *store.Record, v any) ([]byte, bool, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, false, fmt.Errorf("encode %s: %w", kind, err)
	}
	if prev != nil && bytes.Equal(prev.Body, body) {
		return body, false, nil
	}
	rec := &store.Record{Kind: kind, Key: armid.Key(id), ID: id, Parent: parent, Body: body}
	if prev != nil {
		rec.Created = prev.Created
	}
	if err := w.tx.Put(ctx, rec); err != nil {
		return nil, false, err
	}
	return body, true, nil
}

func (w *Writer) get(ctx context.Context, kind, id string) (*store.Record, error) {
	rec, err := w.tx.Get(ctx, kind, armid.Key(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return rec, err
}

// resourceID parses and canonicalizes the ID of a resource that must lie in
// a subscription.
func resourceID(raw, what string) (*armid.ID, error) {
	id, err := armid.Parse(raw)
	if err != nil {
		return nil, armapi.BadRequest(CodeInvalidResourceID, "The %s '%s' is not a valid resource ID: %v", what, raw, err)
	}
	if id.Subscription == "" {
		return nil, armapi.BadRequest(CodeInvalidResourceID, "The %s '%s' does not lie in a subscription.", what, raw)
	}
	return id, nil
}

// checkName validates a child resource name.
func checkName(name, what string) error {
	if name == "" || len(name) > 260 || strings.ContainsAny(name, "/?#%\\") || strings.TrimSpace(name) != name {
		return armapi.BadRequest("InvalidResourceName", "The %s name '%s' is invalid: 1–260 characters without '/', '?', '#', '%%', '\\' or surrounding spaces.", what, name)
	}
	return nil
}

// metadataFor resolves the definition of an assessment key: the built-in
// catalog first, then custom metadata of the subscription, then the
// metadata in the body.
func (w *Writer) metadataFor(ctx context.Context, sub, key string, inline *AssessmentMetadataProperties) (*AssessmentMetadataProperties, error) {
	if m, ok := w.s.builtins[strings.ToLower(key)]; ok {
		return m, nil
	}
	id := armid.Key(MetadataID(sub, key))
	m, ok := w.meta[id]
	if !ok {
		rec, err := w.get(ctx, KindMetadata, id)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			v, err := decodeRecord[AssessmentMetadata](rec)
			if err != nil {
				return nil, err
			}
			m = &v.Properties
		}
		w.meta[id] = m
	}
	if m != nil {
		return m, nil
	}
	if inline != nil {
		return inline, nil
	}
	return nil, armapi.BadRequest("AssessmentMetadataNotFound",
		"The assessment key '%s' is neither a built-in recommendation nor custom assessment metadata of subscription '%s', and the body has no properties.metadata.", key, sub)
}

// PutAssessment creates or replaces the assessment key on a resource. The
// server keeps status.firstEvaluationDate and moves status.statusChangeDate
// only when status.code changes. It appends an Assessments Insert event on
// creation or a status change. It returns the stored assessment and
// whether it was created.
func (w *Writer) PutAssessment(ctx context.Context, resource, key string, a *Assessment) (*Assessment, bool, error) {
	created := false
	err := w.apply(ctx, func() error {
		var err error
		created, err = w.putAssessment(ctx, resource, key, a, nil)
		return err
	})
	return a, created, err
}

// assessSpec is an assessment write worked out ahead of its transaction
// from the cache as it then was (see Service.speculate); the transaction
// uses it when the cache still says the same.
type assessSpec struct {
	now    time.Time
	tenant string
	exists bool
	info   assessInfo
	next   assessInfo
	body   []byte
	event  []byte
	action Action
}

// speculate completes and encodes an assessment write of a built-in
// recommendation outside the store's writer, against the cached state of
// its subscription. It returns nil when the subscription is not cached.
func (s *Service) speculate(rid *armid.ID, key string, a *Assessment, now time.Time) *assessSpec {
	key = s.canonicalKey(key)
	meta, ok := s.builtins[strings.ToLower(key)]
	if !ok {
		return nil
	}
	resourceID := rid.String()
	resKey, k := armid.Key(resourceID), s.ix.key[strings.ToLower(key)]
	sp := &assessSpec{now: now.UTC()}
	s.mu.Lock()
	tenant, known := s.tenants[rid.Subscription]
	e := s.aggs[rid.Subscription]
	if e != nil {
		sp.info, sp.exists = e.agg.res[resKey][k]
	}
	s.mu.Unlock()
	if !known || e == nil {
		return nil
	}
	sp.tenant = tenant
	var prev *Assessment
	if sp.exists {
		prev = &Assessment{Properties: AssessmentProperties{Status: AssessmentStatus{Code: sp.info.code,
			FirstEvaluationDate: fromUnixNano(sp.info.first), StatusChangeDate: fromUnixNano(sp.info.change)}}}
	}
	CompleteAssessment(a, resourceID, key, prev, meta, sp.now)
	body, err := s.encodeAssessment(a, meta)
	if err != nil {
		return nil
	}
	sp.body = body
	st := a.Properties.Status
	sp.next = assessInfo{code: st.Code, first: unixNano(st.FirstEvaluationDate), change: unixNano(st.StatusChangeDate), hash: s.hash(body)}
	if sp.exists && sp.next.hash == sp.info.hash {
		return sp
	}
	if action, changed := AssessmentChange(prev, a); changed {
		sp.action = action
		if sp.event, err = AssessmentEvent(a.WithoutSecrets(), tenant, action, false); err != nil {
			return nil
		}
	}
	return sp
}

func (w *Writer) putAssessment(ctx context.Context, resource, key string, a *Assessment, spec *assessSpec) (bool, error) {
	rid, err := resourceID(resource, "assessed resource")
	if err != nil {
		return false, err
	}
	if err := checkName(key, "assessment"); err != nil {
		return false, err
	}
	key = w.s.canonicalKey(key)
	sub := rid.Subscription
	tenant, err := w.tenant(ctx, sub)
	if err != nil {
		return false, err
	}
	meta, err := w.metadataFor(ctx, sub, key, a.Properties.Metadata)
	if err != nil {
		return false, err
	}
	e, err := w.touch(ctx, sub)
	if err != nil {
		return false, err
	}
	resourceID := rid.String()
	resKey := armid.Key(resourceID)
	k := w.s.keyIndex(key)
	var info assessInfo
	var exists bool
	w.lookup(e, func(agg *subAgg) { info, exists = agg.res[resKey][k] })
	if spec != nil && spec.now.Equal(w.now) && spec.tenant == tenant && spec.exists == exists && spec.info == info &&
		meta == w.s.builtins[strings.ToLower(key)] {
		if exists && spec.next.hash == info.hash {
			return false, nil
		}
		return w.writeAssessment(ctx, a, rid, sub, tenant, resKey, k, exists, spec.body, spec.next, spec.event, spec.action)
	}
	var prev *Assessment
	if exists {
		prev = &Assessment{Properties: AssessmentProperties{Status: AssessmentStatus{Code: info.code,
			FirstEvaluationDate: fromUnixNano(info.first), StatusChangeDate: fromUnixNano(info.change)}}}
	}
	CompleteAssessment(a, resourceID, key, prev, meta, w.now)
	body, err := w.s.encodeAssessment(a, meta)
	if err != nil {
		return false, err
	}
	st := a.Properties.Status
	next := assessInfo{code: st.Code, first: unixNano(st.FirstEvaluationDate), change: unixNano(st.StatusChangeDate), hash: w.s.hash(body)}
	if exists && next.hash == info.hash {
		return false, nil
	}
	var evBody []byte
	action, changed := AssessmentChange(prev, a)
	if changed {
		if evBody, err = AssessmentEvent(a.WithoutSecrets(), tenant, action, false); err != nil {
			return false, err
		}
	}
	return w.writeAssessment(ctx, a, rid, sub, tenant, resKey, k, exists, body, next, evBody, action)
}

// writeAssessment stores an encoded assessment (unless it is unchanged) and
// appends its event (when evBody is set).
func (w *Writer) writeAssessment(ctx context.Context, a *Assessment, rid *armid.ID, sub, tenant, resKey string, k int,
	exists bool, body []byte, next assessInfo, evBody []byte, action Action) (bool, error) {
	if err := w.tx.Put(ctx, &store.Record{Kind: KindAssessment, Key: armid.Key(a.ID), ID: a.ID, Parent: sub, Body: body}); err != nil {
		return false, err
	}
	w.later(sub, evBody != nil, func(agg *subAgg) { agg.set(w.s.ix, resKey, k, &next) })
	if evBody == nil {
		return false, nil
	}
	if err := w.emit(ctx, &store.Event{Source: SourceAssessments, Tenant: tenant, Subscription: sub,
		ResourceGroup: rid.ResourceGroup, ResourceID: rid.String(), Body: evBody}); err != nil {
		return false, err
	}
	return !exists, nil
}

// DeleteAssessment removes an assessment and its sub-assessments,
// appending Delete events that carry their last properties. It reports
// whether the assessment existed.
func (w *Writer) DeleteAssessment(ctx context.Context, resource, key string) (bool, error) {
	found := false
	err := w.apply(ctx, func() error {
		var err error
		found, err = w.deleteAssessment(ctx, resource, key)
		return err
	})
	return found, err
}

func (w *Writer) deleteAssessment(ctx context.Context, resource, key string) (bool, error) {
	rid, err := resourceID(resource, "assessed resource")
	if err != nil {
		return false, err
	}
	sub := rid.Subscription
	tenant, err := w.tenant(ctx, sub)
	if err != nil {
		return false, err
	}
	e, err := w.touch(ctx, sub)
	if err != nil {
		return false, err
	}
	resKey := armid.Key(rid.String())
	k := w.s.keyIndex(key)
	var exists bool
	w.lookup(e, func(agg *subAgg) { _, exists = agg.res[resKey][k] })
	if !exists {
		return false, nil
	}
	prevRec, err := w.get(ctx, KindAssessment, AssessmentID(rid.String(), key))
	if err != nil || prevRec == nil {
		return false, err
	}
	prev, err := w.s.decodeAssessment(prevRec)
	if err != nil {
		return false, err
	}
	// Findings go with their assessment.
	subs, err := w.tx.List(ctx, store.ListOptions{Kind: KindSubAssessment, Prefix: prevRec.Key + "/subassessments/"})
	if err != nil {
		return false, err
	}
	for _, rec := range subs {
		if err := w.deleteSubRecord(ctx, rec, tenant, sub, rid); err != nil {
			return false, err
		}
	}
	if _, err := w.tx.Delete(ctx, KindAssessment, prevRec.Key); err != nil {
		return false, err
	}
	w.later(sub, true, func(agg *subAgg) { agg.set(w.s.ix, resKey, k, nil) })
	body, err := AssessmentEvent(prev.WithoutSecrets(), tenant, ActionDelete, false)
	if err != nil {
		return false, err
	}
	resourceID := prev.Properties.ResourceDetails.ID
	if resourceID == "" {
		resourceID = rid.String()
	}
	if err := w.emit(ctx, &store.Event{Source: SourceAssessments, Tenant: tenant, Subscription: sub,
		ResourceGroup: rid.ResourceGroup, ResourceID: resourceID, Body: body}); err != nil {
		return false, err
	}
	return true, nil
}

// PutSubAssessment creates or replaces the finding name under an existing
// assessment, appending a SubAssessments Insert event on creation or a
// status change.
func (w *Writer) PutSubAssessment(ctx context.Context, assessmentID, name string, s *SubAssessment) (*SubAssessment, bool, error) {
	created := false
	err := w.apply(ctx, func() error {
		var err error
		created, err = w.putSubAssessment(ctx, assessmentID, name, s)
		return err
	})
	return s, created, err
}

// parentAssessment checks that an assessment exists; it returns its
// canonical ID, the assessed resource and the tenant.
func (w *Writer) parentAssessment(ctx context.Context, assessmentID string) (string, *armid.ID, string, *cachedAgg, error) {
	resource, key, err := ParseAssessmentID(assessmentID)
	if err != nil {
		return "", nil, "", nil, apiError(err)
	}
	rid, err := resourceID(resource, "assessed resource")
	if err != nil {
		return "", nil, "", nil, err
	}
	tenant, err := w.tenant(ctx, rid.Subscription)
	if err != nil {
		return "", nil, "", nil, err
	}
	e, err := w.touch(ctx, rid.Subscription)
	if err != nil {
		return "", nil, "", nil, err
	}
	resKey, k := armid.Key(rid.String()), w.s.keyIndex(key)
	var exists bool
	w.lookup(e, func(agg *subAgg) { _, exists = agg.res[resKey][k] })
	if !exists {
		return "", nil, "", nil, armapi.NotFound("ParentResourceNotFound",
			"The assessment '%s' does not exist; write the assessment before its sub-assessments.", assessmentID)
	}
	return AssessmentID(rid.String(), key), rid, tenant, e, nil
}

func (w *Writer) putSubAssessment(ctx context.Context, assessmentID, name string, s *SubAssessment) (bool, error) {
	if err := checkName(name, "sub-assessment"); err != nil {
		return false, err
	}
	parentID, rid, tenant, e, err := w.parentAssessment(ctx, assessmentID)
	if err != nil {
		return false, err
	}
	sub := rid.Subscription
	id := SubAssessmentID(parentID, name)
	hk := w.s.hashKey(armid.Key(id))
	var maybe bool
	w.lookup(e, func(agg *subAgg) { _, maybe = agg.findings[hk] })
	var prevRec *store.Record
	if maybe {
		if prevRec, err = w.get(ctx, KindSubAssessment, id); err != nil {
			return false, err
		}
	}
	var prev *SubAssessment
	if prevRec != nil {
		if prev, err = decodeRecord[SubAssessment](prevRec); err != nil {
			return false, err
		}
		// A re-sent finding without its own timestamp keeps the first one
		// while its status holds.
		if s.Properties.TimeGenerated == nil && prev.Properties.Status.Code == s.Properties.Status.Code {
			s.Properties.TimeGenerated = prev.Properties.TimeGenerated
		}
	}
	CompleteSubAssessment(s, parentID, name, w.now)
	if _, _, err := w.put(ctx, KindSubAssessment, s.ID, sub, prevRec, s); err != nil {
		return false, err
	}
	w.later(sub, false, func(agg *subAgg) { agg.findings[hk] = struct{}{} })
	action, ok := SubAssessmentChange(prev, s)
	if !ok {
		return prev == nil, nil
	}
	body, err := SubAssessmentEvent(s, tenant, action, false)
	if err != nil {
		return false, err
	}
	return prev == nil, w.emit(ctx, &store.Event{Source: SourceSubAssessments, Tenant: tenant, Subscription: sub,
		ResourceGroup: rid.ResourceGroup, ResourceID: rid.String(), Body: body})
}

// DeleteSubAssessment removes a finding, appending a Delete event. It
// reports whether it existed.
func (w *Writer) DeleteSubAssessment(ctx context.Context, assessmentID, name string) (bool, error) {
	found := false
	err := w.apply(ctx, func() error {
		resource, _, err := ParseAssessmentID(assessmentID)
		if err != nil {
			return apiError(err)
		}
		rid, err := resourceID(resource, "assessed resource")
		if err != nil {
			return err
		}
		tenant, err := w.tenant(ctx, rid.Subscription)
		if err != nil {
			return err
		}
		if _, err := w.touch(ctx, rid.Subscription); err != nil {
			return err
		}
		rec, err := w.get(ctx, KindSubAssessment, SubAssessmentID(assessmentID, name))
		if err != nil || rec == nil {
			return err
		}
		found = true
		return w.deleteSubRecord(ctx, rec, tenant, rid.Subscription, rid)
	})
	return found, err
}

func (w *Writer) deleteSubRecord(ctx context.Context, rec *store.Record, tenant, sub string, rid *armid.ID) error {
	prev, err := decodeRecord[SubAssessment](rec)
	if err != nil {
		return err
	}
	if _, err := w.tx.Delete(ctx, KindSubAssessment, rec.Key); err != nil {
		return err
	}
	hk := w.s.hashKey(rec.Key)
	w.later(sub, false, func(agg *subAgg) { delete(agg.findings, hk) })
	body, err := SubAssessmentEvent(prev, tenant, ActionDelete, false)
	if err != nil {
		return err
	}
	return w.emit(ctx, &store.Event{Source: SourceSubAssessments, Tenant: tenant, Subscription: sub,
		ResourceGroup: rid.ResourceGroup, ResourceID: rid.String(), Body: body})
}

// alertPlacement is where an alert lives: subscription, resource group and
// location.
type alertPlacement struct {
	sub, rg, location, name string
	resource                *armid.ID
	// fromGroup is set when the location is the resource group's (or the
	// default for want of one) rather than given by the alert's id.
	fromGroup bool
}

const alertLocationsMarker = "/providers/microsoft.security/locations/"

// placeAlert decides an alert's subscription (that of its Azure resource,
// else of the given ID, else of its workspace), location (from the ID,
// else the resource group's, else the default) and name (from the ID, the
// body, or its systemAlertId).
func (w *Writer) placeAlert(ctx context.Context, a *Alert, id string) (*alertPlacement, error) {
	return w.s.placeAlert(a, id, w.now, func(sub, rg string) (string, error) { return w.rgLocation(ctx, sub, rg) })
}

// placeAlert places an alert; rgLocation reads the location of a resource
// group ("" when unknown).
func (s *Service) placeAlert(a *Alert, id string, now time.Time, rgLocation func(sub, rg string) (string, error)) (*alertPlacement, error) {
	p := &alertPlacement{name: a.Name}
	if r := a.AzureResourceID(); r != "" {
		rid, err := resourceID(r, "alert's Azure resource")
		if err != nil {
			return nil, err
		}
		p.resource, p.sub, p.rg = rid, rid.Subscription, rid.ResourceGroup
	}
	if id != "" {
		lower := strings.ToLower(id)
		i := strings.Index(lower, alertLocationsMarker)
		rest := ""
		if i >= 0 {
			rest = id[i+len(alertLocationsMarker):]
		}
		loc, name, ok := strings.Cut(rest, "/alerts/")
		if !ok || loc == "" || name == "" || strings.Contains(loc, "/") || strings.Contains(name, "/") {
			return nil, armapi.BadRequest(CodeInvalidResourceID,
				"The alert id '%s' is not of the form /subscriptions/{s}[/resourceGroups/{rg}]/providers/Microsoft.Security/locations/{location}/alerts/{name}.", id)
		}
		scope, err := resourceID(id[:i], "alert scope")
		if err != nil {
			return nil, err
		}
		p.location, p.name = loc, name
		if p.sub == "" {
			p.sub, p.rg = scope.Subscription, scope.ResourceGroup
		}
	}
	if p.sub == "" {
		for _, r := range a.Properties.ResourceIdentifiers {
			if r.WorkspaceSubscriptionID != "" && armid.IsGUID(r.WorkspaceSubscriptionID) {
				p.sub = strings.ToLower(r.WorkspaceSubscriptionID)
				p.rg = r.WorkspaceResourceGroup
				break
			}
		}
	}
	if p.sub == "" {
		return nil, armapi.BadRequest(CodeMissingRequiredProperty,
			"The alert names no Azure resource, no alert id and no workspace subscription, so it cannot be placed in a subscription.")
	}
	if p.location == "" {
		p.location, p.fromGroup = s.DefaultAlertLocation, true
		if p.rg != "" {
			loc, err := rgLocation(p.sub, p.rg)
			if err != nil {
				return nil, err
			}
			if loc != "" {
				p.location = loc
			}
		}
	}
	if p.name == "" {
		p.name = a.Properties.SystemAlertID
	}
	if p.name == "" {
		p.name = NewSystemAlertID(now)
	}
	if err := checkName(p.name, "alert"); err != nil {
		return nil, err
	}
	if err := checkName(p.location, "location"); err != nil {
		return nil, err
	}
	return p, nil
}

func (w *Writer) rgLocation(ctx context.Context, sub, rg string) (string, error) {
	key := armid.Key(armid.ResourceGroupID(sub, rg))
	if loc, ok := w.rgLoc[key]; ok {
		return loc, nil
	}
	g, err := w.s.Estate.ResourceGroup(ctx, w.tx, sub, rg)
	loc := ""
	if err == nil {
		loc = g.Location
	} else {
		var ae *armapi.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
			return "", err
		}
	}
	w.rgLoc[key] = loc
	w.s.mu.Lock()
	w.s.rgLocs[key] = loc
	w.s.mu.Unlock()
	return loc, nil
}

// PutAlert creates or replaces an alert written by a producer (REST
// shape). id, when not empty, is the alert's ARM ID as the producer knows
// it (its location and name are kept). It appends an Alerts event on
// creation and when the status changes.
func (w *Writer) PutAlert(ctx context.Context, a *Alert, id string) (*Alert, bool, error) {
	created := false
	err := w.apply(ctx, func() error {
		var err error
		created, err = w.putAlert(ctx, a, id, nil)
		return err
	})
	return a, created, err
}

// alertSpec is a new alert worked out ahead of its transaction (see
// Service.speculateAlert).
type alertSpec struct {
	now    time.Time
	tenant string
	place  *alertPlacement
	hk     uint64
	alert  *Alert
	body   []byte
	event  []byte
	extra  []byte
}

var errNoSpeculation = errors.New("security: not cached")

// speculateAlert completes and encodes an alert outside the store's writer,
// assuming it is new, from the service's caches. It returns nil when the
// caches cannot tell or say the alert exists.
func (s *Service) speculateAlert(a *Alert, id string, now time.Time) *alertSpec {
	now = now.UTC()
	c := *a
	p, err := s.placeAlert(&c, id, now, func(sub, rg string) (string, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		loc, ok := s.rgLocs[armid.Key(armid.ResourceGroupID(sub, rg))]
		if !ok {
			return "", errNoSpeculation
		}
		return loc, nil
	})
	if err != nil {
		return nil
	}
	c.Name = p.name
	if c.Properties.SystemAlertID == "" {
		c.Properties.SystemAlertID = p.name
	}
	hk := s.hashKey(armid.Key(AlertID(p.sub, p.rg, p.location, p.name)))
	s.mu.Lock()
	tenant, known := s.tenants[p.sub]
	e := s.aggs[p.sub]
	exists := false
	if e != nil {
		_, exists = e.agg.alerts[hk]
	}
	s.mu.Unlock()
	if !known || e == nil || exists {
		return nil
	}
	CompleteAlert(&c, p.sub, p.location, now)
	c.ID = AlertID(p.sub, p.rg, p.location, c.Name)
	sp := &alertSpec{now: now, tenant: tenant, place: p, hk: hk, alert: &c}
	if sp.body, err = json.Marshal(&c); err != nil {
		return nil
	}
	if sp.event, err = AlertEvent(&c, tenant); err != nil {
		return nil
	}
	if sp.extra, err = json.Marshal(AlertRuleExtras(&c)); err != nil {
		return nil
	}
	return sp
}

// useAlertSpec writes a speculated alert when the transaction's view still
// agrees with it; it reports whether it did.
func (w *Writer) useAlertSpec(ctx context.Context, a *Alert, sp *alertSpec) (bool, error) {
	p := sp.place
	if !sp.now.Equal(w.now) {
		return false, nil
	}
	tenant, err := w.tenant(ctx, p.sub)
	if err != nil || tenant != sp.tenant {
		return false, err
	}
	if p.fromGroup && p.rg != "" {
		loc, err := w.rgLocation(ctx, p.sub, p.rg)
		if err != nil {
			return false, err
		}
		if loc == "" {
			loc = w.s.DefaultAlertLocation
		}
		if loc != p.location {
			return false, nil
		}
	}
	e, err := w.touch(ctx, p.sub)
	if err != nil {
		return false, err
	}
	var exists bool
	w.lookup(e, func(agg *subAgg) { _, exists = agg.alerts[sp.hk] })
	if exists {
		return false, nil
	}
	if err := w.tx.Put(ctx, &store.Record{Kind: KindAlert, Key: armid.Key(sp.alert.ID), ID: sp.alert.ID, Parent: p.sub, Body: sp.body}); err != nil {
		return false, err
	}
	hk := sp.hk
	w.later(p.sub, false, func(agg *subAgg) { agg.alerts[hk] = struct{}{} })
	resource := sp.alert.AzureResourceID()
	if resource == "" {
		resource = sp.alert.ID
	}
	if err := w.emit(ctx, &store.Event{Source: SourceAlerts, Tenant: tenant, Subscription: p.sub, ResourceGroup: p.rg,
		ResourceID: resource, Body: sp.event, Extra: sp.extra}); err != nil {
		return false, err
	}
	*a = *sp.alert
	return true, nil
}

func (w *Writer) putAlert(ctx context.Context, a *Alert, id string, spec *alertSpec) (bool, error) {
	if spec != nil {
		if done, err := w.useAlertSpec(ctx, a, spec); done || err != nil {
			return done, err
		}
	}
	p, err := w.placeAlert(ctx, a, id)
	if err != nil {
		return false, err
	}
	tenant, err := w.tenant(ctx, p.sub)
	if err != nil {
		return false, err
	}
	a.Name = p.name
	if a.Properties.SystemAlertID == "" {
		a.Properties.SystemAlertID = p.name
	}
	e, err := w.touch(ctx, p.sub)
	if err != nil {
		return false, err
	}
	alertID := AlertID(p.sub, p.rg, p.location, p.name)
	hk := w.s.hashKey(armid.Key(alertID))
	var maybe bool
	w.lookup(e, func(agg *subAgg) { _, maybe = agg.alerts[hk] })
	var prevRec *store.Record
	if maybe {
		if prevRec, err = w.get(ctx, KindAlert, alertID); err != nil {
			return false, err
		}
	}
	var prev *Alert
	if prevRec != nil {
		if prev, err = decodeRecord[Alert](prevRec); err != nil {
			return false, err
		}
		// What the server filled in at creation stays unless the producer
		// now says otherwise.
		pp, np := &prev.Properties, &a.Properties
		np.StartTimeUTC = cmpOr(np.StartTimeUTC, pp.StartTimeUTC)
		np.EndTimeUTC = cmpOr(np.EndTimeUTC, pp.EndTimeUTC)
		np.TimeGeneratedUTC = cmpOr(np.TimeGeneratedUTC, pp.TimeGeneratedUTC)
		np.ProcessingEndTimeUTC = cmpOr(np.ProcessingEndTimeUTC, pp.ProcessingEndTimeUTC)
		a.Name = prev.Name
	}
	CompleteAlert(a, p.sub, p.location, w.now)
	// CompleteAlert places the alert by its resource; an alert without one
	// keeps the resource group of its ID.
	a.ID = AlertID(p.sub, p.rg, p.location, a.Name)
	if prev != nil {
		a.ID = prev.ID
	}
	if _, _, err := w.put(ctx, KindAlert, a.ID, p.sub, prevRec, a); err != nil {
		return false, err
	}
	hk = w.s.hashKey(armid.Key(a.ID))
	w.later(p.sub, false, func(agg *subAgg) { agg.alerts[hk] = struct{}{} })
	if !AlertChanged(prev, a) {
		return false, nil
	}
	return prev == nil, w.emitAlert(ctx, a, tenant, p.sub, p.rg)
}

func cmpOr[T any](v, fallback *T) *T {
	if v != nil {
		return v
	}
	return fallback
}

func (w *Writer) emitAlert(ctx context.Context, a *Alert, tenant, sub, rg string) error {
	body, err := AlertEvent(a, tenant)
	if err != nil {
		return err
	}
	extra, err := json.Marshal(AlertRuleExtras(a))
	if err != nil {
		return err
	}
	resource := a.AzureResourceID()
	if resource == "" {
		resource = a.ID
	}
	return w.emit(ctx, &store.Event{Source: SourceAlerts, Tenant: tenant, Subscription: sub, ResourceGroup: rg,
		ResourceID: resource, Body: body, Extra: extra})
}

// SetAlertStatus changes an alert's status (Active, InProgress, Resolved or
// Dismissed), appending an Alerts event when it changes. An unknown alert is
// a 404 AlertNotFound.
func (w *Writer) SetAlertStatus(ctx context.Context, alertID, status string) error {
	return w.apply(ctx, func() error {
		id, err := resourceID(alertID, "alert")
		if err != nil {
			return err
		}
		tenant, err := w.tenant(ctx, id.Subscription)
		if err != nil {
			return err
		}
		rec, err := w.get(ctx, KindAlert, alertID)
		if err != nil {
			return err
		}
		if rec == nil {
			return armapi.NotFound("AlertNotFound", "The alert '%s' was not found.", alertID)
		}
		prev, err := decodeRecord[Alert](rec)
		if err != nil {
			return err
		}
		next := *prev
		next.Properties.Status = status
		if prev.Properties.Status == status {
			return nil
		}
		if _, _, err := w.put(ctx, KindAlert, prev.ID, id.Subscription, rec, &next); err != nil {
			return err
		}
		return w.emitAlert(ctx, &next, tenant, id.Subscription, id.ResourceGroup)
	})
}

// PutMetadata creates or replaces custom assessment metadata in a
// subscription. Built-in names are refused. Metadata changes produce no
// events.
func (w *Writer) PutMetadata(ctx context.Context, sub, name string, m *AssessmentMetadata) (*AssessmentMetadata, bool, error) {
	created := false
	err := w.apply(ctx, func() error {
		if !armid.IsGUID(sub) {
			return armapi.BadRequest("InvalidSubscriptionId", "The subscription id '%s' is not a GUID.", sub)
		}
		if err := checkName(name, "assessment metadata"); err != nil {
			return err
		}
		if _, builtin := w.s.builtins[strings.ToLower(name)]; builtin {
			return armapi.Errorf(http.StatusConflict, "BuiltInAssessmentMetadata",
				"The name '%s' is a built-in recommendation; custom assessment metadata needs another name.", name)
		}
		if _, err := w.tenant(ctx, sub); err != nil {
			return err
		}
		id := MetadataID(sub, name)
		prev, err := w.get(ctx, KindMetadata, id)
		if err != nil {
			return err
		}
		if prev != nil {
			id = prev.ID
		}
		m.ID, m.Name, m.Type = id, id[strings.LastIndex(id, "/")+1:], TypeAssessmentMetadata
		created = prev == nil
		_, _, err = w.put(ctx, KindMetadata, id, strings.ToLower(sub), prev, m)
		return err
	})
	return m, created, err
}

// DeleteMetadata removes custom assessment metadata; it reports whether it
// existed.
func (w *Writer) DeleteMetadata(ctx context.Context, sub, name string) (bool, error) {
	found := false
	err := w.apply(ctx, func() error {
		if _, err := w.tenant(ctx, sub); err != nil {
			return err
		}
		var err error
		found, err = w.tx.Delete(ctx, KindMetadata, armid.Key(MetadataID(sub, name)))
		return err
	})
	return found, err
}

// Finish recomputes the secure score and compliance of every subscription
// whose assessments changed, appends the score, control and compliance
// events the change rules call for, and stores the new state. Call it once,
// after the last write, in the same transaction.
func (w *Writer) Finish(ctx context.Context) error {
	subs := make([]string, 0, len(w.changed))
	for sub := range w.changed {
		subs = append(subs, sub)
	}
	slices.Sort(subs)
	for _, sub := range subs {
		if err := w.finishSub(ctx, sub); err != nil {
			return err
		}
	}
	// Subscriptions touched without a change keep their stored state.
	w.s.mu.Lock()
	for sub, e := range w.touched {
		if !w.changed[sub] {
			e.valid = true
		}
	}
	w.s.mu.Unlock()
	w.changed, w.scored = map[string]bool{}, map[string]bool{}
	return nil
}

// finishSub stores a changed subscription's state under a new revision;
// when its assessment codes changed it recomputes the score and compliance
// first and appends their events.
func (w *Writer) finishSub(ctx context.Context, sub string) error {
	e := w.touched[sub]
	prev := e.last
	var st *subState
	if w.scored[sub] {
		w.s.mu.Lock()
		score := e.agg.score(w.s.ix)
		keys := e.agg.keyCounts(w.s.ix)
		w.s.mu.Unlock()
		tenant, err := w.tenant(ctx, sub)
		if err != nil {
			return err
		}
		if prev != nil && !prev.Computed {
			prev = nil
		}
		if err := w.scoreEvents(ctx, sub, tenant, prev, score); err != nil {
			return err
		}
		if err := w.complianceEvents(ctx, sub, tenant, prev, keys); err != nil {
			return err
		}
		st = stateOf(w.s.rev.Add(1), score, keys)
	} else {
		st = &subState{}
		if prev != nil {
			*st = *prev
		}
		st.Rev = w.s.rev.Add(1)
	}
	body, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := w.tx.Put(ctx, &store.Record{Kind: KindState, Key: stateKey(sub), ID: armid.SubscriptionID(sub), Body: body}); err != nil {
		return err
	}
	w.s.mu.Lock()
	e.last, e.rev, e.valid = st, st.Rev, true
	w.s.mu.Unlock()
	return nil
}

// scoreEvents appends the overall and control score events whose score
// moved by 0.01 or more (none for the baseline, none for max-0 controls).
func (w *Writer) scoreEvents(ctx context.Context, sub, tenant string, prev *subState, score ScoreResult) error {
	if prev == nil {
		return nil
	}
	prevScore := w.s.scoreResult(prev)
	if ScoreMoved(prevScore.Score.Current, score.Score.Current) {
		body, err := SecureScoreEvent(SecureScoreRecord(sub, score), false)
		if err != nil {
			return err
		}
		if err := w.emit(ctx, &store.Event{Source: SourceSecureScores, Tenant: tenant, Subscription: sub,
			ResourceID: SecureScoreID(sub), Body: body}); err != nil {
			return err
		}
	}
	for i, cr := range score.Controls {
		old := prevScore.Controls[i]
		if cr.Control.MaxScore == 0 || !ScoreMoved(old.Score.Current, cr.Score.Current) {
			continue
		}
		rec := SecureScoreControlRecord(sub, cr, true)
		body, err := SecureScoreControlEvent(rec, false)
		if err != nil {
			return err
		}
		if err := w.emit(ctx, &store.Event{Source: SourceSecureScoreControls, Tenant: tenant, Subscription: sub,
			ResourceID: rec.ID, Body: body}); err != nil {
			return err
		}
	}
	return nil
}

// complianceEvents appends a Write event for every regulatory compliance
// assessment whose state changed (or that is new: every one when the
// subscription had no computed state).
func (w *Writer) complianceEvents(ctx context.Context, sub, tenant string, prev *subState, keys map[string]KeyCounts) error {
	changedKey := func(key string) bool {
		k := strings.ToLower(key)
		if prev == nil {
			return true
		}
		return prev.Keys[k].State() != keys[k].State()
	}
	for _, std := range w.s.Catalog.Standards {
		for _, sc := range std.Controls {
			for _, key := range sc.Assessments {
				if !changedKey(key) {
					continue
				}
				kc := keys[strings.ToLower(key)]
				desc := key
				if r, ok := w.s.Catalog.Recommendation(key); ok {
					desc = r.DisplayName
				}
				rec := ComplianceAssessmentRecord(sub, std.Name, sc.Name, ComplianceAssessmentResult{Key: key, Description: desc,
					State: kc.State(), Passed: kc[0], Failed: kc[1], Skipped: kc[2]})
				body, err := RegulatoryComplianceEvent(rec, false)
				if err != nil {
					return err
				}
				if err := w.emit(ctx, &store.Event{Source: SourceRegulatoryComplianceAssessment, Tenant: tenant,
					Subscription: sub, ResourceID: rec.ID, Body: body}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Tx is the transaction the writer writes in (for records outside the
// security state written atomically with it).
func (w *Writer) Tx() store.Tx { return w.tx }
