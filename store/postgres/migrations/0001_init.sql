-- confab schema, version 1: the tables of the domain types in model.go; it mirrors
-- store/sqlite/migrations/0001_init.sql.
--
-- Ids and other keys that are listed in id order use COLLATE "C": they sort
-- byte by byte whatever the database's locale, as the rest of confab
-- (and the SQLite store) compares them.

CREATE TABLE workspaces (
	id       TEXT COLLATE "C" PRIMARY KEY,
	name     TEXT NOT NULL,
	domain   TEXT NOT NULL UNIQUE,
	owner_id TEXT COLLATE "C" NOT NULL DEFAULT '',
	created  BIGINT NOT NULL
);

CREATE TABLE users (
	id            TEXT COLLATE "C" PRIMARY KEY,
	workspace_id  TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
	name          TEXT NOT NULL,
	real_name     TEXT NOT NULL DEFAULT '',
	display_name  TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	is_bot        BOOLEAN NOT NULL DEFAULT false,
	deleted       BOOLEAN NOT NULL DEFAULT false,
	created       BIGINT NOT NULL,
	UNIQUE (workspace_id, name)
);
CREATE INDEX users_workspace ON users (workspace_id, id);

CREATE TABLE tokens (
	hash      BYTEA PRIMARY KEY,
	user_id   TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	created   BIGINT NOT NULL,
	last_used BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens (user_id);

-- last_seq is the channel's change counter; last_ts the ts of its newest
-- message; message_count the number of top-level messages ever posted.
-- Every change to a channel's content updates its row first: the row lock
-- serialises the writers of one channel.
CREATE TABLE channels (
	id               TEXT COLLATE "C" PRIMARY KEY,
	workspace_id     TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
	kind             TEXT NOT NULL,
	name             TEXT NOT NULL DEFAULT '',
	key              TEXT COLLATE "C" NOT NULL DEFAULT '',
	topic            TEXT NOT NULL DEFAULT '',
	topic_creator    TEXT NOT NULL DEFAULT '',
	topic_last_set   BIGINT NOT NULL DEFAULT 0,
	purpose          TEXT NOT NULL DEFAULT '',
	purpose_creator  TEXT NOT NULL DEFAULT '',
	purpose_last_set BIGINT NOT NULL DEFAULT 0,
	created_by       TEXT NOT NULL DEFAULT '',
	created          BIGINT NOT NULL,
	archived         BOOLEAN NOT NULL DEFAULT false,
	last_seq         BIGINT NOT NULL DEFAULT 0,
	last_ts          BIGINT NOT NULL DEFAULT 0,
	message_count    BIGINT NOT NULL DEFAULT 0,
	num_members      INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX channels_name ON channels (workspace_id, name) WHERE name <> '';
CREATE UNIQUE INDEX channels_key ON channels (workspace_id, key) WHERE key <> '';
CREATE INDEX channels_workspace ON channels (workspace_id, id);

CREATE TABLE memberships (
	channel_id      TEXT COLLATE "C" NOT NULL REFERENCES channels (id),
	user_id         TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	joined_at       BIGINT NOT NULL,
	is_muted        BOOLEAN NOT NULL DEFAULT false,
	is_starred      BOOLEAN NOT NULL DEFAULT false,
	last_read_seq   BIGINT NOT NULL DEFAULT 0,
	last_read_ts    BIGINT NOT NULL DEFAULT 0,
	last_read_count BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id, channel_id);

-- Every history read is a range scan of the primary key (channel_id, seq).
CREATE TABLE messages (
	channel_id    TEXT COLLATE "C" NOT NULL REFERENCES channels (id),
	seq           BIGINT NOT NULL,
	ts            BIGINT NOT NULL,
	user_id       TEXT NOT NULL,
	text          TEXT NOT NULL,
	thread_ts     BIGINT NOT NULL DEFAULT 0,
	client_msg_id TEXT NOT NULL DEFAULT '',
	edited_ts     BIGINT NOT NULL DEFAULT 0,
	deleted       BOOLEAN NOT NULL DEFAULT false,
	change_seq    BIGINT NOT NULL,
	num           BIGINT NOT NULL,
	reply_count   INTEGER NOT NULL DEFAULT 0,
	latest_reply  BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, seq)
);
CREATE UNIQUE INDEX messages_ts ON messages (channel_id, ts);
CREATE UNIQUE INDEX messages_client_msg_id ON messages (channel_id, client_msg_id) WHERE client_msg_id <> '';
CREATE INDEX messages_thread ON messages (channel_id, thread_ts, seq);
CREATE INDEX messages_change ON messages (channel_id, change_seq);

-- One row per (message, emoji, user). Removing a reaction keeps the row as a
-- tombstone (removed) so catch-up can replay it; every add or remove moves
-- the row to the channel's next seq.
CREATE TABLE reactions (
	channel_id  TEXT COLLATE "C" NOT NULL REFERENCES channels (id),
	message_seq BIGINT NOT NULL,
	message_ts  BIGINT NOT NULL,
	name        TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	seq         BIGINT NOT NULL,
	removed     BOOLEAN NOT NULL DEFAULT false,
	PRIMARY KEY (channel_id, message_seq, name, user_id)
);
CREATE UNIQUE INDEX reactions_seq ON reactions (channel_id, seq);
