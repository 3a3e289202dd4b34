package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"

	"github.com/confab/confab"
)

// MustRunMain starts a confab on 127.0.0.1:0 with a temporary SQLite
// database and stops it when the test ends.
func MustRunMain(tb testing.TB, configure ...func(*Main)) *Main {
	tb.Helper()
	m := NewMain()
	m.Config.Listen = "127.0.0.1:0"
	m.Config.DataDir = tb.TempDir()
	m.Config.SQLiteSync = "normal"
	m.Config.PasswordCost = 4
	m.Config.RateLimit = 100000
	m.Config.RateBurst = 100000
	m.Config.AuthRateLimit = 100000
	m.Logger = slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, f := range configure {
		f(m)
	}
	if err := m.Run(context.Background()); err != nil {
		tb.Fatalf("run: %v", err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return m
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// obj is a decoded JSON object.
type obj = map[string]any

// client is a user of the Web API.
type client struct {
	tb     testing.TB
	base   string
	token  string
	userID string
	teamID string
	name   string
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// call posts a JSON body to /api/<method> and decodes the answer.
func (c *client) call(method string, args obj) (int, obj) {
	c.tb.Helper()
	status, out, err := c.try(method, args)
	if err != nil {
		c.tb.Fatal(err)
	}
	return status, out
}

// try is call for a server that may be gone: transport and decoding
// errors are returned, not fatal.
func (c *client) try(method string, args obj) (int, obj, error) {
	if args == nil {
		args = obj{}
	}
	body, err := json.Marshal(args)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest("POST", c.base+"/api/"+method, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", method, err)
	}
	var out obj
	if err := json.Unmarshal(raw, &out); err != nil {
		return 0, nil, fmt.Errorf("%s: status %d, body %q is not JSON: %w", method, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, out, nil
}

func doJSON(tb testing.TB, req *http.Request) (int, obj) {
	tb.Helper()
	resp, err := httpClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out obj
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatalf("%s: status %d, body %q is not JSON: %v", req.URL.Path, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, out
}

// must calls a method and fails the test unless it answers ok.
func (c *client) must(method string, args obj) obj {
	c.tb.Helper()
	status, out := c.call(method, args)
	if status != 200 || out["ok"] != true {
		c.tb.Fatalf("%s(%v) as %s = %d %v, want ok", method, args, c.name, status, out)
	}
	return out
}

// fails calls a method and checks it fails with the given Slack error.
func (c *client) fails(method string, args obj, wantErr string) {
	c.tb.Helper()
	_, out := c.call(method, args)
	if out["ok"] != false || out["error"] != wantErr {
		c.tb.Fatalf("%s(%v) as %s = %v, want error %q", method, args, c.name, out, wantErr)
	}
}

// signup creates a user (and the workspace if new).
func signup(tb testing.TB, m *Main, team, name string) *client {
	tb.Helper()
	return signupAt(tb, m.URL(), team, name)
}

// signupAt is signup through the API at base, a server of this process or
// another's.
func signupAt(tb testing.TB, base, team, name string) *client {
	tb.Helper()
	c := &client{tb: tb, base: base, name: name}
	out := c.must("auth.signup", obj{"team": team, "name": name, "password": "correct horse " + name})
	c.token, c.userID, c.teamID = out["token"].(string), out["user_id"].(string), out["team_id"].(string)
	return c
}

// post posts a message and returns its ts.
func (c *client) post(channel, text string) string {
	c.tb.Helper()
	out := c.must("chat.postMessage", obj{"channel": channel, "text": text})
	return out["ts"].(string)
}

func (c *client) createChannel(name string, private bool) string {
	c.tb.Helper()
	out := c.must("conversations.create", obj{"name": name, "is_private": private})
	return out["channel"].(obj)["id"].(string)
}

// rtm is a WebSocket connection of a user, with a reader goroutine that
// queues every frame it receives.
type rtm struct {
	tb     testing.TB
	conn   *websocket.Conn
	frames chan obj
	closed chan struct{}
	err    error // set before closed is closed
	mu     sync.Mutex
}

// connect calls rtm.connect and dials the gateway; it returns after hello.
func (c *client) connect() *rtm {
	c.tb.Helper()
	out := c.must("rtm.connect", nil)
	url := out["url"].(string)
	conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		c.tb.Fatalf("dial %s: %v (%v)", url, err, resp)
	}
	r := &rtm{tb: c.tb, conn: conn, frames: make(chan obj, 100000), closed: make(chan struct{})}
	go r.read()
	c.tb.Cleanup(func() { conn.Close() })
	if f := r.next(func(f obj) bool { return true }); f["type"] != "hello" {
		c.tb.Fatalf("first frame %v, want hello", f)
	}
	return r
}

func (r *rtm) read() {
	defer close(r.closed)
	for {
		_, data, err := r.conn.ReadMessage()
		if err != nil {
			r.err = err
			return
		}
		var f obj
		if err := json.Unmarshal(data, &f); err != nil {
			r.err = fmt.Errorf("frame %q: %w", data, err)
			return
		}
		r.frames <- f
	}
}

const waitFor = 10 * time.Second

// next returns the next frame that matches, skipping others; it fails the
// test after a deadline.
func (r *rtm) next(match func(obj) bool) obj {
	r.tb.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case f := <-r.frames:
			if match(f) {
				return f
			}
		case <-r.closed:
			// Drain what was queued before the close.
			select {
			case f := <-r.frames:
				if match(f) {
					return f
				}
				continue
			default:
			}
			r.tb.Fatalf("connection closed while waiting: %v", r.err)
		case <-deadline:
			r.tb.Fatalf("no matching frame within %v", waitFor)
		}
	}
}

// collect returns every frame up to and including the first that matches
// stop.
func (r *rtm) collect(stop func(obj) bool) []obj {
	r.tb.Helper()
	var out []obj
	r.next(func(f obj) bool {
		out = append(out, f)
		return stop(f)
	})
	return out
}

func (r *rtm) send(f obj) {
	r.tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.conn.WriteJSON(f); err != nil {
		r.tb.Fatalf("send: %v", err)
	}
}

func isType(typ string) func(obj) bool {
	return func(f obj) bool { return f["type"] == typ }
}

func isMessage(text string) func(obj) bool {
	return func(f obj) bool { return f["type"] == "message" && f["subtype"] == nil && f["text"] == text }
}

func seqOf(f obj) int64 {
	n, _ := f["seq"].(float64)
	return int64(n)
}

// isSystem says whether a message object (or its event) is a system
// message: a join, leave, topic or purpose line the server posted.
func isSystem(m obj) bool {
	st, _ := m["subtype"].(string)
	return confab.IsSystemSubtype(st)
}

// posted drops the system messages of a history page: what a test about
// the messages people posted reads.
func posted(msgs []any) []any {
	var out []any
	for _, m := range msgs {
		if !isSystem(m.(obj)) {
			out = append(out, m)
		}
	}
	return out
}

// postedGo is posted for slack-go's messages.
func postedGo(msgs []slack.Message) []slack.Message {
	var out []slack.Message
	for _, m := range msgs {
		if !confab.IsSystemSubtype(m.SubType) {
			out = append(out, m)
		}
	}
	return out
}

// generalSeq returns the general channel of c's workspace with its latest
// seq: the checkpoint of a client up to date on it (its sign-up joins).
func generalSeq(t *testing.T, c *client) (string, int64) {
	t.Helper()
	id := generalOf(t, c)
	info := c.must("conversations.info", obj{"channel": id})["channel"].(obj)
	return id, int64(info["latest_seq"].(float64))
}
