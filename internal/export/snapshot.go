package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"sluice/internal/store"
)

// SnapshotSources maps each snapshot event source to the streaming source
// whose records it snapshots.
var SnapshotSources = map[string]string{
	"AssessmentsSnapshot":                    "Assessments",
	"SubAssessmentsSnapshot":                 "SubAssessments",
	"SecureScoresSnapshot":                   "SecureScores",
	"SecureScoreControlsSnapshot":            "SecureScoreControls",
	"RegulatoryComplianceAssessmentSnapshot": "RegulatoryComplianceAssessment",
}

// Snapshotter produces the current state of a subscription as events of a
// source (a snapshot source, or a streaming one for a backfill), with
// isSnapshot true in their bodies. It calls emit once per record.
type Snapshotter interface {
	Snapshot(ctx context.Context, subscription, source string, emit func(*store.Event) error) error
}

// Schedule is when weekly snapshots run: at Start and every Interval after.
type Schedule struct {
	Interval time.Duration
	Start    time.Time
}

// DefaultSchedule runs weekly from Monday 2024-01-01 00:00 UTC.
var DefaultSchedule = Schedule{Interval: 7 * 24 * time.Hour, Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}

// interval is Interval, or the default weekly one when it is not positive
// (a zero Schedule must not divide by zero).
func (s Schedule) interval() time.Duration {
	if s.Interval <= 0 {
		return DefaultSchedule.Interval
	}
	return s.Interval
}

// Due returns the latest slot at or before now (the run that should have
// happened most recently).
func (s Schedule) Due(now time.Time) time.Time {
	if now.Before(s.Start) {
		return time.Time{}
	}
	n := now.Sub(s.Start) / s.interval()
	return s.Start.Add(n * s.interval())
}

// Next returns the first slot after t.
func (s Schedule) Next(t time.Time) time.Time {
	if t.Before(s.Start) {
		return s.Start
	}
	return s.Due(t).Add(s.interval())
}

type snapshotState struct {
	Last time.Time `json:"last"`
}

func snapshotKey(sub string) string { return "snapshot/" + strings.ToLower(sub) }

// Scheduler runs the weekly snapshots of every subscription that has an
// enabled automation with a snapshot source.
type Scheduler struct {
	Engine   *Engine
	Source   Snapshotter
	Schedule Schedule
	// Check is how often due snapshots are looked for (default 1 minute).
	Check time.Duration
}

// Run checks for due snapshots until ctx is cancelled.
func (s *Scheduler) Run(ctx context.Context) {
	check := s.Check
	if check <= 0 {
		check = time.Minute
	}
	for {
		if err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
			s.Engine.log.Error("snapshot", "err", err)
		}
		next := s.Schedule.Next(s.Engine.now())
		wait := min(check, max(time.Until(next), time.Millisecond))
		if !sleep(ctx, wait) {
			return
		}
	}
}

// RunDue takes the snapshots whose slot has come and not yet run.
func (s *Scheduler) RunDue(ctx context.Context) error {
	now := s.Engine.now()
	slot := s.Schedule.Due(now)
	if slot.IsZero() {
		return nil
	}
	bySub := map[string][]*Export{}
	s.Engine.mu.RLock()
	for _, x := range s.Engine.targets {
		if !x.Enabled {
			continue
		}
		for _, src := range x.Sources {
			if _, ok := SnapshotSources[canonicalSource(src)]; ok {
				bySub[strings.ToLower(x.Subscription)] = append(bySub[strings.ToLower(x.Subscription)], x)
				break
			}
		}
	}
	s.Engine.mu.RUnlock()
	var errs []error
	for sub, exports := range bySub {
		st, err := s.state(ctx, sub)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !st.Last.Before(slot) {
			continue
		}
		for _, x := range exports {
			for _, src := range x.Sources {
				if _, ok := SnapshotSources[canonicalSource(src)]; ok {
					if _, err := s.Engine.emitSnapshot(ctx, s.Source, x, canonicalSource(src)); err != nil {
						errs = append(errs, fmt.Errorf("snapshot %s of %s: %w", src, x.ID, err))
					}
				}
			}
		}
		body, _ := json.Marshal(snapshotState{Last: now})
		if err := s.Engine.store.Update(ctx, func(tx store.Tx) error {
			return tx.Put(ctx, &store.Record{Kind: "meta", Key: snapshotKey(sub), ID: snapshotKey(sub), Body: body})
		}); err != nil {
			errs = append(errs, err)
		}
		s.Engine.log.Info("weekly snapshot taken", "subscription", sub, "automations", len(exports), "slot", slot)
	}
	return errors.Join(errs...)
}

func (s *Scheduler) state(ctx context.Context, sub string) (snapshotState, error) {
	var st snapshotState
	rec, err := s.Engine.store.Get(ctx, "meta", snapshotKey(sub))
	if errors.Is(err, store.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(rec.Body, &st)
}

func canonicalSource(src string) string {
	for snap, stream := range SnapshotSources {
		if strings.EqualFold(src, snap) {
			return snap
		}
		if strings.EqualFold(src, stream) {
			return stream
		}
	}
	if strings.EqualFold(src, "Alerts") {
		return "Alerts"
	}
	return src
}

// snapshotBatch bounds how many snapshot events are committed together.
const snapshotBatch = 500

// emitSnapshot appends the current state of one source of an export's
// subscription as events targeted at that export only. It returns how many
// events were appended.
func (e *Engine) emitSnapshot(ctx context.Context, src Snapshotter, x *Export, source string) (int, error) {
	var batch []*store.Event
	total := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := e.store.Update(ctx, func(tx store.Tx) error {
			for _, ev := range batch {
				if err := tx.AppendEvent(ctx, ev); err != nil {
					return err
				}
			}
			return nil
		})
		total += len(batch)
		batch = batch[:0]
		e.Notify()
		return err
	}
	err := src.Snapshot(ctx, x.Subscription, source, func(ev *store.Event) error {
		ev.Target = x.Key
		ev.Source = source
		batch = append(batch, ev)
		if len(batch) >= snapshotBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return total, err
	}
	return total, flush()
}

// Backfill appends, for one automation, the current state of every source
// it takes, as snapshot events delivered only to it. Streaming sources are
// backfilled from the same records their snapshots use; alerts from the
// current alerts. It returns the number of events queued per source.
func (e *Engine) Backfill(ctx context.Context, src Snapshotter, automationKey string) (map[string]int, error) {
	e.mu.RLock()
	x := e.targets[automationKey]
	e.mu.RUnlock()
	if x == nil {
		return nil, fmt.Errorf("automation %s is not known to the export engine", automationKey)
	}
	if !x.Enabled {
		return nil, errors.New("the automation is disabled")
	}
	out := map[string]int{}
	for _, s := range x.Sources {
		source := canonicalSource(s)
		n, err := e.emitSnapshot(ctx, src, x, source)
		out[source] = n
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
