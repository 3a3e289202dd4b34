package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/confab/confab"
	"github.com/jackc/pgx/v5"
)

// CreateApp installs an app: the app, its bot user, the bot and its
// tokens in one transaction, which logs the bot user's team_join.
func (db *DB) CreateApp(ctx context.Context, app *confab.App, bot *confab.Bot, user *confab.User, tokens []*confab.Token) error {
	db.queries.Write("CreateApp")
	a, b, u, ts := confab.PrepareApp(*app, *bot, *user, tokens)
	err := db.tx(ctx, func(tx pgx.Tx) error {
		if err := insertUser(ctx, tx, &u); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO apps (id, workspace_id, manifest, client_id, client_secret, verification_token, signing_secret, created_by, created, updated)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			a.ID, a.WorkspaceID, a.Manifest, a.ClientID, a.ClientSecret, a.VerificationToken, a.SigningSecret,
			a.CreatedBy, a.Created, a.Updated); err != nil {
			return fmt.Errorf("insert app %s: %w", a.ID, ctxErr(ctx, err))
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO bots (id, app_id, user_id, workspace_id, name, deleted, updated) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			b.ID, b.AppID, b.UserID, b.WorkspaceID, b.Name, b.Deleted, b.Updated); err != nil {
			return fmt.Errorf("insert bot %s: %w", b.ID, ctxErr(ctx, err))
		}
		for _, t := range ts {
			_, err := tx.Exec(ctx,
				`INSERT INTO tokens (hash, user_id, created, last_used, type) VALUES ($1, $2, $3, $4, $5)`,
				t.Hash, t.UserID, t.Created, t.LastUsed, t.Type)
			if isUnique(err) {
				return confab.ErrTokenTaken
			} else if err != nil {
				return fmt.Errorf("insert token: %w", ctxErr(ctx, err))
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

func scanApp(s pgx.Row) (*confab.App, error) {
	var a confab.App
	err := s.Scan(&a.ID, &a.WorkspaceID, &a.Manifest, &a.ClientID, &a.ClientSecret, &a.VerificationToken,
		&a.SigningSecret, &a.CreatedBy, &a.Created, &a.Updated)
	return &a, err
}

func (db *DB) FindApp(ctx context.Context, id string) (*confab.App, error) {
	db.queries.Read("FindApp")
	a, err := scanApp(db.pool.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrAppNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find app %s: %w", id, ctxErr(ctx, err))
	}
	return a, nil
}

const botCols = `id, app_id, user_id, workspace_id, name, deleted, updated`

func scanBot(s pgx.Row) (*confab.Bot, error) {
	var b confab.Bot
	err := s.Scan(&b.ID, &b.AppID, &b.UserID, &b.WorkspaceID, &b.Name, &b.Deleted, &b.Updated)
	return &b, err
}

func (db *DB) FindBots(ctx context.Context, f confab.BotFilter) ([]*confab.Bot, error) {
	db.queries.Read("FindBots")
	if len(f.IDs) == 0 && len(f.UserIDs) == 0 && len(f.AppIDs) == 0 {
		return nil, nil
	}
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	rows, err := db.pool.Query(ctx,
		`SELECT `+botCols+` FROM bots WHERE id = ANY($1) OR user_id = ANY($2) OR app_id = ANY($3)`,
		nonNil(f.IDs), nonNil(f.UserIDs), nonNil(f.AppIDs))
	if err != nil {
		return nil, fmt.Errorf("find bots: %w", ctxErr(ctx, err))
	}
	out, err := collect(rows, scanBot)
	if err != nil {
		return nil, fmt.Errorf("find bots: %w", ctxErr(ctx, err))
	}
	return out, nil
}

func (db *DB) UpdateApp(ctx context.Context, id string, upd confab.AppUpdate) (*confab.App, error) {
	db.queries.Write("UpdateApp")
	var a *confab.App
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		a, err = scanApp(tx.QueryRow(ctx,
			`UPDATE apps SET manifest = $1, updated = $2 WHERE id = $3 RETURNING `+appCols, upd.Manifest, upd.Updated, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return confab.ErrAppNotFound
		} else if err != nil {
			return fmt.Errorf("update app %s: %w", id, ctxErr(ctx, err))
		}
		if _, err := tx.Exec(ctx, `UPDATE bots SET name = $1, updated = $2 WHERE app_id = $3`, upd.BotName, upd.Updated, id); err != nil {
			return fmt.Errorf("update bot of %s: %w", id, ctxErr(ctx, err))
		}
		return nil
	})
	return a, err
}

func (db *DB) DeleteApp(ctx context.Context, id string, now int64) error {
	db.queries.Write("DeleteApp")
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM apps WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete app %s: %w", id, ctxErr(ctx, err))
		}
		if tag.RowsAffected() == 0 {
			return confab.ErrAppNotFound
		}
		if _, err := tx.Exec(ctx, `UPDATE bots SET deleted = true, updated = $1 WHERE app_id = $2`, now, id); err != nil {
			return fmt.Errorf("uninstall app %s: %w", id, ctxErr(ctx, err))
		}
		for _, q := range []string{
			`UPDATE users SET deleted = true WHERE id IN (SELECT user_id FROM bots WHERE app_id = $1)`,
			`DELETE FROM tokens WHERE user_id IN (SELECT user_id FROM bots WHERE app_id = $1)`,
			`DELETE FROM user_terms WHERE user_id IN (SELECT user_id FROM bots WHERE app_id = $1)`,
			`DELETE FROM app_positions WHERE app_id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return fmt.Errorf("uninstall app %s: %w", id, ctxErr(ctx, err))
			}
		}
		return nil
	})
}

func (db *DB) FindApps(ctx context.Context, f confab.AppFilter) ([]*confab.App, error) {
	db.queries.Read("FindApps")
	rows, err := db.pool.Query(ctx,
		`SELECT `+appCols+` FROM apps WHERE id > $1 ORDER BY id LIMIT $2`, f.AfterID, limit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("find apps: %w", ctxErr(ctx, err))
	}
	out, err := collect(rows, scanApp)
	if err != nil {
		return nil, fmt.Errorf("find apps: %w", ctxErr(ctx, err))
	}
	return out, nil
}

func scanPosition(s pgx.Row) (confab.AppPosition, error) {
	var p confab.AppPosition
	err := s.Scan(&p.ChannelID, &p.Seq, &p.JoinedAt)
	return p, err
}

func (db *DB) FindAppPositions(ctx context.Context, appID string) ([]confab.AppPosition, error) {
	db.queries.Read("FindAppPositions")
	rows, err := db.pool.Query(ctx, `SELECT channel_id, seq, joined_at FROM app_positions WHERE app_id = $1`, appID)
	if err != nil {
		return nil, fmt.Errorf("find positions of %s: %w", appID, ctxErr(ctx, err))
	}
	out, err := collect(rows, scanPosition)
	if err != nil {
		return nil, fmt.Errorf("find positions of %s: %w", appID, ctxErr(ctx, err))
	}
	return out, nil
}

func (db *DB) SaveAppPositions(ctx context.Context, appID string, ps []confab.AppPosition) error {
	db.queries.Write("SaveAppPositions")
	if len(ps) == 0 {
		return nil
	}
	chans := make([]string, len(ps))
	seqs := make([]int64, len(ps))
	joined := make([]int64, len(ps))
	for i, p := range ps {
		chans[i], seqs[i], joined[i] = p.ChannelID, p.Seq, p.JoinedAt
	}
	_, err := db.pool.Exec(ctx,
		`INSERT INTO app_positions (app_id, channel_id, seq, joined_at)
		 SELECT $1, c, s, j FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS p (c, s, j)
		 WHERE EXISTS (SELECT 1 FROM apps WHERE id = $1)
		 ON CONFLICT (app_id, channel_id) DO UPDATE SET seq = excluded.seq, joined_at = excluded.joined_at`,
		appID, chans, seqs, joined)
	if err != nil {
		return fmt.Errorf("save positions of %s: %w", appID, ctxErr(ctx, err))
	}
	return nil
}
