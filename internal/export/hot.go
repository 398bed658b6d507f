package export

import (
	"sync"

	"sluice/internal/store"
)

// The hot path: the matcher hands its queue entries to delivery in memory
// as it submits their enqueue, so that a short queue is delivered without
// waiting for that commit, without being read back from the store and
// without waiting for the due-actions poll. The store stays the source of
// truth: a batch sent from memory is recorded (dequeued) only after its
// enqueue committed, and an event leaves the store only after the
// destination accepted it. A crash before the enqueue committed leaves the
// matcher's cursor before the event, which is matched and delivered again
// after the restart (a duplicate, never a loss); a failed enqueue makes the
// matcher match again and the actions read the store.
//
// Memory is exact or unused. An action's hot queue is valid when it holds
// every queued entry after the last one handed to delivery; delivery then
// takes batches from memory. Anything that could make memory differ from
// the store (an overflow, a failed attempt, a replayed dead letter, a
// dropped queue) invalidates it, and delivery reads the store until a read
// that found the queue's end (with no entry discarded meanwhile) makes the
// queue valid again.

// ticket is the enqueue commit of a batch of entries handed over before it
// completed: done is closed once it did, with err set if it failed.
type ticket struct {
	done chan struct{}
	err  error
}

func newTicket() *ticket { return &ticket{done: make(chan struct{})} }

// hotEntry is a queue entry in memory with the commit it waits for (nil
// when committed).
type hotEntry struct {
	en *store.QueueEntry
	t  *ticket
}

// hotQueue is the in-memory tail of one action's queue.
type hotQueue struct {
	entries []hotEntry // seq order, all after taken
	valid   bool
	// taken is the highest seq handed to delivery.
	taken int64
	// discarded counts entries pushed but not kept (or dropped): a store
	// read makes the queue valid only if none was discarded during it.
	discarded uint64
	// reading is set while delivery reads the queue from the store: an
	// invalid queue keeps what is pushed only then.
	reading bool
	// owed is the highest seq of an entry not kept (discarded, or of a
	// failed enqueue) that may not be committed yet: a store read proves
	// the queue complete only if it began after that commit.
	owed int64
}

// hotBook holds the hot queues of every action, bounded in entries per
// action and in total.
type hotBook struct {
	mu       sync.Mutex
	queues   map[string]*hotQueue
	total    int
	perQueue int
	limit    int
	// committed is the highest seq whose enqueue committed (commits are
	// in seq order).
	committed int64
}

func newHotBook(batch int) *hotBook {
	return &hotBook{queues: map[string]*hotQueue{}, perQueue: 4 * batch, limit: max(16*batch, 8192)}
}

func (b *hotBook) queue(key string) *hotQueue {
	q := b.queues[key]
	if q == nil {
		q = &hotQueue{}
		b.queues[key] = q
	}
	return q
}

// push appends entries (in seq order per action) whose enqueue t is
// committing (nil: committed) and returns the actions whose valid hot
// queue received entries.
func (b *hotBook) push(entries []*store.QueueEntry, t *ticket) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ready []string
	var last *hotQueue
	for _, en := range entries {
		q := b.queue(en.Action)
		if en.Seq <= q.taken {
			continue // already read from the store
		}
		if !q.valid && !q.reading {
			q.discarded++
			q.owed = max(q.owed, en.Seq)
			continue
		}
		if len(q.entries) >= b.perQueue || b.total >= b.limit {
			b.invalidateLocked(q)
			q.owed = max(q.owed, en.Seq)
			continue
		}
		q.entries = append(q.entries, hotEntry{en: en, t: t})
		b.total++
		if q != last && q.valid {
			ready = append(ready, en.Action)
			last = q
		}
	}
	return ready
}

// committedUpTo records that the enqueue of every entry up to seq
// committed.
func (b *hotBook) committedUpTo(seq int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.committed = max(b.committed, seq)
}

// failed records a failed enqueue of entries (up to seq last): their
// actions read the store again, once the entries are committed again.
func (b *hotBook) failed(entries []*store.QueueEntry, last int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, en := range entries {
		if q := b.queues[en.Action]; q != nil {
			b.invalidateLocked(q)
			q.owed = max(q.owed, last)
		}
	}
}

// take removes up to n entries from a valid hot queue, with the enqueue
// commit the last of them waits for (nil: committed); ok is false when the
// queue is not valid (read the store).
func (b *hotBook) take(key string, n int) (entries []*store.QueueEntry, t *ticket, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[key]
	if q == nil || !q.valid {
		return nil, nil, false
	}
	n = min(n, len(q.entries))
	entries = make([]*store.QueueEntry, n)
	for i, h := range q.entries[:n] {
		entries[i] = h.en
	}
	if n > 0 {
		// Enqueues commit in seq order: the last one covers the batch.
		t = q.entries[n-1].t
		q.taken = entries[n-1].Seq
	}
	clear(q.entries[:n])
	q.entries = q.entries[n:]
	if len(q.entries) == 0 {
		q.entries = nil
	}
	b.total -= n
	return entries, t, true
}

// pending reports whether a valid hot queue has entries to deliver.
func (b *hotBook) pending(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[key]
	return q != nil && q.valid && len(q.entries) > 0
}

// readMark is taken before a store read of an action's queue.
type readMark struct {
	q         *hotQueue
	discarded uint64
	// owedCommitted tells that every entry not kept was committed.
	owedCommitted bool
}

func (b *hotBook) mark(key string) readMark {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queue(key)
	q.reading = true
	return readMark{q: q, discarded: q.discarded, owedCommitted: q.owed <= b.committed}
}

// read records a store read of an action's queue that returned entries
// (in seq order); complete tells that it reached the queue's end (false
// after a failed read). Entries already in memory are dropped; a complete
// read with nothing discarded since the mark makes the queue valid.
func (b *hotBook) read(key string, m readMark, entries []*store.QueueEntry, complete bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m.q.reading = false
	q := b.queues[key]
	if q == nil || q != m.q {
		return // dropped meanwhile
	}
	if len(entries) > 0 {
		q.taken = max(q.taken, entries[len(entries)-1].Seq)
	}
	i := 0
	for i < len(q.entries) && q.entries[i].en.Seq <= q.taken {
		i++
	}
	b.total -= i
	clear(q.entries[:i])
	q.entries = q.entries[i:]
	if complete && q.discarded == m.discarded && m.owedCommitted {
		q.valid = true
	}
}

// invalidate makes delivery read an action's queue from the store.
func (b *hotBook) invalidate(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q := b.queues[key]; q != nil {
		b.invalidateLocked(q)
	}
}

func (b *hotBook) invalidateLocked(q *hotQueue) {
	b.total -= len(q.entries)
	q.entries = nil
	q.valid = false
	q.discarded++
}

// forget drops an action's hot queue.
func (b *hotBook) forget(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q := b.queues[key]; q != nil {
		b.invalidateLocked(q)
		delete(b.queues, key)
	}
}

// drop forgets the hot queues whose keys start with prefix.
func (b *hotBook) drop(prefix string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, q := range b.queues {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			b.invalidateLocked(q)
			delete(b.queues, k)
		}
	}
}
