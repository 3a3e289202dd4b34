package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"strconv"

	"github.com/confab/confab/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// applyMigrations applies, each in its own transaction, the migrations
// newer than the database's PRAGMA user_version, and records each one
// there.
func applyMigrations(ctx context.Context, db *sql.DB) error {
	ms, err := migrate.Load(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return migrate.Run(ctx, userVersion{db}, ms)
}

// userVersion is a SQLite database as migrate sees it: its version is
// PRAGMA user_version.
type userVersion struct{ db *sql.DB }

func (u userVersion) Version(ctx context.Context) (int, error) {
	var v int
	if err := u.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read user_version: %w", err)
	}
	return v, nil
}

// Apply runs m and sets user_version in one transaction.
func (u userVersion) Apply(ctx context.Context, m migrate.Migration) error {
	tx, err := u.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		tx.Rollback()
		return err
	}
	// PRAGMA takes no bound parameters; the version is our own integer.
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.Version)); err != nil {
		tx.Rollback()
		return fmt.Errorf("set user_version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
