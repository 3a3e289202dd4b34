-- What apps send with a message (confab.Message): blocks, attachments and
-- metadata as compacted JSON text, the poster's username and icon
-- overrides, '' when absent; broadcast marks a thread reply that
-- conversations.history also lists (reply_broadcast). A tombstone has
-- none of them.
ALTER TABLE messages ADD COLUMN blocks TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN metadata TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN username TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN icon_emoji TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN icon_url TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN broadcast INTEGER NOT NULL DEFAULT 0;
