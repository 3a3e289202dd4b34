-- Users' emails and custom status (users.profile.*). An email is stored
-- lowercased (confab.PrepareUser), so that the unique index compares
-- addresses case-insensitively; '' is no email, never taken. Existing
-- users have none.
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN status_text TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN status_emoji TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN status_expiration INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_email ON users (workspace_id, email) WHERE email <> '';
