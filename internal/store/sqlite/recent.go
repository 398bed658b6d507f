package sqlite

import (
	"sort"
	"sync"

	"sluice/internal/store"
)

// recent keeps the events of the last commits in memory, in seq order, so
// that readers following the head of the log (the export engine's matcher
// and its queue reads) get them without reading SQLite back. It is bounded
// in events and bytes; what falls out is read from the database.
//
// Every committed event with a seq above floor is held: the writer pushes
// a group's events right after its commit, in seq order (commits are
// serial), and dropping the oldest raises floor to the dropped seq.
type recent struct {
	mu        sync.RWMutex
	evs       []*store.Event
	start     int // evs[start:] are live
	floor     int64
	bytes     int
	maxEvents int
	maxBytes  int
}

func newRecent(floor int64, maxEvents, maxBytes int) *recent {
	return &recent{floor: floor, maxEvents: maxEvents, maxBytes: maxBytes}
}

func eventSize(ev *store.Event) int {
	return len(ev.Body) + len(ev.Extra) + len(ev.ID) + len(ev.ResourceID) + len(ev.Subscription) + len(ev.ResourceGroup) +
		len(ev.Tenant) + len(ev.Source) + len(ev.Target) + 96
}

// push adds the events of one commit (in seq order, all above what it holds).
func (r *recent) push(evs []*store.Event) {
	if len(evs) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range evs {
		r.evs = append(r.evs, ev)
		r.bytes += eventSize(ev)
	}
	for len(r.evs)-r.start > r.maxEvents || (r.bytes > r.maxBytes && len(r.evs)-r.start > 0) {
		old := r.evs[r.start]
		r.evs[r.start] = nil
		r.start++
		r.bytes -= eventSize(old)
		r.floor = old.Seq
	}
	// Compact once half the slice is dead, so it does not grow forever.
	if r.start > 0 && r.start >= len(r.evs)/2 {
		n := copy(r.evs, r.evs[r.start:])
		clear(r.evs[n:])
		r.evs = r.evs[:n]
		r.start = 0
	}
}

// after returns up to limit events with seq > after, and whether memory
// could answer (after is not below floor).
func (r *recent) after(after int64, limit int) ([]*store.Event, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if after < r.floor {
		return nil, false
	}
	live := r.evs[r.start:]
	i := sort.Search(len(live), func(i int) bool { return live[i].Seq > after })
	n := min(limit, len(live)-i)
	out := make([]*store.Event, n)
	for j := range n {
		ev := *live[i+j]
		out[j] = &ev
	}
	return out, true
}

// lookup fills found[k] with the event of seqs[k] (ascending) when it is
// held; it returns how many it found.
func (r *recent) lookup(seqs []int64, found []*store.Event) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	live := r.evs[r.start:]
	if len(live) == 0 || len(seqs) == 0 {
		return 0
	}
	n := 0
	i := sort.Search(len(live), func(i int) bool { return live[i].Seq >= seqs[0] })
	for k, seq := range seqs {
		for i < len(live) && live[i].Seq < seq {
			i++
		}
		if i == len(live) {
			break
		}
		if live[i].Seq == seq {
			found[k] = live[i]
			n++
		}
	}
	return n
}

// reset forgets every event (after a prune) and treats everything up to
// last as not held.
func (r *recent) reset(last int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.evs); n > r.start && r.evs[n-1].Seq > last {
		last = r.evs[n-1].Seq
	}
	clear(r.evs)
	r.evs, r.start, r.bytes = r.evs[:0], 0, 0
	r.floor = max(r.floor, last)
}

// readCache keeps events read back from the database for queue reads, so
// that several actions catching up over the same part of the log (a
// backlog after an outage, a fan-out slower than ingestion) read each
// event from SQLite once rather than once per action. It is bounded in
// bytes and evicts in insertion order.
type readCache struct {
	mu       sync.Mutex
	bySeq    map[int64]*store.Event
	order    []int64
	head     int
	bytes    int
	maxBytes int
}

func newReadCache(maxBytes int) *readCache {
	return &readCache{bySeq: map[int64]*store.Event{}, maxBytes: maxBytes}
}

// lookup fills found[k] for the seqs it holds that found lacks and
// returns how many it filled.
func (c *readCache) lookup(seqs []int64, found []*store.Event) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, s := range seqs {
		if found[k] != nil {
			continue
		}
		if ev, ok := c.bySeq[s]; ok {
			found[k] = ev
			n++
		}
	}
	return n
}

func (c *readCache) add(evs map[int64]*store.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range evs {
		c.put(ev)
	}
	c.evict()
}

// addList keeps events read in seq order. Each is copied: the caller may
// change the one it got.
func (c *readCache) addList(evs []*store.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range evs {
		held := *ev
		c.put(&held)
	}
	c.evict()
}

func (c *readCache) put(ev *store.Event) {
	if _, ok := c.bySeq[ev.Seq]; ok {
		return
	}
	c.bySeq[ev.Seq] = ev
	c.order = append(c.order, ev.Seq)
	c.bytes += eventSize(ev)
}

func (c *readCache) evict() {
	for c.bytes > c.maxBytes && c.head < len(c.order) {
		s := c.order[c.head]
		c.head++
		if ev, ok := c.bySeq[s]; ok {
			c.bytes -= eventSize(ev)
			delete(c.bySeq, s)
		}
	}
	if c.head > 0 && c.head >= len(c.order)/2 {
		c.order = append(c.order[:0], c.order[c.head:]...)
		c.head = 0
	}
}

func (c *readCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.bySeq)
	c.order, c.head, c.bytes = c.order[:0], 0, 0
}
