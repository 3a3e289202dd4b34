-- confab schema, version 1: the tables of the domain types in model.go.

CREATE TABLE workspaces (
	id       TEXT PRIMARY KEY,
	name     TEXT NOT NULL,
	domain   TEXT NOT NULL UNIQUE,
	owner_id TEXT NOT NULL DEFAULT '',
	created  INTEGER NOT NULL
);

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
	name          TEXT NOT NULL,
	real_name     TEXT NOT NULL DEFAULT '',
	display_name  TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	is_bot        INTEGER NOT NULL DEFAULT 0,
	deleted       INTEGER NOT NULL DEFAULT 0,
	created       INTEGER NOT NULL,
	UNIQUE (workspace_id, name)
);
CREATE INDEX users_workspace ON users (workspace_id, id);

CREATE TABLE tokens (
	hash      BLOB PRIMARY KEY,
	user_id   TEXT NOT NULL REFERENCES users (id),
	created   INTEGER NOT NULL,
	last_used INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX tokens_user ON tokens (user_id);

-- last_seq is the channel's change counter; last_ts the ts of its newest
-- message; message_count the number of top-level messages ever posted.
CREATE TABLE channels (
	id               TEXT PRIMARY KEY,
	workspace_id     TEXT NOT NULL REFERENCES workspaces (id),
	kind             TEXT NOT NULL,
	name             TEXT NOT NULL DEFAULT '',
	key              TEXT NOT NULL DEFAULT '',
	topic            TEXT NOT NULL DEFAULT '',
	topic_creator    TEXT NOT NULL DEFAULT '',
	topic_last_set   INTEGER NOT NULL DEFAULT 0,
	purpose          TEXT NOT NULL DEFAULT '',
	purpose_creator  TEXT NOT NULL DEFAULT '',
	purpose_last_set INTEGER NOT NULL DEFAULT 0,
	created_by       TEXT NOT NULL DEFAULT '',
	created          INTEGER NOT NULL,
	archived         INTEGER NOT NULL DEFAULT 0,
	last_seq         INTEGER NOT NULL DEFAULT 0,
	last_ts          INTEGER NOT NULL DEFAULT 0,
	message_count    INTEGER NOT NULL DEFAULT 0,
	num_members      INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX channels_name ON channels (workspace_id, name) WHERE name != '';
CREATE UNIQUE INDEX channels_key ON channels (workspace_id, key) WHERE key != '';
CREATE INDEX channels_workspace ON channels (workspace_id, id);

CREATE TABLE memberships (
	channel_id      TEXT NOT NULL REFERENCES channels (id),
	user_id         TEXT NOT NULL REFERENCES users (id),
	joined_at       INTEGER NOT NULL,
	is_muted        INTEGER NOT NULL DEFAULT 0,
	is_starred      INTEGER NOT NULL DEFAULT 0,
	last_read_seq   INTEGER NOT NULL DEFAULT 0,
	last_read_ts    INTEGER NOT NULL DEFAULT 0,
	last_read_count INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships (user_id, channel_id);

-- Messages are clustered by (channel_id, seq): every history read is a range
-- scan of the primary key.
CREATE TABLE messages (
	channel_id    TEXT NOT NULL REFERENCES channels (id),
	seq           INTEGER NOT NULL,
	ts            INTEGER NOT NULL,
	user_id       TEXT NOT NULL,
	text          TEXT NOT NULL,
	thread_ts     INTEGER NOT NULL DEFAULT 0,
	client_msg_id TEXT NOT NULL DEFAULT '',
	edited_ts     INTEGER NOT NULL DEFAULT 0,
	deleted       INTEGER NOT NULL DEFAULT 0,
	change_seq    INTEGER NOT NULL,
	num           INTEGER NOT NULL,
	reply_count   INTEGER NOT NULL DEFAULT 0,
	latest_reply  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_ts ON messages (channel_id, ts);
CREATE UNIQUE INDEX messages_client_msg_id ON messages (channel_id, client_msg_id) WHERE client_msg_id != '';
CREATE INDEX messages_thread ON messages (channel_id, thread_ts, seq);
CREATE INDEX messages_change ON messages (channel_id, change_seq);

-- One row per (message, emoji, user). Removing a reaction keeps the row as a
-- tombstone (removed = 1) so catch-up can replay it; every add or remove
-- moves the row to the channel's next seq.
CREATE TABLE reactions (
	channel_id  TEXT NOT NULL REFERENCES channels (id),
	message_seq INTEGER NOT NULL,
	message_ts  INTEGER NOT NULL,
	name        TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	removed     INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, message_seq, name, user_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX reactions_seq ON reactions (channel_id, seq);
