package memory_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/pubsub/memory"
	"github.com/confab/confab/pubsub/pubsubtest"
)

var _ confab.PubSub = (*memory.PubSub)(nil)

func TestPubSub(t *testing.T) {
	pubsubtest.Run(t, func(t *testing.T) pubsubtest.Factory {
		b := memory.NewBroker()
		return func(h func(topic string, payload []byte)) confab.PubSub {
			return b.Open(memory.Config{Handler: h})
		}
	})
}

// Closing and unsubscribing leave nothing behind in the broker.
func TestNoLeftoverTopics(t *testing.T) {
	b := memory.NewBroker()
	a, c := b.Open(memory.Config{}), b.Open(memory.Config{})
	pubsubtest.MustSubscribe(t, a, "c.1", "c.2", "u.1")
	pubsubtest.MustSubscribe(t, c, "c.1", "c.3")
	if n := memory.NumTopics(b); n != 4 {
		t.Fatalf("NumTopics = %d, want 4", n)
	}
	pubsubtest.MustUnsubscribe(t, c, "c.1", "c.3")
	if n := memory.NumTopics(b); n != 3 {
		t.Fatalf("NumTopics after Unsubscribe = %d, want 3", n)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if n := memory.NumTopics(b); n != 0 {
		t.Fatalf("NumTopics after Close = %d, want 0", n)
	}
}

// Publishing copies the payload once, whatever the number of subscribers,
// and not at all when nobody listens.
func TestPublishAllocs(t *testing.T) {
	b := memory.NewBroker()
	pub := b.Open(memory.Config{})
	payload := (&confab.Publication{Frame: []byte(`{"type":"message"}`)}).Marshal()
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { pub.Publish(ctx, "c.nobody", payload) }); n != 0 {
		t.Errorf("Publish without subscribers: %v allocs, want 0", n)
	}
	for range 10 {
		pubsubtest.MustSubscribe(t, b.Open(memory.Config{Handler: func(string, []byte) {}}), "c.C")
	}
	if n := testing.AllocsPerRun(100, func() { pub.Publish(ctx, "c.C", payload) }); n != 1 {
		t.Errorf("Publish to 10 subscribers: %v allocs, want 1", n)
	}
}

// BenchmarkPublish measures publish-to-receive: delivery is synchronous, so
// when Publish returns every subscribed instance's handler has run.
func BenchmarkPublish(b *testing.B) {
	payload := (&confab.Publication{Frame: []byte(`{"type":"message","channel":"C1","user":"U1","text":"hello","ts":"1700000000.000001"}`)}).Marshal()
	for _, subs := range []int{1, 100} {
		b.Run("subscribers="+strconv.Itoa(subs), func(b *testing.B) {
			broker := memory.NewBroker()
			var received atomic.Int64
			for range subs {
				ps := broker.Open(memory.Config{Handler: func(string, []byte) { received.Add(1) }})
				b.Cleanup(func() { ps.Close() })
				pubsubtest.MustSubscribe(b, ps, "c.C1")
			}
			pub := broker.Open(memory.Config{})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := pub.Publish(ctx, "c.C1", payload); err != nil {
					b.Fatal(err)
				}
			}
			if got, want := received.Load(), int64(b.N*subs); got != want {
				b.Fatalf("received %d, want %d", got, want)
			}
		})
	}
}

// BenchmarkPublishParallel publishes on distinct topics from every core: the
// sharded map keeps them from contending on one lock.
func BenchmarkPublishParallel(b *testing.B) {
	payload := (&confab.Publication{Frame: []byte(`{"type":"message"}`)}).Marshal()
	broker := memory.NewBroker()
	const topics = 1024
	sub := broker.Open(memory.Config{Handler: func(string, []byte) {}})
	b.Cleanup(func() { sub.Close() })
	names := make([]string, topics)
	for i := range names {
		names[i] = "c.C" + strconv.Itoa(i)
	}
	pubsubtest.MustSubscribe(b, sub, names...)
	pub := broker.Open(memory.Config{})
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		i := int(next.Add(1))
		for pb.Next() {
			pub.Publish(ctx, names[i%topics], payload)
			i += 7
		}
	})
}
