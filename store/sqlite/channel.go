package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/confab/confab"
)

const channelCols = `id, workspace_id, kind, name, key, topic, topic_creator, topic_last_set,
	purpose, purpose_creator, purpose_last_set, created_by, created, archived,
	last_seq, message_count, num_members, pin_count, pin_version, is_general`

func scanChannel(s scanner) (*confab.Channel, error) {
	var c confab.Channel
	err := s.Scan(&c.ID, &c.WorkspaceID, &c.Kind, &c.Name, &c.Key,
		&c.Topic.Value, &c.Topic.Creator, &c.Topic.LastSet,
		&c.Purpose.Value, &c.Purpose.Creator, &c.Purpose.LastSet,
		&c.CreatedBy, &c.Created, &c.Archived, &c.LastSeq, &c.MessageCount, &c.NumMembers,
		&c.PinCount, &c.PinVersion, &c.IsGeneral)
	return &c, err
}

// CreateChannel creates c with its members, generating its id from its kind
// if missing. Duplicate member ids count once. A named channel logs
// channel_created.
func (db *DB) CreateChannel(ctx context.Context, c *confab.Channel, members []string) error {
	db.queries.Write("CreateChannel")
	ch, ms := confab.PrepareChannel(*c, members)
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		if err := insertChannel(ctx, tx, &ch, ms); err != nil {
			return err
		}
		if ch.IsDirect() {
			return nil
		}
		return appendEvent(ctx, tx, confab.WorkspaceEvent{WorkspaceID: ch.WorkspaceID,
			Kind: confab.EventChannelCreated, ChannelID: ch.ID, UserID: ch.CreatedBy})
	})
	if err != nil {
		return err
	}
	*c = ch
	return nil
}

// insertChannel writes ch and its members (joined at ch.Created), and
// logs nothing: CreateChannel's and CreateWorkspace's transactions.
func insertChannel(ctx context.Context, tx *sql.Conn, ch *confab.Channel, ms []string) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO channels (id, workspace_id, kind, name, key, topic, topic_creator, topic_last_set,
				purpose, purpose_creator, purpose_last_set, created_by, created, archived, num_members, is_general)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ch.ID, ch.WorkspaceID, ch.Kind, ch.Name, ch.Key,
		ch.Topic.Value, ch.Topic.Creator, ch.Topic.LastSet,
		ch.Purpose.Value, ch.Purpose.Creator, ch.Purpose.LastSet,
		ch.CreatedBy, ch.Created, boolInt(ch.Archived), ch.NumMembers, boolInt(ch.IsGeneral))
	switch {
	case isUnique(err):
		return confab.ErrNameTaken
	case isForeignKey(err):
		return confab.ErrTeamNotFound
	case err != nil:
		return fmt.Errorf("insert channel %s: %w", ch.ID, err)
	}
	for _, u := range ms {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO memberships (channel_id, user_id, joined_at) VALUES (?, ?, ?)`,
			ch.ID, u, ch.Created)
		if isForeignKey(err) {
			return confab.ErrUserNotFound
		} else if err != nil {
			return fmt.Errorf("insert member %s of %s: %w", u, ch.ID, err)
		}
	}
	return nil
}

func (db *DB) FindChannelByID(ctx context.Context, id string) (*confab.Channel, error) {
	db.queries.Read("FindChannelByID")
	return findChannel(ctx, db.rdb, id)
}

func findChannel(ctx context.Context, q queryer, id string) (*confab.Channel, error) {
	c, err := scanChannel(q.QueryRowContext(ctx, `SELECT `+channelCols+` FROM channels WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, confab.ErrChannelNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find channel %s: %w", id, err)
	}
	return c, nil
}

func (db *DB) FindChannelByKey(ctx context.Context, workspaceID, key string) (*confab.Channel, error) {
	db.queries.Read("FindChannelByKey")
	if key == "" {
		return nil, confab.ErrChannelNotFound
	}
	c, err := scanChannel(db.rdb.QueryRowContext(ctx,
		`SELECT `+channelCols+` FROM channels WHERE workspace_id = ? AND key = ? AND key != ''`, workspaceID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, confab.ErrChannelNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find channel by key: %w", err)
	}
	return c, nil
}

func (db *DB) FindChannels(ctx context.Context, f confab.ChannelFilter) ([]*confab.Channel, error) {
	db.queries.Read("FindChannels")
	var (
		where []string
		args  []any
	)
	if f.MemberID != "" {
		// The user's channels come from the membership index; public ones,
		// when asked for, from the workspace's channels.
		cond := `id IN (SELECT channel_id FROM memberships WHERE user_id = ?)`
		if f.IncludePublic {
			cond = `(` + cond + ` OR kind = '` + confab.KindPublic + `')`
		}
		where = append(where, cond)
		args = append(args, f.MemberID)
	}
	where = append(where, `workspace_id = ?`, `id > ?`)
	args = append(args, f.WorkspaceID, f.AfterID)
	if len(f.Kinds) > 0 {
		where = append(where, `kind IN (?`+strings.Repeat(`, ?`, len(f.Kinds)-1)+`)`)
		for _, k := range f.Kinds {
			args = append(args, k)
		}
	}
	if f.ExcludeArchived {
		where = append(where, `archived = 0`)
	}
	if f.Name != "" {
		where = append(where, `name = ?`)
		args = append(args, f.Name)
	}
	args = append(args, limit(f.Limit))
	out, err := queryAll(ctx, db.rdb, scanChannel,
		`SELECT `+channelCols+` FROM channels WHERE `+strings.Join(where, ` AND `)+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("find channels: %w", err)
	}
	return out, nil
}

func (db *DB) UpdateChannel(ctx context.Context, id string, upd confab.ChannelUpdate) (*confab.Channel, error) {
	db.queries.Write("UpdateChannel")
	var sets []string
	var args []any
	if n := upd.Name; n != nil {
		sets = append(sets, `name = ?`)
		args = append(args, *n)
	}
	if t := upd.Topic; t != nil {
		sets = append(sets, `topic = ?, topic_creator = ?, topic_last_set = ?`)
		args = append(args, t.Value, t.Creator, t.LastSet)
	}
	if p := upd.Purpose; p != nil {
		sets = append(sets, `purpose = ?, purpose_creator = ?, purpose_last_set = ?`)
		args = append(args, p.Value, p.Creator, p.LastSet)
	}
	if a := upd.Archived; a != nil {
		sets = append(sets, `archived = ?`)
		args = append(args, boolInt(*a))
	}
	logs := upd.Name != nil || upd.Archived != nil
	var out *confab.Channel
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		var old *confab.Channel
		if logs {
			c, err := findChannel(ctx, tx, id)
			if err != nil {
				return err
			}
			old = c
		}
		if len(sets) > 0 {
			res, err := tx.ExecContext(ctx, `UPDATE channels SET `+strings.Join(sets, `, `)+` WHERE id = ?`,
				append(args, id)...)
			if isUnique(err) {
				return confab.ErrNameTaken
			} else if err != nil {
				return fmt.Errorf("update channel %s: %w", id, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("update channel %s: %w", id, err)
			} else if n == 0 {
				return confab.ErrChannelNotFound
			}
		}
		c, err := findChannel(ctx, tx, id)
		if err != nil {
			return err
		}
		out = c
		if old == nil {
			return nil
		}
		for _, ev := range confab.ChannelUpdateEvents(old, c) {
			if err := appendEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddMember adds userID to the channel with its read marker at the newest
// top-level message (tombstones included), so that nothing is unread, and
// logs member_joined_channel.
func (db *DB) AddMember(ctx context.Context, channelID, userID string, joinedAt int64) (bool, error) {
	db.queries.Write("AddMember")
	var added bool
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) (err error) {
		added, err = addMember(ctx, tx, channelID, userID, joinedAt, true)
		return err
	})
	return added, err
}

// addMember is AddMember's transaction: it adds the member with nothing
// unread and, if logged, logs member_joined_channel; false if they were a member
// already. CreateUser joins the general channel so, unlogged.
func addMember(ctx context.Context, tx *sql.Conn, channelID, userID string, joinedAt int64, logged bool) (bool, error) {
	var count int64
	var ws string
	err := tx.QueryRowContext(ctx, `SELECT message_count, workspace_id FROM channels WHERE id = ?`, channelID).Scan(&count, &ws)
	if errors.Is(err, sql.ErrNoRows) {
		return false, confab.ErrChannelNotFound
	} else if err != nil {
		return false, fmt.Errorf("add member to %s: %w", channelID, err)
	}
	var seq, ts int64
	err = tx.QueryRowContext(ctx, latestTopLevelQuery, channelID).Scan(&seq, &ts)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("add member to %s: latest message: %w", channelID, err)
	}
	res, err := tx.ExecContext(ctx,
		`INSERT INTO memberships (channel_id, user_id, joined_at, last_read_seq, last_read_ts, last_read_count)
			 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, user_id) DO NOTHING`,
		channelID, userID, joinedAt, seq, ts, count)
	if isForeignKey(err) {
		return false, confab.ErrUserNotFound
	} else if err != nil {
		return false, fmt.Errorf("add member to %s: %w", channelID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("add member to %s: %w", channelID, err)
	}
	if n != 1 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx,
		`UPDATE channels SET num_members = num_members + 1 WHERE id = ?`, channelID); err != nil {
		return false, fmt.Errorf("add member to %s: count: %w", channelID, err)
	}
	if !logged {
		return true, nil
	}
	return true, appendEvent(ctx, tx, confab.WorkspaceEvent{WorkspaceID: ws,
		Kind: confab.EventMemberJoined, ChannelID: channelID, UserID: userID})
}

// RemoveMember deletes the membership, counts it off and logs
// member_left_channel.
func (db *DB) RemoveMember(ctx context.Context, channelID, userID string) (bool, error) {
	db.queries.Write("RemoveMember")
	var removed bool
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		res, err := tx.ExecContext(ctx,
			`DELETE FROM memberships WHERE channel_id = ? AND user_id = ?`, channelID, userID)
		if err != nil {
			return fmt.Errorf("remove member from %s: %w", channelID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("remove member from %s: %w", channelID, err)
		}
		if removed = n == 1; removed {
			if _, err := tx.ExecContext(ctx,
				`UPDATE channels SET num_members = num_members - 1 WHERE id = ?`, channelID); err != nil {
				return fmt.Errorf("remove member from %s: count: %w", channelID, err)
			}
			return channelEvent(ctx, tx, confab.EventMemberLeft, channelID, userID)
		}
		return nil
	})
	return removed, err
}

const membershipCols = `channel_id, user_id, joined_at, is_muted, is_starred, last_read_seq, last_read_ts, last_read_count`

func scanMembership(s scanner) (*confab.Membership, error) {
	var m confab.Membership
	err := s.Scan(&m.ChannelID, &m.UserID, &m.JoinedAt, &m.IsMuted, &m.IsStarred,
		&m.LastReadSeq, &m.LastReadTS, &m.LastReadCount)
	return &m, err
}

func (db *DB) FindMembership(ctx context.Context, channelID, userID string) (*confab.Membership, error) {
	db.queries.Read("FindMembership")
	return findMembership(ctx, db.rdb, channelID, userID)
}

func findMembership(ctx context.Context, q queryer, channelID, userID string) (*confab.Membership, error) {
	m, err := scanMembership(q.QueryRowContext(ctx,
		`SELECT `+membershipCols+` FROM memberships WHERE channel_id = ? AND user_id = ?`, channelID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, confab.ErrNotMember
	} else if err != nil {
		return nil, fmt.Errorf("find membership %s/%s: %w", channelID, userID, err)
	}
	return m, nil
}

func (db *DB) FindMemberships(ctx context.Context, userID string) ([]*confab.Membership, error) {
	db.queries.Read("FindMemberships")
	out, err := queryAll(ctx, db.rdb, scanMembership,
		`SELECT `+membershipCols+` FROM memberships WHERE user_id = ? ORDER BY channel_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("find memberships of %s: %w", userID, err)
	}
	return out, nil
}

// membersAmongQuery is FindMembers among ids (a JSON array: one bound
// parameter however many): a seek of the primary key per id.
const membersAmongQuery = `SELECT user_id FROM memberships
	WHERE channel_id = ? AND user_id > ? AND user_id IN (SELECT value FROM json_each(?))
	ORDER BY user_id LIMIT ?`

func (db *DB) FindMembers(ctx context.Context, f confab.MemberFilter) ([]string, error) {
	db.queries.Read("FindMembers")
	q := `SELECT user_id FROM memberships WHERE channel_id = ? AND user_id > ? ORDER BY user_id LIMIT ?`
	args := []any{f.ChannelID, f.AfterUserID, limit(f.Limit)}
	if f.UserIDs != nil {
		ids, err := json.Marshal(f.UserIDs)
		if err != nil {
			return nil, err
		}
		q, args = membersAmongQuery, []any{f.ChannelID, f.AfterUserID, string(ids), limit(f.Limit)}
	}
	out, err := queryAll(ctx, db.rdb, func(s scanner) (id string, err error) { return id, s.Scan(&id) }, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find members of %s: %w", f.ChannelID, err)
	}
	return out, nil
}

func (db *DB) UpdateMembership(ctx context.Context, channelID, userID string, upd confab.MembershipUpdate) (*confab.Membership, error) {
	db.queries.Write("UpdateMembership")
	var sets []string
	var args []any
	if upd.IsMuted != nil {
		sets = append(sets, `is_muted = ?`)
		args = append(args, boolInt(*upd.IsMuted))
	}
	if upd.IsStarred != nil {
		sets = append(sets, `is_starred = ?`)
		args = append(args, boolInt(*upd.IsStarred))
	}
	if m := upd.LastRead; m != nil {
		sets = append(sets, `last_read_seq = ?, last_read_ts = ?, last_read_count = ?`)
		args = append(args, m.Seq, m.TS, m.Num)
	}
	var out *confab.Membership
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		if len(sets) > 0 {
			res, err := tx.ExecContext(ctx,
				`UPDATE memberships SET `+strings.Join(sets, `, `)+` WHERE channel_id = ? AND user_id = ?`,
				append(args, channelID, userID)...)
			if err != nil {
				return fmt.Errorf("update membership %s/%s: %w", channelID, userID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("update membership %s/%s: %w", channelID, userID, err)
			} else if n == 0 {
				return confab.ErrNotMember
			}
		}
		m, err := findMembership(ctx, tx, channelID, userID)
		out = m
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
