// Package pocket groups gateways into pockets: each workspace lives in one
// pocket, and a pocket has its own Redis for pub/sub, presence and its
// gateway registry, so a message never travels to a gateway that cannot
// have a member of its channel (DESIGN.md "Pockets").
//
// A Map (from a TOML pocket file) says which pocket a workspace is in. A
// Router publishes each event on the bus of its workspace's pocket. The
// registry and presence in this package keep their state in a pocket's
// Redis.
//
// Concurrency: a Map is immutable after Parse; a Router is safe for
// concurrent use (its workspace cache is a sync.Map).
package pocket
