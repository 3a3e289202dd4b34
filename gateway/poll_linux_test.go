package gateway

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// onlyConn returns g's one connection.
func onlyConn(t *testing.T, g *Gateway) *conn {
	t.Helper()
	var only *conn
	g.eachConn(func(c *conn) { only = c })
	if only == nil {
		t.Fatal("no connection")
	}
	return only
}

// fillUntilWaiting publishes big frames to c's user topic until c's flush
// goroutine waits for room in the socket (the client does not read), and
// returns how many it published.
func fillUntilWaiting(t *testing.T, g *Gateway, c *conn) int {
	t.Helper()
	f, ok := c.t.(*fdConn)
	if !ok {
		t.Skip("socket not detached")
	}
	pad := strings.Repeat("x", 64<<10)
	deadline := time.Now().Add(waitFor)
	for n := 0; ; n++ {
		c.mu.Lock()
		waiting := f.wantOut
		c.mu.Unlock()
		if waiting {
			return n
		}
		if n >= 1024 {
			// 64 MiB queued or written: wait for the writer to get stuck.
			if time.Now().After(deadline) {
				t.Fatalf("flush goroutine never waited for room after %d frames", n)
			}
			runtime.Gosched()
			n--
			continue
		}
		g.HandlePublication("T1.u.U1", marshal(pub(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, n, pad))))
	}
}

// TestWriterWaitsForRoom fills a client's socket until the flush goroutine
// waits for the poller to report room, then reads: every frame arrives, in
// order, and the writer ends idle.
func TestWriterWaitsForRoom(t *testing.T) {
	s := MustServe(t, Config{MaxQueueBytes: 1 << 30, MaxQueueFrames: 1 << 20}, &fakeChat{})
	nc, r := dialRaw(t, s, "U1")
	c := onlyConn(t, s.g)
	n := fillUntilWaiting(t, s.g, c)
	if n == 0 {
		t.Fatal("the writer waited before anything was published")
	}
	for i := range n {
		nc.SetReadDeadline(time.Now().Add(waitFor))
		f, err := ws.ReadFrame(r)
		if err != nil {
			t.Fatalf("frame %d of %d: %v", i, n, err)
		}
		if want := fmt.Sprintf(`{"n":%d,`, i); !strings.HasPrefix(string(f.Payload), want) {
			t.Fatalf("frame %d = %.20s…, want %s…", i, f.Payload, want)
		}
	}
	waitFlushed(t, s.g)
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.t.(*fdConn); f.wantOut || c.out != nil || c.frames != 0 {
		t.Fatalf("after draining: waiting %v, sendBuf %v, %d frames queued", f.wantOut, c.out, c.frames)
	}
}

// TestShutdownBoundsStuckWriter: a client that reads nothing holds a
// gentle Shutdown only for about WriteTimeout — enforced without a timer
// of the connection's own, by the sweeper — and then gets a reset.
func TestShutdownBoundsStuckWriter(t *testing.T) {
	const writeTimeout = 200 * time.Millisecond
	s := MustServe(t, Config{WriteTimeout: writeTimeout, MaxQueueBytes: 1 << 30, MaxQueueFrames: 1 << 20}, &fakeChat{})
	nc, _ := dialRaw(t, s, "U1")
	fillUntilWaiting(t, s.g, onlyConn(t, s.g))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	start := time.Now()
	if err := s.g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
	if took := time.Since(start); took < writeTimeout || took > writeTimeout+2*time.Second {
		t.Fatalf("Shutdown took %v, want about WriteTimeout (%v)", took, writeTimeout)
	}
	if n := s.g.Conns(); n != 0 {
		t.Fatalf("Conns() = %d after Shutdown", n)
	}
	// The connection was reset (what the kernel held for the client was
	// dropped): reading ends with an error, not with a close frame.
	nc.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := io.Copy(io.Discard, nc); err == nil {
		t.Fatal("the connection ended cleanly, want a reset")
	}
}

// A write to a detached socket allocates nothing, whatever the number of
// frames it carries: the fanout path makes one per connection per turn.
func TestDetachedWritevNoAlloc(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	f := &fdConn{fd: int32(fds[0])}
	const frames = 32
	hdr, payload := []byte{0x81, 5}, []byte("hello")
	want := strings.Repeat("\x81\x05hello", frames)
	v := make([][]byte, 0, 2*frames+1)
	got := make([]byte, 2*len(want))
	allocs := testing.AllocsPerRun(100, func() {
		v = append(v[:0], []byte{})
		for range frames {
			v = append(v, hdr, payload)
		}
		if rest, err := f.writev(v, false); err != nil || len(rest) != 0 {
			t.Fatalf("writev = %d left, %v", len(rest), err)
		}
		n, err := unix.Read(fds[1], got)
		if err != nil || string(got[:n]) != want {
			t.Fatalf("read %q, %v", got[:n], err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per writev, want 0", allocs)
	}
}
