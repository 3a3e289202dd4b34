package clientip

import (
	"crypto/tls"

	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestAddr(t *testing.T) {
	r, err := New([]string{"10.0.0.0/8", "192.0.2.7", "fd00::/8", "::ffff:172.16.0.0/108"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote string
		xff    []string // X-Forwarded-For headers, in order
		realIP string
		want   string
	}{
		{"no proxy", "198.51.100.1:5000", nil, "", "198.51.100.1"},
		{"untrusted peer spoofing XFF", "198.51.100.1:5000", []string{"203.0.113.9"}, "", "198.51.100.1"},
		{"untrusted peer spoofing X-Real-IP", "198.51.100.1:5000", nil, "203.0.113.9", "198.51.100.1"},
		{"untrusted peer spoofing a trusted address", "198.51.100.1:5000", []string{"10.1.1.1"}, "", "198.51.100.1"},
		{"trusted peer, one hop", "10.0.0.2:5000", []string{"203.0.113.9"}, "", "203.0.113.9"},
		{"trusted peer without headers", "10.0.0.2:5000", nil, "", "10.0.0.2"},
		{"trusted peer, X-Real-IP", "10.0.0.2:5000", nil, "203.0.113.9", "203.0.113.9"},
		{"XFF wins over X-Real-IP", "10.0.0.2:5000", []string{"203.0.113.9"}, "203.0.113.50", "203.0.113.9"},
		{"client spoofs the left of the chain", "10.0.0.2:5000", []string{"1.2.3.4, 203.0.113.9"}, "", "203.0.113.9"},
		{"chain of trusted proxies", "10.0.0.2:5000", []string{"1.2.3.4, 203.0.113.9, 192.0.2.7, 10.9.9.9"}, "", "203.0.113.9"},
		{"chain over repeated headers", "10.0.0.2:5000", []string{"1.2.3.4, 203.0.113.9", "192.0.2.7", "10.9.9.9"}, "", "203.0.113.9"},
		{"every hop trusted", "10.0.0.2:5000", []string{"10.5.5.5, 10.9.9.9"}, "", "10.5.5.5"},
		{"garbage at the right", "10.0.0.2:5000", []string{"203.0.113.9, unknown"}, "", "10.0.0.2"},
		{"garbage behind a trusted hop", "10.0.0.2:5000", []string{"203.0.113.9, junk, 10.9.9.9"}, "", "10.9.9.9"},
		{"empty entries skipped", "10.0.0.2:5000", []string{"203.0.113.9,, "}, "", "203.0.113.9"},
		{"hop with a port", "10.0.0.2:5000", []string{"203.0.113.9:4711"}, "", "203.0.113.9"},
		{"IPv6 peer untrusted", "[2001:db8::1]:5000", []string{"203.0.113.9"}, "", "2001:db8::1"},
		{"IPv6 trusted peer and client", "[fd00::2]:5000", []string{"2001:db8::9, fd12::3"}, "", "2001:db8::9"},
		{"IPv6 hop with a port", "[fd00::2]:5000", []string{"[2001:db8::9]:4711"}, "", "2001:db8::9"},
		{"IPv6 hop in brackets", "[fd00::2]:5000", []string{"[2001:db8::9]"}, "", "2001:db8::9"},
		{"IPv4-mapped peer is IPv4", "[::ffff:10.0.0.2]:5000", []string{"203.0.113.9"}, "", "203.0.113.9"},
		{"IPv4-mapped hop is IPv4", "10.0.0.2:5000", []string{"::ffff:203.0.113.9"}, "", "203.0.113.9"},
		{"IPv4-mapped trusted prefix", "172.16.3.4:5000", []string{"203.0.113.9"}, "", "203.0.113.9"},
		{"zone dropped", "[fe80::1%eth0]:5000", nil, "", "fe80::1"},
		{"single trusted address", "192.0.2.7:5000", []string{"203.0.113.9"}, "", "203.0.113.9"},
		{"neighbour of a single address", "192.0.2.8:5000", []string{"203.0.113.9"}, "", "192.0.2.8"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		if tt.realIP != "" {
			req.Header.Set("X-Real-IP", tt.realIP)
		}
		if got := r.Addr(req); got != netip.MustParseAddr(tt.want) {
			t.Errorf("%s: Addr(remote %q, XFF %q, X-Real-IP %q) = %v, want %v", tt.name, tt.remote, tt.xff, tt.realIP, got, tt.want)
		}
	}
}

func TestAddrNoTrustedProxies(t *testing.T) {
	r, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "127.0.0.1:5000"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Real-IP", "203.0.113.9")
	if got, want := r.Addr(req), netip.MustParseAddr("127.0.0.1"); got != want {
		t.Errorf("Addr = %v, want %v: no peer is trusted by default", got, want)
	}
	req.RemoteAddr = "@"
	if got := r.Addr(req); got.IsValid() {
		t.Errorf("Addr(RemoteAddr %q) = %v, want the zero Addr", req.RemoteAddr, got)
	}
}

func TestTLS(t *testing.T) {
	r, err := New([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		remote string
		tls    bool
		proto  string
		want   bool
	}{
		{"198.51.100.1:5000", false, "", false},
		{"198.51.100.1:5000", true, "", true},
		{"198.51.100.1:5000", false, "https", false}, // untrusted: ignored
		{"10.0.0.2:5000", false, "https", true},
		{"10.0.0.2:5000", false, "HTTPS", true},
		{"10.0.0.2:5000", false, "http", false},
		{"10.0.0.2:5000", false, "https, http", true},
		{"10.0.0.2:5000", false, "http, https", false},
		{"10.0.0.2:5000", true, "http", true}, // our own TLS wins
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tt.remote
		if tt.tls {
			req.TLS = &tls.ConnectionState{}
		}
		if tt.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tt.proto)
		}
		if got := r.TLS(req); got != tt.want {
			t.Errorf("TLS(remote %q, tls %v, X-Forwarded-Proto %q) = %v, want %v", tt.remote, tt.tls, tt.proto, got, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	for _, s := range []string{"10.0.0.0/33", "not an address", "fe80::1%eth0", "::ffff:0:0/64"} {
		if _, err := New([]string{s}); err == nil {
			t.Errorf("New(%q) = nil error, want one", s)
		}
	}
	r, err := New([]string{" 10.1.2.3/8 ", "", "2001:db8::/32"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for a, want := range map[string]bool{"10.200.0.1": true, "11.0.0.1": false, "2001:db8:1::1": true, "::ffff:10.0.0.1": true} {
		if got := r.Trusted(netip.MustParseAddr(a)); got != want {
			t.Errorf("Trusted(%s) = %v, want %v", a, got, want)
		}
	}
}
