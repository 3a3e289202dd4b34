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
	RateLimit      float64       // CONFAB_RATE_LIMIT: API requests per second per token
	RateBurst      int           // CONFAB_RATE_BURST
	AuthRateLimit  float64       // CONFAB_AUTH_RATE_LIMIT: auth.signup/auth.login per second per client IP
	AuthRateBurst  int           // CONFAB_AUTH_RATE_BURST
	AllowedOrigins []string      // CONFAB_ALLOWED_ORIGINS: comma-separated extra browser origins for WebSockets
	PasswordCost   int           // CONFAB_PASSWORD_COST: bcrypt cost (4–31; 0: library default)
	SendQueueBytes int           // CONFAB_SEND_QUEUE_BYTES: per-connection outbound queue before a slow client is dropped
	ShutdownGrace  time.Duration // CONFAB_SHUTDOWN_GRACE: how long shutdown waits for requests in flight
	CacheTTL       time.Duration // CONFAB_CACHE_TTL: on a shared PostgreSQL, how long a cached token, membership or channel is trusted
	PprofListen    string        // CONFAB_PPROF_LISTEN: address of Go's profiler (net/http/pprof); "" is off

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
	fs.Float64Var(&cfg.RateLimit, "rate-limit", cfg.RateLimit, "API requests per second per token")
	fs.IntVar(&cfg.RateBurst, "rate-burst", cfg.RateBurst, "API request burst per token")
	fs.Float64Var(&cfg.AuthRateLimit, "auth-rate-limit", cfg.AuthRateLimit, "sign-ups and logins per second per client IP")
	fs.IntVar(&cfg.AuthRateBurst, "auth-rate-burst", cfg.AuthRateBurst, "sign-up and login burst per client IP")
	fs.Var((*listFlag)(&cfg.AllowedOrigins), "allowed-origins", "comma-separated extra browser origins allowed to open WebSockets")
	fs.IntVar(&cfg.PasswordCost, "password-cost", cfg.PasswordCost, "bcrypt cost, 0 for the default")
	fs.IntVar(&cfg.SendQueueBytes, "send-queue-bytes", cfg.SendQueueBytes, "per-connection outbound queue in bytes; a client that falls further behind is disconnected")
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", cfg.ShutdownGrace, "how long shutdown waits for requests in flight")
	fs.StringVar(&cfg.PprofListen, "pprof-listen", cfg.PprofListen, "address for Go's profiler at /debug/pprof/ (e.g. 127.0.0.1:6060); off when empty")
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
	if cfg.PasswordCost != 0 && (cfg.PasswordCost < 4 || cfg.PasswordCost > 31) {
		errs = append(errs, fmt.Errorf("password-cost %d: want 4 to 31", cfg.PasswordCost))
	}
	if cfg.SendQueueBytes < 64<<10 {
		errs = append(errs, fmt.Errorf("send-queue-bytes %d: want at least 65536 (a message is up to 160 KB)", cfg.SendQueueBytes))
	}
	return errors.Join(errs...)
}
