package postgres

import (
	"context"
	"fmt"
	"time"
)

// PingWrite commits a one-row write: it fails when the database can be
// read but not written (a full disk, a read-only standby), which Ping
// cannot see. It is not counted as a query.
func (db *DB) PingWrite(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, `INSERT INTO health (id, checked) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET checked = excluded.checked`, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("write to postgres: %w", ctxErr(ctx, err))
	}
	return nil
}
