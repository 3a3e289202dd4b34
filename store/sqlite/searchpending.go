package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/confab/confab"
)

// The search index of imported messages. An import writes its messages
// and, in the same transaction, the range of their seqs in search_pending
// (migrations/0024_search_pending.sql); indexPending then indexes them in
// the background, a batch per write transaction, as the backfill indexes
// the messages of a database from before the index. An import so writes
// at the rate of its rows, and its messages are found by a search a few
// seconds after the import's last batch (WaitIndexed waits for that).
// A message edited meanwhile is indexed by its edit, and skipped here; a
// deleted one is never indexed.

var (
	// pendingBatch is how many messages one transaction indexes.
	pendingBatch = 1000
	// pendingQuiet is how long the indexer waits after an import's last
	// write: while an import writes, its rows go first.
	pendingQuiet = 300 * time.Millisecond
)

// wakeIndexer tells indexPending there is something to index.
func (db *DB) wakeIndexer() {
	select {
	case db.pendingWake <- struct{}{}:
	default:
	}
}

// indexPending indexes what search_pending holds whenever an import wakes
// it (and once at Open, for what an earlier run left), until the store
// closes. While live writes come in it pauses after each batch as an
// import does (importLiveYield); otherwise it goes on at once.
func (db *DB) indexPending() {
	defer close(db.pendingDone)
	ctx := context.Background()
	for {
		select {
		case <-db.closing:
			return
		case <-db.pendingWake:
		}
		for {
			if d := pendingQuiet - time.Since(time.Unix(0, db.importAt.Load())); d > 0 {
				select {
				case <-db.closing:
					return
				case <-time.After(d):
				}
				continue
			}
			start := time.Now()
			var done bool
			var known []string
			err := db.background(ctx, func(ctx context.Context, tx *sql.Conn) error {
				var err error
				done, known, err = db.pendingStep(ctx, tx, pendingBatch)
				return err
			})
			if errors.Is(err, ErrClosed) {
				return
			}
			if err != nil {
				db.log.Error("search index of imported messages failed", "err", err)
				break // the next import, or the next Open, tries again
			}
			// Not counted in db.indexed: an import's index is not spread
			// over full merges as it grows (see merger); it is merged
			// at the next Open, as it was when imports indexed inline.
			db.vocab.add(known)
			if done {
				db.pendingIdle()
				break
			}
			if !db.live() {
				continue // the writer is the indexer's
			}
			select {
			case <-db.closing:
				return
			case <-time.After(importLiveYield * time.Since(start)):
			}
		}
	}
}

// pendingStep indexes the next at most lim messages of search_pending's
// first range and moves the range on (or deletes it, done); done reports
// that nothing was pending. known are the tokens it put in search_vocab.
func (db *DB) pendingStep(ctx context.Context, tx *sql.Conn, lim int) (done bool, known []string, err error) {
	var (
		chID     string
		from, to int64
	)
	err = tx.QueryRowContext(ctx, `SELECT channel_id, from_seq, to_seq FROM search_pending ORDER BY channel_id, from_seq LIMIT 1`).
		Scan(&chID, &from, &to)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil, nil
	} else if err != nil {
		return false, nil, fmt.Errorf("search pending: %w", err)
	}
	msgs, err := queryAll(ctx, tx, scanMessage, `SELECT `+messageCols+` FROM messages
		WHERE channel_id = ? AND seq BETWEEN ? AND ? ORDER BY seq LIMIT ?`, chID, from, to, lim)
	if err != nil {
		return false, nil, fmt.Errorf("search pending: %w", err)
	}
	next := to + 1
	if len(msgs) == lim {
		next = msgs[len(msgs)-1].Seq + 1
	}
	if len(msgs) > 0 {
		num, err := channelNum(ctx, tx, chID, true)
		if err != nil {
			return false, nil, fmt.Errorf("search pending: %w", err)
		}
		// Those an edit indexed meanwhile are left as they are: looked up
		// by id, a message's ts or up to maxBump above it (indexedID), as
		// search_rows has no other index.
		tss := make([]int64, len(msgs))
		for i, m := range msgs {
			tss[i] = m.TS
		}
		b, _ := json.Marshal(tss)
		indexedSeqs, err := queryAll(ctx, tx, scanInt64, `SELECT r.seq FROM json_each(?1) AS j
			JOIN search_rows AS r ON r.id BETWEEN j.value AND j.value + ?2 WHERE r.chan = ?3`, string(b), maxBump, num)
		if err != nil {
			return false, nil, fmt.Errorf("search pending: %w", err)
		}
		indexed := make(map[int64]bool, len(indexedSeqs))
		for _, s := range indexedSeqs {
			indexed[s] = true
		}
		in := make([]confab.Message, 0, len(msgs))
		docs := make([]*indexDoc, 0, len(msgs))
		var fresh []int
		for _, m := range msgs {
			if m.Deleted || confab.IsSystemSubtype(m.Subtype) || indexed[m.Seq] {
				continue
			}
			d := makeIndexDoc(m, &db.vocab)
			in, docs, fresh = append(in, *m), append(docs, d), append(fresh, len(in))
			known = append(known, d.tokens...)
		}
		w := &rowWriter{ctx: ctx, tx: tx}
		defer w.close()
		if err := importIndex(w, in, fresh, docs, num); err != nil {
			return false, nil, fmt.Errorf("search pending %s: %w", chID, err)
		}
	}
	if next > to {
		_, err = tx.ExecContext(ctx, `DELETE FROM search_pending WHERE channel_id = ? AND from_seq = ?`, chID, from)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE search_pending SET from_seq = ? WHERE channel_id = ? AND from_seq = ?`, next, chID, from)
	}
	if err != nil {
		return false, nil, fmt.Errorf("search pending: %w", err)
	}
	return false, known, nil
}

// pendingIdle wakes those waiting for the index to take what imports
// wrote (WaitIndexed).
func (db *DB) pendingIdle() {
	db.pendingMu.Lock()
	defer db.pendingMu.Unlock()
	for _, ch := range db.pendingWaiters {
		close(ch)
	}
	db.pendingWaiters = nil
}

// WaitIndexed waits until the search index holds every message imported
// before the call (or ctx ends): a search after it finds them. Tests and
// tools use it; a client just searches again a moment later.
func (db *DB) WaitIndexed(ctx context.Context) error {
	for {
		var pending bool
		if err := db.rdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM search_pending)`).Scan(&pending); err != nil {
			return fmt.Errorf("search pending: %w", err)
		}
		if !pending {
			return nil
		}
		ch := make(chan struct{})
		db.pendingMu.Lock()
		db.pendingWaiters = append(db.pendingWaiters, ch)
		db.pendingMu.Unlock()
		db.wakeIndexer()
		select {
		case <-ch:
		case <-time.After(100 * time.Millisecond): // an idle signal missed between the look and the wait
		case <-ctx.Done():
			return ctx.Err()
		case <-db.closing:
			return ErrClosed
		}
	}
}
