-- The index rebuilt lighter to write (see migrations/0015_search.sql for
-- what each table is), and filled again by the backfill, in the
-- background, from the messages: searches find what is indexed so far
-- until it is done.
--
-- - search_words has no prefix index: the prefixes of every token, tags
--   included, were two more entries per token for every post, and only a
--   prefix search (de*) reads them; without them it merges the lists of
--   the words it begins.
-- - search_rows keeps only its key. A message's id is its ts, or (when
--   another channel's message holds it) one at most maxBump above, so an
--   edit or a delete finds it by its ts, not by a second index on (chan,
--   seq).
-- - search_words has a third column, cjk: the message's pairs of adjacent
--   characters in scripts without spaces (confab.SearchBigrams). A word
--   of two or more Han, kana or Hangul characters is a phrase of its
--   pairs there, one short list of exact matches, rather than a phrase of
--   its characters in body, two long lists to intersect and rank.
-- - search_channels and channels.search_num are kept: the numbers stay.
DROP TABLE search_words;
DROP TABLE search_trigrams;
DROP TABLE search_rows;
DROP TABLE search_mentions;

CREATE TABLE search_rows (
	id       INTEGER PRIMARY KEY,
	chan     INTEGER NOT NULL,
	seq      INTEGER NOT NULL,
	ts       INTEGER NOT NULL,
	user_id  TEXT NOT NULL,
	has_link INTEGER NOT NULL
);

CREATE TABLE search_mentions (
	id      INTEGER NOT NULL,
	user_id TEXT NOT NULL,
	PRIMARY KEY (id, user_id)
) WITHOUT ROWID;
CREATE INDEX search_mentions_user ON search_mentions (user_id, id);

CREATE VIRTUAL TABLE search_words USING fts5 (
	body,
	tags,
	cjk,
	content = '',
	contentless_delete = 1,
	tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
);

CREATE VIRTUAL TABLE search_trigrams USING fts5 (
	body,
	content = '',
	contentless_delete = 1,
	tokenize = 'trigram'
);

UPDATE search_backfill SET channel_id = '', seq = 0, done = NOT EXISTS (SELECT 1 FROM messages);
