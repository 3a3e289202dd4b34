package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/store/sqlite"
)

// BenchmarkImportFloor is the floor of BenchmarkStore/ImportMessages on
// this machine: the same rows (a thousand messages of a Slack export's
// shape a transaction, their reactions and mentions, and, in "index",
// their search rows) written into the same schema, with the same
// durability (WAL, synchronous=FULL), by the plainest loop: every value
// worked out before the clock starts, then BEGIN, one INSERT of 100 rows
// after another, COMMIT. What confab's import spends beyond it is its
// own. scripts/bench-import.sh compares the server's rate with it.
func BenchmarkImportFloor(b *testing.B) {
	for _, index := range []bool{false, true} {
		name := "noindex"
		if index {
			name = "index"
		}
		b.Run(name, func(b *testing.B) { importFloor(b, index) })
	}
}

func importFloor(b *testing.B, index bool) {
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "confab.db")
	// The schema, a workspace, a channel of 50 members, through the store.
	store, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	ws := &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Domain: "floor", Created: 1}
	var members []string
	for i := range 50 {
		u := &confab.User{ID: confab.NewID(confab.PrefixUser), Name: fmt.Sprintf("m%d", i), Created: 1}
		if i == 0 {
			if err := store.CreateWorkspace(ctx, ws, u); err != nil {
				b.Fatal(err)
			}
		} else {
			u.WorkspaceID = ws.ID
			if err := store.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
		}
		members = append(members, u.ID)
	}
	c := &confab.Channel{ID: confab.NewID(confab.PrefixChannel), WorkspaceID: ws.ID, Kind: confab.KindPublic, Name: "history", Created: 1}
	if err := store.CreateChannel(ctx, c, members); err != nil {
		b.Fatal(err)
	}
	if err := store.Close(); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+
		"?_journal_mode=WAL&_synchronous=FULL&_foreign_keys=1&_txlock=immediate&_stmt_cache_size=64")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("the deploy review build release meeting lunch ticket bug fix merge branch test server database latency")
	var seq, ts int64 = 0, 1_577_836_800_000_000
	type batch struct{ messages, reactions, mentions, rows, words []any }
	next := func() batch {
		var bt batch
		var parents []int
		for range 1000 {
			seq++
			ts += 1000 + rng.Int64N(1_000_000)
			who := rng.IntN(len(members))
			user := members[who]
			var thread int64
			if len(parents) > 0 && rng.IntN(3) == 0 {
				p := parents[rng.IntN(len(parents))]
				thread = bt.messages[p+2].(int64)
				bt.messages[p+17] = bt.messages[p+17].(int) + 1
				bt.messages[p+18] = ts
			} else if rng.IntN(8) == 0 {
				parents = append(parents, len(bt.messages))
			}
			var text []string
			for range 4 + rng.IntN(20) {
				text = append(text, words[rng.IntN(len(words))]+strconv.Itoa(rng.IntN(50)))
			}
			if rng.IntN(10) == 0 {
				u := members[rng.IntN(len(members))]
				text = append(text, "<@"+u+">")
				bt.mentions = append(bt.mentions, c.ID, seq, u)
			}
			body, link := confab.SearchDoc(strings.Join(text, " "))
			bt.messages = append(bt.messages, c.ID, seq, ts, user, strings.Join(text, " "), thread, int64(0), seq, seq,
				"", "", "", "", "", "", false, "", 0, int64(0))
			msgSeq := seq
			if rng.IntN(6) == 0 {
				for _, u := range []string{user, members[(who+1)%len(members)]} {
					seq++
					bt.reactions = append(bt.reactions, c.ID, msgSeq, ts, "eyes", u, seq)
				}
			}
			bt.rows = append(bt.rows, ts, 1, msgSeq, ts, user, link)
			bt.words = append(bt.words, ts, body, "c1 u"+user, "")
		}
		return bt
	}
	insert := func(head, row string, cols int, args []any) {
		for len(args) > 0 {
			n := min(len(args)/cols, 100)
			q := head + strings.TrimSuffix(strings.Repeat(row+",", n), ",")
			if _, err := conn.ExecContext(ctx, q, args[:n*cols]...); err != nil {
				b.Fatal(err)
			}
			args = args[n*cols:]
		}
	}
	exec := func(q string) {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		b.StopTimer()
		bt := next()
		b.StartTimer()
		exec("BEGIN IMMEDIATE")
		insert(`INSERT INTO messages (channel_id, seq, ts, user_id, text, thread_ts, edited_ts, change_seq, num,
			blocks, attachments, metadata, username, icon_emoji, icon_url, broadcast, subtype, reply_count, latest_reply) VALUES `,
			`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, 19, bt.messages)
		insert(`INSERT INTO reactions (channel_id, message_seq, message_ts, name, user_id, seq) VALUES `, `(?, ?, ?, ?, ?, ?)`, 6, bt.reactions)
		insert(`INSERT OR IGNORE INTO mentions (channel_id, seq, user_id, direct) VALUES `, `(?, ?, ?, 1)`, 3, bt.mentions)
		if index {
			insert(`INSERT INTO search_rows (id, chan, seq, ts, user_id, has_link) VALUES `, `(?, ?, ?, ?, ?, ?)`, 6, bt.rows)
			insert(`INSERT INTO search_words (rowid, body, tags, cjk) VALUES `, `(?, ?, ?, ?)`, 4, bt.words)
		}
		exec("COMMIT")
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "msgs/s")
}
