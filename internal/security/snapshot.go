package security

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"sluice/internal/armid"
	"sluice/internal/store"
)

// Snapshot emits the current state of one subscription as events of a
// source: a snapshot source (AssessmentsSnapshot, SubAssessmentsSnapshot,
// SecureScoresSnapshot, SecureScoreControlsSnapshot,
// RegulatoryComplianceAssessmentSnapshot) or, for a backfill, the streaming
// source of the same records (and Alerts). Bodies carry isSnapshot true
// (alerts have no such field). It implements export.Snapshotter.
func (s *Service) Snapshot(ctx context.Context, subscription, source string, emit func(*store.Event) error) error {
	sub := strings.ToLower(subscription)
	es, err := s.Estate.Subscription(ctx, s.Store, sub)
	if err != nil {
		return err
	}
	tenant := es.TenantID
	now := s.now()
	send := func(ev *store.Event) error {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		ev.ID, ev.Source, ev.Tenant, ev.Subscription, ev.Time = id.String(), source, tenant, sub, now
		return emit(ev)
	}
	src := strings.TrimSuffix(strings.ToLower(source), "snapshot")
	switch src {
	case strings.ToLower(SourceAssessments):
		return s.eachRecord(ctx, KindAssessment, sub, func(rec *store.Record) error {
			a, err := s.decodeAssessment(rec)
			if err != nil {
				return err
			}
			body, err := AssessmentEvent(a.WithoutSecrets(), tenant, ActionInsert, true)
			if err != nil {
				return err
			}
			rid, rg := placeOf(a.Properties.ResourceDetails.ID, a.ID)
			return send(&store.Event{ResourceGroup: rg, ResourceID: rid, Body: body})
		})
	case strings.ToLower(SourceSubAssessments):
		return s.eachRecord(ctx, KindSubAssessment, sub, func(rec *store.Record) error {
			v, err := decodeRecord[SubAssessment](rec)
			if err != nil {
				return err
			}
			body, err := SubAssessmentEvent(v, tenant, ActionInsert, true)
			if err != nil {
				return err
			}
			rid, rg := placeOf(v.Properties.ResourceDetails.ID, v.ID)
			return send(&store.Event{ResourceGroup: rg, ResourceID: rid, Body: body})
		})
	case strings.ToLower(SourceAlerts):
		if !strings.EqualFold(source, SourceAlerts) {
			break
		}
		return s.eachRecord(ctx, KindAlert, sub, func(rec *store.Record) error {
			a, err := decodeRecord[Alert](rec)
			if err != nil {
				return err
			}
			body, err := AlertEvent(a, tenant)
			if err != nil {
				return err
			}
			extra, err := json.Marshal(AlertRuleExtras(a))
			if err != nil {
				return err
			}
			rid, rg := placeOf(a.AzureResourceID(), a.ID)
			return send(&store.Event{ResourceGroup: rg, ResourceID: rid, Body: body, Extra: extra})
		})
	case strings.ToLower(SourceSecureScores):
		res, err := s.Score(ctx, sub)
		if err != nil {
			return err
		}
		body, err := SecureScoreEvent(SecureScoreRecord(sub, res), true)
		if err != nil {
			return err
		}
		return send(&store.Event{ResourceID: SecureScoreID(sub), Body: body})
	case strings.ToLower(SourceSecureScoreControls):
		res, err := s.Score(ctx, sub)
		if err != nil {
			return err
		}
		for _, c := range res.Controls {
			rec := SecureScoreControlRecord(sub, c, true)
			body, err := SecureScoreControlEvent(rec, true)
			if err != nil {
				return err
			}
			if err := send(&store.Event{ResourceID: rec.ID, Body: body}); err != nil {
				return err
			}
		}
		return nil
	case strings.ToLower(SourceRegulatoryComplianceAssessment):
		res, err := s.Compliance(ctx, sub)
		if err != nil {
			return err
		}
		for _, std := range res {
			for _, ctl := range std.Controls {
				for _, a := range ctl.Assessments {
					rec := ComplianceAssessmentRecord(sub, std.Name, ctl.Name, a)
					body, err := RegulatoryComplianceEvent(rec, true)
					if err != nil {
						return err
					}
					if err := send(&store.Event{ResourceID: rec.ID, Body: body}); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return fmt.Errorf("security: no snapshot for event source %q", source)
}

// eachRecord calls fn for every record of kind in a subscription, in key
// order, reading a page at a time.
func (s *Service) eachRecord(ctx context.Context, kind, sub string, fn func(*store.Record) error) error {
	prefix := "/subscriptions/" + sub + "/"
	after := ""
	for {
		recs, err := s.Store.List(ctx, store.ListOptions{Kind: kind, Prefix: prefix, After: after, Limit: 500})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if err := fn(rec); err != nil {
				return err
			}
		}
		if len(recs) < 500 {
			return nil
		}
		after = recs[len(recs)-1].Key
	}
}

// placeOf returns the resource an event is about (the first valid of ids)
// and its resource group.
func placeOf(ids ...string) (string, string) {
	for _, id := range ids {
		if p, err := armid.Parse(id); err == nil {
			return id, p.ResourceGroup
		}
	}
	return "", ""
}
