package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/confab/confab"
)

// A dispatcher delivers one app's events. It is a reader of the change log
// like a client catching up, with a durable position per channel its bot
// is in (confab.AppPosition): it reads the changes after the position,
// builds the app's events, hands them to a connection of the app, and
// moves the position past a change once every event of it was
// acknowledged. A position is saved at most SaveInterval after it moved,
// so a process that dies delivers again at most what was acknowledged in
// that interval, or was in flight: at least once, never lost, and the
// same event_id each time.
//
// Its state belongs to its goroutine (run); the bus handler, the sockets
// and the manager talk to it through wake, dirty, acks and the
// connection list, under mu.
type dispatcher struct {
	m     *Manager
	appID string

	wake     chan struct{} // capacity 1: something to do
	acks     chan string   // envelope ids acknowledged by a connection
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	mu    sync.Mutex
	dirty map[string]bool // channels to read from the store, guarded by mu
	// frames are the frames of channels' publications since the last
	// step, in order, guarded by mu: a new message's is enough to build
	// its events without reading the store (takeFrames).
	frames   map[string][][]byte
	members  bool          // the bot's memberships changed, guarded by mu
	conns    []*socketConn // Socket Mode connections, guarded by mu
	next     int           // round robin over conns, guarded by mu
	revoked  []confab.Fingerprint
	detached bool // a connection went: resend what it held, guarded by mu

	ctx         context.Context // canceled by halt
	cancel      context.CancelFunc
	workersOnce sync.Once
	hook        chan hookJob    // requests for the HTTP workers
	fails       chan hookResult // attempts that failed, from the HTTP workers

	// Owned by run.
	verified   string    // the request URL that answered url_verification
	verifying  bool      // a url_verification is under way
	nextVerify time.Time // no url_verification before then
	verifies   int       // failed url_verifications in a row
	verifyDone chan verifyResult
	target     *target
	updated    int64 // the app's Updated when target was built
	chans      map[string]*chanState
	envelopes  map[string]*pending // envelope id → pending event
	inflight   int
	attempts   map[string]int // event id → deliveries so far (retry_attempt)
	lastPoll   time.Time
	// wasConnected: the app was reachable at the end of the last step.
	wasConnected bool
	lastLog      time.Time
	lastSave     time.Time
	unsaved      bool
}

// chanState is the dispatcher's view of one channel of the bot.
type chanState struct {
	id       string
	log      bool // the workspace's event log (wsevent.go), id the workspace's
	fresh    bool // just found: to be read at once
	started  bool // the log: past the app's installation
	more     bool // not read to its end for want of room in the window
	kind     string
	joinedAt int64
	pos      int64      // durable-to-be: every change up to it is done
	read     int64      // changes read from the store up to it
	queue    []*pending // events read and not yet done, in seq order
	unacked  int        // events of queue handed out and not acknowledged
	saved    int64      // pos as last saved
}

// pending is one event on its way: it is done once acknowledged.
type pending struct {
	ev       event
	marker   bool // a change without events for the app: done at once
	acked    bool
	sent     bool
	queued   time.Time // when it was read
	due      time.Time // when to send it again if it is not acknowledged
	reason   string    // why it is sent again: retry_reason
	conn     *socketConn
	envelope string
}

func newDispatcher(m *Manager, appID string) *dispatcher {
	ctx, cancel := newContext()
	return &dispatcher{
		ctx: ctx, cancel: cancel,
		m: m, appID: appID,
		wake: make(chan struct{}, 1), acks: make(chan string, 1024),
		hook: make(chan hookJob, DefaultWindow), fails: make(chan hookResult, 1024), verifyDone: make(chan verifyResult, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
		dirty: map[string]bool{}, frames: map[string][][]byte{}, members: true,
		chans: map[string]*chanState{}, envelopes: map[string]*pending{}, attempts: map[string]int{},
	}
}

// poke wakes the dispatcher; it never blocks.
func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// halt stops the dispatcher's goroutine, which saves its positions.
func (d *dispatcher) halt() {
	d.stopOnce.Do(func() {
		close(d.stop)
		d.cancel()
	})
}

// maxFrames bounds the frames kept for a channel between two steps; past
// it the channel is read from the store.
const maxFrames = 256

// published takes the frame of a channel's publication (the bus handler
// calls it; frame is retained, never modified). nil: read the channel
// from the store.
func (d *dispatcher) published(channelID string, frame []byte) {
	d.mu.Lock()
	if f := d.frames[channelID]; frame != nil && len(f) < maxFrames {
		d.frames[channelID] = append(f, frame)
	} else {
		d.dirty[channelID] = true
	}
	d.mu.Unlock()
	d.poke()
}

// membersChanged asks for the bot's memberships to be read again.
func (d *dispatcher) membersChanged() {
	d.mu.Lock()
	d.members = true
	d.mu.Unlock()
	d.poke()
}

// run is the dispatcher's goroutine.
func (d *dispatcher) run() {
	defer close(d.done)
	tick := time.NewTicker(d.m.cfg.Tick)
	defer tick.Stop()
	for {
		select {
		case <-d.stop:
			d.save(true)
			return
		case id := <-d.acks:
			d.ack(id)
		case f := <-d.fails:
			d.failed(f)
		case v := <-d.verifyDone:
			d.verifiedURL(v)
		case <-d.wake:
		case <-tick.C:
		}
		d.step()
	}
}

// step does what there is to do: acknowledgements, memberships, reading
// and sending, retries, saving.
func (d *dispatcher) step() {
	ctx, cancel := context.WithTimeout(context.Background(), d.m.cfg.StoreTimeout)
	defer cancel()
	for drained := false; !drained; {
		select {
		case id := <-d.acks:
			d.ack(id)
		case f := <-d.fails:
			d.failed(f)
		default:
			drained = true
		}
	}
	now := d.m.now()
	poll := now.Sub(d.lastPoll) >= d.m.cfg.PollInterval
	d.mu.Lock()
	members := d.members || poll
	d.members = false
	dirty, frames := d.dirty, d.frames
	d.dirty, d.frames = map[string]bool{}, map[string][][]byte{}
	detached := d.detached
	d.detached = false
	sockets := len(d.conns) > 0
	d.mu.Unlock()

	if poll {
		d.lastPoll = now
		if err := d.refreshApp(ctx); err != nil {
			d.m.log.Warn("app not read", "app", d.appID, "err", err)
			return
		}
	}
	if d.target == nil {
		return
	}
	if poll {
		d.checkConns(ctx)
	}
	if members {
		if err := d.refreshMembers(ctx); err != nil {
			d.m.log.Warn("app memberships not read", "app", d.appID, "err", err)
			d.membersChanged() // again at the next tick
		}
	}
	connected := sockets || d.overHTTP(now)
	if detached || !connected {
		d.forgetSent()
	}
	defer func() { d.wasConnected = connected }()
	if connected {
		// Everything is read when the app has just become reachable, and
		// a channel as soon as the bot is found in it.
		all := poll || !d.wasConnected
		logNews := false
		for id, fs := range frames {
			if cs := d.chans[id]; cs != nil && !cs.log && cs.kind != "?" && !all {
				read, news := d.takeFrames(cs, fs, now)
				dirty[id] = dirty[id] || read
				logNews = logNews || news
			}
		}
		readLog := all || members || logNews || now.Sub(d.lastLog) >= d.m.cfg.LogPollInterval
		for id, cs := range d.chans {
			var err error
			switch {
			case cs.log && readLog:
				d.lastLog = now
				err = d.fillLog(ctx, cs)
			case !cs.log && (all || dirty[id] || cs.fresh || cs.more):
				cs.fresh = false
				err = d.fill(ctx, cs)
			}
			if err != nil {
				d.m.log.Warn("app events not read", "app", d.appID, "channel", id, "err", err)
			}
		}
		d.send(now, !sockets)
	}
	d.save(false)
}

// checkConns closes the connections whose token was revoked: a safety net
// for a revocation published before the bot's topic was followed.
func (d *dispatcher) checkConns(ctx context.Context) {
	d.mu.Lock()
	conns := append([]*socketConn(nil), d.conns...)
	d.mu.Unlock()
	for _, c := range conns {
		if err := d.m.cfg.Tickets.CheckAdmission(ctx, c.adm); confab.ErrorCode(err) == confab.EUNAUTHORIZED || confab.ErrorMessage(err) == "invalid_auth" {
			c.close()
		}
	}
}

// refreshApp reads the app again: a new manifest changes what it
// subscribes to; a deleted app stops.
func (d *dispatcher) refreshApp(ctx context.Context) error {
	a, err := d.m.cfg.Store.FindApp(ctx, d.appID)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		d.m.forget(d)
		d.target = nil
		return nil
	}
	if err != nil {
		return err
	}
	if owned, err := d.m.owns(ctx, a); err != nil {
		return err
	} else if !owned {
		// Another process delivers its events now: its connections go
		// there (refresh_requested), and what was not acknowledged here is
		// sent from there, from the saved positions.
		d.save(true)
		d.disconnect()
		d.m.forget(d)
		d.target = nil
		return nil
	}
	if d.target != nil && a.Updated == d.updated {
		return nil
	}
	bots, err := d.m.cfg.Store.FindBots(ctx, confab.BotFilter{AppIDs: []string{a.ID}})
	if err != nil {
		return err
	}
	if len(bots) != 1 {
		return confab.ErrBotNotFound
	}
	man, err := confab.ParseManifest(a.Manifest)
	if err != nil {
		return err
	}
	first := d.target == nil
	d.target, d.updated = newTarget(a, bots[0], man), a.Updated
	if first {
		d.m.bindUser(d, a.WorkspaceID, bots[0].UserID)
		ps, err := d.m.cfg.Store.FindAppPositions(ctx, a.ID)
		if err != nil {
			d.target = nil
			return err
		}
		for _, p := range ps {
			d.chans[p.ChannelID] = &chanState{id: p.ChannelID, joinedAt: p.JoinedAt, pos: p.Seq, read: p.Seq, saved: p.Seq, kind: "?"}
		}
		if c := d.chans[a.WorkspaceID]; c != nil {
			c.log, c.kind, c.started = true, "log", c.pos > 0
		} else {
			d.chans[a.WorkspaceID] = &chanState{id: a.WorkspaceID, log: true, kind: "log", saved: -1}
			d.unsaved = true
		}
	}
	return nil
}

// refreshMembers reads the bot's channels: a channel it joined starts at
// its saved position if that counts from this membership, else at the
// membership's start (what was there when it joined is not news);
// a channel it left is dropped. Either way the position is not older than
// the retention window.
func (d *dispatcher) refreshMembers(ctx context.Context) error {
	st := d.m.cfg.Store
	bot := d.target.bot
	ms, err := st.FindMemberships(ctx, bot.UserID)
	if err != nil {
		return err
	}
	cs, err := st.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: bot.WorkspaceID, MemberID: bot.UserID})
	if err != nil {
		return err
	}
	kinds := make(map[string]string, len(cs))
	for _, c := range cs {
		kinds[c.ID] = c.Kind
	}
	in := make(map[string]bool, len(ms))
	for _, m := range ms {
		kind, ok := kinds[m.ChannelID]
		if !ok {
			continue
		}
		in[m.ChannelID] = true
		c := d.chans[m.ChannelID]
		if c != nil && c.joinedAt == m.JoinedAt && c.kind != "?" {
			continue
		}
		if c == nil || c.joinedAt != m.JoinedAt {
			if c != nil {
				d.drop(c)
			}
			c = &chanState{id: m.ChannelID, joinedAt: m.JoinedAt, pos: m.LastReadSeq, read: m.LastReadSeq, saved: -1, fresh: true}
			d.chans[m.ChannelID] = c
			d.unsaved = true
		}
		c.kind, c.fresh = kind, true
		floor, err := d.retentionFloor(ctx, c.id)
		if err != nil {
			return err
		}
		if c.pos < floor {
			c.pos, c.read, d.unsaved = floor, floor, true
		}
		d.m.watch(d, c.id)
	}
	for id, c := range d.chans {
		if !in[id] && !c.log {
			d.drop(c)
			delete(d.chans, id)
			d.m.unwatch(d, id)
		}
	}
	return nil
}

// retentionFloor is the seq before which a channel's changes are older
// than the retention window: an app away for longer starts there.
func (d *dispatcher) retentionFloor(ctx context.Context, channelID string) (int64, error) {
	if d.m.cfg.Retention <= 0 {
		return 0, nil
	}
	cut := d.m.now().Add(-d.m.cfg.Retention).UnixMicro()
	seq, _, err := d.m.cfg.Store.SeqAtTS(ctx, channelID, cut)
	return seq, err
}

// drop forgets a channel's events on their way (the bot left it).
func (d *dispatcher) drop(c *chanState) {
	for _, p := range c.queue {
		if !p.acked && p.sent {
			d.inflight--
		}
		if p.envelope != "" {
			delete(d.envelopes, p.envelope)
		}
		delete(d.attempts, p.ev.id)
	}
	c.queue = nil
}

// forgetSent takes back every event handed out and not acknowledged, so
// that it is sent again: to another connection, or once one comes.
func (d *dispatcher) forgetSent() {
	for _, c := range d.chans {
		for _, p := range c.queue {
			if p.sent && !p.acked {
				if p.conn == nil {
					continue // with an HTTP worker: it reports
				}
				if !p.conn.closed() {
					continue
				}
				p.sent = false
				d.inflight--
				c.unacked--
			}
		}
	}
}

// fill reads a channel's next changes into its queue, up to the window.
func (d *dispatcher) fill(ctx context.Context, c *chanState) error {
	return d.fillWith(c, func(after int64, n int) (int, error) {
		changes, err := d.m.cfg.Store.FindChanges(ctx, c.id, after, n)
		if err != nil || len(changes) == 0 {
			return 0, err
		}
		if err := d.m.withBots(ctx, changes); err != nil {
			return 0, err
		}
		for _, ch := range changes {
			c.enqueue(ch.Seq, d.target.build(c.kind, ch, after), d.m.now())
		}
		return len(changes), nil
	})
}

// fillWith reads a stream's next entries into its queue until the window
// is full (c.more: to be read again once there is room) or the stream
// read to its end: read reads at most n entries after after, queues each
// one's events (enqueue), and returns how many entries it read.
func (d *dispatcher) fillWith(c *chanState, read func(after int64, n int) (int, error)) error {
	c.more = false
	for {
		if d.inflight >= d.m.cfg.Window || len(c.queue) >= d.m.cfg.Window {
			c.more = true
			return nil
		}
		n := min(d.m.cfg.Window-len(c.queue), 200)
		got, err := read(c.read, n)
		if err != nil {
			c.more = true
			return err
		}
		if got == 0 {
			return nil
		}
		d.advance(c)
		if got < n {
			return nil
		}
	}
}

// takeFrames builds the events of a channel's new messages from the
// frames their publications carried, in order, as long as each is the
// channel's next change: the store is not read for a post the app is
// keeping up with. read reports that the channel must be read from the
// store (a gap, or a change other than a new message: an edit, a delete,
// a reaction); news that a frame told of a change of the workspace's log
// (a join or a leave).
func (d *dispatcher) takeFrames(c *chanState, frames [][]byte, now time.Time) (read, news bool) {
	took := false
	for _, f := range frames {
		var w confab.WireMessage
		if json.Unmarshal(f, &w) != nil {
			read = true
			continue
		}
		switch {
		case w.Seq == 0: // not a change of the channel's log
			news = news || strings.HasPrefix(w.Type, "member_") || strings.HasPrefix(w.Type, "channel_")
			continue
		case w.Seq <= c.read: // read already
			continue
		case read || c.more || w.Seq != c.read+1 || len(c.queue) >= d.m.cfg.Window:
			read = true
			continue
		}
		evs, ok := d.target.buildFrame(c.kind, w)
		if !ok {
			read = true
			continue
		}
		c.enqueue(w.Seq, evs, now)
		took = true
	}
	if took {
		d.advance(c)
	}
	return read, news
}

// enqueue queues the events of the entry at seq, read up to it; an entry
// without events for the app is queued done, so that the position moves
// past it in order.
func (c *chanState) enqueue(seq int64, evs []event, now time.Time) {
	if len(evs) == 0 {
		c.queue = append(c.queue, &pending{ev: event{channel: c.id, seq: seq}, marker: true, acked: true})
	}
	for _, ev := range evs {
		c.queue = append(c.queue, &pending{ev: ev, queued: now})
	}
	c.read = seq
}

// send hands out the queued events not yet sent, and sends again those
// not acknowledged by their due time, with the next retry_attempt. Over
// HTTP a channel has one event on its way at a time, so that the app
// receives each channel's events in order.
func (d *dispatcher) send(now time.Time, overHTTP bool) {
	for _, c := range d.chans {
		for _, p := range c.queue {
			if p.acked {
				continue
			}
			if !p.sent {
				if d.inflight >= d.m.cfg.Window || !d.deliver(p, now, overHTTP) {
					return
				}
				d.inflight++
				c.unacked++
			} else if !now.Before(p.due) {
				if d.expired(p, now) {
					d.ack(p.envelope) // given up: past the retention window
					continue
				}
				if !d.deliver(p, now, overHTTP) {
					return
				}
			}
			if overHTTP {
				break
			}
		}
	}
}

// expired reports whether an event has been retried for longer than the
// retention window: it is given up, as an app away that long would not
// get it either.
func (d *dispatcher) expired(p *pending, now time.Time) bool {
	if d.m.cfg.Retention <= 0 || now.Sub(p.queued) < d.m.cfg.Retention {
		return false
	}
	d.m.metrics.expired.Inc()
	d.m.log.Warn("app event given up after the retention window", "app", d.appID, "event_id", p.ev.id)
	return true
}

// deliver hands one event to a connection of the app (another than the
// last one it went to, when there is another), or to the HTTP workers:
// false if none took it.
func (d *dispatcher) deliver(p *pending, now time.Time, overHTTP bool) bool {
	attempt := d.attempts[p.ev.id]
	env := newEnvelopeID()
	if overHTTP {
		select {
		case d.hook <- hookJob{envelope: env, url: d.verified, secret: d.target.app.SigningSecret,
			body: p.ev.body, attempt: attempt, reason: p.reason}:
		default:
			return false
		}
		// The worker reports a failure; this is only a guard.
		p.due = now.Add(2*webhookTimeout + time.Second)
	} else {
		reason := ""
		if attempt > 0 {
			reason = "timeout"
		}
		frame := envelope(env, p.ev.body, attempt, reason)
		d.mu.Lock()
		var conn *socketConn
		for i := 0; i < len(d.conns); i++ {
			c := d.conns[(d.next+i)%len(d.conns)]
			if c == p.conn && len(d.conns) > 1 {
				continue
			}
			if c.enqueue(frame) {
				conn = c
				d.next = (d.next + i + 1) % len(d.conns)
				break
			}
		}
		d.mu.Unlock()
		if conn == nil {
			return false
		}
		p.conn, p.due = conn, now.Add(d.m.cfg.AckTimeout)
	}
	if p.envelope != "" {
		delete(d.envelopes, p.envelope)
	}
	p.sent, p.envelope = true, env
	d.envelopes[env] = p
	d.attempts[p.ev.id] = attempt + 1
	d.m.metrics.sent(attempt)
	return true
}

// ack records an acknowledgement; an unknown or stale envelope id is
// ignored.
func (d *dispatcher) ack(env string) {
	p := d.envelopes[env]
	if p == nil {
		return
	}
	delete(d.envelopes, env)
	p.acked = true
	delete(d.attempts, p.ev.id)
	d.inflight--
	if c := d.chans[p.ev.channel]; c != nil {
		c.unacked--
		d.advance(c)
	}
	d.poke() // room in the window
}

// advance pops the done events off a channel's queue and moves its
// position past every change whose events are all done.
func (d *dispatcher) advance(c *chanState) {
	i := 0
	for i < len(c.queue) && c.queue[i].acked {
		i++
	}
	if i == 0 {
		return
	}
	clear(c.queue[:i])
	c.queue = c.queue[i:]
	pos := c.read
	if len(c.queue) > 0 {
		pos = c.queue[0].ev.seq - 1
	}
	if pos > c.pos {
		c.pos, d.unsaved = pos, true
	}
}

// save writes the positions that moved, at most once per SaveInterval
// unless final.
func (d *dispatcher) save(final bool) {
	if !d.unsaved || d.target == nil {
		return
	}
	now := d.m.now()
	if !final && now.Sub(d.lastSave) < d.m.cfg.SaveInterval {
		return
	}
	var ps []confab.AppPosition
	for _, c := range d.chans {
		if c.pos != c.saved && c.kind != "?" {
			ps = append(ps, confab.AppPosition{ChannelID: c.id, Seq: c.pos, JoinedAt: c.joinedAt})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.m.cfg.StoreTimeout)
	defer cancel()
	if err := d.m.cfg.Store.SaveAppPositions(ctx, d.appID, ps); err != nil {
		d.m.log.Warn("app positions not saved", "app", d.appID, "err", err)
		return
	}
	for _, p := range ps {
		d.chans[p.ChannelID].saved = p.Seq
	}
	d.unsaved, d.lastSave = false, now
}

// newEnvelopeID returns a Socket Mode envelope id, a random UUID as
// Slack's.
func newEnvelopeID() string {
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
