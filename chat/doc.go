// Package chat holds confab's use cases: signing up, opening conversations,
// posting, editing, reacting, reading history, catching up. Each use case
// authorizes the caller, persists through the Store, and only after the
// store has durably committed publishes the event on the Bus ("persist
// first, then deliver": DESIGN.md).
//
// Concurrency: a *Service is safe for concurrent use. It holds no per-request
// state; the only in-memory state is presence (guarded by a mutex), the
// set of redeemed tickets (guarded by a mutex) and the history reads in
// flight or just done, which identical reads share (coalesce.go; so the
// messages of a Page may be shared with other callers and are read-only).
// Publication happens on the caller's goroutine after the commit and never
// fails the request: a lost publication shows up to readers as a seq gap,
// which client.catchup fills.
package chat
