// Package redis holds everything confab keeps in a pocket's Redis, with
// github.com/redis/go-redis/v9:
//
//   - PubSub, the cross-node bus (confab.PubSub), which passes the
//     conformance suite in pubsub/pubsubtest;
//   - Registry, the pocket's live gateways (confab.GatewayRegistry):
//     announced by each gateway's Heartbeat, picked by rtm.connect, and
//     probed by an API process's StartWatch so that a killed gateway is
//     passed over at once;
//   - Presence, who is online (confab.Presence): each gateway holds its
//     users with expiring entries, and a Heartbeat renews them and reaps
//     the users of a gateway that died.
//
// The background loops (Heartbeat, StartWatch) are started and stopped
// through this package: a Loop's Stop ends its goroutine and waits for it.
// Registry and Presence keep their state with each caller's clock, so the
// clocks of a pocket's processes must agree to well within a TTL; every
// Redis update of presence is one Lua script, atomic across processes, and
// a Presence serialises one user's updates from its gateway.
//
// # The bus
//
// A topic maps to the Redis channel Prefix+topic, so that several pockets or
// tests can share one server without seeing each other's traffic. Publish is
// one PUBLISH on a pooled connection. Each PubSub holds one more connection,
// in subscriber mode, and the topics it is subscribed to: an instance's set,
// not a reference count (the gateway counts local members and calls
// Subscribe/Unsubscribe as a topic's count crosses 0 and 1).
//
// # Delivery
//
// One receive goroutine per instance reads the subscription connection and
// calls the handler, so the handler is never called concurrently and
// publications arrive in the order Redis sent them: for one publisher's
// sequential publications, publish order. Each delivery gets its own copy of
// the payload, which the handler may keep.
//
// Subscribe and Unsubscribe return only once Redis has processed them: after
// the (UN)SUBSCRIBE command they send a PING with a unique token on the
// subscription connection, and wait for the receive goroutine to read its
// PONG. Redis answers commands of one connection in order, so the PONG
// proves the subscription change took effect.
//
// # Failures
//
// Publish fails fast, without retrying (a retry could deliver twice), when
// Redis is down or ctx ends: the chat service has persisted the message
// before publishing, logs the error and moves on, and readers recover
// through seq gaps and client.catchup.
//
// When the subscription connection fails (Redis restarted, connection
// reset), go-redis dials a new one and subscribes it to the whole set again;
// the receive goroutine keeps trying with capped exponential backoff,
// logging the loss once and the recovery once. A connection that stays
// silent for three ping intervals, although a PING is sent every interval,
// counts as failed, which catches half-open TCP connections. Publications
// made while the connection is down are lost to this instance.
//
// # Concurrency
//
// All methods are safe for concurrent use. Subscribe and Unsubscribe of one
// instance run one at a time (each waits for one round trip to Redis); the
// gateway batches topics into one call. Close stops the receive and ping
// goroutines and waits for them: after it returns the handler is never
// called again, so Close must not be called from the handler, and the
// handler must not call its own instance's methods.
//
// Lock order: PubSub.mu, then PubSub.pendMu. go-redis's own PubSub lock is
// taken inside both.
package redis
