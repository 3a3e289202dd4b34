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
// first): ?3 is the poster, left out; ?4 true for <!channel> or
// <!everyone>; ?5 the users mentioned by name and ?6 those a <!here>
// reaches (Message.Here), each one JSON array (no bound on their number).
const (
	mentionedMembers = `SELECT user_id FROM memberships
		WHERE channel_id = ?1 AND user_id != ?3 AND (?4 OR user_id IN (SELECT value FROM json_each(?5))
			OR user_id IN (SELECT value FROM json_each(?6)))`
	// insertMentionsQuery writes a row per member mentioned, or sets
	// direct on the row an earlier version of the message left.
	insertMentionsQuery = `INSERT INTO mentions (channel_id, seq, user_id, direct)
		SELECT ?1, ?2, user_id, user_id IN (SELECT value FROM json_each(?5)) FROM (` + mentionedMembers + `) WHERE true
		ON CONFLICT (channel_id, seq, user_id) DO UPDATE SET direct = excluded.direct`
	// staleMentionsQuery deletes the message's rows of members it no
	// longer mentions; ?7 true (the edit keeps a channel-wide mention)
	// keeps the rows a channel-wide mention made.
	staleMentionsQuery = `DELETE FROM mentions WHERE channel_id = ?1 AND seq = ?2
		AND (direct OR NOT ?7) AND user_id NOT IN (` + mentionedMembers + `)`
	deleteMentionsQuery = `DELETE FROM mentions WHERE channel_id = ? AND seq = ?`
	// countMentionsQuery takes the channel ids as one JSON array and, for
	// each, seeks the user's membership by its primary key and the
	// channel by its own: a DM or group DM counts its unread messages,
	// another channel mentions_user (user_id, channel_id, seq, direct)
	// past its read marker, by name only when muted. CROSS JOIN keeps the
	// ids outermost: left to itself the planner walks all of the user's
	// memberships instead.
	countMentionsQuery = `SELECT ms.channel_id, CASE WHEN ch.kind IN ('dm', 'group_dm')
		THEN ch.message_count - ms.last_read_count
		ELSE (SELECT count(*) FROM mentions AS mn INDEXED BY mentions_user
			WHERE mn.user_id = ?1 AND mn.channel_id = ms.channel_id AND mn.seq > ms.last_read_seq
				AND (mn.direct OR NOT ms.is_muted)) END
	FROM json_each(?2) AS c
	CROSS JOIN memberships AS ms ON ms.channel_id = c.value AND ms.user_id = ?1
	CROSS JOIN channels AS ch ON ch.id = ms.channel_id`
)

// writeMentions records, in the message's write transaction, the members
// m mentions at m.Seq, here those its <!here> reaches (see
// confab.Store.CreateMessage). replace says rows may be there already (an
// edit): those of members no longer mentioned go, the others stay.
func writeMentions(ctx context.Context, tx *sql.Conn, m *confab.Message, here []string, replace bool) error {
	if confab.IsSystemSubtype(m.Subtype) {
		return nil // a system message mentions no one
	}
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
	if broadcast != confab.MentionHere || here == nil {
		here = []string{}
	}
	if users == nil {
		users = []string{} // "null" would make direct NULL
	}
	ids, err := json.Marshal(users)
	if err != nil {
		return fmt.Errorf("mentions of %s/%d: %w", m.ChannelID, m.Seq, err)
	}
	hereIDs, err := json.Marshal(here)
	if err != nil {
		return fmt.Errorf("mentions of %s/%d: %w", m.ChannelID, m.Seq, err)
	}
	all := broadcast == confab.MentionChannel || broadcast == confab.MentionEveryone
	args := []any{m.ChannelID, m.Seq, m.UserID, all, string(ids), string(hereIDs)}
	if replace {
		if _, err := tx.ExecContext(ctx, staleMentionsQuery, append(args, broadcast != "")...); err != nil {
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
		if n > 0 {
			out[id] = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count mentions of %s: %w", userID, err)
	}
	return out, nil
}
