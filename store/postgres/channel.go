package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
)

const channelCols = `id, workspace_id, kind, name, key, topic, topic_creator, topic_last_set,
	purpose, purpose_creator, purpose_last_set, created_by, created, archived,
	last_seq, message_count, num_members, pin_count, pin_version, is_general`

func scanChannel(s pgx.Row) (*confab.Channel, error) {
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
	err := db.tx(ctx, func(tx pgx.Tx) error {
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
func insertChannel(ctx context.Context, tx pgx.Tx, ch *confab.Channel, ms []string) error {
	_, err := tx.Exec(ctx,
		`INSERT INTO channels (id, workspace_id, kind, name, key, topic, topic_creator, topic_last_set,
				purpose, purpose_creator, purpose_last_set, created_by, created, archived, num_members, is_general)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		ch.ID, ch.WorkspaceID, ch.Kind, ch.Name, ch.Key,
		ch.Topic.Value, ch.Topic.Creator, ch.Topic.LastSet,
		ch.Purpose.Value, ch.Purpose.Creator, ch.Purpose.LastSet,
		ch.CreatedBy, ch.Created, ch.Archived, ch.NumMembers, ch.IsGeneral)
	switch {
	case isUnique(err):
		return confab.ErrNameTaken
	case isForeignKey(err):
		return confab.ErrTeamNotFound
	case err != nil:
		return fmt.Errorf("insert channel %s: %w", ch.ID, ctxErr(ctx, err))
	}
	if len(ms) > 0 {
		_, err = tx.Exec(ctx,
			`INSERT INTO memberships (channel_id, user_id, joined_at) SELECT $1, u, $2 FROM unnest($3::text[]) AS u`,
			ch.ID, ch.Created, ms)
		if isForeignKey(err) {
			return confab.ErrUserNotFound
		} else if err != nil {
			return fmt.Errorf("insert members of %s: %w", ch.ID, ctxErr(ctx, err))
		}
	}
	return nil
}

func (db *DB) FindChannelByID(ctx context.Context, id string) (*confab.Channel, error) {
	db.queries.Read("FindChannelByID")
	return findChannel(ctx, db.pool, id)
}

func findChannel(ctx context.Context, q querier, id string) (*confab.Channel, error) {
	c, err := scanChannel(q.QueryRow(ctx, `SELECT `+channelCols+` FROM channels WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrChannelNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find channel %s: %w", id, ctxErr(ctx, err))
	}
	return c, nil
}

func (db *DB) FindChannelByKey(ctx context.Context, workspaceID, key string) (*confab.Channel, error) {
	db.queries.Read("FindChannelByKey")
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, confab.ErrChannelNotFound
	}
	c, err := scanChannel(db.pool.QueryRow(ctx,
		`SELECT `+channelCols+` FROM channels WHERE workspace_id = $1 AND key = $2 AND key <> ''`, workspaceID, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrChannelNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find channel by key: %w", ctxErr(ctx, err))
	}
	return c, nil
}

func (db *DB) FindChannels(ctx context.Context, f confab.ChannelFilter) ([]*confab.Channel, error) {
	db.queries.Read("FindChannels")
	where := []string{`workspace_id = $1`, `id > $2`}
	args := []any{f.WorkspaceID, f.AfterID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.MemberID != "" {
		// The user's channels come from the membership index; public ones,
		// when asked for, from the workspace's channels.
		cond := `id IN (SELECT channel_id FROM memberships WHERE user_id = ` + arg(f.MemberID) + `)`
		if f.IncludePublic {
			cond = `(` + cond + ` OR kind = ` + arg(confab.KindPublic) + `)`
		}
		where = append(where, cond)
	}
	if len(f.Kinds) > 0 {
		where = append(where, `kind = ANY(`+arg(f.Kinds)+`::text[])`)
	}
	if f.ExcludeArchived {
		where = append(where, `NOT archived`)
	}
	if f.Name != "" {
		where = append(where, `name = `+arg(f.Name))
	}
	rows, err := db.pool.Query(ctx,
		`SELECT `+channelCols+` FROM channels WHERE `+strings.Join(where, ` AND `)+
			` ORDER BY id LIMIT `+arg(limit(f.Limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("find channels: %w", ctxErr(ctx, err))
	}
	out, err := collect(rows, scanChannel)
	if err != nil {
		return nil, fmt.Errorf("find channels: %w", ctxErr(ctx, err))
	}
	return out, nil
}

func (db *DB) UpdateChannel(ctx context.Context, id string, upd confab.ChannelUpdate) (*confab.Channel, error) {
	db.queries.Write("UpdateChannel")
	var sets []string
	args := []any{id}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if n := upd.Name; n != nil {
		sets = append(sets, `name = `+arg(*n))
	}
	if t := upd.Topic; t != nil {
		sets = append(sets, `topic = `+arg(t.Value)+`, topic_creator = `+arg(t.Creator)+`, topic_last_set = `+arg(t.LastSet))
	}
	if p := upd.Purpose; p != nil {
		sets = append(sets, `purpose = `+arg(p.Value)+`, purpose_creator = `+arg(p.Creator)+`, purpose_last_set = `+arg(p.LastSet))
	}
	if a := upd.Archived; a != nil {
		sets = append(sets, `archived = `+arg(*a))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(sets) == 0 {
		return findChannel(ctx, db.pool, id)
	}
	update := `UPDATE channels SET ` + strings.Join(sets, `, `) + ` WHERE id = $1 RETURNING ` + channelCols
	if upd.Name == nil && upd.Archived == nil {
		// A topic or purpose: nothing to log, one statement.
		return updateChannel(ctx, db.pool, id, update, args)
	}
	// The channel as it was, locked, tells what the update changes.
	var out *confab.Channel
	err := db.tx(ctx, func(tx pgx.Tx) error {
		old, err := scanChannel(tx.QueryRow(ctx, `SELECT `+channelCols+` FROM channels WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return confab.ErrChannelNotFound
		} else if err != nil {
			return fmt.Errorf("update channel %s: %w", id, ctxErr(ctx, err))
		}
		c, err := updateChannel(ctx, tx, id, update, args)
		if err != nil {
			return err
		}
		for _, ev := range confab.ChannelUpdateEvents(old, c) {
			if err := appendEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func updateChannel(ctx context.Context, q querier, id, update string, args []any) (*confab.Channel, error) {
	c, err := scanChannel(q.QueryRow(ctx, update, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrChannelNotFound
	} else if isUnique(err) {
		return nil, confab.ErrNameTaken
	} else if err != nil {
		return nil, fmt.Errorf("update channel %s: %w", id, ctxErr(ctx, err))
	}
	return c, nil
}

// AddMember adds userID to the channel with its read marker at the newest
// top-level message (tombstones included), so that nothing is unread.
//
// It locks the channel row first, so no message can be posted between
// reading the count and reading the newest message. When added, it logs
// member_joined_channel.
func (db *DB) AddMember(ctx context.Context, channelID, userID string, joinedAt int64) (bool, error) {
	db.queries.Write("AddMember")
	var added bool
	err := db.tx(ctx, func(tx pgx.Tx) (err error) {
		added, err = addMember(ctx, tx, channelID, userID, joinedAt, true)
		return err
	})
	return added, err
}

// addMember is AddMember's transaction: it locks the channel row, adds
// the member with nothing unread and, if logged, logs
// member_joined_channel; false if they were a member already. CreateUser
// joins the general channel so, unlogged.
func addMember(ctx context.Context, tx pgx.Tx, channelID, userID string, joinedAt int64, logged bool) (bool, error) {
	var count int64
	var ws string
	err := tx.QueryRow(ctx, `SELECT message_count, workspace_id FROM channels WHERE id = $1 FOR UPDATE`, channelID).Scan(&count, &ws)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, confab.ErrChannelNotFound
	} else if err != nil {
		return false, fmt.Errorf("add member to %s: %w", channelID, ctxErr(ctx, err))
	}
	var seq, ts int64
	err = tx.QueryRow(ctx, latestTopLevelQuery, channelID).Scan(&seq, &ts)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("add member to %s: latest message: %w", channelID, ctxErr(ctx, err))
	}
	tag, err := tx.Exec(ctx,
		`INSERT INTO memberships (channel_id, user_id, joined_at, last_read_seq, last_read_ts, last_read_count)
			 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (channel_id, user_id) DO NOTHING`,
		channelID, userID, joinedAt, seq, ts, count)
	if isForeignKey(err) {
		return false, confab.ErrUserNotFound
	} else if err != nil {
		return false, fmt.Errorf("add member to %s: %w", channelID, ctxErr(ctx, err))
	}
	if tag.RowsAffected() != 1 {
		return false, nil
	}
	if _, err := tx.Exec(ctx,
		`UPDATE channels SET num_members = num_members + 1 WHERE id = $1`, channelID); err != nil {
		return false, fmt.Errorf("add member to %s: count: %w", channelID, ctxErr(ctx, err))
	}
	if !logged {
		return true, nil
	}
	return true, appendEvent(ctx, tx, confab.WorkspaceEvent{WorkspaceID: ws,
		Kind: confab.EventMemberJoined, ChannelID: channelID, UserID: userID})
}

// RemoveMember deletes the membership, counts it off and logs
// member_left_channel. Like every write that touches a channel row, it
// locks that row first: AddMember does the same, so the two cannot
// deadlock on (membership, channel).
func (db *DB) RemoveMember(ctx context.Context, channelID, userID string) (bool, error) {
	db.queries.Write("RemoveMember")
	var removed bool
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var ws string
		err := tx.QueryRow(ctx, `SELECT workspace_id FROM channels WHERE id = $1 FOR UPDATE`, channelID).Scan(&ws)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // no channel, no member
		} else if err != nil {
			return fmt.Errorf("remove member from %s: %w", channelID, ctxErr(ctx, err))
		}
		var n int
		err = tx.QueryRow(ctx,
			`WITH gone AS (DELETE FROM memberships WHERE channel_id = $1 AND user_id = $2 RETURNING channel_id),
			      counted AS (UPDATE channels SET num_members = num_members - 1 WHERE id IN (SELECT channel_id FROM gone))
			 SELECT count(*) FROM gone`, channelID, userID).Scan(&n)
		if err != nil {
			return fmt.Errorf("remove member from %s: %w", channelID, ctxErr(ctx, err))
		}
		if removed = n == 1; removed {
			return appendEvent(ctx, tx, confab.WorkspaceEvent{WorkspaceID: ws,
				Kind: confab.EventMemberLeft, ChannelID: channelID, UserID: userID})
		}
		return nil
	})
	return removed, err
}

const membershipCols = `channel_id, user_id, joined_at, is_muted, is_starred, last_read_seq, last_read_ts, last_read_count`

func scanMembership(s pgx.Row) (*confab.Membership, error) {
	var m confab.Membership
	err := s.Scan(&m.ChannelID, &m.UserID, &m.JoinedAt, &m.IsMuted, &m.IsStarred,
		&m.LastReadSeq, &m.LastReadTS, &m.LastReadCount)
	return &m, err
}

func (db *DB) FindMembership(ctx context.Context, channelID, userID string) (*confab.Membership, error) {
	db.queries.Read("FindMembership")
	return findMembership(ctx, db.pool, channelID, userID)
}

func findMembership(ctx context.Context, q querier, channelID, userID string) (*confab.Membership, error) {
	m, err := scanMembership(q.QueryRow(ctx,
		`SELECT `+membershipCols+` FROM memberships WHERE channel_id = $1 AND user_id = $2`, channelID, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrNotMember
	} else if err != nil {
		return nil, fmt.Errorf("find membership %s/%s: %w", channelID, userID, ctxErr(ctx, err))
	}
	return m, nil
}

func (db *DB) FindMemberships(ctx context.Context, userID string) ([]*confab.Membership, error) {
	db.queries.Read("FindMemberships")
	rows, err := db.pool.Query(ctx,
		`SELECT `+membershipCols+` FROM memberships WHERE user_id = $1 ORDER BY channel_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("find memberships of %s: %w", userID, ctxErr(ctx, err))
	}
	out, err := collect(rows, scanMembership)
	if err != nil {
		return nil, fmt.Errorf("find memberships of %s: %w", userID, ctxErr(ctx, err))
	}
	return out, nil
}

func (db *DB) FindMembers(ctx context.Context, f confab.MemberFilter) ([]string, error) {
	db.queries.Read("FindMembers")
	q := `SELECT user_id FROM memberships WHERE channel_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`
	args := []any{f.ChannelID, f.AfterUserID, limit(f.Limit)}
	if f.UserIDs != nil {
		// Its own statement, so that every plan of it seeks the ids.
		q = `SELECT user_id FROM memberships WHERE channel_id = $1 AND user_id > $2 AND user_id = ANY ($4::text[])
		 ORDER BY user_id LIMIT $3`
		args = append(args, append([]string{}, f.UserIDs...))
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find members of %s: %w", f.ChannelID, ctxErr(ctx, err))
	}
	out, err := collect(rows, func(r pgx.Row) (string, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	})
	if err != nil {
		return nil, fmt.Errorf("find members of %s: %w", f.ChannelID, ctxErr(ctx, err))
	}
	return out, nil
}

func (db *DB) UpdateMembership(ctx context.Context, channelID, userID string, upd confab.MembershipUpdate) (*confab.Membership, error) {
	db.queries.Write("UpdateMembership")
	var sets []string
	args := []any{channelID, userID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if upd.IsMuted != nil {
		sets = append(sets, `is_muted = `+arg(*upd.IsMuted))
	}
	if upd.IsStarred != nil {
		sets = append(sets, `is_starred = `+arg(*upd.IsStarred))
	}
	if m := upd.LastRead; m != nil {
		sets = append(sets, `last_read_seq = `+arg(m.Seq)+`, last_read_ts = `+arg(m.TS)+`, last_read_count = `+arg(m.Num))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(sets) == 0 {
		return findMembership(ctx, db.pool, channelID, userID)
	}
	m, err := scanMembership(db.pool.QueryRow(ctx,
		`UPDATE memberships SET `+strings.Join(sets, `, `)+` WHERE channel_id = $1 AND user_id = $2 RETURNING `+membershipCols,
		args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrNotMember
	} else if err != nil {
		return nil, fmt.Errorf("update membership %s/%s: %w", channelID, userID, ctxErr(ctx, err))
	}
	return m, nil
}
