package main

import (
	"net/http"
	"net/netip"

	"github.com/confab/confab/internal/clientip"
)

// newClientResolver is the resolver of clients' addresses for cfg: only
// the peers in -trusted-proxies are believed about the client behind them
// (X-Forwarded-For, X-Real-IP) and about its scheme (X-Forwarded-Proto).
func newClientResolver(cfg Config) (*clientip.Resolver, error) {
	return clientip.New(cfg.TrustedProxies)
}

// clientAddr is the address of r's client (see newClientResolver).
func (m *Main) clientAddr(r *http.Request) netip.Addr { return m.clients.Addr(r) }

// clientTLS reports whether r's client reached us, or a trusted proxy, over
// TLS.
func (m *Main) clientTLS(r *http.Request) bool { return m.clients.TLS(r) }
