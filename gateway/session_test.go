package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/internal/ratelimit"
)

// An OpRevoke on a user's topic closes that user's connections of the
// revoked session with 4101, and only those.
func TestRevokeClosesTheSession(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{})
	a1, a2 := s.MustConnect(t, "U1"), s.MustConnect(t, "U1")
	b := s.MustConnect(t, "U1~b")
	other := s.MustConnect(t, "U2")

	start := time.Now()
	if !s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpRevoke, Session: sessionOf("ticket-U1")}) {
		t.Fatal("the user topic is not subscribed")
	}
	for _, c := range []*client{a1, a2} {
		if code := c.closeCode(); code != int(closeRevoked) {
			t.Fatalf("connection of the revoked session closed with %d, want %d", code, closeRevoked)
		}
	}
	t.Logf("revoked connections closed %v after the publication", time.Since(start))
	b.sync()
	other.sync()
	// A revocation on another kind of topic, or of no local session, is
	// ignored.
	s.g.HandlePublication("T1.c.C1", marshal(confab.Publication{Op: confab.OpRevoke, Session: sessionOf("ticket-U1~b")}))
	s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpRevoke, Session: 42})
	b.sync()
}

// A connection whose token is found revoked once it listens to its user's
// topic (CheckAdmission) is closed with 4101 instead of hello.
func TestAdmitRefusesARevokedSession(t *testing.T) {
	ch := &fakeChat{CheckAdmissionFn: func(_ context.Context, a *chat.Admission) error {
		if a.User.ID == "U1" {
			return confab.ErrInvalidAuth
		}
		return nil
	}}
	s := MustServe(t, Config{}, ch)
	ws, _, err := s.dial(t, "ticket-U1", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, ws)
	if code := c.closeCode(); code != int(closeRevoked) {
		t.Fatalf("close code %d, want %d", code, closeRevoked)
	}
	s.MustConnect(t, "U2").sync()
}

// limiter is a per-token limit of burst frames and then none for an hour.
func limiter(burst int) *ratelimit.Limiter[confab.Fingerprint] {
	return ratelimit.New[confab.Fingerprint](ratelimit.Config{Rate: rate.Every(time.Hour), Burst: burst})
}

// Past its session's burst, every frame — a ping, a message, one without an
// id, one that is not JSON — is answered with ratelimited and not acted on;
// the connections of a session share its bucket, other sessions have their
// own.
func TestFramesShareTheSessionLimit(t *testing.T) {
	// Counted from the connections' readers, read by the test: the acks
	// that order them travel through a socket, which the race detector
	// cannot see.
	var posted atomic.Int64
	ch := &fakeChat{PostMessageFn: func(_ context.Context, u *confab.User, p chat.PostParams) (*confab.Message, error) {
		posted.Add(1)
		return &confab.Message{ChannelID: p.Channel, UserID: u.ID, Text: p.Text, TS: 1_700_000_000_000_001}, nil
	}}
	s := MustServe(t, Config{Limiter: limiter(3)}, ch)
	a, a2 := s.MustConnect(t, "U1"), s.MustConnect(t, "U1")
	a.write(map[string]any{"id": 1, "type": "ping"})
	a.write(map[string]any{"id": 2, "type": "message", "channel": "C1", "text": "hi"})
	a2.write(map[string]any{"id": 3, "type": "ping"})
	if m := a.readJSON(); m["type"] != "pong" || m["reply_to"] != float64(1) {
		t.Fatalf("got %v, want pong 1", m)
	}
	if m := a.readJSON(); m["ok"] != true || m["reply_to"] != float64(2) {
		t.Fatalf("got %v, want ok 2", m)
	}
	if m := a2.readJSON(); m["type"] != "pong" {
		t.Fatalf("got %v, want pong 3", m)
	}
	// The bucket is empty: the session's connections are refused alike.
	want := func(c *client, id any) {
		t.Helper()
		m := c.readJSON()
		e, _ := m["error"].(map[string]any)
		if m["ok"] != false || m["reply_to"] != id || e["code"] != float64(429) || e["msg"] != "ratelimited" {
			t.Fatalf("got %v, want the ratelimited ack of %v", m, id)
		}
	}
	a.write(map[string]any{"id": 4, "type": "message", "channel": "C1", "text": "too many"})
	want(a, float64(4))
	a2.write(map[string]any{"id": 5, "type": "ping"})
	want(a2, float64(5))
	for _, f := range []string{`{"type":"typing","channel":"C1"}`, `not json`} {
		a.write(f)
		m := a.readJSON()
		e, _ := m["error"].(map[string]any)
		if m["type"] != "error" || e["msg"] != "ratelimited" {
			t.Fatalf("%s: got %v, want a ratelimited error event", f, m)
		}
	}
	if n := posted.Load(); n != 1 {
		t.Errorf("%d messages posted, want 1", n)
	}
	// Another session of the same user has a bucket of its own.
	s.MustConnect(t, "U1~b").sync()
}

// A client that goes on past floodRefusals refused frames within
// floodWindow is closed with 4029, after its acks.
func TestFloodCloses(t *testing.T) {
	s := MustServe(t, Config{Limiter: limiter(1)}, &fakeChat{})
	c := s.MustConnect(t, "U1")
	total := floodRefusals + 10
	go func() {
		for i := range total {
			p := fmt.Appendf(nil, `{"id":%d,"type":"ping"}`, i+1)
			if err := c.ws.WriteMessage(websocket.TextMessage, p); err != nil {
				return // closed
			}
		}
	}()
	pongs, refused := 0, 0
	deadline := time.After(waitFor)
	for {
		select {
		case p, ok := <-c.frames:
			if ok {
				if strings.HasPrefix(string(p), `{"type":"pong"`) {
					pongs++
				} else {
					refused++
				}
				continue
			}
			err := <-c.err
			ce, isClose := err.(*websocket.CloseError)
			if !isClose || ce.Code != int(closeFlood) {
				t.Fatalf("ended with %v, want close %d", err, closeFlood)
			}
			if pongs != 1 || refused != floodRefusals {
				t.Errorf("%d pongs and %d refused before the close, want 1 and %d", pongs, refused, floodRefusals)
			}
			return
		case <-deadline:
			t.Fatalf("not closed within %v: %d pongs, %d refused", waitFor, pongs, refused)
		}
	}
}
