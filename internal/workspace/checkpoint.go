package workspace

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
)

// checkpointBytes is how much the writer writes (bytes of bound values)
// before it asks the checkpointer to copy the WAL into the database: about
// SQLite's default of 1,000 4 KB pages.
var checkpointBytes int64 = 4 << 20

// restartBytes bounds the WAL file. SQLite writes the WAL from its start
// again only when a write transaction begins while every frame has been
// copied into the database; a checkpointer running beside a busy writer
// is always a commit behind, so after restartBytes the writer waits, before
// its next transaction, for a checkpoint that started after its last
// commit (about 10 ms for a 1,000-row batch). That wait is also what holds
// back a writer faster than the checkpointer. At 16 MB the writer spent a
// tenth of its time waiting; at 64 MB, 3%.
var restartBytes int64 = 64 << 20

// checkpointer runs PRAGMA wal_checkpoint(PASSIVE) on a reader connection
// of its own goroutine when the writer asks, so that copying the WAL into
// the database runs beside the writer instead of inside its commits.
type checkpointer struct {
	db   *sql.DB
	kick chan struct{}
	quit chan struct{}
	done chan struct{}

	mu        sync.Mutex
	cond      *sync.Cond
	pending   int64 // bytes committed since the last checkpoint started
	walBytes  int64 // bytes committed since the WAL last started again
	committed int64 // commits so far
	covered   int64 // commits an ended checkpoint started after
	stopped   bool
}

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	go c.run()
	return c
}

// beforeWrite is called by the writer before a transaction: past
// restartBytes it waits for a checkpoint that started after the last
// commit, so that the transaction writes the WAL from its start.
func (c *checkpointer) beforeWrite() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.walBytes < restartBytes {
		return
	}
	target := c.committed
	c.ask()
	for c.covered < target && !c.stopped {
		c.cond.Wait()
	}
	c.walBytes = 0
}

// wrote records a commit of n bytes; past checkpointBytes it asks for a
// checkpoint.
func (c *checkpointer) wrote(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.committed++
	c.pending += n
	c.walBytes += n
	if c.pending >= checkpointBytes {
		c.ask()
	}
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
		start, commits := c.pending, c.committed
		c.mu.Unlock()
		if _, err := c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			slog.Warn("workspace: checkpoint", "error", err)
		}
		c.mu.Lock()
		c.pending -= start
		c.covered = max(c.covered, commits)
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// stop ends the goroutine (a checkpoint running finishes first).
func (c *checkpointer) stop() {
	close(c.quit)
	<-c.done
	c.mu.Lock()
	c.stopped = true
	c.cond.Broadcast()
	c.mu.Unlock()
}
