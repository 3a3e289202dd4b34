// Package bench is confab's load instrument: the scenarios behind
// confab-bench, run against a confab someone started, through its public
// API only (HTTP Web API, RTM WebSockets, /metrics).
//
// Each run signs up its own workspace (a fresh "bench-<random>" domain),
// its users and its channels, so runs never disturb each other or real
// workspaces. The scenarios:
//
//   - send: C concurrent HTTP posters of chat.postMessage; durable
//     messages/s and round-trip percentiles.
//   - fanout: M RTM subscribers in one channel and a publisher posting at a
//     fixed rate, open loop; deliveries/s, post→deliver latency percentiles
//     (the send time travels in the text), and missing and duplicate
//     deliveries, which must both be zero. With Stuck, more connections of
//     the same users read hello and then nothing (a 4 KiB receive buffer):
//     the subscribers must still get every post and stay connected, and
//     the report counts the stuck ones the server closed, as their sockets
//     show (TCP_INFO, Linux) and as its slow-consumer counters do.
//   - history: one channel filled to a depth, then timed reads of the newest
//     page and of the deepest page (reached by paging back with cursors,
//     as a client scrolling to the first message does).
//   - idle: N RTM connections of users who are in K channels; the server's
//     RSS and goroutines per connection (from /metrics) and the connect rate.
//   - storm: N internal/rtmclient clients in one channel while a publisher
//     posts; every WebSocket is closed at once (or, with WaitForDrop, the
//     run waits for someone to kill a gateway, and the clients on it are
//     the ones dropped); the time until every dropped client has
//     reconnected and caught up, and lost and duplicated posts over all
//     clients, which must both be zero. Spread over workers, the bench process keeps
//     the publisher and the acknowledged posts, tells every worker to drop
//     at once (its own clock is the drop's time base; the workers' recovery
//     instants come back as wall-clock times of the same machine), and each
//     worker checks its clients against the acknowledged posts and returns
//     counts.
//   - boot: client.boot size and latency for a user in 200 channels of a
//     workspace of U users.
//   - hot: R readers, one HTTP connection each, released together to read
//     the newest page of one channel; latency, and the store queries that
//     served them from /metrics (confab_store_queries_total, per label set)
//     when the server exposes it.
//   - apps: one Socket Mode app (apps.manifest.create, its bot invited to
//     every channel) subscribed to message.channels while one user posts
//     at a fixed rate over the channels, open loop: posts/s and the
//     server's CPU per post before the app is installed and with it
//     connected, events/s and post→event latency (the send time travels
//     in the text), then the time the app takes to catch up after being
//     stopped for a while, and lost and duplicated events, which must both
//     be zero.
//   - search: the exception to "a confab someone started". A made-up
//     workspace (searchdata.go: Zipf-distributed words, CJK, diacritics,
//     every kind of conversation, two years of messages) is loaded offline
//     into confab's SQLite database (or PostgreSQL) through the Store's
//     own CreateMessage, which indexes each message as the server does
//     (searchload.go; made-up times need the store, the API stamps now);
//     the bench then starts "confab serve" on it (serve.go) and times the
//     first page of search.messages per query pattern, as a user with a
//     token. The database's size with and without the index's tables is
//     measured before the server starts.
//
// The bench and the server often share a machine's few cores, so the
// measured loops keep the bench's own CPU per operation small: send's
// posters, hot's readers and history's reads each own a keep-alive HTTP
// connection through fasthttp rather than net/http's client (conn.go), and
// check answers with a reused fastjson parser rather than encoding/json
// (parseEnvelope); fanout's subscribers read WebSocket frames with
// gobwas/ws's low-level API into a reused buffer (frameConn). Set-up goes
// through net/http and encoding/json.
//
// idle's and hot's server figures are the sums over Config.MetricsURLs: in
// a cluster, the metrics of its gateways (idle) or API processes (hot).
//
// Every scenario is bounded in count and time: Config.Timeout caps a whole
// run, and each phase has its own cap. One process keeps at most
// MaxConnections WebSockets open (the machine allows 20,000 open files per
// process), and at most MaxStormClients storm clients (each also has an
// HTTP connection). idle, fanout and storm spread their connections over
// Config.Procs worker processes: children of this process (Worker,
// "confab-bench worker"), killed with it and ending when their stdin does,
// each dialing from its own loopback source address (127.0.0.2, 127.0.0.3,
// …) and reporting its counts and latencies as JSON on stdout for the
// parent to merge.
//
// Concurrency: Run may be called from several goroutines at once (each run
// owns everything it starts, worker processes included, and waits for it
// before returning). Worker serves one parent and returns. A Report and a
// Histogram are plain data, not safe for concurrent writes.
package bench
