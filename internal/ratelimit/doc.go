// Package ratelimit keeps one token bucket per key (an API token's
// fingerprint, a client address) in a bounded map.
//
// One Limiter is meant to be shared by everything that acts for the same
// keys in a process: confab's HTTP API and its WebSocket gateway take from
// the same bucket of a token, so that a client cannot double its rate by
// using both. Processes do not share buckets.
//
// A Limiter is safe for concurrent use; its map is guarded by one mutex,
// held only to find or make a key's bucket, and each bucket
// (golang.org/x/time/rate) has its own lock.
package ratelimit
