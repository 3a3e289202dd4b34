package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab/internal/acmetest"
	"github.com/gorilla/websocket"
)

// acmeHost is the name confab gets a certificate for from the test's CA,
// whose DNS answers 127.0.0.1 for it.
const acmeHost = "chat.confab.test"

// hostClients are an HTTP client and a WebSocket dialer that reach
// acmeHost at 127.0.0.1 and trust pool.
func hostClients(pool *x509.CertPool) (*http.Client, *websocket.Dialer) {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && host == acmeHost {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	conf := &tls.Config{RootCAs: pool}
	return &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{TLSClientConfig: conf, DialContext: dial}},
		&websocket.Dialer{TLSClientConfig: conf, NetDialContext: dial, HandshakeTimeout: 10 * time.Second}
}

// TestACMEPebble gets confab a certificate from a real ACME CA (pebble) on
// loopback, which validates the challenge against confab's own listeners:
// TLS-ALPN-01 on the TLS listener, or HTTP-01 on -acme-http-listen when
// the TLS listener cannot be reached. Then the API and the WebSocket work
// over it, and a restart serves the certificate from the cache without
// the CA.
func TestACMEPebble(t *testing.T) {
	for _, challenge := range []string{"tls-alpn-01", "http-01"} {
		t.Run(challenge, func(t *testing.T) {
			port, httpPort := acmetest.FreePort(t), acmetest.FreePort(t)
			caConfig := acmetest.Config{TLSPort: port, HTTPPort: httpPort}
			if challenge == "http-01" {
				caConfig.TLSPort = 0 // a port nothing listens on: TLS-ALPN-01 fails
			}
			ca := acmetest.Start(t, caConfig)
			cache := t.TempDir()
			m := MustRunMain(t, func(m *Main) {
				m.Config.Listen = "127.0.0.1:" + strconv.Itoa(port)
				m.Config.ACMEHosts = []string{acmeHost}
				m.Config.ACMEDirectory = ca.DirectoryURL()
				m.Config.ACMECache = cache
				m.Config.ACMEEmail = "ops@confab.test"
				if challenge == "http-01" {
					m.Config.ACMEHTTPListen = "127.0.0.1:" + strconv.Itoa(httpPort)
				}
				m.acmeHTTPClient = ca.HTTPClient()
			})
			roots := ca.Roots(t)
			hc, dialer := hostClients(roots)
			base := "https://" + acmeHost + ":" + strconv.Itoa(port)

			// The first handshake waits for the certificate.
			_, out, resp := apiCall(t, hc, base, "", "auth.signup", map[string]string{"team": "acme", "name": "alice", "password": "correct-horse-alice"}, nil)
			if out["ok"] != true {
				t.Fatalf("auth.signup over the ACME certificate = %v", out)
			}
			leaf := resp.TLS.PeerCertificates[0]
			if err := leaf.VerifyHostname(acmeHost); err != nil {
				t.Errorf("served certificate: %v", err)
			}
			token := out["token"].(string)
			_, out, _ = apiCall(t, hc, base, token, "rtm.connect", nil, nil)
			wsURL, _ := out["url"].(string)
			if !strings.HasPrefix(wsURL, "wss://"+acmeHost+":") {
				t.Fatalf("rtm.connect url = %q, want wss://%s:…", wsURL, acmeHost)
			}
			conn, _, err := dialer.Dial(wsURL, nil)
			if err != nil {
				t.Fatalf("dial %s: %v", wsURL, err)
			}
			defer conn.Close()
			conn.SetReadDeadline(time.Now().Add(waitFor))
			if _, data, err := conn.ReadMessage(); err != nil || !strings.Contains(string(data), `"hello"`) {
				t.Fatalf("first frame %q, %v; want hello", data, err)
			}

			if challenge == "http-01" {
				// The HTTP listener redirects everything else to https.
				noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				req, _ := http.NewRequest("GET", "http://"+m.acmeHTTPAddr+"/api/auth.test", nil)
				req.Host = acmeHost
				resp, err := noFollow.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, "https://"+acmeHost+"/api/auth.test") {
					t.Errorf("plain HTTP: %d Location %q, want a redirect to https://%s/api/auth.test", resp.StatusCode, loc, acmeHost)
				}
			}

			// A restart on the same cache serves the same certificate,
			// with the CA gone.
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			m2 := MustRunMain(t, func(m *Main) {
				m.Config.ACMEHosts = []string{acmeHost}
				m.Config.ACMEDirectory = "https://127.0.0.1:1/dir" // refuses
				m.Config.ACMECache = cache
			})
			c, err := tls.Dial("tcp", m2.Addr(), &tls.Config{ServerName: acmeHost, RootCAs: roots})
			if err != nil {
				t.Fatalf("handshake after a restart: %v", err)
			}
			defer c.Close()
			if got := c.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(leaf.SerialNumber) != 0 {
				t.Errorf("after a restart: serial %x, want the cached %x", got, leaf.SerialNumber)
			}
		})
	}
}

// countingCA is an ACME directory URL that counts the requests it gets
// (and answers none usefully).
func countingCA(t *testing.T) (url string, calls *atomic.Int64) {
	calls = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/dir", calls
}

// TestACMEHostPolicy: a hello for a host not in -acme-hosts, or without a
// name, is refused without a word to the CA.
func TestACMEHostPolicy(t *testing.T) {
	dir, calls := countingCA(t)
	m := MustRunMain(t, func(m *Main) {
		m.Config.ACMEHosts = []string{"chat.example.org"}
		m.Config.ACMEDirectory = dir
	})
	for _, name := range []string{"evil.example.org", "", "127.0.0.1"} {
		c, err := tls.Dial("tcp", m.Addr(), &tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err == nil {
			c.Close()
			t.Errorf("handshake for %q succeeded, want it refused", name)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the CA got %d requests for hosts not whitelisted, want 0", n)
	}
}

// TestACMECache: a certificate in the cache directory is served without
// the CA (as after a restart).
func TestACMECache(t *testing.T) {
	dir, calls := countingCA(t)
	cache := t.TempDir()
	ca := newTestCA(t, "confab test CA")
	certPEM, serial, keyPEM := ca.issue(t, "chat.example.org")
	// autocert's cache entry: the key, then the chain, under the host's
	// name (ECDSA).
	if err := os.WriteFile(filepath.Join(cache, "chat.example.org"), append(keyPEM, certPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	m := MustRunMain(t, func(m *Main) {
		m.Config.ACMEHosts = []string{"chat.example.org"}
		m.Config.ACMEDirectory = dir
		m.Config.ACMECache = cache
	})
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	c, err := tls.Dial("tcp", m.Addr(), &tls.Config{ServerName: "chat.example.org", RootCAs: pool})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer c.Close()
	if got := c.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(serial) != 0 {
		t.Errorf("served serial %x, want the cached %x", got, serial)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the CA got %d requests, want 0: the certificate was cached", n)
	}
}
