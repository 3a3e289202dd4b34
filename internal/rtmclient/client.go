package rtmclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unique"

	"github.com/gorilla/websocket"
	"github.com/valyala/fastjson"
)

// Config configures a Client.
type Config struct {
	API   string // base URL of an API process, "http://127.0.0.1:8080"
	Token string
	// Caller makes the Web API calls; nil: HTTPCaller with a net/http
	// client that times out after 10 s.
	Caller Caller
	// Dialer dials gateways; nil: websocket.DefaultDialer.
	Dialer *websocket.Dialer
	// MaxBackoff caps the wait between reconnection attempts; 0: 2 s.
	MaxBackoff time.Duration
	// ReconnectSpread is how long the first reconnection after a
	// connection that was up may wait, at random; 0: 500 ms. Thousands of
	// clients dropped together (a gateway gone) then come back spread out
	// instead of in one thundering herd.
	ReconnectSpread time.Duration
	// GapWait is how long a live event that arrives past a gap in its
	// channel's seqs waits for the events before it; only then does the
	// client catch the channel up. 0: 1 s. Events of one channel can
	// arrive slightly out of order (two posts committed together are
	// published by two requests), and a catch-up for each such jump, by
	// every client of a large channel, would be a storm of its own.
	GapWait time.Duration
	// OnSessionEnd, when set, is called with the error that ended each
	// session or attempt (not when ctx ended it), from Run's goroutine.
	OnSessionEnd func(err error)
}

// Message is a message as the client shows it.
type Message struct {
	Channel string
	TS      string
	Seq     int64
	User    string
	Text    string
	Deleted bool
}

// Stats counts what the client did.
type Stats struct {
	Connects   int // successful connections (hello received)
	CatchUps   int // client.catchup calls
	Gaps       int // live seq jumps not filled within GapWait, which triggered a catch-up
	Reordered  int // live events that arrived past a gap filled within GapWait
	Duplicates int // live events dropped because their (channel, seq) was applied
	// Reshown counts new-message events for a message already shown: with
	// dedupe by seq this stays 0 unless a message was edited between its
	// first showing and a catch-up.
	Reshown int
	// Gateway is the URL of the latest connection, ticket cut off.
	Gateway string
	// LastError is why the latest session ended or failed to start.
	LastError string
	// LastConnected is when the latest hello arrived.
	LastConnected time.Time
}

// Client is one user's realtime view: every channel's messages, kept
// complete and free of duplicates.
type Client struct {
	cfg Config

	mu          sync.Mutex
	checkpoints map[string]int64               // guarded by mu: channel → last applied seq
	messages    map[string]map[string]*Message // guarded by mu: channel → ts → message
	stats       Stats                          // guarded by mu
	connected   chan struct{}                  // guarded by mu: closed on each hello, then replaced
}

// New returns a client that has seen nothing yet.
func New(cfg Config) *Client {
	if cfg.Caller == nil {
		cfg.Caller = HTTPCaller{Client: &http.Client{Timeout: 10 * time.Second}}
	}
	if cfg.Dialer == nil {
		cfg.Dialer = websocket.DefaultDialer
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 2 * time.Second
	}
	if cfg.ReconnectSpread == 0 {
		cfg.ReconnectSpread = 500 * time.Millisecond
	}
	if cfg.GapWait == 0 {
		cfg.GapWait = time.Second
	}
	return &Client{
		cfg:         cfg,
		checkpoints: map[string]int64{},
		messages:    map[string]map[string]*Message{},
		connected:   make(chan struct{}),
	}
}

// Connected returns a channel closed at the next hello (or at once after
// the first one, until the connection drops).
func (c *Client) Connected() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// Run connects, catches up and applies events until ctx ends, reconnecting
// through rtm.connect whenever the connection drops: the first attempt
// after a connection that was up at a random point of ReconnectSpread,
// then with exponential backoff and full jitter up to MaxBackoff. Each
// attempt dials the gateway at the slot rtm.connect gives (dial_after_ms):
// the server spreads the dials of a storm it sees coming.
func (c *Client) Run(ctx context.Context) error {
	backoff := c.cfg.ReconnectSpread
	for {
		err := c.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && c.cfg.OnSessionEnd != nil {
			c.cfg.OnSessionEnd(err)
		}
		c.mu.Lock()
		if err != nil {
			c.stats.LastError = err.Error()
		}
		select {
		case <-c.connected:
			c.connected = make(chan struct{})
			backoff = c.cfg.ReconnectSpread // the session had been up
		default:
		}
		c.mu.Unlock()
		wait := rand.N(backoff + 1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), c.cfg.MaxBackoff)
	}
}

// event is the part of an RTM event the client routes on and shows.
type event struct {
	Type, Subtype string
	// Channel is the event's channel: "channel" when a string, its "id"
	// when an object (channel_joined), or "item"'s "channel" (reactions).
	Channel   string
	Seq       int64
	TS        string
	User      string
	Text      string
	DeletedTS string
	Message   *editedMessage // message_changed: the new version
}

type editedMessage struct{ TS, Text string }

// decodeEvent reads an event from its parsed JSON. Events are decoded with
// fastjson: a client of a busy channel decodes every live event, and after
// a reconnect a catch-up of up to 1,000 of them per channel; with
// encoding/json (and the catch-up decoded twice, whole and then per event)
// that was half of a storm bench worker's CPU.
func decodeEvent(v *fastjson.Value) event {
	e := event{
		Type: name(v, "type"), Subtype: name(v, "subtype"), Seq: v.GetInt64("seq"),
		TS: str(v, "ts"), User: str(v, "user"), Text: str(v, "text"), DeletedTS: str(v, "deleted_ts"),
	}
	ch := v.Get("channel")
	switch item := v.Get("item"); {
	case item != nil && item.Type() == fastjson.TypeObject:
		e.Channel = str(item, "channel")
	case ch != nil && ch.Type() == fastjson.TypeString:
		e.Channel = string(ch.GetStringBytes())
	case ch != nil && ch.Type() == fastjson.TypeObject:
		e.Channel = str(ch, "id")
	}
	if m := v.Get("message"); m != nil && m.Type() == fastjson.TypeObject {
		e.Message = &editedMessage{TS: str(m, "ts"), Text: str(m, "text")}
	}
	return e
}

// name is v's string field key, a type or subtype: the ones the client
// routes on are not copied for every event.
func name(v *fastjson.Value, key string) string {
	switch b := v.GetStringBytes(key); string(b) {
	case "":
		return ""
	case "message":
		return "message"
	case "message_changed":
		return "message_changed"
	case "message_deleted":
		return "message_deleted"
	case "hello":
		return "hello"
	case "channel_joined":
		return "channel_joined"
	default:
		return string(b)
	}
}

// parsers parse the answers of Web API calls. A catch-up's answer holds up
// to 1,000 events per channel, thousands of values; a parser of its own
// for each call made every catch-up allocate them anew (a third of a storm
// bench worker's CPU went to allocating and collecting them).
var parsers fastjson.ParserPool

// str is v's string field key, copied out of the parser; "" if it is not a
// string.
func str(v *fastjson.Value, key string) string { return string(v.GetStringBytes(key)) }

// maxHeld bounds the live events a session holds unapplied; past it the
// reader waits, and the gateway disconnects a client that does not keep up.
const maxHeld = 4096

// session is one connection: connect, hold live events, catch up, then
// apply live events until the connection drops.
func (c *Client) session(ctx context.Context) error {
	p := parsers.Get()
	rc, err := c.call(ctx, p, "rtm.connect", nil)
	if err != nil {
		parsers.Put(p)
		return err
	}
	// dial_after_ms is the ticket's slot: the server spreads the dials of
	// many clients connecting at once (a gateway went).
	url, dialAfter := str(rc, "url"), rc.GetInt64("dial_after_ms")
	parsers.Put(p)
	if dialAfter > 0 {
		t := time.NewTimer(time.Duration(dialAfter) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	conn, _, err := c.cfg.Dialer.DialContext(ctx, url, nil)
	if err != nil {
		return fmt.Errorf("dial %s: %w", url, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	// in holds live events while the session catches up.
	in := newInbox()
	defer in.stop(nil)
	go func() {
		var (
			p   fastjson.Parser
			buf bytes.Buffer // the frame being read, reused
		)
		for {
			_, r, err := conn.NextReader()
			if err == nil {
				buf.Reset()
				_, err = buf.ReadFrom(r)
			}
			if err != nil {
				in.stop(err)
				return
			}
			if v, err := p.ParseBytes(buf.Bytes()); err == nil {
				if !in.put(decodeEvent(v)) {
					return
				}
			}
		}
	}()
	// hello first: from then on every event reaches us (held in in).
	e, _, err := in.next(ctx, nil)
	if err != nil {
		return err
	}
	if e.Type != "hello" {
		return fmt.Errorf("first frame %q, want hello", e.Type)
	}
	if err := c.catchUp(ctx, nil); err != nil {
		return err
	}
	c.mu.Lock()
	c.stats.Connects++
	c.stats.LastConnected = time.Now()
	c.stats.Gateway = url[:strings.LastIndex(url, "/rtm/")+1]
	close(c.connected)
	c.mu.Unlock()

	held := heldEvents{}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var due <-chan time.Time
		if at, ok := held.due(c.cfg.GapWait); ok {
			timer.Reset(time.Until(at))
			due = timer.C
		}
		e, ok, err := in.next(ctx, due)
		switch {
		case err != nil:
			return err
		case !ok:
			if err := c.fillGaps(ctx, held); err != nil {
				return err
			}
		default:
			if err := c.applyLive(ctx, e, held); err != nil {
				return err
			}
		}
	}
}

// heldEvents are live events that arrived past a gap, by channel, in seq
// order, with when the channel's first one arrived.
type heldEvents map[string]*held

type held struct {
	since  time.Time
	events []event
}

// due returns when the oldest gap's wait ends, if any is held.
func (h heldEvents) due(wait time.Duration) (time.Time, bool) {
	var first time.Time
	for _, g := range h {
		if first.IsZero() || g.since.Before(first) {
			first = g.since
		}
	}
	return first.Add(wait), !first.IsZero()
}

// hold keeps e (past a gap in ch) until the gap fills or its wait ends.
func (h heldEvents) hold(ch string, e event) {
	g := h[ch]
	if g == nil {
		g = &held{since: time.Now()}
		h[ch] = g
	}
	i := sort.Search(len(g.events), func(i int) bool { return g.events[i].Seq >= e.Seq })
	if i < len(g.events) && g.events[i].Seq == e.Seq {
		return
	}
	g.events = append(g.events, event{})
	copy(g.events[i+1:], g.events[i:])
	g.events[i] = e
}

// applyHeld applies what ch holds that now follows its checkpoint, drops
// what the checkpoint passed, and stops holding once nothing is left. Call
// with mu held.
func (c *Client) applyHeld(ch string, h heldEvents) {
	g := h[ch]
	if g == nil {
		return
	}
	for len(g.events) > 0 && g.events[0].Seq <= c.checkpoints[ch]+1 {
		if e := g.events[0]; e.Seq == c.checkpoints[ch]+1 {
			c.apply(ch, e)
			c.stats.Reordered++
		}
		g.events = g.events[1:]
	}
	if len(g.events) == 0 {
		delete(h, ch)
	}
}

// fillGaps catches up the channels whose gap outlived GapWait, and applies
// what they held.
func (c *Client) fillGaps(ctx context.Context, h heldEvents) error {
	var late []string
	for ch, g := range h {
		if time.Since(g.since) >= c.cfg.GapWait {
			late = append(late, ch)
		}
	}
	if len(late) == 0 {
		return nil // (a catch-up of no channel would be one of all)
	}
	c.mu.Lock()
	c.stats.Gaps += len(late)
	c.mu.Unlock()
	if err := c.catchUp(ctx, late); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range late {
		c.applyHeld(ch, h)
		if g := h[ch]; g != nil {
			g.since = time.Now() // a gap past the catch-up: wait again
		}
	}
	return nil
}

// applyLive applies a live event: in order, dropped if already applied,
// and held past a jump in seq until the events before it arrive (or the
// channel is caught up after GapWait: fillGaps).
func (c *Client) applyLive(ctx context.Context, e event, h heldEvents) error {
	ch := e.Channel
	if e.Type == "channel_joined" && ch != "" {
		if err := c.catchUp(ctx, []string{ch}); err != nil {
			return err
		}
		c.mu.Lock()
		c.applyHeld(ch, h)
		c.mu.Unlock()
		return nil
	}
	if e.Seq == 0 || ch == "" {
		return nil
	}
	c.mu.Lock()
	cp, known := c.checkpoints[ch]
	switch {
	case e.Seq <= cp:
		c.stats.Duplicates++
		c.mu.Unlock()
		return nil
	case e.Seq == cp+1 || !known && e.Seq == 1:
		c.apply(ch, e)
		c.applyHeld(ch, h)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	h.hold(ch, e)
	return nil
}

// catchUp calls client.catchup with the checkpoints of channels (all known
// ones when nil; the server adds channels we never saw) until no channel
// has more, applying every event.
func (c *Client) catchUp(ctx context.Context, channels []string) error {
	p := parsers.Get()
	defer parsers.Put(p)
	for {
		c.mu.Lock()
		cps := map[string]int64{}
		if channels == nil {
			for ch, seq := range c.checkpoints {
				cps[ch] = seq
			}
		} else {
			for _, ch := range channels {
				cps[ch] = c.checkpoints[ch]
			}
		}
		c.stats.CatchUps++
		c.mu.Unlock()
		out, err := c.call(ctx, p, "client.catchup", map[string]any{"checkpoints": cps, "limit": 1000})
		if err != nil {
			return err
		}
		more := false
		c.mu.Lock()
		for _, cc := range out.GetArray("channels") {
			ch := str(cc, "channel")
			if channels != nil && cps[ch] == 0 && !contains(channels, ch) {
				continue // only the channels asked for
			}
			for _, ev := range cc.GetArray("events") {
				if ev.Type() != fastjson.TypeObject {
					c.mu.Unlock()
					return fmt.Errorf("catch-up event %s: not an object", ev)
				}
				if ev.GetInt64("seq") > c.checkpoints[ch] {
					c.apply(ch, decodeEvent(ev))
				}
			}
			more = more || cc.GetBool("has_more")
		}
		c.mu.Unlock()
		if !more {
			return nil
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// apply changes the view and moves the checkpoint. Call with mu held.
func (c *Client) apply(ch string, e event) {
	msgs := c.messages[ch]
	if msgs == nil {
		msgs = map[string]*Message{}
		c.messages[ch] = msgs
	}
	switch {
	case e.Type == "message" && e.Subtype == "":
		if msgs[e.TS] != nil {
			c.stats.Reshown++
		}
		// Channel and user names repeat in every message: one copy each
		// (a bench process holds thousands of clients' views).
		msgs[e.TS] = &Message{Channel: unique.Make(ch).Value(), TS: e.TS, Seq: e.Seq, User: unique.Make(e.User).Value(), Text: e.Text}
	case e.Subtype == "message_changed" && e.Message != nil:
		if m := msgs[e.Message.TS]; m != nil {
			m.Text = e.Message.Text
		}
	case e.Subtype == "message_deleted":
		if m := msgs[e.DeletedTS]; m != nil {
			m.Deleted = true
		}
	}
	c.checkpoints[ch] = e.Seq
}

// Messages returns the channel's messages in ts order, deleted ones left
// out.
func (c *Client) Messages(channel string) []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Message
	for _, m := range c.messages[channel] {
		if !m.Deleted {
			out = append(out, *m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// Checkpoint returns the last seq applied in a channel.
func (c *Client) Checkpoint(channel string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checkpoints[channel]
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// maxCallRetries is how many times call sends a request again after a
// transport error.
const maxCallRetries = 1

// Caller makes a client's Web API calls.
type Caller interface {
	// Call posts body, JSON, to url with token as a bearer token and hands
	// the answer's status and body to read; body is valid only during
	// read. The error is the transport's.
	Call(ctx context.Context, url, token string, body []byte, read func(status int, body []byte)) error
}

// HTTPCaller makes calls through a net/http client (nil:
// http.DefaultClient).
type HTTPCaller struct{ Client *http.Client }

// Call implements Caller.
func (h HTTPCaller) Call(ctx context.Context, url, token string, body []byte, read func(int, []byte)) error {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	hc := h.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	read(resp.StatusCode, raw)
	return nil
}

// call posts a Web API method and returns its answer, parsed by p (valid
// until p's next use), once it is ok.
func (c *Client) call(ctx context.Context, p *fastjson.Parser, method string, args map[string]any) (*fastjson.Value, error) {
	body, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	if args == nil {
		body = []byte("{}")
	}
	var (
		status int
		v      *fastjson.Value
		perr   error
	)
	read := func(st int, b []byte) { status = st; v, perr = p.ParseBytes(b) }
	// Both methods the client calls (rtm.connect, client.catchup) are
	// safe to repeat, and a server may close a keep-alive connection while
	// it is idle at any time (RFC 9112 §9.3.1): a request that met such a
	// close is sent once more, on another connection (net/http's Transport
	// does that by itself for idempotent methods only, not for a POST).
	for attempt := 0; ; attempt++ {
		err := c.cfg.Caller.Call(ctx, c.cfg.API+"/api/"+method, c.cfg.Token, body, read)
		if err == nil {
			break
		}
		if attempt == maxCallRetries || ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
	}
	if perr != nil {
		return nil, fmt.Errorf("%s: status %d: %w", method, status, perr)
	}
	if !v.GetBool("ok") {
		return nil, fmt.Errorf("%s: %w", method, errors.New(str(v, "error")))
	}
	return v, nil
}
