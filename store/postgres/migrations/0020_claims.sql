-- One-time links that set a user's password (confab.Claim): an imported
-- user's way to claim their account, or a reset. A user has at most one,
-- the latest; the link itself is kept only as its SHA-256. It mirrors
-- store/sqlite/migrations/0022_claims.sql.
CREATE TABLE claims (
	user_id TEXT COLLATE "C" PRIMARY KEY REFERENCES users (id),
	hash    BYTEA NOT NULL UNIQUE,
	created BIGINT NOT NULL,
	expires BIGINT NOT NULL,
	signup  BOOLEAN NOT NULL DEFAULT false -- a sign-up with the user's name and email may claim too
);
