-- Each workspace has exactly one general channel (Slack's is_general:
-- confab.Channel.IsGeneral), public, that every new member joins
-- (Store.CreateUser) and nobody leaves. CreateWorkspace makes it from now
-- on; a workspace of before gets its unarchived public #general, else its
-- oldest unarchived public channel, else a new #general (named
-- general-<hex> if an archived or private channel holds the name), which
-- its active human users join. The members of a channel marked here stay
-- who they are: nobody is put back into a channel they left.
ALTER TABLE channels ADD COLUMN is_general INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX channels_general ON channels (workspace_id) WHERE is_general;

UPDATE channels SET is_general = 1 WHERE id IN (
	SELECT (SELECT c.id FROM channels AS c
	        WHERE c.workspace_id = w.id AND c.kind = 'public' AND NOT c.archived
	        ORDER BY c.name = 'general' DESC, c.created, c.id LIMIT 1)
	FROM workspaces AS w);

INSERT INTO channels (id, workspace_id, kind, name, created_by, created, is_general)
SELECT 'C' || hex(randomblob(6)), w.id, 'public',
	CASE WHEN EXISTS (SELECT 1 FROM channels AS c WHERE c.workspace_id = w.id AND c.name = 'general')
	     THEN 'general-' || lower(hex(randomblob(3))) ELSE 'general' END,
	w.owner_id, w.created, 1
FROM workspaces AS w
WHERE NOT EXISTS (SELECT 1 FROM channels AS c WHERE c.workspace_id = w.id AND c.is_general);

INSERT INTO memberships (channel_id, user_id, joined_at)
SELECT c.id, u.id, c.created
FROM channels AS c JOIN users AS u ON u.workspace_id = c.workspace_id
WHERE c.is_general AND c.num_members = 0 AND c.last_seq = 0 AND NOT u.is_bot AND NOT u.deleted
ON CONFLICT (channel_id, user_id) DO NOTHING;

UPDATE channels SET num_members = (SELECT count(*) FROM memberships AS m WHERE m.channel_id = channels.id)
WHERE is_general AND num_members = 0;
