package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// shareJob is one process's share of a scenario's connections: the parent
// sends it to a worker (or opens it itself when it does not spread).
type shareJob struct {
	Kind     string   `json:"kind"`           // "idle", "fanout" or "storm"
	SSE      bool     `json:"sse,omitempty"`  // idle, fanout: Server-Sent Events streams instead of WebSockets
	Poll     bool     `json:"poll,omitempty"` // fanout: long-polls instead of WebSockets
	URL      string   `json:"url"`
	Source   string   `json:"source,omitempty"` // local IP to dial from; "": any
	Tokens   []string `json:"tokens"`           // connection j is Tokens[(Offset+j)%len] 's
	Offset   int      `json:"offset"`
	Clients  int      `json:"clients"`
	Parallel int      `json:"parallel"`
	Posts    int      `json:"posts"` // fanout: post indexes are [0, Posts)
	// Channels and UserChannels place fanout's subscribers: the user of
	// token t is in channels (t×UserChannels + k) mod Channels for
	// k < UserChannels, and post i goes to channel i mod Channels. 0 or 1:
	// one channel, one each.
	Channels     int `json:"channels,omitempty"`
	UserChannels int `json:"user_channels,omitempty"`
	// Stuck is how many fanout connections the share opens besides its
	// Clients that never read after hello (stuck connection j is of the
	// user of Tokens[(Offset+j)%len], as subscriber j is).
	Stuck int `json:"stuck,omitempty"`
}

// transport is what the share's connections are.
func (j shareJob) transport() string {
	switch {
	case j.SSE:
		return "sse"
	case j.Poll:
		return "poll"
	}
	return "websocket"
}

// postChannel is the fanout channel post i goes to.
func (j shareJob) postChannel(i int) int {
	return i % max(j.Channels, 1)
}

// userChannel is the k-th fanout channel of the user of token t.
func (j shareJob) userChannel(t, k int) int {
	return (t*max(j.UserChannels, 1) + k) % max(j.Channels, 1)
}

// inChannel reports whether the user of token t is in fanout channel c.
func (j shareJob) inChannel(t, c int) bool {
	n := max(j.Channels, 1)
	return ((c-t*max(j.UserChannels, 1))%n+n)%n < max(j.UserChannels, 1)
}

// shareReady is what a share reports once every connection is open.
type shareReady struct {
	Connect Histogram `json:"connect"` // rtm.connect → hello, per connection
}

// shareFinish tells a share that the measured phase is over.
type shareFinish struct {
	Acked []bool `json:"acked,omitempty"` // fanout: the posts acknowledged
}

// shareResult is what a share reports when it finishes.
type shareResult struct {
	Dropped    int       `json:"dropped"` // connections that ended before finish
	Deliveries int64     `json:"deliveries"`
	Missing    int64     `json:"missing"`
	Duplicates int64     `json:"duplicates"`
	Misrouted  int64     `json:"misrouted,omitempty"` // fanout: posts of another channel received
	Latency    Histogram `json:"latency"`             // fanout post → deliver
	Last       time.Time `json:"last"`                // fanout: the latest delivery
	// StuckClosed counts the stuck connections the server had closed or
	// reset by finish, out of StuckChecked whose socket state could be
	// read (see peerClosed).
	StuckClosed  int `json:"stuck_closed,omitempty"`
	StuckChecked int `json:"stuck_checked,omitempty"`
}

// share is one process's open connections.
type share struct {
	job  shareJob
	api  *api
	idle []*idleConn
	subs []*subscriber
	// stuck are fanout's connections that read hello and nothing after.
	stuck []*frameConn
}

// stuckReceiveBuffer is the SO_RCVBUF a stuck connection asks for: small,
// so that it stalls the server's socket after a few KiB.
const stuckReceiveBuffer = 4096

// sourceDialer dials from source (when not nil).
func sourceDialer(source net.IP) *net.Dialer {
	d := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	if source != nil {
		d.LocalAddr = &net.TCPAddr{IP: source}
	}
	return d
}

// openShare opens job's connections and returns once each has had hello.
// On error every connection it opened is closed.
func openShare(ctx context.Context, job shareJob) (*share, shareReady, error) {
	src, err := parseSource(job.Source)
	if err != nil {
		return nil, shareReady{}, err
	}
	if len(job.Tokens) == 0 {
		return nil, shareReady{}, fmt.Errorf("share: no tokens")
	}
	nd := sourceDialer(src)
	a := newAPI(job.URL, job.Parallel+16)
	a.hc.Transport.(*http.Transport).DialContext = nd.DialContext
	dialer := newDialer() // idle's; fanout's subscribers read frames themselves (frameConn)
	dialer.NetDialContext = nd.DialContext
	s := &share{job: job, api: a}
	switch job.Kind {
	case "idle":
		s.idle = make([]*idleConn, job.Clients)
	case "fanout":
		s.subs = make([]*subscriber, job.Clients)
		s.stuck = make([]*frameConn, job.Stuck)
	default:
		return nil, shareReady{}, fmt.Errorf("share: unknown kind %q", job.Kind)
	}
	stuckDial := *nd
	smallReceiveBuffer(&stuckDial, stuckReceiveBuffer)
	var mu sync.Mutex
	var ready shareReady
	err = forEach(ctx, job.Clients+len(s.stuck), job.Parallel, func(ctx context.Context, i int) error {
		if i >= job.Clients { // a stuck connection: hello, then never read
			j := i - job.Clients
			u, err := a.rtmConnect(ctx, job.Tokens[(job.Offset+j)%len(job.Tokens)], "websocket")
			if err != nil {
				return fmt.Errorf("stuck connection %d: %w", job.Offset+j, err)
			}
			if s.stuck[j], err = dialFrames(ctx, stuckDial.DialContext, u); err != nil {
				return fmt.Errorf("stuck connection %d: %w", job.Offset+j, err)
			}
			return nil
		}
		token := job.Tokens[(job.Offset+i)%len(job.Tokens)]
		t := time.Now()
		switch {
		case s.idle != nil && job.SSE:
			u, err := a.rtmConnect(ctx, token, "sse")
			if err != nil {
				return fmt.Errorf("connection %d: %w", job.Offset+i, err)
			}
			fc, err := dialSSE(ctx, nd.DialContext, u)
			if err != nil {
				return fmt.Errorf("connection %d: %w", job.Offset+i, err)
			}
			c := &idleConn{stream: fc, done: make(chan struct{})}
			s.idle[i] = c
			go c.discard()
		case s.idle != nil:
			conn, err := a.dialRTM(ctx, dialer, token)
			if err != nil {
				return fmt.Errorf("connection %d: %w", job.Offset+i, err)
			}
			c := &idleConn{conn: conn, done: make(chan struct{})}
			s.idle[i] = c
			go c.discard()
		default:
			u, err := a.rtmConnect(ctx, token, job.transport())
			if err != nil {
				return fmt.Errorf("connection %d: %w", job.Offset+i, err)
			}
			dial := dialFrames
			switch {
			case job.SSE:
				dial = dialSSE
			case job.Poll:
				dial = dialPoll
			}
			conn, err := dial(ctx, nd.DialContext, u)
			if err != nil {
				return fmt.Errorf("connection %d: %w", job.Offset+i, err)
			}
			sub := &subscriber{conn: conn, token: (job.Offset + i) % len(job.Tokens),
				seen: make([]bool, job.Posts), lat: make([]time.Duration, 0, job.Posts), done: make(chan struct{})}
			s.subs[i] = sub
			go sub.read()
		}
		mu.Lock()
		ready.Connect.Add(time.Since(t))
		mu.Unlock()
		return nil
	})
	if err != nil {
		s.close()
		return nil, shareReady{}, err
	}
	return s, ready, nil
}

// finish ends the measured phase: fanout waits (up to drainTimeout) for
// every live subscriber to have every acknowledged post. It closes every
// connection and returns the share's counts.
func (s *share) finish(ctx context.Context, fin shareFinish) (shareResult, error) {
	defer s.close()
	var res shareResult
	for _, c := range s.idle {
		select {
		case <-c.done:
			res.Dropped++
		default:
		}
	}
	if s.subs == nil {
		return res, nil
	}
	posted := map[int]int64{} // by channel
	for i, ok := range fin.Acked {
		if ok {
			posted[s.job.postChannel(i)]++
		}
	}
	want := make([]int64, len(s.subs)) // acknowledged posts of each one's channels
	for i, sub := range s.subs {
		for k := range max(s.job.UserChannels, 1) {
			want[i] += posted[s.job.userChannel(sub.token, k)]
		}
	}
	drain := time.NewTimer(drainTimeout)
	defer drain.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for waiting := true; waiting; {
		waiting = false
		for i, sub := range s.subs {
			select {
			case <-sub.done:
			default:
				if sub.got.Load() < want[i] {
					waiting = true
				}
			}
		}
		if !waiting {
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-drain.C:
			waiting = false
		case <-tick.C:
		}
	}
	for _, sub := range s.subs {
		select {
		case <-sub.done:
			res.Dropped++
		default:
		}
	}
	closeSubscribers(s.subs)
	for _, c := range s.stuck {
		if closed, known := peerClosed(c.tcp); known {
			res.StuckChecked++
			if closed {
				res.StuckClosed++
			}
		}
	}
	for _, sub := range s.subs {
		for i, ok := range fin.Acked {
			mine := s.job.inChannel(sub.token, s.job.postChannel(i))
			if i < len(sub.seen) && sub.seen[i] && !mine {
				res.Misrouted++
			}
			if !ok || i >= len(sub.seen) || !mine {
				continue
			}
			if sub.seen[i] {
				res.Deliveries++
			} else {
				res.Missing++
			}
		}
		res.Duplicates += sub.dups
		res.Latency.AddAll(sub.lat)
		if sub.last.After(res.Last) {
			res.Last = sub.last
		}
	}
	return res, nil
}

// close closes every connection and waits for their readers.
func (s *share) close() {
	closeIdle(s.idle)
	closeSubscribers(s.subs)
	for _, c := range s.stuck {
		if c != nil {
			c.close()
		}
	}
	s.api.close()
}

// mergeResults adds up the shares' results.
func mergeResults(rs []shareResult) shareResult {
	var out shareResult
	for _, r := range rs {
		out.Dropped += r.Dropped
		out.Deliveries += r.Deliveries
		out.Missing += r.Missing
		out.Duplicates += r.Duplicates
		out.Misrouted += r.Misrouted
		out.StuckClosed += r.StuckClosed
		out.StuckChecked += r.StuckChecked
		out.Latency.Merge(r.Latency)
		if r.Last.After(out.Last) {
			out.Last = r.Last
		}
	}
	return out
}
