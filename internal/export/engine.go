package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"sluice/internal/armid"
	"sluice/internal/sink"
	"sluice/internal/store"
)

// Sink is a destination: connected once, then written in batches.
type Sink interface {
	Connect(ctx context.Context) error
	WriteBatch(ctx context.Context, batch []sink.Message) error
	Close() error
}

// SinkFactory builds the sink of an action.
type SinkFactory func(a *Action) (Sink, error)

// Action is one automation action the engine delivers to.
type Action struct {
	// Key identifies the action's queue: "<automation key>/actions/<n>".
	Key  string
	Type string
	// Config is read only by the SinkFactory.
	Config any
	// Fingerprint changes whenever the destination settings change, so the
	// engine rebuilds the sink.
	Fingerprint string
	// Secrets are redacted from every error the action records.
	Secrets []string
	// BatchSize, when larger than Options.BatchSize, is this action's
	// batch bound: a destination that pays per batch (a workspace writes
	// one transaction per batch) takes larger ones.
	BatchSize int
	export    *Export
}

// Export is an automation as the engine sees it.
type Export struct {
	// Key is the automation's key (its lower-cased id).
	Key          string
	ID           string
	Subscription string
	Enabled      bool
	// Scopes are the scope paths (subscription or resource group ids).
	Scopes []string
	// Sources are the event sources the automation takes.
	Sources []string
	// Match reports whether an event document of a source passes the
	// automation's rule sets; nil matches everything.
	Match func(source string, doc any) bool
	// NeedsDoc tells whether Match reads the document for a source; when it
	// does not, the engine skips parsing the event.
	NeedsDoc func(source string) bool
	Actions  []*Action
}

// ActionKey builds the queue key of an automation's n-th action.
func ActionKey(automationKey string, n int) string {
	return fmt.Sprintf("%s/actions/%d", automationKey, n)
}

// AutomationKeyOf returns the automation key of an action key.
func AutomationKeyOf(actionKey string) string {
	if i := strings.LastIndex(actionKey, "/actions/"); i >= 0 {
		return actionKey[:i]
	}
	return actionKey
}

// Options tune the engine.
type Options struct {
	// BatchSize bounds the events read and delivered per batch (default 100).
	BatchSize int
	// Workers bounds how many actions deliver at once (default 8).
	Workers int
	// MaxAge is how long a failing event is retried before it is
	// dead-lettered (default 24 h).
	MaxAge time.Duration
	// Backoff spaces retries.
	Backoff Backoff
	// Poll is how often the engine looks for due retries and new events
	// without a notification (default 250 ms).
	Poll time.Duration
	// WriteTimeout bounds one WriteBatch call (default 60 s).
	WriteTimeout time.Duration
	// Document builds what Export.Match receives from an event's body and
	// extra fields (default Document); a builder may return a lazy
	// document that reads only what the rules ask for.
	Document func(body, extra []byte) any
}

func (o *Options) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 24 * time.Hour
	}
	if o.Backoff.Initial <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = time.Minute
	}
	if o.Document == nil {
		o.Document = Document
	}
}

// Engine matches events to automations and delivers them.
type Engine struct {
	store store.Store
	sinks SinkFactory
	log   *slog.Logger
	opts  Options
	now   func() time.Time

	mu      sync.RWMutex
	index   map[string]map[string][]candidate // subscription → source (lower) → exports
	targets map[string]*Export                // automation key → export
	actions map[string]*Action                // action key → action
	live    map[string]*liveSink              // action key → connected sink
	running map[string]bool                   // action keys being delivered

	health *healthBook
	// hot hands committed queue entries to delivery in memory.
	hot *hotBook
	// sem bounds the actions delivering at once (Options.Workers); wg
	// tracks their goroutines.
	sem chan struct{}
	wg  sync.WaitGroup

	wakeMatch   chan struct{}
	wakeDeliver chan struct{}
	// configured is closed by the first SetExports: matching and delivery
	// wait for it, so that events logged while the process was down are
	// matched against the automations, not against an empty set, and
	// queues are not taken for orphans and dropped.
	configured chan struct{}
	configure  sync.Once
}

type liveSink struct {
	fingerprint string
	sink        Sink
}

const cursorKey = "export-cursor"

// New builds an engine; Run starts it.
func New(st store.Store, sinks SinkFactory, log *slog.Logger, opts Options) *Engine {
	opts.defaults()
	return &Engine{store: st, sinks: sinks, log: log, opts: opts, now: time.Now,
		index: map[string]map[string][]candidate{}, targets: map[string]*Export{}, actions: map[string]*Action{},
		live: map[string]*liveSink{}, running: map[string]bool{}, health: newHealthBook(st),
		hot: newHotBook(opts.BatchSize), sem: make(chan struct{}, opts.Workers),
		wakeMatch: make(chan struct{}, 1), wakeDeliver: make(chan struct{}, 1), configured: make(chan struct{})}
}

// SetExports replaces the set of automations. Sinks of removed or changed
// actions are closed; changes apply from the next event matched. The engine
// matches and delivers nothing before the first call (pass an empty set
// when there are no automations).
func (e *Engine) SetExports(exports []*Export) {
	index := map[string]map[string][]candidate{}
	targets := map[string]*Export{}
	actions := map[string]*Action{}
	for _, x := range exports {
		targets[x.Key] = x
		for _, a := range x.Actions {
			actions[a.Key] = a
		}
		if !x.Enabled {
			continue
		}
		sub := strings.ToLower(x.Subscription)
		if index[sub] == nil {
			index[sub] = map[string][]candidate{}
		}
		c := candidate{x: x, scopes: foldScopes(x.Scopes)}
		for _, src := range x.Sources {
			s := strings.ToLower(src)
			index[sub][s] = append(index[sub][s], c)
		}
	}
	e.mu.Lock()
	// Under the lock: an action handed over again may be read by a
	// delivery (see enabled).
	for _, x := range exports {
		for _, a := range x.Actions {
			a.export = x
		}
	}
	var stale []Sink
	for key, ls := range e.live {
		if a, ok := actions[key]; !ok || a.Fingerprint != ls.fingerprint {
			stale = append(stale, ls.sink)
			delete(e.live, key)
		}
	}
	e.index, e.targets, e.actions = index, targets, actions
	e.mu.Unlock()
	for _, s := range stale {
		_ = s.Close()
	}
	e.configure.Do(func() { close(e.configured) })
	e.Notify()
}

// Notify tells the engine new events were appended.
func (e *Engine) Notify() {
	select {
	case e.wakeMatch <- struct{}{}:
	default:
	}
}

func (e *Engine) wakeDelivery() {
	select {
	case e.wakeDeliver <- struct{}{}:
	default:
	}
}

// Run matches and delivers until ctx is cancelled, then closes the sinks.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); e.matchLoop(ctx) }()
	go func() { defer wg.Done(); e.deliverLoop(ctx) }()
	wg.Wait()
	e.wg.Wait()
	e.mu.Lock()
	for key, ls := range e.live {
		_ = ls.sink.Close()
		delete(e.live, key)
	}
	e.mu.Unlock()
	return nil
}

// ---- matching ----

func (e *Engine) cursor(ctx context.Context) (int64, error) {
	rec, err := e.store.Get(ctx, "meta", cursorKey)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var seq int64
	if err := json.Unmarshal(rec.Body, &seq); err != nil {
		return 0, fmt.Errorf("decode export cursor: %w", err)
	}
	return seq, nil
}

func (e *Engine) matchLoop(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-e.configured:
	}
	cursor, err := e.cursor(ctx)
	for err != nil {
		e.log.Error("read export cursor", "err", err)
		if !sleep(ctx, time.Second) {
			return
		}
		cursor, err = e.cursor(ctx)
	}
	t := time.NewTicker(e.opts.Poll)
	defer t.Stop()
	// The commit of one batch runs while the next batch is read and
	// matched; a batch is committed only after the previous one was (the
	// cursor never passes an event whose entries were not committed).
	// read is where reading goes on from; cursor is what is committed.
	read := cursor
	var inflight chan error
	var inflightLast int64
	settle := func() bool {
		if inflight == nil {
			return true
		}
		err := <-inflight
		inflight = nil
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("match events", "after", cursor, "err", err)
			}
			read = cursor
			return false
		}
		cursor = inflightLast
		return true
	}
	defer settle()
	for {
		b, err := e.matchEvents(ctx, read)
		if err == nil && b == nil {
			// Nothing new: the batch in flight is the last one.
			if !settle() {
				if !sleep(ctx, time.Second) {
					return
				}
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-e.wakeMatch:
			case <-t.C:
			}
			continue
		}
		if err != nil && ctx.Err() == nil {
			e.log.Error("match events", "after", read, "err", err)
		}
		// A failed commit (logged by settle) drops the batch matched
		// after it: both are matched again from the cursor.
		if !settle() || err != nil {
			if ctx.Err() != nil {
				return
			}
			read = cursor
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		inflight, inflightLast = e.commitMatches(ctx, b), b.last
		read = b.last
	}
}

// batchEnqueuer is a transaction that enqueues many entries at once (the
// SQLite store does, with one statement per action).
type batchEnqueuer interface {
	EnqueueBatch(ctx context.Context, entries []*store.QueueEntry) error
}

// matched is one batch of events matched to their actions.
type matched struct {
	// entries go to the store; hot, the same with the event's body, to
	// delivery once they are committed.
	entries, hot []*store.QueueEntry
	// last is the seq of the batch's last event (the next cursor).
	last int64
}

// matchEvents reads and matches the events after seq; it returns nil when
// there are none.
func (e *Engine) matchEvents(ctx context.Context, after int64) (*matched, error) {
	evs, err := e.store.Events(ctx, after, 1000)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	b := &matched{last: evs[len(evs)-1].Seq}
	// Queue ages are measured with the engine's clock.
	now := e.now().UTC()
	e.mu.RLock()
	for _, ev := range evs {
		for _, a := range e.matchLocked(ev) {
			b.entries = append(b.entries, &store.QueueEntry{Action: a.Key, Seq: ev.Seq, EventID: ev.ID, Enqueued: now})
			b.hot = append(b.hot, &store.QueueEntry{Action: a.Key, Seq: ev.Seq, EventID: ev.ID, Enqueued: now,
				Source: ev.Source, ResourceID: ev.ResourceID, Body: ev.Body})
		}
	}
	e.mu.RUnlock()
	return b, nil
}

// commitMatches enqueues a batch's matches and the new cursor in one
// transaction, in the background, and hands the entries to delivery at
// once (a batch sent from memory is recorded after this commit). The
// returned channel gives the outcome.
func (e *Engine) commitMatches(ctx context.Context, b *matched) chan error {
	done := make(chan error, 1)
	body, _ := json.Marshal(b.last)
	var t *ticket
	wake := false
	if len(b.hot) > 0 {
		t = newTicket()
		wake = e.handOver(ctx, b.hot, t)
	}
	go func() {
		err := e.store.Update(ctx, func(tx store.Tx) error {
			if bt, ok := tx.(batchEnqueuer); ok {
				if err := bt.EnqueueBatch(ctx, b.entries); err != nil {
					return err
				}
			} else {
				for _, en := range b.entries {
					if err := tx.Enqueue(ctx, en); err != nil {
						return err
					}
				}
			}
			return tx.Put(ctx, &store.Record{Kind: "meta", Key: cursorKey, ID: cursorKey, Body: body})
		})
		if err == nil {
			e.hot.committedUpTo(b.last)
		} else if t != nil {
			e.hot.failed(b.hot, b.last)
		}
		if t != nil {
			t.err = err
			close(t.done)
		}
		if err == nil && wake {
			// Actions not started from memory find their entries now.
			e.wakeDelivery()
		}
		done <- err
	}()
	return done
}

// Match returns the actions an event goes to (exported for benchmarks and
// tests of the index).
func (e *Engine) Match(ev *store.Event) []*Action {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.matchLocked(ev)
}

func (e *Engine) matchLocked(ev *store.Event) []*Action {
	var cands []candidate
	if ev.Target != "" {
		x := e.targets[ev.Target]
		if x == nil || !x.Enabled || !hasSource(x, ev.Source) {
			return nil
		}
		cands = []candidate{{x: x, scopes: foldScopes(x.Scopes)}}
	} else {
		cands = e.index[foldKey(ev.Subscription)][foldKey(ev.Source)]
	}
	if len(cands) == 0 {
		return nil
	}
	var doc any
	parsed := false
	var out []*Action
	target := scopeTarget(ev.ResourceID, ev.Subscription)
	for _, c := range cands {
		x := c.x
		if !inScope(c.scopes, target) {
			continue
		}
		if x.Match != nil {
			if !parsed && (x.NeedsDoc == nil || x.NeedsDoc(ev.Source)) {
				doc = e.opts.Document(ev.Body, ev.Extra)
				parsed = true
			}
			if !x.Match(ev.Source, doc) {
				continue
			}
		}
		out = append(out, x.Actions...)
	}
	return out
}

// foldKey lower-cases an index key, without allocating when it already is
// lower case (subscription ids) or is a known event source.
func foldKey(s string) string {
	if k, ok := foldedSources[s]; ok {
		return k
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// foldedSources are the event sources as they appear in events, folded.
var foldedSources = func() map[string]string {
	m := map[string]string{}
	for _, src := range []string{"Alerts", "Assessments", "AssessmentsSnapshot", "SubAssessments", "SubAssessmentsSnapshot",
		"SecureScores", "SecureScoresSnapshot", "SecureScoreControls", "SecureScoreControlsSnapshot",
		"RegulatoryComplianceAssessment", "RegulatoryComplianceAssessmentSnapshot", "AttackPaths", "AttackPathsSnapshot"} {
		m[src] = strings.ToLower(src)
	}
	return m
}()

func hasSource(x *Export, src string) bool {
	for _, s := range x.Sources {
		if strings.EqualFold(s, src) {
			return true
		}
	}
	return false
}

// scopeTarget is the case-folded id an event's scope is tested on: its
// resource, or its subscription.
func scopeTarget(resourceID, subscription string) string {
	if resourceID == "" {
		return armid.Key(armid.SubscriptionID(subscription))
	}
	return armid.Key(resourceID)
}

// candidate is an indexed export with its scopes case-folded.
type candidate struct {
	x      *Export
	scopes []string
}

// foldScopes returns the case-folded scopes: scopes itself when they
// already are (automations hand them over folded and shared).
func foldScopes(scopes []string) []string {
	for i, sc := range scopes {
		if armid.Key(sc) != sc {
			out := make([]string, len(scopes))
			copy(out, scopes[:i])
			for j := i; j < len(scopes); j++ {
				out[j] = armid.Key(scopes[j])
			}
			return out
		}
	}
	return scopes
}

// inScope reports whether target (case-folded, see scopeTarget) lies
// within one of keys (case-folded scopes, see foldScopes), as
// armid.Contains does.
func inScope(keys []string, target string) bool {
	for _, k := range keys {
		if target == k || len(target) > len(k) && target[len(k)] == '/' && target[:len(k)] == k {
			return true
		}
	}
	return false
}

// Document parses an event body for rule evaluation, with the fields of
// extra (rule-only properties such as an alert's ProductComponentName)
// added at the top level where the body lacks them.
func Document(body, extra []byte) any {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil
	}
	if len(extra) == 0 {
		return doc
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return doc
	}
	var x map[string]any
	if err := json.Unmarshal(extra, &x); err != nil {
		return doc
	}
	for k, v := range x {
		if _, exists := m[k]; !exists {
			m[k] = v
		}
	}
	return m
}

// ---- delivery ----

// handOver gives queue entries (in seq order) whose enqueue t is
// committing to delivery: the actions whose hot queue took them start at
// once when a worker is free. It reports whether the delivery loop must
// look for the others once the enqueue committed.
func (e *Engine) handOver(ctx context.Context, entries []*store.QueueEntry, t *ticket) bool {
	ready := e.hot.push(entries, t)
	all := true
	for _, key := range ready {
		if !e.kick(ctx, key) {
			all = false
		}
	}
	return !all || len(ready) == 0 || !sameActions(ready, entries)
}

// errNotEnqueued: a batch was sent from memory but its enqueue failed (the
// matcher matches it again; the action reads the store).
var errNotEnqueued = errors.New("the batch's enqueue failed")

// enqueued waits for the enqueue commit of a batch taken from memory.
func enqueued(t *ticket) error {
	if t == nil {
		return nil
	}
	<-t.done
	if t.err != nil {
		return errNotEnqueued
	}
	return nil
}

// sameActions reports whether every entry's action is in keys.
func sameActions(keys []string, entries []*store.QueueEntry) bool {
	if len(keys) == 1 {
		for _, en := range entries {
			if en.Action != keys[0] {
				return false
			}
		}
		return true
	}
	set := make(map[string]bool, len(keys))
	for _, k := range keys {
		set[k] = true
	}
	for _, en := range entries {
		if !set[en.Action] {
			return false
		}
	}
	return true
}

// kick starts delivering an action unless it is being delivered already;
// it reports false when no worker is free (the delivery loop will start
// it).
func (e *Engine) kick(ctx context.Context, key string) bool {
	if ctx.Err() != nil {
		return false
	}
	e.mu.Lock()
	if e.running[key] {
		e.mu.Unlock()
		return true
	}
	select {
	case e.sem <- struct{}{}:
	default:
		e.mu.Unlock()
		return false
	}
	e.running[key] = true
	e.wg.Add(1)
	e.mu.Unlock()
	go e.runAction(ctx, key)
	return true
}

// runAction delivers an action holding a worker slot and its running mark.
func (e *Engine) runAction(ctx context.Context, key string) {
	defer func() {
		<-e.sem
		e.release(key)
		// Entries handed over while the slot was being released.
		if !e.hot.pending(key) || !e.kick(ctx, key) {
			e.wakeDelivery()
		}
		e.wg.Done()
	}()
	e.deliverAction(ctx, key)
}

func (e *Engine) deliverLoop(ctx context.Context) {
	// Until the automations are known, every queue would look orphaned.
	select {
	case <-ctx.Done():
		return
	case <-e.configured:
	}
	t := time.NewTicker(e.opts.Poll)
	defer t.Stop()
	for {
		due, err := e.store.DueActions(ctx, e.now(), 4*e.opts.Workers)
		if err != nil && ctx.Err() == nil {
			e.log.Error("list due deliveries", "err", err)
		}
		started := 0
		for _, key := range due {
			e.mu.Lock()
			busy := e.running[key]
			if !busy {
				e.running[key] = true
			}
			e.mu.Unlock()
			if busy {
				continue
			}
			select {
			case e.sem <- struct{}{}:
			case <-ctx.Done():
				e.release(key)
				return
			}
			started++
			e.wg.Add(1)
			go e.runAction(ctx, key)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wakeDeliver:
		case <-t.C:
		}
	}
}

func (e *Engine) release(key string) {
	e.mu.Lock()
	delete(e.running, key)
	e.mu.Unlock()
}

// maxRounds bounds the batches one action sends before it gives its
// worker slot back (fairness between actions).
const maxRounds = 8

// deliverAction sends batches of an action's queue and records the
// outcomes: from memory while its hot queue is valid, from the store
// otherwise, until the queue is empty, an attempt fails or maxRounds
// batches went out. A batch's outcome is committed while the next batch is
// sent (the next one goes out only after the destination accepted the
// previous one, so order holds); a crash before that commit sends the
// batch again after the restart.
func (e *Engine) deliverAction(ctx context.Context, key string) {
	a, enabled := e.action(key)
	if a == nil {
		// The automation is gone: its queue goes with it.
		e.hot.forget(key)
		if err := e.store.Update(ctx, func(tx store.Tx) error { return tx.DropQueues(ctx, key) }); err != nil && ctx.Err() == nil {
			e.log.Error("drop orphaned queue", "action", key, "err", err)
		}
		return
	}
	if !enabled {
		// Paused: keep the queue and its retry state, look again later.
		e.hot.invalidate(key)
		st := e.health.state(ctx, key)
		st.NextAttempt = e.now().Add(time.Minute)
		if err := e.store.Update(ctx, func(tx store.Tx) error { return tx.SetActionState(ctx, &st) }); err == nil {
			e.health.remember(key, st)
		}
		return
	}
	// The due list may have been read before the previous attempt recorded
	// its backoff: an action not due yet waits.
	if st := e.health.state(ctx, key); st.NextAttempt.After(e.now()) {
		e.hot.invalidate(key)
		return
	}
	// recording is the outcome of the previous batch being committed.
	var recording chan error
	settle := func() bool {
		if recording == nil {
			return true
		}
		err := <-recording
		recording = nil
		if err != nil {
			e.hot.invalidate(key)
			if ctx.Err() == nil && !errors.Is(err, errNotEnqueued) {
				e.log.Error("record delivery", "action", key, "err", err)
			}
			return false
		}
		return true
	}
	defer settle()
	// sent is the last seq of the batch whose outcome is being recorded:
	// the next store read starts after it, without waiting for that
	// commit.
	var sent int64
	for round := 0; round < maxRounds; round++ {
		if round > 0 {
			// The automation may have changed or gone meanwhile.
			if a, enabled = e.action(key); a == nil || !enabled {
				return
			}
		}
		batchSize := max(e.opts.BatchSize, a.BatchSize)
		entries, t, ok := e.hot.take(key, batchSize)
		if !ok {
			// The store's queue still holds the batch being recorded
			// (if any): read after it.
			after := int64(0)
			if recording != nil {
				after = sent
			}
			m := e.hot.mark(key)
			var err error
			entries, err = e.store.Queued(ctx, key, after, batchSize)
			e.hot.read(key, m, entries, err == nil && len(entries) < batchSize)
			if err != nil {
				if ctx.Err() == nil {
					e.log.Error("read queue", "action", key, "err", err)
				}
				return
			}
		}
		if len(entries) == 0 {
			return
		}
		msgs := make([]sink.Message, len(entries))
		for i, en := range entries {
			msgs[i] = sink.Message{EventID: en.EventID, Seq: en.Seq, Source: en.Source, ResourceID: en.ResourceID, Body: en.Body}
		}
		s, err := e.sinkFor(ctx, a)
		if err == nil {
			wctx, cancel := context.WithTimeout(ctx, e.opts.WriteTimeout)
			err = s.WriteBatch(wctx, msgs)
			cancel()
		}
		if ctx.Err() != nil {
			return // shutting down: the batch stays queued and is retried after restart
		}
		if !settle() {
			return
		}
		if err != nil {
			// What was not delivered stays in the store: the next attempt
			// reads it from there.
			e.hot.invalidate(key)
			if enqueued(t) != nil {
				return
			}
			if err := e.record(ctx, a, entries, err); err != nil && ctx.Err() == nil {
				e.log.Error("record delivery", "action", key, "err", err)
			}
			return
		}
		sent = entries[len(entries)-1].Seq
		done := make(chan error, 1)
		go func(a *Action) {
			// Delivered: the outcome is recorded once the entries are
			// enqueued, even if the engine is stopping meanwhile (fewer
			// duplicates after a restart).
			err := enqueued(t)
			if err == nil {
				err = e.record(context.WithoutCancel(ctx), a, entries, nil)
			}
			done <- err
		}(a)
		recording = done
	}
}

// action returns an action and whether its automation is enabled.
func (e *Engine) action(key string) (*Action, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	a := e.actions[key]
	if a == nil {
		return nil, false
	}
	return a, a.export.Enabled
}

func (e *Engine) sinkFor(ctx context.Context, a *Action) (Sink, error) {
	e.mu.RLock()
	ls := e.live[a.Key]
	e.mu.RUnlock()
	if ls != nil && ls.fingerprint == a.Fingerprint {
		return ls.sink, nil
	}
	s, err := e.sinks(a)
	if err != nil {
		return nil, sink.Permanent(sink.Redact(err, a.Secrets...))
	}
	if err := s.Connect(ctx); err != nil {
		_ = s.Close()
		return nil, sink.Classify(err)
	}
	e.mu.Lock()
	if old := e.live[a.Key]; old != nil {
		_ = old.sink.Close()
	}
	e.live[a.Key] = &liveSink{fingerprint: a.Fingerprint, sink: s}
	e.mu.Unlock()
	return s, nil
}

// record applies a delivery outcome: delivered entries leave the queue,
// permanent failures and expired retries become dead letters, retryable
// failures schedule the next attempt.
func (e *Engine) record(ctx context.Context, a *Action, entries []*store.QueueEntry, werr error) error {
	now := e.now()
	st := e.health.state(ctx, a.Key)
	var done []int64
	var dead []*store.DeadLetter
	failed := map[int]bool{}
	var se *sink.Error
	if werr != nil {
		se = sink.Classify(werr)
		se.Err = sink.Redact(se.Err, a.Secrets...)
		for _, i := range se.Failed {
			if i >= 0 && i < len(entries) {
				failed[i] = true
			}
		}
		if len(failed) == 0 {
			// In-order sinks stop at the first failure: the message at
			// Delivered failed; the rest was not attempted and stays queued.
			failed[min(max(se.Delivered, 0), len(entries)-1)] = true
		}
	}
	accepted := func(i int) bool {
		switch {
		case werr == nil:
			return true
		case len(se.Failed) > 0:
			return !failed[i]
		default:
			return i < se.Delivered && !failed[i]
		}
	}
	delivered := 0
	for i, en := range entries {
		if accepted(i) {
			done = append(done, en.Seq)
			delivered++
		}
	}
	next := store.ActionState{Action: a.Key}
	retried := 0
	if se != nil {
		reason := se.Err.Error()
		next.LastError = reason
		// The retry clock and the attempt count belong to the head of the
		// queue: they go on while the head keeps failing, and restart when
		// the head was delivered in this attempt.
		clock, attempts := st.FirstFailure, st.Attempts
		if clock.IsZero() || !failed[0] {
			clock, attempts = now, 0
		}
		if !se.Retryable {
			for i, en := range entries {
				if failed[i] {
					dead = append(dead, &store.DeadLetter{Action: a.Key, Seq: en.Seq, EventID: en.EventID, Source: en.Source,
						Reason: reason, Attempts: attempts + 1, FailedAt: now, Body: en.Body})
					done = append(done, en.Seq)
				}
			}
		} else {
			// An event expires once it has waited MaxAge while the
			// destination kept failing: since the head first failed, or
			// since it was queued if that is later.
			expiredReason := fmt.Sprintf("retries expired after %s; last error: %s", e.opts.MaxAge, reason)
			for i, en := range entries {
				if !failed[i] {
					continue
				}
				if now.Sub(later(clock, en.Enqueued)) >= e.opts.MaxAge {
					dead = append(dead, &store.DeadLetter{Action: a.Key, Seq: en.Seq, EventID: en.EventID, Source: en.Source,
						Reason: expiredReason, Attempts: attempts + 1, FailedAt: now, Body: en.Body})
					done = append(done, en.Seq)
				} else {
					retried++
				}
			}
			next.FirstFailure = clock
			if retried > 0 {
				next.Attempts = attempts + 1
				next.NextAttempt = now.Add(e.opts.Backoff.Delay(next.Attempts, se.RetryAfter))
			} else {
				// Everything that failed expired: the next head is tried at
				// once, and inherits the clock (the destination has been
				// failing since then).
				next.LastError = expiredReason
			}
		}
	}
	gone := false
	err := e.store.Update(ctx, func(tx store.Tx) error {
		// An automation deleted while its batch was in flight keeps no
		// state: its queue is dropped (DropAutomation, or the orphan check
		// in deliverAction).
		e.mu.RLock()
		gone = e.actions[a.Key] == nil
		e.mu.RUnlock()
		if gone {
			return nil
		}
		if err := tx.Dequeue(ctx, a.Key, done); err != nil {
			return err
		}
		for _, d := range dead {
			if err := tx.AddDeadLetter(ctx, d); err != nil {
				return err
			}
		}
		if err := tx.SetActionState(ctx, &next); err != nil {
			return err
		}
		return e.health.update(ctx, tx, a.Key, func(h *Health) {
			h.Delivered += int64(delivered)
			h.Retried += int64(retried)
			h.DeadLettered += int64(len(dead))
			if delivered > 0 {
				h.LastSuccess = now
			}
			if se != nil {
				h.LastError = next.LastError
				h.LastErrorAt = now
			}
		})
	})
	if err != nil || gone {
		return err
	}
	e.health.remember(a.Key, next)
	exportMetrics.observe(a, delivered, retried, len(dead))
	exportMetrics.observeLatency(a, now, entries, accepted)
	if se != nil {
		e.log.Warn("delivery failed", "action", a.Key, "type", a.Type, "retryable", se.Retryable && len(dead) == 0,
			"events", len(failed), "attempts", next.Attempts, "next_attempt", next.NextAttempt, "err", next.LastError)
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// DropAutomation removes, in tx, the queues, retry state and health of
// every action of an automation (when it is deleted).
func DropAutomation(ctx context.Context, tx store.Tx, automationKey string) error {
	prefix := automationKey + "/actions/"
	if err := tx.DropQueues(ctx, prefix); err != nil {
		return err
	}
	recs, err := tx.List(ctx, store.ListOptions{Kind: KindHealth, Prefix: prefix})
	if err != nil {
		return err
	}
	for _, r := range recs {
		if _, err := tx.Delete(ctx, KindHealth, r.Key); err != nil {
			return err
		}
	}
	return nil
}

// Forget drops cached retry state of an automation's actions.
func (e *Engine) Forget(automationKey string) {
	e.health.forget(automationKey + "/actions/")
	e.hot.drop(automationKey + "/actions/")
}

// ErrAlreadyReplayed is returned when a dead letter no longer exists.
var ErrAlreadyReplayed = errors.New("the dead letter does not exist (already replayed?)")

// Replay moves a dead letter back to the head of its action's queue, with
// its original event id and body, and clears the action's retry state.
func (e *Engine) Replay(ctx context.Context, d *store.DeadLetter) error {
	err := e.store.Update(ctx, func(tx store.Tx) error {
		ok, err := tx.DeleteDeadLetter(ctx, d.ID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrAlreadyReplayed
		}
		if err := tx.Enqueue(ctx, &store.QueueEntry{Action: d.Action, Seq: d.Seq, EventID: d.EventID, Body: d.Body, Enqueued: e.now().UTC()}); err != nil {
			return err
		}
		return tx.SetActionState(ctx, &store.ActionState{Action: d.Action})
	})
	if err != nil {
		return err
	}
	e.health.remember(d.Action, store.ActionState{Action: d.Action})
	// The replayed entry is at the head of the queue: memory does not
	// have it.
	e.hot.invalidate(d.Action)
	e.wakeDelivery()
	return nil
}
