package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// HistoryResult is the outcome of the history scenario.
type HistoryResult struct {
	Depth         int     `json:"depth"` // messages posted
	FillPosters   int     `json:"fill_posters"`
	FillSeconds   float64 `json:"fill_seconds"`
	FillPerSecond float64 `json:"fill_msgs_per_s"`
	FillErrors    int64   `json:"fill_errors"` // failed posts (retried)
	PageSize      int     `json:"page_size"`
	// The walk pages back from the newest message to the first with
	// cursors, as a client scrolling to the top does; the cursor of its
	// last page is the deepest page's.
	WalkPages    int     `json:"walk_pages"`
	WalkMessages int     `json:"walk_messages"`
	WalkSeconds  float64 `json:"walk_seconds"`
	Walk         Latency `json:"walk"`
	// Newest and Deepest are Reads sequential reads each (interleaved) of
	// the newest page (no cursor) and of the deepest page.
	Reads           int     `json:"reads"`
	DeepestMessages int     `json:"deepest_messages"` // on the deepest page
	Newest          Latency `json:"newest"`
	Deepest         Latency `json:"deepest"`
	// Ratio is Deepest.P50Ms / Newest.P50Ms: 1 when depth costs nothing.
	Ratio float64 `json:"ratio_p50"`
}

// historyPage is the part of a conversations.history answer the scenario
// reads.
type historyPage struct {
	Messages []struct {
		TS string `json:"ts"`
	} `json:"messages"`
	HasMore bool `json:"has_more"`
	Meta    struct {
		NextCursor string `json:"next_cursor"`
	} `json:"response_metadata"`
}

// history fills one channel to Depth with Posters concurrent posters, walks
// it back to the first message, then times the newest and the deepest page.
func (r *run) history(ctx context.Context) error {
	start := time.Now()
	ws, err := r.setup(ctx, 1)
	if err != nil {
		return err
	}
	owner := ws.users[0]
	channel, err := r.api.createChannel(ctx, owner.Token, "history")
	if err != nil {
		return err
	}
	res := &HistoryResult{Depth: r.cfg.Depth, FillPosters: r.cfg.Posters, PageSize: r.cfg.PageSize, Reads: r.cfg.Reads}
	r.rep.History = res

	if err := r.fill(ctx, owner.Token, channel, res); err != nil {
		return err
	}
	r.setupDone(start)

	// A read is timed until its answer has arrived; decoding it is the
	// bench's own work.
	reader := r.api.newConn()
	defer reader.close()
	read := func(cursor string) (page historyPage, d time.Duration, err error) {
		form := url.Values{"channel": {channel}, "limit": {strconv.Itoa(r.cfg.PageSize)}}
		if cursor != "" {
			form.Set("cursor", cursor)
		}
		t := time.Now()
		err = reader.do(ctx, owner.Token, "conversations.history", []byte(form.Encode()))
		d = time.Since(t)
		if err == nil {
			_, err = reader.check("conversations.history")
		}
		if err == nil {
			err = json.Unmarshal(reader.resp.Body(), &page)
		}
		return page, d, err
	}

	r.log.Info("walking back", "depth", r.cfg.Depth, "page", r.cfg.PageSize)
	walkStart := time.Now()
	var walk []time.Duration
	cursor, deepest := "", ""
	maxPages := 2*r.cfg.Depth/r.cfg.PageSize + 10 // bounds a server that never ends the list
	for {
		page, d, err := read(cursor)
		if err != nil {
			return fmt.Errorf("walk page %d: %w", len(walk)+1, err)
		}
		walk = append(walk, d)
		res.WalkMessages += len(page.Messages)
		if page.Meta.NextCursor == "" || !page.HasMore {
			deepest = cursor
			break
		}
		if len(walk) >= maxPages {
			return fmt.Errorf("walk: still paging after %d pages of a %d-message channel", len(walk), r.cfg.Depth)
		}
		cursor = page.Meta.NextCursor
	}
	res.WalkSeconds = time.Since(walkStart).Seconds()
	res.WalkPages = len(walk)
	res.Walk = Summarize(walk)
	if res.WalkMessages < r.cfg.Depth {
		r.rep.problem("history holds %d messages, %d were acknowledged", res.WalkMessages, r.cfg.Depth)
	}

	r.log.Info("timing pages", "reads", r.cfg.Reads)
	newest := make([]time.Duration, 0, r.cfg.Reads)
	deep := make([]time.Duration, 0, r.cfg.Reads)
	for range r.cfg.Reads {
		_, d, err := read("")
		if err != nil {
			return fmt.Errorf("newest page: %w", err)
		}
		newest = append(newest, d)
		page, d, err := read(deepest)
		if err != nil {
			return fmt.Errorf("deepest page: %w", err)
		}
		deep = append(deep, d)
		res.DeepestMessages = len(page.Messages)
	}
	res.Newest = Summarize(newest)
	res.Deepest = Summarize(deep)
	if res.Newest.P50Ms > 0 {
		res.Ratio = res.Deepest.P50Ms / res.Newest.P50Ms
	}
	if res.DeepestMessages == 0 {
		r.rep.problem("the deepest page is empty")
	}
	return nil
}

// fill posts Depth messages with Posters concurrent posters. A failed post
// is retried (three attempts) so that the channel reaches its depth.
func (r *run) fill(ctx context.Context, token, channel string, res *HistoryResult) error {
	r.log.Info("filling", "depth", r.cfg.Depth, "posters", r.cfg.Posters)
	var next, done, errs atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	begin := time.Now()
	stopProgress := every(5*time.Second, func() {
		r.log.Info("filling", "posted", done.Load(), "of", r.cfg.Depth)
	})
	for range r.cfg.Posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := r.api.newConn()
			defer c.close()
			for ctx.Err() == nil && failed.Load() == nil {
				i := next.Add(1)
				if i > int64(r.cfg.Depth) {
					return
				}
				var err error
				for range 3 {
					if _, err = c.post(ctx, token, channel, "history "+strconv.FormatInt(i, 10)); err == nil {
						break
					}
					errs.Add(1)
				}
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	stopProgress()
	elapsed := time.Since(begin)
	res.FillSeconds = elapsed.Seconds()
	res.FillPerSecond = perSecond(done.Load(), elapsed)
	res.FillErrors = errs.Load()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fill: %d of %d posted: %w", done.Load(), r.cfg.Depth, err)
	}
	if p := failed.Load(); p != nil {
		return fmt.Errorf("fill: %w", *p)
	}
	if res.FillErrors > 0 {
		r.rep.problem("%d posts failed while filling (retried)", res.FillErrors)
	}
	return nil
}
