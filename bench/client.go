package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// api calls a confab's Web API: with net/http for set-up, which is not
// measured, and through conns (conn.go) in the measured loops.
type api struct {
	base string
	hc   *http.Client
	// What conns need of base: host is its host[:port], tls whether it is
	// https.
	host   string
	tls    bool
	dialer *net.Dialer
}

func newAPI(base string, conns int) *api {
	a := &api{base: base, hc: newHTTPClient(conns), dialer: &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}}
	if u, err := url.Parse(base); err == nil { // Config.validate checked the scheme
		a.host, a.tls = u.Host, u.Scheme == "https"
	}
	return a
}

func (a *api) close() { a.hc.CloseIdleConnections() }

// apiError is an answer with ok:false, or a 429.
type apiError struct {
	Method     string
	Status     int
	Code       string
	RetryAfter time.Duration
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d)", e.Method, e.Code, e.Status)
}

// checkAnswer reads the envelope of method's answer: a 429 or an ok:false
// answer is an *apiError.
func checkAnswer(method string, status int, retryAfter string, body []byte) (envelope, error) {
	if status == http.StatusTooManyRequests {
		secs, _ := strconv.Atoi(retryAfter)
		return envelope{}, &apiError{Method: method, Status: status, Code: "ratelimited", RetryAfter: time.Duration(max(secs, 1)) * time.Second}
	}
	env, err := parseEnvelope(body)
	if err != nil {
		return env, fmt.Errorf("%s: HTTP %d, body %.200q: %w", method, status, body, err)
	}
	if !env.OK {
		return env, &apiError{Method: method, Status: status, Code: env.Error}
	}
	return env, nil
}

// call posts form to /api/<method> with token and decodes the answer into
// out (when not nil). A non-ok answer is an *apiError.
func (a *api) call(ctx context.Context, token, method string, form url.Values, out any) error {
	_, err := a.callBody(ctx, token, method, form, out)
	return err
}

// callBody is call that also returns the answer's body.
func (a *api) callBody(ctx context.Context, token, method string, form url.Values, out any) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", a.base+"/api/"+method, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	if _, err := checkAnswer(method, resp.StatusCode, resp.Header.Get("Retry-After"), body); err != nil {
		return body, err
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return body, fmt.Errorf("%s: %w", method, err)
		}
	}
	return body, nil
}

// setupCall is call for set-up, which is not measured: a 429 is waited out
// (see waitOutRateLimit) instead of failing the run.
func (a *api) setupCall(ctx context.Context, token, method string, form url.Values, out any) error {
	return waitOutRateLimit(ctx, func() error { return a.call(ctx, token, method, form, out) })
}

// waitOutRateLimit calls call until it returns something other than a 429
// (an *apiError "ratelimited"), waiting as long as the answer says (at
// most 5 s) in between, five times at most.
func waitOutRateLimit(ctx context.Context, call func() error) error {
	for attempt := 0; ; attempt++ {
		err := call()
		var ae *apiError
		if !errors.As(err, &ae) || ae.Code != "ratelimited" || attempt == 4 {
			if ae != nil && ae.Code == "ratelimited" {
				return fmt.Errorf("%w: start the server with generous limits (confab serve -rate-limit 1000000 -rate-burst 1000000 -auth-rate-limit 1000 -max-conns-per-user 0 -max-conns-per-addr 0 -handshake-rate 0)", err)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(ae.RetryAfter, 5*time.Second)):
		}
	}
}

// post calls chat.postMessage and returns its round trip.
func (a *api) post(ctx context.Context, token, channel, text string) (time.Duration, error) {
	start := time.Now()
	err := a.call(ctx, token, "chat.postMessage", url.Values{"channel": {channel}, "text": {text}}, nil)
	return time.Since(start), err
}

type user struct {
	ID, Token, Name string
}

// workspace is what a run signed up.
type workspace struct {
	team  string
	users []user // users[0] created the workspace and owns it
}

// signupWorkspace signs up n users (at least one) in a new workspace with
// a random "bench-…" domain.
func (a *api) signupWorkspace(ctx context.Context, n, parallel int) (*workspace, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	ws := &workspace{team: "bench-" + hex.EncodeToString(b[:]), users: make([]user, max(n, 1))}
	signup := func(ctx context.Context, i int) error {
		name := fmt.Sprintf("u%05d", i)
		var out struct {
			Token  string `json:"token"`
			UserID string `json:"user_id"`
		}
		err := a.setupCall(ctx, "", "auth.signup", url.Values{"team": {ws.team}, "name": {name}, "password": {"bench password " + ws.team}}, &out)
		if err != nil {
			return err
		}
		if out.Token == "" || out.UserID == "" {
			return fmt.Errorf("auth.signup %s: no token or user_id", name)
		}
		ws.users[i] = user{ID: out.UserID, Token: out.Token, Name: name}
		return nil
	}
	if err := signup(ctx, 0); err != nil { // creates the workspace
		return nil, err
	}
	if err := forEach(ctx, len(ws.users)-1, parallel, func(ctx context.Context, i int) error { return signup(ctx, i+1) }); err != nil {
		return nil, err
	}
	return ws, nil
}

// createChannel creates a public channel as token's user and returns its id.
func (a *api) createChannel(ctx context.Context, token, name string) (string, error) {
	var out struct {
		Channel struct {
			ID string `json:"id"`
		} `json:"channel"`
	}
	if err := a.setupCall(ctx, token, "conversations.create", url.Values{"name": {name}}, &out); err != nil {
		return "", err
	}
	if out.Channel.ID == "" {
		return "", fmt.Errorf("conversations.create %s: no channel id", name)
	}
	return out.Channel.ID, nil
}

// joinAll has every user join every channel.
func (a *api) joinAll(ctx context.Context, users []user, channels []string, parallel int) error {
	return forEach(ctx, len(users)*len(channels), parallel, func(ctx context.Context, i int) error {
		return a.join(ctx, users[i/len(channels)].Token, channels[i%len(channels)])
	})
}

// join has token's user join channel.
func (a *api) join(ctx context.Context, token, channel string) error {
	return a.setupCall(ctx, token, "conversations.join", url.Values{"channel": {channel}}, nil)
}

// rtmConnect calls rtm.connect as token's user and returns the gateway's
// URL it names for transport: its WebSocket's ("websocket"), its
// Server-Sent Events stream's ("sse") or its long-poll's ("poll").
func (a *api) rtmConnect(ctx context.Context, token, transport string) (string, error) {
	var out struct {
		URL     string `json:"url"`
		SSEURL  string `json:"sse_url"`
		PollURL string `json:"poll_url"`
	}
	if err := a.setupCall(ctx, token, "rtm.connect", nil, &out); err != nil {
		return "", err
	}
	u := map[string]string{"websocket": out.URL, "sse": out.SSEURL, "poll": out.PollURL}[transport]
	if u == "" {
		return "", fmt.Errorf("rtm.connect gave no URL for %s", transport)
	}
	return u, nil
}

// dialRTM calls rtm.connect as token's user, dials the gateway it names and
// returns the connection once hello has arrived.
func (a *api) dialRTM(ctx context.Context, dialer *websocket.Dialer, token string) (*websocket.Conn, error) {
	u, err := a.rtmConnect(ctx, token, "websocket")
	if err != nil {
		return nil, err
	}
	conn, _, err := dialer.DialContext(ctx, u, nil)
	if err != nil {
		return nil, fmt.Errorf("dial gateway: %w", err)
	}
	deadline := helloDeadline(ctx)
	conn.SetReadDeadline(deadline)
	_, frame, err := conn.ReadMessage()
	if err == nil {
		err = checkHello(frame)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("hello: %w", err)
	}
	conn.SetReadDeadline(time.Time{})
	return conn, nil
}

func newDialer() *websocket.Dialer {
	return &websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 1024}
}

// forEach calls fn(ctx, i) for i in [0, n) with at most parallel calls at
// once. It stops starting calls at the first error, waits for those
// running and returns that error.
func forEach(ctx context.Context, n, parallel int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max(parallel, 1), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx) // nil unless a call failed or ctx ended
}
