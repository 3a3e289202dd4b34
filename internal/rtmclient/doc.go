// Package rtmclient is a Go client of confab's realtime API that follows
// the rules of docs/api.md#catch-up to the letter: connect first and hold
// live events, catch up from per-channel checkpoints with client.catchup,
// apply both in seq order dropping any (channel, seq) already applied,
// catch a channel up when live events jump in seq, and reconnect through
// rtm.connect with backoff when the connection drops.
//
// Tests and benchmarks use it to show that a client loses nothing and sees
// nothing twice through gateway kills, Redis restarts and reconnect storms.
//
// Concurrency: Run owns the connection; the read methods (Messages,
// Checkpoint, Stats) are safe to call from other goroutines at any time.
package rtmclient
