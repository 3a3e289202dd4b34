package pubsubtest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
)

// waitTimeout bounds every wait for a delivery. It is generous: it only
// decides how long a failing test takes to report.
const waitTimeout = 10 * time.Second

// delivery is one handler call.
type delivery struct {
	topic   string
	payload []byte // retained as given: the contract allows it
}

// recorder is a handler that records every delivery and wakes waiters.
type recorder struct {
	mu      sync.Mutex
	got     []delivery    // guarded by mu
	changed chan struct{} // guarded by mu; closed and replaced on each delivery
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

// handle is the instance's handler: it never blocks.
func (r *recorder) handle(topic string, payload []byte) {
	r.mu.Lock()
	r.got = append(r.got, delivery{topic, payload})
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// snapshot returns the deliveries so far and a channel closed at the next one.
func (r *recorder) snapshot() ([]delivery, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[:len(r.got):len(r.got)], r.changed
}

// node is one instance of the bus under test and what its handler received.
type node struct {
	name   string
	ps     confab.PubSub
	rec    *recorder
	marker string // topic this node subscribes to for flush
}

// env is one case: a factory and the instances made with it.
type env struct {
	t       *testing.T
	f       Factory
	n       int
	markers atomic.Int64
}

func newEnv(t *testing.T, f Factory) *env { return &env{t: t, f: f} }

// open makes an instance, subscribed to its marker topic only, and closes it
// when the test ends.
func (e *env) open() *node {
	e.t.Helper()
	e.n++
	n := &node{name: fmt.Sprintf("n%d", e.n), rec: newRecorder()}
	n.marker = "m." + n.name
	n.ps = e.f(n.rec.handle)
	e.t.Cleanup(func() { n.ps.Close() }) // the error of a second Close is expected
	MustSubscribe(e.t, n.ps, n.marker)
	return n
}

// MustSubscribe subscribes ps to topics or fails the test.
func MustSubscribe(tb testing.TB, ps confab.PubSub, topics ...string) {
	tb.Helper()
	if err := ps.Subscribe(context.Background(), topics...); err != nil {
		tb.Fatalf("Subscribe(%q) = %v", topics, err)
	}
}

// MustUnsubscribe unsubscribes ps from topics or fails the test.
func MustUnsubscribe(tb testing.TB, ps confab.PubSub, topics ...string) {
	tb.Helper()
	if err := ps.Unsubscribe(context.Background(), topics...); err != nil {
		tb.Fatalf("Unsubscribe(%q) = %v", topics, err)
	}
}

// MustPublish publishes payload on topic or fails the test.
func MustPublish(tb testing.TB, ps confab.PubSub, topic string, payload []byte) {
	tb.Helper()
	if err := ps.Publish(context.Background(), topic, payload); err != nil {
		tb.Fatalf("Publish(%q) = %v", topic, err)
	}
}

// waitUntil waits until cond holds for n's deliveries and returns them.
func (n *node) waitUntil(t *testing.T, what string, cond func([]delivery) bool) []delivery {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		got, changed := n.rec.snapshot()
		if cond(got) {
			return got
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("%s: timed out after %v waiting for %s; received %s", n.name, waitTimeout, what, summary(got))
		}
	}
}

// waitCount waits until n has received at least count deliveries on topic
// and returns all its deliveries on topic.
func (n *node) waitCount(t *testing.T, topic string, count int) [][]byte {
	t.Helper()
	got := n.waitUntil(t, fmt.Sprintf("%d deliveries on %q", count, topic), func(d []delivery) bool {
		return len(filter(d, topic)) >= count
	})
	return filter(got, topic)
}

// flush makes sure that everything from published before it has reached
// every node in to, or never will: from publishes a unique marker on each
// node's marker topic and flush waits for all of them. It is valid for
// synchronous and asynchronous backends alike because publications that one
// goroutine makes through one instance reach each subscriber in order,
// whatever their topics (see the package documentation).
func (e *env) flush(from *node, to ...*node) {
	e.t.Helper()
	want := make([]string, len(to))
	for i, n := range to {
		want[i] = fmt.Sprintf("marker %d", e.markers.Add(1))
		MustPublish(e.t, from.ps, n.marker, []byte(want[i]))
	}
	for i, n := range to {
		n.waitUntil(e.t, fmt.Sprintf("%q on %q", want[i], n.marker), func(d []delivery) bool {
			for _, p := range filter(d, n.marker) {
				if string(p) == want[i] {
					return true
				}
			}
			return false
		})
	}
}

// received returns n's deliveries on topic so far.
func (n *node) received(topic string) [][]byte {
	got, _ := n.rec.snapshot()
	return filter(got, topic)
}

// filter returns the payloads of the deliveries on topic.
func filter(d []delivery, topic string) [][]byte {
	var out [][]byte
	for _, x := range d {
		if x.topic == topic {
			out = append(out, x.payload)
		}
	}
	return out
}

// expect fails unless got are exactly the payloads want, in order.
func expect(t *testing.T, who, topic string, got [][]byte, want ...string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = bytes.Equal(got[i], []byte(want[i]))
	}
	if !ok {
		g := make([]string, len(got))
		for i, p := range got {
			g[i] = string(p)
		}
		t.Fatalf("%s received on %q: %q, want %q", who, topic, g, want)
	}
}

// summary describes deliveries for a failure message.
func summary(d []delivery) string {
	const max = 10
	var b strings.Builder
	fmt.Fprintf(&b, "%d deliveries", len(d))
	for i, x := range d {
		if i == max {
			b.WriteString(" …")
			break
		}
		p := x.payload
		if len(p) > 32 {
			p = p[:32]
		}
		fmt.Fprintf(&b, " [%s %q]", x.topic, p)
	}
	return b.String()
}
