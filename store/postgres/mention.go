package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
)

// The mention statements. The members a message mentions are one
// selection of the channel's memberships (its primary key, channel_id
// first): $3 is the poster, left out; $4 true for a channel-wide mention,
// $5 the mentioned users.
const (
	mentionedMembers = `SELECT user_id FROM memberships
		WHERE channel_id = $1 AND user_id <> $3 AND ($4::boolean OR user_id = ANY($5::text[]))`
	insertMentionsQuery = `INSERT INTO mentions (channel_id, seq, user_id)
		SELECT $1::text, $2::bigint, user_id FROM (` + mentionedMembers + `) mm
		ON CONFLICT DO NOTHING`
	// staleMentionsQuery deletes the message's rows of members it no
	// longer mentions.
	staleMentionsQuery = `DELETE FROM mentions WHERE channel_id = $1 AND seq = $2::bigint
		AND user_id NOT IN (` + mentionedMembers + `)`
	deleteMentionsQuery = `DELETE FROM mentions WHERE channel_id = $1 AND seq = $2`
	// countMentionsQuery seeks the user's membership of each channel
	// (memberships_user), then counts mentions_user (user_id, channel_id,
	// seq) past its read marker.
	countMentionsQuery = `SELECT ms.channel_id, count(*)
	FROM memberships ms
	JOIN mentions mn ON mn.user_id = ms.user_id AND mn.channel_id = ms.channel_id AND mn.seq > ms.last_read_seq
	WHERE ms.user_id = $1 AND ms.channel_id = ANY($2::text[])
	GROUP BY ms.channel_id`
)

// mentionArgs returns the arguments of the mention statements for m, nil
// when m mentions no one.
func mentionArgs(m *confab.Message) []any {
	users, broadcast := confab.Mentions(m.Text, m.Blocks)
	if len(users) == 0 && broadcast == "" {
		return nil
	}
	if users == nil {
		users = []string{}
	}
	return []any{m.ChannelID, m.Seq, m.UserID, broadcast != "", users}
}

// writeMentions records, in the message's transaction, the members m
// mentions at m.Seq (see confab.Store.CreateMessage). replace says rows
// may be there already (an edit): those of members no longer mentioned
// go, the others stay.
func writeMentions(ctx context.Context, tx pgx.Tx, m *confab.Message, replace bool) error {
	args := mentionArgs(m)
	var err error
	switch {
	case args == nil && replace:
		_, err = tx.Exec(ctx, deleteMentionsQuery, m.ChannelID, m.Seq)
	case args == nil:
	case replace:
		if _, err = tx.Exec(ctx, staleMentionsQuery, args...); err == nil {
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
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count mentions of %s: %w", userID, ctxErr(ctx, err))
	}
	return out, nil
}
