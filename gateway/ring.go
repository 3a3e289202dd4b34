package gateway

import (
	"slices"
	"sync"
)

// The ring: what an SSE stream resumes from. A browser whose stream drops
// reconnects by itself and names, in Last-Event-ID, the last id the
// stream sent (resume.go); the gateway then replays what the stream's
// topics received since, from the ring of the frames it broadcast last.
//
// Every broadcast frame gets the gateway's next position (wireFrame.pos),
// in the order broadcasts begin. Broadcasts to different topics run in
// parallel, so a connection may queue position 6 before 5; a stream's id
// is therefore not the position of the last frame it wrote but the
// watermark: a position at or below which every broadcast has finished
// queueing. Once a stream has written all it had queued after reading the
// watermark, it has written every frame of its topics up to it.
type ring struct {
	mu       sync.Mutex
	last     uint64      // the latest position given
	inflight []uint64    // positions whose broadcast has not finished queueing, ascending
	entries  []ringEntry // a circle of the frames kept, oldest at head
	head, n  int
	bytes    int    // the frames' bytes
	maxBytes int    // kept below this
	gone     uint64 // the newest position no longer kept: a resumption needs to be at or after it
}

type ringEntry struct {
	topic string
	f     *wireFrame
}

func newRing(frames, bytes int) *ring {
	return &ring{entries: make([]ringEntry, max(frames, 1)), maxBytes: bytes}
}

// begin gives f the next position and keeps it, as topic's; end must
// follow once the broadcast has queued it everywhere.
func (r *ring) begin(topic string, f *wireFrame) {
	r.mu.Lock()
	r.last++
	f.pos = r.last
	r.inflight = append(r.inflight, r.last)
	for r.n == len(r.entries) || r.n > 0 && r.bytes+len(f.b) > r.maxBytes {
		r.drop()
	}
	r.entries[(r.head+r.n)%len(r.entries)] = ringEntry{topic, f}
	r.n++
	r.bytes += len(f.b)
	r.mu.Unlock()
}

// drop forgets the oldest frame. The caller holds mu.
func (r *ring) drop() {
	e := &r.entries[r.head]
	r.gone = e.f.pos
	r.bytes -= len(e.f.b)
	*e = ringEntry{}
	r.head = (r.head + 1) % len(r.entries)
	r.n--
}

// end records that the broadcast of pos has queued its frame everywhere.
func (r *ring) end(pos uint64) {
	r.mu.Lock()
	if i := slices.Index(r.inflight, pos); i >= 0 {
		r.inflight = slices.Delete(r.inflight, i, i+1)
	}
	r.mu.Unlock()
}

// watermark returns a position at or below which every broadcast has
// finished queueing.
func (r *ring) watermark() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.inflight) > 0 {
		return r.inflight[0] - 1
	}
	return r.last
}

// mark gives a position to an event that carries no frame (a topic's
// subscription taking effect): every frame after it has a greater one.
func (r *ring) mark() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last++
	return r.last
}

// since returns the frames of topics (wanted reports whether a topic is
// one) after position from, in position order, and the latest position
// given, up to which the returned frames are complete; ok is false when
// some of them are no longer kept.
func (r *ring) since(from uint64, wanted func(topic string) bool) (frames []*wireFrame, upTo uint64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if from < r.gone || from > r.last {
		return nil, r.last, false
	}
	for i := range r.n {
		e := r.entries[(r.head+i)%len(r.entries)]
		if e.f.pos > from && wanted(e.topic) {
			frames = append(frames, e.f)
		}
	}
	// Broadcasts begin in position order, but a frame kept is in position
	// order only among those of one ring lock: they are.
	return frames, r.last, true
}
