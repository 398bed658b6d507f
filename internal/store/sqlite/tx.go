package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"sluice/internal/store"
)

type stmts struct {
	put, del *sql.Stmt
	// events are the multi-row event INSERTs, one per eventChunks size.
	events [len(eventChunks)]*sql.Stmt
	// byQuery holds the prepared statements of preparedQueries.
	byQuery map[string]*sql.Stmt
}

func (s *stmts) prepare(ctx context.Context, db *sql.DB) error {
	var err error
	if s.put, err = db.PrepareContext(ctx, `INSERT INTO resources (kind, key, id, parent, body, etag, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, key) DO UPDATE SET id = excluded.id, parent = excluded.parent, body = excluded.body,
			etag = excluded.etag, updated = excluded.updated`); err != nil {
		return fmt.Errorf("prepare put: %w", err)
	}
	if s.del, err = db.PrepareContext(ctx, `DELETE FROM resources WHERE kind = ? AND key = ?`); err != nil {
		return fmt.Errorf("prepare delete: %w", err)
	}
	if err := s.prepareEvents(ctx, db); err != nil {
		return err
	}
	s.byQuery = map[string]*sql.Stmt{}
	queries := append([]string{sqlDataVersion, getQuery}, preparedQueries...)
	for _, sp := range savepoints {
		queries = append(queries, sp.save, sp.rollback, sp.release)
	}
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %.40s…: %w", q, err)
		}
		s.byQuery[q] = st
	}
	return nil
}

func (s *stmts) close() {
	for _, st := range append([]*sql.Stmt{s.put, s.del}, s.events[:]...) {
		if st != nil {
			st.Close()
		}
	}
	for _, st := range s.byQuery {
		st.Close()
	}
}

// txn implements store.Tx on a *sql.Tx.
type txn struct {
	tx    *sql.Tx
	db    *DB
	depth int
	// put, del and events are the DB's prepared statements bound to tx,
	// made on first use and reused for the rest of the transaction.
	put, del *sql.Stmt
	events   [len(eventChunks)]*sql.Stmt
	// bound holds the prepared queue statements bound to tx.
	bound map[string]*sql.Stmt
	// appended are copies of the events appended so far (those of a
	// rolled-back savepoint removed), handed to db.recent after commit;
	// appended[flushed:] are not written yet (see events.go).
	appended  []*store.Event
	flushed   int
	eventArgs []any
	// written estimates the bytes the transaction writes (values plus a
	// row overhead), which paces the checkpointer.
	written int64
}

// rowBytes is the estimated overhead of a written row: its header, key
// and index entries.
const rowBytes = 64

// argBytes estimates the bytes a statement's arguments write.
func argBytes(args []any) int64 {
	n := int64(rowBytes)
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			n += int64(len(v))
		case string:
			n += int64(len(v))
		default:
			n += 8
		}
	}
	return n
}

// stmt binds a prepared statement to the transaction once.
func (t *txn) stmt(ctx context.Context, cached **sql.Stmt, st *sql.Stmt) *sql.Stmt {
	if *cached == nil {
		// Not ctx: the statement outlives this request within the group.
		*cached = t.tx.StmtContext(context.WithoutCancel(ctx), st)
	}
	return *cached
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (t *txn) Get(ctx context.Context, kind, key string) (*store.Record, error) {
	return scanRecord(t.prepared(ctx, getQuery).QueryRowContext(shared(ctx), kind, key), kind, key)
}

func (t *txn) List(ctx context.Context, opts store.ListOptions) ([]*store.Record, error) {
	return list(shared(ctx), t.tx, opts)
}

func (t *txn) Count(ctx context.Context, opts store.ListOptions) (int, error) {
	return count(shared(ctx), t.tx, opts)
}

func (t *txn) Put(ctx context.Context, rec *store.Record) error {
	if rec.Kind == "" || rec.Key == "" {
		return errors.New("store: put needs a kind and a key")
	}
	now := time.Now().UTC()
	if rec.Created.IsZero() {
		rec.Created = now
	}
	if rec.Updated.IsZero() {
		rec.Updated = now
	}
	if rec.Body == nil {
		rec.Body = []byte{}
	}
	_, err := t.stmt(ctx, &t.put, t.db.stmts.put).ExecContext(shared(ctx), rec.Kind, rec.Key, rec.ID, rec.Parent, rec.Body,
		rec.ETag, rec.Created.UnixNano(), rec.Updated.UnixNano())
	if err != nil {
		return fmt.Errorf("put %s %s: %w", rec.Kind, rec.Key, err)
	}
	t.written += int64(len(rec.Kind) + 2*len(rec.Key) + len(rec.ID) + 2*len(rec.Parent) + len(rec.Body) + len(rec.ETag) + rowBytes)
	return nil
}

func (t *txn) Delete(ctx context.Context, kind, key string) (bool, error) {
	res, err := t.stmt(ctx, &t.del, t.db.stmts.del).ExecContext(shared(ctx), kind, key)
	if err != nil {
		return false, fmt.Errorf("delete %s %s: %w", kind, key, err)
	}
	t.written += int64(len(kind) + len(key) + rowBytes)
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t *txn) AppendEvent(ctx context.Context, ev *store.Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	if len(t.appended)-t.flushed >= maxPendingEvents {
		if err := t.flushEvents(ctx); err != nil {
			return err
		}
	}
	t.db.seq++
	ev.Seq = t.db.seq
	held := *ev
	held.Time = time.Unix(0, ev.Time.UnixNano()).UTC() // as read back from the table
	// Copies that keep nil and empty apart: the rows are written from them.
	held.Body, held.Extra = bytes.Clone(ev.Body), bytes.Clone(ev.Extra)
	t.appended = append(t.appended, &held)
	t.written += int64(eventSize(&held))
	return nil
}

// sqlDataVersion reads the writer connection's data_version (see
// DB.syncSeq).
const sqlDataVersion = `PRAGMA data_version`

// savepointSQL are the statements of one savepoint level.
type savepointSQL struct{ save, rollback, release string }

func savepointAt(depth int) savepointSQL {
	name := fmt.Sprintf("sp%d", depth)
	return savepointSQL{save: "SAVEPOINT " + name, rollback: "ROLLBACK TO " + name, release: "RELEASE " + name}
}

// savepoints are the statements of the first savepoint levels, run
// prepared (a request of a group is one level, its own savepoints the
// next ones).
var savepoints = func() []savepointSQL {
	out := make([]savepointSQL, 4)
	for i := range out {
		out[i] = savepointAt(i + 1)
	}
	return out
}()

// Savepoint runs fn under a savepoint; on error (or panic) its writes are
// rolled back and the rest of the transaction stays intact.
func (t *txn) Savepoint(ctx context.Context, fn func(store.Tx) error) (err error) {
	t.depth++
	defer func() { t.depth-- }()
	var sp savepointSQL
	if t.depth <= len(savepoints) {
		sp = savepoints[t.depth-1]
	} else {
		sp = savepointAt(t.depth)
	}
	// The events buffered so far belong to the enclosing update: an
	// error writing them is not this savepoint's.
	if err := t.flushEvents(ctx); err != nil {
		return err
	}
	if _, err := t.exec(ctx, sp.save); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	held := len(t.appended)
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("store: update panicked: %v", v)
		}
		if err == nil {
			err = t.flushEvents(ctx)
		}
		if err != nil {
			t.unappend(held)
			if _, rbErr := t.exec(context.Background(), sp.rollback); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rbErr))
			}
		}
		if _, relErr := t.exec(context.Background(), sp.release); relErr != nil && err == nil {
			err = fmt.Errorf("release savepoint: %w", relErr)
		}
	}()
	return fn(t)
}

// run calls fn on the transaction, turning a panic into an error.
func (t *txn) run(fn func(store.Tx) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("store: update panicked: %v", v)
		}
		if err == nil {
			err = t.flushEvents(context.Background())
		}
	}()
	return fn(t)
}

// getQuery reads one record; it runs prepared (the writer's statements,
// and DB.get on the read pool).
const getQuery = `SELECT id, parent, body, etag, created, updated FROM resources WHERE kind = ? AND key = ?`

// scanRecord reads the row of getQuery.
func scanRecord(row *sql.Row, kind, key string) (*store.Record, error) {
	rec := &store.Record{Kind: kind, Key: key}
	var created, updated int64
	err := row.Scan(&rec.ID, &rec.Parent, &rec.Body, &rec.ETag, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", kind, key, err)
	}
	rec.Created, rec.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return rec, nil
}

func where(opts store.ListOptions) (string, []any) {
	var b strings.Builder
	args := []any{opts.Kind}
	b.WriteString(" WHERE kind = ?")
	if opts.Prefix != "" {
		b.WriteString(" AND key >= ?")
		args = append(args, opts.Prefix)
		if hi, ok := upperBound(opts.Prefix); ok {
			b.WriteString(" AND key < ?")
			args = append(args, hi)
		}
	}
	if opts.Parent != "" {
		// parent != '' (implied) selects the partial index.
		b.WriteString(" AND parent = ? AND parent != ''")
		args = append(args, opts.Parent)
	}
	if opts.After != "" {
		b.WriteString(" AND key > ?")
		args = append(args, opts.After)
	}
	return b.String(), args
}

// upperBound returns the smallest string greater than every string with the
// given prefix, in byte order.
func upperBound(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

func list(ctx context.Context, q querier, opts store.ListOptions) ([]*store.Record, error) {
	w, args := where(opts)
	query := `SELECT key, id, parent, body, etag, created, updated FROM resources` + w + ` ORDER BY key`
	if opts.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, opts.Limit)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", opts.Kind, err)
	}
	defer rows.Close()
	var out []*store.Record
	for rows.Next() {
		rec := &store.Record{Kind: opts.Kind}
		var created, updated int64
		if err := rows.Scan(&rec.Key, &rec.ID, &rec.Parent, &rec.Body, &rec.ETag, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan %s: %w", opts.Kind, err)
		}
		rec.Created, rec.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
		out = append(out, rec)
	}
	return out, rows.Err()
}

func count(ctx context.Context, q querier, opts store.ListOptions) (int, error) {
	w, args := where(opts)
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources`+w, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", opts.Kind, err)
	}
	return n, nil
}

// shared detaches a request's context for statements on the group's
// transaction: SQLite answers an interrupted write inside a transaction by
// rolling the whole transaction back, which would undo the other requests
// of the group. A request's cancellation is honoured before its update
// starts (see commit); once running, its statements finish.
func shared(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}

// prepared returns the prepared statement of q bound to the transaction,
// or nil when q is not one of the prepared statements.
func (t *txn) prepared(ctx context.Context, q string) *sql.Stmt {
	st, ok := t.db.stmts.byQuery[q]
	if !ok {
		return nil
	}
	bound := t.bound[q]
	if bound == nil {
		bound = t.tx.StmtContext(shared(ctx), st)
		if t.bound == nil {
			t.bound = map[string]*sql.Stmt{}
		}
		t.bound[q] = bound
	}
	return bound
}

// exec runs a statement on the group's transaction with the request's
// context detached (see shared); the statements of preparedQueries run
// prepared, bound to the transaction once.
func (t *txn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if t.flushed < len(t.appended) && strings.Contains(q, "events") {
		// A statement that may read the events table sees the buffered ones.
		if err := t.flushEvents(ctx); err != nil {
			return nil, err
		}
	}
	if bound := t.prepared(ctx, q); bound != nil {
		t.written += argBytes(args)
		return bound.ExecContext(shared(ctx), args...)
	}
	t.written += argBytes(args)
	return t.tx.ExecContext(shared(ctx), q, args...)
}
