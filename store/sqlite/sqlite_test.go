package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/internal/migrate"
)

func mustOpen(t *testing.T, cfg Config) *DB {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "confab.db")
	}
	db, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func insertWorkspace(id string) writeFunc {
	return func(ctx context.Context, tx *sql.Conn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO workspaces (id, name, domain, created) VALUES (?, ?, ?, 1)`, id, id, id)
		return err
	}
}

// TestGroupCommitIsolation: in one batch, a request that fails after
// writing is rolled back alone, a request whose context has ended is
// skipped, and the others commit.
func TestGroupCommitIsolation(t *testing.T) {
	db := mustOpen(t, Config{})
	boom := errors.New("boom")
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	reqs := []*writeReq{
		{ctx: t.Context(), fn: insertWorkspace("TA")},
		{ctx: t.Context(), fn: func(ctx context.Context, tx *sql.Conn) error {
			if err := insertWorkspace("TB")(ctx, tx); err != nil {
				return err
			}
			return boom
		}},
		{ctx: canceled, fn: insertWorkspace("TX")},
		{ctx: t.Context(), fn: insertWorkspace("TA")}, // unique violation
		{ctx: t.Context(), fn: insertWorkspace("TC")},
	}
	for _, r := range reqs {
		r.done = make(chan error, 1)
	}
	// The committer is idle (blocked on its queue), so the test may use
	// the writer connection itself.
	db.commit(reqs)
	wantErrs := []func(error) bool{
		func(err error) bool { return err == nil },
		func(err error) bool { return errors.Is(err, boom) },
		func(err error) bool { return errors.Is(err, context.Canceled) },
		isUnique,
		func(err error) bool { return err == nil },
	}
	for i, r := range reqs {
		if err := <-r.done; !wantErrs[i](err) {
			t.Errorf("request %d answered %v", i, err)
		}
	}
	if got := db.retried.Load(); got != 1 {
		t.Errorf("the batch ran with savepoints %d times after its optimistic run failed, want 1", got)
	}
	for id, want := range map[string]bool{"TA": true, "TB": false, "TX": false, "TC": true} {
		_, err := db.FindWorkspaceByID(t.Context(), id)
		if got := err == nil; got != want {
			t.Errorf("workspace %s exists = %v (%v), want %v", id, got, err, want)
		}
	}
}

// TestGroupCommitBatches: concurrent writers share transactions (fewer
// commits than writes) and all succeed.
func TestGroupCommitBatches(t *testing.T) {
	db := mustOpen(t, Config{})
	ws := &confab.Workspace{ID: "T1", Domain: "acme", Created: 1}
	if err := db.CreateWorkspace(t.Context(), ws, &confab.User{ID: "U1", Name: "owner"}); err != nil {
		t.Fatal(err)
	}
	c := &confab.Channel{ID: "C1", WorkspaceID: "T1", Kind: confab.KindPublic, Name: "plaza"}
	if err := db.CreateChannel(t.Context(), c, nil); err != nil {
		t.Fatal(err)
	}
	before := db.commits.Load()
	const n = 200
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := db.CreateMessage(t.Context(), &confab.Message{ChannelID: "C1", UserID: "U1", Text: "x", TS: 1})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("CreateMessage = %v", err)
		}
	}
	got, err := db.FindChannelByID(t.Context(), "C1")
	if err != nil || got.LastSeq != n {
		t.Fatalf("LastSeq = %v, %v; want %d", got, err, n)
	}
	commits := db.commits.Load() - before
	t.Logf("%d writes in %d commits", n, commits)
	if got := db.retried.Load(); got != 0 {
		t.Errorf("%d batches of writes that cannot fail were run again", got)
	}
	if commits >= n {
		t.Errorf("%d concurrent writes took %d commits: no batching", n, commits)
	}
}

// TestReopen: migrations run once; data survives Close and Open.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "confab.db")
	db := mustOpen(t, Config{Path: path})
	ws := &confab.Workspace{ID: "T1", Domain: "acme", Created: 1}
	if err := db.CreateWorkspace(t.Context(), ws, &confab.User{ID: "U1", Name: "owner"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindWorkspaceByID(t.Context(), "T1"); err == nil {
		t.Error("read after Close succeeded")
	}
	if err := db.CreateUser(t.Context(), &confab.User{ID: "U2", WorkspaceID: "T1", Name: "late"}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close = %v, want ErrClosed", err)
	}
	db = mustOpen(t, Config{Path: path, Sync: "normal"})
	if got, err := db.FindWorkspaceByDomain(t.Context(), "acme"); err != nil || got.OwnerID != "U1" {
		t.Errorf("after reopen FindWorkspaceByDomain = %+v, %v", got, err)
	}
	ms, err := migrate.Load(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var version int
	if err := db.rdb.QueryRowContext(t.Context(), `PRAGMA user_version`).Scan(&version); err != nil || version != len(ms) {
		t.Errorf("user_version = %d, %v; want %d", version, err, len(ms))
	}
	var mode string
	if err := db.rdb.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestOpenConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Path: ":memory:"},
		{Path: filepath.Join(t.TempDir(), "x.db"), Sync: "sometimes"},
	} {
		if db, err := Open(t.Context(), cfg); err == nil {
			db.Close()
			t.Errorf("Open(%+v) succeeded, want an error", cfg)
		}
	}
}

func TestPing(t *testing.T) {
	db := mustOpen(t, Config{})
	if err := db.Ping(context.Background()); err != nil {
		t.Fatalf("Ping on an open store: %v", err)
	}
	db.Close()
	if err := db.Ping(context.Background()); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
}

// TestWriterTempStore: the writer keeps statement journals in memory
// (temp_store=MEMORY, 2), not in 64 KiB buffers allocated per statement.
func TestWriterTempStore(t *testing.T) {
	db := mustOpen(t, Config{})
	// The committer is idle, so the test may use the writer connection.
	var store int
	if err := db.wconn.QueryRowContext(t.Context(), `PRAGMA temp_store`).Scan(&store); err != nil || store != 2 {
		t.Errorf("writer temp_store = %d, %v; want 2 (MEMORY)", store, err)
	}
}

// TestMigrateThreadIndex: a database made before migration 2, whose
// messages_thread indexes every message, gets the partial index (replies
// only), and its threads still read through it.
func TestMigrateThreadIndex(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "confab.db")
	db := mustOpen(t, Config{Path: path})
	execAll(t, db,
		`DROP INDEX messages_thread`,
		`CREATE INDEX messages_thread ON messages (channel_id, thread_ts, seq)`,
		// and undo what the migrations after 0002 made
		`DROP TABLE health`,
		`DROP INDEX reactions_user_live`,
		`DROP INDEX reactions_name_live`,
		`DROP TABLE mentions`,
		`DROP TABLE apps`,
		`DROP TABLE bots`,
		`DROP TABLE app_positions`,
		`DROP TABLE scheduled_messages`,
		`ALTER TABLE tokens DROP COLUMN type`,
		`DROP TABLE pins`,
		`ALTER TABLE channels DROP COLUMN pin_count`,
		`ALTER TABLE channels DROP COLUMN pin_version`,
		`DROP TABLE claims`,
		`DROP TABLE search_pending`,
		`PRAGMA user_version = 1`,
	)
	ws := &confab.Workspace{ID: "T1", Domain: "acme", Created: 1}
	owner := &confab.User{ID: "U1", Name: "owner", Created: 1}
	if err := db.CreateWorkspace(ctx, ws, owner); err != nil {
		t.Fatal(err)
	}
	c := &confab.Channel{ID: "C1", WorkspaceID: "T1", Kind: confab.KindPublic, Name: "plaza", Created: 1}
	if err := db.CreateChannel(ctx, c, []string{"U1"}); err != nil {
		t.Fatal(err)
	}
	parent := &confab.Message{ChannelID: "C1", UserID: "U1", Text: "parent"}
	if _, err := db.CreateMessage(ctx, parent); err != nil {
		t.Fatal(err)
	}
	reply := &confab.Message{ChannelID: "C1", UserID: "U1", Text: "reply", ThreadTS: parent.TS}
	if _, err := db.CreateMessage(ctx, reply); err != nil {
		t.Fatal(err)
	}
	// and the columns of 0005 and 0007, once the messages are written,
	// and of 0012, the terms of 0020 and the tz of 0023, once the users are, and the event log of 0013, once
	// the channel has logged its creation, and the search index of 0015,
	// once the messages are indexed
	for _, col := range []string{"blocks", "attachments", "metadata", "username", "icon_emoji", "icon_url", "broadcast", "subtype"} {
		if _, err := db.wconn.ExecContext(ctx, `ALTER TABLE messages DROP COLUMN `+col); err != nil {
			t.Fatalf("drop %s: %v", col, err)
		}
	}
	execAll(t, db,
		`DROP TABLE workspace_events`,
		`DROP TABLE search_words`,
		`DROP TABLE search_vocab`,
		`DROP TABLE search_rows`,
		`DROP TABLE search_channels`,
		`DROP TABLE search_mentions`,
		`DROP TABLE search_backfill`,
		`DROP INDEX channels_public`,
		`ALTER TABLE channels DROP COLUMN search_num`,
		`DROP INDEX channels_general`,
		`ALTER TABLE channels DROP COLUMN is_general`,
		`DROP TABLE user_terms`,
		`DROP INDEX users_email`,
		`ALTER TABLE users DROP COLUMN email`,
		`ALTER TABLE users DROP COLUMN tz`, // 0023
		`ALTER TABLE users DROP COLUMN status_text`,
		`ALTER TABLE users DROP COLUMN status_emoji`,
		`ALTER TABLE users DROP COLUMN status_expiration`,
	)
	db.Close()

	db = mustOpen(t, Config{Path: path})
	var def string
	if err := db.rdb.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'messages_thread'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "WHERE thread_ts != 0") {
		t.Errorf("messages_thread after migrating = %q, want the partial index", def)
	}
	msgs, err := db.FindMessages(ctx, confab.MessageFilter{ChannelID: "C1", ThreadTS: parent.TS})
	if err != nil || len(msgs) != 2 || msgs[0].TS != parent.TS || msgs[1].TS != reply.TS {
		t.Errorf("thread after migrating = %v, %v; want parent then reply", msgs, err)
	}
	// and the users from before user_terms are found by name
	if us, err := db.SearchUsers(ctx, confab.UserSearch{WorkspaceID: "T1", Query: "own", Limit: 5}); err != nil || len(us) != 1 || us[0].ID != "U1" {
		t.Errorf("users.search after migrating = %v, %v; want the owner", us, err)
	}
	// and the messages written before the search index are found, once
	// the backfill is done
	<-db.backfilled
	res, err := db.SearchMessages(ctx, confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1",
		Terms: []confab.SearchTerm{{Words: []string{"reply"}}}, Limit: 10})
	if err != nil || res.Total != 1 || len(res.Messages) != 1 || res.Messages[0].TS != reply.TS {
		t.Errorf("search after migrating = %+v, %v; want the reply", res, err)
	}
}

// TestReaderCache: the read connections keep readerCacheKiB of pages, not
// SQLite's 2 MiB (see readerCacheKiB).
func TestReaderCache(t *testing.T) {
	db := mustOpen(t, Config{})
	var kib int
	if err := db.rdb.QueryRowContext(t.Context(), `PRAGMA cache_size`).Scan(&kib); err != nil {
		t.Fatal(err)
	}
	if kib != -readerCacheKiB {
		t.Errorf("reader cache_size = %d, want %d (KiB)", kib, -readerCacheKiB)
	}
}

// TestMigrateGeneral: 0018 gives each workspace of before one general
// channel: its public #general, else its oldest unarchived public
// channel, else a new #general its human users join.
func TestMigrateGeneral(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "confab.db")
	db := mustOpen(t, Config{Path: path})
	mk := func(ws, domain string) {
		if err := db.CreateWorkspace(ctx, &confab.Workspace{ID: ws, Domain: domain, Created: 1},
			&confab.User{ID: "U" + ws, Name: "owner", Created: 1}); err != nil {
			t.Fatal(err)
		}
	}
	ch := func(id, ws, name, kind string, created int64) {
		c := &confab.Channel{ID: id, WorkspaceID: ws, Kind: kind, Name: name, Created: created}
		if err := db.CreateChannel(ctx, c, []string{"U" + ws}); err != nil {
			t.Fatal(err)
		}
	}
	mk("TA", "a")
	mk("TB", "b")
	mk("TC", "c")
	for _, u := range []*confab.User{{ID: "UC2", WorkspaceID: "TC", Name: "bob", Created: 2},
		{ID: "UC3", WorkspaceID: "TC", Name: "bot", IsBot: true, Created: 2}} {
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	// Before 0018: no general channel anywhere.
	execAll(t, db,
		`DELETE FROM memberships WHERE channel_id IN (SELECT id FROM channels WHERE is_general)`,
		`DELETE FROM channels WHERE is_general`,
	)
	ch("CA1", "TA", "older", confab.KindPublic, 1)
	ch("CA2", "TA", "general", confab.KindPublic, 5) // a's #general, not its oldest
	ch("CB1", "TB", "secret", confab.KindPrivate, 1)
	ch("CB2", "TB", "later", confab.KindPublic, 7)
	ch("CB3", "TB", "oldest", confab.KindPublic, 3)
	ch("CC1", "TC", "general", confab.KindPrivate, 1) // c has no public channel
	execAll(t, db, undo0019...)
	execAll(t, db,
		`DROP INDEX channels_general`,
		`ALTER TABLE channels DROP COLUMN is_general`,
		`DROP TABLE user_terms`,            // 0020
		`DROP TABLE claims`,                // 0022
		`ALTER TABLE users DROP COLUMN tz`, // 0023
		`DROP TABLE search_pending`,        // 0024
		`PRAGMA user_version = 17`,
	)
	db.Close()

	db = mustOpen(t, Config{Path: path})
	for ws, want := range map[string]string{"TA": "CA2", "TB": "CB3"} {
		cs, err := db.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: ws})
		var got []string
		for _, c := range cs {
			if c.IsGeneral {
				got = append(got, c.ID)
			}
		}
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("general of %s after 0018 = %v, %v; want %s", ws, got, err, want)
		}
	}
	cs, err := db.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: "TC", Kinds: []string{confab.KindPublic}})
	if err != nil || len(cs) != 1 || !cs[0].IsGeneral || !strings.HasPrefix(cs[0].Name, "general-") ||
		cs[0].NumMembers != 2 || !confab.ValidID(cs[0].ID, confab.PrefixChannel) {
		t.Fatalf("public channels of c after 0018 = %+v, %v; want one new general-… with owner and bob", cs, err)
	}
	for _, u := range []string{"UTC", "UC2"} {
		if _, err := db.FindMembership(ctx, cs[0].ID, u); err != nil {
			t.Errorf("%s in the new general channel: %v", u, err)
		}
	}
	if _, err := db.FindMembership(ctx, cs[0].ID, "UC3"); err == nil {
		t.Errorf("the bot user is in the new general channel")
	}
	// and a user created now joins it
	if err := db.CreateUser(ctx, &confab.User{ID: "UC4", WorkspaceID: "TC", Name: "carol", Created: 9}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindMembership(ctx, cs[0].ID, "UC4"); err != nil {
		t.Errorf("a new user is not in the general channel: %v", err)
	}
}

// execAll runs statements on the writer connection, outside the
// committer: how a test puts a database back to an older schema.
func execAll(t *testing.T, db *DB, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := db.wconn.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// undo0019 takes a database back to before migration 0019.
var undo0019 = []string{
	`DROP TABLE search_vocab`,
	`CREATE VIRTUAL TABLE search_trigrams USING fts5 (body, content = '', contentless_delete = 1, tokenize = 'trigram')`,
}

// mustImportScene makes workspace T1 of owner U1 with channels C1 and
// C2, for the import tests.
func mustImportScene(t *testing.T, db *DB) {
	t.Helper()
	ctx := t.Context()
	if err := db.CreateWorkspace(ctx, &confab.Workspace{ID: "T1", Domain: "acme", Created: 1}, &confab.User{ID: "U1", Name: "owner"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"C1", "C2"} {
		if err := db.CreateChannel(ctx, &confab.Channel{ID: id, WorkspaceID: "T1", Kind: confab.KindPublic, Name: strings.ToLower(id)}, []string{"U1"}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImportYieldsToLiveWrites: an import alone is one transaction; with
// a post just before, it goes in chunks of importLiveChunk, a pause after
// each, and ends the same.
func TestImportYieldsToLiveWrites(t *testing.T) {
	db := mustOpen(t, Config{})
	ctx := t.Context()
	mustImportScene(t, db)
	batch := func(n int) []*confab.Message {
		var msgs []*confab.Message
		for i := range n {
			msgs = append(msgs, &confab.Message{UserID: "U1", TS: int64(1_577_836_800_000_000 + i), Text: "history"})
		}
		return msgs
	}
	db.liveAt.Store(0) // the set-up's writes were long ago
	before := db.commits.Load()
	if n, err := db.ImportMessages(ctx, "C1", batch(3*importLiveChunk)); err != nil || n != 3*importLiveChunk {
		t.Fatalf("ImportMessages alone = %d, %v", n, err)
	}
	if got := db.commits.Load() - before; got != 1 {
		t.Errorf("an import alone took %d commits, want 1", got)
	}

	if _, err := db.CreateMessage(ctx, &confab.Message{ChannelID: "C2", UserID: "U1", Text: "live", TS: 2_000_000_000_000_000}); err != nil {
		t.Fatal(err)
	}
	c3 := &confab.Channel{ID: "C3", WorkspaceID: "T1", Kind: confab.KindPublic, Name: "c3"}
	if err := db.CreateChannel(ctx, c3, []string{"U1"}); err != nil {
		t.Fatal(err)
	}
	// Live writes go on while it imports (a slow machine's chunks and
	// pauses could outlast liveWindow after one post).
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				db.liveAt.Store(time.Now().UnixNano())
			}
		}
	}()
	before = db.commits.Load()
	if n, err := db.ImportMessages(ctx, "C3", batch(3*importLiveChunk)); err != nil || n != 3*importLiveChunk {
		t.Fatalf("ImportMessages during live writes = %d, %v", n, err)
	}
	if got := db.commits.Load() - before; got != 3 {
		t.Errorf("an import during live writes took %d commits, want 3 chunks", got)
	}
	got, err := db.FindChannelByID(ctx, "C3")
	if err != nil || got.LastSeq != 3*importLiveChunk || got.MessageCount != 3*importLiveChunk {
		t.Errorf("after a chunked import: %+v, %v", got, err)
	}
}

// TestImportIndexedInBackground: an import's messages are indexed after
// it, in the background: found once the index has taken them
// (WaitIndexed); one edited before is found by its new text, once; a
// deleted one never; and what is pending when the store closes is
// indexed after the next Open.
func TestImportIndexedInBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "confab.db")
	db := mustOpen(t, Config{Path: path})
	ctx := t.Context()
	mustImportScene(t, db)
	batch := func(n int, text string) []*confab.Message {
		var msgs []*confab.Message
		for i := range n {
			msgs = append(msgs, &confab.Message{UserID: "U1", TS: int64(1_577_836_800_000_000 + i), Text: fmt.Sprintf("%s %d", text, i)})
		}
		return msgs
	}
	search := func(db *DB, word string) int {
		t.Helper()
		res, err := db.SearchMessages(ctx, confab.SearchFilter{ReaderID: "U1", WorkspaceID: "T1",
			Terms: []confab.SearchTerm{{Words: []string{word}}}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return res.Total
	}
	const n = 2500 // more than a batch of the indexer's
	if _, err := db.ImportMessages(ctx, "C1", batch(n, "walrus")); err != nil {
		t.Fatal(err)
	}
	// Before the index takes them: one edited, one deleted.
	narwhal := "narwhal"
	if _, err := db.UpdateMessage(ctx, "C1", 1_577_836_800_000_007, confab.MessageUpdate{Text: &narwhal}, 1_700_000_000_000_000); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteMessage(ctx, "C1", 1_577_836_800_000_009); err != nil {
		t.Fatal(err)
	}
	if err := db.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	if got := search(db, "walrus"); got != n-2 {
		t.Errorf("walrus: %d found, want %d (all but the edited and the deleted)", got, n-2)
	}
	if got := search(db, "narwhal"); got != 1 {
		t.Errorf("narwhal (the edit): %d found, want 1", got)
	}

	// Closed right after an import: the next Open indexes it.
	if _, err := db.ImportMessages(ctx, "C2", batch(100, "dugong")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = mustOpen(t, Config{Path: path})
	if err := db.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	if got := search(db, "dugong"); got != 100 {
		t.Errorf("dugong after a reopen: %d found, want 100", got)
	}
}
