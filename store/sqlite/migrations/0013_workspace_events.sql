-- Each workspace's event log (confab.WorkspaceEvent): membership, channel
-- and user changes, appended in the transaction of the change. Clustered
-- by (workspace_id, seq): a reader's page is a range scan of the primary
-- key, and the next seq (MAX + 1: SQLite has one writer) a seek.
CREATE TABLE workspace_events (
	workspace_id TEXT NOT NULL,
	seq          INTEGER NOT NULL,
	kind         TEXT NOT NULL,
	channel_id   TEXT NOT NULL DEFAULT '',
	user_id      TEXT NOT NULL DEFAULT '',
	time         INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, seq)
) WITHOUT ROWID;
