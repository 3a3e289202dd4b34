package confab

import (
	"context"
	"hash/fnv"
	"time"
)

// Gateway is a gateway process that clients can be sent to, as it
// announces itself in its pocket's registry.
type Gateway struct {
	ID    string
	URL   string // base WebSocket URL, "ws://host:port"
	Conns int    // live connections when it last announced itself
}

// ErrNoGateway is what GatewayPicker.Pick and GatewayRegistry.Pick return
// when no gateway of the pocket is live: rtm.connect answers 503
// "no_gateway", and clients retry with backoff.
var ErrNoGateway = &Error{Code: EUNAVAILABLE, Message: "no_gateway"}

// GatewayPicker is the connection balancer of rtm.connect: it chooses the
// gateway of a user's next connection. pocket.Picker implements it (an API
// process, which serves every pocket, asks the registry of the user's
// pocket); the use cases of package chat consume it.
type GatewayPicker interface {
	// Pick returns a live, lightly loaded gateway of u's pocket, or an
	// error wrapping ErrNoGateway when the pocket has none.
	Pick(ctx context.Context, u *User) (Gateway, error)
	// PickOwner returns the live gateway of u's pocket that owns key
	// (OwnerOf over GatewayRegistry.Live): an app's Socket Mode
	// connections all go to the gateway that delivers its events. An
	// error wrapping ErrNoGateway when the pocket has none.
	PickOwner(ctx context.Context, u *User, key string) (Gateway, error)
}

// GatewayRegistry is the set of one pocket's live gateways, shared by the
// pocket's processes: gateways announce themselves in it, API processes
// pick from it. redis.Registry implements it in the pocket's Redis;
// pocket.Picker and the gateways' heartbeat consume it.
//
// A gateway is live from its Announce until TTL later (or its Withdraw):
// a gateway announces itself every TTL/3, so that a killed one is passed
// over at most TTL after its last announcement. A GatewayRegistry is safe
// for concurrent use; its errors are internal (the backing store failed),
// but for Pick's ErrNoGateway.
type GatewayRegistry interface {
	// Announce records gw as live until TTL from now, with its current
	// number of connections.
	Announce(ctx context.Context, gw Gateway) error
	// Withdraw removes a gateway at once: a gateway calls it when it shuts
	// down gracefully, so that no new client is sent to it. Withdrawing an
	// unknown gateway is not an error.
	Withdraw(ctx context.Context, id string) error
	// Live returns the live gateways, ordered by id.
	Live(ctx context.Context) ([]Gateway, error)
	// Pick returns a live, lightly loaded gateway, or ErrNoGateway.
	Pick(ctx context.Context) (Gateway, error)
	// TTL is how long an announcement stays live.
	TTL() time.Duration
}

// Ticket is what rtm.connect hands out: a short-lived, single-use
// credential for one gateway, which the client presents in the WebSocket
// URL (never its token). The process that issues it and the gateway that
// redeems it share a secret; a ticket names its gateway, its user and its
// expiry, and a gateway accepts it once, before it expires.
type Ticket struct {
	Value   string
	Expires int64 // unix seconds
	// Wait is how long the client should wait before it dials: the
	// ticket's slot when many clients connect at once (rtm.connect's
	// dial_after_ms). The ticket's lifetime counts from the end of it.
	Wait time.Duration
	// GatewayURL is the base URL ("ws://host:port") of the gateway the
	// ticket is for; "" when the issuing process serves the WebSockets
	// itself.
	GatewayURL string
}

// OwnerOf returns the gateway among live that owns key (an app's id): the
// one whose hash of (key, gateway id) is highest. Every process that sees
// the same live set names the same owner, and when a gateway comes or
// goes only the keys it owned or comes to own move (rendezvous hashing).
// ok is false when live is empty.
func OwnerOf(live []Gateway, key string) (owner Gateway, ok bool) {
	var best uint64
	for _, gw := range live {
		h := fnv.New64a()
		h.Write([]byte(key))
		h.Write([]byte{0})
		h.Write([]byte(gw.ID))
		if v := h.Sum64(); !ok || v > best || v == best && gw.ID < owner.ID {
			owner, best, ok = gw, v, true
		}
	}
	return owner, ok
}
