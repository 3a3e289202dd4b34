// Package pocket groups gateways into pockets: each workspace lives in one
// pocket, and a pocket has its own Redis for pub/sub, presence and its
// gateway registry, so a message never travels to a gateway that cannot
// have a member of its channel (docs/architecture.md#pockets).
//
// A Map (from a TOML pocket file) says which pocket a workspace is in. A
// Router publishes each event on the bus of its workspace's pocket. The
// registry and presence in this package keep their state in a pocket's
// Redis: a Registry holds the pocket's live gateways (announced every TTL/3,
// picked by rtm.connect), a Presence who is online (each gateway holds its
// users with expiring entries; Reap finds a killed gateway's users), and a
// Picker and a PresenceRouter send an API process's calls to the user's
// pocket. A Store routes the store calls of a set-up where some pockets have
// their own PostgreSQL: workspaces, users and tokens in the main database
// (the directory), each channel with its messages in its pocket's.
//
// Concurrency: a Map is immutable after Parse; a Router is safe for
// concurrent use (its workspace cache is a sync.Map), and so are Store (its
// caches are mutex-guarded maps), Registry, Presence, Picker and
// PresenceRouter. Every Redis update of presence is one Lua script, atomic
// across processes; a Presence serialises one user's updates from its
// gateway. Expiry uses each caller's clock, so the clocks
// of a pocket's processes must agree to well within a TTL.
package pocket
