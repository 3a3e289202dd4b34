package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/confab/confab"
)

func (db *DB) CreateClaim(ctx context.Context, c *confab.Claim) error {
	db.queries.Write("CreateClaim")
	hash := append([]byte(nil), c.Hash...)
	return db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO claims (user_id, hash, created, expires, signup) VALUES (?, ?, ?, ?, ?)
			 ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, created = excluded.created,
			   expires = excluded.expires, signup = excluded.signup`,
			c.UserID, hash, c.Created, c.Expires, c.Signup)
		switch {
		case isForeignKey(err):
			return confab.ErrUserNotFound
		case err != nil:
			return fmt.Errorf("create claim of %s: %w", c.UserID, err)
		}
		return nil
	})
}

func (db *DB) FindClaim(ctx context.Context, hash []byte, now int64) (*confab.Claim, error) {
	db.queries.Read("FindClaim")
	var c confab.Claim
	err := db.rdb.QueryRowContext(ctx,
		`SELECT hash, user_id, created, expires, signup FROM claims WHERE hash = ? AND expires > ?`, hash, now).
		Scan(&c.Hash, &c.UserID, &c.Created, &c.Expires, &c.Signup)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, confab.ErrInvalidClaim
	} else if err != nil {
		return nil, fmt.Errorf("find claim: %w", err)
	}
	return &c, nil
}

func (db *DB) ClaimUser(ctx context.Context, c confab.UserClaim) (*confab.User, error) {
	db.queries.Write("ClaimUser")
	claimHash := append([]byte(nil), c.ClaimHash...)
	t := *c.Token
	t.Hash = append([]byte(nil), c.Token.Hash...)
	var u *confab.User
	err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		// With a link any user (a reset too); by sign-up only one who
		// has no password yet. The user first, then the claim.
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx,
			`UPDATE users SET password_hash = ? WHERE id = ? AND NOT deleted AND (? OR password_hash = '')
			 RETURNING `+userCols, c.PasswordHash, c.UserID, c.ClaimHash != nil))
		if errors.Is(err, sql.ErrNoRows) {
			var deleted bool
			switch err := tx.QueryRowContext(ctx, `SELECT deleted FROM users WHERE id = ?`, c.UserID).Scan(&deleted); {
			case errors.Is(err, sql.ErrNoRows) || err == nil && deleted:
				return confab.ErrUserNotFound
			case err != nil:
				return fmt.Errorf("find user %s: %w", c.UserID, err)
			}
			return confab.ErrAlreadyClaimed
		} else if err != nil {
			return fmt.Errorf("claim user %s: %w", c.UserID, err)
		}
		res, err := tx.ExecContext(ctx,
			`DELETE FROM claims WHERE user_id = ? AND expires > ? AND (hash = ? OR ? AND signup)`,
			c.UserID, c.Now, claimHash, c.ClaimHash == nil)
		if err != nil {
			return fmt.Errorf("use claim of %s: %w", c.UserID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return confab.ErrInvalidClaim
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO tokens (hash, user_id, created, last_used, type) VALUES (?, ?, ?, ?, ?)`,
			t.Hash, c.UserID, t.Created, t.LastUsed, confab.TokenTypeOrUser(t.Type))
		switch {
		case isUnique(err):
			return confab.ErrTokenTaken
		case err != nil:
			return fmt.Errorf("insert token: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
