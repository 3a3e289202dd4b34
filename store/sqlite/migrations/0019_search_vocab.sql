-- Substrings (*ploy*) are looked up in the vocabulary, not in every
-- message: search_trigrams held the trigrams of every message's body,
-- two thirds of the index's size and of its cost per post, for a query
-- form few searches use.
--
-- search_vocab holds each token any message's body has held, once
-- (tokens are never removed: one no message holds any more matches
-- nothing). A post adds the tokens the vocabulary lacks, one statement
-- into one B-tree, no full-text table. A substring term is then the
-- tokens that hold it, read by a scan of the vocabulary (LIKE '%ploy%':
-- a vocabulary is far smaller than the messages, and the scan stops at
-- the most tokens a term may stand for), or, for a term of several words
-- (*e.not*), the tokens that end with its first word followed by its
-- middle words and a token beginning with its last, as search_words
-- phrases: the same matches as the trigrams of the joined tokens, which
-- is what a substring of the body means.
--
-- The vocabulary is filled by the backfill, from the start again: it adds
-- the tokens of each message and indexes one it finds not indexed.
DROP TABLE IF EXISTS search_trigrams;

CREATE TABLE search_vocab (
	token TEXT PRIMARY KEY
) WITHOUT ROWID;

UPDATE search_backfill SET channel_id = '', seq = 0, done = NOT EXISTS (SELECT 1 FROM messages);

-- search_words merges its segments eight at a time rather than FTS5's
-- default four: each commit writes a segment, and with four a token's
-- entry is rewritten about log4(n) times as the segments merge up, with
-- eight log8(n), two thirds of the merge writes every post pays for. A
-- search reads about as many segments: fewer levels of more segments.
INSERT INTO search_words (search_words, rank) VALUES ('automerge', 8);
