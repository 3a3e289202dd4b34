package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/confab/confab"
	"github.com/jackc/pgx/v5"
)

const scheduledCols = `id, channel_id, user_id, post_at, created, text, thread_ts, broadcast,
	blocks, attachments, metadata, username, icon_emoji, icon_url, claimed_until`

func scanScheduled(s pgx.Row) (*confab.ScheduledMessage, error) {
	var m confab.ScheduledMessage
	err := s.Scan(&m.ID, &m.ChannelID, &m.UserID, &m.PostAt, &m.Created, &m.Text, &m.ThreadTS, &m.Broadcast,
		&m.Blocks, &m.Attachments, &m.Metadata, &m.Username, &m.IconEmoji, &m.IconURL, &m.ClaimedUntil)
	return &m, err
}

// CreateScheduledMessage takes two transaction-scoped advisory locks, the
// channel's then the user's (always in that order: no deadlock), so that
// concurrent schedulers of the same channel or user count one after the
// other and the bounds hold.
func (db *DB) CreateScheduledMessage(ctx context.Context, m *confab.ScheduledMessage) error {
	db.queries.Write("CreateScheduledMessage")
	sm := confab.PrepareScheduled(*m)
	err := db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			`SELECT pg_advisory_xact_lock(hashtextextended('scheduled_messages channel ' || $1::text, 0)),
			        pg_advisory_xact_lock(hashtextextended('scheduled_messages user ' || $2::text, 0))`,
			sm.ChannelID, sm.UserID); err != nil {
			return fmt.Errorf("lock scheduled messages of %s: %w", sm.ChannelID, ctxErr(ctx, err))
		}
		start, end := confab.ScheduleWindowOf(sm.PostAt)
		var inWindow, ofUser int
		if err := tx.QueryRow(ctx,
			`SELECT (SELECT count(*) FROM scheduled_messages WHERE channel_id = $1 AND post_at >= $2 AND post_at < $3),
			        (SELECT count(*) FROM scheduled_messages WHERE user_id = $4)`,
			sm.ChannelID, start, end, sm.UserID).Scan(&inWindow, &ofUser); err != nil {
			return fmt.Errorf("count scheduled messages: %w", ctxErr(ctx, err))
		}
		if inWindow >= confab.MaxScheduledPerWindow || ofUser >= confab.MaxScheduledPerUser {
			return confab.ErrRestrictedTooMany
		}
		_, err := tx.Exec(ctx, `INSERT INTO scheduled_messages (`+scheduledCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			sm.ID, sm.ChannelID, sm.UserID, sm.PostAt, sm.Created, sm.Text, sm.ThreadTS, sm.Broadcast,
			sm.Blocks, sm.Attachments, sm.Metadata, sm.Username, sm.IconEmoji, sm.IconURL, sm.ClaimedUntil)
		if isForeignKey(err) {
			return confab.ErrUserNotFound
		} else if err != nil {
			return fmt.Errorf("insert scheduled message %s: %w", sm.ID, ctxErr(ctx, err))
		}
		return nil
	})
	if err != nil {
		return err
	}
	*m = sm
	return nil
}

func (db *DB) FindScheduledMessages(ctx context.Context, f confab.ScheduledFilter) ([]*confab.ScheduledMessage, error) {
	db.queries.Read("FindScheduledMessages")
	q := `SELECT ` + scheduledCols + ` FROM scheduled_messages WHERE user_id = $1`
	args := []any{f.UserID}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.ChannelID != "" {
		q += ` AND channel_id = ` + arg(f.ChannelID)
	}
	if f.Oldest != 0 {
		q += ` AND post_at >= ` + arg(f.Oldest)
	}
	if f.Latest != 0 {
		q += ` AND post_at <= ` + arg(f.Latest)
	}
	if f.AfterID != "" {
		q += ` AND (post_at, id) > (` + arg(f.AfterPostAt) + `, ` + arg(f.AfterID) + `)`
	}
	q += ` ORDER BY post_at, id LIMIT ` + arg(limit(f.Limit))
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find scheduled messages of %s: %w", f.UserID, ctxErr(ctx, err))
	}
	out, err := collect(rows, scanScheduled)
	if err != nil {
		return nil, fmt.Errorf("find scheduled messages of %s: %w", f.UserID, ctxErr(ctx, err))
	}
	return out, nil
}

// DeleteScheduledMessage is one statement: it and a claim (an UPDATE of
// the same row) take the row lock in turn, and each rechecks
// claimed_until after the other's commit.
func (db *DB) DeleteScheduledMessage(ctx context.Context, id, userID, channelID string) error {
	db.queries.Write("DeleteScheduledMessage")
	if err := ctx.Err(); err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx,
		`DELETE FROM scheduled_messages WHERE id = $1 AND user_id = $2 AND channel_id = $3 AND claimed_until = 0`,
		id, userID, channelID)
	if err != nil {
		return fmt.Errorf("delete scheduled message %s: %w", id, ctxErr(ctx, err))
	}
	if tag.RowsAffected() == 0 {
		return confab.ErrInvalidScheduledID
	}
	return nil
}

// ClaimScheduledMessages is one statement. SKIP LOCKED passes over the
// rows another claimer is taking; a row another claimer took and
// committed first is rechecked after its lock and no longer qualifies.
func (db *DB) ClaimScheduledMessages(ctx context.Context, now, until int64, n int) ([]*confab.ScheduledMessage, error) {
	db.queries.Write("ClaimScheduledMessages")
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx,
		`UPDATE scheduled_messages SET claimed_until = $1 WHERE id IN (
			SELECT id FROM scheduled_messages WHERE post_at <= $2 AND claimed_until <= $2
			ORDER BY post_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		AND post_at <= $2 AND claimed_until <= $2
		RETURNING `+scheduledCols, until, now, limit(n))
	if err != nil {
		return nil, fmt.Errorf("claim scheduled messages: %w", ctxErr(ctx, err))
	}
	out, err := collect(rows, scanScheduled)
	if err != nil {
		return nil, fmt.Errorf("claim scheduled messages: %w", ctxErr(ctx, err))
	}
	slices.SortFunc(out, confab.CompareScheduled)
	return out, nil
}

func (db *DB) FinishScheduledMessage(ctx context.Context, id string) error {
	db.queries.Write("FinishScheduledMessage")
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM scheduled_messages WHERE id = $1`, id); err != nil {
		return fmt.Errorf("finish scheduled message %s: %w", id, ctxErr(ctx, err))
	}
	return nil
}
