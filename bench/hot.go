package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// StoreQueriesMetric is the server's counter of store queries, read by
// hot; its label sets (op, method…) are reported one by one.
const StoreQueriesMetric = "confab_store_queries_total"

// HotResult is the outcome of the hot scenario.
type HotResult struct {
	Readers  int `json:"readers"`
	Users    int `json:"users"` // the readers belong to this many users
	PageSize int `json:"page_size"`
	// Rounds are the releases, one after the other.
	Rounds []HotRound `json:"rounds"`
	// QueriesAvailable says whether the server exposes StoreQueriesMetric;
	// when false every Queries is -1.
	QueriesAvailable bool `json:"queries_available"`
}

// HotRound is one release of every reader at once.
type HotRound struct {
	Latency Latency `json:"latency"`
	Errors  int     `json:"errors"`
	Seconds float64 `json:"seconds"` // release → the last answer
	// Queries is the store queries counted between just before the
	// release and just after the last answer (-1: not exposed), and
	// QueriesBySeries the same per label set, where it moved.
	Queries         float64            `json:"queries"`
	QueriesBySeries map[string]float64 `json:"queries_by_series,omitempty"`
}

// hot fills one channel with a page of messages, opens one HTTP connection
// per reader, then releases every reader at once to read the newest page
// (conversations.history without a cursor), Rounds times.
func (r *run) hot(ctx context.Context) error {
	start := time.Now()
	ws, err := r.setup(ctx, r.cfg.Users)
	if err != nil {
		return err
	}
	owner := ws.users[0]
	channel, err := r.api.createChannel(ctx, owner.Token, "hot")
	if err != nil {
		return err
	}
	if err := r.api.joinAll(ctx, ws.users[1:], []string{channel}, r.cfg.Parallel); err != nil {
		return err
	}
	err = forEach(ctx, r.cfg.PageSize, r.cfg.Parallel, func(ctx context.Context, i int) error {
		return r.api.setupCall(ctx, owner.Token, "chat.postMessage", url.Values{"channel": {channel}, "text": {"announcement " + strconv.Itoa(i)}}, nil)
	})
	if err != nil {
		return err
	}
	res := &HotResult{Readers: r.cfg.Clients, Users: len(ws.users), PageSize: r.cfg.PageSize}
	r.rep.Hot = res

	// One connection per reader, opened before the release.
	readers := make([]*conn, r.cfg.Clients)
	for i := range readers {
		readers[i] = r.api.newConn()
	}
	defer func() {
		for _, c := range readers {
			c.close()
		}
	}()
	token := func(i int) string { return ws.users[i%len(ws.users)].Token }
	r.log.Info("opening reader connections", "readers", r.cfg.Clients)
	if err := releaseAll(ctx, r.cfg.Clients, func(ctx context.Context, i int) error {
		return waitOutRateLimit(ctx, func() error {
			_, err := readers[i].call(ctx, token(i), "auth.test", nil)
			return err
		})
	}, nil); err != nil {
		return err
	}
	r.setupDone(start)

	form := []byte(url.Values{"channel": {channel}, "limit": {strconv.Itoa(r.cfg.PageSize)}}.Encode())
	var checked checkedAnswer
	for round := range r.cfg.Rounds {
		before, err := r.api.scrapeSum(ctx, r.cfg.MetricsURLs, StoreQueriesMetric, "")
		if err != nil {
			return err
		}
		lat := make([]time.Duration, r.cfg.Clients)
		var mu sync.Mutex
		var hr HotRound
		var released time.Time
		err = releaseAll(ctx, r.cfg.Clients, func(ctx context.Context, i int) error {
			var err error
			lat[i], err = readPage(ctx, readers[i], token(i), form, r.cfg.PageSize, &checked)
			if err != nil {
				mu.Lock()
				if hr.Errors == 0 {
					r.log.Warn("read failed", "error", err)
				}
				hr.Errors++
				mu.Unlock()
			}
			return nil
		}, func() { released = time.Now() })
		if err != nil {
			return err
		}
		hr.Seconds = time.Since(released).Seconds()
		after, err := r.api.scrapeSum(ctx, r.cfg.MetricsURLs, StoreQueriesMetric, "")
		if err != nil {
			return err
		}
		hr.Latency = Summarize(lat)
		hr.Queries, hr.QueriesBySeries, res.QueriesAvailable = queriesBetween(before, after)
		r.log.Info("round", "round", round+1, "p50_ms", hr.Latency.P50Ms, "p99_ms", hr.Latency.P99Ms, "queries", hr.Queries)
		res.Rounds = append(res.Rounds, hr)
		if hr.Errors > 0 {
			r.rep.problem("round %d: %d of %d reads failed", round+1, hr.Errors, r.cfg.Clients)
		}
	}
	return nil
}

// readPage reads the newest page of a channel (form names it and the
// limit) through c and checks that the answer is ok and holds want
// messages; an answer byte for byte the same as one checked before
// (checked) is not parsed again. The latency runs until the answer has
// arrived; checking it is the bench's own work.
func readPage(ctx context.Context, c *conn, token string, form []byte, want int, checked *checkedAnswer) (time.Duration, error) {
	t := time.Now()
	err := c.do(ctx, token, "conversations.history", form)
	d := time.Since(t)
	if err != nil {
		return d, err
	}
	if c.resp.StatusCode() == http.StatusOK && checked.same(c.resp.Body()) {
		return d, nil
	}
	env, err := c.check("conversations.history")
	if err == nil && env.Messages != want {
		err = fmt.Errorf("conversations.history: %d messages, want %d", env.Messages, want)
	}
	if err == nil {
		checked.keep(c.resp.Body())
	}
	return d, err
}

// checkedAnswer is the latest answer readPage found good. The readers of a
// round get the same bytes, and parsing each of 1,000 answers of 13 KB was
// a third of the bench's CPU in hot (perf), on the two cores the server
// it measures has too; comparing bytes costs a fortieth of that.
type checkedAnswer struct{ body atomic.Pointer[[]byte] }

// same reports whether body is the checked answer.
func (a *checkedAnswer) same(body []byte) bool {
	b := a.body.Load()
	return b != nil && bytes.Equal(*b, body)
}

// keep makes a copy of body the checked answer.
func (a *checkedAnswer) keep(body []byte) {
	b := bytes.Clone(body)
	a.body.Store(&b)
}

// releaseAll starts n goroutines, each of which waits for the release and
// then calls fn(ctx, i); the release happens once all are waiting, and
// onRelease (when not nil) is called just before it. It returns the first
// error once every call has returned.
func releaseAll(ctx context.Context, n int, fn func(ctx context.Context, i int) error, onRelease func()) error {
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			select {
			case <-gate:
				errs[i] = fn(ctx, i)
			case <-ctx.Done():
				errs[i] = ctx.Err()
			}
		}()
	}
	ready.Wait()
	if onRelease != nil {
		onRelease()
	}
	close(gate)
	done.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// queriesBetween is how far StoreQueriesMetric moved between two scrapes
// (its series, as scrapeSum returns them), in all and per series that
// moved; ok is false when the server does not expose it (total is then -1).
func queriesBetween(before, after map[string]float64) (total float64, bySeries map[string]float64, ok bool) {
	if len(after) == 0 {
		return -1, nil, false
	}
	bySeries = map[string]float64{}
	for series, v := range after {
		if d := v - before[series]; d != 0 {
			bySeries[series] = d
			total += d
		}
	}
	return total, bySeries, true
}
