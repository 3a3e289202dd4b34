package postgres

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab"
	"github.com/confab/confab/internal/pgtest"
)

// searchVocabSQL is a vocabulary of 8000 made-up words (kaka, loka, …,
// two or three syllables), and searchWord the same in Go: word i of it.
const searchVocabSQL = `WITH syl AS (SELECT ARRAY['ka','lo','mi','ne','ru','sa','ti','po','de','bu',
		'ga','fe','ho','ji','ku','vo','wy','ze','xa','ci'] a),
	vocab AS (SELECT array_agg(a[1 + i % 20] || a[1 + (i / 20) % 20] || CASE WHEN i >= 400 THEN a[1 + (i / 400) % 20] ELSE '' END
		ORDER BY i) v FROM syl, generate_series(0, 7999) i)`

func searchWord(i int) string {
	a := []string{"ka", "lo", "mi", "ne", "ru", "sa", "ti", "po", "de", "bu", "ga", "fe", "ho", "ji", "ku", "vo", "wy", "ze", "xa", "ci"}
	w := a[i%20] + a[i/20%20]
	if i >= 400 {
		w += a[i/400%20]
	}
	return w
}

// fillSearchData writes a workspace T1 of `users` users (U1 the reader)
// and `chans` channels of `depth` messages each (the last tenth private,
// U1 a member of the first 50 public ones and of half the private ones,
// and of 20 DMs), 4 to 20 words a message drawn from the vocabulary
// with Zipf's law (the commonest in most messages, as "the" is), a link
// in one in 20, a mention of U1 in one in 50, every 20th message a reply
// to the one before; reactions and pins on a few. The messages are
// written as an older database has them, not indexed.
//
// Shared by TestSearchPlans.
func fillSearchData(t testing.TB, db *DB, users, chans, depth int) {
	ctx := t.Context()
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, domain, created) VALUES ('T1', 'acme', 'acme', 1)`,
		fmt.Sprintf(`INSERT INTO users (id, workspace_id, name, created) SELECT 'U' || k, 'T1', 'u' || k, 1 FROM generate_series(1, %d) k`, users),
		fmt.Sprintf(`INSERT INTO channels (id, workspace_id, kind, name, created, last_seq, last_ts, message_count)
		 SELECT 'C' || lpad(c::text, 5, '0'), 'T1', CASE WHEN c > %d THEN 'private' ELSE 'public' END, 'ch' || c, 1,
		   %d, 1600000000000000 + %d * 1000000 + c, %d
		 FROM generate_series(1, %d) c`, chans*9/10, depth, depth, depth, chans),
		fmt.Sprintf(`INSERT INTO channels (id, workspace_id, kind, key, created)
		 SELECT 'D' || lpad(k::text, 5, '0'), 'T1', 'dm', 'U1,U' || k, 1 FROM generate_series(2, 21) k`),
		fmt.Sprintf(`INSERT INTO memberships (channel_id, user_id, joined_at)
		 SELECT id, 'U1', 1 FROM channels WHERE id <= 'C00050' OR (kind = 'private' AND id LIKE '%%0') OR kind = 'dm'`),
		`INSERT INTO memberships (channel_id, user_id, joined_at) SELECT id, 'U' || substr(id, 2)::int, 1 FROM channels WHERE kind = 'dm'`,
		searchVocabSQL + fmt.Sprintf(`
		INSERT INTO messages (channel_id, seq, ts, user_id, text, thread_ts, change_seq, num, reply_count)
		SELECT 'C' || lpad(c::text, 5, '0'), k, 1600000000000000 + k * 1000000 + c, 'U' || (1 + (k * 31 + c) %% %d),
			(SELECT string_agg(vocab.v[1 + (floor(exp(random() * ln(8000)))::int + 0 * g) %% 8000], ' ')
			 FROM generate_series(1, 4 + (k * 7 + c) %% 17) g) ||
			CASE WHEN (k + c) %% 20 = 0 THEN ' <https://example.com/' || k || '|link>' ELSE '' END ||
			CASE WHEN (k * 3 + c) %% 50 = 0 THEN ' <@U1> look' ELSE '' END,
			CASE WHEN k %% 20 = 0 THEN 1600000000000000 + (k - 1) * 1000000 + c ELSE 0 END,
			k, k, CASE WHEN k %% 20 = 19 THEN 1 ELSE 0 END
		FROM vocab, generate_series(1, %d) c, generate_series(1, %d) k`, users, chans, depth),
		`INSERT INTO reactions (channel_id, message_seq, message_ts, name, user_id, seq)
		 SELECT channel_id, seq, ts, CASE WHEN seq % 2 = 0 THEN 'eyes' ELSE 'tada' END, 'U2', 1000000 + seq FROM messages WHERE (seq * 7 + ts) % 23 = 0`,
		`INSERT INTO pins (channel_id, message_ts, user_id, created, version)
		 SELECT channel_id, ts, 'U1', 1, seq FROM messages WHERE seq % 97 = 0`,
	} {
		if _, err := db.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%.200s: %v", q, err)
		}
	}
}

// TestSearchPerf measures SearchMessages over a million messages in 1,000
// channels: the background indexing's pace, then each pattern's p50 and
// p99 and its plan. It takes minutes: it runs only when
// CONFAB_SEARCH_PERF is set (to a DSN of an empty database to use, or to
// 1 for a throwaway server); a database filled by an earlier run is
// searched again as it is.
func TestSearchPerf(t *testing.T) {
	dsn := os.Getenv("CONFAB_SEARCH_PERF")
	if dsn == "" {
		t.Skip("set CONFAB_SEARCH_PERF to run")
	}
	if dsn == "1" {
		dsn = pgtest.Shared(t).NewDatabase(t)
	}
	db := mustOpen(t, Config{DSN: dsn})
	ctx := t.Context()
	var filled bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workspaces WHERE id = 'T1')`).Scan(&filled); err != nil {
		t.Fatal(err)
	}
	if filled { // a database of an earlier run
		runSearchPatterns(t, db, searchRuns)
		return
	}
	start := time.Now()
	fillSearchData(t, db, 1000, 1000, 1000)
	if _, err := db.pool.Exec(ctx, `UPDATE search_backfill SET done = false, channel_id = '', seq = 0`); err != nil {
		t.Fatal(err)
	}
	t.Logf("1M messages written in %v", time.Since(start).Round(time.Second))
	start = time.Now()
	if done, err := db.backfill(ctx); err != nil || !done {
		t.Fatalf("backfill = %v, %v", done, err)
	}
	t.Logf("indexed %d in %v", db.backfilled.Load(), time.Since(start).Round(time.Second))
	if _, err := db.pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		t.Fatal(err)
	}
	var size string
	db.pool.QueryRow(ctx, `SELECT pg_size_pretty(pg_total_relation_size('message_search'))`).Scan(&size)
	t.Logf("message_search: %s", size)
	runSearchPatterns(t, db, searchRuns)
}

// runSearchPatterns times each search pattern runs times, with words of
// its frequency band, and logs p50, p99 and a plan.
func runSearchPatterns(t *testing.T, db *DB, runs int) {
	ctx := t.Context()
	base := confab.SearchFilter{WorkspaceID: "T1", ReaderID: "U1", Limit: 20}
	term := func(i int) confab.SearchTerm { return confab.SearchTerm{Words: []string{searchWord(i)}} }
	patterns := []struct {
		name string
		f    func(i int) confab.SearchFilter
	}{
		{"common word", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{term(i % 3)}
			return f
		}},
		{"mid word", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{term(50 + i)}
			return f
		}},
		{"rare word", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{term(3000 + i*7)}
			return f
		}},
		{"two words", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{term(i % 10), term(100 + i)}
			return f
		}},
		{"phrase", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{{Words: []string{searchWord(i % 5), searchWord(i%7 + 5)}}}
			return f
		}},
		{"prefix", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{{Words: []string{searchWord(400 + i)[:4]}, Prefix: true}}
			return f
		}},
		{"substring", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{{Words: []string{searchWord(400 + i*5)[1:5]}, Substring: true}}
			return f
		}},
		{"word, newest first", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{term(i % 50)}
			f.Sort = confab.SortTimestamp
			return f
		}},
		{"word in:channel", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{term(i % 50)}
			f.ChannelIDs = []string{fmt.Sprintf("C%05d", 1+i%40)}
			return f
		}},
		{"word from:user", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{term(i % 50)}
			f.UserIDs = []string{fmt.Sprintf("U%d", 2+i)}
			return f
		}},
		{"from:user", func(i int) confab.SearchFilter {
			f := base
			f.UserIDs = []string{fmt.Sprintf("U%d", 2+i)}
			f.Sort = confab.SortTimestamp
			return f
		}},
		{"in:channel", func(i int) confab.SearchFilter {
			f := base
			f.ChannelIDs = []string{fmt.Sprintf("C%05d", 1+i%40)}
			f.Sort = confab.SortTimestamp
			return f
		}},
		{"to:me", func(i int) confab.SearchFilter {
			f := base
			f.ToUserIDs = []string{"U1"}
			f.Offset = i % 5 * 20
			return f
		}},
		{"word has:link is:thread", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{term(i % 20)}
			f.HasLink, f.IsThread = true, i%2 == 0
			return f
		}},
		{"word has::eyes:", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{term(i % 20)}
			f.Reaction = "eyes"
			return f
		}},
		{"word -word", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{term(10 + i%20)}
			f.Excluded = []confab.SearchTerm{term(i % 3)}
			return f
		}},
		{"word, page 5", func(i int) confab.SearchFilter {
			f := base
			f.Terms = []confab.SearchTerm{term(i % 50)}
			f.Offset = 80
			return f
		}},
	}
	var all []time.Duration
	for _, p := range patterns {
		var took []time.Duration
		var total int
		for i := range runs {
			start := time.Now()
			res, err := db.SearchMessages(ctx, p.f(i))
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			took = append(took, time.Since(start))
			total += res.Total
		}
		slices.Sort(took)
		all = append(all, took...)
		page, _, args := searchQueries(p.f(0))
		rows, err := db.pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+page, append([]any{pgx.QueryExecModeExec}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-24s p50 %6.1fms p99 %6.1fms max %6.1fms  mean total %d", p.name,
			ms(took[len(took)/2]), ms(took[len(took)*99/100]), ms(took[len(took)-1]), total/runs)
		if testing.Verbose() && os.Getenv("CONFAB_SEARCH_PLANS") != "" {
			t.Logf("plan:\n%s", strings.Join(plan, "\n"))
		}
	}
	slices.Sort(all)
	t.Logf("%-24s p50 %6.1fms p99 %6.1fms", "all", ms(all[len(all)/2]), ms(all[len(all)*99/100]))
}

// searchRuns is how many times TestSearchPerf runs each pattern
// (CONFAB_SEARCH_RUNS, default 100).
var searchRuns = func() int {
	n, err := strconv.Atoi(os.Getenv("CONFAB_SEARCH_RUNS"))
	if err != nil || n <= 0 {
		return 100
	}
	return n
}()

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
