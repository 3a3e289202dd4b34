-- Users' emails and custom status (users.profile.*); it mirrors
-- store/sqlite/migrations/0009_user_email.sql. An email is stored
-- lowercased (confab.PrepareUser), so that the unique index compares
-- addresses case-insensitively; '' is no email, never taken. Existing
-- users have none.
ALTER TABLE users ADD COLUMN email TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN status_text TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN status_emoji TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN status_expiration BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_email ON users (workspace_id, email) WHERE email <> '';
