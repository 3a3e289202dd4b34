// Package gateway is confab's realtime gateway: the RTM WebSocket endpoint
// (GET /rtm/{ticket}; its frames are specified in docs/api.md, "RTM
// WebSocket"), and the same stream as Server-Sent Events (GET
// /rtm/sse/{ticket}, sse.go) for clients that cannot open a WebSocket: a
// stream is a connection like the others once its head is written, in
// the same hub, queues, poller and sweeper; only its bytes differ. A
// long poll (POST /rtm/poll, longpoll.go), for clients behind a proxy
// that buffers whole answers, is one too while it is held, and its
// queue is written as one answer when it ends.
//
// A connection is accepted only with a ticket from rtm.connect, redeemed
// before the upgrade, and — for browsers — an allowed Origin. The gateway
// then registers the connection in its Hub for the user's topic and
// channels, subscribes the bus to any topic that got its first local
// subscriber, waits for that, and only then sends hello: an event published
// after hello reaches the connection. The gateway opens its own instance
// of the bus (Config.OpenBus) with HandlePublication as its handler, and
// closes it last when it shuts down. Publications arrive through
// HandlePublication and are written, as the same bytes, to every local
// subscriber of their topic: each is encoded once as a WebSocket frame,
// header included, and every recipient's queue holds a pointer to it
// (wireFrame). Join and leave publications on a user's topic
// update which channels that user's connections listen to.
//
// # Concurrency
//
//   - The Hub is a set of sharded maps (topic → connections), each shard
//     with its own RWMutex; fanout enqueues under a read lock and does no
//     I/O there. A connection keeps its position in each of its topics,
//     so leaving a large topic needs no search and no index. Bus Subscribe
//     and Unsubscribe follow the local subscriber count crossing 0,
//     serialised per shard (see hub). A join's channel_joined frame is sent
//     once the channel's subscription is in place (see membership).
//   - The registry of connections, which the sweeper and Shutdown walk, is
//     sharded by connection id: registrations and the walk take one
//     shard's lock at a time.
//   - An idle connection has no goroutine, and nothing in Go's net
//     package: after the upgrade its socket's descriptor is taken out of
//     the net.Conn (fdConn). One poller goroutine waits on an epoll
//     instance holding every connection's socket (one-shot); when one has
//     input it starts that connection's reader goroutine, which reads what
//     is there, acts on each complete frame, keeps only an incomplete
//     frame's bytes, re-arms the socket and exits (see conn,
//     poll_linux.go). Without epoll (not Linux, not a TCP socket) a
//     connection keeps its net.Conn and has a blocking reader goroutine.
//   - A connection with frames to write waits for a turn on one of a few
//     pool writers (GOMAXPROCS by default, see writers), which writes all
//     it has queued by then in a single writev without waiting for room:
//     a broadcast enqueues everywhere at once, and the busier the gateway
//     the more frames each write carries. When the socket is full the
//     connection gets a flush goroutine of its own, which arms the socket
//     for output and waits for the poller to wake it; write deadlines are
//     enforced by the sweeper, not by a timer per connection. A socket
//     that was not detached always has a flush goroutine. One writer at a
//     time writes to a connection, until the close (finish) takes over —
//     on a net.Conn made of the socket again, for the closing handshake's
//     deadlines — in the reader goroutine, or in one closeWith starts
//     when the connection waits in the poller.
//   - The outbound queue is bounded in frames and bytes; enqueueing never
//     blocks, and a connection over the limit is closed as a slow consumer
//     — judged by its own progress: a wait for a pool writer's turn is not
//     charged to it (up to a ceiling), and one whose socket took nothing
//     for NoProgressTimeout is closed too. What the kernel holds for a
//     connection is bounded by its SO_SNDBUF (see conn, "Slow consumers").
//   - Before the upgrade, quotas bound the connections of one user and of
//     one address and an address's rate of handshakes (quota.go): the
//     address's before the ticket is redeemed, the user's after; a
//     connection gives its places back when finish ends it.
//   - One sweeper goroutine pings every connection, closes idle ones and
//     ends writes past their deadline. It and the poller goroutine run
//     until Shutdown has finished every connection.
//   - A connection's life is one state machine (connState): registering,
//     reading, polled, finishing, closed. The state says who owns the
//     connection — who reads it and will finish it — and changes in one
//     place (conn.to), which refuses any other transition.
//   - Every goroutine is counted in a WaitGroup that Shutdown waits for
//     (the sweeper, the writers and the poller goroutine in one of their
//     own, stopped last): started through a helper that refuses once the
//     gateway is finished, or — a polled connection's reader, and the
//     goroutine that finishes a polled connection — within the count the
//     connection itself holds from its creation until its move to closed.
//     HandlePublication never blocks on a client or on the bus.
//
// Lock order is in LOCKING.md; close codes are documented in errors.go.
package gateway
