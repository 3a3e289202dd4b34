// Package pubsubtest is the conformance suite of confab's bus: it checks
// that a backend (the in-process pubsub/memory, the Redis one) keeps the
// contract that confab.PubSub documents. Each backend calls Run from one
// short test file:
//
//	func TestPubSub(t *testing.T) {
//		pubsubtest.Run(t, func(t *testing.T) pubsubtest.Factory {
//			b := memory.NewBroker()
//			return func(h func(topic string, payload []byte)) confab.PubSub {
//				return b.Open(memory.Config{Handler: h})
//			}
//		})
//	}
//
// open is called once per case (each case runs as a parallel subtest); every
// instance the Factory makes must share one backend, which must be isolated
// from other cases' (Redis: a unique key prefix per case). Run closes every
// instance it makes; open cleans up the backend itself with t.Cleanup.
//
// The suite never sleeps: it waits on channels with deadlines. To check that
// something was NOT delivered it publishes a marker afterwards, from the same
// instance, on a topic the receiver subscribes to, and checks once the marker
// arrived that the unwanted publication did not arrive before it (see flush).
// That relies on one more property than per-topic ordering, which every
// backend must have: publications that one goroutine makes in sequence through
// one instance reach each subscribed instance in that order, whatever their
// topics. In-process delivery is synchronous; Redis processes one client's
// PUBLISHes in order and pushes them down each subscriber's single connection
// in that order.
package pubsubtest
