package security

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/catalog"
	"sluice/internal/estate"
	"sluice/internal/store"
)

// Store kinds of the security records.
const (
	KindAssessment    = "security.assessment"
	KindSubAssessment = "security.subassessment"
	KindAlert         = "security.alert"
	KindMetadata      = "security.metadata"
	// KindState is one record per subscription with its computed secure
	// score, control scores and per-recommendation compliance counts.
	KindState = "security.state"
)

// Event sources of the streaming events the service appends.
const (
	SourceAlerts                         = "Alerts"
	SourceAssessments                    = "Assessments"
	SourceSubAssessments                 = "SubAssessments"
	SourceSecureScores                   = "SecureScores"
	SourceSecureScoreControls            = "SecureScoreControls"
	SourceRegulatoryComplianceAssessment = "RegulatoryComplianceAssessment"
)

// Estate places records in the estate: the tenant of a registered
// subscription and the location of a resource group. *estate.Service
// implements it.
type Estate interface {
	Subscription(ctx context.Context, r store.Reader, id string) (*estate.Subscription, error)
	ResourceGroup(ctx context.Context, r store.Reader, sub, name string) (*estate.ResourceGroup, error)
}

// Service keeps the security state in the store: assessments, custom
// assessment metadata, sub-assessments and alerts written through a
// Writer, and the secure score and regulatory compliance it derives from
// the assessments. Every write that changes what continuous export sends
// appends the events in the same transaction.
//
// The service keeps, per subscription, running counters of the assessment
// states (see aggregate.go) so that scores are recomputed once per batch in
// time independent of the subscription's size. The counters are a cache of
// the stored assessments: each is validated against a revision stored with
// the subscription's computed state and rebuilt from the store when it does
// not match (after a failed transaction, or at first use). Writers are
// assumed to run one at a time, as the store's grouped commit runs them.
type Service struct {
	Store   store.Store
	Catalog *catalog.Catalog
	Estate  Estate
	Log     *slog.Logger
	// DefaultAlertLocation is the location of alerts whose resource group is
	// unknown (default centralus).
	DefaultAlertLocation string

	ix       *aggIndex
	builtins map[string]*AssessmentMetadataProperties

	mu   sync.Mutex
	aggs map[string]*cachedAgg
	// custom numbers assessment keys outside the catalog (after the
	// catalog's recommendations), for the cache.
	custom map[string]int
	// tenants remembers the tenant of subscriptions writers saw (for
	// speculation; writers check it).
	tenants map[string]string
	// rgLocs remembers resource group locations ("" for unknown groups).
	rgLocs map[string]string
	// alertLines finds the alert an ingested line was last confirmed for,
	// by the line's hash (see rescan.go); at most maxAlertLines entries.
	alertLines map[uint64]alertLine
	// resentLines counts the ingested lines confirmed unchanged without
	// being parsed.
	resentLines atomic.Uint64
	seed        maphash.Seed
	rev         atomic.Int64
	now         func() time.Time
}

type cachedAgg struct {
	agg   *subAgg
	valid bool
	rev   int64
	last  *subState
}

// NewService returns a service over st with the given catalog and estate.
func NewService(st store.Store, cat *catalog.Catalog, est Estate, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{Store: st, Catalog: cat, Estate: est, Log: log, DefaultAlertLocation: "centralus",
		ix: newAggIndex(cat), builtins: map[string]*AssessmentMetadataProperties{}, aggs: map[string]*cachedAgg{},
		custom: map[string]int{}, tenants: map[string]string{}, rgLocs: map[string]string{}, seed: maphash.MakeSeed(), now: func() time.Time { return time.Now().UTC() }}
	for _, r := range cat.Recommendations {
		s.builtins[strings.ToLower(r.Name)] = MetadataPropertiesFromCatalog(r)
	}
	s.rev.Store(time.Now().UnixNano())
	return s
}

// Now returns the service's current time.
func (s *Service) Now() time.Time { return s.now() }

// SetClock replaces the service's clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Update runs fn with a Writer in one store transaction and recomputes the
// derived state of the subscriptions it changed before the commit.
func (s *Service) Update(ctx context.Context, fn func(w *Writer) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		w := s.NewWriter(tx, s.now())
		if err := fn(w); err != nil {
			return err
		}
		return w.Finish(ctx)
	})
}

// subState is the stored derived state of a subscription (KindState).
type subState struct {
	Rev int64 `json:"rev"`
	// Computed is false while no assessment change has been scored yet
	// (the next computation is the baseline).
	Computed bool                 `json:"computed"`
	Score    ScoreDetails         `json:"score"`
	Weight   int64                `json:"weight"`
	Controls []storedControl      `json:"controls"`
	Keys     map[string]KeyCounts `json:"keys"`
}

type storedControl struct {
	Name          string       `json:"name"`
	Healthy       int          `json:"healthy"`
	Unhealthy     int          `json:"unhealthy"`
	NotApplicable int          `json:"notApplicable"`
	Score         ScoreDetails `json:"score"`
	Weight        int64        `json:"weight"`
}

func stateOf(rev int64, score ScoreResult, keys map[string]KeyCounts) *subState {
	st := &subState{Rev: rev, Computed: true, Score: score.Score, Weight: score.Weight, Keys: keys}
	for _, c := range score.Controls {
		st.Controls = append(st.Controls, storedControl{Name: c.Control.Name, Healthy: c.Healthy, Unhealthy: c.Unhealthy,
			NotApplicable: c.NotApplicable, Score: c.Score, Weight: c.Weight})
	}
	return st
}

// scoreResult rebuilds the ScoreResult of a stored state against the
// catalog (controls the state lacks score zero).
func (s *Service) scoreResult(st *subState) ScoreResult {
	byName := map[string]storedControl{}
	if st != nil {
		for _, c := range st.Controls {
			byName[strings.ToLower(c.Name)] = c
		}
	}
	var controls []ControlResult
	for _, ctl := range s.Catalog.Controls {
		c := byName[strings.ToLower(ctl.Name)]
		controls = append(controls, ControlResult{Control: ctl, Healthy: c.Healthy, Unhealthy: c.Unhealthy,
			NotApplicable: c.NotApplicable, Score: ScoreDetails{Max: ctl.MaxScore, Current: c.Score.Current, Percentage: c.Score.Percentage},
			Weight: c.Weight})
	}
	if st == nil {
		return ScoreResult{Controls: controls}
	}
	return ScoreResult{Score: st.Score, Weight: st.Weight, Controls: controls}
}

func stateKey(sub string) string { return strings.ToLower(sub) }

func readState(ctx context.Context, r store.Reader, sub string) (*subState, error) {
	rec, err := r.Get(ctx, KindState, stateKey(sub))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st := &subState{}
	if err := json.Unmarshal(rec.Body, st); err != nil {
		return nil, fmt.Errorf("decode security state of %s: %w", sub, err)
	}
	return st, nil
}

// keyIndex returns the cache index of an assessment key: its position in
// the catalog, or a number after the catalog's for a custom key.
func (s *Service) keyIndex(key string) int {
	key = strings.ToLower(key)
	if k, ok := s.ix.key[key]; ok {
		return k
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.custom[key]
	if !ok {
		k = len(s.ix.keyControls) + len(s.custom)
		s.custom[key] = k
	}
	return k
}

// canonicalKey spells an assessment key the way it is stored: a built-in
// key as the catalog does, a GUID in lower case, anything else as given.
func (s *Service) canonicalKey(key string) string {
	if k, ok := s.ix.key[strings.ToLower(key)]; ok {
		return s.Catalog.Recommendations[k].Name
	}
	if armid.IsGUID(key) {
		return strings.ToLower(key)
	}
	return key
}

func (s *Service) hash(b []byte) uint64 { return maphash.Bytes(s.seed, b) }

func (s *Service) hashKey(key string) uint64 { return maphash.String(s.seed, key) }

func unixNano(t *Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) *Time {
	if n == 0 {
		return nil
	}
	return &Time{time.Unix(0, n).UTC()}
}

// loadAgg rebuilds a subscription's cache from the store: the counters and
// per-assessment facts from its assessments, and the keys of its alerts and
// sub-assessments.
func (s *Service) loadAgg(ctx context.Context, r store.Reader, sub string) (*subAgg, error) {
	agg := newSubAgg(s.ix)
	prefix := "/subscriptions/" + strings.ToLower(sub) + "/"
	err := eachIn(ctx, r, KindAssessment, prefix, func(rec *store.Record) error {
		resource, key, ok := splitAssessmentKey(rec.Key)
		if !ok {
			return nil
		}
		var v struct {
			Properties struct {
				Status struct {
					Code                StatusCode `json:"code"`
					FirstEvaluationDate *Time      `json:"firstEvaluationDate"`
					StatusChangeDate    *Time      `json:"statusChangeDate"`
				} `json:"status"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(rec.Body, &v); err != nil {
			return fmt.Errorf("decode assessment %s: %w", rec.Key, err)
		}
		st := v.Properties.Status
		agg.set(s.ix, resource, s.keyIndex(key), &assessInfo{code: st.Code, first: unixNano(st.FirstEvaluationDate),
			change: unixNano(st.StatusChangeDate), hash: s.hash(rec.Body)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	for kind, set := range map[string]map[uint64]uint64{KindAlert: agg.alerts, KindSubAssessment: agg.findings} {
		err := eachIn(ctx, r, kind, prefix, func(rec *store.Record) error {
			set[s.hashKey(rec.Key)] = 0
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return agg, nil
}

// eachIn calls fn for every record of kind under prefix, a page at a time.
func eachIn(ctx context.Context, r store.Reader, kind, prefix string, fn func(*store.Record) error) error {
	after := ""
	for {
		recs, err := r.List(ctx, store.ListOptions{Kind: kind, Prefix: prefix, After: after, Limit: 1000})
		if err != nil {
			return fmt.Errorf("load %s records under %s: %w", kind, prefix, err)
		}
		for _, rec := range recs {
			if err := fn(rec); err != nil {
				return err
			}
		}
		if len(recs) < 1000 {
			return nil
		}
		after = recs[len(recs)-1].Key
	}
}

const assessmentsMarker = "/providers/microsoft.security/assessments/"

// splitAssessmentKey splits a stored assessment key into the assessed
// resource's key and the assessment key.
func splitAssessmentKey(key string) (resource, name string, ok bool) {
	i := strings.LastIndex(key, assessmentsMarker)
	if i <= 0 {
		return "", "", false
	}
	return key[:i], key[i+len(assessmentsMarker):], true
}

// ---- reads ----

func decodeRecord[T any](rec *store.Record) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(rec.Body, v); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", rec.Kind, rec.Key, err)
	}
	return v, nil
}

func getRecord[T any](ctx context.Context, r store.Reader, kind, key string) (*T, error) {
	rec, err := r.Get(ctx, kind, key)
	if err != nil {
		return nil, err
	}
	return decodeRecord[T](rec)
}

// GetAssessment reads an assessment by its ID; 404 AssessmentNotFound when
// absent. Partner secrets are removed.
func (s *Service) GetAssessment(ctx context.Context, id string) (*Assessment, error) {
	rec, err := s.Store.Get(ctx, KindAssessment, armid.Key(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, armapi.NotFound("AssessmentNotFound", "The assessment '%s' was not found.", id)
	}
	if err != nil {
		return nil, err
	}
	a, err := s.decodeAssessment(rec)
	if err != nil {
		return nil, err
	}
	return a.WithoutSecrets(), nil
}

// encodeAssessment encodes an assessment for the store, leaving out the
// metadata of a built-in recommendation (decodeAssessment restores it).
func (s *Service) encodeAssessment(a *Assessment, meta *AssessmentMetadataProperties) ([]byte, error) {
	v := a
	if m, ok := s.builtins[strings.ToLower(a.Name)]; ok && m == meta {
		c := *a
		c.Properties.Metadata = nil
		c.Properties.DisplayName = ""
		v = &c
	}
	if v.Properties.Metadata == nil && v.Properties.PartnersData == nil {
		return appendAssessmentREST(nil, v), nil // sized from the record
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode assessment: %w", err)
	}
	return b, nil
}

// decodeAssessment decodes a stored assessment. Assessments of built-in
// recommendations are stored without their metadata, which comes back from
// the catalog here.
func (s *Service) decodeAssessment(rec *store.Record) (*Assessment, error) {
	a, err := decodeRecord[Assessment](rec)
	if err != nil {
		return nil, err
	}
	if a.Properties.Metadata == nil {
		if m, ok := s.builtins[strings.ToLower(a.Name)]; ok {
			c := *m
			a.Properties.Metadata = &c
			if a.Properties.DisplayName == "" {
				a.Properties.DisplayName = m.DisplayName
			}
		}
	}
	return a, nil
}

// GetSubAssessment reads a sub-assessment by its ID.
func (s *Service) GetSubAssessment(ctx context.Context, id string) (*SubAssessment, error) {
	v, err := getRecord[SubAssessment](ctx, s.Store, KindSubAssessment, armid.Key(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, armapi.NotFound("SubAssessmentNotFound", "The sub-assessment '%s' was not found.", id)
	}
	return v, err
}

// GetAlert reads an alert by its ID.
func (s *Service) GetAlert(ctx context.Context, id string) (*Alert, error) {
	v, err := getRecord[Alert](ctx, s.Store, KindAlert, armid.Key(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, armapi.NotFound("AlertNotFound", "The alert '%s' was not found.", id)
	}
	return v, err
}

// MetadataID returns the ID of custom assessment metadata in a
// subscription.
func MetadataID(sub, name string) string {
	return "/subscriptions/" + strings.ToLower(sub) + "/providers/Microsoft.Security/assessmentMetadata/" + name
}

// GetMetadata reads custom assessment metadata of a subscription.
func (s *Service) GetMetadata(ctx context.Context, sub, name string) (*AssessmentMetadata, error) {
	v, err := getRecord[AssessmentMetadata](ctx, s.Store, KindMetadata, armid.Key(MetadataID(sub, name)))
	if errors.Is(err, store.ErrNotFound) {
		return nil, armapi.NotFound("AssessmentMetadataNotFound", "The assessment metadata '%s' was not found in subscription '%s'.", name, sub)
	}
	if err != nil {
		return nil, err
	}
	return v.withoutSecrets(), nil
}

func (m *AssessmentMetadata) withoutSecrets() *AssessmentMetadata {
	c := *m
	if c.Properties.PartnerData != nil {
		pd := *c.Properties.PartnerData
		pd.Secret = ""
		c.Properties.PartnerData = &pd
	}
	return &c
}

// BuiltinMetadata returns the built-in metadata with the given name.
func (s *Service) BuiltinMetadata(name string) (*AssessmentMetadata, error) {
	r, ok := s.Catalog.Recommendation(name)
	if !ok {
		return nil, armapi.NotFound("AssessmentMetadataNotFound", "The assessment metadata '%s' was not found.", name)
	}
	return MetadataFromCatalog(r), nil
}

// Page lists stored records of a kind under a key prefix, one page at a
// time; it returns the records and the key to continue after ("" at the
// end).
func (s *Service) Page(ctx context.Context, kind, prefix string, page armapi.Page) ([]*store.Record, string, error) {
	recs, err := s.Store.List(ctx, store.ListOptions{Kind: kind, Prefix: prefix, After: page.After, Limit: page.Limit + 1})
	if err != nil {
		return nil, "", err
	}
	if len(recs) > page.Limit {
		recs = recs[:page.Limit]
		return recs, recs[len(recs)-1].Key, nil
	}
	return recs, "", nil
}

// Score returns a subscription's computed secure score (zero before any
// assessment).
func (s *Service) Score(ctx context.Context, sub string) (ScoreResult, error) {
	st, err := readState(ctx, s.Store, sub)
	if err != nil {
		return ScoreResult{}, err
	}
	return s.scoreResult(st), nil
}

// Compliance returns a subscription's computed regulatory compliance for
// every catalog standard.
func (s *Service) Compliance(ctx context.Context, sub string) ([]ComplianceStandardResult, error) {
	st, err := readState(ctx, s.Store, sub)
	if err != nil {
		return nil, err
	}
	var keys map[string]KeyCounts
	if st != nil {
		keys = st.Keys
	}
	return ComplianceFromCounts(s.Catalog, s.Catalog.Standards, keys), nil
}

// RequireSubscription returns the subscription or a 404
// SubscriptionNotFound.
func (s *Service) RequireSubscription(ctx context.Context, sub string) (*estate.Subscription, error) {
	return s.Estate.Subscription(ctx, s.Store, sub)
}

// errStatus wraps a validation error from the parsers as an ARM error.
func apiError(err error) error {
	var ve *Error
	if errors.As(err, &ve) {
		status := http.StatusBadRequest
		if ve.Code == CodeRecordTooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		return &armapi.Error{Status: status, Code: ve.Code, Message: ve.Message, Target: ve.Target}
	}
	return err
}

// APIError converts a validation *Error into an *armapi.Error (400, or 413
// for an oversized record); other errors pass through.
func APIError(err error) error { return apiError(err) }
