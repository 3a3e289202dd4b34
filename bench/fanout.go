package bench

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FanoutResult is the outcome of the fanout scenario.
type FanoutResult struct {
	Subscribers    int     `json:"subscribers"`
	Channels       int     `json:"channels"`      // how many channels the posts go to
	UserChannels   int     `json:"user_channels"` // how many of them each user is in
	Users          int     `json:"users"`         // the subscribers belong to this many users
	Rate           float64 `json:"rate"`          // posts per second asked for
	Posts          int     `json:"posts"`         // posts scheduled
	Posted         int64   `json:"posted"`
	PostErrors     int64   `json:"post_errors"`
	ConnectSeconds float64 `json:"connect_seconds"`
	// Expected counts (subscriber, acknowledged post of its channel) pairs:
	// each must be delivered exactly once; Posted × Subscribers with one
	// channel.
	Expected   int64 `json:"expected"`
	Deliveries int64 `json:"deliveries"` // distinct (subscriber, post) pairs received
	Missing    int64 `json:"missing"`    // expected but not received
	Duplicates int64 `json:"duplicates"` // received more than once
	Misrouted  int64 `json:"misrouted"`  // posts of another channel received (must be 0)
	// Disconnects counts subscribers whose connection ended before the run
	// closed it.
	Disconnects int `json:"disconnects"`
	// Seconds runs from the first post to the last delivery.
	Seconds             float64 `json:"seconds"`
	DeliveriesPerSecond float64 `json:"deliveries_per_s"`
	// Latency is post → deliver: from just before the chat.postMessage
	// request left (the time is in the text) to the frame's arrival.
	Latency     Latency `json:"latency"`
	PostLatency Latency `json:"post_latency"` // chat.postMessage round trip
	// Size is the posts' text length in bytes (0: unpadded).
	Size int `json:"size,omitempty"`
	// Stuck counts the connections opened besides the subscribers that
	// read nothing after hello (Config.Stuck); StuckClosed those the server
	// had closed or reset by the end of the drain, of StuckChecked whose
	// socket state the bench could read (Linux). They are not subscribers:
	// a subscriber cut or short of a post still fails the run.
	Stuck        int `json:"stuck,omitempty"`
	StuckClosed  int `json:"stuck_closed,omitempty"`
	StuckChecked int `json:"stuck_checked,omitempty"`
	// SlowConsumers and Stalled are how much the server's
	// confab_gateway_slow_consumer_disconnects_total and
	// confab_gateway_stalled_disconnects_total (the part closed for taking
	// no byte for its no-progress timeout) grew from the first post to the
	// end of the drain, summed over Config.MetricsURLs; -1 when they are
	// not exposed there.
	SlowConsumers float64 `json:"slow_consumers"`
	Stalled       float64 `json:"stalled"`
	// ServerCPUSeconds is the CPU time (user and system) the server's
	// process (Config.ServerPID) used from the first post to the end of
	// the drain, and ServerCPUPerDelivery that over Deliveries, in
	// microseconds; 0 when not measured.
	ServerCPUSeconds     float64 `json:"server_cpu_seconds,omitempty"`
	ServerCPUPerDelivery float64 `json:"server_cpu_us_per_delivery,omitempty"`
}

// Slow-consumer counters fanout reads from the server's metrics.
const (
	slowConsumersMetric = "confab_gateway_slow_consumer_disconnects_total"
	stalledMetric       = "confab_gateway_stalled_disconnects_total"
)

// fanoutMarker is the "text" field of fanout's posts, whose text is
// "fo <index> <unix nanos>" (with Config.Size, then a space and x's). It
// leaves out the key's opening quote: bytes.Index jumps between the
// occurrences of the marker's first byte, and a frame has a dozen quotes
// before "text" but one 't' ("type").
var fanoutMarker = []byte(`text":"fo `)

// drainTimeout bounds the wait for deliveries after the last post.
const drainTimeout = 30 * time.Second

// fanout connects Clients subscribers to one channel and posts to it at
// Rate for Duration (open loop: each post leaves at its scheduled time
// whatever the previous ones are doing), then waits for every subscriber
// to have every acknowledged post.
func (r *run) fanout(ctx context.Context) error {
	start := time.Now()
	ws, err := r.setup(ctx, r.cfg.Users+1)
	if err != nil {
		return err
	}
	publisher, members := ws.users[0], ws.users[1:]
	nch := max(r.cfg.Channels, 1)
	place := shareJob{Channels: nch, UserChannels: r.cfg.UserChannels}
	channels := make([]string, nch)
	err = forEach(ctx, nch, r.cfg.Parallel, func(ctx context.Context, c int) error {
		name := "fanout"
		if nch > 1 {
			name = fmt.Sprintf("fanout-%d", c)
		}
		id, err := r.api.createChannel(ctx, publisher.Token, name)
		channels[c] = id
		return err
	})
	if err != nil {
		return err
	}
	k := max(r.cfg.UserChannels, 1)
	err = forEach(ctx, len(members)*k, r.cfg.Parallel, func(ctx context.Context, i int) error {
		return r.api.join(ctx, members[i/k].Token, channels[place.userChannel(i/k, i%k)])
	})
	if err != nil {
		return err
	}
	posts := max(int(r.cfg.Rate*r.cfg.Duration.Seconds()), 1)
	if r.cfg.Messages > 0 {
		posts = min(posts, r.cfg.Messages)
	}
	res := &FanoutResult{Subscribers: r.cfg.Clients, Channels: nch, UserChannels: k, Users: len(members), Rate: r.cfg.Rate, Posts: posts,
		Size: r.cfg.Size, Stuck: r.cfg.Stuck}
	r.rep.Fanout = res

	r.log.Info("connecting subscribers", "clients", r.cfg.Clients, "stuck", r.cfg.Stuck, "procs", max(r.cfg.Procs, 1))
	tokens := make([]string, len(members))
	for i, u := range members {
		tokens[i] = u.Token
	}
	connStart := time.Now()
	fl, _, err := r.openFleet(ctx, shareJob{Kind: "fanout", SSE: r.sse(), Poll: r.poll(), Tokens: tokens, Clients: r.cfg.Clients, Posts: posts,
		Channels: nch, UserChannels: r.cfg.UserChannels, Stuck: r.cfg.Stuck})
	if err != nil {
		return err
	}
	defer fl.close()
	res.ConnectSeconds = time.Since(connStart).Seconds()
	r.setupDone(start)

	slowBefore := r.slowConsumers(ctx)
	cpuBefore, cpuOK := processCPU(r.cfg.ServerPID)
	r.log.Info("publishing", "posts", posts, "rate", r.cfg.Rate, "size", r.cfg.Size)
	first := time.Now()
	acked, postLat, err := r.publish(ctx, publisher.Token, channels, posts, res)
	if err != nil {
		return err
	}
	res.Posted = int64(len(postLat))
	res.PostLatency = Summarize(postLat)

	out, err := fl.finish(ctx, shareFinish{Acked: acked})
	if err != nil {
		return err
	}
	if cpuAfter, ok := processCPU(r.cfg.ServerPID); cpuOK && ok && r.cfg.ServerPID != 0 {
		res.ServerCPUSeconds = (cpuAfter - cpuBefore).Seconds()
		if out.Deliveries > 0 {
			res.ServerCPUPerDelivery = res.ServerCPUSeconds * 1e6 / float64(out.Deliveries)
		}
	}
	res.Deliveries, res.Missing, res.Duplicates, res.Disconnects = out.Deliveries, out.Missing, out.Duplicates, out.Dropped
	res.Misrouted = out.Misrouted
	res.StuckClosed, res.StuckChecked = out.StuckClosed, out.StuckChecked
	slowAfter := r.slowConsumers(ctx)
	res.SlowConsumers, res.Stalled = slowAfter[0]-slowBefore[0], slowAfter[1]-slowBefore[1]
	if slowBefore[0] < 0 || slowAfter[0] < 0 {
		res.SlowConsumers = -1
	}
	if slowBefore[1] < 0 || slowAfter[1] < 0 {
		res.Stalled = -1
	}
	last := out.Last
	res.Expected = res.Deliveries + res.Missing
	if last.After(first) {
		res.Seconds = last.Sub(first).Seconds()
		res.DeliveriesPerSecond = perSecond(res.Deliveries, last.Sub(first))
	}
	res.Latency = out.Latency.Summary()
	if res.Missing > 0 {
		r.rep.problem("%d of %d deliveries missing", res.Missing, res.Expected)
	}
	if res.Duplicates > 0 {
		r.rep.problem("%d duplicate deliveries", res.Duplicates)
	}
	if res.Misrouted > 0 {
		r.rep.problem("%d deliveries of posts to another channel", res.Misrouted)
	}
	if res.Disconnects > 0 {
		r.rep.problem("%d subscribers disconnected", res.Disconnects) // stuck connections are not counted
	}
	if res.PostErrors > 0 {
		r.rep.problem("%d posts failed", res.PostErrors)
	}
	if res.Posted == 0 {
		r.rep.problem("no post succeeded")
	}
	return nil
}

// slowConsumers reads the server's slow-consumer counters (all of them,
// then the stalled ones), summed over the metrics URLs; -1 for one that
// cannot be read. A server without them (no /metrics, an older confab)
// does not fail the run.
func (r *run) slowConsumers(ctx context.Context) [2]float64 {
	out := [2]float64{-1, -1}
	m, err := r.api.scrapeSum(ctx, r.cfg.MetricsURLs, "", "")
	if err != nil {
		r.log.Info("no slow-consumer counters", "err", err)
		return out
	}
	for i, name := range []string{slowConsumersMetric, stalledMetric} {
		if v, ok := m[name]; ok {
			out[i] = v
		}
	}
	return out
}

// maxPostsInFlight bounds fanout's posts waiting for their answer.
const maxPostsInFlight = 256

// publish posts n messages at the configured rate, post i to channel
// i mod len(channels) (see postOpenLoop), and returns which were
// acknowledged and their round trips.
func (r *run) publish(ctx context.Context, token string, channels []string, n int, res *FanoutResult) ([]bool, []time.Duration, error) {
	pr, err := r.postOpenLoop(ctx, token, channels, 0, n)
	if err != nil {
		return nil, nil, err
	}
	res.PostErrors = pr.errs
	return pr.acked, pr.latencies(), nil
}

// postRun is what postOpenLoop did.
type postRun struct {
	acked   []bool          // by post, from the first one
	rtt     []time.Duration // likewise, for the acknowledged ones
	errs    int64
	elapsed time.Duration // from the first post's send to the last answer
}

// latencies returns the round trips of the acknowledged posts.
func (pr postRun) latencies() []time.Duration {
	var lat []time.Duration
	for i, ok := range pr.acked {
		if ok {
			lat = append(lat, pr.rtt[i])
		}
	}
	return lat
}

// posted counts the acknowledged posts.
func (pr postRun) posted() int64 {
	var n int64
	for _, ok := range pr.acked {
		if ok {
			n++
		}
	}
	return n
}

// postOpenLoop posts n messages at the configured rate, open loop: post
// from+i leaves at its scheduled time whatever the previous ones are doing,
// to channel (from+i) mod len(channels), with the text "fo <from+i> <unix
// nanos>" (padded to Config.Size). Each post has its own goroutine, at most
// maxPostsInFlight at once.
//
// A post takes an idle connection of the bench's lean client (conn; the
// same as send's posters) or opens one: at 2,000 posts/s net/http's client
// cost the publisher a quarter of a core, on the cores the server and the
// subscribers share.
func (r *run) postOpenLoop(ctx context.Context, token string, channels []string, from, n int) (postRun, error) {
	acked := make([]bool, n)        // index i written only by post i's goroutine
	rtt := make([]time.Duration, n) // likewise
	// idle holds the connections not posting, and nil for each one not
	// opened yet: taking from it is taking a place in flight.
	idle := make(chan *conn, maxPostsInFlight)
	for range maxPostsInFlight {
		idle <- nil
	}
	defer func() {
		for range maxPostsInFlight {
			if c := <-idle; c != nil {
				c.close()
			}
		}
	}()
	var errs atomic.Int64
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	begin := time.Now()
	interval := float64(time.Second) / r.cfg.Rate
	pad := strings.Repeat("x", r.cfg.Size) // Config.Size: "fo <i> <nanos> xxx…"
	var err error
	for i := 0; i < n && err == nil; i++ {
		timer.Reset(time.Until(begin.Add(time.Duration(float64(i) * interval))))
		select {
		case <-ctx.Done():
			err = ctx.Err()
			continue
		case <-timer.C:
		}
		var c *conn
		select {
		case <-ctx.Done():
			err = ctx.Err()
			continue
		case c = <-idle:
		}
		if c == nil {
			c = r.api.newConn()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { idle <- c }()
			text := fmt.Sprintf("fo %d %d", from+i, time.Now().UnixNano())
			if len(text)+1 < len(pad) {
				text += " " + pad[:len(pad)-len(text)-1]
			}
			d, err := c.post(ctx, token, channels[(from+i)%len(channels)], text)
			if err != nil {
				errs.Add(1)
				return
			}
			acked[i], rtt[i] = true, d
		}()
	}
	wg.Wait()
	if err != nil {
		return postRun{}, err
	}
	return postRun{acked: acked, rtt: rtt, errs: errs.Load(), elapsed: time.Since(begin)}, nil
}

// subscriber is one fanout connection. Its reader goroutine owns seen,
// lat, dups and last until done is closed.
type subscriber struct {
	conn  *frameConn
	token int // its user's token index: its channels (shareJob.inChannel)
	done  chan struct{}
	got   atomic.Int64 // distinct posts received

	seen []bool // by post index
	lat  []time.Duration
	dups int64
	last time.Time // arrival of the latest post
}

// read receives frames until the connection ends, recording fanout posts.
func (s *subscriber) read() {
	defer close(s.done)
	for {
		frame, err := s.conn.next()
		if err != nil {
			return
		}
		i, sent, ok := parseFanout(frame)
		if !ok || i >= int64(len(s.seen)) {
			continue
		}
		if s.seen[i] {
			s.dups++
			continue
		}
		now := s.conn.at
		s.seen[i] = true
		s.lat = append(s.lat, time.Duration(now.UnixNano()-sent))
		s.last = now
		s.got.Add(1)
	}
}

// closeSubscribers closes every connection and waits for its reader.
func closeSubscribers(subs []*subscriber) {
	for _, s := range subs {
		if s != nil {
			s.conn.close()
		}
	}
	for _, s := range subs {
		if s != nil {
			<-s.done
		}
	}
}

// parseFanout finds a fanout post's index and send time in a frame.
func parseFanout(frame []byte) (index, sentNanos int64, ok bool) {
	at := bytes.Index(frame, fanoutMarker)
	if at < 0 {
		return 0, 0, false
	}
	rest := frame[at+len(fanoutMarker):]
	index, rest, ok = parseUint(rest, ' ')
	if !ok {
		return 0, 0, false
	}
	sentNanos, _, ok = parseUint(rest, '"')
	if !ok { // a padded post (Config.Size)
		sentNanos, _, ok = parseUint(rest, ' ')
	}
	if !ok {
		return 0, 0, false
	}
	return index, sentNanos, true
}

// parseUint reads decimal digits up to stop and returns the rest after it.
func parseUint(b []byte, stop byte) (int64, []byte, bool) {
	var n int64
	for i, c := range b {
		switch {
		case c == stop && i > 0:
			return n, b[i+1:], true
		case c >= '0' && c <= '9' && i < 19:
			n = n*10 + int64(c-'0')
		default:
			return 0, nil, false
		}
	}
	return 0, nil, false
}
