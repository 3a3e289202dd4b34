package gateway

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

var errUnknownType = &confab.Error{Code: confab.EINVALID, Message: "unknown_type"}

// partial is what a connection keeps between reads while a frame or a
// fragmented message is incomplete; an idle connection has none (conn.rd is
// nil). It is owned by whoever reads the connection, one at a time (see
// connState).
type partial struct {
	buf  []byte    // the incomplete frame's bytes, from its first
	msg  []byte    // the unfinished message's fragments, unmasked
	op   ws.OpCode // the unfinished message's opcode
	frag bool      // a message is unfinished (msg may still be empty)
	seen bool      // buf's header was checked and counted in lastRecv
}

// consume parses the bytes that arrived, after those kept from earlier
// reads, and acts on each complete frame, as they come. It keeps only the
// bytes of an incomplete frame, until more arrive. It returns an error when
// the connection must end: a protocol violation, a message over
// MaxFrameBytes, a binary or invalid UTF-8 message, the client's close
// frame, or the connection closing meanwhile (closeWith). Then c.rd.buf
// holds what followed, for the closing handshake (input).
func (c *conn) consume(p []byte) error {
	kept := c.rd != nil && len(c.rd.buf) > 0
	if kept {
		c.rd.buf = append(c.rd.buf, p...)
		p = c.rd.buf
	}
	for len(p) > 0 {
		n, need, err := c.frame(p)
		if err != nil {
			c.keep(p[n:], 0, kept)
			return err
		}
		if n == 0 {
			c.keep(p, need, kept)
			return nil
		}
		p = p[n:]
	}
	c.keep(nil, 0, kept)
	return nil
}

// keep makes p, the start of an incomplete frame of need bytes (0: not yet
// known), c's kept bytes — p is the tail of c.rd.buf when kept is set — and
// drops c.rd when nothing is kept.
func (c *conn) keep(p []byte, need int, kept bool) {
	r := c.rd
	if len(p) == 0 {
		if r != nil {
			r.buf = nil
			if !r.frag && !r.seen {
				c.rd = nil
			}
		}
		return
	}
	if r == nil {
		r = new(partial)
		c.rd = r
	}
	size := max(need, len(p))
	if kept && cap(r.buf) >= size && cap(r.buf) <= 2*size+512 {
		r.buf = r.buf[:copy(r.buf, p)] // move the tail to the front
		return
	}
	// A fresh array, sized for the frame: an idle connection does not keep
	// a large one for a few bytes.
	r.buf = append(make([]byte, 0, size), p...)
}

// frame acts on the frame at the start of p and returns its length, or 0
// and the length it needs (0 while the header is incomplete) when p holds
// only part of it. On error, n is where parsing stopped.
func (c *conn) frame(p []byte) (n, need int, err error) {
	h, hn, err := parseHeader(p)
	if err != nil {
		return hn, 0, err
	}
	if hn == 0 {
		return 0, 0, nil
	}
	r := c.rd
	var msgLen int
	state := ws.StateServerSide
	if r != nil {
		msgLen = len(r.msg)
		if r.frag {
			state = state.Set(ws.StateFragmented)
		}
	}
	if r == nil || !r.seen {
		c.lastRecv.Store(time.Now().UnixNano())
		if err := ws.CheckHeader(h, state); err != nil {
			return hn, 0, err
		}
		// Control frames are at most 125 bytes (CheckHeader). msgLen is
		// within the limit: compared this way round, a 63-bit length cannot
		// overflow the sum.
		if !h.OpCode.IsControl() && h.Length > int64(c.g.cfg.MaxFrameBytes-msgLen) {
			return hn, 0, errTooBig
		}
	}
	total := hn + int(h.Length)
	if len(p) < total {
		if r == nil {
			r = new(partial)
			c.rd = r
		}
		r.seen = true
		return 0, total, nil
	}
	if r != nil {
		r.seen = false
	}
	payload := p[hn:total]
	ws.Cipher(payload, h.Mask, 0)
	if h.OpCode.IsControl() {
		switch h.OpCode {
		case ws.OpPing:
			c.enqueue(newWireFrame(ws.OpPong, payload, 0))
		case ws.OpClose:
			return total, 0, closeFrameError(payload)
		}
		return total, 0, nil
	}
	var data []byte
	op := h.OpCode
	switch {
	case r != nil && r.frag:
		op = r.op
		r.msg = append(r.msg, payload...)
		if !h.Fin {
			return total, 0, nil
		}
		data = r.msg
		r.msg, r.frag = nil, false
	case !h.Fin:
		if r == nil {
			r = new(partial)
			c.rd = r
		}
		r.msg = append(make([]byte, 0, len(payload)), payload...)
		r.op, r.frag = op, true
		return total, 0, nil
	default:
		data = payload // read-only below; handle keeps none of it
	}
	c.g.metrics.framesReceived.Inc()
	if op == ws.OpBinary {
		return total, 0, errBinary
	}
	if !utf8.Valid(data) {
		return total, 0, errInvalidUTF8
	}
	if err := c.closing(); err != nil {
		return total, 0, err
	}
	c.handle(data)
	return total, 0, nil
}

// parseHeader parses the frame header at the start of p as
// ws.ReadHeaderBuffer does; n is its length, 0 while p holds only part of
// it.
func parseHeader(p []byte) (h ws.Header, n int, err error) {
	if len(p) < 2 {
		return h, 0, nil
	}
	h.Fin = p[0]&0x80 != 0
	h.Rsv = (p[0] & 0x70) >> 4
	h.OpCode = ws.OpCode(p[0] & 0x0f)
	h.Masked = p[1]&0x80 != 0
	length := p[1] & 0x7f
	n = 2
	switch length {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if h.Masked {
		n += 4
	}
	if len(p) < n {
		return ws.Header{}, 0, nil
	}
	switch length {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(p[2:]))
	case 127:
		if p[2]&0x80 != 0 {
			return h, n, ws.ErrHeaderLengthMSB
		}
		h.Length = int64(binary.BigEndian.Uint64(p[2:]))
	default:
		h.Length = int64(length)
	}
	if h.Masked {
		copy(h.Mask[:], p[n-4:n])
	}
	return h, n, nil
}

// closing returns the error c is closing with, if closeWith was called.
func (c *conn) closing() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// input is what is left to read from c for the closing handshake: the
// bytes it received and did not consume, then r.
func (c *conn) input(r io.Reader) io.Reader {
	if c.rd != nil && len(c.rd.buf) > 0 {
		return io.MultiReader(bytes.NewReader(c.rd.buf), r)
	}
	return r
}

// keepEarly keeps early, what the client sent with the handshake and was
// not consumed, for the closing handshake (input).
func (c *conn) keepEarly(early []byte) {
	if len(early) > 0 {
		c.rd = &partial{buf: early}
	}
}

// readLoop is the blocking reader, for a connection the poller cannot
// watch (no socket, or no epoll): it reads into buf and consumes until an
// error, which it returns — a read error, an error of consume, or the
// deadline through which closeWith interrupts it.
func (c *conn) readLoop(r io.Reader, buf []byte) error {
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if err := c.consume(buf[:n]); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
	}
}

// handle acts on one client text frame. Errors become error frames; none
// ends the connection but a flood past the rate limit (closeFlood).
func (c *conn) handle(b []byte) {
	f, err := decodeFrame(b)
	// Every frame counts against the session's rate limit, decodable or
	// not (session.go); one over it is answered, and not acted on.
	switch lerr := c.allow(); {
	case lerr == errFlood:
		c.closeWith(errFlood, false)
		return
	case lerr != nil:
		c.send(errorFrame(f.ID, classify(lerr)))
		return
	}
	if err != nil {
		c.send(errorFrame(nil, classify(err)))
		return
	}
	g := c.g
	switch f.Type {
	case "ping":
		c.send(pongFrame(b))
	case "typing":
		if err := g.chat.Typing(g.ctx, c.user(), f.Channel); err != nil && g.log.Enabled(g.ctx, slog.LevelDebug) {
			g.log.Debug("typing refused", "conn", c.id, "user", c.uid, "channel", f.Channel, "err", err)
		}
	case "message":
		m, err := g.chat.PostMessage(g.ctx, c.user(), chat.PostParams{
			Channel: f.Channel, Text: f.Text, ThreadTS: f.ThreadTS, ClientMsgID: f.ClientMsgID,
		})
		if err != nil {
			if confab.ErrorCode(err) == confab.EINTERNAL {
				g.log.Error("rtm message", "conn", c.id, "user", c.uid, "channel", f.Channel, "err", err)
			}
			c.send(errorFrame(f.ID, classify(err)))
			return
		}
		c.send(okFrame(f.ID, m))
	case "presence_sub":
		if err := g.presenceSub(c, presenceTopics(c.ws, f.IDs)); err != nil {
			g.log.Warn("presence_sub", "conn", c.id, "user", c.uid, "err", err)
		}
	default:
		if f.ID != nil {
			c.send(errorFrame(f.ID, classify(errUnknownType)))
		}
	}
}

// presenceSub replaces c's presence topics with want.
func (g *Gateway) presenceSub(c *conn, want []string) error {
	var dirty []string
	c.subMu.Lock()
	if c.state().ending() {
		c.subMu.Unlock()
		return nil
	}
	keep := c.subs[:0]
	for _, m := range c.subs {
		if _, kind, _, _ := confab.ParseTopic(m.t.name); kind == confab.TopicPresence && !slices.Contains(want, m.t.name) {
			if g.hub.remove(c, m) {
				dirty = append(dirty, m.t.name)
			}
			continue
		}
		keep = append(keep, m)
	}
	clear(c.subs[len(keep):])
	c.subs = keep
	for _, t := range want {
		if _, d := c.subscribe(t); d {
			dirty = append(dirty, t)
		}
	}
	c.subMu.Unlock()
	if len(dirty) == 0 {
		return nil
	}
	return g.hub.reconcile(g.ctx, dirty)
}
