package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/api"
	"golang.org/x/time/rate"
)

// login posts alice's credentials from remote, with extra headers.
func login(tb testing.TB, srv http.Handler, remote string, header map[string]string) answer {
	tb.Helper()
	req := httptest.NewRequest("POST", "/api/auth.login", strings.NewReader("team=acme&name=alice&password=hunter22"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = remote
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return serve(tb, srv, req)
}

func TestRateLimitAuthIgnoresForwardedFor(t *testing.T) {
	srv := MustServer(t, stocked(), api.Config{AuthRateLimit: rate.Every(time.Hour), AuthRateBurst: 1})
	login(t, srv, "192.0.2.1:1000", map[string]string{"X-Forwarded-For": "198.51.100.1"}).wantOK(t)
	// Without a ClientAddr no header is believed: another claimed client
	// from the same peer shares its bucket.
	login(t, srv, "192.0.2.1:1001", map[string]string{"X-Forwarded-For": "198.51.100.2", "X-Real-IP": "198.51.100.3"}).wantError(t, 429, "ratelimited")
}

func TestRateLimitAuthPerClientAddr(t *testing.T) {
	// A ClientAddr that reads a header (the wiring's resolver does so
	// only for trusted proxies): the limit follows its answer, not the peer.
	srv := MustServer(t, stocked(), api.Config{
		AuthRateLimit: rate.Every(time.Hour), AuthRateBurst: 1,
		ClientAddr: func(r *http.Request) netip.Addr { return netip.MustParseAddr(r.Header.Get("X-Client")) },
	})
	client := func(a string) map[string]string { return map[string]string{"X-Client": a} }
	login(t, srv, "10.0.0.1:1000", client("198.51.100.1")).wantOK(t)
	login(t, srv, "10.0.0.1:1000", client("198.51.100.1")).wantError(t, 429, "ratelimited")
	login(t, srv, "10.0.0.1:1000", client("198.51.100.2")).wantOK(t)
	// IPv6 clients are limited by their /64.
	login(t, srv, "10.0.0.1:1000", client("2001:db8:1:2::1")).wantOK(t)
	login(t, srv, "10.0.0.1:1000", client("2001:db8:1:2:ffff::9")).wantError(t, 429, "ratelimited")
	login(t, srv, "10.0.0.1:1000", client("2001:db8:1:3::1")).wantOK(t)
	// An IPv4-mapped address is its IPv4 address.
	login(t, srv, "10.0.0.1:1000", client("::ffff:198.51.100.2")).wantError(t, 429, "ratelimited")
}

func TestRateLimitAuthIPv6PeerBy64(t *testing.T) {
	srv := MustServer(t, stocked(), api.Config{AuthRateLimit: rate.Every(time.Hour), AuthRateBurst: 1})
	login(t, srv, "[2001:db8::1]:1000", nil).wantOK(t)
	login(t, srv, "[2001:db8::2]:1000", nil).wantError(t, 429, "ratelimited")
	login(t, srv, "[2001:db8:0:1::1]:1000", nil).wantOK(t)
}

func TestSecureScheme(t *testing.T) {
	// Secure (the wiring's: TLS here or a trusted proxy's
	// X-Forwarded-Proto) picks the schemes of rtm.connect and auth.test.
	srv := MustServer(t, stocked(), api.Config{Secure: func(r *http.Request) bool { return r.Header.Get("X-Secure") == "1" }})
	call := func(method string, secure bool) answer {
		req := httptest.NewRequest("POST", "http://chat.example.org/api/"+method, nil)
		req.Header.Set("Authorization", "Bearer "+goodToken)
		if secure {
			req.Header.Set("X-Secure", "1")
		}
		return serve(t, srv, req).wantOK(t)
	}
	for _, tt := range []struct {
		method, field string
		secure        bool
		want          string
	}{
		{"rtm.connect", "url", true, "wss://chat.example.org/rtm/TICKET1"},
		{"rtm.connect", "url", false, "ws://chat.example.org/rtm/TICKET1"},
		{"auth.test", "url", true, "https://chat.example.org/"},
		{"auth.test", "url", false, "http://chat.example.org/"},
	} {
		if got := call(tt.method, tt.secure).body[tt.field]; got != tt.want {
			t.Errorf("%s (secure %v): %s = %v, want %v", tt.method, tt.secure, tt.field, got, tt.want)
		}
	}
}
