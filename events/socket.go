package events

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
	"github.com/gorilla/websocket"
)

// Socket Mode. An app's connection is opened with a ticket from
// apps.connections.open (an app-level token's), at SocketPath+ticket. The
// server says hello, sends each event as an events_api envelope, and
// takes the app's acknowledgements ({"envelope_id": …}); it pings every
// PingInterval and says disconnect (warning, then refresh_requested)
// before it goes away. An app has at most MaxConnections; each event goes
// to one of them, and a retry to another one when there is another.

// SocketPath is where Socket Mode connections are opened.
const SocketPath = "/apps/socket/"

// Bounds of one connection.
const (
	maxAckBytes   = 64 << 10 // an acknowledgement is a few dozen bytes
	socketQueue   = 4096     // frames waiting to be written
	writeTimeout  = 10 * time.Second
	goodbyeWait   = time.Second
	maxTicketPath = 1024
)

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4 << 10,
	WriteBufferSize: 16 << 10,
	// The ticket in the path is the credential, and only an app token gets
	// one: a page of another site has none to present.
	CheckOrigin: func(*http.Request) bool { return true },
}

// ServeHTTP opens a Socket Mode connection.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ticket, ok := strings.CutPrefix(r.URL.Path, SocketPath)
	if !ok || ticket == "" || len(ticket) > maxTicketPath {
		httpError(w, http.StatusNotFound, "invalid_auth")
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		httpError(w, http.StatusBadRequest, "not_a_websocket")
		return
	}
	adm, bot, err := m.cfg.Tickets.RedeemSocket(r.Context(), ticket)
	if err != nil {
		status := http.StatusUnauthorized
		if confab.ErrorCode(err) == confab.EINTERNAL || confab.ErrorCode(err) == "" {
			status = http.StatusServiceUnavailable
		}
		httpError(w, status, confab.ErrorMessage(err))
		return
	}
	d := m.dispatcher(bot.AppID)
	if d == nil {
		httpError(w, http.StatusServiceUnavailable, "shutting_down")
		return
	}
	d.mu.Lock()
	full := len(d.conns) >= m.cfg.MaxConnections
	d.mu.Unlock()
	if full {
		httpError(w, http.StatusTooManyRequests, "too_many_websockets")
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	c := &socketConn{d: d, ws: ws, adm: adm, out: make(chan []byte, socketQueue), quit: make(chan struct{})}
	n, ok := d.addConn(c)
	if !ok {
		ws.Close()
		return
	}
	c.enqueue(hello(bot.AppID, n))
	m.metrics.conns.Inc()
	go c.write(m.cfg.PingInterval)
	go func() {
		c.read(m.cfg.PingInterval)
		m.metrics.conns.Dec()
	}()
	// A token revoked between the ticket and now: the bot's topic may not
	// be followed yet.
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.StoreTimeout)
	defer cancel()
	if err := m.cfg.Tickets.CheckAdmission(ctx, adm); err != nil {
		c.close()
	}
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}{false, msg})
	w.Write(b) //nolint:errcheck // the client went
}

// hello is the first frame of a connection.
func hello(appID string, n int) []byte {
	type debugInfo struct {
		Host                      string `json:"host"`
		BuildNumber               int    `json:"build_number"`
		ApproximateConnectionTime int    `json:"approximate_connection_time"`
	}
	type connectionInfo struct {
		AppID string `json:"app_id"`
	}
	b, _ := json.Marshal(struct {
		Type           string         `json:"type"`
		NumConnections int            `json:"num_connections"`
		DebugInfo      debugInfo      `json:"debug_info"`
		ConnectionInfo connectionInfo `json:"connection_info"`
	}{"hello", n, debugInfo{"confab", 1, 18060}, connectionInfo{appID}})
	return b
}

// disconnectFrame is Slack's disconnect message: "warning" ahead of
// "refresh_requested", on which clients open a new connection.
func disconnectFrame(reason string) []byte {
	b, _ := json.Marshal(struct {
		Type      string            `json:"type"`
		Reason    string            `json:"reason"`
		DebugInfo map[string]string `json:"debug_info"`
	}{"disconnect", reason, map[string]string{"host": "confab"}})
	return b
}

// envelope is an events_api envelope around an event_callback.
func envelope(id string, payload []byte, attempt int, reason string) []byte {
	b, _ := json.Marshal(struct {
		EnvelopeID             string          `json:"envelope_id"`
		Payload                json.RawMessage `json:"payload"`
		Type                   string          `json:"type"`
		AcceptsResponsePayload bool            `json:"accepts_response_payload"`
		RetryAttempt           int             `json:"retry_attempt"`
		RetryReason            string          `json:"retry_reason"`
	}{id, payload, "events_api", false, attempt, reason})
	return b
}

// socketConn is one Socket Mode connection: a writer goroutine drains out
// and pings; a reader goroutine takes acknowledgements.
type socketConn struct {
	d    *dispatcher
	ws   *websocket.Conn
	adm  *chat.Admission
	out  chan []byte // frames to write; nil: close after what came before
	quit chan struct{}
	once sync.Once
}

// enqueue queues a frame without blocking: false if the connection is
// closed or its queue full (the event goes elsewhere, or later).
func (c *socketConn) enqueue(frame []byte) bool {
	select {
	case <-c.quit:
		return false
	default:
	}
	select {
	case c.out <- frame:
		return true
	default:
		return false
	}
}

func (c *socketConn) closed() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

// close ends the connection at once.
func (c *socketConn) close() {
	c.once.Do(func() {
		close(c.quit)
		c.ws.Close()
	})
}

// goodbye says disconnect (warning, then refresh_requested) after the
// frames already queued, and closes the connection once they are written
// or after goodbyeWait.
func (c *socketConn) goodbye() {
	for _, f := range [][]byte{disconnectFrame("warning"), disconnectFrame("refresh_requested"), nil} {
		select {
		case c.out <- f:
		case <-c.quit:
			return
		case <-time.After(goodbyeWait):
			c.close()
			return
		}
	}
}

func (c *socketConn) write(ping time.Duration) {
	defer c.close()
	t := time.NewTicker(ping)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case f := <-c.out:
			c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)) //nolint:errcheck // the write fails instead
			if f == nil {
				c.ws.WriteMessage(websocket.CloseMessage, //nolint:errcheck // closing anyway
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, "refresh_requested"))
				return
			}
			if err := c.ws.WriteMessage(websocket.TextMessage, f); err != nil {
				return
			}
		case <-t.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				return
			}
		}
	}
}

func (c *socketConn) read(ping time.Duration) {
	defer c.d.removeConn(c)
	defer c.close()
	idle := 3*ping + writeTimeout
	c.ws.SetReadLimit(maxAckBytes)
	c.ws.SetReadDeadline(time.Now().Add(idle)) //nolint:errcheck // the read fails instead
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(idle)) })
	c.ws.SetPingHandler(func(data string) error {
		c.ws.SetReadDeadline(time.Now().Add(idle)) //nolint:errcheck // the read fails instead
		err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		if err == websocket.ErrCloseSent {
			return nil
		}
		return err
	})
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(idle)) //nolint:errcheck // the read fails instead
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if json.Unmarshal(b, &ack) != nil || ack.EnvelopeID == "" {
			continue // not an acknowledgement: nothing else is expected
		}
		select {
		case c.d.acks <- ack.EnvelopeID:
		case <-c.quit:
			return
		}
	}
}

// addConn adds a connection to the app's; false if the dispatcher stopped.
func (d *dispatcher) addConn(c *socketConn) (int, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.stop:
		return 0, false
	default:
	}
	d.conns = append(d.conns, c)
	d.poke()
	return len(d.conns), true
}

// removeConn takes a closed connection out; what it held unacknowledged
// goes to another one.
func (d *dispatcher) removeConn(c *socketConn) {
	d.mu.Lock()
	for i, o := range d.conns {
		if o == c {
			d.conns = append(d.conns[:i], d.conns[i+1:]...)
			break
		}
	}
	d.detached = true
	d.mu.Unlock()
	d.poke()
}

// revoke closes the connections opened under a revoked token.
func (d *dispatcher) revoke(session confab.Fingerprint) {
	d.mu.Lock()
	var gone []*socketConn
	for _, c := range d.conns {
		if c.adm.Session == session {
			gone = append(gone, c)
		}
	}
	d.mu.Unlock()
	for _, c := range gone {
		c.close()
	}
}

// disconnect says goodbye to every connection (the process is going).
func (d *dispatcher) disconnect() {
	d.mu.Lock()
	conns := append([]*socketConn(nil), d.conns...)
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); c.goodbye() }()
	}
	wg.Wait()
}

// closeConns closes every connection at once (the app was deleted).
func (d *dispatcher) closeConns(string) {
	d.mu.Lock()
	conns := append([]*socketConn(nil), d.conns...)
	d.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}
