package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// healthPadBytes is how much PingWrite writes: more than most messages
// with their indexes, so that a store too full to take a message refuses
// the check too. (A one-row write of a few bytes fits in what a failed commit
// left free at the end of the WAL, and passes while posts fail.)
const healthPadBytes = 64 << 10

// PingWrite commits a write of healthPadBytes through the committer, as
// every write is: it fails when the store can be read but not written (a
// full disk, a file grown past its limit, a read-only file system), which
// Ping cannot see. It is not counted as a query.
func (db *DB) PingWrite(ctx context.Context) error {
	now := time.Now().UnixNano()
	err := db.background(ctx, func(ctx context.Context, tx *sql.Conn) error {
		// randomblob: pages of new content, which the WAL must take whole.
		_, err := tx.ExecContext(ctx, `INSERT INTO health (id, checked, pad) VALUES (1, ?, randomblob(?))
			ON CONFLICT (id) DO UPDATE SET checked = excluded.checked, pad = excluded.pad`, now, healthPadBytes)
		return err
	})
	if err != nil {
		return fmt.Errorf("write to sqlite: %w", err)
	}
	return nil
}
