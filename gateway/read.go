package gateway

import (
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

// readLoop reads frames from r until an error, which it returns: a read
// error, a protocol violation, the client's close frame, or — when another
// goroutine called closeWith — the deadline that interrupted it.
//
// It reads straight from the socket, without a bufio.Reader: a header costs
// two small reads and a payload one more. Clients send little (pings,
// typing, the odd message), and a 4 KiB buffer per idle connection is what
// the gateway cannot afford.
func (c *conn) readLoop(r io.Reader) error {
	var (
		msg   []byte // the message being assembled from fragments
		op    ws.OpCode
		state = ws.StateServerSide
		limit = int64(c.g.cfg.MaxFrameBytes)
	)
	for {
		h, err := ws.ReadHeaderBuffer(r, c.rhdr[:])
		if err != nil {
			return err
		}
		c.lastRecv.Store(time.Now().UnixNano())
		if err := ws.CheckHeader(h, state); err != nil {
			return err
		}
		if h.OpCode.IsControl() {
			p := make([]byte, h.Length) // at most 125 bytes (CheckHeader)
			if _, err := io.ReadFull(r, p); err != nil {
				return err
			}
			ws.Cipher(p, h.Mask, 0)
			switch h.OpCode {
			case ws.OpPing:
				c.enqueue(outFrame{p: p, op: ws.OpPong})
			case ws.OpClose:
				code, _ := ws.ParseCloseFrameData(p)
				return closeReceived{code: code}
			}
			continue
		}
		if int64(len(msg))+h.Length > limit {
			return errTooBig
		}
		if h.OpCode != ws.OpContinuation {
			op = h.OpCode
		}
		n := len(msg)
		msg = slices.Grow(msg, int(h.Length))[:n+int(h.Length)]
		if _, err := io.ReadFull(r, msg[n:]); err != nil {
			return err
		}
		ws.Cipher(msg[n:], h.Mask, 0)
		if !h.Fin {
			state = state.Set(ws.StateFragmented)
			continue
		}
		state = state.Clear(ws.StateFragmented)
		data := msg
		msg = nil
		c.g.metrics.framesReceived.Inc()
		if op == ws.OpBinary {
			return errBinary
		}
		if !utf8.Valid(data) {
			return errInvalidUTF8
		}
		c.handle(data)
	}
}

// handle acts on one client text frame. Errors become error frames; none
// ends the connection.
func (c *conn) handle(b []byte) {
	f, err := decodeFrame(b)
	if err != nil {
		c.send(errorFrame(nil, classify(err)))
		return
	}
	g := c.g
	switch f.Type {
	case "ping":
		c.send(pongFrame(b))
	case "typing":
		if err := g.chat.Typing(g.ctx, c.user, f.Channel); err != nil && g.log.Enabled(g.ctx, slog.LevelDebug) {
			g.log.Debug("typing refused", "conn", c.id, "user", c.user.ID, "channel", f.Channel, "err", err)
		}
	case "message":
		m, err := g.chat.PostMessage(g.ctx, c.user, chat.PostParams{
			Channel: f.Channel, Text: f.Text, ThreadTS: f.ThreadTS, ClientMsgID: f.ClientMsgID,
		})
		if err != nil {
			if confab.ErrorCode(err) == confab.EINTERNAL {
				g.log.Error("rtm message", "conn", c.id, "user", c.user.ID, "channel", f.Channel, "err", err)
			}
			c.send(errorFrame(f.ID, classify(err)))
			return
		}
		c.send(okFrame(f.ID, m))
	case "presence_sub":
		if err := g.presenceSub(c, presenceTopics(c.user.WorkspaceID, f.IDs)); err != nil {
			g.log.Warn("presence_sub", "conn", c.id, "user", c.user.ID, "err", err)
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
	if c.gone {
		c.subMu.Unlock()
		return nil
	}
	keep := c.topics[:0]
	for _, t := range c.topics {
		if _, kind, _, _ := confab.ParseTopic(t); kind == confab.TopicPresence && !slices.Contains(want, t) {
			if _, d := g.hub.remove(c, t); d {
				dirty = append(dirty, t)
			}
			continue
		}
		keep = append(keep, t)
	}
	clear(c.topics[len(keep):])
	c.topics = keep
	for _, t := range want {
		name, added, d := g.hub.add(c, t)
		if added {
			c.topics = append(c.topics, name)
		}
		if d {
			dirty = append(dirty, name)
		}
	}
	c.subMu.Unlock()
	if len(dirty) == 0 {
		return nil
	}
	return g.hub.reconcile(g.ctx, dirty)
}
