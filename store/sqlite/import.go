package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/confab/confab"
)

// ImportMessages stores an import's messages in one write (see
// confab.Store). The channel's counters are read once and written once;
// between, each message is one insert (and its reactions', mentions' and
// index rows): the per-post statements of CreateMessage that keep the
// counters are not repeated per message.
func (db *DB) ImportMessages(ctx context.Context, channelID string, msgs []*confab.Message) (int, error) {
	db.queries.Write("ImportMessages")
	in, err := confab.PrepareImport(channelID, msgs)
	if err != nil {
		return 0, err
	}
	// Search documents are made here, not in the committer.
	docs := make([]*indexDoc, len(in))
	for i := range in {
		if !confab.IsSystemSubtype(in[i].Subtype) {
			docs[i] = makeIndexDoc(&in[i], &db.vocab)
		}
	}
	var created int
	err = db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		created = 0
		var lastSeq, lastTS, count, searchNum int64
		err := tx.QueryRowContext(ctx, `SELECT last_seq, last_ts, message_count, search_num FROM channels WHERE id = ?`,
			channelID).Scan(&lastSeq, &lastTS, &count, &searchNum)
		if errors.Is(err, sql.ErrNoRows) {
			return confab.ErrChannelNotFound
		} else if err != nil {
			return fmt.Errorf("import into %s: %w", channelID, err)
		}
		if searchNum == 0 {
			if searchNum, err = channelNum(ctx, tx, channelID, true); err != nil {
				return fmt.Errorf("import into %s: %w", channelID, err)
			}
		}
		var top *confab.Message // the latest top-level message stored
		for i := range in {
			m := &in[i]
			if m.TS <= lastTS {
				var one int
				err := tx.QueryRowContext(ctx, `SELECT 1 FROM messages WHERE channel_id = ? AND ts = ?`, channelID, m.TS).Scan(&one)
				if err == nil {
					continue // imported before
				} else if !errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("import into %s: %w", channelID, err)
				}
				return confab.ErrImportTooOld
			}
			lastSeq++
			lastTS = m.TS
			if m.ThreadTS == 0 {
				count++
				top = m
			}
			m.Seq, m.ChangeSeq, m.Num = lastSeq, lastSeq, count
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO messages (channel_id, seq, ts, user_id, text, thread_ts, client_msg_id, edited_ts, change_seq, num,
					blocks, attachments, metadata, username, icon_emoji, icon_url, broadcast, subtype)
				 VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				channelID, m.Seq, m.TS, m.UserID, m.Text, m.ThreadTS, m.EditedTS, m.ChangeSeq, m.Num,
				m.Blocks, m.Attachments, m.Metadata, m.Username, m.IconEmoji, m.IconURL, m.Broadcast, m.Subtype); err != nil {
				return fmt.Errorf("import into %s: message %d: %w", channelID, m.TS, err)
			}
			if m.ThreadTS != 0 {
				if _, err := tx.ExecContext(ctx,
					`UPDATE messages SET reply_count = reply_count + 1, latest_reply = max(latest_reply, ?)
					 WHERE channel_id = ? AND ts = ?`,
					m.TS, channelID, m.ThreadTS); err != nil {
					return fmt.Errorf("import into %s: thread parent: %w", channelID, err)
				}
			}
			for _, r := range m.Reactions {
				for _, u := range r.Users {
					lastSeq++
					if _, err := tx.ExecContext(ctx,
						`INSERT INTO reactions (channel_id, message_seq, message_ts, name, user_id, seq, removed)
						 VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING`,
						channelID, m.Seq, m.TS, r.Name, u, lastSeq); err != nil {
						return fmt.Errorf("import into %s: reaction: %w", channelID, err)
					}
				}
			}
			if err := writeMentions(ctx, tx, m, nil, false); err != nil {
				return err
			}
			if docs[i] != nil {
				if err := indexMessage(ctx, tx, m, searchNum, docs[i], true); err != nil {
					return err
				}
			}
			created++
		}
		if created == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE channels SET last_seq = ?, last_ts = ?, message_count = ? WHERE id = ?`,
			lastSeq, lastTS, count, channelID); err != nil {
			return fmt.Errorf("import into %s: %w", channelID, err)
		}
		if top != nil {
			// Nothing imported is unread.
			if _, err := tx.ExecContext(ctx,
				`UPDATE memberships SET last_read_seq = ?, last_read_ts = ?, last_read_count = ?
				 WHERE channel_id = ? AND last_read_seq < ?`,
				top.Seq, top.TS, top.Num, channelID, top.Seq); err != nil {
				return fmt.Errorf("import into %s: read markers: %w", channelID, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, d := range docs {
		if d != nil {
			db.vocab.add(d.tokens)
		}
	}
	return created, nil
}
