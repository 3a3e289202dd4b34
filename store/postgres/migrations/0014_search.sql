-- The search index (Store.SearchMessages): one row per live message, keyed
-- as messages are, written in the transaction that writes the message and
-- removed with it. body is confab.SearchDoc's body (the search tokens,
-- made in Go, joined by single spaces); tsv is the same tokens as a
-- tsvector with their positions, also made in Go, so PostgreSQL's text
-- parser (whose word rules depend on the database's locale) never splits
-- them otherwise than SQLite's index does. reply: a thread reply (a
-- parent's reply count is read from messages); mentions: the users the
-- message mentions by id.
--
-- New tables only: the migration does not rewrite messages, however big.
-- A database that had messages is indexed after Open, in the background
-- (search_backfill).
--
-- pg_trgm is a trusted extension (PostgreSQL 13 and later): a role with
-- CREATE on the database may install it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE message_search (
	channel_id TEXT COLLATE "C" NOT NULL,
	seq        BIGINT NOT NULL,
	ts         BIGINT NOT NULL,
	user_id    TEXT COLLATE "C" NOT NULL,
	has_link   BOOLEAN NOT NULL DEFAULT false,
	reply      BOOLEAN NOT NULL DEFAULT false,
	mentions   TEXT[] NOT NULL DEFAULT '{}',
	body       TEXT COLLATE "C" NOT NULL,
	tsv        TSVECTOR NOT NULL,
	PRIMARY KEY (channel_id, seq)
);
-- Words, phrases and prefixes.
CREATE INDEX message_search_tsv ON message_search USING gin (tsv);
-- Substrings (*ploy*): LIKE '%ploy%' on the trigrams of body.
CREATE INDEX message_search_body ON message_search USING gin (body gin_trgm_ops);
-- from: and to: without words.
CREATE INDEX message_search_user ON message_search (user_id, ts);
CREATE INDEX message_search_mentions ON message_search USING gin (mentions);

-- The background indexing of the messages written before this migration
-- (one row): every message of the channels before channel_id (in id
-- order), and of channel_id up to seq, is indexed. A new database has
-- nothing to index.
CREATE TABLE search_backfill (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	channel_id TEXT COLLATE "C" NOT NULL DEFAULT '',
	seq        BIGINT NOT NULL DEFAULT 0,
	done       BOOLEAN NOT NULL
);
INSERT INTO search_backfill (id, done) SELECT 1, NOT EXISTS (SELECT 1 FROM messages);
