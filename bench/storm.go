package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/rtmclient"
)

// StormResult is the outcome of the storm scenario.
type StormResult struct {
	Clients int `json:"clients"`
	Users   int `json:"users"`
	// Mode is "drop" (the bench closed every connection at once) or
	// "wait" (it waited for the connections to be dropped by the server
	// side, e.g. a gateway someone killed).
	Mode           string  `json:"mode"`
	ConnectSeconds float64 `json:"connect_seconds"`
	Rate           float64 `json:"rate"` // posts per second asked for
	Posted         int64   `json:"posted"`
	// PostErrors fail a "drop" run; in a "wait" run the posts fail while
	// the server side is gone, and are only counted.
	PostErrors int64 `json:"post_errors"`
	// Reconnect is, per client, from the drop to its next hello with its
	// catch-up done (rtmclient counts a connection only then).
	Reconnect Latency `json:"reconnect"`
	// RecoverSeconds is from the drop until the last client had
	// reconnected and caught up.
	RecoverSeconds float64 `json:"recover_seconds"`
	// SettleSeconds is from the drop until every client held every
	// acknowledged post (the publisher stops SettleAfter the recovery).
	SettleSeconds float64 `json:"settle_seconds"`
	// Lost counts (client, acknowledged post) pairs missing from the
	// client's view at the end; Duplicated counts posts a client shows more
	// than once. Both must be 0.
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	// Deduped counts live events the clients dropped as already applied,
	// Gaps seq jumps that made them catch a channel up, CatchUps their
	// client.catchup calls: the work the rules did, not faults.
	Deduped  int64 `json:"deduped"`
	Gaps     int64 `json:"gaps"`
	CatchUps int64 `json:"catchups"`
	// NotRecovered counts clients that had not reconnected by the deadline;
	// NotRecoveredErrors counts why their latest attempt failed.
	NotRecovered       int            `json:"not_recovered"`
	NotRecoveredErrors map[string]int `json:"not_recovered_errors,omitempty"`
}

// ticketPath is the single-use part of a gateway URL in an error.
var ticketPath = regexp.MustCompile(`/rtm/[^\s":]+`)

// stormRecoverTimeout bounds the wait for every client to reconnect, and
// stormDropTimeout the wait for the server side to drop them (-wait-for-drop).
const (
	stormRecoverTimeout = 2 * time.Minute
	stormDropTimeout    = 5 * time.Minute
)

// connTracker dials and remembers the connections it made, so that they
// can all be closed at once.
type connTracker struct {
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (t *connTracker) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := t.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.conns[c] = struct{}{}
	t.mu.Unlock()
	return &trackedConn{Conn: c, t: t}, nil
}

// dropAll closes every connection dialed and not yet closed.
func (t *connTracker) dropAll() int {
	t.mu.Lock()
	conns := t.conns
	t.conns = map[net.Conn]struct{}{}
	t.mu.Unlock()
	for c := range conns {
		c.Close()
	}
	return len(conns)
}

type trackedConn struct {
	net.Conn
	t *connTracker
}

func (c *trackedConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.conns, c.Conn)
	c.t.mu.Unlock()
	return c.Conn.Close()
}

// stormPost is one acknowledged post.
type stormPost struct {
	text string
	seq  int64
}

// storm connects Clients rtmclient clients to one channel, publishes at
// Rate, drops every connection at once (or waits for them to be dropped)
// and measures how long the clients take to reconnect and catch up, and
// whether any lost or duplicated a post.
func (r *run) storm(ctx context.Context) error {
	start := time.Now()
	ws, err := r.setup(ctx, r.cfg.Users+1)
	if err != nil {
		return err
	}
	publisher, members := ws.users[0], ws.users[1:]
	channel, err := r.api.createChannel(ctx, publisher.Token, "storm")
	if err != nil {
		return err
	}
	if err := r.api.joinAll(ctx, members, []string{channel}, r.cfg.Parallel); err != nil {
		return err
	}
	res := &StormResult{Clients: r.cfg.Clients, Users: len(members), Mode: "drop", Rate: r.cfg.Rate}
	if r.cfg.WaitForDrop {
		res.Mode = "wait"
	}
	r.rep.Storm = res

	// The clients' Web API calls share one pool; their WebSockets are
	// dialed through the tracker, from 127.0.0.2 when the server is on
	// loopback (a port range of their own: the dropped connections linger
	// in TIME_WAIT).
	var src net.IP
	if isLoopback(r.cfg.URL) {
		src = net.IPv4(127, 0, 0, 2)
	}
	tracker := &connTracker{dial: sourceDialer(src).DialContext, conns: map[net.Conn]struct{}{}}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 30 * time.Second}}
	defer hc.CloseIdleConnections()
	dialer := newDialer()
	dialer.NetDialContext = tracker.dialContext
	clients := make([]*rtmclient.Client, r.cfg.Clients)
	runCtx, stopClients := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer func() {
		stopClients()
		running.Wait()
	}()

	r.log.Info("connecting clients", "clients", r.cfg.Clients)
	connStart := time.Now()
	err = forEach(ctx, len(clients), r.cfg.Parallel, func(ctx context.Context, i int) error {
		c := rtmclient.New(rtmclient.Config{API: r.cfg.URL, Token: members[i%len(members)].Token, HTTP: hc, Dialer: dialer})
		clients[i] = c
		running.Add(1)
		go func() {
			defer running.Done()
			c.Run(runCtx)
		}()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.Connected():
			return nil
		case <-time.After(30 * time.Second):
			return fmt.Errorf("client %d: not connected after 30s: %s", i, c.Stats().LastError)
		}
	})
	if err != nil {
		return err
	}
	res.ConnectSeconds = time.Since(connStart).Seconds()
	r.setupDone(start)

	// The publisher posts at Rate until told to stop.
	var (
		mu    sync.Mutex
		acked []stormPost
		errs  atomic.Int64
	)
	pubCtx, stopPub := context.WithCancel(ctx)
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		var wg sync.WaitGroup
		defer wg.Wait()
		inflight := make(chan struct{}, 64)
		tick := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.Rate))
		defer tick.Stop()
		for i := 0; r.cfg.Messages == 0 || i < r.cfg.Messages; i++ {
			select {
			case <-pubCtx.Done():
				return
			case <-tick.C:
			}
			select {
			case <-pubCtx.Done():
				return
			case inflight <- struct{}{}:
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-inflight }()
				text := fmt.Sprintf("st %d", i)
				var out struct {
					Message struct {
						Seq int64 `json:"seq"`
					} `json:"message"`
				}
				// Not pubCtx: a post in flight when publishing stops finishes.
				if err := r.api.call(ctx, publisher.Token, "chat.postMessage", url.Values{"channel": {channel}, "text": {text}}, &out); err != nil {
					errs.Add(1)
					return
				}
				mu.Lock()
				acked = append(acked, stormPost{text: text, seq: out.Message.Seq})
				mu.Unlock()
			}()
		}
	}()
	defer func() {
		stopPub()
		<-pubDone
	}()

	wait := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	if err := wait(r.cfg.DropAfter); err != nil {
		return err
	}
	base := make([]int, len(clients))
	for i, c := range clients {
		base[i] = c.Stats().Connects
	}
	var dropped time.Time
	if r.cfg.WaitForDrop {
		r.log.Info("waiting for the connections to drop", "timeout", stormDropTimeout)
		if dropped, err = waitAllDropped(ctx, clients, base); err != nil {
			return err
		}
	} else {
		dropped = time.Now()
		n := tracker.dropAll()
		r.log.Info("dropped every connection", "connections", n)
	}

	// Recovery: every client's next connection (hello and catch-up done).
	recoverBy := time.NewTimer(stormRecoverTimeout)
	defer recoverBy.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	recovered := make([]time.Duration, len(clients))
	left := len(clients)
	for left > 0 {
		for i, c := range clients {
			if recovered[i] > 0 {
				continue
			}
			if st := c.Stats(); st.Connects > base[i] {
				recovered[i] = max(st.LastConnected.Sub(dropped), time.Nanosecond)
				left--
			}
		}
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-recoverBy.C:
			res.NotRecovered = left
			res.NotRecoveredErrors = map[string]int{}
			for i, c := range clients {
				if recovered[i] == 0 {
					res.NotRecoveredErrors[ticketPath.ReplaceAllString(c.Stats().LastError, "/rtm/…")]++
				}
			}
			left = 0
		case <-tick.C:
		}
	}
	var lat []time.Duration
	for _, d := range recovered {
		if d > 0 {
			lat = append(lat, d)
			res.RecoverSeconds = max(res.RecoverSeconds, d.Seconds())
		}
	}
	res.Reconnect = Summarize(lat)
	r.log.Info("recovered", "clients", len(lat), "of", len(clients), "last", time.Duration(res.RecoverSeconds*float64(time.Second)).Round(time.Millisecond))

	// Publish a little longer, then stop and let every client settle.
	if err := wait(r.cfg.SettleAfter); err != nil {
		return err
	}
	stopPub()
	<-pubDone
	res.Posted = int64(len(acked))
	res.PostErrors = errs.Load()
	var last int64
	for _, p := range acked {
		last = max(last, p.seq)
	}
	settleBy := time.NewTimer(drainTimeout)
	defer settleBy.Stop()
	for settled := false; !settled; {
		settled = true
		for _, c := range clients {
			if c.Checkpoint(channel) < last {
				settled = false
				break
			}
		}
		if settled {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-settleBy.C:
			settled = true
		case <-tick.C:
		}
	}
	res.SettleSeconds = time.Since(dropped).Seconds()
	stopClients()
	running.Wait()

	for _, c := range clients {
		shown := map[string]int{}
		for _, m := range c.Messages(channel) {
			shown[m.Text]++
		}
		for _, p := range acked {
			switch n := shown[p.text]; {
			case n == 0:
				res.Lost++
			case n > 1:
				res.Duplicated += int64(n - 1)
			}
		}
		st := c.Stats()
		res.Duplicated += int64(st.Reshown)
		res.Deduped += int64(st.Duplicates)
		res.Gaps += int64(st.Gaps)
		res.CatchUps += int64(st.CatchUps)
	}
	if res.NotRecovered > 0 {
		r.rep.problem("%d of %d clients had not reconnected %s after the drop", res.NotRecovered, len(clients), stormRecoverTimeout)
	}
	if res.Lost > 0 {
		r.rep.problem("%d (client, post) pairs lost", res.Lost)
	}
	if res.Duplicated > 0 {
		r.rep.problem("%d posts shown twice", res.Duplicated)
	}
	// With -wait-for-drop the server side goes away, and posts fail while
	// it is gone; they were never acknowledged, so nothing is lost.
	if res.PostErrors > 0 && !r.cfg.WaitForDrop {
		r.rep.problem("%d posts failed", res.PostErrors)
	}
	if res.Posted == 0 {
		r.rep.problem("no post succeeded")
	}
	return nil
}

// waitAllDropped waits until every client's connection has gone (it is
// between connections, or has connected again since base) and returns
// when the first drop was seen.
func waitAllDropped(ctx context.Context, clients []*rtmclient.Client, base []int) (time.Time, error) {
	deadline := time.NewTimer(stormDropTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	gone := make([]bool, len(clients))
	left := len(clients)
	var first time.Time
	for {
		for i, c := range clients {
			if gone[i] {
				continue
			}
			select {
			case <-c.Connected():
				if c.Stats().Connects == base[i] {
					continue
				}
			default:
			}
			gone[i] = true
			left--
			if first.IsZero() {
				first = time.Now()
			}
		}
		if left == 0 {
			return first, nil
		}
		select {
		case <-ctx.Done():
			return first, ctx.Err()
		case <-deadline.C:
			return first, fmt.Errorf("%d of %d connections still up after %s", left, len(clients), stormDropTimeout)
		case <-tick.C:
		}
	}
}
