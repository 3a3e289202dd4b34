package chat

import (
	"context"
	"sync"
	"time"
)

// Failed publications are retried. A change is saved before it is
// published, so a lost publication costs readers only a seq gap that they
// notice at the channel's next live event; if the bus comes back within
// maxRepublishAge, republishing brings the event itself and a channel that
// goes quiet is not left behind. A retry that reaches subscribers twice is
// harmless: clients drop any (channel, seq) they have applied.
const (
	maxRepublishAge   = 30 * time.Second
	maxRepublishQueue = 10000
	republishBackoff  = 100 * time.Millisecond
	republishMaxWait  = 2 * time.Second
)

type failedPublication struct {
	id      uint64 // in queueing order
	topic   string
	payload []byte
	failed  time.Time
}

// republisher retries failed publications in order, from one goroutine
// that runs only while there is something to retry.
type republisher struct {
	mu      sync.Mutex
	queue   []failedPublication // guarded by mu; oldest first
	nextID  uint64              // guarded by mu
	running bool                // guarded by mu: the retry goroutine is running
	closed  bool                // guarded by mu
	wg      sync.WaitGroup      // the retry goroutine
	stop    chan struct{}       // closed by Close
}

// republishLater queues a failed publication, starting the retry goroutine
// if needed.
// The queue is bounded: past maxRepublishQueue the oldest is dropped.
func (s *Service) republishLater(topic string, payload []byte) {
	r := &s.republish
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if len(r.queue) == maxRepublishQueue {
		r.queue = r.queue[1:]
		s.metrics.publishDropped.Inc()
	}
	r.nextID++
	r.queue = append(r.queue, failedPublication{r.nextID, topic, payload, s.now()})
	if !r.running {
		r.running = true
		r.wg.Add(1)
		go s.retryPublications()
	}
}

// retryPublications republishes the queue head until it goes through or is
// too old, backing off while the bus refuses, and exits when the queue is
// empty or the service closes.
func (s *Service) retryPublications() {
	r := &s.republish
	defer r.wg.Done()
	wait := republishBackoff
	for {
		r.mu.Lock()
		for len(r.queue) > 0 && s.now().Sub(r.queue[0].failed) > maxRepublishAge {
			r.queue = r.queue[1:]
			s.metrics.publishDropped.Inc()
		}
		if len(r.queue) == 0 || r.closed {
			r.running = false
			r.mu.Unlock()
			return
		}
		head := r.queue[0]
		r.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), s.publishTimeout)
		err := s.bus.Publish(ctx, head.topic, head.payload)
		cancel()
		if err == nil {
			r.mu.Lock()
			if len(r.queue) > 0 && r.queue[0].id == head.id { // not dropped meanwhile
				r.queue = r.queue[1:]
			}
			r.mu.Unlock()
			s.metrics.republished.Inc()
			wait = republishBackoff
			continue
		}
		select {
		case <-r.stop:
		case <-time.After(wait):
		}
		wait = min(2*wait, republishMaxWait)
	}
}

// Close stops the scheduler (after its batch), publishes what the outbox holds, stops retrying failed
// publications and waits for its goroutines. The service must not be used
// afterwards.
func (s *Service) Close() error {
	s.stopScheduler() // it posts: before the outbox closes
	s.out.close()
	r := &s.republish
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.stop)
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}
