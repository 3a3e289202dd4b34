// Package postgres is confab's multi-node store: the whole confab.Store
// contract on PostgreSQL, through github.com/jackc/pgx/v5 (pgxpool).
//
// Every change to a channel's content — a new message, an edit, a delete,
// a reaction — first updates the channel's row (last_seq = last_seq + 1
// RETURNING last_seq) and writes the change in the same transaction. The
// row lock that UPDATE takes serialises the writers of one channel, so
// seqs are neither duplicated nor skipped however many API processes post
// at once; writers of different channels do not wait for each other.
// CreateMessage is a single statement (one round trip); a client_msg_id
// retry fails on the unique index messages_client_msg_id, rolling back the
// seq it took, and is answered with the original message.
//
// Errors are translated by SQLSTATE (*pgconn.PgError Code and
// ConstraintName), never by message text.
//
// Every call honours its context. A call whose context has already ended
// returns its error and writes nothing. When the context ends while a
// statement runs, the store asks the server to cancel the statement (a
// cancel request, not just a dropped connection, which a backend waiting
// for a lock would not notice), so the abandoned work stops and its
// transaction rolls back; the call returns the context's error once the
// server has answered (at most a second later if it does not). A write
// whose context ends as it commits may still be committed: a retry with
// the same client_msg_id finds it. Config.StatementTimeout bounds every
// statement on the server as well.
//
// Reads are single statements, so each sees one snapshot: FindMessages
// joins each message's reactions (one seek of the reactions primary key
// per message), FindChanges merges the two change indexes in one query, and
// FindLatestMessages reads the latest message of every channel it is given
// in one LATERAL join over the array of their ids.
//
// Search: message_search (migration 0014) holds a row per live message,
// written in the message's transaction: CreateMessage inserts it in its
// one statement, UpdateMessage rewrites it when it sets Text (or Blocks,
// which may mention users), DeleteMessage removes it. A row has the
// message's confab.SearchDoc body and the same tokens as a tsvector with
// their positions, both made in Go and cast as they are (no text parser,
// dictionary or stemming of PostgreSQL's, whose word rules depend on the
// database's locale), so both stores find the same messages. Words,
// phrases (adjacent lexemes, <->) and prefixes (:*) are a tsquery literal
// of quoted lexemes, passed as an argument; substrings are LIKE on body
// with %, _ and \ escaped. The GIN indexes on tsv and on body's trigrams
// (pg_trgm) find them; the newest matches of a word in many messages are
// read down message_search_ts instead, each row checked, up to the count's
// cap. A CJK word of two characters (one pair of the tsvector's character
// pairs) with nothing else asked but channels and dates is read from
// search_pairs (migration 0018, kept by a trigger on message_search):
// its key is the pair and the time, its rows carry the rank, so the
// newest matches come from the index alone. SearchMessages is one statement: the selection of what the reader
// may read, its rank (ts_rank) and its total (capped), the page's
// messages and their reactions; it is planned with its arguments
// (QueryExecModeExec), never as a generic plan, in a transaction without
// parallel workers or JIT.
//
// A database that had messages before the index is indexed after Open in
// the background: one process at a time (a session advisory lock), one
// window of 200 seqs of a channel at a time. A window is read and
// tokenized first, then inserted in a transaction that takes the
// channel's row FOR SHARE: no writer of the channel is halfway, and
// nothing the writers did is undone (a row already there is kept, a
// deleted message is not indexed, one changed since the read is read
// again). The channel's writers wait for the insert only. The position is kept in
// search_backfill: a stopped process (Close stops it) is followed by
// another from there. Searches meanwhile find what is indexed so far. A
// process of an older version that still writes after the migration does
// not index its messages: upgrade every process of a database together.
//
// Metrics: Collectors returns confab_store_queries_total{op, method}, one
// count per store call (read or write, by method name), for the process to
// register.
//
// Schema changes are embedded SQL files (migrations/NNNN_*.sql), applied in
// order at Open in one transaction and recorded in schema_migrations. The
// transaction holds an advisory lock, so processes starting together
// migrate once.
//
// Concurrency contract: every method of *DB is safe for concurrent use;
// connections come from a pool of Config.MaxConns. Close waits for the
// connections in use to be released; later calls fail.
package postgres
