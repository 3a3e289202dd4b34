package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// SendResult is the outcome of the send scenario.
type SendResult struct {
	Posters    int     `json:"posters"`
	Channels   int     `json:"channels"`
	Messages   int64   `json:"messages"` // acknowledged, hence durably stored
	Errors     int64   `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"msgs_per_s"`
	Latency    Latency `json:"latency"` // chat.postMessage round trip
}

// send has Posters goroutines, each with its own connection, post to
// Channels channels as fast as the server acknowledges, for Duration or
// until Messages have been claimed. A post in flight when Duration ends is
// allowed to finish.
func (r *run) send(ctx context.Context) error {
	start := time.Now()
	ws, err := r.setup(ctx, 1)
	if err != nil {
		return err
	}
	owner := ws.users[0]
	channels := make([]string, r.cfg.Channels)
	for i := range channels {
		if channels[i], err = r.api.createChannel(ctx, owner.Token, fmt.Sprintf("send-%d", i)); err != nil {
			return err
		}
	}
	r.setupDone(start)

	res := &SendResult{Posters: r.cfg.Posters, Channels: len(channels)}
	r.rep.Send = res
	r.log.Info("sending", "posters", r.cfg.Posters, "channels", len(channels), "duration", r.cfg.Duration)
	var (
		claimed  atomic.Int64
		errs     atomic.Int64
		firstErr sync.Once
		wg       sync.WaitGroup
		lats     = make([][]time.Duration, r.cfg.Posters)
	)
	begin := time.Now()
	end := begin.Add(r.cfg.Duration)
	for p := range r.cfg.Posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := r.api.newConn()
			defer c.close()
			for ctx.Err() == nil && time.Now().Before(end) {
				i := claimed.Add(1)
				if r.cfg.Messages > 0 && i > int64(r.cfg.Messages) {
					return
				}
				d, err := c.post(ctx, owner.Token, channels[int(i)%len(channels)], "send "+strconv.FormatInt(i, 10))
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					errs.Add(1)
					firstErr.Do(func() { res.FirstError = err.Error() })
					continue
				}
				lats[p] = append(lats[p], d)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	if err := ctx.Err(); err != nil {
		return err
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	res.Messages = int64(len(all))
	res.Errors = errs.Load()
	res.Seconds = elapsed.Seconds()
	res.PerSecond = perSecond(res.Messages, elapsed)
	res.Latency = Summarize(all)
	if res.Errors > 0 {
		r.rep.problem("%d posts failed (first: %s)", res.Errors, res.FirstError)
	}
	if res.Messages == 0 {
		r.rep.problem("no post succeeded")
	}
	return nil
}
