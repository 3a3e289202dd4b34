package gateway

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
)

// TestIdleConnectionMemory guards the memory an idle connection costs:
// the Performance goal is ~19,000 per process at ≤2 KiB each. It counts
// both ends (the client's socket is in this process too) and every
// goroutine's stack, and requires that an idle connection has no goroutine
// of its own: its reading waits in the poller.
func TestIdleConnectionMemory(t *testing.T) {
	const n = 1000
	chans := make([]string, 20)
	for i := range chans {
		chans[i] = fmt.Sprintf("C%d", i)
	}
	s := MustServe(t, Config{}, &fakeChat{UserChannelsFn: func(context.Context, string) ([]string, error) { return chans, nil }})
	if s.g.poller == nil {
		t.Skip("no poller on this platform: one reader goroutine per connection")
	}
	measure := func() (heap, stack uint64, goroutines int) {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc, m.StackInuse, runtime.NumGoroutine()
	}
	h0, s0, g0 := measure()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range n {
		nc, br, _, err := ws.Dial(context.Background(), s.url+fmt.Sprintf("ticket-U%d", i))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
		// hello comes once the connection is registered; it may have
		// come with the handshake, into br.
		var r io.Reader = nc
		if br != nil {
			r = io.MultiReader(br, nc)
		}
		nc.SetReadDeadline(time.Now().Add(waitFor))
		if f, err := ws.ReadFrame(r); err != nil || string(f.Payload) != string(confab.HelloFrame) {
			t.Fatalf("conn %d: %v, want hello", i, err)
		}
		if br != nil {
			ws.PutReader(br)
		}
	}
	if got := s.g.Conns(); got != n {
		t.Fatalf("Conns() = %d, want %d", got, n)
	}
	waitFlushed(t, s.g) // the flush goroutines that wrote hello are gone
	h1, s1, g1 := measure()
	heap, stack := int64(h1-h0)/n, int64(s1-s0)/n
	t.Logf("sizeof(conn) = %d B; per idle connection in 20 channels, both ends: heap %d B, stacks %d B; goroutines %d → %d",
		unsafe.Sizeof(conn{}), heap, stack, g0, g1)
	if extra := g1 - g0; extra > n/100 {
		t.Fatalf("%d idle connections added %d goroutines, want none per connection", n, extra)
	}
	limit := int64(4 << 10)
	if raceEnabled {
		limit *= 2
	}
	if heap+stack > limit {
		t.Fatalf("an idle connection costs %d B, want ≤ %d", heap+stack, limit)
	}
}

// waitFlushed waits until no connection of g has a flush goroutine.
func waitFlushed(t *testing.T, g *Gateway) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		busy := 0
		g.eachConn(func(c *conn) {
			c.mu.Lock()
			if c.flushing {
				busy++
			}
			c.mu.Unlock()
		})
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still flushing", busy)
		}
		runtime.Gosched()
	}
}
