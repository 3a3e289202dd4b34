package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/confab/confab"
	goredis "github.com/redis/go-redis/v9"
)

// DefaultRegistryTTL is how long a gateway's announcement stays live.
const DefaultRegistryTTL = 5 * time.Second

// RegistryConfig configures a Registry.
type RegistryConfig struct {
	// Client is the pocket's Redis. Required.
	Client *goredis.Client
	// Prefix starts every key, e.g. "confab:a:".
	Prefix string
	// TTL is how long an announcement stays live; gateways announce every
	// TTL/3. 0: DefaultRegistryTTL.
	TTL time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Registry is the set of a pocket's live gateways, held in the pocket's
// Redis:
//
//	<prefix>gateways         hash: id → {"url":…,"conns":…}
//	<prefix>gateways:expiry  zset: id → expiry (unix ms)
//
// A gateway is live while its expiry is in the future. Stale entries are
// removed lazily, by Live and Pick.
type Registry struct {
	// immutable after construction
	client  *goredis.Client
	hashKey string
	expKey  string
	ttl     time.Duration
	now     func() time.Time

	mu sync.Mutex
	// sent counts, per gateway, the clients this process sent there since
	// the gateway last reported a new connection count (guarded by mu).
	sent map[string]sentSince
	// refused holds the gateways whose address refused a connection at
	// the latest Probe (guarded by mu).
	refused map[string]bool
	// herdFrom and herdPicks count the picks since herdFrom, for Watch
	// (guarded by mu); herd is signalled when they make a herd.
	herdFrom  time.Time
	herdPicks int
	herd      chan struct{}
}

// sentSince is what Pick adds to a gateway's reported load: the reports
// are up to a heartbeat old, and without counting its own recent choices a
// process would send every client of a reconnect storm to the gateway that
// looked emptiest at the last heartbeat.
type sentSince struct {
	reported int // the count reported when counting began
	sent     int
}

// NewRegistry returns a Registry.
func NewRegistry(cfg RegistryConfig) *Registry {
	r := &Registry{
		client:  cfg.Client,
		hashKey: cfg.Prefix + "gateways",
		expKey:  cfg.Prefix + "gateways:expiry",
		ttl:     cfg.TTL,
		now:     cfg.Now,
		sent:    map[string]sentSince{},
		herd:    make(chan struct{}, 1),
	}
	if r.ttl <= 0 {
		r.ttl = DefaultRegistryTTL
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

// TTL returns how long an announcement stays live; announce every TTL/3.
func (r *Registry) TTL() time.Duration { return r.ttl }

type gatewayEntry struct {
	URL   string `json:"url"`
	Conns int    `json:"conns"`
}

// Announce records gw as live until TTL from now, with its current number
// of connections. A gateway calls it every TTL/3.
func (r *Registry) Announce(ctx context.Context, gw confab.Gateway) error {
	entry, err := json.Marshal(gatewayEntry{URL: gw.URL, Conns: gw.Conns})
	if err != nil {
		return fmt.Errorf("announce gateway %s: %w", gw.ID, err)
	}
	expires := r.now().Add(r.ttl).UnixMilli()
	_, err = r.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, r.hashKey, gw.ID, entry)
		p.ZAdd(ctx, r.expKey, goredis.Z{Score: float64(expires), Member: gw.ID})
		return nil
	})
	if err != nil {
		return fmt.Errorf("announce gateway %s: %w", gw.ID, err)
	}
	return nil
}

// Withdraw removes a gateway at once; a gateway calls it when it shuts down
// gracefully, so that no new client is sent to it.
func (r *Registry) Withdraw(ctx context.Context, id string) error {
	_, err := r.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HDel(ctx, r.hashKey, id)
		p.ZRem(ctx, r.expKey, id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("withdraw gateway %s: %w", id, err)
	}
	return nil
}

// liveScript removes the stale gateways and returns the live ones as
// {ids, entries}. KEYS: hash, expiry zset. ARGV: now (unix ms).
var liveScript = goredis.NewScript(`
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, id in ipairs(stale) do redis.call('HDEL', KEYS[1], id) end
if #stale > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1]) end
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
local entries = {}
for i, id in ipairs(ids) do entries[i] = redis.call('HGET', KEYS[1], id) or '' end
return {ids, entries}
`)

// Live returns the live gateways, ordered by id.
func (r *Registry) Live(ctx context.Context) ([]confab.Gateway, error) {
	now := strconv.FormatInt(r.now().UnixMilli(), 10)
	res, err := liveScript.Run(ctx, r.client, []string{r.hashKey, r.expKey}, now).Slice()
	if err != nil {
		return nil, fmt.Errorf("live gateways: %w", err)
	}
	if len(res) != 2 {
		return nil, fmt.Errorf("live gateways: unexpected reply %v", res)
	}
	ids, _ := res[0].([]any)
	entries, _ := res[1].([]any)
	if len(ids) != len(entries) {
		return nil, fmt.Errorf("live gateways: unexpected reply %v", res)
	}
	live := make([]confab.Gateway, 0, len(ids))
	for i := range ids {
		id, _ := ids[i].(string)
		raw, _ := entries[i].(string)
		var e gatewayEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil || e.URL == "" {
			continue // half-written or foreign entry: not a gateway we can send anyone to
		}
		live = append(live, confab.Gateway{ID: id, URL: e.URL, Conns: e.Conns})
	}
	sort.Slice(live, func(i, j int) bool { return live[i].ID < live[j].ID })
	return live, nil
}

// Pick returns a live, lightly loaded gateway, or confab.ErrNoGateway.
//
// It uses the power of two random choices: of two distinct live gateways
// drawn at random, the one with fewer connections. Always taking the least
// loaded one would herd: Conns is up to TTL/3 old and every API process
// reads the same numbers, so a burst of rtm.connect calls (a restarted
// gateway's clients coming back) would all land on the one gateway that
// looked emptiest until its next announcement. Two random choices spread
// such a burst while still steering clear of the loaded gateways, and the
// most loaded gateway is never chosen while there are two or more.
func (r *Registry) Pick(ctx context.Context) (confab.Gateway, error) {
	r.notePick()
	live, err := r.Live(ctx)
	if err != nil {
		return confab.Gateway{}, err
	}
	live = r.answering(live)
	switch len(live) {
	case 0:
		return confab.Gateway{}, confab.ErrNoGateway
	case 1:
		return live[0], nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	load := func(gw confab.Gateway) int {
		s := r.sent[gw.ID]
		if s.reported != gw.Conns { // a new report includes what we sent
			s = sentSince{reported: gw.Conns}
			r.sent[gw.ID] = s
		}
		return gw.Conns + s.sent
	}
	i := rand.IntN(len(live))
	j := rand.IntN(len(live) - 1)
	if j >= i {
		j++
	}
	if load(live[j]) < load(live[i]) {
		i = j
	}
	s := r.sent[live[i].ID]
	s.sent++
	r.sent[live[i].ID] = s
	return live[i], nil
}

// A herd is herdPicks picks within herdWindow: 500 a second, far above
// what clients connecting in the ordinary way ask of one process, and what
// the clients of a gateway that went ask within their first milliseconds
// (every one of them calls rtm.connect within a second or so).
const (
	herdWindow = 100 * time.Millisecond
	herdPicks  = 50
)

// notePick counts a pick and signals herd when the picks make one.
func (r *Registry) notePick() {
	now := r.now()
	r.mu.Lock()
	if now.Sub(r.herdFrom) > herdWindow {
		r.herdFrom, r.herdPicks = now, 0
	}
	r.herdPicks++
	herd := r.herdPicks == herdPicks
	r.mu.Unlock()
	if herd {
		select {
		case r.herd <- struct{}{}:
		default:
		}
	}
}

// Watch probes the gateways (Probe) every interval, and at once when the
// picks come in a herd, until ctx ends; onErr (if not nil) gets a probe's
// error. A gateway killed drops every client it held, and they all come
// back through rtm.connect: probed only at the next tick, a killed gateway
// was handed to 1,000–1,200 of its 9,500 clients (connection refused) in a
// storm, since the tick was up to 500 ms away. The herd is the sign that a
// gateway went, so Watch looks then.
func (r *Registry) Watch(ctx context.Context, interval time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error), onErr func(error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-r.herd:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*interval)
		if err := r.Probe(pctx, dial); err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		cancel()
	}
}

// Probe dials every live gateway's address once and notes those that
// refused the connection: their process is gone (the port of a killed
// gateway refuses at once), though their entry stays live until it expires,
// up to TTL later. Until a later Probe finds them answering, Pick passes
// them over while another gateway is live: without this, a gateway killed
// in a storm had a third of its clients' next attempts sent back to it
// (connection refused) for the seconds its entry lived. A dial that fails
// otherwise (a timeout: a loaded or unreachable host) proves nothing and
// is not noted; the entry's expiry still covers those.
func (r *Registry) Probe(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error)) error {
	live, err := r.Live(ctx)
	if err != nil {
		return err
	}
	// In parallel: one host that does not answer holds up no other probe.
	refused := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, gw := range live {
		addr, ok := dialAddr(gw.URL)
		if !ok {
			continue
		}
		wg.Go(func() {
			c, err := dial(ctx, "tcp", addr)
			if err == nil {
				c.Close()
			} else if errors.Is(err, syscall.ECONNREFUSED) {
				mu.Lock()
				refused[gw.ID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.mu.Lock()
	r.refused = refused
	r.mu.Unlock()
	return nil
}

// answering is live without the gateways the latest Probe found refusing,
// unless that would leave none.
func (r *Registry) answering(live []confab.Gateway) []confab.Gateway {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.refused) == 0 {
		return live
	}
	out := make([]confab.Gateway, 0, len(live))
	for _, gw := range live {
		if !r.refused[gw.ID] {
			out = append(out, gw)
		}
	}
	if len(out) == 0 {
		return live
	}
	return out
}

// dialAddr is the host:port a gateway's WebSocket URL is served on.
func dialAddr(wsURL string) (string, bool) {
	u, err := url.Parse(wsURL)
	if err != nil || u.Hostname() == "" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"ws": "80", "http": "80", "wss": "443", "https": "443"}[u.Scheme]
	}
	if port == "" {
		return "", false
	}
	return net.JoinHostPort(u.Hostname(), port), true
}
