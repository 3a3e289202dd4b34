package gateway

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// poller tells which connections have input, or room for output, so that
// no goroutine waits on an idle connection and none is parked in Go's net
// package. It is one epoll instance, watched by one goroutine (run), in
// which each polled socket is registered level-triggered and one-shot: an
// event disarms the socket until it is re-armed (mod) with what its
// connection still waits for — input when it is polled (connState),
// output while its flush goroutine waits for room (fdConn.wantOut) — so at
// most one reader runs per connection, and readiness that arrived meanwhile
// is reported at once on re-arming.
//
// A polled connection's socket is out of Go's net package (detach): the
// gateway owns the descriptor (fdConn), reads it in its reader goroutine,
// writes it in its flush goroutine, and closes it in finish. An idle
// connection thus costs no net.Conn, no runtime poll descriptor and no
// addresses.
type poller struct {
	epfd int
	wake int // eventfd: wakes run to stop

	// mu guards conns, closed and the epoll registrations: epoll_ctl runs
	// under it (a read lock for mod), never a socket read or write. It is a
	// leaf, taken under conn.mu.
	mu     sync.RWMutex
	conns  []*conn // by socket descriptor
	closed bool
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	return &poller{epfd: epfd, wake: wake}, nil
}

const (
	// inEvents and outEvents are the events that end a wait for input and
	// for room to write (errors and hang-ups end both).
	inEvents  = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLERR | unix.EPOLLHUP
	outEvents = unix.EPOLLOUT | unix.EPOLLERR | unix.EPOLLHUP
)

var errPollerClosed = errors.New("poller closed")

// interest is the epoll event mask for c: input when in is set, output
// when its flush goroutine waits. Callers hold c.mu.
func interest(c *conn, in bool) uint32 {
	var ev uint32 = unix.EPOLLONESHOT
	if in {
		ev |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if f, ok := c.t.(*fdConn); ok && f.wantOut {
		ev |= unix.EPOLLOUT
	}
	return ev
}

// add registers c's socket (c.fd), armed for nothing yet: serve arms it for
// input once c is registered (mod). Callers hold c.mu.
func (p *poller) add(c *conn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errPollerClosed
	}
	fd := int(c.fd)
	if fd >= len(p.conns) {
		p.conns = append(p.conns, make([]*conn, fd+1-len(p.conns))...)
	}
	ev := unix.EpollEvent{Events: interest(c, false), Fd: c.fd}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return err
	}
	p.conns[fd] = c
	return nil
}

// mod re-arms c's socket for input (when in is set) and for output when c's
// flush goroutine waits for it. Callers hold c.mu.
func (p *poller) mod(c *conn, in bool) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return errPollerClosed
	}
	fd := int(c.fd)
	if fd >= len(p.conns) || p.conns[fd] != c {
		return errNotPolled
	}
	ev := unix.EpollEvent{Events: interest(c, in), Fd: c.fd}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
}

// del unregisters c's socket, before it is closed: a descriptor number a
// newer connection reuses is left alone.
func (p *poller) del(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fd := int(c.fd)
	if p.closed || fd < 0 || fd >= len(p.conns) || p.conns[fd] != c {
		return
	}
	p.conns[fd] = nil
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil) // cannot fail while registered
}

var errNotPolled = errors.New("connection not in the poller")

// run waits for sockets that are ready and hands each to ready, until stop.
func (p *poller) run(g *Gateway) {
	defer p.close()
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			g.log.Error("epoll_wait failed: the gateway reads no more input", "err", err)
			return
		}
		for i := range n {
			fd := int(events[i].Fd)
			if fd == p.wake {
				return
			}
			p.mu.RLock()
			var c *conn
			if fd < len(p.conns) {
				c = p.conns[fd]
			}
			p.mu.RUnlock()
			if c != nil {
				p.ready(g, c, events[i].Events)
			}
		}
	}
}

// ready acts on the events ev of c's socket: it wakes c's flush goroutine
// when it waits for room, starts c's reader goroutine when c waits for
// input, and re-arms what c still waits for.
func (p *poller) ready(g *Gateway, c *conn, ev uint32) {
	f := c.t.(*fdConn)
	c.mu.Lock()
	var wake chan struct{}
	if f.wantOut && ev&outEvents != 0 {
		wake = f.wakeLocked()
	}
	polled := c.state() == statePolled
	start := polled && ev&inEvents != 0
	if start {
		c.to(stateReading)
	} else if polled || f.wantOut {
		if err := p.mod(c, polled); err != nil {
			g.log.Warn("re-arming a socket failed", "conn", c.id, "err", err)
		}
	}
	c.mu.Unlock()
	if wake != nil {
		wake <- struct{}{}
	}
	if start {
		go g.read(c) // within c's count in wg, see connState
	}
}

// stop makes run return.
func (p *poller) stop() {
	var one = [8]byte{1}
	unix.Write(p.wake, one[:])
}

func (p *poller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.conns = nil
	unix.Close(p.epfd)
	unix.Close(p.wake)
}

// detach takes nc's socket out of Go's net package and returns its
// descriptor, non-blocking: a duplicate, nc being closed (closing a
// duplicate does not end the connection). On error nc is left as it was.
func detach(nc net.Conn) (int, error) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return -1, errNotPolled
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if cerr := rc.Control(func(s uintptr) {
		fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); cerr != nil {
		return -1, cerr
	}
	if err != nil {
		return -1, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	nc.Close()
	return fd, nil
}

// fdConn is a polled connection's transport: its socket's descriptor,
// detached from Go's net package. Only c's reader reads it (readAvailable)
// and only c's flush goroutine writes it (Write, writev), without blocking:
// a write that finds no room arms the socket for output in the poller and
// waits for it to wake the flush goroutine. There is no timer per
// connection: a past write deadline wakes the writer at once, a future one
// is enforced by the sweeper (expire), and reads never wait. For the
// closing handshake, finish turns the socket back into a net.Conn
// (blocking) and closes it.
type fdConn struct {
	c       *conn
	fd      int32
	wantOut bool         // guarded by c.mu: the flush goroutine waits for room
	cut     atomic.Bool  // Close was called: reads and writes fail
	rcut    atomic.Bool  // a past read deadline: reads fail
	wdl     atomic.Int64 // write deadline, unix ns; 0: none
	// stall is since when the socket has taken no byte while the flush
	// goroutine had bytes for it (unix ns; 0: it took the last it was
	// given): set by wait, cleared by a write that progresses, read by
	// the sweeper (expire), which closes the connection as a slow consumer
	// once it is older than NoProgressTimeout.
	stall atomic.Int64
	hs    net.Conn // guarded by c.mu: what blocking returned
}

func newFDConn(c *conn, fd int) transport { return &fdConn{c: c, fd: int32(fd)} }

// wakeLocked ends the flush goroutine's wait and returns the channel to
// wake it on (send after unlocking c.mu). Callers hold c.mu and checked
// wantOut.
func (f *fdConn) wakeLocked() chan struct{} {
	f.wantOut = false
	return f.c.out.wake
}

// writable returns why a write must not be attempted, if it must not.
func (f *fdConn) writable() error {
	if f.cut.Load() {
		return net.ErrClosed
	}
	if d := f.wdl.Load(); d != 0 && time.Now().UnixNano() >= d {
		return os.ErrDeadlineExceeded
	}
	return nil
}

// wait waits until the poller reports room to write (or an error), the
// write deadline passes or f is closed.
func (f *fdConn) wait() error {
	c := f.c
	c.mu.Lock()
	if err := f.writable(); err != nil {
		c.mu.Unlock()
		return err
	}
	f.wantOut = true
	if f.stall.Load() == 0 {
		f.stall.Store(time.Now().UnixNano())
	}
	if err := c.g.poller.mod(c, c.state() == statePolled); err != nil {
		f.wantOut = false
		c.mu.Unlock()
		return err
	}
	o := c.out
	if o.wake == nil {
		o.wake = make(chan struct{}, 1)
	}
	wake := o.wake
	c.mu.Unlock()
	<-wake // sent once by whoever clears wantOut
	return nil
}

// expire wakes the flush goroutine if it waits past the write deadline,
// and closes the connection as a slow consumer when its socket took
// nothing for NoProgressTimeout (the sweeper calls it with the time).
func (f *fdConn) expire(now int64) {
	if s := f.stall.Load(); s != 0 && now-s > f.c.g.cfg.NoProgressTimeout.Nanoseconds() {
		f.c.slow(true)
	}
	if d := f.wdl.Load(); d == 0 || now < d {
		return
	}
	f.interrupt()
}

// progressed records that the socket took bytes.
func (f *fdConn) progressed() {
	if f.stall.Load() != 0 {
		f.stall.Store(0)
	}
}

// interrupt wakes the flush goroutine if it waits, to see why.
func (f *fdConn) interrupt() {
	c := f.c
	c.mu.Lock()
	var wake chan struct{}
	if f.wantOut {
		wake = f.wakeLocked()
	}
	c.mu.Unlock()
	if wake != nil {
		wake <- struct{}{}
	}
}

// Write writes p, waiting for room as needed (see wait).
func (f *fdConn) Write(p []byte) (int, error) {
	n := 0
	for {
		if err := f.writable(); err != nil {
			return n, err
		}
		m, err := unix.Write(int(f.fd), p[n:])
		if m > 0 {
			n += m
			f.progressed()
		}
		switch {
		case n == len(p):
			return n, nil
		case err == unix.EINTR:
		case err == nil || err == unix.EAGAIN:
			if err := f.wait(); err != nil {
				return n, err
			}
		default:
			return n, err
		}
	}
}

// maxIOV is the most buffers one writev takes (IOV_MAX).
const maxIOV = 1024

// iovecs is one writev's vector, pooled: unix.Writev allocates a new one
// for every call, one allocation per write on the fanout path.
type iovecs [maxIOV]unix.Iovec

var iovPool = sync.Pool{New: func() any { return new(iovecs) }}

// writev writes the first maxIOV buffers of v (skipping empty ones) in
// one writev(2) and returns how many bytes went.
func writev(fd int, v [][]byte) (int, error) {
	iov := iovPool.Get().(*iovecs)
	n := 0
	for _, b := range v[:min(len(v), maxIOV)] {
		if len(b) > 0 {
			iov[n].Base = &b[0]
			iov[n].SetLen(len(b))
			n++
		}
	}
	written, _, errno := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(n))
	clear(iov[:n]) // keep no payload alive in the pool
	iovPool.Put(iov)
	if errno != 0 {
		return 0, errno
	}
	return int(written), nil
}

// writev writes v with as few writev calls as it can, consuming it. With
// wait it waits for room as needed; without, it returns errFull and what
// is left when the socket takes no more (see writers).
func (f *fdConn) writev(v [][]byte, wait bool) ([][]byte, error) {
	for len(v) > 0 {
		if len(v[0]) == 0 {
			v = v[1:]
			continue
		}
		if err := f.writable(); err != nil {
			return v, err
		}
		n, err := writev(int(f.fd), v)
		if n > 0 {
			f.progressed()
		}
		for n > 0 {
			k := min(n, len(v[0]))
			v[0] = v[0][k:]
			n -= k
			if len(v[0]) == 0 {
				v = v[1:]
			}
		}
		switch {
		case len(v) == 0:
			return nil, nil
		case err == unix.EINTR:
		case err == nil || err == unix.EAGAIN:
			if !wait {
				return v, errFull
			}
			if err := f.wait(); err != nil {
				return v, err
			}
		default:
			return v, err
		}
	}
	return nil, nil
}

// SetWriteDeadline sets the write deadline; a past one fails a write in
// progress at once.
func (f *fdConn) SetWriteDeadline(t time.Time) error {
	var d int64
	if !t.IsZero() {
		d = max(t.UnixNano(), 1)
	}
	f.wdl.Store(d)
	if d != 0 && d <= time.Now().UnixNano() {
		f.interrupt()
	}
	return nil
}

// SetReadDeadline fails reads once t is past: reads never wait, so only a
// past deadline matters (closeWith's interruption of the reader).
func (f *fdConn) SetReadDeadline(t time.Time) error {
	f.rcut.Store(!t.IsZero() && !t.After(time.Now()))
	return nil
}

// Close cuts f: reads and writes fail, a waiting write at once, and so does
// the closing handshake (blocking). finish closes the descriptor.
func (f *fdConn) Close() error {
	f.cut.Store(true)
	f.interrupt()
	f.c.mu.Lock()
	hs := f.hs
	f.c.mu.Unlock()
	if hs != nil {
		hs.Close()
	}
	return nil
}

// discard resets f's connection and closes its descriptor: the kernel
// drops what it still holds for the client, as finish does for a stream
// that is cut. The caller has removed f from the poller and no flush
// goroutine runs.
func (f *fdConn) discard() {
	fd := int(f.fd)
	unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	unix.Close(fd)
}

// blocking hands f's socket back to Go's net package for the closing
// handshake, which needs deadlines on blocking reads and writes, and closes
// f's descriptor. It returns nil, having closed the descriptor, when f was
// cut or the socket cannot be converted. The caller has removed f from the
// poller and no flush goroutine runs.
func (f *fdConn) blocking() transport {
	fd := int(f.fd)
	if f.cut.Load() {
		unix.Close(fd)
		return nil
	}
	file := os.NewFile(uintptr(fd), "")
	nc, err := net.FileConn(file)
	file.Close()
	if err != nil {
		f.c.g.log.Warn("closing handshake skipped", "conn", f.c.id, "err", err)
		return nil
	}
	f.c.mu.Lock()
	f.hs = nc
	f.c.mu.Unlock()
	if f.cut.Load() { // Close raced with the conversion
		nc.Close()
	}
	return nc
}

// readBufSize is the pooled buffer a reader reads into: its bytes are kept
// (in conn.rd) only while a frame is incomplete.
const readBufSize = 8 << 10

type readBuf [readBufSize]byte

var readPool = sync.Pool{New: func() any { return new(readBuf) }}

// readAvailable reads and consumes c's input until none is left, and
// returns nil then, or the error that ends the connection.
func (c *conn) readAvailable() error {
	f := c.t.(*fdConn)
	buf := readPool.Get().(*readBuf)
	defer readPool.Put(buf)
	for {
		if f.cut.Load() {
			return net.ErrClosed
		}
		if f.rcut.Load() {
			return os.ErrDeadlineExceeded
		}
		n, err := unix.Read(int(f.fd), buf[:])
		switch {
		case err == unix.EAGAIN:
			return nil
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return io.EOF
		}
		if err := c.consume(buf[:n]); err != nil {
			return err
		}
		if n < len(buf) {
			// Most likely drained; if not, re-arming reports it at once.
			return nil
		}
	}
}

// boundSilence has the kernel end nc when what is written to it stays
// unacknowledged for the idle timeout (TCP_USER_TIMEOUT): an SSE client
// sends nothing, so only its socket can tell that it is gone. An error
// is only logged: the no-progress rule still ends a stream that stops
// taking bytes once its socket is full.
func (g *Gateway) boundSilence(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(g.cfg.IdleTimeout.Milliseconds()))
		})
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		g.log.Warn("TCP_USER_TIMEOUT not set", "err", err)
	}
}
