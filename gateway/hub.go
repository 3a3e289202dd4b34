package gateway

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/gobwas/ws"
)

// hub is the gateway's socket membership: which local connections listen to
// which bus topic ("<workspace>.c.<channel>", "<workspace>.u.<user>",
// "<workspace>.p.<user>").
//
// It is a set of shards, not one actor. A topic lives in the shard its FNV-1a
// hash picks; each shard has its own RWMutex, so fanout to different topics
// runs in parallel and a join or leave locks one shard only. Nothing does
// I/O under a shard lock: a broadcast only appends the same []byte to each
// connection's queue, which never blocks.
//
// The bus is subscribed to a topic while it has a local subscriber. Changes
// of the local set (add, remove) are synchronous and cheap; they report the
// topic "dirty" when its local set and its bus subscription disagree, and the
// caller then runs reconcile, which makes the bus agree with the local set.
// All bus calls for a shard's topics run under that shard's busMu, so a
// Subscribe and an Unsubscribe of one topic never race, and a reconcile
// always reads the latest local set: whichever reconcile runs last leaves
// the bus right (cf. centrifuge hub.go and its per-channel subscribe locks).
type hub struct {
	shards []hubShard
	bus    Bus
	log    *slog.Logger
	// ring keeps the frames broadcast last, for SSE streams that resume
	// (ring.go, resume.go).
	ring *ring
	// startFlushes starts the flushes a broadcast needs, all at once
	// (Gateway.startFlushes).
	startFlushes func([]*conn)
}

type hubShard struct {
	busMu  sync.Mutex   // held across bus Subscribe/Unsubscribe of this shard's topics
	mu     sync.RWMutex // guards topics and every *topic in it, and holds
	topics map[string]*topic
	// holds are the shard's topics held subscribed for streams that may
	// resume, in the order their holds end (hub.hold, hub.release).
	holds []hold
	_     [64]byte // keep neighbouring shards' locks off one cache line
}

// topic is one topic's local subscribers. Guarded by its shard's mu.
//
// A member keeps its position in conns (sub.pos), so that removing one of
// 10,000 members needs no search and no index map. Positions are stable: a
// removal leaves a hole (nil) that a later add fills (free), and only a
// compaction — when fewer than a quarter of the slots are in use — moves
// members. A member's position is then stale; remove notices (conns[pos]
// is not the member) and searches once.
type topic struct {
	name  string
	conns []*conn // members, and nil holes
	free  []int32 // the holes in conns
	live  int32   // members: len(conns) - len(free)
	// subscribed is whether the bus subscription is in place; changed only
	// with the shard's busMu held.
	subscribed bool
	// since is the ring position at which the subscription took effect:
	// every publication of the topic since is in the ring (resume.go).
	since uint64
	// held keeps the subscription without a local subscriber until then
	// (unix ns; 0: not held), for a stream that may resume (hold).
	held int64
}

// hold is a topic held subscribed until a time (hub.holds).
type hold struct {
	name  string
	until int64
}

// sub is a connection's membership of a topic: the topic, and where the
// connection is in it (see topic). The topic outlives the membership: it
// is dropped from the hub only once it has no member.
type sub struct {
	t   *topic
	pos int32
}

// compactMin is the size below which a topic's holes are not compacted.
const compactMin = 64

func newHub(shards int, bus Bus, log *slog.Logger, r *ring, startFlushes func([]*conn)) *hub {
	h := &hub{shards: make([]hubShard, shards), bus: bus, log: log, ring: r, startFlushes: startFlushes}
	for i := range h.shards {
		h.shards[i].topics = make(map[string]*topic)
	}
	return h
}

func (h *hub) shardIndex(name string) int {
	// FNV-1a, inlined: hash/fnv would allocate per call.
	var x uint32 = 2166136261
	for i := 0; i < len(name); i++ {
		x ^= uint32(name[i])
		x *= 16777619
	}
	return int(x % uint32(len(h.shards)))
}

func (h *hub) shard(name string) *hubShard { return &h.shards[h.shardIndex(name)] }

// push adds c and returns its position.
func (t *topic) push(c *conn) int32 {
	t.live++
	if n := len(t.free); n > 0 {
		i := t.free[n-1]
		t.free = t.free[:n-1]
		t.conns[i] = c
		return i
	}
	t.conns = append(t.conns, c)
	return int32(len(t.conns) - 1)
}

// del removes c, which was at pos unless a compaction moved it since.
func (t *topic) del(c *conn, pos int32) bool {
	i := int(pos)
	if i >= len(t.conns) || t.conns[i] != c {
		if i = slices.Index(t.conns, c); i < 0 {
			return false
		}
	}
	t.conns[i] = nil
	t.live--
	switch {
	case t.live == 0:
		t.conns, t.free = nil, nil
	case i == len(t.conns)-1:
		t.conns = t.conns[:i]
	case len(t.conns) > compactMin && int(t.live) < len(t.conns)/4:
		t.compact()
	default:
		t.free = append(t.free, int32(i))
	}
	return true
}

// compact drops the holes, moving members: their positions go stale.
func (t *topic) compact() {
	conns := make([]*conn, 0, int(t.live)+int(t.live)/4)
	for _, c := range t.conns {
		if c != nil {
			conns = append(conns, c)
		}
	}
	t.conns, t.free = conns, nil
}

// dirty reports whether the bus subscription disagrees with the local set
// (a held subscription counts as one subscriber).
func (t *topic) dirty() bool { return (t.live > 0 || t.subscribed && t.held != 0) != t.subscribed }

// add registers c for name, unless c is a member already. It returns c's
// membership, whether c was newly added, and whether the topic needs a
// reconcile. The caller holds c.subMu (c's memberships, see conn.member).
func (h *hub) add(c *conn, name string) (m sub, added, dirty bool) {
	s := h.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.topics[name]
	if t == nil {
		t = &topic{name: name}
		s.topics[name] = t
	} else if c.member(t) >= 0 {
		return sub{t: t}, false, t.dirty()
	}
	return sub{t: t, pos: t.push(c)}, true, t.dirty()
}

// remove unregisters c from m's topic. It reports whether the topic needs a
// reconcile.
func (h *hub) remove(c *conn, m sub) (dirty bool) {
	t := m.t
	s := h.shard(t.name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !t.del(c, m.pos) {
		return t.dirty()
	}
	if t.live == 0 && !t.subscribed && s.topics[t.name] == t {
		delete(s.topics, t.name)
		return false
	}
	return t.dirty()
}

// dirty reports whether name needs a reconcile.
func (h *hub) dirty(name string) bool {
	s := h.shard(name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.topics[name]
	return t != nil && t.dirty()
}

// members returns a copy of name's local subscribers.
func (h *hub) members(name string) []*conn {
	s := h.shard(name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.topics[name]
	if t == nil {
		return nil
	}
	out := make([]*conn, 0, t.live)
	for _, c := range t.conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// broadcast enqueues payload to every local subscriber of name and returns
// how many there were. It is encoded once, into a wireFrame shared by all
// of them (the caller's buffer is not retained).
//
// The connections that need a flush started are started together once the
// shard is unlocked: one lock of the writers' queue per broadcast, and the
// shard's readers lock held only for the enqueues. Registrations wait for
// that lock (add), and in a reconnect storm thousands of them queue on the
// topic of a big channel.
func (h *hub) broadcast(name string, payload []byte, pubTime int64) int {
	s := h.shard(name)
	s.mu.RLock()
	t := s.topics[name]
	if t == nil || t.live == 0 && t.held == 0 {
		s.mu.RUnlock()
		return 0
	}
	f := newWireFrame(ws.OpText, payload, pubTime)
	h.ring.begin(name, f)
	starts := startsPool.Get().(*[]*conn)
	for _, c := range t.conns {
		if c != nil {
			if _, start := c.queue(f); start {
				*starts = append(*starts, c)
			}
		}
	}
	n := int(t.live)
	s.mu.RUnlock()
	h.ring.end(f.pos)
	if len(*starts) > 0 {
		h.startFlushes(*starts)
	}
	clear(*starts)
	*starts = (*starts)[:0]
	startsPool.Put(starts)
	return n
}

// startsPool holds broadcast's lists of connections to start flushing.
var startsPool = sync.Pool{New: func() any { return new([]*conn) }}

// reconcile makes the bus subscriptions of names agree with their local
// subscribers, subscribing (in one call) the topics that have local
// subscribers and no subscription, and unsubscribing those that have a
// subscription and none left. When it returns nil, every name that had a
// local subscriber when it was called is subscribed. A failed Unsubscribe is
// logged and the topic treated as unsubscribed; stray publications for it
// find no subscriber and are dropped.
func (h *hub) reconcile(ctx context.Context, names []string) error {
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)

	// Lock the busMu of every shard involved, in ascending order.
	idx := make([]int, len(names))
	for i, n := range names {
		idx[i] = h.shardIndex(n)
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		h.shards[i].busMu.Lock()
	}
	defer func() {
		for _, i := range slices.Backward(idx) {
			h.shards[i].busMu.Unlock()
		}
	}()

	var sub, unsub []string
	for {
		sub, unsub = sub[:0], unsub[:0]
		for _, n := range names {
			s := h.shard(n)
			s.mu.RLock()
			if t := s.topics[n]; t != nil && t.dirty() {
				if t.subscribed {
					unsub = append(unsub, n)
				} else {
					sub = append(sub, n)
				}
			}
			s.mu.RUnlock()
		}
		if len(sub) == 0 && len(unsub) == 0 {
			return nil
		}
		if len(sub) > 0 {
			if err := h.bus.Subscribe(ctx, sub...); err != nil {
				return err
			}
			h.mark(sub, true)
		}
		if len(unsub) > 0 {
			if err := h.bus.Unsubscribe(ctx, unsub...); err != nil {
				h.log.Warn("bus unsubscribe failed", "topics", strings.Join(unsub, ","), "err", err)
			}
			h.mark(unsub, false)
		}
		// Local sets may have changed during the bus calls; go round again
		// until they agree (the changers' own reconciles wait on busMu).
	}
}

// mark records a finished Subscribe (true) or Unsubscribe (false) and drops
// topics left empty and unsubscribed. Callers hold the shards' busMu.
func (h *hub) mark(names []string, subscribed bool) {
	for _, n := range names {
		s := h.shard(n)
		s.mu.Lock()
		t := s.topics[n]
		if t == nil && subscribed {
			// Every subscriber left while Subscribe ran (remove dropped
			// the topic): keep a record of the subscription so that the
			// next round unsubscribes it.
			t = &topic{name: n}
			s.topics[n] = t
		}
		if t != nil {
			t.subscribed = subscribed
			if subscribed {
				t.since = h.ring.mark()
			} else {
				t.held = 0
			}
			if !subscribed && t.live == 0 {
				delete(s.topics, n)
			}
		}
		s.mu.Unlock()
	}
}

// hold keeps names subscribed without a local subscriber until until (unix
// ns), those that are subscribed now: a stream that had them may resume
// (resume.go). Call it before the last subscriber leaves.
func (h *hub) hold(names []string, until int64) {
	for _, n := range names {
		s := h.shard(n)
		s.mu.Lock()
		if t := s.topics[n]; t != nil && t.subscribed {
			t.held = max(t.held, until)
			s.holds = append(s.holds, hold{n, until})
		}
		s.mu.Unlock()
	}
}

// release ends the holds that are over at now and returns the topics that
// now need a reconcile.
func (h *hub) release(now int64) (dirty []string) {
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		j := 0
		for ; j < len(s.holds) && s.holds[j].until <= now; j++ {
			n := s.holds[j].name
			if t := s.topics[n]; t != nil && t.held != 0 && t.held <= now {
				t.held = 0
				if t.dirty() {
					dirty = append(dirty, n)
				}
			}
		}
		s.holds = slices.Delete(s.holds, 0, j)
		s.mu.Unlock()
	}
	return dirty
}

// A connection's memberships (conn.subs). The caller holds c.subMu.

// member returns the index of t in c's memberships, or -1.
func (c *conn) member(t *topic) int {
	for i, m := range c.subs {
		if m.t == t {
			return i
		}
	}
	return -1
}

// memberNamed returns the index of the topic name in c's memberships, or
// -1.
func (c *conn) memberNamed(name string) int {
	for i, m := range c.subs {
		if m.t.name == name {
			return i
		}
	}
	return -1
}

// subscribe registers c in the hub for name, unless it is already. It
// reports whether c was added, and whether the topic needs a reconcile.
func (c *conn) subscribe(name string) (added, dirty bool) {
	m, added, dirty := c.g.hub.add(c, name)
	if added {
		c.subs = append(c.subs, m)
	}
	return added, dirty
}

// unsubscribe unregisters c from its i-th topic; it reports whether the
// topic needs a reconcile.
func (c *conn) unsubscribe(i int) (dirty bool) {
	m := c.subs[i]
	c.subs = slices.Delete(c.subs, i, i+1)
	return c.g.hub.remove(c, m)
}

// topicNames returns the names of c's topics.
func (c *conn) topicNames() []string {
	names := make([]string, len(c.subs))
	for i, m := range c.subs {
		names[i] = m.t.name
	}
	return names
}
