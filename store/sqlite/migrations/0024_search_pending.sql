-- The imported messages the search index has yet to take: an import
-- writes the messages and a range of their seqs here, in its
-- transaction, and the store indexes them after, in the background
-- (searchpending.go), so that an import writes at the rate of its rows,
-- not of the index's. One row per range; the indexer moves from_seq on
-- as it goes and deletes the row at its end.
CREATE TABLE search_pending (
	channel_id TEXT    NOT NULL,
	from_seq   INTEGER NOT NULL,
	to_seq     INTEGER NOT NULL,
	PRIMARY KEY (channel_id, from_seq)
) WITHOUT ROWID;
