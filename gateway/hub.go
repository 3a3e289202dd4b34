package gateway

import (
	"bytes"
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
}

type hubShard struct {
	busMu  sync.Mutex   // held across bus Subscribe/Unsubscribe of this shard's topics
	mu     sync.RWMutex // guards topics and every *topic in it
	topics map[string]*topic
	_      [64]byte // keep neighbouring shards' locks off one cache line
}

// topic is one topic's local subscribers. Guarded by its shard's mu.
type topic struct {
	name  string
	conns []*conn
	// index gives a conn's position in conns once the topic is large, so
	// that removing one of 10,000 members does not scan them all.
	index map[*conn]int
	// subscribed is whether the bus subscription is in place; changed only
	// with the shard's busMu held.
	subscribed bool
}

const indexMin = 64

func newHub(shards int, bus Bus, log *slog.Logger) *hub {
	h := &hub{shards: make([]hubShard, shards), bus: bus, log: log}
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

func (t *topic) find(c *conn) int {
	if t.index != nil {
		if i, ok := t.index[c]; ok {
			return i
		}
		return -1
	}
	return slices.Index(t.conns, c)
}

func (t *topic) push(c *conn) {
	t.conns = append(t.conns, c)
	switch {
	case t.index != nil:
		t.index[c] = len(t.conns) - 1
	case len(t.conns) > indexMin:
		t.index = make(map[*conn]int, len(t.conns))
		for i, x := range t.conns {
			t.index[x] = i
		}
	}
}

func (t *topic) del(i int) {
	c, last := t.conns[i], len(t.conns)-1
	moved := t.conns[last]
	t.conns[i], t.conns[last] = moved, nil
	t.conns = t.conns[:last]
	if t.index != nil {
		delete(t.index, c)
		if i != last {
			t.index[moved] = i
		}
		if len(t.conns) < indexMin/2 {
			t.index = nil
		}
	}
	if cap(t.conns) > 64 && len(t.conns) < cap(t.conns)/4 {
		t.conns = slices.Clip(slices.Clone(t.conns))
	}
}

// dirty reports whether the bus subscription disagrees with the local set.
func (t *topic) dirty() bool { return (len(t.conns) > 0) != t.subscribed }

// add registers c for name. It returns the topic's interned name (share it
// rather than keep a copy per connection), whether c was newly added, and
// whether the topic needs a reconcile.
func (h *hub) add(c *conn, name string) (interned string, added, dirty bool) {
	s := h.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.topics[name]
	if t == nil {
		t = &topic{name: name}
		s.topics[name] = t
	}
	if t.find(c) >= 0 {
		return t.name, false, t.dirty()
	}
	t.push(c)
	return t.name, true, t.dirty()
}

// remove unregisters c from name. It reports whether c was registered and
// whether the topic needs a reconcile.
func (h *hub) remove(c *conn, name string) (removed, dirty bool) {
	s := h.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.topics[name]
	if t == nil {
		return false, false
	}
	i := t.find(c)
	if i < 0 {
		return false, t.dirty()
	}
	t.del(i)
	if len(t.conns) == 0 && !t.subscribed {
		delete(s.topics, name)
		return true, false
	}
	return true, t.dirty()
}

// members returns a copy of name's local subscribers.
func (h *hub) members(name string) []*conn {
	s := h.shard(name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.topics[name]; t != nil {
		return slices.Clone(t.conns)
	}
	return nil
}

// broadcast enqueues frame to every local subscriber of name and returns
// how many there were. The frame is shared by all of them; when copyFrame is
// set it is copied once first (the caller's buffer is not retained).
func (h *hub) broadcast(name string, frame []byte, pubTime int64, copyFrame bool) int {
	s := h.shard(name)
	s.mu.RLock()
	t := s.topics[name]
	if t == nil || len(t.conns) == 0 {
		s.mu.RUnlock()
		return 0
	}
	if copyFrame {
		frame = bytes.Clone(frame)
	}
	f := outFrame{p: frame, t: pubTime, op: ws.OpText}
	for _, c := range t.conns {
		c.enqueue(f)
	}
	n := len(t.conns)
	s.mu.RUnlock()
	return n
}

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
			if !subscribed && len(t.conns) == 0 {
				delete(s.topics, n)
			}
		}
		s.mu.Unlock()
	}
}
