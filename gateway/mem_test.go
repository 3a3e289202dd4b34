package gateway

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"
	"unsafe"

	"github.com/gobwas/ws"
)

// TestIdleConnectionMemory guards the memory an idle connection costs:
// the Performance goal is ~19,000 per process. It counts both ends (the
// client's socket is in this process too) and the reader's stack.
func TestIdleConnectionMemory(t *testing.T) {
	const n = 1000
	chans := make([]string, 20)
	for i := range chans {
		chans[i] = fmt.Sprintf("C%d", i)
	}
	s := MustServe(t, Config{}, &fakeChat{UserChannelsFn: func(context.Context, string) ([]string, error) { return chans, nil }})
	measure := func() (heap, stack uint64) {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc, m.StackInuse
	}
	h0, s0 := measure()
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
		if br != nil {
			ws.PutReader(br)
		}
		conns = append(conns, nc)
	}
	for s.g.Conns() != n {
		runtime.Gosched()
	}
	h1, s1 := measure()
	heap, stack := int64(h1-h0)/n, int64(s1-s0)/n
	t.Logf("sizeof(conn) = %d B; per idle connection in 20 channels, both ends: heap %d B, stacks %d B", unsafe.Sizeof(conn{}), heap, stack)
	limit := int64(8 << 10)
	if raceEnabled {
		limit *= 2
	}
	if heap+stack > limit {
		t.Fatalf("an idle connection costs %d B, want ≤ %d", heap+stack, limit)
	}
}
