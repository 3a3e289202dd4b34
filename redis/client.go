package redis

import (
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// NewClient returns a client of a pocket's Redis for its own keys, to share
// between the pocket's Registry and Presence: RESP2, and dial, read and
// write timeouts of 2 s that a call's context can shorten. Close it after
// them.
func NewClient(addr string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{
		Addr: addr, Protocol: 2, DialTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, ContextTimeoutEnabled: true,
	})
}
