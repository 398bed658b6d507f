// Package storetest is the conformance suite every store.Store
// implementation must pass: records (put, get, delete, lists by prefix and
// parent, paging, counts), grouped updates (isolation of failing and
// panicking updates, savepoints, cancellation, close), and the event log
// (sequencing, paging, pruning).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"sluice/internal/store"
)

// Run runs the whole suite. open must return a new, empty store for each
// call; the suite closes it (Close must be safe to call twice, as the
// implementation's own cleanup may close it again).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"put_get_delete", testPutGetDelete},
		{"get_missing_is_not_found", testNotFound},
		{"kinds_are_separate", testKinds},
		{"put_preserves_created_and_updates_updated", testCreatedUpdated},
		{"list_by_prefix", testListPrefix},
		{"list_by_parent", testListParent},
		{"list_after_limit_paging", testPaging},
		{"count", testCount},
		{"reads_in_update_see_own_writes", testReadYourWrites},
		{"failed_update_leaves_no_writes", testFailedUpdate},
		{"panicking_update_becomes_error", testPanic},
		{"concurrent_updates_half_failing", testConcurrentIsolation},
		{"savepoint_nested_rollback", testSavepoint},
		{"events_round_trip", testEventRoundTrip},
		{"events_concurrent_seq_strictly_increasing", testEventSeqConcurrent},
		{"events_paging", testEventPaging},
		{"event_of_failed_update_not_visible", testFailedEvent},
		{"last_seq", testLastSeq},
		{"prune_events", testPrune},
		{"update_after_close", testUpdateAfterClose},
		{"cancelled_context_before_update", testCancelledBefore},
		{"cancelled_context_while_queued", testCancelledQueued},
		{"close_drains_queued_updates", testCloseDrains},
		{"queues", testQueues},
		{"dead_letters_and_drop", testDeadLettersAndDrop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// timeout bounds every blocking step; generous for loaded machines.
const timeout = 2 * time.Minute

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

var errBoom = errors.New("storetest: deliberate failure")

func rec(kind, key string) *store.Record {
	return &store.Record{Kind: kind, Key: key, ID: strings.ToUpper(key), Body: []byte(`{"key":"` + key + `"}`)}
}

// put stores records in one Update.
func put(t *testing.T, s store.Store, recs ...*store.Record) {
	t.Helper()
	ctx := ctxT(t)
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, r := range recs {
			if err := tx.Put(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("put: %v", err)
	}
}

func keys(recs []*store.Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.Key)
	}
	return out
}

func list(t *testing.T, s store.Reader, opts store.ListOptions) []string {
	t.Helper()
	recs, err := s.List(ctxT(t), opts)
	if err != nil {
		t.Fatalf("list %+v: %v", opts, err)
	}
	return keys(recs)
}

func mustGet(t *testing.T, s store.Reader, kind, key string) *store.Record {
	t.Helper()
	r, err := s.Get(ctxT(t), kind, key)
	if err != nil {
		t.Fatalf("get %s %s: %v", kind, key, err)
	}
	return r
}

// wantNotFound and wantFound only report (never t.Fatal), so that they may
// be called inside an Update's fn, which runs on the store's goroutine.
func wantNotFound(t *testing.T, s store.Reader, kind, key string) {
	t.Helper()
	r, err := s.Get(context.Background(), kind, key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get %s %s = %+v, %v; want store.ErrNotFound", kind, key, r, err)
	}
}

func wantFound(t *testing.T, s store.Reader, kind, key string) {
	t.Helper()
	if _, err := s.Get(context.Background(), kind, key); err != nil {
		t.Errorf("get %s %s: %v", kind, key, err)
	}
}

// listIn lists inside an Update's fn (reports, never t.Fatal).
func listIn(t *testing.T, tx store.Reader, opts store.ListOptions) []string {
	t.Helper()
	recs, err := tx.List(context.Background(), opts)
	if err != nil {
		t.Errorf("list %+v: %v", opts, err)
	}
	return keys(recs)
}

func testPutGetDelete(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	in := &store.Record{Kind: "thing", Key: "/subscriptions/a/things/x", ID: "/subscriptions/A/things/X",
		Parent: "group-1", Body: []byte(`{"a":1}`), ETag: `"e1"`}
	put(t, s, in)
	got := mustGet(t, s, "thing", in.Key)
	want := &store.Record{Kind: "thing", Key: in.Key, ID: in.ID, Parent: "group-1", Body: []byte(`{"a":1}`), ETag: `"e1"`}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.Record{}, "Created", "Updated")); diff != "" {
		t.Errorf("get after put (-want +got):\n%s", diff)
	}
	if got.Created.IsZero() || got.Updated.IsZero() {
		t.Errorf("created %v, updated %v: want both set", got.Created, got.Updated)
	}

	// Replace changes every field but the key and Created.
	put(t, s, &store.Record{Kind: "thing", Key: in.Key, ID: "/subscriptions/a/things/x", Parent: "group-2", Body: []byte(`{"a":2}`), ETag: `"e2"`})
	got2 := mustGet(t, s, "thing", in.Key)
	want2 := &store.Record{Kind: "thing", Key: in.Key, ID: "/subscriptions/a/things/x", Parent: "group-2", Body: []byte(`{"a":2}`), ETag: `"e2"`}
	if diff := cmp.Diff(want2, got2, cmpopts.IgnoreFields(store.Record{}, "Created", "Updated")); diff != "" {
		t.Errorf("get after replace (-want +got):\n%s", diff)
	}

	var deleted, again bool
	err := s.Update(ctx, func(tx store.Tx) error {
		var err error
		if deleted, err = tx.Delete(ctx, "thing", in.Key); err != nil {
			return err
		}
		again, err = tx.Delete(ctx, "thing", in.Key)
		return err
	})
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if !deleted || again {
		t.Errorf("delete reported %v then %v; want true then false", deleted, again)
	}
	wantNotFound(t, s, "thing", in.Key)

	// A record with an empty body reads back with an empty body.
	put(t, s, &store.Record{Kind: "thing", Key: "empty", ID: "empty"})
	if got := mustGet(t, s, "thing", "empty"); len(got.Body) != 0 {
		t.Errorf("empty body read back as %q", got.Body)
	}
	// Put without a kind or key is an error, and fails only its update.
	err = s.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, &store.Record{Kind: "thing"}) })
	if err == nil {
		t.Errorf("put without a key: no error")
	}
}

func testNotFound(t *testing.T, s store.Store) {
	wantNotFound(t, s, "thing", "nope")
	put(t, s, rec("thing", "a"))
	wantNotFound(t, s, "thing", "A") // keys are exact; callers case-fold
	ctx := ctxT(t)
	err := s.Update(ctx, func(tx store.Tx) error {
		wantNotFound(t, tx, "thing", "nope")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testKinds(t *testing.T, s store.Store) {
	put(t, s, rec("a", "k1"), rec("a", "k2"), rec("b", "k1"))
	if diff := cmp.Diff([]string{"k1", "k2"}, list(t, s, store.ListOptions{Kind: "a"})); diff != "" {
		t.Errorf("list a (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"k1"}, list(t, s, store.ListOptions{Kind: "b"})); diff != "" {
		t.Errorf("list b (-want +got):\n%s", diff)
	}
	if got := list(t, s, store.ListOptions{Kind: "c"}); len(got) != 0 {
		t.Errorf("list of an unknown kind = %v", got)
	}
	ctx := ctxT(t)
	if err := s.Update(ctx, func(tx store.Tx) error { _, err := tx.Delete(ctx, "b", "k1"); return err }); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, "a", "k1")
	wantNotFound(t, s, "b", "k1")
}

func testCreatedUpdated(t *testing.T, s store.Store) {
	put(t, s, rec("thing", "k"))
	first := mustGet(t, s, "thing", "k")

	// Replacing with zero times keeps Created and moves Updated (not back).
	put(t, s, rec("thing", "k"))
	second := mustGet(t, s, "thing", "k")
	if !second.Created.Equal(first.Created) {
		t.Errorf("created changed on replace: %v → %v", first.Created, second.Created)
	}
	if second.Updated.Before(first.Updated) {
		t.Errorf("updated went back on replace: %v → %v", first.Updated, second.Updated)
	}

	// An explicit Updated is stored; an explicit Created on replace is not.
	later := first.Updated.Add(time.Hour).Truncate(time.Millisecond)
	r := rec("thing", "k")
	r.Created = first.Created.Add(-24 * time.Hour)
	r.Updated = later
	put(t, s, r)
	third := mustGet(t, s, "thing", "k")
	if !third.Created.Equal(first.Created) {
		t.Errorf("created changed on replace with an explicit Created: %v → %v", first.Created, third.Created)
	}
	if !third.Updated.Equal(later) {
		t.Errorf("updated = %v, want %v", third.Updated, later)
	}

	// An explicit Created on insert is stored.
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	r = rec("thing", "new")
	r.Created, r.Updated = created, created
	put(t, s, r)
	got := mustGet(t, s, "thing", "new")
	if !got.Created.Equal(created) || !got.Updated.Equal(created) {
		t.Errorf("created, updated = %v, %v; want %v", got.Created, got.Updated, created)
	}
}

func testListPrefix(t *testing.T, s store.Store) {
	const base = "/subscriptions/a/resourcegroups/"
	all := []string{
		"/subscriptions/a",
		"/subscriptions/a/resourcegroups",
		base + "rf",
		base + "rg",
		base + "rg/providers/microsoft.security/automations/x",
		base + "rg-2",
		base + "rg.1",
		base + "rg0",
		base + "rg1",
		base + "rg1/providers/microsoft.security/automations/y",
		base + "rg~",
		base + "rh",
		"/subscriptions/a/resourcegroupsx",
		"/subscriptions/ab",
		"/subscriptions/b/resourcegroups/rg",
		"a%b",
		"a_b",
		"axb",
		"k\U0010FFFF",
		"k\U0010FFFF\U0010FFFF",
		"k\U0010FFFFa",
		"l",
	}
	var recs []*store.Record
	for _, k := range all {
		recs = append(recs, rec("res", k))
	}
	put(t, s, recs...)
	put(t, s, rec("other", base+"rg")) // another kind never leaks in

	tests := []struct {
		name   string
		prefix string
		want   []string
	}{
		{"empty_prefix_is_everything", "", all},
		{"group_and_children", base + "rg", []string{base + "rg", base + "rg/providers/microsoft.security/automations/x", base + "rg-2", base + "rg.1", base + "rg0", base + "rg1", base + "rg1/providers/microsoft.security/automations/y", base + "rg~"}},
		{"children_only", base + "rg/", []string{base + "rg/providers/microsoft.security/automations/x"}},
		{"rg1_and_children", base + "rg1", []string{base + "rg1", base + "rg1/providers/microsoft.security/automations/y"}},
		{"all_groups", base, []string{base + "rf", base + "rg", base + "rg/providers/microsoft.security/automations/x", base + "rg-2", base + "rg.1", base + "rg0", base + "rg1", base + "rg1/providers/microsoft.security/automations/y", base + "rg~", base + "rh"}},
		{"subscription_slash", "/subscriptions/a/", all[1:13]},
		{"subscription_no_slash", "/subscriptions/a", all[0:14]},
		{"subscription_b", "/subscriptions/b", []string{"/subscriptions/b/resourcegroups/rg"}},
		{"exact_leaf", base + "rh", []string{base + "rh"}},
		{"no_match", base + "zz", []string{}},
		{"like_wildcards_are_literal_underscore", "a_", []string{"a_b"}},
		{"like_wildcards_are_literal_percent", "a%", []string{"a%b"}},
		{"max_rune_prefix", "k\U0010FFFF", []string{"k\U0010FFFF", "k\U0010FFFF\U0010FFFF", "k\U0010FFFFa"}},
		{"max_rune_twice", "k\U0010FFFF\U0010FFFF", []string{"k\U0010FFFF\U0010FFFF"}},
		{"prefix_beyond_every_key", "m", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := slices.Clone(tc.want)
			slices.Sort(want) // lists are in byte order of the keys
			got := list(t, s, store.ListOptions{Kind: "res", Prefix: tc.prefix})
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("list prefix %q (-want +got):\n%s", tc.prefix, diff)
			}
			n, err := s.Count(ctxT(t), store.ListOptions{Kind: "res", Prefix: tc.prefix})
			if err != nil {
				t.Fatal(err)
			}
			if n != len(want) {
				t.Errorf("count prefix %q = %d, want %d", tc.prefix, n, len(want))
			}
		})
	}
}

func testListParent(t *testing.T, s store.Store) {
	mk := func(key, parent string) *store.Record {
		r := rec("sub", key)
		r.Parent = parent
		return r
	}
	put(t, s, mk("s1", "g1"), mk("s2", "g2"), mk("s3", "g1"), mk("s4", ""), mk("x1", "g1"), mk("s5", "g11"))
	tests := []struct {
		name string
		opts store.ListOptions
		want []string
	}{
		{"parent", store.ListOptions{Kind: "sub", Parent: "g1"}, []string{"s1", "s3", "x1"}},
		{"parent_is_exact", store.ListOptions{Kind: "sub", Parent: "g11"}, []string{"s5"}},
		{"parent_and_prefix", store.ListOptions{Kind: "sub", Parent: "g1", Prefix: "s"}, []string{"s1", "s3"}},
		{"parent_after", store.ListOptions{Kind: "sub", Parent: "g1", After: "s1"}, []string{"s3", "x1"}},
		{"parent_limit", store.ListOptions{Kind: "sub", Parent: "g1", Limit: 2}, []string{"s1", "s3"}},
		{"unknown_parent", store.ListOptions{Kind: "sub", Parent: "g3"}, []string{}},
		{"no_parent_filter", store.ListOptions{Kind: "sub"}, []string{"s1", "s2", "s3", "s4", "s5", "x1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, list(t, s, tc.opts)); diff != "" {
				t.Errorf("list %+v (-want +got):\n%s", tc.opts, diff)
			}
		})
	}
	// Moving a record to another parent moves it between lists.
	put(t, s, mk("s1", "g2"))
	if diff := cmp.Diff([]string{"s1", "s2"}, list(t, s, store.ListOptions{Kind: "sub", Parent: "g2"})); diff != "" {
		t.Errorf("after move (-want +got):\n%s", diff)
	}
}

func testPaging(t *testing.T, s store.Store) {
	var want []string
	var recs []*store.Record
	for i := range 25 {
		k := fmt.Sprintf("/p/k%02d", i)
		want = append(want, k)
		recs = append(recs, rec("page", k))
	}
	// Neighbours outside the prefix must not leak into pages.
	recs = append(recs, rec("page", "/o/z"), rec("page", "/q/a"))
	put(t, s, recs...)

	for _, limit := range []int{1, 7, 10, 25, 100} {
		t.Run(fmt.Sprintf("limit_%d", limit), func(t *testing.T) {
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatal("paging does not end")
				}
				page := list(t, s, store.ListOptions{Kind: "page", Prefix: "/p/", After: after, Limit: limit})
				if len(page) > limit {
					t.Fatalf("page of %d with limit %d", len(page), limit)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
		})
	}
	// After a key that is not stored starts after where it would be.
	if diff := cmp.Diff([]string{"/p/k11", "/p/k12"}, list(t, s, store.ListOptions{Kind: "page", Prefix: "/p/", After: "/p/k10x", Limit: 2})); diff != "" {
		t.Errorf("after a missing key (-want +got):\n%s", diff)
	}
	// After before the prefix starts at the prefix.
	if diff := cmp.Diff([]string{"/p/k00"}, list(t, s, store.ListOptions{Kind: "page", Prefix: "/p/", After: "/a", Limit: 1})); diff != "" {
		t.Errorf("after before the prefix (-want +got):\n%s", diff)
	}
}

func testCount(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	count := func(opts store.ListOptions) int {
		t.Helper()
		n, err := s.Count(ctx, opts)
		if err != nil {
			t.Fatalf("count %+v: %v", opts, err)
		}
		return n
	}
	if n := count(store.ListOptions{Kind: "c"}); n != 0 {
		t.Errorf("count of empty kind = %d", n)
	}
	var recs []*store.Record
	for i := range 12 {
		r := rec("c", fmt.Sprintf("k%02d", i))
		r.Parent = fmt.Sprintf("p%d", i%3)
		recs = append(recs, r)
	}
	put(t, s, recs...)
	tests := []struct {
		opts store.ListOptions
		want int
	}{
		{store.ListOptions{Kind: "c"}, 12},
		{store.ListOptions{Kind: "c", Parent: "p1"}, 4},
		{store.ListOptions{Kind: "c", Prefix: "k0"}, 10},
		{store.ListOptions{Kind: "c", Prefix: "k0", Parent: "p0"}, 4},
		{store.ListOptions{Kind: "c", After: "k09"}, 2},
	}
	for _, tc := range tests {
		if got := count(tc.opts); got != tc.want {
			t.Errorf("count %+v = %d, want %d", tc.opts, got, tc.want)
		}
	}
	err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Delete(ctx, "c", "k00"); err != nil {
			return err
		}
		n, err := tx.Count(ctx, store.ListOptions{Kind: "c"})
		if err != nil {
			return err
		}
		if n != 11 {
			t.Errorf("count inside the update after a delete = %d, want 11", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(store.ListOptions{Kind: "c"}); n != 11 {
		t.Errorf("count after delete = %d, want 11", n)
	}
}

func testReadYourWrites(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	put(t, s, rec("r", "old"))
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(ctx, rec("r", "new")); err != nil {
			return err
		}
		if _, err := tx.Delete(ctx, "r", "old"); err != nil {
			return err
		}
		if _, err := tx.Get(ctx, "r", "new"); err != nil {
			t.Errorf("get own write: %v", err)
		}
		wantNotFound(t, tx, "r", "old")
		if diff := cmp.Diff([]string{"new"}, listIn(t, tx, store.ListOptions{Kind: "r"})); diff != "" {
			t.Errorf("list inside update (-want +got):\n%s", diff)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"new"}, list(t, s, store.ListOptions{Kind: "r"})); diff != "" {
		t.Errorf("list after update (-want +got):\n%s", diff)
	}
}

func testFailedUpdate(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	put(t, s, rec("f", "keep"), rec("f", "victim"))
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(ctx, rec("f", "new")); err != nil {
			return err
		}
		changed := rec("f", "keep")
		changed.Body = []byte(`{"changed":true}`)
		if err := tx.Put(ctx, changed); err != nil {
			return err
		}
		if _, err := tx.Delete(ctx, "f", "victim"); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, &store.Event{ID: "failed-event", Source: "Alerts", Body: []byte(`{}`)}); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("update error = %v, want it to wrap the fn's error", err)
	}
	wantNotFound(t, s, "f", "new")
	if got := mustGet(t, s, "f", "keep"); string(got.Body) != `{"key":"keep"}` {
		t.Errorf("keep body = %s: the failed update's change remains", got.Body)
	}
	mustGet(t, s, "f", "victim")
	evs, err := s.Events(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 {
		t.Errorf("events after a failed update: %d", len(evs))
	}
}

func testPanic(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(ctx, rec("p", "from-panic")); err != nil {
			return err
		}
		panic("storetest: deliberate panic")
	})
	if err == nil || errors.Is(err, store.ErrClosed) {
		t.Fatalf("panicking update returned %v; want an error", err)
	}
	if !strings.Contains(err.Error(), "deliberate panic") {
		t.Errorf("error %q does not say what panicked", err)
	}
	wantNotFound(t, s, "p", "from-panic")
	// The writer is still alive.
	put(t, s, rec("p", "after"))
	mustGet(t, s, "p", "after")
}

// testConcurrentIsolation drives many concurrent updates, half of which fail
// (by error or by panic) after writing, so that failing and succeeding
// updates share commit groups: exactly the successful ones remain.
func testConcurrentIsolation(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	const n = 200
	put(t, s, rec("iso", "shared"))
	var wg sync.WaitGroup
	errs := make([]error, n)
	seqs := make([]int64, n)
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("k%03d", i)
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				if err := tx.Put(ctx, rec("iso", key)); err != nil {
					return err
				}
				// Every update also touches a shared record and a second key.
				shared := rec("iso", "shared")
				shared.Body = []byte(fmt.Sprintf(`{"by":%d}`, i))
				if err := tx.Put(ctx, shared); err != nil {
					return err
				}
				if err := tx.Put(ctx, rec("iso2", key)); err != nil {
					return err
				}
				ev := &store.Event{ID: "ev-" + key, Source: "Alerts", Body: []byte(`{}`)}
				if err := tx.AppendEvent(ctx, ev); err != nil {
					return err
				}
				seqs[i] = ev.Seq
				switch i % 4 {
				case 1:
					return errBoom
				case 3:
					panic(fmt.Sprintf("update %d panics", i))
				}
				return nil
			})
		})
	}
	wg.Wait()
	var want []string
	var wantSeqs []int64
	for i, err := range errs {
		if i%2 == 0 {
			if err != nil {
				t.Errorf("update %d: %v", i, err)
			}
			want = append(want, fmt.Sprintf("k%03d", i))
			wantSeqs = append(wantSeqs, seqs[i])
		} else if err == nil {
			t.Errorf("update %d succeeded; want its error", i)
		} else if i%4 == 1 && !errors.Is(err, errBoom) {
			t.Errorf("update %d: error %v does not wrap the fn's error", i, err)
		}
	}
	for _, kind := range []string{"iso", "iso2"} {
		got := list(t, s, store.ListOptions{Kind: kind, Prefix: "k"})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s records (-want +got):\n%s", kind, diff)
		}
	}
	// The shared record holds the body of one successful update.
	var by int
	if _, err := fmt.Sscanf(string(mustGet(t, s, "iso", "shared").Body), `{"by":%d}`, &by); err != nil || by%2 != 0 {
		t.Errorf("shared record body %s: not from a successful update", mustGet(t, s, "iso", "shared").Body)
	}
	evs, err := s.Events(ctx, 0, 10*n)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	var gotSeqs []int64
	for _, ev := range evs {
		gotIDs = append(gotIDs, strings.TrimPrefix(ev.ID, "ev-"))
		gotSeqs = append(gotSeqs, ev.Seq)
	}
	checkStrictlyIncreasing(t, gotSeqs)
	slices.Sort(gotIDs)
	if diff := cmp.Diff(want, gotIDs); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	slices.Sort(wantSeqs)
	if diff := cmp.Diff(wantSeqs, gotSeqs); diff != "" {
		t.Errorf("seqs read back differ from seqs assigned to the successful updates (-want +got):\n%s", diff)
	}
}

func checkStrictlyIncreasing(t *testing.T, seqs []int64) {
	t.Helper()
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("seq %d at %d follows %d: not strictly increasing", seqs[i], i, seqs[i-1])
		}
	}
}

func testSavepoint(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var innerErr, panicErr, outerErr error
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(ctx, rec("sp", "a")); err != nil {
			return err
		}
		outerErr = tx.Savepoint(ctx, func(tx store.Tx) error {
			if err := tx.Put(ctx, rec("sp", "b")); err != nil {
				return err
			}
			innerErr = tx.Savepoint(ctx, func(tx store.Tx) error {
				if err := tx.Put(ctx, rec("sp", "c")); err != nil {
					return err
				}
				if _, err := tx.Delete(ctx, "sp", "a"); err != nil {
					return err
				}
				if err := tx.AppendEvent(ctx, &store.Event{ID: "sp-inner", Source: "Alerts", Body: []byte(`{}`)}); err != nil {
					return err
				}
				return errBoom
			})
			// The inner rollback is visible at once inside the transaction.
			wantNotFound(t, tx, "sp", "c")
			wantFound(t, tx, "sp", "a")
			if err := tx.Put(ctx, rec("sp", "d")); err != nil {
				return err
			}
			panicErr = tx.Savepoint(ctx, func(tx store.Tx) error {
				if err := tx.Put(ctx, rec("sp", "p")); err != nil {
					return err
				}
				panic("nested panic")
			})
			return nil
		})
		if err := tx.AppendEvent(ctx, &store.Event{ID: "sp-outer", Source: "Alerts", Body: []byte(`{}`)}); err != nil {
			return err
		}
		// A failing savepoint whose error is returned fails the whole update
		// only if fn returns it; here it is ignored.
		_ = tx.Savepoint(ctx, func(tx store.Tx) error {
			if err := tx.Put(ctx, rec("sp", "e")); err != nil {
				return err
			}
			return tx.Savepoint(ctx, func(tx store.Tx) error { return tx.Put(ctx, rec("sp", "e2")) })
		})
		_ = tx.Savepoint(ctx, func(tx store.Tx) error {
			if err := tx.Put(ctx, rec("sp", "f")); err != nil {
				return err
			}
			// A successful inner savepoint is undone with its failing parent.
			if err := tx.Savepoint(ctx, func(tx store.Tx) error { return tx.Put(ctx, rec("sp", "f2")) }); err != nil {
				return err
			}
			return errBoom
		})
		return tx.Put(ctx, rec("sp", "g"))
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if !errors.Is(innerErr, errBoom) {
		t.Errorf("inner savepoint returned %v, want its fn's error", innerErr)
	}
	if panicErr == nil || !strings.Contains(panicErr.Error(), "nested panic") {
		t.Errorf("panicking savepoint returned %v, want an error naming the panic", panicErr)
	}
	if outerErr != nil {
		t.Errorf("outer savepoint: %v", outerErr)
	}
	want := []string{"a", "b", "d", "e", "e2", "g"}
	if diff := cmp.Diff(want, list(t, s, store.ListOptions{Kind: "sp"})); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	evs, err := s.Events(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ID != "sp-outer" {
		t.Errorf("events = %v, want only sp-outer", eventIDs(evs))
	}
}

func eventIDs(evs []*store.Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func appendEvents(t *testing.T, s store.Store, evs ...*store.Event) {
	t.Helper()
	ctx := ctxT(t)
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, ev := range evs {
			if err := tx.AppendEvent(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("append events: %v", err)
	}
}

func testEventRoundTrip(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	when := time.Date(2025, 3, 4, 5, 6, 7, 123_000_000, time.UTC)
	in := []*store.Event{
		{ID: "e1", Source: "Assessments", Tenant: "t1", Subscription: "s1", ResourceGroup: "rg1",
			ResourceID: "/subscriptions/s1/resourceGroups/rg1/providers/x/y/z", Time: when,
			Body: []byte(`{"id":"a","properties":{"status":{"code":"Unhealthy"}}}`), Extra: []byte(`{"k":"v"}`)},
		{ID: "e2", Source: "AssessmentsSnapshot", Time: when.Add(time.Second), Body: []byte(`{}`),
			Extra: []byte(`{}`), Target: "/subscriptions/s1/providers/microsoft.security/automations/a1"},
	}
	appendEvents(t, s, in...)
	if in[0].Seq <= 0 || in[1].Seq <= in[0].Seq {
		t.Fatalf("assigned seqs %d, %d: want positive and increasing", in[0].Seq, in[1].Seq)
	}
	got, err := s.Events(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// A zero Time is set on append.
	ev := &store.Event{ID: "e3", Source: "Alerts", Body: []byte(`{}`)}
	appendEvents(t, s, ev)
	got, err = s.Events(ctx, in[1].Seq, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Time.IsZero() || got[0].Seq != ev.Seq {
		t.Errorf("event appended without a time read back as %+v", got)
	}
	// A duplicate event id is an error that fails only its update.
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.AppendEvent(ctx, &store.Event{ID: "e1", Source: "Alerts", Body: []byte(`{}`)})
	})
	if err == nil {
		t.Errorf("duplicate event id: no error")
	}
}

func testEventSeqConcurrent(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	const writers, perUpdate = 64, 3
	var wg sync.WaitGroup
	assigned := make([][]int64, writers)
	for i := range writers {
		wg.Go(func() {
			err := s.Update(ctx, func(tx store.Tx) error {
				assigned[i] = assigned[i][:0]
				for j := range perUpdate {
					ev := &store.Event{ID: fmt.Sprintf("w%d-%d", i, j), Source: "Alerts", Body: []byte(`{}`)}
					if err := tx.AppendEvent(ctx, ev); err != nil {
						return err
					}
					assigned[i] = append(assigned[i], ev.Seq)
				}
				return nil
			})
			if err != nil {
				t.Errorf("update %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	var all []int64
	for i, seqs := range assigned {
		checkStrictlyIncreasing(t, seqs) // in append order within an update
		if len(seqs) != perUpdate {
			t.Fatalf("update %d assigned %d seqs", i, len(seqs))
		}
		all = append(all, seqs...)
	}
	slices.Sort(all)
	evs, err := s.Events(ctx, 0, 10*writers*perUpdate)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, ev := range evs {
		got = append(got, ev.Seq)
	}
	checkStrictlyIncreasing(t, got)
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("seqs read back (-want +got):\n%s", diff)
	}
	last, err := s.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last != all[len(all)-1] {
		t.Errorf("LastSeq = %d, want %d", last, all[len(all)-1])
	}
}

func testEventPaging(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var want []string
	for u := range 5 {
		var evs []*store.Event
		for i := range 7 {
			id := fmt.Sprintf("u%d-e%d", u, i)
			want = append(want, id)
			evs = append(evs, &store.Event{ID: id, Source: "Alerts", Body: []byte(`{"i":` + fmt.Sprint(i) + `}`)})
		}
		appendEvents(t, s, evs...)
	}
	for _, limit := range []int{1, 4, 7, 35, 100} {
		t.Run(fmt.Sprintf("limit_%d", limit), func(t *testing.T) {
			var got []string
			var seqs []int64
			after := int64(0)
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatal("paging does not end")
				}
				page, err := s.Events(ctx, after, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("page of %d with limit %d", len(page), limit)
				}
				if len(page) == 0 {
					break
				}
				for _, ev := range page {
					got = append(got, ev.ID)
					seqs = append(seqs, ev.Seq)
				}
				after = page[len(page)-1].Seq
			}
			checkStrictlyIncreasing(t, seqs)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("events in order (-want +got):\n%s", diff)
			}
		})
	}
	last, err := s.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if page, err := s.Events(ctx, last, 10); err != nil || len(page) != 0 {
		t.Errorf("events after LastSeq = %v, %v; want none", eventIDs(page), err)
	}
}

func testFailedEvent(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	first := &store.Event{ID: "first", Source: "Alerts", Body: []byte(`{}`)}
	appendEvents(t, s, first)
	var failedSeq int64
	err := s.Update(ctx, func(tx store.Tx) error {
		ev := &store.Event{ID: "failed", Source: "Alerts", Body: []byte(`{}`)}
		if err := tx.AppendEvent(ctx, ev); err != nil {
			return err
		}
		failedSeq = ev.Seq
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("update: %v", err)
	}
	if failedSeq <= first.Seq {
		t.Errorf("seq %d of the failed update's event is not after %d", failedSeq, first.Seq)
	}
	later := &store.Event{ID: "later", Source: "Alerts", Body: []byte(`{}`)}
	appendEvents(t, s, later)
	if later.Seq <= first.Seq {
		t.Errorf("later event got seq %d, not after the committed %d", later.Seq, first.Seq)
	}
	evs, err := s.Events(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"first", "later"}, eventIDs(evs)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// A reader that has consumed "first" sees "later" next.
	evs, err = s.Events(ctx, first.Seq, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"later"}, eventIDs(evs)); diff != "" {
		t.Errorf("events after first (-want +got):\n%s", diff)
	}
	// The failed event's id is free again.
	appendEvents(t, s, &store.Event{ID: "failed", Source: "Alerts", Body: []byte(`{}`)})
}

func testLastSeq(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	last, err := s.LastSeq(ctx)
	if err != nil || last != 0 {
		t.Fatalf("LastSeq of an empty store = %d, %v; want 0", last, err)
	}
	evs := []*store.Event{{ID: "a", Source: "Alerts", Body: []byte(`{}`)}, {ID: "b", Source: "Alerts", Body: []byte(`{}`)}}
	appendEvents(t, s, evs...)
	if last, err = s.LastSeq(ctx); err != nil || last != evs[1].Seq {
		t.Errorf("LastSeq = %d, %v; want %d", last, err, evs[1].Seq)
	}
	// Records alone do not move it.
	put(t, s, rec("x", "y"))
	if last, err = s.LastSeq(ctx); err != nil || last != evs[1].Seq {
		t.Errorf("LastSeq after a record = %d, %v; want %d", last, err, evs[1].Seq)
	}
}

func testPrune(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []*store.Event
	for i := range 10 {
		evs = append(evs, &store.Event{ID: fmt.Sprintf("e%d", i), Source: "Alerts", Time: base.Add(time.Duration(i) * time.Hour), Body: []byte(`{}`)})
	}
	appendEvents(t, s, evs...)
	// A queue still references e5.
	err := s.Update(ctx, func(tx store.Tx) error {
		return tx.Enqueue(ctx, &store.QueueEntry{Action: "auto/0", Seq: evs[5].Seq, EventID: evs[5].ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := func() []string {
		t.Helper()
		got, err := s.Events(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		return eventIDs(got)
	}
	n, err := s.PruneEvents(ctx, base.Add(8*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	left := ids()
	if int(n) != 10-len(left) {
		t.Errorf("PruneEvents reported %d, but %d events are gone", n, 10-len(left))
	}
	for _, id := range []string{"e0", "e1", "e2", "e3", "e4"} {
		if slices.Contains(left, id) {
			t.Errorf("%s is older than the cutoff and unreferenced, but was kept: %v", id, left)
		}
	}
	for _, id := range []string{"e5", "e8", "e9"} {
		if !slices.Contains(left, id) {
			t.Errorf("%s was pruned (queued or not older than the cutoff): %v", id, left)
		}
	}
	// Once dequeued, it goes too; later events stay.
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.Dequeue(ctx, "auto/0", []int64{evs[5].Seq}) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PruneEvents(ctx, base.Add(8*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"e8", "e9"}, ids()); diff != "" {
		t.Errorf("events after the second prune (-want +got):\n%s", diff)
	}
	// Pruning everything never lets a seq be reused.
	if _, err := s.PruneEvents(ctx, base.Add(100*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := ids(); len(got) != 0 {
		t.Errorf("events after pruning all: %v", got)
	}
	next := &store.Event{ID: "next", Source: "Alerts", Body: []byte(`{}`)}
	appendEvents(t, s, next)
	if next.Seq <= evs[9].Seq {
		t.Errorf("seq %d after pruning reuses one ≤ %d", next.Seq, evs[9].Seq)
	}
	if last, err := s.LastSeq(ctx); err != nil || last != next.Seq {
		t.Errorf("LastSeq = %d, %v; want %d", last, err, next.Seq)
	}
}

func testUpdateAfterClose(t *testing.T, s store.Store) {
	put(t, s, rec("c", "k"))
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	ran := false
	for range 20 { // the result must not depend on a race
		err := s.Update(context.Background(), func(tx store.Tx) error { ran = true; return nil })
		if !errors.Is(err, store.ErrClosed) {
			t.Fatalf("update after close = %v, want store.ErrClosed", err)
		}
	}
	if ran {
		t.Error("fn ran after close")
	}
	s.Close() // a second Close must not panic or block
}

func testCancelledBefore(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 20 {
		key := fmt.Sprint("k", i)
		err := s.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, rec("cx", key)) })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("update with a cancelled context = %v, want context.Canceled", err)
		}
	}
	if got := list(t, s, store.ListOptions{Kind: "cx"}); len(got) != 0 {
		t.Errorf("records of cancelled updates: %v", got)
	}
	// The store still works.
	put(t, s, rec("cx", "ok"))
}

// blockWriter starts an Update whose fn waits for release; it returns once
// fn is running, and a wait function that returns its result.
func blockWriter(t *testing.T, s store.Store, key string) (release func(), wait func() error) {
	t.Helper()
	ctx := ctxT(t)
	running, rel := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx store.Tx) error {
			close(running)
			<-rel
			return tx.Put(ctx, rec("block", key))
		})
	}()
	select {
	case <-running:
	case err := <-done:
		t.Fatalf("blocking update returned early: %v", err)
	case <-ctx.Done():
		t.Fatal("blocking update never ran")
	}
	var once sync.Once
	release = func() { once.Do(func() { close(rel) }) }
	t.Cleanup(release)
	return release, func() error {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			t.Fatal("blocking update never returned")
			return nil
		}
	}
}

func testCancelledQueued(t *testing.T, s store.Store) {
	release, wait := blockWriter(t, s, "first")
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, rec("block", "cancelled")) })
	}()
	// Give it a moment to queue behind the blocked writer; the assertions
	// hold either way.
	time.Sleep(20 * time.Millisecond)
	cancel()
	release()
	if err := wait(); err != nil {
		t.Fatalf("blocking update: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled queued update = %v, want context.Canceled", err)
		}
	case <-time.After(timeout):
		t.Fatal("cancelled update never returned")
	}
	mustGet(t, s, "block", "first")
	wantNotFound(t, s, "block", "cancelled")
}

func testCloseDrains(t *testing.T, s store.Store) {
	release, wait := blockWriter(t, s, "first")
	const n = 50
	ctx := ctxT(t)
	errs := make([]error, n)
	ran := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				ran[i] = true
				return tx.Put(ctx, rec("block", fmt.Sprint("q", i)))
			})
		})
	}
	time.Sleep(20 * time.Millisecond) // let them queue; the assertions hold either way
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	time.Sleep(20 * time.Millisecond)
	release()
	if err := wait(); err != nil {
		t.Errorf("update in progress at Close: %v", err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("close: %v", err)
		}
	case <-time.After(timeout):
		t.Fatal("Close never returned")
	}
	wg.Wait()
	committed := 0
	for i, err := range errs {
		switch {
		case err == nil:
			committed++
			if !ran[i] {
				t.Errorf("update %d succeeded without running", i)
			}
		case errors.Is(err, store.ErrClosed):
			if ran[i] {
				t.Errorf("update %d ran but reported store.ErrClosed", i)
			}
		default:
			t.Errorf("update %d: %v, want nil or store.ErrClosed", i, err)
		}
	}
	t.Logf("%d of %d updates racing Close committed", committed, n)
	if err := s.Update(ctx, func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("update after Close returned: %v", err)
	}
}
