package bench

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"
)

// A frameConn reads what gorilla's server side writes: short messages,
// text and binary, messages bigger than its buffer, messages in fragments
// with a ping between two (answered with a pong), and a close.
func TestBenchFrameConn(t *testing.T) {
	big := strings.Repeat("b", 3*frameBuffer)
	long := strings.Repeat("f", 40)
	pong := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A write buffer of 32 bytes sends longer messages in fragments.
		ws, err := (&websocket.Upgrader{WriteBufferSize: 32}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.SetPongHandler(func(data string) error { pong <- data; return nil })
		go func() { // reads, for the pong handler, until the client goes
			for {
				if _, _, err := ws.NextReader(); err != nil {
					return
				}
			}
		}()
		ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello"}`))
		ws.WriteMessage(websocket.TextMessage, []byte(`{"text":"fo 1 2"}`))
		ws.WriteMessage(websocket.BinaryMessage, []byte(big))
		fw, _ := ws.NextWriter(websocket.TextMessage)
		fw.Write([]byte(long)) // the first 32 bytes go out
		ws.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second))
		fw.Write([]byte("-message"))
		fw.Close()
		ws.WriteMessage(websocket.TextMessage, []byte("after"))
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		<-r.Context().Done()
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dialFrames(ctx, (&net.Dialer{}).DialContext, "ws"+strings.TrimPrefix(srv.URL, "http")+"/rtm/x")
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	for _, want := range []string{`{"text":"fo 1 2"}`, big, long + "-message", "after"} {
		got, err := c.next()
		if err != nil || string(got) != want {
			t.Fatalf("next() = %.40q, %v, want %.40q", got, err, want)
		}
		if time.Since(c.at) > 5*time.Second {
			t.Errorf("next() stamped %v, want the time of its read", c.at)
		}
	}
	var closed wsutil.ClosedError
	if got, err := c.next(); !errors.As(err, &closed) || closed.Code != ws.StatusNormalClosure {
		t.Errorf("next() at the close = %q, %v, want a normal closure", got, err)
	}
	select {
	case data := <-pong:
		if data != "are you there" {
			t.Errorf("pong %q, want the ping's payload", data)
		}
	case <-ctx.Done():
		t.Fatal("no pong")
	}
}

// dialFrames refuses a server that does not speak WebSocket or does not
// start with hello.
func TestBenchDialFramesRefuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain" {
			http.Error(w, "not here", http.StatusNotFound)
			return
		}
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"goodbye"}`))
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := "ws" + strings.TrimPrefix(srv.URL, "http")
	for path, want := range map[string]string{"/plain": "status: 404", "/ws": "want hello"} {
		c, err := dialFrames(ctx, (&net.Dialer{}).DialContext, base+path)
		if err == nil {
			c.close()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("dialFrames(%s) = %v, want an error with %q", path, err, want)
		}
	}
}
