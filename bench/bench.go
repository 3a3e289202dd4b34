package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Scenarios are the names Run accepts, in the order "confab-bench -h"
// lists them.
var Scenarios = []string{"send", "fanout", "history", "idle", "storm", "boot", "hot", "apps", "search"}

// MaxConnections caps the WebSockets one process of a run opens: the
// machine allows 20,000 open files per process, and the run needs some
// for HTTP. Larger idle and fanout runs are spread over worker processes
// (Config.Procs), each dialing from its own loopback source address.
const MaxConnections = 15000

// MaxStormClients caps the storm clients one process holds: each has a
// WebSocket and, while it reconnects and catches up, an HTTP connection.
// Larger storms are spread over worker processes (Config.Procs).
const MaxStormClients = MaxConnections / 2

// MaxTextBytes caps Config.Size: a message's text is at most 40,000
// characters (confab.MaxMessageRunes), and the padding is ASCII.
const MaxTextBytes = 40000

// MaxProcs caps Config.Procs: the workers dial from 127.0.0.2 onwards.
const MaxProcs = 200

// Config is one run. Zero fields take the scenario's default (see
// Config.withDefaults and "confab-bench -h").
type Config struct {
	Scenario string // one of Scenarios
	URL      string // the server's base URL, "http://127.0.0.1:8080"
	// MetricsURLs are where the server's Prometheus metrics are; nil:
	// URL+"/metrics". idle and hot add up the figures of every URL: a
	// cluster's connections are spread over its gateways, its reads over
	// its API processes.
	MetricsURLs []string

	// Clients is the number of RTM connections: subscribers for fanout
	// (default 100), connections for idle (default 1000).
	Clients int
	// Users is how many distinct users the connections belong to,
	// round-robin (default min(Clients, 100)). Each is a sign-up, which
	// costs the server a password hash.
	Users int
	// Channels is how many channels each idle user is in (default 10), or
	// how many channels send's posters spread over (default 8), or how many
	// channels fanout's subscribers are split into (default 1: user j is
	// in channel j mod Channels, post i goes to channel i mod Channels).
	Channels int
	// UserChannels is how many of fanout's channels each user is in
	// (default 1): user j is in channels (j×UserChannels + k) mod Channels
	// for k < UserChannels, so each channel has Users×UserChannels/Channels
	// members and a connection gets the posts of UserChannels channels.
	UserChannels int
	// Posters is the number of concurrent chat.postMessage callers: send
	// (default 64), history's fill (default 32).
	Posters int
	// Duration is how long send posts (default 10s), fanout publishes
	// (default 10s), idle holds its connections open (default 2s) and
	// each of apps' posting phases lasts (default 10s).
	Duration time.Duration
	// Rate is fanout's and storm's posts per second (default 100), and
	// apps' (default 1000).
	Rate float64
	// Messages caps send's messages and fanout's posts (0: no cap beyond
	// Duration, or Rate×Duration); for search it is the workspace's size
	// (default 1,000,000).
	Messages int
	// Size is the length in bytes of fanout's post texts, padded after the
	// index and send time (0: unpadded, ~30 bytes; at most MaxTextBytes).
	Size int
	// Stuck is how many more RTM connections fanout opens, of the same
	// users as its subscribers and spread over the same processes, that
	// read hello and then nothing (with a small receive buffer): clients
	// that stopped reading. The subscribers must still get every post; the
	// report counts the stuck connections the server closed.
	Stuck int
	// Depth is how many messages history fills its channel with (default
	// 100,000).
	Depth int
	// PageSize is history's page limit (default 100).
	PageSize int
	// Reads is how many times history reads each timed page (default 200).
	Reads int
	// Rounds is how many times hot releases its readers (default 3).
	Rounds int
	// DataDir is where search loads its workspace, or finds it loaded by
	// an earlier run with the same sizes (default: a temporary directory,
	// removed after the run): confab's data directory, whose SQLite
	// database search writes before it starts confab on it.
	DataDir string
	// Postgres, for search, is the DSN of a PostgreSQL database to load
	// into and serve from instead of SQLite (its manifest stays in
	// DataDir).
	Postgres string
	// Confab is the confab binary search starts (default: "confab" next
	// to this executable, or on PATH).
	Confab string
	// Parallel bounds concurrent set-up calls and connects (default 32).
	Parallel int
	// Timeout caps the whole run (default 10m).
	Timeout time.Duration
	// Procs spreads idle's, fanout's and storm's connections over this
	// many worker processes, worker i dialing from 127.0.0.(2+i) when the
	// server is on loopback; this process then holds none (storm keeps its
	// publisher). 0: idle and fanout use 1 (this process) up to
	// MaxConnections clients and enough workers for MaxConnections each
	// beyond; storm uses 1, which holds at most MaxStormClients clients.
	Procs int
	// Transport is what idle's and fanout's connections are: "websocket"
	// (the default) or "sse", the Server-Sent Events stream of
	// rtm.connect's sse_url; or, fanout's only, "poll", long-polling from
	// its poll_url.
	Transport string
	// ServerPID, for fanout, is the server's process (on this machine):
	// its CPU time over the measured phase is reported, and per delivery.
	ServerPID int
	// WorkerCommand starts a worker, which runs Worker on its stdin and
	// stdout; nil: this executable with the argument "worker" (confab-bench).
	WorkerCommand []string
	// WorkerStderr receives the workers' stderr; nil discards it.
	WorkerStderr io.Writer
	// WaitForDrop makes storm wait for connections to be dropped (someone
	// kills a gateway) instead of closing them: only the killed gateway's
	// clients drop, and the drop is over once no other went for
	// stormDropQuiet.
	WaitForDrop bool
	// Away is how long apps keeps its app stopped while posting goes on
	// (default 10s).
	Away time.Duration
	// DropAfter is how long storm publishes before the drop (default 1s);
	// SettleAfter how long it goes on publishing once every client has
	// reconnected (default 1s).
	DropAfter, SettleAfter time.Duration
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

// withDefaults returns cfg with zero fields set to the scenario's defaults.
func (cfg Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	switch cfg.Scenario {
	case "fanout":
		def(&cfg.Clients, 100)
		def(&cfg.Channels, 1)
		def(&cfg.UserChannels, 1)
	case "idle":
		def(&cfg.Clients, 1000)
		def(&cfg.Channels, 10)
	case "storm", "hot":
		def(&cfg.Clients, 1000)
	case "boot":
		def(&cfg.Users, 2000)
		def(&cfg.Channels, 200)
	case "send":
		def(&cfg.Channels, 8)
	case "search":
		def(&cfg.Messages, 1_000_000)
		def(&cfg.Channels, 1000)
		def(&cfg.Users, 500)
		def(&cfg.PageSize, 20)
		if cfg.Timeout <= 0 {
			cfg.Timeout = 60 * time.Minute
		}
	case "apps":
		def(&cfg.Channels, 100)
		if cfg.Rate <= 0 {
			cfg.Rate = 1000
		}
		if cfg.Away <= 0 {
			cfg.Away = 10 * time.Second
		}
	}
	if cfg.Scenario == "hot" {
		def(&cfg.Users, min(max(cfg.Clients, 1), 10))
	}
	def(&cfg.Users, min(max(cfg.Clients, 1), 100))
	switch cfg.Scenario {
	case "send":
		def(&cfg.Posters, 64)
	default:
		def(&cfg.Posters, 32)
	}
	if cfg.Duration <= 0 {
		if cfg.Scenario == "idle" {
			cfg.Duration = 2 * time.Second
		} else {
			cfg.Duration = 10 * time.Second
		}
	}
	for _, d := range []*time.Duration{&cfg.DropAfter, &cfg.SettleAfter} {
		if *d <= 0 {
			*d = time.Second
		}
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 100
	}
	def(&cfg.Depth, 100_000)
	def(&cfg.PageSize, 100)
	def(&cfg.Reads, 200)
	def(&cfg.Rounds, 3)
	def(&cfg.Parallel, 32)
	if cfg.Procs <= 0 && cfg.Clients > MaxConnections && (cfg.Scenario == "idle" || cfg.Scenario == "fanout") {
		cfg.Procs = (cfg.Clients + MaxConnections - 1) / MaxConnections
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	if len(cfg.MetricsURLs) == 0 {
		cfg.MetricsURLs = []string{cfg.URL + "/metrics"}
	}
	return cfg
}

func (cfg Config) validate() error {
	var errs []error
	if !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://") {
		errs = append(errs, fmt.Errorf("url %q: want http://host:port", cfg.URL))
	}
	for _, u := range cfg.MetricsURLs {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			errs = append(errs, fmt.Errorf("metrics url %q: want http://host:port/metrics", u))
		}
	}
	spreads := cfg.Scenario == "idle" || cfg.Scenario == "fanout" || cfg.Scenario == "storm"
	switch {
	case cfg.Procs > 1 && !spreads:
		errs = append(errs, fmt.Errorf("procs %d: only idle and fanout spread over worker processes, and storm", cfg.Procs))
	case cfg.Procs > MaxProcs:
		errs = append(errs, fmt.Errorf("procs %d: at most %d", cfg.Procs, MaxProcs))
	case cfg.Clients+cfg.Stuck > max(cfg.Procs, 1)*MaxConnections:
		errs = append(errs, fmt.Errorf("clients %d and stuck %d: one process opens at most %d connections; spread them with more worker processes (-procs)", cfg.Clients, cfg.Stuck, MaxConnections))
	}
	switch cfg.Transport {
	case "", "websocket":
	case "sse":
		if cfg.Scenario != "idle" && cfg.Scenario != "fanout" {
			errs = append(errs, fmt.Errorf("transport sse: only idle and fanout open Server-Sent Events streams"))
		}
		if cfg.Stuck != 0 {
			errs = append(errs, fmt.Errorf("transport sse: stuck connections are WebSockets"))
		}
	case "poll":
		if cfg.Scenario != "fanout" {
			errs = append(errs, fmt.Errorf("transport poll: only fanout long-polls"))
		}
		if cfg.Stuck != 0 {
			errs = append(errs, fmt.Errorf("transport poll: stuck connections are WebSockets"))
		}
	default:
		errs = append(errs, fmt.Errorf("transport %q: want websocket, sse or poll", cfg.Transport))
	}
	if cfg.ServerPID != 0 && cfg.Scenario != "fanout" {
		errs = append(errs, fmt.Errorf("server-pid: only fanout measures the server's CPU"))
	}
	if (cfg.Stuck != 0 || cfg.Size != 0) && cfg.Scenario != "fanout" {
		errs = append(errs, fmt.Errorf("stuck %d, size %d: only fanout has stuck connections and padded posts", cfg.Stuck, cfg.Size))
	}
	if cfg.Stuck < 0 {
		errs = append(errs, fmt.Errorf("stuck %d: want 0 or more", cfg.Stuck))
	}
	if cfg.Size < 0 || cfg.Size > MaxTextBytes {
		errs = append(errs, fmt.Errorf("size %d: want 0 to %d (a message's text is at most 40,000 characters)", cfg.Size, MaxTextBytes))
	}
	if cfg.Scenario == "hot" && cfg.Clients > MaxConnections {
		errs = append(errs, fmt.Errorf("clients %d: hot holds at most %d reader connections", cfg.Clients, MaxConnections))
	}
	if cfg.Scenario == "storm" && cfg.Clients > max(cfg.Procs, 1)*MaxStormClients {
		errs = append(errs, fmt.Errorf("clients %d: storm holds at most %d clients in one process (each needs a WebSocket and, while reconnecting, an HTTP connection); spread them with more worker processes (-procs %d)", cfg.Clients, MaxStormClients, (cfg.Clients+MaxStormClients-1)/MaxStormClients))
	}
	if cfg.Scenario == "fanout" && cfg.UserChannels > cfg.Channels {
		errs = append(errs, fmt.Errorf("user channels %d: more than channels %d", cfg.UserChannels, cfg.Channels))
	}
	if cfg.Scenario == "fanout" && cfg.Channels > cfg.Users*cfg.UserChannels {
		errs = append(errs, fmt.Errorf("channels %d: more than users %d × user channels %d (a channel would have no member)", cfg.Channels, cfg.Users, cfg.UserChannels))
	}
	if cfg.Users > max(cfg.Clients, 1) && (cfg.Scenario == "fanout" || cfg.Scenario == "idle" || cfg.Scenario == "storm") {
		errs = append(errs, fmt.Errorf("users %d: more than clients %d", cfg.Users, cfg.Clients))
	}
	if cfg.Scenario == "search" {
		if cfg.Channels < 10 || cfg.Users < 10 || cfg.Messages < cfg.Channels {
			errs = append(errs, fmt.Errorf("search: channels %d, users %d, messages %d: want at least 10 channels and 10 users, and a message per channel", cfg.Channels, cfg.Users, cfg.Messages))
		}
		if cfg.PageSize > 100 {
			errs = append(errs, fmt.Errorf("page size %d: search.messages allows at most 100", cfg.PageSize))
		}
	} else if cfg.DataDir != "" || cfg.Postgres != "" || cfg.Confab != "" {
		errs = append(errs, errors.New("data, postgres and confab: only search loads data and starts confab"))
	}
	if cfg.PageSize > 1000 {
		errs = append(errs, fmt.Errorf("page size %d: conversations.history allows at most 1000", cfg.PageSize))
	}
	if cfg.Depth < cfg.PageSize {
		errs = append(errs, fmt.Errorf("depth %d: less than a page (%d)", cfg.Depth, cfg.PageSize))
	}
	return errors.Join(errs...)
}

// Report is the outcome of one run. Exactly one of the scenario results
// is set.
type Report struct {
	Scenario  string         `json:"scenario"`
	Transport string         `json:"transport,omitempty"` // idle and fanout: websocket, sse or poll
	URL       string         `json:"url"`
	Team      string         `json:"team"` // the workspace domain the run created
	Started   time.Time      `json:"started"`
	Seconds   float64        `json:"seconds"` // the whole run, set-up included
	SetupSecs float64        `json:"setup_seconds"`
	Send      *SendResult    `json:"send,omitempty"`
	Fanout    *FanoutResult  `json:"fanout,omitempty"`
	History   *HistoryResult `json:"history,omitempty"`
	Idle      *IdleResult    `json:"idle,omitempty"`
	Storm     *StormResult   `json:"storm,omitempty"`
	Boot      *BootResult    `json:"boot,omitempty"`
	Hot       *HotResult     `json:"hot,omitempty"`
	Apps      *AppsResult    `json:"apps,omitempty"`
	Search    *SearchResult  `json:"search,omitempty"`
	// Problems lists what makes the run a failure: lost or duplicated
	// deliveries, failed requests, dropped connections. Empty is a pass.
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether the run found no problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Run runs one scenario to completion and returns its report. An error
// means the run could not be carried out (bad config, server unreachable,
// set-up refused); a run that completed with lost messages or failed
// requests returns a report whose Problems say so, and no error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	scenario, ok := map[string]func(*run, context.Context) error{
		"send":    (*run).send,
		"fanout":  (*run).fanout,
		"history": (*run).history,
		"idle":    (*run).idle,
		"storm":   (*run).storm,
		"boot":    (*run).boot,
		"hot":     (*run).hot,
		"apps":    (*run).apps,
		"search":  (*run).search,
	}[cfg.Scenario]
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q: want one of %s", cfg.Scenario, strings.Join(Scenarios, ", "))
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	r := &run{
		cfg: cfg,
		log: cfg.Log,
		api: newAPI(cfg.URL, cfg.Posters+cfg.Parallel+16),
		rep: &Report{Scenario: cfg.Scenario, URL: cfg.URL, Started: time.Now()},
	}
	if cfg.Scenario == "idle" || cfg.Scenario == "fanout" {
		r.rep.Transport = cmp.Or(cfg.Transport, "websocket")
	}
	defer r.api.close()
	if err := scenario(r, ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Scenario, err)
	}
	r.rep.Seconds = time.Since(r.rep.Started).Seconds()
	return r.rep, nil
}

// run is the state of one Run; its scenario method fills rep.
type run struct {
	cfg Config
	log *slog.Logger
	api *api
	rep *Report
}

// setup signs up the run's workspace with n users (users[0] owns it) and
// records its domain and set-up time in the report.
func (r *run) setup(ctx context.Context, n int) (*workspace, error) {
	start := time.Now()
	ws, err := r.api.signupWorkspace(ctx, n, r.cfg.Parallel)
	if err != nil {
		return nil, err
	}
	r.rep.Team = ws.team
	r.log.Info("workspace signed up", "team", ws.team, "users", n, "took", time.Since(start).Round(time.Millisecond))
	return ws, nil
}

// sse reports whether idle's and fanout's connections are Server-Sent
// Events streams.
func (r *run) sse() bool { return r.cfg.Transport == "sse" }

// poll reports whether fanout's connections are long-polls.
func (r *run) poll() bool { return r.cfg.Transport == "poll" }

func (r *run) setupDone(start time.Time) {
	r.rep.SetupSecs = time.Since(start).Seconds()
}

// httpClient is shared by the calls of one run.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}
