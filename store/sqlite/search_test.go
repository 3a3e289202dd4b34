package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab"
)

// TestSearchBackfill: a database whose messages were written before the
// search index (migration 0015) becomes searchable after Open, without a
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
	// Back to the schema before 0015, messages kept.
	execAll(t, db,
		`DROP TABLE search_words`, `DROP TABLE search_vocab`, `DROP TABLE search_rows`,
		`DROP TABLE search_channels`, `DROP TABLE search_mentions`, `DROP TABLE search_backfill`,
		`DROP INDEX channels_public`, `ALTER TABLE channels DROP COLUMN search_num`, `DROP INDEX channels_general`, `ALTER TABLE channels DROP COLUMN is_general`,
		`DROP TABLE user_terms`,            // 0020
		`DROP TABLE claims`,                // 0022
		`ALTER TABLE users DROP COLUMN tz`, // 0023
		`DROP TABLE search_pending`,        // 0024
		`PRAGMA user_version = 14`,
	)
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

// TestSearchUpgrade0016: an index built before migration 0016, where a
// channel's search number was only in search_channels, keeps its numbers
// (through 0017's rebuild too):
// a message posted after the upgrade gets its channel's number (no
// second one), and in: finds the channel's messages from before and after.
func TestSearchUpgrade0016(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "confab.db")
	db := mustOpen(t, Config{Path: path, Sync: "normal"})
	ownerChannels(t, db, "C1", "C2")
	// C2 gets number 1, C1 number 2: not their creation order.
	for _, c := range []string{"C2", "C1", "C2"} {
		if _, err := db.CreateMessage(ctx, &confab.Message{ChannelID: c, UserID: "U1", Text: "before upgrade"}); err != nil {
			t.Fatal(err)
		}
	}
	// Back to 0015's schema, the index kept.
	execAll(t, db, undo0019...)
	execAll(t, db,
		`ALTER TABLE channels DROP COLUMN search_num`,
		`CREATE INDEX search_rows_chan ON search_rows (chan, id)`,
		`CREATE INDEX search_rows_user ON search_rows (user_id, id)`,
		`DROP INDEX channels_general`,
		`ALTER TABLE channels DROP COLUMN is_general`,
		`DROP TABLE user_terms`,            // 0020
		`DROP TABLE claims`,                // 0022
		`ALTER TABLE users DROP COLUMN tz`, // 0023
		`DROP TABLE search_pending`,        // 0024
		`PRAGMA user_version = 15`,
	)
	db.Close()

	db = mustOpen(t, Config{Path: path, Sync: "normal"})
	select { // 0017 rebuilds the index
	case <-db.backfilled:
	case <-time.After(10 * time.Second):
		t.Fatal("the backfill did not finish in 10s")
	}
	var stale int
	if err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM channels AS c JOIN search_channels AS sc ON sc.id = c.id
		WHERE c.search_num != sc.num`).Scan(&stale); err != nil || stale != 0 {
		t.Fatalf("channels whose search_num is not their number: %d, %v", stale, err)
	}
	if _, err := db.CreateMessage(ctx, &confab.Message{ChannelID: "C1", UserID: "U1", Text: "after upgrade"}); err != nil {
		t.Fatal(err)
	}
	var nums int
	if err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM search_channels`).Scan(&nums); err != nil || nums != 2 {
		t.Fatalf("search_channels rows = %d, %v; want 2", nums, err)
	}
	total, got := foundTexts(t, db, confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1", ChannelIDs: []string{"C1"},
		Terms: []confab.SearchTerm{{Words: []string{"upgrade"}}}, Limit: 10})
	if total != 2 || got != "after upgrade, before upgrade" {
		t.Errorf("in:C1 upgrade = %d: %s; want 2: after upgrade, before upgrade", total, got)
	}
}

// TestSearchPlans: each shape of search reads through the intended index
// (see SearchMessages), in id order without a sort: the reader's channels
// through channels_public and memberships_user; with words, or in: and
// from: alone, and substrings (the words that hold them), the FTS5 scan
// of search_words outermost; dates alone a range of search_rows' key; and every match's
// row in search_rows by its key.
func TestSearchPlans(t *testing.T) {
	db := mustOpen(t, Config{})
	plan := func(query string, args ...any) string {
		return strings.Join(queryPlan(t, db, query, args...), "\n")
	}
	readable := plan(readableQuery, "T1", "U1")
	for _, want := range []string{"channels_public", "memberships_user"} {
		if !strings.Contains(readable, want) {
			t.Errorf("readableQuery plan lacks %s:\n%s", want, readable)
		}
	}
	if p := plan(dmNumsQuery, "U1", "T1"); !strings.Contains(p, "memberships_user") {
		t.Errorf("dmNumsQuery plan:\n%s", p)
	}
	if p := plan(inNumsQuery, `["C1"]`); !strings.Contains(p, "SEARCH search_channels USING COVERING INDEX sqlite_autoindex_search_channels_1 (id=?)") {
		t.Errorf("inNumsQuery plan:\n%s", p)
	}
	if p := plan(hitQuery, 1, 1); !strings.Contains(p, "SEARCH messages USING PRIMARY KEY (channel_id=? AND seq=?)") ||
		!strings.Contains(p, "SEARCH search_channels USING INTEGER PRIMARY KEY (rowid=?)") {
		t.Errorf("hitQuery plan:\n%s", p)
	}
	word := []confab.SearchTerm{{Words: []string{"deploy"}}}
	day := int64(86_400_000_000)
	// *ploy* stands for the vocabulary's words that hold it.
	if err := db.write(t.Context(), func(ctx context.Context, tx *sql.Conn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO search_vocab (token) VALUES ('deploy'), ('deployed')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const (
		words = "SCAN search_words VIRTUAL TABLE"
		row   = "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)"
	)
	for _, tc := range []struct {
		name  string
		f     confab.SearchFilter
		chans []int64
		want  []string
	}{
		{"word", confab.SearchFilter{Terms: word}, []int64{1, 2}, []string{words, row}},
		{"word, oldest first", confab.SearchFilter{Terms: word, Sort: confab.SortTimestamp, Asc: true}, []int64{1, 2}, []string{words, row}},
		{"word in:", confab.SearchFilter{Terms: word, ChannelIDs: []string{"C1"}}, []int64{1}, []string{words, row}},
		{"word dated", confab.SearchFilter{Terms: word, Since: day, Until: 2 * day}, []int64{1, 2}, []string{words, row}},
		{"substring", confab.SearchFilter{Terms: []confab.SearchTerm{{Words: []string{"ploy"}, Substring: true}}}, []int64{1, 2},
			[]string{words, row}},
		{"in: only", confab.SearchFilter{ChannelIDs: []string{"C1", "C2"}}, []int64{1, 2}, []string{words, row}},
		{"from: only", confab.SearchFilter{UserIDs: []string{"U1"}}, []int64{1, 2}, []string{words, row}},
		{"dated only", confab.SearchFilter{Since: day, Until: 2 * day}, []int64{1, 2},
			[]string{"SEARCH search_rows USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)", row}},
		{"everything", confab.SearchFilter{}, []int64{1, 2}, []string{"SCAN search_rows", row}},
	} {
		var s search
		var ok bool
		if err := db.read(t.Context(), func(tx *sql.Tx) (err error) {
			s, ok, err = buildSearch(t.Context(), tx, tc.f)
			return err
		}); err != nil || !ok {
			t.Fatalf("%s: buildSearch refused: %v", tc.name, err)
		}
		sq := s.sql(tc.f, tc.chans, nil, !tc.f.Asc, true, false)
		p := plan(sq.with+" SELECT "+sq.count, sq.args...)
		for _, want := range tc.want {
			if !strings.Contains(p, want) {
				t.Errorf("%s: plan lacks %q:\n%s", tc.name, want, p)
			}
		}
		if strings.Contains(p, "USE TEMP B-TREE") {
			t.Errorf("%s: plan sorts:\n%s", tc.name, p)
		}
	}

	// A page among the ranked matches only counts the later ones: they
	// are not kept, and with in: alone (every row of the driver a match,
	// in a channel the reader may read) read from FTS5 alone, search_rows
	// read for the ranked only and the reader's channels not checked.
	for _, tc := range []struct {
		name    string
		f       confab.SearchFilter
		rows    int  // searches of search_rows
		readers bool // the reader's channels checked
		head    bool
	}{
		{"word", confab.SearchFilter{Terms: word}, 2, true, true},
		{"word in:", confab.SearchFilter{Terms: word, ChannelIDs: []string{"C1"}}, 1, false, true},
		{"word in: past the ranked", confab.SearchFilter{Terms: word, ChannelIDs: []string{"C1"}}, 2, false, false},
		{"word in: dated", confab.SearchFilter{Terms: word, ChannelIDs: []string{"C1"}, Since: day}, 2, true, true},
	} {
		var s search
		if err := db.read(t.Context(), func(tx *sql.Tx) (err error) {
			s, _, err = buildSearch(t.Context(), tx, tc.f)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		sq := s.sql(tc.f, []int64{1}, nil, true, true, tc.head)
		p := plan(sq.with+" SELECT "+sq.count, sq.args...)
		if n := strings.Count(p, row); n != tc.rows {
			t.Errorf("%s: search_rows searched %d times, want %d:\n%s", tc.name, n, tc.rows, p)
		}
		if got := strings.Contains(sq.with+sq.count, "r.chan + 1"); got != tc.readers {
			t.Errorf("%s: the reader's channels checked: %v, want %v:\n%s", tc.name, got, tc.readers, p)
		}
		if got := strings.Contains(p, "MATERIALIZE later"); got == tc.head {
			t.Errorf("%s: the later matches kept: %v, want %v:\n%s", tc.name, got, !tc.head, p)
		}
		if strings.Contains(p, "USE TEMP B-TREE") {
			t.Errorf("%s: plan sorts:\n%s", tc.name, p)
		}
	}
}

// TestSearchBounds: a search collects at most searchCountCap matches
// (Total, Capped; the score order ranks the newest, the ascending time
// order starts at the oldest), stops after searchScanCap rows it may not
// read (Capped), and messages of two channels at the same ts both get an
// id, found by exact date bounds and kept right by edits and deletes.
func TestSearchBounds(t *testing.T) {
	ctx := t.Context()
	defer func(c, s int) { searchCountCap, searchScanCap = c, s }(searchCountCap, searchScanCap)
	searchCountCap, searchScanCap = 5, 100

	db := mustOpen(t, Config{})
	ws := &confab.Workspace{ID: "T1", Domain: "acme", Created: 1}
	if err := db.CreateWorkspace(ctx, ws, &confab.User{ID: "U1", Name: "owner", Created: 1}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, &confab.User{ID: "U2", WorkspaceID: "T1", Name: "other", Created: 1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id      string
		kind    string
		members []string
	}{{"C1", confab.KindPublic, []string{"U1"}}, {"C2", confab.KindPrivate, []string{"U2"}}, {"C3", confab.KindPublic, []string{"U1"}}} {
		ch := &confab.Channel{ID: c.id, WorkspaceID: "T1", Kind: c.kind, Name: c.id, Created: 1}
		if err := db.CreateChannel(ctx, ch, c.members); err != nil {
			t.Fatal(err)
		}
	}
	post := func(ch, user, text string, ts int64) {
		t.Helper()
		if _, err := db.CreateMessage(ctx, &confab.Message{ChannelID: ch, UserID: user, Text: text, TS: ts}); err != nil {
			t.Fatal(err)
		}
	}
	search := func(f confab.SearchFilter) (total int, capped bool, ts []int64) {
		t.Helper()
		f.WorkspaceID, f.ReaderID, f.Limit = "T1", "U1", 100
		res, err := db.SearchMessages(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Messages {
			ts = append(ts, m.TS)
		}
		return res.Total, res.Capped, ts
	}
	word := func(w string) []confab.SearchTerm { return []confab.SearchTerm{{Words: []string{w}}} }

	post("C1", "U1", "bravo", 900)
	for i := range 12 {
		post("C1", "U1", "alpha", 1000+int64(i)*10)
	}
	for i := range 150 {
		post("C2", "U2", "bravo", 2000+int64(i))
	}

	total, capped, ts := search(confab.SearchFilter{Terms: word("alpha")})
	if total != 5 || !capped || fmt.Sprint(ts) != "[1110 1100 1090 1080 1070]" {
		t.Errorf("alpha = %d, %v, %v; want the newest 5, capped", total, capped, ts)
	}
	total, capped, ts = search(confab.SearchFilter{Terms: word("alpha"), Sort: confab.SortTimestamp, Asc: true})
	if total != 5 || !capped || fmt.Sprint(ts) != "[1000 1010 1020 1030 1040]" {
		t.Errorf("alpha oldest first = %d, %v, %v; want the oldest 5, capped", total, capped, ts)
	}
	total, capped, ts = search(confab.SearchFilter{Terms: word("alpha"), ChannelIDs: []string{"C1"}})
	if total != 5 || !capped || fmt.Sprint(ts) != "[1110 1100 1090 1080 1070]" {
		t.Errorf("alpha in:C1 = %d, %v, %v; want the newest 5, capped", total, capped, ts)
	}
	total, capped, ts = search(confab.SearchFilter{Terms: word("bravo"), ChannelIDs: []string{"C1", "C2"}})
	if total != 1 || capped || fmt.Sprint(ts) != "[900]" {
		t.Errorf("bravo in:C1 C2 = %d, %v, %v; want the one U1 may read, exact", total, capped, ts)
	}
	total, capped, ts = search(confab.SearchFilter{Terms: word("alpha"), Since: 1100})
	if total != 2 || capped || fmt.Sprint(ts) != "[1110 1100]" {
		t.Errorf("alpha since 1100 = %d, %v, %v", total, capped, ts)
	}
	// 150 bravos U1 may not read, newer than the one it may.
	total, capped, ts = search(confab.SearchFilter{Terms: word("bravo")})
	if total != 0 || !capped || len(ts) != 0 {
		t.Errorf("bravo past the scan cap = %d, %v, %v; want none found, capped", total, capped, ts)
	}
	searchScanCap = 1000
	total, capped, ts = search(confab.SearchFilter{Terms: word("bravo")})
	if total != 1 || capped || fmt.Sprint(ts) != "[900]" {
		t.Errorf("bravo = %d, %v, %v; want the one U1 may read", total, capped, ts)
	}

	// Three messages at ts 5000 and 5001: the second and third take the
	// next free ids.
	post("C1", "U1", "charlie", 5000)
	post("C3", "U1", "charlie", 5000)
	post("C1", "U1", "charlie", 5001)
	for _, tc := range []struct {
		f    confab.SearchFilter
		want string
	}{
		{confab.SearchFilter{Terms: word("charlie")}, "[5001 5000 5000]"},
		{confab.SearchFilter{Terms: word("charlie"), Until: 5001}, "[5000 5000]"},
		{confab.SearchFilter{Terms: word("charlie"), Since: 5001}, "[5001]"},
		{confab.SearchFilter{Since: 5001, Until: 5002}, "[5001]"},
		{confab.SearchFilter{Terms: word("charlie"), ChannelIDs: []string{"C3"}}, "[5000]"},
		{confab.SearchFilter{UserIDs: []string{"U1"}, ChannelIDs: []string{"C3"}}, "[5000]"},
	} {
		if _, _, ts := search(tc.f); fmt.Sprint(ts) != tc.want {
			t.Errorf("%+v = %v, want %s", tc.f, ts, tc.want)
		}
	}
	delta := "delta"
	if _, err := db.UpdateMessage(ctx, "C3", 5000, confab.MessageUpdate{Text: &delta}, 6000); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteMessage(ctx, "C1", 5000); err != nil {
		t.Fatal(err)
	}
	if _, _, ts := search(confab.SearchFilter{Terms: word("charlie")}); fmt.Sprint(ts) != "[5001]" {
		t.Errorf("charlie after the edit and delete = %v", ts)
	}
	if _, _, ts := search(confab.SearchFilter{Terms: word("delta"), Until: 5001}); fmt.Sprint(ts) != "[5000]" {
		t.Errorf("delta = %v", ts)
	}

	// Past the scan cap with several words: 150 "echo foxtrot" U1 may not
	// read, one it may, and one "echo golf" (golf has one row).
	searchScanCap = 100
	post("C1", "U1", "echo foxtrot", 7000)
	post("C1", "U1", "echo golf", 7001)
	for i := range 150 {
		post("C2", "U2", "echo foxtrot", 8000+int64(i))
	}
	total, capped, _ = search(confab.SearchFilter{Terms: []confab.SearchTerm{{Words: []string{"echo", "foxtrot"}}}})
	if total != 0 || !capped {
		t.Errorf("\"echo foxtrot\" past the scan cap = %d, %v; want none found, capped", total, capped)
	}
	total, capped, _ = search(confab.SearchFilter{Terms: []confab.SearchTerm{word("echo")[0], word("golf")[0]}})
	if total != 1 || capped {
		t.Errorf("echo golf = %d, %v; want 1, exact (golf's one row bounds it)", total, capped)
	}
	total, capped, _ = search(confab.SearchFilter{Terms: []confab.SearchTerm{{Words: []string{"echo", "golf"}}}})
	if total != 1 || capped {
		t.Errorf("\"echo golf\" = %d, %v; want 1, exact", total, capped)
	}
}

// TestSearchRankCap: the score order ranks the newest searchRankCap
// matches by bm25 and gives the later ones after them, newest first; the
// total counts them all, up to searchCountCap; least relevant first is
// that order reversed.
func TestSearchRankCap(t *testing.T) {
	ctx := t.Context()
	defer func(c, r int) { searchCountCap, searchRankCap = c, r }(searchCountCap, searchRankCap)
	searchCountCap, searchRankCap = 6, 3

	db := mustOpen(t, Config{})
	ownerChannels(t, db, "C1")
	// The older a message, the more relevant: ts 1000 is "delta" alone,
	// each newer one has one more other word.
	text := "delta"
	for i := range 8 {
		if _, err := db.CreateMessage(ctx, &confab.Message{ChannelID: "C1", UserID: "U1", Text: text, TS: 1000 + int64(i)}); err != nil {
			t.Fatal(err)
		}
		text += fmt.Sprintf(" w%d", i)
	}
	search := func(asc bool) (int, bool, string) {
		res, err := db.SearchMessages(ctx, confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1", Limit: 100, Asc: asc,
			Terms: []confab.SearchTerm{{Words: []string{"delta"}}}})
		if err != nil {
			t.Fatal(err)
		}
		var ts []int64
		for _, m := range res.Messages {
			ts = append(ts, m.TS)
		}
		return res.Total, res.Capped, fmt.Sprint(ts)
	}
	// Newest 3 (1007, 1006, 1005) ranked: 1005 the most relevant; then
	// 1004, 1003, 1002 newest first; 1001 and 1000 past the count cap.
	if total, capped, ts := search(false); total != 6 || !capped || ts != "[1005 1006 1007 1004 1003 1002]" {
		t.Errorf("delta by score = %d, %v, %s; want 6, capped, [1005 1006 1007 1004 1003 1002]", total, capped, ts)
	}
	if total, _, ts := search(true); total != 6 || ts != "[1002 1003 1004 1007 1006 1005]" {
		t.Errorf("delta least relevant first = %d, %s; want 6, [1002 1003 1004 1007 1006 1005]", total, ts)
	}
	// Under the rank cap, all are ranked.
	searchRankCap = 10
	if total, _, ts := search(false); total != 6 || ts != "[1002 1003 1004 1005 1006 1007]" {
		t.Errorf("delta by score, all ranked = %d, %s; want 6, [1002 1003 1004 1005 1006 1007]", total, ts)
	}
}

// TestSearchRankedPages: a page among the ranked matches (the later ones
// only counted) is that part of the whole order, with the same total, for
// in: alone (every match found in FTS5) and with the reader's channels
// checked, under and over the caps.
func TestSearchRankedPages(t *testing.T) {
	ctx := t.Context()
	defer func(c, r, s int) { searchCountCap, searchRankCap, searchScanCap = c, r, s }(searchCountCap, searchRankCap, searchScanCap)
	searchCountCap, searchRankCap = 6, 3

	db := mustOpen(t, Config{})
	if err := db.CreateWorkspace(ctx, &confab.Workspace{ID: "T1", Domain: "acme", Created: 1},
		&confab.User{ID: "U1", Name: "owner", Created: 1}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, &confab.User{ID: "U2", WorkspaceID: "T1", Name: "other", Created: 1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, kind, member string }{
		{"C1", confab.KindPublic, "U1"}, {"C2", confab.KindPrivate, "U2"}, {"C3", confab.KindPublic, "U1"},
	} {
		if err := db.CreateChannel(ctx, &confab.Channel{ID: c.id, WorkspaceID: "T1", Kind: c.kind, Name: c.id, Created: 1},
			[]string{c.member}); err != nil {
			t.Fatal(err)
		}
	}
	post := func(ch, user, text string, ts int64) {
		t.Helper()
		if _, err := db.CreateMessage(ctx, &confab.Message{ChannelID: ch, UserID: user, Text: text, TS: ts}); err != nil {
			t.Fatal(err)
		}
	}
	// Relevance varies with the length of the text; C2's, which U1 may
	// not read, come between the others.
	text := "delta"
	for i := range 8 {
		post("C1", "U1", text, 1000+int64(i)*10)
		post("C2", "U2", text, 1005+int64(i)*10)
		text += fmt.Sprintf(" w%d", i%3)
	}
	for i, text := range []string{"delta delta", "delta w0", "delta", "delta w1 w2", "delta delta w0"} {
		post("C3", "U1", text, 1003+int64(i)*20)
	}

	type answer struct {
		total  int
		capped bool
		ts     string
	}
	search := func(f confab.SearchFilter, off, lim int) answer {
		t.Helper()
		f.WorkspaceID, f.ReaderID, f.Offset, f.Limit = "T1", "U1", off, lim
		res, err := db.SearchMessages(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ts []string
		for _, m := range res.Messages {
			ts = append(ts, fmt.Sprint(m.TS))
		}
		return answer{res.Total, res.Capped, strings.Join(ts, " ")}
	}
	delta := []confab.SearchTerm{{Words: []string{"delta"}}}
	for _, scan := range []int{100, 7, 4} {
		searchScanCap = scan
		for _, f := range []confab.SearchFilter{
			{Terms: delta},
			{Terms: delta, ChannelIDs: []string{"C1"}},
			{Terms: delta, ChannelIDs: []string{"C1", "C3"}},
			{Terms: delta, ChannelIDs: []string{"C3"}},
			{Terms: delta, ChannelIDs: []string{"C1", "C2"}},
			{Terms: delta, UserIDs: []string{"U1"}},
			{Terms: delta, Since: 1030},
			{Terms: delta, ChannelIDs: []string{"C3"}, Since: 1020},
			{Terms: delta, ChannelIDs: []string{"C3"}, UserIDs: []string{"U1"}},
		} {
			all := search(f, 0, 100) // the whole order, not a page among the ranked
			ts := strings.Fields(all.ts)
			for off := range searchRankCap {
				for lim := 1; off+lim <= searchRankCap; lim++ {
					want := answer{all.total, all.capped, strings.Join(ts[min(off, len(ts)):min(off+lim, len(ts))], " ")}
					if got := search(f, off, lim); got != want {
						t.Errorf("scan cap %d, %+v, page at %d of %d = %+v, want %+v (of %+v)", scan, f, off, lim, got, want, all)
					}
				}
			}
		}
	}
}

// TestSearchVocabUpgrade: a database indexed before the vocabulary
// (migration 0019) gets the words of its indexed messages by the
// backfill, so that a substring finds them, each message indexed once.
func TestSearchVocabUpgrade(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "confab.db")
	db := mustOpen(t, Config{Path: path, Sync: "normal"})
	ownerChannels(t, db, "C1")
	for _, text := range []string{"redeploy the cluster", "deployment done", "lunch"} {
		if _, err := db.CreateMessage(ctx, &confab.Message{ChannelID: "C1", UserID: "U1", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	// Back to 0018's schema, the index kept.
	execAll(t, db, undo0019...)
	execAll(t, db,
		`DROP TABLE user_terms`,            // 0020
		`DROP TABLE claims`,                // 0022
		`ALTER TABLE users DROP COLUMN tz`, // 0023
		`DROP TABLE search_pending`,        // 0024
		`PRAGMA user_version = 18`,
	)
	db.Close()

	db = mustOpen(t, Config{Path: path, Sync: "normal"})
	select {
	case <-db.backfilled:
	case <-time.After(10 * time.Second):
		t.Fatal("the backfill did not finish in 10s")
	}
	total, got := foundTexts(t, db, confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1",
		Terms: []confab.SearchTerm{{Words: []string{"ploy"}, Substring: true}}, Sort: confab.SortTimestamp, Limit: 10})
	if total != 2 || got != "deployment done, redeploy the cluster" {
		t.Errorf("*ploy* = %d: %s; want 2: deployment done, redeploy the cluster", total, got)
	}
	var rows int
	if err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM search_rows`).Scan(&rows); err != nil || rows != 3 {
		t.Errorf("search_rows = %d, %v; want 3 (each message once)", rows, err)
	}
}

// TestSearchSubstringTooCommon: a substring more words hold than
// maxSubstringTokens is invalid_query, asking for more letters; at the
// bound it is searched.
func TestSearchSubstringTooCommon(t *testing.T) {
	ctx := t.Context()
	db := mustOpen(t, Config{})
	ownerChannels(t, db, "C1")
	for _, text := range []string{"deploy", "redeploy", "deployment"} {
		if _, err := db.CreateMessage(ctx, &confab.Message{ChannelID: "C1", UserID: "U1", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	defer func(n int) { maxSubstringTokens = n }(maxSubstringTokens)
	search := func(words ...string) (*confab.SearchResult, error) {
		return db.SearchMessages(ctx, confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1",
			Terms: []confab.SearchTerm{{Words: words, Substring: true}}, Limit: 10})
	}
	maxSubstringTokens = 3
	if res, err := search("ploy"); err != nil || res.Total != 3 {
		t.Fatalf("*ploy* with 3 words allowed = %v, %v; want 3 found", res, err)
	}
	maxSubstringTokens = 2
	_, err := search("ploy")
	if qe := (*confab.QueryError)(nil); !errors.As(err, &qe) || !strings.Contains(qe.Detail, "add letters") {
		t.Fatalf("*ploy* with 2 words allowed = %v; want a QueryError asking for more letters", err)
	}
	// The first word of several is looked up too: the words ending in it
	// (deploy, redeploy).
	if _, err := search("ploy", "the"); err != nil {
		t.Fatalf("*ploy the* with 2 words allowed = %v", err)
	}
	maxSubstringTokens = 1
	_, err = search("ploy", "the")
	if qe := (*confab.QueryError)(nil); !errors.As(err, &qe) || !strings.Contains(qe.Detail, `end with "ploy"`) {
		t.Fatalf("*ploy the* with 1 word allowed = %v; want a QueryError on the words ending with ploy", err)
	}
}

// ownerChannels makes workspace T1, its owner U1, and public channels of
// the ids (each named its id), U1 in each.
func ownerChannels(t *testing.T, db *DB, ids ...string) {
	t.Helper()
	if err := db.CreateWorkspace(t.Context(), &confab.Workspace{ID: "T1", Domain: "acme", Created: 1},
		&confab.User{ID: "U1", Name: "owner", Created: 1}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := db.CreateChannel(t.Context(), &confab.Channel{ID: id, WorkspaceID: "T1", Kind: confab.KindPublic, Name: id, Created: 1},
			[]string{"U1"}); err != nil {
			t.Fatal(err)
		}
	}
}

// foundTexts runs a search and returns its total and the texts of its
// page, joined by ", ".
func foundTexts(t *testing.T, db *DB, f confab.SearchFilter) (int, string) {
	t.Helper()
	res, err := db.SearchMessages(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range res.Messages {
		texts = append(texts, m.Text)
	}
	return res.Total, strings.Join(texts, ", ")
}

// TestSearchVocabKnown: a post leaves out of its vocabulary statement
// the words an earlier committed post wrote, and only those: a post that
// failed wrote nothing, and its words are found by substring once a
// later post holds them.
func TestSearchVocabKnown(t *testing.T) {
	ctx := t.Context()
	db := mustOpen(t, Config{})
	ownerChannels(t, db, "C1")
	post := func(channel, text string) error {
		_, err := db.CreateMessage(ctx, &confab.Message{ChannelID: channel, UserID: "U1", Text: text})
		return err
	}
	if err := post("C404", "zebrafish sighted"); !errors.Is(err, confab.ErrChannelNotFound) {
		t.Fatalf("post to a missing channel = %v; want channel not found", err)
	}
	if err := post("C1", "zebrafish sighted again"); err != nil {
		t.Fatal(err)
	}
	if total, got := foundTexts(t, db, confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1",
		Terms: []confab.SearchTerm{{Words: []string{"ebrafis"}, Substring: true}}, Limit: 10}); total != 1 || got != "zebrafish sighted again" {
		t.Errorf("*ebrafis* = %d: %s; want 1: zebrafish sighted again", total, got)
	}
	// The next post's statement is given only its new word.
	in := confab.Message{ChannelID: "C1", UserID: "U1", Text: "again zebrafish, and a heron"}
	doc := makeIndexDoc(&in, &db.vocab)
	if got := strings.Join(doc.tokens, " "); got != "a and heron" {
		t.Errorf("tokens to add = %q; want %q (again and zebrafish are known)", got, "a and heron")
	}
	if err := post("C1", in.Text); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM search_vocab WHERE token IN ('heron', 'zebrafish', 'sighted', 'and')`).Scan(&n); err != nil || n != 4 {
		t.Errorf("search_vocab holds %d of heron, zebrafish, sighted, and (%v); want 4", n, err)
	}
	// A system message is not indexed: its words are not known to be in
	// the vocabulary, and a later post that holds them adds them.
	topic := confab.SystemMessage("C1", "U1", confab.SubtypeChannelTopic, "", "quokka sightings")
	if _, err := db.CreateMessage(ctx, topic); err != nil {
		t.Fatal(err)
	}
	if err := post("C1", "a quokka"); err != nil {
		t.Fatal(err)
	}
	if total, got := foundTexts(t, db, confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1",
		Terms: []confab.SearchTerm{{Words: []string{"uokk"}, Substring: true}}, Limit: 10}); total != 1 || got != "a quokka" {
		t.Errorf("*uokk* after a topic of that word = %d: %s; want the post", total, got)
	}
	// More new words than vocabRowsMax go in as one statement.
	if err := post("C1", "one two three four five sixfold"); err != nil {
		t.Fatal(err)
	}
	if total, got := foundTexts(t, db, confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1",
		Terms: []confab.SearchTerm{{Words: []string{"ixfol"}, Substring: true}}, Limit: 10}); total != 1 || got != "one two three four five sixfold" {
		t.Errorf("*ixfol* = %d: %s; want the post of six new words", total, got)
	}
}
