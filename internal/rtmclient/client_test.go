package rtmclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeServer answers rtm.connect with its gateway's URL and dialAfter,
// client.catchup with nothing, and upgrades /rtm/ to a WebSocket that says
// hello and is held until the client goes.
type fakeServer struct {
	*httptest.Server
	dialAfter time.Duration

	mu        sync.Mutex
	connected []time.Time // guarded by mu: when each rtm.connect answered
	dialed    []time.Time // guarded by mu: when each gateway dial arrived
}

// wrap, when given, wraps its handler.
func newFakeServer(t *testing.T, dialAfter time.Duration, wrap ...func(http.Handler) http.Handler) *fakeServer {
	t.Helper()
	f := &fakeServer{dialAfter: dialAfter}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/rtm.connect", func(w http.ResponseWriter, r *http.Request) {
		url := "ws" + strings.TrimPrefix(f.URL, "http") + "/rtm/TICKET"
		fmt.Fprintf(w, `{"ok":true,"url":%q,"dial_after_ms":%d}`, url, f.dialAfter.Milliseconds())
		f.mu.Lock()
		f.connected = append(f.connected, time.Now())
		f.mu.Unlock()
	})
	mux.HandleFunc("/api/client.catchup", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"ok":true,"channels":[]}`)
	})
	up := websocket.Upgrader{}
	mux.HandleFunc("/rtm/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.dialed = append(f.dialed, time.Now())
		f.mu.Unlock()
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello"}`))
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	})
	var h http.Handler = mux
	for _, w := range wrap {
		h = w(h)
	}
	f.Server = httptest.NewServer(h)
	t.Cleanup(f.Close)
	return f
}

// mustConnect runs a client until its first hello and returns its stop.
func mustConnect(t testing.TB, url string) (stop func()) {
	t.Helper()
	_, stop = mustConnectClient(t, url)
	return stop
}

// mustConnectClient is mustConnect that also returns the client.
func mustConnectClient(t testing.TB, url string) (c *Client, stop func()) {
	t.Helper()
	c = New(Config{API: url, Token: "xoxp-test"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	select {
	case <-c.Connected():
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("not connected: %s", c.Stats().LastError)
	}
	return c, func() {
		cancel()
		<-done
	}
}

// The client dials the gateway only once the slot rtm.connect gave it came.
func TestDialAfterSlot(t *testing.T) {
	const slot = 300 * time.Millisecond
	f := newFakeServer(t, slot)
	mustConnect(t, f.URL)()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.connected) != 1 || len(f.dialed) != 1 {
		t.Fatalf("%d rtm.connect calls and %d dials, want 1 each", len(f.connected), len(f.dialed))
	}
	if waited := f.dialed[0].Sub(f.connected[0]); waited < slot {
		t.Errorf("dialed %v after rtm.connect answered, want at least %v", waited, slot)
	}
}

// A session costs little memory: a storm starts thousands at once.
func TestSessionMemory(t *testing.T) {
	f := newFakeServer(t, 0)
	mustConnect(t, f.URL)() // warm the HTTP and dial paths
	const sessions = 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range sessions {
		mustConnect(t, f.URL)()
	}
	runtime.ReadMemStats(&after)
	// The fake server's side of each session counts too.
	if per := (after.TotalAlloc - before.TotalAlloc) / sessions; per > 256<<10 {
		t.Errorf("a session allocated %d KiB, want at most 256 KiB", per>>10)
	}
}

// A request that meets the server closing its keep-alive connection is sent
// again, and the session does not end: servers close idle connections when
// they need the descriptors (a reconnect storm), racing the client's next
// request on them.
func TestCallRetriedAfterConnectionClosed(t *testing.T) {
	var closed atomic.Int32
	f := newFakeServer(t, 0, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/client.catchup" && closed.CompareAndSwap(0, 1) {
				// As if closed while idle: no answer at all.
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	c, stop := mustConnectClient(t, f.URL)
	stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	if closed.Load() != 1 || len(f.connected) != 1 || c.Stats().LastError != "" {
		t.Errorf("after %d closed catch-up: %d rtm.connect calls (want 1: the session went on), last error %q",
			closed.Load(), len(f.connected), c.Stats().LastError)
	}
}

// scriptedCaller answers each call with the next of its steps: a transport
// error, or a status and body handed to read.
type scriptedCaller struct {
	steps []func(read func(int, []byte)) error
	urls  []string
	token string
}

func (s *scriptedCaller) Call(_ context.Context, url, token string, _ []byte, read func(int, []byte)) error {
	s.urls, s.token = append(s.urls, url), token
	step := s.steps[0]
	s.steps = s.steps[1:]
	return step(read)
}

func answer(status int, body string) func(func(int, []byte)) error {
	return func(read func(int, []byte)) error { read(status, []byte(body)); return nil }
}

func transportError(func(int, []byte)) error { return errors.New("connection reset") }

// The client makes its calls through Config.Caller: a transport error is
// sent once more and no more; an answer that is not JSON, or not ok, ends
// the call with what it said. Every error starts with the method.
func TestCallerContract(t *testing.T) {
	cases := []struct {
		name    string
		steps   []func(func(int, []byte)) error
		calls   int
		wantErr string // "" for ok
	}{
		{"retried once", []func(func(int, []byte)) error{transportError, answer(200, `{"ok":true,"url":"ws://g/rtm/t"}`)}, 2, ""},
		{"not thrice", []func(func(int, []byte)) error{transportError, transportError}, 2, "rtm.connect: connection reset"},
		{"not JSON", []func(func(int, []byte)) error{answer(502, "Bad Gateway")}, 1, "rtm.connect: status 502"},
		{"not ok", []func(func(int, []byte)) error{answer(200, `{"ok":false,"error":"invalid_auth"}`)}, 1, "rtm.connect: invalid_auth"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := &scriptedCaller{steps: tc.steps}
			c := New(Config{API: "http://api.example", Token: "xoxc-1", Caller: sc})
			p := parsers.Get()
			defer parsers.Put(p)
			v, err := c.call(context.Background(), p, "rtm.connect", nil)
			if len(sc.urls) != tc.calls || sc.urls[0] != "http://api.example/api/rtm.connect" || sc.token != "xoxc-1" {
				t.Fatalf("calls to %v with token %q, want %d to http://api.example/api/rtm.connect with xoxc-1", sc.urls, sc.token, tc.calls)
			}
			switch {
			case tc.wantErr == "" && (err != nil || str(v, "url") != "ws://g/rtm/t"):
				t.Fatalf("call = %v, %v; want the answer", v, err)
			case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)):
				t.Fatalf("call error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}
