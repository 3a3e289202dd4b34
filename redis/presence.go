package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/confab/confab"
	goredis "github.com/redis/go-redis/v9"
)

// DefaultPresenceTTL is how long a gateway's hold on a user's presence
// lasts without a heartbeat.
const DefaultPresenceTTL = 15 * time.Second

// Batch sizes of Heartbeat and Reap: users per script call, index entries
// per scan.
const (
	heartbeatBatch = 256
	reapBatch      = 512
	activeBatch    = 256 // users per script call of Active
)

// errNotGateway is returned by Connected and Disconnected of a Presence that
// belongs to no gateway (an API process's).
var errNotGateway = errors.New("pocket presence: Connected and Disconnected need a GatewayID")

// PresenceConfig configures a Presence.
type PresenceConfig struct {
	// Client is the pocket's Redis. Required.
	Client *goredis.Client
	// Prefix starts every key, e.g. "confab:a:".
	Prefix string
	// GatewayID names the gateway whose connections this instance counts;
	// "" in an API process, which only calls Get and SetAway.
	GatewayID string
	// TTL is how long a gateway's hold on a user lasts without a heartbeat;
	// gateways heartbeat every TTL/3. 0: DefaultPresenceTTL.
	TTL time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Presence is confab.Presence held in a pocket's Redis, shared by every
// gateway and API process of the pocket. A user is "active" while some
// gateway holds a live connection of theirs and they have not set
// themselves away.
//
// Each gateway counts its own connections per user in memory; Redis holds,
// per user, which gateways have them, each with an expiry that the gateway
// refreshes (Heartbeat). A killed gateway's hold expires after TTL; Reap,
// run by any gateway, then finds the users left with no live gateway.
//
//	<prefix>presence:<ws>:<user>  zset: gateway id → expiry (unix ms)
//	<prefix>away:<ws>:<user>      "1" while the user has set themselves away
//	<prefix>presence-expiry       zset: "<ws>|<user>|<gateway>" → expiry,
//	                              every hold of every user, for Reap
//
// Every update runs as one Lua script, so that concurrent updates from
// several gateways see each other whole: the first connection anywhere
// flips the user to active and the last disconnection anywhere flips them
// to away. Within one gateway, a user's updates are serialised, so that
// Redis sees them in the order the gateway counted them.
//
// "changed" is relative to what was last announced: an expired hold that
// nobody has reaped yet still counts as active "before" an update (its
// expiry announced nothing), and the update removes it, so the flip is
// reported exactly once, by that update or by Reap. Get reports the truth:
// an expired hold does not count.
//
// Presence is safe for concurrent use.
type Presence struct {
	// immutable after construction
	client    *goredis.Client
	prefix    string
	indexKey  string
	gatewayID string
	ttl       time.Duration
	now       func() time.Time

	mu    sync.Mutex
	users map[string]*localUser // guarded by mu; users with connections here or an update under way
}

// localUser is one user as seen by this gateway.
type localUser struct {
	// immutable after construction
	ws, id string
	// turn serialises the user's Redis updates from this gateway: held
	// from the local count change until Redis has applied it.
	turn  sync.Mutex
	conns int // guarded by Presence.mu: live connections on this gateway
	refs  int // guarded by Presence.mu: goroutines holding or waiting for turn
}

// NewPresence returns a Presence.
func NewPresence(cfg PresenceConfig) *Presence {
	p := &Presence{
		client:    cfg.Client,
		prefix:    cfg.Prefix,
		indexKey:  cfg.Prefix + "presence-expiry",
		gatewayID: cfg.GatewayID,
		ttl:       cfg.TTL,
		now:       cfg.Now,
		users:     map[string]*localUser{},
	}
	if p.ttl <= 0 {
		p.ttl = DefaultPresenceTTL
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p
}

// TTL returns how long a hold lasts without a heartbeat; heartbeat every
// TTL/3.
func (p *Presence) TTL() time.Duration { return p.ttl }

func (p *Presence) userKey(ws, id string) string { return p.prefix + "presence:" + ws + ":" + id }
func (p *Presence) awayKey(ws, id string) string { return p.prefix + "away:" + ws + ":" + id }

// indexBase starts the index members of a user; the gateway id follows.
// Ids of workspaces and users never contain "|"; a gateway id may.
func indexBase(ws, id string) string { return ws + "|" + id + "|" }

// updateScript applies one update to a user and returns {active, changed}.
//
// KEYS: user's holds, user's away flag, index.
// ARGV: op (connect, disconnect, away, auto, reap, get), gateway id,
// now (unix ms), expiry (unix ms), index base.
var updateScript = goredis.NewScript(`
local holds, away, index = KEYS[1], KEYS[2], KEYS[3]
local op, gw, now, exp, base = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if op == 'get' then
  local active = redis.call('EXISTS', away) == 0 and redis.call('ZCOUNT', holds, '(' .. now, '+inf') > 0
  return {active and 1 or 0, 0}
end
local manual = redis.call('EXISTS', away) == 1
local before = (not manual) and redis.call('ZCARD', holds) > 0
if op == 'reap' then
  local s = redis.call('ZSCORE', index, base .. gw)
  if s and tonumber(s) <= tonumber(now) then redis.call('ZREM', index, base .. gw) end
end
local dead = redis.call('ZRANGEBYSCORE', holds, '-inf', now)
for _, g in ipairs(dead) do redis.call('ZREM', index, base .. g) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', holds, '-inf', now) end
if op == 'connect' then
  redis.call('ZADD', holds, exp, gw)
  redis.call('ZADD', index, exp, base .. gw)
elseif op == 'disconnect' then
  redis.call('ZREM', holds, gw)
  redis.call('ZREM', index, base .. gw)
elseif op == 'away' then
  redis.call('SET', away, '1')
  manual = true
elseif op == 'auto' then
  redis.call('DEL', away)
  manual = false
end
local after = (not manual) and redis.call('ZCARD', holds) > 0
return {after and 1 or 0, (before ~= after) and 1 or 0}
`)

// refreshScript extends this gateway's holds and returns the (1-based)
// positions of the users it had no hold on any more: those the caller must
// restore.
//
// KEYS: index, then each user's holds. ARGV: gateway id, expiry, then each
// user's index member.
var refreshScript = goredis.NewScript(`
local lost = {}
for i = 2, #KEYS do
  if redis.call('ZSCORE', KEYS[i], ARGV[1]) then
    redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i + 1])
  else
    lost[#lost + 1] = i - 1
  end
end
return lost
`)

// update runs updateScript for one user.
func (p *Presence) update(ctx context.Context, op, ws, id, gw string) (string, bool, error) {
	now := p.now()
	res, err := updateScript.Run(ctx, p.client, p.updateKeys(ws, id), p.updateArgs(op, ws, gw, id, now)...).Int64Slice()
	if err != nil {
		return "", false, fmt.Errorf("presence %s of %s: %w", op, id, err)
	}
	return parseUpdate(res)
}

func (p *Presence) updateKeys(ws, id string) []string {
	return []string{p.userKey(ws, id), p.awayKey(ws, id), p.indexKey}
}

func (p *Presence) updateArgs(op, ws, gw, id string, now time.Time) []any {
	return []any{op, gw, now.UnixMilli(), now.Add(p.ttl).UnixMilli(), indexBase(ws, id)}
}

func parseUpdate(res []int64) (string, bool, error) {
	if len(res) != 2 {
		return "", false, fmt.Errorf("presence: unexpected reply %v", res)
	}
	presence := confab.PresenceAway
	if res[0] == 1 {
		presence = confab.PresenceActive
	}
	return presence, res[1] == 1, nil
}

// acquire returns the local state of a user with its turn held, creating
// it if need be. Release it with release.
func (p *Presence) acquire(ws, id string) *localUser {
	key := ws + "\x00" + id
	p.mu.Lock()
	lu := p.users[key]
	if lu == nil {
		lu = &localUser{ws: ws, id: id}
		p.users[key] = lu
	}
	lu.refs++
	p.mu.Unlock()
	lu.turn.Lock()
	return lu
}

// release gives up the turn taken by acquire and forgets the user when no
// connection or update of theirs is left.
func (p *Presence) release(lu *localUser) {
	lu.turn.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if lu.refs--; lu.refs == 0 && lu.conns == 0 {
		delete(p.users, lu.ws+"\x00"+lu.id)
	}
}

// Connected counts a live connection of u on this gateway. It refreshes the
// gateway's hold on u even when u had connections here already, so that a
// hold lost while Redis was unreachable comes back.
func (p *Presence) Connected(ctx context.Context, u *confab.User) (string, bool, error) {
	if p.gatewayID == "" {
		return "", false, errNotGateway
	}
	lu := p.acquire(u.WorkspaceID, u.ID)
	defer p.release(lu)
	p.mu.Lock()
	lu.conns++
	p.mu.Unlock()
	// On error the count stays: the connection is live, and Heartbeat
	// restores the hold.
	return p.update(ctx, "connect", u.WorkspaceID, u.ID, p.gatewayID)
}

// Disconnected counts a closed connection of u on this gateway; the last
// one gives up the gateway's hold on u.
func (p *Presence) Disconnected(ctx context.Context, u *confab.User) (string, bool, error) {
	if p.gatewayID == "" {
		return "", false, errNotGateway
	}
	lu := p.acquire(u.WorkspaceID, u.ID)
	defer p.release(lu)
	p.mu.Lock()
	had := lu.conns
	if lu.conns > 0 {
		lu.conns--
	}
	left := lu.conns
	p.mu.Unlock()
	if had == 0 || left > 0 {
		// Nothing changes in Redis: u still has connections here, or never
		// had one (then other gateways' holds are not ours to give up).
		presence, err := p.Get(ctx, u)
		return presence, false, err
	}
	// On error the hold stays in Redis; without heartbeats it expires and
	// Reap announces the flip.
	return p.update(ctx, "disconnect", u.WorkspaceID, u.ID, p.gatewayID)
}

// SetAway sets or clears u's manual away flag.
func (p *Presence) SetAway(ctx context.Context, u *confab.User, away bool) (string, bool, error) {
	op := "auto"
	if away {
		op = "away"
	}
	return p.update(ctx, op, u.WorkspaceID, u.ID, p.gatewayID)
}

// Get returns u's presence: active while some gateway's hold on u is live
// and u has not set themselves away.
func (p *Presence) Get(ctx context.Context, u *confab.User) (string, error) {
	presence, _, err := p.update(ctx, "get", u.WorkspaceID, u.ID, p.gatewayID)
	return presence, err
}

// activeScript returns the (1-based) positions of the users that are
// active, as the 'get' of updateScript tells one.
//
// KEYS: each user's holds and away flag, in pairs. ARGV: now (unix ms).
var activeScript = goredis.NewScript(`
local out = {}
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i+1]) == 0 and redis.call('ZCOUNT', KEYS[i], '(' .. ARGV[1], '+inf') > 0 then
    out[#out+1] = (i + 1) / 2
  end
end
return out
`)

// Active returns the users of ids (of workspace ws) who are active: one
// script call per activeBatch users, pipelined. It reports the truth, as
// Get does: an expired hold does not count.
func (p *Presence) Active(ctx context.Context, ws string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	now := p.now().UnixMilli()
	var calls []scriptCall
	for start := 0; start < len(ids); start += activeBatch {
		batch := ids[start:min(start+activeBatch, len(ids))]
		keys := make([]string, 0, 2*len(batch))
		for _, id := range batch {
			keys = append(keys, p.userKey(ws, id), p.awayKey(ws, id))
		}
		calls = append(calls, scriptCall{keys, []any{now}})
	}
	cmds, err := runPipelined(ctx, p.client, activeScript, calls)
	if err != nil {
		return nil, fmt.Errorf("presence of %d users: %w", len(ids), err)
	}
	var out []string
	for b, cmd := range cmds {
		positions, err := cmd.Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("presence of %d users: %w", len(ids), err)
		}
		for _, pos := range positions {
			i := b*activeBatch + int(pos) - 1
			if i < 0 || i >= len(ids) {
				return nil, fmt.Errorf("presence: unexpected reply %v", positions)
			}
			out = append(out, ids[i])
		}
	}
	return out, nil
}

// Heartbeat extends this gateway's hold on each of its users (pipelined,
// in batches); the gateway calls it every TTL/3. A hold found missing (it
// expired and was reaped while Redis was unreachable) is restored, and the
// users whose presence that flips back to active are returned, for the
// caller to announce. A Presence without a GatewayID does nothing.
func (p *Presence) Heartbeat(ctx context.Context) ([]confab.PresenceChange, error) {
	if p.gatewayID == "" {
		return nil, nil
	}
	type ref struct{ ws, id string }
	p.mu.Lock()
	users := make([]ref, 0, len(p.users))
	for _, lu := range p.users {
		if lu.conns > 0 {
			users = append(users, ref{lu.ws, lu.id})
		}
	}
	p.mu.Unlock()
	if len(users) == 0 {
		return nil, nil
	}

	exp := p.now().Add(p.ttl).UnixMilli()
	var calls []scriptCall
	for start := 0; start < len(users); start += heartbeatBatch {
		batch := users[start:min(start+heartbeatBatch, len(users))]
		keys := make([]string, 0, len(batch)+1)
		args := make([]any, 0, len(batch)+2)
		keys = append(keys, p.indexKey)
		args = append(args, p.gatewayID, exp)
		for _, u := range batch {
			keys = append(keys, p.userKey(u.ws, u.id))
			args = append(args, indexBase(u.ws, u.id)+p.gatewayID)
		}
		calls = append(calls, scriptCall{keys, args})
	}
	cmds, err := runPipelined(ctx, p.client, refreshScript, calls)
	if err != nil {
		return nil, fmt.Errorf("presence heartbeat: %w", err)
	}
	var lost []ref
	for b, cmd := range cmds {
		positions, err := cmd.Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("presence heartbeat: %w", err)
		}
		for _, pos := range positions {
			i := b*heartbeatBatch + int(pos) - 1
			if i < 0 || i >= len(users) {
				return nil, fmt.Errorf("presence heartbeat: unexpected reply %v", positions)
			}
			lost = append(lost, users[i])
		}
	}

	var changes []confab.PresenceChange
	for _, u := range lost {
		change, err := p.restore(ctx, u.ws, u.id)
		if err != nil {
			return changes, err
		}
		if change != nil {
			changes = append(changes, *change)
		}
	}
	return changes, nil
}

// restore gives this gateway its hold on a user back if the user still has
// connections here, and returns the flip if that made one.
func (p *Presence) restore(ctx context.Context, ws, id string) (*confab.PresenceChange, error) {
	lu := p.acquire(ws, id)
	defer p.release(lu)
	p.mu.Lock()
	conns := lu.conns
	p.mu.Unlock()
	if conns == 0 {
		return nil, nil // disconnected since the heartbeat began
	}
	presence, changed, err := p.update(ctx, "connect", ws, id, p.gatewayID)
	if err != nil || !changed {
		return nil, err
	}
	return &confab.PresenceChange{WorkspaceID: ws, UserID: id, Presence: presence}, nil
}

// Reap removes the expired holds of every gateway (a killed gateway stops
// heartbeating) and returns the users whose presence that flips to away,
// for the caller to announce. Any process may run it, as often as every
// TTL/3: each flip is reported by exactly one Reap (or by the update that
// met the expired hold first).
func (p *Presence) Reap(ctx context.Context) ([]confab.PresenceChange, error) {
	var changes []confab.PresenceChange
	now := p.now()
	for {
		members, err := p.client.ZRangeArgs(ctx, goredis.ZRangeArgs{
			Key: p.indexKey, Start: "-inf", Stop: strconv.FormatInt(now.UnixMilli(), 10),
			ByScore: true, Count: reapBatch,
		}).Result()
		if err != nil {
			return changes, fmt.Errorf("presence reap: %w", err)
		}
		if len(members) == 0 {
			return changes, nil
		}
		type hold struct{ ws, id, gw string }
		holds := make([]hold, 0, len(members))
		calls := make([]scriptCall, 0, len(members))
		var malformed []any
		for _, m := range members {
			parts := strings.SplitN(m, "|", 3)
			if len(parts) != 3 {
				malformed = append(malformed, m)
				continue
			}
			h := hold{parts[0], parts[1], parts[2]}
			holds = append(holds, h)
			calls = append(calls, scriptCall{p.updateKeys(h.ws, h.id), p.updateArgs("reap", h.ws, h.gw, h.id, now)})
		}
		if len(malformed) > 0 {
			if err := p.client.ZRem(ctx, p.indexKey, malformed...).Err(); err != nil {
				return changes, fmt.Errorf("presence reap: %w", err)
			}
		}
		cmds, err := runPipelined(ctx, p.client, updateScript, calls)
		if err != nil {
			return changes, fmt.Errorf("presence reap: %w", err)
		}
		for i, cmd := range cmds {
			res, err := cmd.Int64Slice()
			if err != nil {
				return changes, fmt.Errorf("presence reap: %w", err)
			}
			presence, changed, err := parseUpdate(res)
			if err != nil {
				return changes, err
			}
			if changed {
				changes = append(changes, confab.PresenceChange{WorkspaceID: holds[i].ws, UserID: holds[i].id, Presence: presence})
			}
		}
		if len(members) < reapBatch {
			return changes, nil
		}
	}
}

// scriptCall is one run of a script in a pipeline.
type scriptCall struct {
	keys []string
	args []any
}

// runPipelined runs a script once per call in one pipeline, by EVALSHA;
// if Redis has lost the script (a restart), it loads it and runs the
// pipeline again. Every script here is safe to run twice.
func runPipelined(ctx context.Context, c *goredis.Client, s *goredis.Script, calls []scriptCall) ([]*goredis.Cmd, error) {
	for attempt := 0; ; attempt++ {
		pipe := c.Pipeline()
		cmds := make([]*goredis.Cmd, len(calls))
		for i, call := range calls {
			cmds[i] = s.EvalSha(ctx, pipe, call.keys, call.args...)
		}
		_, err := pipe.Exec(ctx)
		if err == nil {
			return cmds, nil
		}
		if attempt > 0 || !goredis.HasErrorPrefix(err, "NOSCRIPT") {
			return nil, err
		}
		if err := s.Load(ctx, c).Err(); err != nil {
			return nil, err
		}
	}
}
