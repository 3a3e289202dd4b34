package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab"
)

// recordingBus hands every publication to a channel, optionally blocking
// until the test releases it.
type recordingBus struct {
	got  chan published
	gate chan struct{} // nil: never blocks
}

type published struct {
	topic string
	seq   int64
	text  string
}

func newRecordingBus(n int) *recordingBus { return &recordingBus{got: make(chan published, n)} }

func (b *recordingBus) Publish(ctx context.Context, topic string, payload []byte) error {
	if b.gate != nil {
		<-b.gate
	}
	p, err := confab.UnmarshalPublication(payload)
	if err != nil {
		return err
	}
	var ev struct {
		Seq  int64  `json:"seq"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(p.Frame, &ev) // not every frame has them
	b.got <- published{topic, ev.Seq, ev.Text}
	return nil
}

func (b *recordingBus) next(t *testing.T) published {
	t.Helper()
	select {
	case p := <-b.got:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no publication within 10s")
		return published{}
	}
}

func (b *recordingBus) none(t *testing.T) {
	t.Helper()
	select {
	case p := <-b.got:
		t.Fatalf("published %+v, want nothing yet", p)
	default:
	}
}

func frame(seq int64) []byte {
	p := confab.Publication{Op: confab.OpDeliver, Frame: fmt.Appendf(nil, `{"seq":%d}`, seq)}
	return p.Marshal()
}

// A write that committed at seq 2 waits for the write still running before
// it (seq 1), so that readers see 1 then 2, not a gap.
func TestOutboxOrdersBySeq(t *testing.T) {
	bus := newRecordingBus(10)
	s := New(Config{Store: nil, Bus: bus})
	t.Cleanup(func() { s.Close() })
	s.out.hold = time.Hour
	first, second := s.out.reserve("T.c.C1"), s.out.reserve("T.c.C1")
	second.publish(2, frame(2))
	s.out.push("T.c.C2", frame(7)) // another topic is not held up
	if p := bus.next(t); p.topic != "T.c.C2" {
		t.Fatalf("first publication %+v, want the other topic's", p)
	}
	bus.none(t)
	first.publish(1, frame(1))
	for _, want := range []int64{1, 2} {
		if p := bus.next(t); p.seq != want {
			t.Fatalf("published seq %d, want %d", p.seq, want)
		}
	}

	// Once the order is known, the next seq goes at once, whatever else
	// is running.
	third, fourth := s.out.reserve("T.c.C1"), s.out.reserve("T.c.C1")
	third.publish(3, frame(3))
	if p := bus.next(t); p.seq != 3 {
		t.Fatalf("published seq %d, want 3", p.seq)
	}
	fourth.cancel()
	fourth.publish(99, frame(99)) // after cancel: nothing
	bus.none(t)
}

// A gap nobody here will fill (another process's seq, a write that failed
// after taking its seq) holds a publication for maxHold at most.
func TestOutboxHoldsAGapBriefly(t *testing.T) {
	bus := newRecordingBus(10)
	s := New(Config{Bus: bus})
	t.Cleanup(func() { s.Close() })
	s.out.hold = 50 * time.Millisecond
	a, b := s.out.reserve("T.c.C1"), s.out.reserve("T.c.C1")
	a.publish(1, frame(1))
	bus.next(t)
	c := s.out.reserve("T.c.C1")
	defer c.cancel()
	start := time.Now()
	b.publish(5, frame(5)) // 2..4 went elsewhere; c is still running
	if p := bus.next(t); p.seq != 5 {
		t.Fatalf("published seq %d, want 5", p.seq)
	}
	if waited := time.Since(start); waited < s.out.hold {
		t.Fatalf("a gap was published after %v, want it held for %v while a write ran", waited, s.out.hold)
	}
}

// The request does not wait for the bus: a post is answered while its
// publication is still blocked, and Close publishes it.
func TestPostDoesNotWaitForTheBus(t *testing.T) {
	st := openSQLite(t)
	bus := newRecordingBus(100)
	bus.gate = make(chan struct{})
	s := New(Config{Store: st, Bus: bus, PasswordCost: 4, Access: ExactAccess()})
	alice := signupOn(t, s, "alice")
	ch, err := s.CreateChannel(t.Context(), alice.u, "plaza", false)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- alice.post(ch.Channel.ID, "hello") }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the post waited for the bus")
	}
	close(bus.gate)
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	var texts []string
	for len(texts) == 0 {
		if p := bus.next(t); p.text != "" {
			texts = append(texts, p.text)
		}
	}
	<-closed
	if texts[0] != "hello" {
		t.Fatalf("published %q", texts)
	}
}

// Concurrent posters to one channel: the bus sees the channel's seqs in
// order, without a gap.
func TestConcurrentPostsPublishInSeqOrder(t *testing.T) {
	const posters, each = 8, 40
	st := openSQLite(t)
	bus := newRecordingBus(posters*each + 100)
	s := New(Config{Store: st, Bus: bus, PasswordCost: 4, Access: ExactAccess()})
	t.Cleanup(func() { s.Close() })
	s.out.hold = time.Minute // the order must come from the reservations alone
	alice := signupOn(t, s, "alice")
	ch, err := s.CreateChannel(t.Context(), alice.u, "plaza", false)
	if err != nil {
		t.Fatal(err)
	}
	topic := confab.ChannelTopic(alice.u.WorkspaceID, ch.Channel.ID)
	var wg sync.WaitGroup
	errs := make(chan error, posters)
	for i := range posters {
		wg.Go(func() {
			for j := range each {
				if err := alice.post(ch.Channel.ID, fmt.Sprintf("%d/%d", i, j)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var last int64
	for last < posters*each {
		p := bus.next(t)
		if p.topic != topic || p.seq == 0 {
			continue
		}
		if p.seq != last+1 {
			t.Fatalf("published seq %d after %d", p.seq, last)
		}
		last = p.seq
	}
}

// A publication late behind a gap released after maxHold goes at once
// when it comes: holding it would only delay it.
func TestOutboxLateSeqGoesAtOnce(t *testing.T) {
	bus := newRecordingBus(10)
	s := New(Config{Bus: bus})
	t.Cleanup(func() { s.Close() })
	s.out.hold = time.Hour
	const topic = "T.c.C1"
	first, late, running := s.out.reserve(topic), s.out.reserve(topic), s.out.reserve(topic)
	defer running.cancel()
	first.publish(3, frame(3)) // 2 is still running: held…
	l := s.out.lane(topic)
	l.mu.Lock()
	st := l.topics[topic]
	st.held[0].at = time.Now().Add(-2 * s.out.hold) // …until it has been held for maxHold
	l.releaseLocked(topic, st, time.Now())
	l.mu.Unlock()
	if p := bus.next(t); p.seq != 3 {
		t.Fatalf("published seq %d, want 3", p.seq)
	}
	late.publish(2, frame(2)) // behind 3, while a write still runs
	if p := bus.next(t); p.seq != 2 {
		t.Fatalf("published seq %d, want the late 2 at once", p.seq)
	}
}
