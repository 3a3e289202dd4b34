package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/confab/confab"
)

// The mention statements. The members a message mentions are one
// selection of the channel's memberships (its primary key, channel_id
// first): ?3 is the poster, left out; ?4 true for a channel-wide mention,
// ?5 the mentioned users as one JSON array (no bound on their number).
const (
	mentionedMembers = `SELECT user_id FROM memberships
		WHERE channel_id = ?1 AND user_id != ?3 AND (?4 OR user_id IN (SELECT value FROM json_each(?5)))`
	insertMentionsQuery = `INSERT OR IGNORE INTO mentions (channel_id, seq, user_id)
		SELECT ?1, ?2, user_id FROM (` + mentionedMembers + `)`
	// staleMentionsQuery deletes the message's rows of members it no
	// longer mentions.
	staleMentionsQuery = `DELETE FROM mentions WHERE channel_id = ?1 AND seq = ?2
		AND user_id NOT IN (` + mentionedMembers + `)`
	deleteMentionsQuery = `DELETE FROM mentions WHERE channel_id = ? AND seq = ?`
	// countMentionsQuery takes the channel ids as one JSON array and, for
	// each, seeks the user's membership by its primary key, then counts
	// mentions_user (user_id, channel_id, seq) past its read marker. CROSS
	// JOIN keeps the ids outermost: left to itself the planner walks all
	// of the user's memberships instead.
	countMentionsQuery = `SELECT ms.channel_id, count(*)
	FROM json_each(?2) AS c
	CROSS JOIN memberships AS ms ON ms.channel_id = c.value AND ms.user_id = ?1
	CROSS JOIN mentions AS mn INDEXED BY mentions_user
		ON mn.user_id = ?1 AND mn.channel_id = ms.channel_id AND mn.seq > ms.last_read_seq
	GROUP BY ms.channel_id`
)

// writeMentions records, in the message's write transaction, the members
// m mentions at m.Seq (see confab.Store.CreateMessage). replace says rows
// may be there already (an edit): those of members no longer mentioned
// go, the others stay.
func writeMentions(ctx context.Context, tx *sql.Conn, m *confab.Message, replace bool) error {
	users, broadcast := confab.Mentions(m.Text, m.Blocks)
	if len(users) == 0 && broadcast == "" {
		if !replace {
			return nil
		}
		if _, err := tx.ExecContext(ctx, deleteMentionsQuery, m.ChannelID, m.Seq); err != nil {
			return fmt.Errorf("mentions of %s/%d: %w", m.ChannelID, m.Seq, err)
		}
		return nil
	}
	ids, err := json.Marshal(users)
	if err != nil {
		return fmt.Errorf("mentions of %s/%d: %w", m.ChannelID, m.Seq, err)
	}
	args := []any{m.ChannelID, m.Seq, m.UserID, broadcast != "", string(ids)}
	if replace {
		if _, err := tx.ExecContext(ctx, staleMentionsQuery, args...); err != nil {
			return fmt.Errorf("mentions of %s/%d: %w", m.ChannelID, m.Seq, err)
		}
	}
	if _, err := tx.ExecContext(ctx, insertMentionsQuery, args...); err != nil {
		return fmt.Errorf("mentions of %s/%d: %w", m.ChannelID, m.Seq, err)
	}
	return nil
}

// deleteMentions removes a deleted message's mentions.
func deleteMentions(ctx context.Context, tx *sql.Conn, channelID string, seq int64) error {
	if _, err := tx.ExecContext(ctx, deleteMentionsQuery, channelID, seq); err != nil {
		return fmt.Errorf("mentions of %s/%d: %w", channelID, seq, err)
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
	ids, err := json.Marshal(confab.UniqueIDs(channelIDs))
	if err != nil {
		return nil, fmt.Errorf("count mentions: %w", err)
	}
	rows, err := db.rdb.QueryContext(ctx, countMentionsQuery, userID, string(ids))
	if err != nil {
		return nil, fmt.Errorf("count mentions of %s: %w", userID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count mentions of %s: %w", userID, err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count mentions of %s: %w", userID, err)
	}
	return out, nil
}
