package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
)

// The mention statements. The members a message mentions are one
// selection of the channel's memberships (its primary key, channel_id
// first): $3 is the poster, left out; $4 true for <!channel> or
// <!everyone>; $5 the users mentioned by name and $6 those a <!here>
// reaches (Message.Here).
const (
	mentionedMembers = `SELECT user_id FROM memberships
		WHERE channel_id = $1 AND user_id <> $3
			AND ($4::boolean OR user_id = ANY($5::text[]) OR user_id = ANY($6::text[]))`
	// insertMentionsQuery writes a row per member mentioned, or sets
	// direct on the row an earlier version of the message left.
	insertMentionsQuery = `INSERT INTO mentions (channel_id, seq, user_id, direct)
		SELECT $1::text, $2::bigint, user_id, user_id = ANY($5::text[]) FROM (` + mentionedMembers + `) mm
		ON CONFLICT (channel_id, seq, user_id) DO UPDATE SET direct = excluded.direct`
	// staleMentionsQuery deletes the message's rows of members it no
	// longer mentions; $7 true (the edit keeps a channel-wide mention)
	// keeps the rows a channel-wide mention made.
	staleMentionsQuery = `DELETE FROM mentions WHERE channel_id = $1 AND seq = $2::bigint
		AND (direct OR NOT $7::boolean) AND user_id NOT IN (` + mentionedMembers + `)`
	deleteMentionsQuery = `DELETE FROM mentions WHERE channel_id = $1 AND seq = $2`
	// countMentionsQuery seeks the user's membership of each channel
	// (memberships_user) and the channel: a DM or group DM counts its
	// unread messages, another channel mentions_user (user_id,
	// channel_id, seq, including direct) past its read marker, by name
	// only when muted.
	countMentionsQuery = `SELECT ms.channel_id, CASE WHEN ch.kind IN ('dm', 'group_dm')
		THEN ch.message_count - ms.last_read_count
		ELSE (SELECT count(*) FROM mentions mn
			WHERE mn.user_id = ms.user_id AND mn.channel_id = ms.channel_id AND mn.seq > ms.last_read_seq
				AND (mn.direct OR NOT ms.is_muted)) END
	FROM memberships ms
	JOIN channels ch ON ch.id = ms.channel_id
	WHERE ms.user_id = $1 AND ms.channel_id = ANY($2::text[])`
)

// mentionArgs returns the arguments of the mention statements for m, with
// here those its <!here> reaches; nil when m mentions no one.
func mentionArgs(m *confab.Message, here []string) []any {
	if confab.IsSystemSubtype(m.Subtype) {
		return nil // a system message mentions no one
	}
	users, broadcast := confab.Mentions(m.Text, m.Blocks)
	if len(users) == 0 && broadcast == "" {
		return nil
	}
	if users == nil {
		users = []string{}
	}
	if broadcast != confab.MentionHere || here == nil {
		here = []string{}
	}
	all := broadcast == confab.MentionChannel || broadcast == confab.MentionEveryone
	return []any{m.ChannelID, m.Seq, m.UserID, all, users, here}
}

// writeMentions records, in the message's transaction, the members m
// mentions at m.Seq, here those its <!here> reaches (see
// confab.Store.CreateMessage). replace says rows may be there already (an
// edit): those of members no longer mentioned go, the others stay.
func writeMentions(ctx context.Context, tx pgx.Tx, m *confab.Message, here []string, replace bool) error {
	args := mentionArgs(m, here)
	var err error
	switch {
	case args == nil && replace:
		_, err = tx.Exec(ctx, deleteMentionsQuery, m.ChannelID, m.Seq)
	case args == nil:
	case replace:
		_, broadcast := confab.Mentions(m.Text, m.Blocks)
		if _, err = tx.Exec(ctx, staleMentionsQuery, append(args, broadcast != "")...); err == nil {
			_, err = tx.Exec(ctx, insertMentionsQuery, args...)
		}
	default:
		_, err = tx.Exec(ctx, insertMentionsQuery, args...)
	}
	if err != nil {
		return fmt.Errorf("mentions of %s/%d: %w", m.ChannelID, m.Seq, ctxErr(ctx, err))
	}
	return nil
}

// CountMentions counts every channel's mentions past the read marker in
// one statement (countMentionsQuery).
func (db *DB) CountMentions(ctx context.Context, userID string, channelIDs []string) (map[string]int, error) {
	db.queries.Read("CountMentions")
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string]int{}
	if len(channelIDs) == 0 {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, countMentionsQuery, userID, confab.UniqueIDs(channelIDs))
	if err != nil {
		return nil, fmt.Errorf("count mentions of %s: %w", userID, ctxErr(ctx, err))
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count mentions of %s: %w", userID, ctxErr(ctx, err))
		}
		if n > 0 {
			out[id] = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count mentions of %s: %w", userID, ctxErr(ctx, err))
	}
	return out, nil
}
