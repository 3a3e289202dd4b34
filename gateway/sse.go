package gateway

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
)

// Server-Sent Events: the same RTM stream for clients that cannot open a
// WebSocket (a proxy that refuses the upgrade). GET /rtm/sse/{ticket},
// with a ticket from rtm.connect (its sse_url), answers a text/event-stream
// that carries every frame a WebSocket connection would get, each as one
// event whose data is the frame's JSON, and a heartbeat event.
// The stream is a connection like any other once its headers are written:
// the same registration, queue, slow-consumer rule, quotas and poller;
// only the bytes differ (wireFrame.bytes). Nothing is read from the
// client after its request: what it sends goes over the Web API.

// sseHeartbeatEvent is the heartbeat: an event named heartbeat, with no data.
const sseHeartbeatEvent = "event: heartbeat\ndata:\n\n"

// ssePrefix is the path of an SSE stream, before its ticket.
const ssePrefix = "/rtm/sse/"

// sseHeartbeat bounds the time between two writes on an idle stream: a
// proxy or a NAT that sees no byte for 45 to 60 seconds drops the stream,
// and a client that sees none for long knows the stream is dead.
const sseHeartbeat = 15 * time.Second

// sseHeader is the answer's head. The body is the stream until the
// connection closes (no length, no chunking); proxies are asked not to
// buffer (X-Accel-Buffering) nor to transform (compress) it.
func sseHeader(origin string) []byte {
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\n" +
		"Content-Type: text/event-stream; charset=utf-8\r\n" +
		"Cache-Control: no-cache, no-store, no-transform\r\n" +
		"X-Accel-Buffering: no\r\n" +
		"X-Content-Type-Options: nosniff\r\n" +
		"Connection: close\r\n")
	if origin != "" {
		// An allowed page of another origin (originAllowed) may read it.
		b.WriteString("Access-Control-Allow-Origin: " + origin + "\r\nVary: Origin\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// sseEvent is a frame of op carrying payload as a Server-Sent Event: a text
// frame is an event whose data is the payload (a line of data per line of
// it: the client joins them with newlines); a ping is the heartbeat, an
// event named so (an EventSource shows no comment to its page, and
// delivers a named event only to that name's listeners, not to
// onmessage).
func sseEvent(op ws.OpCode, payload []byte) []byte {
	if op != ws.OpText {
		return []byte(sseHeartbeatEvent)
	}
	b := make([]byte, 0, len(payload)+8)
	for line := range bytes.Lines(payload) {
		line = bytes.TrimRight(line, "\r\n")
		b = append(b, "data: "...)
		b = append(b, line...)
		b = append(b, '\n')
	}
	if len(payload) == 0 {
		b = append(b, "data: \n"...)
	}
	return append(b, '\n')
}

// sseClose is the stream's last event: {"type":"close","code":N,"reason":…},
// the close code and reason a WebSocket would get in its close frame
// (errors.go), so that an SSE client knows whether to reconnect.
func sseClose(code ws.StatusCode, reason string) []byte {
	p, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	}{"close", int(code), reason})
	return sseEvent(ws.OpText, p)
}

// streamID is the id of c, an SSE stream, in its hello: what
// rtm.presenceSub names it by (OpPresenceSub on its user's topic).
func (c *conn) streamID() string {
	return c.g.streams + "." + strconv.FormatUint(uint64(c.id), 10)
}

// streamPresenceSub applies an OpPresenceSub of a user topic: the user's
// local SSE stream it names watches the presence of the users in ids (a
// JSON array). The bus calls run in a goroutine of their own:
// HandlePublication never blocks on the bus.
func (g *Gateway) streamPresenceSub(userTopic, stream string, ids []byte) {
	if _, kind, _, ok := confab.ParseTopic(userTopic); !ok || kind != confab.TopicUser {
		return
	}
	for _, c := range g.hub.members(userTopic) {
		if !c.sse || c.streamID() != stream {
			continue
		}
		var want []string
		if err := json.Unmarshal(ids, &want); err != nil {
			g.log.Warn("bad presence subscription", "conn", c.id, "err", err)
			return
		}
		g.goTracked(func() {
			if err := g.presenceSub(c, presenceTopics(c.ws, want)); err != nil {
				g.log.Warn("presence subscription", "conn", c.id, "user", c.uid, "err", err)
			}
		})
		return
	}
}

// isSSE tells an SSE stream's request from a WebSocket's.
func isSSE(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, ssePrefix) }

// errNoStream is the answer when the request's connection cannot be taken
// over (HTTP/2, which confab does not offer; a writer that wraps it).
var errNoStream = &confab.Error{Code: confab.EINTERNAL, Message: "stream_unavailable"}

// startSSE takes the connection of r over and writes the stream's head:
// from here on it is a connection like a WebSocket's. When it cannot take
// the connection over it has answered w with an error.
func (g *Gateway) startSSE(w http.ResponseWriter, r *http.Request) (net.Conn, error) {
	nc, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		g.log.Warn("SSE stream: the connection cannot be taken over", "proto", r.Proto, "err", err)
		g.httpError(w, errNoStream)
		return nil, err
	}
	origin := ""
	if o := r.Header.Get("Origin"); o != "" && !sameHost(o, r.Host) {
		origin = o
	}
	nc.SetWriteDeadline(time.Now().Add(g.cfg.WriteTimeout))
	if _, err := rw.Writer.Write(sseHeader(origin)); err == nil {
		err = rw.Writer.Flush()
	}
	nc.SetWriteDeadline(time.Time{})
	if err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}
