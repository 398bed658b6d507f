package automation

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"sluice/internal/armapi"
	"sluice/internal/armid"
	"sluice/internal/auth"
	"sluice/internal/export"
	"sluice/internal/secrets"
	"sluice/internal/store"
)

// Kind is the store kind of automations. Records are keyed by the
// lower-cased id, with the subscription as parent.
const Kind = "automation"

// Engine is what the service tells about automation changes.
type Engine interface {
	SetExports(exports []*export.Export)
	Forget(automationKey string)
}

// Service stores automations, seals their secrets and keeps the export
// engine's set of compiled automations in step with the store.
type Service struct {
	Store  store.Store
	Box    *secrets.Box
	Engine Engine
	Log    *slog.Logger
	// Now is the clock of systemData (default time.Now).
	Now func() time.Time

	mu       sync.Mutex
	compiled map[string]*export.Export
}

// stored is the record body: the resource as returned, plus each action's
// secret sealed with the Box (same index as the actions).
type stored struct {
	Automation
	Secrets []string `json:"sealedSecrets,omitempty"`
}

// Ref names an automation: subscription, resource group and name as
// written in the request path.
type Ref struct {
	Subscription  string
	ResourceGroup string
	Name          string
}

// ID is the automation's id with the path's spelling.
func (r Ref) ID() string {
	return armid.ResourceGroupID(r.Subscription, r.ResourceGroup) + "/providers/" + ResourceType + "/" + r.Name
}

// Key is the store and engine key.
func (r Ref) Key() string { return armid.Key(r.ID()) }

// Conditions are the request's optimistic-concurrency headers.
type Conditions struct {
	IfMatch     string
	IfNoneMatch string
}

// ConditionsFrom reads If-Match and If-None-Match.
func ConditionsFrom(r *http.Request) Conditions {
	return Conditions{IfMatch: r.Header.Get("If-Match"), IfNoneMatch: r.Header.Get("If-None-Match")}
}

func normETag(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	return strings.Trim(s, `"`)
}

func etagIn(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || normETag(t) == normETag(etag) {
			return true
		}
	}
	return false
}

// check applies the conditions to the current resource (nil if absent).
func (c Conditions) check(cur *Automation) error {
	if c.IfMatch != "" && (cur == nil || !etagIn(c.IfMatch, cur.ETag)) {
		return armapi.Errorf(http.StatusPreconditionFailed, "PreconditionFailed",
			"The If-Match condition '%s' does not match the automation's current etag.", c.IfMatch)
	}
	if c.IfNoneMatch != "" && cur != nil && etagIn(c.IfNoneMatch, cur.ETag) {
		return armapi.Errorf(http.StatusPreconditionFailed, "PreconditionFailed",
			"The If-None-Match condition '%s' matches the automation's current etag.", c.IfNoneMatch)
	}
	return nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// decode reads a record, opening the sealed secrets.
func (s *Service) decode(rec *store.Record) (*Automation, error) {
	var st stored
	if err := json.Unmarshal(rec.Body, &st); err != nil {
		return nil, fmt.Errorf("decode automation %s: %w", rec.ID, err)
	}
	a := &st.Automation
	for i := range a.Properties.Actions {
		if i >= len(st.Secrets) || st.Secrets[i] == "" {
			continue
		}
		plain, err := s.Box.Open(st.Secrets[i])
		if err != nil {
			return nil, fmt.Errorf("automation %s action %d: %w", rec.ID, i, err)
		}
		a.Properties.Actions[i].setSealed(plain)
	}
	normalise(a)
	return a, nil
}

func (s *Service) encode(a *Automation) ([]byte, error) {
	st := stored{Automation: *a}
	hasSecret := false
	sealed := make([]string, len(a.Properties.Actions))
	for i := range a.Properties.Actions {
		sec := a.Properties.Actions[i].sealable()
		if sec == "" {
			continue
		}
		v, err := s.Box.Seal(sec)
		if err != nil {
			return nil, err
		}
		sealed[i], hasSecret = v, true
	}
	if hasSecret {
		st.Secrets = sealed
	}
	return json.Marshal(st)
}

func (s *Service) read(ctx context.Context, r store.Reader, key string) (*Automation, error) {
	rec, err := r.Get(ctx, Kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.decode(rec)
}

func notFound(ref Ref) error {
	return armapi.NotFound("ResourceNotFound", "The automation '%s' was not found in resource group '%s'.", ref.Name, ref.ResourceGroup)
}

// Get returns an automation (with its secrets in clear: render it with
// json.Marshal, which never writes them).
func (s *Service) Get(ctx context.Context, ref Ref) (*Automation, error) {
	a, err := s.read(ctx, s.Store, ref.Key())
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, notFound(ref)
	}
	return a, nil
}

// carrySecrets gives an action sent without its secret the secret of the
// stored action of the same type and destination (Action.carryFrom), so
// that a resource read back (secrets are never returned), changed and
// written again keeps them.
func carrySecrets(a, cur *Automation) {
	if cur == nil {
		return
	}
	for i := range a.Properties.Actions {
		act := &a.Properties.Actions[i]
		for j := range cur.Properties.Actions {
			if act.carryFrom(&cur.Properties.Actions[j]) {
				break
			}
		}
	}
}

// Validate checks a body for the validate action: as a PUT would, secrets
// of the stored automation carried over, nothing stored.
func (s *Service) Validate(ctx context.Context, ref Ref, a *Automation) error {
	cur, err := s.read(ctx, s.Store, ref.Key())
	if err != nil {
		return err
	}
	carrySecrets(a, cur)
	return Validate(a, ref.Subscription)
}

// Put creates or replaces an automation. It returns the stored resource
// and whether it was created.
func (s *Service) Put(ctx context.Context, ref Ref, a *Automation, cond Conditions) (*Automation, bool, error) {
	return s.write(ctx, ref, cond, false, func(cur *Automation) (*Automation, error) {
		next := a.clone()
		carrySecrets(next, cur)
		return next, nil
	})
}

// Patch merges p into an existing automation.
func (s *Service) Patch(ctx context.Context, ref Ref, p *Patch, cond Conditions) (*Automation, error) {
	a, _, err := s.write(ctx, ref, cond, true, func(cur *Automation) (*Automation, error) {
		next, err := p.Apply(cur)
		if err != nil {
			return nil, err
		}
		carrySecrets(next, cur)
		return next, nil
	})
	return a, err
}

func (s *Service) write(ctx context.Context, ref Ref, cond Conditions, mustExist bool,
	build func(cur *Automation) (*Automation, error)) (*Automation, bool, error) {
	key := ref.Key()
	principal := ""
	if p := auth.FromContext(ctx); p != nil {
		principal = p.ObjectID
	}
	var out *Automation
	var created bool
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		cur, err := s.read(ctx, tx, key)
		if err != nil {
			return err
		}
		if cur == nil && mustExist {
			return notFound(ref)
		}
		if err := cond.check(cur); err != nil {
			return err
		}
		next, err := build(cur)
		if err != nil {
			return err
		}
		if err := Validate(next, ref.Subscription); err != nil {
			return err
		}
		now := s.now()
		sd := &SystemData{CreatedBy: principal, CreatedByType: "User", CreatedAt: now}
		next.ID, next.Name = ref.ID(), ref.Name
		if cur != nil {
			next.ID, next.Name = cur.ID, cur.Name // the name keeps the case it was created with
			if cur.SystemData != nil {
				sd.CreatedBy, sd.CreatedByType, sd.CreatedAt = cur.SystemData.CreatedBy, cur.SystemData.CreatedByType, cur.SystemData.CreatedAt
			}
		} else {
			n, err := tx.Count(ctx, store.ListOptions{Kind: Kind, Parent: strings.ToLower(ref.Subscription)})
			if err != nil {
				return err
			}
			if n >= MaxPerSubscription {
				return armapi.Errorf(http.StatusConflict, "QuotaExceeded",
					"The subscription '%s' already has %d automations, the most allowed.", ref.Subscription, MaxPerSubscription)
			}
		}
		sd.LastModifiedBy, sd.LastModifiedByType, sd.LastModifiedAt = principal, "User", now
		next.SystemData = sd
		next.Type = ResourceType
		next.ETag = `"` + uuid.NewString() + `"`
		body, err := s.encode(next)
		if err != nil {
			return err
		}
		if err := tx.Put(ctx, &store.Record{Kind: Kind, Key: key, ID: next.ID, Parent: strings.ToLower(ref.Subscription),
			Body: body, ETag: next.ETag}); err != nil {
			return err
		}
		out, created = next, cur == nil
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	s.refresh(ctx, key)
	verb := "replaced"
	switch {
	case created:
		verb = "created"
	case mustExist:
		verb = "updated"
	}
	s.log().Info("automation "+verb, "id", out.ID, "by", principal, "enabled", out.Properties.IsEnabled,
		"sources", len(out.Properties.Sources), "actions", len(out.Properties.Actions))
	return out, created, nil
}

// Delete removes an automation, and in the same transaction its delivery
// queues, retry state and health. Deleting an absent automation is not an
// error.
func (s *Service) Delete(ctx context.Context, ref Ref, cond Conditions) error {
	key := ref.Key()
	deleted := false
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		if cond.IfMatch != "" {
			cur, err := s.read(ctx, tx, key)
			if err != nil {
				return err
			}
			if cur != nil {
				if err := cond.check(cur); err != nil {
					return err
				}
			}
		}
		ok, err := tx.Delete(ctx, Kind, key)
		if err != nil {
			return err
		}
		deleted = ok
		return export.DropAutomation(ctx, tx, key)
	})
	if err != nil {
		return err
	}
	s.refresh(ctx, key)
	if s.Engine != nil {
		s.Engine.Forget(key)
	}
	if deleted {
		principal := ""
		if p := auth.FromContext(ctx); p != nil {
			principal = p.ObjectID
		}
		s.log().Info("automation deleted", "id", ref.ID(), "by", principal)
	}
	return nil
}

// List returns a page of the automations of a subscription, or of a
// resource group when rg is set, that lie within reach, in key order after
// page.After; last is the key to continue after ("" on the last page). A
// partial reach reads only the key ranges of its scopes.
func (s *Service) List(ctx context.Context, reach *auth.Reach, sub, rg string, page armapi.Page) (items []*Automation, last string, err error) {
	opts := store.ListOptions{Kind: Kind, Parent: strings.ToLower(sub)}
	if rg != "" {
		opts = store.ListOptions{Kind: Kind, Prefix: armid.Key(armid.ResourceGroupID(sub, rg)) + "/providers/" + strings.ToLower(ResourceType) + "/"}
	}
	recs, last, err := auth.ListReach(ctx, s.Store, reach, opts, page, nil)
	if err != nil {
		return nil, "", err
	}
	items = make([]*Automation, 0, len(recs))
	for _, rec := range recs {
		a, err := s.decode(rec)
		if err != nil {
			return nil, "", err
		}
		items = append(items, a)
	}
	return items, last, nil
}

// Load compiles every stored automation and gives the set to the engine.
// An automation that cannot be compiled (e.g. its secrets no longer open)
// is logged and left out of the engine.
func (s *Service) Load(ctx context.Context) error {
	recs, err := s.Store.List(ctx, store.ListOptions{Kind: Kind})
	if err != nil {
		return fmt.Errorf("load automations: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.compiled = make(map[string]*export.Export, len(recs))
	for _, rec := range recs {
		if x := s.compile(rec); x != nil {
			s.compiled[rec.Key] = x
		}
	}
	s.publish()
	s.log().Info("automations loaded", "count", len(s.compiled))
	return nil
}

func (s *Service) compile(rec *store.Record) *export.Export {
	a, err := s.decode(rec)
	if err == nil {
		var x *export.Export
		if x, err = Compile(a); err == nil {
			return x
		}
	}
	s.log().Error("automation left out of the export engine", "id", rec.ID, "err", secrets.Redact(err.Error()))
	return nil
}

// refresh re-reads one automation and republishes the set: applying what
// is stored (rather than what a request wrote) keeps concurrent writes in
// order.
func (s *Service) refresh(ctx context.Context, key string) {
	ctx = context.WithoutCancel(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.compiled == nil {
		s.compiled = map[string]*export.Export{}
	}
	rec, err := s.Store.Get(ctx, Kind, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		delete(s.compiled, key)
	case err != nil:
		s.log().Error("read automation for the export engine", "key", key, "err", err)
		return
	default:
		if x := s.compile(rec); x != nil {
			s.compiled[key] = x
		} else {
			delete(s.compiled, key)
		}
	}
	s.publish()
}

func (s *Service) publish() {
	if s.Engine == nil {
		return
	}
	all := make([]*export.Export, 0, len(s.compiled))
	for _, x := range s.compiled {
		all = append(all, x)
	}
	slices.SortFunc(all, func(a, b *export.Export) int { return cmp.Compare(a.Key, b.Key) })
	s.Engine.SetExports(all)
}
