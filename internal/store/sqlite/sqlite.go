// Package sqlite is the embedded Store: one SQLite database file in WAL mode
// with a single writer goroutine that commits concurrent updates in groups
// (many records per transaction, one fsync per group) and a pool of
// read-only connections.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"sluice/internal/store"
	"sluice/internal/walcheck"
)

// Options tune the store.
type Options struct {
	// Synchronous is SQLite's synchronous pragma: FULL (default, durable on
	// power loss) or NORMAL (durable on process crash only).
	Synchronous string
	// MaxGroup bounds how many Update calls share one transaction.
	MaxGroup int
	// Readers is the size of the read connection pool.
	Readers int
}

// DB is the SQLite Store.
type DB struct {
	w, r  *sql.DB
	stmts stmts
	// get is getQuery prepared on the read pool.
	get     *sql.Stmt
	reqs    chan *request
	closing chan struct{}
	stopped chan struct{}
	once    sync.Once
	group   int
	// ck is the checkpointer's own connection; wal runs the checkpoints
	// on it (the writer's connection does none).
	ck  *sql.DB
	wal *walcheck.Checkpointer
	// recent holds the events of the last commits, cache events read
	// back for queues (see recent.go).
	recent *recent
	cache  *readCache
	fillMu sync.Mutex
	// seq is the highest event seq assigned, owned by the writer
	// goroutine (see events.go); dataVersion is the writer connection's
	// data_version when seq was last read from the database.
	seq         int64
	dataVersion int64
}

// Bounds of the in-memory tail of the log.
const (
	recentEvents = 4096
	recentBytes  = 8 << 20
	cacheBytes   = 16 << 20
)

// WAL bounds, in the estimated bytes a commit writes (txn.written): the
// checkpointer copies the WAL into the database every checkpointBytes, and
// past restartBytes the writer waits for a checkpoint covering its last
// commit so that the WAL starts again (see package walcheck). Estimates
// count values, not pages: the WAL holds about one and a half times as
// much. In BenchmarkPutWithEvent (FULL, no idle moments, 150,000 records
// and events) a restart bound of 32 MB kept the WAL file at 50 MB with the
// writer waiting 17 times (0.4 s), 48 MB at 73 MB with 11 waits (0.19 s),
// 64 MB at 96 MB with 8; a checkpoint every 4 MB (about one per group)
// slowed the FULL commits down (their fsyncs compete with the
// checkpoints'), every 8 MB did not. The writer used to checkpoint by
// itself at 16,384 pages (64 MB).
var (
	checkpointBytes int64 = 8 << 20
	restartBytes    int64 = 48 << 20
)

// writerCacheKiB sizes the writer's page cache (cache_size pragma in
// negative KiB): 64 MiB, room for the dirty pages of a large group.
const writerCacheKiB = -64 << 10

// readerMmapBytes is how much of the database file the read connections
// map into memory (mmap_size pragma): reading the log and queues back then
// costs no read system call per page. The mapping is the operating
// system's page cache, not heap.
const readerMmapBytes = 1 << 30

type request struct {
	ctx  context.Context
	fn   func(store.Tx) error
	done chan error
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database in dir/sluice.db and applies
// the schema migrations.
func Open(ctx context.Context, dir string, opts Options) (*DB, error) {
	if opts.Synchronous == "" {
		opts.Synchronous = "FULL"
	}
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 512
	}
	if opts.Readers <= 0 {
		opts.Readers = 4
	}
	path := filepath.Join(dir, "sluice.db")
	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+opts.Synchronous+")")
		q.Add("_pragma", "foreign_keys(1)")
		for i := 0; i+1 < len(extra); i += 2 {
			q.Add(extra[i], extra[i+1])
		}
		return "file:" + path + "?" + q.Encode()
	}
	// The writer leaves checkpoints to the checkpointer (wal_autocheckpoint
	// 0), so copying WAL pages back does not stall grouped commits. Its
	// page cache holds a whole group's dirty pages: a smaller cache
	// spills them into the WAL in the middle of the transaction.
	w, err := sql.Open("sqlite", dsn("_txlock", "immediate", "_pragma", "wal_autocheckpoint(0)",
		"_pragma", fmt.Sprintf("cache_size(%d)", writerCacheKiB)))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("_pragma", "query_only(1)", "_pragma", fmt.Sprintf("mmap_size(%d)", readerMmapBytes)))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open readers %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	db := &DB{w: w, r: r, reqs: make(chan *request, opts.MaxGroup), closing: make(chan struct{}),
		stopped: make(chan struct{}), group: opts.MaxGroup}
	if err := db.stmts.prepare(ctx, w); err != nil {
		db.Close()
		return nil, err
	}
	if db.get, err = r.PrepareContext(ctx, getQuery); err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare get: %w", err)
	}
	last, err := lastSeq(ctx, w)
	if err != nil {
		db.Close()
		return nil, err
	}
	db.seq, db.dataVersion = last, -1
	db.recent = newRecent(last, recentEvents, recentBytes)
	db.cache = newReadCache(cacheBytes)
	ck, err := sql.Open("sqlite", dsn())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open checkpointer %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	db.ck = ck
	db.wal = walcheck.Start(ck, walcheck.Options{CheckpointBytes: checkpointBytes, RestartBytes: restartBytes, Name: path})
	go db.writer()
	return db, nil
}

// Update runs fn in a grouped transaction and returns after it is durably
// committed (or with fn's error, in which case none of fn's writes remain).
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	req := &request{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case <-db.closing:
		return store.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	case db.reqs <- req:
	}
	select {
	case err := <-req.done:
		return err
	case <-db.stopped:
		// The writer may have answered just before it stopped.
		select {
		case err := <-req.done:
			return err
		default:
			return store.ErrClosed
		}
	}
}

func (db *DB) writer() {
	defer close(db.stopped)
	batch := make([]*request, 0, db.group)
	for {
		var first *request
		select {
		case first = <-db.reqs:
		default:
			// Nothing to write: a moment for the checkpointer to catch up.
			db.wal.Idle()
		}
		if first == nil {
			select {
			case first = <-db.reqs:
			case <-db.closing:
				// Drain what was queued before closing, then stop.
				for {
					select {
					case req := <-db.reqs:
						db.commit([]*request{req})
					default:
						return
					}
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < db.group {
			select {
			case req := <-db.reqs:
				batch = append(batch, req)
			default:
				break fill
			}
		}
		db.commit(batch)
	}
}

// commit runs a group of requests in one transaction, each under its own
// savepoint, and answers every request after the commit.
func (db *DB) commit(batch []*request) {
	errs := make([]error, len(batch))
	ctx := context.Background()
	db.wal.BeforeWrite()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		for _, req := range batch {
			req.done <- fmt.Errorf("begin transaction: %w", err)
		}
		return
	}
	t := &txn{tx: tx, db: db}
	if err := db.syncSeq(ctx, t); err != nil {
		err = errors.Join(err, tx.Rollback())
		for _, req := range batch {
			req.done <- err
		}
		return
	}
	seq0 := db.seq
	if len(batch) == 1 {
		// Alone in its group, a request needs no savepoint (whose
		// sub-journal copies every page it changes): its error rolls the
		// whole transaction back.
		req := batch[0]
		err := req.ctx.Err()
		if err == nil {
			err = t.run(req.fn)
		}
		if err != nil {
			if rbErr := tx.Rollback(); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
			db.seq = seq0
			req.done <- err
			return
		}
	} else {
		for i, req := range batch {
			if err := req.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			errs[i] = t.Savepoint(req.ctx, req.fn)
		}
	}
	if err := tx.Commit(); err != nil {
		db.seq = seq0
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("commit: %w", err)
			}
		}
	} else {
		db.recent.push(t.appended)
		db.wal.Wrote(t.written)
	}
	for i, req := range batch {
		req.done <- errs[i]
	}
}

// syncSeq catches up with events another connection (another process
// opening the same database) appended since the writer's last
// transaction: SQLite's data_version changes only for commits of other
// connections, so this costs one pragma per group.
func (db *DB) syncSeq(ctx context.Context, t *txn) error {
	var v int64
	if err := t.prepared(ctx, sqlDataVersion).QueryRowContext(ctx).Scan(&v); err != nil {
		return fmt.Errorf("read data version: %w", err)
	}
	if v == db.dataVersion {
		return nil
	}
	last, err := lastSeq(ctx, t.tx)
	if err != nil {
		return err
	}
	db.dataVersion = v
	if last > db.seq {
		// The other connection's events are not in the in-memory tail.
		db.seq = last
		db.recent.reset(last)
	}
	return nil
}

// Get reads one record.
func (db *DB) Get(ctx context.Context, kind, key string) (*store.Record, error) {
	return scanRecord(db.get.QueryRowContext(ctx, kind, key), kind, key)
}

// List reads records in key order.
func (db *DB) List(ctx context.Context, opts store.ListOptions) ([]*store.Record, error) {
	return list(ctx, db.r, opts)
}

// Count counts records.
func (db *DB) Count(ctx context.Context, opts store.ListOptions) (int, error) {
	return count(ctx, db.r, opts)
}

// Events reads events after a sequence number.
func (db *DB) Events(ctx context.Context, after int64, limit int) ([]*store.Event, error) {
	if limit <= 0 {
		limit = 1000
	}
	if evs, ok := db.recent.after(after, limit); ok {
		return evs, nil
	}
	rows, err := db.r.QueryContext(ctx, `SELECT seq, id, source, tenant, subscription, resource_group, resource_id, time, body, extra, target
		FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var out []*store.Event
	for rows.Next() {
		ev := &store.Event{}
		var ts int64
		if err := rows.Scan(&ev.Seq, &ev.ID, &ev.Source, &ev.Tenant, &ev.Subscription, &ev.ResourceGroup,
			&ev.ResourceID, &ts, &ev.Body, &ev.Extra, &ev.Target); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		ev.Time = time.Unix(0, ts).UTC()
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	// The reader following the log (the export matcher) is followed by
	// queue reads of the same events: keep them for those.
	db.cache.addList(out)
	return out, nil
}

// LastSeq returns the highest sequence number ever assigned.
func (db *DB) LastSeq(ctx context.Context) (int64, error) {
	return lastSeq(ctx, db.r)
}

func lastSeq(ctx context.Context, q querier) (int64, error) {
	var seq sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'events'`).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last sequence: %w", err)
	}
	return seq.Int64, nil
}

// PruneEvents deletes events older than before.
func (db *DB) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.Update(ctx, func(tx store.Tx) error {
		t := tx.(*txn)
		if err := t.flushEvents(ctx); err != nil {
			return err
		}
		res, err := t.tx.ExecContext(shared(ctx), `DELETE FROM events WHERE time < ?
			AND seq < COALESCE((SELECT MIN(seq) FROM queue), 9223372036854775807)
			AND seq < COALESCE((SELECT MIN(first) FROM queue_runs), 9223372036854775807)`, before.UnixNano())
		if err != nil {
			return fmt.Errorf("prune events: %w", err)
		}
		n, err = res.RowsAffected()
		if n > 0 {
			t.written += checkpointBytes // pages freed: have them checkpointed
		}
		return err
	})
	if err == nil && n > 0 {
		last, lerr := db.LastSeq(ctx)
		if lerr != nil {
			return n, lerr
		}
		db.recent.reset(last)
		db.cache.reset()
	}
	return n, err
}

// Ping checks that the database answers and its schema is current.
func (db *DB) Ping(ctx context.Context) error {
	var v int
	if err := db.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if v != len(migrations) {
		return fmt.Errorf("schema version %d, want %d", v, len(migrations))
	}
	return nil
}

// Close stops accepting updates, commits what was queued, and closes the
// database. It is safe to call more than once.
func (db *DB) Close() error {
	var err error
	db.once.Do(func() {
		close(db.closing)
		if db.wal != nil {
			// Open started the writer with the checkpointer.
			<-db.stopped
			db.wal.Stop()
		}
		if db.ck != nil {
			err = db.ck.Close()
		}
		db.stmts.close()
		if db.get != nil {
			db.get.Close()
		}
		err = errors.Join(err, db.r.Close(), db.w.Close())
	})
	return err
}
