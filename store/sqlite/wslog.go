package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/confab/confab"
)

// appendEvent appends ev to its workspace's event log in the write
// transaction tx, at the workspace's next seq; a zero ev.Time becomes
// now. Every write that logs a change (confab.Store, "Workspace event
// log") calls it after the change, in the same writeFunc, so the event
// commits with the change or not at all: a write rolled back to its
// savepoint takes its event, and its seq, with it.
//
// MAX(seq)+1 is safe: the committer is SQLite's only writer, so no other
// transaction can take the same seq, and a batch's writes, run one after
// the other in one transaction, see each other's events.
func appendEvent(ctx context.Context, tx queryer, ev confab.WorkspaceEvent) error {
	if ev.Time == 0 {
		ev.Time = time.Now().UnixMicro()
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO workspace_events (workspace_id, seq, kind, channel_id, user_id, time)
		 SELECT ?, coalesce(max(seq), 0) + 1, ?, ?, ?, ? FROM workspace_events WHERE workspace_id = ?`,
		ev.WorkspaceID, ev.Kind, ev.ChannelID, ev.UserID, ev.Time, ev.WorkspaceID)
	if err != nil {
		return fmt.Errorf("append %s to the log of %s: %w", ev.Kind, ev.WorkspaceID, err)
	}
	return nil
}

// channelEvent appends an event of a channel's workspace, found from the
// channel's row.
func channelEvent(ctx context.Context, tx queryer, kind, channelID, userID string) error {
	var ws string
	if err := tx.QueryRowContext(ctx, `SELECT workspace_id FROM channels WHERE id = ?`, channelID).Scan(&ws); err != nil {
		return fmt.Errorf("append %s of %s: %w", kind, channelID, err)
	}
	return appendEvent(ctx, tx, confab.WorkspaceEvent{WorkspaceID: ws, Kind: kind, ChannelID: channelID, UserID: userID})
}

// workspaceEventsQuery pages a workspace's log: a range scan of the
// primary key from (workspace_id, after).
const workspaceEventsQuery = `SELECT workspace_id, seq, kind, channel_id, user_id, time FROM workspace_events
	WHERE workspace_id = ? AND seq > ? ORDER BY seq LIMIT ?`

func (db *DB) FindWorkspaceEvents(ctx context.Context, workspaceID string, after int64, n int) ([]confab.WorkspaceEvent, error) {
	db.queries.Read("FindWorkspaceEvents")
	out, err := queryAll(ctx, db.rdb, func(s scanner) (e confab.WorkspaceEvent, err error) {
		return e, s.Scan(&e.WorkspaceID, &e.Seq, &e.Kind, &e.ChannelID, &e.UserID, &e.Time)
	}, workspaceEventsQuery, workspaceID, after, limit(n))
	if err != nil {
		return nil, fmt.Errorf("find events of %s: %w", workspaceID, err)
	}
	return out, nil
}
