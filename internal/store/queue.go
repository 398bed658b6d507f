package store

import (
	"context"
	"time"
)

// QueueEntry is one event waiting for one automation action. Entries of an
// action are delivered in Seq order; retry state is kept per action (the
// head of its queue), see ActionState.
type QueueEntry struct {
	Action   string
	Seq      int64
	EventID  string
	Enqueued time.Time
	// Body, when set on Enqueue, is delivered instead of the logged event's
	// body (a replayed dead letter whose event may have been pruned).
	// Queued fills it, and Source and ResourceID, from the event log.
	Body       []byte
	Source     string
	ResourceID string
}

// ActionState is the delivery state of one action's queue.
type ActionState struct {
	Action string
	// Depth is the number of queued entries.
	Depth int64
	// Attempts counts consecutive failed attempts at the head entry.
	Attempts int
	// NextAttempt is when the head may be tried again.
	NextAttempt time.Time
	// FirstFailure is when the head first failed (zero if it has not).
	FirstFailure time.Time
	LastError    string
}

// DeadLetter is an event an action gave up on, with why.
type DeadLetter struct {
	ID       int64
	Action   string
	Seq      int64
	EventID  string
	Source   string
	Reason   string
	Attempts int
	FailedAt time.Time
	Body     []byte
}

// QueueTx is the queue part of a write transaction.
type QueueTx interface {
	// Enqueue appends an entry to its action's queue.
	Enqueue(ctx context.Context, e *QueueEntry) error
	// Dequeue removes delivered entries.
	Dequeue(ctx context.Context, action string, seqs []int64) error
	// SetActionState records retry state (Depth is maintained by the store
	// and ignored here).
	SetActionState(ctx context.Context, st *ActionState) error
	// DropQueues removes every queue, queue state and dead letter whose
	// action key starts with prefix, e.g. when an automation is deleted.
	DropQueues(ctx context.Context, prefix string) error
	// AddDeadLetter stores a dead letter and assigns its ID.
	AddDeadLetter(ctx context.Context, d *DeadLetter) error
	// DeleteDeadLetter removes one (after a replay).
	DeleteDeadLetter(ctx context.Context, id int64) (bool, error)
}

// QueueReader reads queues and dead letters.
type QueueReader interface {
	// Queued returns up to limit entries of an action with Seq > after,
	// in Seq order, with the event bodies.
	Queued(ctx context.Context, action string, after int64, limit int) ([]*QueueEntry, error)
	// DueActions lists actions with queued entries whose NextAttempt is not
	// after now.
	DueActions(ctx context.Context, now time.Time, limit int) ([]string, error)
	// ActionStates returns the state of every action with a key prefix.
	ActionStates(ctx context.Context, prefix string) ([]*ActionState, error)
	// OldestQueued returns the enqueue time of an action's head entry.
	OldestQueued(ctx context.Context, action string) (time.Time, bool, error)
	// DeadLetters lists an action's dead letters after an id.
	DeadLetters(ctx context.Context, action string, afterID int64, limit int) ([]*DeadLetter, error)
	// DeadLetter reads one.
	DeadLetter(ctx context.Context, id int64) (*DeadLetter, error)
	// Backlog is the total number of queued entries.
	Backlog(ctx context.Context) (int64, error)
}
