package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
	"github.com/confab/confab/internal/pgtest"
)

func mustOpen(t testing.TB, cfg Config) *DB {
	t.Helper()
	if cfg.DSN == "" {
		cfg.DSN = pgtest.Shared(t).NewDatabase(t)
	}
	db, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// mustChannel creates a workspace, its owner and a public channel.
func mustChannel(t *testing.T, db *DB) (*confab.User, *confab.Channel) {
	t.Helper()
	ws := &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Domain: "acme", Created: 1}
	owner := &confab.User{ID: confab.NewID(confab.PrefixUser), Name: "owner", Created: 1}
	if err := db.CreateWorkspace(t.Context(), ws, owner); err != nil {
		t.Fatal(err)
	}
	c := &confab.Channel{ID: confab.NewID(confab.PrefixChannel), WorkspaceID: ws.ID, Kind: confab.KindPublic, Name: "plaza", Created: 1}
	if err := db.CreateChannel(t.Context(), c, []string{owner.ID}); err != nil {
		t.Fatal(err)
	}
	return owner, c
}

// TestProcesses: several stores on one database, as several API processes
// are, migrate it once when they start together, then post to one channel
// at once with neither duplicate nor skipped seqs.
func TestProcesses(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	const procs = 4
	dbs := make([]*DB, procs)
	errs := make(chan error, procs)
	var wg sync.WaitGroup
	for i := range dbs {
		wg.Go(func() {
			db, err := Open(t.Context(), Config{DSN: dsn, MaxConns: 8})
			if err == nil {
				dbs[i] = db
				t.Cleanup(func() { db.Close() })
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open = %v", err)
		}
	}
	var versions []int
	rows, err := dbs[0].pool.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}; err != nil || !slices.Equal(versions, want) {
		t.Fatalf("schema_migrations = %v, %v; want %v", versions, err, want)
	}

	owner, c := mustChannel(t, dbs[0])
	const posters, each = 50, 6
	postErrs := make(chan error, posters*each)
	for p := range posters {
		wg.Go(func() {
			db := dbs[p%procs]
			for i := range each {
				m := &confab.Message{ChannelID: c.ID, UserID: owner.ID, Text: fmt.Sprintf("p%d-%d", p, i), TS: 1_700_000_000_000_000}
				if _, err := db.CreateMessage(t.Context(), m); err != nil {
					postErrs <- err
				}
			}
		})
	}
	wg.Wait()
	close(postErrs)
	for err := range postErrs {
		t.Fatalf("CreateMessage = %v", err)
	}
	const n = posters * each
	ms, err := dbs[1].FindMessages(t.Context(), confab.MessageFilter{ChannelID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if want := int64(i + 1); m.Seq != want || m.Num != want || m.ChangeSeq != want {
			t.Fatalf("message %d: seq %d num %d change %d, want %d each", i, m.Seq, m.Num, m.ChangeSeq, want)
		}
		if i > 0 && m.TS <= ms[i-1].TS {
			t.Fatalf("ts not increasing at seq %d", m.Seq)
		}
	}
	if len(ms) != n {
		t.Fatalf("%d messages after %d posts", len(ms), n)
	}
	if ch, err := dbs[2].FindChannelByID(t.Context(), c.ID); err != nil || ch.LastSeq != n || ch.MessageCount != n {
		t.Fatalf("channel = %+v, %v; want LastSeq = MessageCount = %d", ch, err, n)
	}
}

// lockChannel holds the channel's row lock, as a slow writer would, until
// the returned function is called.
func lockChannel(t *testing.T, db *DB, channelID string) (release func()) {
	t.Helper()
	tx, err := db.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), `UPDATE channels SET last_seq = last_seq WHERE id = $1`, channelID); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { tx.Rollback(context.Background()) }) }
	t.Cleanup(release)
	return release
}

// TestDeadline: a write stuck behind the channel lock gives up at its
// context's deadline, writes nothing, and the store goes on working.
func TestDeadline(t *testing.T) {
	db := mustOpen(t, Config{})
	owner, c := mustChannel(t, db)
	release := lockChannel(t, db, c.ID)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := db.CreateMessage(ctx, &confab.Message{ChannelID: c.ID, UserID: owner.ID, Text: "late", TS: 1})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("CreateMessage past its deadline = %v, want an error wrapping context.DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CreateMessage did not return at its deadline")
	}
	release()
	m := &confab.Message{ChannelID: c.ID, UserID: owner.ID, Text: "next", TS: 1}
	if created, err := db.CreateMessage(t.Context(), m); err != nil || !created || m.Seq != 1 {
		t.Errorf("CreateMessage after the timeout = %v, %v, seq %d; want true, nil, 1", created, err, m.Seq)
	}
}

// TestStatementTimeout: Config.StatementTimeout bounds a statement on the
// server even when the caller's context has no deadline.
func TestStatementTimeout(t *testing.T) {
	db := mustOpen(t, Config{StatementTimeout: 200 * time.Millisecond})
	owner, c := mustChannel(t, db)
	lockChannel(t, db, c.ID)
	done := make(chan error, 1)
	go func() {
		_, err := db.CreateMessage(context.Background(), &confab.Message{ChannelID: c.ID, UserID: owner.ID, Text: "late", TS: 1})
		done <- err
	}()
	select {
	case err := <-done:
		if pe := pgError(err); pe == nil || pe.Code != "57014" { // query_canceled
			t.Errorf("CreateMessage past statement_timeout = %v, want SQLSTATE 57014", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CreateMessage did not return at statement_timeout")
	}
}

// TestFailedChangeTakesNoSeq: a change that fails after taking the seq
// rolls it back, so the next change takes it.
func TestFailedChangeTakesNoSeq(t *testing.T) {
	db := mustOpen(t, Config{})
	owner, c := mustChannel(t, db)
	m := &confab.Message{ChannelID: c.ID, UserID: owner.ID, Text: "hi", TS: 1, ClientMsgID: "x"}
	if _, err := db.CreateMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddReaction(t.Context(), c.ID, m.TS, owner.ID, "eyes"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fn   func() error
		code string
	}{
		{"AddReaction(again)", func() error { _, err := db.AddReaction(t.Context(), c.ID, m.TS, owner.ID, "eyes"); return err }, confab.ECONFLICT},
		{"RemoveReaction(never added)", func() error { _, err := db.RemoveReaction(t.Context(), c.ID, m.TS, owner.ID, "tada"); return err }, confab.ENOTFOUND},
		{"DeleteMessage(unknown)", func() error { _, err := db.DeleteMessage(t.Context(), c.ID, 999); return err }, confab.ENOTFOUND},
		{"CreateMessage(retry)", func() error {
			_, err := db.CreateMessage(t.Context(), &confab.Message{ChannelID: c.ID, UserID: owner.ID, Text: "again", TS: 5, ClientMsgID: "x"})
			return err
		}, ""},
	} {
		if err := tc.fn(); confab.ErrorCode(err) != tc.code {
			t.Errorf("%s = %v, want code %q", tc.name, err, tc.code)
		}
	}
	next := &confab.Message{ChannelID: c.ID, UserID: owner.ID, Text: "next", TS: 2}
	if _, err := db.CreateMessage(t.Context(), next); err != nil || next.Seq != 3 {
		t.Errorf("CreateMessage after failed changes: seq %d, %v; want 3", next.Seq, err)
	}
}

func TestReopen(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	db := mustOpen(t, Config{DSN: dsn})
	owner, c := mustChannel(t, db)
	if _, err := db.CreateMessage(t.Context(), &confab.Message{ChannelID: c.ID, UserID: owner.ID, Text: "kept", TS: 1}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := db.FindChannelByID(t.Context(), c.ID); err == nil {
		t.Error("read after Close succeeded")
	}
	if err := db.Ping(t.Context()); err == nil {
		t.Error("Ping after Close succeeded")
	}
	db = mustOpen(t, Config{DSN: dsn, MaxConns: 2})
	if err := db.Ping(t.Context()); err != nil {
		t.Errorf("Ping = %v", err)
	}
	if got, err := db.FindMessage(t.Context(), c.ID, 1); err != nil || got.Text != "kept" {
		t.Errorf("after reopen FindMessage = %+v, %v", got, err)
	}
	if n := db.pool.Config().MaxConns; n != 2 {
		t.Errorf("pool MaxConns = %d, want 2", n)
	}
}

func TestOpenConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{DSN: "postgres://user:s3cret@127.0.0.1:notaport/db"},
	} {
		db, err := Open(t.Context(), cfg)
		if err == nil {
			db.Close()
			t.Errorf("Open(%+v) succeeded, want an error", cfg)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
	// Nothing listens there: Open fails within its context.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if db, err := Open(ctx, Config{DSN: "postgres://postgres@127.0.0.1:1/db?connect_timeout=2"}); err == nil {
		db.Close()
		t.Error("Open on a closed port succeeded")
	}
}

// TestMigrationsTooNew: a database migrated by a newer binary is refused.
func TestMigrationsTooNew(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	db := mustOpen(t, Config{DSN: dsn})
	if _, err := db.pool.Exec(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES (99, '0099_future.sql')`); err != nil {
		t.Fatal(err)
	}
	if db2, err := Open(t.Context(), Config{DSN: dsn}); err == nil {
		db2.Close()
		t.Error("Open on a newer schema succeeded")
	}
}
