//go:build !linux

package gateway

import (
	"errors"
	"net"
)

// poller is Linux-only (epoll); elsewhere every connection has a blocking
// reader goroutine (readLoop).
type poller struct{}

func newPoller() (*poller, error) { return nil, errors.ErrUnsupported }

func socketFD(net.Conn) (int, bool)  { return 0, false }
func (*poller) add(*conn) error      { return errors.ErrUnsupported }
func (*poller) mod(*conn) error      { return errors.ErrUnsupported }
func (*poller) del(*conn)            {}
func (*poller) run(*Gateway)         {}
func (*poller) stop()                {}
func (c *conn) readAvailable() error { return errors.ErrUnsupported }
