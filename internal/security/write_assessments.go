package security

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/store"
)

// PutAssessment creates or replaces the assessment key on a resource. The
// server keeps status.firstEvaluationDate and moves status.statusChangeDate
// only when status.code changes. It appends an Assessments Insert event on
// creation or a status change. It returns the stored assessment and
// whether it was created.
func (w *Writer) PutAssessment(ctx context.Context, resource, key string, a *Assessment) (*Assessment, bool, error) {
	created := false
	err := w.apply(ctx, func() error {
		var err error
		created, err = w.putAssessment(ctx, resource, key, a, nil, 0)
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
	// rid, resKey and recKey are the parsed assessed resource, its key and
	// the assessment record's key (worked out here, not in the writer).
	rid            *armid.ID
	resKey, recKey string
	exists         bool
	info           assessInfo
	next           assessInfo
	body           []byte
	event          []byte
	action         Action
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
	sp := &assessSpec{now: now.UTC(), rid: rid, resKey: resKey}
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
	completeAssessment(a, resourceID, rid, key, prev, meta, sp.now)
	sp.recKey = armid.Key(a.ID)
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

// putAssessment writes an assessment; line is the hash of the ingested line
// it comes from (0 for other writes), remembered for a built-in
// recommendation (see rescan.go).
func (w *Writer) putAssessment(ctx context.Context, resource, key string, a *Assessment, spec *assessSpec, line uint64) (bool, error) {
	var rid *armid.ID
	var resKey string
	if spec != nil {
		// Parsed from this very resource ahead of the transaction.
		rid, resKey = spec.rid, spec.resKey
	} else {
		var err error
		if rid, err = resourceID(resource, "assessed resource"); err != nil {
			return false, err
		}
		resKey = armid.Key(rid.String())
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
	k := w.s.keyIndex(key)
	var info assessInfo
	var exists bool
	w.lookup(e, func(agg *subAgg) { info, exists = agg.res[resKey][k] })
	builtin := meta == w.s.builtins[strings.ToLower(key)]
	if !builtin {
		line = 0 // custom metadata can change what the same line produces
	}
	if spec != nil && spec.now.Equal(w.now) && spec.tenant == tenant && spec.exists == exists && spec.info.same(info) && builtin {
		if exists && spec.next.hash == info.hash {
			w.remember(e, resKey, k, info.hash, line)
			return false, nil
		}
		next := spec.next
		next.line = line
		return w.writeAssessment(ctx, a, spec.recKey, rid, sub, tenant, resKey, k, exists, spec.body, next, spec.event, spec.action)
	}
	var prev *Assessment
	if exists {
		prev = &Assessment{Properties: AssessmentProperties{Status: AssessmentStatus{Code: info.code,
			FirstEvaluationDate: fromUnixNano(info.first), StatusChangeDate: fromUnixNano(info.change)}}}
	}
	completeAssessment(a, rid.String(), rid, key, prev, meta, w.now)
	body, err := w.s.encodeAssessment(a, meta)
	if err != nil {
		return false, err
	}
	st := a.Properties.Status
	next := assessInfo{code: st.Code, first: unixNano(st.FirstEvaluationDate), change: unixNano(st.StatusChangeDate), hash: w.s.hash(body), line: line}
	if exists && next.hash == info.hash {
		w.remember(e, resKey, k, info.hash, line)
		return false, nil
	}
	var evBody []byte
	action, changed := AssessmentChange(prev, a)
	if changed {
		if evBody, err = AssessmentEvent(a.WithoutSecrets(), tenant, action, false); err != nil {
			return false, err
		}
	}
	return w.writeAssessment(ctx, a, armid.Key(a.ID), rid, sub, tenant, resKey, k, exists, body, next, evBody, action)
}

// writeAssessment stores an encoded assessment (unless it is unchanged) and
// appends its event (when evBody is set).
func (w *Writer) writeAssessment(ctx context.Context, a *Assessment, recKey string, rid *armid.ID, sub, tenant, resKey string, k int,
	exists bool, body []byte, next assessInfo, evBody []byte, action Action) (bool, error) {
	if err := w.tx.Put(ctx, &store.Record{Kind: KindAssessment, Key: recKey, ID: a.ID, Body: body}); err != nil {
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
		created, err = w.putSubAssessment(ctx, assessmentID, name, s, nil, 0)
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

// subSpec is a new finding worked out ahead of its transaction (see
// Service.speculateSub).
type subSpec struct {
	now    time.Time
	tenant string
	hk     uint64
	sub    *SubAssessment
	body   []byte
	event  []byte
}

// speculateSub completes and encodes a finding outside the store's writer,
// assuming it is new. It returns nil when the caches do not know the
// subscription's tenant or say the finding exists.
func (s *Service) speculateSub(assessmentID, name string, sa *SubAssessment, now time.Time) *subSpec {
	_, key, rid, ok := quickAssessmentID(assessmentID)
	if !ok {
		resource, k, err := ParseAssessmentID(assessmentID)
		if err != nil {
			return nil
		}
		if rid, err = resourceID(resource, "assessed resource"); err != nil {
			return nil
		}
		key = k
	}
	parentID := AssessmentID(rid.String(), key)
	hk := s.hashKey(armid.Key(SubAssessmentID(parentID, name)))
	s.mu.Lock()
	tenant, known := s.tenants[rid.Subscription]
	var maybe bool
	if e := s.aggs[rid.Subscription]; e != nil {
		_, maybe = e.agg.findings[hk]
	}
	s.mu.Unlock()
	// The parent may still be on its way (earlier in the same request):
	// the writer checks that it exists and that the finding is new.
	if !known || maybe {
		return nil
	}
	c := *sa
	CompleteSubAssessment(&c, parentID, name, now.UTC())
	sp := &subSpec{now: now.UTC(), tenant: tenant, hk: hk, sub: &c}
	var err error
	if sp.body, ok = appendSubAssessmentREST(make([]byte, 0, 3072), &c); !ok {
		if sp.body, err = json.Marshal(&c); err != nil {
			return nil
		}
	}
	if sp.event, err = SubAssessmentEvent(&c, tenant, ActionInsert, false); err != nil {
		return nil
	}
	return sp
}

// putSubAssessment writes a finding; line is the hash of the ingested line
// it comes from (0 for other writes), remembered when the line changes
// nothing (see rescan.go).
func (w *Writer) putSubAssessment(ctx context.Context, assessmentID, name string, s *SubAssessment, spec *subSpec, line uint64) (bool, error) {
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
	if spec != nil && !maybe && spec.hk == hk && spec.now.Equal(w.now) && spec.tenant == tenant && spec.sub.ID == id {
		// The speculation holds: a new finding.
		if err := w.tx.Put(ctx, &store.Record{Kind: KindSubAssessment, Key: armid.Key(id), ID: id, Body: spec.body}); err != nil {
			return false, err
		}
		w.later(sub, false, func(agg *subAgg) { agg.findings[hk] = 0 })
		if err := w.emit(ctx, &store.Event{Source: SourceSubAssessments, Tenant: tenant, Subscription: sub,
			ResourceGroup: rid.ResourceGroup, ResourceID: rid.String(), Body: spec.event}); err != nil {
			return false, err
		}
		*s = *spec.sub
		return true, nil
	}
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
	_, wrote, err := w.put(ctx, KindSubAssessment, s.ID, "", prevRec, s)
	if err != nil {
		return false, err
	}
	if wrote || line == 0 {
		w.later(sub, false, func(agg *subAgg) { agg.findings[hk] = 0 })
	} else {
		w.rememberKey(e, func(agg *subAgg) map[uint64]uint64 { return agg.findings }, hk, line)
	}
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
