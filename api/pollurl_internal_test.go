package api

import "testing"

// The long-poll's URL is the WebSocket's, over HTTP, one segment deeper.
func TestPollURL(t *testing.T) {
	for _, tc := range []struct{ ws, want string }{
		{"ws://127.0.0.1:8080/rtm/U1.x.9.n.s.m", "http://127.0.0.1:8080/rtm/poll/U1.x.9.n.s.m"},
		{"wss://gw.example/sse/rtm/T", "https://gw.example/sse/rtm/poll/T"},
		{"wss://gw.example/pocket-2/rtm/T", "https://gw.example/pocket-2/rtm/poll/T"},
		{"https://chat.example/rtm/T", ""},
		{"ws://chat.example/rtm/", ""},
	} {
		if got := pollURL(tc.ws); got != tc.want {
			t.Errorf("pollURL(%q) = %q, want %q", tc.ws, got, tc.want)
		}
	}
}
