package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab"
	goredis "github.com/redis/go-redis/v9"
)

// ErrClosed is returned by every method of a PubSub after Close.
var ErrClosed = fmt.Errorf("redis pubsub: %w", confab.ErrBusClosed)

// ErrPublishOnly is returned by Subscribe and Unsubscribe of an instance
// opened without a Handler.
var ErrPublishOnly = errors.New("redis pubsub: publish-only instance")

// errConnLost fails the subscription waits that were pending when the
// subscription connection failed; Subscribe and Unsubscribe then try again.
var errConnLost = errors.New("redis pubsub: subscription connection lost")

// Defaults of Config.
const (
	DefaultPingInterval = 5 * time.Second
	DefaultMaxBackoff   = 2 * time.Second
	DefaultDialTimeout  = 2 * time.Second
)

// minBackoff is the first wait after the subscription connection fails.
const minBackoff = 10 * time.Millisecond

// syncPrefix starts the PING tokens of Subscribe and Unsubscribe, which
// the health-check PINGs (no payload) never match.
const syncPrefix = "confab-sync:"

// Config configures one instance.
type Config struct {
	// Addr is Redis's "host:port". Required.
	Addr string
	// Username and Password authenticate, if Redis requires it.
	Username, Password string
	// Prefix is prepended to every topic to make the Redis channel name,
	// e.g. "confab:pocket1:". Instances see each other only if they use the
	// same prefix on the same server.
	Prefix string
	// Handler receives every publication on the instance's topics, from one
	// goroutine, in order; see the package documentation. It must be fast
	// and must not block. nil makes a publish-only instance, which holds
	// no subscription connection and no goroutine, and whose Subscribe and
	// Unsubscribe return ErrPublishOnly.
	Handler func(topic string, payload []byte)
	// Logger defaults to a logger that discards everything.
	Logger *slog.Logger
	// PingInterval is how often the subscription connection is pinged; one
	// silent for three intervals is replaced. Default DefaultPingInterval.
	PingInterval time.Duration
	// MaxBackoff caps the wait between attempts to get the subscription
	// connection back. Default DefaultMaxBackoff.
	MaxBackoff time.Duration
	// DialTimeout bounds one connection attempt. Subscribe and Unsubscribe
	// may wait for an attempt in progress (go-redis dials the subscription
	// connection under its lock), so keep it short. Default
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// PoolSize is the number of pooled connections used by Publish; 0 means
	// go-redis's default (10 per GOMAXPROCS).
	PoolSize int
}

// Stats counts an instance's traffic since Open.
type Stats struct {
	Published     uint64 // publications Redis accepted
	PublishErrors uint64 // publications that failed (Redis down, ctx done)
	Received      uint64 // publications handed to the handler
	Reconnects    uint64 // times the subscription connection came back after failing
}

// PubSub is one instance: a set of subscribed topics, the handler that
// receives their publications, and its connections to Redis.
type PubSub struct {
	// immutable after construction
	client       *goredis.Client
	rps          *goredis.PubSub // safe for concurrent use, but read only by receiveLoop
	prefix       string
	handler      func(topic string, payload []byte)
	log          *slog.Logger
	pingInterval time.Duration
	maxBackoff   time.Duration
	ctx          context.Context // cancelled by Close; aborts dials of the goroutines
	cancel       context.CancelFunc
	done         chan struct{} // closed by Close
	wg           sync.WaitGroup

	closed atomic.Bool // set once, by Close

	mu     sync.Mutex          // serialises Subscribe and Unsubscribe
	topics map[string]struct{} // guarded by mu; the subscribed set, unprefixed
	// numTopics is len(topics), for logging without mu.
	numTopics atomic.Int64

	pendMu  sync.Mutex
	pending map[string]chan error // guarded by pendMu; sync token → waiter
	token   atomic.Uint64

	published     atomic.Uint64
	publishErrors atomic.Uint64
	received      atomic.Uint64
	reconnects    atomic.Uint64
}

// Open connects to Redis, checks that it answers, and starts the instance's
// receive goroutine. It returns an error if Redis cannot be reached before
// ctx ends; later outages are survived (see the package documentation).
func Open(ctx context.Context, cfg Config) (*PubSub, error) {
	if cfg.Addr == "" {
		return nil, errors.New("redis pubsub: no address")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &PubSub{
		prefix:       cfg.Prefix,
		handler:      cfg.Handler,
		log:          log,
		pingInterval: cfg.PingInterval,
		maxBackoff:   cfg.MaxBackoff,
		done:         make(chan struct{}),
		topics:       make(map[string]struct{}),
		pending:      make(map[string]chan error),
	}
	if p.pingInterval <= 0 {
		p.pingInterval = DefaultPingInterval
	}
	if p.maxBackoff <= 0 {
		p.maxBackoff = DefaultMaxBackoff
	}
	dialTimeout := cfg.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = DefaultDialTimeout
	}
	p.client = goredis.NewClient(&goredis.Options{
		Addr:     cfg.Addr,
		Username: cfg.Username,
		Password: cfg.Password,
		PoolSize: cfg.PoolSize,
		// RESP2: plain pub/sub replies, no push-notification machinery.
		Protocol:        2,
		DisableIdentity: true,
		// A retried PUBLISH may be delivered twice, and retries and dial
		// retries would make Publish slow to fail while Redis is down.
		MaxRetries:            -1,
		DialerRetries:         1,
		DialTimeout:           dialTimeout,
		ContextTimeoutEnabled: true,
	})
	if err := p.client.Ping(ctx).Err(); err != nil {
		p.client.Close()
		return nil, fmt.Errorf("redis pubsub: connect %s: %w", cfg.Addr, err)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if p.handler == nil {
		return p, nil
	}
	p.rps = p.client.Subscribe(ctx)
	p.wg.Add(2)
	go p.receiveLoop()
	go p.pingLoop()
	// Open the subscription connection now, and prove the loop reads it.
	if err := p.sync(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("redis pubsub: connect %s: %w", cfg.Addr, err)
	}
	return p, nil
}

// Publish sends payload to every instance subscribed to topic on the same
// server and prefix, and returns once Redis has accepted it. It does not
// retry: while Redis is down it fails as soon as the connection attempt does
// (or ctx ends). It returns ErrClosed after Close.
func (p *PubSub) Publish(ctx context.Context, topic string, payload []byte) error {
	if p.closed.Load() {
		return fmt.Errorf("publish %s: %w", topic, ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	if err := p.client.Publish(ctx, p.prefix+topic, payload).Err(); err != nil {
		p.publishErrors.Add(1)
		return fmt.Errorf("publish %s: %w", topic, p.closedOr(err))
	}
	p.published.Add(1)
	return nil
}

// Subscribe adds topics to the instance's set; topics it has already are
// ignored. It returns once Redis has processed the subscription, so that
// every later publication on the topics reaches the handler. On error
// (Redis down, ctx done) the set is left as it was. It returns ErrClosed
// after Close.
func (p *PubSub) Subscribe(ctx context.Context, topics ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return fmt.Errorf("subscribe: %w", ErrClosed)
	}
	if p.rps == nil {
		return fmt.Errorf("subscribe: %w", ErrPublishOnly)
	}
	var added, channels []string
	for _, t := range topics {
		if _, ok := p.topics[t]; ok {
			continue
		}
		p.topics[t] = struct{}{}
		added = append(added, t)
		channels = append(channels, p.prefix+t)
	}
	if len(added) == 0 {
		return nil
	}
	p.numTopics.Store(int64(len(p.topics)))
	err := p.rps.Subscribe(ctx, channels...)
	if err == nil {
		err = p.sync(ctx)
	}
	if err != nil {
		// Undo, so that no later reconnect subscribes them again. go-redis
		// drops them from its own set even if the command cannot be sent.
		for _, t := range added {
			delete(p.topics, t)
		}
		p.numTopics.Store(int64(len(p.topics)))
		if !p.closed.Load() {
			uctx, cancel := context.WithTimeout(context.Background(), p.pingInterval)
			p.rps.Unsubscribe(uctx, channels...)
			cancel()
		}
		return fmt.Errorf("subscribe %s: %w", strings.Join(added, ","), p.closedOr(err))
	}
	return nil
}

// Unsubscribe removes topics from the instance's set; topics it does not
// have are ignored. It returns once Redis has processed the unsubscription:
// a publication already in flight may still be delivered, but none made
// after it returns. Even on error the topics leave the set, and Redis drops
// them at the latest when the connection is replaced. It returns ErrClosed
// after Close.
func (p *PubSub) Unsubscribe(ctx context.Context, topics ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return fmt.Errorf("unsubscribe: %w", ErrClosed)
	}
	if p.rps == nil {
		return fmt.Errorf("unsubscribe: %w", ErrPublishOnly)
	}
	var removed, channels []string
	for _, t := range topics {
		if _, ok := p.topics[t]; !ok {
			continue
		}
		delete(p.topics, t)
		removed = append(removed, t)
		channels = append(channels, p.prefix+t)
	}
	if len(channels) == 0 {
		return nil // never call go-redis with none: that unsubscribes all
	}
	p.numTopics.Store(int64(len(p.topics)))
	err := p.rps.Unsubscribe(ctx, channels...)
	if err == nil {
		err = p.sync(ctx)
	}
	if err != nil {
		return fmt.Errorf("unsubscribe %s: %w", strings.Join(removed, ","), p.closedOr(err))
	}
	return nil
}

// Close stops the receive and ping goroutines and waits for them, then
// closes the connections; after it returns the handler is never called
// again. Later calls of any method, Close included, return ErrClosed. It
// must not be called from the handler.
func (p *PubSub) Close() error {
	if !p.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	close(p.done)
	p.cancel()
	var err error
	if p.rps != nil {
		err = p.rps.Close() // ends the receive goroutine's read
	}
	p.wg.Wait()
	p.failPending(ErrClosed)
	if cerr := p.client.Close(); err == nil {
		err = cerr
	}
	p.log.Debug("redis pubsub closed", "published", p.published.Load(), "received", p.received.Load())
	if err != nil {
		return fmt.Errorf("redis pubsub: close: %w", err)
	}
	return nil
}

// Stats returns the instance's counters.
func (p *PubSub) Stats() Stats {
	return Stats{
		Published:     p.published.Load(),
		PublishErrors: p.publishErrors.Load(),
		Received:      p.received.Load(),
		Reconnects:    p.reconnects.Load(),
	}
}

// closedOr returns ErrClosed if the instance was closed (go-redis then
// reports its own "client is closed"), and err otherwise.
func (p *PubSub) closedOr(err error) error {
	if p.closed.Load() {
		return ErrClosed
	}
	return err
}

// sync returns once Redis has processed every command sent so far on the
// subscription connection: it sends PING with a unique token and waits for
// receiveLoop to read the PONG. If the connection fails meanwhile, go-redis
// resubscribes a new one to the whole set, and sync pings again.
func (p *PubSub) sync(ctx context.Context) error {
	for {
		tok := syncPrefix + strconv.FormatUint(p.token.Add(1), 10)
		ch := make(chan error, 1)
		p.pendMu.Lock()
		p.pending[tok] = ch
		p.pendMu.Unlock()
		if err := p.rps.Ping(ctx, tok); err != nil {
			p.forget(tok)
			return err
		}
		select {
		case err := <-ch:
			if errors.Is(err, errConnLost) {
				continue
			}
			return err
		case <-ctx.Done():
			p.forget(tok)
			return ctx.Err()
		case <-p.done:
			return ErrClosed
		}
	}
}

// forget drops a sync waiter that gave up.
func (p *PubSub) forget(tok string) {
	p.pendMu.Lock()
	delete(p.pending, tok)
	p.pendMu.Unlock()
}

// failPending wakes every sync waiter with err.
func (p *PubSub) failPending(err error) {
	p.pendMu.Lock()
	for tok, ch := range p.pending {
		ch <- err // buffered, and each waiter is woken once
		delete(p.pending, tok)
	}
	p.pendMu.Unlock()
}

// pong wakes the sync waiter of tok, if any.
func (p *PubSub) pong(tok string) {
	if !strings.HasPrefix(tok, syncPrefix) {
		return // a health-check PONG
	}
	p.pendMu.Lock()
	ch, ok := p.pending[tok]
	delete(p.pending, tok)
	p.pendMu.Unlock()
	if ok {
		ch <- nil
	}
}

// receiveLoop reads the subscription connection and delivers publications
// until Close. Reading reconnects: when a read fails, go-redis replaces the
// connection (or leaves none if Redis is down) and the next read dials and
// resubscribes the whole set.
//
// Every read has a deadline of at least two ping intervals, with a PING sent
// every interval, so a read only times out on a dead connection, which
// go-redis then replaces. To spare a context and a timer per message, one
// context serves the reads until its deadline is less than two intervals
// away.
func (p *PubSub) receiveLoop() {
	defer p.wg.Done()
	var (
		rd      readDeadline
		backoff time.Duration
		lostAt  time.Time // zero while the connection works
	)
	defer rd.stop()
	for {
		msg, err := p.rps.Receive(rd.context(p.ctx, p.pingInterval))
		if p.closed.Load() {
			return
		}
		if err != nil {
			p.failPending(errConnLost)
			if lostAt.IsZero() {
				lostAt = time.Now()
				p.log.Warn("redis pubsub connection lost; reconnecting", "err", err)
			}
			backoff = min(max(2*backoff, minBackoff), p.maxBackoff)
			wait := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
			select {
			case <-p.done:
				wait.Stop()
				return
			case <-wait.C:
			}
			rd.stop() // a fresh read deadline for the new connection
			continue
		}
		if !lostAt.IsZero() {
			p.reconnects.Add(1)
			// Not p.mu: a Subscribe holding it may be waiting for this
			// goroutine to read its PONG.
			p.log.Info("redis pubsub reconnected and resubscribed", "topics", p.numTopics.Load(), "down", time.Since(lostAt).Round(time.Millisecond))
			lostAt, backoff = time.Time{}, 0
		}
		switch m := msg.(type) {
		case *goredis.Message:
			topic, ok := strings.CutPrefix(m.Channel, p.prefix)
			if !ok {
				continue
			}
			p.received.Add(1)
			if p.handler != nil {
				p.handler(topic, []byte(m.Payload))
			}
		case *goredis.Pong:
			p.pong(m.Payload)
		case *goredis.Subscription:
			// Confirmations: of Subscribe and Unsubscribe (which sync waits
			// for through its PONG instead), and of resubscriptions.
		}
	}
}

// readDeadline is the context of receiveLoop's reads: one context with a
// deadline serves until the deadline is less than two ping intervals away.
type readDeadline struct {
	ctx    context.Context
	cancel context.CancelFunc
	at     time.Time
}

// context returns a context whose deadline is two to three ping intervals
// away.
func (r *readDeadline) context(parent context.Context, interval time.Duration) context.Context {
	if now := time.Now(); r.ctx == nil || r.at.Sub(now) < 2*interval {
		r.stop()
		r.at = now.Add(3 * interval)
		r.ctx, r.cancel = context.WithDeadline(parent, r.at)
	}
	return r.ctx
}

// stop releases the current context; the next call of context makes one.
func (r *readDeadline) stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.ctx, r.cancel = nil, nil
}

// pingLoop pings the subscription connection every interval, so that
// receiveLoop's reads see traffic on a live connection and time out on a
// dead one.
func (p *PubSub) pingLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(p.ctx, p.pingInterval)
			p.rps.Ping(ctx) // a failure shows in receiveLoop's reads
			cancel()
		}
	}
}
