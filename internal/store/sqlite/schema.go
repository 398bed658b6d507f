package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are applied in order, each once; never edit a released one.
var migrations = []string{
	`CREATE TABLE resources (
		kind    TEXT NOT NULL,
		key     TEXT NOT NULL,
		id      TEXT NOT NULL,
		parent  TEXT NOT NULL DEFAULT '',
		body    BLOB NOT NULL,
		etag    TEXT NOT NULL DEFAULT '',
		created INTEGER NOT NULL,
		updated INTEGER NOT NULL,
		PRIMARY KEY (kind, key)
	) WITHOUT ROWID;
	CREATE INDEX resources_parent ON resources (kind, parent, key);
	CREATE TABLE events (
		seq            INTEGER PRIMARY KEY AUTOINCREMENT,
		id             TEXT NOT NULL UNIQUE,
		source         TEXT NOT NULL,
		tenant         TEXT NOT NULL DEFAULT '',
		subscription   TEXT NOT NULL DEFAULT '',
		resource_group TEXT NOT NULL DEFAULT '',
		resource_id    TEXT NOT NULL DEFAULT '',
		time           INTEGER NOT NULL,
		body           BLOB NOT NULL,
		extra          BLOB
	);
	CREATE INDEX events_time ON events (time);`,
	`CREATE TABLE queue (
		action   TEXT NOT NULL,
		seq      INTEGER NOT NULL,
		event_id TEXT NOT NULL,
		enqueued INTEGER NOT NULL,
		PRIMARY KEY (action, seq)
	) WITHOUT ROWID;
	CREATE INDEX queue_seq ON queue (seq);
	CREATE TABLE queue_state (
		action        TEXT PRIMARY KEY,
		depth         INTEGER NOT NULL DEFAULT 0,
		attempts      INTEGER NOT NULL DEFAULT 0,
		next_attempt  INTEGER NOT NULL DEFAULT 0,
		first_failure INTEGER NOT NULL DEFAULT 0,
		last_error    TEXT NOT NULL DEFAULT ''
	) WITHOUT ROWID;
	CREATE INDEX queue_state_due ON queue_state (next_attempt) WHERE depth > 0;
	CREATE TABLE dead_letters (
		id        INTEGER PRIMARY KEY AUTOINCREMENT,
		action    TEXT NOT NULL,
		seq       INTEGER NOT NULL,
		event_id  TEXT NOT NULL,
		source    TEXT NOT NULL,
		reason    TEXT NOT NULL,
		attempts  INTEGER NOT NULL,
		failed_at INTEGER NOT NULL,
		body      BLOB NOT NULL
	);
	CREATE INDEX dead_letters_action ON dead_letters (action, id);`,
	`ALTER TABLE events ADD COLUMN target TEXT NOT NULL DEFAULT '';`,
	`ALTER TABLE queue ADD COLUMN body BLOB;`,
	// resources becomes a rowid table: bodies of 1–2 KB overflow the
	// pages of a WITHOUT ROWID b-tree, which made every write ~30% dearer.
	`CREATE TABLE resources_rowid (
		kind    TEXT NOT NULL,
		key     TEXT NOT NULL,
		id      TEXT NOT NULL,
		parent  TEXT NOT NULL DEFAULT '',
		body    BLOB NOT NULL,
		etag    TEXT NOT NULL DEFAULT '',
		created INTEGER NOT NULL,
		updated INTEGER NOT NULL,
		PRIMARY KEY (kind, key)
	);
	INSERT INTO resources_rowid (kind, key, id, parent, body, etag, created, updated)
		SELECT kind, key, id, parent, body, etag, created, updated FROM resources;
	DROP TABLE resources;
	ALTER TABLE resources_rowid RENAME TO resources;
	CREATE INDEX resources_parent ON resources (kind, parent, key);`,
	// Records without a parent (most of them) stay out of the parent
	// index: one b-tree insert less per write. Queries by parent state
	// parent != '' so that the planner can use the partial index.
	`DROP INDEX resources_parent;
	CREATE INDEX resources_parent ON resources (kind, parent, key) WHERE parent != '';`,
	// Queue runs: the entries one batched enqueue makes for one action, in
	// one row (see queueruns.go).
	`CREATE TABLE queue_runs (
		action   TEXT NOT NULL,
		first    INTEGER NOT NULL,
		last     INTEGER NOT NULL,
		n        INTEGER NOT NULL,
		enqueued INTEGER NOT NULL,
		seqs     BLOB NOT NULL
	);
	CREATE UNIQUE INDEX queue_runs_head ON queue_runs (action, first);`,
}

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var have int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this binary (%d)", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, v, time.Now().Unix()); err != nil {
			tx.Rollback()
			return fmt.Errorf("record migration %d: %w", v, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit migration %d: %w", v, err)
		}
	}
	return nil
}
