package gateway

import "sync"

// writers is the gateway's pool of writer goroutines: they write the
// queues of connections whose transport can write without waiting
// (vectorWriter: a detached socket), a turn each in the order the
// connections got something to write.
//
// A goroutine per flush costs little per connection, but in a broadcast to
// 10,000 connections it queues 10,000 goroutines behind the one that
// broadcasts: the next publication is handed out only once the previous
// one has been written everywhere, one write(2) per delivery (~10 µs each).
// With a few writers, a broadcast enqueues to every connection at once,
// and a connection whose turn comes after several publications arrived
// writes them all in one writev. Under load the batches grow by
// themselves; an idle connection's frame is written at once.
//
// A writer never waits for a socket: a write that finds no room hands the
// connection to a goroutine of its own, which waits for the poller (see
// conn.flushTurn).
type writers struct {
	// mu guards the rest; a leaf (LOCKING.md), taken under Gateway.goMu
	// when flushes start, and alone by the writers.
	mu      sync.Mutex
	cond    sync.Cond // on mu: a turn was pushed, or the pool stopped
	ready   []*conn   // connections with frames to write, in turn: ready[head:]
	head    int
	stopped bool
	pushes  int // calls of push that queued turns (tests read it)
}

func newWriters() *writers {
	w := &writers{}
	w.cond.L = &w.mu
	return w
}

// push gives each of cs a turn. Each is flushing (c.flushing is set) and
// in the queue at most once. It reports false once the pool is stopped.
func (w *writers) push(cs ...*conn) bool {
	if len(cs) == 0 {
		return true
	}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return false
	}
	w.ready = append(w.ready, cs...)
	w.pushes++
	w.mu.Unlock()
	if len(cs) == 1 {
		w.cond.Signal()
	} else {
		w.cond.Broadcast()
	}
	return true
}

// pop waits for the next connection to write; nil once the pool stops.
func (w *writers) pop() *conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.head == len(w.ready) {
		if w.stopped {
			return nil
		}
		// Empty: start the slice over rather than grow it forever.
		clear(w.ready)
		w.ready, w.head = w.ready[:0], 0
		w.cond.Wait()
	}
	c := w.ready[w.head]
	w.ready[w.head] = nil
	w.head++
	return c
}

// run is one writer: it gives each ready connection a turn, and a turn
// more at the back of the queue when frames arrived during its write.
func (w *writers) run() {
	for c := w.pop(); c != nil; c = w.pop() {
		if c.flushTurn() && !w.push(c) {
			c.abandonFlush()
		}
	}
}

// stop ends the writers once the queue is empty: Shutdown stops the pool
// only after every connection finished, which waits for its writing side.
func (w *writers) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.cond.Broadcast()
}
