package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/confab/confab"
)

const scheduledCols = `id, channel_id, user_id, post_at, created, text, thread_ts, broadcast,
	blocks, attachments, metadata, username, icon_emoji, icon_url, claimed_until`

func scanScheduled(s scanner) (*confab.ScheduledMessage, error) {
	var m confab.ScheduledMessage
	err := s.Scan(&m.ID, &m.ChannelID, &m.UserID, &m.PostAt, &m.Created, &m.Text, &m.ThreadTS, &m.Broadcast,
		&m.Blocks, &m.Attachments, &m.Metadata, &m.Username, &m.IconEmoji, &m.IconURL, &m.ClaimedUntil)
	return &m, err
}

// CreateScheduledMessage counts and inserts in the one write transaction:
// writes are serialized, so the bounds hold against concurrent callers.
func (db *DB) CreateScheduledMessage(ctx context.Context, m *confab.ScheduledMessage) error {
	db.queries.Write("CreateScheduledMessage")
	sm := confab.PrepareScheduled(*m)
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		start, end := confab.ScheduleWindowOf(sm.PostAt)
		var inWindow, ofUser int
		if err := tx.QueryRowContext(ctx,
			`SELECT count(*) FROM scheduled_messages WHERE channel_id = ? AND post_at >= ? AND post_at < ?`,
			sm.ChannelID, start, end).Scan(&inWindow); err != nil {
			return fmt.Errorf("count scheduled in %s: %w", sm.ChannelID, err)
		}
		if err := tx.QueryRowContext(ctx,
			`SELECT count(*) FROM scheduled_messages WHERE user_id = ?`, sm.UserID).Scan(&ofUser); err != nil {
			return fmt.Errorf("count scheduled of %s: %w", sm.UserID, err)
		}
		if inWindow >= confab.MaxScheduledPerWindow || ofUser >= confab.MaxScheduledPerUser {
			return confab.ErrRestrictedTooMany
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO scheduled_messages (`+scheduledCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sm.ID, sm.ChannelID, sm.UserID, sm.PostAt, sm.Created, sm.Text, sm.ThreadTS, boolInt(sm.Broadcast),
			sm.Blocks, sm.Attachments, sm.Metadata, sm.Username, sm.IconEmoji, sm.IconURL, sm.ClaimedUntil)
		if isForeignKey(err) {
			return confab.ErrUserNotFound
		} else if err != nil {
			return fmt.Errorf("insert scheduled message %s: %w", sm.ID, err)
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
	q := `SELECT ` + scheduledCols + ` FROM scheduled_messages WHERE user_id = ?`
	args := []any{f.UserID}
	if f.ChannelID != "" {
		q += ` AND channel_id = ?`
		args = append(args, f.ChannelID)
	}
	if f.Oldest != 0 {
		q += ` AND post_at >= ?`
		args = append(args, f.Oldest)
	}
	if f.Latest != 0 {
		q += ` AND post_at <= ?`
		args = append(args, f.Latest)
	}
	if f.AfterID != "" {
		q += ` AND (post_at, id) > (?, ?)`
		args = append(args, f.AfterPostAt, f.AfterID)
	}
	q += ` ORDER BY post_at, id LIMIT ?`
	args = append(args, limit(f.Limit))
	out, err := queryAll(ctx, db.rdb, scanScheduled, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find scheduled messages of %s: %w", f.UserID, err)
	}
	return out, nil
}

func (db *DB) DeleteScheduledMessage(ctx context.Context, id, userID, channelID string) error {
	db.queries.Write("DeleteScheduledMessage")
	return db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		res, err := tx.ExecContext(ctx,
			`DELETE FROM scheduled_messages WHERE id = ? AND user_id = ? AND channel_id = ? AND claimed_until = 0`,
			id, userID, channelID)
		if err != nil {
			return fmt.Errorf("delete scheduled message %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return confab.ErrInvalidScheduledID
		}
		return nil
	})
}

func (db *DB) ClaimScheduledMessages(ctx context.Context, now, until int64, n int) ([]*confab.ScheduledMessage, error) {
	db.queries.Write("ClaimScheduledMessages")
	var claimed []*confab.ScheduledMessage
	// The scheduler's poll, every second: not live traffic an import
	// would yield to (the posts it claims are).
	err := db.background(ctx, func(ctx context.Context, tx *sql.Conn) error {
		var err error
		claimed, err = queryAll(ctx, tx, scanScheduled,
			`UPDATE scheduled_messages SET claimed_until = ? WHERE id IN (
				SELECT id FROM scheduled_messages WHERE post_at <= ? AND claimed_until <= ?
				ORDER BY post_at, id LIMIT ?)
			RETURNING `+scheduledCols, until, now, now, limit(n))
		if err != nil {
			return fmt.Errorf("claim scheduled messages: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(claimed, confab.CompareScheduled)
	return claimed, nil
}

func (db *DB) FinishScheduledMessage(ctx context.Context, id string) error {
	db.queries.Write("FinishScheduledMessage")
	return db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM scheduled_messages WHERE id = ?`, id); err != nil {
			return fmt.Errorf("finish scheduled message %s: %w", id, err)
		}
		return nil
	})
}
