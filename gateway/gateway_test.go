package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

func TestHelloAfterRegistration(t *testing.T) {
	connected := make(chan string, 1)
	s := MustServe(t, Config{}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}}),
		ConnectedFn:    func(_ context.Context, u *confab.User) { connected <- u.ID },
	})
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(open)
	s.bus.setGate(gate, "T1.c.C1")
	ws, _, err := s.dial(t, "ticket-U1", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, ws)
	// While the bus subscription is pending, hello must not come.
	select {
	case p := <-c.frames:
		t.Fatalf("got %s before the bus subscription completed", p)
	case <-time.After(100 * time.Millisecond):
	}
	open()
	if got := c.read(); string(got) != string(confab.HelloFrame) {
		t.Fatalf("first frame = %s, want hello", got)
	}
	select {
	case id := <-connected:
		if id != "U1" {
			t.Fatalf("Connected(%s), want U1", id)
		}
	default:
		t.Fatal("hello arrived before Chat.Connected")
	}
	// Published right after hello: the bus must already be subscribed.
	if !s.bus.publish("T1.c.C1", pub(`{"type":"message","channel":"C1","text":"hi"}`)) {
		t.Fatal("T1.c.C1 not subscribed when hello was sent")
	}
	if got := string(c.read()); got != `{"type":"message","channel":"C1","text":"hi"}` {
		t.Fatalf("got %s", got)
	}
	if s.g.Conns() != 1 {
		t.Fatalf("Conns() = %d, want 1", s.g.Conns())
	}
}

func TestDeliveryToMembersOnly(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}, "U2": {"C2"}}),
	})
	a1, a2 := s.MustConnect(t, "U1"), s.MustConnect(t, "U1")
	b := s.MustConnect(t, "U2")

	frame := `{"type":"message","channel":"C1","text":"to U1"}`
	if !s.bus.publish("T1.c.C1", pub(frame)) {
		t.Fatal("T1.c.C1 not subscribed")
	}
	for i, c := range []*client{a1, a2} {
		if got := string(c.read()); got != frame {
			t.Fatalf("conn %d got %s, want %s", i, got, frame)
		}
	}
	b.sync() // U2 is not in C1: nothing before its pong

	if sub, _ := s.bus.calls("T1.c.C1"); sub != 1 {
		t.Fatalf("Subscribe(c.C1) called %d times, want 1", sub)
	}
	if sub, _ := s.bus.calls("T1.u.U1"); sub != 1 {
		t.Fatalf("Subscribe(u.U1) called %d times, want 1", sub)
	}
}

func TestJoinAndLeave(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}, "U2": {"C9"}}),
	})
	a1, a2 := s.MustConnect(t, "U1"), s.MustConnect(t, "U1")
	other := s.MustConnect(t, "U2") // keeps c.C9 subscribed on its own

	joined := confab.Publication{Op: confab.OpJoin, Channel: "C9", Frame: []byte(`{"type":"channel_joined","channel":{"id":"C9"}}`)}
	if !s.bus.publish("T1.u.U1", joined) {
		t.Fatal("T1.u.U1 not subscribed")
	}
	for _, c := range []*client{a1, a2} {
		if m := c.readJSON(); m["type"] != "channel_joined" {
			t.Fatalf("got %v, want channel_joined", m)
		}
	}
	// The join is live: a message in C9 reaches both connections.
	msg := `{"type":"message","channel":"C9","text":"welcome"}`
	s.bus.publish("T1.c.C9", pub(msg))
	for _, c := range []*client{a1, a2} {
		if got := string(c.read()); got != msg {
			t.Fatalf("got %s, want %s", got, msg)
		}
	}

	left := confab.Publication{Op: confab.OpLeave, Channel: "C9", Frame: confab.ChannelLeftEvent("C9")}
	s.bus.publish("T1.u.U1", left)
	for _, c := range []*client{a1, a2} {
		if m := c.readJSON(); m["type"] != "channel_left" {
			t.Fatalf("got %v, want channel_left", m)
		}
	}
	s.bus.publish("T1.c.C9", pub(msg))
	a1.sync()
	a2.sync()
	if got := string(other.read()); got != msg {
		t.Fatalf("U2 got %s, want %s", got, msg)
	}
	if sub, unsub := s.bus.calls("T1.c.C9"); sub != 1 || unsub != 0 {
		t.Fatalf("T1.c.C9: %d subscribes, %d unsubscribes; want 1, 0 (U2 still there)", sub, unsub)
	}
}

// channel_joined comes only once the channel's bus subscription is in
// place, like hello: an event published after it reaches the connection.
func TestChannelJoinedAfterSubscription(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}}),
	})
	c := s.MustConnect(t, "U1")
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(open)
	s.bus.setGate(gate, "T1.c.C7")
	s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpJoin, Channel: "C7", Frame: []byte(`{"type":"channel_joined","channel":{"id":"C7"}}`)})
	select {
	case p := <-c.frames:
		t.Fatalf("got %s before the bus subscription completed", p)
	case <-time.After(100 * time.Millisecond):
	}
	open()
	if m := c.readJSON(); m["type"] != "channel_joined" {
		t.Fatalf("got %v, want channel_joined", m)
	}
	msg := `{"type":"message","channel":"C7","text":"right after the join"}`
	if !s.bus.publish("T1.c.C7", pub(msg)) {
		t.Fatal("T1.c.C7 not subscribed when channel_joined was sent")
	}
	if got := string(c.read()); got != msg {
		t.Fatalf("got %s, want %s", got, msg)
	}
}

func TestJoinSubscribesAndLastLeaveUnsubscribes(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}}),
	})
	a1, a2 := s.MustConnect(t, "U1"), s.MustConnect(t, "U1")

	s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpJoin, Channel: "C7", Frame: []byte(`{"type":"channel_joined"}`)})
	a1.read()
	a2.read()
	s.bus.waitSubscribed(t, "T1.c.C7", true) // asynchronous: the bus handler never waits on the bus
	msg := `{"type":"message","channel":"C7"}`
	s.bus.publish("T1.c.C7", pub(msg))
	for _, c := range []*client{a1, a2} {
		if got := string(c.read()); got != msg {
			t.Fatalf("got %s, want %s", got, msg)
		}
	}
	s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpLeave, Channel: "C7", Frame: confab.ChannelLeftEvent("C7")})
	a1.read()
	a2.read()
	s.bus.waitSubscribed(t, "T1.c.C7", false)
	// Bypass the bus: the hub itself has nobody left for c.C7.
	s.g.HandlePublication("T1.c.C7", marshal(pub(msg)))
	a1.sync()
	a2.sync()
	if sub, unsub := s.bus.calls("T1.c.C7"); sub != 1 || unsub != 1 {
		t.Fatalf("T1.c.C7: %d subscribes, %d unsubscribes; want 1, 1", sub, unsub)
	}

	// The last connection of U1 going unsubscribes its topics, once.
	a1.ws.Close()
	if sub, unsub := s.bus.calls("T1.c.C1"); sub != 1 || unsub != 0 {
		t.Fatalf("T1.c.C1 after one close: %d subscribes, %d unsubscribes; want 1, 0", sub, unsub)
	}
	a2.ws.Close()
	s.bus.waitSubscribed(t, "T1.c.C1", false)
	s.bus.waitSubscribed(t, "T1.u.U1", false)
	if sub, unsub := s.bus.calls("T1.c.C1"); sub != 1 || unsub != 1 {
		t.Fatalf("T1.c.C1: %d subscribes, %d unsubscribes; want 1, 1", sub, unsub)
	}
}

func TestRTMPing(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{})
	c := s.MustConnect(t, "U1")
	c.write(`{"id":7,"type":"ping","time":1234,"extra":{"a":[1,"x"]}}`)
	var got, want map[string]any
	json.Unmarshal(c.read(), &got)
	json.Unmarshal([]byte(`{"type":"pong","reply_to":7,"time":1234,"extra":{"a":[1,"x"]}}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pong = %v, want %v", got, want)
	}
}

func TestTyping(t *testing.T) {
	typed := make(chan string, 1)
	s := MustServe(t, Config{}, &fakeChat{
		TypingFn: func(_ context.Context, u *confab.User, ch string) error { typed <- u.ID + " " + ch; return nil },
	})
	c := s.MustConnect(t, "U1")
	c.write(`{"id":1,"type":"typing","channel":"C1"}`)
	select {
	case got := <-typed:
		if got != "U1 C1" {
			t.Fatalf("Typing(%s), want U1 C1", got)
		}
	case <-time.After(waitFor):
		t.Fatal("Typing not called")
	}
	c.sync() // no reply to typing
}

func TestClientFrames(t *testing.T) {
	posted := make(chan chat.PostParams, 1)
	s := MustServe(t, Config{}, &fakeChat{
		PostMessageFn: func(_ context.Context, u *confab.User, p chat.PostParams) (*confab.Message, error) {
			switch p.Channel {
			case "C1":
				posted <- p
				return &confab.Message{ChannelID: p.Channel, UserID: u.ID, Text: p.Text, TS: 1700000000123456, Seq: 5}, nil
			case "CARCH":
				return nil, confab.ErrIsArchived
			case "CFAIL":
				return nil, fmt.Errorf("disk on fire")
			}
			return nil, confab.ErrChannelNotFound
		},
	})
	c := s.MustConnect(t, "U1")
	tests := []struct {
		name, in, want string
	}{
		{"message", `{"id":3,"type":"message","channel":"C1","text":"héllo","client_msg_id":"m-1"}`,
			`{"ok":true,"reply_to":3,"ts":"1700000000.123456","text":"héllo"}`},
		{"not found", `{"id":4,"type":"message","channel":"C404","text":"x"}`,
			`{"ok":false,"reply_to":4,"error":{"code":404,"msg":"channel_not_found"}}`},
		{"archived", `{"id":5,"type":"message","channel":"CARCH","text":"x"}`,
			`{"ok":false,"reply_to":5,"error":{"code":403,"msg":"is_archived"}}`},
		{"internal detail hidden", `{"id":6,"type":"message","channel":"CFAIL","text":"x"}`,
			`{"ok":false,"reply_to":6,"error":{"code":500,"msg":"internal_error"}}`},
		{"unknown type", `{"id":8,"type":"dance"}`,
			`{"ok":false,"reply_to":8,"error":{"code":400,"msg":"unknown_type"}}`},
		{"not json", `hello?`,
			`{"type":"error","error":{"code":400,"msg":"invalid_json"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.write(tt.in)
			if got := string(c.read()); got != tt.want {
				t.Fatalf("reply to %s = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
	c.t = t
	select {
	case p := <-posted:
		want := chat.PostParams{Channel: "C1", Text: "héllo", ClientMsgID: "m-1"}
		if p != want {
			t.Fatalf("PostMessage(%+v), want %+v", p, want)
		}
	default:
		t.Fatal("PostMessage not called")
	}
	c.write(`{"type":"dance"}`) // unknown without id: ignored
	c.sync()
}

func TestPresenceSub(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{})
	a, b := s.MustConnect(t, "U1"), s.MustConnect(t, "U2")
	a.write(`{"type":"presence_sub","ids":["U3","not-a-user","U3"]}`)
	a.sync() // presence_sub handled
	if sub, _ := s.bus.calls("T1.p.U3"); sub != 1 {
		t.Fatalf("Subscribe(p.U3) called %d times, want 1", sub)
	}
	frame := string(confab.PresenceEvent("U3", confab.PresenceActive))
	if !s.bus.publish("T1.p.U3", confab.Publication{Frame: []byte(frame)}) {
		t.Fatal("T1.p.U3 not subscribed")
	}
	if got := string(a.read()); got != frame {
		t.Fatalf("got %s, want %s", got, frame)
	}
	b.sync()

	a.write(`{"type":"presence_sub","ids":[]}`)
	a.sync()
	s.bus.waitSubscribed(t, "T1.p.U3", false)
	s.g.HandlePublication("T1.p.U3", marshal(confab.Publication{Frame: []byte(frame)}))
	a.sync()
}

func TestSlowConsumer(t *testing.T) {
	const limit = 64 << 10
	s := MustServe(t, Config{MaxQueueBytes: limit}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}, "U2": {"C1"}}),
	})
	// The slow client never reads, with a small receive buffer.
	d := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		nc, err := net.Dial(network, addr)
		if err == nil {
			nc.(*net.TCPConn).SetReadBuffer(4096)
		}
		return nc, err
	}}
	slow, _, err := d.Dial(s.url+"ticket-U1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slow.Close() })
	fast := s.MustConnect(t, "U2")

	pad := strings.Repeat("x", 16<<10)
	slowGone := func() bool { return counterValue(t, s.g.metrics.slowDisconnect) == 1 }
	i := 0
	for ; !slowGone(); i++ {
		if i == 20000 {
			t.Fatalf("slow consumer still connected after %d frames of 16 KiB", i)
		}
		frame := fmt.Sprintf(`{"type":"message","seq":%d,"text":"%s"}`, i, pad)
		s.bus.publish("T1.c.C1", pub(frame))
		if got := string(fast.read()); got != frame {
			t.Fatalf("fast client frame %d wrong (%.40s…)", i, got)
		}
		s.g.eachConn(func(c *conn) {
			c.mu.Lock()
			// Past the limit only while it waits for a writer's turn, a
			// wait it is not charged for (see conn).
			if c.bytes > limit && (c.own || c.bytes > queueCeiling*limit) {
				t.Errorf("queue of conn %d holds %d bytes, limit %d (own writer: %v)", c.id, c.bytes, limit, c.own)
			}
			c.mu.Unlock()
		})
	}
	t.Logf("slow consumer disconnected after %d frames", i)
	// The fast one goes on receiving every frame.
	for j := range 10 {
		frame := fmt.Sprintf(`{"type":"message","seq":%d}`, i+j)
		s.bus.publish("T1.c.C1", pub(frame))
		if got := string(fast.read()); got != frame {
			t.Fatalf("got %s, want %s", got, frame)
		}
	}
	deadline := time.Now().Add(waitFor)
	for s.g.Conns() != 1 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("Conns() = %d, want 1\n%s", s.g.Conns(), buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
	// What the slow client finally reads ends in an error, not a hang.
	slow.SetReadDeadline(time.Now().Add(waitFor))
	for n := 0; ; n++ {
		if _, _, err := slow.ReadMessage(); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("slow client's connection was not closed (read %d frames)", n)
			}
			break
		}
	}
}

func TestFrameTooBig(t *testing.T) {
	s := MustServe(t, Config{MaxFrameBytes: 1024}, &fakeChat{})
	c := s.MustConnect(t, "U1")
	c.write(strings.Repeat("x", 1025))
	if code := c.closeCode(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
}

func TestFrameLimitFitsLongMessage(t *testing.T) {
	// The default limit takes a 40,000-character message, JSON-escaped.
	got := make(chan int, 1)
	s := MustServe(t, Config{}, &fakeChat{
		PostMessageFn: func(_ context.Context, _ *confab.User, p chat.PostParams) (*confab.Message, error) {
			got <- len([]rune(p.Text))
			return &confab.Message{Text: "ok"}, nil
		},
	})
	c := s.MustConnect(t, "U1")
	c.write(map[string]any{"id": 1, "type": "message", "channel": "C1", "text": strings.Repeat("\u2028", 40000)})
	if m := c.readJSON(); m["ok"] != true {
		t.Fatalf("got %v", m)
	}
	if n := <-got; n != 40000 {
		t.Fatalf("text of %d characters, want 40000", n)
	}
}

func TestInvalidUTF8(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{})
	c := s.MustConnect(t, "U1")
	c.write("\xff\xfe")
	if code := c.closeCode(); code != websocket.CloseInvalidFramePayloadData {
		t.Fatalf("close code %d, want 1007", code)
	}
}

func TestHandshakeRefused(t *testing.T) {
	s := MustServe(t, Config{AllowedOrigins: []string{"https://app.example"}}, &fakeChat{})
	host := strings.TrimPrefix(strings.TrimSuffix(s.url, "/rtm/"), "ws://")
	tests := []struct {
		name, ticket, origin string
		status               int
		body                 string
	}{
		{"bad ticket", "nope", "", 401, `{"ok":false,"error":"invalid_auth"}`},
		{"empty ticket", "", "", 401, `{"ok":false,"error":"invalid_auth"}`},
		{"foreign origin", "ticket-U1", "https://evil.example", 403, `{"ok":false,"error":"invalid_origin"}`},
		{"same host origin", "ticket-U1", "http://" + host, 101, ""},
		{"allowed origin", "ticket-U1", "https://app.example", 101, ""},
		{"no origin", "ticket-U1", "", 101, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			_, resp, err := s.dial(t, tt.ticket, h)
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.body != "" {
				b, _ := io.ReadAll(resp.Body)
				if got := strings.TrimSpace(string(b)); got != tt.body {
					t.Fatalf("body %s, want %s", got, tt.body)
				}
			}
		})
	}
}

func TestIdleTimeout(t *testing.T) {
	s := MustServe(t, Config{PingInterval: time.Hour, IdleTimeout: 100 * time.Millisecond}, &fakeChat{})
	c := s.MustConnect(t, "U1")
	if code := c.closeCode(); code != int(closeIdle) {
		t.Fatalf("close code %d, want %d", code, closeIdle)
	}
}

func TestKeepalive(t *testing.T) {
	s := MustServe(t, Config{PingInterval: 20 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}, &fakeChat{})
	ws, _, err := s.dial(t, "ticket-U1", nil)
	if err != nil {
		t.Fatal(err)
	}
	pings := make(chan struct{}, 100)
	ws.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	c := newClient(t, ws)
	c.read() // hello
	// 20 pings answered span more than the idle timeout (400ms > 300ms).
	for i := range 20 {
		select {
		case <-pings:
		case <-time.After(waitFor):
			t.Fatalf("ping %d never came", i)
		}
	}
	c.sync() // still open
}

func TestShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	bus := newFakeBus()
	g := mustNew(t, Config{Chat: &fakeChat{UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}})}, OpenBus: bus.open})
	withoutPollerIfAsked(g)
	srv := newLocalServer(t, g)
	s := &testServer{g: g, bus: bus, url: "ws://" + srv.Addr().String() + "/rtm/"}

	var clients []*client
	for range 3 {
		clients = append(clients, s.MustConnect(t, "U1"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- g.Shutdown(ctx) }()
	for i, c := range clients {
		if got := string(c.read()); got != string(confab.GoodbyeFrame) {
			t.Fatalf("client %d got %s, want goodbye", i, got)
		}
		if code := c.closeCode(); code != websocket.CloseGoingAway {
			t.Fatalf("client %d close code %d, want 1001", i, code)
		}
		c.ws.Close()
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := g.Conns(); n != 0 {
		t.Fatalf("Conns() = %d after Shutdown", n)
	}
	if _, resp, err := s.dial(t, "ticket-U1", nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Shutdown: %v, want 503", err)
	}
	if _, unsub := bus.calls("T1.c.C1"); unsub != 1 {
		t.Fatalf("T1.c.C1 unsubscribed %d times, want 1", unsub)
	}
	srv.Close()
	deadline := time.Now().Add(waitFor)
	for runtime.NumGoroutine() > before+1 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before, %d after Shutdown\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

func TestShutdownDeadlineCutsConnections(t *testing.T) {
	// A client that never reads cannot hold Shutdown beyond its context.
	block := make(chan struct{})
	s := MustServe(t, Config{WriteTimeout: time.Hour}, &fakeChat{
		TypingFn: func(ctx context.Context, _ *confab.User, _ string) error {
			close(block)
			<-ctx.Done() // a chat call in flight is cancelled
			return ctx.Err()
		},
	})
	c := s.MustConnect(t, "U1")
	c.write(`{"type":"typing","channel":"C1"}`)
	<-block
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.g.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown = %v, want deadline exceeded", err)
	}
	if n := s.g.Conns(); n != 0 {
		t.Fatalf("Conns() = %d after Shutdown", n)
	}
}

// newLocalServer serves h on 127.0.0.1 without httptest, whose Close would
// count hijacked connections differently; it is closed by the caller.
func newLocalServer(t *testing.T, h http.Handler) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		srv.Serve(ln)
		close(done)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return closeOnce{ln, srv, done}
}

type closeOnce struct {
	net.Listener
	srv  *http.Server
	done chan struct{}
}

func (c closeOnce) Close() error {
	err := c.srv.Close()
	<-c.done
	return err
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := MustServe(t, Config{Registerer: reg}, &fakeChat{UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}})})
	c := s.MustConnect(t, "U1")
	s.bus.publish("T1.c.C1", pub(`{"type":"message"}`))
	c.read()
	c.sync()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		switch {
		case m.Gauge != nil:
			got[mf.GetName()] = m.GetGauge().GetValue()
		case m.Counter != nil:
			got[mf.GetName()] = m.GetCounter().GetValue()
		case m.Histogram != nil:
			got[mf.GetName()] = float64(m.GetHistogram().GetSampleCount())
		}
	}
	want := map[string]float64{
		"confab_gateway_connections":                     1,
		"confab_gateway_deliveries_total":                1,
		"confab_gateway_slow_consumer_disconnects_total": 0,
		"confab_gateway_stalled_disconnects_total":       0,
		"confab_gateway_handshakes_refused_total":        0,
		"confab_gateway_frames_received_total":           1,
		"confab_gateway_frames_ratelimited_total":        0,
		"confab_gateway_revoked_disconnects_total":       0,
		"confab_delivery_latency_seconds":                1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("metrics = %v, want %v", got, want)
	}
}

// TestWithoutPoller runs the connection tests again without the poller:
// the fallback where there is no epoll (a net.Conn and a blocking reader
// goroutine per connection).
func TestWithoutPoller(t *testing.T) {
	noPoller = true
	t.Cleanup(func() { noPoller = false })
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"HelloAfterRegistration", TestHelloAfterRegistration},
		{"ClientFrames", TestClientFrames},
		{"SlowConsumer", TestSlowConsumer},
		{"FrameTooBig", TestFrameTooBig},
		{"IdleTimeout", TestIdleTimeout},
		{"Keepalive", TestKeepalive},
		{"Shutdown", TestShutdown},
		{"ShutdownDeadlineCutsConnections", TestShutdownDeadlineCutsConnections},
		{"SSEStream", TestSSEStream},
		{"SSEHeartbeat", TestSSEHeartbeat},
		{"SSEClose", TestSSEClose},
	} {
		t.Run(tc.name, tc.f)
	}
}

// finishTransport stands in for a detached socket and records how finish
// ends it.
type finishTransport struct{ blocked, discarded int }

func (d *finishTransport) Write(p []byte) (int, error)      { return len(p), nil }
func (d *finishTransport) SetReadDeadline(time.Time) error  { return nil }
func (d *finishTransport) SetWriteDeadline(time.Time) error { return nil }
func (d *finishTransport) Close() error                     { return nil }
func (d *finishTransport) blocking() transport              { d.blocked++; return nil }
func (d *finishTransport) discard()                         { d.discarded++ }

// A detached socket whose client is gone is reset and closed where it is;
// only a connection that gets a close frame goes back to Go's net package
// for the closing handshake. When 19,000 clients dropped at once the
// conversions took a tenth of the server's CPU.
func TestFinishDiscardsGoneClients(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{})
	for _, tc := range []struct {
		err                error
		blocked, discarded int
	}{
		{io.EOF, 0, 1},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, 0, 1},
		{closeReceived{code: ws.StatusNormalClosure}, 1, 0},
		{errIdle, 1, 0},
	} {
		d := &finishTransport{}
		s.g.finish(s.g.accept(d, &confab.User{ID: "U1", WorkspaceID: "T1"}), tc.err)
		if d.blocked != tc.blocked || d.discarded != tc.discarded {
			t.Errorf("finish after %v: handed back %d, discarded %d; want %d, %d", tc.err, d.blocked, d.discarded, tc.blocked, tc.discarded)
		}
	}
}
