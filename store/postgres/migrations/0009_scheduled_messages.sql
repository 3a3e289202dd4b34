-- Messages to be posted later (confab.ScheduledMessage, chat.scheduleMessage).
-- A row goes once its message is posted or dropped. claimed_until is the
-- unix second until which a scheduler holds it (0: never claimed): a
-- claimed row can no longer be deleted by its user. channel_id has no
-- foreign key: in a set-up with pockets the rows live in the main
-- database (the directory), the channel perhaps in its pocket's.
CREATE TABLE scheduled_messages (
	id            TEXT COLLATE "C" PRIMARY KEY,
	channel_id    TEXT COLLATE "C" NOT NULL,
	user_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	post_at       BIGINT NOT NULL,
	created       BIGINT NOT NULL,
	text          TEXT NOT NULL,
	thread_ts     BIGINT NOT NULL DEFAULT 0,
	broadcast     BOOLEAN NOT NULL DEFAULT false,
	blocks        TEXT NOT NULL DEFAULT '',
	attachments   TEXT NOT NULL DEFAULT '',
	metadata      TEXT NOT NULL DEFAULT '',
	username      TEXT NOT NULL DEFAULT '',
	icon_emoji    TEXT NOT NULL DEFAULT '',
	icon_url      TEXT NOT NULL DEFAULT '',
	claimed_until BIGINT NOT NULL DEFAULT 0
);
-- The schedulers' scan of what is due.
CREATE INDEX scheduled_messages_due ON scheduled_messages (post_at, id);
-- A user's list, and the per-user bound.
CREATE INDEX scheduled_messages_user ON scheduled_messages (user_id, post_at, id);
-- The per-channel window bound.
CREATE INDEX scheduled_messages_channel ON scheduled_messages (channel_id, post_at);
