package pocket_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/internal/pgtest"
	"github.com/confab/confab/pocket"
	"github.com/confab/confab/store/postgres"
	"github.com/confab/confab/store/storetest"
	"github.com/jackc/pgx/v5"
)

var _ confab.Store = (*pocket.Store)(nil)

// The package's TestMain runs redistest.Main, and pgtest.Shared needs
// pgtest.Main: both run m, so they cannot be composed. TestStore starts
// its own PostgreSQL server, shared by its subtests.
func TestStore(t *testing.T) {
	pg := pgtest.Start(t)

	// The conformance suite on a directory and two pocket databases: each
	// workspace goes, by a hash of its id, to pocket p (own database), r
	// (own database) or a (the directory), so every path runs.
	pockets := []string{"a", "p", "r"}
	var placed [3]atomic.Int64 // PocketOf answers per pocket
	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) confab.Store {
			return mustStore(t, pocket.StoreConfig{
				Directory: mustOpen(t, pg.NewDatabase(t)),
				Pockets:   map[string]pocket.DB{"p": mustOpen(t, pg.NewDatabase(t)), "r": mustOpen(t, pg.NewDatabase(t))},
				PocketOf: func(id, _ string) string {
					h := fnv.New32a()
					h.Write([]byte(id))
					i := h.Sum32() % 3
					placed[i].Add(1)
					return pockets[i]
				},
			})
		})
	})
	for i := range placed {
		if placed[i].Load() == 0 {
			t.Errorf("the suite placed no workspace in pocket %s", pockets[i])
		}
	}

	t.Run("PocketDataStaysInPocket", func(t *testing.T) { testPocketDataStaysInPocket(t, pg) })
	t.Run("CopiesNeverBlockNames", func(t *testing.T) { testCopiesNeverBlockNames(t, pg) })
	t.Run("PocketNotOpenHere", func(t *testing.T) { testPocketNotOpenHere(t, pg) })
	t.Run("LatestMessagesAcrossPockets", func(t *testing.T) { testLatestMessagesAcrossPockets(t, pg) })
}

// countingDB counts the calls that FindLatestMessages may make.
type countingDB struct {
	pocket.DB
	latest, byID atomic.Int64
}

func (d *countingDB) FindLatestMessages(ctx context.Context, ids []string) (map[string]*confab.Message, error) {
	d.latest.Add(1)
	return d.DB.FindLatestMessages(ctx, ids)
}

func (d *countingDB) FindChannelByID(ctx context.Context, id string) (*confab.Channel, error) {
	d.byID.Add(1)
	return d.DB.FindChannelByID(ctx, id)
}

// FindLatestMessages finds the channels of every database, asking each
// database once, whether the store knows where the channels are (it
// created them) or not (another process did).
func testLatestMessagesAcrossPockets(t *testing.T, pg *pgtest.Server) {
	ctx := t.Context()
	dirDSN, pDSN := pg.NewDatabase(t), pg.NewDatabase(t)
	s := mustStore(t, pocket.StoreConfig{
		Directory: mustOpen(t, dirDSN), Pockets: map[string]pocket.DB{"p": mustOpen(t, pDSN)}, PocketOf: byDomain,
	})
	alpha, alice := mustWorkspace(t, s, "alpha", "alice")
	beta, bob := mustWorkspace(t, s, "p-beta", "bob")
	want := map[string]string{}
	var ids []string
	for i := range 3 {
		for _, w := range []struct {
			ws *confab.Workspace
			u  *confab.User
		}{{alpha, alice}, {beta, bob}} {
			c := mustChannel(t, s, w.ws.ID, fmt.Sprintf("ch-%d", i), w.u.ID)
			text := fmt.Sprintf("latest in %s %d", w.ws.Domain, i)
			for _, txt := range []string{"older", text} {
				if _, err := s.CreateMessage(ctx, &confab.Message{ChannelID: c.ID, UserID: w.u.ID, Text: txt}); err != nil {
					t.Fatal(err)
				}
			}
			want[c.ID] = text
			ids = append(ids, c.ID)
		}
	}
	ids = append(ids, confab.NewID(confab.PrefixChannel)) // unknown everywhere

	check := func(name string, s *pocket.Store, dbs ...*countingDB) {
		t.Helper()
		got, err := s.FindLatestMessages(ctx, ids)
		if err != nil {
			t.Fatalf("%s: FindLatestMessages = %v", name, err)
		}
		if len(got) != len(want) {
			t.Errorf("%s: FindLatestMessages found %d channels, want %d", name, len(got), len(want))
		}
		for id, text := range want {
			if m := got[id]; m == nil || m.Text != text {
				t.Errorf("%s: latest of %s = %+v, want %q", name, id, m, text)
			}
		}
		for i, db := range dbs {
			if n, probes := db.latest.Load(), db.byID.Load(); n != 1 || probes != 0 {
				t.Errorf("%s: database %d was asked FindLatestMessages %d times and FindChannelByID %d times, want once and never", name, i, n, probes)
			}
			db.latest.Store(0)
		}
	}
	check("creating process", s)

	// Another process's store, with empty caches: one call per database,
	// no probing channel by channel; then it knows where they are.
	dir, p := &countingDB{DB: mustOpen(t, dirDSN)}, &countingDB{DB: mustOpen(t, pDSN)}
	other := mustStore(t, pocket.StoreConfig{Directory: dir, Pockets: map[string]pocket.DB{"p": p}, PocketOf: byDomain})
	check("other process", other, dir, p)
	check("other process, again", other, dir, p)
}

// byDomain puts workspaces whose domain starts with "p-" in pocket p, the
// others in pocket a (no database of its own).
func byDomain(_, domain string) string {
	if strings.HasPrefix(domain, "p-") {
		return "p"
	}
	return "a"
}

// A pocket workspace's channels, memberships, messages and reactions are
// in the pocket's database and not in the directory; its users and tokens
// are found through the directory; another process (fresh caches) finds
// its channels too.
func testPocketDataStaysInPocket(t *testing.T, pg *pgtest.Server) {
	ctx := t.Context()
	dirDSN, pDSN := pg.NewDatabase(t), pg.NewDatabase(t)
	s := mustStore(t, pocket.StoreConfig{
		Directory: mustOpen(t, dirDSN), Pockets: map[string]pocket.DB{"p": mustOpen(t, pDSN)}, PocketOf: byDomain,
	})

	beta, bob := mustWorkspace(t, s, "p-beta", "bob")
	carol := &confab.User{WorkspaceID: beta.ID, Name: "carol", RealName: "Carol", PasswordHash: "secret-hash", Created: 2}
	if err := s.CreateUser(ctx, carol); err != nil {
		t.Fatalf("CreateUser(carol) = %v", err)
	}
	alpha, alice := mustWorkspace(t, s, "alpha", "alice")

	bc := mustChannel(t, s, beta.ID, "plaza", bob.ID, carol.ID)
	ac := mustChannel(t, s, alpha.ID, "plaza", alice.ID)
	var bts int64
	for i := range 3 {
		m := &confab.Message{ChannelID: bc.ID, UserID: bob.ID, Text: "beta", TS: int64(1000 + i)}
		if _, err := s.CreateMessage(ctx, m); err != nil {
			t.Fatalf("CreateMessage(beta) = %v", err)
		}
		bts = m.TS
	}
	if _, err := s.AddReaction(ctx, bc.ID, bts, carol.ID, "tada"); err != nil {
		t.Fatalf("AddReaction = %v", err)
	}
	if _, err := s.CreateMessage(ctx, &confab.Message{ChannelID: ac.ID, UserID: alice.ID, Text: "alpha", TS: 1000}); err != nil {
		t.Fatalf("CreateMessage(alpha) = %v", err)
	}
	tok := &confab.Token{Hash: []byte("0123456789abcdef0123456789abcdef"), UserID: carol.ID, Created: 3}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatalf("CreateToken = %v", err)
	}

	counts := []struct {
		dsn, query string
		arg        string
		want       int
	}{
		{pDSN, "SELECT count(*) FROM messages WHERE channel_id = $1", bc.ID, 3},
		{dirDSN, "SELECT count(*) FROM messages WHERE channel_id = $1", bc.ID, 0},
		{pDSN, "SELECT count(*) FROM reactions WHERE channel_id = $1", bc.ID, 1},
		{dirDSN, "SELECT count(*) FROM reactions WHERE channel_id = $1", bc.ID, 0},
		{pDSN, "SELECT count(*) FROM memberships WHERE channel_id = $1", bc.ID, 2},
		{dirDSN, "SELECT count(*) FROM channels WHERE workspace_id = $1", beta.ID, 0},
		{dirDSN, "SELECT count(*) FROM messages WHERE channel_id = $1", ac.ID, 1},
		{pDSN, "SELECT count(*) FROM messages WHERE channel_id = $1", ac.ID, 0},
		{pDSN, "SELECT count(*) FROM channels WHERE workspace_id = $1", alpha.ID, 0},
		{pDSN, "SELECT count(*) FROM workspaces WHERE id = $1", alpha.ID, 0},
		{dirDSN, "SELECT count(*) FROM tokens WHERE user_id = $1", carol.ID, 1},
		{pDSN, "SELECT count(*) FROM tokens WHERE user_id = $1", carol.ID, 0},
		// The copy of a user carries no name and no password hash.
		{pDSN, "SELECT count(*) FROM users WHERE id = $1 AND name = id AND password_hash = ''", carol.ID, 1},
		{dirDSN, "SELECT count(*) FROM users WHERE id = $1 AND name = 'carol' AND password_hash = 'secret-hash'", carol.ID, 1},
		{pDSN, "SELECT count(*) FROM workspaces WHERE id = $1 AND domain = id", beta.ID, 1},
		// A workspace's event log is in its pocket's database: carol's
		// team_join (logged with her copy) and the channel's creation.
		{pDSN, "SELECT count(*) FROM workspace_events WHERE workspace_id = $1", beta.ID, 2},
		{pDSN, "SELECT count(*) FROM workspace_events WHERE workspace_id = $1 AND kind = 'team_join'", beta.ID, 1},
		{dirDSN, "SELECT count(*) FROM workspace_events WHERE workspace_id = $1", alpha.ID, 1},
		{pDSN, "SELECT count(*) FROM workspace_events WHERE workspace_id = $1", alpha.ID, 0},
	}
	for _, c := range counts {
		if got := count(t, c.dsn, c.query, c.arg); got != c.want {
			db := "directory"
			if c.dsn == pDSN {
				db = "pocket p"
			}
			t.Errorf("%s: %s [%s] = %d, want %d", db, c.query, c.arg, got, c.want)
		}
	}

	// Users and tokens through the directory.
	if u, err := s.FindUserByName(ctx, beta.ID, "carol"); err != nil || *u != *carol {
		t.Errorf("FindUserByName(carol) = %+v, %v; want %+v", u, err, *carol)
	}
	if got, err := s.FindToken(ctx, tok.Hash); err != nil || got.UserID != carol.ID {
		t.Errorf("FindToken = %+v, %v; want carol's", got, err)
	}
	if ws, err := s.FindWorkspaceByDomain(ctx, "p-beta"); err != nil || *ws != *beta {
		t.Errorf("FindWorkspaceByDomain(p-beta) = %+v, %v; want %+v", ws, err, *beta)
	}

	// Another process's store, with empty caches, finds everything.
	other := mustStore(t, pocket.StoreConfig{
		Directory: mustOpen(t, dirDSN), Pockets: map[string]pocket.DB{"p": mustOpen(t, pDSN)}, PocketOf: byDomain,
	})
	if ms, err := other.FindMessages(ctx, confab.MessageFilter{ChannelID: bc.ID}); err != nil || len(ms) != 3 || len(ms[2].Reactions) != 1 {
		t.Errorf("other process: FindMessages(beta) = %d messages, %v; want 3, the last with a reaction", len(ms), err)
	}
	// and beta's general channel, which is in pocket p's database too
	cs, err := other.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: beta.ID})
	if err != nil || len(cs) != 2 || !slices.ContainsFunc(cs, func(c *confab.Channel) bool { return c.ID == bc.ID }) ||
		!slices.ContainsFunc(cs, func(c *confab.Channel) bool { return c.IsGeneral }) {
		t.Errorf("other process: FindChannels(beta) = %+v, %v; want the beta channel and #general", cs, err)
	}
	if ms, err := other.FindMemberships(ctx, carol.ID); err != nil || len(ms) != 2 ||
		!slices.ContainsFunc(ms, func(m *confab.Membership) bool { return m.ChannelID == bc.ID }) {
		t.Errorf("other process: FindMemberships(carol) = %+v, %v; want the beta channel and #general", ms, err)
	}
	if got := count(t, dirDSN, "SELECT count(*) FROM channels WHERE workspace_id = $1", beta.ID); got != 0 {
		t.Errorf("the directory holds %d channels of beta, want none (its #general is in its pocket's database)", got)
	}
	if evs, err := other.FindWorkspaceEvents(ctx, beta.ID, 0, 0); err != nil || len(evs) != 2 ||
		evs[0].Kind != confab.EventTeamJoin || evs[0].UserID != carol.ID || evs[1].Kind != confab.EventChannelCreated || evs[1].ChannelID != bc.ID {
		t.Errorf("other process: FindWorkspaceEvents(beta) = %+v, %v; want carol's team_join, then general's creation", evs, err)
	}
	if _, err := other.CreateMessage(ctx, &confab.Message{ChannelID: bc.ID, UserID: carol.ID, Text: "from elsewhere", TS: 2000}); err != nil {
		t.Errorf("other process: CreateMessage(beta) = %v", err)
	}
	if got := count(t, pDSN, "SELECT count(*) FROM messages WHERE channel_id = $1", bc.ID); got != 4 {
		t.Errorf("pocket p holds %d beta messages, want 4", got)
	}
	_, err = other.FindChannelByID(ctx, confab.NewID(confab.PrefixChannel))
	if confab.ErrorMessage(err) != "channel_not_found" {
		t.Errorf("FindChannelByID(unknown) = %v, want channel_not_found", err)
	}
}

// A create that fails in the directory after its copy was written leaves
// the copy behind; the copy never holds the name, so the next attempt works.
func testCopiesNeverBlockNames(t *testing.T, pg *pgtest.Server) {
	ctx := t.Context()
	dir := &flakyDirectory{DB: mustOpen(t, pg.NewDatabase(t))}
	pDSN := pg.NewDatabase(t)
	s := mustStore(t, pocket.StoreConfig{Directory: dir, Pockets: map[string]pocket.DB{"p": mustOpen(t, pDSN)}, PocketOf: byDomain})

	dir.fail.Store(true)
	ws := &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Name: "gamma", Domain: "p-gamma", Created: 1}
	if err := s.CreateWorkspace(ctx, ws, &confab.User{Name: "owner", Created: 1}); !errors.Is(err, errDirectoryDown) {
		t.Fatalf("CreateWorkspace(directory down) = %v, want %v", err, errDirectoryDown)
	}
	if got := count(t, pDSN, "SELECT count(*) FROM workspaces WHERE id = $1", ws.ID); got != 1 {
		t.Fatalf("the failed create left %d copies, want 1 (this test shows it is harmless)", got)
	}
	if _, err := s.FindWorkspaceByDomain(ctx, "p-gamma"); confab.ErrorMessage(err) != "team_not_found" {
		t.Errorf("FindWorkspaceByDomain(failed) = %v, want team_not_found", err)
	}
	dir.fail.Store(false)
	gamma, owner := mustWorkspace(t, s, "p-gamma", "owner")
	// The same for a user name.
	dir.fail.Store(true)
	if err := s.CreateUser(ctx, &confab.User{WorkspaceID: gamma.ID, Name: "dave", Created: 2}); !errors.Is(err, errDirectoryDown) {
		t.Fatalf("CreateUser(directory down) = %v, want %v", err, errDirectoryDown)
	}
	// The copy's transaction logged its team_join: the one case (with a
	// race for the name) where the log names a user the directory lacks
	// (pocket/wslog.go).
	if evs, err := s.FindWorkspaceEvents(ctx, gamma.ID, 0, 0); err != nil || len(evs) != 1 || evs[0].Kind != confab.EventTeamJoin {
		t.Errorf("events after a failed CreateUser = %+v, %v; want the copy's team_join", evs, err)
	} else if _, err := s.FindUserByID(ctx, evs[0].UserID); confab.ErrorMessage(err) != "user_not_found" {
		t.Errorf("FindUserByID(failed user) = %v, want user_not_found", err)
	}
	dir.fail.Store(false)
	dave := &confab.User{WorkspaceID: gamma.ID, Name: "dave", Created: 3}
	if err := s.CreateUser(ctx, dave); err != nil {
		t.Fatalf("CreateUser(dave) again = %v", err)
	}
	// A name taken in the directory stays taken.
	if err := s.CreateUser(ctx, &confab.User{WorkspaceID: gamma.ID, Name: "dave", Created: 4}); confab.ErrorMessage(err) != "name_taken" {
		t.Errorf("CreateUser(dave) a third time = %v, want name_taken", err)
	}
	// and, refused before any copy is written, logs nothing.
	if evs, err := s.FindWorkspaceEvents(ctx, gamma.ID, 1, 0); err != nil || len(evs) != 1 || evs[0].UserID != dave.ID {
		t.Errorf("events after dave = %+v, %v; want dave's team_join only", evs, err)
	}
	mustChannel(t, s, gamma.ID, "plaza", owner.ID, dave.ID)
}

// A gateway opens only its own pocket's database: calls about a workspace
// of another pocket with its own database fail and write nothing.
func testPocketNotOpenHere(t *testing.T, pg *pgtest.Server) {
	ctx := t.Context()
	dirDSN := pg.NewDatabase(t)
	s := mustStore(t, pocket.StoreConfig{Directory: mustOpen(t, dirDSN), Pockets: map[string]pocket.DB{"p": nil}, PocketOf: byDomain})
	err := s.CreateWorkspace(ctx, &confab.Workspace{Name: "x", Domain: "p-x", Created: 1}, &confab.User{Name: "o", Created: 1})
	if err == nil || !strings.Contains(err.Error(), "not open") {
		t.Errorf("CreateWorkspace(in a pocket not open here) = %v, want an error", err)
	}
	if got := count(t, dirDSN, "SELECT count(*) FROM workspaces", ""); got != 0 {
		t.Errorf("the directory holds %d workspaces, want 0", got)
	}
	mustWorkspace(t, s, "alpha", "alice")
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
}

var errDirectoryDown = errors.New("directory down")

// flakyDirectory fails CreateWorkspace and CreateUser while fail is set.
type flakyDirectory struct {
	*postgres.DB
	fail atomic.Bool
}

func (d *flakyDirectory) CreateWorkspace(ctx context.Context, ws *confab.Workspace, owner *confab.User) error {
	if d.fail.Load() {
		return errDirectoryDown
	}
	return d.DB.CreateWorkspace(ctx, ws, owner)
}

func (d *flakyDirectory) CreateWorkspaceRecord(ctx context.Context, ws *confab.Workspace, owner *confab.User) error {
	if d.fail.Load() {
		return errDirectoryDown
	}
	return d.DB.CreateWorkspaceRecord(ctx, ws, owner)
}

func (d *flakyDirectory) CreateUser(ctx context.Context, u *confab.User) error {
	if d.fail.Load() {
		return errDirectoryDown
	}
	return d.DB.CreateUser(ctx, u)
}

// mustOpen opens a store on dsn; the pocket.Store built over it closes it.
func mustOpen(tb testing.TB, dsn string) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(tb.Context(), postgres.Config{DSN: dsn, MaxConns: 8})
	if err != nil {
		tb.Fatalf("postgres.Open = %v", err)
	}
	return db
}

// mustStore builds a Store and closes it (and so its databases) in Cleanup.
func mustStore(tb testing.TB, cfg pocket.StoreConfig) *pocket.Store {
	tb.Helper()
	s, err := pocket.NewStore(cfg)
	if err != nil {
		tb.Fatalf("NewStore = %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close = %v", err)
		}
	})
	return s
}

func mustWorkspace(tb testing.TB, s *pocket.Store, domain, owner string) (*confab.Workspace, *confab.User) {
	tb.Helper()
	ws := &confab.Workspace{Name: domain, Domain: domain, Created: 1}
	u := &confab.User{Name: owner, Created: 1}
	if err := s.CreateWorkspace(tb.Context(), ws, u); err != nil {
		tb.Fatalf("CreateWorkspace(%s) = %v", domain, err)
	}
	return ws, u
}

func mustChannel(tb testing.TB, s *pocket.Store, workspaceID, name string, members ...string) *confab.Channel {
	tb.Helper()
	c := &confab.Channel{ID: confab.NewID(confab.PrefixChannel), WorkspaceID: workspaceID, Kind: confab.KindPublic,
		Name: name, Created: 1}
	if err := s.CreateChannel(tb.Context(), c, members); err != nil {
		tb.Fatalf("CreateChannel(%s) = %v", name, err)
	}
	return c
}

// count runs a count query on a database directly; arg "" runs it without
// an argument.
func count(tb testing.TB, dsn, query, arg string) int {
	tb.Helper()
	conn, err := pgx.Connect(tb.Context(), dsn)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var args []any
	if arg != "" {
		args = append(args, arg)
	}
	var n int
	if err := conn.QueryRow(tb.Context(), query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// A pocket may name its own PostgreSQL; it is optional.
func TestParsePocketPostgres(t *testing.T) {
	m, err := pocket.Parse([]byte("[[pocket]]\nname='a'\nredis='x:1'\ndefault=true\n" +
		"[[pocket]]\nname='b'\nredis='x:2'\npostgres='postgres://db-b/confab'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Named("a").Postgres; got != "" {
		t.Errorf("pocket a: Postgres = %q, want none", got)
	}
	if got := m.Named("b").Postgres; got != "postgres://db-b/confab" {
		t.Errorf("pocket b: Postgres = %q", got)
	}
}
