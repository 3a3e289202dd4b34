package redis_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/confab/confab"
	"github.com/confab/confab/internal/redistest"
	"github.com/confab/confab/pubsub/pubsubtest"
	"github.com/confab/confab/redis"
)

var _ confab.PubSub = (*redis.PubSub)(nil)

// waitTimeout bounds every wait for a delivery or a recovery.
const waitTimeout = 10 * time.Second

// mustOpen opens an instance and closes it when the test ends.
func mustOpen(tb testing.TB, cfg redis.Config) *redis.PubSub {
	tb.Helper()
	ps, err := redis.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("Open(%s) = %v", cfg.Addr, err)
	}
	tb.Cleanup(func() { ps.Close() })
	return ps
}

func TestPubSub(t *testing.T) {
	srv := redistest.Shared(t)
	pubsubtest.Run(t, func(t *testing.T) pubsubtest.Factory {
		prefix := uniquePrefix(t)
		return func(h func(topic string, payload []byte)) confab.PubSub {
			ps, err := redis.Open(context.Background(), redis.Config{Addr: srv.Addr(), Prefix: prefix, Handler: h})
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			return ps
		}
	})
}

// An instance without a handler publishes, refuses to subscribe, and
// closes.
func TestPublishOnly(t *testing.T) {
	ctx := context.Background()
	prefix := uniquePrefix(t)
	got := make(chan string, 1)
	sub := mustOpen(t, redis.Config{Addr: redistest.Shared(t).Addr(), Prefix: prefix, Handler: func(topic string, _ []byte) { got <- topic }})
	if err := sub.Subscribe(ctx, "c.C"); err != nil {
		t.Fatal(err)
	}
	pub, err := redis.Open(ctx, redis.Config{Addr: redistest.Shared(t).Addr(), Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, "c.C", []byte("x")); err != nil {
		t.Fatalf("Publish = %v", err)
	}
	select {
	case topic := <-got:
		if topic != "c.C" {
			t.Fatalf("delivered on %q", topic)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the publication never arrived")
	}
	for name, err := range map[string]error{
		"Subscribe":   pub.Subscribe(ctx, "c.C"),
		"Unsubscribe": pub.Unsubscribe(ctx, "c.C"),
	} {
		if !errors.Is(err, redis.ErrPublishOnly) {
			t.Errorf("%s on a publish-only instance = %v, want ErrPublishOnly", name, err)
		}
	}
	if err := pub.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
}

// inbox is a handler that forwards deliveries to a channel.
type inbox struct {
	t  *testing.T
	ch chan string // "topic payload"
}

func newInbox(t *testing.T) *inbox { return &inbox{t: t, ch: make(chan string, 10000)} }

func (in *inbox) handle(topic string, payload []byte) {
	select {
	case in.ch <- topic + " " + string(payload):
	default:
		in.t.Errorf("inbox full, dropped %s %q", topic, payload)
	}
}

// expect waits for the next delivery and fails unless it is want.
func (in *inbox) expect(want string) {
	in.t.Helper()
	select {
	case got := <-in.ch:
		if got != want {
			in.t.Fatalf("received %q, want %q", got, want)
		}
	case <-time.After(waitTimeout):
		in.t.Fatalf("timed out waiting for %q", want)
	}
}

// publishUntil publishes payload on topic through pub every few milliseconds,
// ignoring errors, until in receives it; deliveries of earlier attempts that
// arrive late are drained. It is for waiting out a reconnection, whose end a
// test cannot observe otherwise.
func (in *inbox) publishUntil(pub *redis.PubSub, topic, payload string) {
	in.t.Helper()
	want := topic + " " + payload
	deadline := time.After(waitTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		lastErr = pub.Publish(ctx, topic, []byte(payload))
		cancel()
		select {
		case got := <-in.ch:
			if got != want {
				in.t.Fatalf("received %q, want %q", got, want)
			}
			// Drain duplicates of earlier attempts.
			for {
				select {
				case got := <-in.ch:
					if got != want {
						in.t.Fatalf("received %q, want %q", got, want)
					}
				default:
					return
				}
			}
		case <-deadline:
			in.t.Fatalf("%q not received within %v (last publish error: %v)", want, waitTimeout, lastErr)
		case <-tick.C:
		}
	}
}

// numSub returns the number of subscribers of a Redis channel.
func numSub(t *testing.T, addr, channel string) int64 {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	m, err := c.PubSubNumSub(context.Background(), channel).Result()
	if err != nil {
		t.Fatalf("PUBSUB NUMSUB %s: %v", channel, err)
	}
	return m[channel]
}

// After Redis restarts, an instance resubscribes its whole set by itself:
// publications reach it again without another Subscribe, and a topic it had
// left stays left.
func TestResubscribeAfterRestart(t *testing.T) {
	srv := redistest.Start(t)
	prefix := uniquePrefix(t)
	in := newInbox(t)
	cfg := redis.Config{Addr: srv.Addr(), Prefix: prefix, MaxBackoff: 50 * time.Millisecond}
	pub := mustOpen(t, cfg)
	cfg.Handler = in.handle
	sub := mustOpen(t, cfg)
	pubsubtest.MustSubscribe(t, sub, "c.R1", "u.R2", "c.gone")
	pubsubtest.MustUnsubscribe(t, sub, "c.gone")
	pubsubtest.MustPublish(t, pub, "c.R1", []byte("before"))
	in.expect("c.R1 before")

	srv.Restart(t)

	in.publishUntil(pub, "c.R1", "after")
	pubsubtest.MustPublish(t, pub, "u.R2", []byte("after"))
	in.expect("u.R2 after")
	if n := numSub(t, srv.Addr(), prefix+"c.gone"); n != 0 {
		t.Errorf("NUMSUB c.gone after restart = %d, want 0", n)
	}
	if n := numSub(t, srv.Addr(), prefix+"u.R2"); n != 1 {
		t.Errorf("NUMSUB u.R2 after restart = %d, want 1", n)
	}
	if st := sub.Stats(); st.Reconnects < 1 {
		t.Errorf("Stats().Reconnects = %d, want at least 1", st.Reconnects)
	}
	// Subscriptions work as before.
	pubsubtest.MustSubscribe(t, sub, "c.R3")
	pubsubtest.MustPublish(t, pub, "c.R3", []byte("new"))
	in.expect("c.R3 new")
}

// While Redis is down, Publish, Subscribe and Unsubscribe fail promptly
// instead of hanging, a failed Subscribe leaves the set as it was, and
// everything works again once Redis is back.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	in := newInbox(t)
	cfg := redis.Config{Addr: srv.Addr(), Prefix: uniquePrefix(t), MaxBackoff: 50 * time.Millisecond}
	pub := mustOpen(t, cfg)
	cfg.Handler = in.handle
	sub := mustOpen(t, cfg)
	pubsubtest.MustSubscribe(t, sub, "c.kept", "c.dropped")

	srv.Stop(t)

	const bound = 2 * time.Second
	for name, call := range map[string]func(ctx context.Context) error{
		"Publish":     func(ctx context.Context) error { return pub.Publish(ctx, "c.kept", []byte("lost")) },
		"Subscribe":   func(ctx context.Context) error { return sub.Subscribe(ctx, "c.failed") },
		"Unsubscribe": func(ctx context.Context) error { return sub.Unsubscribe(ctx, "c.dropped") },
	} {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		start := time.Now()
		err := call(ctx)
		took := time.Since(start)
		cancel()
		if err == nil {
			t.Errorf("%s while Redis is down = nil, want an error", name)
		}
		if took >= bound {
			t.Errorf("%s while Redis is down took %v, want less than %v", name, took, bound)
		}
	}
	if st := pub.Stats(); st.PublishErrors != 1 {
		t.Errorf("Stats().PublishErrors = %d, want 1", st.PublishErrors)
	}

	srv.Restart(t)

	in.publishUntil(pub, "c.kept", "back")
	// The failed Subscribe left nothing behind; the Unsubscribe took effect.
	for _, topic := range []string{"c.failed", "c.dropped"} {
		pubsubtest.MustPublish(t, pub, topic, []byte("unwanted"))
	}
	pubsubtest.MustPublish(t, pub, "c.kept", []byte("marker"))
	in.expect("c.kept marker")
	if n := numSub(t, srv.Addr(), cfg.Prefix+"c.failed"); n != 0 {
		t.Errorf("NUMSUB c.failed = %d, want 0", n)
	}
}

// Open gives up when ctx ends, even against a server that accepts
// connections and never answers.
func TestOpenHonoursContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(func() { l.Close() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				io.Copy(io.Discard, c) // read, never answer, until the client hangs up
				c.Close()
			})
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	ps, err := redis.Open(ctx, redis.Config{Addr: l.Addr().String()})
	if err == nil {
		ps.Close()
		t.Fatal("Open against a silent server = nil, want an error")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Open took %v with a 200ms context", took)
	}
}

// Two prefixes on one server do not see each other's publications, and
// each instance counts only its own traffic.
func TestPrefixesIsolated(t *testing.T) {
	srv := redistest.Shared(t)
	inA, inB := newInbox(t), newInbox(t)
	a := mustOpen(t, redis.Config{Addr: srv.Addr(), Prefix: uniquePrefix(t), Handler: inA.handle})
	b := mustOpen(t, redis.Config{Addr: srv.Addr(), Prefix: uniquePrefix(t), Handler: inB.handle})
	pubsubtest.MustSubscribe(t, a, "c.X")
	pubsubtest.MustSubscribe(t, b, "c.X")
	// Redis queues a PUBLISH to every subscriber before it answers, so
	// a publication of b that leaked to a would arrive before a's own next.
	pubsubtest.MustPublish(t, b, "c.X", []byte("from b"))
	pubsubtest.MustPublish(t, a, "c.X", []byte("from a"))
	pubsubtest.MustPublish(t, b, "c.X", []byte("b again"))
	inA.expect("c.X from a")
	inB.expect("c.X from b")
	inB.expect("c.X b again")
	if st := a.Stats(); st.Published != 1 || st.Received != 1 {
		t.Errorf("a.Stats() = %+v, want 1 published, 1 received", st)
	}
	if st := b.Stats(); st.Published != 2 || st.Received != 2 {
		t.Errorf("b.Stats() = %+v, want 2 published, 2 received", st)
	}
}

// freezer is a TCP proxy to Redis whose existing connections can be frozen:
// they stay open but carry nothing, as after a network partition.
type freezer struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	frozen chan struct{} // guarded by mu; closed to freeze current connections
	wg     sync.WaitGroup
	conns  []net.Conn // guarded by mu
}

func newFreezer(t *testing.T, target string) *freezer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{l: l, target: target, frozen: make(chan struct{})}
	t.Cleanup(f.wg.Wait)
	t.Cleanup(func() {
		l.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	f.wg.Go(f.accept)
	return f
}

func (f *freezer) accept() {
	for {
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", f.target)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		frozen := f.frozen
		f.conns = append(f.conns, c, up)
		f.mu.Unlock()
		for _, pair := range [][2]net.Conn{{c, up}, {up, c}} {
			f.wg.Go(func() { pipe(pair[0], pair[1], frozen) })
		}
	}
}

// pipe copies from src to dst until src fails or frozen is closed; after
// that it reads and drops what comes, keeping the connections open.
func pipe(dst, src net.Conn, frozen <-chan struct{}) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-frozen:
		default:
			if n > 0 {
				dst.Write(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}

// freeze silences every connection made so far; later ones work.
func (f *freezer) freeze() {
	f.mu.Lock()
	close(f.frozen)
	f.frozen = make(chan struct{})
	f.mu.Unlock()
}

// A subscription connection that goes silent without closing (a half-open
// TCP connection) is noticed by the health check and replaced.
func TestSilentConnectionReplaced(t *testing.T) {
	srv := redistest.Shared(t)
	proxy := newFreezer(t, srv.Addr())
	in := newInbox(t)
	prefix := uniquePrefix(t)
	pub := mustOpen(t, redis.Config{Addr: srv.Addr(), Prefix: prefix})
	sub := mustOpen(t, redis.Config{
		Addr:         proxy.l.Addr().String(),
		Prefix:       prefix,
		Handler:      in.handle,
		PingInterval: 50 * time.Millisecond,
		MaxBackoff:   50 * time.Millisecond,
	})
	pubsubtest.MustSubscribe(t, sub, "c.S")
	pubsubtest.MustPublish(t, pub, "c.S", []byte("before"))
	in.expect("c.S before")

	proxy.freeze()

	in.publishUntil(pub, "c.S", "after")
	if st := sub.Stats(); st.Reconnects < 1 {
		t.Errorf("Stats().Reconnects = %d, want at least 1", st.Reconnects)
	}
}

// BenchmarkPublishReceive measures publish-to-receive through a local
// redis-server: "serial" waits for each publication to arrive before the
// next (latency), "parallel" publishes from every core and waits for all
// at the end (throughput; 8 publishing goroutines per core, so that
// publications overlap Redis's round trips).
func BenchmarkPublishReceive(b *testing.B) {
	srv := redistest.Shared(b)
	payload := (&confab.Publication{Frame: []byte(`{"type":"message","channel":"C1","user":"U1","text":"hello","ts":"1700000000.000001"}`)}).Marshal()
	b.Run("serial", func(b *testing.B) {
		prefix := uniquePrefix(b)
		got := make(chan struct{}, 1)
		sub := mustOpen(b, redis.Config{Addr: srv.Addr(), Prefix: prefix, Handler: func(string, []byte) { got <- struct{}{} }})
		pub := mustOpen(b, redis.Config{Addr: srv.Addr(), Prefix: prefix})
		pubsubtest.MustSubscribe(b, sub, "c.C1")
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := pub.Publish(ctx, "c.C1", payload); err != nil {
				b.Fatal(err)
			}
			<-got
		}
	})
	b.Run("parallel", func(b *testing.B) {
		prefix := uniquePrefix(b)
		var received atomic.Int64
		all := make(chan struct{})
		var want atomic.Int64
		want.Store(-1)
		sub := mustOpen(b, redis.Config{Addr: srv.Addr(), Prefix: prefix, Handler: func(string, []byte) {
			if received.Add(1) == want.Load() {
				close(all)
			}
		}})
		pub := mustOpen(b, redis.Config{Addr: srv.Addr(), Prefix: prefix})
		pubsubtest.MustSubscribe(b, sub, "c.C1")
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if err := pub.Publish(ctx, "c.C1", payload); err != nil {
					b.Error(err)
					return
				}
			}
		})
		if want.Store(int64(b.N)); received.Load() < int64(b.N) {
			select {
			case <-all:
			case <-time.After(waitTimeout):
				b.Fatalf("received %d of %d", received.Load(), b.N)
			}
		}
	})
}
