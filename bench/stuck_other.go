//go:build !linux

package bench

import "net"

// smallReceiveBuffer leaves the kernel's receive buffer here: a stuck
// connection stalls its sender later.
func smallReceiveBuffer(d *net.Dialer, n int) {}

// peerClosed cannot tell here whether the server closed c.
func peerClosed(c net.Conn) (closed, known bool) { return false, false }
