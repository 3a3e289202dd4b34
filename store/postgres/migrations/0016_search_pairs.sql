-- A message's tsvector also holds the pairs of adjacent characters of
-- its runs of Han, kana and Hangul (see tsvector in search.go): a word of
-- two or more such characters is a phrase of its pairs, a lookup of
-- short lists of exact matches, where the phrase of its characters
-- intersected two of the longest lists of the index (each common Han
-- character is in a large share of a CJK workspace's messages).
--
-- The rows indexed before hold no pairs. Those whose body holds one of
-- those characters (the class below covers the scripts of
-- confab.IsUnigramToken, and a few neighbours: a row too many is only
-- indexed again) are dropped, and the background indexing, which indexes
-- each live message that has no row, starts from the beginning again:
-- until it is done, such messages are found by substring only.
WITH gone AS (
	DELETE FROM message_search
	WHERE body ~ '[\u1100-\u11FF\u2E80-\u2FDF\u3005-\u30FF\u3131-\u318E\u31F0-\u4DBF\u4E00-\u9FFF\uA960-\uA97C\uAC00-\uD7FB\uF900-\uFAFF\uFF66-\uFFDC\U00016FE2-\U00016FF1\U0001AFF0-\U0001B167\U0001F200\U00020000-\U000323AF]'
	RETURNING 1
)
UPDATE search_backfill SET channel_id = '', seq = 0, done = false
WHERE EXISTS (SELECT 1 FROM gone);
