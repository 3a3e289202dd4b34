package gateway

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
)

// gatedTransport is a vectorWriter that records each writev and, while its
// gate is set, holds the writer in the first writev until the gate closes.
type gatedTransport struct {
	discardTransport
	gate    chan struct{} // nil: no wait
	entered chan struct{} // closed when a writev waits at the gate
	writes  chan [][]byte // each writev's buffers, copied
}

func (t *gatedTransport) writev(v [][]byte, _ bool) ([][]byte, error) {
	if t.gate != nil {
		close(t.entered)
		<-t.gate
		t.gate = nil
	}
	var all bytes.Buffer
	for _, b := range v {
		all.Write(b)
	}
	t.writes <- [][]byte{all.Bytes()}
	return nil, nil
}

// TestWritersCoalesceWhileBusy: frames that reach a connection while the
// pool's writers are busy elsewhere are written together, in order, in one
// writev when its turn comes — a broadcast's writes do not hold the next
// broadcast back, and a busy gateway writes fewer, larger batches.
func TestWritersCoalesceWhileBusy(t *testing.T) {
	g := mustNew(t, Config{Chat: &fakeChat{}, OpenBus: openBus(nopBus{}), Writers: 1})
	t.Cleanup(func() { g.Shutdown(context.Background()) })

	busy := &gatedTransport{gate: make(chan struct{}), entered: make(chan struct{}), writes: make(chan [][]byte, 16)}
	a := g.newConn(busy, &confab.User{ID: "U1", WorkspaceID: "T1"})
	a.release() // hello: the one writer takes a's turn and waits at the gate
	<-busy.entered

	rec := &gatedTransport{writes: make(chan [][]byte, 16)}
	b := g.newConn(rec, &confab.User{ID: "U2", WorkspaceID: "T1"})
	b.release()
	const n = 5
	for i := range n {
		b.send(fmt.Appendf(nil, `{"n":%d}`, i))
	}
	g.writers.mu.Lock()
	waiting := len(g.writers.ready) - g.writers.head
	g.writers.mu.Unlock()
	if waiting != 1 {
		close(busy.gate)
		t.Fatalf("%d connections wait for a writer, want b alone", waiting)
	}
	close(busy.gate)

	var got [][]byte
	select {
	case w := <-rec.writes:
		got = w
	case <-time.After(waitFor):
		t.Fatal("b was never written")
	}
	r := bytes.NewReader(got[0])
	want := [][]byte{confab.HelloFrame}
	for i := range n {
		want = append(want, fmt.Appendf(nil, `{"n":%d}`, i))
	}
	for i, w := range want {
		f, err := ws.ReadFrame(r)
		if err != nil || !bytes.Equal(f.Payload, w) {
			t.Fatalf("frame %d of the first write = %q, %v; want %s (hello and all %d frames in one writev)", i, f.Payload, err, w, n)
		}
	}
	if r.Len() != 0 {
		t.Fatalf("%d bytes after the frames", r.Len())
	}
	drain([]*conn{a, b})
	select {
	case w := <-rec.writes:
		t.Fatalf("a second write %q", w)
	default:
	}
}

// TestFullSocketDoesNotHoldWriters: with one writer, a client that reads
// nothing (its socket full, its connection waiting for room) does not delay
// another client's events.
func TestFullSocketDoesNotHoldWriters(t *testing.T) {
	s := MustServe(t, Config{Writers: 1, MaxQueueBytes: 1 << 30, MaxQueueFrames: 1 << 20}, &fakeChat{})
	dialRaw(t, s, "U1") // never read again
	stuck := onlyConn(t, s.g)
	fillUntilWaiting(t, s.g, stuck)

	other := s.MustConnect(t, "U2")
	s.g.HandlePublication("T1.u.U2", marshal(pub(`{"type":"hi"}`)))
	if got := other.read(); string(got) != `{"type":"hi"}` {
		t.Fatalf("got %s", got)
	}
}

// TestBroadcastQueuesTurnsAtOnce: a broadcast hands the writers the turns
// of all the connections it started flushing in one go, once the topic is
// unlocked, rather than taking the writers' queue lock per connection under
// the topic's lock (which held back every registration waiting on the
// topic of a big channel in a reconnect storm).
func TestBroadcastQueuesTurnsAtOnce(t *testing.T) {
	g := mustNew(t, Config{Chat: &fakeChat{}, OpenBus: openBus(nopBus{}), Writers: 1})
	t.Cleanup(func() { g.Shutdown(context.Background()) })

	const n = 50
	var conns []*conn
	for i := range n {
		c := g.newConn(&gatedTransport{writes: make(chan [][]byte, 16)}, &confab.User{ID: fmt.Sprintf("U%d", i+1), WorkspaceID: "T1"})
		c.subMu.Lock()
		c.subscribe("T1.c.C1")
		c.subMu.Unlock()
		c.release()
		conns = append(conns, c)
	}
	drain(conns) // their hellos are written: nothing is flushing

	busy := &gatedTransport{gate: make(chan struct{}), entered: make(chan struct{}), writes: make(chan [][]byte, 16)}
	a := g.newConn(busy, &confab.User{ID: "U0", WorkspaceID: "T1"})
	a.release() // the one writer takes a's turn and waits at the gate
	<-busy.entered
	defer close(busy.gate)
	g.writers.mu.Lock()
	before := g.writers.pushes
	g.writers.mu.Unlock()

	if got := g.hub.broadcast("T1.c.C1", []byte(`{"type":"hi"}`), 0); got != n {
		t.Fatalf("broadcast reached %d connections, want %d", got, n)
	}
	g.writers.mu.Lock()
	pushes, waiting := g.writers.pushes-before, len(g.writers.ready)-g.writers.head
	g.writers.mu.Unlock()
	if pushes != 1 || waiting != n {
		t.Fatalf("the broadcast queued %d turns in %d pushes; want %d turns in one", waiting, pushes, n)
	}
}
