-- The index of users.search (Store.SearchUsers); it mirrors
-- store/sqlite/migrations/0020_user_terms.sql. One row per term of a live
-- user (confab.UserTerms: the lowercased words of the handle, real name
-- and display name, from each word to the name's end); a prefix search is
-- a range scan of the primary key, compared by bytes ("C"). The terms are
-- computed in Go: the users of a database from before are indexed at Open
-- (indexUserTerms).
CREATE TABLE user_terms (
	workspace_id TEXT COLLATE "C" NOT NULL,
	term         TEXT COLLATE "C" NOT NULL,
	user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	PRIMARY KEY (workspace_id, term, user_id)
);
CREATE INDEX user_terms_user ON user_terms (user_id);
