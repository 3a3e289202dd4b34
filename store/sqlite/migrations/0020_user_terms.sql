-- The index of users.search (Store.SearchUsers): one row per term of a
-- live user (confab.UserTerms: the lowercased words of the handle, real
-- name and display name, from each word to the name's end). A prefix
-- search is a range scan of the primary key. The terms are computed in Go
-- (Unicode lowercasing, word splitting): the users of a database from
-- before are indexed at Open (indexUserTerms).
CREATE TABLE user_terms (
	workspace_id TEXT NOT NULL,
	term         TEXT NOT NULL,
	user_id      TEXT NOT NULL REFERENCES users (id),
	PRIMARY KEY (workspace_id, term, user_id)
) WITHOUT ROWID;
CREATE INDEX user_terms_user ON user_terms (user_id);
