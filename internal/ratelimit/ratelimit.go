package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Config configures a Limiter.
type Config struct {
	// Rate is the requests a second a key may make; rate.Inf disables the
	// limit.
	Rate rate.Limit
	// Burst is how many requests a key may make at once, after being idle.
	Burst int
	// MaxKeys bounds the map; 0: DefaultMaxKeys.
	MaxKeys int
}

// DefaultMaxKeys is Config.MaxKeys's default.
const DefaultMaxKeys = 100_000

// Never is what Wait answers when no request can ever pass (a zero rate
// with a zero burst).
const Never = time.Hour

// Limiter is a bounded map of token buckets, one per key.
//
// A bucket idle for longer than it takes to refill its whole burst is
// indistinguishable from a new one, so it can be dropped without loosening
// the limit. When the map is full, Wait first sweeps such idle buckets (at
// most once a second, so that a full map of active keys does not make every
// new key pay for a scan) and otherwise evicts an arbitrary one: the evicted
// key merely gets a fresh burst.
type Limiter[K comparable] struct {
	// immutable after New
	limit rate.Limit
	burst int
	max   int
	idle  time.Duration // time to refill a whole burst

	mu        sync.Mutex
	m         map[K]*entry // guarded by mu
	lastSweep time.Time    // guarded by mu
}

type entry struct {
	lim  *rate.Limiter
	seen time.Time // guarded by Limiter.mu
}

// New returns a Limiter.
func New[K comparable](cfg Config) *Limiter[K] {
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	l := &Limiter[K]{limit: cfg.Rate, burst: cfg.Burst, max: cfg.MaxKeys, m: map[K]*entry{}}
	if l.limit > 0 && l.limit != rate.Inf {
		l.idle = time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
	}
	return l
}

// Wait takes one request from key's bucket. It returns 0 when the request
// may go on, else how long until one would pass (Never when none ever
// will). A refused request takes nothing from the bucket.
func (l *Limiter[K]) Wait(key K) time.Duration {
	if l.limit == rate.Inf {
		return 0
	}
	now := time.Now()
	l.mu.Lock()
	e := l.m[key]
	if e == nil {
		if len(l.m) >= l.max {
			l.evict(now)
		}
		e = &entry{lim: rate.NewLimiter(l.limit, l.burst)}
		l.m[key] = e
	}
	e.seen = now
	l.mu.Unlock()

	r := e.lim.ReserveN(now, 1)
	if !r.OK() { // a zero burst: never
		return Never
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return 0
	}
	r.CancelAt(now)
	return d
}

// evict makes room for one entry. l.mu is held.
func (l *Limiter[K]) evict(now time.Time) {
	if now.Sub(l.lastSweep) >= time.Second {
		l.lastSweep = now
		for k, e := range l.m {
			if now.Sub(e.seen) > l.idle {
				delete(l.m, k)
			}
		}
	}
	for k := range l.m {
		if len(l.m) < l.max {
			return
		}
		delete(l.m, k)
	}
}

// Len is the number of buckets kept.
func (l *Limiter[K]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
