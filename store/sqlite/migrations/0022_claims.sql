-- One-time links that set a user's password (confab.Claim): an imported
-- user's way to claim their account, or a reset. A user has at most one,
-- the latest; the link itself is kept only as its SHA-256.
CREATE TABLE claims (
	user_id TEXT PRIMARY KEY REFERENCES users (id),
	hash    BLOB NOT NULL UNIQUE,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL,
	signup  INTEGER NOT NULL DEFAULT 0 -- a sign-up with the user's name and email may claim too
);
