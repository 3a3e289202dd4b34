package memory

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/confab/confab"
)

// ErrClosed is returned by every method of a PubSub after Close. It wraps
// confab.ErrBusClosed.
var ErrClosed = fmt.Errorf("memory pubsub: %w", confab.ErrBusClosed)

// numShards is the number of independently locked parts of the broker's
// topic map. Publications on topics of different shards never touch the same
// lock; 64 is plenty for the number of cores a single process runs on.
const numShards = 64

// Broker is the in-process server that instances share: a publication on any
// instance reaches the subscribers of every instance opened on the same
// Broker. The zero value is not usable; call NewBroker.
type Broker struct {
	shards [numShards]shard
}

// shard holds the subscribers of the topics that hash to it.
type shard struct {
	mu sync.RWMutex
	// subs maps a topic to its subscribed instances. guarded by mu.
	// Copy-on-write: a slice stored here is never modified afterwards, so a
	// publisher may range over it after releasing mu.
	subs map[string][]*PubSub
}

// NewBroker returns an empty broker.
func NewBroker() *Broker {
	b := &Broker{}
	for i := range b.shards {
		b.shards[i].subs = make(map[string][]*PubSub)
	}
	return b
}

// Config configures one instance opened by Broker.Open.
type Config struct {
	// Handler receives every publication on the instance's topics; see the
	// package documentation for what it may do. It must be fast and must not
	// block. nil makes a publish-only instance: deliveries are dropped.
	Handler func(topic string, payload []byte)
	// Logger defaults to a logger that discards everything.
	Logger *slog.Logger
}

// PubSub is one instance on a Broker: a set of subscribed topics and the
// handler that receives their publications.
type PubSub struct {
	// immutable after construction
	broker  *Broker
	handler func(topic string, payload []byte)
	log     *slog.Logger

	// closed is set once, by Close, while holding both mu and deliverMu.
	closed atomic.Bool

	mu     sync.Mutex
	topics map[string]struct{} // guarded by mu; mirrors the broker's shards

	// deliverMu is held for reading around each handler call, and for
	// writing by Close, so that Close returns only once no handler call is in
	// progress and none can start.
	deliverMu sync.RWMutex
}

// Open returns a new instance on b with no topics.
func (b *Broker) Open(cfg Config) *PubSub {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PubSub{
		broker:  b,
		handler: cfg.Handler,
		log:     log,
		topics:  make(map[string]struct{}),
	}
}

// Publish delivers payload to the handler of every instance subscribed to
// topic, this one included, and returns when they all have returned (see the
// package documentation). It returns ErrClosed after Close, and ctx's error if
// ctx is done before the publication starts.
func (p *PubSub) Publish(ctx context.Context, topic string, payload []byte) error {
	if p.closed.Load() {
		return fmt.Errorf("publish %s: %w", topic, ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	p.broker.publish(topic, payload)
	return nil
}

// Subscribe adds topics to this instance's set; topics it has already are
// ignored. When it returns, every later Publish on them reaches the handler.
// It returns ErrClosed after Close.
func (p *PubSub) Subscribe(ctx context.Context, topics ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return fmt.Errorf("subscribe: %w", ErrClosed)
	}
	for _, t := range topics {
		if _, ok := p.topics[t]; ok {
			continue
		}
		p.topics[t] = struct{}{}
		p.broker.add(t, p)
	}
	return nil
}

// Unsubscribe removes topics from this instance's set; topics it does not
// have are ignored. A Publish already in progress may still deliver once. It
// returns ErrClosed after Close.
func (p *PubSub) Unsubscribe(ctx context.Context, topics ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return fmt.Errorf("unsubscribe: %w", ErrClosed)
	}
	for _, t := range topics {
		if _, ok := p.topics[t]; !ok {
			continue
		}
		delete(p.topics, t)
		p.broker.remove(t, p)
	}
	return nil
}

// Close unsubscribes from every topic and waits for handler calls in progress
// to return; after it returns the handler is never called again. Later calls
// of any method, Close included, return ErrClosed. It must not be called from
// the handler.
func (p *PubSub) Close() error {
	p.mu.Lock()
	if p.closed.Load() {
		p.mu.Unlock()
		return ErrClosed
	}
	p.deliverMu.Lock()
	p.closed.Store(true)
	p.deliverMu.Unlock()
	n := len(p.topics)
	for t := range p.topics {
		p.broker.remove(t, p)
	}
	p.topics = nil
	p.mu.Unlock()
	p.log.Debug("pubsub closed", "topics", n)
	return nil
}

// deliver calls the handler unless the instance is closed.
func (p *PubSub) deliver(topic string, payload []byte) {
	p.deliverMu.RLock()
	defer p.deliverMu.RUnlock()
	if p.handler != nil && !p.closed.Load() {
		p.handler(topic, payload)
	}
}

// shard returns the shard of topic (FNV-1a, inlined so it does not allocate).
func (b *Broker) shard(topic string) *shard {
	h := uint32(2166136261)
	for i := 0; i < len(topic); i++ {
		h ^= uint32(topic[i])
		h *= 16777619
	}
	return &b.shards[h%numShards]
}

// publish delivers payload to topic's subscribers with no lock held.
func (b *Broker) publish(topic string, payload []byte) {
	s := b.shard(topic)
	s.mu.RLock()
	subs := s.subs[topic]
	s.mu.RUnlock()
	if len(subs) == 0 {
		return
	}
	// One copy shared by all subscribers: the publisher may reuse its buffer
	// and the subscribers may keep theirs.
	data := bytes.Clone(payload)
	if data == nil {
		data = []byte{}
	}
	for _, sub := range subs {
		sub.deliver(topic, data)
	}
}

// add subscribes p to topic. The caller holds p.mu and knows p is not
// subscribed yet.
func (b *Broker) add(topic string, p *PubSub) {
	s := b.shard(topic)
	s.mu.Lock()
	old := s.subs[topic]
	subs := make([]*PubSub, len(old), len(old)+1)
	copy(subs, old)
	s.subs[topic] = append(subs, p)
	s.mu.Unlock()
}

// remove unsubscribes p from topic. The caller holds p.mu.
func (b *Broker) remove(topic string, p *PubSub) {
	s := b.shard(topic)
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.subs[topic]
	i := slices.Index(old, p)
	switch {
	case i < 0:
	case len(old) == 1:
		delete(s.subs, topic)
	default:
		subs := make([]*PubSub, 0, len(old)-1)
		subs = append(subs, old[:i]...)
		s.subs[topic] = append(subs, old[i+1:]...)
	}
}
