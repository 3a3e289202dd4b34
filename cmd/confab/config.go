package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
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
	AllowedOrigins []string      // CONFAB_ALLOWED_ORIGINS: comma-separated extra browser origins for WebSockets
	PasswordCost   int           // CONFAB_PASSWORD_COST: bcrypt cost (4–31; 0: library default)
	SendQueueBytes int           // CONFAB_SEND_QUEUE_BYTES: per-connection outbound queue before a slow client is dropped
	ShutdownGrace  time.Duration // CONFAB_SHUTDOWN_GRACE: how long shutdown waits for requests in flight
}

// DefaultConfig is the embedded default: one process, data in ./confab-data,
// listening on loopback.
func DefaultConfig() Config {
	return Config{
		Listen:         "127.0.0.1:8080",
		DataDir:        "confab-data",
		SQLiteSync:     "full",
		LogLevel:       "info",
		LogFormat:      "text",
		RateLimit:      50,
		RateBurst:      100,
		AuthRateLimit:  1,
		ShutdownGrace:  10 * time.Second,
		SendQueueBytes: 4 << 20,
	}
}

// ParseFlags fills cfg from the environment, then from args.
func (cfg *Config) ParseFlags(name string, args []string) error {
	if err := cfg.fromEnv(os.Getenv); err != nil {
		return err
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTP and WebSocket listen address (CONFAB_LISTEN)")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory for the SQLite database (CONFAB_DATA)")
	fs.StringVar(&cfg.SQLiteSync, "sqlite-sync", cfg.SQLiteSync, "SQLite synchronous mode: full or normal (CONFAB_SQLITE_SYNC)")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error (CONFAB_LOG_LEVEL)")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json (CONFAB_LOG_FORMAT)")
	fs.BoolVar(&cfg.ClosedSignup, "closed-signup", cfg.ClosedSignup, "refuse auth.signup into existing workspaces (CONFAB_CLOSED_SIGNUP)")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", cfg.RateLimit, "API requests per second per token (CONFAB_RATE_LIMIT)")
	fs.IntVar(&cfg.RateBurst, "rate-burst", cfg.RateBurst, "API request burst per token (CONFAB_RATE_BURST)")
	fs.Float64Var(&cfg.AuthRateLimit, "auth-rate-limit", cfg.AuthRateLimit, "sign-ups and logins per second per client IP, burst 20 (CONFAB_AUTH_RATE_LIMIT)")
	origins := fs.String("allowed-origins", strings.Join(cfg.AllowedOrigins, ","), "extra browser origins allowed to open WebSockets (CONFAB_ALLOWED_ORIGINS)")
	fs.IntVar(&cfg.PasswordCost, "password-cost", cfg.PasswordCost, "bcrypt cost, 0 for the default (CONFAB_PASSWORD_COST)")
	fs.IntVar(&cfg.SendQueueBytes, "send-queue-bytes", cfg.SendQueueBytes, "per-connection outbound queue in bytes; a client that falls further behind is disconnected (CONFAB_SEND_QUEUE_BYTES)")
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", cfg.ShutdownGrace, "how long shutdown waits for requests in flight (CONFAB_SHUTDOWN_GRACE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg.AllowedOrigins = splitList(*origins)
	return cfg.Validate()
}

func (cfg *Config) fromEnv(getenv func(string) string) error {
	var errs []error
	str := func(key string, dst *string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	str("CONFAB_LISTEN", &cfg.Listen)
	str("CONFAB_DATA", &cfg.DataDir)
	str("CONFAB_SQLITE_SYNC", &cfg.SQLiteSync)
	str("CONFAB_LOG_LEVEL", &cfg.LogLevel)
	str("CONFAB_LOG_FORMAT", &cfg.LogFormat)
	if v := getenv("CONFAB_CLOSED_SIGNUP"); v != "" {
		b, err := strconv.ParseBool(v)
		errs = append(errs, wrapEnv("CONFAB_CLOSED_SIGNUP", err))
		cfg.ClosedSignup = b
	}
	if v := getenv("CONFAB_RATE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		errs = append(errs, wrapEnv("CONFAB_RATE_LIMIT", err))
		cfg.RateLimit = f
	}
	if v := getenv("CONFAB_AUTH_RATE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		errs = append(errs, wrapEnv("CONFAB_AUTH_RATE_LIMIT", err))
		cfg.AuthRateLimit = f
	}
	if v := getenv("CONFAB_RATE_BURST"); v != "" {
		n, err := strconv.Atoi(v)
		errs = append(errs, wrapEnv("CONFAB_RATE_BURST", err))
		cfg.RateBurst = n
	}
	if v := getenv("CONFAB_ALLOWED_ORIGINS"); v != "" {
		cfg.AllowedOrigins = splitList(v)
	}
	if v := getenv("CONFAB_PASSWORD_COST"); v != "" {
		n, err := strconv.Atoi(v)
		errs = append(errs, wrapEnv("CONFAB_PASSWORD_COST", err))
		cfg.PasswordCost = n
	}
	if v := getenv("CONFAB_SEND_QUEUE_BYTES"); v != "" {
		n, err := strconv.Atoi(v)
		errs = append(errs, wrapEnv("CONFAB_SEND_QUEUE_BYTES", err))
		cfg.SendQueueBytes = n
	}
	if v := getenv("CONFAB_SHUTDOWN_GRACE"); v != "" {
		d, err := time.ParseDuration(v)
		errs = append(errs, wrapEnv("CONFAB_SHUTDOWN_GRACE", err))
		cfg.ShutdownGrace = d
	}
	return errors.Join(errs...)
}

func wrapEnv(key string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", key, err)
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
	if cfg.RateLimit <= 0 || cfg.RateBurst <= 0 || cfg.AuthRateLimit <= 0 {
		errs = append(errs, errors.New("rate-limit, rate-burst and auth-rate-limit must be positive"))
	}
	if cfg.PasswordCost != 0 && (cfg.PasswordCost < 4 || cfg.PasswordCost > 31) {
		errs = append(errs, fmt.Errorf("password-cost %d: want 4 to 31", cfg.PasswordCost))
	}
	if cfg.SendQueueBytes < 64<<10 {
		errs = append(errs, fmt.Errorf("send-queue-bytes %d: want at least 65536 (a message is up to 160 KB)", cfg.SendQueueBytes))
	}
	return errors.Join(errs...)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
