package gateway

import (
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// Sessions. A connection belongs to the session — the token — whose
// rtm.connect issued its ticket (conn.session, a fingerprint of the token).
// It ends with the session, and its frames count against the session's
// rate limit.
//
// Revocation. auth.revoke publishes an OpRevoke naming the session on its
// user's topic, after the token's delete committed; every gateway holding
// connections of the user gets it and closes those of that session
// (revoke) with closeRevoked. A user's own topic lists the user's local
// connections, so that is the index: a user has few. A connection that
// registers while the token is being revoked checks the token once it
// listens to the user's topic (admit, from register): a revocation
// committed before the check is seen there, one after reaches it.
//
// Rate limit. Every text frame a client sends — message, typing, ping,
// presence_sub, unknown, even one that is not JSON — takes one request from
// the session's bucket (Config.Limiter), the same bucket the session's HTTP
// requests take from. A frame over the limit is not acted on: it is
// answered with the ratelimited error (an ack with reply_to when it had an
// id, else an error event) — a ping too, whose error ack proves the
// connection alive as a pong does. A client that goes on regardless, with
// more than floodRefusals frames refused within floodWindow, is closed with
// closeFlood. WebSocket control frames (pings, pongs, close) are not RTM
// frames and are not counted.

// Limiter is the per-token rate limit of a process, which its API and its
// gateway share (ratelimit.Limiter): Wait takes one request from key's
// bucket, returning 0 when it may go on, else how long until one would.
type Limiter interface {
	Wait(key confab.Fingerprint) time.Duration
}

// The flood threshold: a connection with more than floodRefusals frames
// refused for the rate limit within floodWindow is closed. It is well past
// what a burst of a client that heeds its errors is refused (a burst of
// 500 frames at the default limits has about 400 refused), and low enough
// that the acks it is owed stay far below the outbound queue's 1,024
// frames.
const (
	floodRefusals = 500
	floodWindow   = 10 * time.Second
)

// refusals counts a connection's frames refused for the rate limit in the
// current window. Owned by the goroutine that reads the connection.
type refusals struct {
	since int64 // unix ns: the window's start
	n     int
}

var errRateLimited = &confab.Error{Code: confab.ERATELIMIT, Message: "ratelimited"}

// allow takes a frame of c's from its session's bucket: nil when c may act
// on it, errRateLimited when it is refused, errFlood when c is to close.
// Called by the goroutine that reads c.
func (c *conn) allow() error {
	l := c.g.cfg.Limiter
	if l == nil || l.Wait(c.session) == 0 {
		return nil
	}
	c.g.metrics.framesLimited.Inc()
	now := time.Now().UnixNano()
	r := c.refused
	if r == nil {
		r = &refusals{since: now}
		c.refused = r
	}
	if now-r.since > int64(floodWindow) {
		r.since, r.n = now, 0
	}
	r.n++
	if r.n > floodRefusals {
		return errFlood
	}
	return errRateLimited
}

// admit checks, once c listens to its user's topic, that the token c was
// admitted under was not revoked meanwhile.
func (g *Gateway) admit(adm *chat.Admission) error {
	err := g.chat.CheckAdmission(g.ctx, adm)
	if confab.ErrorCode(err) == confab.EUNAUTHORIZED {
		return errRevoked
	}
	return err
}

// revoke closes the local connections of a user topic's user that were
// opened under session.
func (g *Gateway) revoke(userTopic string, session confab.Fingerprint) {
	if _, kind, _, ok := confab.ParseTopic(userTopic); !ok || kind != confab.TopicUser {
		return
	}
	for _, c := range g.hub.members(userTopic) {
		if c.session == session && c.closeWith(errRevoked, false) {
			g.metrics.revoked.Inc()
			g.log.Debug("session revoked", "conn", c.id, "user", c.uid)
		}
	}
}
