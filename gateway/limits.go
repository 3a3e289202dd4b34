package gateway

import (
	"net"
	"time"
)

// DefaultSendBufferBytes is the default of Config.SendBufferBytes: the
// SO_SNDBUF of every accepted socket (128 KiB; Linux doubles it). Left to
// itself, Linux grows a socket's send buffer up to net.ipv4.tcp_wmem's
// maximum (4 MiB by default) for a client that does not read, on top of
// the connection's queue: 1,000 such clients held ~1.7 GB of kernel
// memory, past the machine's tcp_mem pressure threshold. RTM frames are
// small: 128 KiB still carries ~1.3 MB/s to a client 100 ms away, far
// more than a chat connection needs, and a burst beyond it waits in the
// connection's queue, which its limits bound.
const DefaultSendBufferBytes = 128 << 10

// DefaultNoProgressTimeout is the default of Config.NoProgressTimeout: a
// connection whose socket took no byte for 30 s while frames waited for it
// is closed as a slow consumer. It is longer than a mobile network's
// usual stall or handover, and much shorter than the idle timeout, which
// otherwise would be all that ends a client that stopped reading but whose
// queue is below its limits.
const DefaultNoProgressTimeout = 30 * time.Second

// boundSendBuffer sets nc's SO_SNDBUF to the configured bound, if any; an
// error leaves the kernel's own and is only logged: the queue's limits and
// NoProgressTimeout still hold.
func (g *Gateway) boundSendBuffer(nc net.Conn) {
	n := g.cfg.SendBufferBytes
	tc, ok := nc.(*net.TCPConn)
	if n <= 0 || !ok {
		return
	}
	if err := tc.SetWriteBuffer(n); err != nil {
		g.log.Warn("SO_SNDBUF not set", "err", err)
	}
}
