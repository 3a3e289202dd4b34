// Package bench is confab's load instrument: the scenarios behind
// "confab bench", run against a confab someone started, through its public
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
//     deliveries, which must both be zero.
//   - history: one channel filled to a depth, then timed reads of the newest
//     page and of the deepest page (reached by paging back with cursors,
//     as a client scrolling to the first message does).
//   - idle: N RTM connections of users who are in K channels; the server's
//     RSS and goroutines per connection (from /metrics) and the connect rate.
//
// Every scenario is bounded in count and time: Config.Timeout caps a whole
// run, and each phase has its own cap. One run keeps at most
// MaxConnections WebSockets open from this one process; spreading larger
// runs over child processes and loopback source addresses is the next step.
//
// Concurrency: Run may be called from several goroutines at once (each run
// owns everything it starts and waits for it before returning). A Report is
// plain data once returned.
package bench
