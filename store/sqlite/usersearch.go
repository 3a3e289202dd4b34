package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/confab/confab"
)

// SearchUsers is a range scan of user_terms, bounded by f.Limit times the
// most terms a user has, then a primary-key seek per user.
func (db *DB) SearchUsers(ctx context.Context, f confab.UserSearch) ([]*confab.User, error) {
	db.queries.Read("SearchUsers")
	if f.Query == "" {
		return nil, nil
	}
	lo, hi := confab.TermRange(f.Query)
	out, err := queryAll(ctx, db.rdb, scanUser, searchUsersQuery,
		f.WorkspaceID, lo, hi, limit(f.Limit*confab.MaxUserTerms), limit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	return out, nil
}

// searchUsersQuery reads the first entries of the range of the terms
// that start with the query (workspace, lo, hi, entries), then the users
// they name, each by its first term (users).
const searchUsersQuery = `SELECT ` + userCols + ` FROM (
	SELECT user_id, min(term) AS first FROM (
	  SELECT user_id, term FROM user_terms
	  WHERE workspace_id = ? AND term >= ? AND term < ?
	  ORDER BY term, user_id LIMIT ?)
	GROUP BY user_id) AS m
	JOIN users ON users.id = m.user_id
	WHERE NOT users.deleted
	ORDER BY m.first, users.id LIMIT ?`

// execer is what writes terms: a transaction's connection, or the
// database before the committer starts.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// writeUserTerms replaces u's terms in user_terms (none if u is deleted).
func writeUserTerms(ctx context.Context, tx execer, u *confab.User) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_terms WHERE user_id = ?`, u.ID); err != nil {
		return fmt.Errorf("delete terms of %s: %w", u.ID, err)
	}
	for _, t := range confab.UserTerms(u) {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO user_terms (workspace_id, term, user_id) VALUES (?, ?, ?)`, u.WorkspaceID, t, u.ID); err != nil {
			return fmt.Errorf("insert term of %s: %w", u.ID, err)
		}
	}
	return nil
}

// indexUserTerms gives the live users that have no terms theirs, in one
// transaction: the users of a database from before user_terms (migration
// 0020). Every user has a handle, so one without terms was never indexed.
// It runs at Open, before the committer; afterwards it reads each user's
// primary key once and finds nothing to do.
func indexUserTerms(ctx context.Context, wdb *sql.DB) error {
	tx, err := wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	users, err := queryAll(ctx, tx, scanUser, `SELECT `+userCols+` FROM users
		WHERE NOT deleted AND NOT EXISTS (SELECT 1 FROM user_terms WHERE user_id = users.id)`)
	if err != nil {
		return fmt.Errorf("users without terms: %w", err)
	}
	for _, u := range users {
		if err := writeUserTerms(ctx, tx, u); err != nil {
			return err
		}
	}
	return tx.Commit()
}
