package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

const waitFor = 5 * time.Second

// fakeChat is a function-field test double of Chat; nil fields take a
// default behaviour.
type fakeChat struct {
	RedeemTicketFn   func(ctx context.Context, ticket string) (*confab.User, error)
	CheckAdmissionFn func(ctx context.Context, a *chat.Admission) error
	UserChannelsFn   func(ctx context.Context, userID string) ([]string, error)
	PostMessageFn    func(ctx context.Context, u *confab.User, p chat.PostParams) (*confab.Message, error)
	TypingFn         func(ctx context.Context, u *confab.User, channel string) error
	ConnectedFn      func(ctx context.Context, u *confab.User)
	DisconnectedFn   func(ctx context.Context, u *confab.User)
	CatchUpFn        func(ctx context.Context, u *confab.User, checkpoints map[string]int64) ([]chat.CatchUpChannel, error)
}

// RedeemTicket accepts "ticket-<user id>" by default, or
// "ticket-<user id>~<session>" for a session other than the user's first
// (sessionOf).
func (f *fakeChat) RedeemTicket(ctx context.Context, ticket string) (*chat.Admission, error) {
	if f.RedeemTicketFn != nil {
		u, err := f.RedeemTicketFn(ctx, ticket)
		if err != nil {
			return nil, err
		}
		return &chat.Admission{User: u, Session: sessionOf(ticket)}, nil
	}
	id, ok := strings.CutPrefix(ticket, "ticket-")
	if !ok {
		return nil, confab.ErrInvalidAuth
	}
	id, _, _ = strings.Cut(id, "~")
	return &chat.Admission{User: &confab.User{ID: id, WorkspaceID: "T1", Name: strings.ToLower(id)}, Session: sessionOf(ticket)}, nil
}

// sessionOf is the session of the fake's ticket: "ticket-U1" and
// "ticket-U1~b" are two sessions of U1.
func sessionOf(ticket string) confab.Fingerprint { return chat.Fingerprint(ticket) }

// StreamKey is "key-<user id>~<session>", which RedeemStreamKey takes
// back while the session is admitted (CheckAdmission).
func (f *fakeChat) StreamKey(a *chat.Admission) (string, error) {
	return "key-" + a.User.ID + "~" + strconv.FormatUint(uint64(a.Session), 16), nil
}

func (f *fakeChat) RedeemStreamKey(ctx context.Context, key string) (*chat.Admission, error) {
	rest, ok := strings.CutPrefix(key, "key-")
	id, fp, ok2 := strings.Cut(rest, "~")
	n, err := strconv.ParseUint(fp, 16, 64)
	if !ok || !ok2 || err != nil {
		return nil, confab.ErrInvalidAuth
	}
	a := &chat.Admission{User: &confab.User{ID: id, WorkspaceID: "T1", Name: strings.ToLower(id)}, Session: confab.Fingerprint(n)}
	if err := f.CheckAdmission(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// CheckAdmission admits every session by default.
func (f *fakeChat) CheckAdmission(ctx context.Context, a *chat.Admission) error {
	if f.CheckAdmissionFn != nil {
		return f.CheckAdmissionFn(ctx, a)
	}
	return nil
}

func (f *fakeChat) UserChannels(ctx context.Context, userID string) ([]string, error) {
	if f.UserChannelsFn != nil {
		return f.UserChannelsFn(ctx, userID)
	}
	return nil, nil
}

func (f *fakeChat) PostMessage(ctx context.Context, u *confab.User, p chat.PostParams) (*confab.Message, error) {
	if f.PostMessageFn != nil {
		return f.PostMessageFn(ctx, u, p)
	}
	return nil, confab.ErrChannelNotFound
}

func (f *fakeChat) Typing(ctx context.Context, u *confab.User, channel string) error {
	if f.TypingFn != nil {
		return f.TypingFn(ctx, u, channel)
	}
	return nil
}

func (f *fakeChat) Connected(ctx context.Context, u *confab.User) {
	if f.ConnectedFn != nil {
		f.ConnectedFn(ctx, u)
	}
}

func (f *fakeChat) Disconnected(ctx context.Context, u *confab.User) {
	if f.DisconnectedFn != nil {
		f.DisconnectedFn(ctx, u)
	}
}

// channelsOf answers UserChannels from a fixed map.
func channelsOf(m map[string][]string) func(context.Context, string) ([]string, error) {
	return func(_ context.Context, id string) ([]string, error) { return m[id], nil }
}

// fakeBus is an in-test bus: publish delivers to the gateway only topics it
// is subscribed to, like a real bus, and it counts calls.
type fakeBus struct {
	deliver func(topic string, payload []byte) // the gateway's handler, from open

	mu         sync.Mutex
	subs       map[string]bool
	subCalls   map[string]int
	unsubCalls map[string]int
	changed    chan struct{} // closed and replaced on every change
	gate       chan struct{} // when set, Subscribe of gateTopic waits for it to be closed (setGate)
	gateTopic  string
}

func newFakeBus() *fakeBus {
	return &fakeBus{subs: map[string]bool{}, subCalls: map[string]int{}, unsubCalls: map[string]int{}, changed: make(chan struct{})}
}

// setGate makes Subscribe of topic wait until gate is closed.
func (b *fakeBus) setGate(gate chan struct{}, topic string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gate, b.gateTopic = gate, topic
}

func (b *fakeBus) Subscribe(_ context.Context, topics ...string) error {
	b.mu.Lock()
	gate, gateTopic := b.gate, b.gateTopic
	b.mu.Unlock()
	if gate != nil && slices.Contains(topics, gateTopic) {
		<-gate
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range topics {
		b.subs[t] = true
		b.subCalls[t]++
	}
	close(b.changed)
	b.changed = make(chan struct{})
	return nil
}

func (b *fakeBus) Unsubscribe(_ context.Context, topics ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range topics {
		delete(b.subs, t)
		b.unsubCalls[t]++
	}
	close(b.changed)
	b.changed = make(chan struct{})
	return nil
}

// open is the gateway's OpenBus: it keeps the handler the gateway gives.
func (b *fakeBus) open(deliver func(topic string, payload []byte)) (Bus, error) {
	b.deliver = deliver
	return b, nil
}

func (b *fakeBus) Close() error { return nil }

// publish hands p to the gateway's handler if topic is subscribed, and
// reports whether it was.
func (b *fakeBus) publish(topic string, p confab.Publication) bool {
	b.mu.Lock()
	ok := b.subs[topic]
	b.mu.Unlock()
	if ok {
		b.deliver(topic, p.Marshal())
	}
	return ok
}

// calls returns how often topic was subscribed and unsubscribed.
func (b *fakeBus) calls(topic string) (sub, unsub int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.subCalls[topic], b.unsubCalls[topic]
}

// waitUntil waits until cond holds over the bus state.
func (b *fakeBus) waitUntil(t *testing.T, what string, cond func(b *fakeBus) bool) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		b.mu.Lock()
		ok, ch := cond(b), b.changed
		b.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for bus: %s", what)
		}
	}
}

func (b *fakeBus) waitSubscribed(t *testing.T, topic string, want bool) {
	t.Helper()
	b.waitUntil(t, topic, func(b *fakeBus) bool { return b.subs[topic] == want })
}

// testServer is a gateway on a real 127.0.0.1 listener.
type testServer struct {
	g   *Gateway
	bus *fakeBus
	url string // ws://127.0.0.1:port/rtm/
	srv *httptest.Server
}

func MustServe(t *testing.T, cfg Config, ch *fakeChat) *testServer {
	t.Helper()
	bus := newFakeBus()
	cfg.Chat, cfg.OpenBus = ch, bus.open
	g := mustNew(t, cfg)
	withoutPollerIfAsked(g)
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		srv.Close()
	})
	return &testServer{g: g, bus: bus, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/rtm/", srv: srv}
}

// client is a gorilla/websocket client whose frames are read by a goroutine
// into a channel, so that reads can wait with a deadline.
type client struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan []byte
	err    chan error // the read error that ended the connection
	nextID int
}

func (s *testServer) dial(t *testing.T, ticket string, h http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(s.url+ticket, h)
	if err == nil {
		t.Cleanup(func() { ws.Close() })
	}
	return ws, resp, err
}

// MustConnect connects as user and reads hello.
func (s *testServer) MustConnect(t *testing.T, user string) *client {
	t.Helper()
	ws, _, err := s.dial(t, "ticket-"+user, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", user, err)
	}
	c := newClient(t, ws)
	if got := c.read(); string(got) != string(confab.HelloFrame) {
		t.Fatalf("first frame = %s, want hello", got)
	}
	return c
}

func newClient(t *testing.T, ws *websocket.Conn) *client {
	c := &client{t: t, ws: ws, frames: make(chan []byte, 1<<16), err: make(chan error, 1), nextID: 1000}
	go func() {
		for {
			_, p, err := ws.ReadMessage()
			if err != nil {
				c.err <- err
				close(c.frames)
				return
			}
			c.frames <- p
		}
	}()
	return c
}

// read returns the next frame.
func (c *client) read() []byte {
	c.t.Helper()
	select {
	case p, ok := <-c.frames:
		if !ok {
			c.t.Fatalf("connection closed: %v", <-c.err)
		}
		return p
	case <-time.After(waitFor):
		c.t.Fatalf("timed out reading a frame")
	}
	return nil
}

func (c *client) readJSON() map[string]any {
	c.t.Helper()
	p := c.read()
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		c.t.Fatalf("frame %s: %v", p, err)
	}
	return m
}

func (c *client) write(v any) {
	c.t.Helper()
	var p []byte
	switch v := v.(type) {
	case string:
		p = []byte(v)
	default:
		p, _ = json.Marshal(v)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, p); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// sync sends an RTM ping and requires the very next frame to be its pong:
// nothing else was queued for c before the ping was handled.
func (c *client) sync() {
	c.t.Helper()
	c.nextID++
	c.write(map[string]any{"id": c.nextID, "type": "ping"})
	m := c.readJSON()
	if m["type"] != "pong" || m["reply_to"] != float64(c.nextID) {
		c.t.Fatalf("got %v, want only the pong to ping %d", m, c.nextID)
	}
}

// closeCode waits for the connection to end and returns its close code
// (-1 when it ended without a close frame).
func (c *client) closeCode() int {
	c.t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case _, ok := <-c.frames:
			if ok {
				continue
			}
			err := <-c.err
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			return -1
		case <-deadline:
			c.t.Fatalf("timed out waiting for close")
			return 0
		}
	}
}

func pub(frame string) confab.Publication {
	return confab.Publication{Op: confab.OpDeliver, Time: time.Now().UnixNano(), Frame: []byte(frame)}
}

func marshal(p confab.Publication) []byte { return p.Marshal() }

// noPoller makes the test servers run without the poller, as where there is
// no epoll: connections keep their net.Conn and a blocking reader
// goroutine (TestWithoutPoller).
var noPoller bool

// withoutPollerIfAsked stops g's poller when noPoller is set; g serves
// nothing yet.
func withoutPollerIfAsked(g *Gateway) {
	if noPoller && g.poller != nil {
		p := g.poller
		g.poller = nil
		p.stop()
	}
}

// dialRaw connects user with a gobwas client and reads hello; the caller
// decides when to read further.
func dialRaw(t *testing.T, s *testServer, user string) (net.Conn, io.Reader) {
	t.Helper()
	nc, br, _, err := ws.Dial(context.Background(), s.url+"ticket-"+user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	var r io.Reader = nc
	if br != nil {
		r = io.MultiReader(br, nc)
	}
	nc.SetReadDeadline(time.Now().Add(waitFor))
	if f, err := ws.ReadFrame(r); err != nil || string(f.Payload) != string(confab.HelloFrame) {
		t.Fatalf("%v, want hello", err)
	}
	return nc, r
}
