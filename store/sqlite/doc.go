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
// Search (SearchMessages). Every live message is indexed in the write
// transaction that creates, edits (when Text or Blocks is set) or deletes
// it, so a search after a write sees it; tombstones are never indexed.
// An import's messages are the exception: the import writes their rows
// and a range of their seqs in search_pending, and a background goroutine
// indexes them once the import pauses, a batch of 1,000 per write
// transaction, yielding to live writes as the import does; a message
// edited or deleted before is left as its edit left it (see
// searchpending.go). An import so writes at the rate of its rows, and a
// search finds its messages a little after its end.
// What is indexed is confab.SearchDoc of the text: its search tokens,
// joined by spaces, in a contentless FTS5 table, search_words
// (unicode61, every token kept whole, for words, phrases and prefixes,
// ranked by bm25); each token once in search_vocab, the vocabulary a
// substring (*ploy*, three characters or more) is looked up in, to
// search for the words that hold it; in search_words' second column, tags, the
// message's channel and poster as tokens, and in its third, cjk, the
// pairs of adjacent Han, kana and Hangul characters (confab.SearchBigrams)
// that a word in those scripts is a phrase of; in search_rows, the message's
// channel, seq, ts, poster and link flag; in search_mentions the users it
// mentions by id (to:). Contentless because results are read from
// messages: the index keeps no second copy of the text, and
// contentless_delete removes an entry by id. A message's index id is its
// ts (µs; on a collision with another channel's message the next free
// id, at most a second above), search_words' rowid: the id
// order is the time order, so FTS5 walks a word's matches newest first
// without a sort and a date bound is a rowid range. in: and from: are
// tags ANDed into the FTS5 expression, an intersection of lists rather
// than a filter on every match. A search is one statement in one read
// transaction that walks the matches in id order and stops after
// confab.SearchCountCap+1 the reader may read (Total and Capped) or after
// 4 × SearchCountCap rows (Capped too: the reader can read little of
// what matches); the page is cut from those, the score order ranking
// the newest confab.SearchRankCap of them by bm25 and the rest after them
// newest first, so a search costs at most what ten thousand matches do,
// however common its words. Every word is a quoted FTS5 string, so no
// text is query syntax. FTS5 needs the build tag sqlite_fts5
// (mattn/go-sqlite3 compiles it in only then); Open fails with ErrNoFTS5 without it. A database from before the
// index (migration 0014) is indexed after Open by a background goroutine,
// 500 messages per write transaction through the committer with a pause
// between batches so that writes are not starved, saving its position in
// search_backfill in the same transaction: resumable after a restart, and
// exact beside concurrent writes (a message is indexed once, whichever
// comes to it first; Close stops it). Each commit that indexes writes an
// FTS5 segment, which automerge gathers eight at a time; a search reads
// a word's list in every segment, so another background goroutine merges
// search_words into one segment when the store opens and again once the
// index has grown by an eighth, 64 pages a write through the committer
// with a pause as long as the step (see searchmerge.go).
//
// Schema changes are embedded SQL files (migrations/NNNN_*.sql) applied in
// order at Open and recorded in PRAGMA user_version.
package sqlite
