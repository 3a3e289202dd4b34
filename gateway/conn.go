package gateway

import (
	"errors"
	"io"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
)

// transport is what a connection writes to: on Linux a socket detached
// from Go's net package (fdConn, see poll_linux.go); elsewhere, or when
// the socket cannot be detached, a net.Conn (with which net.Buffers.WriteTo
// turns a flush into one writev); a cheap discard writer in the broadcast
// benchmark.
type transport interface {
	io.Writer
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	Close() error
}

// What a detached socket (fdConn) does besides.
type (
	// vectorWriter writes buffers with as few writev calls as it can,
	// consuming v, and without wait returns errFull and what is left
	// instead of waiting for room.
	vectorWriter interface {
		writev(v [][]byte, wait bool) (rest [][]byte, err error)
	}
	// expirer enforces a write deadline without a timer: the sweeper calls
	// expire with the time.
	expirer interface{ expire(now int64) }
	// blocker returns the socket as a net.Conn for the closing handshake,
	// or nil when it cannot or must not be used any more (see finish);
	// discard resets and closes it when no close frame is to be sent.
	blocker interface {
		blocking() transport
		discard()
	}
)

// wireFrame is one queued WebSocket frame as it goes on the wire, header
// and payload: a publication is encoded once and the same wireFrame queued
// for every recipient, so a connection's queue holds a pointer per frame
// and its write one buffer per frame. It is never modified.
type wireFrame struct {
	b   []byte
	t   int64  // publication time (unix ns) for the latency histogram; 0: none
	pos uint64 // the frame's position in the ring (ring.go); 0: not broadcast
	hl  uint8  // the length of b's WebSocket header: the payload follows
	op  ws.OpCode
	// sse is the frame as a Server-Sent Event (sseEvent), made by the
	// first SSE stream that writes it and shared by the others.
	sse atomic.Pointer[[]byte]
}

// bytes is f as c's transport carries it: the WebSocket frame, or the
// Server-Sent Event.
func (f *wireFrame) bytes(sse bool) []byte {
	if !sse {
		return f.b
	}
	if p := f.sse.Load(); p != nil {
		return *p
	}
	b := sseEvent(f.op, f.b[f.hl:])
	f.sse.CompareAndSwap(nil, &b)
	return *f.sse.Load()
}

// newWireFrame encodes an unmasked, final frame of op carrying payload
// (copied: the caller's buffer is not retained).
func newWireFrame(op ws.OpCode, payload []byte, t int64) *wireFrame {
	h := ws.Header{Fin: true, OpCode: op, Length: int64(len(payload))}
	e := encoders.Get().(*encoder)
	e.hw.b = make([]byte, 0, ws.HeaderSize(h)+len(payload))
	// Cannot fail: headerWriter never fails and the length is valid.
	_ = ws.WriteHeaderBuffer(&e.hw, h, e.tmp[:])
	f := &wireFrame{b: append(e.hw.b, payload...), t: t, hl: uint8(len(e.hw.b)), op: op}
	e.hw.b = nil
	encoders.Put(e)
	return f
}

// encoder is what newWireFrame writes a header with; pooled, as passing
// them to ws through io.Writer would otherwise put both on the heap for
// every frame.
type encoder struct {
	hw  headerWriter
	tmp [ws.MaxHeaderSize]byte
}

var encoders = sync.Pool{New: func() any { return new(encoder) }}

// Frames every connection is sent alike.
var (
	helloWire = newWireFrame(ws.OpText, confab.HelloFrame, 0)
	pingWire  = newWireFrame(ws.OpPing, nil, 0)
)

// aLongTimeAgo is a deadline in the past: it makes a blocked Read or Write
// return at once.
var aLongTimeAgo = time.Unix(1, 0)

// conn is one RTM connection.
//
// Memory is the design constraint here: a gateway holds ~19,000 connections
// at ≤2 KiB each, nearly all idle. So an idle connection has no goroutine
// and no buffer: it is this struct, its socket's descriptor (fdConn) and
// its positions in the hub's topics.
//
// Reading: the connection's socket is taken out of Go's net package after
// the upgrade and registered in the gateway's poller (an epoll instance
// watched by one goroutine, see poll_linux.go). When input arrives, the
// poller starts a reader goroutine (Gateway.read) that reads what is there
// into a pooled buffer, acts on every complete frame (consume), keeps only
// the bytes of an incomplete frame (c.rd), re-arms the socket and exits.
// The net/http bufio buffers handed over at hijack are dropped. A
// connection the poller cannot watch (not a TCP socket, not Linux) keeps
// its net.Conn and has a blocking reader goroutine instead (readLoop); the
// parsing is the same.
//
// Writing: the first frame enqueued to an empty queue takes a sendBuf from
// a pool and gives the connection a turn on the gateway's writers
// (Gateway.startFlushes, writers): the turn writes everything queued by then in
// one writev — a header and a payload per frame — without waiting, and
// puts the connection back in line while more arrived during the write;
// with nothing left, the sendBuf goes back to its pool. A burst to a busy
// client, or a busy gateway, thus coalesces into few large writes. A write
// that finds the socket full hands the connection to a flush goroutine of
// its own, which waits for the poller (see fdConn) — never a writer of the
// pool, nor the enqueuer — and the queue's limits bound what a connection
// holds. A socket that could not be detached has a flush goroutine for
// every burst.
//
// Slow consumers: a connection is judged by its own progress, never by
// the gateway's. Its queue counts what waits behind the write in progress
// (frames, bytes); a batch a writer took is no longer counted. While its
// own socket holds the queue back — its flush goroutine has the writing
// side, having found the socket full (c.own) — the queue may not pass
// Config.MaxQueueFrames and MaxQueueBytes. While it waits for a turn of
// the pool's writers, or to be registered, it is not charged for that
// wait, and only a ceiling of queueCeiling times the limits applies: a
// reader that keeps up is not closed because the writers were busy with
// clients that do not. A detached socket that took no byte for
// Config.NoProgressTimeout while frames waited for it is closed as well
// (fdConn.stall, enforced by the sweeper), and what the kernel holds for
// a connection is bounded by its SO_SNDBUF (Config.SendBufferBytes). Past
// any of these, closeWith(errSlowConsumer) drops the queue and cuts the
// write (see slow).
//
// Closing: closeWith records why and interrupts the reader through its
// deadline; finish (the closing handshake, unregistration) runs in the
// goroutine that owns c: the one reading it, or — when c waits in the
// poller — one that closeWith starts. Who owns c is its state (see
// connState), the one record of where c is in its life.
//
// The fields are grouped by owner; the lock order is in LOCKING.md.
type conn struct {
	// Immutable after construction, but for t and fd, which Gateway.detach
	// sets before c is shared.
	g   *Gateway
	t   transport
	uid string // the user's ID and workspace: all c keeps of its user
	ws  string // (interned: shared by the workspace's connections)
	// fd is c's socket in the poller; -1 when c is not polled.
	fd int32
	id uint32 // for logs
	// The places c holds in the quotas of its user and address (quota.go),
	// given back by finish: set by ServeHTTP before c is shared, then
	// owned by finish.
	addr  netip.Addr
	quota uint8
	// sse: c is a Server-Sent Events stream (sse.go), not a WebSocket:
	// its frames are written as events, and it reads nothing. Set by
	// ServeHTTP before c is shared.
	sse bool
	// poll: c is a long poll (longpoll.go): its queue is written as one
	// answer when it ends. Set by servePoll before c is shared.
	poll *pollConn
	// session is the token c was admitted under (session.go): what its
	// frames are rate limited by and what a revocation names.
	session confab.Fingerprint
	// stream is what an SSE stream needs to be resumed (resume.go); nil
	// for a WebSocket.
	stream *stream

	// Guarded by mu, which is taken under the hub's and the registry's
	// shard locks and under Gateway.goMu, and under which only the poller's
	// lock is taken (LOCKING.md).
	mu sync.Mutex
	// The outbound queue.
	frames int32    // frames queued: not yet taken by a writer
	bytes  int32    // bytes queued: not yet taken by a writer
	out    *sendBuf // the queue and the writer's scratch; nil while idle
	// The close request (closeWith, or finish): set once.
	closeErr error // why c closes; nil while it is not closing
	aborted  bool  // closeWith dropped the queue and cut the writer: do not extend its deadline
	// The writing side: one writer at a time (a turn in the pool, or a
	// flush goroutine) holds it, from the start of a flush (queue, release)
	// to endFlushLocked; finish waits for it to be given up.
	flushing bool // a writer holds the writing side
	own      bool // that writer is c's flush goroutine: c's socket holds the queue back (see queue)
	broken   bool // a write failed or was cut: nothing more can be written

	// st is c's state (a connState): changed only by to, with mu held but
	// for the last transition; see state. (Next to the flags above, which
	// leave it room in their word.)
	st atomic.Uint32

	// Guarded by subMu: the topics c is registered for in the hub.
	subMu sync.Mutex
	subs  []sub         // c's memberships, with c's position in each topic
	reg   *registration // registration in progress; nil once done

	// lastRecv is when a frame header last arrived (unix ns): written by
	// the reader, read by the sweeper.
	lastRecv atomic.Int64
	// Owned by the sweeper.
	lastPing int64
	// Owned by the goroutine that reads c (one at a time: see connState),
	// then by finish: an incomplete frame or message; nil while idle.
	rd *partial
	// Owned by the goroutine that reads c: its frames refused for the rate
	// limit lately (session.go); nil until one is.
	refused *refusals
}

// registration is what a connection keeps while it registers.
type registration struct {
	left []string // channel topics left meanwhile
}

func (g *Gateway) newConn(t transport, u *confab.User) *conn {
	// Keep only the user's ID (a copy: it may share memory with more) and
	// workspace, not the *confab.User: Chat needs no more of it.
	// c starts registering: hello is queued first and written once
	// registration is complete, so it precedes every event.
	c := &conn{g: g, t: t, id: uint32(g.nextID.Add(1)), uid: strings.Clone(u.ID), ws: unique.Make(u.WorkspaceID).Value(), fd: -1}
	c.out = sendBufPool.Get().(*sendBuf)
	c.out.queue = append(c.out.queue, helloWire)
	c.frames, c.bytes = 1, int32(len(helloWire.b))
	now := time.Now().UnixNano()
	c.lastRecv.Store(now)
	c.lastPing = now
	return c
}

// user is c's user, as Chat takes it: the ID and workspace.
func (c *conn) user() *confab.User { return &confab.User{ID: c.uid, WorkspaceID: c.ws} }

// enqueue queues f for writing. It never blocks. When the queue is over its
// limit the connection is closed as a slow consumer (see conn, "Slow
// consumers"); it reports whether f was queued.
func (c *conn) enqueue(f *wireFrame) bool {
	queued, start := c.queue(f)
	if start {
		c.startFlush()
	}
	return queued
}

// queue is enqueue without starting the flush: start reports that c now
// needs one, which the caller starts (startFlush, or Gateway.startFlushes
// for the connections of a broadcast).
func (c *conn) queue(f *wireFrame) (queued, start bool) {
	c.mu.Lock()
	if c.closeErr != nil {
		c.mu.Unlock()
		return false, false
	}
	if c.stream != nil && f.pos != 0 && f.pos <= c.stream.skip {
		// A resumed stream had it replayed (resume.go).
		c.mu.Unlock()
		return true, false
	}
	cfg := &c.g.cfg
	if int(c.frames) >= cfg.MaxQueueFrames || int(c.bytes)+len(f.b) > cfg.MaxQueueBytes {
		if c.own || int(c.frames) >= queueCeiling*cfg.MaxQueueFrames ||
			int(c.bytes)+len(f.b) > min(queueCeiling*cfg.MaxQueueBytes, math.MaxInt32) {
			c.mu.Unlock()
			c.slow(false)
			return false, false
		}
	}
	if c.out == nil {
		c.out = sendBufPool.Get().(*sendBuf)
	}
	start = !c.flushing && c.state() != stateRegistering
	answer := false
	if c.poll != nil { // a held poll is answered, not flushed
		answer, start = start, false
	}
	c.flushing = c.flushing || start
	if cap(c.out.queue) == 0 {
		c.out.queue = make([]*wireFrame, 0, queueStart)
	}
	c.out.queue = append(c.out.queue, f)
	c.frames++
	c.bytes += int32(len(f.b))
	c.mu.Unlock()
	if answer {
		c.closeWith(errAnswer, false)
	}
	return true, start
}

// queueCeiling is how many times its limits a connection's queue may hold
// while it waits for a writer's turn or for its registration, a wait it is
// not charged for (see conn, "Slow consumers"): a ceiling on what a gateway
// that cannot keep up holds.
const queueCeiling = 4

// slow closes c as a slow consumer, unless it is closing already, and
// counts it; stalled: its socket took nothing for NoProgressTimeout (else
// its queue passed its limits).
func (c *conn) slow(stalled bool) {
	if !c.closeWith(errSlowConsumer, true) {
		return
	}
	c.g.metrics.slowDisconnect.Inc()
	rule := "queue"
	if stalled {
		c.g.metrics.stalledDisconnect.Inc()
		rule = "no_progress"
	}
	c.g.log.Info("slow consumer", "conn", c.id, "user", c.uid, "rule", rule)
}

// queueStart is the capacity of a fresh sendBuf's queue. In a burst every
// connection of a big channel gets a sendBuf at once, and growing each
// queue from one frame by doubling, and the turn's buffers append by
// append, was a quarter of the server's CPU (growslice, pprof of a burst of
// 100 posts to 10,000 subscribers).
const queueStart = 16

// send queues a text frame of the connection's own (a reply).
func (c *conn) send(p []byte) { c.enqueue(newWireFrame(ws.OpText, p, 0)) }

// release ends registration (registering → reading): what was queued
// meanwhile, hello first, is written. serve calls it once c is registered.
func (c *conn) release() {
	c.mu.Lock()
	c.to(stateReading)
	start := c.out != nil && len(c.out.queue) > 0 && !c.flushing
	c.flushing = c.flushing || start
	c.mu.Unlock()
	if start {
		c.startFlush()
	}
}

// endFlushLocked gives the writing side up when the queue is empty,
// returning the sendBuf to the pool: an idle connection keeps none.
func (c *conn) endFlushLocked() {
	c.flushing, c.own = false, false
	if o := c.out; o != nil {
		c.out = nil
		if o.done != nil {
			close(o.done)
			o.done = nil
		}
		sendBufPool.Put(o)
	}
}

func (c *conn) startFlush() { c.g.startFlushes([]*conn{c}) }

// flushRefused undoes the start of a flush the gateway can no longer run:
// nothing will write.
func (c *conn) flushRefused() {
	c.mu.Lock()
	c.dropLocked()
	c.endFlushLocked()
	c.mu.Unlock()
}

// dropLocked discards the queue (not a batch being written), and the
// sendBuf when nothing is writing.
func (c *conn) dropLocked() {
	o := c.out
	if o == nil {
		return
	}
	c.frames, c.bytes = 0, 0
	clear(o.queue)
	o.queue = o.queue[:0]
	if !c.flushing && c.state() != stateRegistering {
		c.out = nil
		sendBufPool.Put(o)
	}
}

// closeWith starts closing c because of err, unless it is closing already,
// and reports whether it did. It never blocks: it records err, refuses
// further frames and interrupts the reader through its deadline; with
// abort it also drops the queue and cuts a write in progress. The
// goroutine that owns c finishes it (Gateway.finish); a polled c, which
// nobody owns, is moved to finishing here and finished by a goroutine
// started here (within c's count in the gateway's WaitGroup, see
// connState).
func (c *conn) closeWith(err error, abort bool) bool {
	c.mu.Lock()
	if c.closeErr != nil {
		c.mu.Unlock()
		return false
	}
	c.closeErr = err
	if abort {
		c.aborted = true
		c.dropLocked()
	}
	finish := c.state() == statePolled
	if finish {
		c.to(stateFinishing)
	}
	c.mu.Unlock()
	if abort {
		c.t.SetWriteDeadline(aLongTimeAgo)
	}
	c.t.SetReadDeadline(aLongTimeAgo)
	if finish {
		go c.g.finish(c, err)
	}
	return true
}

// sendBuf is a connection's outbound queue and what its writer needs while
// it writes. It is pooled, so that idle connections hold none of
// it: a connection has one while frames are queued or being written.
type sendBuf struct {
	queue []*wireFrame  // frames to write, in order (guarded by conn.mu)
	spare []*wireFrame  // the queue's next backing array (the writer's)
	done  chan struct{} // closed when the writer gives the writing side up, if set (finish; guarded by conn.mu)
	wake  chan struct{} // wakes the flush goroutine waiting for room (fdConn.wait); made once
	bufs  net.Buffers   // the batch's frames
	id    []byte        // an SSE stream's id line, written after the batch; nil: none (takeBatch)
	v     net.Buffers   // what WriteTo consumes (kept here so it does not escape per call)
}

type headerWriter struct{ b []byte }

func (w *headerWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

var sendBufPool = sync.Pool{New: func() any { return new(sendBuf) }}

// takeBatch takes everything queued for one write, for c's own flush
// goroutine (own) or a turn of the pool: the queue's counts start over.
// When nothing is queued (or nothing more can be written) it gives the
// writing side up instead and returns ok false.
func (c *conn) takeBatch(own bool) (o *sendBuf, batch []*wireFrame, ok bool) {
	var w uint64
	if c.stream != nil {
		// Read before the queue is taken: every frame of c's topics up
		// to it is in the batch, or was written before (ring.go).
		w = c.g.hub.ring.watermark()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o = c.out
	batch = o.queue
	if c.broken || len(batch) == 0 && !c.streamBehind() {
		c.dropLocked()
		c.endFlushLocked()
		return nil, nil, false
	}
	if c.stream != nil {
		if len(batch) == 0 {
			// The id alone, brought up to what was written (resume.go).
			w = c.g.hub.ring.watermark()
		}
		if o.id = c.stream.idAfter(w, batch); o.id == nil && len(batch) == 0 {
			c.dropLocked()
			c.endFlushLocked()
			return nil, nil, false
		}
	}
	o.queue, o.spare = o.spare[:0], nil
	c.frames, c.bytes, c.own = 0, 0, own
	return o, batch, true
}

// streamBehind reports whether c is a stream whose last id is behind a
// frame it wrote: its next write is its id alone. c.mu is held.
func (c *conn) streamBehind() bool { return c.stream != nil && c.stream.behind }

// wrote ends the write of batch (failed with err, if set): its backing
// array is reused.
func (c *conn) wrote(o *sendBuf, batch []*wireFrame, err error) {
	clear(batch)
	c.mu.Lock()
	o.spare = batch[:0]
	if err != nil {
		c.broken = true
		c.dropLocked()
	}
	c.mu.Unlock()
	if err != nil {
		c.closeWith(errWrite, true)
	}
}

// flush writes the queue until it is empty, then exits. It runs in its own
// goroutine, one at most per connection (c.flushing), counted in the
// WaitGroup: started by Gateway.startFlushes for a transport that may block, or
// by flushTurn when a detached socket is full.
func (c *conn) flush() {
	defer c.g.wg.Done()
	c.flushAll()
}

// flushAll writes the queue, waiting for room as needed, until it is
// empty.
func (c *conn) flushAll() {
	for {
		o, batch, ok := c.takeBatch(true)
		if !ok {
			return
		}
		bufs, oldest := o.lay(batch, c.sse)
		_, err := c.put(o, bufs, true)
		o.written(c.g, oldest, err)
		c.wrote(o, batch, err)
	}
}

// flushTurn is c's turn on a pool writer (see writers): it writes what is
// queued in one writev without waiting for room, and reports whether c
// needs another turn for frames queued meanwhile. When the socket is full,
// a flush goroutine of c's own takes the writing side over: it waits for
// room, writes the rest, and carries on until the queue is empty.
func (c *conn) flushTurn() (again bool) {
	o, batch, ok := c.takeBatch(false)
	if !ok {
		return false
	}
	bufs, oldest := o.lay(batch, c.sse)
	rest, err := c.put(o, bufs, false)
	if err == errFull {
		// From now on c's socket is what holds its queue back.
		c.mu.Lock()
		c.own = true
		c.mu.Unlock()
		if c.g.goTracked(func() {
			_, err := c.put(o, rest, true)
			o.written(c.g, oldest, err)
			c.wrote(o, batch, err)
			c.flushAll()
		}) {
			return false
		}
		err = errShutdown
	}
	o.written(c.g, oldest, err)
	c.wrote(o, batch, err)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken || len(o.queue) == 0 && !c.streamBehind() {
		c.dropLocked()
		c.endFlushLocked()
		return false
	}
	return true
}

// abandonFlush gives up c's writing side when no writer can take it (the
// gateway is gone).
func (c *conn) abandonFlush() {
	c.mu.Lock()
	c.dropLocked()
	c.endFlushLocked()
	c.mu.Unlock()
}

// errFull is vectorWriter.writev's answer when it must not wait and the
// socket has no room for the rest.
var errFull = errors.New("socket full")

// lay lays batch out in o for one writev, a buffer per frame (as
// WebSocket frames, or as Server-Sent Events when sse) and the stream's id
// line after them if takeBatch made one, and returns the buffers and the
// oldest publication time.
func (o *sendBuf) lay(batch []*wireFrame, sse bool) (bufs [][]byte, oldest int64) {
	o.bufs = slices.Grow(o.bufs[:0], len(batch)+1)
	for _, f := range batch {
		o.bufs = append(o.bufs, f.bytes(sse))
		if f.t != 0 && (oldest == 0 || f.t < oldest) {
			oldest = f.t
		}
	}
	if o.id != nil {
		o.bufs = append(o.bufs, o.id)
		o.id = nil
	}
	return o.bufs, oldest
}

// put writes bufs (laid out by o.lay) to c's transport, consuming them.
// Without wait, on a socket that has no room, it returns errFull and what
// is left; only a vectorWriter writes without waiting (startFlushes gives any
// other transport a goroutine of its own).
func (c *conn) put(o *sendBuf, bufs [][]byte, wait bool) (rest [][]byte, err error) {
	switch vw, ok := c.t.(vectorWriter); {
	case ok:
		return vw.writev(bufs, wait)
	case len(bufs) == 1:
		_, err = c.t.Write(bufs[0])
	default:
		o.v = bufs
		_, err = o.v.WriteTo(c.t)
		o.v = nil
	}
	return nil, err
}

// written ends a write laid out in o: it drops the buffers' references to
// the payloads and, when it succeeded, records the post→write latency of
// its oldest publication.
func (o *sendBuf) written(g *Gateway, oldest int64, err error) {
	clear(o.bufs)
	if err == nil && oldest != 0 {
		g.metrics.latency.Observe(float64(time.Now().UnixNano()-oldest) / 1e9)
	}
}

// closeFrame is a complete close frame for code, unmasked (server side).
func closeFrame(code ws.StatusCode, reason string) []byte {
	return newWireFrame(ws.OpClose, ws.NewCloseFrameBody(code, reason), 0).b
}
