package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/confab/confab"
)

const messageCols = `channel_id, seq, ts, user_id, text, thread_ts, client_msg_id, edited_ts,
	deleted, change_seq, num, reply_count, latest_reply,
	blocks, attachments, metadata, username, icon_emoji, icon_url, broadcast, subtype`

// The read queries, named so that TestQueryPlans can check each one's plan.
const (
	// changedMessagesQuery scans messages_change (channel_id, change_seq).
	changedMessagesQuery = `SELECT ` + messageCols + ` FROM messages
		WHERE channel_id = ? AND change_seq > ? ORDER BY change_seq LIMIT ?`
	// changedReactionsQuery scans reactions_seq (channel_id, seq).
	changedReactionsQuery = `SELECT seq, message_ts, user_id, name, removed FROM reactions
		WHERE channel_id = ? AND seq > ? ORDER BY seq LIMIT ?`
	// seqAtTSQuery seeks messages_ts (channel_id, ts).
	seqAtTSQuery = `SELECT seq, ts FROM messages WHERE channel_id = ? AND ts <= ? ORDER BY ts DESC LIMIT 1`
	// reactionsRangeQuery scans the reactions primary key over a page's seqs.
	reactionsRangeQuery = `SELECT message_seq, name, user_id, seq FROM reactions
		WHERE channel_id = ? AND message_seq BETWEEN ? AND ? AND removed = 0`
	// latestTopLevelQuery scans the primary key back from the channel's end
	// to its last top-level message.
	latestTopLevelQuery = `SELECT seq, ts FROM messages WHERE channel_id = ? AND thread_ts = 0 ORDER BY seq DESC LIMIT 1`
	// latestMessagesQuery takes the channel ids as one JSON array (no bound
	// on their number) and, for each, scans the primary key back from the
	// channel's end to its last top-level message that is not a tombstone,
	// then reads that row by the primary key.
	// userReactionsQuery counts a user's current reactions on a message
	// from reactions_user_live: at most MaxUserReactions entries.
	userReactionsQuery = `SELECT count(*) FROM reactions INDEXED BY reactions_user_live
		WHERE channel_id = ? AND message_seq = ? AND user_id = ? AND removed = 0`
	// nameLiveQuery seeks reactions_name_live for a current reaction with
	// the name.
	nameLiveQuery = `SELECT EXISTS (SELECT 1 FROM reactions INDEXED BY reactions_name_live
		WHERE channel_id = ? AND message_seq = ? AND name = ? AND removed = 0)`
	// distinctNamesQuery counts a message's distinct current names, up to
	// its third argument, by walking reactions_name_live from one name to
	// the next: one seek per name, whatever the number of users.
	distinctNamesQuery = `WITH RECURSIVE names(name, n) AS (
		SELECT (SELECT min(name) FROM reactions INDEXED BY reactions_name_live
			WHERE channel_id = ?1 AND message_seq = ?2 AND removed = 0), 0
		UNION ALL
		SELECT (SELECT min(name) FROM reactions INDEXED BY reactions_name_live
			WHERE channel_id = ?1 AND message_seq = ?2 AND removed = 0 AND name > names.name), n + 1
		FROM names WHERE names.name IS NOT NULL AND n + 1 < ?3)
	SELECT count(name) FROM names`
	latestMessagesQuery = `SELECT m.channel_id, m.seq, m.ts, m.user_id, m.text, m.thread_ts, m.client_msg_id,
		m.edited_ts, m.deleted, m.change_seq, m.num, m.reply_count, m.latest_reply,
		m.blocks, m.attachments, m.metadata, m.username, m.icon_emoji, m.icon_url, m.broadcast, m.subtype
	FROM json_each(?) AS c JOIN messages AS m ON m.channel_id = c.value AND m.seq = (
		SELECT seq FROM messages WHERE channel_id = c.value AND thread_ts = 0 AND deleted = 0
		ORDER BY seq DESC LIMIT 1)`
)

// reactionsInQuery seeks the reactions primary key once per message.
func reactionsInQuery(n int) string {
	return `SELECT message_seq, name, user_id, seq FROM reactions
		WHERE channel_id = ? AND message_seq IN (?` + strings.Repeat(`, ?`, n-1) + `) AND removed = 0`
}

func scanMessage(s scanner) (*confab.Message, error) {
	var m confab.Message
	err := s.Scan(&m.ChannelID, &m.Seq, &m.TS, &m.UserID, &m.Text, &m.ThreadTS, &m.ClientMsgID,
		&m.EditedTS, &m.Deleted, &m.ChangeSeq, &m.Num, &m.ReplyCount, &m.LatestReply,
		&m.Blocks, &m.Attachments, &m.Metadata, &m.Username, &m.IconEmoji, &m.IconURL, &m.Broadcast, &m.Subtype)
	return &m, err
}

// CreateMessage stores m (see confab.Store). A zero m.TS means now.
func (db *DB) CreateMessage(ctx context.Context, m *confab.Message) (bool, error) {
	db.queries.Write("CreateMessage")
	in := confab.PrepareMessage(*m, time.Now())
	var doc *indexDoc // made here, not in the committer; none for what is not indexed
	if !confab.IsSystemSubtype(in.Subtype) {
		doc = makeIndexDoc(&in, &db.vocab)
	}
	var (
		out     *confab.Message
		created bool
	)
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		if in.ClientMsgID != "" {
			orig, err := scanMessage(tx.QueryRowContext(ctx,
				`SELECT `+messageCols+` FROM messages WHERE channel_id = ? AND client_msg_id = ?`,
				in.ChannelID, in.ClientMsgID))
			if err == nil {
				out, created = orig, false
				return nil
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("create message in %s: client_msg_id: %w", in.ChannelID, err)
			}
		}
		// One statement takes the seq, keeps ts increasing and counts a
		// top-level message; the next reads them back (see nextSeq for why
		// not RETURNING). A missing channel updates nothing and reads no row.
		msg := in
		topLevel := 0
		if msg.ThreadTS == 0 {
			topLevel = 1
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE channels SET last_seq = last_seq + 1, last_ts = max(?, last_ts + 1), message_count = message_count + ?
			 WHERE id = ?`,
			in.TS, topLevel, in.ChannelID); err != nil {
			return fmt.Errorf("create message in %s: %w", in.ChannelID, err)
		}
		var searchNum int64
		err := tx.QueryRowContext(ctx, `SELECT last_seq, last_ts, message_count, search_num FROM channels WHERE id = ?`,
			in.ChannelID).Scan(&msg.Seq, &msg.TS, &msg.Num, &searchNum)
		if errors.Is(err, sql.ErrNoRows) {
			return confab.ErrChannelNotFound
		} else if err != nil {
			return fmt.Errorf("create message in %s: %w", in.ChannelID, err)
		}
		msg.ChangeSeq = msg.Seq
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO messages (channel_id, seq, ts, user_id, text, thread_ts, client_msg_id, change_seq, num,
				blocks, attachments, metadata, username, icon_emoji, icon_url, broadcast, subtype)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			msg.ChannelID, msg.Seq, msg.TS, msg.UserID, msg.Text, msg.ThreadTS, msg.ClientMsgID,
			msg.ChangeSeq, msg.Num, msg.Blocks, msg.Attachments, msg.Metadata, msg.Username,
			msg.IconEmoji, msg.IconURL, msg.Broadcast, msg.Subtype); err != nil {
			return fmt.Errorf("create message in %s: %w", in.ChannelID, err)
		}
		if err := writeMentions(ctx, tx, &msg, msg.Here, false); err != nil {
			return err
		}
		if err := indexMessage(ctx, tx, &msg, searchNum, doc, true); err != nil {
			return err
		}
		db.indexed.Add(1) // for the merger; a batch run again counts twice, which does no harm
		if msg.ThreadTS == 0 {
			// The poster has read their own message.
			if _, err := tx.ExecContext(ctx,
				`UPDATE memberships SET last_read_seq = ?, last_read_ts = ?, last_read_count = ?
				 WHERE channel_id = ? AND user_id = ?`,
				msg.Seq, msg.TS, msg.Num, msg.ChannelID, msg.UserID); err != nil {
				return fmt.Errorf("create message in %s: poster's read marker: %w", in.ChannelID, err)
			}
		}
		if msg.ThreadTS != 0 {
			if _, err := tx.ExecContext(ctx,
				`UPDATE messages SET reply_count = reply_count + 1, latest_reply = max(latest_reply, ?)
				 WHERE channel_id = ? AND ts = ?`,
				msg.TS, msg.ChannelID, msg.ThreadTS); err != nil {
				return fmt.Errorf("create message in %s: thread parent: %w", in.ChannelID, err)
			}
		}
		out, created = &msg, true
		return nil
	})
	if err != nil {
		return false, err
	}
	if created && doc != nil {
		db.vocab.add(doc.tokens)
	}
	*m = *out
	return created, nil
}

// nextSeq takes the channel's next seq inside tx.
//
// It updates, then reads the row back: UPDATE … RETURNING buffers its rows
// in an ephemeral table that SQLite builds and drops on every run, which
// costs more than the second statement. Nothing else writes between the
// two: the committer is the only writer.
func nextSeq(ctx context.Context, tx *sql.Conn, channelID string) (int64, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE channels SET last_seq = last_seq + 1 WHERE id = ?`, channelID); err != nil {
		return 0, fmt.Errorf("next seq of %s: %w", channelID, err)
	}
	var seq int64
	err := tx.QueryRowContext(ctx, `SELECT last_seq FROM channels WHERE id = ?`, channelID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, confab.ErrChannelNotFound
	} else if err != nil {
		return 0, fmt.Errorf("next seq of %s: %w", channelID, err)
	}
	return seq, nil
}

// liveMessage finds a message that is not a tombstone, for changing it.
func liveMessage(ctx context.Context, q queryer, channelID string, ts int64) (*confab.Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx,
		`SELECT `+messageCols+` FROM messages WHERE channel_id = ? AND ts = ?`, channelID, ts))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, confab.ErrMessageNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find message %s/%d: %w", channelID, ts, err)
	}
	if m.Deleted {
		return nil, confab.ErrMessageNotFound
	}
	return m, nil
}

func (db *DB) FindMessage(ctx context.Context, channelID string, ts int64) (*confab.Message, error) {
	db.queries.Read("FindMessage")
	var out *confab.Message
	err := db.read(ctx, func(tx *sql.Tx) error {
		m, err := scanMessage(tx.QueryRowContext(ctx,
			`SELECT `+messageCols+` FROM messages WHERE channel_id = ? AND ts = ?`, channelID, ts))
		if errors.Is(err, sql.ErrNoRows) {
			return confab.ErrMessageNotFound
		} else if err != nil {
			return fmt.Errorf("find message %s/%d: %w", channelID, ts, err)
		}
		out = m
		return fillReactions(ctx, tx, channelID, []*confab.Message{m})
	})
	return out, err
}

// FindMessages pages a channel by seq. Each shape of filter is one keyset
// range scan (see TestQueryPlans):
//   - a channel's history: the primary key (channel_id, seq);
//   - TopLevel: the primary key too, skipping replies;
//   - a thread: its parent by messages_ts, then its replies from
//     messages_thread (channel_id, thread_ts, seq). The parent's seq is
//     below every reply's, so it goes first (or last when Desc).
func (db *DB) FindMessages(ctx context.Context, f confab.MessageFilter) ([]*confab.Message, error) {
	db.queries.Read("FindMessages")
	var out []*confab.Message
	err := db.read(ctx, func(tx *sql.Tx) error {
		var parent *confab.Message
		if f.ThreadTS != 0 {
			p, err := scanMessage(tx.QueryRowContext(ctx,
				`SELECT `+messageCols+` FROM messages WHERE channel_id = ? AND ts = ?`, f.ChannelID, f.ThreadTS))
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return fmt.Errorf("find thread %s/%d: %w", f.ChannelID, f.ThreadTS, err)
			case p.ThreadTS == 0 && p.Seq > f.After && (f.Before == 0 || p.Seq < f.Before) &&
				(f.IncludeDeleted || !p.Deleted):
				parent = p
			}
		}
		lim := limit(f.Limit)
		if parent != nil && !f.Desc && lim > 0 {
			lim-- // the parent takes the first place
		}
		if parent != nil && !f.Desc {
			out = append(out, parent)
		}
		if lim != 0 {
			query, args := messagesQuery(f, lim)
			rows, err := tx.QueryContext(ctx, query, args...)
			if err != nil {
				return fmt.Errorf("find messages of %s: %w", f.ChannelID, err)
			}
			defer rows.Close()
			for rows.Next() {
				m, err := scanMessage(rows)
				if err != nil {
					return fmt.Errorf("find messages of %s: %w", f.ChannelID, err)
				}
				out = append(out, m)
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("find messages of %s: %w", f.ChannelID, err)
			}
		}
		if parent != nil && f.Desc && (f.Limit <= 0 || len(out) < f.Limit) {
			out = append(out, parent)
		}
		return fillReactions(ctx, tx, f.ChannelID, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// messagesQuery is FindMessages' range scan (without a thread's parent),
// at most lim rows (-1: no limit).
func messagesQuery(f confab.MessageFilter, lim int) (string, []any) {
	// Without statistics the planner prefers the primary key for a thread
	// too, filtering the whole channel; INDEXED BY makes a thread the range
	// (channel_id, thread_ts, seq) whatever the depth of the channel.
	// Top-level pages stay on the primary key: replies are skipped in the
	// clustered scan, with no second lookup per row.
	from := `messages`
	where := []string{`channel_id = ?`}
	args := []any{f.ChannelID}
	switch {
	case f.ThreadTS != 0:
		from = `messages INDEXED BY messages_thread`
		// thread_ts != 0 is the partial index's own condition: the
		// planner uses the index only when the query states it.
		where = append(where, `thread_ts = ?`, `thread_ts != 0`)
		args = append(args, f.ThreadTS)
	case f.TopLevel:
		where = append(where, `(thread_ts = 0 OR broadcast = 1)`)
	}
	if f.After > 0 {
		where = append(where, `seq > ?`)
		args = append(args, f.After)
	}
	if f.Before > 0 {
		where = append(where, `seq < ?`)
		args = append(args, f.Before)
	}
	if !f.IncludeDeleted {
		where = append(where, `deleted = 0`)
	}
	order := `ASC`
	if f.Desc {
		order = `DESC`
	}
	return `SELECT ` + messageCols + ` FROM ` + from + ` WHERE ` + strings.Join(where, ` AND `) +
		` ORDER BY seq ` + order + ` LIMIT ?`, append(args, lim)
}

// fillReactions sets the Reactions of msgs (all of one channel) with one
// range scan of the reactions primary key over the page's seqs, each
// message's in the contract's order (confab.GroupReactions).
func fillReactions(ctx context.Context, q queryer, channelID string, msgs []*confab.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	lo, hi := msgs[0].Seq, msgs[0].Seq
	bySeq := make(map[int64]*confab.Message, len(msgs))
	for _, m := range msgs {
		lo, hi = min(lo, m.Seq), max(hi, m.Seq)
		bySeq[m.Seq] = m
	}
	// A page of history is a contiguous run of seqs: one range scan. A
	// sparse set (a thread, top-level messages around long threads) is
	// looked up message by message instead.
	query := reactionsRangeQuery
	args := []any{channelID, lo, hi}
	if hi-lo >= 4*int64(len(msgs)) && len(msgs) <= 500 {
		query = reactionsInQuery(len(msgs))
		args = args[:1]
		for _, m := range msgs {
			args = append(args, m.Seq)
		}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("find reactions of %s: %w", channelID, err)
	}
	defer rows.Close()
	var byMsg map[int64][]confab.UserReaction // by message seq
	for rows.Next() {
		var msg int64
		var r confab.UserReaction
		if err := rows.Scan(&msg, &r.Name, &r.UserID, &r.Seq); err != nil {
			return fmt.Errorf("find reactions of %s: %w", channelID, err)
		}
		if bySeq[msg] != nil {
			if byMsg == nil {
				byMsg = make(map[int64][]confab.UserReaction)
			}
			byMsg[msg] = append(byMsg[msg], r)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find reactions of %s: %w", channelID, err)
	}
	for seq, rs := range byMsg {
		bySeq[seq].Reactions = confab.GroupReactions(rs)
	}
	return nil
}

// FindLatestMessages reads the latest top-level, live message of every
// channel in one statement (latestMessagesQuery).
func (db *DB) FindLatestMessages(ctx context.Context, channelIDs []string) (map[string]*confab.Message, error) {
	db.queries.Read("FindLatestMessages")
	ids, err := json.Marshal(confab.UniqueIDs(channelIDs))
	if err != nil {
		return nil, fmt.Errorf("find latest messages: %w", err)
	}
	msgs, err := queryAll(ctx, db.rdb, scanMessage, latestMessagesQuery, string(ids))
	if err != nil {
		return nil, fmt.Errorf("find latest messages of %d channels: %w", len(channelIDs), err)
	}
	out := make(map[string]*confab.Message, len(msgs))
	for _, m := range msgs {
		out[m.ChannelID] = m
	}
	return out, nil
}

func (db *DB) SeqAtTS(ctx context.Context, channelID string, ts int64) (int64, bool, error) {
	db.queries.Read("SeqAtTS")
	var seq, at int64
	err := db.rdb.QueryRowContext(ctx, seqAtTSQuery, channelID, ts).Scan(&seq, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, fmt.Errorf("seq at ts %s/%d: %w", channelID, ts, err)
	}
	return seq, at == ts, nil
}

func (db *DB) UpdateMessage(ctx context.Context, channelID string, ts int64, upd confab.MessageUpdate, editedTS int64) (*confab.Message, error) {
	db.queries.Write("UpdateMessage")
	upd = copyUpdate(upd)
	var out *confab.Message
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		m, err := liveMessage(ctx, tx, channelID, ts)
		if err != nil {
			return err
		}
		seq, err := nextSeq(ctx, tx, channelID)
		if err != nil {
			return err
		}
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&m.Text, upd.Text)
		set(&m.Blocks, upd.Blocks)
		set(&m.Attachments, upd.Attachments)
		set(&m.Metadata, upd.Metadata)
		m.EditedTS, m.ChangeSeq = editedTS, seq
		if _, err := tx.ExecContext(ctx,
			`UPDATE messages SET text = ?, blocks = ?, attachments = ?, metadata = ?, edited_ts = ?, change_seq = ?
			 WHERE channel_id = ? AND seq = ?`,
			m.Text, m.Blocks, m.Attachments, m.Metadata, m.EditedTS, m.ChangeSeq, channelID, m.Seq); err != nil {
			return fmt.Errorf("update message %s/%d: %w", channelID, ts, err)
		}
		if upd.Text != nil || upd.Blocks != nil {
			if err := writeMentions(ctx, tx, m, upd.Here, true); err != nil {
				return err
			}
			// The text's words, and the mentions of its blocks (to:).
			if err := reindexMessage(ctx, tx, m); err != nil {
				return err
			}
			db.indexed.Add(1)
		}
		out = m
		return fillReactions(ctx, tx, channelID, []*confab.Message{m})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteMessage turns the message into a tombstone. Deleting a reply also
// takes one off its parent's ReplyCount.
func (db *DB) DeleteMessage(ctx context.Context, channelID string, ts int64) (*confab.Message, error) {
	db.queries.Write("DeleteMessage")
	var out *confab.Message
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		m, err := liveMessage(ctx, tx, channelID, ts)
		if err != nil {
			return err
		}
		seq, err := nextSeq(ctx, tx, channelID)
		if err != nil {
			return err
		}
		m.Text, m.Deleted, m.ChangeSeq = "", true, seq
		m.Blocks, m.Attachments, m.Metadata = "", "", ""
		if _, err := tx.ExecContext(ctx,
			`UPDATE messages SET text = '', blocks = '', attachments = '', metadata = '', deleted = 1, change_seq = ?
			 WHERE channel_id = ? AND seq = ?`,
			m.ChangeSeq, channelID, m.Seq); err != nil {
			return fmt.Errorf("delete message %s/%d: %w", channelID, ts, err)
		}
		if err := deleteMentions(ctx, tx, channelID, m.Seq); err != nil {
			return err
		}
		if err := unindexMessage(ctx, tx, m); err != nil {
			return err
		}
		if _, err := unpin(ctx, tx, channelID, m.TS); err != nil {
			return err
		}
		if m.ThreadTS != 0 {
			if _, err := tx.ExecContext(ctx,
				`UPDATE messages SET reply_count = max(reply_count - 1, 0) WHERE channel_id = ? AND ts = ?`,
				channelID, m.ThreadTS); err != nil {
				return fmt.Errorf("delete message %s/%d: thread parent: %w", channelID, ts, err)
			}
		}
		out = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (db *DB) AddReaction(ctx context.Context, channelID string, ts int64, userID, name string) (*confab.ReactionChange, error) {
	db.queries.Write("AddReaction")
	return db.setReaction(ctx, channelID, ts, userID, name, false)
}

func (db *DB) RemoveReaction(ctx context.Context, channelID string, ts int64, userID, name string) (*confab.ReactionChange, error) {
	db.queries.Write("RemoveReaction")
	return db.setReaction(ctx, channelID, ts, userID, name, true)
}

// setReaction adds or removes one user's reaction. Its row keeps the latest
// state (removed is a tombstone, so catch-up can tell) and the seq of that
// change.
func (db *DB) setReaction(ctx context.Context, channelID string, ts int64, userID, name string, remove bool) (*confab.ReactionChange, error) {
	op := "add reaction"
	if remove {
		op = "remove reaction"
	}
	var out *confab.ReactionChange
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		m, err := liveMessage(ctx, tx, channelID, ts)
		if err != nil {
			return err
		}
		var removed bool
		err = tx.QueryRowContext(ctx,
			`SELECT removed FROM reactions WHERE channel_id = ? AND message_seq = ? AND name = ? AND user_id = ?`,
			channelID, m.Seq, name, userID).Scan(&removed)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s %s/%d: %w", op, channelID, ts, err)
		}
		present := err == nil && !removed
		if present && !remove {
			return confab.ErrAlreadyReacted
		} else if !present && remove {
			return confab.ErrNoReaction
		}
		if !remove {
			if err := checkReactionCaps(ctx, tx, channelID, m.Seq, userID, name); err != nil {
				return err
			}
		}
		seq, err := nextSeq(ctx, tx, channelID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO reactions (channel_id, message_seq, message_ts, name, user_id, seq, removed)
			 VALUES (?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (channel_id, message_seq, name, user_id) DO UPDATE SET seq = excluded.seq, removed = excluded.removed`,
			channelID, m.Seq, m.TS, name, userID, seq, remove); err != nil {
			return fmt.Errorf("%s %s/%d: %w", op, channelID, ts, err)
		}
		out = &confab.ReactionChange{ChannelID: channelID, Seq: seq, MessageTS: m.TS, UserID: userID, Name: name, Removed: remove}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkReactionCaps returns ErrTooManyReactions or ErrTooManyEmoji if
// the user's adding a reaction named name to the message would pass a cap
// (see confab.Store's AddReaction). It reads at most the user's own
// current reactions and one index entry per distinct name; being in the
// write transaction, no other writer adds in between.
func checkReactionCaps(ctx context.Context, tx *sql.Conn, channelID string, msgSeq int64, userID, name string) error {
	var mine int
	if err := tx.QueryRowContext(ctx, userReactionsQuery, channelID, msgSeq, userID).Scan(&mine); err != nil {
		return fmt.Errorf("add reaction %s/%d: count user's reactions: %w", channelID, msgSeq, err)
	}
	if mine >= confab.MaxUserReactions {
		return confab.ErrTooManyReactions
	}
	var live bool
	if err := tx.QueryRowContext(ctx, nameLiveQuery, channelID, msgSeq, name).Scan(&live); err != nil {
		return fmt.Errorf("add reaction %s/%d: find name: %w", channelID, msgSeq, err)
	}
	if live {
		return nil
	}
	var names int
	if err := tx.QueryRowContext(ctx, distinctNamesQuery, channelID, msgSeq, confab.MaxReactionEmoji).Scan(&names); err != nil {
		return fmt.Errorf("add reaction %s/%d: count names: %w", channelID, msgSeq, err)
	}
	if names >= confab.MaxReactionEmoji {
		return confab.ErrTooManyEmoji
	}
	return nil
}

// FindChanges merges two index range scans: messages by (channel_id,
// change_seq) and reactions by (channel_id, seq). Messages come in their
// current state without Reactions: the reaction changes carry those.
func (db *DB) FindChanges(ctx context.Context, channelID string, after int64, lim int) ([]confab.Change, error) {
	db.queries.Read("FindChanges")
	var out []confab.Change
	err := db.read(ctx, func(tx *sql.Tx) error {
		var msgs []*confab.Message
		rows, err := tx.QueryContext(ctx, changedMessagesQuery, channelID, after, limit(lim))
		if err != nil {
			return fmt.Errorf("find changes of %s: %w", channelID, err)
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				return fmt.Errorf("find changes of %s: %w", channelID, err)
			}
			msgs = append(msgs, m)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find changes of %s: %w", channelID, err)
		}
		var reacts []*confab.ReactionChange
		rrows, err := tx.QueryContext(ctx, changedReactionsQuery, channelID, after, limit(lim))
		if err != nil {
			return fmt.Errorf("find changes of %s: %w", channelID, err)
		}
		defer rrows.Close()
		for rrows.Next() {
			r := &confab.ReactionChange{ChannelID: channelID}
			if err := rrows.Scan(&r.Seq, &r.MessageTS, &r.UserID, &r.Name, &r.Removed); err != nil {
				return fmt.Errorf("find changes of %s: %w", channelID, err)
			}
			reacts = append(reacts, r)
		}
		if err := rrows.Err(); err != nil {
			return fmt.Errorf("find changes of %s: %w", channelID, err)
		}
		out = make([]confab.Change, 0, len(msgs)+len(reacts))
		for len(msgs) > 0 || len(reacts) > 0 {
			if lim > 0 && len(out) == lim {
				break
			}
			if len(reacts) == 0 || len(msgs) > 0 && msgs[0].ChangeSeq < reacts[0].Seq {
				out = append(out, confab.Change{Seq: msgs[0].ChangeSeq, Message: msgs[0]})
				msgs = msgs[1:]
			} else {
				out = append(out, confab.Change{Seq: reacts[0].Seq, Reaction: reacts[0]})
				reacts = reacts[1:]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// copyUpdate copies what upd points at, so that the write does not read
// the caller's variables after it returned (a write may run later, in the
// committer).
func copyUpdate(upd confab.MessageUpdate) confab.MessageUpdate {
	cp := func(p *string) *string {
		if p == nil {
			return nil
		}
		v := *p
		return &v
	}
	return confab.MessageUpdate{Text: cp(upd.Text), Blocks: cp(upd.Blocks), Attachments: cp(upd.Attachments), Metadata: cp(upd.Metadata),
		Here: slices.Clone(upd.Here)}
}
