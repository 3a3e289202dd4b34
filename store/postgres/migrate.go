package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/confab/confab/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockKey is the first key of the advisory lock that serialises
// migrations; the second is a hash of the schema being migrated.
const migrateLockKey = 0x636f6e66 // "conf"

// applyMigrations applies the migrations newer than the schema_migrations
// table says, recording each there, all in one transaction that holds an
// advisory lock: processes that start together wait for the first one's
// migrations and then find nothing left to do.
func applyMigrations(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := migrate.Load(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", ctxErr(ctx, err))
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("migrate: %w", ctxErr(ctx, err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))`,
		int32(migrateLockKey)); err != nil {
		return fmt.Errorf("migrate: lock: %w", ctxErr(ctx, err))
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: schema_migrations: %w", ctxErr(ctx, err))
	}
	if err := migrate.Run(ctx, schemaMigrations{tx}, ms); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: commit: %w", ctxErr(ctx, err))
	}
	return nil
}

// schemaMigrations is a PostgreSQL schema as migrate sees it, inside the
// transaction of applyMigrations: its version is the highest one recorded
// in schema_migrations.
type schemaMigrations struct{ tx pgx.Tx }

func (s schemaMigrations) Version(ctx context.Context) (int, error) {
	var v int
	if err := s.tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read version: %w", ctxErr(ctx, err))
	}
	return v, nil
}

func (s schemaMigrations) Apply(ctx context.Context, m migrate.Migration) error {
	// No arguments: pgx sends the file with the simple protocol, which runs
	// several statements.
	if _, err := s.tx.Exec(ctx, m.SQL); err != nil {
		return ctxErr(ctx, err)
	}
	if _, err := s.tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
		m.Version, m.Name); err != nil {
		return fmt.Errorf("record: %w", ctxErr(ctx, err))
	}
	return nil
}
