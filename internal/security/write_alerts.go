package security

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/store"
)

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
		created, err = w.putAlert(ctx, a, id, nil, nil)
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
	var ok bool
	if sp.body, ok = appendAlertREST(make([]byte, 0, 4096), &c); !ok {
		if sp.body, err = json.Marshal(&c); err != nil {
			return nil
		}
	}
	if sp.event, err = AlertEvent(&c, tenant); err != nil {
		return nil
	}
	sp.extra = appendAlertRuleExtras(make([]byte, 0, 160), &c)
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
	if err := w.tx.Put(ctx, &store.Record{Kind: KindAlert, Key: armid.Key(sp.alert.ID), ID: sp.alert.ID, Body: sp.body}); err != nil {
		return false, err
	}
	hk := sp.hk
	w.later(p.sub, false, func(agg *subAgg) { agg.alerts[hk] = 0 })
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

// putAlert writes an alert; from, when set, is the ingested line it comes
// from, remembered when the line changes nothing (see rescan.go).
func (w *Writer) putAlert(ctx context.Context, a *Alert, id string, spec *alertSpec, from *resentLine) (bool, error) {
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
	_, wrote, err := w.put(ctx, KindAlert, a.ID, "", prevRec, a)
	if err != nil {
		return false, err
	}
	hk = w.s.hashKey(armid.Key(a.ID))
	if !wrote && from != nil {
		w.rememberAlert(e, p.sub, hk, a.ID, from)
	} else {
		w.later(p.sub, false, func(agg *subAgg) { agg.alerts[hk] = 0 })
	}
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
		if _, _, err := w.put(ctx, KindAlert, prev.ID, "", rec, &next); err != nil {
			return err
		}
		// A re-sent line no longer reproduces the alert.
		if _, err := w.touch(ctx, id.Subscription); err != nil {
			return err
		}
		hk := w.s.hashKey(armid.Key(prev.ID))
		w.later(id.Subscription, false, func(agg *subAgg) {
			if _, ok := agg.alerts[hk]; ok {
				agg.alerts[hk] = 0
			}
		})
		return w.emitAlert(ctx, &next, tenant, id.Subscription, id.ResourceGroup)
	})
}
