package amqptest

import (
	"hash/fnv"
	"strconv"
	"sync"
	"time"
)

// Message is an event as the hub stored it.
type Message struct {
	Partition      string
	SequenceNumber int64
	Offset         int64
	EnqueuedTime   time.Time
	// PartitionKey is the x-opt-partition-key the event was sent with, or
	// nil.
	PartitionKey *string
	// MessageID is the message-id property (usually a string), or nil.
	MessageID   any
	ContentType string
	// Body is the data section (several data sections are concatenated).
	Body []byte
	// ApplicationProperties are the application properties, if any.
	ApplicationProperties map[string]any
	// Raw is the encoded message exactly as the producer sent it.
	Raw []byte
}

// stored is one enqueued event.
type stored struct {
	msg  Message
	wire []byte // as delivered: Raw with the x-opt annotations
}

type partition struct {
	id           string
	msgs         []*stored // retained, oldest first
	next         int64     // sequence number of the next event
	nextOffset   int64
	lastEnqueued time.Time
}

// begin is the sequence number of the oldest retained event.
func (p *partition) begin() int64 {
	if len(p.msgs) == 0 {
		return p.next
	}
	return p.msgs[0].msg.SequenceNumber
}

// hub is the event store: partitions of sequenced events, and the
// connections to wake when events arrive.
type hub struct {
	name    string
	created time.Time
	retain  int
	now     func() time.Time

	mu      sync.Mutex
	parts   []*partition
	rr      int
	waiters map[chan struct{}]struct{}
}

func newHub(name string, partitions, retain int, now func() time.Time) *hub {
	h := &hub{name: name, created: now().UTC().Truncate(time.Millisecond), retain: retain, now: now,
		waiters: map[chan struct{}]struct{}{}}
	for i := 0; i < partitions; i++ {
		h.parts = append(h.parts, &partition{id: strconv.Itoa(i)})
	}
	return h
}

func (h *hub) partitionIDs() []string {
	ids := make([]string, len(h.parts))
	for i, p := range h.parts {
		ids[i] = p.id
	}
	return ids
}

// partitionIndex resolves a partition id, or -1.
func (h *hub) partitionIndex(id string) int {
	for i, p := range h.parts {
		if p.id == id {
			return i
		}
	}
	return -1
}

// partitionForKey hashes a partition key onto a partition.
func (h *hub) partitionForKey(key string) int {
	f := fnv.New32a()
	_, _ = f.Write([]byte(key))
	return int(f.Sum32() % uint32(len(h.parts)))
}

// pick chooses the partition of a send: the link's own, the key's, or the
// next in round-robin order.
func (h *hub) pick(linkPartition int, key *string) int {
	if linkPartition >= 0 {
		return linkPartition
	}
	if key != nil {
		return h.partitionForKey(*key)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	i := h.rr % len(h.parts)
	h.rr++
	return i
}

// enqueue appends events to one partition, stamping each with its
// sequence number, offset, enqueued time and partition key.
func (h *hub) enqueue(pi int, msgs []*parsedMessage, raws [][]byte, key *string) error {
	h.mu.Lock()
	p := h.parts[pi]
	now := h.now().UTC().Truncate(time.Millisecond)
	for i, m := range msgs {
		k := key
		if k == nil {
			if v, ok := m.annotations.Get("x-opt-partition-key"); ok {
				if s, ok := v.(string); ok {
					k = &s
				}
			}
		}
		set := Map{
			{Symbol("x-opt-sequence-number"), p.next},
			{Symbol("x-opt-offset"), strconv.FormatInt(p.nextOffset, 10)},
			{Symbol("x-opt-enqueued-time"), now},
		}
		if k != nil {
			set = append(set, KV{Symbol("x-opt-partition-key"), *k})
		}
		wire, err := withAnnotations(m, set)
		if err != nil {
			h.mu.Unlock()
			return err
		}
		// Transfer buffers are never reused, so the stored event may alias
		// them instead of copying.
		st := &stored{wire: wire, msg: Message{Partition: p.id, SequenceNumber: p.next, Offset: p.nextOffset,
			EnqueuedTime: now, MessageID: m.messageID, ContentType: m.contentType, Raw: raws[i]}}
		if k != nil {
			kk := *k
			st.msg.PartitionKey = &kk
		}
		if len(m.data) == 1 {
			st.msg.Body = m.data[0]
		} else {
			for _, d := range m.data {
				st.msg.Body = append(st.msg.Body, d...)
			}
		}
		if len(m.appProps) > 0 {
			st.msg.ApplicationProperties = map[string]any{}
			for _, kv := range m.appProps {
				if ks, ok := keyString(kv.Key); ok {
					st.msg.ApplicationProperties[ks] = kv.Value
				}
			}
		}
		p.msgs = append(p.msgs, st)
		p.next++
		p.nextOffset += int64(len(raws[i]))
		p.lastEnqueued = now
	}
	if h.retain > 0 && len(p.msgs) > h.retain {
		drop := len(p.msgs) - h.retain
		clear(p.msgs[:drop])
		p.msgs = append(p.msgs[:0], p.msgs[drop:]...)
	}
	waiters := make([]chan struct{}, 0, len(h.waiters))
	for w := range h.waiters {
		waiters = append(waiters, w)
	}
	h.mu.Unlock()
	for _, w := range waiters {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	return nil
}

// get returns the event with sequence number seq or the next retained one
// after it, or nil when there is none yet.
func (h *hub) get(pi int, seq int64) *stored {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.parts[pi]
	if len(p.msgs) == 0 || seq >= p.next {
		return nil
	}
	i := seq - p.begin()
	if i < 0 {
		i = 0
	}
	return p.msgs[i]
}

// partitionInfo is what $management reports for a partition.
type partitionInfo struct {
	begin, last int64
	lastOffset  int64
	lastTime    time.Time
	empty       bool
}

func (h *hub) info(pi int) partitionInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.parts[pi]
	in := partitionInfo{begin: p.begin(), last: p.next - 1, lastOffset: -1, lastTime: p.lastEnqueued, empty: len(p.msgs) == 0}
	if n := len(p.msgs); n > 0 {
		in.lastOffset = p.msgs[n-1].msg.Offset
	}
	return in
}

// startSeq resolves a receiver's selector to the first sequence number to
// deliver.
func (h *hub) startSeq(pi int, f startFilter) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.parts[pi]
	switch f.field {
	case "latest":
		if f.inclusive && len(p.msgs) > 0 {
			return p.next - 1
		}
		return p.next
	case "x-opt-sequence-number":
		if f.inclusive {
			return max(f.value, p.begin())
		}
		return max(f.value+1, p.begin())
	}
	for _, st := range p.msgs {
		var v int64
		if f.field == "x-opt-offset" {
			v = st.msg.Offset
		} else {
			v = st.msg.EnqueuedTime.UnixMilli()
		}
		if v > f.value || (f.inclusive && v == f.value) {
			return st.msg.SequenceNumber
		}
	}
	return p.next
}

func (h *hub) messages(pi int) []Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Message, 0, len(h.parts[pi].msgs))
	for _, st := range h.parts[pi].msgs {
		out = append(out, st.msg)
	}
	return out
}

func (h *hub) subscribe(ch chan struct{}) {
	h.mu.Lock()
	h.waiters[ch] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) unsubscribe(ch chan struct{}) {
	h.mu.Lock()
	delete(h.waiters, ch)
	h.mu.Unlock()
}
