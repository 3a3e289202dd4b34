-- from: one poster reads the end of their range of message_search_user,
-- newest first, up to the count's cap. Each row's channel (whether the
-- reader may read it) and seq (the page's key) were read from the table:
-- a heap page per match, ~12,000 of them for a poster of 2 % of a million
-- messages (180 ms), and the planner, costing those reads, often chose to
-- read the whole table down message_search_ts instead (550,000 rows,
-- 620 ms). With them in the index the scan reads the index alone (15 ms).
DROP INDEX message_search_user;
CREATE INDEX message_search_user ON message_search (user_id, ts, channel_id) INCLUDE (seq);
