package workspace

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/internal/latables"
)

// TestCheckpointerBoundsWAL writes 12 MB in 40 transactions with a
// checkpoint asked every 256 KB and the WAL started again past 1 MB: the
// WAL file stays a few MB (with no checkpoint it would hold all 12 MB),
// the database holds every row, and readers see them.
func TestCheckpointerBoundsWAL(t *testing.T) {
	cb, rb := checkpointBytes, restartBytes
	checkpointBytes, restartBytes = 256<<10, 1<<20
	t.Cleanup(func() { checkpointBytes, restartBytes = cb, rb })

	path := filepath.Join(t.TempDir(), "ws.db")
	db, err := OpenDB(path, "3f1e2d4c-5b6a-4788-9900-aabbccddeeff")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tab, _ := latables.Lookup("SecurityAlert")
	desc := strings.Repeat("x", 3000)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const batches, per = 40, 100
	var maxWAL int64
	for b := range batches {
		rows := make([][]any, per)
		for i := range rows {
			r := make([]any, len(tab.Columns))
			r[tab.Index("TimeGenerated")] = at
			r[tab.Index("SystemAlertId")] = fmt.Sprintf("%d-%d", b, i)
			r[tab.Index("Description")] = desc
			rows[i] = r
		}
		if err := db.Insert(context.Background(), "SecurityAlert", rows); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(path + "-wal"); err == nil {
			maxWAL = max(maxWAL, st.Size())
		}
	}
	if maxWAL > 4<<20 {
		t.Errorf("the WAL grew to %d bytes for 12 MB written, want at most 4 MB", maxWAL)
	}
	if n, err := db.Count(context.Background(), "SecurityAlert"); err != nil || n != batches*per {
		t.Fatalf("count = %d, %v, want %d", n, err, batches*per)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Closed: a write fails instead of hanging on the stopped checkpointer.
	if err := db.Insert(context.Background(), "SecurityAlert", [][]any{make([]any, len(tab.Columns))}); err == nil {
		t.Error("insert into a closed database succeeded")
	}
}

// TestReadersDuringWrites runs queries while batches are written and
// checkpointed: every count a reader sees is a whole number of batches
// (a write is one transaction) and never goes down.
func TestReadersDuringWrites(t *testing.T) {
	cb, rb := checkpointBytes, restartBytes
	checkpointBytes, restartBytes = 64<<10, 256<<10
	t.Cleanup(func() { checkpointBytes, restartBytes = cb, rb })

	db, err := OpenDB(filepath.Join(t.TempDir(), "ws.db"), "3f1e2d4c-5b6a-4788-9900-aabbccddeeff")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tab, _ := latables.Lookup("SecurityAlert")
	desc := strings.Repeat("y", 2000)
	const batches, per = 30, 50
	done := make(chan struct{})
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			last := 0
			for {
				n, err := db.Count(context.Background(), "SecurityAlert")
				if err != nil {
					errs <- err
					return
				}
				if n%per != 0 || n < last {
					errs <- fmt.Errorf("a reader saw %d rows after %d", n, last)
					return
				}
				last = n
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
			}
		}()
	}
	for b := range batches {
		rows := make([][]any, per)
		for i := range rows {
			r := make([]any, len(tab.Columns))
			r[tab.Index("TimeGenerated")] = time.Date(2026, 11, 1, 0, 0, b, 0, time.UTC)
			r[tab.Index("Description")] = desc
			rows[i] = r
		}
		if err := db.Insert(context.Background(), "SecurityAlert", rows); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n, err := db.Count(context.Background(), "SecurityAlert"); err != nil || n != batches*per {
		t.Fatalf("count = %d, %v, want %d", n, err, batches*per)
	}
}

// TestWriterConnectionReplaced: when database/sql discards the writer's
// connection (as it does after an interrupted statement), the prepared
// INSERTs kept for it are dropped with it, and writes go on through the
// new connection.
func TestWriterConnectionReplaced(t *testing.T) {
	db, err := OpenDB(filepath.Join(t.TempDir(), "ws.db"), "3f1e2d4c-5b6a-4788-9900-aabbccddeeff")
	if err != nil {
		t.Fatal(err)
	}
	tab, _ := latables.Lookup("SecurityAlert")
	rows := func(n int) [][]any {
		out := make([][]any, n)
		for i := range out {
			r := make([]any, len(tab.Columns))
			r[tab.Index("TimeGenerated")] = time.Date(2026, 11, 1, 0, 0, i, 0, time.UTC)
			r[tab.Index("AlertName")] = "a"
			out[i] = r
		}
		return out
	}
	if err := db.Insert(context.Background(), "SecurityAlert", rows(100)); err != nil {
		t.Fatal(err)
	}
	db.w.SetMaxIdleConns(0) // closes the idle writer connection
	db.w.SetMaxIdleConns(1)
	if err := db.Insert(context.Background(), "SecurityAlert", rows(100)); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Count(context.Background(), "SecurityAlert"); err != nil || n != 200 {
		t.Fatalf("count = %d, %v, want 200", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
