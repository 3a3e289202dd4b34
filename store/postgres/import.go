package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
)

// ImportMessages stores an import's messages in one transaction (see
// confab.Store): the channel row is locked and read once, the ts already
// there are found in one statement, and the rows of the new messages go
// in one statement per table, each column an array (unnest), in one
// batch: a few round trips and a dozen statements per call, where a row
// a statement took most of the time in PostgreSQL's parsing and
// planning. Thread counts are worked out before: a parent in the batch
// goes in with its count, one of an earlier batch is updated once.
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
		cnt := confab.ImportCounters{LastSeq: lastSeq, LastTS: lastTS, Count: count}
		numbered, err := confab.NumberImport(in, there, &cnt)
		if err != nil {
			return err
		}
		fresh, top := numbered.Fresh, numbered.Top
		var rows importRows
		if len(fresh) == 0 {
			return nil
		}
		var b pgx.Batch
		var everyone [][]any // mentions of the whole channel
		for _, i := range fresh {
			m := &in[i]
			rows.message(m, numbered.ParentReplies(m))
			seq := m.Seq
			for _, r := range m.Reactions {
				for _, u := range r.Users {
					seq++
					rows.reaction(m, r.Name, u, seq)
				}
			}
			if !confab.IsSystemSubtype(m.Subtype) {
				rows.search(m, &docs[i])
				if args := mentionArgs(m, nil); args != nil {
					if args[3].(bool) { // the whole channel: a post's statement
						everyone = append(everyone, args)
					} else {
						rows.mentions(m, docs[i].mentions)
					}
				}
			}
		}
		rows.queue(&b, channelID)
		for _, args := range everyone {
			b.Queue(insertMentionsQuery, args...)
		}
		// Threads whose parent came in an earlier batch.
		for _, ts := range slices.Sorted(maps.Keys(numbered.Replies)) {
			if t := numbered.Replies[ts]; t.N > 0 {
				b.Queue(`UPDATE messages SET reply_count = reply_count + $3, latest_reply = GREATEST(latest_reply, $4::bigint)
					WHERE channel_id = $1 AND ts = $2`, channelID, ts, t.N, t.Latest)
			}
		}
		created = len(fresh)
		b.Queue(`UPDATE channels SET last_seq = $2, last_ts = $3, message_count = $4 WHERE id = $1`,
			channelID, cnt.LastSeq, cnt.LastTS, cnt.Count)
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

// importRows are the rows of an import's new messages, column by column:
// each table's go in one INSERT … SELECT FROM unnest(…).
type importRows struct {
	// messages
	seq, ts, threadTS, editedTS, num, replyCount, latestReply []int64
	user, text, blocks, attachments, metadata, username       []string
	iconEmoji, iconURL, subtype                               []string
	broadcast                                                 []bool
	// reactions
	rSeq, rMsgSeq, rMsgTS []int64
	rName, rUser          []string
	// message_search
	sSeq, sTS          []int64
	sUser, sBody, sTSV []string
	sMentions          []string // each a JSON array
	sLink, sReply      []bool
	// mentions by name
	mSeq  []int64
	mUser []string
}

func (r *importRows) message(m *confab.Message, t confab.ThreadReplies) {
	r.seq, r.ts, r.threadTS = append(r.seq, m.Seq), append(r.ts, m.TS), append(r.threadTS, m.ThreadTS)
	r.editedTS, r.num = append(r.editedTS, m.EditedTS), append(r.num, m.Num)
	r.replyCount, r.latestReply = append(r.replyCount, t.N), append(r.latestReply, t.Latest)
	r.user, r.text, r.blocks = append(r.user, m.UserID), append(r.text, m.Text), append(r.blocks, m.Blocks)
	r.attachments, r.metadata = append(r.attachments, m.Attachments), append(r.metadata, m.Metadata)
	r.username, r.iconEmoji, r.iconURL = append(r.username, m.Username), append(r.iconEmoji, m.IconEmoji), append(r.iconURL, m.IconURL)
	r.subtype, r.broadcast = append(r.subtype, m.Subtype), append(r.broadcast, m.Broadcast)
}

func (r *importRows) reaction(m *confab.Message, name, user string, seq int64) {
	r.rSeq, r.rMsgSeq, r.rMsgTS = append(r.rSeq, seq), append(r.rMsgSeq, m.Seq), append(r.rMsgTS, m.TS)
	r.rName, r.rUser = append(r.rName, name), append(r.rUser, user)
}

func (r *importRows) search(m *confab.Message, d *searchDoc) {
	mentioned, _ := json.Marshal(d.mentions)
	r.sSeq, r.sTS, r.sUser = append(r.sSeq, m.Seq), append(r.sTS, m.TS), append(r.sUser, m.UserID)
	r.sBody, r.sTSV, r.sMentions = append(r.sBody, d.body), append(r.sTSV, d.tsv), append(r.sMentions, string(mentioned))
	r.sLink, r.sReply = append(r.sLink, d.hasLink), append(r.sReply, d.reply)
}

// mentions records the members m mentions by name, not its poster.
func (r *importRows) mentions(m *confab.Message, users []string) {
	for _, u := range users {
		if u != m.UserID {
			r.mSeq, r.mUser = append(r.mSeq, m.Seq), append(r.mUser, u)
		}
	}
}

// queue adds the INSERTs of the rows to b.
func (r *importRows) queue(b *pgx.Batch, channelID string) {
	b.Queue(`INSERT INTO messages (channel_id, seq, ts, user_id, text, thread_ts, client_msg_id, edited_ts, change_seq, num,
			blocks, attachments, metadata, username, icon_emoji, icon_url, broadcast, subtype, reply_count, latest_reply)
		SELECT $1, seq, ts, user_id, text, thread_ts, '', edited_ts, seq, num,
			blocks, attachments, metadata, username, icon_emoji, icon_url, broadcast, subtype, reply_count, latest_reply
		FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[],
			$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::boolean[], $16::text[],
			$17::bigint[], $18::bigint[])
			AS r (seq, ts, user_id, text, thread_ts, edited_ts, num, blocks, attachments, metadata, username,
				icon_emoji, icon_url, broadcast, subtype, reply_count, latest_reply)`,
		channelID, r.seq, r.ts, r.user, r.text, r.threadTS, r.editedTS, r.num, r.blocks, r.attachments, r.metadata,
		r.username, r.iconEmoji, r.iconURL, r.broadcast, r.subtype, r.replyCount, r.latestReply)
	if len(r.rSeq) > 0 {
		b.Queue(`INSERT INTO reactions (channel_id, message_seq, message_ts, name, user_id, seq, removed)
			SELECT $1, message_seq, message_ts, name, user_id, seq, false
			FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[]) AS r (message_seq, message_ts, name, user_id, seq)
			ON CONFLICT DO NOTHING`, channelID, r.rMsgSeq, r.rMsgTS, r.rName, r.rUser, r.rSeq)
	}
	if len(r.sSeq) > 0 {
		b.Queue(`INSERT INTO message_search (channel_id, seq, ts, user_id, has_link, reply, mentions, body, tsv)
			SELECT $1, seq, ts, user_id, has_link, reply, ARRAY(SELECT jsonb_array_elements_text(mentions::jsonb)), body, tsv::tsvector
			FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::boolean[], $6::boolean[], $7::text[], $8::text[], $9::text[])
				AS r (seq, ts, user_id, has_link, reply, mentions, body, tsv)`,
			channelID, r.sSeq, r.sTS, r.sUser, r.sLink, r.sReply, r.sMentions, r.sBody, r.sTSV)
	}
	if len(r.mSeq) > 0 {
		b.Queue(`INSERT INTO mentions (channel_id, seq, user_id, direct)
			SELECT $1, r.seq, r.user_id, true FROM unnest($2::bigint[], $3::text[]) AS r (seq, user_id)
			WHERE EXISTS (SELECT 1 FROM memberships ms WHERE ms.channel_id = $1 AND ms.user_id = r.user_id)
			ON CONFLICT (channel_id, seq, user_id) DO UPDATE SET direct = excluded.direct`, channelID, r.mSeq, r.mUser)
	}
}
