package gateway

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/confab/confab"
)

// TestStuckClientsDoNotHurtReaders: a few hundred clients that never read
// and a few that do, all in one channel, get a burst that fits in the
// queue's limit. Every reader gets every frame and stays; every stuck
// client is closed as a slow consumer within NoProgressTimeout (and a
// sweep) of the burst; and the kernel holds no more than the bounded send
// buffer for any of them.
func TestStuckClientsDoNotHurtReaders(t *testing.T) {
	const (
		stuck, readers = 200, 4
		frames, pad    = 64, 8 << 10 // 512 KiB per connection, under the 4 MiB queue
		sndbuf         = 16 << 10
		noProgress     = time.Second
	)
	gone := make(chan string, stuck+readers)
	s := MustServe(t, Config{SendBufferBytes: sndbuf, NoProgressTimeout: noProgress}, &fakeChat{
		UserChannelsFn: func(context.Context, string) ([]string, error) { return []string{"C1"}, nil },
		DisconnectedFn: func(_ context.Context, u *confab.User) { gone <- u.ID },
	})
	// The stuck clients read hello, then nothing, through a small receive
	// buffer.
	d := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		nc, err := net.Dial(network, addr)
		if err == nil {
			nc.(*net.TCPConn).SetReadBuffer(4096)
		}
		return nc, err
	}}
	for i := range stuck {
		ws, _, err := d.Dial(s.url+fmt.Sprintf("ticket-S%d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		ws.SetReadDeadline(time.Now().Add(waitFor))
		if _, _, err := ws.ReadMessage(); err != nil {
			t.Fatalf("stuck client %d: hello: %v", i, err)
		}
	}
	rs := make([]*client, readers)
	for i := range rs {
		rs[i] = s.MustConnect(t, fmt.Sprintf("R%d", i))
	}
	// What the kernel may hold for each: SO_SNDBUF is bounded (Linux
	// reports twice what was set).
	over, most := 0, 0
	s.g.eachConn(func(c *conn) {
		f, ok := c.t.(*fdConn)
		if !ok {
			t.Skip("socket not detached")
		}
		n, err := unix.GetsockoptInt(int(f.fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
		if err != nil {
			t.Fatal(err)
		}
		if n > 2*sndbuf {
			over++
		}
		most = max(most, n)
	})
	if over > 0 {
		t.Errorf("%d connections with SO_SNDBUF over %d (up to %d)", over, 2*sndbuf, most)
	}

	text := strings.Repeat("x", pad)
	for i := range frames {
		s.bus.publish("T1.c.C1", pub(fmt.Sprintf(`{"seq":%d,"text":"%s"}`, i, text)))
	}
	burst := time.Now()
	for i, r := range rs {
		for j := range frames {
			if got := r.read(); !strings.HasPrefix(string(got), fmt.Sprintf(`{"seq":%d,`, j)) {
				t.Fatalf("reader %d: frame %d = %.20s…", i, j, got)
			}
		}
	}
	// Every stuck client goes, as a slow consumer, within the bound.
	bound := noProgress + time.Second
	deadline := time.After(bound + waitFor)
	for n := 0; n < stuck; n++ {
		select {
		case id := <-gone:
			if !strings.HasPrefix(id, "S") {
				t.Fatalf("reader %s disconnected", id)
			}
		case <-deadline:
			t.Fatalf("%d stuck clients still connected %v after the burst (%v slow-consumer closes)",
				stuck-n, time.Since(burst), counterValue(t, s.g.metrics.slowDisconnect))
		}
	}
	if took := time.Since(burst); took > bound {
		t.Errorf("stuck clients closed %v after the burst, want within %v", took, bound)
	}
	if n := counterValue(t, s.g.metrics.slowDisconnect); n != stuck {
		t.Errorf("%v slow-consumer closes, want %d (the stuck clients)", n, stuck)
	}
	// The readers stay, and go on receiving.
	s.bus.publish("T1.c.C1", pub(`{"seq":"last"}`))
	for _, r := range rs {
		if got := string(r.read()); got != `{"seq":"last"}` {
			t.Fatalf("got %.20s…, want the last frame", got)
		}
	}
	if n := s.g.Conns(); n != readers {
		t.Fatalf("Conns() = %d, want the %d readers", n, readers)
	}
}
