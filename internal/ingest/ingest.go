// Package ingest is the bulk write path for producers: a batch of NDJSON
// records (alerts, assessments, sub-assessments, custom assessment
// metadata, deletions) committed durably before the answer, with a result
// per line. A rejected line never blocks the others and leaves nothing
// half-written; when the export backlog is over its bound the route sheds
// load with 429 and Retry-After instead of growing memory.
//
// The package knows nothing of the record types: Parsers turn lines into
// Records, and a Batch (one per transaction) applies them and finishes the
// work they share, such as recomputing aggregates once per batch.
package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/store"
)

// Limits of one request.
const (
	// MaxRequestBytes bounds the request body.
	MaxRequestBytes = 64 << 20
	// MaxLineBytes bounds one line; a longer line is rejected alone.
	MaxLineBytes = 1 << 20
	// MaxLines bounds the number of lines.
	MaxLines = 50000
)

// Record is one parsed line, ready to apply.
type Record interface {
	// ID is the record's resource id (for the result).
	ID() string
	// Authorization returns the permission the line needs and the ARM scope
	// it is checked at.
	Authorization() (permission, scope string)
}

// Batch applies the accepted records of one request inside one store
// transaction.
type Batch interface {
	// Apply writes one record. When it returns an error none of the
	// record's writes may remain (run them under a savepoint).
	Apply(ctx context.Context, rec Record) error
	// Finish runs once after the last record, in the same transaction.
	Finish(ctx context.Context) error
}

// Optimistic is a Batch that applies records without isolating each one
// under a savepoint, which saves the store the work of a savepoint per
// record. Its Apply still rejects a record that fails before writing
// anything without a trace; a record that fails after part of its writes
// makes Apply return an error wrapping ErrRollback, and the Ingestor then
// rolls the request's writes back and applies the records again in a new
// Batch on which it first calls Isolate.
type Optimistic interface {
	Batch
	// Isolate makes every later Apply run under its own savepoint.
	Isolate()
}

// ErrRollback, wrapped in an error of an Optimistic Batch's Apply, says the
// record failed after part of its writes: the transaction must be rolled
// back.
var ErrRollback = errors.New("ingest: a record failed after part of its writes")

// errIsolate ends an optimistic attempt that must be repeated isolated.
var errIsolate = errors.New("ingest: apply the batch again with isolated records")

// Preparer is a Record that can do part of its work ahead of the
// transaction (outside the store's single writer, in parallel with other
// requests), e.g. encode what it will most likely write.
type Preparer interface {
	Prepare(now time.Time)
}

// Parser turns one line into a Record, or an error whose code and message
// explain the rejection (an *armapi.Error ideally).
type Parser func(line []byte) (Record, error)

// Authorizer checks the caller's permission at a scope.
type Authorizer interface {
	Authorize(ctx context.Context, permission, scope string) error
}

// Ingestor serves the ingestion route.
type Ingestor struct {
	Store store.Store
	// Parsers by record type, lower case (e.g. microsoft.security/assessments);
	// "delete:<type>" parses deletion lines of that type.
	Parsers map[string]Parser
	// NewBatch starts the batch of one transaction.
	NewBatch func(tx store.Tx, now time.Time) Batch
	// Authz checks each record's permission (one check per distinct
	// permission and scope in a request).
	Authz Authorizer
	// MaxBacklog bounds the export backlog (queued deliveries) above which
	// the route answers 429; 0 disables the check.
	MaxBacklog int64
	// Notify is called after a commit that accepted records.
	Notify func()
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Resent, when set, is asked first about every line: it returns the
	// record of a line it knows to be byte-identical to one it accepted and
	// that changes nothing (accepted without reading its type), or nil.
	Resent func(line []byte) Record
}

// LineResult is the outcome of one line.
type LineResult struct {
	Line   int           `json:"line"`
	Status string        `json:"status"`
	ID     string        `json:"id,omitempty"`
	Error  *LineErrorOut `json:"error,omitempty"`
}

// Line statuses.
const (
	StatusAccepted = "accepted"
	StatusRejected = "rejected"
)

// LineErrorOut is a rejected line's reason.
type LineErrorOut struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
}

// Result is the route's answer.
type Result struct {
	Accepted int          `json:"accepted"`
	Rejected int          `json:"rejected"`
	Results  []LineResult `json:"results"`
}

type envelope struct {
	Type string `json:"type"`
	Op   string `json:"op"`
}

const opDelete = "delete"

// ServeHTTP is the route handler (an armapi.HandlerFunc).
func (in *Ingestor) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	if in.MaxBacklog > 0 {
		n, err := in.Store.Backlog(r.Context())
		if err != nil {
			return err
		}
		if n > in.MaxBacklog {
			w.Header().Set("Retry-After", "5")
			return armapi.Errorf(http.StatusTooManyRequests, "ExportBacklogFull",
				"The export backlog holds %d events, over the bound of %d; retry later.", n, in.MaxBacklog)
		}
	}
	body, err := armapi.ReadBody(r, MaxRequestBytes)
	if err != nil {
		return err
	}
	res, err := in.Ingest(r.Context(), body)
	if err != nil {
		return err
	}
	armapi.WriteRaw(w, http.StatusOK, res.AppendJSON(make([]byte, 0, 64+len(res.Results)*(48+avgIDLen(res)))))
	return nil
}

func avgIDLen(res *Result) int {
	if len(res.Results) == 0 {
		return 0
	}
	return len(res.Results[0].ID)
}

// AppendJSON appends the result as encoding/json would encode it, without
// reflection: a request's answer holds one entry per line.
func (r *Result) AppendJSON(b []byte) []byte {
	b = append(b, `{"accepted":`...)
	b = strconv.AppendInt(b, int64(r.Accepted), 10)
	b = append(b, `,"rejected":`...)
	b = strconv.AppendInt(b, int64(r.Rejected), 10)
	b = append(b, `,"results":[`...)
	for i := range r.Results {
		lr := &r.Results[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"line":`...)
		b = strconv.AppendInt(b, int64(lr.Line), 10)
		b = append(b, `,"status":`...)
		b = appendString(b, lr.Status)
		if lr.ID != "" {
			b = append(b, `,"id":`...)
			b = appendString(b, lr.ID)
		}
		if e := lr.Error; e != nil {
			b = append(b, `,"error":{"code":`...)
			b = appendString(b, e.Code)
			b = append(b, `,"message":`...)
			b = appendString(b, e.Message)
			if e.Target != "" {
				b = append(b, `,"target":`...)
				b = appendString(b, e.Target)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendString appends s as a JSON string, exactly as encoding/json does:
// plain printable ASCII as it is, anything else through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, err := json.Marshal(s)
			if err != nil { // unreachable: every Go string encodes
				return append(b, `""`...)
			}
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

type pending struct {
	idx int
	rec Record
}

// Ingest parses, authorizes and commits a batch. Lines that fail to parse,
// to be authorized or to apply are rejected individually.
func (in *Ingestor) Ingest(ctx context.Context, body []byte) (*Result, error) {
	if in.NewBatch == nil || in.Authz == nil || in.Store == nil {
		return nil, errors.New("ingest: the ingestor needs a store, an authorizer and a batch")
	}
	now := time.Now().UTC()
	if in.Now != nil {
		now = in.Now().UTC()
	}
	res := &Result{Results: []LineResult{}}
	var todo []pending
	authz := authzCache{in: in, decided: map[[2]string]error{}}
	line := 0
	for rest := body; len(rest) > 0; {
		var raw []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			raw, rest = rest[:i], rest[i+1:]
		} else {
			raw, rest = rest, nil
		}
		line++
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		if line > MaxLines {
			return nil, armapi.Errorf(http.StatusRequestEntityTooLarge, "TooManyRecords", "A request may hold at most %d lines.", MaxLines)
		}
		if len(raw) > MaxLineBytes {
			res.Results = append(res.Results, reject(line, "", armapi.Errorf(http.StatusRequestEntityTooLarge, "RecordTooLarge",
				"The line is %d bytes long; the limit is %d bytes.", len(raw), MaxLineBytes)))
			continue
		}
		var rec Record
		var err error
		if in.Resent != nil {
			rec = in.Resent(raw)
		}
		if rec == nil {
			rec, err = in.parse(raw)
		}
		if err == nil {
			perm, scope := rec.Authorization()
			err = authz.authorize(ctx, perm, scope)
		}
		if err != nil {
			res.Results = append(res.Results, reject(line, idOf(rec), err))
			continue
		}
		if p, ok := rec.(Preparer); ok {
			p.Prepare(now)
		}
		res.Results = append(res.Results, LineResult{Line: line, Status: StatusAccepted, ID: rec.ID()})
		todo = append(todo, pending{idx: len(res.Results) - 1, rec: rec})
	}
	if len(res.Results) == 0 {
		return nil, armapi.BadRequest("InvalidRequestContent", "The body holds no records; send one JSON record per line.")
	}
	if len(todo) > 0 {
		applied, err := in.commit(ctx, now, res, todo, false)
		if errors.Is(err, errIsolate) {
			applied, err = in.commit(ctx, now, res, todo, true)
		}
		if err != nil {
			return nil, fmt.Errorf("commit ingested records: %w", err)
		}
		if in.Notify != nil && applied > 0 {
			in.Notify()
		}
	}
	for _, r := range res.Results {
		if r.Status == StatusAccepted {
			res.Accepted++
		} else {
			res.Rejected++
		}
	}
	return res, nil
}

// commit applies the accepted records in one transaction and sets their
// results; it returns how many were applied. Unless isolate is set, an
// Optimistic batch applies the records without a savepoint each, and
// errIsolate says the attempt was rolled back and must be repeated
// isolated.
func (in *Ingestor) commit(ctx context.Context, now time.Time, res *Result, todo []pending, isolate bool) (int, error) {
	applied := 0
	err := in.Store.Update(ctx, func(tx store.Tx) error {
		applied = 0
		b := in.NewBatch(tx, now)
		o, optimistic := b.(Optimistic)
		if optimistic && isolate {
			o.Isolate()
			optimistic = false
		}
		for _, p := range todo {
			r := &res.Results[p.idx]
			if err := b.Apply(ctx, p.rec); err != nil {
				if optimistic && errors.Is(err, ErrRollback) {
					return errIsolate
				}
				*r = reject(r.Line, p.rec.ID(), err)
				continue
			}
			*r = LineResult{Line: r.Line, Status: StatusAccepted, ID: p.rec.ID()}
			applied++
		}
		return b.Finish(ctx)
	})
	return applied, err
}

func idOf(r Record) string {
	if r == nil {
		return ""
	}
	return r.ID()
}

func (in *Ingestor) parse(raw []byte) (Record, error) {
	var env envelope
	if typ, op, ok := scanEnvelope(raw); ok {
		env.Type, env.Op = typ, op
	} else if err := json.Unmarshal(raw, &env); err != nil {
		return nil, armapi.JSONError(raw, err)
	}
	t := strings.ToLower(strings.TrimSpace(env.Type))
	if t == "" {
		return nil, &armapi.Error{Status: http.StatusBadRequest, Code: "MissingRequiredProperty", Target: "type",
			Message: fmt.Sprintf("The record has no 'type'; expected one of: %s.", in.types())}
	}
	p, ok := in.Parsers[t]
	switch {
	case strings.EqualFold(env.Op, opDelete):
		if !ok {
			break
		}
		if p, ok = in.Parsers[opDelete+":"+t]; !ok {
			return nil, armapi.BadRequest("InvalidOperation", "Records of type '%s' cannot be deleted through ingestion.", env.Type)
		}
	case env.Op != "" && !strings.EqualFold(env.Op, "upsert"):
		return nil, &armapi.Error{Status: http.StatusBadRequest, Code: "InvalidOperation", Target: "op",
			Message: fmt.Sprintf("The op '%s' is not supported; use 'upsert' (default) or 'delete'.", env.Op)}
	}
	if !ok {
		return nil, &armapi.Error{Status: http.StatusBadRequest, Code: "UnsupportedRecordType", Target: "type",
			Message: fmt.Sprintf("The record type '%s' cannot be ingested; expected one of: %s.", env.Type, in.types())}
	}
	return p(raw)
}

func (in *Ingestor) types() string {
	var ts []string
	for t := range in.Parsers {
		if !strings.HasPrefix(t, opDelete+":") {
			ts = append(ts, t)
		}
	}
	slices.Sort(ts)
	return strings.Join(ts, ", ")
}

func reject(line int, id string, err error) LineResult {
	ae := armapi.AsError(err)
	return LineResult{Line: line, Status: StatusRejected, ID: id, Error: &LineErrorOut{Code: ae.Code, Message: ae.Message, Target: ae.Target}}
}

// authzCache decides each distinct permission and scope of a request once.
// A permission held at a subscription is held at every resource group in
// it (role assignments are inherited and there are no deny assignments), so
// a resource group scope is first answered by its subscription's decision:
// a request about many resource groups costs one check per subscription.
// Only a denial at the subscription leads to checking the resource group
// itself, whose answer (and error) is then exactly its own.
type authzCache struct {
	in      *Ingestor
	decided map[[2]string]error
}

func (c *authzCache) authorize(ctx context.Context, perm, scope string) error {
	if sub, ok := subscriptionOf(scope); ok && len(sub) < len(scope) && c.check(ctx, perm, sub) == nil {
		return nil
	}
	return c.check(ctx, perm, scope)
}

func (c *authzCache) check(ctx context.Context, perm, scope string) error {
	k := [2]string{perm, strings.ToLower(scope)}
	err, seen := c.decided[k]
	if !seen {
		err = c.in.Authz.Authorize(ctx, perm, scope)
		c.decided[k] = err
	}
	return err
}

// subscriptionOf returns the /subscriptions/{id} prefix of a scope.
func subscriptionOf(scope string) (string, bool) {
	const prefix = "/subscriptions/"
	if len(scope) <= len(prefix) || !strings.EqualFold(scope[:len(prefix)], prefix) {
		return "", false
	}
	end := strings.IndexByte(scope[len(prefix):], '/')
	if end < 0 {
		return scope, true
	}
	return scope[:len(prefix)+end], true
}
