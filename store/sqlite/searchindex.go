package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/confab/confab"
	"github.com/mattn/go-sqlite3"
)

// A message's index id is its ts, or, when another channel's message
// holds that id, the next free one at most maxBump above it (see
// migrations/0015_search.sql): the id order is the time order.
const maxBump = 1_000_000 // µs

// channelNum returns the channel's search number (channels.search_num),
// giving it one at its first indexed message when create is set; 0 if it
// has none.
func channelNum(ctx context.Context, tx queryer, channelID string, create bool) (int64, error) {
	var num int64
	if err := tx.QueryRowContext(ctx, `SELECT search_num FROM channels WHERE id = ?`, channelID).Scan(&num); err != nil {
		return 0, err
	}
	if num != 0 || !create {
		return num, nil
	}
	return newChannelNum(ctx, tx, channelID)
}

// newChannelNum gives the channel its search number.
func newChannelNum(ctx context.Context, tx queryer, channelID string) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO search_channels (id) VALUES (?)`, channelID)
	if err != nil {
		return 0, err
	}
	num, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE channels SET search_num = ? WHERE id = ?`, num, channelID); err != nil {
		return 0, err
	}
	return num, nil
}

// freeID returns the first id above ts that no indexed message holds.
func freeID(ctx context.Context, tx queryer, ts int64) (int64, error) {
	ids, err := queryAll(ctx, tx, scanInt64,
		`SELECT id FROM search_rows WHERE id > ? AND id <= ? ORDER BY id`, ts, ts+maxBump)
	if err != nil {
		return 0, err
	}
	id := ts + 1
	for _, used := range ids {
		if used != id {
			break
		}
		id++
	}
	if id > ts+maxBump {
		return 0, fmt.Errorf("no free search id within %dµs of ts %d", maxBump, ts)
	}
	return id, nil
}

// userTag is a user's tag in search_words: "u" and the id's bytes in hex,
// one token whatever the id holds, matched as a quoted string.
func userTag(userID string) string {
	return "u" + hex.EncodeToString([]byte(userID))
}

// chanTag is a channel's tag in search_words.
func chanTag(num int64) string {
	return "c" + strconv.FormatInt(num, 10)
}

// indexDoc is what the index keeps of a message's text, made from the
// message alone: posting makes it before its write, outside the
// committer (see CreateMessage).
type indexDoc struct {
	body     string   // confab.SearchDoc's
	cjk      string   // the body's confab.SearchBigrams
	tokens   []string // the body's distinct tokens not known to be in search_vocab
	link     bool     // has:link
	userTag  string   // the poster's tag
	mentions []string // the users the text and blocks mention (to:)
}

// makeIndexDoc makes m's indexDoc; known, when not nil, leaves out of
// its vocabulary the tokens search_vocab is known to hold.
func makeIndexDoc(m *confab.Message, known *knownTokens) *indexDoc {
	body, link := confab.SearchDoc(m.Text)
	users, _ := confab.Mentions(m.Text, m.Blocks)
	tokens := strings.Fields(body)
	cjk := strings.Join(confab.SearchBigrams(tokens), " ")
	distinct := slices.Compact(slices.Sorted(slices.Values(tokens)))
	if known != nil {
		distinct = known.unknown(distinct)
	}
	return &indexDoc{body: body, cjk: cjk, tokens: distinct, link: link,
		userTag: userTag(m.UserID), mentions: users}
}

// vocabRowsMax is the most tokens addVocab inserts one statement each:
// a post's few new words. More (the backfill's, every word of a message)
// go in one statement over a JSON array, whose table-valued function
// costs more than a row's insert to set up.
const vocabRowsMax = 4

// addVocab adds the tokens of doc that search_vocab lacks (see
// migrations/0019_search_vocab.sql).
func addVocab(ctx context.Context, tx queryer, doc *indexDoc) error {
	if len(doc.tokens) > vocabRowsMax {
		b, _ := json.Marshal(doc.tokens)
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO search_vocab (token) SELECT value FROM json_each(?)`, string(b))
		return err
	}
	for _, t := range doc.tokens {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO search_vocab (token) VALUES (?)`, t); err != nil {
			return err
		}
	}
	return nil
}

// indexMessage adds a live message to the index, in its write
// transaction. num is the channel's search number, 0 when the caller has
// not read it; doc is the message's, nil when the caller has not made it.
// A new message is indexed without a look first (fresh); the backfill,
// which may come to a message the writes indexed already, looks first and
// indexes a message once.
func indexMessage(ctx context.Context, tx queryer, m *confab.Message, num int64, doc *indexDoc, fresh bool) error {
	if err := indexAt(ctx, tx, m, num, doc, fresh); err != nil {
		return fmt.Errorf("index %s/%d: %w", m.ChannelID, m.Seq, err)
	}
	return nil
}

// indexAt writes the message's rows, at id = ts unless another message
// holds it (see maxBump).
func indexAt(ctx context.Context, tx queryer, m *confab.Message, num int64, doc *indexDoc, fresh bool) error {
	if confab.IsSystemSubtype(m.Subtype) {
		return nil // not what anyone searches for
	}
	var err error
	if num == 0 {
		if num, err = channelNum(ctx, tx, m.ChannelID, true); err != nil {
			return err
		}
	}
	if doc == nil {
		doc = makeIndexDoc(m, nil)
	}
	// The vocabulary first: the backfill adds the tokens of a message the
	// writes indexed before the vocabulary existed.
	if err := addVocab(ctx, tx, doc); err != nil {
		return err
	}
	if !fresh {
		switch _, err := indexedID(ctx, tx, m, num); {
		case err == nil:
			return nil // indexed already
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
	}
	insert := func(id int64) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO search_rows (id, chan, seq, ts, user_id, has_link) VALUES (?, ?, ?, ?, ?, ?)`,
			id, num, m.Seq, m.TS, m.UserID, doc.link)
		return err
	}
	id := m.TS
	err = insert(id)
	if sqliteCode(err) == sqlite3.ErrConstraintPrimaryKey {
		// Another channel's message holds the id (a ts is unique only
		// within its channel).
		if id, err = freeID(ctx, tx, m.TS); err != nil {
			return err
		}
		err = insert(id)
	}
	if err != nil {
		return err
	}
	// Every message is in search_words, words or not: its tags find it
	// for a word-less search too (see SearchMessages).
	if _, err := tx.ExecContext(ctx, `INSERT INTO search_words (rowid, body, tags, cjk) VALUES (?, ?, ?, ?)`,
		id, doc.body, chanTag(num)+" "+doc.userTag, doc.cjk); err != nil {
		return err
	}
	for _, u := range doc.mentions {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO search_mentions (id, user_id) VALUES (?, ?)`, id, u); err != nil {
			return err
		}
	}
	return nil
}

// indexedID returns the message's id in the index, sql.ErrNoRows if it is
// not indexed: its ts, nearly always, else one of the ids up to maxBump
// above.
func indexedID(ctx context.Context, tx queryer, m *confab.Message, num int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM search_rows WHERE id = ?1 AND chan = ?2 AND seq = ?3
		UNION ALL SELECT id FROM search_rows WHERE id > ?1 AND id <= ?4 AND chan = ?2 AND seq = ?3
		LIMIT 1`, m.TS, num, m.Seq, m.TS+maxBump).Scan(&id)
	return id, err
}

// unindexMessage removes a message from the index, if it is there (not
// yet indexed, the backfill reads the message as it is now).
func unindexMessage(ctx context.Context, tx queryer, m *confab.Message) error {
	if err := unindexAt(ctx, tx, m); err != nil {
		return fmt.Errorf("unindex %s/%d: %w", m.ChannelID, m.Seq, err)
	}
	return nil
}

func unindexAt(ctx context.Context, tx queryer, m *confab.Message) error {
	num, err := channelNum(ctx, tx, m.ChannelID, false)
	if err != nil || num == 0 {
		return err
	}
	id, err := indexedID(ctx, tx, m, num)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM search_rows WHERE id = ?`,
		`DELETE FROM search_words WHERE rowid = ?`,
		`DELETE FROM search_mentions WHERE id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	return nil
}

// reindexMessage replaces an edited message's entry.
func reindexMessage(ctx context.Context, tx queryer, m *confab.Message) error {
	if err := unindexAt(ctx, tx, m); err != nil {
		return fmt.Errorf("reindex %s/%d: %w", m.ChannelID, m.Seq, err)
	}
	if err := indexAt(ctx, tx, m, 0, nil, true); err != nil {
		return fmt.Errorf("reindex %s/%d: %w", m.ChannelID, m.Seq, err)
	}
	return nil
}

// The backfill. backfillBatch messages are indexed per write transaction,
// then the backfill waits backfillPause so that the writes queued behind
// it go first.
var (
	backfillBatch = 500
	backfillPause = 5 * time.Millisecond
)

// backfill indexes, in the background, the messages written before the
// index existed: it walks messages in primary key order from the
// position saved in search_backfill, a batch per write transaction, and
// saves the position in the same transaction, so that a restart resumes
// where it stopped. Each batch runs in the committer like any write, so a
// message created, edited or deleted meanwhile is seen either before or
// after its write, never half; indexMessage skips one already indexed and
// a tombstone is never indexed. It stops when done or when the store
// closes.
func (db *DB) backfill() {
	defer close(db.backfilled)
	ctx := context.Background()
	start := time.Now()
	total := 0
	for {
		var n int
		var done bool
		err := db.background(ctx, func(ctx context.Context, tx *sql.Conn) error {
			var err error
			n, done, err = backfillStep(ctx, tx, backfillBatch)
			return err
		})
		if errors.Is(err, ErrClosed) {
			return
		}
		if err != nil {
			db.log.Error("search backfill failed", "err", err)
			return
		}
		total += n
		if done {
			db.log.Info("search backfill done", "messages", total, "took", time.Since(start))
			return
		}
		select {
		case <-db.closing:
			return
		case <-time.After(backfillPause):
		}
	}
}

// backfillStep indexes the next batch of at most lim messages and saves
// the position; done says none are left.
func backfillStep(ctx context.Context, tx *sql.Conn, lim int) (n int, done bool, err error) {
	var (
		chID string
		seq  int64
	)
	if err := tx.QueryRowContext(ctx, `SELECT channel_id, seq, done FROM search_backfill`).Scan(&chID, &seq, &done); err != nil {
		return 0, false, fmt.Errorf("search backfill: %w", err)
	}
	if done {
		return 0, true, nil
	}
	msgs, err := queryAll(ctx, tx, scanMessage, `SELECT `+messageCols+` FROM messages
		WHERE (channel_id, seq) > (?, ?) ORDER BY channel_id, seq LIMIT ?`, chID, seq, lim)
	if err != nil {
		return 0, false, fmt.Errorf("search backfill: %w", err)
	}
	for _, m := range msgs {
		if m.Deleted {
			continue
		}
		if err := indexMessage(ctx, tx, m, 0, nil, false); err != nil {
			return 0, false, fmt.Errorf("search backfill: %w", err)
		}
	}
	done = len(msgs) < lim
	if len(msgs) > 0 {
		last := msgs[len(msgs)-1]
		chID, seq = last.ChannelID, last.Seq
	}
	if _, err := tx.ExecContext(ctx, `UPDATE search_backfill SET channel_id = ?, seq = ?, done = ?`, chID, seq, done); err != nil {
		return 0, false, fmt.Errorf("search backfill: %w", err)
	}
	return len(msgs), done, nil
}
