package security

import (
	"context"
	"fmt"
	"strings"

	"sluice/internal/armid"
	"sluice/internal/ingest"
)

// This file answers re-sent lines without parsing them. Scanners re-send
// their whole inventory on every run, and most of it is byte-identical to
// what they sent last time. The cache keeps, per stored assessment of a
// built-in recommendation, finding and alert, the hash of an ingested line
// known to produce exactly the stored record when applied again
// (assessInfo.line, and the values of subAgg.findings and subAgg.alerts).
// Applying a line is deterministic given the stored state, and applying it
// again to the record it produced changes nothing (dates are kept, the
// status is the same). So a line whose bytes hash to that value is accepted
// as unchanged after two cheap checks in the writer: the subscription is
// still registered, and the cache still holds the same line hash. Any other
// write of the record replaces or clears its line hash; a reload of the
// cache from the store forgets every line hash. Custom recommendations never
// take this path: a change of their metadata changes what the same line
// produces. A line is set as the hash of an assessment when it writes it, and
// of a finding or alert only once found to change nothing.

// Resent returns the record of an ingested line that is byte-identical to
// the last line that produced its stored assessment, finding or alert (it
// then changes nothing), or nil (ingest.Ingestor.Resent). It runs before
// the line's type is read: the hash match is what proves the line is that
// same upsert.
func (s *Service) Resent(raw []byte) ingest.Record {
	h := s.hash(raw)
	if id, ok := ingest.TopLevelString(raw, "id"); ok {
		if l := s.resentAssessment(raw, id, h); l != nil {
			return l
		}
		if l := s.resentSubAssessment(raw, id, h); l != nil {
			return l
		}
	}
	if l := s.resentAlert(raw, h); l != nil {
		return l
	}
	return nil
}

// lineIDParts splits the id of an assessment or finding line cheaply: the
// assessed resource's key (the lower-cased resource id), its subscription
// (lower case), the write scope, and the rest after the assessments marker
// (the assessment key, then any finding), lower-cased. It does not
// validate the id: a line found this way is only used when its hash matches
// the line that the full parser accepted for that very record, so an id
// this split reads differently from armid.Parse only misses the cache.
func lineIDParts(id string) (resKey, sub, scope, key string, ok bool) {
	i := assessmentsAt(id)
	if i < 0 {
		return "", "", "", "", false
	}
	lower := strings.ToLower(id) // ASCII: the same offsets
	const subs = "/subscriptions/"
	if !strings.HasPrefix(lower, subs) {
		return "", "", "", "", false
	}
	end := strings.IndexByte(lower[len(subs):i], '/')
	if end < 0 {
		end = i - len(subs)
	}
	sub = lower[len(subs) : len(subs)+end]
	scope = armid.SubscriptionID(sub)
	const groups = "/resourcegroups/"
	if rest := lower[len(subs)+end : i]; strings.HasPrefix(rest, groups) {
		start := len(subs) + end + len(groups)
		rg := id[start:i]
		if j := strings.IndexByte(rg, '/'); j >= 0 {
			rg = rg[:j]
		}
		scope = armid.ResourceGroupID(sub, rg)
	}
	return lower[:i], sub, scope, lower[i+len(assessmentsMarker):], true
}

// resentAssessment is Resent for an assessment line with the given id and
// hash.
func (s *Service) resentAssessment(raw []byte, id string, h uint64) *line {
	resKey, sub, scope, key, ok := lineIDParts(id)
	if !ok || strings.IndexByte(key, '/') >= 0 {
		return nil
	}
	k, builtin := s.ix.key[key]
	if !builtin {
		return nil
	}
	s.mu.Lock()
	_, known := s.tenants[sub]
	var info assessInfo
	var exists bool
	if e := s.aggs[sub]; e != nil {
		info, exists = e.agg.res[resKey][k]
	}
	s.mu.Unlock()
	if !known || !exists || info.line != h {
		return nil
	}
	return s.resent(id, PermAssessmentWrite, scope, sub,
		func(agg *subAgg) bool {
			info, ok := agg.res[resKey][k]
			return ok && info.line == h
		},
		func() (ingest.Record, error) { return s.parseAssessmentLineHashed(raw, h) })
}

// resent returns the record of a line that the cache says changes nothing:
// in the writer it checks that the subscription is still registered and that
// the cache still says so (confirmed), and otherwise parses the line in full
// and applies it.
func (s *Service) resent(id, perm, scope, sub string, confirmed func(agg *subAgg) bool, full func() (ingest.Record, error)) *line {
	return &line{id: id, perm: perm, scope: scope, apply: func(ctx context.Context, w *Writer) error {
		if _, err := w.tenant(ctx, sub); err != nil {
			return err
		}
		e, err := w.touch(ctx, sub)
		if err != nil {
			return err
		}
		ok := false
		w.lookup(e, func(agg *subAgg) { ok = confirmed(agg) })
		if ok {
			s.resentLines.Add(1)
			return nil
		}
		// The record changed since the line was read: apply it in full.
		rec, err := full()
		if err != nil {
			return err
		}
		l, isLine := rec.(*line)
		if !isLine {
			return fmt.Errorf("security: a line parsed to a %T", rec)
		}
		return l.apply(ctx, w)
	}}
}

// resentSubAssessment is Resent for a finding line with the given id and
// hash.
func (s *Service) resentSubAssessment(raw []byte, id string, h uint64) *line {
	_, sub, scope, key, ok := lineIDParts(id)
	if j := strings.IndexByte(key, '/'); !ok || j <= 0 || !hasFoldPrefix(key[j:], "/subassessments/") {
		return nil
	}
	hk := s.hashKey(strings.ToLower(id))
	s.mu.Lock()
	_, known := s.tenants[sub]
	var line uint64
	if e := s.aggs[sub]; e != nil {
		line = e.agg.findings[hk]
	}
	s.mu.Unlock()
	if !known || line != h {
		return nil
	}
	return s.resent(id, PermSubAssessmentWrite, scope, sub,
		func(agg *subAgg) bool { return agg.findings[hk] == h },
		func() (ingest.Record, error) { return s.parseSubAssessmentLineHashed(raw, h) })
}

// maxAlertLines bounds Service.alertLines; when full it starts again empty.
const maxAlertLines = 1 << 15

// alertLine is the alert an ingested line was last confirmed for: alerts
// are placed from their properties, so a line's alert cannot be found
// without parsing it.
type alertLine struct {
	sub, id, scope string
	hk             uint64
}

// resentLine is what the writer remembers of an ingested alert line.
type resentLine struct {
	hash  uint64
	scope string
}

// resentAlert is Resent for an alert line, found by the line's hash.
func (s *Service) resentAlert(raw []byte, h uint64) *line {
	s.mu.Lock()
	al, ok := s.alertLines[h]
	if ok {
		e := s.aggs[al.sub]
		_, known := s.tenants[al.sub]
		ok = known && e != nil && e.agg.alerts[al.hk] == h
	}
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return s.resent(al.id, PermAlertWrite, al.scope, al.sub,
		func(agg *subAgg) bool { return agg.alerts[al.hk] == h },
		func() (ingest.Record, error) { return s.parseAlertLineHashed(raw, h) })
}

// rememberAlert records that an ingested line changes nothing to the alert
// id (key hash hk) of subscription sub.
func (w *Writer) rememberAlert(e *cachedAgg, sub string, hk uint64, id string, from *resentLine) {
	w.rememberKey(e, func(agg *subAgg) map[uint64]uint64 { return agg.alerts }, hk, from.hash)
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.alertLines == nil || len(w.s.alertLines) >= maxAlertLines {
		w.s.alertLines = map[uint64]alertLine{}
	}
	w.s.alertLines[from.hash] = alertLine{sub: sub, id: id, scope: from.scope, hk: hk}
}

// rememberKey records, in the set of alerts or findings, that the ingested
// line hashed to line changes nothing to the record of key hash hk.
func (w *Writer) rememberKey(e *cachedAgg, set func(agg *subAgg) map[uint64]uint64, hk, line uint64) {
	if line == 0 {
		return
	}
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	m := set(e.agg)
	if _, ok := m[hk]; ok {
		m[hk] = line
	}
}

// remember records that the ingested line hashed to line produces the stored
// body of an assessment whose body hash is hash. Unlike the writes it needs
// no undo: the claim holds whether or not the transaction commits, since the
// stored body is the same either way; a rolled-back change reloads the cache.
func (w *Writer) remember(e *cachedAgg, resKey string, k int, hash, line uint64) {
	if line == 0 {
		return
	}
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	codes := e.agg.res[resKey]
	if info, ok := codes[k]; ok && info.hash == hash {
		info.line = line
		codes[k] = info
	}
}

// same reports whether two cache entries describe the same stored
// assessment (the line hashes aside).
func (i assessInfo) same(o assessInfo) bool {
	i.line, o.line = 0, 0
	return i == o
}

// ResentLines is the number of ingested lines accepted as unchanged without
// being parsed, because they were byte-identical to the last line that
// produced their stored record.
func (s *Service) ResentLines() uint64 { return s.resentLines.Load() }
