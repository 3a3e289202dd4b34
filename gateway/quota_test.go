package gateway

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
)

// addrHeader carries the test's client address (Config.ClientAddr).
const addrHeader = "X-Test-Addr"

func headerAddr(r *http.Request) netip.Addr {
	a, _ := netip.ParseAddr(r.Header.Get(addrHeader))
	return a
}

// dialFrom dials as user from addr and returns the handshake's status, its
// body when refused, and Retry-After.
func (s *testServer) dialFrom(t *testing.T, user, addr string) (status int, body string, retry int) {
	t.Helper()
	h := http.Header{}
	if addr != "" {
		h.Set(addrHeader, addr)
	}
	_, resp, err := s.dial(t, "ticket-"+user, h)
	if resp == nil {
		t.Fatalf("dial %s from %s: %v", user, addr, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		body = strings.TrimSpace(string(b))
		retry, _ = strconv.Atoi(resp.Header.Get("Retry-After"))
	}
	return resp.StatusCode, body, retry
}

// wantRefused checks a 429 answer: its body and a Retry-After of at least
// a second.
func wantRefused(t *testing.T, status int, body string, retry int, code string) {
	t.Helper()
	if want := `{"ok":false,"error":"` + code + `"}`; status != http.StatusTooManyRequests || body != want || retry < 1 {
		t.Fatalf("answered %d %s (Retry-After %d), want 429 %s with Retry-After", status, body, retry, want)
	}
}

// TestConnectionsPerUser: a user's connections past MaxConnsPerUser are
// refused with 429 too_many_connections before the upgrade, other users'
// are not, and a place comes back when a connection closes.
func TestConnectionsPerUser(t *testing.T) {
	gone := make(chan string, 100)
	s := MustServe(t, Config{MaxConnsPerUser: 3}, &fakeChat{
		DisconnectedFn: func(_ context.Context, u *confab.User) { gone <- u.ID },
	})
	var first *client
	for i := range 3 {
		c := s.MustConnect(t, "U1")
		if i == 0 {
			first = c
		}
	}
	status, body, retry := s.dialFrom(t, "U1", "")
	wantRefused(t, status, body, retry, "too_many_connections")
	s.MustConnect(t, "U2")
	first.ws.Close()
	select {
	case <-gone:
	case <-time.After(waitFor):
		t.Fatal("the closed connection was not finished")
	}
	s.MustConnect(t, "U1")
	if n := counterValue(t, s.g.metrics.handshakesRefused.WithLabelValues("user_conns")); n != 1 {
		t.Fatalf("%v refusals for user_conns, want 1", n)
	}
}

// TestConnectionsPerAddress: an address's connections past
// MaxConnsPerAddr are refused before the ticket is redeemed; IPv6
// addresses count by /64; a place comes back when a connection closes.
func TestConnectionsPerAddress(t *testing.T) {
	var redeemed atomic.Int32
	gone := make(chan string, 100)
	s := MustServe(t, Config{MaxConnsPerAddr: 2, ClientAddr: headerAddr}, &fakeChat{
		RedeemTicketFn: func(_ context.Context, ticket string) (*confab.User, error) {
			redeemed.Add(1)
			return &confab.User{ID: strings.TrimPrefix(ticket, "ticket-"), WorkspaceID: "T1"}, nil
		},
		DisconnectedFn: func(_ context.Context, u *confab.User) { gone <- u.ID },
	})
	for _, tc := range []struct{ a, b, other string }{
		{"192.0.2.1", "192.0.2.1", "192.0.2.2"},
		{"::ffff:198.51.100.1", "198.51.100.1", "198.51.100.2"},        // one IPv4 address, mapped or not
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:3::1"}, // one /64, and the next
	} {
		ws1, resp, err := s.dial(t, "ticket-A"+tc.a, http.Header{addrHeader: {tc.a}})
		if err != nil {
			t.Fatalf("%s: %v (%v)", tc.a, err, resp)
		}
		if status, _, _ := s.dialFrom(t, "B"+tc.b, tc.b); status != http.StatusSwitchingProtocols {
			t.Fatalf("second from %s: %d", tc.b, status)
		}
		before := redeemed.Load()
		status, body, retry := s.dialFrom(t, "C"+tc.a, tc.a)
		wantRefused(t, status, body, retry, "too_many_connections")
		if redeemed.Load() != before {
			t.Fatal("the ticket was redeemed before the address was refused")
		}
		if status, _, _ := s.dialFrom(t, "D"+tc.other, tc.other); status != http.StatusSwitchingProtocols {
			t.Fatalf("from %s: %d, want another address's first accepted", tc.other, status)
		}
		ws1.Close()
		select {
		case <-gone:
		case <-time.After(waitFor):
			t.Fatal("the closed connection was not finished")
		}
		if status, _, _ := s.dialFrom(t, "E"+tc.a, tc.a); status != http.StatusSwitchingProtocols {
			t.Fatalf("from %s after a close: %d, want accepted", tc.a, status)
		}
	}
	if n := counterValue(t, s.g.metrics.handshakesRefused.WithLabelValues("addr_conns")); n != 3 {
		t.Fatalf("%v refusals for addr_conns, want 3", n)
	}
}

// TestHandshakeRate: an address's handshakes past its burst are refused
// with 429 ratelimited and a Retry-After, before the ticket is redeemed;
// another address is not; a refused one does not use the bucket up.
func TestHandshakeRate(t *testing.T) {
	var redeemed atomic.Int32
	s := MustServe(t, Config{HandshakeRate: 0.5, HandshakeBurst: 3, ClientAddr: headerAddr}, &fakeChat{
		RedeemTicketFn: func(_ context.Context, ticket string) (*confab.User, error) {
			redeemed.Add(1)
			return &confab.User{ID: strings.TrimPrefix(ticket, "ticket-"), WorkspaceID: "T1"}, nil
		},
	})
	for i := range 3 {
		if status, body, _ := s.dialFrom(t, "U"+strconv.Itoa(i), "192.0.2.1"); status != http.StatusSwitchingProtocols {
			t.Fatalf("handshake %d: %d %s, want the burst accepted", i, status, body)
		}
	}
	for range 2 {
		status, body, retry := s.dialFrom(t, "U9", "192.0.2.1")
		wantRefused(t, status, body, retry, "ratelimited")
		if retry > 2 {
			t.Fatalf("Retry-After %d, want 2 at most (a token every 2 s)", retry)
		}
	}
	if n := redeemed.Load(); n != 3 {
		t.Fatalf("%d tickets redeemed, want only the 3 accepted", n)
	}
	if status, _, _ := s.dialFrom(t, "V1", "192.0.2.2"); status != http.StatusSwitchingProtocols {
		t.Fatalf("another address: %d, want accepted", status)
	}
	if n := counterValue(t, s.g.metrics.handshakesRefused.WithLabelValues("handshake_rate")); n != 2 {
		t.Fatalf("%v refusals for handshake_rate, want 2", n)
	}
}

// TestQuotasRemoteAddr: without ClientAddr the address is r.RemoteAddr's;
// and a handshake that fails after taking its places gives them back.
func TestQuotasRemoteAddr(t *testing.T) {
	s := MustServe(t, Config{MaxConnsPerAddr: 1, MaxConnsPerUser: 1}, &fakeChat{})
	// A bad ticket is refused after the address's check: its place comes
	// back.
	for range 3 {
		if _, resp, _ := s.dial(t, "nope", nil); resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad ticket: %v, want 401", resp)
		}
	}
	s.MustConnect(t, "U1")
	status, body, retry := s.dialFrom(t, "U2", "")
	wantRefused(t, status, body, retry, "too_many_connections")
	s.g.quotas.mu.Lock()
	defer s.g.quotas.mu.Unlock()
	if len(s.g.quotas.addrs) != 1 || len(s.g.quotas.users) != 1 {
		t.Fatalf("%d addresses and %d users counted, want 1 and 1", len(s.g.quotas.addrs), len(s.g.quotas.users))
	}
}
