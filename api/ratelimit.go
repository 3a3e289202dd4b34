package api

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters is a bounded map of token-bucket limiters, one per key (a token
// or a client IP).
//
// A limiter idle for longer than it takes to refill its whole burst is
// indistinguishable from a new one, so it can be dropped without loosening
// the limit. When the map is full, wait first sweeps such idle limiters (at
// most once a second, so that a full map of active keys does not make every
// new key pay for a scan) and otherwise evicts an arbitrary one: the evicted
// key merely gets a fresh burst.
type limiters struct {
	// immutable after newLimiters
	limit rate.Limit
	burst int
	max   int
	idle  time.Duration // time to refill a whole burst

	mu        sync.Mutex
	m         map[string]*limiterEntry // guarded by mu
	lastSweep time.Time                // guarded by mu
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time // guarded by limiters.mu
}

func newLimiters(limit rate.Limit, burst, max int) *limiters {
	l := &limiters{limit: limit, burst: burst, max: max, m: map[string]*limiterEntry{}}
	if limit > 0 && limit != rate.Inf {
		l.idle = time.Duration(float64(burst) / float64(limit) * float64(time.Second))
	}
	return l
}

// wait takes one request from key's bucket. It returns 0 when the request
// may go on, else the whole seconds to wait before retrying (at least 1).
func (l *limiters) wait(key string) int {
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
		e = &limiterEntry{lim: rate.NewLimiter(l.limit, l.burst)}
		l.m[key] = e
	}
	e.seen = now
	l.mu.Unlock()

	r := e.lim.ReserveN(now, 1)
	if !r.OK() { // a zero burst or a zero rate: never
		return 3600
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return 0
	}
	r.CancelAt(now)
	return int(math.Ceil(d.Seconds()))
}

// evict makes room for one entry. l.mu is held.
func (l *limiters) evict(now time.Time) {
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

// len is the number of limiters kept.
func (l *limiters) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
