package workspace

import (
	"database/sql"

	"sluice/internal/walcheck"
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

// startCheckpointer checkpoints a workspace database beside its writer
// (see package walcheck), on a reader connection.
func startCheckpointer(db *sql.DB) *walcheck.Checkpointer {
	return walcheck.Start(db, walcheck.Options{CheckpointBytes: checkpointBytes, RestartBytes: restartBytes, Name: "workspace"})
}
