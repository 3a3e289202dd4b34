package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestSpoofedForwardedForDoesNotEscapeAuthLimit: a client on the open
// internet that makes up X-Forwarded-For, X-Real-IP or X-Forwarded-Proto
// changes nothing: it still has one per-IP bucket for auth.login, and its
// rtm.connect URL stays ws://. Behind a trusted proxy each forwarded
// client has a bucket of its own, and the proxy's X-Forwarded-Proto picks
// wss://.
func TestSpoofedForwardedForDoesNotEscapeAuthLimit(t *testing.T) {
	const burst = 3
	limited := func(trusted ...string) *Main {
		return MustRunMain(t, func(m *Main) {
			m.Config.AuthRateLimit = 0.001 // one every 1,000 s: the burst is all there is
			m.Config.AuthRateBurst = burst
			m.Config.TrustedProxies = trusted
		})
	}
	hc := &http.Client{}
	// Each login names another user, so that only the per-IP limit
	// (not a per-account one) can refuse it.
	var logins int
	login := func(m *Main, header map[string]string) int {
		logins++
		status, _, _ := apiCall(t, hc, m.URL(), "", "auth.login",
			map[string]string{"team": "acme", "name": fmt.Sprintf("mallory%d", logins), "password": "not-the-password"}, header)
		return status
	}

	t.Run("untrusted peer", func(t *testing.T) {
		m := limited()                     // no trusted proxies: the default
		c := signup(t, m, "acme", "alice") // one of the peer's burst
		for i := range burst - 1 {
			if got := login(m, map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+1)}); got != http.StatusOK {
				t.Fatalf("login %d = %d, want 200 (invalid_auth) within the burst", i, got)
			}
		}
		for i, h := range []map[string]string{
			{"X-Forwarded-For": "203.0.113.99"},
			{"X-Real-IP": "203.0.113.98"},
			{"X-Forwarded-For": "198.51.100.1, 203.0.113.97"},
			{"X-Forwarded-For": "127.0.0.2"},
		} {
			if got := login(m, h); got != http.StatusTooManyRequests {
				t.Errorf("spoofed login %d (%v) = %d, want 429: the peer's bucket is spent", i, h, got)
			}
		}
		_, out, _ := apiCall(t, hc, m.URL(), c.token, "rtm.connect", nil, map[string]string{"X-Forwarded-Proto": "https"})
		if url, _ := out["url"].(string); !strings.HasPrefix(url, "ws://") {
			t.Errorf("rtm.connect with a spoofed X-Forwarded-Proto: url = %q, want ws://", url)
		}
	})

	t.Run("trusted proxy", func(t *testing.T) {
		m := limited("127.0.0.0/8")
		for client := range 2 {
			h := map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.7, 203.0.113.%d", client+1)}
			for i := range burst {
				if got := login(m, h); got != http.StatusOK {
					t.Fatalf("client %d login %d = %d, want 200 (invalid_auth): a bucket of its own", client, i, got)
				}
			}
			// The left of the chain is the client's own say: it changes
			// nothing.
			h["X-Forwarded-For"] = fmt.Sprintf("198.51.100.8, 203.0.113.%d", client+1)
			if got := login(m, h); got != http.StatusTooManyRequests {
				t.Errorf("client %d past its burst = %d, want 429", client, got)
			}
		}
		c := signup(t, m, "acme", "alice")
		_, out, _ := apiCall(t, hc, m.URL(), c.token, "rtm.connect", nil, map[string]string{"X-Forwarded-Proto": "https"})
		if url, _ := out["url"].(string); !strings.HasPrefix(url, "wss://") {
			t.Errorf("rtm.connect through a TLS-terminating trusted proxy: url = %q, want wss://", url)
		}
		_, out, _ = apiCall(t, hc, m.URL(), c.token, "auth.test", nil, map[string]string{"X-Forwarded-Proto": "https"})
		if url, _ := out["url"].(string); !strings.HasPrefix(url, "https://") {
			t.Errorf("auth.test through a TLS-terminating trusted proxy: url = %q, want https://", url)
		}
	})
}

// TestSpoofedForwardedForDoesNotEscapeConnCap: the gateway's cap on
// WebSockets per address counts the TCP peer when it is not a trusted
// proxy, whatever X-Forwarded-For says; behind a trusted proxy it counts
// each forwarded client.
func TestSpoofedForwardedForDoesNotEscapeConnCap(t *testing.T) {
	const perAddr = 2
	for _, trusted := range []bool{false, true} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			m := MustRunMain(t, func(m *Main) {
				m.Config.MaxConnsPerAddr = perAddr
				m.Config.MaxConnsPerUser = 0
				if trusted {
					m.Config.TrustedProxies = []string{"127.0.0.1"}
				}
			})
			c := signup(t, m, "acme", "alice")
			dial := func(i int) int {
				url := c.must("rtm.connect", nil)["url"].(string)
				h := http.Header{"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", i)}}
				conn, resp, err := websocket.DefaultDialer.Dial(url, h)
				if err == nil {
					t.Cleanup(func() { conn.Close() })
					return resp.StatusCode
				}
				if resp == nil {
					t.Fatalf("dial %d: %v", i, err)
				}
				return resp.StatusCode
			}
			for i := range perAddr + 1 {
				got := dial(i + 1)
				want := http.StatusSwitchingProtocols
				if !trusted && i == perAddr {
					want = http.StatusTooManyRequests
				}
				if got != want {
					t.Errorf("connection %d with X-Forwarded-For 203.0.113.%d: %d, want %d", i, i+1, got, want)
				}
			}
		})
	}
}
