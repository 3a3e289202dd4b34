-- The CJK character pairs of message_search's tsvectors (0016), each a
-- row keyed by the pair and the message's time: a word of two such
-- characters (one pair, the commonest CJK query) is then a range of
-- this key read newest first, up to the count's cap, every column it
-- needs in the index (an index-only scan). From the GIN index it was a
-- bitmap over the heap: each of the word's matches a page read, ~17,000
-- for a word in 1.7 % of a million messages, to keep the newest 10,001.
--
-- A trigger on message_search keeps the rows, so every writer of the
-- index (a post, an edit, a delete, the background indexing) keeps them
-- right in its own transaction; it runs only for a body that holds one
-- of these characters. A lexeme of two characters of the class below
-- (0016's) is taken as a pair: the class covers a little more than
-- confab.IsUnigramToken, so a rare two-character lexeme of its
-- neighbours may be stored too, which no query looks up (SearchMessages
-- reads this table only for a query that is one pair).
CREATE TABLE search_pairs (
	pair       TEXT COLLATE "C" NOT NULL,
	ts         BIGINT NOT NULL,
	channel_id TEXT COLLATE "C" NOT NULL,
	seq        BIGINT NOT NULL,
	-- ts_rank(tsv, the pair as a tsquery): the score order's rank of a
	-- match of the pair alone, read with the rest, where it was read from
	-- each ranked match's tsvector (~2,000 lookups).
	rank       REAL NOT NULL,
	-- ts is unique in a channel.
	PRIMARY KEY (pair, ts, channel_id) INCLUDE (seq, rank)
);

-- The lexemes of tsv that are pairs, for a body that holds one of the
-- characters (the caller checks).
CREATE FUNCTION search_pairs_of(tsv TSVECTOR) RETURNS TEXT[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(array_agg(l.lexeme), '{}') FROM unnest(tsv) AS l
	WHERE char_length(l.lexeme) = 2
		AND l.lexeme ~ '^[\u1100-\u11FF\u2E80-\u2FDF\u3005-\u30FF\u3131-\u318E\u31F0-\u4DBF\u4E00-\u9FFF\uA960-\uA97C\uAC00-\uD7FB\uF900-\uFAFF\uFF66-\uFFDC\U00016FE2-\U00016FF1\U0001AFF0-\U0001B167\U0001F200\U00020000-\U000323AF]{2}$'
$$;

CREATE FUNCTION search_pairs_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		DELETE FROM search_pairs WHERE pair = ANY(search_pairs_of(OLD.tsv))
			AND ts = OLD.ts AND channel_id = OLD.channel_id;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		INSERT INTO search_pairs (pair, ts, channel_id, seq, rank)
		SELECT p, NEW.ts, NEW.channel_id, NEW.seq, ts_rank(NEW.tsv, quote_literal(p)::tsquery)
		FROM unnest(search_pairs_of(NEW.tsv)) AS p
		ON CONFLICT DO NOTHING;
	END IF;
	RETURN NULL;
END
$$;

-- Only rows whose body holds a character of the class call the function
-- (the WHEN is a regular expression on the row, no call for the rest).
CREATE TRIGGER search_pairs_insert AFTER INSERT ON message_search FOR EACH ROW
	WHEN (NEW.body ~ '[\u1100-\u11FF\u2E80-\u2FDF\u3005-\u30FF\u3131-\u318E\u31F0-\u4DBF\u4E00-\u9FFF\uA960-\uA97C\uAC00-\uD7FB\uF900-\uFAFF\uFF66-\uFFDC\U00016FE2-\U00016FF1\U0001AFF0-\U0001B167\U0001F200\U00020000-\U000323AF]')
	EXECUTE FUNCTION search_pairs_sync();
CREATE TRIGGER search_pairs_update AFTER UPDATE OF body, tsv ON message_search FOR EACH ROW
	WHEN (OLD.body ~ '[\u1100-\u11FF\u2E80-\u2FDF\u3005-\u30FF\u3131-\u318E\u31F0-\u4DBF\u4E00-\u9FFF\uA960-\uA97C\uAC00-\uD7FB\uF900-\uFAFF\uFF66-\uFFDC\U00016FE2-\U00016FF1\U0001AFF0-\U0001B167\U0001F200\U00020000-\U000323AF]'
		OR NEW.body ~ '[\u1100-\u11FF\u2E80-\u2FDF\u3005-\u30FF\u3131-\u318E\u31F0-\u4DBF\u4E00-\u9FFF\uA960-\uA97C\uAC00-\uD7FB\uF900-\uFAFF\uFF66-\uFFDC\U00016FE2-\U00016FF1\U0001AFF0-\U0001B167\U0001F200\U00020000-\U000323AF]')
	EXECUTE FUNCTION search_pairs_sync();
CREATE TRIGGER search_pairs_delete AFTER DELETE ON message_search FOR EACH ROW
	WHEN (OLD.body ~ '[\u1100-\u11FF\u2E80-\u2FDF\u3005-\u30FF\u3131-\u318E\u31F0-\u4DBF\u4E00-\u9FFF\uA960-\uA97C\uAC00-\uD7FB\uF900-\uFAFF\uFF66-\uFFDC\U00016FE2-\U00016FF1\U0001AFF0-\U0001B167\U0001F200\U00020000-\U000323AF]')
	EXECUTE FUNCTION search_pairs_sync();

-- The rows indexed before.
INSERT INTO search_pairs (pair, ts, channel_id, seq, rank)
SELECT p, s.ts, s.channel_id, s.seq, ts_rank(s.tsv, quote_literal(p)::tsquery) FROM message_search s, unnest(search_pairs_of(s.tsv)) AS p
WHERE s.body ~ '[\u1100-\u11FF\u2E80-\u2FDF\u3005-\u30FF\u3131-\u318E\u31F0-\u4DBF\u4E00-\u9FFF\uA960-\uA97C\uAC00-\uD7FB\uF900-\uFAFF\uFF66-\uFFDC\U00016FE2-\U00016FF1\U0001AFF0-\U0001B167\U0001F200\U00020000-\U000323AF]'
ON CONFLICT DO NOTHING;
