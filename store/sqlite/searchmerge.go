package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The merger keeps search_words near one FTS5 segment. Each commit that
// indexes messages writes a segment, and automerge (see
// migrations/0019_search_vocab.sql) gathers them eight at a time into
// larger ones: a million messages loaded are ~15 segments, and a query
// reads each word's list in every one (a phrase's p99 was twice as long
// as on the same index in one segment). A full merge rewrites the whole
// index into one segment; it is done a step at a time, each step a write
// of its own through the committer, so that posts queued meanwhile go in
// between.
//
// A full merge runs when the store opens and again once the messages
// indexed since the last one reach mergeGrowth of the index as it was
// then (at least mergeMinRows): a full merge rewrites the index, so
// spacing them by a share of its size bounds what each indexed message
// costs in merge writes (about 1/mergeGrowth rewrites of the index per
// index's worth of new messages), whatever the index's size. Between
// full merges the new messages are in the few segments automerge makes
// of them, small beside the one big segment.
var (
	// mergePages is how many pages (FTS5's pgsz, ~4 KB) of merged data
	// a step writes, roughly: FTS5's own unit of merge work. A step ends
	// at a term's end, so one term's whole list is written in one step:
	// the few longest lists (a common word, a busy channel's tag) make
	// the longest steps, ~350 ms at a million messages.
	mergePages = 64
	// mergePause is the least wait between steps; a step that took longer
	// waits as long as it took, so a merge holds the writer at most half
	// the time.
	mergePause = 5 * time.Millisecond
	// mergeCheck is how often the merger looks at how much was indexed.
	mergeCheck = time.Second
	// mergeGrowth and mergeMinRows: a full merge once the messages
	// indexed since the last reach max(mergeMinRows, rows/mergeGrowth).
	mergeGrowth  = 8
	mergeMinRows = int64(50_000)
)

// merger runs the full merges, in the background, until the store
// closes. It waits for the backfill, whose every batch writes a segment
// too.
func (db *DB) merger() {
	defer close(db.merged)
	select {
	case <-db.backfilled:
	case <-db.closing:
		return
	}
	ctx := context.Background()
	var rows int64
	if err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM search_rows`).Scan(&rows); err != nil {
		db.log.Error("search merge: count the index", "err", err)
		return
	}
	var mark int64 // messages indexed since Open when the last full merge began
	for {
		if err := db.mergeAll(); err != nil {
			if !errors.Is(err, ErrClosed) {
				db.log.Error("search merge failed", "err", err)
			}
			return
		}
		want := max(mergeMinRows, rows/int64(mergeGrowth))
		for {
			select {
			case <-db.closing:
				return
			case <-time.After(mergeCheck):
			}
			if n := db.indexed.Load() - mark; n >= want {
				rows += n
				mark += n
				break
			}
		}
	}
}

// mergeAll merges search_words into one segment, a step at a time, and
// returns when a step finds nothing left to merge. An index in one
// segment already (or none) is left without a write.
func (db *DB) mergeAll() error {
	start := time.Now()
	if segs, err := searchSegments(context.Background(), db.rdb); err != nil || segs < 2 {
		return err
	}
	steps := 0
	var longest time.Duration
	for {
		t := time.Now()
		var worked bool
		err := db.background(context.Background(), func(ctx context.Context, tx *sql.Conn) error {
			var err error
			worked, err = mergeStep(ctx, tx, mergePages, steps == 0)
			return err
		})
		if err != nil {
			return err
		}
		if !worked {
			if steps > 0 {
				db.log.Info("search index merged", "steps", steps, "longest", longest, "took", time.Since(start))
			}
			return nil
		}
		steps++
		took := time.Since(t)
		longest = max(longest, took)
		select {
		case <-db.closing:
			return ErrClosed
		case <-time.After(max(mergePause, took)):
		}
	}
}

// mergeStep writes about pages pages of merged search_words and reports
// whether there was anything to merge. The first step of a full merge
// (begin) puts every segment into one level and begins merging them
// (FTS5's 'merge' with a negative count, as few as two segments); the
// next carry it on ('merge' with a positive count, which takes up a
// merge begun). Whether a command did any work is told by total_changes,
// as FTS5's documentation says: a command that merged something changes
// two rows or more.
func mergeStep(ctx context.Context, tx *sql.Conn, pages int, begin bool) (bool, error) {
	n := pages
	if begin {
		n = -pages
	}
	var before, after int64
	if err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&before); err != nil {
		return false, fmt.Errorf("search merge: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO search_words (search_words, rank) VALUES ('merge', ?)`, n); err != nil {
		return false, fmt.Errorf("search merge: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&after); err != nil {
		return false, fmt.Errorf("search merge: %w", err)
	}
	return after-before >= 2, nil
}

// searchSegments returns how many segments search_words has: each has
// at least one row in search_words_idx (the first term of each of its
// leaves), keyed by its id.
func searchSegments(ctx context.Context, q queryer) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(DISTINCT segid) FROM search_words_idx`).Scan(&n); err != nil {
		return 0, fmt.Errorf("search segments: %w", err)
	}
	return n, nil
}
