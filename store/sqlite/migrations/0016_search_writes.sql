-- What a posted message costs the index (see migrations/0015_search.sql):
-- fewer B-trees to write and no lookups before the writes.
--
-- search_rows_chan and search_rows_user are dropped: no search reads
-- them (in: and from: are tags in search_words, see
-- store/sqlite/search.go), and each was one more B-tree written per
-- message.
DROP INDEX search_rows_chan;
DROP INDEX search_rows_user;

-- A channel's search number is kept on its row too, so that posting,
-- which reads the row for the next seq, has it without a lookup; 0 until
-- the channel's first indexed message gives it one.
ALTER TABLE channels ADD COLUMN search_num INTEGER NOT NULL DEFAULT 0;
UPDATE channels SET search_num = sc.num FROM search_channels AS sc WHERE sc.id = channels.id;
