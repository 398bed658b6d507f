// Package ingest is the bulk write path for producers: a batch of NDJSON
// records (alerts, assessments, sub-assessments, custom assessment
// metadata, deletions) committed durably before the answer, with a result
// per line. A rejected line never blocks the others and leaves nothing
// half-written; when the export backlog is over its bound the route sheds
// load with 429 and Retry-After instead of growing memory.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"sluice/internal/armapi"
	"sluice/internal/store"
)

// Limits of one request.
const (
	MaxRequestBytes = 64 << 20
	MaxLineBytes    = 1 << 20
	MaxLines        = 50000
)

// Record is one parsed line, ready to apply.
type Record interface {
	// ID is the record's resource id (for the result and authorization).
	ID() string
	// Scope is the ARM scope whose write permission the line needs.
	Scope() string
	// Apply writes the record and its events in tx.
	Apply(ctx context.Context, tx store.Tx, now time.Time) error
}

// Parser turns one line of a given type into a Record, or an error whose
// code and message explain the rejection (an *armapi.Error ideally).
type Parser func(line []byte) (Record, error)

// Authorizer checks the caller's permission to write at a scope.
type Authorizer interface {
	Authorize(ctx context.Context, permission, scope string) error
}

// Ingestor serves the ingestion route.
type Ingestor struct {
	Store store.Store
	// Parsers by record type, lower case (e.g. microsoft.security/assessments).
	Parsers map[string]Parser
	// Authz checks Permission on each record's scope.
	Authz      Authorizer
	Permission string
	// MaxBacklog bounds the export backlog (queued deliveries) above which
	// the route answers 429; 0 disables the check.
	MaxBacklog int64
	// Notify is called after a commit that may have appended events.
	Notify func()
	now    func() time.Time
}

// LineResult is the outcome of one line.
type LineResult struct {
	Line   int           `json:"line"`
	Status string        `json:"status"`
	ID     string        `json:"id,omitempty"`
	Error  *LineErrorOut `json:"error,omitempty"`
}

// LineErrorOut is a rejected line's reason.
type LineErrorOut struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Result is the route's answer.
type Result struct {
	Accepted int          `json:"accepted"`
	Rejected int          `json:"rejected"`
	Results  []LineResult `json:"results"`
}

type envelope struct {
	Type string          `json:"type"`
	Op   string          `json:"op"`
	ID   string          `json:"id"`
	Raw  json.RawMessage `json:"-"`
}

// DeleteType is the pseudo type of a deletion line:
// {"op":"delete","type":"<record type>","id":"<record id>"}.
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
	armapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

type pending struct {
	idx int
	rec Record
}

// Ingest parses, authorizes and commits a batch. Lines that fail to parse
// or to apply are rejected individually.
func (in *Ingestor) Ingest(ctx context.Context, body []byte) (*Result, error) {
	now := time.Now().UTC()
	if in.now != nil {
		now = in.now()
	}
	res := &Result{Results: []LineResult{}}
	var todo []pending
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), MaxLineBytes+1)
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		if line > MaxLines {
			return nil, armapi.BadRequest("TooManyRecords", "A request may hold at most %d lines.", MaxLines)
		}
		rec, err := in.parse(raw)
		if err == nil {
			err = in.Authz.Authorize(ctx, in.Permission, rec.Scope())
		}
		if err != nil {
			res.Results = append(res.Results, reject(line, idOf(rec), err))
			continue
		}
		res.Results = append(res.Results, LineResult{Line: line, Status: "accepted", ID: rec.ID()})
		todo = append(todo, pending{idx: len(res.Results) - 1, rec: rec})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, armapi.Errorf(http.StatusRequestEntityTooLarge, "RecordTooLarge",
				"Line %d is longer than the limit of %d bytes.", line+1, MaxLineBytes)
		}
		return nil, armapi.BadRequest("InvalidRequestContent", "The body could not be read: %v", err)
	}
	if len(todo) > 0 {
		err := in.Store.Update(ctx, func(tx store.Tx) error {
			for _, p := range todo {
				if err := tx.Savepoint(ctx, func(tx store.Tx) error { return p.rec.Apply(ctx, tx, now) }); err != nil {
					res.Results[p.idx] = reject(res.Results[p.idx].Line, p.rec.ID(), err)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("commit ingested records: %w", err)
		}
		if in.Notify != nil {
			in.Notify()
		}
	}
	for _, r := range res.Results {
		if r.Status == "accepted" {
			res.Accepted++
		} else {
			res.Rejected++
		}
	}
	return res, nil
}

func idOf(r Record) string {
	if r == nil {
		return ""
	}
	return r.ID()
}

func (in *Ingestor) parse(raw []byte) (Record, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, armapi.JSONError(raw, err)
	}
	t := strings.ToLower(strings.TrimSpace(env.Type))
	if t == "" {
		return nil, armapi.BadRequest("MissingRequiredProperty", "The record has no 'type'; expected one of: %s.", in.types())
	}
	p, ok := in.Parsers[t]
	if strings.EqualFold(env.Op, opDelete) {
		p, ok = in.Parsers[opDelete+":"+t]
	} else if env.Op != "" && !strings.EqualFold(env.Op, "upsert") {
		return nil, armapi.BadRequest("InvalidOperation", "The op '%s' is not supported; use 'upsert' (default) or 'delete'.", env.Op)
	}
	if !ok {
		return nil, armapi.BadRequest("UnsupportedRecordType", "The record type '%s' cannot be ingested; expected one of: %s.", env.Type, in.types())
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
	return LineResult{Line: line, Status: "rejected", ID: id, Error: &LineErrorOut{Code: ae.Code, Message: ae.Message}}
}
