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
// the client opens another when it next calls (HTTP/1.1 clients retry a
// request on a connection the server closed while it was idle).
//
// The budget sees descriptors run short without counting them: Linux gives
// a new descriptor the lowest free number, so an accepted connection whose
// descriptor is N means N descriptors below it are open. When N reaches
// Limit - Reserve, the budget closes the Shed connections that have been
// idle longest. Their descriptors are the next ones accepted, so it closes
// again only once those are used. Should accept fail with EMFILE all the
// same, it closes idle connections at once and accepts again, or waits
// 10 ms for a descriptor when none is idle, instead of net/http's backoff.
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
	idle list.List // of net.Conn, longest idle first; guarded by mu
	at   map[net.Conn]*list.Element

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
	return &Budget{high: high, shed: cfg.Shed, log: cfg.Logger, at: map[net.Conn]*list.Element{}}
}

// ConnState is the http.Server's ConnState hook: it notes which connections
// are idle between requests, and since when.
func (b *Budget) ConnState(c net.Conn, s http.ConnState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.at[c]; ok {
		b.idle.Remove(e)
		delete(b.at, c)
	}
	if s == http.StateIdle {
		b.at[c] = b.idle.PushBack(c)
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

// closeIdle closes up to n of the longest idle connections and returns how
// many it closed. A request that arrives on one as it is closed fails, as
// it would at the server's idle timeout; the longest idle are the least
// likely to be in use.
func (b *Budget) closeIdle(n int) int {
	b.mu.Lock()
	conns := make([]net.Conn, 0, min(n, b.idle.Len()))
	for len(conns) < n && b.idle.Len() > 0 {
		c := b.idle.Remove(b.idle.Front()).(net.Conn)
		delete(b.at, c)
		conns = append(conns, c)
	}
	b.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	b.closed.Add(int64(len(conns)))
	return len(conns)
}

// Listener returns l, accepting within the budget.
func (b *Budget) Listener(l net.Listener) net.Listener { return &listener{Listener: l, b: b} }

type listener struct {
	net.Listener
	b *Budget
}

// logEvery is how often running out of descriptors is logged at most.
const logEvery = 10 * time.Second

// exhaustedWait is how long Accept waits for a descriptor when accept
// failed with EMFILE and no connection was idle.
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
			if b.closeIdle(b.shed) > 0 {
				continue
			}
			if now, last := time.Now().UnixNano(), b.logged.Load(); now-last >= int64(logEvery) && b.logged.CompareAndSwap(last, now) {
				b.log.Warn("out of file descriptors with no idle connection to close; waiting for one", "error", err, "failed_accepts", b.failed.Load())
			}
			time.Sleep(exhaustedWait)
			continue
		}
		if b.high >= 0 && descriptor(c) >= b.high {
			b.closeIdle(b.shed)
		}
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
