package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"sluice/internal/store"
)

// TestCancel_mid_statement_isolated cancels one update's context while its
// statement runs, in a group with other updates: SQLite's interrupt of a
// write inside a transaction rolls the whole transaction back, so the store
// must not let a request's cancellation reach the shared transaction.
const slowPuts = 40_000

func TestCancel_mid_statement_isolated(t *testing.T) {
	db := openT(t, t.TempDir(), Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	release, wait := make(chan struct{}), make(chan error, 1)
	running := make(chan struct{})
	// Block the writer so the following updates share one group.
	go func() {
		wait <- db.Update(ctx, func(tx store.Tx) error {
			close(running)
			<-release
			return tx.Put(ctx, &store.Record{Kind: "i", Key: "blocker", ID: "b"})
		})
	}()
	<-running
	results := make(chan error, 3)
	before := func(key string) {
		results <- db.Update(ctx, func(tx store.Tx) error {
			return tx.Put(ctx, &store.Record{Kind: "i", Key: key, ID: key})
		})
	}
	go before("a")
	time.Sleep(50 * time.Millisecond)
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		results <- db.Update(cctx, func(tx store.Tx) error {
			go func() { time.Sleep(5 * time.Millisecond); cancel() }()
			// A long write, cancelled while it runs.
			_, err := tx.(*txn).exec(cctx, `INSERT INTO resources (kind, key, id, body, created, updated)
				WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT ?)
				SELECT 'slow', x, x, '', 0, 0 FROM c`, slowPuts)
			return err
		})
	}()
	time.Sleep(50 * time.Millisecond)
	go before("b")
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-wait; err != nil {
		t.Errorf("blocker: %v", err)
	}
	for range 3 {
		err := <-results
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("update: %v", err)
		}
	}
	n, err := db.Count(ctx, store.ListOptions{Kind: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 && n != slowPuts {
		t.Errorf("cancelled update left %d of %d records: not atomic", n, slowPuts)
	}
	for _, k := range []string{"blocker", "a", "b"} {
		if _, err := db.Get(ctx, "i", k); err != nil {
			t.Errorf("get %s: %v", k, err)
		}
	}
}
