package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/confab/confab"
	"github.com/jackc/pgx/v5"
)

func (db *DB) CreateClaim(ctx context.Context, c *confab.Claim) error {
	db.queries.Write("CreateClaim")
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx,
		`INSERT INTO claims (user_id, hash, created, expires, signup) VALUES ($1, $2, $3, $4, $5)
		 ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, created = excluded.created,
		   expires = excluded.expires, signup = excluded.signup`,
		c.UserID, c.Hash, c.Created, c.Expires, c.Signup)
	switch {
	case isForeignKey(err):
		return confab.ErrUserNotFound
	case err != nil:
		return fmt.Errorf("create claim of %s: %w", c.UserID, ctxErr(ctx, err))
	}
	return nil
}

func (db *DB) FindClaim(ctx context.Context, hash []byte, now int64) (*confab.Claim, error) {
	db.queries.Read("FindClaim")
	var c confab.Claim
	err := db.pool.QueryRow(ctx,
		`SELECT hash, user_id, created, expires, signup FROM claims WHERE hash = $1 AND expires > $2`, hash, now).
		Scan(&c.Hash, &c.UserID, &c.Created, &c.Expires, &c.Signup)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, confab.ErrInvalidClaim
	} else if err != nil {
		return nil, fmt.Errorf("find claim: %w", ctxErr(ctx, err))
	}
	return &c, nil
}

func (db *DB) ClaimUser(ctx context.Context, c confab.UserClaim) (*confab.User, error) {
	db.queries.Write("ClaimUser")
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var u *confab.User
	err := db.tx(ctx, func(tx pgx.Tx) error {
		// The delete locks the claim's row: of two redemptions of one
		// link, the second finds it gone.
		// With a link any user (a reset too); by sign-up only one who
		// has no password yet. The user first, then the claim.
		var err error
		u, err = scanUser(tx.QueryRow(ctx,
			`UPDATE users SET password_hash = $1 WHERE id = $2 AND NOT deleted AND ($3 OR password_hash = '')
			 RETURNING `+userCols, c.PasswordHash, c.UserID, c.ClaimHash != nil))
		if errors.Is(err, pgx.ErrNoRows) {
			var deleted bool
			switch err := tx.QueryRow(ctx, `SELECT deleted FROM users WHERE id = $1`, c.UserID).Scan(&deleted); {
			case errors.Is(err, pgx.ErrNoRows) || err == nil && deleted:
				return confab.ErrUserNotFound
			case err != nil:
				return fmt.Errorf("find user %s: %w", c.UserID, ctxErr(ctx, err))
			}
			return confab.ErrAlreadyClaimed
		} else if err != nil {
			return fmt.Errorf("claim user %s: %w", c.UserID, ctxErr(ctx, err))
		}
		t := c.Token
		tag, err := tx.Exec(ctx,
			`DELETE FROM claims WHERE user_id = $1 AND expires > $2 AND (hash = $3 OR $4 AND signup)`,
			c.UserID, c.Now, c.ClaimHash, c.ClaimHash == nil)
		if err != nil {
			return fmt.Errorf("use claim of %s: %w", c.UserID, ctxErr(ctx, err))
		}
		if tag.RowsAffected() == 0 {
			return confab.ErrInvalidClaim
		}
		_, err = tx.Exec(ctx,
			`INSERT INTO tokens (hash, user_id, created, last_used, type) VALUES ($1, $2, $3, $4, $5)`,
			t.Hash, c.UserID, t.Created, t.LastUsed, confab.TokenTypeOrUser(t.Type))
		switch {
		case isUnique(err):
			return confab.ErrTokenTaken
		case err != nil:
			return fmt.Errorf("insert token: %w", ctxErr(ctx, err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
