package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// DefaultTLSPoll is how often the certificate files are looked at for a
// change (-tls-poll): a renewal is served within seconds of its writing,
// without a SIGHUP.
const DefaultTLSPoll = 5 * time.Second

// tlsOn reports whether the listener serves TLS.
func (cfg *Config) tlsOn() bool { return cfg.TLSCert != "" || len(cfg.ACMEHosts) > 0 }

// validateTLS checks the TLS, ACME and proxy settings (part of Validate).
func (cfg *Config) validateTLS() []error {
	var errs []error
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		errs = append(errs, errors.New("tls-cert and tls-key go together"))
	}
	if cfg.TLSCert != "" && len(cfg.ACMEHosts) > 0 {
		errs = append(errs, errors.New("tls-cert and acme-hosts exclude each other: certificate files or ACME"))
	}
	if len(cfg.ACMEHosts) == 0 && (cfg.ACMECache != "" || cfg.ACMEEmail != "" || cfg.ACMEHTTPListen != "") {
		errs = append(errs, errors.New("acme-cache, acme-email and acme-http-listen need acme-hosts"))
	}
	if cfg.TLSPoll < 0 {
		errs = append(errs, fmt.Errorf("tls-poll %v: want 0 (SIGHUP only) or more", cfg.TLSPoll))
	}
	if _, err := newClientResolver(*cfg); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// startTLS returns the listener's TLS configuration, nil when TLS is off:
// certificate files, reloaded on SIGHUP and when they change, or
// certificates obtained and renewed through ACME. What it starts (the
// reload watch, the HTTP-01 listener) stops through m.closers. The
// listener speaks HTTP/1.1 only: a WebSocket is an upgraded HTTP/1.1
// connection, and the connection budget counts HTTP/1.1 keep-alives.
func (m *Main) startTLS(w wiring) (*tls.Config, error) {
	cfg := w.cfg
	log := w.log.With("component", "tls")
	switch {
	case cfg.TLSCert != "":
		c, err := newCertFiles(cfg.TLSCert, cfg.TLSKey, log)
		if err != nil {
			return nil, err
		}
		w.reg.MustRegister(c.collectors()...)
		stop := c.watch(cfg.TLSPoll)
		m.closers = append(m.closers, func() error { stop(); return nil })
		return &tls.Config{
			MinVersion:     tls.VersionTLS12,
			NextProtos:     []string{"http/1.1"},
			GetCertificate: c.GetCertificate,
		}, nil
	case len(cfg.ACMEHosts) > 0:
		return m.startACME(cfg, log)
	}
	return nil, nil
}

// certFiles serves a certificate and key read from files, read again on
// SIGHUP and when either file changes. Handshakes read the current pair
// through an atomic pointer, so a reload ends no connection; a pair that
// fails to load is logged and the previous one is kept.
type certFiles struct {
	// immutable after newCertFiles
	certFile, keyFile string
	log               *slog.Logger

	cert     atomic.Pointer[tls.Certificate] // the pair handshakes get
	notAfter atomic.Int64                    // its expiry, Unix seconds
	failures atomic.Int64                    // reloads that failed

	mu   sync.Mutex     // serialises load
	seen [2]os.FileInfo // the files as last loaded or tried; guarded by mu
}

func newCertFiles(certFile, keyFile string, log *slog.Logger) (*certFiles, error) {
	c := &certFiles{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.load(true); err != nil {
		return nil, err
	}
	return c, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (c *certFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cert.Load(), nil
}

// load reads the pair if either file changed since it was last looked at
// (or if force), and serves it if it is good. The files are looked at
// before they are read: a change during the read is seen next time.
func (c *certFiles) load(force bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var now [2]os.FileInfo
	for i, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return c.failed(fmt.Errorf("tls certificate: %w", err))
		}
		now[i] = fi
	}
	if !force && same(c.seen[0], now[0]) && same(c.seen[1], now[1]) {
		return nil
	}
	c.seen = now // a bad pair is reported once, not at every poll
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return c.failed(fmt.Errorf("tls certificate: %w", err))
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return c.failed(fmt.Errorf("tls certificate: %w", err))
		}
	}
	c.cert.Store(&cert)
	c.notAfter.Store(leaf.NotAfter.Unix())
	level := slog.LevelInfo
	if time.Now().After(leaf.NotAfter) {
		level = slog.LevelWarn
	}
	c.log.Log(context.Background(), level, "tls certificate loaded", "file", c.certFile,
		"names", leaf.DNSNames, "serial", leaf.SerialNumber.Text(16), "not_after", leaf.NotAfter)
	return nil
}

// failed counts and logs a failed reload (the first load's error is the
// caller's to report) and returns err.
func (c *certFiles) failed(err error) error {
	if c.cert.Load() != nil {
		c.failures.Add(1)
		c.log.Error("tls certificate not reloaded: serving the previous one", "err", err)
	}
	return err
}

// same reports whether a and b are the same file unchanged: same inode,
// size and modification time. A renewal that replaces a file (certbot
// moves a symlink, cp writes in place) changes one of them.
func same(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// watch reloads the pair on SIGHUP and, every poll (if not 0), when a file
// changed. The returned func stops the watch and waits for it.
func (c *certFiles) watch(poll time.Duration) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	var tick <-chan time.Time
	var ticker *time.Ticker
	if poll > 0 {
		ticker = time.NewTicker(poll)
		tick = ticker.C
	}
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case <-hup:
				c.log.Info("SIGHUP: reloading the tls certificate")
				c.load(true) //nolint:errcheck // logged by failed
			case <-tick:
				c.load(false) //nolint:errcheck // logged by failed
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(hup)
			if ticker != nil {
				ticker.Stop()
			}
			close(quit)
			<-done
		})
	}
}

func (c *certFiles) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "confab_tls_certificate_expiry_timestamp_seconds",
			Help: "When the served TLS certificate (from -tls-cert) expires, in Unix seconds.",
		}, func() float64 { return float64(c.notAfter.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "confab_tls_reload_failures_total",
			Help: "Reloads of the TLS certificate files that failed (the previous certificate was kept).",
		}, func() float64 { return float64(c.failures.Load()) }),
	}
}

// startACME obtains and renews certificates for the whitelisted hosts from
// an ACME CA (Let's Encrypt by default), proving control of a host with
// TLS-ALPN-01 on the TLS listener itself (which the CA reaches on port
// 443) and, with -acme-http-listen (port 80), with HTTP-01 too; that
// listener redirects every other request to https. Certificates and the
// account key are kept in the cache directory: keep it across restarts,
// or each start asks the CA again and meets its rate limits.
func (m *Main) startACME(cfg Config, log *slog.Logger) (*tls.Config, error) {
	dir := cfg.ACMECache
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "acme")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("acme cache: %w", err)
	}
	mgr := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(dir),
		HostPolicy: autocert.HostWhitelist(cfg.ACMEHosts...),
		Email:      cfg.ACMEEmail,
		Client:     &acme.Client{DirectoryURL: cfg.ACMEDirectory, HTTPClient: m.acmeHTTPClient, UserAgent: "confab"},
	}
	if cfg.ACMEHTTPListen != "" {
		l, err := net.Listen("tcp", cfg.ACMEHTTPListen)
		if err != nil {
			return nil, fmt.Errorf("acme http listen: %w", err)
		}
		challenges := mgr.HTTPHandler(nil)
		srv := &http.Server{
			// autocert checks the Host against the whitelist as it is:
			// one with a port (":80" written out, a port mapped in
			// front of this one) would fail.
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if host, _, err := net.SplitHostPort(r.Host); err == nil {
					r.Host = host
				}
				challenges.ServeHTTP(w, r)
			}),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			IdleTimeout:       30 * time.Second,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		}
		go srv.Serve(l) //nolint:errcheck // ends with Close
		m.closers = append(m.closers, srv.Close)
		m.acmeHTTPAddr = l.Addr().String()
		log.Info("acme http-01 and redirect listening", "addr", m.acmeHTTPAddr)
	}
	policy := autocert.HostWhitelist(cfg.ACMEHosts...)
	warned := &everyLog{every: 10 * time.Second}
	get := func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		cert, err := mgr.GetCertificate(hello)
		if err != nil {
			// Hellos for other names (scanners, a bare IP) are refused
			// without a word to the CA; only a failure for a host of ours
			// is worth a warning.
			if hello.ServerName != "" && policy(context.Background(), strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))) == nil {
				if warned.ok() {
					log.Warn("acme: no certificate", "host", hello.ServerName, "err", err)
				}
			} else {
				log.Debug("acme: hello refused", "host", hello.ServerName, "err", err)
			}
		}
		return cert, err
	}
	log.Info("acme certificates", "hosts", cfg.ACMEHosts, "directory", cfg.ACMEDirectory, "cache", dir, "http01", cfg.ACMEHTTPListen != "")
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1", acme.ALPNProto},
		GetCertificate: get,
	}, nil
}

// everyLog lets a message through at most once per every.
type everyLog struct {
	every time.Duration
	last  atomic.Int64 // Unix nanoseconds
}

func (e *everyLog) ok() bool {
	now, last := time.Now().UnixNano(), e.last.Load()
	return now-last >= int64(e.every) && e.last.CompareAndSwap(last, now)
}

// httpErrorLog is the http.Server's error log: warnings, except failed TLS
// handshakes, which are at debug level: on an open port they are mostly
// scanners and clients that gave up, and a gateway's TCP probe from the
// API processes (twice a second) is one too.
func httpErrorLog(l *slog.Logger) *log.Logger {
	return log.New(&levelWriter{log: l}, "", 0)
}

type levelWriter struct{ log *slog.Logger }

func (w *levelWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSuffix(string(p), "\n")
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		level = slog.LevelDebug
	}
	w.log.Log(context.Background(), level, msg)
	return len(p), nil
}
