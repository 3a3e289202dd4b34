-- Each workspace's event log (confab.WorkspaceEvent): membership, channel
-- and user changes, appended in the transaction of the change. event_seq
-- is the workspace's last seq: a writer takes the next one by updating it,
-- which holds the row until its transaction ends, so writers of a
-- workspace take seqs one at a time in commit order (see appendEvent).
ALTER TABLE workspaces ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE workspace_events (
	workspace_id TEXT NOT NULL,
	seq          BIGINT NOT NULL,
	kind         TEXT NOT NULL,
	channel_id   TEXT NOT NULL DEFAULT '',
	user_id      TEXT NOT NULL DEFAULT '',
	time         BIGINT NOT NULL,
	PRIMARY KEY (workspace_id, seq)
);
