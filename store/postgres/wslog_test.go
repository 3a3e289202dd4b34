package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
	"github.com/confab/confab/internal/pgtest"
)

// TestAppendEventCommitOrder: a transaction that appends to a workspace's
// log waits for an open one that appended before it, then takes the next
// seq; a rolled back one gives its seq back. So no seq is ever visible
// before a lower one, and none is skipped.
func TestAppendEventCommitOrder(t *testing.T) {
	db, err := Open(t.Context(), Config{DSN: pgtest.Shared(t).NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	ws := &confab.Workspace{ID: "T1", Domain: "acme", Created: 1}
	if err := db.CreateWorkspace(ctx, ws, &confab.User{ID: "U1", Name: "owner", Created: 1}); err != nil {
		t.Fatal(err)
	}
	ev := func(user string) confab.WorkspaceEvent {
		return confab.WorkspaceEvent{WorkspaceID: "T1", Kind: confab.EventUserChange, UserID: user}
	}

	// first appends and stays open; second must wait for it.
	first, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(ctx)
	if err := appendEvent(ctx, first, ev("first")); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		second <- db.tx(ctx, func(tx pgx.Tx) error { return appendEvent(ctx, tx, ev("second")) })
	}()
	select {
	case err := <-second:
		t.Fatalf("second append committed (%v) while the first was open", err)
	case <-time.After(300 * time.Millisecond):
	}
	if evs, _ := db.FindWorkspaceEvents(ctx, "T1", 0, 0); len(evs) != 0 {
		t.Fatalf("events visible while both are open: %+v", evs)
	}
	// The first rolls back: the second takes seq 1.
	if err := first.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}

	// Again, committing: the waiter takes the next seq after the holder's.
	third, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Rollback(ctx)
	if err := appendEvent(ctx, third, ev("third")); err != nil {
		t.Fatal(err)
	}
	fourth := make(chan error, 1)
	go func() {
		fourth <- db.tx(ctx, func(tx pgx.Tx) error { return appendEvent(ctx, tx, ev("fourth")) })
	}()
	time.Sleep(100 * time.Millisecond)
	if err := third.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-fourth; err != nil {
		t.Fatal(err)
	}
	evs, err := db.FindWorkspaceEvents(ctx, "T1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Errorf("event %d has seq %d", i, e.Seq)
		}
		got = append(got, e.UserID)
	}
	if len(got) != 3 || got[0] != "second" || got[1] != "third" || got[2] != "fourth" {
		t.Errorf("log = %v, want second, third, fourth at seqs 1, 2, 3", got)
	}

	// An unknown workspace has no counter: team_not_found, nothing logged.
	err = db.tx(ctx, func(tx pgx.Tx) error {
		return appendEvent(ctx, tx, confab.WorkspaceEvent{WorkspaceID: "T2", Kind: confab.EventUserChange})
	})
	if !errors.Is(err, confab.ErrTeamNotFound) {
		t.Errorf("appendEvent(unknown workspace) = %v, want team_not_found", err)
	}
}
