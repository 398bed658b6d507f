package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sluice/internal/store"
	"sluice/internal/store/storetest"
)

func openT(t *testing.T, dir string, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		t.Run(strings.ToLower(sync), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				return openT(t, t.TempDir(), Options{Synchronous: sync})
			})
		})
	}
}

// TestConformance_small_groups runs the suite with groups of at most two
// updates, so that failing and succeeding updates straddle group borders.
func TestConformance_small_groups(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openT(t, t.TempDir(), Options{Synchronous: "NORMAL", MaxGroup: 2})
	})
}

func TestReopen_keeps_data(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := &store.Event{ID: "e1", Source: "Alerts", Body: []byte(`{"a":1}`)}
	err = db.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(ctx, &store.Record{Kind: "k", Key: "a", ID: "A", Parent: "p", Body: []byte(`{"x":1}`), ETag: "e"}); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	before, err := db.Get(ctx, "k", "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openT(t, dir, Options{})
	after, err := db.Get(ctx, "k", "a")
	if err != nil {
		t.Fatalf("get after reopen: %v", err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("record after reopen (-before +after):\n%s", diff)
	}
	evs, err := db.Events(ctx, 0, 10)
	if err != nil || len(evs) != 1 || evs[0].ID != "e1" || evs[0].Seq != ev.Seq {
		t.Errorf("events after reopen = %v, %v", evs, err)
	}
	next := &store.Event{ID: "e2", Source: "Alerts", Body: []byte(`{}`)}
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.AppendEvent(ctx, next) }); err != nil {
		t.Fatal(err)
	}
	if next.Seq <= ev.Seq {
		t.Errorf("seq after reopen %d, not after %d", next.Seq, ev.Seq)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
}

func schemaVersions(t *testing.T, dir string) []int {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+dir+"/sluice.db")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestMigrations_idempotent(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var want []int
	for v := range migrations {
		want = append(want, v+1)
	}
	for i := range 3 {
		db, err := Open(ctx, dir, Options{})
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		if err := db.Ping(ctx); err != nil {
			t.Errorf("ping #%d: %v", i+1, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, schemaVersions(t, dir)); diff != "" {
			t.Errorf("versions after open #%d (-want +got):\n%s", i+1, diff)
		}
	}
	// migrate itself is idempotent on an open database.
	db := openT(t, dir, Options{})
	if err := migrate(ctx, db.w); err != nil {
		t.Errorf("migrate again: %v", err)
	}
	if diff := cmp.Diff(want, schemaVersions(t, dir)); diff != "" {
		t.Errorf("versions after migrate (-want +got):\n%s", diff)
	}
}

func TestPing_fails_on_newer_schema(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db := openT(t, dir, Options{})
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	future := len(migrations) + 1
	if _, err := db.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, future, time.Now().Unix()); err != nil {
		t.Fatal(err)
	}
	err := db.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(future)) {
		t.Errorf("ping on schema %d = %v, want an error naming the version", future, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening it with this binary refuses too, naming the versions.
	db2, err := Open(ctx, dir, Options{})
	if err == nil {
		db2.Close()
		t.Fatal("open of a newer schema succeeded")
	}
	if !strings.Contains(err.Error(), "newer than this binary") {
		t.Errorf("open error %q does not say the schema is newer", err)
	}
}

// TestClose_drains_durably checks, by reopening, that every update that
// reported success while racing Close is stored and none that reported
// ErrClosed is.
func TestClose_drains_durably(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(ctx, dir, Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = db.Update(ctx, func(tx store.Tx) error {
				return tx.Put(ctx, &store.Record{Kind: "d", Key: fmt.Sprintf("k%03d", i), ID: "x", Body: []byte(`{}`)})
			})
		})
	}
	close(start)
	time.Sleep(time.Millisecond) // let some of them in; the assertions hold either way
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()

	db = openT(t, dir, Options{})
	ok, closed := 0, 0
	for i, e := range errs {
		key := fmt.Sprintf("k%03d", i)
		_, err := db.Get(ctx, "d", key)
		switch {
		case e == nil:
			ok++
			if err != nil {
				t.Errorf("update %d reported success but %s is missing after reopen: %v", i, key, err)
			}
		case errors.Is(e, store.ErrClosed):
			closed++
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("update %d reported ErrClosed but %s is stored (%v)", i, key, err)
			}
		default:
			t.Errorf("update %d: %v", i, e)
		}
	}
	t.Logf("%d committed, %d refused", ok, closed)
}

func TestUpperBound(t *testing.T) {
	tests := []struct {
		prefix string
		want   string
		ok     bool
	}{
		{"a", "b", true},
		{"/rg", "/rh", true},
		{"a\xff", "b", true},
		{"a\xff\xff", "b", true},
		{"\xff", "", false},
		{"", "", false},
		{"k\U0010FFFF", "k\xf4\x8f\xbf\xc0", true},
	}
	for _, tc := range tests {
		got, ok := upperBound(tc.prefix)
		if got != tc.want || ok != tc.ok {
			t.Errorf("upperBound(%q) = %q, %v; want %q, %v", tc.prefix, got, ok, tc.want, tc.ok)
		}
	}
}

// TestMigration5_keeps_resources upgrades a database at schema 4 holding
// records and checks the rebuilt resources table kept them and its index.
func TestMigration5_keeps_resources(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	raw, err := sql.Open("sqlite", "file:"+dir+"/sluice.db?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 4; v++ {
		if _, err := raw.ExecContext(ctx, migrations[v-1]); err != nil {
			t.Fatalf("migration %d: %v", v, err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, 0)`, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO resources (kind, key, id, parent, body, etag, created, updated)
		VALUES ('k', 'a', 'A', 'p', '{"x":1}', 'e1', 1, 2), ('k', 'b', 'B', 'p', '{}', '', 3, 4)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db := openT(t, dir, Options{})
	recs, err := db.List(ctx, store.ListOptions{Kind: "k", Parent: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != "A" || string(recs[0].Body) != `{"x":1}` || recs[0].ETag != "e1" || recs[1].ID != "B" {
		t.Fatalf("records after migration: %+v", recs)
	}
	if err := db.Update(ctx, func(tx store.Tx) error {
		return tx.Put(ctx, &store.Record{Kind: "k", Key: "a", ID: "A2", Parent: "p", Body: []byte(`{}`)})
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Count(ctx, store.ListOptions{Kind: "k"}); err != nil || n != 2 {
		t.Fatalf("count after upsert = %d, %v (the primary key must survive the rebuild)", n, err)
	}
}

// TestParentQueries_use_the_partial_index: lists and counts by parent are
// answered from the partial parent index (records without a parent stay
// out of it), and those records are still found by kind and prefix.
func TestParentQueries_use_the_partial_index(t *testing.T) {
	ctx := context.Background()
	db := openT(t, t.TempDir(), Options{Synchronous: "NORMAL"})
	if err := db.Update(ctx, func(tx store.Tx) error {
		for i, parent := range []string{"p", "", "p", ""} {
			if err := tx.Put(ctx, &store.Record{Kind: "k", Key: fmt.Sprintf("r%d", i), ID: fmt.Sprintf("R%d", i), Parent: parent, Body: []byte(`{}`)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []store.ListOptions{{Kind: "k", Parent: "p"}, {Kind: "k", Parent: "p", Prefix: "r", After: "r0", Limit: 5}} {
		w, args := where(opts)
		rows, err := db.r.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT key FROM resources`+w+` ORDER BY key`, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if got := strings.Join(plan, "; "); !strings.Contains(got, "INDEX resources_parent") {
			t.Errorf("plan for %+v: %s, want the resources_parent index", opts, got)
		}
	}
	recs, err := db.List(ctx, store.ListOptions{Kind: "k", Parent: "p"})
	if err != nil || len(recs) != 2 || recs[0].Key != "r0" || recs[1].Key != "r2" {
		t.Fatalf("by parent: %v %+v", err, recs)
	}
	if n, err := db.Count(ctx, store.ListOptions{Kind: "k", Prefix: "r"}); err != nil || n != 4 {
		t.Fatalf("by prefix: %d %v", n, err)
	}
}
