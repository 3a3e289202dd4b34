package redis_test

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab/internal/redistest"
	goredis "github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

var prefixes atomic.Int64

// uniquePrefix returns a key and channel prefix no other test uses.
func uniquePrefix(tb testing.TB) string {
	tb.Helper()
	return fmt.Sprintf("test:%s:%d:", tb.Name(), prefixes.Add(1))
}

// mustClient returns a client of the package's shared redis-server, closed
// in t.Cleanup.
func mustClient(tb testing.TB) *goredis.Client {
	tb.Helper()
	c := goredis.NewClient(&goredis.Options{
		Addr:                  redistest.Shared(tb).Addr(),
		Protocol:              2,
		DisableIdentity:       true,
		MaxRetries:            -1,
		ContextTimeoutEnabled: true,
	})
	tb.Cleanup(func() { c.Close() })
	return c
}

// clock is a settable clock shared by the instances of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

func newClock() *clock { return &clock{t: time.UnixMilli(1_700_000_000_000)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
