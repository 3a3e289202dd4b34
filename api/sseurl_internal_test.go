package api

import "testing"

// The stream's URL is the WebSocket's, over HTTP, one segment deeper.
func TestSSEURL(t *testing.T) {
	for _, tc := range []struct{ ws, want string }{
		{"ws://127.0.0.1:8080/rtm/U1.x.9.n.s.m", "http://127.0.0.1:8080/rtm/sse/U1.x.9.n.s.m"},
		{"wss://chat.example/rtm/T", "https://chat.example/rtm/sse/T"},
		{"wss://gw.example/pocket-2/rtm/T", "https://gw.example/pocket-2/rtm/sse/T"},
		{"https://chat.example/rtm/T", ""},
		{"ws://chat.example/other/T", ""},
		{"ws://chat.example/rtm/", ""},
		{"::", ""},
	} {
		if got := sseURL(tc.ws); got != tc.want {
			t.Errorf("sseURL(%q) = %q, want %q", tc.ws, got, tc.want)
		}
	}
}
