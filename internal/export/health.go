package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/store"
)

// KindHealth is the store kind of per-action delivery counters.
const KindHealth = "actionhealth"

// Health is the delivery record of one action.
type Health struct {
	Action       string    `json:"action"`
	Delivered    int64     `json:"delivered"`
	Retried      int64     `json:"retried"`
	DeadLettered int64     `json:"deadLettered"`
	LastError    string    `json:"lastError,omitempty"`
	LastErrorAt  time.Time `json:"lastErrorAt,omitzero"`
	LastSuccess  time.Time `json:"lastSuccess,omitzero"`
	// Warnings are notable events that are not failures, e.g. a record
	// truncated to fit a destination's size limit.
	Warnings []Warning `json:"warnings,omitempty"`
}

// Warning is one notable delivery event.
type Warning struct {
	Time    time.Time `json:"time"`
	EventID string    `json:"eventId,omitempty"`
	Message string    `json:"message"`
}

// maxWarnings bounds the warnings kept per action.
const maxWarnings = 20

// ActionHealth is what the health route reports for one action.
type ActionHealth struct {
	Health
	Type string `json:"actionType"`
	// QueueDepth is the number of events waiting.
	QueueDepth int64 `json:"queueDepth"`
	// OldestAge is how long the oldest waiting event has waited.
	OldestAge      Seconds   `json:"oldestUndeliveredAgeSeconds"`
	OldestEnqueued time.Time `json:"oldestUndeliveredEnqueued,omitzero"`
	Attempts       int       `json:"consecutiveFailures"`
	NextAttempt    time.Time `json:"nextAttempt,omitzero"`
}

// Seconds is a duration rendered as seconds.
type Seconds float64

// healthBook caches retry state and updates counters in the store.
type healthBook struct {
	st     store.Store
	mu     sync.Mutex
	states map[string]store.ActionState
}

func newHealthBook(st store.Store) *healthBook {
	return &healthBook{st: st, states: map[string]store.ActionState{}}
}

func (b *healthBook) state(ctx context.Context, key string) store.ActionState {
	b.mu.Lock()
	st, ok := b.states[key]
	b.mu.Unlock()
	if ok {
		return st
	}
	states, err := b.st.ActionStates(ctx, key)
	if err == nil {
		for _, s := range states {
			if s.Action == key {
				return *s
			}
		}
	}
	return store.ActionState{Action: key}
}

func (b *healthBook) remember(key string, st store.ActionState) {
	b.mu.Lock()
	b.states[key] = st
	b.mu.Unlock()
}

func (b *healthBook) forget(prefix string) {
	b.mu.Lock()
	for k := range b.states {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			delete(b.states, k)
		}
	}
	b.mu.Unlock()
}

func readHealth(ctx context.Context, r store.Reader, key string) (*Health, error) {
	rec, err := r.Get(ctx, KindHealth, key)
	if errors.Is(err, store.ErrNotFound) {
		return &Health{Action: key}, nil
	}
	if err != nil {
		return nil, err
	}
	h := &Health{}
	if err := json.Unmarshal(rec.Body, h); err != nil {
		return nil, fmt.Errorf("decode health of %s: %w", key, err)
	}
	return h, nil
}

func (b *healthBook) update(ctx context.Context, tx store.Tx, key string, fn func(*Health)) error {
	h, err := readHealth(ctx, tx, key)
	if err != nil {
		return err
	}
	fn(h)
	if len(h.Warnings) > maxWarnings {
		h.Warnings = h.Warnings[len(h.Warnings)-maxWarnings:]
	}
	body, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return tx.Put(ctx, &store.Record{Kind: KindHealth, Key: key, ID: key, Body: body})
}

// Health reports every action of an automation.
func (e *Engine) Health(ctx context.Context, automationKey string) ([]*ActionHealth, error) {
	e.mu.RLock()
	x := e.targets[automationKey]
	e.mu.RUnlock()
	states, err := e.store.ActionStates(ctx, automationKey+"/actions/")
	if err != nil {
		return nil, err
	}
	byKey := map[string]*store.ActionState{}
	for _, s := range states {
		byKey[s.Action] = s
	}
	var out []*ActionHealth
	if x == nil {
		return out, nil
	}
	now := e.now()
	for _, a := range x.Actions {
		h, err := readHealth(ctx, e.store, a.Key)
		if err != nil {
			return nil, err
		}
		ah := &ActionHealth{Health: *h, Type: a.Type}
		if s := byKey[a.Key]; s != nil {
			ah.QueueDepth, ah.Attempts, ah.NextAttempt = s.Depth, s.Attempts, s.NextAttempt
			if ah.LastError == "" {
				ah.LastError = s.LastError
			}
		}
		if ah.QueueDepth > 0 {
			if t, ok, err := e.store.OldestQueued(ctx, a.Key); err == nil && ok {
				ah.OldestEnqueued = t
				ah.OldestAge = Seconds(now.Sub(t).Seconds())
			}
		}
		out = append(out, ah)
	}
	return out, nil
}

// Warn records a warning on an action's health (sinks use it, e.g. for a
// truncated record).
func (e *Engine) Warn(ctx context.Context, actionKey, eventID, msg string) error {
	return e.store.Update(ctx, func(tx store.Tx) error {
		return e.health.update(ctx, tx, actionKey, func(h *Health) {
			h.Warnings = append(h.Warnings, Warning{Time: e.now(), EventID: eventID, Message: msg})
		})
	})
}

// ---- metrics ----

type metricSet struct {
	once                         sync.Once
	delivered, retried, lettered *prometheus.CounterVec
	// latency is the time from an event's enqueue (the matcher's commit)
	// to the destination's acceptance, per action type.
	latency *prometheus.HistogramVec
}

var exportMetrics metricSet

func (m *metricSet) init() {
	m.once.Do(func() {
		labels := []string{"automation", "action", "type"}
		m.delivered = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_export_delivered_total",
			Help: "Events delivered, per automation action."}, labels)
		m.retried = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_export_retried_total",
			Help: "Event deliveries that failed and were scheduled for retry."}, labels)
		m.lettered = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_export_dead_lettered_total",
			Help: "Events moved to the dead-letter store."}, labels)
		m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_export_delivery_seconds",
			Help:    "Time from an event's enqueue for an action to the destination's acceptance.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600}}, []string{"type"})
	})
}

// observeLatency records how long delivered entries waited.
func (m *metricSet) observeLatency(a *Action, now time.Time, entries []*store.QueueEntry, delivered func(int) bool) {
	m.init()
	h := m.latency.WithLabelValues(a.Type)
	for i, en := range entries {
		if delivered(i) && !en.Enqueued.IsZero() {
			h.Observe(max(now.Sub(en.Enqueued), 0).Seconds())
		}
	}
}

func (m *metricSet) observe(a *Action, delivered, retried, dead int) {
	m.init()
	aut := AutomationKeyOf(a.Key)
	act := a.Key[len(aut):]
	if delivered > 0 {
		m.delivered.WithLabelValues(aut, act, a.Type).Add(float64(delivered))
	}
	if retried > 0 {
		m.retried.WithLabelValues(aut, act, a.Type).Add(float64(retried))
	}
	if dead > 0 {
		m.lettered.WithLabelValues(aut, act, a.Type).Add(float64(dead))
	}
}

// Collector exposes the delivery counters and, at scrape time, each
// action's queue depth and the age of its oldest undelivered event.
func (e *Engine) Collector() prometheus.Collector { return engineCollector{e} }

type engineCollector struct{ e *Engine }

var (
	depthDesc = prometheus.NewDesc("sluice_export_queue_depth", "Events waiting per automation action.",
		[]string{"automation", "action"}, nil)
	backlogDesc = prometheus.NewDesc("sluice_export_backlog", "Events waiting over all actions.", nil, nil)
	failDesc    = prometheus.NewDesc("sluice_export_consecutive_failures", "Consecutive failed attempts at the head of an action's queue.",
		[]string{"automation", "action"}, nil)
)

func (c engineCollector) Describe(ch chan<- *prometheus.Desc) {
	exportMetrics.init()
	exportMetrics.delivered.Describe(ch)
	exportMetrics.retried.Describe(ch)
	exportMetrics.lettered.Describe(ch)
	exportMetrics.latency.Describe(ch)
	ch <- depthDesc
	ch <- backlogDesc
	ch <- failDesc
}

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	exportMetrics.init()
	exportMetrics.delivered.Collect(ch)
	exportMetrics.retried.Collect(ch)
	exportMetrics.lettered.Collect(ch)
	exportMetrics.latency.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	states, err := c.e.store.ActionStates(ctx, "")
	if err != nil {
		return
	}
	var total int64
	for _, s := range states {
		aut := AutomationKeyOf(s.Action)
		act := s.Action[len(aut):]
		total += s.Depth
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(s.Depth), aut, act)
		ch <- prometheus.MustNewConstMetric(failDesc, prometheus.GaugeValue, float64(s.Attempts), aut, act)
	}
	ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(total))
}
