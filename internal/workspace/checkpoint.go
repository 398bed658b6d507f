package workspace

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
)

// walAutocheckpoint is the writer connection's wal_autocheckpoint: 0 turns
// SQLite's checkpoint at commit off, and the checkpointer does the work.
var walAutocheckpoint = 0

// checkpointBytes is how much the writer writes (bytes of bound values)
// before it asks the checkpointer to copy the WAL into the database: about
// SQLite's default of 1,000 pages.
const checkpointBytes = 4 << 20

// maxCheckpointLag bounds what the writer writes while the checkpointer is
// behind: past it, a write waits for the running checkpoint to end, so the
// WAL cannot grow without bound when the checkpointer has no core of its
// own.
const maxCheckpointLag = 64 << 20

// checkpointer runs PRAGMA wal_checkpoint(PASSIVE) on a reader connection
// of its own goroutine when the writer asks. A WAL the checkpoint has
// copied completely is written again from its start by the next
// transaction, so the file stays small.
type checkpointer struct {
	db   *sql.DB
	kick chan struct{}
	quit chan struct{}
	done chan struct{}

	mu      sync.Mutex
	cond    *sync.Cond
	pending int64 // bytes written since the running or next checkpoint's start
	passes  int64 // checkpoints ended
}

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	go c.run()
	return c
}

// wrote records n bytes written and committed by the writer; it asks for a
// checkpoint once checkpointBytes have been written, and waits for one to
// end while more than maxCheckpointLag is waiting.
func (c *checkpointer) wrote(n int64) {
	c.mu.Lock()
	c.pending += n
	if c.pending >= maxCheckpointLag {
		c.ask()
		for pass := c.passes; c.passes == pass && c.pending >= maxCheckpointLag; {
			c.cond.Wait()
		}
	} else if c.pending >= checkpointBytes {
		c.ask()
	}
	c.mu.Unlock()
}

func (c *checkpointer) ask() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
		}
		c.mu.Lock()
		start := c.pending
		c.mu.Unlock()
		if _, err := c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			slog.Warn("workspace: checkpoint", "error", err)
		}
		c.mu.Lock()
		c.pending -= start
		c.passes++
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// stop ends the goroutine (a checkpoint running finishes first).
func (c *checkpointer) stop() {
	close(c.quit)
	<-c.done
	c.mu.Lock()
	c.passes++ // release a writer waiting (none: the caller holds the write lock)
	c.cond.Broadcast()
	c.mu.Unlock()
}
