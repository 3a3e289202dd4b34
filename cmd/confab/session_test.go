package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The close codes of docs/api.md that these tests expect.
const (
	closeTokenRevoked = 4101
	closeRateLimited  = 4029
)

// revokeBound is how soon a revocation must close an open socket of a
// single process.
const revokeBound = time.Second

// closeCode waits up to within for r to end and returns its close code
// (-1 when it ended without one).
func (r *rtm) closeCode(within time.Duration) int {
	r.tb.Helper()
	select {
	case <-r.closed:
	case <-time.After(within):
		r.tb.Fatalf("still open after %v", within)
	}
	var ce *websocket.CloseError
	if errors.As(r.err, &ce) {
		return ce.Code
	}
	return -1
}

// connectURL dials an rtm.connect URL of c's and returns after hello.
func (c *client) connectURL(url string) *rtm {
	c.tb.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		c.tb.Fatalf("dial %s: %v (%v)", url, err, resp)
	}
	r := &rtm{tb: c.tb, conn: conn, frames: make(chan obj, 100000), closed: make(chan struct{})}
	go r.read()
	c.tb.Cleanup(func() { conn.Close() })
	if f := r.next(func(obj) bool { return true }); f["type"] != "hello" {
		c.tb.Fatalf("first frame %v, want hello", f)
	}
	return r
}

// login is a second session of c's user: a new token.
func (c *client) login(team string) *client {
	c.tb.Helper()
	out := (&client{tb: c.tb, base: c.base, name: c.name}).must("auth.login",
		obj{"team": team, "name": c.name, "password": "correct horse " + c.name})
	return &client{tb: c.tb, base: c.base, token: out["token"].(string), userID: c.userID, teamID: c.teamID, name: c.name}
}

// dialRevoked dials an rtm.connect URL of a revoked token and returns how
// the gateway refused it: "401" before the upgrade, or "4101" when the
// upgrade went through but the connection was closed before hello. Any
// hello fails the test.
func dialRevoked(tb testing.TB, url string) string {
	tb.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return "401"
		}
		tb.Fatalf("dial %s: %v (%v), want 401", url, err, resp)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(waitFor))
	_, data, err := conn.ReadMessage()
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code == closeTokenRevoked {
		return "4101"
	}
	tb.Fatalf("a ticket of a revoked token was accepted: frame %q, %v", data, err)
	return ""
}

// Revoking a token closes its open sockets within revokeBound (4101),
// voids its unused rtm.connect URLs, and leaves the user's other sessions
// alone; the revoked socket receives nothing of the private channel after.
func TestRevokeEndsTheSession(t *testing.T) {
	m := MustRunMain(t)
	alice, bob := signup(t, m, "acme", "alice"), signup(t, m, "acme", "bob")
	secret := alice.createChannel("secret", true)
	alice.must("conversations.invite", obj{"channel": secret, "users": bob.userID})
	other := alice.login("acme")

	unused := alice.must("rtm.connect", nil)["url"].(string)
	r, r2 := alice.connect(), other.connect()
	bob.post(secret, "before")
	r.next(isMessage("before"))
	r2.next(isMessage("before"))

	start := time.Now()
	out := alice.must("auth.revoke", nil)
	if out["revoked"] != true {
		t.Fatalf("auth.revoke = %v", out)
	}
	if code := r.closeCode(revokeBound); code != closeTokenRevoked {
		t.Fatalf("revoked socket closed with %d (%v), want %d", code, r.err, closeTokenRevoked)
	}
	t.Logf("revoked socket closed %v after auth.revoke was called", time.Since(start))
	alice.fails("auth.test", nil, "invalid_auth")
	if got := dialRevoked(t, unused); got != "401" {
		t.Errorf("an unused URL of the revoked token: %s, want 401 (serve's cache is exact)", got)
	}

	bob.post(secret, "after")
	r2.next(isMessage("after"))
	for {
		select {
		case f := <-r.frames:
			if f["type"] == "message" && f["text"] == "after" {
				t.Fatalf("the revoked socket received %v", f)
			}
			continue
		default:
		}
		break
	}
	other.must("auth.test", nil)
}

// A frame sent on a socket after its token's revocation closed it is not
// stored: the socket is closed, and what raced the close is refused or was
// acked before it.
func TestRevokedSocketCannotPost(t *testing.T) {
	m := MustRunMain(t)
	alice, bob := signup(t, m, "acme", "alice"), signup(t, m, "acme", "bob")
	ch := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": ch})
	r := alice.connect()
	alice.must("auth.revoke", nil)
	if code := r.closeCode(revokeBound); code != closeTokenRevoked {
		t.Fatalf("closed with %d, want %d", code, closeTokenRevoked)
	}
	r.mu.Lock()
	r.conn.WriteJSON(obj{"id": 1, "type": "message", "channel": ch, "text": "ghost"}) // may fail: closed
	r.mu.Unlock()
	msgs := bob.must("conversations.history", obj{"channel": ch})["messages"].([]any)
	for _, m := range msgs {
		if m.(obj)["text"] == "ghost" {
			t.Fatal("a frame sent after the revocation was stored")
		}
	}
}

// Leaving a private channel stops its messages on the leaver's sockets:
// nothing of it arrives after channel_left.
func TestLeaveStopsThePrivateChannel(t *testing.T) {
	m := MustRunMain(t)
	alice, bob, carol := signup(t, m, "acme", "alice"), signup(t, m, "acme", "bob"), signup(t, m, "acme", "carol")
	secret := alice.createChannel("secret", true)
	alice.must("conversations.invite", obj{"channel": secret, "users": bob.userID + "," + carol.userID})
	rb, rc := bob.connect(), carol.connect()
	alice.post(secret, "before")
	rb.next(isMessage("before"))

	bob.must("conversations.leave", obj{"channel": secret})
	rb.next(func(f obj) bool { return f["type"] == "channel_left" && f["channel"] == secret })
	const n = 20
	for i := range n {
		alice.post(secret, fmt.Sprintf("after %d", i))
	}
	rc.next(isMessage(fmt.Sprintf("after %d", n-1)))
	// carol has the last message: its broadcast is over, so anything it
	// put in bob's queue comes before the pong to this ping.
	rb.send(obj{"id": 7, "type": "ping"})
	for _, f := range rb.collect(func(f obj) bool { return f["type"] == "pong" }) {
		if f["type"] == "message" {
			t.Fatalf("bob received %v after leaving", f)
		}
	}
	rb.send(obj{"id": 8, "type": "message", "channel": secret, "text": "let me back"})
	ack := rb.next(func(f obj) bool { return f["reply_to"] == float64(8) })
	if e, _ := ack["error"].(obj); ack["ok"] != false || e["msg"] != "channel_not_found" {
		t.Fatalf("posting to the private channel left = %v, want channel_not_found", ack)
	}
}

// An archived channel takes no message over RTM (is_archived) and no
// typing; its members stay subscribed and still get its membership events.
func TestArchivedChannelOverRTM(t *testing.T) {
	m := MustRunMain(t)
	alice, bob := signup(t, m, "acme", "alice"), signup(t, m, "acme", "bob")
	ch := alice.createChannel("old", false)
	bob.must("conversations.join", obj{"channel": ch})
	rb := bob.connect()
	alice.must("conversations.archive", obj{"channel": ch})
	rb.next(func(f obj) bool { return f["type"] == "channel_archive" && f["channel"] == ch })

	rb.send(obj{"id": 1, "type": "typing", "channel": ch})
	rb.send(obj{"id": 2, "type": "message", "channel": ch, "text": "late"})
	ack := rb.next(func(f obj) bool { return f["reply_to"] == float64(2) })
	if e, _ := ack["error"].(obj); ack["ok"] != false || e["msg"] != "is_archived" || e["code"] != float64(403) {
		t.Fatalf("posting to an archived channel over RTM = %v, want is_archived (403)", ack)
	}
	alice.must("conversations.leave", obj{"channel": ch})
	for _, f := range rb.collect(func(f obj) bool { return f["type"] == "member_left_channel" }) {
		if f["type"] == "user_typing" || f["type"] == "message" {
			t.Fatalf("the archived channel carried %v", f)
		}
	}
	// Nothing but bob's join: no message, and no line for alice's leave.
	msgs := bob.must("conversations.history", obj{"channel": ch})["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(obj)["subtype"] != "channel_join" {
		t.Fatalf("history of the archived channel = %v, want only bob's join", msgs)
	}
}

// withDefaultLimits gives a test server the default per-token limits.
func withDefaultLimits(m *Main) {
	d := DefaultConfig()
	m.Config.RateLimit, m.Config.RateBurst = d.RateLimit, d.RateBurst
}

// acks sends frames (each with a numeric id 1..n, made by frame) as fast as
// the socket takes them and reads until every one is answered: it returns
// how many were ok (an ok ack, or a pong) and how many ratelimited, and the
// time from the first send to the last answer.
func (r *rtm) acks(n int, frame func(id int) obj) (ok, limited int, took time.Duration) {
	r.tb.Helper()
	start := time.Now()
	go func() {
		for i := 1; i <= n; i++ {
			r.mu.Lock()
			err := r.conn.WriteJSON(frame(i))
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	for answered := 0; answered < n; answered++ {
		f := r.next(func(f obj) bool { _, ok := f["reply_to"]; return ok })
		e, _ := f["error"].(obj)
		switch {
		case f["ok"] == true || f["type"] == "pong":
			ok++
		case e["msg"] == "ratelimited" && e["code"] == float64(429):
			limited++
		default:
			r.tb.Fatalf("answer %v, want ok or ratelimited", f)
		}
	}
	return ok, limited, time.Since(start)
}

// At the default limits (50 a second, bursts of 100), a burst of 500
// message frames on one socket gets about the burst stored and acked ok,
// the rest ratelimited acks, and the socket stays open.
func TestRTMMessagesRateLimited(t *testing.T) {
	m := MustRunMain(t, withDefaultLimits)
	alice, bob := signup(t, m, "acme", "alice"), signup(t, m, "acme", "bob")
	ch := alice.createChannel("plaza", false) // 1 of alice's bucket
	bob.must("conversations.join", obj{"channel": ch})
	r := alice.connect() // 2
	const n = 500
	ok, limited, took := r.acks(n, func(id int) obj {
		return obj{"id": id, "type": "message", "channel": ch, "text": fmt.Sprintf("m%d", id)}
	})
	d := DefaultConfig()
	most := d.RateBurst + int(d.RateLimit*took.Seconds()) + 1
	t.Logf("%d frames in %v: %d ok, %d ratelimited", n, took, ok, limited)
	if ok < d.RateBurst-2 || ok > most || ok+limited != n {
		t.Fatalf("%d ok and %d ratelimited of %d frames in %v, want %d to %d ok and the rest ratelimited", ok, limited, n, took, d.RateBurst-2, most)
	}
	msgs := posted(bob.must("conversations.history", obj{"channel": ch, "limit": 1000})["messages"].([]any)) // not bob's join
	if len(msgs) != ok {
		t.Fatalf("%d messages stored, want the %d acked ok", len(msgs), ok)
	}
	// Still open: a frame is answered (a pong, or ratelimited while the
	// bucket refills).
	r.send(obj{"id": n + 1, "type": "ping"})
	r.next(func(f obj) bool { return f["reply_to"] == float64(n+1) })
}

// A socket that keeps sending past the limit, with more than 500 frames
// refused within 10 s, is closed with 4029.
func TestRTMFloodClosed(t *testing.T) {
	m := MustRunMain(t, withDefaultLimits)
	alice := signup(t, m, "acme", "alice")
	r := alice.connect()
	const n = 5000
	go func() {
		for i := 1; i <= n; i++ {
			r.mu.Lock()
			err := r.conn.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"id":%d,"type":"ping"}`, i))
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	start := time.Now()
	code := r.closeCode(waitFor)
	pongs, limited := 0, 0
	for len(r.frames) > 0 {
		f := <-r.frames
		if f["type"] == "pong" {
			pongs++
		} else if e, _ := f["error"].(obj); e["msg"] == "ratelimited" {
			limited++
		}
	}
	t.Logf("closed %d after %v: %d pongs, %d ratelimited", code, time.Since(start), pongs, limited)
	if code != closeRateLimited || limited != 500 {
		t.Fatalf("closed with %d after %d ratelimited answers, want %d after 500", code, limited, closeRateLimited)
	}
}

// A token's HTTP requests and RTM frames take from one bucket.
func TestHTTPAndRTMShareTheTokenLimit(t *testing.T) {
	const burst = 10
	m := MustRunMain(t, func(m *Main) { m.Config.RateLimit, m.Config.RateBurst = 0.01, burst })
	limitedHTTP := func(c *client) {
		t.Helper()
		if status, out := c.call("auth.test", nil); status != http.StatusTooManyRequests || out["error"] != "ratelimited" {
			t.Fatalf("auth.test past the bucket = %d %v, want 429 ratelimited", status, out)
		}
	}

	// HTTP empties the bucket: RTM frames are refused.
	alice := signup(t, m, "acme", "alice")
	r := alice.connect() // 1
	for range burst - 1 {
		alice.must("auth.test", nil)
	}
	limitedHTTP(alice)
	if ok, limited, _ := r.acks(3, func(id int) obj { return obj{"id": id, "type": "ping"} }); ok != 0 || limited != 3 {
		t.Fatalf("pings after HTTP emptied the bucket: %d pongs, %d ratelimited; want 0 and 3", ok, limited)
	}

	// RTM empties the bucket: HTTP is refused.
	bob := signup(t, m, "acme", "bob")
	rb := bob.connect() // 1
	if ok, limited, _ := rb.acks(burst, func(id int) obj { return obj{"id": id, "type": "ping"} }); ok != burst-1 || limited != 1 {
		t.Fatalf("%d pings: %d pongs, %d ratelimited; want %d and 1", burst, ok, limited, burst-1)
	}
	limitedHTTP(bob)
}

// In a cluster, a revocation through one API process closes the token's
// sockets on every gateway of the pocket through the bus, and a URL of the
// token fetched before is refused — before the upgrade, or, when the
// gateway trusted its cached grant (up to -cache-ttl), right after it with
// 4101 and no hello.
func TestClusterRevokeThroughTheBus(t *testing.T) {
	c := startCluster(t, 2, 2)
	alice := c.user("alpha", "alice", c.api(0))
	bob := c.user("alpha", "bob", c.api(1))
	ch := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": ch})
	other := alice.login("alpha")

	// Four sockets of the token: rtm.connect spreads them over the
	// pocket's two gateways.
	var socks []*rtm
	gateways := map[string]bool{}
	for range 4 {
		url := alice.must("rtm.connect", nil)["url"].(string)
		gateways[url[:strings.LastIndexByte(url, '/')]] = true
		socks = append(socks, alice.connectURL(url))
	}
	unused := alice.must("rtm.connect", nil)["url"].(string)
	kept := other.connect()
	bob.post(ch, "before")
	for _, r := range append(socks, kept) {
		r.next(isMessage("before"))
	}

	start := time.Now()
	(&client{tb: t, base: c.api(1).URL(), token: alice.token, name: "alice"}).must("auth.revoke", nil)
	for i, r := range socks {
		if code := r.closeCode(waitFor); code != closeTokenRevoked {
			t.Fatalf("socket %d closed with %d (%v), want %d", i, code, r.err, closeTokenRevoked)
		}
	}
	t.Logf("%d sockets on %d gateways closed %v after auth.revoke was called", len(socks), len(gateways), time.Since(start))
	t.Logf("the unused URL: refused with %s", dialRevoked(t, unused))

	bob.post(ch, "after")
	kept.next(isMessage("after"))
}
