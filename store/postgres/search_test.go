package postgres

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/confab/confab"
	"github.com/confab/confab/internal/pgtest"
)

// searchFixture is a workspace with its owner, a second user, a public
// and a private channel and a DM of the two.
type searchFixture struct {
	t                *testing.T
	db               *DB
	ws               string
	owner, bob       *confab.User
	pub, priv, dm    *confab.Channel
	ts               int64
	ctx              context.Context
	postedBy, posted map[string]*confab.Message
}

func newSearchFixture(t *testing.T, db *DB) *searchFixture {
	ctx := t.Context()
	owner, pub := mustChannel(t, db)
	f := &searchFixture{t: t, db: db, ws: pub.WorkspaceID, owner: owner, pub: pub, ctx: ctx, ts: 1_700_000_000_000_000,
		posted: map[string]*confab.Message{}}
	f.bob = &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws, Name: "bob", Created: 1}
	if err := db.CreateUser(ctx, f.bob); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddMember(ctx, pub.ID, f.bob.ID, 1); err != nil {
		t.Fatal(err)
	}
	f.priv = &confab.Channel{ID: confab.NewID(confab.PrefixChannel), WorkspaceID: f.ws, Kind: confab.KindPrivate, Name: "secret", Created: 1}
	if err := db.CreateChannel(ctx, f.priv, []string{owner.ID}); err != nil {
		t.Fatal(err)
	}
	f.dm = &confab.Channel{ID: confab.NewID(confab.PrefixDM), WorkspaceID: f.ws, Kind: confab.KindDM,
		Key: owner.ID + "," + f.bob.ID, Created: 1}
	if err := db.CreateChannel(ctx, f.dm, []string{owner.ID, f.bob.ID}); err != nil {
		t.Fatal(err)
	}
	return f
}

// post posts text as u in c and remembers it by its text.
func (f *searchFixture) post(c *confab.Channel, u *confab.User, text string, threadTS int64) *confab.Message {
	f.t.Helper()
	f.ts += 1000
	m := &confab.Message{ChannelID: c.ID, UserID: u.ID, Text: text, TS: f.ts, ThreadTS: threadTS}
	if _, err := f.db.CreateMessage(f.ctx, m); err != nil {
		f.t.Fatalf("CreateMessage(%q) = %v", text, err)
	}
	f.posted[text] = m
	return m
}

// search returns the texts found, in order, and checks Total.
func (f *searchFixture) search(sf confab.SearchFilter) []string {
	f.t.Helper()
	sf.WorkspaceID = f.ws
	if sf.ReaderID == "" {
		sf.ReaderID = f.owner.ID
	}
	res, err := f.db.SearchMessages(f.ctx, sf)
	if err != nil {
		f.t.Fatalf("SearchMessages(%+v) = %v", sf, err)
	}
	texts := make([]string, len(res.Messages))
	for i, m := range res.Messages {
		texts[i] = m.Text
	}
	if sf.Offset == 0 && sf.Limit == 0 && res.Total != len(texts) {
		f.t.Errorf("SearchMessages(%+v): Total %d, %d messages", sf, res.Total, len(texts))
	}
	return texts
}

func words(ws ...string) confab.SearchTerm { return confab.SearchTerm{Words: ws} }

// TestSearchSmoke runs every kind of condition once on the PostgreSQL
// statements (the conformance suite checks their meaning on both stores).
func TestSearchSmoke(t *testing.T) {
	db := mustOpen(t, Config{})
	f := newSearchFixture(t, db)
	ctx := t.Context()
	deploy := f.post(f.pub, f.owner, "Deploy the API today", 0)
	f.post(f.pub, f.bob, "we deployed it, see <https://example.com|the log>", deploy.TS)
	f.post(f.priv, f.owner, "secret deploy plan", 0)
	f.post(f.dm, f.bob, "hi owner, the deploy is done", 0)
	f.post(f.pub, f.owner, "<@"+f.bob.ID+"> can you check 東京都庁", 0)
	f.post(f.pub, f.owner, "100% done_now, a\\b", 0)
	gone := f.post(f.pub, f.owner, "deploy that is deleted", 0)
	if _, err := db.DeleteMessage(ctx, f.pub.ID, gone.TS); err != nil {
		t.Fatal(err)
	}
	lone := f.post(f.priv, f.owner, "a parent whose reply is gone", 0)
	if _, err := db.DeleteMessage(ctx, f.priv.ID, f.post(f.priv, f.owner, "the reply", lone.TS).TS); err != nil {
		t.Fatal(err)
	}
	edited := f.post(f.pub, f.owner, "typo deplyo", 0)
	fixed := "fixed deploy"
	if _, err := db.UpdateMessage(ctx, f.pub.ID, edited.TS, confab.MessageUpdate{Text: &fixed}, f.ts+1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddReaction(ctx, f.pub.ID, deploy.TS, f.bob.ID, "eyes"); err != nil {
		t.Fatal(err)
	}
	if err := db.AddPin(ctx, &confab.Pin{ChannelID: f.pub.ID, MessageTS: deploy.TS, UserID: f.owner.ID, Created: 1}); err != nil {
		t.Fatal(err)
	}

	newest := func(ts ...string) []string { return ts }
	for _, tc := range []struct {
		name string
		f    confab.SearchFilter
		want []string
	}{
		{"word", confab.SearchFilter{Terms: []confab.SearchTerm{words("deploy")}, Sort: confab.SortTimestamp},
			newest("fixed deploy", "hi owner, the deploy is done", "secret deploy plan", "Deploy the API today")},
		{"bob cannot read the private channel", confab.SearchFilter{ReaderID: f.bob.ID, Terms: []confab.SearchTerm{words("deploy")}, Sort: confab.SortTimestamp},
			newest("fixed deploy", "hi owner, the deploy is done", "Deploy the API today")},
		{"prefix", confab.SearchFilter{Terms: []confab.SearchTerm{{Words: []string{"deploy"}, Prefix: true}}, ChannelIDs: []string{f.pub.ID}, Sort: confab.SortTimestamp},
			newest("fixed deploy", "we deployed it, see <https://example.com|the log>", "Deploy the API today")},
		{"substring", confab.SearchFilter{Terms: []confab.SearchTerm{{Words: []string{"ploy"}, Substring: true}}, ChannelIDs: []string{f.pub.ID}, Sort: confab.SortTimestamp},
			newest("fixed deploy", "we deployed it, see <https://example.com|the log>", "Deploy the API today")},
		{"phrase", confab.SearchFilter{Terms: []confab.SearchTerm{words("the", "api")}}, newest("Deploy the API today")},
		{"phrase of the reversed words", confab.SearchFilter{Terms: []confab.SearchTerm{words("api", "the")}}, nil},
		{"han phrase inside a compound", confab.SearchFilter{Terms: []confab.SearchTerm{words("東", "京")}}, newest("<@" + f.bob.ID + "> can you check 東京都庁")},
		{"excluded", confab.SearchFilter{Terms: []confab.SearchTerm{words("deploy")}, Excluded: []confab.SearchTerm{words("secret"), {Words: []string{"ixe"}, Substring: true}}, Sort: confab.SortTimestamp},
			newest("hi owner, the deploy is done", "Deploy the API today")},
		{"from", confab.SearchFilter{UserIDs: []string{f.bob.ID}, Sort: confab.SortTimestamp},
			newest("hi owner, the deploy is done", "we deployed it, see <https://example.com|the log>")},
		{"to bob: a mention and the DM, not his own", confab.SearchFilter{ToUserIDs: []string{f.bob.ID}, Sort: confab.SortTimestamp},
			newest("<@" + f.bob.ID + "> can you check 東京都庁")},
		{"to the owner: the DM", confab.SearchFilter{ToUserIDs: []string{f.owner.ID}, Sort: confab.SortTimestamp},
			newest("hi owner, the deploy is done")},
		{"has link", confab.SearchFilter{HasLink: true}, newest("we deployed it, see <https://example.com|the log>")},
		{"is thread", confab.SearchFilter{IsThread: true, Sort: confab.SortTimestamp},
			newest("we deployed it, see <https://example.com|the log>", "Deploy the API today")},
		{"has reaction", confab.SearchFilter{HasReaction: true}, newest("Deploy the API today")},
		{"has :eyes:", confab.SearchFilter{Reaction: "eyes"}, newest("Deploy the API today")},
		{"has :tada:", confab.SearchFilter{Reaction: "tada"}, nil},
		{"pinned", confab.SearchFilter{HasPin: true}, newest("Deploy the API today")},
		{"since, until", confab.SearchFilter{Since: deploy.TS + 1, Until: f.posted["secret deploy plan"].TS + 1, Sort: confab.SortTimestamp, Asc: true},
			newest("we deployed it, see <https://example.com|the log>", "secret deploy plan")},
		{"LIKE's wildcards are text", confab.SearchFilter{Terms: []confab.SearchTerm{{Words: []string{"0%"}, Substring: true}}}, nil},
		{"LIKE's wildcards are text (_)", confab.SearchFilter{Terms: []confab.SearchTerm{{Words: []string{"e_n"}, Substring: true}}}, nil},
		{"quotes and backslashes", confab.SearchFilter{Terms: []confab.SearchTerm{words(`a'b\`), {Words: []string{`'\`}, Substring: true}}}, nil},
		{"quotes and backslashes excluded", confab.SearchFilter{Terms: []confab.SearchTerm{words("done")}, Excluded: []confab.SearchTerm{words(`'`), {Words: []string{`\'`}, Substring: true}}, Sort: confab.SortTimestamp},
			newest("100% done_now, a\\b", "hi owner, the deploy is done")},
	} {
		if got := f.search(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: found %q, want %q", tc.name, got, tc.want)
		}
	}

	// Pages: the total is the whole selection's, past the end too.
	all := confab.SearchFilter{WorkspaceID: f.ws, ReaderID: f.owner.ID, Terms: []confab.SearchTerm{words("deploy")}, Limit: 3}
	for _, off := range []int{0, 3, 10} {
		all.Offset = off
		res, err := db.SearchMessages(ctx, all)
		if want := min(max(4-off, 0), 3); err != nil || res.Total != 4 || len(res.Messages) != want {
			t.Errorf("offset %d: %+v, %v; want total 4 and %d messages", off, res, err, want)
		}
	}
	// The messages come with their reactions.
	res, err := db.SearchMessages(ctx, confab.SearchFilter{WorkspaceID: f.ws, ReaderID: f.owner.ID, HasPin: true})
	if err != nil || len(res.Messages) != 1 || len(res.Messages[0].Reactions) != 1 || res.Messages[0].Reactions[0].Name != "eyes" {
		t.Errorf("pinned with reactions = %+v, %v", res, err)
	}
}

// TestSearchScore: more of the words ranks higher, newest first among
// equals; Asc reverses it.
func TestSearchScore(t *testing.T) {
	db := mustOpen(t, Config{})
	f := newSearchFixture(t, db)
	f.post(f.pub, f.owner, "deploy deploy deploy now", 0)
	f.post(f.pub, f.owner, "a deploy", 0)
	f.post(f.pub, f.owner, "another deploy", 0)
	q := confab.SearchFilter{Terms: []confab.SearchTerm{words("deploy")}}
	if got, want := f.search(q), []string{"deploy deploy deploy now", "another deploy", "a deploy"}; !slices.Equal(got, want) {
		t.Errorf("by score: %q, want %q", got, want)
	}
	q.Asc = true
	if got, want := f.search(q), []string{"a deploy", "another deploy", "deploy deploy deploy now"}; !slices.Equal(got, want) {
		t.Errorf("by score, ascending: %q, want %q", got, want)
	}
}

// TestSearchRankCap: the score order ranks the newest searchRankCap
// matches and gives the later ones after them, newest first (least
// relevant first: the reverse), as on SQLite.
func TestSearchRankCap(t *testing.T) {
	defer func(r int) { searchRankCap = r }(searchRankCap)
	searchRankCap = 3
	db := mustOpen(t, Config{})
	f := newSearchFixture(t, db)
	// The older a message, the more relevant: the first holds "delta"
	// six times, each newer one once less.
	for i := range 6 {
		f.post(f.pub, f.owner, strings.Repeat("delta ", 6-i)+fmt.Sprint(i), 0)
	}
	q := confab.SearchFilter{Terms: []confab.SearchTerm{words("delta")}}
	// The newest three (3, 4, 5) ranked, 3 the most relevant; then 2, 1,
	// 0 newest first.
	got := func() string {
		var out []string
		for _, text := range f.search(q) {
			out = append(out, text[len(text)-1:])
		}
		return strings.Join(out, " ")
	}
	if g, want := got(), "3 4 5 2 1 0"; g != want {
		t.Errorf("by score, the newest 3 ranked: %s, want %s", g, want)
	}
	q.Asc = true
	if g, want := got(), "0 1 2 5 4 3"; g != want {
		t.Errorf("by score, ascending: %s, want %s", g, want)
	}
	searchRankCap = 10
	q.Asc = false
	if g, want := got(), "0 1 2 3 4 5"; g != want {
		t.Errorf("by score, all ranked: %s, want %s", g, want)
	}
}

// TestSearchPastCap: a selection of more than the count's cap finds the
// newest (or oldest) first, with Total at the cap, whichever scan
// collects it: a word in every message (read down message_search_ts),
// one channel (down its primary key, by seq), one poster. The public
// channel's messages and the private one's interleave in time.
func TestSearchPastCap(t *testing.T) {
	db := mustOpen(t, Config{})
	f := newSearchFixture(t, db)
	ctx := t.Context()
	const n = confab.SearchCountCap + 50
	for _, q := range []string{
		`INSERT INTO messages (channel_id, seq, ts, user_id, text, change_seq, num)
		 SELECT CASE WHEN k % 2 = 0 THEN $1 ELSE $2 END, k, 1700000000000000 + k * 1000, $3, 'word ' || k, k, k
		 FROM generate_series(1, 2 * ` + fmt.Sprint(n) + `) k`,
		`INSERT INTO message_search (channel_id, seq, ts, user_id, body, tsv)
		 SELECT channel_id, seq, ts, user_id, text, to_tsvector('simple', text) FROM messages`,
		`ANALYZE message_search`,
	} {
		args := []any{f.pub.ID, f.priv.ID, f.owner.ID}
		if !strings.Contains(q, "$1") {
			args = nil
		}
		if _, err := db.pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Texts of the public channel's messages, newest first from k.
	pub := func(from, step int) []string {
		var out []string
		for k := from; len(out) < 3; k += step {
			out = append(out, fmt.Sprintf("word %d", k))
		}
		return out
	}
	newest, oldest := 2*n, 1
	for _, tc := range []struct {
		name string
		f    confab.SearchFilter
		want []string
	}{
		{"a word, bob", confab.SearchFilter{ReaderID: f.bob.ID, Terms: []confab.SearchTerm{words("word")}}, pub(newest, -2)},
		{"a word, bob, newest first", confab.SearchFilter{ReaderID: f.bob.ID, Terms: []confab.SearchTerm{words("word")},
			Sort: confab.SortTimestamp}, pub(newest, -2)},
		{"a word, bob, oldest first", confab.SearchFilter{ReaderID: f.bob.ID, Terms: []confab.SearchTerm{words("word")},
			Sort: confab.SortTimestamp, Asc: true}, pub(oldest+1, 2)},
		{"a word, the owner", confab.SearchFilter{Terms: []confab.SearchTerm{words("word")}, Sort: confab.SortTimestamp},
			[]string{fmt.Sprintf("word %d", newest), fmt.Sprintf("word %d", newest-1), fmt.Sprintf("word %d", newest-2)}},
		{"in:", confab.SearchFilter{ChannelIDs: []string{f.pub.ID}}, pub(newest, -2)},
		{"in:, newest first", confab.SearchFilter{ChannelIDs: []string{f.pub.ID}, Sort: confab.SortTimestamp}, pub(newest, -2)},
		{"in:, oldest first", confab.SearchFilter{ChannelIDs: []string{f.pub.ID}, Sort: confab.SortTimestamp, Asc: true}, pub(oldest+1, 2)},
		{"in: a word", confab.SearchFilter{ChannelIDs: []string{f.pub.ID}, Terms: []confab.SearchTerm{words("word")}}, pub(newest, -2)},
		{"from:, bob", confab.SearchFilter{ReaderID: f.bob.ID, UserIDs: []string{f.owner.ID}, Sort: confab.SortTimestamp}, pub(newest, -2)},
	} {
		sf := tc.f
		sf.WorkspaceID, sf.Limit = f.ws, 3
		if sf.ReaderID == "" {
			sf.ReaderID = f.owner.ID
		}
		res, err := db.SearchMessages(ctx, sf)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, m := range res.Messages {
			got = append(got, m.Text)
		}
		if !slices.Equal(got, tc.want) || res.Total != confab.SearchCountCap || !res.Capped {
			t.Errorf("%s: %q, total %d, capped %v; want %q, %d, capped", tc.name, got, res.Total, res.Capped, tc.want, confab.SearchCountCap)
		}
	}
}

func TestTSVector(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"", ""},
		{"a b a", "'a':1,3 'b':2"},
		{`it's a\b`, `'it''s':1 'a\\b':2`},
		// Pairs of adjacent Han, kana or Hangul characters, at the first
		// one's position, within a run only.
		{"東 京 都 x 大 阪", "'東':1 '京':2 '東京':1 '都':3 '京都':2 'x':4 '大':5 '阪':6 '大阪':5"},
	} {
		if got := tsvector(tc.body); got != tc.want {
			t.Errorf("tsvector(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
	// PostgreSQL takes such a literal for what it says, a long text too.
	db := mustOpen(t, Config{})
	long := strings.Repeat("word ", 20000) + "end"
	for _, body := range []string{"a b a", `it's a\b`, long} {
		var n int
		if err := db.pool.QueryRow(t.Context(), `SELECT length($1::text::tsvector)`, tsvector(body)).Scan(&n); err != nil {
			t.Errorf("%.20q::tsvector: %v", body, err)
		}
	}
}

// TestSearchPairsUpgrade: migration 0016 drops the index rows of the
// messages with Han, kana or Hangul, indexed without their pairs, and
// the background indexing indexes them again: a Han word is found by its
// pairs, every message indexed as a write would.
func TestSearchPairsUpgrade(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	db := mustOpen(t, Config{DSN: dsn})
	f := newSearchFixture(t, db)
	f.post(f.pub, f.owner, "東京都庁に行きます", 0)
	f.post(f.pub, f.owner, "한국어 검색", 0)
	f.post(f.pub, f.owner, "plain words", 0)
	// As 0015 indexed them: no pairs.
	if _, err := db.pool.Exec(t.Context(), `UPDATE message_search SET tsv = ts_delete(tsv,
			ARRAY(SELECT lexeme FROM unnest(tsv) WHERE char_length(lexeme) = 2 AND lexeme !~ '[a-z0-9]'));
		DROP TABLE user_terms; -- 0017 to 0021, after it: migrated again too
		DROP TABLE claims; ALTER TABLE users DROP COLUMN tz;
		DROP TABLE search_pairs; DROP FUNCTION search_pairs_sync() CASCADE; DROP FUNCTION search_pairs_of(tsvector);
		DELETE FROM schema_migrations WHERE version IN (16, 17, 18, 19, 20, 21)`); err != nil {
		t.Fatal(err)
	}
	searchByPairs = false // no search_pairs before 0018
	got := f.search(confab.SearchFilter{Terms: []confab.SearchTerm{words("東", "京")}})
	searchByPairs = true
	if len(got) != 0 {
		t.Fatalf("東京 without pairs = %q; the test's index is not that of 0015", got)
	}
	db.Close()

	db = mustOpen(t, Config{DSN: dsn})
	f.db = db
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var done bool
		if err := db.pool.QueryRow(t.Context(), `SELECT done FROM search_backfill`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background indexing did not finish in 10s")
		}
	}
	for _, q := range [][]string{{"東", "京"}, {"검", "색"}, {"plain"}} {
		if got := f.search(confab.SearchFilter{Terms: []confab.SearchTerm{words(q...)}}); len(got) != 1 {
			t.Errorf("%v after the upgrade = %q; want one message", q, got)
		}
	}
	if got, want := indexRows(t, db), wantIndex(t, db); !maps.Equal(got, want) {
		t.Errorf("index after the upgrade:\n%v\nwant\n%v", got, want)
	}
}

// TestSearchPairsClass: migration 0016's class of characters holds every
// character confab.IsUnigramToken does (a message with one is indexed
// again), and not the emoji, letters and punctuation of most messages.
func TestSearchPairsClass(t *testing.T) {
	sql, err := migrationFS.ReadFile("migrations/0016_search_pairs.sql")
	if err != nil {
		t.Fatal(err)
	}
	class := regexp.MustCompile(`body ~ '(\[[^']*\])'`).FindSubmatch(sql)
	if class == nil {
		t.Fatal("no class in 0016_search_pairs.sql")
	}
	var in []int32
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if confab.IsUnigramToken(string(r)) {
			in = append(in, r)
		}
	}
	db := mustOpen(t, Config{})
	var missed []int32
	if err := db.pool.QueryRow(t.Context(), `SELECT coalesce(array_agg(r), '{}') FROM unnest($1::int[]) AS r WHERE chr(r) !~ $2`,
		in, string(class[1])).Scan(&missed); err != nil {
		t.Fatal(err)
	}
	if len(missed) > 0 {
		t.Errorf("the class misses %d characters of scripts without spaces, the first %U", len(missed), missed[0])
	}
	for _, s := range []string{"a", "é", "ж", "😀", "👍", "—", "。", "1"} {
		var match bool
		if err := db.pool.QueryRow(t.Context(), `SELECT $1 ~ $2`, s, string(class[1])).Scan(&match); err != nil || match {
			t.Errorf("%q ~ class = %v, %v; want false", s, match, err)
		}
	}
}

// indexRows reads message_search as (channel, seq) → body.
func indexRows(t *testing.T, db *DB) map[string]string {
	t.Helper()
	rows, err := db.pool.Query(t.Context(), `SELECT channel_id || '/' || seq, body || '|' || tsv::text || '|' || reply FROM message_search`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantIndex is what message_search must hold: every live message's doc.
func wantIndex(t *testing.T, db *DB) map[string]string {
	t.Helper()
	rows, err := db.pool.Query(t.Context(), `SELECT channel_id, seq, text, blocks, thread_ts FROM messages WHERE NOT deleted`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var m confab.Message
		if err := rows.Scan(&m.ChannelID, &m.Seq, &m.Text, &m.Blocks, &m.ThreadTS); err != nil {
			t.Fatal(err)
		}
		d := newSearchDoc(&m)
		var tsv string
		if err := db.pool.QueryRow(t.Context(), `SELECT $1::text::tsvector::text`, d.tsv).Scan(&tsv); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%s/%d", m.ChannelID, m.Seq)] = fmt.Sprintf("%s|%s|%t", d.body, tsv, d.reply)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// unindex turns the database back into one from before the index: the
// migration's tables dropped and unrecorded, so that the next Open
// migrates again and finds messages to index (and those of the
// migrations after it, which run again too: the general channel's, the
// search pairs', the user terms', whose users are indexed again at Open).
func unindex(t *testing.T, db *DB) {
	t.Helper()
	if _, err := db.pool.Exec(t.Context(), `DROP TABLE message_search, search_backfill, search_pairs;
		DROP FUNCTION search_pairs_sync(), search_pairs_of(tsvector);
		DROP INDEX channels_general; ALTER TABLE channels DROP COLUMN is_general; DROP TABLE user_terms; DROP TABLE claims;
		ALTER TABLE users DROP COLUMN tz;
		DELETE FROM schema_migrations WHERE version IN (14, 15, 16, 17, 18, 19, 20, 21)`); err != nil {
		t.Fatal(err)
	}
}

// TestSearchBackfill: messages written before the index become searchable
// after Open, without a restart, while writes go on; the index is then
// exactly what the writes and the background indexing each would make.
// Several processes share the work one at a time; Close stops it and the
// next process resumes it.
func TestSearchBackfill(t *testing.T) {
	defer func(w int64, r time.Duration) {
		backfillWindow, backfillRetry, backfillUnlocked = w, r, nil
	}(backfillWindow, backfillRetry)
	backfillWindow, backfillRetry = 5, 50*time.Millisecond

	dsn := pgtest.Shared(t).NewDatabase(t)
	db := mustOpen(t, Config{DSN: dsn})
	f := newSearchFixture(t, db)
	chans := []*confab.Channel{f.pub, f.priv, f.dm}
	var old []*confab.Message
	for i := range 600 {
		c := chans[i%len(chans)]
		var thread int64
		if i%10 == 9 {
			thread = old[i-3].TS // in the same channel
		}
		old = append(old, f.post(c, f.owner, fmt.Sprintf("old message %d", i), thread))
	}
	// Some are deleted before the index: tombstones, not to be indexed.
	for i := 5; i < len(old); i += 50 {
		if _, err := db.DeleteMessage(t.Context(), old[i].ChannelID, old[i].TS); err != nil {
			t.Fatal(err)
		}
	}
	unindex(t, db)
	db.Close()

	// The first process indexes a part, then stops: past a channel's
	// first window it waits for its Close (a fast machine would
	// otherwise index all before the test closes it).
	backfillUnlocked = func(ctx context.Context, _ string, after int64) {
		if after > 0 {
			<-ctx.Done()
		}
	}
	db1 := mustOpen(t, Config{DSN: dsn})
	for deadline := time.Now().Add(10 * time.Second); db1.backfilled.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("nothing indexed after 10s")
		}
	}
	closed := make(chan struct{})
	go func() { db1.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the background indexing")
	}
	backfillUnlocked = nil
	var done bool
	var seq int64
	// Two more processes share the database; they post, edit and delete
	// while one of them indexes the rest.
	db2, db3 := mustOpen(t, Config{DSN: dsn}), mustOpen(t, Config{DSN: dsn})
	if err := db2.pool.QueryRow(t.Context(), `SELECT done, seq FROM search_backfill`).Scan(&done, &seq); err != nil || done {
		t.Fatalf("state after the first process: done %v, %v; want it partial", done, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w, wdb := range []*DB{db2, db3} {
		wg.Go(func() {
			for i := range 60 {
				m := old[(w*60+i)*3%len(old)]
				var err error
				switch i % 5 {
				case 0:
					_, err = wdb.CreateMessage(t.Context(), &confab.Message{ChannelID: m.ChannelID, UserID: f.bob.ID,
						Text: fmt.Sprintf("new reply %d %d", w, i), ThreadTS: m.TS})
				case 1:
					text := fmt.Sprintf("old message edited %d %d", w, i)
					_, err = wdb.UpdateMessage(t.Context(), m.ChannelID, m.TS, confab.MessageUpdate{Text: &text}, 5)
				case 2:
					_, err = wdb.DeleteMessage(t.Context(), m.ChannelID, m.TS)
				case 3:
					// A change that does not touch the index.
					att := `[{"text":"x"}]`
					_, err = wdb.UpdateMessage(t.Context(), m.ChannelID, m.TS, confab.MessageUpdate{Attachments: &att}, 6)
				default:
					_, err = wdb.CreateMessage(t.Context(), &confab.Message{ChannelID: m.ChannelID, UserID: f.bob.ID,
						Text: fmt.Sprintf("new message %d %d", w, i)})
				}
				if confab.ErrorCode(err) == confab.ENOTFOUND {
					err = nil // deleted by the other writer
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The old messages become searchable.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		res, err := db3.SearchMessages(t.Context(), confab.SearchFilter{WorkspaceID: f.ws, ReaderID: f.owner.ID,
			Terms: []confab.SearchTerm{words("old")}, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db3.pool.QueryRow(t.Context(), `SELECT count(*) FROM messages WHERE NOT deleted AND text LIKE 'old%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if res.Total == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d old messages found after 30s", res.Total, n)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if err := db2.pool.QueryRow(t.Context(), `SELECT done FROM search_backfill`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not done after 10s")
		}
	}
	got, want := indexRows(t, db2), wantIndex(t, db2)
	if !maps.Equal(got, want) {
		for k, w := range want {
			if got[k] != w {
				t.Errorf("index of %s = %q, want %q", k, got[k], w)
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("index of %s = %q, want none (deleted)", k, g)
			}
		}
	}
	if n2, n3 := db2.backfilled.Load(), db3.backfilled.Load(); n2 != 0 && n3 != 0 {
		t.Errorf("both processes indexed: %d and %d messages", n2, n3)
	}
	if n := db1.backfilled.Load() + db2.backfilled.Load() + db3.backfilled.Load(); n > int64(len(old)) {
		t.Errorf("%d messages indexed in the background, of %d", n, len(old))
	}
}

// TestSearchNewDatabase: a database without messages has nothing to index.
func TestSearchNewDatabase(t *testing.T) {
	db := mustOpen(t, Config{})
	var done bool
	if err := db.pool.QueryRow(t.Context(), `SELECT done FROM search_backfill`).Scan(&done); err != nil || !done {
		t.Errorf("backfill done = %v, %v; want true", done, err)
	}
}

// TestSearchBackfillChanged: a message changed between a batch's read and
// its lock is indexed as it is then: an edit's text, not the read one; a
// change that does not touch the index is indexed all the same; a
// deleted message is not.
func TestSearchBackfillChanged(t *testing.T) {
	defer func(w int64) { backfillWindow, backfillUnlocked = w, nil }(backfillWindow)
	backfillWindow = 1000
	db := mustOpen(t, Config{})
	db.background.Wait() // a new database: nothing to index
	f := newSearchFixture(t, db)
	ctx := t.Context()
	var ms []*confab.Message
	for i := range 6 {
		ms = append(ms, f.post(f.pub, f.owner, fmt.Sprintf("before %d", i), 0))
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM message_search; UPDATE search_backfill SET done = false`); err != nil {
		t.Fatal(err)
	}
	changed := false
	backfillUnlocked = func(_ context.Context, channelID string, _ int64) {
		if channelID != f.pub.ID || changed {
			return
		}
		changed = true
		text, att := "edited meanwhile", `[{"text":"x"}]`
		if _, err := db.UpdateMessage(ctx, f.pub.ID, ms[1].TS, confab.MessageUpdate{Text: &text}, 7); err != nil {
			t.Error(err)
		}
		if _, err := db.UpdateMessage(ctx, f.pub.ID, ms[2].TS, confab.MessageUpdate{Attachments: &att}, 7); err != nil {
			t.Error(err)
		}
		if _, err := db.DeleteMessage(ctx, f.pub.ID, ms[3].TS); err != nil {
			t.Error(err)
		}
	}
	if done, err := db.backfill(ctx); !done || err != nil {
		t.Fatalf("backfill = %v, %v", done, err)
	}
	if !changed {
		t.Fatal("no batch of the channel")
	}
	if got, want := indexRows(t, db), wantIndex(t, db); !maps.Equal(got, want) {
		t.Errorf("index:\n%v\nwant\n%v", got, want)
	}
	if n := db.backfilled.Load(); n != 4 {
		t.Errorf("%d indexed in the background, want 4 (one edited and indexed by its edit, one deleted)", n)
	}
}
