package postgres

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
	"github.com/confab/confab/internal/pgtest"
)

// queryPlan returns EXPLAIN's text for query with args.
func queryPlan(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.pool.Query(t.Context(), "EXPLAIN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", query, err)
	}
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// planNodes returns the node names of an EXPLAIN text ("Limit", "Index
// Scan using messages_pkey on messages", "Sort", …).
func planNodes(plan string) []string {
	var nodes []string
	for _, line := range strings.Split(plan, "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(line, "->  ")
		name, _, ok := strings.Cut(line, "  (cost=")
		if ok {
			nodes = append(nodes, name)
		}
	}
	return nodes
}

// TestQueryPlans checks that every history read is a keyset range scan of
// the intended index, on channels deep enough (and analyzed) for the
// planner to have a choice: no sequential scan of messages, no Sort.
func TestQueryPlans(t *testing.T) {
	db, err := Open(t.Context(), Config{DSN: pgtest.Shared(t).NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()

	// Four channels of 5000 messages, every tenth one a reply to the
	// message before it, and a reaction on every seventh; then ANALYZE.
	// Message k has seq 2k-1 and its reaction, if any, seq 2k: changes of
	// both kinds interleave, as they do in a real channel.
	const depth = 5000
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, domain, created) VALUES ('T1', 'acme', 'acme', 1)`,
		// 2000 users, half of them with an email.
		`INSERT INTO users (id, workspace_id, name, created, email)
		 SELECT 'U' || k, 'T1', 'u' || k, 1, CASE WHEN k % 2 = 0 THEN 'u' || k || '@example.com' ELSE '' END
		 FROM generate_series(1, 2000) k`,
		`INSERT INTO channels (id, workspace_id, kind, name, created, last_seq, last_ts, message_count)
		 SELECT 'C' || c, 'T1', 'public', 'ch' || c, 1, 2 * ` + fmt.Sprint(depth) + `, ` + fmt.Sprint(depth) + `, ` + fmt.Sprint(depth) + `
		 FROM generate_series(1, 4) c`,
		`INSERT INTO messages (channel_id, seq, ts, user_id, text, thread_ts, change_seq, num)
		 SELECT 'C' || c, 2 * k - 1, k, 'U1', 'message ' || k, CASE WHEN k % 10 = 0 THEN k - 1 ELSE 0 END, 2 * k - 1, k
		 FROM generate_series(1, 4) c, generate_series(1, ` + fmt.Sprint(depth) + `) k`,
		`INSERT INTO reactions (channel_id, message_seq, message_ts, name, user_id, seq)
		 SELECT channel_id, seq, ts, 'eyes', 'U1', seq + 1 FROM messages WHERE ts % 7 = 0`,
		// A busy message: C2's seq 13 (k = 7) with 200 reactions, 20 names
		// by 10 users each, and as many tombstones.
		`INSERT INTO reactions (channel_id, message_seq, message_ts, name, user_id, seq, removed)
		 SELECT 'C2', 13, 7, 'e' || e, 'U' || u, 100000 + 100 * e + u, e > 20
		 FROM generate_series(1, 40) e, generate_series(2, 11) u`,
		// Four workspaces' event logs, as deep as the channels.
		`INSERT INTO workspace_events (workspace_id, seq, kind, channel_id, user_id, time)
		 SELECT 'T' || w, k, 'member_joined_channel', 'C1', 'U' || k, k
		 FROM generate_series(1, 4) w, generate_series(1, ` + fmt.Sprint(depth) + `) k`,
		`ANALYZE`,
	} {
		if _, err := db.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const ch = "C2"
	pk := "using messages_pkey on messages"

	type check struct {
		name      string
		query     string
		args      []any
		want      []string // each must appear in the plan
		allowSort bool
	}
	var checks []check
	for _, f := range []confab.MessageFilter{
		{Desc: true, Limit: 100},
		{Desc: true, Before: 2500, Limit: 100},
		{Desc: true, Before: 101, Limit: 100},
		{After: 2500, Limit: 100},
		{After: 10, Before: 2500, Desc: true, Limit: 100, IncludeDeleted: true},
		{TopLevel: true, Desc: true, Before: 2500, Limit: 100},
	} {
		f.ChannelID = ch
		q, args := messagesQuery(f)
		checks = append(checks, check{fmt.Sprintf("FindMessages(%+v)", f), q, args, []string{pk, "on reactions"}, false})
	}
	for _, f := range []confab.MessageFilter{
		{ThreadTS: 2499, Limit: 100},
		{ThreadTS: 2499, Desc: true, Limit: 100},
		{ThreadTS: 2499, After: 2499},
	} {
		f.ChannelID = ch
		q, args := messagesQuery(f)
		// The parent and the replies are merged by seq: a sort of the
		// thread's rows at most, whatever the depth of the channel.
		checks = append(checks, check{fmt.Sprintf("FindMessages(%+v)", f), q, args, []string{"messages_thread", "messages_ts"}, true})
	}
	checks = append(checks,
		check{"FindMessage", findMessageQuery, []any{ch, 2500}, []string{"messages_ts", "on reactions"}, false},
		check{"SeqAtTS", seqAtTSQuery, []any{ch, 2500}, []string{"messages_ts"}, false},
		check{"latest top-level", latestTopLevelQuery, []any{ch}, []string{pk}, false},
		check{"FindLatestMessages", latestMessagesQuery, []any{[]string{"C1", "C2", "C3", "C4", "C9"}},
			[]string{"Function Scan on unnest", "Index Scan Backward " + pk}, false},
		check{"FindChanges(recent)", changesQuery, []any{ch, 2*depth - 200, 100}, []string{"messages_change", "reactions_seq"}, false},
		check{"FindChanges(old)", changesQuery, []any{ch, 2000, 100}, []string{"messages_change", "reactions_seq", "Merge Append"}, false},
		// AddReaction's caps: seeks, never the message's other reactions.
		check{"reaction state", reactionStateQuery, []any{ch, 13, "e1", "U2"}, []string{"reactions_pkey"}, false},
		check{"user's reactions", userReactionsQuery, []any{ch, 13, "U2"}, []string{"reactions_user_live"}, false},
		check{"name live", nameLiveQuery, []any{ch, 13, "e1"}, []string{"reactions_name_live"}, false},
		check{"distinct names", distinctNamesQuery, []any{ch, 13, confab.MaxReactionEmoji}, []string{"reactions_name_live"}, false},
		check{"user by email", userByEmailQuery, []any{"T1", "u10@example.com"}, []string{"users_email"}, false},
		check{"FindWorkspaceEvents(old)", workspaceEventsQuery, []any{"T2", 10, 100}, []string{"workspace_events_pkey"}, false},
		check{"FindWorkspaceEvents(recent)", workspaceEventsQuery, []any{"T2", depth - 50, 100}, []string{"workspace_events_pkey"}, false},
	)
	for _, c := range checks {
		plan := queryPlan(t, db, c.query, c.args...)
		for _, w := range c.want {
			if !strings.Contains(plan, w) {
				t.Errorf("%s: plan does not use %q:\n%s", c.name, w, plan)
			}
		}
		for _, node := range planNodes(plan) {
			sort := node == "Sort" || node == "Incremental Sort"
			if sort && !c.allowSort || strings.HasPrefix(node, "Seq Scan") || strings.HasPrefix(node, "Bitmap Heap Scan") {
				t.Errorf("%s: plan has a %s:\n%s", c.name, node, plan)
			}
		}
	}
	if testing.Verbose() {
		q, args := messagesQuery(confab.MessageFilter{ChannelID: ch, Desc: true, Before: 101, Limit: 100})
		t.Logf("deepest page:\n%s", queryPlan(t, db, q, args...))
	}
}

// TestSearchPlans checks that SearchMessages' selection reads the index
// its filter calls for, never a sequential scan of message_search, on
// enough messages (and analyzed) for the planner to have a choice: words,
// phrases and prefixes the tsvector GIN index, substrings the trigram
// one, from: and to: without words their indexes, in: the primary key.
// (A word in most messages is read by a sequential scan, rightly: see
// TestSearchPerf.)
func TestSearchPlans(t *testing.T) {
	db, err := Open(t.Context(), Config{DSN: pgtest.Shared(t).NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	fillSearchData(t, db, 200, 100, 300)
	// Indexed in SQL, for speed: PostgreSQL's parser splits these ASCII
	// texts as SearchTokens would, markup aside.
	for _, q := range []string{
		`INSERT INTO message_search (channel_id, seq, ts, user_id, has_link, reply, mentions, body, tsv)
		 SELECT channel_id, seq, ts, user_id, text LIKE '%<http%', thread_ts <> 0,
			CASE WHEN text LIKE '%<@U1>%' THEN '{U1}'::text[] ELSE '{}' END, text, to_tsvector('simple', text)
		 FROM messages`,
		`VACUUM ANALYZE message_search`,
		`ANALYZE`,
	} {
		if _, err := db.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	base := confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1", Limit: 20}
	rare := searchWord(3000)
	for _, tc := range []struct {
		name string
		edit func(f *confab.SearchFilter)
		want string
	}{
		{"a word", func(f *confab.SearchFilter) { f.Terms = []confab.SearchTerm{{Words: []string{rare}}} }, "message_search_tsv"},
		{"a word, newest first", func(f *confab.SearchFilter) {
			f.Terms, f.Sort = []confab.SearchTerm{{Words: []string{rare}}}, confab.SortTimestamp
		}, "message_search_tsv"},
		{"a phrase", func(f *confab.SearchFilter) {
			f.Terms = []confab.SearchTerm{{Words: []string{rare, searchWord(1)}}}
		}, "message_search_tsv"},
		{"a prefix", func(f *confab.SearchFilter) {
			f.Terms = []confab.SearchTerm{{Words: []string{rare[:5]}, Prefix: true}}
		}, "message_search_tsv"},
		{"a substring", func(f *confab.SearchFilter) {
			f.Terms = []confab.SearchTerm{{Words: []string{rare[1:5]}, Substring: true}}
		}, "message_search_body"},
		{"a word, from:, has:link", func(f *confab.SearchFilter) {
			f.Terms, f.UserIDs, f.HasLink = []confab.SearchTerm{{Words: []string{rare}}}, []string{"U7"}, true
		}, "message_search_"},
		{"from: alone", func(f *confab.SearchFilter) { f.UserIDs = []string{"U7"} }, "message_search_user"},
		{"to: alone", func(f *confab.SearchFilter) { f.ToUserIDs = []string{"U1"} }, "message_search_mentions"},
		{"in: alone", func(f *confab.SearchFilter) { f.ChannelIDs = []string{"C00007"} }, "message_search_pkey"},
	} {
		f := base
		tc.edit(&f)
		page, _, args := searchQueries(f)
		plan := queryPlan(t, db, page, append([]any{pgx.QueryExecModeExec}, args...)...)
		if testing.Verbose() {
			t.Logf("%s:\n%s", tc.name, plan)
		}
		if !strings.Contains(plan, tc.want) {
			t.Errorf("%s: plan does not use %s:\n%s", tc.name, tc.want, plan)
		}
		for _, node := range planNodes(plan) {
			if strings.HasPrefix(node, "Seq Scan on message_search") || strings.HasPrefix(node, "Seq Scan on messages") ||
				strings.HasPrefix(node, "Parallel Seq Scan") {
				t.Errorf("%s: plan has a %s:\n%s", tc.name, node, plan)
			}
		}
	}
}

// TestSearchPlansNewest checks how the selection finds the newest
// matches past the count's cap, on an index of 200,000 rows (analyzed)
// written in time order, as a live one is: a word in half of them is
// read down message_search_ts, every row checked, the scan stopping at
// the cap (the GIN index's bitmap would read every match); a word with
// fewer matches than the cap still comes from the GIN index, as the
// ordered scan would read the whole table for them; in: one channel and
// from: one user read the end of their ranges of the primary key and of
// message_search_user (in the index alone) backwards. None sorts the
// whole selection.
func TestSearchPlansNewest(t *testing.T) {
	db, err := Open(t.Context(), Config{DSN: pgtest.Shared(t).NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	// 1,000 channels, the last 100 private (U1 in half of them); C00001
	// holds a quarter of the rows, U2 posted another quarter. "common" is in
	// every other row, "fewer" in one in 40 (5,000), "rare" in one in
	// 5,000.
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, domain, created) VALUES ('T1', 'acme', 'acme', 1)`,
		`INSERT INTO users (id, workspace_id, name, created) SELECT 'U' || k, 'T1', 'u' || k, 1 FROM generate_series(1, 50) k`,
		`INSERT INTO channels (id, workspace_id, kind, name, created)
		 SELECT 'C' || lpad(c::text, 5, '0'), 'T1', CASE WHEN c > 900 THEN 'private' ELSE 'public' END, 'ch' || c, 1
		 FROM generate_series(1, 1000) c`,
		`INSERT INTO memberships (channel_id, user_id, joined_at)
		 SELECT 'C' || lpad(c::text, 5, '0'), 'U1', 1 FROM generate_series(901, 950) c`,
		`INSERT INTO message_search (channel_id, seq, ts, user_id, body, tsv)
		 SELECT channel_id, k, 1600000000000000 + k::bigint * 1000000, user_id, body, to_tsvector('simple', body)
		 FROM generate_series(1, 200000) k,
		 LATERAL (SELECT CASE WHEN k % 4 = 0 THEN 'C00001' ELSE 'C' || lpad((2 + k % 999)::text, 5, '0') END AS channel_id,
			CASE WHEN k % 4 = 1 THEN 'U2' ELSE 'U' || (3 + k % 47) END AS user_id,
			concat_ws(' ', 'w' || k % 997, CASE WHEN k % 2 = 0 THEN 'common' END,
				CASE WHEN k % 40 = 3 THEN 'fewer' END, CASE WHEN k % 5000 = 7 THEN 'rare' END) AS body) AS r`,
		`VACUUM ANALYZE`,
	} {
		if _, err := db.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	base := confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1", Limit: 20}
	common := []confab.SearchTerm{{Words: []string{"common"}}}
	fewer := []confab.SearchTerm{{Words: []string{"fewer"}}}
	rare := []confab.SearchTerm{{Words: []string{"rare"}}}
	for _, tc := range []struct {
		name string
		edit func(f *confab.SearchFilter)
		want string // the scan of message_search that collects the matches (or another, after a |)
	}{
		{"a common word", func(f *confab.SearchFilter) { f.Terms = common }, "Index Scan Backward using message_search_ts on message_search"},
		{"a common word, newest first", func(f *confab.SearchFilter) {
			f.Terms, f.Sort = common, confab.SortTimestamp
		}, "Index Scan Backward using message_search_ts on message_search"},
		{"a common word, oldest first", func(f *confab.SearchFilter) {
			f.Terms, f.Sort, f.Asc = common, confab.SortTimestamp, true
		}, "Index Scan using message_search_ts on message_search"},
		{"a word in fewer than the cap", func(f *confab.SearchFilter) { f.Terms = fewer }, "Bitmap Index Scan on message_search_tsv"},
		{"a rare word", func(f *confab.SearchFilter) { f.Terms = rare }, "Bitmap Index Scan on message_search_tsv"},
		{"a rare word, newest first", func(f *confab.SearchFilter) {
			f.Terms, f.Sort = rare, confab.SortTimestamp
		}, "Bitmap Index Scan on message_search_tsv"},
		{"in: alone", func(f *confab.SearchFilter) { f.ChannelIDs = []string{"C00001"} },
			"Index Scan Backward using message_search_pkey on message_search"},
		{"in: alone, oldest first", func(f *confab.SearchFilter) {
			f.ChannelIDs, f.Sort, f.Asc = []string{"C00001"}, confab.SortTimestamp, true
		}, "Index Scan using message_search_pkey on message_search"},
		// Down the poster's range, in the index alone (0019): every
		// column the scan needs is in it, where message_search_ts read
		// the table's rows to find the poster's.
		{"from: alone", func(f *confab.SearchFilter) { f.UserIDs = []string{"U2"} },
			"Index Only Scan Backward using message_search_user on message_search"},
	} {
		f := base
		tc.edit(&f)
		page, _, args := searchQueries(f)
		plan := searchPlan(t, db, page, args)
		if testing.Verbose() {
			t.Logf("%s:\n%s", tc.name, plan)
		}
		// The collection is the plan's first CTE, up to its next one.
		hits, _, _ := strings.Cut(plan[strings.Index(plan, "CTE hits"):], "\n  InitPlan")
		if !slices.ContainsFunc(strings.Split(tc.want, "|"), func(w string) bool { return strings.Contains(hits, w) }) {
			t.Errorf("%s: the matches are not collected by %s:\n%s", tc.name, tc.want, plan)
		}
		for _, node := range planNodes(hits) {
			if node == "Sort" && !strings.Contains(tc.want, "message_search_tsv") ||
				strings.HasPrefix(node, "Seq Scan on message_search") || strings.Contains(node, "Gather") {
				t.Errorf("%s: the collection has a %s:\n%s", tc.name, node, plan)
			}
		}
	}
}

// searchPlan returns EXPLAIN's text for a search statement, planned as
// SearchMessages plans it: with its arguments, and its settings.
func searchPlan(t *testing.T, db *DB, query string, args []any) string {
	t.Helper()
	var plan string
	err := db.tx(t.Context(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), searchSettings); err != nil {
			return err
		}
		rows, err := tx.Query(t.Context(), "EXPLAIN "+query, append([]any{pgx.QueryExecModeExec}, args...)...)
		if err != nil {
			return err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		plan = strings.Join(lines, "\n")
		return err
	})
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", query, err)
	}
	return plan
}

// TestSearchUsersPlan: users.search reads its range of user_terms's
// primary key and each user by id, on a workspace of 3,000 users
// (analyzed): no sequential scan of either table.
func TestSearchUsersPlan(t *testing.T) {
	db, err := Open(t.Context(), Config{DSN: pgtest.Shared(t).NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	if _, err := db.pool.Exec(ctx, `INSERT INTO workspaces (id, name, domain, created) VALUES ('T1', 'acme', 'acme', 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `
		INSERT INTO users (id, workspace_id, name, created) SELECT 'U' || i, 'T1', 'user' || i, 1 FROM generate_series(1, 3000) AS i;
		INSERT INTO user_terms (workspace_id, term, user_id) SELECT 'T1', 'user' || i, 'U' || i FROM generate_series(1, 3000) AS i;
		ANALYZE users; ANALYZE user_terms`); err != nil {
		t.Fatal(err)
	}
	// A narrow prefix (its few entries may be read as a bitmap), and one
	// that every user matches: read in order, stopping at the limit.
	for q, scan := range map[string]string{"user12": "user_terms_pkey", "u": "Scan using user_terms_pkey on user_terms"} {
		plan := queryPlan(t, db, searchUsersQuery, "T1", q, q+"\U0010FFFF", 20*confab.MaxUserTerms, 20)
		if !strings.Contains(plan, scan) || !strings.Contains(plan, "using users_pkey on users") ||
			strings.Contains(plan, "Seq Scan") {
			t.Errorf("plan of SearchUsers(%s):\n%s", q, plan)
		}
	}
	us, err := db.SearchUsers(ctx, confab.UserSearch{WorkspaceID: "T1", Query: "user12", Limit: 5})
	if err != nil || len(us) != 5 || us[0].Name != "user12" || us[1].Name != "user120" {
		t.Errorf("SearchUsers(user12) = %v, %v; want user12, user120…", us, err)
	}
}

// TestSearchPlansPairs: a CJK word of two characters (one pair) is read
// from search_pairs' key newest first (oldest first ascending), its rank
// with it, in the index alone: neither the GIN index's bitmap over
// message_search, which read a heap page for every match, nor a lookup
// of each ranked match's tsvector. The answers are the GIN index's, page
// for page. 40,000 messages in 1,000 channels (the last 100 private, U1
// in half of them), a quarter CJK, 会議 in 12,000 of them (once or
// twice: ranks differ), past the count's cap.
func TestSearchPlansPairs(t *testing.T) {
	db, err := Open(t.Context(), Config{DSN: pgtest.Shared(t).NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, domain, created) VALUES ('T1', 'acme', 'acme', 1)`,
		`INSERT INTO users (id, workspace_id, name, created) SELECT 'U' || k, 'T1', 'u' || k, 1 FROM generate_series(1, 50) k`,
		`INSERT INTO channels (id, workspace_id, kind, name, created)
		 SELECT 'C' || lpad(c::text, 5, '0'), 'T1', CASE WHEN c > 900 THEN 'private' ELSE 'public' END, 'ch' || c, 1
		 FROM generate_series(1, 1000) c`,
		`INSERT INTO memberships (channel_id, user_id, joined_at)
		 SELECT 'C' || lpad(c::text, 5, '0'), 'U1', 1 FROM generate_series(901, 950) c`,
	} {
		if _, err := db.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const n = 40000
	var (
		chans, users, texts, bodies, tsvs []string
		seqs, tss                         []int64
	)
	for k := 1; k <= n; k++ {
		text := fmt.Sprintf("w%d and more", k%997)
		switch k % 10 {
		case 0, 3, 6:
			text = "明日の会議の資料" // 会議 once
		case 9:
			text = "会議は会議室で" // twice
		case 1:
			text = "資料を共有します" // no 会議
		}
		m := &confab.Message{Text: text}
		d := newSearchDoc(m)
		chans = append(chans, fmt.Sprintf("C%05d", 1+k%1000))
		seqs = append(seqs, int64(k))
		tss = append(tss, 1600000000000000+int64(k)*1000000)
		users = append(users, fmt.Sprintf("U%d", 2+k%40))
		texts, bodies, tsvs = append(texts, text), append(bodies, d.body), append(tsvs, d.tsv)
	}
	for q, args := range map[string][]any{
		`INSERT INTO messages (channel_id, seq, ts, user_id, text, change_seq, num)
		 SELECT c, s, ts, u, x, s, s FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[]) AS d(c, s, ts, u, x)`: {
			chans, seqs, tss, users, texts},
		`INSERT INTO message_search (channel_id, seq, ts, user_id, body, tsv)
		 SELECT c, s, ts, u, b, v::tsvector FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[]) AS d(c, s, ts, u, b, v)`: {
			chans, seqs, tss, users, bodies, tsvs},
	} {
		if _, err := db.pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := db.pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		t.Fatal(err)
	}

	base := confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1", Limit: 20,
		Terms: []confab.SearchTerm{{Words: confab.SearchTokens("会議")}}}
	for _, tc := range []struct {
		name string
		edit func(f *confab.SearchFilter)
		want string // the scan that collects the matches
	}{
		{"by score", func(f *confab.SearchFilter) {}, "Index Only Scan Backward using search_pairs_pkey on search_pairs"},
		{"newest first", func(f *confab.SearchFilter) { f.Sort = confab.SortTimestamp }, "Index Only Scan Backward using search_pairs_pkey on search_pairs"},
		{"oldest first", func(f *confab.SearchFilter) { f.Sort, f.Asc = confab.SortTimestamp, true }, "Index Only Scan using search_pairs_pkey on search_pairs"},
		{"in: one channel", func(f *confab.SearchFilter) { f.ChannelIDs = []string{"C00010"} }, "Index Only Scan Backward using search_pairs_pkey on search_pairs"},
		{"in: two channels", func(f *confab.SearchFilter) { f.ChannelIDs = []string{"C00010", "C00910"} }, "using search_pairs_pkey on search_pairs"},
		{"after: before:", func(f *confab.SearchFilter) {
			f.Since, f.Until = 1600000000000000+10000*1000000, 1600000000000000+20000*1000000
		}, "Index Only Scan Backward using search_pairs_pkey on search_pairs"},
	} {
		f := base
		tc.edit(&f)
		page, _, args := searchQueries(f)
		plan := searchPlan(t, db, page, args)
		if testing.Verbose() {
			t.Logf("%s:\n%s", tc.name, plan)
		}
		hits, _, _ := strings.Cut(plan[strings.Index(plan, "CTE hits"):], "\n  InitPlan")
		if !strings.Contains(hits, tc.want) {
			t.Errorf("%s: the matches are not collected by %s:\n%s", tc.name, tc.want, plan)
		}
		// Nothing of message_search: no bitmap over it, no rank read
		// from its tsvectors.
		if strings.Contains(plan, "on message_search") {
			t.Errorf("%s: the plan reads message_search:\n%s", tc.name, plan)
		}
		for _, node := range planNodes(hits) {
			if node == "Sort" || strings.HasPrefix(node, "Seq Scan on search_pairs") || strings.Contains(node, "Gather") {
				t.Errorf("%s: the collection has a %s:\n%s", tc.name, node, plan)
			}
		}

		// The same answers as the GIN index's: pages, order, total.
		for _, off := range []int{0, 40, 1980, 9990, 20000} {
			f.Offset = off
			byPairs, err := db.SearchMessages(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			searchByPairs = false
			byGIN, err := db.SearchMessages(ctx, f)
			searchByPairs = true
			if err != nil {
				t.Fatal(err)
			}
			if got, want := searchKeys(byPairs), searchKeys(byGIN); byPairs.Total != byGIN.Total ||
				byPairs.Capped != byGIN.Capped || !slices.Equal(got, want) {
				t.Errorf("%s, offset %d: by pairs %d%v %v, by the GIN index %d%v %v",
					tc.name, off, byPairs.Total, byPairs.Capped, got, byGIN.Total, byGIN.Capped, want)
			}
			if off == 0 && byPairs.Total == 0 {
				t.Errorf("%s: found nothing", tc.name)
			}
		}
	}
	// Anything else asked of the rows (a poster) is the GIN index's way.
	f := base
	f.UserIDs = []string{"U7"}
	page, _, args := searchQueries(f)
	if plan := searchPlan(t, db, page, args); strings.Contains(plan, "search_pairs") {
		t.Errorf("from: with a pair reads search_pairs:\n%s", plan)
	}
}

// searchKeys returns the messages' keys, in order.
func searchKeys(res *confab.SearchResult) []string {
	var keys []string
	for _, m := range res.Messages {
		keys = append(keys, fmt.Sprintf("%s/%d", m.ChannelID, m.Seq))
	}
	return keys
}
