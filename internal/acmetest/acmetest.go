package acmetest

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
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// startTimeout bounds how long pebble may take to answer its directory.
const startTimeout = 15 * time.Second

// Config is where the CA validates challenges: every name resolves to
// 127.0.0.1, and pebble connects to these ports there.
type Config struct {
	TLSPort  int // TLS-ALPN-01; 0: a port nothing listens on
	HTTPPort int // HTTP-01; 0: a port nothing listens on
}

// Server is one pebble, with its DNS server, on 127.0.0.1.
type Server struct {
	// immutable after Start
	dir    string // https://127.0.0.1:port/dir
	mgmt   string // https://127.0.0.1:port
	client *http.Client
}

// Start starts pebble and its DNS server for tb and stops them in
// tb.Cleanup. It skips tb (fails it when CI is set) if they are not
// installed, and fails tb if pebble does not come up.
func Start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	pebble, dns := mustBinary(tb, "pebble"), mustBinary(tb, "pebble-challtestsrv")
	dir := tb.TempDir()
	ports := freePorts(tb, 5)
	if cfg.TLSPort == 0 {
		cfg.TLSPort = ports[4]
	}
	if cfg.HTTPPort == 0 {
		cfg.HTTPPort = ports[4]
	}
	dnsAddr := "127.0.0.1:" + strconv.Itoa(ports[2])

	// pebble-challtestsrv only as a DNS server: every A query is
	// 127.0.0.1, and no AAAA answer sends the CA to ::1.
	start(tb, dir, dns, nil, "-dns01", dnsAddr, "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-management", "127.0.0.1:"+strconv.Itoa(ports[3]), "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")

	pool, certFile, keyFile := serverCert(tb, dir)
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":                  "127.0.0.1:" + strconv.Itoa(ports[0]),
		"managementListenAddress":        "127.0.0.1:" + strconv.Itoa(ports[1]),
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       cfg.HTTPPort,
		"tlsPort":                        cfg.TLSPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
	}}
	b, _ := json.Marshal(conf)
	confFile := filepath.Join(dir, "pebble-config.json")
	if err := os.WriteFile(confFile, b, 0o600); err != nil {
		tb.Fatalf("acmetest: %v", err)
	}
	env := []string{
		"PEBBLE_VA_NOSLEEP=1",      // validate at once
		"PEBBLE_WFE_NONCEREJECT=0", // refuse no good nonce
		"PEBBLE_AUTHZREUSE=0",      // every order is validated
	}
	start(tb, dir, pebble, env, "-config", confFile, "-dnsserver", dnsAddr)

	s := &Server{
		dir:    "https://127.0.0.1:" + strconv.Itoa(ports[0]) + "/dir",
		mgmt:   "https://127.0.0.1:" + strconv.Itoa(ports[1]),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := s.client.Get(s.dir)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("acmetest: pebble did not answer %s within %v: %v (log in %s)", s.dir, startTimeout, err, dir)
		}
		time.Sleep(20 * time.Millisecond) // polling a process that gives no other sign of readiness
	}
}

// DirectoryURL is the ACME directory's URL.
func (s *Server) DirectoryURL() string { return s.dir }

// HTTPClient is a client that trusts pebble's own HTTPS certificate.
func (s *Server) HTTPClient() *http.Client { return s.client }

// Roots returns the root of the certificates pebble issues.
func (s *Server) Roots(tb testing.TB) *x509.CertPool {
	tb.Helper()
	resp, err := s.client.Get(s.mgmt + "/roots/0")
	if err != nil {
		tb.Fatalf("acmetest: roots: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("acmetest: roots: %d %v", resp.StatusCode, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		tb.Fatalf("acmetest: roots: no certificate in %q", b)
	}
	return pool
}

// start runs bin with args in dir, its output in dir/<bin>.log, and kills
// it in tb.Cleanup.
func start(tb testing.TB, dir, bin string, env []string, args ...string) {
	tb.Helper()
	logFile, err := os.Create(filepath.Join(dir, filepath.Base(bin)+".log"))
	if err != nil {
		tb.Fatalf("acmetest: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		tb.Fatalf("acmetest: start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait() //nolint:errcheck // killed in Cleanup
		logFile.Close()
		close(done)
	}()
	tb.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // it may have exited
		<-done
		if tb.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				tb.Logf("%s:\n%s", filepath.Base(bin), lastLines(b, 40))
			}
		}
	})
}

// lastLines is the end of a log, at most n lines.
func lastLines(b []byte, n int) []byte {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, []byte("\n"))
}

// serverCert makes a CA and a certificate of 127.0.0.1 and localhost
// signed by it for pebble's HTTPS, and returns a pool of the CA and the
// files of the certificate and its key.
func serverCert(tb testing.TB, dir string) (pool *x509.CertPool, certFile, keyFile string) {
	tb.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "acmetest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "pebble"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "pebble-cert.pem"), filepath.Join(dir, "pebble-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		tb.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return pool, certFile, keyFile
}

// freePorts returns n distinct free ports of 127.0.0.1.
func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("acmetest: find a free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// FreePort returns a free port of 127.0.0.1, for a server a test starts
// after the CA that must validate against it.
func FreePort(tb testing.TB) int {
	tb.Helper()
	return freePorts(tb, 1)[0]
}

// mustBinary returns the path of name, skipping tb (failing it when CI is
// set) when it is not installed.
func mustBinary(tb testing.TB, name string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/bin", "/usr/local/bin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("acmetest: %s not found and CI is set; install it (apt-get install pebble)", name)
	}
	tb.Skipf("acmetest: %s not found; install pebble (apt-get install pebble) to run this test", name)
	return ""
}
