// Package clientip tells a request's client address, and whether the client
// reached the server over TLS, when reverse proxies may stand in between.
//
// The rule is the one of nginx's realip module with real_ip_recursive on:
// the client is the connection's peer (http.Request.RemoteAddr) unless the
// peer is a trusted proxy. Then, and only then, X-Forwarded-For is read from
// its right-most entry leftwards, and the first address that is not itself
// a trusted proxy is the client: each proxy appends the peer it saw, so the
// entries left of the first untrusted one were written by the client and
// prove nothing. Without X-Forwarded-For, a trusted peer's X-Real-IP is the
// client. A peer that is not trusted can send any header it likes: none is
// read. Neither the PROXY protocol nor RFC 7239's Forwarded header is
// understood.
//
// Likewise, the request came over TLS when it reached this server over TLS,
// or when a trusted peer says X-Forwarded-Proto: https (a proxy that
// terminated TLS).
//
// A Resolver is immutable after New and safe for concurrent use.
package clientip
