// Package store declares Sluice's storage interfaces: resources keyed by
// kind and ARM id, and a durable, sequenced event log, written in grouped
// transactions. Implementations live in sub-packages (sqlite; postgres
// later) and must pass the conformance suite in storetest.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("store: closed")

// Record is one stored resource. Key is the case-folded id that identifies
// it within its kind; ID keeps the spelling the resource was created with.
type Record struct {
	Kind string
	Key  string
	ID   string
	// Parent is an optional grouping key (lower case) for lists that are not
	// a key prefix, e.g. the management group a subscription belongs to.
	Parent  string
	Body    []byte
	ETag    string
	Created time.Time
	Updated time.Time
}

// ListOptions selects records of one kind by key prefix and/or parent, in
// key order, after a key, up to a limit (0 = no limit).
type ListOptions struct {
	Kind   string
	Prefix string
	Parent string
	After  string
	Limit  int
}

// Event is one entry of the event log.
type Event struct {
	// Seq is assigned by AppendEvent: strictly increasing.
	Seq int64
	// ID is the event's stable unique id.
	ID            string
	Source        string
	Tenant        string
	Subscription  string
	ResourceGroup string
	ResourceID    string
	Time          time.Time
	// Body is the exact JSON exported for the event.
	Body []byte
	// Extra is JSON with fields the rule engine may filter on beyond Body.
	Extra []byte
	// Target, when set, is the key of the only automation the event is for
	// (snapshots and backfills); empty means every matching automation.
	Target string
}

// Reader reads records.
type Reader interface {
	Get(ctx context.Context, kind, key string) (*Record, error)
	List(ctx context.Context, opts ListOptions) ([]*Record, error)
	Count(ctx context.Context, opts ListOptions) (int, error)
}

// Tx is a write transaction. Put inserts or replaces; Delete reports
// whether a record was removed. Savepoint runs fn so that its writes are
// undone alone when it returns an error, leaving the rest of the
// transaction intact.
type Tx interface {
	Reader
	Put(ctx context.Context, rec *Record) error
	Delete(ctx context.Context, kind, key string) (bool, error)
	AppendEvent(ctx context.Context, ev *Event) error
	Savepoint(ctx context.Context, fn func(Tx) error) error
	QueueTx
}

// Store is the whole storage API. Update runs fn in a transaction that may
// be shared with other concurrent Update calls (grouped commit): fn's
// writes are isolated by a savepoint, and Update returns only after the
// group is durably committed. fn must not call the Store itself.
type Store interface {
	Reader
	QueueReader
	Update(ctx context.Context, fn func(Tx) error) error
	// Events reads up to limit events with Seq > after, in order.
	Events(ctx context.Context, after int64, limit int) ([]*Event, error)
	// LastSeq is the highest assigned sequence number (0 when empty).
	LastSeq(ctx context.Context) (int64, error)
	// PruneEvents removes events older than before that no queue still
	// references; it returns how many.
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
	// Ping reports whether the store is open with its migrations applied.
	Ping(ctx context.Context) error
	Close() error
}
