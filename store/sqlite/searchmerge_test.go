package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/confab/confab"
)

// TestSearchMerge: the store merges search_words into one segment when
// it opens, in several short steps, and again once posts have grown the
// index by the share set; searches find what they found before.
func TestSearchMerge(t *testing.T) {
	ctx := t.Context()
	p, c, g, m := mergePages, mergeCheck, mergeGrowth, mergeMinRows
	t.Cleanup(func() { mergePages, mergeCheck, mergeGrowth, mergeMinRows = p, c, g, m })
	// No merge while the first messages go in: each is a commit, and
	// each commit a segment.
	mergePages, mergeCheck, mergeMinRows = 2, 10*time.Millisecond, 1<<40

	path := filepath.Join(t.TempDir(), "confab.db")
	db := mustOpen(t, Config{Path: path, Sync: "normal"})
	ownerChannels(t, db, "C1", "C2")
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}
	post := func(i int) {
		text := fmt.Sprintf("%s %s %s word%d %s", words[i%8], words[(i/8)%8], words[(i/3)%8], i%500, words[(i*7)%8])
		if _, err := db.CreateMessage(ctx, &confab.Message{ChannelID: []string{"C1", "C2"}[i%2], UserID: "U1", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 1200
	for i := range n {
		post(i)
	}
	segments := func(db *DB) int {
		t.Helper()
		segs, err := searchSegments(ctx, db.rdb)
		if err != nil {
			t.Fatal(err)
		}
		return segs
	}
	if segs := segments(db); segs < 4 {
		t.Fatalf("%d messages in as many commits made %d segments; want several", n, segs)
	}
	filters := []confab.SearchFilter{
		{Terms: []confab.SearchTerm{{Words: []string{"alpha"}}}},
		{Terms: []confab.SearchTerm{{Words: []string{"word17"}}}},
		{Terms: []confab.SearchTerm{{Words: []string{"bravo", "charlie"}}}}, // a phrase
		{Terms: []confab.SearchTerm{{Words: []string{"golf"}}}, ChannelIDs: []string{"C2"}},
		{Terms: []confab.SearchTerm{{Words: []string{"hot"}, Prefix: true}}, Sort: confab.SortTimestamp},
		{Terms: []confab.SearchTerm{{Words: []string{"echo"}}}, Excluded: []confab.SearchTerm{{Words: []string{"delta"}}}, Offset: 40},
	}
	found := func(db *DB) []string {
		t.Helper()
		var out []string
		for _, f := range filters {
			f.WorkspaceID, f.ReaderID, f.Limit = "T1", "U1", 20
			total, texts := foundTexts(t, db, f)
			if total == 0 {
				t.Fatalf("%+v found nothing: the test's searches must find something", f.Terms)
			}
			out = append(out, fmt.Sprintf("%d: %s", total, texts))
		}
		return out
	}
	before := found(db)
	db.Close()

	// Opened, the store merges the index into one segment, a few pages
	// a step.
	db = mustOpen(t, Config{Path: path, Sync: "normal"})
	commits := db.commits.Load()
	waitSegments(t, db, 1)
	if steps := db.commits.Load() - commits; steps < 3 {
		t.Errorf("the merge took %d commits; want several short steps", steps)
	}
	if after := found(db); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("searches after the merge:\n%q\nwant as before:\n%q", after, before)
	}
	// Merged, a step finds nothing to do, whether it begins a merge or
	// carries one on.
	for _, begin := range []bool{true, false} {
		var worked bool
		if err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
			var err error
			worked, err = mergeStep(ctx, tx, 100, begin)
			return err
		}); err != nil || worked {
			t.Errorf("a merge step (begin %v) on one segment = %v, %v; want nothing done", begin, worked, err)
		}
	}
	db.Close()

	// Posts add segments; once they reach the share set, the merger
	// merges again.
	mergeMinRows = 300
	db = mustOpen(t, Config{Path: path, Sync: "normal"})
	for i := n; i < n+100; i++ {
		post(i)
	}
	time.Sleep(5 * mergeCheck)
	if segs := segments(db); segs < 2 {
		t.Fatalf("100 posts after the merge: %d segment; want more (not yet merged again)", segs)
	}
	for i := n + 100; i < n+300; i++ {
		post(i)
	}
	waitSegments(t, db, 1)
	// The same as FTS5's own merge of everything at once finds.
	want := found(db)
	if err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO search_words (search_words) VALUES ('optimize')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := found(db); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("searches:\n%q\nwant:\n%q", got, want)
	}
}

// waitSegments waits for search_words to be in want segments.
func waitSegments(t *testing.T, db *DB, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		segs, err := searchSegments(t.Context(), db.rdb)
		if err != nil {
			t.Fatal(err)
		}
		if segs == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("search_words is in %d segments after 30s; want %d", segs, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
