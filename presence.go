package confab

import "context"

// Presence holds who is online: a user is PresenceActive while they have a
// live connection on some gateway and have not set themselves away,
// PresenceAway otherwise. chat.MemoryPresence (one process that runs every
// gateway), redis.Presence (a pocket's gateways and API processes, in the
// pocket's Redis) and pocket.PresenceRouter (an API process, routing each
// user to their pocket) implement it; the use cases of package chat
// consume it.
//
// Each update returns the user's presence after it and whether it changed,
// so that the caller publishes presence_change only on a flip. A flip is
// reported exactly once, by whichever update (or redis.Presence's reaping
// of a dead gateway, as a PresenceChange) caused it. Errors are internal
// (the backing store failed). A Presence is safe for concurrent use.
type Presence interface {
	// Connected counts a new live connection of u (on this gateway).
	Connected(ctx context.Context, u *User) (presence string, changed bool, err error)
	// Disconnected counts a closed connection of u; the last one anywhere
	// flips u to away.
	Disconnected(ctx context.Context, u *User) (presence string, changed bool, err error)
	// SetAway sets or clears u's manual away flag.
	SetAway(ctx context.Context, u *User, away bool) (presence string, changed bool, err error)
	// Get returns u's presence.
	Get(ctx context.Context, u *User) (string, error)
	// Active returns those of userIDs, users of workspace workspaceID,
	// who are PresenceActive, in the order given: whom a <!here> reaches.
	// It reads them all at once, not a call per user.
	Active(ctx context.Context, workspaceID string, userIDs []string) ([]string, error)
}

// PresenceChange is a flip of a user's presence found by a background
// loop (a gateway's heartbeat finding its hold lost, or the reaping of a
// dead gateway's users) rather than by a request: whoever finds it
// publishes presence_change for it.
type PresenceChange struct {
	WorkspaceID string
	UserID      string
	Presence    string // PresenceActive or PresenceAway
}
