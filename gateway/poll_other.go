//go:build !linux

package gateway

import (
	"errors"
	"net"
)

// poller is Linux-only (epoll); elsewhere every connection keeps its
// net.Conn and has a blocking reader goroutine (readLoop).
type poller struct{}

func newPoller() (*poller, error) { return nil, errors.ErrUnsupported }

func detach(net.Conn) (int, error)    { return -1, errors.ErrUnsupported }
func newFDConn(*conn, int) transport  { panic("gateway: no poller on this platform") }
func (*poller) add(*conn) error       { return errors.ErrUnsupported }
func (*poller) mod(*conn, bool) error { return errors.ErrUnsupported }
func (*poller) del(*conn)             {}
func (*poller) run(*Gateway)          {}
func (*poller) stop()                 {}
func (c *conn) readAvailable() error  { return errors.ErrUnsupported }

// boundSilence is Linux's TCP_USER_TIMEOUT; elsewhere the kernel's own
// retransmission limit ends a stream whose client is gone.
func (g *Gateway) boundSilence(net.Conn) {}
