-- The search index (Store.SearchMessages): every live message's SearchDoc,
-- written in the transaction that writes the message.
--
-- A message's index id is its ts (µs): the rowid of both FTS5 tables and
-- the key of search_rows. The id order is then the time order: FTS5's
-- ORDER BY rowid DESC walks a word's matches newest first without a sort,
-- and date bounds are rowid ranges FTS5 seeks to. A ts is unique within a
-- channel but not across channels: a message whose ts another channel's
-- message holds takes the next free id, at most maxBump (one second)
-- above its ts, so that an id is never below its ts nor far above it and
-- a date bound stays a range (with an exact check on ts).
--
-- search_channels gives each channel with an indexed message a small
-- number, the "c<num>" tag of its messages (see search_words).
CREATE TABLE search_channels (
	num INTEGER PRIMARY KEY,
	id  TEXT NOT NULL UNIQUE
);

-- What the filters read of an indexed message, without touching
-- messages: its channel and seq (the message's key; UNIQUE finds a
-- message's id on edit and delete), from: (user_id), date bounds (ts),
-- has:link. A row here is what says the message is indexed (see the
-- backfill). Searches without words walk these indexes newest first: in:
-- (chan, id), from: (user_id, id), dates and everything the primary key.
CREATE TABLE search_rows (
	id       INTEGER PRIMARY KEY,
	chan     INTEGER NOT NULL,
	seq      INTEGER NOT NULL,
	ts       INTEGER NOT NULL,
	user_id  TEXT NOT NULL,
	has_link INTEGER NOT NULL
);
CREATE UNIQUE INDEX search_rows_msg ON search_rows (chan, seq);
CREATE INDEX search_rows_chan ON search_rows (chan, id);
CREATE INDEX search_rows_user ON search_rows (user_id, id);

-- The users a message mentions by id (confab.Mentions), for to:.
CREATE TABLE search_mentions (
	id      INTEGER NOT NULL,
	user_id TEXT NOT NULL,
	PRIMARY KEY (id, user_id)
) WITHOUT ROWID;
CREATE INDEX search_mentions_user ON search_mentions (user_id, id);

-- The words: SearchDoc's body, its tokens joined by spaces, and tags, the
-- message's channel ("c<num>") and poster ("u<hex of the user id>") as
-- tokens, so that a word in: a channel or from: a user is an FTS5
-- intersection of two lists rather than a filter on every match of the
-- word. The tokenizer keeps every token whole (letters, digits and marks
-- are token characters), so FTS5 sees the tokens confab made. Contentless:
-- results are read from messages, so the index keeps no second copy of
-- the text; contentless_delete lets an edit or a delete remove a row by
-- its id. Prefixes of two and three characters are indexed too: a short
-- prefix (de*) is then one list to read rather than a merge of every word
-- it begins.
CREATE VIRTUAL TABLE search_words USING fts5 (
	body,
	tags,
	content = '',
	contentless_delete = 1,
	prefix = '2 3',
	tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
);

-- The same body in trigrams, for substrings (*ploy*) of three characters
-- or more.
CREATE VIRTUAL TABLE search_trigrams USING fts5 (
	body,
	content = '',
	contentless_delete = 1,
	tokenize = 'trigram'
);

-- The backfill's position: the messages up to (channel_id, seq), in
-- primary key order, have been indexed; done once all are. A database
-- that had messages before this migration is indexed after Open, in the
-- background; a new one has nothing to index.
CREATE TABLE search_backfill (
	one        INTEGER PRIMARY KEY CHECK (one = 1),
	channel_id TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	done       INTEGER NOT NULL
);
INSERT INTO search_backfill (one, channel_id, seq, done)
	SELECT 1, '', 0, NOT EXISTS (SELECT 1 FROM messages);

-- A search reads the reader's channels: the workspace's public ones
-- (this index, without its DMs) and their memberships (memberships_user).
CREATE INDEX channels_public ON channels (workspace_id, id) WHERE kind = 'public';
