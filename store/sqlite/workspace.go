package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/confab/confab"
)

// CreateWorkspace creates ws, its owner and its general channel (the
// owner its one member) in one transaction. Missing ids are generated;
// owner.WorkspaceID and ws.OwnerID are set.
func (db *DB) CreateWorkspace(ctx context.Context, ws *confab.Workspace, owner *confab.User) error {
	db.queries.Write("CreateWorkspace")
	w, u := confab.PrepareWorkspace(*ws, *owner)
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO workspaces (id, name, domain, owner_id, created) VALUES (?, ?, ?, ?, ?)`,
			w.ID, w.Name, w.Domain, w.OwnerID, w.Created)
		if isUnique(err) {
			return confab.ErrNameTaken
		} else if err != nil {
			return fmt.Errorf("insert workspace %s: %w", w.Domain, err)
		}
		if err := insertUser(ctx, tx, &u); err != nil {
			return err
		}
		g := confab.GeneralChannel(w)
		return insertChannel(ctx, tx, &g, []string{u.ID})
	})
	if err != nil {
		return err
	}
	*ws, *owner = w, u
	return nil
}

func (db *DB) FindWorkspaceByID(ctx context.Context, id string) (*confab.Workspace, error) {
	db.queries.Read("FindWorkspaceByID")
	return db.findWorkspace(ctx, "id", id)
}

func (db *DB) FindWorkspaceByDomain(ctx context.Context, domain string) (*confab.Workspace, error) {
	db.queries.Read("FindWorkspaceByDomain")
	return db.findWorkspace(ctx, "domain", domain)
}

func (db *DB) findWorkspace(ctx context.Context, col, v string) (*confab.Workspace, error) {
	var w confab.Workspace
	err := db.rdb.QueryRowContext(ctx,
		`SELECT id, name, domain, owner_id, created FROM workspaces WHERE `+col+` = ?`, v).
		Scan(&w.ID, &w.Name, &w.Domain, &w.OwnerID, &w.Created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, confab.ErrTeamNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find workspace by %s: %w", col, err)
	}
	return &w, nil
}

// CreateUser creates u, generating its id if missing, and logs team_join;
// a human user joins the workspace's general channel in the same
// transaction (team_join says so: no member_joined_channel).
func (db *DB) CreateUser(ctx context.Context, u *confab.User) error {
	db.queries.Write("CreateUser")
	c := confab.PrepareUser(*u)
	if err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		if err := insertUser(ctx, tx, &c); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, teamJoin(&c)); err != nil {
			return err
		}
		return joinGeneral(ctx, tx, &c)
	}); err != nil {
		return err
	}
	*u = c
	return nil
}

func insertUser(ctx context.Context, tx *sql.Conn, u *confab.User) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO users (id, workspace_id, name, real_name, display_name, password_hash, is_bot, deleted, created,
		   email, status_text, status_emoji, status_expiration, tz)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.WorkspaceID, u.Name, u.RealName, u.DisplayName, u.PasswordHash,
		boolInt(u.IsBot), boolInt(u.Deleted), u.Created,
		u.Email, u.StatusText, u.StatusEmoji, u.StatusExpiration, u.TZ)
	switch {
	case isUnique(err) && strings.Contains(err.Error(), "users.email"):
		return confab.ErrEmailTaken
	case isUnique(err):
		return confab.ErrNameTaken
	case isForeignKey(err):
		return confab.ErrTeamNotFound
	case err != nil:
		return fmt.Errorf("insert user %s: %w", u.Name, err)
	}
	return writeUserTerms(ctx, tx, u)
}

// joinGeneral puts a new human user in its workspace's general channel, if
// it has one (a workspace created before is given one by migration 0018).
// Bot users are not put there, as in Slack: an app is invited.
func joinGeneral(ctx context.Context, tx *sql.Conn, u *confab.User) error {
	if u.IsBot || u.Deleted {
		return nil
	}
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM channels WHERE workspace_id = ? AND is_general`, u.WorkspaceID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("general channel of %s: %w", u.WorkspaceID, err)
	}
	_, err = addMember(ctx, tx, id, u.ID, u.Created, false)
	return err
}

// teamJoin is the event of u joining its workspace.
func teamJoin(u *confab.User) confab.WorkspaceEvent {
	return confab.WorkspaceEvent{WorkspaceID: u.WorkspaceID, Kind: confab.EventTeamJoin, UserID: u.ID}
}

const userCols = `id, workspace_id, name, real_name, display_name, password_hash, is_bot, deleted, created,
	email, status_text, status_emoji, status_expiration, tz`

func scanUser(s scanner) (*confab.User, error) {
	var u confab.User
	err := s.Scan(&u.ID, &u.WorkspaceID, &u.Name, &u.RealName, &u.DisplayName, &u.PasswordHash,
		&u.IsBot, &u.Deleted, &u.Created, &u.Email, &u.StatusText, &u.StatusEmoji, &u.StatusExpiration, &u.TZ)
	return &u, err
}

func (db *DB) FindUserByID(ctx context.Context, id string) (*confab.User, error) {
	db.queries.Read("FindUserByID")
	u, err := scanUser(db.rdb.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, confab.ErrUserNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find user %s: %w", id, err)
	}
	return u, nil
}

func (db *DB) FindUserByName(ctx context.Context, workspaceID, name string) (*confab.User, error) {
	db.queries.Read("FindUserByName")
	u, err := scanUser(db.rdb.QueryRowContext(ctx,
		`SELECT `+userCols+` FROM users WHERE workspace_id = ? AND name = ?`, workspaceID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, confab.ErrUserNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find user %s: %w", name, err)
	}
	return u, nil
}

// userByEmailQuery finds a user by email: "email <> ”" lets the
// planner use the partial unique index users_email.
const userByEmailQuery = `SELECT ` + userCols + ` FROM users WHERE workspace_id = ? AND email = ? AND email <> ''`

func (db *DB) FindUserByEmail(ctx context.Context, workspaceID, email string) (*confab.User, error) {
	db.queries.Read("FindUserByEmail")
	email = confab.NormalizeEmail(email)
	if email == "" {
		return nil, confab.ErrUserNotFound
	}
	u, err := scanUser(db.rdb.QueryRowContext(ctx,
		userByEmailQuery, workspaceID, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, confab.ErrUserNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	return u, nil
}

// UpdateUser sets the profile fields upd sets, in one statement.
func (db *DB) UpdateUser(ctx context.Context, id string, upd confab.UserUpdate) (*confab.User, error) {
	db.queries.Write("UpdateUser")
	var u *confab.User
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx,
			`UPDATE users SET
			   real_name = coalesce(?, real_name), display_name = coalesce(?, display_name),
			   status_text = coalesce(?, status_text), status_emoji = coalesce(?, status_emoji),
			   status_expiration = coalesce(?, status_expiration)
			 WHERE id = ? RETURNING `+userCols,
			upd.RealName, upd.DisplayName, upd.StatusText, upd.StatusEmoji, upd.StatusExpiration, id))
		if errors.Is(err, sql.ErrNoRows) {
			return confab.ErrUserNotFound
		} else if err != nil {
			return fmt.Errorf("update user %s: %w", id, err)
		}
		if upd.RealName != nil || upd.DisplayName != nil {
			if err := writeUserTerms(ctx, tx, u); err != nil {
				return err
			}
		}
		return appendEvent(ctx, tx, confab.WorkspaceEvent{WorkspaceID: u.WorkspaceID, Kind: confab.EventUserChange, UserID: u.ID})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func (db *DB) FindUsers(ctx context.Context, f confab.UserFilter) ([]*confab.User, error) {
	db.queries.Read("FindUsers")
	out, err := queryAll(ctx, db.rdb, scanUser,
		`SELECT `+userCols+` FROM users WHERE workspace_id = ? AND id > ? ORDER BY id LIMIT ?`,
		f.WorkspaceID, f.AfterID, limit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	return out, nil
}

// limit maps "no limit" (<= 0) to SQLite's LIMIT -1.
func limit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

func (db *DB) CreateToken(ctx context.Context, t *confab.Token) error {
	db.queries.Write("CreateToken")
	c := *t
	c.Hash = append([]byte(nil), t.Hash...)
	return db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO tokens (hash, user_id, created, last_used, type) VALUES (?, ?, ?, ?, ?)`,
			c.Hash, c.UserID, c.Created, c.LastUsed, confab.TokenTypeOrUser(c.Type))
		switch {
		case isUnique(err):
			return confab.ErrTokenTaken
		case isForeignKey(err):
			return confab.ErrUserNotFound
		case err != nil:
			return fmt.Errorf("insert token: %w", err)
		}
		return nil
	})
}

func (db *DB) FindToken(ctx context.Context, hash []byte) (*confab.Token, error) {
	db.queries.Read("FindToken")
	var t confab.Token
	err := db.rdb.QueryRowContext(ctx,
		`SELECT hash, user_id, created, last_used, type FROM tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.UserID, &t.Created, &t.LastUsed, &t.Type)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, confab.ErrInvalidAuth
	} else if err != nil {
		return nil, fmt.Errorf("find token: %w", err)
	}
	return &t, nil
}

func (db *DB) DeleteUserTokens(ctx context.Context, userID string, keep []byte) ([][]byte, error) {
	db.queries.Write("DeleteUserTokens")
	k := append([]byte(nil), keep...)
	var out [][]byte
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `DELETE FROM tokens WHERE user_id = ? AND type = ? AND hash <> ? RETURNING hash`,
			userID, confab.TokenUser, k)
		if err != nil {
			return fmt.Errorf("delete tokens of %s: %w", userID, err)
		}
		defer rows.Close()
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				return fmt.Errorf("delete tokens of %s: %w", userID, err)
			}
			out = append(out, h)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (db *DB) DeleteToken(ctx context.Context, hash []byte) error {
	db.queries.Write("DeleteToken")
	h := append([]byte(nil), hash...)
	return db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE hash = ?`, h); err != nil {
			return fmt.Errorf("delete token: %w", err)
		}
		return nil
	})
}
