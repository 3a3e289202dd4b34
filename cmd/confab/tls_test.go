package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(tb testing.TB, name string) *testCA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(tb), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

func randomSerial(tb testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// issue returns the PEM of a certificate for names (host names or IP
// addresses) signed by ca, its serial number, and the PEM of its key.
func (ca *testCA) issue(tb testing.TB, names ...string) (certPEM []byte, serial *big.Int, keyPEM []byte) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(tb), Subject: pkix.Name{CommonName: names[0]},
		// Past autocert's 30 days of renewal, so that a cached one is
		// not renewed at once.
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), tmpl.SerialNumber,
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// writeAtomic replaces name with data as a renewal tool does: a new file
// renamed over the old.
func writeAtomic(tb testing.TB, name string, data []byte) {
	tb.Helper()
	tmp := name + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		tb.Fatal(err)
	}
}

// tlsClients are an HTTP client and a WebSocket dialer that trust pool.
func tlsClients(pool *x509.CertPool) (*http.Client, *websocket.Dialer) {
	conf := &tls.Config{RootCAs: pool}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}},
		&websocket.Dialer{TLSClientConfig: conf, HandshakeTimeout: 10 * time.Second}
}

// apiCall posts args as a form to base/api/method with token.
func apiCall(tb testing.TB, hc *http.Client, base, token, method string, args map[string]string, header map[string]string) (int, obj, *http.Response) {
	tb.Helper()
	var body strings.Builder
	for k, v := range args {
		if body.Len() > 0 {
			body.WriteByte('&')
		}
		fmt.Fprintf(&body, "%s=%s", k, v)
	}
	req, err := http.NewRequest("POST", base+"/api/"+method, strings.NewReader(body.String()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		tb.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out obj
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatalf("%s: status %d, body %q: %v", method, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, out, resp
}

// servedSerial is the serial of the certificate a new handshake with addr
// gets.
func servedSerial(tb testing.TB, addr string, pool *x509.CertPool) *big.Int {
	tb.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		tb.Fatalf("tls dial %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}

// waitServed waits until new handshakes get the certificate of serial.
func waitServed(tb testing.TB, addr string, pool *x509.CertPool, serial *big.Int) {
	tb.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		got := servedSerial(tb, addr, pool)
		if got.Cmp(serial) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("new handshakes still get serial %x after %v, want %x", got, waitFor, serial)
		}
		time.Sleep(10 * time.Millisecond) // the reload gives no other sign
	}
}

// TestTLSFilesReload serves the API and the WebSocket over TLS from
// certificate files, replaces the files with a certificate of another CA,
// and checks that new handshakes get it — on the poll, and on SIGHUP —
// while a WebSocket opened before stays open and keeps receiving.
func TestTLSFilesReload(t *testing.T) {
	for _, how := range []string{"poll", "sighup"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
			ca1, ca2 := newTestCA(t, "confab test CA 1"), newTestCA(t, "confab test CA 2")
			cert1, serial1, key1 := ca1.issue(t, "127.0.0.1", "localhost")
			writeAtomic(t, certFile, cert1)
			writeAtomic(t, keyFile, key1)

			m := MustRunMain(t, func(m *Main) {
				m.Config.TLSCert, m.Config.TLSKey = certFile, keyFile
				m.Config.TLSPoll = 0 // SIGHUP only
				if how == "poll" {
					m.Config.TLSPoll = 20 * time.Millisecond
				}
			})
			if !strings.HasPrefix(m.URL(), "https://") {
				t.Fatalf("URL() = %q, want https://", m.URL())
			}
			pool := x509.NewCertPool()
			pool.AddCert(ca1.cert)
			pool.AddCert(ca2.cert)
			hc, dialer := tlsClients(pool)

			// The API over HTTPS: sign up, a channel, auth.test's url.
			signupOver := func(name string) (token string) {
				_, out, resp := apiCall(t, hc, m.URL(), "", "auth.signup", map[string]string{"team": "acme", "name": name, "password": "correct-horse-" + name}, nil)
				if out["ok"] != true {
					t.Fatalf("auth.signup %s = %v", name, out)
				}
				if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(serial1) != 0 {
					t.Fatalf("served serial %x, want %x", got, serial1)
				}
				return out["token"].(string)
			}
			alice, bob := signupOver("alice"), signupOver("bob")
			_, out, _ := apiCall(t, hc, m.URL(), alice, "conversations.create", map[string]string{"name": "plaza"}, nil)
			ch := out["channel"].(obj)["id"].(string)
			apiCall(t, hc, m.URL(), bob, "conversations.join", map[string]string{"channel": ch}, nil)
			if _, out, _ := apiCall(t, hc, m.URL(), alice, "auth.test", nil, nil); out["url"] != m.URL()+"/" {
				t.Errorf("auth.test url = %v, want %s/", out["url"], m.URL())
			}

			// The WebSocket over TLS: rtm.connect hands out wss://.
			_, out, _ = apiCall(t, hc, m.URL(), bob, "rtm.connect", nil, nil)
			wsURL, _ := out["url"].(string)
			if !strings.HasPrefix(wsURL, "wss://"+m.Addr()+"/rtm/") {
				t.Fatalf("rtm.connect url = %q, want wss://%s/rtm/…", wsURL, m.Addr())
			}
			conn, resp, err := dialer.Dial(wsURL, nil)
			if err != nil {
				t.Fatalf("dial %s: %v (%v)", wsURL, err, resp)
			}
			t.Cleanup(func() { conn.Close() })
			r := &rtm{tb: t, conn: conn, frames: make(chan obj, 1000), closed: make(chan struct{})}
			go r.read()
			if f := r.next(func(obj) bool { return true }); f["type"] != "hello" {
				t.Fatalf("first frame %v, want hello", f)
			}
			apiCall(t, hc, m.URL(), alice, "chat.postMessage", map[string]string{"channel": ch, "text": "before"}, nil)
			r.next(isMessage("before"))

			// A renewal: another CA, another serial, files replaced.
			cert2, serial2, key2 := ca2.issue(t, "127.0.0.1", "localhost")
			writeAtomic(t, keyFile, key2)
			writeAtomic(t, certFile, cert2)
			if how == "sighup" {
				if got := servedSerial(t, m.Addr(), pool); got.Cmp(serial1) != 0 {
					t.Fatalf("without SIGHUP or poll, new handshakes got %x, want the old %x", got, serial1)
				}
				if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
					t.Fatal(err)
				}
			}
			waitServed(t, m.Addr(), pool, serial2)

			// The WebSocket opened under the old certificate is still open.
			apiCall(t, hc, m.URL(), alice, "chat.postMessage", map[string]string{"channel": ch, "text": "after"}, nil)
			r.next(isMessage("after"))

			// A bad pair is refused: the current certificate stays, and
			// the failure is counted. (A poll between the two writes
			// above may have counted one already.)
			failures := metricValue(t, hc, m.URL(), "confab_tls_reload_failures_total")
			writeAtomic(t, certFile, []byte("not a certificate"))
			if how == "sighup" {
				if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(waitFor)
			for metricValue(t, hc, m.URL(), "confab_tls_reload_failures_total") <= failures {
				if time.Now().After(deadline) {
					t.Fatalf("no failed reload counted within %v", waitFor)
				}
				time.Sleep(10 * time.Millisecond) // the reload gives no other sign
			}
			if got := servedSerial(t, m.Addr(), pool); got.Cmp(serial2) != 0 {
				t.Errorf("after a bad reload new handshakes get %x, want %x still", got, serial2)
			}
			r.send(obj{"id": 1, "type": "ping"})
			r.next(isType("pong"))
		})
	}
}

// metricValue reads a metric without labels from base's /metrics.
func metricValue(tb testing.TB, hc *http.Client, base, name string) float64 {
	tb.Helper()
	resp, err := hc.Get(base + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte(name+" ")); ok {
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				tb.Fatalf("metric %s: %q", name, line)
			}
			return f
		}
	}
	tb.Fatalf("no metric %s", name)
	return 0
}

// TestTLSPlainHTTPRefused: a plain HTTP request to the TLS listener gets
// net/http's 400, not an answer of the API.
func TestTLSPlainHTTPRefused(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "confab test CA")
	cert, _, key := ca.issue(t, "127.0.0.1")
	writeAtomic(t, filepath.Join(dir, "c.pem"), cert)
	writeAtomic(t, filepath.Join(dir, "k.pem"), key)
	m := MustRunMain(t, func(m *Main) {
		m.Config.TLSCert, m.Config.TLSKey = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	})
	resp, err := http.Get("http://" + m.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS listener: %d, want 400", resp.StatusCode)
	}
}

// TestTLSConfigErrors: bad TLS settings fail the start, not the first
// handshake.
func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	writeAtomic(t, bad, []byte("junk"))
	for _, tt := range []struct {
		name string
		set  func(*Config)
	}{
		{"missing files", func(c *Config) { c.TLSCert, c.TLSKey = filepath.Join(dir, "none"), filepath.Join(dir, "none") }},
		{"bad files", func(c *Config) { c.TLSCert, c.TLSKey = bad, bad }},
		{"bad trusted proxy", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/40"} }},
	} {
		m := NewMain()
		m.Config.Listen = "127.0.0.1:0"
		m.Config.DataDir = t.TempDir()
		tt.set(&m.Config)
		if err := m.Run(t.Context()); err == nil {
			m.Close()
			t.Errorf("%s: Run = nil, want an error", tt.name)
		}
	}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"cert without key", []string{"-tls-cert", "c.pem"}},
		{"files and acme", []string{"-tls-cert", "c.pem", "-tls-key", "k.pem", "-acme-hosts", "chat.example.com"}},
		{"acme cache without hosts", []string{"-acme-cache", "/tmp/x"}},
		{"acme http without hosts", []string{"-acme-http-listen", ":80"}},
		{"bad trusted proxy", []string{"-trusted-proxies", "10.0.0.0/8,nonsense"}},
		{"negative poll", []string{"-tls-poll", "-1s"}},
	} {
		cfg := DefaultConfig()
		if err := cfg.ParseFlags("serve", tt.args); err == nil {
			t.Errorf("%s: ParseFlags(%q) = nil, want an error", tt.name, tt.args)
		}
	}
	cfg := DefaultConfig()
	if err := cfg.ParseFlags("serve", []string{"-acme-hosts", "chat.example.com,www.example.com", "-trusted-proxies", "10.0.0.0/8, 192.0.2.7"}); err != nil {
		t.Errorf("ParseFlags: %v", err)
	}
	if len(cfg.ACMEHosts) != 2 || cfg.ACMEDirectory == "" || len(cfg.TrustedProxies) != 2 {
		t.Errorf("parsed %+v", cfg)
	}
}
