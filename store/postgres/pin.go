package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
)

const (
	// pinsQuery scans pins_version (channel_id, version) back from the
	// channel's latest pin.
	pinsQuery = `SELECT message_ts, user_id, created FROM pins WHERE channel_id = $1 ORDER BY version DESC`
	// pinnedMessagesQuery is pinsQuery with each pin's message, sought by
	// messages_ts, and its current reactions as withReactions reads them:
	// one statement, one snapshot.
	pinnedMessagesQuery = `SELECT p.user_id, p.created,
		m.channel_id, m.seq, m.ts, m.user_id, m.text, m.thread_ts, m.client_msg_id, m.edited_ts,
		m.deleted, m.change_seq, m.num, m.reply_count, m.latest_reply,
		m.blocks, m.attachments, m.metadata, m.username, m.icon_emoji, m.icon_url, m.broadcast, m.subtype,
		r.names, r.users, r.seqs
	FROM pins AS p
	JOIN messages AS m ON m.channel_id = p.channel_id AND m.ts = p.message_ts
	LEFT JOIN LATERAL (
		SELECT array_agg(name) AS names, array_agg(user_id) AS users, array_agg(seq) AS seqs
		FROM reactions WHERE channel_id = m.channel_id AND message_seq = m.seq AND NOT removed
	) r ON true
	WHERE p.channel_id = $1 ORDER BY p.version DESC`
)

// AddPin pins a live message (see confab.Store). It locks the channel row
// first, as every change of the channel's content does: a concurrent
// delete of the message, or another pin, waits for it, so the checks see
// the state they change.
func (db *DB) AddPin(ctx context.Context, p *confab.Pin) error {
	db.queries.Write("AddPin")
	return db.tx(ctx, func(tx pgx.Tx) error {
		var count int
		var version int64
		err := tx.QueryRow(ctx, `SELECT pin_count, pin_version FROM channels WHERE id = $1 FOR UPDATE`,
			p.ChannelID).Scan(&count, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			return confab.ErrMessageNotFound
		} else if err != nil {
			return fmt.Errorf("add pin %s/%d: %w", p.ChannelID, p.MessageTS, ctxErr(ctx, err))
		}
		if _, err := liveMessage(ctx, tx, p.ChannelID, p.MessageTS); err != nil {
			return err
		}
		var pinned bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pins WHERE channel_id = $1 AND message_ts = $2)`,
			p.ChannelID, p.MessageTS).Scan(&pinned); err != nil {
			return fmt.Errorf("add pin %s/%d: %w", p.ChannelID, p.MessageTS, ctxErr(ctx, err))
		}
		if pinned {
			return confab.ErrAlreadyPinned
		}
		if count >= confab.MaxPins {
			return confab.ErrTooManyPins
		}
		if _, err := tx.Exec(ctx,
			`UPDATE channels SET pin_count = pin_count + 1, pin_version = pin_version + 1 WHERE id = $1`,
			p.ChannelID); err != nil {
			return fmt.Errorf("add pin %s/%d: %w", p.ChannelID, p.MessageTS, ctxErr(ctx, err))
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO pins (channel_id, message_ts, user_id, created, version) VALUES ($1, $2, $3, $4, $5)`,
			p.ChannelID, p.MessageTS, p.UserID, p.Created, version+1); err != nil {
			return fmt.Errorf("add pin %s/%d: %w", p.ChannelID, p.MessageTS, ctxErr(ctx, err))
		}
		return nil
	})
}

// RemovePin unpins a message (see confab.Store).
func (db *DB) RemovePin(ctx context.Context, channelID string, ts int64) error {
	db.queries.Write("RemovePin")
	return db.tx(ctx, func(tx pgx.Tx) error {
		// The channel row first, as AddPin and DeleteMessage lock it.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM channels WHERE id = $1 FOR UPDATE`, channelID); err != nil {
			return fmt.Errorf("remove pin %s/%d: %w", channelID, ts, ctxErr(ctx, err))
		}
		removed, err := unpin(ctx, tx, channelID, ts)
		if err != nil {
			return err
		}
		if !removed {
			return confab.ErrNoPin
		}
		return nil
	})
}

// unpin removes a message's pin, if it has one, and counts it off the
// channel's pins, in a transaction that holds the channel row; removed
// says whether it had one.
func unpin(ctx context.Context, tx pgx.Tx, channelID string, ts int64) (removed bool, err error) {
	tag, err := tx.Exec(ctx, `DELETE FROM pins WHERE channel_id = $1 AND message_ts = $2`, channelID, ts)
	if err != nil {
		return false, fmt.Errorf("remove pin %s/%d: %w", channelID, ts, ctxErr(ctx, err))
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if _, err := tx.Exec(ctx,
		`UPDATE channels SET pin_count = GREATEST(pin_count - 1, 0), pin_version = pin_version + 1 WHERE id = $1`,
		channelID); err != nil {
		return false, fmt.Errorf("remove pin %s/%d: %w", channelID, ts, ctxErr(ctx, err))
	}
	return true, nil
}

// FindPins lists a channel's pins in one statement (pinsQuery, or
// pinnedMessagesQuery with their messages).
func (db *DB) FindPins(ctx context.Context, channelID string, messages bool) ([]*confab.Pin, error) {
	db.queries.Read("FindPins")
	query := pinsQuery
	if messages {
		query = pinnedMessagesQuery
	}
	rows, err := db.pool.Query(ctx, query, channelID)
	if err != nil {
		return nil, fmt.Errorf("find pins of %s: %w", channelID, ctxErr(ctx, err))
	}
	out, err := collect(rows, func(row pgx.Row) (*confab.Pin, error) {
		p := &confab.Pin{ChannelID: channelID}
		if !messages {
			return p, row.Scan(&p.MessageTS, &p.UserID, &p.Created)
		}
		m, err := scanWithReactions(prefixed{row, []any{&p.UserID, &p.Created}})
		if err != nil {
			return nil, err
		}
		p.MessageTS, p.Message = m.TS, m
		return p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("find pins of %s: %w", channelID, ctxErr(ctx, err))
	}
	return out, nil
}

// prefixed scans a row's first columns into pre, the rest into what Scan
// is given.
type prefixed struct {
	row pgx.Row
	pre []any
}

func (p prefixed) Scan(dest ...any) error { return p.row.Scan(append(p.pre, dest...)...) }
