package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
)

// Long-polling: the same RTM stream for clients behind a proxy that
// buffers whole answers, where neither a WebSocket nor Server-Sent Events
// get through (docs/api.md, "RTM over long-polling"). A poll is
// POST /rtm/poll/{ticket} (the first: a ticket from rtm.connect's
// poll_url) or POST /rtm/poll with the key the previous answer gave, and
// the client's checkpoints (as client.catchup takes them).
//
// A poll is a connection like the others while it lasts: the same
// quotas, registration, queue and slow-consumer rule. It is registered
// for its user's topic and channels before it catches up, so that nothing
// published between the catch-up and the hold is missed (the client drops
// what it has already applied, as after a WebSocket's catch-up). When the
// catch-up has events it is answered at once; else it waits in the poller
// with no goroutine until the first frame is queued, or until its timeout
// (the sweeper), and is answered with everything queued by then. The
// answer is one HTTP response with a length; the connection then closes.
// Frames that carry no seq (typing, presence) reach a client only while
// one of its polls is held; every other event is caught up by the next
// poll, from the database.
//
// The polls of one client are a stream (pollStream): one hello, one id
// that rtm.presenceSub names, and one presence — Chat.Connected when it
// begins, Chat.Disconnected once no poll of it was held for pollGrace —
// so that a client that polls is not online and offline between polls.
// When a poll of a stream that goes on ends, its topics are held
// subscribed for pollGrace (hub.hold, as for an SSE stream that may
// resume): the next poll finds them in place, and an rtm.presenceSub sent
// between polls still arrives.

// pollPrefix is the path of a poll; the first names its ticket after a
// slash.
const pollPrefix = "/rtm/poll"

// isPoll tells a poll from a WebSocket's or an SSE stream's request.
func isPoll(r *http.Request) bool {
	return r.URL.Path == pollPrefix || strings.HasPrefix(r.URL.Path, pollPrefix+"/")
}

const (
	// pollTimeout is how long a poll waits for events by default, and
	// pollMaxTimeout the longest it may: under the 60 s after which
	// proxies commonly give up on an answer.
	pollTimeout    = 25 * time.Second
	pollMaxTimeout = 30 * time.Second
	// pollMaxBody bounds a poll's body: 10,000 checkpoints fit.
	pollMaxBody = 1 << 20
	// pollCatchUp is how many events of each channel a poll's catch-up
	// carries; the next poll carries the rest.
	pollCatchUp = 100
)

// pollGrace is how long a stream outlives its last poll: a client polls
// again as soon as it has its answer, so a stream with no poll for this
// long is a client gone. (A variable for the tests.)
var pollGrace = 10 * time.Second

// errAnswer ends a poll with its answer: events arrived, its catch-up
// had some, or its timeout passed.
var errAnswer = errors.New("poll answered")

// pollConn is what a connection that is a poll has besides.
type pollConn struct {
	// Set by servePoll before c is shared.
	key      string // the answer's key: the stream's id and a stream key
	origin   string // another origin's page allowed to read the answer ("": none)
	deadline int64  // unix ns: answered with what there is then (the sweeper)
	stream   *pollStream
	// Guarded by conn.mu.
	pre   [][]byte // the events before the queue's: hello, the catch-up's
	ready bool     // registered and caught up: an end is answered with events
	// caught is, by channel, the last seq the catch-up gave (MaxInt64
	// where it has more): a queued frame at or below it was published
	// between the registration and the catch-up's read, and is in pre
	// already, or comes with the next poll's catch-up (caughtUp).
	caught map[string]int64
}

// pollStream is the polls of one client (see above). id, uid, ws and
// session are immutable; the rest is guarded by pollStreams.mu.
type pollStream struct {
	id      string // its hello's stream id
	uid, ws string
	session confab.Fingerprint

	held      int   // its polls registered now
	idle      int64 // unix ns: since when none is (when held is 0)
	connected bool  // Chat.Connected was called for it
	presence  []string
}

func (s *pollStream) user() *confab.User { return &confab.User{ID: s.uid, WorkspaceID: s.ws} }

// pollStreams are the gateway's streams by id. mu is a leaf (LOCKING.md).
type pollStreams struct {
	mu sync.Mutex
	m  map[string]*pollStream
}

// pollRequest is what a poll asks.
type pollRequest struct {
	ticket      string // the first poll's, from its path
	key         string // a later poll's: "<stream id>~<stream key>"
	checkpoints map[string]int64
	timeout     time.Duration
}

// parsePoll reads a poll's arguments, form-encoded (body or query
// string) or a JSON object: the ticket in the path or a key,
// checkpoints, timeout.
func parsePoll(w http.ResponseWriter, r *http.Request) (pollRequest, error) {
	req := pollRequest{timeout: pollTimeout}
	if rest, ok := strings.CutPrefix(r.URL.Path, pollPrefix+"/"); ok {
		if rest == "" || strings.Contains(rest, "/") {
			return req, confab.ErrInvalidAuth
		}
		req.ticket = rest
	}
	vals := map[string]json.RawMessage{}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, pollMaxBody))
	if err != nil {
		return req, confab.ErrInvalidArgs
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return req, confab.ErrInvalidArgs
	}
	if ct != "application/json" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return req, confab.ErrInvalidArgs
		}
		for k, v := range form {
			q[k] = v
		}
	}
	for k, v := range q {
		s, _ := json.Marshal(v[0])
		vals[k] = s
	}
	if ct == "application/json" && len(strings.TrimSpace(string(body))) > 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil || m == nil {
			return req, confab.ErrInvalidArgs
		}
		for k, v := range m {
			vals[k] = v
		}
	}
	if raw, ok := vals["key"]; ok && req.ticket == "" {
		if json.Unmarshal(raw, &req.key) != nil {
			return req, confab.ErrInvalidArgs
		}
	}
	if req.ticket == "" && req.key == "" {
		return req, confab.ErrInvalidAuth
	}
	if req.checkpoints, err = pollCheckpoints(vals["checkpoints"]); err != nil {
		return req, err
	}
	if raw, ok := vals["timeout"]; ok {
		s := string(raw)
		if len(raw) > 0 && raw[0] == '"' {
			json.Unmarshal(raw, &s)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || math.IsNaN(f) {
			return req, confab.ErrInvalidArgs
		}
		req.timeout = time.Duration(min(f, pollMaxTimeout.Seconds()) * float64(time.Second))
	}
	return req, nil
}

// pollCheckpoints parses checkpoints, a JSON object {"<channel>": seq}
// (seqs may be numeric strings), or a string holding one (a form's).
// Absent is none: every channel from its start.
func pollCheckpoints(raw json.RawMessage) (map[string]int64, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, confab.ErrInvalidArgs
		}
		raw = json.RawMessage(s)
	}
	return confab.ParseCheckpoints(raw)
}

// servePoll serves a poll (see above); ServeHTTP has counted it.
func (g *Gateway) servePoll(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		g.httpError(w, errMethod)
		return
	}
	if !g.originAllowed(r) {
		g.httpError(w, errOrigin)
		return
	}
	req, err := parsePoll(w, r)
	if err != nil {
		g.httpError(w, err)
		return
	}
	quota, ok := g.enterQuotas(w, r)
	if !ok {
		return
	}
	defer quota.drop()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(g.ctx, cancel)()
	stream, credential := "", req.ticket
	redeem := g.chat.RedeemTicket
	if req.ticket == "" {
		stream, credential, _ = strings.Cut(req.key, "~")
		redeem = g.chat.RedeemStreamKey
	}
	adm, err := redeem(ctx, credential)
	if err != nil {
		if confab.ErrorCode(err) == confab.EINTERNAL {
			g.log.Error("redeem poll", "err", err)
		}
		g.httpError(w, err)
		return
	}
	if !quota.takeUser(w, adm.User) {
		return
	}
	key, err := g.chat.StreamKey(adm)
	if err != nil {
		g.log.Error("stream key", "err", err)
		g.httpError(w, err)
		return
	}
	nc, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		g.log.Warn("poll: the connection cannot be taken over", "proto", r.Proto, "err", err)
		g.httpError(w, errNoStream)
		return
	}
	g.boundSendBuffer(nc)
	c := g.accept(nc, adm.User)
	c.poll = &pollConn{deadline: start.Add(req.timeout).UnixNano()}
	if o := r.Header.Get("Origin"); o != "" && !sameHost(o, r.Host) {
		c.poll.origin = o
	}
	// A poll has no WebSocket hello: its stream's is an event.
	clear(c.out.queue)
	c.out.queue = c.out.queue[:0]
	c.frames, c.bytes = 0, 0
	quota.to(c)
	c.session = adm.Session
	if g.poller != nil {
		if err := g.detach(c, nc); err != nil {
			g.finish(c, err)
			return
		}
	}
	s, fresh := g.holdStream(c, stream)
	c.poll.key = s.id + "~" + key
	if err := g.register(c, adm); err != nil {
		g.finish(c, err)
		return
	}
	var pre [][]byte
	if fresh {
		g.chat.Connected(g.ctx, c.user())
		g.polls.mu.Lock()
		s.connected = true
		g.polls.mu.Unlock()
		hello, _ := json.Marshal(struct {
			Type   string `json:"type"`
			Stream string `json:"stream"`
		}{"hello", s.id})
		pre = append(pre, hello)
	}
	g.polls.mu.Lock()
	presence := s.presence
	g.polls.mu.Unlock()
	if len(presence) > 0 {
		if err := g.presenceSub(c, presence); err != nil {
			g.log.Warn("presence subscription", "conn", c.id, "user", c.uid, "err", err)
		}
	}
	chs, err := g.chat.CatchUp(ctx, c.user(), req.checkpoints, pollCatchUp)
	if err != nil {
		if confab.ErrorCode(err) == confab.EINTERNAL {
			g.log.Error("poll catch-up", "conn", c.id, "user", c.uid, "err", err)
		}
		g.finish(c, err)
		return
	}
	var caught map[string]int64
	for _, ch := range chs {
		if len(ch.Events) == 0 && !ch.HasMore {
			continue
		}
		last := int64(math.MaxInt64)
		if !ch.HasMore {
			last = eventSeq(ch.Events[len(ch.Events)-1]).Seq
		}
		if caught == nil {
			caught = map[string]int64{}
		}
		caught[ch.Channel] = last
		for _, ev := range ch.Events {
			pre = append(pre, ev)
		}
	}
	c.mu.Lock()
	c.poll.caught = caught
	c.mu.Unlock()
	g.holdPoll(c, nc, pre, req.timeout <= 0)
}

// holdPoll ends c's registration: c, caught up with the events pre, is
// answered at once when there is something to answer with (or now is
// set), else it waits for its first frame or its deadline — in the
// poller, or in a reader goroutine where there is none.
func (g *Gateway) holdPoll(c *conn, nc net.Conn, pre [][]byte, now bool) {
	c.mu.Lock()
	c.poll.pre, c.poll.ready = pre, true
	c.to(stateReading)
	now = now || len(pre) > 0 || c.out != nil && len(c.out.queue) > 0
	c.mu.Unlock()
	if now {
		c.closeWith(errAnswer, false)
	}
	g.listen(c, nc)
}

// caughtUp reports whether the catch-up of the poll gives the event ev,
// or leaves it to the next poll's: an event of a channel at or below
// what the catch-up gave of it (caught). Each event goes once.
func (p *pollConn) caughtUp(ev []byte) bool {
	if len(p.caught) == 0 {
		return false
	}
	e := eventSeq(ev)
	last, ok := p.caught[e.Channel]
	return ok && e.Seq > 0 && e.Seq <= last
}

// eventSeq reads an event's channel and seq (zero for an event of none).
func eventSeq(ev []byte) (e struct {
	Channel string `json:"channel"`
	Seq     int64  `json:"seq"`
}) {
	json.Unmarshal(ev, &e)
	return e
}

// sweepPoll answers c, a poll, once it is held past its deadline (reading:
// held by a reader goroutine where there is no poller).
func (c *conn) sweepPoll(now int64) {
	if st := c.state(); (st == statePolled || st == stateReading) && now >= c.poll.deadline {
		c.closeWith(errAnswer, false)
	}
}

// pollAnswer is c's answer, which finish writes as a poll's last bytes in
// place of a close frame: the events before the queue's, the frames
// queued, and — when c ends for another reason than an answer (code is
// not 1000) — a last event {"type":"close","code":…,"reason":…}, as an
// SSE stream's. A poll that ends before it is registered and caught up
// gets the HTTP error instead.
func (c *conn) pollAnswer(code ws.StatusCode, reason string) []byte {
	c.mu.Lock()
	err, ready, pre := c.closeErr, c.poll.ready, c.poll.pre
	var frames [][]byte
	if c.out != nil {
		for _, f := range c.out.queue {
			if f.op == ws.OpText && !c.poll.caughtUp(f.b[f.hl:]) {
				frames = append(frames, f.b[f.hl:])
			}
		}
	}
	c.dropLocked()
	c.mu.Unlock()
	// The places come back before the answer goes: a client that has its
	// answer finds them free for its next poll.
	c.g.releaseQuotas(c)
	p := c.poll
	if !ready && !errors.Is(err, errAnswer) {
		o := classify(err)
		body, _ := json.Marshal(struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}{false, o.code})
		return pollHTTP(o.status, p.origin, body)
	}
	if code == ws.StatusNormalClosure && c.g.currentPhase() != phaseRunning {
		code, reason = ws.StatusGoingAway, "going away"
	}
	key, _ := json.Marshal(p.key)
	b := make([]byte, 0, 256)
	b = append(b, `{"ok":true,"key":`...)
	b = append(b, key...)
	b = append(b, `,"events":[`...)
	n := 0
	for _, part := range [][][]byte{pre, frames} {
		for _, ev := range part {
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, ev...)
			n++
		}
	}
	if code != ws.StatusNormalClosure {
		if n > 0 {
			b = append(b, ',')
		}
		cl, _ := json.Marshal(struct {
			Type   string `json:"type"`
			Code   int    `json:"code"`
			Reason string `json:"reason"`
		}{"close", int(code), reason})
		b = append(b, cl...)
	}
	b = append(b, "]}\n"...)
	return pollHTTP(http.StatusOK, p.origin, b)
}

// answerer is a detached socket (fdConn) that writes a poll's answer and
// closes itself.
type answerer interface {
	answer(p []byte, until time.Time)
}

// answerPoll writes the answer of c, a poll whose socket is detached, and
// closes the socket: finish's last flush and close in one (endWriting
// calls it). It reports false when c is not such a poll.
func (g *Gateway) answerPoll(c *conn, t transport, d *teardown) bool {
	a, ok := t.(answerer)
	if c.poll == nil || !ok {
		return false
	}
	until := d.deadline
	if d.aborted {
		until = time.Now().Add(min(g.cfg.WriteTimeout, abortCloseTimeout))
	}
	a.answer(c.pollAnswer(d.o.close, d.o.msg), until)
	return true
}

// pollHTTP is a poll's whole answer: the head, with the body's length,
// and the body. The connection closes after it: one poll per connection.
func pollHTTP(status int, origin string, body []byte) []byte {
	b := make([]byte, 0, len(body)+256)
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\nContent-Type: application/json; charset=utf-8\r\n"+
		"Cache-Control: no-store\r\n"+
		"X-Content-Type-Options: nosniff\r\n"+
		"Connection: close\r\n"+
		"Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n"...)
	if origin != "" {
		b = append(b, "Access-Control-Allow-Origin: "+origin+"\r\nVary: Origin\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// holdStream counts c's poll in the stream id of c's user and session,
// or in a new stream (fresh) when there is no such stream here — the
// first poll, or one after the stream ended.
func (g *Gateway) holdStream(c *conn, id string) (s *pollStream, fresh bool) {
	p := &g.polls
	p.mu.Lock()
	defer p.mu.Unlock()
	s = p.m[id]
	if s == nil || s.uid != c.uid || s.ws != c.ws || s.session != c.session {
		s = &pollStream{id: c.streamID(), uid: c.uid, ws: c.ws, session: c.session}
		if p.m == nil {
			p.m = make(map[string]*pollStream)
		}
		p.m[s.id] = s
		fresh = true
	}
	s.held++
	c.poll.stream = s
	return s, fresh
}

// pollEnded uncounts c, a poll, from its stream (unregister calls it),
// and reports whether the stream goes on (it does while it lasts and the
// gateway runs): c's topics are then held subscribed for its next poll
// (hub.hold), for pollGrace. Not a poll: false.
func (g *Gateway) pollEnded(c *conn) (goesOn bool) {
	if c.poll == nil || c.poll.stream == nil {
		return false
	}
	s := c.poll.stream
	p := &g.polls
	p.mu.Lock()
	defer p.mu.Unlock()
	s.held--
	if s.held == 0 {
		s.idle = time.Now().UnixNano()
	}
	return p.m[s.id] == s && g.currentPhase() == phaseRunning
}

// sweepStreams ends the streams with no poll for pollGrace (the sweeper
// calls it with the time); Shutdown ends the rest.
func (g *Gateway) sweepStreams(now int64) {
	if g.currentPhase() != phaseRunning {
		return
	}
	p := &g.polls
	var gone []*pollStream
	p.mu.Lock()
	for id, s := range p.m {
		if s.held == 0 && now-s.idle > pollGrace.Nanoseconds() {
			delete(p.m, id)
			gone = append(gone, s)
		}
	}
	p.mu.Unlock()
	if len(gone) > 0 {
		g.goTracked(func() { g.endStreams(gone) })
	}
}

// endStreams ends streams taken out of the map: their users are
// disconnected. (The bus subscriptions held for them end with their holds.)
func (g *Gateway) endStreams(gone []*pollStream) {
	for _, s := range gone {
		if s.connected {
			g.chat.Disconnected(g.ctx, s.user())
		}
	}
}

// endAllStreams ends every stream: Shutdown calls it once every
// connection has finished.
func (g *Gateway) endAllStreams() {
	p := &g.polls
	p.mu.Lock()
	gone := make([]*pollStream, 0, len(p.m))
	for _, s := range p.m {
		gone = append(gone, s)
	}
	p.m = nil
	p.mu.Unlock()
	g.endStreams(gone)
}

// pollPresenceSub applies an OpPresenceSub of a user topic that names
// one of the user's poll streams: the stream's polls, held now and to
// come, watch the presence of ids (a JSON array). It reports whether the
// stream was one.
func (g *Gateway) pollPresenceSub(userTopic, stream string, ids []byte) bool {
	p := &g.polls
	p.mu.Lock()
	s := p.m[stream]
	p.mu.Unlock()
	if s == nil || confab.UserTopic(s.ws, s.uid) != userTopic {
		return false
	}
	var want []string
	if err := json.Unmarshal(ids, &want); err != nil {
		g.log.Warn("bad presence subscription", "stream", stream, "err", err)
		return true
	}
	topics := presenceTopics(s.ws, want)
	p.mu.Lock()
	s.presence = topics
	p.mu.Unlock()
	for _, c := range g.hub.members(userTopic) {
		if c.poll == nil || c.poll.stream != s {
			continue
		}
		g.goTracked(func() {
			if err := g.presenceSub(c, topics); err != nil {
				g.log.Warn("presence subscription", "conn", c.id, "user", c.uid, "err", err)
			}
		})
	}
	return true
}
