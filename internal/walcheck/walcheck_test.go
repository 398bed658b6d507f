package walcheck

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// open returns a writer pool (one connection, no automatic checkpoint)
// and a reader pool on a new database.
func open(t *testing.T) (path string, w, r *sql.DB) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "t.db")
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)"
	w, err := sql.Open("sqlite", dsn+"&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	t.Cleanup(func() { w.Close() })
	if _, err := w.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	r, err = sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return path, w, r
}

// write commits one transaction of n rows of size bytes and reports it.
func write(t *testing.T, w *sql.DB, c *Checkpointer, n, size int) {
	t.Helper()
	c.BeforeWrite()
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(strings.Repeat("x", size))
	for range n {
		if _, err := tx.Exec(`INSERT INTO t (body) VALUES (?)`, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	c.Wrote(int64(n * size))
}

func walSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBoundsWAL writes 16 MB in 64 transactions with a checkpoint asked
// every 256 KB and the WAL started again past 1 MB: the WAL file stays
// within a few MB (without checkpoints it would hold all 16 MB) and every
// row is there, also after the database is closed and opened again.
func TestBoundsWAL(t *testing.T) {
	path, w, r := open(t)
	c := Start(r, Options{CheckpointBytes: 256 << 10, RestartBytes: 1 << 20, Name: "test"})
	const txs, per, size = 64, 64, 2000
	var maxWAL int64
	for range txs {
		write(t, w, c, per, size)
		maxWAL = max(maxWAL, walSize(t, path))
	}
	c.Stop()
	if maxWAL > 4<<20 {
		t.Errorf("the WAL grew to %d bytes for %d written, want at most 4 MB", maxWAL, txs*per*size)
	}
	st := c.Stats()
	if st.Passive == 0 || st.Waits == 0 {
		t.Errorf("stats %+v: want checkpoints and waits", st)
	}
	if n := count(t, r); n != txs*per {
		t.Fatalf("count = %d, want %d", n, txs*per)
	}
	w.Close()
	r.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := count(t, db); n != txs*per {
		t.Fatalf("count after reopening = %d, want %d", n, txs*per)
	}
}

// TestReaderHoldsWAL: a reader keeps an old snapshot open, so passive
// checkpoints cannot copy every frame and the WAL cannot start again. The
// writer goes on up to the hard bound, where the checkpoint it waits for
// is a RESTART, which waits for the reader; once the reader ends, the WAL
// starts again and stays bounded.
func TestReaderHoldsWAL(t *testing.T) {
	path, w, r := open(t)
	ck, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(60000)")
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	c := Start(ck, Options{CheckpointBytes: 128 << 10, RestartBytes: 512 << 10, HardBytes: 2 << 20, Name: "test"})
	defer c.Stop()
	write(t, w, c, 16, 2000)

	// The reader's snapshot: a read transaction left open.
	ctx := context.Background()
	conn, err := r.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	var seen int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&seen); err != nil {
		t.Fatal(err)
	}
	released, wrote := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(released)
		// Poll until the checkpointer runs a RESTART (or the writes are
		// done without one), then end the read.
		deadline := time.Now().Add(time.Minute)
	wait:
		for c.Stats().Restart == 0 && time.Now().Before(deadline) {
			select {
			case <-wrote:
				break wait
			case <-time.After(time.Millisecond):
			}
		}
		conn.ExecContext(ctx, "COMMIT")
		conn.Close()
	}()
	const txs, per, size = 48, 32, 2000 // 3 MB
	var maxWAL int64
	for range txs {
		write(t, w, c, per, size)
		maxWAL = max(maxWAL, walSize(t, path))
	}
	close(wrote)
	<-released
	if seen != 16 {
		t.Errorf("the reader saw %d rows, want 16", seen)
	}
	if st := c.Stats(); st.Restart == 0 {
		t.Errorf("stats %+v: no RESTART checkpoint past the hard bound", st)
	}
	// Hard bound plus a transaction or two and WAL frame headers.
	if maxWAL > 3<<20 {
		t.Errorf("the WAL grew to %d bytes, want at most 3 MB", maxWAL)
	}
	// Written after the reader is gone: the WAL starts again.
	before := walSize(t, path)
	for range txs {
		write(t, w, c, per, size)
	}
	if after := walSize(t, path); after > before {
		t.Errorf("the WAL grew from %d to %d bytes after the reader ended", before, after)
	}
	if n := count(t, r); n != 16+2*txs*per {
		t.Errorf("count = %d, want %d", n, 16+2*txs*per)
	}
}

// TestIdleCatchesUp: a writer that lets the checkpointer catch up while it
// is idle never waits in BeforeWrite, and the WAL still starts again.
func TestIdleCatchesUp(t *testing.T) {
	path, w, r := open(t)
	// Commits alone never ask for a checkpoint here: only Idle does (or
	// BeforeWrite, waiting).
	c := Start(r, Options{CheckpointBytes: 1 << 40, RestartBytes: 1 << 20, Name: "test"})
	defer c.Stop()
	var maxWAL int64
	for range 64 {
		write(t, w, c, 64, 2000)
		maxWAL = max(maxWAL, walSize(t, path))
		c.Idle()
		// Idle time: poll until a checkpoint covers the commit, if one
		// was asked for.
		deadline := time.Now().Add(10 * time.Second)
		for {
			c.mu.Lock()
			caught := c.covered >= c.committed || c.walBytes < c.waitAt/2
			c.mu.Unlock()
			if caught || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	if st := c.Stats(); st.Waits != 0 || st.Passive == 0 {
		t.Errorf("stats %+v: want checkpoints and no waits", st)
	}
	if maxWAL > 2<<20 {
		t.Errorf("the WAL grew to %d bytes, want at most 2 MB", maxWAL)
	}
	if n := count(t, r); n != 64*64 {
		t.Errorf("count = %d, want %d", n, 64*64)
	}
}
