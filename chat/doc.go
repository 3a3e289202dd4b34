// Package chat holds confab's use cases: signing up, opening conversations,
// posting, editing, reacting, reading history, catching up. Each use case
// authorizes the caller (authorize, whose rules are one table in
// access.go), persists through the Store, and only after the
// store has durably committed hands the event over for publication on the
// Bus ("persist first, then deliver": docs/architecture.md#a-post).
//
// Concurrency: a *Service is safe for concurrent use. It holds no per-request
// state; its in-memory state is presence, the set of redeemed tickets, the
// connection pacer (pace.go), the access cache (cache.go; the store the
// use cases write through keeps it true, invalidate.go), the outbox's
// lanes and the republisher's queue, the failed logins and claims per
// account (login.go, claim.go), each guarded by its own mutex, and the history reads in
// flight or just done, which identical reads share (coalesce.go; so the
// messages of a Page may be shared with other callers and are read-only).
//
// Publication is not done by the request: after the commit it hands the
// event to the outbox (outbox.go), whose lane goroutines publish each
// topic's events in order (a channel's in seq order, waiting at most 20 ms
// for a missing seq), and answers. It never fails or waits for the bus; a
// failed publication is retried (republish.go), and one that is lost shows
// up to readers as a seq gap, which client.catchup fills.
package chat
