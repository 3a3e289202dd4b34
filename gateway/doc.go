// Package gateway is confab's realtime gateway: the RTM WebSocket endpoint
// (GET /rtm/{ticket}, API.md "RTM (realtime)").
//
// A connection is accepted only with a ticket from rtm.connect, redeemed
// before the upgrade, and — for browsers — an allowed Origin. The gateway
// then registers the connection in its Hub for the user's topic and
// channels, subscribes the bus to any topic that got its first local
// subscriber, waits for that, and only then sends hello: an event published
// after hello reaches the connection. Publications arrive through
// HandlePublication and are written, as the same bytes, to every local
// subscriber of their topic; join and leave publications on a user's topic
// update which channels that user's connections listen to.
//
// # Concurrency
//
//   - The Hub is a set of sharded maps (topic → connections), each shard
//     with its own RWMutex; fanout enqueues under a read lock and does no
//     I/O there. Bus Subscribe and Unsubscribe follow the local subscriber
//     count crossing 0, serialised per shard (see hub).
//   - Each connection has one reader goroutine and, only while it has
//     frames to write, one flush goroutine that coalesces them into a
//     single writev (see conn). Only the flush goroutine writes to the
//     socket, until the reader's goroutine takes over to close it.
//   - The outbound queue is bounded in frames and bytes; enqueueing never
//     blocks, and a connection over the limit is closed as a slow consumer.
//   - One sweeper goroutine pings every connection and closes idle ones.
//   - Every goroutine is started through a helper that refuses once the
//     gateway is finished and is counted in a WaitGroup that Shutdown waits
//     for. HandlePublication never blocks on a client or on the bus.
//
// Lock order is in LOCKING.md; close codes are documented in errors.go.
package gateway
