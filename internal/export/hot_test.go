package export

import (
	"slices"
	"testing"

	"sluice/internal/store"
)

func hotEntries(action string, seqs ...int64) []*store.QueueEntry {
	var out []*store.QueueEntry
	for _, s := range seqs {
		out = append(out, &store.QueueEntry{Action: action, Seq: s})
	}
	return out
}

func seqsOf(entries []*store.QueueEntry) []int64 {
	var out []int64
	for _, e := range entries {
		out = append(out, e.Seq)
	}
	return out
}

// validate runs a complete store read that returned stored.
func validate(b *hotBook, key string, stored ...int64) {
	m := b.mark(key)
	b.read(key, m, hotEntries(key, stored...), true)
}

func TestHotQueueIsUnusedUntilAStoreReadReachedTheEnd(t *testing.T) {
	b := newHotBook(10)
	if ready := b.push(hotEntries("a", 1, 2)); len(ready) != 0 {
		t.Fatalf("an unknown queue took entries: ready %v", ready)
	}
	if _, ok := b.take("a", 10); ok {
		t.Fatal("take from a queue never read from the store")
	}
	// A read that stopped at its limit proves nothing about the rest.
	m := b.mark("a")
	b.read("a", m, hotEntries("a", 1, 2), false)
	if _, ok := b.take("a", 10); ok {
		t.Fatal("an incomplete read made the queue valid")
	}
	validate(b, "a", 1, 2)
	got, ok := b.take("a", 10)
	if !ok || len(got) != 0 {
		t.Fatalf("after a complete read: take = %v, %v; want nothing, true", seqsOf(got), ok)
	}
	if ready := b.push(hotEntries("a", 3, 4)); !slices.Equal(ready, []string{"a"}) {
		t.Fatalf("ready = %v, want [a]", ready)
	}
	got, _ = b.take("a", 1)
	if !slices.Equal(seqsOf(got), []int64{3}) {
		t.Fatalf("take 1 = %v, want [3]", seqsOf(got))
	}
	if !b.pending("a") {
		t.Fatal("4 is still pending")
	}
	got, _ = b.take("a", 10)
	if !slices.Equal(seqsOf(got), []int64{4}) || b.pending("a") {
		t.Fatalf("take = %v (pending %v), want [4] and nothing pending", seqsOf(got), b.pending("a"))
	}
}

func TestHotQueueKeepsWhatIsPushedDuringAReadButNotWhatTheReadReturned(t *testing.T) {
	b := newHotBook(10)
	m := b.mark("a")
	// 5 and 6 committed before the read's snapshot (so it returns them), 7
	// after.
	b.push(hotEntries("a", 5, 6, 7))
	b.read("a", m, hotEntries("a", 1, 5, 6), true)
	got, ok := b.take("a", 10)
	if !ok || !slices.Equal(seqsOf(got), []int64{7}) {
		t.Fatalf("take = %v, %v; want [7], true", seqsOf(got), ok)
	}
	// A late push of what the store read returned is ignored.
	b.push(hotEntries("a", 6))
	if b.pending("a") {
		t.Fatal("an entry already read from the store was taken again")
	}
}

func TestHotQueueDiscardDuringAReadKeepsItInvalid(t *testing.T) {
	b := newHotBook(1) // 4 entries per queue
	m := b.mark("a")
	b.push(hotEntries("a", 1, 2, 3, 4, 5)) // 5 overflows: invalid, discarded
	b.read("a", m, nil, true)
	if _, ok := b.take("a", 10); ok {
		t.Fatal("a queue that lost an entry during the read became valid")
	}
	validate(b, "a", 1, 2, 3, 4, 5)
	if got, ok := b.take("a", 10); !ok || len(got) != 0 {
		t.Fatalf("take = %v, %v; want nothing, true", seqsOf(got), ok)
	}
}

func TestHotQueueOverflowAndInvalidationGoBackToTheStore(t *testing.T) {
	b := newHotBook(1)
	validate(b, "a")
	b.push(hotEntries("a", 1, 2, 3, 4))
	if b.total != 4 {
		t.Fatalf("total = %d, want 4", b.total)
	}
	b.push(hotEntries("a", 5))
	if _, ok := b.take("a", 10); ok || b.total != 0 {
		t.Fatalf("overflow: queue still valid or holding %d entries", b.total)
	}
	validate(b, "a", 1, 2, 3, 4, 5)
	b.push(hotEntries("a", 6))
	b.invalidate("a")
	if _, ok := b.take("a", 10); ok || b.total != 0 {
		t.Fatal("invalidate left the queue valid or entries counted")
	}
	// While invalid and not being read, pushes are not kept.
	b.push(hotEntries("a", 7))
	if b.total != 0 {
		t.Fatalf("an invalid queue kept %d entries", b.total)
	}
}

func TestHotBookTotalBound(t *testing.T) {
	b := newHotBook(1)
	b.limit = 3
	for _, k := range []string{"a", "b"} {
		validate(b, k)
	}
	b.push(hotEntries("a", 1, 2))
	b.push(hotEntries("b", 3, 4))
	if b.total > 3 {
		t.Fatalf("total = %d, want at most 3", b.total)
	}
	if _, ok := b.take("b", 10); ok {
		t.Fatal("b lost an entry to the bound but stayed valid")
	}
	if got, ok := b.take("a", 10); !ok || !slices.Equal(seqsOf(got), []int64{1, 2}) {
		t.Fatalf("a: take = %v, %v; want [1 2], true", seqsOf(got), ok)
	}
}

func TestHotBookForgetAndDrop(t *testing.T) {
	b := newHotBook(10)
	for _, k := range []string{"x/actions/1", "x/actions/10", "y/actions/0"} {
		validate(b, k)
		b.push(hotEntries(k, 1))
	}
	b.forget("x/actions/1")
	if b.pending("x/actions/1") || !b.pending("x/actions/10") {
		t.Fatal("forget of actions/1 must not touch actions/10")
	}
	m := b.mark("x/actions/10")
	b.drop("x/actions/")
	// A read that began before the drop does not bring the queue back.
	b.read("x/actions/10", m, nil, true)
	if b.pending("x/actions/10") || !b.pending("y/actions/0") {
		t.Fatal("drop removed the wrong queues")
	}
	if _, ok := b.take("x/actions/10", 10); ok {
		t.Fatal("a dropped queue is valid again")
	}
	if b.total != 1 {
		t.Fatalf("total = %d, want 1", b.total)
	}
}
