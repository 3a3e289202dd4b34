package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
)

// discardTransport is a connection's transport for benchmarks: it writes
// nowhere, cheaply.
type discardTransport struct{}

func (discardTransport) Write(p []byte) (int, error)      { return len(p), nil }
func (discardTransport) SetReadDeadline(time.Time) error  { return nil }
func (discardTransport) SetWriteDeadline(time.Time) error { return nil }
func (discardTransport) Close() error                     { return nil }

// writev makes discardTransport's connections use the pool of writers, as
// detached sockets do.
func (discardTransport) writev([][]byte, bool) ([][]byte, error) { return nil, nil }

type nopBus struct{}

func (nopBus) Subscribe(context.Context, ...string) error   { return nil }
func (nopBus) Unsubscribe(context.Context, ...string) error { return nil }
func (nopBus) Close() error                                 { return nil }

// openBus is an OpenBus that hands the gateway b, whatever its handler:
// tests call HandlePublication themselves.
func openBus(b Bus) OpenBus {
	return func(func(topic string, payload []byte)) (Bus, error) { return b, nil }
}

// mustNew is New that fails the test on an error.
func mustNew(tb testing.TB, cfg Config) *Gateway {
	tb.Helper()
	g, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// newBenchGateway returns a gateway with n connections subscribed to
// topic, writing to discardTransport; held conns never flush.
func newBenchGateway(tb testing.TB, n int, topic string, held bool) (*Gateway, []*conn) {
	tb.Helper()
	g := mustNew(tb, Config{Chat: &fakeChat{}, OpenBus: openBus(nopBus{}), MaxQueueFrames: 1 << 20, MaxQueueBytes: 1 << 30})
	tb.Cleanup(func() { g.Shutdown(context.Background()) })
	conns := make([]*conn, n)
	for i := range conns {
		c := g.newConn(discardTransport{}, &confab.User{ID: fmt.Sprintf("U%d", i), WorkspaceID: "T1"})
		c.subMu.Lock()
		c.subscribe(topic)
		c.subMu.Unlock()
		if !held {
			c.release()
		}
		conns[i] = c
	}
	if err := g.hub.reconcile(context.Background(), []string{topic}); err != nil {
		tb.Fatal(err)
	}
	drain(conns)
	return g, conns
}

// drain waits until every connection's writer is idle.
func drain(conns []*conn) {
	for _, c := range conns {
		for {
			c.mu.Lock()
			idle := !c.flushing || c.state() == stateRegistering
			c.mu.Unlock()
			if idle {
				break
			}
			runtime.Gosched()
		}
	}
}

func BenchmarkHubBroadcast(b *testing.B) {
	frame := confab.MessageEvent(&confab.Message{ChannelID: "C1", UserID: "U1", Text: strings.Repeat("lorem ipsum ", 10), TS: 1700000000000001, Seq: 1, ChangeSeq: 1})
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			g, conns := newBenchGateway(b, n, "T1.c.C1", false)
			payload := (&confab.Publication{Time: time.Now().UnixNano(), Frame: frame}).Marshal()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				g.HandlePublication("T1.c.C1", payload)
			}
			drain(conns) // writer work counts against the run that caused it
			b.StopTimer()
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

func TestEnqueueNoAlloc(t *testing.T) {
	g := mustNew(t, Config{Chat: &fakeChat{}, OpenBus: openBus(nopBus{})})
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	c := g.newConn(discardTransport{}, &confab.User{ID: "U1", WorkspaceID: "T1"}) // held: no flush goroutine
	f := newWireFrame(ws.OpText, []byte(`{"type":"message"}`), 0)
	c.enqueue(f) // grow the queue once
	allocs := testing.AllocsPerRun(1000, func() {
		if !c.enqueue(f) {
			t.Fatal("enqueue refused")
		}
		c.mu.Lock()
		c.dropLocked()
		c.mu.Unlock()
	})
	if allocs != 0 {
		t.Fatalf("enqueue: %v allocations, want 0", allocs)
	}
}

func TestBroadcastEncodesOnce(t *testing.T) {
	g, conns := newBenchGateway(t, 100, "T1.c.C1", true)
	payload := marshal(pub(`{"type":"message","text":"once"}`))
	allocs := testing.AllocsPerRun(100, func() {
		g.HandlePublication("T1.c.C1", payload)
		for _, c := range conns {
			c.mu.Lock()
			c.dropLocked()
			c.mu.Unlock()
		}
	})
	if allocs > 2 { // the one wireFrame and its bytes
		t.Fatalf("broadcast to 100: %v allocations, want ≤ 2", allocs)
	}
	// Every recipient shares the same encoded frame, and it does not alias
	// payload.
	g.HandlePublication("T1.c.C1", payload)
	q := conns[0].out.queue
	first := q[len(q)-1]
	f, err := ws.ReadFrame(bytes.NewReader(first.b))
	if err != nil || f.Header.OpCode != ws.OpText || !f.Header.Fin || f.Header.Masked {
		t.Fatalf("queued frame %q: %+v, %v; want one final unmasked text frame", first.b, f.Header, err)
	}
	if i := bytes.Index(payload, f.Payload); i < 0 || len(f.Payload) == 0 {
		t.Fatalf("queued frame's payload %q is not the publication's frame", f.Payload)
	} else if &first.b[len(first.b)-len(f.Payload)] == &payload[i] {
		t.Fatal("queued frame aliases the bus payload")
	}
	for _, c := range conns {
		if w := c.out.queue[len(c.out.queue)-1]; w != first {
			t.Fatal("recipients do not share one frame")
		}
	}
}

// recorder is a transport that keeps what was written, for flush tests.
type recorder struct {
	bytes.Buffer
	writes int
}

func (r *recorder) Write(p []byte) (int, error)      { r.writes++; return r.Buffer.Write(p) }
func (r *recorder) SetReadDeadline(time.Time) error  { return nil }
func (r *recorder) SetWriteDeadline(time.Time) error { return nil }
func (r *recorder) Close() error                     { return nil }

func TestFlushWritesQueuedFramesInOrder(t *testing.T) {
	g := mustNew(t, Config{Chat: &fakeChat{}, OpenBus: openBus(nopBus{})})
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	rec := &recorder{}
	c := g.newConn(rec, &confab.User{ID: "U1", WorkspaceID: "T1"})
	big := bytes.Repeat([]byte("b"), 70000) // 64-bit length header
	mid := bytes.Repeat([]byte("m"), 300)   // 16-bit length header
	c.send([]byte(`{"n":1}`))
	c.send(mid)
	c.enqueue(pingWire)
	c.send(big)
	c.release()
	drain([]*conn{c})

	want := []struct {
		op ws.OpCode
		p  []byte
	}{{ws.OpText, confab.HelloFrame}, {ws.OpText, []byte(`{"n":1}`)}, {ws.OpText, mid}, {ws.OpPing, nil}, {ws.OpText, big}}
	for i, w := range want {
		f, err := ws.ReadFrame(&rec.Buffer)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Header.OpCode != w.op || !f.Header.Fin || f.Header.Masked || !bytes.Equal(f.Payload, w.p) {
			t.Fatalf("frame %d = %+v (%d bytes), want op %v %d bytes", i, f.Header, len(f.Payload), w.op, len(w.p))
		}
	}
	if rec.Len() != 0 {
		t.Fatalf("%d bytes left over", rec.Len())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frames != 0 || c.bytes != 0 || c.out != nil {
		t.Fatalf("after flush: %d frames, %d bytes, sendBuf %v; want all zero (nothing kept while idle)", c.frames, c.bytes, c.out)
	}
}

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		in      string
		want    clientFrame
		wantErr bool
	}{
		{`{"id":1,"type":"ping"}`, clientFrame{ID: json.RawMessage("1"), Type: "ping"}, false},
		{`{"id":"x","type":"typing","channel":"C1"}`, clientFrame{Type: "typing", Channel: "C1"}, false},
		{`{"id":{"a":1},"type":"message","channel":"C1","text":"hi","thread_ts":"1.000002","client_msg_id":"m"}`,
			clientFrame{Type: "message", Channel: "C1", Text: "hi", ThreadTS: "1.000002", ClientMsgID: "m"}, false},
		{`{"type":"presence_sub","ids":["U1","U2"]}`, clientFrame{Type: "presence_sub", IDs: []string{"U1", "U2"}}, false},
		{`{"type":1}`, clientFrame{}, true},
		{`[1,2]`, clientFrame{}, true},
		{`not json`, clientFrame{}, true},
		{``, clientFrame{}, true},
	}
	for _, tt := range tests {
		got, err := decodeFrame([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("decodeFrame(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("decodeFrame(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestPresenceTopics(t *testing.T) {
	var many []string
	for i := range 2 * maxPresenceSubs {
		many = append(many, fmt.Sprintf("U%06d", i))
	}
	if got := len(presenceTopics("T1", many)); got != maxPresenceSubs {
		t.Errorf("presenceTopics(%d ids) has %d topics, want %d", len(many), got, maxPresenceSubs)
	}
	if got := presenceTopics("T1", []string{"U1AB", "C1AB", "U1AB", "", "u1ab"}); fmt.Sprint(got) != fmt.Sprint([]string{"T1.p.U1AB"}) {
		t.Errorf("presenceTopics = %v, want [T1.p.U1AB]", got)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"type":"ping","time":5}`,
		`{"id":2,"type":"message","channel":"C1","text":"hi"}`,
		`{"type":"presence_sub","ids":["U1"]}`,
		`{"id":-1e400,"type":"ping"}`,
		`{"id":1,"type":"ping","reply_to":{"x":[]}}`,
		`{`, `null`, `"\ud800"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := decodeFrame(b)
		if err != nil {
			return
		}
		if fr.ID != nil && !json.Valid(fr.ID) {
			t.Fatalf("id %q is not JSON", fr.ID)
		}
		if fr.Type == "ping" {
			p := pongFrame(b)
			var m map[string]json.RawMessage
			if err := json.Unmarshal(p, &m); err != nil {
				t.Fatalf("pong %q is not a JSON object: %v", p, err)
			}
			if string(m["type"]) != `"pong"` {
				t.Fatalf("pong %q has type %s", p, m["type"])
			}
		}
		_ = presenceTopics("T1", fr.IDs)
		_ = errorFrame(fr.ID, classify(errUnknownType))
	})
}

// splitReader returns its data in two reads, split at n.
type splitReader struct {
	parts [][]byte
}

func (r *splitReader) Read(p []byte) (int, error) {
	for len(r.parts) > 0 && len(r.parts[0]) == 0 {
		r.parts = r.parts[1:]
	}
	if len(r.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.parts[0])
	r.parts[0] = r.parts[0][n:]
	return n, nil
}

// clientFrameBytes is a masked client frame.
func clientFrameBytes(op ws.OpCode, fin bool, p []byte) []byte {
	var buf bytes.Buffer
	f := ws.MaskFrame(ws.NewFrame(op, fin, p))
	ws.WriteFrame(&buf, f)
	return buf.Bytes()
}

// FuzzReadLoop feeds arbitrary bytes, split in two reads at every point the
// fuzzer picks and read through a buffer of a size it picks (so that frames
// arrive in pieces, as from the poller), to a connection's reader: it must
// return, never panic, and never accept a message over the limit.
func FuzzReadLoop(f *testing.F) {
	seeds := [][]byte{
		clientFrameBytes(ws.OpText, true, []byte(`{"id":1,"type":"ping"}`)),
		append(clientFrameBytes(ws.OpText, false, []byte(`{"id":1,`)), clientFrameBytes(ws.OpContinuation, true, []byte(`"type":"typing"}`))...),
		append(clientFrameBytes(ws.OpText, false, []byte(`{"id":1,`)), append(clientFrameBytes(ws.OpPing, true, []byte("p")), clientFrameBytes(ws.OpContinuation, true, []byte(`"type":"x"}`))...)...),
		clientFrameBytes(ws.OpText, true, []byte(`{"id":2,"type":"message","channel":"C1","text":"x"}`)),
		clientFrameBytes(ws.OpText, true, []byte(`{"type":"presence_sub","ids":["U1","U2"]}`)),
		clientFrameBytes(ws.OpClose, true, ws.NewCloseFrameBody(1000, "bye")),
		clientFrameBytes(ws.OpBinary, true, []byte{0, 1}),
		clientFrameBytes(ws.OpText, true, []byte("\xff")),
		clientFrameBytes(ws.OpText, true, bytes.Repeat([]byte("a"), 300)),
		{0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4},
	}
	for i, s := range seeds {
		f.Add(s, uint16(i*7))
	}
	g := mustNew(f, Config{Chat: &fakeChat{}, OpenBus: openBus(nopBus{}), MaxFrameBytes: 256, MaxQueueFrames: 64})
	f.Cleanup(func() { g.Shutdown(context.Background()) })
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		n := 0
		if len(data) > 0 {
			n = int(split&0xff) % (len(data) + 1)
		}
		c := g.newConn(discardTransport{}, &confab.User{ID: "U1", WorkspaceID: "T1"})
		c.subMu.Lock()
		c.subscribe("T1.u.U1")
		c.subMu.Unlock()
		buf := make([]byte, 1+int(split>>8)%64)
		err := c.readLoop(&splitReader{parts: [][]byte{data[:n], data[n:]}}, buf)
		if err == nil {
			t.Fatal("readLoop returned nil")
		}
		g.presenceSub(c, nil)
		c.subMu.Lock()
		c.unsubscribe(c.memberNamed("T1.u.U1"))
		c.subMu.Unlock()
		o := classify(err)
		if err == errTooBig && o.close != ws.StatusMessageTooBig {
			t.Fatalf("too big closes with %d", o.close)
		}
	})
}

// TestTopicPositions adds and removes members in an order that leaves
// holes, refills them, trims and compacts, and checks after every step that
// the hub holds exactly the members left and that each one's removal finds
// it (positions that a compaction made stale included).
func TestTopicPositions(t *testing.T) {
	const n = 300
	g := mustNew(t, Config{Chat: &fakeChat{}, OpenBus: openBus(nopBus{})})
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	conns := make([]*conn, n)
	for i := range conns {
		conns[i] = g.newConn(discardTransport{}, &confab.User{ID: fmt.Sprintf("U%d", i), WorkspaceID: "T1"})
	}
	const name = "T1.c.C1"
	in := map[*conn]bool{}
	check := func(step string) {
		t.Helper()
		got := g.hub.members(name)
		if len(got) != len(in) {
			t.Fatalf("%s: %d members, want %d", step, len(got), len(in))
		}
		for _, c := range got {
			if !in[c] {
				t.Fatalf("%s: conn %d is a member, want not", step, c.id)
			}
		}
	}
	join := func(c *conn) {
		c.subMu.Lock()
		defer c.subMu.Unlock()
		if added, _ := c.subscribe(name); added == in[c] {
			t.Fatalf("conn %d: added = %v, was a member: %v", c.id, added, in[c])
		}
		in[c] = true
	}
	leave := func(c *conn) {
		c.subMu.Lock()
		defer c.subMu.Unlock()
		i := c.memberNamed(name)
		if i < 0 {
			t.Fatalf("conn %d: not in its own memberships", c.id)
		}
		c.unsubscribe(i)
		delete(in, c)
	}
	for _, c := range conns {
		join(c)
	}
	join(conns[0]) // a second add is refused
	check("all")
	for i := 0; i < n; i += 2 { // holes
		leave(conns[i])
	}
	check("odd ones")
	for i := 0; i < n/2; i += 2 { // refill half of them
		join(conns[i])
	}
	check("refilled")
	leave(conns[n-1]) // the last: trimmed
	check("trimmed")
	for i := 1; i < n-1; i += 2 { // down to a quarter: compacts
		leave(conns[i])
	}
	check("compacted")
	for c := range in { // stale positions
		leave(c)
	}
	check("none")
	s := g.hub.shard(name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if tp := s.topics[name]; tp != nil && (tp.live != 0 || len(tp.conns) != 0 || tp.subscribed) {
		t.Fatalf("empty topic kept: %+v", tp)
	}
}

// BenchmarkHubFanout is the hub's share of a broadcast: enqueueing to every
// subscriber, without the flush goroutines (held connections), which
// BenchmarkHubBroadcast counts too.
func BenchmarkHubFanout(b *testing.B) {
	frame := confab.MessageEvent(&confab.Message{ChannelID: "C1", UserID: "U1", Text: strings.Repeat("lorem ipsum ", 10), TS: 1700000000000001, Seq: 1, ChangeSeq: 1})
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			g, conns := newBenchGateway(b, n, "T1.c.C1", true)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				g.hub.broadcast("T1.c.C1", frame, 0)
				if i%64 == 63 {
					b.StopTimer()
					for _, c := range conns {
						c.mu.Lock()
						c.dropLocked()
						c.mu.Unlock()
					}
					b.StartTimer()
				}
			}
		})
	}
}
