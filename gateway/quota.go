package gateway

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/confab/confab"
)

// Defaults of cmd/confab's flags for the handshake quotas (in Config, 0 is
// no limit). They are sized for a team server:
//
//   - 100 connections per user: a person has a few devices and tabs, a bot
//     a few workers; 100 leaves room for all of them, yet a leaked or
//     buggy token cannot take the gateway's descriptors (20,000 of them
//     are 200 users' worth).
//   - 1,000 connections per address: an office or a VPN behind one NAT
//     address, a few hundred people with two or three connections each.
//   - 50 handshakes a second per address, past a burst of 100: a NAT's
//     1,000 connections come back within ~20 s after a gateway restart
//     (rtm.connect's pacer spreads them anyway), while a loop that dials
//     as fast as it can is refused before its ticket is redeemed.
const (
	DefaultMaxConnsPerUser = 100
	DefaultMaxConnsPerAddr = 1000
	DefaultHandshakeRate   = 50
	DefaultHandshakeBurst  = 100
)

// Refusals of the quotas: HTTP 429 with Retry-After, before the upgrade.
var (
	errHandshakeRate = &confab.Error{Code: confab.ERATELIMIT, Message: "ratelimited"}
	errTooManyConns  = &confab.Error{Code: confab.ERATELIMIT, Message: "too_many_connections"}
)

// capRetryAfter is the Retry-After of too_many_connections: no wait is
// known to free a connection, and clients back off besides.
const capRetryAfter = 10 * time.Second

// quotas bounds, before the upgrade, the connections one user and one
// address (an IPv4 address, an IPv6 /64) hold open, and the rate of an
// address's handshakes (a token bucket). A connection's places are taken
// by quotaHold and released once, when it is closed (finish).
//
// Handshakes are rare next to frames — a reconnect storm is a few
// thousand a second — so one mutex guards both maps (a leaf: LOCKING.md).
type quotas struct {
	// Immutable after newQuotas.
	perUser, perAddr int
	rate, burst      float64
	clientAddr       func(*http.Request) netip.Addr
	refused          [numQuotaReasons]counter

	mu      sync.Mutex
	addrs   map[netip.Addr]*addrQuota
	users   map[userKey]int
	pruneAt int // prune idle addresses when addrs grows to this
}

// counter is what quotas counts refusals with (a prometheus.Counter).
type counter interface{ Inc() }

// Why a handshake was refused, as the metric's label says.
const (
	refusedRate = iota
	refusedAddr
	refusedUser
	numQuotaReasons
)

var quotaReasons = [numQuotaReasons]string{refusedRate: "handshake_rate", refusedAddr: "addr_conns", refusedUser: "user_conns"}

type addrQuota struct {
	conns  int     // open connections, and handshakes past the address's checks
	tokens float64 // the handshake bucket, as of last
	last   int64   // unix ns
}

type userKey struct{ ws, id string }

func newQuotas(cfg *Config, m *metrics) *quotas {
	q := &quotas{
		perUser: max(cfg.MaxConnsPerUser, 0), perAddr: max(cfg.MaxConnsPerAddr, 0),
		rate: max(cfg.HandshakeRate, 0), burst: float64(max(cfg.HandshakeBurst, 1)),
		clientAddr: cfg.ClientAddr,
		addrs:      make(map[netip.Addr]*addrQuota), users: make(map[userKey]int), pruneAt: 1024,
	}
	for i := range q.refused {
		q.refused[i] = m.handshakesRefused.WithLabelValues(quotaReasons[i])
	}
	return q
}

// addrKey is what r's client is counted as: its address (Config.ClientAddr,
// else the IP of r.RemoteAddr), an IPv6 one by its /64; the zero Addr when
// it has none.
func (q *quotas) addrKey(r *http.Request) netip.Addr {
	var a netip.Addr
	if q.clientAddr != nil {
		a = q.clientAddr(r)
	} else if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		a = ap.Addr()
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			a = p.Addr()
		}
	}
	return a
}

// quotaHold is what one handshake holds of the quotas: taken by
// Gateway.enterQuotas and takeUser, handed to the connection (to), or given
// back (drop) when the handshake fails.
type quotaHold struct {
	g    *Gateway
	addr netip.Addr
	user userKey
	held uint8 // heldAddr, heldUser
}

const (
	heldAddr uint8 = 1 << iota
	heldUser
)

// enterQuotas checks r's address against its handshake rate and its
// connection cap, and takes a place in the latter. When it refuses, it has
// answered w (429, Retry-After) and ok is false.
func (g *Gateway) enterQuotas(w http.ResponseWriter, r *http.Request) (h quotaHold, ok bool) {
	q := g.quotas
	h.g = g
	if q.perAddr == 0 && q.rate == 0 {
		return h, true
	}
	h.addr = q.addrKey(r)
	now := time.Now().UnixNano()
	q.mu.Lock()
	e := q.addrs[h.addr]
	if e == nil {
		if len(q.addrs) >= q.pruneAt {
			q.pruneLocked(now)
		}
		e = &addrQuota{tokens: q.burst, last: now}
		q.addrs[h.addr] = e
	}
	var retry time.Duration
	reason := -1
	if q.rate > 0 {
		e.tokens = min(q.burst, e.tokens+float64(now-e.last)/1e9*q.rate)
		e.last = now
		if e.tokens < 1 {
			reason, retry = refusedRate, time.Duration((1-e.tokens)/q.rate*1e9)
		}
	}
	if reason < 0 && q.perAddr > 0 && e.conns >= q.perAddr {
		reason, retry = refusedAddr, capRetryAfter
	}
	if reason < 0 {
		if q.rate > 0 {
			e.tokens--
		}
		e.conns++
		h.held = heldAddr
	}
	q.mu.Unlock()
	if reason >= 0 {
		g.refuseQuota(w, reason, retry)
		return h, false
	}
	return h, true
}

// takeUser takes a place in u's connection cap. When it refuses, it has answered
// w, given back what h held, and returns false.
func (h *quotaHold) takeUser(w http.ResponseWriter, u *confab.User) bool {
	q := h.g.quotas
	if q.perUser == 0 {
		return true
	}
	k := userKey{u.WorkspaceID, u.ID}
	q.mu.Lock()
	n, known := q.users[k]
	ok := n < q.perUser
	if ok {
		if !known { // the map keeps copies: u may share memory with more
			k = userKey{strings.Clone(k.ws), strings.Clone(k.id)}
		}
		q.users[k] = n + 1
	}
	q.mu.Unlock()
	if !ok {
		h.drop()
		h.g.refuseQuota(w, refusedUser, capRetryAfter)
		return false
	}
	h.user, h.held = k, h.held|heldUser
	return true
}

// to hands what h holds to c, which gives it back when it is closed
// (Gateway.finish calls releaseQuotas).
func (h *quotaHold) to(c *conn) {
	c.addr, c.quota = h.addr, h.held
	h.held = 0
}

// drop gives back what h holds, unless it was handed to a connection.
func (h *quotaHold) drop() {
	h.g.quotas.release(h.addr, h.user, h.held)
	h.held = 0
}

// releaseQuotas gives back c's places, once: finish calls it.
func (g *Gateway) releaseQuotas(c *conn) {
	held := c.quota
	c.quota = 0
	g.quotas.release(c.addr, userKey{c.ws, c.uid}, held)
}

func (q *quotas) release(addr netip.Addr, u userKey, held uint8) {
	if held == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if held&heldAddr != 0 {
		if e := q.addrs[addr]; e != nil {
			e.conns--
			if e.conns <= 0 && q.rate == 0 {
				delete(q.addrs, addr)
			}
		}
	}
	if held&heldUser != 0 {
		if n := q.users[u] - 1; n > 0 {
			q.users[u] = n
		} else {
			delete(q.users, u)
		}
	}
}

// pruneLocked drops the addresses with no connection whose bucket is full
// again (a new entry would be the same), and sets when to prune next:
// the map holds the addresses with connections and those that shook hands
// within the last burst/rate seconds.
func (q *quotas) pruneLocked(now int64) {
	for a, e := range q.addrs {
		if e.conns <= 0 && (q.rate == 0 || e.tokens+float64(now-e.last)/1e9*q.rate >= q.burst) {
			delete(q.addrs, a)
		}
	}
	q.pruneAt = max(2*len(q.addrs), 1024)
}

// refuseQuota answers a handshake refused for reason, 429 with Retry-After
// in whole seconds (at least 1), and counts it.
func (g *Gateway) refuseQuota(w http.ResponseWriter, reason int, retry time.Duration) {
	g.quotas.refused[reason].Inc()
	secs := max(int64(math.Ceil(retry.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	err := errHandshakeRate
	if reason != refusedRate {
		err = errTooManyConns
	}
	g.httpError(w, err)
}
