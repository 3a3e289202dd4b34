package gateway

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller tells which connections have input, so that no goroutine waits
// on an idle one. It is one epoll instance, watched by one goroutine (run),
// in which each polled socket is registered level-triggered and one-shot:
// an event disarms the socket until its reader re-arms it (mod), so at most
// one reader runs per connection and input that arrived meanwhile is
// reported at once on re-arming.
//
// epoll only reports readiness. The socket stays a net.Conn owned by the
// Go runtime: readers read it through syscall.RawConn (the runtime keeps
// the descriptor open while they do, whatever Close races with them), the
// flush goroutine writes it with net.Buffers (one writev, deadlines), and
// finish closes it. The Go runtime's own poller keeps its registration of
// the descriptor for those writes; the two do not interfere.
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

const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// socketFD returns nc's descriptor, if it is a socket the poller can watch.
func socketFD(nc net.Conn) (int, bool) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return 0, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if rc.Control(func(s uintptr) { fd = int(s) }) != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}

// add registers c's socket, armed; when the poller has stopped (the
// gateway is shutting down) it does nothing and returns nil. Callers hold
// c.mu.
func (p *poller) add(c *conn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	fd := int(c.fd)
	if fd >= len(p.conns) {
		p.conns = append(p.conns, make([]*conn, fd+1-len(p.conns))...)
	}
	ev := unix.EpollEvent{Events: pollEvents, Fd: c.fd}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return err
	}
	p.conns[fd] = c
	return nil
}

// mod re-arms c's socket; when the poller has stopped it does nothing and
// returns nil. Callers hold c.mu.
func (p *poller) mod(c *conn) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return nil
	}
	fd := int(c.fd)
	if fd >= len(p.conns) || p.conns[fd] != c {
		return errNotPolled
	}
	ev := unix.EpollEvent{Events: pollEvents, Fd: c.fd}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
}

// del unregisters c's socket, before it is closed: a descriptor number a
// newer connection reuses is left alone.
func (p *poller) del(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fd := int(c.fd)
	if p.closed || fd >= len(p.conns) || p.conns[fd] != c {
		return
	}
	p.conns[fd] = nil
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil) // cannot fail while registered
}

var errNotPolled = errors.New("connection not in the poller")

// run waits for sockets with input and hands each to g.ready, until stop.
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
				g.ready(c)
			}
		}
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

// readBufSize is the pooled buffer a reader reads into: its bytes are kept
// (in conn.rd) only while a frame is incomplete.
const readBufSize = 8 << 10

// readScratch is a reader's buffer and its RawConn.Read callback, pooled.
type readScratch struct {
	buf [readBufSize]byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

var readPool = sync.Pool{New: func() any {
	s := new(readScratch)
	s.fn = func(fd uintptr) bool {
		s.n, s.err = unix.Read(int(fd), s.buf[:])
		return true // never wait: EAGAIN means the input is drained
	}
	return s
}}

// readAvailable reads and consumes c's input until none is left, and
// returns nil then, or the error that ends the connection.
func (c *conn) readAvailable() error {
	sc, ok := c.t.(syscall.Conn)
	if !ok {
		return errNotPolled
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	s := readPool.Get().(*readScratch)
	defer readPool.Put(s)
	for {
		// Fails once closeWith set a past read deadline, or the socket
		// was closed.
		if err := rc.Read(s.fn); err != nil {
			return err
		}
		n, err := s.n, s.err
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
		if err := c.consume(s.buf[:n]); err != nil {
			return err
		}
		if n < len(s.buf) {
			// Most likely drained; if not, re-arming reports it at once.
			return nil
		}
	}
}
