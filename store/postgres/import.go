package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
)

// ImportMessages stores an import's messages in one transaction (see
// confab.Store): the channel row is locked and read once, the ts already
// there are found in one statement, and every row of the new messages
// (message, thread counts, reactions, search, mentions) goes in one
// batch: a few round trips per call, not per message.
func (db *DB) ImportMessages(ctx context.Context, channelID string, msgs []*confab.Message) (int, error) {
	db.queries.Write("ImportMessages")
	in, err := confab.PrepareImport(channelID, msgs)
	if err != nil {
		return 0, err
	}
	docs := make([]searchDoc, len(in))
	tss := make([]int64, len(in))
	for i := range in {
		docs[i] = newSearchDoc(&in[i])
		tss[i] = in[i].TS
	}
	var created int
	err = db.tx(ctx, func(tx pgx.Tx) error {
		created = 0
		var lastSeq, lastTS, count int64
		err := tx.QueryRow(ctx, `SELECT last_seq, last_ts, message_count FROM channels WHERE id = $1 FOR UPDATE`,
			channelID).Scan(&lastSeq, &lastTS, &count)
		if errors.Is(err, pgx.ErrNoRows) {
			return confab.ErrChannelNotFound
		} else if err != nil {
			return fmt.Errorf("import into %s: %w", channelID, err)
		}
		there := map[int64]bool{}
		if len(in) > 0 && in[0].TS <= lastTS {
			rows, err := tx.Query(ctx, `SELECT ts FROM messages WHERE channel_id = $1 AND ts = ANY($2)`, channelID, tss)
			if err != nil {
				return fmt.Errorf("import into %s: %w", channelID, err)
			}
			for rows.Next() {
				var ts int64
				if err := rows.Scan(&ts); err != nil {
					rows.Close()
					return fmt.Errorf("import into %s: %w", channelID, err)
				}
				there[ts] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("import into %s: %w", channelID, err)
			}
		}
		var b pgx.Batch
		var top *confab.Message
		for i := range in {
			m := &in[i]
			if there[m.TS] {
				continue
			}
			if m.TS <= lastTS {
				return confab.ErrImportTooOld
			}
			lastSeq++
			lastTS = m.TS
			if m.ThreadTS == 0 {
				count++
				top = m
			}
			m.Seq, m.ChangeSeq, m.Num = lastSeq, lastSeq, count
			b.Queue(`INSERT INTO messages (channel_id, seq, ts, user_id, text, thread_ts, client_msg_id, edited_ts, change_seq, num,
				blocks, attachments, metadata, username, icon_emoji, icon_url, broadcast, subtype)
				VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
				channelID, m.Seq, m.TS, m.UserID, m.Text, m.ThreadTS, m.EditedTS, m.ChangeSeq, m.Num,
				m.Blocks, m.Attachments, m.Metadata, m.Username, m.IconEmoji, m.IconURL, m.Broadcast, m.Subtype)
			if m.ThreadTS != 0 {
				b.Queue(`UPDATE messages SET reply_count = reply_count + 1, latest_reply = GREATEST(latest_reply, $3::bigint)
					WHERE channel_id = $1 AND ts = $2`, channelID, m.ThreadTS, m.TS)
			}
			for _, r := range m.Reactions {
				for _, u := range r.Users {
					lastSeq++
					b.Queue(`INSERT INTO reactions (channel_id, message_seq, message_ts, name, user_id, seq, removed)
						VALUES ($1, $2, $3, $4, $5, $6, false) ON CONFLICT DO NOTHING`,
						channelID, m.Seq, m.TS, r.Name, u, lastSeq)
				}
			}
			if !confab.IsSystemSubtype(m.Subtype) {
				d := docs[i]
				b.Queue(`INSERT INTO message_search (channel_id, seq, ts, user_id, has_link, reply, mentions, body, tsv)
					VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8, $9::text::tsvector)`,
					channelID, m.Seq, m.TS, m.UserID, d.hasLink, d.reply, d.mentions, d.body, d.tsv)
			}
			if args := mentionArgs(m, nil); args != nil {
				b.Queue(insertMentionsQuery, args...)
			}
			created++
		}
		if created == 0 {
			return nil
		}
		b.Queue(`UPDATE channels SET last_seq = $2, last_ts = $3, message_count = $4 WHERE id = $1`,
			channelID, lastSeq, lastTS, count)
		if top != nil {
			// Nothing imported is unread.
			b.Queue(`UPDATE memberships SET last_read_seq = $2, last_read_ts = $3, last_read_count = $4
				WHERE channel_id = $1 AND last_read_seq < $2`, channelID, top.Seq, top.TS, top.Num)
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("import into %s: %w", channelID, ctxErr(ctx, err))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return created, nil
}
