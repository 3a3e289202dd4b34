package gateway

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/confab/confab/chat"
	"github.com/gobwas/ws"
)

// Resuming an SSE stream. After each write a stream sends an id line
// (an event with no data, which a browser's EventSource records and does
// not dispatch): "<position>.<gateway>.<stream key>". The position is the
// ring's watermark (ring.go): the stream has written every frame of its
// topics up to it. The gateway part names this gateway process; the stream
// key (Chat.StreamKey) admits the stream again, as its spent ticket
// cannot.
//
// When the stream drops, the browser reconnects by itself to the same URL
// with the last id it got as Last-Event-ID. The gateway admits the stream
// by its key and registers it as a new one; then, if the position is
// this process's, the ring still holds everything after it, and each of
// the stream's topics has been subscribed since before it, it queues what
// the ring holds for those topics after it, and hello says resumed: true.
// Otherwise hello says resumed: false, and the client catches up from its
// checkpoints (client.catchup), as after any new connection.
//
// So that a stream which drops can resume, its topics stay subscribed for
// Config.ResumeHold after it leaves, though no one else here listens to
// them (hub.hold, from unregister).

// stream is what an SSE stream needs to be resumed.
type stream struct {
	// tail ends the stream's ids: "<g.streams>.<stream key>". Set before
	// c is shared.
	tail string
	// from is the position a resuming stream resumes after, from its
	// Last-Event-ID; 0 for a new stream. Set before c is shared.
	from uint64
	// Guarded by conn.mu; set by settle.
	floor uint64 // ids start there: the position when the stream was registered
	skip  uint64 // a resumed stream had the frames up to it replayed: they are not queued again
	// Owned by the writer (takeBatch, under conn.mu).
	sent   uint64 // the last id written
	behind bool   // a frame written is past it
}

// idAfter returns the id line to write after batch, taken when w was the
// ring's watermark, or nil when it is the one last written.
//
// The watermark lags a frame whose broadcast was still queueing to
// others when the batch was taken (a connection that was flushing already
// can write it that soon). The id is then behind that frame, and a
// resumption would send it again; so the stream, once its queue is
// empty, writes its id alone (behind), with the watermark of then. Only
// once: a busy gateway's watermark moves all the time.
func (s *stream) idAfter(w uint64, batch []*wireFrame) []byte {
	id := max(w, s.floor, s.sent)
	s.behind = false
	for _, f := range batch {
		if f.pos > id {
			s.behind = true
			break
		}
	}
	if id == s.sent {
		return nil
	}
	s.sent = id
	return fmt.Appendf(nil, "id: %d.%s\n\n", id, s.tail)
}

// lastEventID is a Last-Event-ID taken apart.
type lastEventID struct {
	pos     uint64
	gateway string // the process that gave it (Gateway.streams)
	key     string // the stream key
}

// parseLastEventID reads "<position>.<gateway>.<stream key>".
func parseLastEventID(v string) (lastEventID, bool) {
	pos, rest, ok := strings.Cut(v, ".")
	gw, key, ok2 := strings.Cut(rest, ".")
	n, err := strconv.ParseUint(pos, 10, 64)
	if !ok || !ok2 || err != nil || n == 0 || gw == "" || key == "" {
		return lastEventID{}, false
	}
	return lastEventID{n, gw, key}, true
}

// sseHello is an SSE stream's hello: its id, which rtm.presenceSub names
// it by, and whether it resumed.
func sseHello(id string, resumed bool) *wireFrame {
	p, _ := json.Marshal(struct {
		Type    string `json:"type"`
		Stream  string `json:"stream"`
		Resumed bool   `json:"resumed"`
	}{"hello", id, resumed})
	return newWireFrame(ws.OpText, p, 0)
}

// settle ends an SSE stream's registration, once every topic of c is
// subscribed: hello first, then — when c resumes and can — what the ring
// holds for c's topics after its position; then what was queued
// meanwhile, less what the replay holds.
func (g *Gateway) settle(c *conn) {
	if g.beforeSettle != nil {
		g.beforeSettle()
	}
	s := c.stream
	r := g.hub.ring
	var replay []*wireFrame
	upTo := r.watermark()
	resumed := false
	if s.from != 0 {
		c.subMu.Lock()
		names := c.topicNames()
		since := g.hub.since(c.subs)
		c.subMu.Unlock()
		if since <= s.from {
			frames, last, ok := r.since(s.from, func(t string) bool { return slices.Contains(names, t) })
			if ok && g.fits(frames) {
				replay, upTo, resumed = frames, last, true
			}
		}
	}
	hello := sseHello(c.streamID(), resumed)
	c.mu.Lock()
	defer c.mu.Unlock()
	s.floor = upTo
	if resumed {
		s.skip = upTo
	}
	if c.out == nil || len(c.out.queue) == 0 {
		return // closing: its queue is dropped
	}
	q := c.out.queue[1:] // after hello's place
	out := make([]*wireFrame, 0, 1+len(replay)+len(q))
	out = append(append(out, hello), replay...)
	for _, f := range q {
		if f.pos == 0 || f.pos > s.skip {
			out = append(out, f)
		}
	}
	c.out.queue, c.frames, c.bytes = out, 0, 0
	for _, f := range out {
		c.frames++
		c.bytes += int32(len(f.b))
	}
}

// fits reports whether a replay fits in a queue that waits unchaged
// (queueCeiling): a longer one is left to the client's catch-up.
func (g *Gateway) fits(frames []*wireFrame) bool {
	if len(frames) >= queueCeiling*g.cfg.MaxQueueFrames-1 {
		return false
	}
	n := 0
	for _, f := range frames {
		n += len(f.b)
	}
	return n <= queueCeiling*g.cfg.MaxQueueBytes/2
}

// since returns the latest position at which one of subs' topics was
// subscribed: the ring is complete for all of them after it.
func (h *hub) since(subs []sub) uint64 {
	var p uint64
	for _, m := range subs {
		s := h.shard(m.t.name)
		s.mu.RLock()
		p = max(p, m.t.since)
		s.mu.RUnlock()
	}
	return p
}

// newStream is what an SSE stream admitted as adm needs to resume: its
// stream key, new or the one it resumes with (last, when it names one).
func (g *Gateway) newStream(adm *chat.Admission, last lastEventID) (*stream, error) {
	key := last.key
	if key == "" {
		var err error
		if key, err = g.chat.StreamKey(adm); err != nil {
			return nil, err
		}
	}
	s := &stream{tail: g.streams + "." + key}
	if last.gateway == g.streams {
		s.from = last.pos
	}
	return s, nil
}
