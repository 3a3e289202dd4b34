package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
)

// SearchUsers is a range scan of user_terms, bounded by f.Limit times the
// most terms a user has, then a primary-key seek per user.
func (db *DB) SearchUsers(ctx context.Context, f confab.UserSearch) ([]*confab.User, error) {
	db.queries.Read("SearchUsers")
	if f.Query == "" {
		return nil, nil
	}
	var inner *int64
	if f.Limit > 0 {
		inner = limit(f.Limit * confab.MaxUserTerms)
	}
	lo, hi := confab.TermRange(f.Query)
	rows, err := db.pool.Query(ctx, searchUsersQuery,
		f.WorkspaceID, lo, hi, inner, limit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("search users: %w", ctxErr(ctx, err))
	}
	out, err := collect(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("search users: %w", ctxErr(ctx, err))
	}
	return out, nil
}

// searchUsersQuery reads the first entries of the range of the terms
// that start with the query ($1 workspace, $2 and $3 the range, $4 how
// many entries), then the users they name, each by its first term ($5
// users).
// Each user is a lateral seek of its primary key (a LIMIT keeps the
// planner from turning it into a join that reads every user).
const searchUsersQuery = `SELECT u.* FROM (
	SELECT user_id, min(term) AS first FROM (
	  SELECT user_id, term FROM user_terms
	  WHERE workspace_id = $1 AND term >= $2 AND term < $3
	  ORDER BY term, user_id LIMIT $4) AS t
	GROUP BY user_id) AS m
	CROSS JOIN LATERAL (SELECT ` + userCols + ` FROM users WHERE users.id = m.user_id AND NOT users.deleted LIMIT 1) AS u
	ORDER BY m.first, u.id LIMIT $5`

// writeUserTerms replaces u's terms in user_terms (none if u is deleted).
func writeUserTerms(ctx context.Context, q querier, u *confab.User) error {
	if _, err := q.Exec(ctx, `DELETE FROM user_terms WHERE user_id = $1`, u.ID); err != nil {
		return fmt.Errorf("delete terms of %s: %w", u.ID, ctxErr(ctx, err))
	}
	terms := confab.UserTerms(u)
	if len(terms) == 0 {
		return nil
	}
	if _, err := q.Exec(ctx,
		`INSERT INTO user_terms (workspace_id, term, user_id) SELECT $1, t, $3 FROM unnest($2::text[]) AS t
		 ON CONFLICT DO NOTHING`, u.WorkspaceID, terms, u.ID); err != nil {
		return fmt.Errorf("insert terms of %s: %w", u.ID, ctxErr(ctx, err))
	}
	return nil
}

// indexUserTerms gives the live users that have no terms theirs, in one
// transaction: the users of a database from before user_terms (migration
// 0017). Every user has a handle, so one without terms was never indexed.
// It locks the users it indexes, so an UpdateUser waits for it (or it for
// the update); processes opening together index the same users twice,
// which writes the same terms. Afterwards it reads each user's primary
// key once and finds nothing to do.
func (db *DB) indexUserTerms(ctx context.Context) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+userCols+` FROM users
			WHERE NOT deleted AND NOT EXISTS (SELECT 1 FROM user_terms WHERE user_id = users.id)
			FOR UPDATE`)
		if err != nil {
			return fmt.Errorf("users without terms: %w", ctxErr(ctx, err))
		}
		users, err := collect(rows, scanUser)
		if err != nil {
			return fmt.Errorf("users without terms: %w", ctxErr(ctx, err))
		}
		for _, u := range users {
			if err := writeUserTerms(ctx, tx, u); err != nil {
				return err
			}
		}
		return nil
	})
}
