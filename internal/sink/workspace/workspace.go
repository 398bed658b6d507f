// Package workspace delivers events to a Log Analytics workspace: each
// event becomes a row of its Security table (internal/latables), rows over
// the 32 KB record limit are truncated visibly, and the rows go to a
// Writer — the Logs Ingestion API for a workspace in Azure
// (NewLogsIngestion), or a workspace Sluice hosts itself.
//
// The 32 KB rule: where the Microsoft service drops a larger record and
// shows "Data limit has been exceeded", the sink cuts the record's largest
// fields (each cut value ends with "…[truncated by Sluice: N bytes]"),
// writes the truncated row, raises a warning naming the record, and reports
// the message as failed permanently so the export engine keeps the full
// event in the dead-letter store. Nothing is silently lost.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"sluice/internal/latables"
	"sluice/internal/sink"
)

// Writer writes rows of one table to a workspace. A failure is an error;
// an *sink.Error whose Failed lists indexes into rows names the rows that
// failed (nil Failed: all of them); any other error fails every row and is
// classified by sink.Classify.
type Writer interface {
	WriteRows(ctx context.Context, table *latables.Table, rows []*latables.Row) error
}

// DataLimitExceeded starts every message about a record over the record
// size limit, as in the Microsoft service.
const DataLimitExceeded = "Data limit has been exceeded"

// Options configure a Sink.
type Options struct {
	// Writer receives the rows (required).
	Writer Writer
	// MaxRecordBytes is the record limit (default latables.MaxRecordBytes,
	// 32 KB; negative disables truncation, e.g. for a workspace that stores
	// any size).
	MaxRecordBytes int
	// WorkspaceID fills the TenantId column of rows (a workspace Sluice
	// hosts uses it; the Logs Ingestion API ignores it).
	WorkspaceID string
	// Warn records a warning in the action's health (e.g. the engine's
	// Warn bound to the action key). Optional.
	Warn func(ctx context.Context, eventID, message string)
	// Now is the clock of TimeGenerated (default time.Now).
	Now func() time.Time
	// Log receives debug lines (default slog.Default()).
	Log *slog.Logger
}

// Sink is a workspace destination: it implements the export engine's sink
// interface (Connect, WriteBatch, Close).
type Sink struct {
	opts Options
}

// NewSink builds a sink around a Writer.
func NewSink(opts Options) (*Sink, error) {
	if opts.Writer == nil {
		return nil, errors.New("workspace sink: no writer")
	}
	if opts.MaxRecordBytes == 0 {
		opts.MaxRecordBytes = latables.MaxRecordBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Sink{opts: opts}, nil
}

// Connect connects the writer when it has a Connect method.
func (s *Sink) Connect(ctx context.Context) error {
	if c, ok := s.opts.Writer.(interface{ Connect(context.Context) error }); ok {
		return c.Connect(ctx)
	}
	return nil
}

// Close closes the writer when it has a Close method.
func (s *Sink) Close() error {
	if c, ok := s.opts.Writer.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// truncation is one record cut to fit the limit.
type truncation struct {
	index int
	table string
	size  int
	cuts  []latables.Cut
}

// outcome gathers the per-message results of a batch.
type outcome struct {
	permanent  map[int]string // index → reason
	retryable  map[int]bool
	retryErr   error
	retryAfter time.Duration
}

func (o *outcome) fail(idx []int, err error) {
	se := sink.Classify(err)
	for _, i := range idx {
		if se.Retryable {
			o.retryable[i] = true
		} else if _, ok := o.permanent[i]; !ok {
			o.permanent[i] = se.Err.Error()
		}
	}
	if se.Retryable {
		if o.retryErr == nil {
			o.retryErr = se.Err
		}
		o.retryAfter = max(o.retryAfter, se.RetryAfter)
	}
}

// WriteBatch maps the batch to rows and writes them table by table.
// Records over the limit are written last, truncated, once everything else
// was accepted; they are then reported as failed permanently with a "Data
// limit has been exceeded" reason so the engine dead-letters the full
// events. When a retryable failure happens, every message not known to be
// delivered is reported retryable (truncated records included, so no full
// record is lost).
func (s *Sink) WriteBatch(ctx context.Context, batch []sink.Message) error {
	now := s.opts.Now()
	rows := make([]*latables.Row, len(batch))
	o := &outcome{permanent: map[int]string{}, retryable: map[int]bool{}}
	var normal, cut []int
	var truncs []truncation
	fits := make([]fit, len(batch))
	parallel(len(batch), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			rows[i], fits[i] = s.build(batch[i], now)
		}
	})
	for i, f := range fits {
		switch {
		case f.reason != "":
			o.permanent[i] = f.reason
		case f.size > 0:
			truncs = append(truncs, truncation{index: i, table: rows[i].Table.Name, size: f.size, cuts: f.cuts})
			cut = append(cut, i)
		default:
			normal = append(normal, i)
		}
	}
	s.write(ctx, rows, normal, o)
	if len(o.retryable) > 0 {
		// Do not write truncated rows yet: they go out in an attempt where
		// everything else succeeds, so each is written once.
		return o.retryError(cut)
	}
	s.write(ctx, rows, cut, o)
	var delivered []truncation
	for _, t := range truncs {
		if !o.retryable[t.index] && o.permanent[t.index] == "" {
			delivered = append(delivered, t)
		}
	}
	if len(o.retryable) > 0 {
		// A truncated row that was written is reported again so its full
		// record is not lost; it may be written twice.
		idx := make([]int, 0, len(delivered))
		for _, t := range delivered {
			idx = append(idx, t.index)
		}
		return o.retryError(idx)
	}
	for _, t := range delivered {
		m := batch[t.index]
		msg := s.warning(m, t)
		if s.opts.Warn != nil {
			s.opts.Warn(ctx, m.EventID, msg)
		}
		s.opts.Log.Warn("record truncated to fit Log Analytics", "event", m.EventID, "table", t.table, "bytes", t.size)
		o.permanent[t.index] = ""
	}
	if len(o.permanent) == 0 {
		return nil
	}
	failed := make([]int, 0, len(o.permanent))
	for i := range o.permanent {
		failed = append(failed, i)
	}
	slices.Sort(failed)
	return &sink.Error{Failed: failed, Err: errors.New(permanentReason(batch, o.permanent, delivered, s.opts.MaxRecordBytes))}
}

// fit is how a message's row came out of build: a permanent failure, a
// truncation (size > 0: the original record size) or fine.
type fit struct {
	reason string
	size   int
	cuts   []latables.Cut
}

// build maps one message to its row and fits it to the record limit.
func (s *Sink) build(m sink.Message, now time.Time) (*latables.Row, fit) {
	row, err := latables.Build(m.Source, m.Body, latables.Options{Now: now, WorkspaceID: s.opts.WorkspaceID})
	if err != nil {
		return nil, fit{reason: fmt.Sprintf("event %s cannot be written to Log Analytics: %v", m.EventID, err)}
	}
	if s.opts.MaxRecordBytes <= 0 {
		return row, fit{}
	}
	size := len(row.StreamJSON())
	if size <= s.opts.MaxRecordBytes {
		return row, fit{}
	}
	cuts, err := row.FitStream(s.opts.MaxRecordBytes)
	if err != nil {
		return nil, fit{reason: fmt.Sprintf("%s: the %s record of event %s is %d bytes and cannot be cut to the %d-byte limit: %v",
			DataLimitExceeded, row.Table.Name, m.EventID, size, s.opts.MaxRecordBytes, err)}
	}
	return row, fit{size: size, cuts: cuts}
}

// parallel runs fn over [0, n) split into one part per CPU (one part for
// small n).
func parallel(n int, fn func(lo, hi int)) {
	parts := runtime.GOMAXPROCS(0)
	if n < 64 || parts < 2 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	step := (n + parts - 1) / parts
	for lo := 0; lo < n; lo += step {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+step, n))
	}
	wg.Wait()
}

// write sends the rows at idx, grouped by table in batch order, recording
// failures in o.
func (s *Sink) write(ctx context.Context, rows []*latables.Row, idx []int, o *outcome) {
	var order []*latables.Table
	groups := map[*latables.Table][]int{}
	for _, i := range idx {
		t := rows[i].Table
		if _, ok := groups[t]; !ok {
			order = append(order, t)
		}
		groups[t] = append(groups[t], i)
	}
	for _, t := range order {
		g := groups[t]
		part := make([]*latables.Row, len(g))
		for j, i := range g {
			part[j] = rows[i]
		}
		err := s.opts.Writer.WriteRows(ctx, t, part)
		if err == nil {
			continue
		}
		var se *sink.Error
		if errors.As(err, &se) && len(se.Failed) > 0 {
			sub := make([]int, 0, len(se.Failed))
			for _, j := range se.Failed {
				if j >= 0 && j < len(g) {
					sub = append(sub, g[j])
				}
			}
			o.fail(sub, err)
			continue
		}
		o.fail(g, err)
	}
}

// retryError reports every retryable message, every permanent one (it is
// tried again and dead-lettered once the destination answers), and extra.
func (o *outcome) retryError(extra []int) error {
	set := map[int]bool{}
	for i := range o.retryable {
		set[i] = true
	}
	for i := range o.permanent {
		set[i] = true
	}
	for _, i := range extra {
		set[i] = true
	}
	failed := make([]int, 0, len(set))
	for i := range set {
		failed = append(failed, i)
	}
	slices.Sort(failed)
	return &sink.Error{Retryable: true, RetryAfter: o.retryAfter, Failed: failed, Err: o.retryErr}
}

func describeCuts(cuts []latables.Cut) string {
	parts := make([]string, len(cuts))
	for i, c := range cuts {
		parts[i] = fmt.Sprintf("%s (%d of %d bytes cut)", c.Column, c.Removed, c.Original)
	}
	return strings.Join(parts, ", ")
}

// warning is the health warning for one truncated record.
func (s *Sink) warning(m sink.Message, t truncation) string {
	res := ""
	if m.ResourceID != "" {
		res = " about " + m.ResourceID
	}
	return fmt.Sprintf("%s: the %s record of event %s%s was %d bytes, over the %d-byte Log Analytics record limit; "+
		"Sluice wrote it with %s truncated (marked \"…[truncated by Sluice: N bytes]\") and kept the full event in the dead letters",
		DataLimitExceeded, t.table, m.EventID, res, t.size, s.opts.MaxRecordBytes, describeCuts(t.cuts))
}

// permanentReason is the one reason the engine records for every message
// failed permanently in a batch (the dead letters' reason).
func permanentReason(batch []sink.Message, reasons map[int]string, truncs []truncation, limit int) string {
	var parts []string
	if len(truncs) > 0 {
		var recs []string
		for _, t := range truncs {
			recs = append(recs, fmt.Sprintf("%s (%s, %d bytes)", batch[t.index].EventID, t.table, t.size))
		}
		parts = append(parts, fmt.Sprintf("%s: %s over the %d-byte Log Analytics record limit; truncated rows were written and the full events are kept here",
			DataLimitExceeded, strings.Join(recs, ", "), limit))
	}
	idx := make([]int, 0, len(reasons))
	for i, r := range reasons {
		if r != "" {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	seen := map[string]bool{}
	for _, i := range idx {
		if r := reasons[i]; !seen[r] {
			seen[r] = true
			parts = append(parts, r)
		}
	}
	return strings.Join(parts, "; ")
}
