package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/confab/confab/internal/rtmclient"
)

// A storm share is one process's storm clients: the bench process's own
// (Procs ≤ 1) or a worker's. After the share's job and its ready, the
// parent drives it with stormCmd values, one JSON value each on the
// worker's stdin:
//
//	parent → worker                 worker → parent
//	shareJob{Kind: "storm"}         {"ready": …}        every client connected
//	{"drop": {"wait": false}}       {"dropped": …}      WebSockets closed: every client dropped
//	{"drop": {"wait": true}}        {"watching": true}  connections noted; kill a gateway now
//	{"poll": {}}, repeated          {"dropped": …}      the clients whose connection went so far
//	{"poll": {"final": true}}       {"dropped": …}      the same, and these are the drop
//	                                {"recovered": …}    every dropped client back, or the deadline
//	{"finish": {"acked": […]}}      {"storm": …}        settled, clients stopped, counted
//
// With wait, the parent decides when the drop is over (see stormDropQuiet):
// a killed gateway of a cluster drops only its own clients, so a share may
// see none of its connections go, and the others must not be waited for.
//
// Times cross the pipe as wall-clock instants. Parent and workers run on
// the same machine, so their wall clocks are one clock: an instant taken
// in a worker minus one taken in the parent is a duration, to the
// precision of time.Now (a clock step by NTP during a run would skew it;
// the monotonic readings do not survive JSON).

// stormCmd is one command of the parent to a storm share.
type stormCmd struct {
	Drop   *stormDrop   `json:"drop,omitempty"`
	Poll   *stormPoll   `json:"poll,omitempty"`
	Finish *stormFinish `json:"finish,omitempty"`
}

// stormDrop ends every client's connection: the share closes its
// WebSockets, or with Wait notes its connections and then answers polls
// until the server side has dropped some of them.
type stormDrop struct {
	Wait bool `json:"wait,omitempty"`
}

// stormPoll asks a waiting share which connections went since the drop
// began; Final ends the wait, and the clients dropped by then are the ones
// recovery waits for.
type stormPoll struct {
	Final bool `json:"final,omitempty"`
}

// stormFinish ends the run: the share waits for its clients to hold the
// last acknowledged post, stops them and counts.
type stormFinish struct {
	Channel string      `json:"channel"`
	Acked   []stormPost `json:"acked"` // every acknowledged post; the texts are distinct
}

// stormPost is one acknowledged post.
type stormPost struct {
	Text string `json:"text"`
	Seq  int64  `json:"seq"`
}

// stormDropped is a share's drop.
type stormDropped struct {
	// At is when the share closed its WebSockets, or (Wait) when a poll
	// first saw one of them gone; zero while none has.
	At time.Time `json:"at"`
	// Clients counts the share's clients whose connection went: all of
	// them, or (Wait) those of the gateway that died. From counts them by
	// the gateway they were connected to.
	Clients int            `json:"clients"`
	From    map[string]int `json:"from,omitempty"`
}

// stormRecovered is a share's recovery.
type stormRecovered struct {
	// At is, per dropped client of the share, when its first connection
	// after the drop had hello and its catch-up done, in Unix nanoseconds;
	// 0 if it had none stormRecoverTimeout after the drop.
	At []int64 `json:"at"`
	// Errors counts, over the clients that had not recovered, the error
	// that ended their latest attempt (tickets cut out).
	Errors map[string]int `json:"errors,omitempty"`
}

// stormCounts is a share's view of the posts once settled.
type stormCounts struct {
	Clients int `json:"clients"`
	// Unsettled counts the clients that did not hold the last acknowledged
	// post drainTimeout after publishing stopped; SettledAt is when the
	// wait ended.
	Unsettled int       `json:"unsettled"`
	SettledAt time.Time `json:"settled_at"`
	// As StormResult's fields of the same names, summed over the share.
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	Deduped    int64 `json:"deduped"`
	Gaps       int64 `json:"gaps"`
	CatchUps   int64 `json:"catchups"`
	// SessionEnds counts why sessions ended from the drop on, by kind.
	SessionEnds map[string]int `json:"session_ends,omitempty"`
}

// add adds o's counts to c's; SettledAt becomes the later one.
func (c *stormCounts) add(o stormCounts) {
	c.Clients += o.Clients
	c.Unsettled += o.Unsettled
	if o.SettledAt.After(c.SettledAt) {
		c.SettledAt = o.SettledAt
	}
	c.Lost += o.Lost
	c.Duplicated += o.Duplicated
	c.Deduped += o.Deduped
	c.Gaps += o.Gaps
	c.CatchUps += o.CatchUps
	for kind, n := range o.SessionEnds {
		if c.SessionEnds == nil {
			c.SessionEnds = map[string]int{}
		}
		c.SessionEnds[kind] += n
	}
}

// stormShare is one process's storm clients, each running
// rtmclient.Client.Run until the share finishes or closes. Its methods are
// called in the order of the protocol, from one goroutine.
type stormShare struct {
	job     shareJob
	clients []*rtmclient.Client
	tracker *connTracker
	caller  *rtmCaller         // the clients' Web API calls
	stop    context.CancelFunc // stops the clients
	running sync.WaitGroup
	// Set by mark, when the drop begins: per client, its connects and its
	// gateway.
	base []int
	from []string
	// The drop: per client, whether its connection went since mark, and
	// when the share first saw one go.
	gone  []bool
	first time.Time
	// ends counts why sessions ended since mark (errorKind).
	endsMu sync.Mutex
	ends   map[string]int // guarded by endsMu; nil before mark
}

// openStormShare starts job.Clients clients and returns once each has
// connected and caught up. The clients run until the share is closed or
// ctx ends. On error every client it started is stopped.
func openStormShare(ctx context.Context, job shareJob) (*stormShare, shareReady, error) {
	src, err := parseSource(job.Source)
	if err != nil {
		return nil, shareReady{}, err
	}
	if len(job.Tokens) == 0 {
		return nil, shareReady{}, errors.New("share: no tokens")
	}
	// The Web API calls and the WebSockets both dial from the share's
	// source address; the WebSockets through the tracker, which closes
	// them all at once.
	nd := sourceDialer(src)
	caller, err := newRTMCaller(job.URL, nd.DialContext, job.Clients+job.Parallel)
	if err != nil {
		return nil, shareReady{}, err
	}
	s := &stormShare{
		job:     job,
		clients: make([]*rtmclient.Client, job.Clients),
		tracker: &connTracker{dial: nd.DialContext, conns: map[net.Conn]struct{}{}},
		caller:  caller,
	}
	dialer := newDialer()
	dialer.NetDialContext = s.tracker.dialContext
	runCtx, stop := context.WithCancel(ctx)
	s.stop = stop
	var mu sync.Mutex
	var ready shareReady
	err = forEach(ctx, job.Clients, job.Parallel, func(ctx context.Context, i int) error {
		t := time.Now()
		c := rtmclient.New(rtmclient.Config{
			API: job.URL, Token: job.Tokens[(job.Offset+i)%len(job.Tokens)], Caller: s.caller, Dialer: dialer,
			OnSessionEnd: s.sessionEnded,
		})
		s.clients[i] = c
		s.running.Add(1)
		go func() {
			defer s.running.Done()
			c.Run(runCtx)
		}()
		wait := time.NewTimer(30 * time.Second)
		defer wait.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.Connected():
			mu.Lock()
			ready.Connect.Add(time.Since(t))
			mu.Unlock()
			return nil
		case <-wait.C:
			return fmt.Errorf("client %d: not connected after 30s: %s", job.Offset+i, c.Stats().LastError)
		}
	})
	if err != nil {
		s.close()
		return nil, shareReady{}, err
	}
	return s, ready, nil
}

// parseSource parses a share's source address; "" is nil (any).
func parseSource(source string) (net.IP, error) {
	if source == "" {
		return nil, nil
	}
	ip := net.ParseIP(source)
	if ip == nil {
		return nil, fmt.Errorf("source address %q is not an IP", source)
	}
	return ip, nil
}

// sessionEnded counts why a client's session ended, once marked.
func (s *stormShare) sessionEnded(err error) {
	s.endsMu.Lock()
	defer s.endsMu.Unlock()
	if s.ends != nil {
		s.ends[errorKind(err.Error())]++
	}
}

// mark notes every client's connects and gateway: a client has dropped
// once it is between connections or has connected again since.
func (s *stormShare) mark() {
	s.endsMu.Lock()
	s.ends = map[string]int{}
	s.endsMu.Unlock()
	s.base = make([]int, len(s.clients))
	s.from = make([]string, len(s.clients))
	s.gone = make([]bool, len(s.clients))
	for i, c := range s.clients {
		st := c.Stats()
		s.base[i], s.from[i] = st.Connects, st.Gateway
	}
}

// dropAll closes every WebSocket: every client drops. Call mark first.
func (s *stormShare) dropAll() stormDropped {
	s.first = time.Now()
	s.tracker.dropAll()
	for i := range s.gone {
		s.gone[i] = true
	}
	return s.dropState()
}

// poll notes the clients whose connection went since mark (the server side
// dropped it) and returns the share's drop so far. The first drop's instant
// is the poll that saw it, so it is as precise as the polls are frequent.
func (s *stormShare) poll() stormDropped {
	for i, c := range s.clients {
		if s.gone[i] {
			continue
		}
		select {
		case <-c.Connected():
			if c.Stats().Connects == s.base[i] {
				continue // still on the connection it had at mark
			}
		default:
		}
		s.gone[i] = true
		if s.first.IsZero() {
			s.first = time.Now()
		}
	}
	return s.dropState()
}

func (s *stormShare) dropState() stormDropped {
	d := stormDropped{At: s.first}
	for i, gone := range s.gone {
		if gone {
			if d.From == nil {
				d.From = map[string]int{}
			}
			d.Clients++
			d.From[s.from[i]]++
		}
	}
	return d
}

// recover waits up to stormRecoverTimeout for every dropped client's next
// connection (hello and catch-up done) after the drop. It looks every
// recoverPoll: the time of each recovery is the client's own record
// (LastConnected), and looking at 19,000 clients every 5 ms took a tenth
// of a worker's CPU from the clients it measures.
func (s *stormShare) recover(ctx context.Context) (stormRecovered, error) {
	by := time.NewTimer(stormRecoverTimeout)
	defer by.Stop()
	tick := time.NewTicker(recoverPoll)
	defer tick.Stop()
	var dropped []int // the clients' indexes
	for i, gone := range s.gone {
		if gone {
			dropped = append(dropped, i)
		}
	}
	res := stormRecovered{At: make([]int64, len(dropped))}
	left := len(dropped)
	for left > 0 {
		for j, i := range dropped {
			if res.At[j] != 0 {
				continue
			}
			if st := s.clients[i].Stats(); st.Connects > s.base[i] {
				res.At[j] = st.LastConnected.UnixNano()
				left--
			}
		}
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-by.C:
			res.Errors = map[string]int{}
			for j, i := range dropped {
				if res.At[j] == 0 {
					res.Errors[errorKind(s.clients[i].Stats().LastError)]++
				}
			}
			return res, nil
		case <-tick.C:
		}
	}
	return res, nil
}

// recoverPoll is how often recover looks at the clients.
const recoverPoll = 50 * time.Millisecond

// finish waits up to drainTimeout for every client to hold the last
// acknowledged post, stops the clients and counts, per client, the
// acknowledged posts it does not show and those it shows more than once.
func (s *stormShare) finish(ctx context.Context, fin stormFinish) (stormCounts, error) {
	defer s.close()
	var last int64
	for _, p := range fin.Acked {
		last = max(last, p.Seq)
	}
	settleBy := time.NewTimer(drainTimeout)
	defer settleBy.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	res := stormCounts{Clients: len(s.clients)}
	behind := func() int {
		n := 0
		for _, c := range s.clients {
			if c.Checkpoint(fin.Channel) < last {
				n++
			}
		}
		return n
	}
	for waiting := true; waiting; {
		if waiting = behind() > 0; !waiting {
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-settleBy.C:
			waiting = false
		case <-tick.C:
		}
	}
	res.SettledAt = time.Now()
	res.Unsettled = behind()
	s.close()
	s.endsMu.Lock()
	res.SessionEnds, s.ends = s.ends, nil // the clients' stopping is not counted
	s.endsMu.Unlock()

	acked := make(map[string]bool, len(fin.Acked))
	for _, p := range fin.Acked {
		acked[p.Text] = true
	}
	shown := make(map[string]int, len(fin.Acked))
	for _, c := range s.clients {
		clear(shown)
		for _, m := range c.Messages(fin.Channel) {
			if acked[m.Text] {
				shown[m.Text]++
			}
		}
		res.Lost += int64(len(acked) - len(shown))
		for _, n := range shown {
			res.Duplicated += int64(n - 1)
		}
		st := c.Stats()
		res.Duplicated += int64(st.Reshown)
		res.Deduped += int64(st.Duplicates)
		res.Gaps += int64(st.Gaps)
		res.CatchUps += int64(st.CatchUps)
	}
	return res, nil
}

// close stops every client and waits for them; it may be called again.
func (s *stormShare) close() {
	s.stop()
	s.running.Wait()
	s.tracker.dropAll()
	s.caller.close()
}

// stormWorker is Worker for a storm job: it opens the share and then
// follows the parent's commands (see stormCmd). The parent going away
// (EOF on dec) cancels everything.
func stormWorker(ctx context.Context, cancel context.CancelFunc, dec *json.Decoder, enc *json.Encoder, job shareJob) error {
	cmds := make(chan stormCmd, 1)
	go func() { // EOF before finish means the parent is gone
		defer close(cmds)
		for {
			var c stormCmd
			if err := dec.Decode(&c); err != nil {
				cancel()
				return
			}
			select {
			case cmds <- c:
			case <-ctx.Done():
				return
			}
			if c.Finish != nil {
				return
			}
		}
	}()
	next := func() (stormCmd, error) {
		select {
		case c, ok := <-cmds:
			if !ok {
				return c, errParentGone
			}
			return c, nil
		case <-ctx.Done():
			return stormCmd{}, errParentGone
		}
	}
	gone := func(err error) error {
		if ctx.Err() != nil {
			return errParentGone // the cancellation came from the parent
		}
		return err
	}
	s, ready, err := openStormShare(ctx, job)
	if err != nil {
		return gone(err)
	}
	defer s.close()
	if err := enc.Encode(workerMsg{Ready: &ready}); err != nil {
		return err
	}

	c, err := next()
	if err != nil {
		return err
	}
	if c.Drop == nil {
		return errors.New("storm worker: want drop")
	}
	s.mark()
	if !c.Drop.Wait {
		dropped := s.dropAll()
		if err := enc.Encode(workerMsg{Dropped: &dropped}); err != nil {
			return err
		}
	} else {
		if err := enc.Encode(workerMsg{Watching: true}); err != nil {
			return err
		}
		for final := false; !final; {
			if c, err = next(); err != nil {
				return err
			}
			if c.Poll == nil {
				return errors.New("storm worker: want poll")
			}
			final = c.Poll.Final
			dropped := s.poll()
			if err := enc.Encode(workerMsg{Dropped: &dropped}); err != nil {
				return err
			}
		}
	}
	rec, err := s.recover(ctx)
	if err != nil {
		return gone(err)
	}
	if err := enc.Encode(workerMsg{Recovered: &rec}); err != nil {
		return err
	}

	if c, err = next(); err != nil {
		return err
	}
	if c.Finish == nil {
		return errors.New("storm worker: want finish")
	}
	counts, err := s.finish(ctx, *c.Finish)
	if err != nil {
		return gone(err)
	}
	return enc.Encode(workerMsg{Storm: &counts})
}
