package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver tells requests' client addresses, trusting the forwarding
// headers of the proxies it was given and of no one else.
type Resolver struct {
	trusted []netip.Prefix // immutable after New
}

// New returns a Resolver that trusts the peers in the given prefixes, each a
// CIDR ("10.0.0.0/8", "fd00::/8") or a single address ("192.0.2.7"). With
// none, the client is always the connection's peer.
func New(trusted []string) (*Resolver, error) {
	r := &Resolver{}
	for _, s := range trusted {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("trusted proxy %q: want a CIDR or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() { // ::ffff:10.0.0.0/104 is 10.0.0.0/8
			if p.Bits() < 96 {
				return nil, fmt.Errorf("trusted proxy %q: an IPv4-mapped prefix shorter than /96", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

// Trusted reports whether a is a trusted proxy.
func (r *Resolver) Trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Addr is the client address of req (see the package doc). It is the
// zero Addr only when req.RemoteAddr is not an IP address (a Unix socket,
// a test's request without one).
func (r *Resolver) Addr(req *http.Request) netip.Addr {
	peer := Peer(req)
	if !peer.IsValid() || !r.Trusted(peer) {
		return peer
	}
	xff := req.Header.Values("X-Forwarded-For")
	if len(xff) == 0 {
		if a, ok := parseHop(req.Header.Get("X-Real-IP")); ok {
			return a
		}
		return peer
	}
	// Right to left, across repeated headers (which HTTP says are one
	// comma-separated list, in order).
	client := peer
	for i := len(xff) - 1; i >= 0; i-- {
		hops := xff[i]
		for hops != "" {
			var hop string
			if j := strings.LastIndexByte(hops, ','); j >= 0 {
				hops, hop = hops[:j], hops[j+1:]
			} else {
				hops, hop = "", hops
			}
			if strings.TrimSpace(hop) == "" {
				continue
			}
			a, ok := parseHop(hop)
			if !ok {
				// A trusted proxy wrote garbage as its peer (or
				// "unknown"): keep the last address a trusted hop
				// vouched for, rather than anything further left.
				return client
			}
			client = a
			if !r.Trusted(a) {
				return a
			}
		}
	}
	// Every hop is a trusted proxy: the left-most is the client (one
	// inside the trusted network itself).
	return client
}

// TLS reports whether the client reached the server over TLS: req came
// over TLS, or from a trusted proxy that says X-Forwarded-Proto: https.
func (r *Resolver) TLS(req *http.Request) bool {
	if req.TLS != nil {
		return true
	}
	proto := req.Header.Get("X-Forwarded-Proto")
	if proto == "" {
		return false
	}
	// A chain of proxies may list several; the first is the client's.
	if i := strings.IndexByte(proto, ','); i >= 0 {
		proto = proto[:i]
	}
	if !strings.EqualFold(strings.TrimSpace(proto), "https") {
		return false
	}
	peer := Peer(req)
	return peer.IsValid() && r.Trusted(peer)
}

// Peer is the address of req's connection peer (RemoteAddr), IPv4-mapped
// IPv6 addresses as IPv4; the zero Addr when RemoteAddr is not an IP
// address.
func Peer(req *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(req.RemoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	a, _ := netip.ParseAddr(req.RemoteAddr)
	return a.Unmap().WithZone("")
}

// parseHop parses one X-Forwarded-For entry or X-Real-IP: an address,
// with a port ("192.0.2.1:4711", "[2001:db8::1]:4711") as some proxies
// write it, or in brackets.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	} else {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
