package pubsubtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/confab/confab"
)

// Factory makes an instance with the given handler. Every instance one
// Factory makes shares one backend.
type Factory func(handler func(topic string, payload []byte)) confab.PubSub

// Run runs every conformance case as a parallel subtest. open is called once
// per case and returns a Factory whose instances share a backend of their
// own (see the package documentation).
func Run(t *testing.T, open func(t *testing.T) Factory) {
	cases := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"DeliverToSubscribers", testDeliverToSubscribers},
		{"OnlySubscribedTopics", testOnlySubscribedTopics},
		{"Unsubscribe", testUnsubscribe},
		{"OrderWithinTopic", testOrderWithinTopic},
		{"ManyTopicsConcurrently", testManyTopicsConcurrently},
		{"SubscribeIdempotent", testSubscribeIdempotent},
		{"TwoInstances", testTwoInstances},
		{"Close", testClose},
		{"CloseDuringPublish", testCloseDuringPublish},
		{"PayloadIntact", testPayloadIntact},
		{"ConcurrentSubscribeUnsubscribePublish", testConcurrentOps},
		{"CanceledContext", testCanceledContext},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newEnv(t, open(t)))
		})
	}
}

// Every subscribed instance receives each publication once, in order; the
// publisher need not be subscribed.
func testDeliverToSubscribers(t *testing.T, e *env) {
	const topic = "c.C1"
	pub := e.open()
	subs := make([]*node, 5)
	for i := range subs {
		subs[i] = e.open()
		MustSubscribe(t, subs[i].ps, topic)
	}
	for _, p := range []string{"one", "two", "three"} {
		MustPublish(t, pub.ps, topic, []byte(p))
	}
	e.flush(pub, subs...)
	for _, s := range subs {
		expect(t, s.name, topic, s.received(topic), "one", "two", "three")
	}
	expect(t, pub.name, topic, pub.received(topic))
}

// An instance receives its topics and no others: not a neighbour, not a
// prefix, not a pattern.
func testOnlySubscribedTopics(t *testing.T, e *env) {
	pub, sub := e.open(), e.open()
	MustSubscribe(t, sub.ps, "c.C1", "u.U1")
	for _, topic := range []string{"c.C2", "u.U2", "p.U1", "c.C1x", "c.C", "c.*", "*", "c.?1", "u.U1 ", "", "c.C1", "u.U1"} {
		MustPublish(t, pub.ps, topic, []byte("to "+topic))
	}
	e.flush(pub, sub)
	got, _ := sub.rec.snapshot()
	var topics []string
	for _, d := range got {
		if d.topic != sub.marker {
			topics = append(topics, d.topic)
		}
	}
	if !slices.Equal(topics, []string{"c.C1", "u.U1"}) {
		t.Fatalf("received on topics %q, want [c.C1 u.U1]", topics)
	}
	expect(t, sub.name, "c.C1", sub.received("c.C1"), "to c.C1")
	expect(t, sub.name, "u.U1", sub.received("u.U1"), "to u.U1")
}

// Unsubscribe stops delivery of its topics only, ignores missing topics, and
// a topic can be subscribed again.
func testUnsubscribe(t *testing.T, e *env) {
	const a, b = "c.A", "c.B"
	pub, sub := e.open(), e.open()
	MustUnsubscribe(t, sub.ps, "c.never") // nothing subscribed: no error
	MustSubscribe(t, sub.ps, a, b)
	MustPublish(t, pub.ps, a, []byte("a1"))
	sub.waitCount(t, a, 1)

	MustUnsubscribe(t, sub.ps, a, "c.never")
	MustPublish(t, pub.ps, a, []byte("a2"))
	MustPublish(t, pub.ps, b, []byte("b1"))
	e.flush(pub, sub)
	expect(t, sub.name, a, sub.received(a), "a1")
	expect(t, sub.name, b, sub.received(b), "b1")

	MustSubscribe(t, sub.ps, a)
	MustPublish(t, pub.ps, a, []byte("a3"))
	e.flush(pub, sub)
	expect(t, sub.name, a, sub.received(a), "a1", "a3")

	MustUnsubscribe(t, sub.ps, a, b)
	MustPublish(t, pub.ps, a, []byte("a4"))
	MustPublish(t, pub.ps, b, []byte("b2"))
	e.flush(pub, sub)
	expect(t, sub.name, a, sub.received(a), "a1", "a3")
	expect(t, sub.name, b, sub.received(b), "b1")
}

// 1,000 publications on one topic arrive in publish order at every
// subscriber, the publisher's own instance included.
func testOrderWithinTopic(t *testing.T, e *env) {
	const topic, count = "c.ordered", 1000
	pub, s1, s2 := e.open(), e.open(), e.open()
	for _, n := range []*node{pub, s1, s2} {
		MustSubscribe(t, n.ps, topic)
	}
	for i := range count {
		MustPublish(t, pub.ps, topic, binary.BigEndian.AppendUint32(nil, uint32(i)))
	}
	for _, n := range []*node{pub, s1, s2} {
		got := n.waitCount(t, topic, count)
		checkSequence(t, n.name, topic, got, count)
	}
}

// checkSequence fails unless got is exactly the 4-byte indexes 0..count-1.
func checkSequence(t *testing.T, who, topic string, got [][]byte, count int) {
	t.Helper()
	if len(got) != count {
		t.Fatalf("%s received %d publications on %q, want %d", who, len(got), topic, count)
	}
	for i, p := range got {
		if len(p) != 4 || binary.BigEndian.Uint32(p) != uint32(i) {
			t.Fatalf("%s: publication %d on %q is %x, want index %d", who, i, topic, p, i)
		}
	}
}

// Publications on many topics, published concurrently through two
// instances, all arrive, each topic in its own publish order.
func testManyTopicsConcurrently(t *testing.T, e *env) {
	const topics, perTopic = 32, 200
	pubs := []*node{e.open(), e.open()}
	subs := []*node{e.open(), e.open()}
	names := make([]string, topics)
	for i := range names {
		names[i] = "c.T" + strconv.Itoa(i)
	}
	for _, s := range subs {
		MustSubscribe(t, s.ps, names...)
	}
	var wg sync.WaitGroup
	for i, topic := range names {
		pub := pubs[i%len(pubs)]
		wg.Go(func() {
			for j := range perTopic {
				if err := pub.ps.Publish(context.Background(), topic, binary.BigEndian.AppendUint32(nil, uint32(j))); err != nil {
					t.Errorf("Publish(%q) = %v", topic, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, s := range subs {
		s.waitUntil(t, fmt.Sprintf("%d publications", topics*perTopic), func(d []delivery) bool {
			return len(d) >= topics*perTopic
		})
		e.flush(pubs[0], s)
		e.flush(pubs[1], s)
		for _, topic := range names {
			checkSequence(t, s.name, topic, s.received(topic), perTopic)
		}
	}
}

// Subscribing twice to a topic delivers once, and one Unsubscribe removes it:
// an instance has a set of topics, not a count.
func testSubscribeIdempotent(t *testing.T, e *env) {
	const topic = "c.twice"
	pub, sub := e.open(), e.open()
	MustSubscribe(t, sub.ps, topic)
	MustSubscribe(t, sub.ps, topic, topic)
	MustPublish(t, pub.ps, topic, []byte("x"))
	e.flush(pub, sub)
	expect(t, sub.name, topic, sub.received(topic), "x")

	MustUnsubscribe(t, sub.ps, topic)
	MustPublish(t, pub.ps, topic, []byte("y"))
	e.flush(pub, sub)
	expect(t, sub.name, topic, sub.received(topic), "x")
}

// Two instances see each other's publications, on a shared topic and on
// each other's own topics, and their own on the shared one.
func testTwoInstances(t *testing.T, e *env) {
	const shared = "c.shared"
	a, b := e.open(), e.open()
	MustSubscribe(t, a.ps, shared, "u.A")
	MustSubscribe(t, b.ps, shared, "u.B")
	MustPublish(t, a.ps, shared, []byte("from a"))
	MustPublish(t, b.ps, shared, []byte("from b"))
	MustPublish(t, a.ps, "u.B", []byte("a to b"))
	MustPublish(t, b.ps, "u.A", []byte("b to a"))
	for _, n := range []*node{a, b} {
		got := n.waitCount(t, shared, 2)
		slices.SortFunc(got, bytes.Compare)
		expect(t, n.name, shared, got, "from a", "from b")
	}
	expect(t, a.name, "u.A", a.waitCount(t, "u.A", 1), "b to a")
	expect(t, b.name, "u.B", b.waitCount(t, "u.B", 1), "a to b")
	e.flush(a, a, b)
	e.flush(b, a, b)
	expect(t, a.name, "u.B", a.received("u.B"))
	expect(t, b.name, "u.A", b.received("u.A"))
}

// After Close every method fails, the closed instance receives nothing, and
// the other instances go on as before.
func testClose(t *testing.T, e *env) {
	const topic = "c.closing"
	pub, sub, other := e.open(), e.open(), e.open()
	MustSubscribe(t, sub.ps, topic)
	MustSubscribe(t, other.ps, topic)
	MustPublish(t, pub.ps, topic, []byte("before"))
	sub.waitCount(t, topic, 1)

	if err := sub.ps.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	before, _ := sub.rec.snapshot()
	ctx := context.Background()
	for name, err := range map[string]error{
		"Publish":     sub.ps.Publish(ctx, topic, []byte("x")),
		"Subscribe":   sub.ps.Subscribe(ctx, "c.new"),
		"Unsubscribe": sub.ps.Unsubscribe(ctx, topic),
		"Close":       sub.ps.Close(),
	} {
		if !errors.Is(err, confab.ErrBusClosed) {
			t.Errorf("%s after Close = %v, want an error wrapping confab.ErrBusClosed", name, err)
		}
	}

	MustPublish(t, pub.ps, topic, []byte("after"))
	MustPublish(t, pub.ps, sub.marker, []byte("after"))
	e.flush(pub, other)
	expect(t, other.name, topic, other.received(topic), "before", "after")
	if after, _ := sub.rec.snapshot(); len(after) != len(before) {
		t.Fatalf("closed instance received %s after Close, had %d before", summary(after), len(before))
	}
}

// Close stops delivery even while publications are arriving: once it has
// returned, the handler is not called again. Several publishers keep
// publishing to many subscribers while they are closed one by one.
func testCloseDuringPublish(t *testing.T, e *env) {
	const topic, publishers = "c.busy", 4
	subs := make([]*node, 16)
	for i := range subs {
		subs[i] = e.open()
		MustSubscribe(t, subs[i].ps, topic)
	}
	pubs := make([]*node, publishers)
	for i := range pubs {
		pubs[i] = e.open()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	halt := func() { once.Do(func() { close(stop) }); wg.Wait() }
	t.Cleanup(halt) // before the instances are closed, even if the test fails
	for _, pub := range pubs {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := pub.ps.Publish(context.Background(), topic, []byte(strconv.Itoa(i))); err != nil {
					t.Errorf("Publish = %v", err)
					return
				}
			}
		})
	}
	counts := make([]int, len(subs))
	for i, s := range subs {
		s.waitCount(t, topic, 10) // publications are flowing
		if err := s.ps.Close(); err != nil {
			t.Fatalf("Close() = %v", err)
		}
		got, _ := s.rec.snapshot()
		counts[i] = len(got)
	}
	halt()
	for _, pub := range pubs {
		e.flush(pub, pubs[0])
	}
	for i, s := range subs {
		if got, _ := s.rec.snapshot(); len(got) != counts[i] {
			t.Errorf("%s received %d deliveries after Close returned", s.name, len(got)-counts[i])
		}
	}
}

// Payloads arrive byte for byte, whatever they hold; the publisher may reuse
// its buffer once Publish returned and the handler may keep what it got.
func testPayloadIntact(t *testing.T, e *env) {
	const topic = "c.bytes"
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	pubn := confab.Publication{Op: confab.OpJoin, Channel: "C0123", Time: -1, Frame: []byte("{\"type\":\"hello\"}\x00\xff")}
	payloads := [][]byte{
		all,
		make([]byte, 16), // zeros only
		{},
		[]byte("\x00leading and trailing\x00"),
		[]byte("\xff\xfe invalid utf-8 \xc3\x28"),
		[]byte("\r\n$3\r\nresp-like\r\n*1\r\n"),
		pubn.Marshal(),
		big,
	}
	want := make([][]byte, len(payloads))
	for i, p := range payloads {
		want[i] = bytes.Clone(p)
	}
	pub, sub := e.open(), e.open()
	MustSubscribe(t, pub.ps, topic)
	MustSubscribe(t, sub.ps, topic)
	for _, p := range payloads {
		MustPublish(t, pub.ps, topic, p)
	}
	for _, n := range []*node{pub, sub} {
		n.waitCount(t, topic, len(payloads))
	}
	for _, p := range payloads {
		for i := range p {
			p[i] ^= 0xAA // the publisher reuses its buffers
		}
	}
	for _, n := range []*node{pub, sub} {
		got := n.received(topic)
		if len(got) != len(want) {
			t.Fatalf("%s received %d payloads, want %d", n.name, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("%s: payload %d arrived as %d bytes %.40x, want %d bytes %.40x", n.name, i, len(got[i]), got[i], len(want[i]), want[i])
			}
		}
		p, err := confab.UnmarshalPublication(got[6])
		if err != nil || p.Op != pubn.Op || p.Channel != pubn.Channel || p.Time != pubn.Time || !bytes.Equal(p.Frame, pubn.Frame) {
			t.Errorf("%s: UnmarshalPublication = %+v, %v, want %+v", n.name, p, err, pubn)
		}
	}
}

// Subscribe, Unsubscribe and Publish run concurrently on several instances
// without races, and a stable subscription keeps receiving, in order,
// throughout.
func testConcurrentOps(t *testing.T, e *env) {
	const workers, rounds, stableCount = 4, 200, 500
	const stable = "c.stable"
	churn := []string{"c.X0", "c.X1", "c.X2", "c.X3", "u.X4", "p.X5"}
	nodes := make([]*node, workers)
	for i := range nodes {
		nodes[i] = e.open()
		MustSubscribe(t, nodes[i].ps, stable)
	}
	pub := e.open()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range stableCount {
			if err := pub.ps.Publish(context.Background(), stable, binary.BigEndian.AppendUint32(nil, uint32(i))); err != nil {
				t.Errorf("Publish(%q) = %v", stable, err)
				return
			}
		}
	})
	for w, n := range nodes {
		wg.Go(func() {
			ctx := context.Background()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range rounds {
				topic := churn[r.IntN(len(churn))]
				var err error
				switch r.IntN(3) {
				case 0:
					err = n.ps.Subscribe(ctx, topic, churn[r.IntN(len(churn))])
				case 1:
					err = n.ps.Unsubscribe(ctx, topic)
				default:
					err = n.ps.Publish(ctx, topic, []byte("churn "+topic))
				}
				if err != nil {
					t.Errorf("%s on %q: %v", n.name, topic, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, n := range nodes {
		checkSequence(t, n.name, stable, n.waitCount(t, stable, stableCount), stableCount)
		e.flush(pub, n)
		got, _ := n.rec.snapshot()
		for _, d := range got {
			if slices.Contains(churn, d.topic) && string(d.payload) != "churn "+d.topic {
				t.Fatalf("%s received %q on %q", n.name, d.payload, d.topic)
			}
		}
	}
}

// Methods called with a context that is already done fail with its error.
func testCanceledContext(t *testing.T, e *env) {
	n := e.open()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.ps.Publish(ctx, "c.C", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish(canceled) = %v, want context.Canceled", err)
	}
	if err := n.ps.Subscribe(ctx, "c.C"); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe(canceled) = %v, want context.Canceled", err)
	}
	if err := n.ps.Unsubscribe(ctx, "c.C"); !errors.Is(err, context.Canceled) {
		t.Errorf("Unsubscribe(canceled) = %v, want context.Canceled", err)
	}
	// The instance still works afterwards.
	MustSubscribe(t, n.ps, "c.C")
	MustPublish(t, n.ps, "c.C", []byte("ok"))
	expect(t, n.name, "c.C", n.waitCount(t, "c.C", 1), "ok")
}
