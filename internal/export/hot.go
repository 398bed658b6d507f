package export

import (
	"sync"

	"sluice/internal/store"
)

// The hot path: the matcher commits its queue entries and then hands them
// to delivery in memory, so that a short queue is delivered without being
// read back from the store (and without waiting for the due-actions poll).
// The store stays the source of truth: an entry reaches memory only after
// its enqueue committed, and leaves the store only after the destination
// accepted it, so a crash loses nothing (what was in memory is read from
// the store after the restart).
//
// Memory is exact or unused. An action's hot queue is valid when it holds
// every queued entry after the last one handed to delivery; delivery then
// takes batches from memory. Anything that could make memory differ from
// the store (an overflow, a failed attempt, a replayed dead letter, a
// dropped queue) invalidates it, and delivery reads the store until a read
// that found the queue's end (with no entry discarded meanwhile) makes the
// queue valid again.

// hotQueue is the in-memory tail of one action's queue.
type hotQueue struct {
	entries []*store.QueueEntry // seq order, all after taken
	valid   bool
	// taken is the highest seq handed to delivery.
	taken int64
	// discarded counts entries pushed but not kept (or dropped): a store
	// read makes the queue valid only if none was discarded during it.
	discarded uint64
	// reading is set while delivery reads the queue from the store: an
	// invalid queue keeps what is pushed only then.
	reading bool
}

// hotBook holds the hot queues of every action, bounded in entries per
// action and in total.
type hotBook struct {
	mu       sync.Mutex
	queues   map[string]*hotQueue
	total    int
	perQueue int
	limit    int
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

// push appends committed entries (in seq order per action) and returns the
// actions whose valid hot queue received entries.
func (b *hotBook) push(entries []*store.QueueEntry) []string {
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
			continue
		}
		if len(q.entries) >= b.perQueue || b.total >= b.limit {
			b.invalidateLocked(q)
			continue
		}
		q.entries = append(q.entries, en)
		b.total++
		if q != last && q.valid {
			ready = append(ready, en.Action)
			last = q
		}
	}
	return ready
}

// take removes up to n entries from a valid hot queue; ok is false when
// the queue is not valid (read the store).
func (b *hotBook) take(key string, n int) (entries []*store.QueueEntry, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[key]
	if q == nil || !q.valid {
		return nil, false
	}
	n = min(n, len(q.entries))
	entries = q.entries[:n:n]
	q.entries = q.entries[n:]
	if len(q.entries) == 0 {
		q.entries = nil
	}
	b.total -= n
	if n > 0 {
		q.taken = entries[n-1].Seq
	}
	return entries, true
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
}

func (b *hotBook) mark(key string) readMark {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queue(key)
	q.reading = true
	return readMark{q: q, discarded: q.discarded}
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
	for i < len(q.entries) && q.entries[i].Seq <= q.taken {
		i++
	}
	b.total -= i
	q.entries = q.entries[i:]
	if complete && q.discarded == m.discarded {
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
