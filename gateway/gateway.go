package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// Chat is what the gateway needs of the chat service.
type Chat interface {
	// RedeemTicket validates and consumes a ticket from rtm.connect: the
	// user, and the session (token) it was issued under.
	// Errors: EUNAUTHORIZED "invalid_auth" (unknown, used or expired, or
	// its token revoked).
	RedeemTicket(ctx context.Context, ticket string) (*chat.Admission, error)
	// StreamKey returns a key that admits a's stream again on this gateway
	// (an SSE stream's resumption), any number of times until it expires.
	StreamKey(a *chat.Admission) (string, error)
	// RedeemStreamKey checks a key from StreamKey: the admission it
	// carries. Errors: EUNAUTHORIZED "invalid_auth" (forged, expired, of
	// another gateway, or its token revoked).
	RedeemStreamKey(ctx context.Context, key string) (*chat.Admission, error)
	// CheckAdmission tells whether a's token still exists, as of the call.
	// Errors: EUNAUTHORIZED "invalid_auth" (revoked).
	CheckAdmission(ctx context.Context, a *chat.Admission) error
	// UserChannels returns the ids of the channels userID is a member of.
	UserChannels(ctx context.Context, userID string) ([]string, error)
	// PostMessage stores and publishes a message, as chat.postMessage.
	// Errors: ENOTFOUND "channel_not_found", EFORBIDDEN "not_in_channel",
	// "is_archived", EINVALID "no_text", "msg_too_long", ….
	PostMessage(ctx context.Context, u *confab.User, p chat.PostParams) (*confab.Message, error)
	// Typing publishes user_typing to the channel's members.
	Typing(ctx context.Context, u *confab.User, channel string) error
	// CatchUp returns the events of u's channels after checkpoints (a
	// poll's catch-up), at most limit a channel.
	CatchUp(ctx context.Context, u *confab.User, checkpoints map[string]int64, limit int) ([]chat.CatchUpChannel, error)
	// Connected and Disconnected bracket each connection of u (presence).
	Connected(ctx context.Context, u *confab.User)
	Disconnected(ctx context.Context, u *confab.User)
}

// Bus is what the gateway needs of its own instance of the bus
// (confab.PubSub): it subscribes to the topics of its local members, and
// closes the instance when it has shut down.
type Bus interface {
	Subscribe(ctx context.Context, topics ...string) error
	Unsubscribe(ctx context.Context, topics ...string) error
	Close() error
}

// OpenBus opens the gateway's instance of the bus with the handler that
// takes every publication of its topics (Gateway.HandlePublication), so
// that the handler exists before the instance does.
type OpenBus func(handler func(topic string, payload []byte)) (Bus, error)

// Config configures a Gateway. Zero values take the defaults shown.
type Config struct {
	Chat       Chat
	OpenBus    OpenBus               // required
	Logger     *slog.Logger          // default: discard
	Registerer prometheus.Registerer // nil: metrics are not registered

	PingInterval time.Duration // WebSocket ping period; default 30s
	IdleTimeout  time.Duration // close when nothing arrived for this long; default 90s
	WriteTimeout time.Duration // bounds the handshake, the last flush and the close; default 5s

	MaxQueueBytes  int // outbound queue limit in bytes; default DefaultSendQueueBytes
	MaxQueueFrames int // outbound queue limit in frames; default 1024
	MaxFrameBytes  int // inbound message limit; default 512 KiB

	// AllowedOrigins lists the browser Origins accepted besides the
	// request's own host ("https://chat.example.com"); "*" accepts any.
	AllowedOrigins []string
	Shards         int // hub shards; default 64
	// Writers is how many goroutines write detached sockets' queues (see
	// writers); default GOMAXPROCS.
	Writers int
	// Limiter is the per-token rate limit every client frame takes from
	// (session.go), shared with the API; nil: frames are not limited.
	Limiter Limiter

	// What a connection may hold in the kernel, and how long its socket
	// may take nothing (see conn.go, "Slow consumers").
	//
	// SendBufferBytes is set as SO_SNDBUF on every accepted socket (Linux
	// doubles it for its bookkeeping); default DefaultSendBufferBytes, and
	// below 0 the kernel's own (autotuned up to net.ipv4.tcp_wmem's
	// maximum). NoProgressTimeout closes a connection as a slow consumer
	// when its socket took no byte for that long while frames waited for
	// it; default DefaultNoProgressTimeout.
	SendBufferBytes   int
	NoProgressTimeout time.Duration

	// Quotas, before the upgrade (see quota.go): an answer of 429
	// beyond any of these. 0 is no limit.
	//
	// ClientAddr is the client's address; nil: the IP of r.RemoteAddr.
	// Addresses are counted by IPv4 address and by IPv6 /64.
	ClientAddr      func(r *http.Request) netip.Addr
	MaxConnsPerUser int     // open connections of one user
	MaxConnsPerAddr int     // open connections from one address
	HandshakeRate   float64 // upgrade requests a second from one address
	HandshakeBurst  int     // past HandshakeRate; default: HandshakeRate, at least 1

	// What an SSE stream that drops may resume from (resume.go): the
	// frames broadcast last, up to ResumeFrames (default 65,536) and
	// ResumeBytes (default 16 MiB), and its topics, held subscribed for
	// ResumeHold after it leaves (default 2 minutes).
	ResumeFrames int
	ResumeBytes  int
	ResumeHold   time.Duration
}

// DefaultSendQueueBytes is the default of Config.MaxQueueBytes: the bytes a
// connection's outbound queue may hold before the connection is closed as a
// slow consumer (4 MiB).
const DefaultSendQueueBytes = 4 << 20

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 90 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 5 * time.Second
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = DefaultSendQueueBytes
	}
	if c.MaxQueueFrames <= 0 {
		c.MaxQueueFrames = 1024
	}
	// A connection counts its queue in int32s.
	c.MaxQueueBytes = min(c.MaxQueueBytes, math.MaxInt32)
	c.MaxQueueFrames = min(c.MaxQueueFrames, math.MaxInt32)
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = 512 << 10
	}
	if c.Shards <= 0 {
		c.Shards = 64
	}
	if c.Writers <= 0 {
		c.Writers = runtime.GOMAXPROCS(0)
	}
	if c.SendBufferBytes == 0 {
		c.SendBufferBytes = DefaultSendBufferBytes
	}
	if c.ResumeFrames <= 0 {
		c.ResumeFrames = 1 << 16
	}
	if c.ResumeBytes <= 0 {
		c.ResumeBytes = 16 << 20
	}
	if c.ResumeHold <= 0 {
		c.ResumeHold = 2 * time.Minute
	}
	if c.NoProgressTimeout <= 0 {
		c.NoProgressTimeout = DefaultNoProgressTimeout
	}
	if c.HandshakeRate > 0 && c.HandshakeBurst <= 0 {
		c.HandshakeBurst = max(int(c.HandshakeRate), 1)
	}
}

// Gateway is the RTM WebSocket endpoint: an http.Handler for
// GET /rtm/{ticket}.
type Gateway struct {
	// Immutable after New.
	cfg     Config
	chat    Chat
	log     *slog.Logger
	metrics *metrics
	quotas  *quotas // connections and handshakes per user and address
	hub     *hub
	bus     Bus             // opened by New, closed by Shutdown
	poller  *poller         // nil: every connection has a blocking reader
	writers *writers        // write detached sockets' queues
	ctx     context.Context // for chat and bus calls; cancelled by a forced Shutdown
	cancel  context.CancelFunc
	quit    chan struct{} // closed when Shutdown ends; stops the sweeper

	nextID atomic.Uint64 // the last connection id
	// streams prefixes the ids of this gateway's SSE streams (streamID):
	// random, so that two gateways' ids differ.
	streams string
	// bg counts the background goroutines — the writers, the sweeper and
	// the poller goroutine — which Shutdown stops (once) and waits for
	// last, after wg.
	bg     sync.WaitGroup
	stopBg sync.Once

	// phase is where the gateway is in its life (a gatewayPhase): changed
	// only by advance, with goMu held for writing. Whoever adds to wg
	// because of the phase (enter, goTracked, startFlushes) reads it with
	// goMu held for reading, so that no Add races Shutdown's Wait; register
	// reads it without (see Shutdown).
	goMu  sync.RWMutex
	phase atomic.Uint32
	// wg counts every goroutine the gateway starts, the ServeHTTP calls in
	// progress, and every connection until it is closed (connState).
	wg sync.WaitGroup

	// The registry the sweeper and Shutdown walk, sharded by connection id
	// so that a reconnect storm's registrations and unregistrations, and
	// the sweeper's walk, do not queue on one lock.
	conns  [registryShards]registryShard
	nconns atomic.Int64

	// beforeSettle, when set (by tests), runs as a stream is about to
	// settle (resume.go): its frames queued meanwhile are in its queue.
	beforeSettle func()

	polls pollStreams // the long-poll streams (longpoll.go)
}

// gatewayPhase is where a Gateway is in its life: running, then draining
// once Shutdown begins, then stopped once every connection has finished.
type gatewayPhase uint32

const (
	phaseRunning gatewayPhase = iota
	// Shutdown began: refuse requests and registrations; goroutines still
	// start for the connections being finished.
	phaseDraining
	// Every connection finished: refuse goroutines; nothing writes any
	// more.
	phaseStopped
)

// advance moves g on to p, unless g is there or past it already: the one
// place the phase changes.
func (g *Gateway) advance(p gatewayPhase) {
	g.goMu.Lock()
	defer g.goMu.Unlock()
	if gatewayPhase(g.phase.Load()) < p {
		g.phase.Store(uint32(p))
	}
}

func (g *Gateway) currentPhase() gatewayPhase { return gatewayPhase(g.phase.Load()) }

const registryShards = 64

type registryShard struct {
	mu sync.Mutex         // taken alone, or by eachConn over its callback (LOCKING.md)
	m  map[*conn]struct{} // guarded by mu
}

func (g *Gateway) registry(c *conn) *registryShard { return &g.conns[uint64(c.id)%registryShards] }

// eachConn calls f with every registered connection, one shard locked at a
// time.
func (g *Gateway) eachConn(f func(c *conn)) {
	for i := range g.conns {
		s := &g.conns[i]
		s.mu.Lock()
		for c := range s.m {
			f(c)
		}
		s.mu.Unlock()
	}
}

// New opens the gateway's bus (cfg.OpenBus) and returns a running
// Gateway; stop it with Shutdown, which closes the bus.
func New(cfg Config) (*Gateway, error) {
	cfg.setDefaults()
	g := &Gateway{
		cfg:     cfg,
		chat:    cfg.Chat,
		log:     cfg.Logger,
		metrics: newMetrics(cfg.Registerer),
		quit:    make(chan struct{}),
	}
	g.quotas = newQuotas(&g.cfg, g.metrics)
	var r [6]byte
	rand.Read(r[:])
	g.streams = base64.RawURLEncoding.EncodeToString(r[:])
	for i := range g.conns {
		g.conns[i].m = make(map[*conn]struct{})
	}
	bus, err := cfg.OpenBus(g.HandlePublication)
	if err != nil {
		return nil, fmt.Errorf("gateway: open the bus: %w", err)
	}
	g.bus = bus
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.hub = newHub(cfg.Shards, bus, cfg.Logger, newRing(cfg.ResumeFrames, cfg.ResumeBytes), g.startFlushes)
	g.writers = newWriters()
	for range cfg.Writers {
		g.bg.Add(1)
		go func() {
			defer g.bg.Done()
			g.writers.run()
		}()
	}
	g.bg.Add(1)
	go func() {
		defer g.bg.Done()
		g.sweep()
	}()
	if p, err := newPoller(); err == nil {
		g.poller = p
		g.bg.Add(1)
		go func() {
			defer g.bg.Done()
			p.run(g)
		}()
	} else {
		g.log.Warn("no poller: one reader goroutine per connection", "err", err)
	}
	return g, nil
}

// Conns returns the number of open connections.
func (g *Gateway) Conns() int { return int(g.nconns.Load()) }

// enter counts a ServeHTTP call, unless the gateway is draining.
func (g *Gateway) enter() bool {
	g.goMu.RLock()
	defer g.goMu.RUnlock()
	if g.currentPhase() != phaseRunning {
		return false
	}
	g.wg.Add(1)
	return true
}

// goTracked runs f in a goroutine counted by wg, unless the gateway is
// stopped (cf. nats startGoRoutine). Connections may still start
// goroutines while Shutdown drains them; each of those connections is
// itself counted until it is closed, so wg never reaches zero early.
func (g *Gateway) goTracked(f func()) bool {
	g.goMu.RLock()
	defer g.goMu.RUnlock()
	if g.currentPhase() == phaseStopped {
		return false
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
	return true
}

// startFlushes starts a flush for each of cs, which are flushing
// (c.flushing set by conn.queue): a detached socket gets a turn of the
// writers, the turns of all of cs under one lock of their queue (a
// broadcast to 10,000 connections takes it once, not 10,000 times); any
// other gets a goroutine. Once the gateway is gone nothing writes and the
// queues are dropped.
func (g *Gateway) startFlushes(cs []*conn) {
	g.goMu.RLock()
	defer g.goMu.RUnlock()
	if g.currentPhase() == phaseStopped {
		for _, c := range cs {
			c.flushRefused()
		}
		return
	}
	turns := cs
	if !allVector(cs) {
		turns = make([]*conn, 0, len(cs))
		for _, c := range cs {
			if _, ok := c.t.(vectorWriter); ok {
				turns = append(turns, c)
				continue
			}
			g.wg.Add(1)
			go c.flush()
		}
	}
	if !g.writers.push(turns...) {
		for _, c := range turns {
			c.flushRefused()
		}
	}
}

// allVector reports whether every one of cs writes through the writers.
func allVector(cs []*conn) bool {
	for _, c := range cs {
		if _, ok := c.t.(vectorWriter); !ok {
			return false
		}
	}
	return true
}

// ServeHTTP upgrades GET /rtm/{ticket} to an RTM connection.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.enter() {
		g.httpError(w, errShutdown)
		return
	}
	defer g.wg.Done()
	if isPoll(r) {
		g.servePoll(w, r)
		return
	}

	switch {
	case r.Method != http.MethodGet:
		w.Header().Set("Allow", http.MethodGet)
		g.httpError(w, errMethod)
		return
	case !g.originAllowed(r):
		g.httpError(w, errOrigin)
		return
	case !isSSE(r) && !strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		g.httpError(w, errNotWebSocket)
		return
	}
	ticket := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	if ticket == "" {
		g.httpError(w, confab.ErrInvalidAuth)
		return
	}
	// The address's quotas before the ticket is redeemed, the user's once
	// it is known (quota.go); the connection keeps its places until it is
	// closed.
	quota, ok := g.enterQuotas(w, r)
	if !ok {
		return
	}
	defer quota.drop()
	// A forced Shutdown cancels the redeem too.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(g.ctx, cancel)()
	var (
		adm  *chat.Admission
		err  error
		last lastEventID
		sse  = isSSE(r)
	)
	if v := r.Header.Get("Last-Event-ID"); sse && v != "" {
		// A browser resuming its stream: the ticket in the path is
		// spent; the id's stream key admits it (resume.go).
		ok := false
		if last, ok = parseLastEventID(v); !ok {
			g.httpError(w, confab.ErrInvalidAuth)
			return
		}
		adm, err = g.chat.RedeemStreamKey(ctx, last.key)
	} else {
		adm, err = g.chat.RedeemTicket(ctx, ticket)
	}
	if err != nil {
		if confab.ErrorCode(err) == confab.EINTERNAL {
			g.log.Error("redeem ticket", "err", err)
		}
		g.httpError(w, err)
		return
	}
	user := adm.User
	if !quota.takeUser(w, user) {
		return
	}

	var (
		nc    net.Conn
		early []byte
		st    *stream
	)
	if sse {
		if st, err = g.newStream(adm, last); err != nil {
			g.log.Error("stream key", "err", err)
			g.httpError(w, err)
			return
		}
		// Nothing the client sends after its request is read.
		if nc, err = g.startSSE(w, r); err != nil {
			g.log.Debug("SSE stream not started", "user", user.ID, "err", err)
			return
		}
		g.boundSilence(nc)
	} else {
		up := ws.HTTPUpgrader{Timeout: g.cfg.WriteTimeout}
		var rw *bufio.ReadWriter
		nc, rw, _, err = up.Upgrade(r, w)
		if err != nil {
			if nc != nil {
				nc.Close()
			}
			g.log.Debug("upgrade failed", "user", user.ID, "err", err)
			return
		}
		// Drop net/http's bufio buffers; keep only what the client may
		// already have sent past the handshake.
		if n := rw.Reader.Buffered(); n > 0 {
			p, _ := rw.Reader.Peek(n)
			early = bytes.Clone(p)
		}
	}
	g.boundSendBuffer(nc)
	c := g.accept(nc, user)
	c.sse, c.stream = sse, st
	quota.to(c)
	c.session = adm.Session
	if g.poller != nil {
		if err := g.detach(c, nc); err != nil {
			g.finish(c, err)
			return
		}
	}
	g.serve(c, nc, early, adm)
}

// accept makes the connection of user on t, registering, and counts it in
// wg until it is closed (see connState): the one wg.Add for a connection,
// whose Done is its transition to closed. ServeHTTP, its only caller, holds
// a count of its own meanwhile, so this one never starts from zero.
func (g *Gateway) accept(t transport, u *confab.User) *conn {
	c := g.newConn(t, u)
	g.wg.Add(1)
	return c
}

// detach makes c's transport its socket's descriptor, taken out of Go's
// net package and registered in the poller (see fdConn); c keeps nc when
// the socket cannot be detached. c is not yet shared. An error means that
// the poller refused the socket: c must be finished.
func (g *Gateway) detach(c *conn, nc net.Conn) error {
	fd, err := detach(nc)
	if err != nil {
		g.log.Debug("socket not detached: the connection gets a reader goroutine", "conn", c.id, "err", err)
		return nil
	}
	c.t, c.fd = newFDConn(c, fd), int32(fd)
	c.mu.Lock()
	err = g.poller.add(c)
	c.mu.Unlock()
	return err
}

// serve registers c, acts on what the client sent with the handshake
// (early), then hands c to the poller and returns, so that net/http's
// goroutine (and its grown stack) is not kept for the life of the
// connection. A connection that was not detached gets a blocking reader
// goroutine on nc instead. Whatever fails finishes c here.
func (g *Gateway) serve(c *conn, nc net.Conn, early []byte, adm *chat.Admission) {
	if err := g.register(c, adm); err != nil {
		c.keepEarly(early)
		g.finish(c, err)
		return
	}
	c.release()
	if len(early) > 0 {
		if err := c.consume(early); err != nil {
			g.finish(c, err)
			return
		}
	}
	g.listen(c, nc)
}

// listen hands c, which its caller reads, to the poller, or — a socket
// that was not detached (nc) — to a blocking reader goroutine of its own;
// whatever fails finishes c.
func (g *Gateway) listen(c *conn, nc net.Conn) {
	if c.fd >= 0 {
		if err := g.poll(c); err != nil {
			g.finish(c, err)
		}
		return
	}
	if !g.goTracked(func() {
		buf := make([]byte, 512)
		g.finish(c, c.readLoop(nc, buf))
	}) {
		g.finish(c, errShutdown)
	}
}

// poll hands c, which its caller reads (serve, or its reader goroutine),
// to the poller: it arms c's socket for input and moves c from reading to
// polled, unless c is closing or the poller refuses. On error c is still
// the caller's, to finish.
func (g *Gateway) poll(c *conn) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeErr != nil {
		return c.closeErr
	}
	if err := g.poller.mod(c, true); err != nil {
		return err
	}
	c.to(statePolled)
	return nil
}

// read is c's reader goroutine, started by the poller (poller.ready, which
// moved c to reading): it reads and acts on c's input until none is left,
// hands c back to the poller and exits; or, when c must end, it finishes
// c.
func (g *Gateway) read(c *conn) {
	err := c.readAvailable()
	if err == nil {
		if err = g.poll(c); err == nil {
			return
		}
	}
	g.finish(c, err)
}

// register enters c in the registry and the hub for its user topic and
// channels, waits for the bus subscriptions, and calls Chat.Connected: it
// returns nil only then, and the connection leaves registering (release).
// Only then is hello (queued first) written: an event published after
// hello reaches the connection.
//
// The user topic is registered before the channels are looked up, so that a
// join or leave published meanwhile is applied (a leave is remembered in
// c.reg, so that a stale UserChannels answer does not re-add it). Once it
// is, the session is checked again (admit): a revocation published before
// is seen there, one after reaches c.
func (g *Gateway) register(c *conn, adm *chat.Admission) error {
	r := g.registry(c)
	r.mu.Lock()
	if g.currentPhase() != phaseRunning {
		r.mu.Unlock()
		return errShutdown
	}
	r.m[c] = struct{}{}
	r.mu.Unlock()
	g.nconns.Add(1)
	g.metrics.connections.Inc()

	ut := confab.UserTopic(c.ws, c.uid)
	c.subMu.Lock()
	c.reg = new(registration)
	c.subscribe(ut)
	c.subMu.Unlock()
	if err := g.hub.reconcile(g.ctx, []string{ut}); err != nil {
		return err
	}
	if err := g.admit(adm); err != nil {
		return err
	}

	channels, err := g.chat.UserChannels(g.ctx, c.uid)
	if err != nil {
		return err
	}
	c.subMu.Lock()
	c.subs = slices.Grow(c.subs, len(channels))
	for _, ch := range channels {
		t := confab.ChannelTopic(c.ws, ch)
		if slices.Contains(c.reg.left, t) {
			continue
		}
		c.subscribe(t)
	}
	c.reg = nil
	all := c.topicNames()
	c.subMu.Unlock()
	if err := g.hub.reconcile(g.ctx, all); err != nil {
		return err
	}
	if c.stream != nil {
		g.settle(c)
	}

	if c.poll == nil { // a poll's stream is connected (longpoll.go)
		g.chat.Connected(g.ctx, c.user())
	}
	g.log.Debug("connected", "conn", c.id, "user", c.uid, "channels", len(channels))
	return nil
}

// abortCloseTimeout bounds the close frame to a client that is not reading.
const abortCloseTimeout = 100 * time.Millisecond

// finish tears c down after its reader stopped with err (or registration
// failed, or closeWith took c from the poller), in the goroutine that owns
// c: it moves c to finishing, lets the writer finish within WriteTimeout,
// sends the close frame that classify picks and closes the socket,
// unregisters c, and moves it to closed. The closing handshake reads what
// is left of c's input (c.input) with blocking reads, c being out of the
// poller; a detached socket is handed back to Go's net package for it
// (blocker).
func (g *Gateway) finish(c *conn, err error) {
	d := c.beginFinish(err)
	d.o = classify(d.err)
	d.deadline = time.Now().Add(g.cfg.WriteTimeout)
	t, broken := g.endWriting(c, &d)
	g.closeTransport(c, t, broken, &d)
	// The socket is closed: its places in the quotas come back before the
	// chat hears of the disconnect, so that whoever learns of it (a
	// client told it is offline) finds the place free.
	g.releaseQuotas(c)
	// A stream that dropped may resume: it is not revoked nor sent away.
	resumable := c.stream != nil && d.connected && !errors.Is(d.err, errRevoked) && !errors.Is(d.err, errShutdown)
	g.unregister(c, d.connected, resumable)
	if d.o.close == ws.StatusInternalServerError {
		g.log.Error("connection failed", "conn", c.id, "user", c.uid, "err", d.err)
	} else {
		g.log.Debug("disconnected", "conn", c.id, "user", c.uid, "code", int(d.o.close), "err", d.err)
	}
	c.to(stateClosed)
}

// teardown is what finish knows of c's close as it goes.
type teardown struct {
	err       error         // why c closes: the close request
	o         outcome       // classify(err)
	aborted   bool          // closeWith cut the writer: its deadline is past
	connected bool          // c was registered: Chat.Connected was called
	writer    chan struct{} // closed when the writer gives the writing side up; nil: none held it
	deadline  time.Time     // for the last flush and the closing handshake
}

// beginFinish moves c to finishing (unless closeWith did, taking c from the
// poller) and records err as why c closes, unless c was closing already.
// It takes the writing side over: frames queued while c registered are
// dropped, and a writer that holds the writing side is to tell when it
// gives it up.
func (c *conn) beginFinish(err error) (d teardown) {
	c.mu.Lock()
	defer c.mu.Unlock()
	from := c.state()
	if from != stateFinishing {
		c.to(stateFinishing)
	}
	if c.closeErr == nil {
		c.closeErr = err
	}
	d.err, d.aborted = c.closeErr, c.aborted
	d.connected = from != stateRegistering
	if c.flushing {
		d.writer = make(chan struct{})
		c.out.done = d.writer
	}
	if from == stateRegistering {
		c.dropLocked()
	}
	return d
}

// endWriting lets c's writer finish — within WriteTimeout after a gentle
// close; an abort set a past deadline that a write still to start must
// meet — and takes c out of the poller. It returns what the closing
// handshake uses: c's transport, a detached socket made a net.Conn again,
// or nil when there is nothing to say or no way to say it; and whether c
// can no longer be written (a write failed or was cut).
func (g *Gateway) endWriting(c *conn, d *teardown) (t transport, broken bool) {
	if !d.aborted {
		c.t.SetWriteDeadline(d.deadline)
	}
	if d.writer != nil {
		<-d.writer
	}
	t = c.t
	if c.fd >= 0 {
		g.poller.del(c)
	}
	if b, ok := t.(blocker); ok {
		if d.o.close == closeNone {
			// Nothing to say to a client that is gone: handing the
			// socket back to Go's net package (a dup, a FileConn, its
			// poller registration) only to reset it took a tenth of
			// the server's CPU when 19,000 clients dropped at once.
			b.discard()
			t = nil
		} else if g.answerPoll(c, t, d) {
			t = nil // a poll's answer is its last write
		} else {
			t = b.blocking()
		}
	}
	c.mu.Lock()
	broken = c.broken || t == nil
	c.mu.Unlock()
	return t, broken
}

// closeTransport sends t the close frame, unless there is none to send or
// t cannot be written, and closes t: after a lingering close when the frame
// went out gently, with a reset when the stream is cut.
func (g *Gateway) closeTransport(c *conn, t transport, broken bool, d *teardown) {
	if t == nil {
		return
	}
	sent := false
	if d.o.close != closeNone && !broken {
		wd := d.deadline
		if d.aborted {
			// The client is not reading (slow, idle): try the close frame
			// briefly.
			wd = time.Now().Add(min(g.cfg.WriteTimeout, abortCloseTimeout))
		}
		t.SetWriteDeadline(wd)
		last := closeFrame
		if c.sse {
			last = sseClose
		}
		if c.poll != nil {
			last = c.pollAnswer
		}
		_, werr := t.Write(last(d.o.close, d.o.msg))
		sent = werr == nil
	}
	switch {
	case sent && !d.aborted:
		// Lingering close: let the client read our close frame before the
		// socket goes (closing with unread input sends a reset).
		if cw, ok := t.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		if r, ok := t.(io.Reader); ok {
			t.SetReadDeadline(d.deadline)
			awaitClose(io.LimitReader(c.input(r), int64(2*g.cfg.MaxFrameBytes)))
		}
	case !sent || d.o.reset:
		// The stream is cut or cannot be written: reset it, so that the
		// kernel drops what it still holds for this client instead of
		// trickling it out to a reader that does not keep up.
		if l, ok := t.(interface{ SetLinger(int) error }); ok {
			l.SetLinger(0)
		}
	}
	t.Close()
}

// unregister takes c out of the hub — unsubscribing the bus from the topics
// it was the last local subscriber of, unless c is a stream that may
// resume or a poll of a stream that goes on (hub.hold) — and out of the
// registry, and tells
// Chat that c's user disconnected when it was told of the connection.
func (g *Gateway) unregister(c *conn, connected, resumable bool) {
	var hold time.Duration
	switch {
	case resumable:
		hold = g.cfg.ResumeHold
	case g.pollEnded(c):
		hold = pollGrace
	}
	c.subMu.Lock()
	if hold > 0 {
		g.hub.hold(c.topicNames(), time.Now().Add(hold).UnixNano())
	}
	subs := c.subs
	c.subs, c.reg = nil, nil
	c.subMu.Unlock()
	var dirty []string
	for _, m := range subs {
		if g.hub.remove(c, m) {
			dirty = append(dirty, m.t.name)
		}
	}
	if len(dirty) > 0 {
		if err := g.hub.reconcile(g.ctx, dirty); err != nil {
			g.log.Warn("bus reconcile after disconnect", "conn", c.id, "user", c.uid, "err", err)
		}
	}

	r := g.registry(c)
	r.mu.Lock()
	_, registered := r.m[c]
	delete(r.m, c)
	r.mu.Unlock()
	if registered {
		g.nconns.Add(-1)
		g.metrics.connections.Dec()
	}
	if connected && c.poll == nil {
		g.chat.Disconnected(g.ctx, c.user())
	}
}

// HandlePublication is the bus handler: payload is a marshalled
// confab.Publication for topic. It never blocks on a client and does not
// retain payload (the frame is copied once when it has local recipients).
func (g *Gateway) HandlePublication(topic string, payload []byte) {
	p, err := confab.UnmarshalPublication(payload)
	if err != nil {
		g.log.Warn("bad publication", "topic", topic, "err", err)
		return
	}
	if p.Op == confab.OpRevoke {
		g.revoke(topic, p.Session)
		return
	}
	if p.Op == confab.OpPresenceSub {
		if !g.pollPresenceSub(topic, p.Channel, p.Frame) {
			g.streamPresenceSub(topic, p.Channel, p.Frame)
		}
		return
	}
	if ws, kind, _, ok := confab.ParseTopic(topic); ok && kind == confab.TopicUser && p.Channel != "" &&
		(p.Op == confab.OpJoin || p.Op == confab.OpLeave) {
		if g.membership(topic, p.Op == confab.OpJoin, confab.ChannelTopic(ws, p.Channel), p) {
			return // channel_joined goes once the channel is subscribed
		}
	}
	if len(p.Frame) == 0 {
		return
	}
	if n := g.hub.broadcast(topic, p.Frame, p.Time); n > 0 {
		g.metrics.deliveries.Add(float64(n))
	}
}

// membership adds (join) or removes the connections of a user topic to or
// from a channel topic. The bus subscription follows asynchronously: the
// bus handler must not wait on the bus.
//
// A join's own frame (channel_joined) is then sent only once the
// subscription is in place, and membership reports that it took it over:
// a client that sees channel_joined receives the channel's events from
// then on, and catches up on what came between the join and that frame
// from the latest_seq it carries (docs/api.md) — as hello does for a new
// connection. Were the frame sent at once, a message posted right after it
// could reach the gateway before the subscription and be lost to the
// client until its next seq gap.
func (g *Gateway) membership(userTopic string, join bool, chTopic string, p confab.Publication) bool {
	dirty := false
	for _, c := range g.hub.members(userTopic) {
		c.subMu.Lock()
		if !c.state().ending() { // finish takes c.subs under subMu once finishing
			if join {
				_, d := c.subscribe(chTopic)
				if c.reg != nil {
					c.reg.left = slices.DeleteFunc(c.reg.left, func(t string) bool { return t == chTopic })
				}
				dirty = dirty || d
			} else {
				if c.reg != nil {
					c.reg.left = append(c.reg.left, chTopic)
				}
				var d bool
				if i := c.memberNamed(chTopic); i >= 0 {
					d = c.unsubscribe(i)
				} else {
					d = g.hub.dirty(chTopic)
				}
				dirty = dirty || d
			}
		}
		c.subMu.Unlock()
	}
	if !dirty {
		return false
	}
	var frame []byte
	if join && len(p.Frame) > 0 {
		frame = bytes.Clone(p.Frame) // payload is not retained
	}
	g.goTracked(func() {
		if err := g.hub.reconcile(g.ctx, []string{chTopic}); err != nil {
			g.log.Warn("bus subscribe after join", "topic", chTopic, "err", err)
		}
		if frame != nil {
			if n := g.hub.broadcast(userTopic, frame, p.Time); n > 0 {
				g.metrics.deliveries.Add(float64(n))
			}
		}
	})
	return frame != nil
}

// sweep is the one goroutine that pings every connection each PingInterval
// and closes those idle for IdleTimeout: no timer per connection.
func (g *Gateway) sweep() {
	// WriteTimeout, NoProgressTimeout: the sweeper enforces detached
	// sockets' write deadlines and their no-progress rule.
	every := min(g.cfg.PingInterval, g.cfg.IdleTimeout, g.cfg.WriteTimeout, g.cfg.NoProgressTimeout) / 4
	every = max(every, 5*time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-g.quit:
			return
		case now := <-tick.C:
			g.sweepOnce(now.UnixNano())
		}
	}
}

func (g *Gateway) sweepOnce(now int64) {
	if names := g.hub.release(now); len(names) > 0 {
		g.goTracked(func() {
			if err := g.hub.reconcile(g.ctx, names); err != nil {
				g.log.Warn("bus reconcile after a hold", "err", err)
			}
		})
	}
	idle, ping := g.cfg.IdleTimeout.Nanoseconds(), g.cfg.PingInterval.Nanoseconds()
	heartbeat := min(ping, sseHeartbeat.Nanoseconds())
	g.eachConn(func(c *conn) {
		if e, ok := c.t.(expirer); ok {
			e.expire(now)
		}
		if c.poll != nil {
			c.sweepPoll(now) // a poll is answered, not pinged
			return
		}
		every := ping
		if c.sse {
			// An SSE client sends nothing to be idle by: the kernel ends a
			// stream whose heartbeats go unanswered (boundSilence).
			every = heartbeat
		} else if now-c.lastRecv.Load() > idle {
			c.closeWith(errIdle, true)
			return
		}
		if now-c.lastPing >= every {
			c.lastPing = now
			c.enqueue(pingWire)
		}
	})
	g.sweepStreams(now)
}

// Shutdown sends goodbye to every connection, closes them, refuses new ones
// and waits for every goroutine of the gateway. When ctx ends first it cuts
// the remaining connections and in-flight chat and bus calls, waits for
// their goroutines, and returns ctx.Err().
func (g *Gateway) Shutdown(ctx context.Context) error {
	// Draining before the shards are walked: a registration either sees it
	// or is walked (it adds under its shard's lock).
	g.advance(phaseDraining)
	conns := make([]*conn, 0, g.nconns.Load())
	g.eachConn(func(c *conn) { conns = append(conns, c) })
	for _, c := range conns {
		c.send(confab.GoodbyeFrame)
		c.closeWith(errShutdown, false)
	}

	done := make(chan struct{})
	go func() { // ends when wg does; not itself counted
		g.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		g.cancel()
		g.eachConn(func(c *conn) {
			c.closeWith(errShutdown, true)
			c.t.Close()
		})
		<-done
	}
	g.endAllStreams()
	g.advance(phaseStopped)
	g.cancel()
	// Only now, with every connection finished: flush goroutines wait for
	// the poller, and their write deadlines are the sweeper's.
	var busErr error
	g.stopBg.Do(func() {
		close(g.quit)
		g.writers.stop()
		if g.poller != nil {
			g.poller.stop()
		}
		// The bus last, once: every connection's unsubscription has run,
		// and after it no publication reaches the gateway.
		busErr = g.bus.Close()
	})
	g.bg.Wait()
	if busErr != nil && err == nil {
		err = fmt.Errorf("gateway: close the bus: %w", busErr)
	}
	return err
}

// Errors answered before the upgrade.
var (
	errOrigin       = &confab.Error{Code: confab.EFORBIDDEN, Message: "invalid_origin"}
	errNotWebSocket = &confab.Error{Code: confab.EINVALID, Message: "not_websocket"}
)

// httpError answers a request that is not upgraded, with the status and
// Slack error string classify gives.
func (g *Gateway) httpError(w http.ResponseWriter, err error) {
	o := classify(err)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(o.status)
	json.NewEncoder(w).Encode(struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}{false, o.code})
}

// originAllowed accepts requests without Origin (not a browser), an Origin
// naming the request's own host, or one in AllowedOrigins.
func (g *Gateway) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, a := range g.cfg.AllowedOrigins {
		if a == "*" || strings.EqualFold(a, origin) {
			return true
		}
	}
	return sameHost(origin, r.Host)
}

// sameHost reports whether origin names host.
func sameHost(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

var _ http.Handler = (*Gateway)(nil)
var _ transport = (net.Conn)(nil)

// awaitClose reads and discards frames until the client's close frame (the
// end of the closing handshake), an error, or the end of r. A client that
// answers our close at once is let go at once; the caller bounds the rest
// with a read deadline and r's limit.
func awaitClose(r io.Reader) {
	for {
		h, err := ws.ReadHeader(r)
		if err != nil || h.OpCode == ws.OpClose {
			return
		}
		if _, err := io.CopyN(io.Discard, r, h.Length); err != nil {
			return
		}
	}
}
