-- Whether a mention row names its member (<@U…>, a rich_text user
-- element) or only reaches them by a channel-wide mention: a muted
-- channel counts only the first (Store.CountMentions). Rows written before
-- this migration count as by name. mentions_user carries it, so that a
-- muted channel's count stays one range of the index.
ALTER TABLE mentions ADD COLUMN direct INTEGER NOT NULL DEFAULT 1;
DROP INDEX mentions_user;
CREATE INDEX mentions_user ON mentions (user_id, channel_id, seq, direct);
