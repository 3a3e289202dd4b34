-- A message's subtype as Slack names it: '' for a plain message,
-- 'me_message' for one posted with chat.meMessage (confab.Message.Subtype).
-- A constant default: no table rewrite.
ALTER TABLE messages ADD COLUMN subtype TEXT NOT NULL DEFAULT '';

-- One row per member a message mentions (confab.Mentions), written in the
-- transaction that writes the message, rewritten by an edit and removed
-- with it: seq is the message's. A channel-wide mention writes a row for
-- every member at the time. mentions_user makes a member's count after
-- their read marker one seek per channel (Store.CountMentions).
CREATE TABLE mentions (
	channel_id TEXT COLLATE "C" NOT NULL REFERENCES channels (id),
	seq        BIGINT NOT NULL,
	user_id    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (channel_id, seq, user_id)
);
CREATE INDEX mentions_user ON mentions (user_id, channel_id, seq);
