// Package memory is confab's in-process bus: the pub/sub that `confab serve`
// uses when the API and the gateway share one process. A Broker plays the
// part of the server (Redis in a pocket); each PubSub opened on it is one
// instance with its own topic set and handler, as a gateway process is on
// Redis. It passes the conformance suite in pubsub/pubsubtest.
//
// # Delivery
//
// Publish delivers synchronously: it calls the handler of every instance
// subscribed to the topic, one after the other, in the publisher's goroutine,
// and returns when all of them have returned. This is what keeps ordering
// simple: publications from one publisher (one goroutine calling Publish in
// sequence) reach each subscriber in publish order, on one topic and across
// topics. Publications from concurrent publishers are delivered concurrently,
// so a handler may be called from several goroutines at once.
//
// Publish copies payload once (only when the topic has subscribers) and every
// subscriber receives that same copy: the caller may reuse its buffer as soon
// as Publish returns, and a handler MAY retain payload after it returns but
// must never modify it, since the other subscribers share it.
//
// # Concurrency
//
// All methods are safe for concurrent use. The topic→subscribers map is split
// into shards, each with its own sync.RWMutex; a shard's subscriber lists are
// copy-on-write, so Publish holds a shard read lock only long enough to load
// one slice and calls handlers with no broker lock held. Publications on
// different topics therefore never wait for each other, and a handler may call
// Publish, Subscribe or Unsubscribe of other instances.
//
// When Subscribe returns, every later Publish on those topics reaches the
// handler. After Unsubscribe returns, a Publish that was already running may
// still deliver once. After Close returns the handler is never called again:
// Close waits for handler calls in progress. So a handler must not call its
// own instance's methods (Close would wait for itself), and Close must not be
// called while holding a lock that the handler takes.
//
// Lock order: PubSub.mu, then a broker shard's mu. PubSub.deliverMu is taken
// alone (by deliveries, for reading, and by Close).
package memory
