package rtmclient

import (
	"context"
	"sync"
	"time"
)

// inbox holds a session's live events, in arrival order, until they are
// applied: all of them while the session catches up, then each as it
// comes. It grows with what arrives, up to maxHeld, past which the reader
// waits. (A channel would make its whole buffer for every session, 32 KB,
// and a storm starts thousands of sessions at once: in a storm bench
// worker those buffers were a third of the live heap.) Events are held by
// value: no allocation per event.
type inbox struct {
	mu     sync.Mutex
	events []event // guarded by mu: put and not yet taken
	done   bool    // guarded by mu: the reader stopped, or the session ended
	err    error   // guarded by mu: why the reader stopped

	ready chan struct{} // cap 1: events arrived, or the reader stopped
	room  chan struct{} // cap 1: events were taken, or the session ended

	// The consumer's side: taken and not yet returned by next.
	out []event
	pos int
}

func newInbox() *inbox {
	return &inbox{ready: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

// signal wakes whoever waits on ch, or the next to wait.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// put adds e, waiting while maxHeld events are held. It reports false once
// the inbox is stopped: the reader stops reading.
func (in *inbox) put(e event) bool {
	in.mu.Lock()
	for len(in.events) >= maxHeld && !in.done {
		in.mu.Unlock()
		<-in.room
		in.mu.Lock()
	}
	ok := !in.done
	if ok {
		in.events = append(in.events, e)
	}
	in.mu.Unlock()
	signal(in.ready)
	return ok
}

// stop ends the inbox: the reader stopped because of err, or the session
// ended (err nil) and a reader waiting for room must give up. Only the
// first call counts.
func (in *inbox) stop(err error) {
	in.mu.Lock()
	if !in.done {
		in.done, in.err = true, err
	}
	in.mu.Unlock()
	signal(in.ready)
	signal(in.room)
}

// next returns the next event, waiting until one arrives, due fires
// (false, nil) or ctx ends. Once the reader stopped and every event was
// returned, it returns the reader's error. Only the session's goroutine
// calls it.
func (in *inbox) next(ctx context.Context, due <-chan time.Time) (e event, ok bool, err error) {
	select {
	case <-due: // not put off by a steady flow of events
		return event{}, false, nil
	default:
	}
	for in.pos == len(in.out) {
		in.mu.Lock()
		clear(in.out)
		in.out, in.events, in.pos = in.events, in.out[:0], 0
		done, err := in.done, in.err
		in.mu.Unlock()
		if len(in.out) > 0 {
			signal(in.room)
			break
		}
		if done {
			return event{}, false, err
		}
		select {
		case <-in.ready:
		case <-due:
			return event{}, false, nil
		case <-ctx.Done():
			return event{}, false, ctx.Err()
		}
	}
	e = in.out[in.pos]
	in.out[in.pos] = event{}
	in.pos++
	return e, true, nil
}
