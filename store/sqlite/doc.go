// Package sqlite is confab's embedded store: the whole confab.Store
// contract on one SQLite file, through github.com/mattn/go-sqlite3.
//
// The database runs in WAL mode. Reads go to a pool of read-only
// connections and never wait for writers. Writes go to exactly one writer
// connection, owned by one goroutine (the committer): callers hand it a write
// request and wait for the answer, which arrives only after the transaction
// holding that write has been committed (synchronous=FULL by default, so the
// commit is fsynced).
//
// Group commit: when several writers are waiting, the committer takes all
// of them (up to Config.MaxBatch) and runs them in one BEGIN IMMEDIATE
// transaction, so one fsync covers the batch. The batch runs first without
// savepoints; only if a request fails is it rolled back and run again with
// each request inside its own SAVEPOINT, so that the failing one is rolled
// back to its savepoint and answered with its error while the others still
// commit. If the commit itself fails, every request of the batch gets that
// error. The committer runs its statements on a pinned connection with no
// cancelable context (see writerConn).
//
// Concurrency contract: every method of *DB is safe for concurrent use.
// A caller whose context ends while its write is queued gets the context's
// error; a write already taken by the committer may still be committed (a
// retry with the same client_msg_id finds it). Close waits for the committer
// to finish the batch in hand; later calls fail.
//
// Metrics: Collectors returns confab_store_queries_total{op, method}, one
// count per store call (read or write, by method name), for the process to
// register.
//
// Schema changes are embedded SQL files (migrations/NNNN_*.sql) applied in
// order at Open and recorded in PRAGMA user_version.
package sqlite
