package main

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// Bad input gets a clear Slack-style error or a close, never a crash, and
// the server keeps serving.
func TestBadInputGetsClearErrors(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	ch := alice.createChannel("plaza", false)

	raw := func(method, contentType, body string, auth bool) (int, obj) {
		t.Helper()
		req, _ := http.NewRequest("POST", m.URL()+"/api/"+method, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if auth {
			req.Header.Set("Authorization", "Bearer "+alice.token)
		}
		return doJSON(t, req)
	}
	form := "application/x-www-form-urlencoded"
	cases := []struct {
		name, method, contentType, body string
		auth                            bool
		want                            string
	}{
		{"malformed JSON", "chat.postMessage", "application/json", `{"channel": "` + ch + `", "text": `, true, "invalid_arguments"},
		{"JSON that is not an object", "chat.postMessage", "application/json", `[1,2,3]`, true, "invalid_arguments"},
		{"malformed form", "chat.postMessage", form, "channel=%zz&text=hi", true, "invalid_arguments"},
		{"unknown method", "chat.launchRockets", form, "", true, "unknown_method"},
		{"no token", "chat.postMessage", form, "channel=" + ch + "&text=hi", false, "not_authed"},
		{"bad token", "chat.postMessage", form, "token=xoxp-nope&channel=" + ch + "&text=hi", false, "invalid_auth"},
		{"oversize text", "chat.postMessage", form, "channel=" + ch + "&text=" + strings.Repeat("a", 40001), true, "msg_too_long"},
		{"empty text", "chat.postMessage", form, "channel=" + ch + "&text=%20", true, "no_text"},
		{"invalid UTF-8", "chat.postMessage", form, "channel=" + ch + "&text=%ff%fe", true, "invalid_arguments"},
		{"junk channel id", "chat.postMessage", form, "channel=../../etc&text=hi", true, "channel_not_found"},
		{"bad cursor", "conversations.history", form, "channel=" + ch + "&cursor=%00%01", true, "invalid_cursor"},
		{"bad limit", "conversations.history", form, "channel=" + ch + "&limit=lots", true, "invalid_arguments"},
		{"bad ts", "chat.update", form, "channel=" + ch + "&ts=yesterday&text=x", true, "message_not_found"},
		{"bad checkpoints", "client.catchup", form, "checkpoints=%7Bnope", true, "invalid_arguments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out := raw(c.method, c.contentType, c.body, c.auth)
			if status != 200 || out["ok"] != false || out["error"] != c.want {
				t.Fatalf("%s = %d %v, want 200 error %q", c.name, status, out, c.want)
			}
		})
	}
	// The longest text allowed is accepted and stored exactly.
	long := strings.Repeat("é", 40000)
	alice.must("chat.postMessage", obj{"channel": ch, "text": long})
	hist := alice.must("conversations.history", obj{"channel": ch, "limit": 1})
	if got := hist["messages"].([]any)[0].(obj)["text"]; got != long {
		t.Fatalf("40,000-character text not stored exactly")
	}

	// A huge WebSocket frame closes that connection with 1009.
	conn := alice.connect()
	if err := conn.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","pad":"`+strings.Repeat("x", 4<<20)+`"}`)); err != nil {
		t.Logf("write of huge frame: %v (the server may close first)", err)
	}
	<-conn.closed
	var ce *websocket.CloseError
	if !errors.As(conn.err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("huge frame: connection ended with %v, want close 1009", conn.err)
	}
	// Junk frames get an error reply or are ignored, and the connection lives on.
	other := alice.connect()
	other.conn.WriteMessage(websocket.TextMessage, []byte(`{not json`))
	other.send(obj{"id": 7, "type": "ping"})
	if f := other.next(isType("pong")); f["reply_to"] != float64(7) {
		t.Fatalf("pong %v, want reply_to 7", f)
	}

	// Still healthy.
	resp, err := http.Get(m.URL() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz after bad input: %v %v", resp, err)
	}
	resp.Body.Close()
}
