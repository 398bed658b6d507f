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

// validate runs a complete store read that returned stored (everything
// pushed so far is committed).
func validate(b *hotBook, key string, stored ...int64) {
	b.committedUpTo(1 << 62)
	m := b.mark(key)
	b.read(key, m, hotEntries(key, stored...), true)
}

func TestHotQueueIsUnusedUntilAStoreReadReachedTheEnd(t *testing.T) {
	b := newHotBook(10)
	if ready := b.push(hotEntries("a", 1, 2), nil); len(ready) != 0 {
		t.Fatalf("an unknown queue took entries: ready %v", ready)
	}
	if _, _, ok := b.take("a", 10); ok {
		t.Fatal("take from a queue never read from the store")
	}
	// A read that stopped at its limit proves nothing about the rest.
	m := b.mark("a")
	b.read("a", m, hotEntries("a", 1, 2), false)
	if _, _, ok := b.take("a", 10); ok {
		t.Fatal("an incomplete read made the queue valid")
	}
	validate(b, "a", 1, 2)
	got, _, ok := b.take("a", 10)
	if !ok || len(got) != 0 {
		t.Fatalf("after a complete read: take = %v, %v; want nothing, true", seqsOf(got), ok)
	}
	if ready := b.push(hotEntries("a", 3, 4), nil); !slices.Equal(ready, []string{"a"}) {
		t.Fatalf("ready = %v, want [a]", ready)
	}
	got, _, _ = b.take("a", 1)
	if !slices.Equal(seqsOf(got), []int64{3}) {
		t.Fatalf("take 1 = %v, want [3]", seqsOf(got))
	}
	if !b.pending("a") {
		t.Fatal("4 is still pending")
	}
	got, _, _ = b.take("a", 10)
	if !slices.Equal(seqsOf(got), []int64{4}) || b.pending("a") {
		t.Fatalf("take = %v (pending %v), want [4] and nothing pending", seqsOf(got), b.pending("a"))
	}
}

func TestHotQueueKeepsWhatIsPushedDuringAReadButNotWhatTheReadReturned(t *testing.T) {
	b := newHotBook(10)
	m := b.mark("a")
	// 5 and 6 committed before the read's snapshot (so it returns them), 7
	// after.
	b.push(hotEntries("a", 5, 6, 7), nil)
	b.read("a", m, hotEntries("a", 1, 5, 6), true)
	got, _, ok := b.take("a", 10)
	if !ok || !slices.Equal(seqsOf(got), []int64{7}) {
		t.Fatalf("take = %v, %v; want [7], true", seqsOf(got), ok)
	}
	// A late push of what the store read returned is ignored.
	b.push(hotEntries("a", 6), nil)
	if b.pending("a") {
		t.Fatal("an entry already read from the store was taken again")
	}
}

func TestHotQueueDiscardDuringAReadKeepsItInvalid(t *testing.T) {
	b := newHotBook(1) // 4 entries per queue
	m := b.mark("a")
	b.push(hotEntries("a", 1, 2, 3, 4, 5), nil) // 5 overflows: invalid, discarded
	b.read("a", m, nil, true)
	if _, _, ok := b.take("a", 10); ok {
		t.Fatal("a queue that lost an entry during the read became valid")
	}
	validate(b, "a", 1, 2, 3, 4, 5)
	if got, _, ok := b.take("a", 10); !ok || len(got) != 0 {
		t.Fatalf("take = %v, %v; want nothing, true", seqsOf(got), ok)
	}
}

func TestHotQueueOverflowAndInvalidationGoBackToTheStore(t *testing.T) {
	b := newHotBook(1)
	validate(b, "a")
	b.push(hotEntries("a", 1, 2, 3, 4), nil)
	if b.total != 4 {
		t.Fatalf("total = %d, want 4", b.total)
	}
	b.push(hotEntries("a", 5), nil)
	if _, _, ok := b.take("a", 10); ok || b.total != 0 {
		t.Fatalf("overflow: queue still valid or holding %d entries", b.total)
	}
	validate(b, "a", 1, 2, 3, 4, 5)
	b.push(hotEntries("a", 6), nil)
	b.invalidate("a")
	if _, _, ok := b.take("a", 10); ok || b.total != 0 {
		t.Fatal("invalidate left the queue valid or entries counted")
	}
	// While invalid and not being read, pushes are not kept.
	b.push(hotEntries("a", 7), nil)
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
	b.push(hotEntries("a", 1, 2), nil)
	b.push(hotEntries("b", 3, 4), nil)
	if b.total > 3 {
		t.Fatalf("total = %d, want at most 3", b.total)
	}
	if _, _, ok := b.take("b", 10); ok {
		t.Fatal("b lost an entry to the bound but stayed valid")
	}
	if got, _, ok := b.take("a", 10); !ok || !slices.Equal(seqsOf(got), []int64{1, 2}) {
		t.Fatalf("a: take = %v, %v; want [1 2], true", seqsOf(got), ok)
	}
}

func TestHotBookForgetAndDrop(t *testing.T) {
	b := newHotBook(10)
	for _, k := range []string{"x/actions/1", "x/actions/10", "y/actions/0"} {
		validate(b, k)
		b.push(hotEntries(k, 1), nil)
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
	if _, _, ok := b.take("x/actions/10", 10); ok {
		t.Fatal("a dropped queue is valid again")
	}
	if b.total != 1 {
		t.Fatalf("total = %d, want 1", b.total)
	}
}

func TestHotQueueWaitsForTheCommitOfWhatItDiscarded(t *testing.T) {
	b := newHotBook(10)
	tk := newTicket()
	// Not kept (no valid queue yet) and not committed yet.
	b.push(hotEntries("a", 1, 2), tk)
	m := b.mark("a")
	b.read("a", m, nil, true) // the read cannot see 1 and 2
	if _, _, ok := b.take("a", 10); ok {
		t.Fatal("a read that began before the discarded entries committed made the queue valid")
	}
	b.committedUpTo(2)
	m = b.mark("a")
	b.read("a", m, hotEntries("a", 1, 2), true)
	if got, _, ok := b.take("a", 10); !ok || len(got) != 0 {
		t.Fatalf("after the commit: take = %v, %v; want nothing, true", seqsOf(got), ok)
	}
	// Kept while committing: taken with the ticket.
	tk2 := newTicket()
	b.push(hotEntries("a", 3, 4), tk2)
	got, gotT, ok := b.take("a", 10)
	if !ok || !slices.Equal(seqsOf(got), []int64{3, 4}) || gotT != tk2 {
		t.Fatalf("take = %v, ticket %p, %v; want [3 4], %p, true", seqsOf(got), gotT, ok, tk2)
	}
	// Its enqueue fails: the queue goes back to the store, and a read
	// proves nothing until the entries are committed again.
	b.push(hotEntries("a", 5), tk2)
	b.failed(hotEntries("a", 3, 4, 5), 5)
	if b.pending("a") || b.total != 0 {
		t.Fatal("a failed enqueue left entries in memory")
	}
	validateBefore := b.mark("a")
	b.read("a", validateBefore, nil, true)
	if _, _, ok := b.take("a", 10); ok {
		t.Fatal("valid before the failed entries were enqueued again")
	}
	b.committedUpTo(5)
	m = b.mark("a")
	b.read("a", m, hotEntries("a", 3, 4, 5), true)
	if _, _, ok := b.take("a", 10); !ok {
		t.Fatal("not valid after the entries were enqueued again and read")
	}
}
