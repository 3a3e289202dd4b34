package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/confab/confab/internal/querycount"
)

// Config configures Open.
type Config struct {
	// DSN is a libpq connection string or URL
	// ("postgres://user@host:5432/confab?sslmode=disable"). Required.
	DSN string
	// MaxConns is the size of the connection pool; 0 keeps the DSN's
	// pool_max_conns or pgx's default (max(4, number of CPUs)).
	MaxConns int32
	// Logger defaults to a discard logger.
	Logger *slog.Logger
	// StatementTimeout, when set, makes the server cancel any statement
	// that runs longer (statement_timeout), whatever the caller's context.
	StatementTimeout time.Duration
}

// cancelWait is how long a call whose context has ended waits for the
// server to cancel its statement before dropping the connection.
const cancelWait = time.Second

// DB is a confab store on PostgreSQL. It implements confab.Store.
type DB struct {
	// immutable after Open
	pool    *pgxpool.Pool
	log     *slog.Logger
	queries querycount.Counter // operations run, for /metrics

	// The background indexing (backfillLoop), stopped by Close.
	stop       context.CancelFunc
	background sync.WaitGroup
	backfilled atomic.Int64 // messages it indexed
}

// Open connects to cfg.DSN, applies the pending migrations and returns the
// store. ctx bounds the connection and the migrations.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.DSN == "" {
		return nil, errors.New("open postgres: a DSN is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// The parse error may quote the DSN, password included.
		return nil, errors.New("open postgres: invalid DSN")
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	params := pc.ConnConfig.RuntimeParams
	// The seq logic relies on READ COMMITTED: a statement that follows the
	// channel row lock sees what the previous holder committed.
	params["default_transaction_isolation"] = "read committed"
	if cfg.StatementTimeout > 0 {
		params["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)
	}
	params["application_name"] = "confab"
	// When a caller's context ends mid-statement, ask the server to cancel
	// the statement rather than only dropping the connection (pgx's
	// default): a backend waiting for a channel lock would not notice a
	// dropped connection and would go on to commit the work its caller
	// abandoned. The call returns once the server has canceled it, or
	// cancelWait after the context ended if the server does not answer.
	pc.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelWait}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", ctxErr(ctx, err))
	}
	if err := applyMigrations(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", ctxErr(ctx, err))
	}
	log.Info("postgres store open", "host", pc.ConnConfig.Host, "database", pc.ConnConfig.Database,
		"max_conns", pc.MaxConns)
	db := &DB{pool: pool, log: log, queries: querycount.New()}
	if err := db.indexUserTerms(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	bg, stop := context.WithCancel(context.Background())
	db.stop = stop
	db.background.Go(func() { db.backfillLoop(bg) })
	return db, nil
}

// Close stops the background indexing, then closes the pool, waiting for
// the connections in use to be released. Later calls fail.
func (db *DB) Close() error {
	db.stop()
	db.background.Wait()
	db.pool.Close()
	return nil
}

// Ping checks that the database answers, for health checks.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", ctxErr(ctx, err))
	}
	return nil
}

// tx runs fn in a READ COMMITTED transaction and commits it if fn returns
// nil; otherwise it rolls back and returns fn's error.
func (db *DB) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("begin: %w", ctxErr(ctx, err))
	}
	if err := fn(tx); err != nil {
		// A failed rollback leaves nothing behind: pgx closes the
		// connection and the server aborts the transaction.
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", ctxErr(ctx, err))
	}
	return nil
}

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// SQLSTATE codes the store branches on.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// pgError returns the server error in err, nil if there is none.
func pgError(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

func isCode(err error, code string) bool {
	pe := pgError(err)
	return pe != nil && pe.Code == code
}

func isUnique(err error) bool     { return isCode(err, uniqueViolation) }
func isForeignKey(err error) bool { return isCode(err, foreignKeyViolation) }

// limit maps "no limit" (<= 0) to NULL, which LIMIT reads as no limit.
func limit(n int) *int64 {
	if n <= 0 {
		return nil
	}
	v := int64(n)
	return &v
}

// ctxErr returns err, wrapping also ctx's error once ctx has ended: a
// statement that the server canceled because its caller's context ended
// (see Open) then reports context.DeadlineExceeded or context.Canceled, not
// only SQLSTATE 57014.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}
