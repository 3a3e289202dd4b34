package gateway

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
)

// TestWaitForWriterNotCharged: a connection whose frames wait for a turn
// of the pool's writers — busy elsewhere — is not charged for them: its
// queue may pass its limits (up to a ceiling, queueCeiling times them), and
// everything is written when its turn comes. Only the ceiling closes it.
func TestWaitForWriterNotCharged(t *testing.T) {
	const limit = 8
	g := mustNew(t, Config{Chat: &fakeChat{}, OpenBus: openBus(nopBus{}), Writers: 1, MaxQueueFrames: limit})
	t.Cleanup(func() { g.Shutdown(context.Background()) })

	busy := &gatedTransport{gate: make(chan struct{}), entered: make(chan struct{}), writes: make(chan [][]byte, 16)}
	open := sync.OnceFunc(func() { close(busy.gate) })
	t.Cleanup(open) // before Shutdown
	a := g.newConn(busy, &confab.User{ID: "U1", WorkspaceID: "T1"})
	a.release() // hello: the one writer takes a's turn and waits at the gate
	<-busy.entered

	rec := &gatedTransport{writes: make(chan [][]byte, 64)}
	b := g.newConn(rec, &confab.User{ID: "U2", WorkspaceID: "T1"})
	b.release()
	const n = 3 * limit // hello and these: over the limit, under the ceiling
	for i := range n {
		if !b.enqueue(newWireFrame(ws.OpText, fmt.Appendf(nil, `{"n":%d}`, i), 0)) {
			t.Fatalf("frame %d refused: %v", i, b.closing())
		}
	}
	// Past the ceiling, a connection is closed even so.
	c := g.newConn(&gatedTransport{writes: make(chan [][]byte, 64)}, &confab.User{ID: "U3", WorkspaceID: "T1"})
	c.release()
	refused := -1
	for i := range queueCeiling*limit + 1 {
		if !c.enqueue(newWireFrame(ws.OpText, []byte(`{}`), 0)) {
			refused = i
			break
		}
	}
	if refused < 0 || c.closing() != errSlowConsumer {
		t.Fatalf("past %d× the limit: refused at %d, closing %v; want a slow consumer", queueCeiling, refused, c.closing())
	}

	open()
	var got []byte
	deadline := time.After(waitFor)
	for want := 1 + n; want > 0; {
		select {
		case w := <-rec.writes:
			got = append(got, w[0]...)
		case <-deadline:
			t.Fatalf("b's frames not written once the writer was free (%d left)", want)
		}
		r := bytes.NewReader(got)
		want = 1 + n
		for {
			if _, err := ws.ReadFrame(r); err != nil {
				break
			}
			want--
		}
	}
	if err := b.closing(); err != nil {
		t.Fatalf("b closing: %v", err)
	}
}

// fullTransport is a vectorWriter whose socket never has room: a write
// that must not wait gets errFull; one that may wait (the connection's own
// flush goroutine) tells waiting and waits until it is closed.
type fullTransport struct {
	discardTransport
	waiting chan struct{} // closed when the flush goroutine waits
	closed  chan struct{}
}

func (t *fullTransport) writev(v [][]byte, wait bool) ([][]byte, error) {
	if !wait {
		return v, errFull
	}
	select {
	case <-t.waiting:
	default:
		close(t.waiting)
	}
	<-t.closed
	return v, net.ErrClosed
}

func (t *fullTransport) SetWriteDeadline(d time.Time) error {
	if !d.IsZero() && !d.After(time.Now()) {
		select {
		case <-t.closed:
		default:
			close(t.closed)
		}
	}
	return nil
}

// TestOwnSocketCharged: once a connection's own socket holds its queue
// back (its flush goroutine waits for room), the queue's limits count what
// waits behind the write in progress, and past them it is a slow consumer.
func TestOwnSocketCharged(t *testing.T) {
	const limit = 8
	g := mustNew(t, Config{Chat: &fakeChat{}, OpenBus: openBus(nopBus{}), MaxQueueFrames: limit})
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	ft := &fullTransport{waiting: make(chan struct{}), closed: make(chan struct{})}
	c := g.newConn(ft, &confab.User{ID: "U1", WorkspaceID: "T1"})
	c.release()
	select {
	case <-ft.waiting:
	case <-time.After(waitFor):
		t.Fatal("the flush goroutine never waited")
	}
	for i := range limit {
		if !c.enqueue(newWireFrame(ws.OpText, []byte(`{}`), 0)) {
			t.Fatalf("frame %d of %d refused", i, limit)
		}
	}
	if c.enqueue(newWireFrame(ws.OpText, []byte(`{}`), 0)) {
		t.Fatal("frame past the limit queued")
	}
	if err := c.closing(); err != errSlowConsumer {
		t.Fatalf("closing %v, want a slow consumer", err)
	}
	if n := counterValue(t, g.metrics.slowDisconnect); n != 1 {
		t.Fatalf("%v slow-consumer closes, want 1", n)
	}
}
