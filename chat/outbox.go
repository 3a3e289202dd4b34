package chat

import (
	"context"
	"hash/maphash"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/confab/confab"
)

// The outbox. A change is published after its commit, but not by the
// request that committed it: the request hands the publication to one of a
// few lanes and answers. A lane is a goroutine that publishes what it is
// handed in order, so that a post's answer does not wait for the bus — on
// the in-process bus, that is the fanout to every local subscriber, ten
// milliseconds for a channel of 10,000 — and so that the fanout of a hot
// channel runs beside the requests instead of inside them.
//
// Topics are spread over the lanes by hash: one topic is always on the
// same lane, so its publications leave in the order they were handed over.
// For a channel's content that is not enough: two posters commit seq 41
// and 42, and the one with 42 may hand over first. A reader that gets 42
// before 41 sees a gap and catches up, and with 10,000 readers that is
// 10,000 needless client.catchup calls. So a write that will take a seq
// reserves its place before it writes (reserve), and a lane holds a
// publication whose seq is not the next one while writes reserved on its
// topic are still running, up to maxHold: a gap left by another process, or
// by a write that failed after taking its seq, is not waited for longer.
const (
	maxHold      = 20 * time.Millisecond
	maxLaneQueue = 1 << 16 // publications waiting on one lane, beyond which they are dropped
	// maxLaneTopics bounds the topics a lane remembers the last seq of;
	// beyond it the idle ones are forgotten (their next publication may be
	// held once, for maxHold at most, while another write runs).
	maxLaneTopics = 10_000
)

type outbox struct {
	s     *Service
	hold  time.Duration // maxHold; tests lengthen it
	seed  maphash.Seed
	lanes []*lane
	wg    sync.WaitGroup
}

type lane struct {
	o    *outbox
	wake chan struct{} // capacity 1: something was queued

	mu     sync.Mutex
	queue  []outItem
	topics map[string]*ordering // topics written lately (see maxLaneTopics)
	closed bool
	timer  *time.Timer // set while a publication is held
}

type outItem struct {
	topic   string
	payload []byte
}

// ordering is a topic's seq order in its lane.
type ordering struct {
	running int       // reserved writes not yet published or cancelled
	last    int64     // the highest seq handed to the bus; 0: none yet
	held    []heldPub // sorted by seq
}

type heldPub struct {
	seq  int64
	at   time.Time
	item outItem
}

func newOutbox(s *Service) *outbox {
	o := &outbox{s: s, hold: maxHold, seed: maphash.MakeSeed()}
	n := max(2, runtime.GOMAXPROCS(0))
	for range n {
		l := &lane{o: o, wake: make(chan struct{}, 1), topics: map[string]*ordering{}}
		o.lanes = append(o.lanes, l)
		o.wg.Add(1)
		go l.run()
	}
	return o
}

func (o *outbox) lane(topic string) *lane {
	return o.lanes[maphash.String(o.seed, topic)%uint64(len(o.lanes))]
}

// push hands an unordered publication (typing, presence, membership) over.
func (o *outbox) push(topic string, payload []byte) {
	l := o.lane(topic)
	l.mu.Lock()
	l.enqueueLocked(outItem{topic, payload})
	l.mu.Unlock()
}

// reservation is a write to a channel's content in progress: publish or
// cancel it (cancel after publish does nothing, so defer it).
type reservation struct {
	l     *lane
	topic string
	done  bool
}

// reserve registers a write to topic's content that is about to start.
func (o *outbox) reserve(topic string) *reservation {
	l := o.lane(topic)
	l.mu.Lock()
	st := l.topics[topic]
	if st == nil {
		if len(l.topics) >= maxLaneTopics {
			for t, idle := range l.topics {
				if idle.running == 0 && len(idle.held) == 0 {
					delete(l.topics, t)
				}
			}
		}
		st = &ordering{}
		l.topics[topic] = st
	}
	st.running++
	l.mu.Unlock()
	return &reservation{l: l, topic: topic}
}

// publish hands over the publication of the write, which committed at seq.
func (r *reservation) publish(seq int64, payload []byte) {
	r.finish(&heldPub{seq: seq, item: outItem{r.topic, payload}})
}

// cancel ends a write that publishes nothing (it failed, or repeated a
// client_msg_id).
func (r *reservation) cancel() { r.finish(nil) }

func (r *reservation) finish(p *heldPub) {
	if r.done {
		return
	}
	r.done = true
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.topics[r.topic]
	if l.closed {
		return
	}
	st.running--
	if p != nil {
		p.at = time.Now()
		i, _ := slices.BinarySearchFunc(st.held, p.seq, func(h heldPub, seq int64) int { return int(h.seq - seq) })
		st.held = slices.Insert(st.held, i, *p)
	}
	l.releaseLocked(r.topic, st, time.Now())
}

// releaseLocked queues topic's held publications that may go: the next
// seq, one at or below the last released (a late one: holding it would
// only delay it), every one once no reserved write is running, and any
// held for maxHold.
func (l *lane) releaseLocked(topic string, st *ordering, now time.Time) {
	for len(st.held) > 0 {
		h := st.held[0]
		if st.running > 0 && h.seq > st.last+1 && now.Sub(h.at) < l.o.hold {
			break
		}
		st.held = slices.Delete(st.held, 0, 1)
		st.last = max(st.last, h.seq)
		l.enqueueLocked(h.item)
	}
	if len(st.held) > 0 && l.timer == nil {
		l.timer = time.AfterFunc(l.o.hold, l.releaseHeld)
	}
}

// releaseHeld releases what has been held for maxHold.
func (l *lane) releaseHeld() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timer = nil
	now := time.Now()
	for topic, st := range l.topics {
		l.releaseLocked(topic, st, now)
	}
}

func (l *lane) enqueueLocked(it outItem) {
	if l.closed {
		return
	}
	if len(l.queue) >= maxLaneQueue {
		// The bus is far behind: readers will catch up from the store.
		l.o.s.metrics.publishDropped.Inc()
		return
	}
	l.queue = append(l.queue, it)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run publishes the lane's queue in order until the outbox closes and the
// queue is empty.
func (l *lane) run() {
	defer l.o.wg.Done()
	var batch []outItem
	for {
		l.mu.Lock()
		for len(l.queue) == 0 {
			if l.closed {
				l.mu.Unlock()
				return
			}
			l.mu.Unlock()
			<-l.wake
			l.mu.Lock()
		}
		batch, l.queue = l.queue, batch[:0]
		l.mu.Unlock()
		for i, it := range batch {
			l.o.s.send(it.topic, it.payload)
			batch[i] = outItem{}
		}
	}
}

// close publishes what is queued or held, then stops the lanes.
func (o *outbox) close() {
	for _, l := range o.lanes {
		l.mu.Lock()
		if l.timer != nil {
			l.timer.Stop()
			l.timer = nil
		}
		for topic, st := range l.topics {
			st.running = 0
			l.releaseLocked(topic, st, time.Now())
		}
		l.closed = true
		l.mu.Unlock()
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	o.wg.Wait()
}

// send publishes one payload; a failure is retried by the republisher and
// never reaches the request, whose change is saved.
func (s *Service) send(topic string, payload []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), s.publishTimeout)
	defer cancel()
	if err := s.bus.Publish(ctx, topic, payload); err != nil {
		s.metrics.publishErrors.Inc()
		s.log.Warn("publish failed; retrying, and readers will catch up", "topic", topic, "err", err)
		s.republishLater(topic, payload)
	}
}

// marshal stamps a publication with the time it was handed over (the
// start of the post→deliver latency) and encodes it.
func (s *Service) marshal(p confab.Publication) []byte {
	p.Time = s.now().UnixNano()
	return p.Marshal()
}
