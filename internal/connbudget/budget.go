// Package connbudget keeps a server's connections within its open-file
// limit by closing idle HTTP keep-alive connections when descriptors run
// short, as nginx does with its reusable connections.
//
// Why: a process holds at most RLIMIT_NOFILE descriptors (20,000 on this
// project's machines, not raisable), and a confab serving everything in one
// process holds a WebSocket and, through the client's keep-alive pool, an
// idle HTTP connection for each client. At 19,000 clients that is 38,000.
// Past the limit accept(2) fails with EMFILE, and net/http's Serve backs
// off (5 ms doubling to 1 s) while the kernel's listen queue fills and
// drops SYNs, which clients resend after 1 s, 3 s, 7 s… A reconnect storm
// of 19,000 clients then took two minutes instead of seconds. An idle
// keep-alive connection is the cheapest thing a server holds to give up:
// the client opens another when it next calls (and a request that met the
// close is one a client should send again, RFC 9112 §9.3.1).
//
// The budget sees descriptors run short without counting them: Linux gives
// a new descriptor the lowest free number, so an accepted connection whose
// descriptor is N means N descriptors below it are open. When N reaches
// Limit - Reserve, the server is under pressure: the budget closes the Shed
// connections that have been idle longest (then those accepted freshAge
// ago that never sent a request), and every answer says "Connection:
// close" and frees its descriptor, so that no client sends a request on a
// connection the server is closing. Other idle connections stay open: the
// server's own switch, http.Server.SetKeepAlivesEnabled(false), would
// close every one of them at once, and in a reconnect storm thousands of
// clients found their pooled connection closed and dialed again while
// descriptors were short. Answers keep their connection again once no
// accepted descriptor has reached the mark for pressureHold. Should
// accept fail with EMFILE all the same, the budget closes idle connections
// and accepts again at once or, with none idle, as soon as a connection
// closes, instead of net/http's backoff.
package connbudget

import (
	"container/list"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config is a Budget's limits. The zero value takes them from the process.
type Config struct {
	// Limit is the process's open-file limit; 0: RLIMIT_NOFILE's soft
	// limit (Go raises it to the hard limit at start). Where it cannot be
	// read the budget never closes anything before EMFILE.
	Limit int
	// Reserve is the descriptors kept for all but client connections:
	// the store's files, pools to PostgreSQL and Redis, pollers. 0:
	// max(128, Limit/32), 625 of 20,000.
	Reserve int
	// Shed is how many idle connections are closed at a time; 0:
	// max(16, Reserve/4).
	Shed   int
	Logger *slog.Logger
}

// Budget tracks a server's idle keep-alive connections (ConnState) and
// closes the longest idle when its listener (Listener) finds descriptors
// short. Its methods are safe for concurrent use.
type Budget struct {
	high int // accepted descriptor numbers from here on close idle ones
	shed int
	log  *slog.Logger

	mu   sync.Mutex
	idle list.List // of *entry, longest idle first; guarded by mu
	// fresh holds the connections accepted that have not sent a byte of
	// a request yet, oldest first; guarded by mu.
	fresh list.List
	at    map[net.Conn]*list.Element // in idle or fresh

	// pressure is when descriptors were last found short, in Unix
	// nanoseconds of the latest accept that reached the mark; 0 when they
	// are not. Only the accept loop changes it.
	pressure atomic.Int64
	// closedConn is signalled (without blocking) when a connection closes:
	// an accept that failed for descriptors waits for it.
	closedConn chan struct{}

	closed atomic.Int64 // idle connections closed, for Closed
	failed atomic.Int64 // accepts failed for descriptors, for Exhausted
	logged atomic.Int64 // when EMFILE with nothing idle was last logged (unix nanoseconds)
}

// New returns a Budget for cfg.
func New(cfg Config) *Budget {
	if cfg.Limit <= 0 {
		cfg.Limit = openFileLimit()
	}
	if cfg.Reserve <= 0 {
		cfg.Reserve = max(128, cfg.Limit/32)
	}
	if cfg.Shed <= 0 {
		cfg.Shed = max(16, cfg.Reserve/4)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	high := cfg.Limit - cfg.Reserve
	if cfg.Limit <= 0 || high <= 0 {
		high = -1 // unknown or tiny limit: only EMFILE sheds
	}
	return &Budget{high: high, shed: cfg.Shed, log: cfg.Logger, at: map[net.Conn]*list.Element{}, closedConn: make(chan struct{}, 1)}
}

// Attach makes b the budget of srv: it sets srv.ConnState (calling the
// hook srv had after its own) and wraps srv.Handler so that its answers
// say "Connection: close" under pressure. (A WebSocket upgrade hijacks its
// connection and writes its own answer, which the header never reaches.)
// Call it after srv.Handler is set and before srv serves.
func (b *Budget) Attach(srv *http.Server) {
	next := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		b.ConnState(c, s)
		if next != nil {
			next(c, s)
		}
	}
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.UnderPressure() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// pressureHold is how long answers close their connection after the
// latest accept that found descriptors short.
const pressureHold = time.Second

// ConnState is the http.Server's ConnState hook (Attach sets it): it notes
// which connections are idle between requests, and since when, and which
// closed.
func (b *Budget) ConnState(c net.Conn, s http.ConnState) {
	b.mu.Lock()
	if e, ok := b.at[c]; ok {
		b.listOf(e).Remove(e)
		delete(b.at, c)
	}
	switch s {
	case http.StateIdle:
		b.at[c] = b.idle.PushBack(&entry{c: c})
	case http.StateNew:
		b.at[c] = b.fresh.PushBack(&entry{c: c, since: time.Now().UnixNano(), fresh: true})
	}
	b.mu.Unlock()
	if s == http.StateClosed {
		select {
		case b.closedConn <- struct{}{}:
		default:
		}
	}
}

// entry is a connection in the idle or the fresh list.
type entry struct {
	c     net.Conn
	since int64 // fresh: when accepted (Unix nanoseconds)
	fresh bool
}

// listOf is the list e is in. The caller holds b.mu.
func (b *Budget) listOf(e *list.Element) *list.List {
	if e.Value.(*entry).fresh {
		return &b.fresh
	}
	return &b.idle
}

// UnderPressure reports whether descriptors are short now: answers close
// their connection.
func (b *Budget) UnderPressure() bool { return b.pressure.Load() != 0 }

// press notes an accept at time now whose descriptor reached the mark
// (short) or did not, starting or ending the pressure.
func (b *Budget) press(now int64, short bool) {
	since := b.pressure.Load()
	switch {
	case short:
		b.pressure.Store(now)
		if since == 0 {
			b.log.Info("descriptors short: answers close their connection", "mark", b.high, "idle_closed", b.closed.Load())
		}
	case since != 0 && now-since >= int64(pressureHold):
		b.pressure.Store(0)
		b.log.Info("descriptors no longer short: answers keep their connection")
	}
}

// Idle is how many connections are idle now.
func (b *Budget) Idle() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.idle.Len()
}

// Closed is how many idle connections the budget has closed.
func (b *Budget) Closed() int64 { return b.closed.Load() }

// Exhausted is how many accepts failed for want of a descriptor (EMFILE,
// ENFILE). The budget is there so that it stays 0.
func (b *Budget) Exhausted() int64 { return b.failed.Load() }

// closeIdle closes up to n of the longest idle connections, and then of
// the connections accepted at least freshAge ago that have not sent a
// request, and returns how many it closed. A request that arrives on one
// as it is closed fails, as it would at the server's idle timeout; the
// longest idle are the least likely to be in use. (A client's HTTP pool
// may dial a connection for a request that another connection then
// serves, and keep it unused: such connections held the last descriptors
// of a server in a storm until ReadHeaderTimeout.)
func (b *Budget) closeIdle(n int) int {
	old := time.Now().Add(-freshAge).UnixNano()
	b.mu.Lock()
	conns := make([]net.Conn, 0, min(n, b.idle.Len()+b.fresh.Len()))
	for len(conns) < n && b.idle.Len() > 0 {
		e := b.idle.Remove(b.idle.Front()).(*entry)
		delete(b.at, e.c)
		conns = append(conns, e.c)
	}
	for len(conns) < n && b.fresh.Len() > 0 && b.fresh.Front().Value.(*entry).since <= old {
		e := b.fresh.Remove(b.fresh.Front()).(*entry)
		delete(b.at, e.c)
		conns = append(conns, e.c)
	}
	b.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	b.closed.Add(int64(len(conns)))
	return len(conns)
}

// freshAge is how long a connection may go without a request before the
// budget may close it: net/http's own closing of idle connections takes
// 5 s; a connection that had its request sent at once has it here in
// well under a second even on a loaded machine.
const freshAge = 2 * time.Second

// Listener returns l, accepting within the budget.
func (b *Budget) Listener(l net.Listener) net.Listener { return &listener{Listener: l, b: b} }

type listener struct {
	net.Listener
	b *Budget
}

// logEvery is how often running out of descriptors is logged at most.
const logEvery = 10 * time.Second

// exhaustedWait is how long at most Accept waits for a connection to close
// when accept failed with EMFILE and no connection was idle (a WebSocket's
// end is not seen here).
const exhaustedWait = 10 * time.Millisecond

func (l *listener) Accept() (net.Conn, error) {
	b := l.b
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) {
				return nil, err
			}
			b.failed.Add(1)
			b.press(time.Now().UnixNano(), true)
			if b.closeIdle(b.shed) > 0 {
				continue
			}
			if now, last := time.Now().UnixNano(), b.logged.Load(); now-last >= int64(logEvery) && b.logged.CompareAndSwap(last, now) {
				b.log.Warn("out of file descriptors with no idle connection to close; waiting for one", "error", err, "failed_accepts", b.failed.Load())
			}
			t := time.NewTimer(exhaustedWait)
			select {
			case <-b.closedConn:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		short := b.high >= 0 && descriptor(c) >= b.high
		if short {
			b.closeIdle(b.shed)
		}
		b.press(time.Now().UnixNano(), short)
		return c, nil
	}
}

// descriptor is c's file descriptor number, or -1.
func descriptor(c net.Conn) int {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	rc.Control(func(s uintptr) { fd = int(s) })
	return fd
}
