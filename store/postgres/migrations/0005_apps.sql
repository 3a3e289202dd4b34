-- Apps installed from a manifest (confab.App), their bots (confab.Bot)
-- and the type of each token (user, bot, app). An app's signing secret is
-- kept as is: it signs the Events API requests sent to the app. A deleted
-- app's row goes; its bot stays, deleted, for bots.info and old messages.
-- A constant default: adding tokens.type rewrites no table.
CREATE TABLE apps (
	id                 TEXT COLLATE "C" PRIMARY KEY,
	workspace_id       TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
	manifest           TEXT NOT NULL,
	client_id          TEXT NOT NULL,
	client_secret      TEXT NOT NULL,
	verification_token TEXT NOT NULL,
	signing_secret     TEXT NOT NULL,
	created_by         TEXT NOT NULL DEFAULT '',
	created            BIGINT NOT NULL,
	updated            BIGINT NOT NULL
);
CREATE INDEX apps_workspace ON apps (workspace_id, id);

CREATE TABLE bots (
	id           TEXT COLLATE "C" PRIMARY KEY,
	app_id       TEXT COLLATE "C" NOT NULL,
	user_id      TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES users (id),
	workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
	name         TEXT NOT NULL,
	deleted      BOOLEAN NOT NULL DEFAULT false,
	updated      BIGINT NOT NULL
);
CREATE INDEX bots_app ON bots (app_id);

ALTER TABLE tokens ADD COLUMN type TEXT NOT NULL DEFAULT 'user';
