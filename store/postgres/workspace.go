package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
)

// CreateWorkspace creates ws, its owner and its general channel (the
// owner its one member) in one transaction. Missing ids are generated;
// owner.WorkspaceID and ws.OwnerID are set.
func (db *DB) CreateWorkspace(ctx context.Context, ws *confab.Workspace, owner *confab.User) error {
	db.queries.Write("CreateWorkspace")
	return db.createWorkspace(ctx, ws, owner, true)
}

// CreateWorkspaceRecord is CreateWorkspace without the general channel:
// pocket's directory keeps so a workspace whose channels are in its
// pocket's own database, the general channel too (pocket.Store).
func (db *DB) CreateWorkspaceRecord(ctx context.Context, ws *confab.Workspace, owner *confab.User) error {
	db.queries.Write("CreateWorkspaceRecord")
	return db.createWorkspace(ctx, ws, owner, false)
}

func (db *DB) createWorkspace(ctx context.Context, ws *confab.Workspace, owner *confab.User, general bool) error {
	w, u := confab.PrepareWorkspace(*ws, *owner)
	err := db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			`INSERT INTO workspaces (id, name, domain, owner_id, created) VALUES ($1, $2, $3, $4, $5)`,
			w.ID, w.Name, w.Domain, w.OwnerID, w.Created)
		if isUnique(err) {
			return confab.ErrNameTaken
		} else if err != nil {
			return fmt.Errorf("insert workspace %s: %w", w.Domain, ctxErr(ctx, err))
		}
		if err := insertUser(ctx, tx, &u); err != nil || !general {
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
	return db.findWorkspace(ctx, `SELECT id, name, domain, owner_id, created FROM workspaces WHERE id = $1`, id)
}

func (db *DB) FindWorkspaceByDomain(ctx context.Context, domain string) (*confab.Workspace, error) {
	db.queries.Read("FindWorkspaceByDomain")
	return db.findWorkspace(ctx, `SELECT id, name, domain, owner_id, created FROM workspaces WHERE domain = $1`, domain)
}

func (db *DB) findWorkspace(ctx context.Context, query, v string) (*confab.Workspace, error) {
	var w confab.Workspace
	err := db.pool.QueryRow(ctx, query, v).Scan(&w.ID, &w.Name, &w.Domain, &w.OwnerID, &w.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrTeamNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find workspace %s: %w", v, ctxErr(ctx, err))
	}
	return &w, nil
}

// CreateUser creates u, generating its id if missing, and logs team_join;
// a human user joins the workspace's general channel in the same
// transaction (team_join says so: no member_joined_channel).
func (db *DB) CreateUser(ctx context.Context, u *confab.User) error {
	db.queries.Write("CreateUser")
	c := confab.PrepareUser(*u)
	if err := db.tx(ctx, func(tx pgx.Tx) error {
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

func insertUser(ctx context.Context, q querier, u *confab.User) error {
	_, err := q.Exec(ctx,
		`INSERT INTO users (id, workspace_id, name, real_name, display_name, password_hash, is_bot, deleted, created,
		   email, status_text, status_emoji, status_expiration, tz)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		u.ID, u.WorkspaceID, u.Name, u.RealName, u.DisplayName, u.PasswordHash, u.IsBot, u.Deleted, u.Created,
		u.Email, u.StatusText, u.StatusEmoji, u.StatusExpiration, u.TZ)
	switch {
	case isUnique(err) && pgError(err).ConstraintName == "users_email":
		return confab.ErrEmailTaken
	case isUnique(err):
		return confab.ErrNameTaken
	case isForeignKey(err):
		return confab.ErrTeamNotFound
	case err != nil:
		return fmt.Errorf("insert user %s: %w", u.Name, ctxErr(ctx, err))
	}
	return writeUserTerms(ctx, q, u)
}

// joinGeneral puts a new human user in its workspace's general channel, if
// it has one (a workspace created before is given one by migration 0015).
// Bot users are not put there, as in Slack: an app is invited.
func joinGeneral(ctx context.Context, tx pgx.Tx, u *confab.User) error {
	if u.IsBot || u.Deleted {
		return nil
	}
	var id string
	err := tx.QueryRow(ctx, `SELECT id FROM channels WHERE workspace_id = $1 AND is_general`, u.WorkspaceID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("general channel of %s: %w", u.WorkspaceID, ctxErr(ctx, err))
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

func scanUser(s pgx.Row) (*confab.User, error) {
	var u confab.User
	err := s.Scan(&u.ID, &u.WorkspaceID, &u.Name, &u.RealName, &u.DisplayName, &u.PasswordHash,
		&u.IsBot, &u.Deleted, &u.Created, &u.Email, &u.StatusText, &u.StatusEmoji, &u.StatusExpiration, &u.TZ)
	return &u, err
}

func (db *DB) FindUserByID(ctx context.Context, id string) (*confab.User, error) {
	db.queries.Read("FindUserByID")
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrUserNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find user %s: %w", id, ctxErr(ctx, err))
	}
	return u, nil
}

func (db *DB) FindUserByName(ctx context.Context, workspaceID, name string) (*confab.User, error) {
	db.queries.Read("FindUserByName")
	u, err := scanUser(db.pool.QueryRow(ctx,
		`SELECT `+userCols+` FROM users WHERE workspace_id = $1 AND name = $2`, workspaceID, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrUserNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find user %s: %w", name, ctxErr(ctx, err))
	}
	return u, nil
}

// userByEmailQuery finds a user by email: "email <> ”" lets the
// planner use the partial unique index users_email whatever $2 is.
const userByEmailQuery = `SELECT ` + userCols + ` FROM users WHERE workspace_id = $1 AND email = $2 AND email <> ''`

func (db *DB) FindUserByEmail(ctx context.Context, workspaceID, email string) (*confab.User, error) {
	db.queries.Read("FindUserByEmail")
	email = confab.NormalizeEmail(email)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if email == "" {
		return nil, confab.ErrUserNotFound
	}
	u, err := scanUser(db.pool.QueryRow(ctx,
		userByEmailQuery, workspaceID, email))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrUserNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find user by email: %w", ctxErr(ctx, err))
	}
	return u, nil
}

// UpdateUser sets the profile fields upd sets, in one statement.
func (db *DB) UpdateUser(ctx context.Context, id string, upd confab.UserUpdate) (*confab.User, error) {
	db.queries.Write("UpdateUser")
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var u *confab.User
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx,
			`UPDATE users SET
			   real_name = coalesce($2, real_name), display_name = coalesce($3, display_name),
			   status_text = coalesce($4, status_text), status_emoji = coalesce($5, status_emoji),
			   status_expiration = coalesce($6, status_expiration)
			 WHERE id = $1 RETURNING `+userCols,
			id, upd.RealName, upd.DisplayName, upd.StatusText, upd.StatusEmoji, upd.StatusExpiration))
		if errors.Is(err, pgx.ErrNoRows) {
			return confab.ErrUserNotFound
		} else if err != nil {
			return fmt.Errorf("update user %s: %w", id, ctxErr(ctx, err))
		}
		if upd.RealName != nil || upd.DisplayName != nil {
			if err := writeUserTerms(ctx, tx, u); err != nil {
				return err
			}
		}
		// Last in the transaction: it locks the workspace's counter (wslog.go).
		return appendEvent(ctx, tx, confab.WorkspaceEvent{WorkspaceID: u.WorkspaceID, Kind: confab.EventUserChange, UserID: u.ID})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func (db *DB) FindUsers(ctx context.Context, f confab.UserFilter) ([]*confab.User, error) {
	db.queries.Read("FindUsers")
	rows, err := db.pool.Query(ctx,
		`SELECT `+userCols+` FROM users WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		f.WorkspaceID, f.AfterID, limit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("find users: %w", ctxErr(ctx, err))
	}
	out, err := collect(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("find users: %w", ctxErr(ctx, err))
	}
	return out, nil
}

// collect scans every row with scan and closes rows.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (db *DB) CreateToken(ctx context.Context, t *confab.Token) error {
	db.queries.Write("CreateToken")
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx,
		`INSERT INTO tokens (hash, user_id, created, last_used, type) VALUES ($1, $2, $3, $4, $5)`,
		t.Hash, t.UserID, t.Created, t.LastUsed, confab.TokenTypeOrUser(t.Type))
	switch {
	case isUnique(err):
		return confab.ErrTokenTaken
	case isForeignKey(err):
		return confab.ErrUserNotFound
	case err != nil:
		return fmt.Errorf("insert token: %w", ctxErr(ctx, err))
	}
	return nil
}

func (db *DB) FindToken(ctx context.Context, hash []byte) (*confab.Token, error) {
	db.queries.Read("FindToken")
	var t confab.Token
	err := db.pool.QueryRow(ctx,
		`SELECT hash, user_id, created, last_used, type FROM tokens WHERE hash = $1`, hash).
		Scan(&t.Hash, &t.UserID, &t.Created, &t.LastUsed, &t.Type)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrInvalidAuth
	} else if err != nil {
		return nil, fmt.Errorf("find token: %w", ctxErr(ctx, err))
	}
	return &t, nil
}

func (db *DB) DeleteUserTokens(ctx context.Context, userID string, keep []byte) ([][]byte, error) {
	db.queries.Write("DeleteUserTokens")
	rows, err := db.pool.Query(ctx, `DELETE FROM tokens WHERE user_id = $1 AND type = $2 AND hash <> $3 RETURNING hash`,
		userID, confab.TokenUser, keep)
	if err != nil {
		return nil, fmt.Errorf("delete tokens of %s: %w", userID, ctxErr(ctx, err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("delete tokens of %s: %w", userID, ctxErr(ctx, err))
	}
	return out, nil
}

func (db *DB) DeleteToken(ctx context.Context, hash []byte) error {
	db.queries.Write("DeleteToken")
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM tokens WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("delete token: %w", ctxErr(ctx, err))
	}
	return nil
}
