package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// PingWrite commits a one-row write through the committer, as every write
// is: it fails when the store can be read but not written (a full disk, a
// file grown past its limit, a read-only file system), which Ping cannot
// see. It is not counted as a query.
func (db *DB) PingWrite(ctx context.Context) error {
	now := time.Now().UnixNano()
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO health (id, checked) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET checked = excluded.checked`, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("write to sqlite: %w", err)
	}
	return nil
}
