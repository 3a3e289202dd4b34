package bench

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// smallReceiveBuffer makes d's sockets ask for a receive buffer of n
// bytes before they connect (Linux doubles it), so that the window they
// offer stays small and a connection that never reads stalls its sender
// after a few KiB instead of the megabytes receive autotuning would take.
func smallReceiveBuffer(d *net.Dialer, n int) {
	d.Control = func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
		}); cerr != nil {
			return cerr
		}
		return err
	}
}

// peerClosed reports whether c's TCP connection was closed or reset by
// the server, without reading it: its state is no longer ESTABLISHED
// (CLOSE_WAIT after a FIN, CLOSE after a reset). known is false when the
// state could not be read.
func peerClosed(c net.Conn) (closed, known bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, false
	}
	var info *unix.TCPInfo
	if cerr := rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); cerr != nil || err != nil {
		return false, false
	}
	return info.State != unix.BPF_TCP_ESTABLISHED, true
}
