package rtmclient

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestInboxKeepsOrderAndBound(t *testing.T) {
	in := newInbox()
	ctx := context.Background()
	const n = maxHeld + 100
	putDone := make(chan int)
	go func() {
		i := 0
		for ; i < n; i++ {
			if !in.put(event{Seq: int64(i + 1)}) {
				break
			}
		}
		putDone <- i
	}()
	// The reader fills the inbox to its bound and waits there.
	deadline := time.Now().Add(5 * time.Second)
	for {
		in.mu.Lock()
		held := len(in.events)
		in.mu.Unlock()
		if held == maxHeld {
			break
		}
		if held > maxHeld || time.Now().After(deadline) {
			t.Fatalf("inbox holds %d events, want the reader waiting at %d", held, maxHeld)
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case i := <-putDone:
		t.Fatalf("reader put %d events without waiting for room", i)
	case <-time.After(50 * time.Millisecond):
	}
	// Taking makes room: everything arrives, in order.
	for want := int64(1); want <= n; want++ {
		e, ok, err := in.next(ctx, nil)
		if err != nil || !ok || e.Seq != want {
			t.Fatalf("next = %+v, %v, %v; want seq %d", e, ok, err, want)
		}
	}
	if i := <-putDone; i != n {
		t.Fatalf("reader put %d, want %d", i, n)
	}
	// The reader's error comes after its events.
	readErr := errors.New("connection closed")
	in.put(event{Seq: n + 1})
	in.stop(readErr)
	if e, ok, err := in.next(ctx, nil); err != nil || !ok || e.Seq != n+1 {
		t.Fatalf("next = %+v, %v, %v; want the last event before the error", e, ok, err)
	}
	if _, _, err := in.next(ctx, nil); err != readErr {
		t.Fatalf("next after the reader stopped: %v, want %v", err, readErr)
	}
}

func TestInboxStopReleasesWaitingReader(t *testing.T) {
	in := newInbox()
	for i := range maxHeld {
		in.put(event{Seq: int64(i + 1)})
	}
	put := make(chan bool)
	go func() { put <- in.put(event{}) }()
	select {
	case <-put:
		t.Fatal("put past the bound did not wait")
	case <-time.After(20 * time.Millisecond):
	}
	in.stop(nil) // the session ended
	select {
	case ok := <-put:
		if ok {
			t.Fatal("put after the session ended reported the event held")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reader still waiting after the session ended")
	}
}

func TestInboxDueAndContext(t *testing.T) {
	in := newInbox()
	due := make(chan time.Time, 1)
	due <- time.Now()
	in.put(event{Seq: 1})
	// A due gap wait is not put off by events waiting.
	if e, ok, err := in.next(context.Background(), due); ok || err != nil {
		t.Fatalf("next with due fired = %+v, %v, %v; want nothing", e, ok, err)
	}
	if e, ok, err := in.next(context.Background(), due); err != nil || !ok || e.Seq != 1 {
		t.Fatalf("next = %+v, %v, %v; want seq 1", e, ok, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := in.next(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("next with ctx ended: %v, want context.Canceled", err)
	}
}
