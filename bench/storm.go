package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
	"time"
)

// StormResult is the outcome of the storm scenario.
type StormResult struct {
	Clients int `json:"clients"`
	Users   int `json:"users"`
	// Mode is "drop" (the bench closed every connection at once) or
	// "wait" (it waited for the connections to be dropped by the server
	// side, e.g. a gateway someone killed).
	Mode string `json:"mode"`
	// Dropped counts the clients whose connection went: all of them in
	// "drop", those of the killed gateway in "wait". DroppedFrom counts
	// them by the gateway they were on. Reconnect, RecoverSeconds and
	// NotRecovered are about these clients; SettleSeconds, Lost and
	// Duplicated about all.
	Dropped        int            `json:"dropped"`
	DroppedFrom    map[string]int `json:"dropped_from,omitempty"`
	ConnectSeconds float64        `json:"connect_seconds"`
	Rate           float64        `json:"rate"` // posts per second asked for
	Posted         int64          `json:"posted"`
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
	// SessionEnds counts, by kind, why the clients' sessions and attempts
	// ended from the drop until every client settled: the drop itself once
	// per dropped client; anything more is an attempt that failed or a
	// connection lost again.
	SessionEnds map[string]int `json:"session_ends,omitempty"`
}

// ticketPath is the single-use part of a gateway URL in an error, and
// localAddr the client's address and port in a socket error: both are cut
// out, so that the not-recovered clients' errors group.
var (
	ticketPath = regexp.MustCompile(`/rtm/[^\s":]+`)
	localAddr  = regexp.MustCompile(`(tcp|tcp4|tcp6) [^\s]+->`)
)

// errorKind is err with what varies between clients cut out.
func errorKind(err string) string {
	return localAddr.ReplaceAllString(ticketPath.ReplaceAllString(err, "/rtm/…"), "$1 …->")
}

// stormRecoverTimeout bounds the wait for every dropped client to
// reconnect, and stormDropTimeout the wait for the server side to drop
// connections (-wait-for-drop). The drop is over once every connection
// went, or once some did and no other went for stormDropQuiet: a killed
// gateway's sockets close together, and the clients of the gateways that
// live on are not waited for. Polls every stormDropPoll time the first
// drop to within that.
const (
	stormRecoverTimeout = 2 * time.Minute
	stormDropTimeout    = 5 * time.Minute
	stormDropQuiet      = 2 * time.Second
	stormDropPoll       = 5 * time.Millisecond
)

// maxLoggedPostErrors is how many of the publisher's failed posts a storm
// logs, with their error; the rest are only counted (post_errors).
const maxLoggedPostErrors = 3

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

// storm connects Clients rtmclient clients to one channel (in this
// process, or spread over Procs workers), publishes at Rate, drops every
// connection at once (or waits for them to be dropped) and measures how
// long the clients take to reconnect and catch up, and whether any lost or
// duplicated a post. This process keeps the publisher and the list of
// acknowledged posts; the clients' shares report, per client, when it
// recovered, and once settled how many acknowledged posts each lacks or
// shows twice.
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

	tokens := make([]string, len(members))
	for i, u := range members {
		tokens[i] = u.Token
	}
	r.log.Info("connecting clients", "clients", r.cfg.Clients, "procs", max(r.cfg.Procs, 1))
	connStart := time.Now()
	fl, err := r.openStormFleet(ctx, shareJob{Kind: "storm", Tokens: tokens, Clients: r.cfg.Clients})
	if err != nil {
		return err
	}
	defer fl.close()
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
				// A post that failed is sent once more with the same
				// client_msg_id, which the server answers with the original
				// if the first got through: in the storm the server closes
				// idle keep-alive connections, and one may meet the post.
				form := url.Values{"channel": {channel}, "text": {text}, "client_msg_id": {fmt.Sprintf("storm-%d", i)}}
				err := r.api.call(ctx, publisher.Token, "chat.postMessage", form, &out)
				if err != nil && ctx.Err() == nil {
					err = r.api.call(ctx, publisher.Token, "chat.postMessage", form, &out)
				}
				if err != nil {
					if errs.Add(1) <= maxLoggedPostErrors {
						r.log.Warn("post failed twice", "post", i, "error", err)
					}
					return
				}
				mu.Lock()
				acked = append(acked, stormPost{Text: text, Seq: out.Message.Seq})
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
		}
		return nil
	}
	if err := wait(r.cfg.DropAfter); err != nil {
		return err
	}
	// The drop's instant is this process's clock when it tells the shares
	// to close, or the first drop a share saw (-wait-for-drop).
	dropped := time.Now()
	var drops []stormDropped
	if r.cfg.WaitForDrop {
		drops, err = r.awaitDrop(ctx, fl)
	} else {
		drops, err = fl.drop(ctx)
	}
	if err != nil {
		return err
	}
	var lastDrop time.Time
	for _, d := range drops {
		if d.Clients == 0 {
			continue
		}
		if r.cfg.WaitForDrop && (lastDrop.IsZero() || d.At.Before(dropped)) {
			dropped = d.At
		}
		lastDrop = later(lastDrop, d.At)
		res.Dropped += d.Clients
		for gw, n := range d.From {
			if res.DroppedFrom == nil {
				res.DroppedFrom = map[string]int{}
			}
			res.DroppedFrom[gw] += n
		}
	}
	r.log.Info("dropped", "clients", res.Dropped, "of", r.cfg.Clients, "by gateway", res.DroppedFrom,
		"first to last share", lastDrop.Sub(dropped).Round(time.Millisecond))

	// Recovery: every dropped client's next connection (hello and
	// catch-up done).
	rec, err := fl.recovered(ctx)
	if err != nil {
		return err
	}
	var lat []time.Duration
	for _, at := range rec.At {
		if at == 0 {
			res.NotRecovered++
			continue
		}
		d := max(time.Unix(0, at).Sub(dropped), time.Nanosecond)
		lat = append(lat, d)
		res.RecoverSeconds = max(res.RecoverSeconds, d.Seconds())
	}
	if res.NotRecovered > 0 {
		res.NotRecoveredErrors = rec.Errors
	}
	res.Reconnect = Summarize(lat)
	r.log.Info("recovered", "clients", len(lat), "of", res.Dropped, "last", time.Duration(res.RecoverSeconds*float64(time.Second)).Round(time.Millisecond))

	// Publish a little longer, then stop and let every client settle.
	if err := wait(r.cfg.SettleAfter); err != nil {
		return err
	}
	stopPub()
	<-pubDone
	res.Posted = int64(len(acked))
	res.PostErrors = errs.Load()
	counts, err := fl.finish(ctx, stormFinish{Channel: channel, Acked: acked})
	if err != nil {
		return err
	}
	res.SettleSeconds = counts.SettledAt.Sub(dropped).Seconds()
	res.Lost, res.Duplicated = counts.Lost, counts.Duplicated
	res.Deduped, res.Gaps, res.CatchUps = counts.Deduped, counts.Gaps, counts.CatchUps
	res.SessionEnds = counts.SessionEnds
	if counts.Clients != r.cfg.Clients {
		r.rep.problem("the shares counted %d clients of %d", counts.Clients, r.cfg.Clients)
	}
	if res.NotRecovered > 0 {
		r.rep.problem("%d of %d dropped clients had not reconnected %s after the drop", res.NotRecovered, res.Dropped, stormRecoverTimeout)
	}
	if counts.Unsettled > 0 {
		r.rep.problem("%d of %d clients had not caught up %s after publishing stopped; what they lacked then counts as lost", counts.Unsettled, r.cfg.Clients, drainTimeout)
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

// stormFleet is the storm's clients: one share in this process, or a
// share in each worker. Its methods follow the storm protocol (stormCmd).
type stormFleet interface {
	// drop closes every share's WebSockets at once and returns each
	// share's drop.
	drop(ctx context.Context) ([]stormDropped, error)
	// watch notes every share's connections, to see which the server side
	// drops; poll then returns each share's drop so far, and with final
	// ends the drop (recovery waits for the clients dropped by then).
	watch(ctx context.Context) error
	poll(ctx context.Context, final bool) ([]stormDropped, error)
	// recovered waits for every share's recovery; At lists the dropped
	// clients in share order.
	recovered(ctx context.Context) (stormRecovered, error)
	// finish hands every share the acknowledged posts and sums their counts.
	finish(ctx context.Context, fin stormFinish) (stormCounts, error)
	// close stops the clients (or the workers); it is safe after finish.
	close()
}

// awaitDrop notes the connections, tells whoever runs the bench to kill a
// gateway, and polls the shares until the drop is over: every connection
// went, or some did and no other for stormDropQuiet. It returns the final
// poll.
func (r *run) awaitDrop(ctx context.Context, fl stormFleet) ([]stormDropped, error) {
	if err := fl.watch(ctx); err != nil {
		return nil, err
	}
	r.log.Info("waiting for the connections to drop", "timeout", stormDropTimeout)
	deadline := time.NewTimer(stormDropTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(stormDropPoll)
	defer tick.Stop()
	var seen int
	var lastChange time.Time
	for {
		drops, err := fl.poll(ctx, false)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, d := range drops {
			n += d.Clients
		}
		if n != seen {
			seen, lastChange = n, time.Now()
		}
		if n == r.cfg.Clients || (n > 0 && time.Since(lastChange) >= stormDropQuiet) {
			return fl.poll(ctx, true)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, fmt.Errorf("no connection dropped within %s", stormDropTimeout)
		case <-tick.C:
		}
	}
}

// later returns the later of two instants.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// openStormFleet starts job.Clients clients: in this process, from
// 127.0.0.2 when the server is on loopback (a port range of their own:
// the dropped connections linger in TIME_WAIT), or spread over Procs
// workers. It returns once every client has connected.
func (r *run) openStormFleet(ctx context.Context, job shareJob) (stormFleet, error) {
	job.URL, job.Parallel = r.cfg.URL, r.cfg.Parallel
	if r.cfg.Procs > 1 {
		sf, _, err := r.openWorkers(ctx, job)
		if err != nil {
			return nil, err
		}
		return stormWorkers{sf}, nil
	}
	if isLoopback(r.cfg.URL) {
		job.Source = "127.0.0.2"
	}
	s, _, err := openStormShare(ctx, job)
	if err != nil {
		return nil, err
	}
	return localStorm{s}, nil
}

// localStorm is the storm's clients held by this process.
type localStorm struct{ s *stormShare }

func (f localStorm) drop(ctx context.Context) ([]stormDropped, error) {
	f.s.mark()
	return []stormDropped{f.s.dropAll()}, nil
}

func (f localStorm) watch(ctx context.Context) error {
	f.s.mark()
	return nil
}

func (f localStorm) poll(ctx context.Context, final bool) ([]stormDropped, error) {
	return []stormDropped{f.s.poll()}, nil
}

func (f localStorm) recovered(ctx context.Context) (stormRecovered, error) {
	return f.s.recover(ctx)
}

func (f localStorm) finish(ctx context.Context, fin stormFinish) (stormCounts, error) {
	return f.s.finish(ctx, fin)
}

func (f localStorm) close() { f.s.close() }

// stormWorkers is the storm's clients spread over worker processes.
type stormWorkers struct{ sf *spreadFleet }

// each runs fn for every worker at once and joins their errors. When ctx
// ended (the workers were killed with it) that is the error.
func (f stormWorkers) each(ctx context.Context, fn func(i int, w *worker) error) error {
	errs := make([]error, len(f.sf.workers))
	var wg sync.WaitGroup
	for i, w := range f.sf.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(i, w); err != nil {
				errs[i] = fmt.Errorf("worker %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// sendAll writes cmd to every worker, one after the other: a few bytes
// into each pipe, so the workers get it within microseconds of each other.
func (f stormWorkers) sendAll(cmd stormCmd) error {
	for i, w := range f.sf.workers {
		if err := w.send(cmd); err != nil {
			return fmt.Errorf("worker %d: %w", i, err)
		}
	}
	return nil
}

func (f stormWorkers) drop(ctx context.Context) ([]stormDropped, error) {
	if err := f.sendAll(stormCmd{Drop: &stormDrop{}}); err != nil {
		return nil, err
	}
	return f.readDropped(ctx)
}

func (f stormWorkers) watch(ctx context.Context) error {
	if err := f.sendAll(stormCmd{Drop: &stormDrop{Wait: true}}); err != nil {
		return err
	}
	_, err := answers(ctx, f, "watching", func(m workerMsg) *bool {
		if !m.Watching {
			return nil
		}
		return &m.Watching
	})
	return err
}

func (f stormWorkers) poll(ctx context.Context, final bool) ([]stormDropped, error) {
	if err := f.sendAll(stormCmd{Poll: &stormPoll{Final: final}}); err != nil {
		return nil, err
	}
	return f.readDropped(ctx)
}

// readDropped reads every worker's answer to a drop or a poll.
func (f stormWorkers) readDropped(ctx context.Context) ([]stormDropped, error) {
	return answers(ctx, f, "dropped", func(m workerMsg) *stormDropped { return m.Dropped })
}

// answers reads one answer from every worker and returns the part of each
// that take picks; an answer without it (take returns nil) is an error.
func answers[T any](ctx context.Context, f stormWorkers, what string, take func(workerMsg) *T) ([]T, error) {
	out := make([]T, len(f.sf.workers))
	err := f.each(ctx, func(i int, w *worker) error {
		m, err := w.read()
		if err != nil {
			return err
		}
		v := take(m)
		if v == nil {
			return fmt.Errorf("worker answered without %s", what)
		}
		out[i] = *v
		return nil
	})
	return out, err
}

func (f stormWorkers) recovered(ctx context.Context) (stormRecovered, error) {
	rs, err := answers(ctx, f, "recovered", func(m workerMsg) *stormRecovered { return m.Recovered })
	if err != nil {
		return stormRecovered{}, err
	}
	var out stormRecovered
	for _, r := range rs {
		out.At = append(out.At, r.At...)
		for e, n := range r.Errors {
			if out.Errors == nil {
				out.Errors = map[string]int{}
			}
			out.Errors[e] += n
		}
	}
	return out, nil
}

func (f stormWorkers) finish(ctx context.Context, fin stormFinish) (stormCounts, error) {
	defer f.close()
	if err := f.sendAll(stormCmd{Finish: &fin}); err != nil {
		return stormCounts{}, err
	}
	cs, err := answers(ctx, f, "counts", func(m workerMsg) *stormCounts { return m.Storm })
	if err != nil {
		return stormCounts{}, err
	}
	var out stormCounts
	for _, c := range cs {
		out.add(c)
	}
	return out, nil
}

func (f stormWorkers) close() { f.sf.close() }
