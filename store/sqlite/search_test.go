package sqlite

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab"
)

// TestSearchBackfill: a database whose messages were written before the
// search index (migration 0014) becomes searchable after Open, without a
// restart, while the store serves writes; the backfill resumes after a
// Close, and a message created, edited or deleted while it runs ends up
// indexed right, exactly once.
func TestSearchBackfill(t *testing.T) {
	ctx := t.Context()
	defer func(b int, p time.Duration) { backfillBatch, backfillPause = b, p }(backfillBatch, backfillPause)
	backfillBatch, backfillPause = 40, 2*time.Millisecond

	path := filepath.Join(t.TempDir(), "confab.db")
	db := mustOpen(t, Config{Path: path, Sync: "normal"})
	ws := &confab.Workspace{ID: "T1", Domain: "acme", Created: 1}
	owner := &confab.User{ID: "U1", Name: "owner", Created: 1}
	if err := db.CreateWorkspace(ctx, ws, owner); err != nil {
		t.Fatal(err)
	}
	var chans []string
	for _, id := range []string{"C1", "C2", "C3"} {
		c := &confab.Channel{ID: id, WorkspaceID: "T1", Kind: confab.KindPublic, Name: id, Created: 1}
		if err := db.CreateChannel(ctx, c, []string{"U1"}); err != nil {
			t.Fatal(err)
		}
		chans = append(chans, id)
	}
	const n = 1500
	old := make([]*confab.Message, n)
	for i := range old {
		text := fmt.Sprintf("alpha m%d", i)
		if i%10 == 0 {
			text += " bravo"
		}
		old[i] = &confab.Message{ChannelID: chans[i%3], UserID: "U1", Text: text}
		if _, err := db.CreateMessage(ctx, old[i]); err != nil {
			t.Fatal(err)
		}
	}
	// Back to the schema before 0014, messages kept.
	for _, q := range []string{
		`DROP TABLE search_words`, `DROP TABLE search_trigrams`, `DROP TABLE search_rows`,
		`DROP TABLE search_channels`, `DROP TABLE search_mentions`, `DROP TABLE search_backfill`,
		`DROP INDEX channels_public`, `PRAGMA user_version = 13`,
	} {
		if _, err := db.wconn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	search := func(db *DB, word string) *confab.SearchResult {
		t.Helper()
		res, err := db.SearchMessages(ctx, confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1",
			Terms: []confab.SearchTerm{{Words: []string{word}}}, Limit: 100})
		if err != nil {
			t.Fatalf("SearchMessages(%s) = %v", word, err)
		}
		return res
	}

	// The first Open starts the backfill; closed after a few batches, the
	// next one resumes from the saved position.
	db = mustOpen(t, Config{Path: path, Sync: "normal"})
	for deadline := time.Now().Add(10 * time.Second); ; {
		var seq int64
		if err := db.rdb.QueryRowContext(ctx, `SELECT seq FROM search_backfill`).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		if seq > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the backfill did not move in 10s")
		}
		time.Sleep(time.Millisecond)
	}
	db.Close()
	var pos string
	db = mustOpen(t, Config{Path: path, Sync: "normal"})
	if err := db.rdb.QueryRowContext(ctx, `SELECT channel_id || '/' || seq FROM search_backfill`).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	if pos == "/0" {
		t.Fatal("the backfill's position was not saved")
	}

	// Writes while the backfill runs: new messages, edits and deletes of
	// old ones, of every channel (some indexed already, some not yet).
	var (
		wg       sync.WaitGroup
		during   = true
		created  []*confab.Message
		edited   = map[int]bool{}
		deleted  = map[int]bool{}
		writeErr error
	)
	wg.Go(func() {
		for i := range 150 {
			select {
			case <-db.backfilled:
				if i == 0 {
					during = false
				}
			default:
			}
			m := &confab.Message{ChannelID: chans[i%3], UserID: "U1", Text: fmt.Sprintf("alpha new%d", i)}
			if _, err := db.CreateMessage(ctx, m); err != nil {
				writeErr = err
				return
			}
			created = append(created, m)
			k := (i * 97) % n
			if i%2 == 0 {
				text := fmt.Sprintf("charlie edited%d", k)
				if _, err := db.UpdateMessage(ctx, old[k].ChannelID, old[k].TS, confab.MessageUpdate{Text: &text}, 1); err != nil {
					writeErr = err
					return
				}
				edited[k] = true
			} else if !edited[k] {
				if _, err := db.DeleteMessage(ctx, old[k].ChannelID, old[k].TS); err != nil {
					writeErr = err
					return
				}
				deleted[k] = true
			}
		}
	})
	// Searches while the backfill runs answer (with what is indexed so far).
	search(db, "alpha")
	wg.Wait()
	if writeErr != nil {
		t.Fatal(writeErr)
	}
	if !during {
		t.Fatal("the backfill was over before the first write: the test needs more messages")
	}
	select {
	case <-db.backfilled:
	case <-time.After(30 * time.Second):
		t.Fatal("the backfill did not finish in 30s")
	}

	wantAlpha, wantBravo := len(created), 0
	for i := range old {
		if edited[i] || deleted[i] {
			continue
		}
		wantAlpha++
		if i%10 == 0 {
			wantBravo++
		}
	}
	if res := search(db, "alpha"); res.Total != wantAlpha {
		t.Errorf("alpha: total %d, want %d", res.Total, wantAlpha)
	}
	if res := search(db, "bravo"); res.Total != wantBravo {
		t.Errorf("bravo: total %d, want %d", res.Total, wantBravo)
	}
	if res := search(db, "charlie"); res.Total != len(edited) {
		t.Errorf("charlie (edited): total %d, want %d", res.Total, len(edited))
	}
	for k := range deleted {
		if res := search(db, fmt.Sprintf("m%d", k)); res.Total != 0 {
			t.Errorf("deleted m%d: total %d", k, res.Total)
		}
	}
	for k := range edited {
		if res := search(db, fmt.Sprintf("m%d", k)); res.Total != 0 {
			t.Errorf("edited m%d found by its old text", k)
		}
		if res := search(db, fmt.Sprintf("edited%d", k)); res.Total != 1 {
			t.Errorf("edited%d: total %d, want 1", k, res.Total)
		}
	}
	// Each live message indexed exactly once.
	var rows, words int
	if err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM search_rows`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM search_words`).Scan(&words); err != nil {
		t.Fatal(err)
	}
	if live := n + len(created) - len(deleted); rows != live || words != live {
		t.Errorf("index rows %d, words %d; want %d live messages", rows, words, live)
	}
	var done bool
	if err := db.rdb.QueryRowContext(ctx, `SELECT done FROM search_backfill`).Scan(&done); err != nil || !done {
		t.Errorf("search_backfill done = %v, %v", done, err)
	}
}
