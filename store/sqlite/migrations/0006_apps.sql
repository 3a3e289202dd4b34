-- Apps installed from a manifest (confab.App), their bots (confab.Bot)
-- and the type of each token (user, bot, app). An app's signing secret is
-- kept as is: it signs the Events API requests sent to the app. A deleted
-- app's row goes; its bot stays, deleted, for bots.info and old messages.
CREATE TABLE apps (
	id                 TEXT PRIMARY KEY,
	workspace_id       TEXT NOT NULL REFERENCES workspaces (id),
	manifest           TEXT NOT NULL,
	client_id          TEXT NOT NULL,
	client_secret      TEXT NOT NULL,
	verification_token TEXT NOT NULL,
	signing_secret     TEXT NOT NULL,
	created_by         TEXT NOT NULL DEFAULT '',
	created            INTEGER NOT NULL,
	updated            INTEGER NOT NULL
);
CREATE INDEX apps_workspace ON apps (workspace_id, id);

CREATE TABLE bots (
	id           TEXT PRIMARY KEY,
	app_id       TEXT NOT NULL,
	user_id      TEXT NOT NULL UNIQUE REFERENCES users (id),
	workspace_id TEXT NOT NULL REFERENCES workspaces (id),
	name         TEXT NOT NULL,
	deleted      INTEGER NOT NULL DEFAULT 0,
	updated      INTEGER NOT NULL
);
CREATE INDEX bots_app ON bots (app_id);

ALTER TABLE tokens ADD COLUMN type TEXT NOT NULL DEFAULT 'user';
