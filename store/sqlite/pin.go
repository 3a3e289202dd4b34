package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/confab/confab"
)

// pinsQuery scans pins_version (channel_id, version) back from the
// channel's latest pin.
const pinsQuery = `SELECT message_ts, user_id, created FROM pins
	WHERE channel_id = ? ORDER BY version DESC`

// pinnedMessagesQuery is pinsQuery with each pin's message, sought by
// messages_ts (channel_id, ts).
const pinnedMessagesQuery = `SELECT p.message_ts, p.user_id, p.created, ` + pinnedMessageCols + `
	FROM pins AS p JOIN messages AS m ON m.channel_id = p.channel_id AND m.ts = p.message_ts
	WHERE p.channel_id = ? ORDER BY p.version DESC`

const pinnedMessageCols = `m.channel_id, m.seq, m.ts, m.user_id, m.text, m.thread_ts, m.client_msg_id,
	m.edited_ts, m.deleted, m.change_seq, m.num, m.reply_count, m.latest_reply,
	m.blocks, m.attachments, m.metadata, m.username, m.icon_emoji, m.icon_url, m.broadcast, m.subtype`

// AddPin pins a live message (see confab.Store): the pin, the channel's
// count and version in one transaction.
func (db *DB) AddPin(ctx context.Context, p *confab.Pin) error {
	db.queries.Write("AddPin")
	in := *p
	in.Message = nil
	return db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		if _, err := liveMessage(ctx, tx, in.ChannelID, in.MessageTS); err != nil {
			return err
		}
		var pinned bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pins WHERE channel_id = ? AND message_ts = ?)`,
			in.ChannelID, in.MessageTS).Scan(&pinned); err != nil {
			return fmt.Errorf("add pin %s/%d: %w", in.ChannelID, in.MessageTS, err)
		}
		if pinned {
			return confab.ErrAlreadyPinned
		}
		var count int
		var version int64
		if err := tx.QueryRowContext(ctx, `SELECT pin_count, pin_version FROM channels WHERE id = ?`,
			in.ChannelID).Scan(&count, &version); err != nil {
			return fmt.Errorf("add pin %s/%d: %w", in.ChannelID, in.MessageTS, err)
		}
		if count >= confab.MaxPins {
			return confab.ErrTooManyPins
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE channels SET pin_count = pin_count + 1, pin_version = pin_version + 1 WHERE id = ?`,
			in.ChannelID); err != nil {
			return fmt.Errorf("add pin %s/%d: %w", in.ChannelID, in.MessageTS, err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO pins (channel_id, message_ts, user_id, created, version) VALUES (?, ?, ?, ?, ?)`,
			in.ChannelID, in.MessageTS, in.UserID, in.Created, version+1); err != nil {
			return fmt.Errorf("add pin %s/%d: %w", in.ChannelID, in.MessageTS, err)
		}
		return nil
	})
}

// RemovePin unpins a message (see confab.Store).
func (db *DB) RemovePin(ctx context.Context, channelID string, ts int64) error {
	db.queries.Write("RemovePin")
	return db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
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
// channel's pins; removed says whether it had one.
func unpin(ctx context.Context, tx *sql.Conn, channelID string, ts int64) (removed bool, err error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM pins WHERE channel_id = ? AND message_ts = ?`, channelID, ts)
	if err != nil {
		return false, fmt.Errorf("remove pin %s/%d: %w", channelID, ts, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("remove pin %s/%d: %w", channelID, ts, err)
	} else if n == 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx,
		`UPDATE channels SET pin_count = max(pin_count - 1, 0), pin_version = pin_version + 1 WHERE id = ?`,
		channelID); err != nil {
		return false, fmt.Errorf("remove pin %s/%d: %w", channelID, ts, err)
	}
	return true, nil
}

// FindPins lists a channel's pins: one scan of pins_version back from
// the latest pin, joined with each message by messages_ts when asked,
// then their reactions, in one read transaction.
func (db *DB) FindPins(ctx context.Context, channelID string, messages bool) ([]*confab.Pin, error) {
	db.queries.Read("FindPins")
	var out []*confab.Pin
	err := db.read(ctx, func(tx *sql.Tx) error {
		query := pinsQuery
		if messages {
			query = pinnedMessagesQuery
		}
		rows, err := tx.QueryContext(ctx, query, channelID)
		if err != nil {
			return fmt.Errorf("find pins of %s: %w", channelID, err)
		}
		defer rows.Close()
		var msgs []*confab.Message
		for rows.Next() {
			p := &confab.Pin{ChannelID: channelID}
			pin := []any{&p.MessageTS, &p.UserID, &p.Created}
			if messages {
				p.Message, err = scanMessage(prefixed{rows, pin})
				msgs = append(msgs, p.Message)
			} else {
				err = rows.Scan(pin...)
			}
			if err != nil {
				return fmt.Errorf("find pins of %s: %w", channelID, err)
			}
			out = append(out, p)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find pins of %s: %w", channelID, err)
		}
		return fillReactions(ctx, tx, channelID, msgs)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// prefixed scans a row's first columns into pre, the rest into what Scan
// is given.
type prefixed struct {
	s   scanner
	pre []any
}

func (p prefixed) Scan(dest ...any) error { return p.s.Scan(append(p.pre, dest...)...) }
