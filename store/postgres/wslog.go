package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
)

// appendEvent appends ev to its workspace's event log in tx, at the
// workspace's next seq; a zero ev.Time becomes now. Every write that logs
// a change (confab.Store, "Workspace event log") calls it in the
// transaction of the change, so the event commits with the change or not
// at all. ENOTFOUND "team_not_found" if the workspace is unknown.
//
// The seq is the workspace row's event_seq, incremented by an UPDATE. That
// keeps the log gap-free in commit order: the UPDATE locks the row until
// tx ends, so a concurrent writer of the same workspace waits at its own
// UPDATE until tx has committed (and is visible: PostgreSQL releases a
// transaction's locks after making its commit visible) or rolled back,
// then, under READ COMMITTED, increments the value tx left. Two
// transactions never take the same seq, a rolled back one gives its seq
// back, and no seq becomes visible before a lower one: a reader following
// "seq > after" never passes a seq that commits later.
//
// Call it last in the transaction, after every other lock is taken: it
// serializes the workspace's logged writes until commit, and a
// transaction that waited for another lock while holding it could
// deadlock with one that holds that lock and waits for the seq. (The row
// lock is FOR NO KEY UPDATE: inserts that reference the workspace, which
// take FOR KEY SHARE, do not wait for it.)
func appendEvent(ctx context.Context, tx pgx.Tx, ev confab.WorkspaceEvent) error {
	if ev.Time == 0 {
		ev.Time = time.Now().UnixMicro()
	}
	tag, err := tx.Exec(ctx,
		`WITH next AS (UPDATE workspaces SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq)
		 INSERT INTO workspace_events (workspace_id, seq, kind, channel_id, user_id, time)
		 SELECT $1, event_seq, $2, $3, $4, $5 FROM next`,
		ev.WorkspaceID, ev.Kind, ev.ChannelID, ev.UserID, ev.Time)
	if err != nil {
		return fmt.Errorf("append %s to the log of %s: %w", ev.Kind, ev.WorkspaceID, ctxErr(ctx, err))
	}
	if tag.RowsAffected() == 0 {
		return confab.ErrTeamNotFound
	}
	return nil
}

// workspaceEventsQuery pages a workspace's log: a range scan of the
// primary key from (workspace_id, after).
const workspaceEventsQuery = `SELECT workspace_id, seq, kind, channel_id, user_id, time FROM workspace_events
	WHERE workspace_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`

func (db *DB) FindWorkspaceEvents(ctx context.Context, workspaceID string, after int64, n int) ([]confab.WorkspaceEvent, error) {
	db.queries.Read("FindWorkspaceEvents")
	rows, err := db.pool.Query(ctx, workspaceEventsQuery, workspaceID, after, limit(n))
	if err != nil {
		return nil, fmt.Errorf("find events of %s: %w", workspaceID, ctxErr(ctx, err))
	}
	out, err := collect(rows, func(r pgx.Row) (e confab.WorkspaceEvent, err error) {
		return e, r.Scan(&e.WorkspaceID, &e.Seq, &e.Kind, &e.ChannelID, &e.UserID, &e.Time)
	})
	if err != nil {
		return nil, fmt.Errorf("find events of %s: %w", workspaceID, ctxErr(ctx, err))
	}
	return out, nil
}
