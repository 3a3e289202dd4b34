package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/confab/confab"
)

// An index id is a channel's search number (search_channels.num) << idShift
// | the message's seq (see migrations/0014_search.sql). 36 bits of seq and
// 27 of channel: 68 billion changes in a channel, 134 million channels
// with messages.
const (
	idShift = 36
	maxSeq  = 1<<idShift - 1
	maxNum  = 1<<(63-idShift) - 1
)

// channelNum returns the channel's search number, giving it one at its
// first indexed message.
func channelNum(ctx context.Context, tx queryer, channelID string) (int64, error) {
	var num int64
	err := tx.QueryRowContext(ctx, `SELECT num FROM search_channels WHERE id = ?`, channelID).Scan(&num)
	if errors.Is(err, sql.ErrNoRows) {
		res, ierr := tx.ExecContext(ctx, `INSERT INTO search_channels (id) VALUES (?)`, channelID)
		if ierr != nil {
			return 0, ierr
		}
		num, err = res.LastInsertId()
	}
	if err != nil {
		return 0, err
	}
	if num > maxNum {
		return 0, fmt.Errorf("search index: channel number %d past %d", num, maxNum)
	}
	return num, nil
}

// searchID is the index id of the message seq of channelID.
func searchID(ctx context.Context, tx queryer, channelID string, seq int64) (int64, error) {
	if seq < 0 || seq > maxSeq {
		return 0, fmt.Errorf("search index: seq %d of %s past %d", seq, channelID, maxSeq)
	}
	num, err := channelNum(ctx, tx, channelID)
	if err != nil {
		return 0, err
	}
	return num<<idShift | seq, nil
}

// indexMessage adds a live message to the index, in its write
// transaction, unless it is there already (search_rows has its id): the
// backfill and the writes may each come to a message first, and it is
// indexed once.
func indexMessage(ctx context.Context, tx queryer, m *confab.Message) error {
	id, err := searchID(ctx, tx, m.ChannelID, m.Seq)
	if err != nil {
		return fmt.Errorf("index %s/%d: %w", m.ChannelID, m.Seq, err)
	}
	return indexAt(ctx, tx, id, m)
}

func indexAt(ctx context.Context, tx queryer, id int64, m *confab.Message) error {
	body, link := confab.SearchDoc(m.Text)
	res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO search_rows (id, ts, user_id, has_link) VALUES (?, ?, ?, ?)`,
		id, m.TS, m.UserID, link)
	if err != nil {
		return fmt.Errorf("index %s/%d: %w", m.ChannelID, m.Seq, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	if body != "" {
		for _, q := range []string{
			`INSERT INTO search_words (rowid, body) VALUES (?, ?)`,
			`INSERT INTO search_trigrams (rowid, body) VALUES (?, ?)`,
		} {
			if _, err := tx.ExecContext(ctx, q, id, body); err != nil {
				return fmt.Errorf("index %s/%d: %w", m.ChannelID, m.Seq, err)
			}
		}
	}
	users, _ := confab.Mentions(m.Text, m.Blocks)
	for _, u := range users {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO search_mentions (id, user_id) VALUES (?, ?)`, id, u); err != nil {
			return fmt.Errorf("index %s/%d: %w", m.ChannelID, m.Seq, err)
		}
	}
	return nil
}

// unindexMessage removes a message from the index, if it is there.
func unindexMessage(ctx context.Context, tx queryer, channelID string, seq int64) error {
	id, err := searchID(ctx, tx, channelID, seq)
	if err != nil {
		return fmt.Errorf("unindex %s/%d: %w", channelID, seq, err)
	}
	return unindexAt(ctx, tx, id)
}

func unindexAt(ctx context.Context, tx queryer, id int64) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM search_rows WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("unindex %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // not indexed (yet): the backfill reads the message as it is now
	}
	for _, q := range []string{
		`DELETE FROM search_words WHERE rowid = ?`,
		`DELETE FROM search_trigrams WHERE rowid = ?`,
		`DELETE FROM search_mentions WHERE id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("unindex %d: %w", id, err)
		}
	}
	return nil
}

// reindexMessage replaces an edited message's entry.
func reindexMessage(ctx context.Context, tx queryer, m *confab.Message) error {
	id, err := searchID(ctx, tx, m.ChannelID, m.Seq)
	if err != nil {
		return fmt.Errorf("reindex %s/%d: %w", m.ChannelID, m.Seq, err)
	}
	if err := unindexAt(ctx, tx, id); err != nil {
		return err
	}
	return indexAt(ctx, tx, id, m)
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
		err := db.write(ctx, func(ctx context.Context, tx *sql.Conn) error {
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
		if err := indexMessage(ctx, tx, m); err != nil {
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
