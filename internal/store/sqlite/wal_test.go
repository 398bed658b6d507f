package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sluice/internal/store"
)

// TestWAL_bounded writes about 8 MB of records and events from two
// writers with a checkpoint asked every 128 KB and the WAL started again
// past 512 KB (estimated): the WAL file stays within a few MB (the writer's
// connection never checkpoints by itself, so without the checkpointer it
// would hold everything), and every record and event is there after the
// store is closed and opened again.
func TestWAL_bounded(t *testing.T) {
	cb, rb := checkpointBytes, restartBytes
	checkpointBytes, restartBytes = 128<<10, 512<<10
	t.Cleanup(func() { checkpointBytes, restartBytes = cb, rb })

	dir := t.TempDir()
	db := openT(t, dir, Options{Synchronous: "NORMAL"})
	ctx := context.Background()
	body := []byte(`{"d":"` + strings.Repeat("x", 2000) + `"}`)
	const writers, updates, per = 2, 10, 100
	var mu sync.Mutex
	var maxWAL int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for u := range updates {
				err := db.Update(ctx, func(tx store.Tx) error {
					for i := range per {
						key := fmt.Sprintf("w%d-%03d-%03d", w, u, i)
						if err := tx.Put(ctx, &store.Record{Kind: "r", Key: key, ID: key, Body: body}); err != nil {
							return err
						}
						if err := tx.AppendEvent(ctx, &store.Event{ID: key, Source: "Alerts", Body: body}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				if st, err := os.Stat(filepath.Join(dir, "sluice.db-wal")); err == nil {
					mu.Lock()
					maxWAL = max(maxWAL, st.Size())
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const total = writers * updates * per
	t.Logf("WAL at most %d bytes", maxWAL)
	if maxWAL > 3<<20 {
		t.Errorf("the WAL grew to %d bytes for %d records and events of %d bytes, want at most 3 MB", maxWAL, total, len(body))
	}
	if st := db.wal.Stats(); st.Passive == 0 || st.Waits == 0 {
		t.Errorf("checkpointer stats %+v: want checkpoints and waits", st)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, dir, Options{})
	if n, err := db.Count(ctx, store.ListOptions{Kind: "r"}); err != nil || n != total {
		t.Fatalf("records after reopening: %d, %v; want %d", n, err, total)
	}
	evs, err := db.Events(ctx, 0, 2*total)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != total {
		t.Fatalf("events after reopening: %d, want %d", len(evs), total)
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) || string(ev.Body) != string(body) {
			t.Fatalf("event %d after reopening: seq %d, %d body bytes", i, ev.Seq, len(ev.Body))
		}
	}
	if last, err := db.LastSeq(ctx); err != nil || last != total {
		t.Errorf("last seq after reopening = %d, %v; want %d", last, err, total)
	}
}
