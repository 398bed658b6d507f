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
	"sluice/internal/ingest"
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
	// direct writers run each write without a savepoint (see apply).
	direct bool
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
// only when it succeeds. A direct writer runs fn without a savepoint: a
// write that fails before writing anything is rejected alone, one that
// fails after writing returns an error wrapping ingest.ErrRollback (the
// caller must roll the transaction back and try again isolated).
func (w *Writer) apply(ctx context.Context, fn func() error) error {
	w.pending = w.pending[:0]
	events := w.Events
	outer := w.tx
	var err error
	if w.direct {
		tt := &trackTx{Tx: outer}
		w.tx = tt
		err = fn()
		if err != nil && tt.wrote {
			err = fmt.Errorf("%w: %w", ingest.ErrRollback, err)
		}
	} else {
		err = outer.Savepoint(ctx, func(tx store.Tx) error {
			w.tx = tx
			return fn()
		})
	}
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

// trackTx is the transaction of one direct write: it notes whether the
// write attempted any change, which only a rollback could undo.
type trackTx struct {
	store.Tx
	wrote bool
}

func (t *trackTx) Put(ctx context.Context, rec *store.Record) error {
	t.wrote = true
	return t.Tx.Put(ctx, rec)
}

func (t *trackTx) Delete(ctx context.Context, kind, key string) (bool, error) {
	t.wrote = true
	return t.Tx.Delete(ctx, kind, key)
}

func (t *trackTx) AppendEvent(ctx context.Context, ev *store.Event) error {
	t.wrote = true
	return t.Tx.AppendEvent(ctx, ev)
}

func (t *trackTx) Savepoint(ctx context.Context, fn func(store.Tx) error) error {
	t.wrote = true
	return t.Tx.Savepoint(ctx, fn)
}

func (t *trackTx) Enqueue(ctx context.Context, e *store.QueueEntry) error {
	t.wrote = true
	return t.Tx.Enqueue(ctx, e)
}

func (t *trackTx) Dequeue(ctx context.Context, action string, seqs []int64) error {
	t.wrote = true
	return t.Tx.Dequeue(ctx, action, seqs)
}

func (t *trackTx) SetActionState(ctx context.Context, st *store.ActionState) error {
	t.wrote = true
	return t.Tx.SetActionState(ctx, st)
}

func (t *trackTx) DropQueues(ctx context.Context, prefix string) error {
	t.wrote = true
	return t.Tx.DropQueues(ctx, prefix)
}

func (t *trackTx) AddDeadLetter(ctx context.Context, d *store.DeadLetter) error {
	t.wrote = true
	return t.Tx.AddDeadLetter(ctx, d)
}

func (t *trackTx) DeleteDeadLetter(ctx context.Context, id int64) (bool, error) {
	t.wrote = true
	return t.Tx.DeleteDeadLetter(ctx, id)
}
