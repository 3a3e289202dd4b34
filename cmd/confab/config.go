package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/gateway"
	"golang.org/x/crypto/acme/autocert"
)

// Config is the whole configuration of a confab process: defaults, then
// CONFAB_* environment variables, then flags (flags win). It is validated
// once, and components receive plain values from it.
type Config struct {
	Listen         string        // CONFAB_LISTEN: address of the HTTP and WebSocket listener
	DataDir        string        // CONFAB_DATA: directory of the embedded SQLite database
	SQLiteSync     string        // CONFAB_SQLITE_SYNC: "full" (default: survives power loss) or "normal"
	LogLevel       string        // CONFAB_LOG_LEVEL: debug, info, warn, error
	LogFormat      string        // CONFAB_LOG_FORMAT: text or json
	ClosedSignup   bool          // CONFAB_CLOSED_SIGNUP: auth.signup may not join existing workspaces
	RateLimit      float64       // CONFAB_RATE_LIMIT: API requests and RTM frames per second per token
	RateBurst      int           // CONFAB_RATE_BURST
	AuthRateLimit  float64       // CONFAB_AUTH_RATE_LIMIT: auth.signup/auth.login per second per client IP
	AuthRateBurst  int           // CONFAB_AUTH_RATE_BURST
	AllowedOrigins []string      // CONFAB_ALLOWED_ORIGINS: comma-separated extra browser origins for WebSockets
	PasswordCost   int           // CONFAB_PASSWORD_COST: bcrypt cost (4–31; 0: library default)
	SendQueueBytes int           // CONFAB_SEND_QUEUE_BYTES: per-connection outbound queue before a slow client is dropped
	ShutdownGrace  time.Duration // CONFAB_SHUTDOWN_GRACE: how long shutdown waits for requests in flight
	CacheTTL       time.Duration // CONFAB_CACHE_TTL: on a shared PostgreSQL, how long a cached token, membership or channel is trusted
	PprofListen    string        // CONFAB_PPROF_LISTEN: address of Go's profiler (net/http/pprof); "" is off

	// The gateway's bounds on a connection's socket and on handshakes
	// (gateway.Config); 0 is no limit for the caps and the rate.
	SendBufferBytes   int           // CONFAB_SEND_BUFFER_BYTES: SO_SNDBUF of each WebSocket; -1: the kernel's autotuning
	NoProgressTimeout time.Duration // CONFAB_NO_PROGRESS_TIMEOUT: close a WebSocket whose socket took nothing for this long while frames waited
	MaxConnsPerUser   int           // CONFAB_MAX_CONNS_PER_USER: open WebSockets of one user
	MaxConnsPerAddr   int           // CONFAB_MAX_CONNS_PER_ADDR: open WebSockets from one client address (IPv6: /64)
	HandshakeRate     float64       // CONFAB_HANDSHAKE_RATE: WebSocket handshakes per second per client address
	HandshakeBurst    int           // CONFAB_HANDSHAKE_BURST

	// A per-account limit on failed logins (chat.LoginThrottle).
	LoginFreeFailures int           // CONFAB_LOGIN_FREE_FAILURES: failed logins of one account before it must wait
	LoginBackoff      time.Duration // CONFAB_LOGIN_BACKOFF: the first wait, doubled by each further failure
	LoginMaxBackoff   time.Duration // CONFAB_LOGIN_MAX_BACKOFF: the longest wait

	// Exposed directly (see tls.go) or behind proxies (proxy.go).
	TLSCert        string        // CONFAB_TLS_CERT: certificate chain file (PEM); with TLSKey, the listener serves TLS
	TLSKey         string        // CONFAB_TLS_KEY: its private key file (PEM)
	TLSPoll        time.Duration // CONFAB_TLS_POLL: how often the files are checked for a change (0: on SIGHUP only)
	ACMEHosts      []string      // CONFAB_ACME_HOSTS: host names to obtain certificates for through ACME; the listener serves TLS
	ACMECache      string        // CONFAB_ACME_CACHE: directory of the ACME account key and certificates (default: <data>/acme)
	ACMEDirectory  string        // CONFAB_ACME_DIRECTORY: the ACME CA's directory URL (default: Let's Encrypt)
	ACMEEmail      string        // CONFAB_ACME_EMAIL: contact address given to the CA
	ACMEHTTPListen string        // CONFAB_ACME_HTTP_LISTEN: address for HTTP-01 challenges and the redirect to https (e.g. :80); "" is off
	TrustedProxies []string      // CONFAB_TRUSTED_PROXIES: CIDRs whose X-Forwarded-For, X-Real-IP and X-Forwarded-Proto are believed

	// Scale-out (confab api, confab gateway; optional for serve).
	Postgres     string        // CONFAB_POSTGRES: PostgreSQL DSN; replaces the embedded SQLite
	Pockets      string        // CONFAB_POCKETS: the pocket file (TOML)
	Pocket       string        // CONFAB_POCKET: the pocket a gateway serves
	PublicURL    string        // CONFAB_PUBLIC_URL: the base WebSocket URL clients reach a gateway at (ws://host:port)
	GatewayID    string        // CONFAB_GATEWAY_ID: a gateway's name in its pocket; default: its public URL
	TicketSecret string        // CONFAB_TICKET_SECRET: shared by every API and gateway process to sign rtm.connect tickets
	PresenceTTL  time.Duration // CONFAB_PRESENCE_TTL: how soon a dead gateway's users go away (0: the pocket default)
}

// DefaultConfig is the embedded default: one process, data in ./confab-data,
// listening on loopback. A component's own setting takes that component's
// default, named where the component is.
func DefaultConfig() Config {
	return Config{
		Listen:         "127.0.0.1:8080",
		DataDir:        "confab-data",
		SQLiteSync:     "full",
		LogLevel:       "info",
		LogFormat:      "text",
		RateLimit:      float64(api.DefaultRateLimit),
		RateBurst:      api.DefaultRateBurst,
		AuthRateLimit:  float64(api.DefaultAuthRateLimit),
		AuthRateBurst:  api.DefaultAuthRateBurst,
		ShutdownGrace:  10 * time.Second,
		CacheTTL:       chat.DefaultCacheTTL,
		SendQueueBytes: gateway.DefaultSendQueueBytes,

		SendBufferBytes:   gateway.DefaultSendBufferBytes,
		NoProgressTimeout: gateway.DefaultNoProgressTimeout,
		MaxConnsPerUser:   gateway.DefaultMaxConnsPerUser,
		MaxConnsPerAddr:   gateway.DefaultMaxConnsPerAddr,
		HandshakeRate:     gateway.DefaultHandshakeRate,
		HandshakeBurst:    gateway.DefaultHandshakeBurst,
		TLSPoll:           DefaultTLSPoll,
		ACMEDirectory:     autocert.DefaultACMEDirectory,

		LoginFreeFailures: chat.DefaultLoginFreeFailures,
		LoginBackoff:      chat.DefaultLoginBackoff,
		LoginMaxBackoff:   chat.DefaultLoginMaxBackoff,
	}
}

// ParseFlags fills cfg from the environment, then from args.
func (cfg *Config) ParseFlags(name string, args []string) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg.define(fs)
	if err := applyEnv(fs, os.Getenv); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return cfg.Validate()
}

// define declares cfg's flags on fs. Each flag's environment variable is
// CONFAB_ and its name in capitals with '_' for '-' (see applyEnv).
func (cfg *Config) define(fs *flag.FlagSet) {
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTP and WebSocket listen address")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory for the SQLite database")
	fs.StringVar(&cfg.SQLiteSync, "sqlite-sync", cfg.SQLiteSync, "SQLite synchronous mode: full or normal")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json")
	fs.BoolVar(&cfg.ClosedSignup, "closed-signup", cfg.ClosedSignup, "refuse auth.signup into existing workspaces")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", cfg.RateLimit, "API requests and RTM frames per second per token (one bucket for both)")
	fs.IntVar(&cfg.RateBurst, "rate-burst", cfg.RateBurst, "API request and RTM frame burst per token")
	fs.Float64Var(&cfg.AuthRateLimit, "auth-rate-limit", cfg.AuthRateLimit, "sign-ups and logins per second per client IP")
	fs.IntVar(&cfg.AuthRateBurst, "auth-rate-burst", cfg.AuthRateBurst, "sign-up and login burst per client IP")
	fs.IntVar(&cfg.LoginFreeFailures, "login-free-failures", cfg.LoginFreeFailures, "failed logins of one account (from any address) before it must wait")
	fs.DurationVar(&cfg.LoginBackoff, "login-backoff", cfg.LoginBackoff, "an account's first wait after its free failures, doubled by each further failure")
	fs.DurationVar(&cfg.LoginMaxBackoff, "login-max-backoff", cfg.LoginMaxBackoff, "the longest wait between an account's login attempts")
	fs.Var((*listFlag)(&cfg.AllowedOrigins), "allowed-origins", "comma-separated extra browser origins allowed to open WebSockets")
	fs.IntVar(&cfg.PasswordCost, "password-cost", cfg.PasswordCost, "bcrypt cost, 0 for the default")
	fs.IntVar(&cfg.SendQueueBytes, "send-queue-bytes", cfg.SendQueueBytes, "per-connection outbound queue in bytes; a client that falls further behind is disconnected")
	fs.IntVar(&cfg.SendBufferBytes, "send-buffer-bytes", cfg.SendBufferBytes, "SO_SNDBUF of each WebSocket: what the kernel may hold for a client (-1: the kernel's autotuning)")
	fs.DurationVar(&cfg.NoProgressTimeout, "no-progress-timeout", cfg.NoProgressTimeout, "disconnect a WebSocket client whose socket took nothing for this long while frames waited")
	fs.IntVar(&cfg.MaxConnsPerUser, "max-conns-per-user", cfg.MaxConnsPerUser, "open WebSockets of one user; more get 429 too_many_connections (0: no limit)")
	fs.IntVar(&cfg.MaxConnsPerAddr, "max-conns-per-addr", cfg.MaxConnsPerAddr, "open WebSockets from one client address, an IPv6 /64; more get 429 too_many_connections (0: no limit)")
	fs.Float64Var(&cfg.HandshakeRate, "handshake-rate", cfg.HandshakeRate, "WebSocket handshakes per second per client address, an IPv6 /64; more get 429 ratelimited (0: no limit)")
	fs.IntVar(&cfg.HandshakeBurst, "handshake-burst", cfg.HandshakeBurst, "WebSocket handshake burst per client address")
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", cfg.ShutdownGrace, "how long shutdown waits for requests in flight")
	fs.StringVar(&cfg.PprofListen, "pprof-listen", cfg.PprofListen, "address for Go's profiler at /debug/pprof/ (e.g. 127.0.0.1:6060); off when empty")
	fs.StringVar(&cfg.TLSCert, "tls-cert", cfg.TLSCert, "TLS certificate chain file (PEM); reloaded on SIGHUP and when it changes")
	fs.StringVar(&cfg.TLSKey, "tls-key", cfg.TLSKey, "TLS private key file (PEM)")
	fs.DurationVar(&cfg.TLSPoll, "tls-poll", cfg.TLSPoll, "how often the TLS files are checked for a change (0: on SIGHUP only)")
	fs.Var((*listFlag)(&cfg.ACMEHosts), "acme-hosts", "comma-separated host names to get TLS certificates for through ACME (TLS-ALPN-01 on this listener, which the CA reaches on port 443)")
	fs.StringVar(&cfg.ACMECache, "acme-cache", cfg.ACMECache, "directory of the ACME account and certificates (default: <data>/acme)")
	fs.StringVar(&cfg.ACMEDirectory, "acme-directory", cfg.ACMEDirectory, "ACME directory URL")
	fs.StringVar(&cfg.ACMEEmail, "acme-email", cfg.ACMEEmail, "contact email for the ACME account")
	fs.StringVar(&cfg.ACMEHTTPListen, "acme-http-listen", cfg.ACMEHTTPListen, "address for ACME HTTP-01 challenges and a redirect to https, e.g. :80; off when empty")
	fs.Var((*listFlag)(&cfg.TrustedProxies), "trusted-proxies", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For, X-Real-IP and X-Forwarded-Proto are believed")
	fs.DurationVar(&cfg.CacheTTL, "cache-ttl", cfg.CacheTTL, "on a PostgreSQL shared with other processes: how long a revoked token, a left membership or an archive made elsewhere may go unseen")
	fs.StringVar(&cfg.Postgres, "postgres", cfg.Postgres, "PostgreSQL DSN (api and gateway; replaces SQLite for serve)")
	fs.StringVar(&cfg.Pockets, "pockets", cfg.Pockets, "pocket file (TOML) mapping workspaces to pockets and their Redis")
	fs.StringVar(&cfg.Pocket, "pocket", cfg.Pocket, "the pocket this gateway serves")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "base WebSocket URL clients reach this gateway at, e.g. ws://10.0.0.5:8081")
	fs.StringVar(&cfg.GatewayID, "gateway-id", cfg.GatewayID, "this gateway's name in its pocket (default: its public URL)")
	fs.StringVar(&cfg.TicketSecret, "ticket-secret", cfg.TicketSecret, "secret shared by API and gateway processes to sign rtm.connect tickets")
	fs.DurationVar(&cfg.PresenceTTL, "presence-ttl", cfg.PresenceTTL, "how soon the users of a gateway that died go away (0: the default)")
}

// ValidateRole checks what a role needs beyond Validate.
func (cfg *Config) ValidateRole(role string) error {
	var errs []error
	switch role {
	case roleServe:
		return nil
	case roleAPI, roleGateway:
		if cfg.Postgres == "" {
			errs = append(errs, fmt.Errorf("confab %s needs -postgres (CONFAB_POSTGRES)", role))
		}
		if cfg.Pockets == "" {
			errs = append(errs, fmt.Errorf("confab %s needs -pockets (CONFAB_POCKETS)", role))
		}
		if len(cfg.TicketSecret) < 16 {
			errs = append(errs, fmt.Errorf("confab %s needs -ticket-secret (CONFAB_TICKET_SECRET) of at least 16 characters, the same in every process", role))
		}
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	if role == roleGateway && (cfg.Pocket == "" || cfg.PublicURL == "") {
		errs = append(errs, errors.New("confab gateway needs -pocket and -public-url"))
	}
	return errors.Join(errs...)
}

// applyEnv sets every flag of fs whose environment variable is set: flag
// "send-queue-bytes" reads CONFAB_SEND_QUEUE_BYTES. Flags parsed later win.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		key := "CONFAB_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(key); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
			}
		}
	})
	return errors.Join(errs...)
}

// listFlag is a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// Validate checks the configuration once, before anything starts.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Listen == "" {
		errs = append(errs, errors.New("listen address is empty"))
	}
	if cfg.DataDir == "" {
		errs = append(errs, errors.New("data directory is empty"))
	}
	if cfg.SQLiteSync != "full" && cfg.SQLiteSync != "normal" {
		errs = append(errs, fmt.Errorf("sqlite-sync %q: want full or normal", cfg.SQLiteSync))
	}
	if _, err := parseLevel(cfg.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log-format %q: want text or json", cfg.LogFormat))
	}
	if cfg.RateLimit <= 0 || cfg.RateBurst <= 0 || cfg.AuthRateLimit <= 0 || cfg.AuthRateBurst <= 0 {
		errs = append(errs, errors.New("rate-limit, rate-burst, auth-rate-limit and auth-rate-burst must be positive"))
	}
	if cfg.LoginFreeFailures <= 0 || cfg.LoginBackoff <= 0 || cfg.LoginMaxBackoff < cfg.LoginBackoff {
		errs = append(errs, errors.New("login-free-failures and login-backoff must be positive, login-max-backoff at least login-backoff"))
	}
	if cfg.PasswordCost != 0 && (cfg.PasswordCost < 4 || cfg.PasswordCost > 31) {
		errs = append(errs, fmt.Errorf("password-cost %d: want 4 to 31", cfg.PasswordCost))
	}
	if cfg.SendQueueBytes < 64<<10 {
		errs = append(errs, fmt.Errorf("send-queue-bytes %d: want at least 65536 (a message is up to 160 KB)", cfg.SendQueueBytes))
	}
	if cfg.SendBufferBytes != -1 && cfg.SendBufferBytes < 4096 {
		errs = append(errs, fmt.Errorf("send-buffer-bytes %d: want -1 (the kernel's) or at least 4096", cfg.SendBufferBytes))
	}
	if cfg.NoProgressTimeout <= 0 {
		errs = append(errs, errors.New("no-progress-timeout must be positive"))
	}
	if cfg.MaxConnsPerUser < 0 || cfg.MaxConnsPerAddr < 0 || cfg.HandshakeRate < 0 || cfg.HandshakeBurst < 0 {
		errs = append(errs, errors.New("max-conns-per-user, max-conns-per-addr, handshake-rate and handshake-burst must not be negative (0: no limit)"))
	}
	if cfg.HandshakeRate > 0 && cfg.HandshakeBurst == 0 {
		errs = append(errs, errors.New("handshake-burst must be positive when handshake-rate is"))
	}
	errs = append(errs, cfg.validateTLS()...)
	return errors.Join(errs...)
}
