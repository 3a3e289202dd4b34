package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/confab/confab"
)

const messageCols = `channel_id, seq, ts, user_id, text, thread_ts, client_msg_id, edited_ts,
	deleted, change_seq, num, reply_count, latest_reply,
	blocks, attachments, metadata, username, icon_emoji, icon_url, broadcast, subtype`

// createMessageQuery stores a message in one statement, so in one round
// trip and one (implicit) transaction:
//
//   - c takes the channel's next seq, ts and count. Its UPDATE locks the
//     channel row until commit: the posters of one channel queue there, and
//     each one sees the counters its predecessor committed (READ COMMITTED
//     re-reads a row that was updated while the statement waited for it).
//   - parent counts a reply on its thread's parent (in the same channel,
//     so under the same lock).
//   - m writes the message with c's values. A client_msg_id that the
//     channel already has fails it on messages_client_msg_id (23505),
//     which rolls the whole statement back: nothing is written and no seq
//     is taken.
//   - doc indexes the message for search (its searchDoc: $16 to $19),
//     unless it is a system message ($20 false).
//
// Without the channel row, c is empty and nothing is inserted.
const createMessageQuery = `WITH c AS (
	UPDATE channels SET last_seq = last_seq + 1, last_ts = GREATEST(last_ts + 1, $2::bigint),
		message_count = message_count + $3::bigint
	WHERE id = $1
	RETURNING id, last_seq, last_ts, message_count
), parent AS (
	UPDATE messages SET reply_count = reply_count + 1, latest_reply = GREATEST(latest_reply, c.last_ts)
	FROM c WHERE $6::bigint <> 0 AND messages.channel_id = c.id AND messages.ts = $6::bigint
), marker AS (
	UPDATE memberships SET last_read_seq = c.last_seq, last_read_ts = c.last_ts, last_read_count = c.message_count
	FROM c WHERE $3::bigint = 1 AND memberships.channel_id = c.id AND memberships.user_id = $4
), m AS (
	INSERT INTO messages (channel_id, seq, ts, user_id, text, thread_ts, client_msg_id, change_seq, num,
		blocks, attachments, metadata, username, icon_emoji, icon_url, broadcast, subtype)
	SELECT id, last_seq, last_ts, $4, $5, $6, $7, last_seq, message_count, $8, $9, $10, $11, $12, $13, $14, $15 FROM c
	RETURNING channel_id, seq, ts, num
), doc AS (
	INSERT INTO message_search (channel_id, seq, ts, user_id, has_link, reply, mentions, body, tsv)
	SELECT channel_id, seq, ts, $4, $16, $6::bigint <> 0, $17::text[], $18, $19::text::tsvector FROM m
	WHERE $20::boolean
)
SELECT seq, ts, num FROM m`

// CreateMessage stores m (see confab.Store). A zero m.TS means now.
func (db *DB) CreateMessage(ctx context.Context, m *confab.Message) (bool, error) {
	db.queries.Write("CreateMessage")
	if err := ctx.Err(); err != nil {
		return false, err
	}
	msg := confab.PrepareMessage(*m, time.Now())
	var top int64
	if msg.ThreadTS == 0 {
		top = 1
	}
	doc := newSearchDoc(&msg)
	insert := func(q querier) error {
		return q.QueryRow(ctx, createMessageQuery,
			msg.ChannelID, msg.TS, top, msg.UserID, msg.Text, msg.ThreadTS, msg.ClientMsgID,
			msg.Blocks, msg.Attachments, msg.Metadata, msg.Username, msg.IconEmoji, msg.IconURL, msg.Broadcast,
			msg.Subtype, doc.hasLink, doc.mentions, doc.body, doc.tsv, !confab.IsSystemSubtype(msg.Subtype)).
			Scan(&msg.Seq, &msg.TS, &msg.Num)
	}
	var err error
	if mentionArgs(&msg, nil) == nil {
		err = insert(db.pool)
	} else {
		// Mentions need the message's seq: a second statement, in the
		// message's transaction (one more round trip, for these only).
		err = db.tx(ctx, func(tx pgx.Tx) error {
			if err := insert(tx); err != nil {
				return err
			}
			return writeMentions(ctx, tx, &msg, msg.Here, false)
		})
	}
	switch {
	case err == nil:
		msg.ChangeSeq = msg.Seq
		*m = msg
		return true, nil
	case errors.Is(err, pgx.ErrNoRows):
		return false, confab.ErrChannelNotFound
	case msg.ClientMsgID != "" && isUnique(err) && pgError(err).ConstraintName == "messages_client_msg_id":
		// A retry: answer with the original, committed before our
		// statement could fail on it.
		orig, err := scanMessage(db.pool.QueryRow(ctx,
			`SELECT `+messageCols+` FROM messages WHERE channel_id = $1 AND client_msg_id = $2`,
			msg.ChannelID, msg.ClientMsgID))
		if err != nil {
			return false, fmt.Errorf("create message in %s: find client_msg_id: %w", msg.ChannelID, ctxErr(ctx, err))
		}
		*m = *orig
		return false, nil
	default:
		return false, fmt.Errorf("create message in %s: %w", msg.ChannelID, ctxErr(ctx, err))
	}
}

func scanMessage(s pgx.Row) (*confab.Message, error) {
	var m confab.Message
	err := s.Scan(&m.ChannelID, &m.Seq, &m.TS, &m.UserID, &m.Text, &m.ThreadTS, &m.ClientMsgID,
		&m.EditedTS, &m.Deleted, &m.ChangeSeq, &m.Num, &m.ReplyCount, &m.LatestReply,
		&m.Blocks, &m.Attachments, &m.Metadata, &m.Username, &m.IconEmoji, &m.IconURL, &m.Broadcast, &m.Subtype)
	return &m, err
}

// withReactions wraps a query of messages (selecting messageCols), then
// ordered by order ("" for a single message), so that each row also
// carries the message's current reactions as three arrays (names, users,
// seqs), from one seek of the reactions primary key per message. Being one
// statement, messages and reactions come from one snapshot. The arrays are
// unordered (an ordered aggregate costs a sort per message); Go orders
// them by seq. extra columns of inner, if any, follow the arrays.
func withReactions(inner, order string, extra ...string) string {
	var more string
	for _, c := range extra {
		more += ", " + c
	}
	return `SELECT m.channel_id, m.seq, m.ts, m.user_id, m.text, m.thread_ts, m.client_msg_id, m.edited_ts,
		m.deleted, m.change_seq, m.num, m.reply_count, m.latest_reply,
		m.blocks, m.attachments, m.metadata, m.username, m.icon_emoji, m.icon_url, m.broadcast, m.subtype,
		r.names, r.users, r.seqs` + more + `
	FROM (` + inner + `) m
	LEFT JOIN LATERAL (
		SELECT array_agg(name) AS names, array_agg(user_id) AS users, array_agg(seq) AS seqs
		FROM reactions WHERE channel_id = m.channel_id AND message_seq = m.seq AND NOT removed
	) r ON true` + order
}

// scanWithReactions scans a row of a withReactions query.
func scanWithReactions(s pgx.Row) (*confab.Message, error) { return scanWithReactionsAnd(s) }

// scanWithReactionsAnd scans a row of a withReactions query, its extra
// columns into extra.
func scanWithReactionsAnd(s pgx.Row, extra ...any) (*confab.Message, error) {
	var m confab.Message
	var names, users []string
	var seqs []int64
	dest := append([]any{&m.ChannelID, &m.Seq, &m.TS, &m.UserID, &m.Text, &m.ThreadTS, &m.ClientMsgID,
		&m.EditedTS, &m.Deleted, &m.ChangeSeq, &m.Num, &m.ReplyCount, &m.LatestReply,
		&m.Blocks, &m.Attachments, &m.Metadata, &m.Username, &m.IconEmoji, &m.IconURL, &m.Broadcast, &m.Subtype,
		&names, &users, &seqs}, extra...)
	err := s.Scan(dest...)
	if err != nil {
		return nil, err
	}
	if len(names) != len(users) || len(names) != len(seqs) {
		return nil, fmt.Errorf("reactions of %s/%d: %d names, %d users, %d seqs", m.ChannelID, m.Seq, len(names), len(users), len(seqs))
	}
	if len(names) > 0 {
		rs := make([]confab.UserReaction, len(names))
		for i := range rs {
			rs[i] = confab.UserReaction{Name: names[i], UserID: users[i], Seq: seqs[i]}
		}
		m.Reactions = confab.GroupReactions(rs)
	}
	return &m, nil
}

// findMessageQuery finds one message, tombstones included, with its
// reactions.
var findMessageQuery = withReactions(`SELECT `+messageCols+` FROM messages WHERE channel_id = $1 AND ts = $2`, ``)

func (db *DB) FindMessage(ctx context.Context, channelID string, ts int64) (*confab.Message, error) {
	db.queries.Read("FindMessage")
	return findMessage(ctx, db.pool, channelID, ts)
}

func findMessage(ctx context.Context, q querier, channelID string, ts int64) (*confab.Message, error) {
	m, err := scanWithReactions(q.QueryRow(ctx, findMessageQuery, channelID, ts))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrMessageNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find message %s/%d: %w", channelID, ts, ctxErr(ctx, err))
	}
	return m, nil
}

// FindMessages pages a channel by seq, in one statement (see
// messagesQuery).
func (db *DB) FindMessages(ctx context.Context, f confab.MessageFilter) ([]*confab.Message, error) {
	db.queries.Read("FindMessages")
	query, args := messagesQuery(f)
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("find messages of %s: %w", f.ChannelID, ctxErr(ctx, err))
	}
	out, err := collect(rows, scanWithReactions)
	if err != nil {
		return nil, fmt.Errorf("find messages of %s: %w", f.ChannelID, ctxErr(ctx, err))
	}
	return out, nil
}

// messagesQuery is FindMessages' statement. Each shape of filter is a
// keyset range scan (see TestQueryPlans):
//   - a channel's history, TopLevel or not: the primary key (channel_id,
//     seq), replies skipped in the scan;
//   - a thread: its parent by messages_ts, merged with its replies from
//     messages_thread (channel_id, thread_ts, seq).
//
// Reactions are joined per message (withReactions).
func messagesQuery(f confab.MessageFilter) (string, []any) {
	args := []any{f.ChannelID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var bounds []string
	if f.After > 0 {
		bounds = append(bounds, `seq > `+arg(f.After))
	}
	if f.Before > 0 {
		bounds = append(bounds, `seq < `+arg(f.Before))
	}
	if !f.IncludeDeleted {
		bounds = append(bounds, `NOT deleted`)
	}
	where := func(conds ...string) string {
		return strings.Join(append(append([]string{`channel_id = $1`}, conds...), bounds...), ` AND `)
	}
	order := `ASC`
	if f.Desc {
		order = `DESC`
	}
	lim := arg(limit(f.Limit))
	var inner string
	switch {
	case f.ThreadTS != 0:
		t := arg(f.ThreadTS)
		inner = `(SELECT ` + messageCols + ` FROM messages WHERE ` + where(`ts = `+t, `thread_ts = 0`) + `)
			UNION ALL
			(SELECT ` + messageCols + ` FROM messages WHERE ` + where(`thread_ts = `+t) + `)
			ORDER BY seq ` + order + ` LIMIT ` + lim
	case f.TopLevel:
		inner = `SELECT ` + messageCols + ` FROM messages WHERE ` + where(`(thread_ts = 0 OR broadcast)`) +
			` ORDER BY seq ` + order + ` LIMIT ` + lim
	default:
		inner = `SELECT ` + messageCols + ` FROM messages WHERE ` + where() +
			` ORDER BY seq ` + order + ` LIMIT ` + lim
	}
	return withReactions(inner, ` ORDER BY m.seq `+order), args
}

// seqAtTSQuery seeks messages_ts (channel_id, ts) backwards.
const seqAtTSQuery = `SELECT seq, ts FROM messages WHERE channel_id = $1 AND ts <= $2 ORDER BY ts DESC LIMIT 1`

// latestMessagesQuery reads, for each channel id of the array, its last
// top-level message that is not a tombstone: a backward scan of the
// primary key (channel_id, seq) from the channel's end, stopped at the
// first such row (LIMIT 1 in a LATERAL join), whatever the channel's depth.
const latestMessagesQuery = `SELECT m.channel_id, m.seq, m.ts, m.user_id, m.text, m.thread_ts, m.client_msg_id,
	m.edited_ts, m.deleted, m.change_seq, m.num, m.reply_count, m.latest_reply,
	m.blocks, m.attachments, m.metadata, m.username, m.icon_emoji, m.icon_url, m.broadcast, m.subtype
FROM unnest($1::text[]) AS c(id)
CROSS JOIN LATERAL (
	SELECT ` + messageCols + ` FROM messages
	WHERE channel_id = c.id AND thread_ts = 0 AND NOT deleted
	ORDER BY seq DESC LIMIT 1
) m`

// FindLatestMessages reads the latest top-level, live message of every
// channel in one statement (latestMessagesQuery).
func (db *DB) FindLatestMessages(ctx context.Context, channelIDs []string) (map[string]*confab.Message, error) {
	db.queries.Read("FindLatestMessages")
	ids := confab.UniqueIDs(channelIDs)
	rows, err := db.pool.Query(ctx, latestMessagesQuery, ids)
	if err != nil {
		return nil, fmt.Errorf("find latest messages of %d channels: %w", len(ids), ctxErr(ctx, err))
	}
	msgs, err := collect(rows, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("find latest messages of %d channels: %w", len(ids), ctxErr(ctx, err))
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
	err := db.pool.QueryRow(ctx, seqAtTSQuery, channelID, ts).Scan(&seq, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, fmt.Errorf("seq at ts %s/%d: %w", channelID, ts, ctxErr(ctx, err))
	}
	return seq, at == ts, nil
}

// latestTopLevelQuery scans the primary key back from the channel's end to
// its last top-level message.
const latestTopLevelQuery = `SELECT seq, ts FROM messages WHERE channel_id = $1 AND thread_ts = 0 ORDER BY seq DESC LIMIT 1`

// changeTx runs fn in a transaction that has taken the channel's next seq
// first. Taking it first locks the channel row, which every change of the
// channel's content does: fn's statements then see the latest committed
// state of the channel and nothing changes it until commit. If fn fails,
// the transaction rolls back and the seq is not used. A missing channel is
// missing, the message looked for: ErrMessageNotFound. fn's result is
// returned once the transaction has committed.
func changeTx[T any](ctx context.Context, db *DB, channelID string, fn func(tx pgx.Tx, seq int64) (T, error)) (T, error) {
	var out T
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var seq int64
		err := tx.QueryRow(ctx,
			`UPDATE channels SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq`, channelID).Scan(&seq)
		if errors.Is(err, pgx.ErrNoRows) {
			return confab.ErrMessageNotFound
		} else if err != nil {
			return fmt.Errorf("next seq of %s: %w", channelID, ctxErr(ctx, err))
		}
		out, err = fn(tx, seq)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// liveMessage finds a message that is not a tombstone, for changing it.
func liveMessage(ctx context.Context, q querier, channelID string, ts int64) (*confab.Message, error) {
	m, err := scanMessage(q.QueryRow(ctx,
		`SELECT `+messageCols+` FROM messages WHERE channel_id = $1 AND ts = $2 AND NOT deleted`, channelID, ts))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrMessageNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find message %s/%d: %w", channelID, ts, ctxErr(ctx, err))
	}
	return m, nil
}

func (db *DB) UpdateMessage(ctx context.Context, channelID string, ts int64, upd confab.MessageUpdate, editedTS int64) (*confab.Message, error) {
	db.queries.Write("UpdateMessage")
	return changeTx(ctx, db, channelID, func(tx pgx.Tx, seq int64) (*confab.Message, error) {
		tag, err := tx.Exec(ctx,
			`UPDATE messages SET text = coalesce($3, text), edited_ts = $4, change_seq = $5,
				blocks = coalesce($6, blocks), attachments = coalesce($7, attachments), metadata = coalesce($8, metadata)
			 WHERE channel_id = $1 AND ts = $2 AND NOT deleted`,
			channelID, ts, upd.Text, editedTS, seq, upd.Blocks, upd.Attachments, upd.Metadata)
		if err != nil {
			return nil, fmt.Errorf("update message %s/%d: %w", channelID, ts, ctxErr(ctx, err))
		} else if tag.RowsAffected() == 0 {
			return nil, confab.ErrMessageNotFound
		}
		m, err := findMessage(ctx, tx, channelID, ts)
		if err == nil && (upd.Text != nil || upd.Blocks != nil) {
			err = writeMentions(ctx, tx, m, upd.Here, true)
			if err == nil {
				// The index row: its text, and its mentions, which blocks
				// may hold too.
				err = indexMessage(ctx, tx, m)
			}
		}
		return m, err
	})
}

// DeleteMessage turns the message into a tombstone. Deleting a reply also
// takes one off its parent's ReplyCount.
func (db *DB) DeleteMessage(ctx context.Context, channelID string, ts int64) (*confab.Message, error) {
	db.queries.Write("DeleteMessage")
	return changeTx(ctx, db, channelID, func(tx pgx.Tx, seq int64) (*confab.Message, error) {
		m, err := scanMessage(tx.QueryRow(ctx,
			`UPDATE messages SET text = '', blocks = '', attachments = '', metadata = '', deleted = true, change_seq = $3
			 WHERE channel_id = $1 AND ts = $2 AND NOT deleted RETURNING `+messageCols,
			channelID, ts, seq))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, confab.ErrMessageNotFound
		} else if err != nil {
			return nil, fmt.Errorf("delete message %s/%d: %w", channelID, ts, ctxErr(ctx, err))
		}
		if _, err := tx.Exec(ctx, deleteMentionsQuery, channelID, m.Seq); err != nil {
			return nil, fmt.Errorf("delete message %s/%d: mentions: %w", channelID, ts, ctxErr(ctx, err))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM message_search WHERE channel_id = $1 AND seq = $2`, channelID, m.Seq); err != nil {
			return nil, fmt.Errorf("delete message %s/%d: search index: %w", channelID, ts, ctxErr(ctx, err))
		}
		if _, err := unpin(ctx, tx, channelID, m.TS); err != nil {
			return nil, err
		}
		if m.ThreadTS != 0 {
			if _, err := tx.Exec(ctx,
				`UPDATE messages SET reply_count = GREATEST(reply_count - 1, 0) WHERE channel_id = $1 AND ts = $2`,
				channelID, m.ThreadTS); err != nil {
				return nil, fmt.Errorf("delete message %s/%d: thread parent: %w", channelID, ts, ctxErr(ctx, err))
			}
		}
		return m, nil
	})
}

// The statements of setReaction. Each writes nothing when there is nothing
// to change: the reaction is there and not removed (add), or it is not
// there or removed already (remove).
const (
	addReactionQuery = `INSERT INTO reactions (channel_id, message_seq, message_ts, name, user_id, seq, removed)
	VALUES ($1, $2, $3, $4, $5, $6, false)
	ON CONFLICT (channel_id, message_seq, name, user_id)
	DO UPDATE SET seq = excluded.seq, removed = false WHERE reactions.removed`
	removeReactionQuery = `UPDATE reactions SET seq = $5, removed = true
	WHERE channel_id = $1 AND message_seq = $2 AND name = $3 AND user_id = $4 AND NOT removed`
)

// The statements of AddReaction's caps, each on a partial index of the
// current reactions (see TestQueryPlans): a user's own on the message
// (at most MaxUserReactions entries), whether a name is there (one seek),
// and the message's distinct names, up to $3, walked from one name to the
// next in reactions_name_live (one seek per name, whatever the number of
// users).
const (
	reactionStateQuery = `SELECT NOT removed FROM reactions
	WHERE channel_id = $1 AND message_seq = $2 AND name = $3 AND user_id = $4`
	userReactionsQuery = `SELECT count(*) FROM reactions
	WHERE channel_id = $1 AND message_seq = $2 AND user_id = $3 AND NOT removed`
	nameLiveQuery = `SELECT EXISTS (SELECT 1 FROM reactions
	WHERE channel_id = $1 AND message_seq = $2 AND name = $3 AND NOT removed)`
	distinctNamesQuery = `WITH RECURSIVE names(name, n) AS (
		SELECT (SELECT min(name) FROM reactions
			WHERE channel_id = $1 AND message_seq = $2 AND NOT removed), 0
		UNION ALL
		SELECT (SELECT min(r.name) FROM reactions r
			WHERE r.channel_id = $1 AND r.message_seq = $2 AND NOT r.removed AND r.name > names.name), n + 1
		FROM names WHERE names.name IS NOT NULL AND n + 1 < $3)
	SELECT count(name) FROM names`
)

// checkReactionCaps returns ErrAlreadyReacted, ErrTooManyReactions or
// ErrTooManyEmoji, in that order, if the user may not add the reaction
// (see confab.Store's AddReaction). It runs after changeTx has locked the
// channel's row, so no other writer of the channel adds in between, and
// each statement (READ COMMITTED) sees every add committed before.
func checkReactionCaps(ctx context.Context, tx pgx.Tx, channelID string, msgSeq int64, userID, name string) error {
	var present bool
	err := tx.QueryRow(ctx, reactionStateQuery, channelID, msgSeq, name, userID).Scan(&present)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("find reaction: %w", err)
	}
	if present {
		return confab.ErrAlreadyReacted
	}
	var mine int
	if err := tx.QueryRow(ctx, userReactionsQuery, channelID, msgSeq, userID).Scan(&mine); err != nil {
		return fmt.Errorf("count user's reactions: %w", err)
	}
	if mine >= confab.MaxUserReactions {
		return confab.ErrTooManyReactions
	}
	var live bool
	if err := tx.QueryRow(ctx, nameLiveQuery, channelID, msgSeq, name).Scan(&live); err != nil {
		return fmt.Errorf("find reaction name: %w", err)
	}
	if live {
		return nil
	}
	var names int
	if err := tx.QueryRow(ctx, distinctNamesQuery, channelID, msgSeq, confab.MaxReactionEmoji).Scan(&names); err != nil {
		return fmt.Errorf("count reaction names: %w", err)
	}
	if names >= confab.MaxReactionEmoji {
		return confab.ErrTooManyEmoji
	}
	return nil
}

// setReaction adds or removes one user's reaction at the channel's next
// seq. Its row keeps the latest state (removed is a tombstone, so
// catch-up can tell) and the seq of that change. An add first checks the
// caps (checkReactionCaps).
func (db *DB) setReaction(ctx context.Context, channelID string, ts int64, userID, name string, remove bool) (*confab.ReactionChange, error) {
	op, unchanged := "add reaction", confab.ErrAlreadyReacted
	if remove {
		op, unchanged = "remove reaction", confab.ErrNoReaction
	}
	return changeTx(ctx, db, channelID, func(tx pgx.Tx, seq int64) (*confab.ReactionChange, error) {
		m, err := liveMessage(ctx, tx, channelID, ts)
		if err != nil {
			return nil, err
		}
		if !remove {
			if err := checkReactionCaps(ctx, tx, channelID, m.Seq, userID, name); err != nil {
				if confab.ErrorCode(err) != confab.EINTERNAL {
					return nil, err
				}
				return nil, fmt.Errorf("%s %s/%d: %w", op, channelID, ts, ctxErr(ctx, err))
			}
		}
		var tag pgconn.CommandTag
		if remove {
			tag, err = tx.Exec(ctx, removeReactionQuery, channelID, m.Seq, name, userID, seq)
		} else {
			tag, err = tx.Exec(ctx, addReactionQuery, channelID, m.Seq, m.TS, name, userID, seq)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s/%d: %w", op, channelID, ts, ctxErr(ctx, err))
		} else if tag.RowsAffected() == 0 {
			return nil, unchanged
		}
		return &confab.ReactionChange{ChannelID: channelID, Seq: seq, MessageTS: m.TS, UserID: userID, Name: name, Removed: remove}, nil
	})
}

// AddReaction adds a reaction, or revives its tombstone at the new seq.
func (db *DB) AddReaction(ctx context.Context, channelID string, ts int64, userID, name string) (*confab.ReactionChange, error) {
	db.queries.Write("AddReaction")
	return db.setReaction(ctx, channelID, ts, userID, name, false)
}

// RemoveReaction turns a reaction into a tombstone at the new seq.
func (db *DB) RemoveReaction(ctx context.Context, channelID string, ts int64, userID, name string) (*confab.ReactionChange, error) {
	db.queries.Write("RemoveReaction")
	return db.setReaction(ctx, channelID, ts, userID, name, true)
}

// changesQuery merges, in one statement (one snapshot), two index range
// scans: messages by messages_change (channel_id, change_seq) and
// reactions by reactions_seq (channel_id, seq). A reaction row travels in
// the message columns: message_ts as ts, name as text, removed as deleted.
//
// The filter stands outside the UNION ALL, on its output columns, and the
// column types of both branches match exactly: the planner then pushes the
// filter into each branch and merges the two ordered scans (Merge Append)
// instead of sorting their union (see TestQueryPlans). A filter written
// inside each branch does not give it that choice.
const changesQuery = `SELECT * FROM (
	SELECT false AS is_reaction, change_seq AS at, ` + messageCols + `
	FROM messages
	UNION ALL
	SELECT true, seq, channel_id, message_seq, message_ts, user_id, name, 0::bigint, ''::text, 0::bigint,
		removed, seq, 0::bigint, 0::integer, 0::bigint, ''::text, ''::text, ''::text, ''::text, ''::text, ''::text, false, ''::text
	FROM reactions
) changes WHERE channel_id = $1 AND at > $2 ORDER BY at LIMIT $3`

// FindChanges returns messages in their current state without Reactions
// (the reaction changes carry those) and reaction changes, in seq order.
func (db *DB) FindChanges(ctx context.Context, channelID string, after int64, lim int) ([]confab.Change, error) {
	db.queries.Read("FindChanges")
	rows, err := db.pool.Query(ctx, changesQuery, channelID, after, limit(lim))
	if err != nil {
		return nil, fmt.Errorf("find changes of %s: %w", channelID, ctxErr(ctx, err))
	}
	out, err := collect(rows, func(r pgx.Row) (confab.Change, error) {
		var isReaction bool
		var at int64
		var m confab.Message
		err := r.Scan(&isReaction, &at, &m.ChannelID, &m.Seq, &m.TS, &m.UserID, &m.Text, &m.ThreadTS,
			&m.ClientMsgID, &m.EditedTS, &m.Deleted, &m.ChangeSeq, &m.Num, &m.ReplyCount, &m.LatestReply,
			&m.Blocks, &m.Attachments, &m.Metadata, &m.Username, &m.IconEmoji, &m.IconURL, &m.Broadcast, &m.Subtype)
		if err != nil {
			return confab.Change{}, err
		}
		if isReaction {
			return confab.Change{Seq: at, Reaction: &confab.ReactionChange{ChannelID: m.ChannelID, Seq: at,
				MessageTS: m.TS, UserID: m.UserID, Name: m.Text, Removed: m.Deleted}}, nil
		}
		return confab.Change{Seq: at, Message: &m}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("find changes of %s: %w", channelID, ctxErr(ctx, err))
	}
	return out, nil
}
