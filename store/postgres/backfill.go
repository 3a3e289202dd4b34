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
// search index (migration 0014): see backfill.
var (
	// backfillWindow is how many seqs of a channel one batch covers, so
	// at most as many messages: a batch holds its channel's writers for
	// the few milliseconds it takes.
	backfillWindow int64 = 200
	// backfillRetry is how long a process waits before it tries again
	// after an error, or while another process does the work.
	backfillRetry = 10 * time.Second
	// backfillUnlocked, if set (by tests), runs between a batch's read
	// and its lock, with the backfill's context.
	backfillUnlocked func(ctx context.Context, channelID string, after int64)
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
// The transaction first takes the channel's row lock FOR SHARE: every
// writer of the channel's messages holds the row FOR UPDATE until it
// commits, so none is halfway, and the batch's statements see every
// message as committed. A message indexed already (written since, or by
// an earlier batch) is left alone; a deleted one is not indexed:
// concurrent writes and the batch cannot undo each other. The window's
// messages are read and tokenized before, without the lock, so that the
// channel's writers wait only for the insert; under the lock, a message
// whose change_seq has moved since is read again.
func (db *DB) backfillBatch(ctx context.Context, conn *pgxpool.Conn) (bool, error) {
	var (
		channelID string
		seq, last int64
		done      bool
	)
	// Only the lock holder writes the state.
	if err := conn.QueryRow(ctx, `SELECT channel_id, seq, done FROM search_backfill`).
		Scan(&channelID, &seq, &done); err != nil {
		return false, fmt.Errorf("read state: %w", err)
	}
	if done {
		return true, nil
	}
	var pre map[int64]backfillDoc
	if channelID != "" {
		err := conn.QueryRow(ctx, `SELECT last_seq FROM channels WHERE id = $1`, channelID).Scan(&last)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return false, fmt.Errorf("read channel %s: %w", channelID, err)
		}
		if seq < last {
			if pre, err = readBackfill(ctx, conn, channelID, seq, min(seq+backfillWindow, last), nil); err != nil {
				return false, fmt.Errorf("read %s after %d: %w", channelID, seq, err)
			}
		}
	}
	if backfillUnlocked != nil {
		backfillUnlocked(ctx, channelID, seq)
	}

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
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
	n, err := backfillWindowOf(ctx, tx, channelID, seq, upto, pre)
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

// backfillDoc is a message to index and its index row.
type backfillDoc struct {
	m         *confab.Message
	changeSeq int64
	doc       searchDoc
}

// readBackfill reads the live messages of the channel with a seq in
// (after, upto], only those of seqs if not nil, that are not indexed yet,
// and makes their index rows.
func readBackfill(ctx context.Context, q querier, channelID string, after, upto int64, seqs []int64) (map[int64]backfillDoc, error) {
	rows, err := q.Query(ctx, `SELECT m.seq, m.change_seq, m.ts, m.user_id, m.text, m.blocks, m.thread_ts
		FROM messages m
		WHERE m.channel_id = $1 AND m.seq > $2 AND m.seq <= $3 AND NOT m.deleted AND m.subtype NOT IN (`+systemSubtypes+`)
		AND ($4::bigint[] IS NULL OR m.seq = ANY($4))
		AND NOT EXISTS (SELECT 1 FROM message_search s WHERE s.channel_id = m.channel_id AND s.seq = m.seq)`,
		channelID, after, upto, seqs)
	if err != nil {
		return nil, err
	}
	docs, err := collect(rows, func(r pgx.Row) (backfillDoc, error) {
		d := backfillDoc{m: &confab.Message{ChannelID: channelID}}
		err := r.Scan(&d.m.Seq, &d.changeSeq, &d.m.TS, &d.m.UserID, &d.m.Text, &d.m.Blocks, &d.m.ThreadTS)
		return d, err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[int64]backfillDoc, len(docs))
	for _, d := range docs {
		d.doc = newSearchDoc(d.m)
		out[d.m.Seq] = d
	}
	return out, nil
}

// backfillWindowOf indexes, under the channel's lock, the live messages of
// the channel with a seq in (after, upto] that are not indexed yet, and
// says how many it indexed: pre's rows, read before the lock, for the
// messages that have not changed since; the others read again.
func backfillWindowOf(ctx context.Context, tx pgx.Tx, channelID string, after, upto int64, pre map[int64]backfillDoc) (int, error) {
	rows, err := tx.Query(ctx, `SELECT m.seq, m.change_seq FROM messages m
		WHERE m.channel_id = $1 AND m.seq > $2 AND m.seq <= $3 AND NOT m.deleted AND m.subtype NOT IN (`+systemSubtypes+`)
		AND NOT EXISTS (SELECT 1 FROM message_search s WHERE s.channel_id = m.channel_id AND s.seq = m.seq)`,
		channelID, after, upto)
	if err != nil {
		return 0, err
	}
	now, err := collect(rows, func(r pgx.Row) ([2]int64, error) {
		var v [2]int64
		err := r.Scan(&v[0], &v[1])
		return v, err
	})
	if err != nil || len(now) == 0 {
		return 0, err
	}
	var docs []backfillDoc
	var stale []int64
	for _, v := range now {
		if d, ok := pre[v[0]]; ok && d.changeSeq == v[1] {
			docs = append(docs, d)
		} else {
			stale = append(stale, v[0])
		}
	}
	if len(stale) > 0 {
		again, err := readBackfill(ctx, tx, channelID, after, upto, stale)
		if err != nil {
			return 0, err
		}
		for _, d := range again {
			docs = append(docs, d)
		}
	}
	var (
		seqs, tss                    = make([]int64, len(docs)), make([]int64, len(docs))
		users, mentions, bodies, tsv = make([]string, len(docs)), make([]string, len(docs)), make([]string, len(docs)), make([]string, len(docs))
		links, replies               = make([]bool, len(docs)), make([]bool, len(docs))
	)
	for i, d := range docs {
		seqs[i], tss[i], users[i] = d.m.Seq, d.m.TS, d.m.UserID
		links[i], replies[i], bodies[i], tsv[i] = d.doc.hasLink, d.doc.reply, d.doc.body, d.doc.tsv
		// Ids have no spaces: one string per row, split back in SQL.
		mentions[i] = strings.Join(d.doc.mentions, " ")
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

// systemSubtypes lists the subtypes of system messages
// (confab.IsSystemSubtype) for SQL: they are never indexed.
const systemSubtypes = `'` + confab.SubtypeChannelJoin + `', '` + confab.SubtypeChannelLeave + `', '` +
	confab.SubtypeChannelTopic + `', '` + confab.SubtypeChannelPurpose + `'`
