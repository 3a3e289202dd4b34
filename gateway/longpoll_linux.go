package gateway

import (
	"time"

	"golang.org/x/sys/unix"
)

// answer writes a poll's answer p on f's socket, out of the poller, and
// closes it: blocking writes bounded by until (SO_SNDTIMEO), then a FIN,
// and what the client sent unread is drained first so that the close is
// not a reset. A poll's connection takes nothing more (Connection: close),
// so it needs no closing handshake, nor a net.Conn made again of its
// socket for one: that conversion was a sixth of the server's CPU at
// 5,000 polls a second. The caller has removed f from the poller and no
// flush goroutine runs.
func (f *fdConn) answer(p []byte, until time.Time) {
	fd := int(f.fd)
	defer unix.Close(fd)
	if f.cut.Load() {
		return
	}
	if unix.SetNonblock(fd, false) != nil {
		return
	}
	tv := unix.NsecToTimeval(max(time.Until(until), time.Millisecond).Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	for len(p) > 0 {
		n, err := unix.Write(fd, p)
		if n > 0 {
			p = p[n:]
			f.progressed()
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return
		}
	}
	unix.Shutdown(fd, unix.SHUT_WR)
	unix.SetNonblock(fd, true)
	var buf [512]byte
	for {
		if n, err := unix.Read(fd, buf[:]); n <= 0 || err != nil {
			return
		}
	}
}
