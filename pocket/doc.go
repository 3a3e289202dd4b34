// Package pocket groups gateways into pockets: each workspace lives in one
// pocket, and a pocket has its own Redis for pub/sub, presence and its
// gateway registry, so a message never travels to a gateway that cannot
// have a member of its channel (docs/architecture.md#pockets).
//
// A Map (from a TOML pocket file) says which pocket a workspace is in. A
// Router publishes each event on the bus of its workspace's pocket. A
// Picker (confab.GatewayPicker) and a PresenceRouter (confab.Presence)
// send an API process's calls to the registry and the presence of the
// user's pocket; what holds them in a pocket's Redis is package redis. A
// Store routes the store calls of a set-up where some pockets have their
// own PostgreSQL: workspaces, users and tokens in the main database (the
// directory), each channel with its messages in its pocket's.
//
// The package speaks to no server itself: it routes between the
// implementations of the root package's contracts that it is given.
//
// Concurrency: a Map is immutable after Parse; a Router is safe for
// concurrent use (its workspace cache is a sync.Map), and so are Store (its
// caches are mutex-guarded maps), Picker and PresenceRouter.
package pocket
