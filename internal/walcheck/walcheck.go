// Package walcheck checkpoints an SQLite database in WAL mode beside its
// single writer instead of inside the writer's commits.
//
// The writer's connection is opened with wal_autocheckpoint(0); it tells
// the Checkpointer how much each commit wrote (Wrote) and calls BeforeWrite
// before each transaction. Once enough has been written, a goroutine runs
// PRAGMA wal_checkpoint(PASSIVE) on a connection of its own, copying WAL
// frames into the database file while the writer goes on. Past a bound the
// writer waits for a checkpoint that covers its last commit, so that its
// next transaction writes the WAL from its start again; that wait is also
// what holds back a writer faster than the checkpointer. A writer that
// calls Idle when it has nothing to write gives the checkpointer the
// chance to cover its last commit beforehand, and then does not wait. If
// even that
// checkpoint could not copy every frame (a reader held an older snapshot),
// then past a hard bound the checkpoint is a RESTART, which waits for those
// readers (within the connection's busy timeout).
package walcheck

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

// Options bound the WAL. Sizes are in whatever unit the writer reports to
// Wrote (bytes of bound values, say): estimates are fine.
type Options struct {
	// CheckpointBytes is how much is written before a checkpoint is asked
	// for.
	CheckpointBytes int64
	// RestartBytes is how much the WAL may hold before the writer waits,
	// before its next transaction, for a checkpoint that started after its
	// last commit.
	RestartBytes int64
	// HardBytes is how much the WAL may hold, when checkpoints could not
	// copy every frame, before the checkpoint the writer waits for is a
	// RESTART. Zero means 4 × RestartBytes.
	HardBytes int64
	// Name labels log lines.
	Name string
}

// Checkpointer runs the checkpoints of one database. Its methods are safe
// for concurrent use; BeforeWrite and Wrote are meant for the writer.
type Checkpointer struct {
	db   *sql.DB
	opts Options
	kick chan struct{}
	quit chan struct{}
	done chan struct{}

	mu        sync.Mutex
	cond      *sync.Cond
	pending   int64 // written since the last checkpoint started
	walBytes  int64 // written since the WAL last started again
	committed int64 // commits so far
	covered   int64 // commits an ended checkpoint started after
	complete  bool  // the last ended checkpoint copied every frame
	restart   bool  // the next checkpoint is a RESTART
	waitAt    int64 // walBytes at which BeforeWrite waits
	stopped   bool
	runs      Stats
}

// Stats counts checkpoints, for tests and metrics.
type Stats struct {
	// Passive and Restart count the checkpoints run of each mode.
	Passive, Restart int64
	// Waits counts the writer's waits in BeforeWrite; Waited is their
	// total duration.
	Waits  int64
	Waited time.Duration
}

// Start starts the goroutine that checkpoints through db (a pool of its
// own or a reader pool: it needs one connection at a time).
func Start(db *sql.DB, opts Options) *Checkpointer {
	if opts.HardBytes <= 0 {
		opts.HardBytes = 4 * opts.RestartBytes
	}
	c := &Checkpointer{db: db, opts: opts, waitAt: opts.RestartBytes, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	go c.run()
	return c
}

// BeforeWrite is called by the writer before a transaction: past
// RestartBytes it waits for a checkpoint that started after the last
// commit, so that the transaction writes the WAL from its start. It
// returns at once once the Checkpointer is stopped.
func (c *Checkpointer) BeforeWrite() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.covered >= c.committed && c.complete {
		// A checkpoint that started after the last commit copied every
		// frame: this transaction starts the WAL again.
		c.walBytes, c.waitAt = 0, c.opts.RestartBytes
	}
	if c.walBytes < c.waitAt || c.stopped {
		return
	}
	c.runs.Waits++
	began := time.Now()
	defer func() { c.runs.Waited += time.Since(began) }()
	target := c.committed
	hard := c.walBytes >= c.opts.HardBytes
	c.restart = hard
	c.ask()
	for c.covered < target && !c.stopped {
		c.cond.Wait()
	}
	switch {
	case c.complete:
		c.walBytes, c.waitAt = 0, c.opts.RestartBytes
	case !hard:
		// A reader kept frames in the WAL: go on up to the hard bound.
		c.waitAt = c.opts.HardBytes
	default:
		// Even the RESTART could not copy everything (its busy timeout
		// ran out): try again after another RestartBytes.
		c.waitAt = c.walBytes + c.opts.RestartBytes
	}
}

// Idle is called by the writer when it has nothing to write: once the WAL
// is past half its bound it asks for a checkpoint, so that one covering
// the last commit may be done before the next transaction, which then
// starts the WAL again without waiting in BeforeWrite.
func (c *Checkpointer) Idle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.walBytes >= c.waitAt/2 && c.covered < c.committed && !c.stopped {
		c.ask()
	}
}

// Wrote records a commit of n; past CheckpointBytes it asks for a
// checkpoint.
func (c *Checkpointer) Wrote(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.committed++
	c.pending += n
	c.walBytes += n
	if c.pending >= c.opts.CheckpointBytes {
		c.ask()
	}
}

// Stats returns the counts so far.
func (c *Checkpointer) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs
}

func (c *Checkpointer) ask() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *Checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
		}
		c.mu.Lock()
		start, commits, restart := c.pending, c.committed, c.restart
		c.restart = false
		if restart {
			c.runs.Restart++
		} else {
			c.runs.Passive++
		}
		c.mu.Unlock()
		complete := c.checkpoint(restart)
		c.mu.Lock()
		c.pending -= start
		c.covered = max(c.covered, commits)
		c.complete = complete
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// checkpoint runs one checkpoint and reports whether it copied every frame
// of the WAL (so that the next write transaction starts the WAL again).
func (c *Checkpointer) checkpoint(restart bool) bool {
	mode := "PASSIVE"
	if restart {
		mode = "RESTART"
	}
	var busy, log, done int64
	err := c.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &log, &done)
	if err != nil {
		slog.Warn("walcheck: checkpoint", "db", c.opts.Name, "mode", mode, "error", err)
		return false
	}
	return busy == 0 && done >= log
}

// Stop ends the goroutine (a checkpoint running finishes first) and
// releases a writer waiting in BeforeWrite. It must be called once.
func (c *Checkpointer) Stop() {
	close(c.quit)
	<-c.done
	c.mu.Lock()
	c.stopped = true
	c.cond.Broadcast()
	c.mu.Unlock()
}
