-- What apps send with a message (confab.Message): blocks, attachments and
-- metadata as compacted JSON text (text, not jsonb, so that they come back
-- as sent), the poster's username and icon overrides, '' when absent;
-- broadcast marks a thread reply that conversations.history also lists
-- (reply_broadcast). A tombstone has none of them. Constant defaults: no
-- table rewrite.
ALTER TABLE messages ADD COLUMN blocks text NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN attachments text NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN metadata text NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN username text NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN icon_emoji text NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN icon_url text NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN broadcast boolean NOT NULL DEFAULT false;
