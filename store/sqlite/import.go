package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/confab/confab"
)

// ImportMessages stores an import's messages in one write (see
// confab.Store). Everything that does not need the database is worked out
// before the write: search documents, mentions, and the replies each
// thread gets. In the write, the channel's counters are read once and
// written once, the ts there already are found in one statement, and the
// rows go in statements of many rows each (messages with their threads'
// counts, reactions, mentions, the search index): a few dozen statements
// for a thousand messages, where a post's path would take several each.
func (db *DB) ImportMessages(ctx context.Context, channelID string, msgs []*confab.Message) (int, error) {
	db.queries.Write("ImportMessages")
	in, err := confab.PrepareImport(channelID, msgs)
	if err != nil {
		return 0, err
	}
	// Mentions are made here, not in the committer. The search index is
	// written after, in the background (indexPending).
	mentions := make([]importMentions, len(in))
	tss := make([]int64, len(in))
	for i := range in {
		m := &in[i]
		tss[i] = m.TS
		if confab.IsSystemSubtype(m.Subtype) {
			continue // mentions no one
		}
		users, broadcast := confab.Mentions(m.Text, m.Blocks)
		mentions[i] = importMentions{users: users, broadcast: broadcast}
	}
	// While live writes come in, the import goes in chunks, each followed
	// by a pause: posts wait for a chunk, not a whole batch, and the
	// import takes a share of the writer and of the CPU, not all of it.
	created := 0
	for first := true; first || len(in) > 0; first = false { // once at least: the channel is checked
		n := len(in)
		live := db.live()
		if live {
			n = min(n, importLiveChunk)
		}
		start := time.Now()
		c, err := db.importChunk(ctx, channelID, in[:n], mentions[:n], tss[:n])
		created += c
		if err != nil {
			return created, err
		}
		if c > 0 {
			db.importAt.Store(time.Now().UnixNano())
			db.wakeIndexer()
		}
		in, mentions, tss = in[n:], mentions[n:], tss[n:]
		if live {
			t := time.NewTimer(importLiveYield * time.Since(start))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return created, ctx.Err()
			}
		}
	}
	return created, nil
}

// An import yields to live writes (db.live): it writes importLiveChunk
// messages a transaction, and after each waits importLiveYield times as
// long as the chunk took.
const (
	importLiveChunk = 100
	importLiveYield = 8
)

// liveWindow is how recent a live write must be for an import to yield.
const liveWindow = time.Second

// live reports whether a live write came in within liveWindow.
func (db *DB) live() bool {
	return time.Since(time.Unix(0, db.liveAt.Load())) < liveWindow
}

// importChunk writes messages of an import, in ts order, in one
// transaction; docs, mentions and tss are theirs.
func (db *DB) importChunk(ctx context.Context, channelID string, in []confab.Message,
	mentions []importMentions, tss []int64) (int, error) {
	var created int
	err := db.background(ctx, func(ctx context.Context, tx *sql.Conn) error {
		created = 0
		var lastSeq, lastTS, count int64
		err := tx.QueryRowContext(ctx, `SELECT last_seq, last_ts, message_count FROM channels WHERE id = ?`,
			channelID).Scan(&lastSeq, &lastTS, &count)
		if errors.Is(err, sql.ErrNoRows) {
			return confab.ErrChannelNotFound
		} else if err != nil {
			return fmt.Errorf("import into %s: %w", channelID, err)
		}
		there := map[int64]bool{}
		if len(in) > 0 && in[0].TS <= lastTS {
			b, _ := json.Marshal(tss)
			found, err := queryAll(ctx, tx, scanInt64,
				`SELECT ts FROM messages WHERE channel_id = ? AND ts IN (SELECT value FROM json_each(?))`, channelID, string(b))
			if err != nil {
				return fmt.Errorf("import into %s: %w", channelID, err)
			}
			for _, ts := range found {
				there[ts] = true
			}
		}
		cnt := confab.ImportCounters{LastSeq: lastSeq, LastTS: lastTS, Count: count}
		numbered, err := confab.NumberImport(in, there, &cnt)
		if err != nil {
			return err
		}
		fresh, top := numbered.Fresh, numbered.Top
		if len(fresh) == 0 {
			return nil
		}
		w := &rowWriter{ctx: ctx, tx: tx}
		defer w.close()

		// Messages, a thread's parent with its count when the batch has
		// it: replies come after their parent, by ts.
		args := make([]any, 0, len(fresh)*importMessageCols)
		for _, i := range fresh {
			m := &in[i]
			t := numbered.ParentReplies(m)
			args = append(args, channelID, m.Seq, m.TS, m.UserID, m.Text, m.ThreadTS, m.EditedTS, m.ChangeSeq, m.Num,
				m.Blocks, m.Attachments, m.Metadata, m.Username, m.IconEmoji, m.IconURL, m.Broadcast, m.Subtype,
				t.N, t.Latest)
		}
		if err := w.insert(importMessages, args); err != nil {
			return fmt.Errorf("import into %s: messages: %w", channelID, err)
		}
		// Threads whose parent came in an earlier batch: one update each.
		for _, ts := range slices.Sorted(maps.Keys(numbered.Replies)) {
			if t := numbered.Replies[ts]; t.N > 0 {
				if err := w.exec(`UPDATE messages SET reply_count = reply_count + ?, latest_reply = max(latest_reply, ?)
					WHERE channel_id = ? AND ts = ?`, t.N, t.Latest, channelID, ts); err != nil {
					return fmt.Errorf("import into %s: thread parent: %w", channelID, err)
				}
			}
		}

		args = args[:0]
		for _, i := range fresh {
			m := &in[i]
			seq := m.Seq
			for _, r := range m.Reactions {
				for _, u := range r.Users {
					seq++
					args = append(args, channelID, m.Seq, m.TS, r.Name, u, seq)
				}
			}
		}
		if err := w.insert(importReactions, args); err != nil {
			return fmt.Errorf("import into %s: reactions: %w", channelID, err)
		}

		if err := importMentionRows(w, channelID, in, fresh, mentions); err != nil {
			return err
		}
		if len(fresh) > 0 {
			// What the index is to take, in the background.
			if err := w.exec(`INSERT INTO search_pending (channel_id, from_seq, to_seq) VALUES (?, ?, ?)
				ON CONFLICT DO UPDATE SET to_seq = max(to_seq, excluded.to_seq)`,
				channelID, in[fresh[0]].Seq, in[fresh[len(fresh)-1]].Seq); err != nil {
				return fmt.Errorf("import into %s: %w", channelID, err)
			}
		}
		created = len(fresh)

		if err := w.exec(`UPDATE channels SET last_seq = ?, last_ts = ?, message_count = ? WHERE id = ?`,
			cnt.LastSeq, cnt.LastTS, cnt.Count, channelID); err != nil {
			return fmt.Errorf("import into %s: %w", channelID, err)
		}
		if top != nil {
			// Nothing imported is unread.
			if err := w.exec(`UPDATE memberships SET last_read_seq = ?, last_read_ts = ?, last_read_count = ?
				 WHERE channel_id = ? AND last_read_seq < ?`,
				top.Seq, top.TS, top.Num, channelID, top.Seq); err != nil {
				return fmt.Errorf("import into %s: read markers: %w", channelID, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return created, nil
}

// importMentions is whom an imported message mentions: users by name, and
// a channel-wide mention ("channel", "everyone", "here") if any.
type importMentions struct {
	users     []string
	broadcast string
}

// importMentionRows writes the mentions of the new messages: the members
// each mentions by name (not its poster) in one statement; a message that
// mentions the whole channel takes the path of a post. <!here> reaches no
// one in an import: no one was active then.
func importMentionRows(w *rowWriter, channelID string, in []confab.Message, fresh []int, mentions []importMentions) error {
	var pairs [][2]any // seq, user
	for _, i := range fresh {
		m, mn := &in[i], mentions[i]
		if mn.broadcast == confab.MentionChannel || mn.broadcast == confab.MentionEveryone {
			if err := writeMentions(w.ctx, w.tx, m, nil, false); err != nil {
				return err
			}
			continue
		}
		for _, u := range mn.users {
			if u != m.UserID {
				pairs = append(pairs, [2]any{m.Seq, u})
			}
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	b, err := json.Marshal(pairs)
	if err != nil {
		return fmt.Errorf("import into %s: mentions: %w", channelID, err)
	}
	if err := w.exec(`INSERT INTO mentions (channel_id, seq, user_id, direct)
		SELECT ?1, j.value ->> 0, j.value ->> 1, true FROM json_each(?2) AS j
		WHERE EXISTS (SELECT 1 FROM memberships WHERE channel_id = ?1 AND user_id = j.value ->> 1)
		ON CONFLICT (channel_id, seq, user_id) DO UPDATE SET direct = excluded.direct`, channelID, string(b)); err != nil {
		return fmt.Errorf("import into %s: mentions: %w", channelID, err)
	}
	return nil
}

// importIndex adds the new messages to the search index as indexMessage
// does, many rows a statement: the batch's new words, then each chunk's
// search_rows, search_words and search_mentions. A message's index id is
// its ts; when another channel's message holds one of a chunk's, the
// chunk's statement fails as a whole and its messages go one by one, each
// finding a free id.
func importIndex(w *rowWriter, in []confab.Message, fresh []int, docs []*indexDoc, num int64) error {
	var words []string
	var idx []int
	for _, i := range fresh {
		if docs[i] != nil {
			words = append(words, docs[i].tokens...)
			idx = append(idx, i)
		}
	}
	if len(words) > 0 {
		b, _ := json.Marshal(slices.Compact(slices.Sorted(slices.Values(words))))
		if err := w.exec(`INSERT OR IGNORE INTO search_vocab (token) SELECT value FROM json_each(?)`, string(b)); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	tag := chanTag(num)
	for len(idx) > 0 {
		chunk := idx[:min(len(idx), importIndexChunk)]
		idx = idx[len(chunk):]
		rows := make([]any, 0, len(chunk)*6)
		for _, i := range chunk {
			m := &in[i]
			rows = append(rows, m.TS, num, m.Seq, m.TS, m.UserID, docs[i].link)
		}
		err := w.insert(importSearchRows, rows)
		if sqliteCode(err) == sqlite3.ErrConstraintPrimaryKey {
			for _, i := range chunk {
				d := *docs[i]
				d.tokens = nil // in search_vocab already
				if err := indexMessage(w.ctx, w.tx, &in[i], num, &d, true); err != nil {
					return err
				}
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		rows = rows[:0]
		var mentioned []any
		for _, i := range chunk {
			d := docs[i]
			rows = append(rows, in[i].TS, d.body, tag+" "+d.userTag, d.cjk)
			for _, u := range slices.Compact(slices.Sorted(slices.Values(d.mentions))) {
				mentioned = append(mentioned, in[i].TS, u)
			}
		}
		if err := w.insert(importSearchWords, rows); err != nil {
			return fmt.Errorf("index: %w", err)
		}
		if err := w.insert(importSearchMentions, mentioned); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	return nil
}

// importIndexChunk is how many messages' index rows go in one try: a
// chunk whose ids collide is indexed again one message at a time.
const importIndexChunk = 100

// The import's statements of many rows (rowWriter.insert).
var (
	importMessages = rowsStatement{
		head: `INSERT INTO messages (channel_id, seq, ts, user_id, text, thread_ts, client_msg_id, edited_ts, change_seq, num,
			blocks, attachments, metadata, username, icon_emoji, icon_url, broadcast, subtype, reply_count, latest_reply) VALUES `,
		row: `(?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, cols: importMessageCols}
	importReactions = rowsStatement{
		head: `INSERT INTO reactions (channel_id, message_seq, message_ts, name, user_id, seq, removed) VALUES `,
		row:  `(?, ?, ?, ?, ?, ?, 0)`, tail: ` ON CONFLICT DO NOTHING`, cols: 6}
	importSearchRows = rowsStatement{
		head: `INSERT INTO search_rows (id, chan, seq, ts, user_id, has_link) VALUES `, row: `(?, ?, ?, ?, ?, ?)`, cols: 6}
	importSearchWords = rowsStatement{
		head: `INSERT INTO search_words (rowid, body, tags, cjk) VALUES `, row: `(?, ?, ?, ?)`, cols: 4}
	importSearchMentions = rowsStatement{
		head: `INSERT OR IGNORE INTO search_mentions (id, user_id) VALUES `, row: `(?, ?)`, cols: 2}
)

const importMessageCols = 19

// rowsStatement is an INSERT of many rows: head, then row repeated with
// commas, then tail; cols is row's parameters.
type rowsStatement struct {
	head, row, tail string
	cols            int
}

// rowsPerStatement bounds the rows of one statement: enough that a
// statement's fixed cost is spread thin, few enough that its text stays
// small to prepare.
const rowsPerStatement = 100

// rowWriter runs the statements of one write transaction, preparing each
// text once.
type rowWriter struct {
	ctx   context.Context
	tx    *sql.Conn
	stmts map[string]*sql.Stmt
}

func (w *rowWriter) stmt(query string) (*sql.Stmt, error) {
	if s := w.stmts[query]; s != nil {
		return s, nil
	}
	s, err := w.tx.PrepareContext(w.ctx, query)
	if err != nil {
		return nil, err
	}
	if w.stmts == nil {
		w.stmts = map[string]*sql.Stmt{}
	}
	w.stmts[query] = s
	return s, nil
}

func (w *rowWriter) exec(query string, args ...any) error {
	s, err := w.stmt(query)
	if err != nil {
		return err
	}
	_, err = s.ExecContext(w.ctx, args...)
	return err
}

// insert runs q over args, q.cols of them a row, rowsPerStatement rows a
// statement.
func (w *rowWriter) insert(q rowsStatement, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/q.cols, rowsPerStatement)
		var b strings.Builder
		b.WriteString(q.head)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(q.row)
		}
		b.WriteString(q.tail)
		if err := w.exec(b.String(), args[:n*q.cols]...); err != nil {
			return err
		}
		args = args[n*q.cols:]
	}
	return nil
}

func (w *rowWriter) close() {
	for _, s := range w.stmts {
		s.Close()
	}
}
