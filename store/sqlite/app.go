package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/confab/confab"
)

// CreateApp installs an app: the app, its bot user, the bot and its
// tokens in one transaction, which logs the bot user's team_join.
func (db *DB) CreateApp(ctx context.Context, app *confab.App, bot *confab.Bot, user *confab.User, tokens []*confab.Token) error {
	db.queries.Write("CreateApp")
	a, b, u, ts := confab.PrepareApp(*app, *bot, *user, tokens)
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		if err := insertUser(ctx, tx, &u); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO apps (id, workspace_id, manifest, client_id, client_secret, verification_token, signing_secret, created_by, created, updated)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.WorkspaceID, a.Manifest, a.ClientID, a.ClientSecret, a.VerificationToken, a.SigningSecret,
			a.CreatedBy, a.Created, a.Updated); err != nil {
			return fmt.Errorf("insert app %s: %w", a.ID, err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO bots (id, app_id, user_id, workspace_id, name, deleted, updated) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.AppID, b.UserID, b.WorkspaceID, b.Name, boolInt(b.Deleted), b.Updated); err != nil {
			return fmt.Errorf("insert bot %s: %w", b.ID, err)
		}
		for _, t := range ts {
			_, err := tx.ExecContext(ctx,
				`INSERT INTO tokens (hash, user_id, created, last_used, type) VALUES (?, ?, ?, ?, ?)`,
				t.Hash, t.UserID, t.Created, t.LastUsed, t.Type)
			if isUnique(err) {
				return confab.ErrTokenTaken
			} else if err != nil {
				return fmt.Errorf("insert token: %w", err)
			}
		}
		return appendEvent(ctx, tx, teamJoin(&u))
	})
	if err != nil {
		return err
	}
	*app, *bot, *user = a, b, u
	return nil
}

const appCols = `id, workspace_id, manifest, client_id, client_secret, verification_token, signing_secret, created_by, created, updated`

func scanApp(s scanner) (*confab.App, error) {
	var a confab.App
	err := s.Scan(&a.ID, &a.WorkspaceID, &a.Manifest, &a.ClientID, &a.ClientSecret, &a.VerificationToken,
		&a.SigningSecret, &a.CreatedBy, &a.Created, &a.Updated)
	return &a, err
}

func (db *DB) FindApp(ctx context.Context, id string) (*confab.App, error) {
	db.queries.Read("FindApp")
	a, err := scanApp(db.rdb.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, confab.ErrAppNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find app %s: %w", id, err)
	}
	return a, nil
}

const botCols = `id, app_id, user_id, workspace_id, name, deleted, updated`

func scanBot(s scanner) (*confab.Bot, error) {
	var b confab.Bot
	err := s.Scan(&b.ID, &b.AppID, &b.UserID, &b.WorkspaceID, &b.Name, &b.Deleted, &b.Updated)
	return &b, err
}

func (db *DB) FindBots(ctx context.Context, f confab.BotFilter) ([]*confab.Bot, error) {
	db.queries.Read("FindBots")
	if len(f.IDs) == 0 && len(f.UserIDs) == 0 && len(f.AppIDs) == 0 {
		return nil, nil
	}
	var (
		where []string
		args  []any
	)
	for col, ids := range map[string][]string{"id": f.IDs, "user_id": f.UserIDs, "app_id": f.AppIDs} {
		if len(ids) == 0 {
			continue
		}
		where = append(where, col+` IN (`+strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+`)`)
		for _, id := range ids {
			args = append(args, id)
		}
	}
	out, err := queryAll(ctx, db.rdb, scanBot, `SELECT `+botCols+` FROM bots WHERE `+strings.Join(where, ` OR `), args...)
	if err != nil {
		return nil, fmt.Errorf("find bots: %w", err)
	}
	return out, nil
}

func (db *DB) UpdateApp(ctx context.Context, id string, upd confab.AppUpdate) (*confab.App, error) {
	db.queries.Write("UpdateApp")
	var a *confab.App
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		var err error
		a, err = scanApp(tx.QueryRowContext(ctx,
			`UPDATE apps SET manifest = ?, updated = ? WHERE id = ? RETURNING `+appCols, upd.Manifest, upd.Updated, id))
		if errors.Is(err, sql.ErrNoRows) {
			return confab.ErrAppNotFound
		} else if err != nil {
			return fmt.Errorf("update app %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bots SET name = ?, updated = ? WHERE app_id = ?`, upd.BotName, upd.Updated, id); err != nil {
			return fmt.Errorf("update bot of %s: %w", id, err)
		}
		return nil
	})
	return a, err
}

func (db *DB) DeleteApp(ctx context.Context, id string, now int64) error {
	db.queries.Write("DeleteApp")
	return db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM apps WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete app %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return confab.ErrAppNotFound
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bots SET deleted = 1, updated = ? WHERE app_id = ?`, now, id); err != nil {
			return fmt.Errorf("uninstall app %s: %w", id, err)
		}
		for _, q := range []string{
			`UPDATE users SET deleted = 1 WHERE id IN (SELECT user_id FROM bots WHERE app_id = ?)`,
			`DELETE FROM tokens WHERE user_id IN (SELECT user_id FROM bots WHERE app_id = ?)`,
			`DELETE FROM user_terms WHERE user_id IN (SELECT user_id FROM bots WHERE app_id = ?)`,
			`DELETE FROM app_positions WHERE app_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("uninstall app %s: %w", id, err)
			}
		}
		return nil
	})
}

func (db *DB) FindApps(ctx context.Context, f confab.AppFilter) ([]*confab.App, error) {
	db.queries.Read("FindApps")
	out, err := queryAll(ctx, db.rdb, scanApp,
		`SELECT `+appCols+` FROM apps WHERE id > ? ORDER BY id LIMIT ?`, f.AfterID, limit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("find apps: %w", err)
	}
	return out, nil
}

func scanPosition(s scanner) (confab.AppPosition, error) {
	var p confab.AppPosition
	err := s.Scan(&p.ChannelID, &p.Seq, &p.JoinedAt)
	return p, err
}

func (db *DB) FindAppPositions(ctx context.Context, appID string) ([]confab.AppPosition, error) {
	db.queries.Read("FindAppPositions")
	out, err := queryAll(ctx, db.rdb, scanPosition,
		`SELECT channel_id, seq, joined_at FROM app_positions WHERE app_id = ?`, appID)
	if err != nil {
		return nil, fmt.Errorf("find positions of %s: %w", appID, err)
	}
	return out, nil
}

func (db *DB) SaveAppPositions(ctx context.Context, appID string, ps []confab.AppPosition) error {
	db.queries.Write("SaveAppPositions")
	if len(ps) == 0 {
		return nil
	}
	return db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		for _, p := range ps {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO app_positions (app_id, channel_id, seq, joined_at)
				 SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM apps WHERE id = ?)
				 ON CONFLICT (app_id, channel_id) DO UPDATE SET seq = excluded.seq, joined_at = excluded.joined_at`,
				appID, p.ChannelID, p.Seq, p.JoinedAt, appID); err != nil {
				return fmt.Errorf("save position of %s in %s: %w", appID, p.ChannelID, err)
			}
		}
		return nil
	})
}
