package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/confab/confab"
)

// The background indexing of a database that had messages before the
// search index (migration 0013): see backfill.
var (
	// backfillWindow is how many seqs of a channel one batch covers, so
	// at most as many messages: a batch holds its channel's writers for
	// the few milliseconds it takes.
	backfillWindow int64 = 500
	// backfillRetry is how long a process waits before it tries again
	// after an error, or while another process does the work.
	backfillRetry = 10 * time.Second
)

// backfillLockKey is the first key of the advisory lock held by the one
// process that indexes; the second is a hash of the schema, as for
// migrations.
const backfillLockKey = 0x73726368 // "srch"

// backfillLoop indexes the messages from before the index until they all
// are or ctx ends (Close).
func (db *DB) backfillLoop(ctx context.Context) {
	for {
		done, err := db.backfill(ctx)
		if ctx.Err() != nil || done {
			return
		}
		if err != nil {
			db.log.Warn("search index: background indexing failed; will try again", "err", err, "retry", backfillRetry)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backfillRetry):
		}
	}
}

// backfill runs batches until every message from before the index is
// indexed (true), unless another process holds the lock (false, nil).
//
// One process at a time does the work, the one holding a session
// advisory lock on a connection of its own: when it stops (Close, or the
// process dies and its connection with it), another takes over, from
// where the state row says.
func (db *DB) backfill(ctx context.Context) (bool, error) {
	var done bool
	if err := db.pool.QueryRow(ctx, `SELECT done FROM search_backfill`).Scan(&done); err != nil {
		return false, fmt.Errorf("read state: %w", err)
	}
	if done {
		return true, nil
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext(coalesce(current_schema(), '')))`,
		int32(backfillLockKey)).Scan(&locked); err != nil {
		return false, fmt.Errorf("lock: %w", err)
	}
	if !locked {
		return false, nil
	}
	defer unlockBackfill(conn)
	db.log.Info("search index: indexing the messages written before it, in the background")
	start := time.Now()
	for {
		done, err := db.backfillBatch(ctx, conn)
		if err != nil || done {
			if done {
				db.log.Info("search index: every message is indexed", "indexed", db.backfilled.Load(),
					"took", time.Since(start).Round(time.Millisecond))
			}
			return done, err
		}
	}
}

// unlockBackfill releases the lock before conn goes back to the pool; if
// it cannot, it closes conn, which releases the lock too.
func unlockBackfill(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), cancelWait)
	defer cancel()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext(coalesce(current_schema(), '')))`,
		int32(backfillLockKey)); err != nil {
		conn.Conn().Close(ctx)
	}
}

// backfillBatch indexes the next window of the state row's channel, or
// moves the state on to the next channel, in one transaction; true once
// every channel is done.
//
// It first takes the channel's row lock FOR SHARE: every writer of the
// channel's messages holds the row FOR UPDATE until it commits, so none is
// halfway, and the batch's statements see every message as committed. A
// message indexed already (written since, or by an earlier batch) is
// left alone; a deleted one is not indexed: concurrent writes and the
// batch cannot undo each other.
func (db *DB) backfillBatch(ctx context.Context, conn *pgxpool.Conn) (bool, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var (
		channelID string
		seq, last int64
		done      bool
	)
	if err := tx.QueryRow(ctx, `SELECT channel_id, seq, done FROM search_backfill FOR UPDATE`).
		Scan(&channelID, &seq, &done); err != nil {
		return false, fmt.Errorf("read state: %w", err)
	}
	if done {
		return true, nil
	}
	found := false
	if channelID != "" {
		err := tx.QueryRow(ctx, `SELECT last_seq FROM channels WHERE id = $1 FOR SHARE`, channelID).Scan(&last)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return false, fmt.Errorf("lock channel %s: %w", channelID, err)
		}
		found = err == nil
	}
	if !found || seq >= last {
		var next string
		err := tx.QueryRow(ctx, `SELECT id FROM channels WHERE id > $1 ORDER BY id LIMIT 1`, channelID).Scan(&next)
		if errors.Is(err, pgx.ErrNoRows) {
			done = true
		} else if err != nil {
			return false, fmt.Errorf("next channel: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE search_backfill SET channel_id = $1, seq = 0, done = $2`, next, done)
		if err == nil {
			err = tx.Commit(ctx)
		}
		return done, err
	}
	upto := min(seq+backfillWindow, last)
	n, err := backfillWindowOf(ctx, tx, channelID, seq, upto)
	if err != nil {
		return false, fmt.Errorf("index %s (%d, %d]: %w", channelID, seq, upto, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE search_backfill SET seq = $1`, upto); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, err
	}
	db.backfilled.Add(int64(n))
	return false, nil
}

// backfillWindowOf indexes the live messages of the channel with a seq in
// (after, upto] that are not indexed yet, and says how many it indexed.
func backfillWindowOf(ctx context.Context, tx pgx.Tx, channelID string, after, upto int64) (int, error) {
	rows, err := tx.Query(ctx, `SELECT m.seq, m.ts, m.user_id, m.text, m.blocks, m.thread_ts
		FROM messages m
		WHERE m.channel_id = $1 AND m.seq > $2 AND m.seq <= $3 AND NOT m.deleted
		AND NOT EXISTS (SELECT 1 FROM message_search s WHERE s.channel_id = m.channel_id AND s.seq = m.seq)`,
		channelID, after, upto)
	if err != nil {
		return 0, err
	}
	msgs, err := collect(rows, func(r pgx.Row) (*confab.Message, error) {
		m := confab.Message{ChannelID: channelID}
		err := r.Scan(&m.Seq, &m.TS, &m.UserID, &m.Text, &m.Blocks, &m.ThreadTS)
		return &m, err
	})
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	var (
		seqs, tss                    = make([]int64, len(msgs)), make([]int64, len(msgs))
		users, mentions, bodies, tsv = make([]string, len(msgs)), make([]string, len(msgs)), make([]string, len(msgs)), make([]string, len(msgs))
		links, replies               = make([]bool, len(msgs)), make([]bool, len(msgs))
	)
	for i, m := range msgs {
		d := newSearchDoc(m)
		seqs[i], tss[i], users[i] = m.Seq, m.TS, m.UserID
		links[i], replies[i], bodies[i], tsv[i] = d.hasLink, d.reply, d.body, d.tsv
		// Ids have no spaces: one string per row, split back in SQL.
		mentions[i] = strings.Join(d.mentions, " ")
	}
	tag, err := tx.Exec(ctx, `INSERT INTO message_search (channel_id, seq, ts, user_id, has_link, reply, mentions, body, tsv)
		SELECT $1, d.seq, d.ts, d.user_id, d.has_link, d.reply, string_to_array(d.mentions, ' '), d.body, d.tsv::tsvector
		FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::boolean[], $6::boolean[], $7::text[], $8::text[], $9::text[])
			AS d(seq, ts, user_id, has_link, reply, mentions, body, tsv)
		ON CONFLICT (channel_id, seq) DO NOTHING`,
		channelID, seqs, tss, users, links, replies, mentions, bodies, tsv)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
