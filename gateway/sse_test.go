package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
)

// sseItem is one event an SSE stream carried: its data (its data lines
// joined by newlines), or a heartbeat.
type sseItem struct {
	data    string
	comment bool   // a heartbeat, or an id with no data
	id      string // the event's id, when it set one
}

// sseClient reads a Server-Sent Events stream as a browser's EventSource
// parses it, into a channel, so that reads can wait with a deadline.
type sseClient struct {
	t      *testing.T
	resp   *http.Response
	items  chan sseItem // closed at the end of the stream
	stream string       // the stream's id, from its hello
}

// sseURL is the stream of ticket on s.
func (s *testServer) sseURL(ticket string) string { return s.srv.URL + ssePrefix + ticket }

// openSSE opens the stream of ticket; the answer is the caller's to check.
func (s *testServer) openSSE(t *testing.T, ticket string, h http.Header) *sseClient {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.sseURL(ticket), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("open %s: %v", ticket, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	c := &sseClient{t: t, resp: resp, items: make(chan sseItem, 1<<12)}
	if resp.StatusCode != http.StatusOK {
		close(c.items) // a refusal: its body is the caller's to read
		return c
	}
	go func() {
		defer close(c.items)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var (
			data     []string
			name, id string
		)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				switch {
				case data != nil:
					c.items <- sseItem{data: strings.Join(data, "\n"), comment: name == "heartbeat", id: id}
				case id != "":
					c.items <- sseItem{comment: true, id: id}
				}
				data, name, id = nil, "", ""
			case strings.HasPrefix(line, "id:"):
				id = strings.TrimPrefix(strings.TrimPrefix(line, "id:"), " ")
			case strings.HasPrefix(line, "event:"):
				name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			}
		}
	}()
	return c
}

// mustSSE opens user's stream and reads hello.
func (s *testServer) mustSSE(t *testing.T, user string) *sseClient {
	t.Helper()
	c := s.openSSE(t, "ticket-"+user, nil)
	if c.resp.StatusCode != http.StatusOK {
		t.Fatalf("open the stream of %s: %s", user, c.resp.Status)
	}
	var hello struct{ Type, Stream string }
	if got := c.next(); json.Unmarshal([]byte(got), &hello) != nil || hello.Type != "hello" || hello.Stream == "" {
		t.Fatalf("first event = %s, want hello with the stream's id", got)
	}
	c.stream = hello.Stream
	return c
}

// take returns the next event's data, skipping heartbeats, or false when
// none comes within d.
func (c *sseClient) take(d time.Duration) (string, bool) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case it, ok := <-c.items:
			if !ok {
				c.t.Fatal("the stream ended")
			}
			if !it.comment {
				return it.data, true
			}
		case <-deadline:
			return "", false
		}
	}
}

// next returns the next event's data, skipping heartbeats.
func (c *sseClient) next() string {
	c.t.Helper()
	data, ok := c.take(waitFor)
	if !ok {
		c.t.Fatal("timed out waiting for an event")
	}
	return data
}

// quiet checks that no event comes for a while.
func (c *sseClient) quiet(d time.Duration) {
	c.t.Helper()
	if data, ok := c.take(d); ok {
		c.t.Fatalf("got %s, want nothing", data)
	}
}

// closed reads to the end of the stream and returns its last event, the
// close, decoded.
func (c *sseClient) closed() (code int, reason string) {
	c.t.Helper()
	deadline := time.After(waitFor)
	var last string
	for {
		select {
		case it, ok := <-c.items:
			if !ok {
				var cl struct {
					Type   string `json:"type"`
					Code   int    `json:"code"`
					Reason string `json:"reason"`
				}
				if err := json.Unmarshal([]byte(last), &cl); err != nil || cl.Type != "close" {
					c.t.Fatalf("the stream ended after %q, want a close event", last)
				}
				return cl.Code, cl.Reason
			}
			if !it.comment {
				last = it.data
			}
		case <-deadline:
			c.t.Fatal("timed out waiting for the end of the stream")
		}
	}
}

// An SSE stream carries what a WebSocket carries, hello first, as events
// whose data is the frame, to the members of a channel only; its answer
// keeps proxies from buffering or compressing it.
func TestSSEStream(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}, "U2": {"C2"}}),
	})
	a := s.mustSSE(t, "U1")
	for k, want := range map[string]string{
		"Content-Type":      "text/event-stream; charset=utf-8",
		"Cache-Control":     "no-cache, no-store, no-transform",
		"X-Accel-Buffering": "no",
	} {
		if got := a.resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if a.resp.ContentLength != -1 || len(a.resp.TransferEncoding) != 0 {
		t.Errorf("length %d, transfer encoding %v: want a body until the close", a.resp.ContentLength, a.resp.TransferEncoding)
	}
	ws := s.MustConnect(t, "U1")
	b := s.mustSSE(t, "U2")

	for _, frame := range []string{`{"type":"message","channel":"C1","text":"one"}`, `{"type":"message","channel":"C1","text":"two"}`} {
		if !s.bus.publish("T1.c.C1", pub(frame)) {
			t.Fatal("T1.c.C1 not subscribed")
		}
		if got := a.next(); got != frame {
			t.Fatalf("the stream got %s, want %s", got, frame)
		}
		if got := string(ws.read()); got != frame {
			t.Fatalf("the WebSocket got %s, want %s", got, frame)
		}
	}
	b.quiet(100 * time.Millisecond) // U2 is not in C1
	if n := s.g.Conns(); n != 3 {
		t.Fatalf("Conns() = %d, want 3", n)
	}
}

// A stream says nothing back, so it is never idle: it gets heartbeat
// events instead, and outlives the idle timeout a silent WebSocket would
// not.
func TestSSEHeartbeat(t *testing.T) {
	s := MustServe(t, Config{PingInterval: 20 * time.Millisecond, IdleTimeout: 100 * time.Millisecond}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}}),
	})
	c := s.mustSSE(t, "U1")
	deadline := time.After(waitFor)
	for comments := 0; comments < 15; { // 300 ms: three idle timeouts
		select {
		case it, ok := <-c.items:
			if !ok {
				t.Fatal("the stream ended")
			}
			if !it.comment {
				t.Fatalf("got %s, want heartbeats", it.data)
			}
			comments++
		case <-deadline:
			t.Fatal("no heartbeats")
		}
	}
	frame := `{"type":"message","channel":"C1","text":"still here"}`
	s.bus.publish("T1.c.C1", pub(frame))
	if got := c.next(); got != frame {
		t.Fatalf("got %s, want %s", got, frame)
	}
}

// The stream ends as a WebSocket does, its close code and reason in a
// last event: a revoked session's stream with 4101, every stream at
// shutdown with goodbye and 1001.
func TestSSEClose(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{})
	revoked, kept := s.mustSSE(t, "U1"), s.mustSSE(t, "U1~b")
	s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpRevoke, Session: sessionOf("ticket-U1")})
	if code, _ := revoked.closed(); code != int(closeRevoked) {
		t.Fatalf("the revoked session's stream closed with %d, want %d", code, closeRevoked)
	}
	kept.quiet(50 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.g.Shutdown(ctx) }()
	if got := kept.next(); got != string(confab.GoodbyeFrame) {
		t.Fatalf("got %s, want goodbye", got)
	}
	if code, _ := kept.closed(); code != int(ws.StatusGoingAway) {
		t.Fatalf("closed with %d at shutdown, want 1001", code)
	}
	kept.resp.Body.Close()
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// A stream takes its places in the quotas like a WebSocket, and its
// ticket is redeemed like one.
func TestSSEQuotasAndTickets(t *testing.T) {
	s := MustServe(t, Config{MaxConnsPerUser: 1}, &fakeChat{})
	first := s.mustSSE(t, "U1")
	if c := s.openSSE(t, "ticket-U1", nil); c.resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a second stream of U1: %s, want 429", c.resp.Status)
	}
	if _, resp, err := s.dial(t, "ticket-U1", nil); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a WebSocket beside the stream: %v, want 429", err)
	}
	// A client that goes away gives its place back.
	first.resp.Body.Close()
	deadline := time.Now().Add(waitFor)
	for s.g.Conns() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream of a client gone is still open")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.mustSSE(t, "U1")
	c := s.openSSE(t, "not-a-ticket", nil)
	if c.resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a bad ticket: %s, want 401", c.resp.Status)
	}
	var body struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(c.resp.Body).Decode(&body); err != nil || body.OK || body.Error != "invalid_auth" {
		t.Fatalf("a bad ticket's answer: %+v, %v; want invalid_auth", body, err)
	}
	other := s.openSSE(t, "ticket-U2", http.Header{"Origin": {"https://evil.example"}})
	if other.resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another site's page: %s, want 403", other.resp.Status)
	}
}

// An event is a data line per line of the frame; a ping is the heartbeat.
func TestSSEEvent(t *testing.T) {
	for _, tc := range []struct {
		op      ws.OpCode
		payload string
		want    string
	}{
		{ws.OpText, `{"type":"hello"}`, "data: {\"type\":\"hello\"}\n\n"},
		{ws.OpText, "a\nb\r\nc", "data: a\ndata: b\ndata: c\n\n"},
		{ws.OpText, "", "data: \n\n"},
		{ws.OpPing, "", "event: heartbeat\ndata:\n\n"},
	} {
		if got := string(sseEvent(tc.op, []byte(tc.payload))); got != tc.want {
			t.Errorf("sseEvent(%v, %q) = %q, want %q", tc.op, tc.payload, got, tc.want)
		}
	}
	f := newWireFrame(ws.OpText, []byte(`{"a":1}`), 0)
	if got := string(f.bytes(true)); got != "data: {\"a\":1}\n\n" {
		t.Errorf("a frame as an event: %q", got)
	}
	if got := f.bytes(false); string(got) != string(f.b) {
		t.Errorf("a frame as a WebSocket frame: %q", got)
	}
}

// A stream's hello names it, and rtm.presenceSub (an OpPresenceSub on its
// user's topic) makes that stream of the user's, and no other, watch the
// presence of the users it names, as a presence_sub frame does.
func TestSSEPresenceSub(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{})
	a, other := s.mustSSE(t, "U1"), s.mustSSE(t, "U1")
	if a.stream == other.stream {
		t.Fatalf("two streams have the id %s", a.stream)
	}
	ids, _ := json.Marshal([]string{"U2", "not a user"})
	s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpPresenceSub, Channel: a.stream, Frame: ids})
	s.bus.waitSubscribed(t, "T1.p.U2", true)
	frame := `{"type":"presence_change","user":"U2","presence":"away"}`
	s.bus.publish("T1.p.U2", pub(frame))
	if got := a.next(); got != frame {
		t.Fatalf("the stream got %s, want %s", got, frame)
	}
	other.quiet(50 * time.Millisecond)

	// Another user's topic cannot name the stream; nobody is nobody.
	s.g.HandlePublication("T1.u.U9", marshal(confab.Publication{Op: confab.OpPresenceSub, Channel: a.stream, Frame: []byte(`[]`)}))
	s.bus.publish("T1.p.U2", pub(frame))
	if got := a.next(); got != frame {
		t.Fatalf("the stream got %s, want %s still", got, frame)
	}
	s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpPresenceSub, Channel: a.stream, Frame: []byte(`[]`)})
	s.bus.waitSubscribed(t, "T1.p.U2", false)
}

// Joining and leaving widen and narrow a stream as they do a WebSocket:
// channel_joined, then the channel's messages; channel_left, then none.
func TestSSEJoinAndLeave(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}}),
	})
	c := s.mustSSE(t, "U1")
	s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpJoin, Channel: "C9", Frame: []byte(`{"type":"channel_joined","channel":{"id":"C9"}}`)})
	if got := c.next(); !strings.Contains(got, `"channel_joined"`) {
		t.Fatalf("got %s, want channel_joined", got)
	}
	msg := `{"type":"message","channel":"C9","text":"welcome"}`
	s.bus.publish("T1.c.C9", pub(msg))
	if got := c.next(); got != msg {
		t.Fatalf("got %s, want %s", got, msg)
	}
	s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpLeave, Channel: "C9", Frame: confab.ChannelLeftEvent("C9")})
	if got := c.next(); !strings.Contains(got, `"channel_left"`) {
		t.Fatalf("got %s, want channel_left", got)
	}
	s.bus.waitSubscribed(t, "T1.c.C9", false)
	s.g.HandlePublication("T1.c.C9", marshal(pub(msg)))
	other := `{"type":"message","channel":"C1","text":"still here"}`
	s.bus.publish("T1.c.C1", pub(other))
	if got := c.next(); got != other {
		t.Fatalf("got %s after leaving C9, want only %s", got, other)
	}
}

// A request whose connection cannot be taken over gets a clear error, not
// an empty answer an EventSource would read as a stream that ended.
func TestSSEWithoutHijack(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{})
	w := httptest.NewRecorder() // not a Hijacker
	s.g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, ssePrefix+"ticket-U1", nil))
	var body struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusInternalServerError || body.OK || body.Error != "internal_error" {
		t.Fatalf("answer %d %q, want 500 with ok false", w.Code, w.Body.String())
	}
	if n := s.g.Conns(); n != 0 {
		t.Fatalf("Conns() = %d, want 0", n)
	}
}
