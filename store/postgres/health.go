package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"
)

// healthPadBytes is how much PingWrite writes: more than most messages, so
// that a database too full to take a message refuses the check too.
const healthPadBytes = 64 << 10

// PingWrite commits a write of healthPadBytes of random bytes (which TOAST
// cannot compress): it fails when the database can be read but not
// written (a full disk, a read-only standby), which Ping cannot see. It is
// not counted as a query.
func (db *DB) PingWrite(ctx context.Context) error {
	pad := make([]byte, healthPadBytes)
	rand.Read(pad)
	if _, err := db.pool.Exec(ctx, `INSERT INTO health (id, checked, pad) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET checked = excluded.checked, pad = excluded.pad`, time.Now().UnixNano(), pad); err != nil {
		return fmt.Errorf("write to postgres: %w", ctxErr(ctx, err))
	}
	return nil
}
