package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// frameConn is a fanout subscriber's RTM WebSocket, read with gobwas/ws's
// low-level API: it reads each message's payload into a buffer it reuses
// and stamps the reads that bring frames.
//
// Why not gorilla: fanout's subscribers take 500,000 frames/s or more on
// the machine the server runs on. Through gorilla each frame cost a reader
// allocation, a copy out of its buffer and a clock reading; with the frame
// parsing around them that was most of the bench's CPU per delivery, more
// than the read syscalls. Here a frame costs no allocation, and the frames
// one read brought share one clock reading, their arrival.
//
// Pings are answered with pongs and fragmented messages reassembled; a
// close frame ends it. Only the goroutine that calls next reads or writes;
// close may be called from any.
type frameConn struct {
	tcp  net.Conn
	br   *bufio.Reader // reads through stamp
	at   time.Time     // when the latest read that returned data returned
	head []byte        // ws.ReadHeaderBuffer's
	msg  []byte        // the latest message's payload
	sse  bool          // a Server-Sent Events stream (dialSSE), not a WebSocket
	poll *pollConn     // a long-poll (dialPoll, poll.go): tcp, br and head unused
}

// frameBuffer is a frameConn's read buffer: fanout frames are ~150 bytes,
// and a read takes what the server coalesced.
const frameBuffer = 4096

// stamp is the reader under a frameConn's buffer.
type stamp struct{ c *frameConn }

func (s stamp) Read(b []byte) (int, error) {
	n, err := s.c.tcp.Read(b)
	if n > 0 {
		s.c.at = time.Now()
	}
	return n, err
}

// dialFrames opens the WebSocket at rtmURL (ws:// or wss://, from
// rtm.connect) with dial and returns it once hello has arrived.
func dialFrames(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), rtmURL string) (*frameConn, error) {
	nc, hsReader, _, err := ws.Dialer{NetDial: dial, Timeout: 15 * time.Second}.Dial(ctx, rtmURL)
	if err != nil {
		return nil, fmt.Errorf("dial gateway: %w", err)
	}
	c := &frameConn{tcp: nc, at: time.Now(), head: make([]byte, 0, ws.MaxHeaderSize-2)}
	var r io.Reader = stamp{c}
	if hsReader != nil { // it holds frames that came with the handshake's answer
		early, _ := hsReader.Peek(hsReader.Buffered())
		r = io.MultiReader(bytes.NewReader(bytes.Clone(early)), r)
		ws.PutReader(hsReader)
	}
	c.br = bufio.NewReaderSize(r, frameBuffer)

	deadline := helloDeadline(ctx)
	nc.SetDeadline(deadline)
	hello, err := c.next()
	if err == nil {
		err = checkHello(hello)
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("hello: %w", err)
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

// dialSSE opens the Server-Sent Events stream at sseURL (http://, from
// rtm.connect's sse_url) with dial and returns it once hello has arrived:
// a GET written and its answer's head read by hand on the connection, so
// that a stream, like a WebSocket, costs no goroutine but its reader's.
func dialSSE(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), sseURL string) (*frameConn, error) {
	u, err := url.Parse(sseURL)
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("stream URL %q: want http://", sseURL)
	}
	nc, err := dial(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("dial gateway: %w", err)
	}
	deadline := helloDeadline(ctx)
	nc.SetDeadline(deadline)
	c := &frameConn{tcp: nc, at: time.Now(), sse: true}
	c.br = bufio.NewReaderSize(stamp{c}, frameBuffer)
	_, err = fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", u.RequestURI(), u.Host)
	var resp *http.Response
	if err == nil {
		resp, err = http.ReadResponse(c.br, nil)
	}
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("stream: %s", resp.Status)
	}
	var hello []byte
	if err == nil {
		hello, err = c.next()
	}
	if err == nil {
		err = checkHello(hello)
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("open stream: %w", err)
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

// nextEvent returns the next event's data (its data lines joined by
// newlines), skipping heartbeats and comments; the end of the stream is
// io.EOF.
func (c *frameConn) nextEvent() ([]byte, error) {
	c.msg = c.msg[:0]
	data, heartbeat := false, false
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			if err == io.EOF && len(line) == 0 {
				return nil, io.EOF
			}
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if data && !heartbeat {
				return c.msg, nil
			}
			c.msg, data, heartbeat = c.msg[:0], false, false
		case bytes.HasPrefix(line, []byte("data:")):
			if data {
				c.msg = append(c.msg, '\n')
			}
			data = true
			c.msg = append(c.msg, bytes.TrimPrefix(line[5:], []byte(" "))...)
		case bytes.HasPrefix(line, []byte("event:")):
			heartbeat = string(bytes.TrimSpace(line[6:])) == "heartbeat"
		}
	}
}

// next returns the next message's payload, valid until the following call,
// and c.at is then when its last bytes arrived. It answers pings on the
// way; a close frame is a wsutil.ClosedError. On a Server-Sent Events
// stream it is the next event's data.
func (c *frameConn) next() ([]byte, error) {
	if c.poll != nil {
		return c.nextPolled()
	}
	if c.sse {
		return c.nextEvent()
	}
	c.msg = c.msg[:0]
	state := ws.StateClientSide
	for {
		h, err := ws.ReadHeaderBuffer(c.br, c.head)
		if err != nil {
			return nil, err
		}
		if err := ws.CheckHeader(h, state); err != nil {
			return nil, err
		}
		if h.Length > int64(maxAnswer-len(c.msg)) {
			return nil, fmt.Errorf("websocket frame of %d bytes", h.Length)
		}
		start := len(c.msg)
		c.msg = slices.Grow(c.msg, int(h.Length))[:start+int(h.Length)]
		if _, err := io.ReadFull(c.br, c.msg[start:]); err != nil {
			return nil, err
		}
		if h.OpCode.IsControl() {
			control := c.msg[start:]
			c.msg = c.msg[:start]
			switch h.OpCode {
			case ws.OpClose:
				code, reason := ws.ParseCloseFrameData(control)
				return nil, wsutil.ClosedError{Code: code, Reason: reason}
			case ws.OpPing:
				if err := ws.WriteFrame(c.tcp, ws.MaskFrame(ws.NewPongFrame(control))); err != nil {
					return nil, err
				}
			}
			continue
		}
		if h.Fin {
			return c.msg, nil
		}
		state = state.Set(ws.StateFragmented)
	}
}

// close closes the connection; a pending next returns an error.
func (c *frameConn) close() error {
	if c.poll != nil {
		return c.poll.close()
	}
	return c.tcp.Close()
}

// helloDeadline is when a connection dialled now must have brought its
// hello: 15 s from now, or ctx's deadline if sooner.
func helloDeadline(ctx context.Context) time.Time {
	deadline := time.Now().Add(15 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return deadline
}

// checkHello checks that a connection's first frame is hello.
func checkHello(frame []byte) error {
	if !bytes.Contains(frame, []byte(`"type":"hello"`)) {
		return fmt.Errorf("first frame %.200q, want hello", frame)
	}
	return nil
}
