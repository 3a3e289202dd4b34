package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/confab/confab/internal/querycount"
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("sqlite: database closed")

// Config configures Open.
type Config struct {
	// Path of the database file; created if missing. Required (":memory:"
	// is not supported: readers and the writer are separate connections).
	Path string
	// Sync is the synchronous mode of commits: "full" (default; every commit
	// is fsynced) or "normal" (WAL is fsynced at checkpoints only: a power
	// loss may drop the last commits, an application crash does not).
	Sync string
	// Logger defaults to a discard logger.
	Logger *slog.Logger
	// MaxBatch is how many queued writes the committer may put in one
	// transaction (group commit). 0 means 64; 1 disables group commit.
	MaxBatch int
	// MaxReaders is the size of the read connection pool; 0 means
	// max(4, GOMAXPROCS).
	MaxReaders int
}

// readerCacheKiB is the page cache of each read connection: 64 MiB, so
// that a search over a million messages reads its pages from memory. A
// search reads, for each of up to 10,000 matches, its search_rows row and
// (by score) its FTS5 size record, nearly each on a page of its own: from
// 2 MiB, SQLite's default, a common word took up to twice as long, and a
// word in: a busy channel (two long lists, bm25 and the rows) twice as
// long from 32 MiB as from 64; 128 MiB took what 64 did.
const readerCacheKiB = 64 << 10

// DB is a confab store on SQLite. It implements confab.Store.
type DB struct {
	// immutable after Open
	path     string
	log      *slog.Logger
	rdb      *sql.DB   // read-only pool
	wdb      *sql.DB   // exactly one connection: wconn
	wconn    *sql.Conn // the writer, pinned for the committer (see writerConn)
	maxBatch int
	queries  querycount.Counter // operations run, for /metrics

	writes    chan *writeReq // unbuffered: a send succeeds only once the committer has it
	closing   chan struct{}
	closeOnce sync.Once
	done      chan struct{} // closed when the committer has returned
	commits   atomic.Int64  // transactions committed by the committer, for tests
	retried   atomic.Int64  // batches run again with savepoints after a write failed, for tests
	vocab     knownTokens   // tokens search_vocab holds, for posts (see knownTokens)
	// liveAt is when a live write (one of write's, not background's) was
	// last submitted, in Unix nanoseconds: an import yields to them (see
	// ImportMessages).
	liveAt atomic.Int64
	// backfilled is closed when the search backfill has stopped: done,
	// failed or closed (see backfill).
	backfilled chan struct{}
	// indexed counts the messages indexed since Open, and merged is
	// closed when the search merger has stopped (see merger).
	indexed atomic.Int64
	merged  chan struct{}
	// The search index of imports (searchpending.go): importAt is when an
	// import last wrote, in Unix nanoseconds; pendingWake wakes the
	// indexer, and pendingDone is closed when it has stopped;
	// pendingWaiters are WaitIndexed's.
	importAt       atomic.Int64
	pendingWake    chan struct{}
	pendingDone    chan struct{}
	pendingMu      sync.Mutex
	pendingWaiters []chan struct{}
}

// Open opens (creating if needed) the database at cfg.Path, applies the
// pending migrations and starts the committer.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Path == "" || cfg.Path == ":memory:" {
		return nil, fmt.Errorf("open sqlite: a file path is required")
	}
	syncMode := "FULL"
	switch cfg.Sync {
	case "", "full":
	case "normal":
		syncMode = "NORMAL"
	default:
		return nil, fmt.Errorf("open sqlite: sync %q: want \"full\" or \"normal\"", cfg.Sync)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	maxBatch := cfg.MaxBatch
	if maxBatch <= 0 {
		maxBatch = 64
	}
	readers := cfg.MaxReaders
	if readers <= 0 {
		readers = max(4, runtime.GOMAXPROCS(0))
	}

	// Statement caches spare re-preparing the same few statements on every
	// call; the writer runs a handful of them per request. Each reader
	// keeps up to readerCacheKiB of pages (see there).
	base := "file:" + (&url.URL{Path: cfg.Path}).EscapedPath()
	wdsn := base + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=1&_txlock=immediate" +
		"&_synchronous=" + syncMode + "&_stmt_cache_size=64"
	rdsn := base + "?_busy_timeout=10000&_foreign_keys=1&_query_only=1&_stmt_cache_size=64" +
		"&_cache_size=-" + strconv.Itoa(readerCacheKiB)

	wdb, err := sql.Open("sqlite3", wdsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := checkFTS5(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}
	if err := applyMigrations(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, noFTS5(err))
	}
	if err := indexUserTerms(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}
	rdb, err := sql.Open("sqlite3", rdsn)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	if err := rdb.PingContext(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}
	wconn, err := writerConn(ctx, wdb)
	if err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}

	db := &DB{
		path:     cfg.Path,
		log:      log,
		rdb:      rdb,
		wdb:      wdb,
		wconn:    wconn,
		maxBatch: maxBatch,
		queries:  querycount.New(),
		writes:   make(chan *writeReq),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		merged:   make(chan struct{}),

		pendingWake: make(chan struct{}, 1),
		pendingDone: make(chan struct{}),
	}
	go db.commitLoop()
	db.backfilled = make(chan struct{})
	var indexed bool
	if err := rdb.QueryRowContext(ctx, `SELECT done FROM search_backfill`).Scan(&indexed); err != nil {
		close(db.backfilled)
		close(db.merged)
		close(db.pendingDone)
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: search backfill: %w", cfg.Path, err)
	}
	if indexed {
		close(db.backfilled)
	} else {
		go db.backfill()
	}
	go db.merger()
	go db.indexPending()
	db.wakeIndexer() // what an earlier run left
	log.Info("sqlite store open", "path", cfg.Path, "sync", syncMode, "max_batch", maxBatch, "readers", readers)
	return db, nil
}

// ErrNoFTS5 is Open's error when the binary's SQLite has no FTS5, the
// full-text engine of the search index: mattn/go-sqlite3 compiles it in
// only with the build tag sqlite_fts5.
var ErrNoFTS5 = errors.New("sqlite: this build of SQLite has no FTS5 (full-text search): build confab with -tags sqlite_fts5 (go build -tags sqlite_fts5 ./cmd/confab)")

// checkFTS5 fails with ErrNoFTS5 when SQLite was compiled without FTS5,
// before any migration runs: a database already migrated would otherwise
// open and fail at its first message write.
func checkFTS5(ctx context.Context, db *sql.DB) error {
	var on bool
	if err := db.QueryRowContext(ctx, "SELECT sqlite_compileoption_used('ENABLE_FTS5')").Scan(&on); err != nil {
		return fmt.Errorf("check fts5: %w", err)
	}
	if !on {
		return ErrNoFTS5
	}
	return nil
}

// noFTS5 turns SQLite's "no such module: fts5" (an FTS5 table created or
// used without FTS5 compiled in) into ErrNoFTS5, which says what to do.
func noFTS5(err error) error {
	if err != nil && strings.Contains(err.Error(), "no such module: fts5") {
		return fmt.Errorf("%w (%v)", ErrNoFTS5, err)
	}
	return err
}

// Close stops the committer after its current batch and closes the
// connections. It is safe to call more than once.
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() {
		close(db.closing)
		<-db.backfilled
		<-db.merged
		<-db.pendingDone
		<-db.done
		err = errors.Join(db.rdb.Close(), db.wconn.Close(), db.wdb.Close())
	})
	return err
}

// writerConn pins the writer pool's one connection and sets it up for the
// committer.
//
// The committer runs BEGIN and COMMIT on it itself rather than through a
// *sql.Tx, and every statement with context.Background: database/sql gives
// a Tx a cancelable context, and a cancelable context costs a goroutine
// per query (database/sql's watcher) or per exec (the driver's
// interrupter), several per write. With no Done channel each statement is
// one plain call into SQLite.
//
// temp_store=MEMORY keeps statement journals in memory in 1 KiB chunks.
// Otherwise each statement of the write transaction (nearly all may abort
// halfway: foreign keys, unique indexes) buffers its journal in a fresh
// 64 KiB allocation and frees it at the statement's end, and at the top of
// the C heap that free gives the memory back to the kernel and the next
// statement faults it in again.
func writerConn(ctx context.Context, wdb *sql.DB) (*sql.Conn, error) {
	conn, err := wdb.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("writer connection: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("writer connection: %w", err)
	}
	return conn, nil
}

// writeFunc does one request's work inside the shared write transaction,
// open on tx (the writer connection). It must not touch caller-owned
// memory: the caller may have given up on the request (its context ended)
// while it runs. Results go to variables owned by the request and are
// handed over after the answer.
type writeFunc func(ctx context.Context, tx *sql.Conn) error

type writeReq struct {
	ctx  context.Context
	fn   writeFunc
	done chan error // buffered: the committer never blocks on an answer
}

// write runs fn in the write transaction and returns once that transaction
// has committed (or fn has failed and been rolled back).
func (db *DB) write(ctx context.Context, fn writeFunc) error {
	db.liveAt.Store(time.Now().UnixNano())
	return db.background(ctx, fn)
}

// background is write for the store's own work and an import's, which
// live writes do not wait for: it does not count as live traffic.
func (db *DB) background(ctx context.Context, fn writeFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.writes <- req:
	case <-db.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commitLoop is the committer: the only user of the writer connection.
//
// Batching costs nothing when there is one writer (a batch of one runs
// without savepoints) and, under contention, turns N fsyncs into one: while
// a commit is being fsynced, other writers pile up on the unbuffered
// channel and are all taken by the next batch.
func (db *DB) commitLoop() {
	defer close(db.done)
	batch := make([]*writeReq, 0, db.maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-db.writes:
			batch = append(batch, r)
		case <-db.closing:
			return
		}
	drain:
		for len(batch) < db.maxBatch {
			select {
			case r := <-db.writes:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		db.commit(batch)
		clear(batch)
	}
}

// commit runs a batch in one transaction and answers every request.
//
// Each write of a batch must be able to fail alone. That takes a savepoint
// around each (two more statements per write, a third of a post's work),
// so a batch first runs without them: writes rarely fail (the requests
// were authorized before they got here), and when one does, the whole
// transaction is rolled back and the batch run again with savepoints.
// Running a write twice is harmless: nothing of the first run was
// committed, and a writeFunc's results are only read after the answer.
func (db *DB) commit(batch []*writeReq) {
	if len(batch) > 1 && db.commitOptimistic(batch) {
		return
	}
	db.commitIsolated(batch)
}

// commitOptimistic runs batch in one transaction without savepoints and
// reports whether it answered the requests; false means a write failed and
// nothing was committed.
func (db *DB) commitOptimistic(batch []*writeReq) bool {
	ctx := context.Background() // see writerConn
	if err := db.begin(ctx); err != nil {
		return false // commitIsolated reports it
	}
	errs := make([]error, len(batch))
	for i, r := range batch {
		if errs[i] = r.ctx.Err(); errs[i] != nil {
			continue // given up: not run
		}
		if err := r.fn(ctx, db.wconn); err != nil {
			db.rollback(ctx)
			db.retried.Add(1)
			return false
		}
	}
	if err := db.commitTx(ctx); err != nil {
		db.log.Error("sqlite commit failed", "batch", len(batch), "err", err)
		for _, r := range batch {
			r.done <- err
		}
		return true
	}
	db.commits.Add(1)
	for i, r := range batch {
		r.done <- errs[i]
	}
	return true
}

// commitIsolated runs batch in one transaction, each write in a savepoint
// of its own, so that a failing write leaves the others.
func (db *DB) commitIsolated(batch []*writeReq) {
	ctx := context.Background() // see writerConn
	tx := db.wconn
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, r := range batch {
			r.done <- err
		}
	}
	if err := db.begin(ctx); err != nil {
		fail(err)
		return
	}
	single := len(batch) == 1
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if single {
			errs[i] = r.fn(ctx, tx)
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			db.rollback(ctx)
			fail(fmt.Errorf("savepoint: %w", err))
			return
		}
		if errs[i] = r.fn(ctx, tx); errs[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
				// The transaction is unusable: nothing of the batch is kept.
				db.rollback(ctx)
				fail(fmt.Errorf("rollback to savepoint after %v: %w", errs[i], err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE w"); err != nil {
			db.rollback(ctx)
			fail(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if single && errs[0] != nil {
		db.rollback(ctx)
		batch[0].done <- errs[0]
		return
	}
	if err := db.commitTx(ctx); err != nil {
		db.log.Error("sqlite commit failed", "batch", len(batch), "err", err)
		fail(err)
		return
	}
	db.commits.Add(1)
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// begin opens the batch's transaction on the writer connection. IMMEDIATE
// takes the write lock now rather than at the first write.
func (db *DB) begin(ctx context.Context) error {
	if _, err := db.wconn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	return nil
}

// commitTx commits the batch's transaction. A failed COMMIT may leave the
// transaction open (SQLITE_BUSY does), so it is rolled back: the next batch
// must start from a clean connection.
func (db *DB) commitTx(ctx context.Context) error {
	if _, err := db.wconn.ExecContext(ctx, "COMMIT"); err != nil {
		db.rollback(ctx)
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rollback abandons the batch's transaction. Its error is dropped: the one
// that matters is why the batch is rolled back, and ROLLBACK fails only when
// SQLite has already ended the transaction itself.
func (db *DB) rollback(ctx context.Context) {
	db.wconn.ExecContext(ctx, "ROLLBACK")
}

// read runs fn in a read transaction: one consistent snapshot for reads
// that take several queries.
func (db *DB) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.rdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// queryer is what *sql.DB and *sql.Tx have in common.
// scanner is a *sql.Row or a *sql.Rows.
type scanner interface{ Scan(...any) error }

// queryAll runs a query and scans each row with scan.
func queryAll[T any](ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
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

type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sqliteCode returns the extended result code of a driver error, 0 if err
// is not one.
func sqliteCode(err error) sqlite3.ErrNoExtended {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode
	}
	return 0
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.ErrConstraintUnique || c == sqlite3.ErrConstraintPrimaryKey
}

func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.ErrConstraintForeignKey
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Ping checks that the database answers a read, for health checks.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}
