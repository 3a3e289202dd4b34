package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/events"
	"github.com/confab/confab/gateway"
	"github.com/confab/confab/internal/clientip"
	"github.com/confab/confab/internal/connbudget"
	"github.com/confab/confab/internal/querycount"
	"github.com/confab/confab/internal/ratelimit"
	"github.com/confab/confab/pocket"
	"github.com/confab/confab/pubsub/memory"
	"github.com/confab/confab/redis"
	"github.com/confab/confab/store/postgres"
	"github.com/confab/confab/store/sqlite"
	"github.com/confab/confab/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"
)

// The roles a process can play.
const (
	roleServe   = "serve"   // everything in one process (the embedded default)
	roleAPI     = "api"     // the HTTP API and the web client, for every pocket
	roleGateway = "gateway" // WebSockets of one pocket
)

// slackLibraryOrigin is the Origin that Slack's RTM client libraries
// (slack-go, python-slackclient) send on their WebSocket handshake. No
// browser page of ours is served from it, and a browser cannot forge it, so
// accepting it lets those libraries in without opening the gateway to
// other sites' pages.
const slackLibraryOrigin = "https://api.slack.com"

// Main is one confab process and everything it runs. Tests build it with
// NewMain, set Config (and Role), and call Run and Close, skipping flag
// parsing.
type Main struct {
	Config Config
	Role   string // roleServe (default), roleAPI or roleGateway
	Logger *slog.Logger

	// WrapStore, when set, wraps the store the service uses (tests inject
	// failures through it).
	WrapStore func(confab.Store) confab.Store
	// TuneEvents, when set, adjusts the apps' event delivery (tests
	// shorten its retry schedule).
	TuneEvents func(*events.Config)

	store   store
	Chat    *chat.Service
	Gateway *gateway.Gateway
	// Events delivers apps' events (serve only).
	Events    *events.Manager
	server    *http.Server
	listener  net.Listener
	pprofAddr string // the profiler's address, when -pprof-listen is set
	served    chan error

	tls bool // the listener serves TLS
	// clients tells a request's client address and scheme, believing
	// forwarding headers from -trusted-proxies only.
	clients *clientip.Resolver
	// acmeHTTPClient, when set, is the ACME client's (tests trust their
	// own CA with it); acmeHTTPAddr is the HTTP-01 listener's address.
	acmeHTTPClient *http.Client
	acmeHTTPAddr   string

	// pockets is the pocket file of an api or gateway process.
	pockets *pocket.Map

	// heartbeat keeps a gateway in its pocket's registry; stopping it
	// first takes the gateway out, so that rtm.connect sends no one to it.
	heartbeat *redis.Heartbeat
	// loops are an API process's watches over the registries.
	loops []*redis.Loop
	// closers release what the role opened, last opened first closed,
	// after the listener and the gateway stopped.
	closers []func() error

	closeOnce sync.Once
	closeErr  error
}

// store is what a process needs of its store: the use cases' Store, the
// health checks of a read and of a write, and Close. sqlite.DB,
// postgres.DB and pocket.Store are one.
type store interface {
	confab.Store
	Ping(ctx context.Context) error
	PingWrite(ctx context.Context) error
	Close() error
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Config: DefaultConfig(), Role: roleServe}
}

// Addr is the address the server listens on, once Run returned.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// URL is the server's base URL.
func (m *Main) URL() string {
	if m.tls {
		return "https://" + m.Addr()
	}
	return "http://" + m.Addr()
}

// servePprof serves Go's profiler (net/http/pprof) on its own address, off
// the public listener: profiles reveal internals and cost CPU.
func (m *Main) servePprof(addr string, log *slog.Logger) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pprof listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	m.closers = append(m.closers, srv.Close)
	m.pprofAddr = l.Addr().String()
	log.Info("pprof listening", "addr", m.pprofAddr)
	return nil
}

// wiring is what Run hands each role's wiring function.
type wiring struct {
	ctx   context.Context
	cfg   Config
	log   *slog.Logger
	reg   *prometheus.Registry
	store confab.Store
	mux   *http.ServeMux
	// socketMode: this process serves apps' Socket Mode connections.
	socketMode bool
	// tokens is the process's per-token rate limit, which its API and its
	// gateway share: a token's requests and RTM frames take from one
	// bucket. Each process has its own.
	tokens *ratelimit.Limiter[confab.Fingerprint]
}

// Run opens the store, wires the role, and starts serving. It returns once
// the listener is open.
func (m *Main) Run(ctx context.Context) (err error) {
	cfg := m.Config
	if m.Role == "" {
		m.Role = roleServe
	}
	if err := cfg.ValidateRole(m.Role); err != nil {
		return err
	}
	if m.clients, err = newClientResolver(cfg); err != nil {
		return err
	}
	if m.Logger == nil {
		m.Logger = newLogger(cfg)
	}
	log := m.Logger.With("role", m.Role)
	defer func() {
		if err != nil {
			m.Close()
		}
	}()

	if cfg.Pockets != "" && m.Role != roleServe {
		if m.pockets, err = pocket.Load(cfg.Pockets); err != nil {
			return err
		}
	}
	if m.store, err = m.openStore(ctx, log); err != nil {
		return err
	}
	var st confab.Store = m.store
	if m.WrapStore != nil {
		st = m.WrapStore(st)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if c, ok := m.store.(querycount.Collected); ok {
		reg.MustRegister(c.Collectors()...)
	}
	w := wiring{ctx: ctx, cfg: cfg, log: log, reg: reg, store: st, mux: http.NewServeMux(),
		tokens: ratelimit.New[confab.Fingerprint](ratelimit.Config{Rate: rate.Limit(cfg.RateLimit), Burst: cfg.RateBurst})}
	switch m.Role {
	case roleServe:
		err = m.wireServe(w)
	case roleAPI:
		err = m.wireAPI(w)
	case roleGateway:
		err = m.wireGateway(w)
	}
	if err != nil {
		return err
	}
	w.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	w.mux.Handle("GET /healthz", &healthz{store: m.store, log: log})

	if cfg.PprofListen != "" {
		if err := m.servePprof(cfg.PprofListen, log); err != nil {
			return err
		}
	}
	tlsConfig, err := m.startTLS(w)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// When descriptors run short the budget closes the longest-idle
	// keep-alive connections, and answers close theirs: in one process a
	// client holds a WebSocket and an HTTP connection, and 19,000 clients
	// would need more than the open-file limit.
	budget := connbudget.New(connbudget.Config{Logger: log.With("component", "listener")})
	reg.MustRegister(budgetCollectors(budget)...)
	m.listener = budget.Listener(l)
	if tlsConfig != nil {
		// Outside the budget's listener, which reads the accepted
		// socket's descriptor; the handshake runs in the connection's
		// goroutine, bounded by ReadHeaderTimeout.
		m.listener, m.tls = tls.NewListener(m.listener, tlsConfig), true
	}
	m.server = &http.Server{
		Handler:           noRedirects(w.mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          httpErrorLog(log),
	}
	budget.Attach(m.server)
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(m.listener) }()
	log.Info("confab serving", "addr", m.Addr())
	return nil
}

// budgetCollectors expose the connection budget's counters.
func budgetCollectors(b *connbudget.Budget) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "confab_http_idle_closed_total",
			Help: "Idle HTTP keep-alive connections closed to keep descriptors for new connections.",
		}, func() float64 { return float64(b.Closed()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "confab_accept_exhausted_total",
			Help: "Accepts that failed for want of a file descriptor (EMFILE, ENFILE).",
		}, func() float64 { return float64(b.Exhausted()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "confab_http_idle_connections",
			Help: "HTTP keep-alive connections idle between requests.",
		}, func() float64 { return float64(b.Idle()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "confab_descriptors_short",
			Help: "1 while file descriptors are short and HTTP keep-alives are off, else 0.",
		}, func() float64 {
			if b.UnderPressure() {
				return 1
			}
			return 0
		}),
	}
}

// openStore opens PostgreSQL when a DSN is configured, else the embedded
// SQLite file in the data directory. An API or gateway process also opens
// the PostgreSQL of the pockets that have their own (openPocketStore).
func (m *Main) openStore(ctx context.Context, log *slog.Logger) (store, error) {
	cfg := m.Config
	if cfg.Postgres != "" {
		db, err := postgres.Open(ctx, postgres.Config{DSN: cfg.Postgres, Logger: log.With("component", "store")})
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		if m.Role == roleServe || cfg.Pockets == "" {
			return db, nil
		}
		return m.openPocketStore(ctx, log, db)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	db, err := sqlite.Open(ctx, sqlite.Config{
		Path: filepath.Join(cfg.DataDir, "confab.db"), Sync: cfg.SQLiteSync, Logger: log.With("component", "store"),
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return db, nil
}

// wireServe runs everything in this process on an in-process bus.
func (m *Main) wireServe(w wiring) error {
	broker := memory.NewBroker()
	log := w.log.With("component", "pubsub")
	// The service publishes on an instance of its own; the gateway opens
	// its own with its handler.
	bus := broker.Open(memory.Config{Logger: log})
	m.closers = append(m.closers, bus.Close)
	// On its own SQLite file this process is the store's only writer: its
	// access cache can be exact. On a PostgreSQL others may write too.
	access := chat.SharedAccess(w.cfg.CacheTTL)
	if w.cfg.Postgres == "" {
		access = chat.ExactAccess()
	}
	m.Chat = chat.New(m.chatConfig(w, chat.Config{Bus: bus, Access: access}))
	m.Chat.StartScheduler(schedulerInterval)
	var err error
	m.Gateway, err = m.newGateway(w, func(h func(topic string, payload []byte)) (gateway.Bus, error) {
		return broker.Open(memory.Config{Handler: h, Logger: log}), nil
	})
	if err != nil {
		return err
	}
	// Apps' events: this process is the only one, so it delivers them all.
	ecfg := events.Config{
		Store: w.store, Tickets: m.Chat, Logger: w.log.With("component", "events"), Registerer: w.reg,
		OpenBus: func(h func(topic string, payload []byte)) (events.Bus, error) {
			return broker.Open(memory.Config{Handler: h, Logger: log}), nil
		},
	}
	if m.TuneEvents != nil {
		m.TuneEvents(&ecfg)
	}
	m.Events, err = events.New(ecfg)
	if err != nil {
		return err
	}
	w.socketMode = true
	m.mountAPI(w)
	w.mux.Handle("/rtm/", m.Gateway)
	w.mux.Handle(events.SocketPath, m.Events)
	return nil
}

// schedulerInterval is how often a process that serves the API posts the
// scheduled messages that fell due (chat.StartScheduler): every such
// process does, their claims exclude each other, and Main.Close stops it
// with the chat service.
const schedulerInterval = time.Second

// chatConfig completes a role's chat configuration with what every role
// shares.
func (m *Main) chatConfig(w wiring, c chat.Config) chat.Config {
	c.Store = w.store
	c.Logger = w.log.With("component", "chat")
	c.Registerer = w.reg
	c.ClosedSignup = w.cfg.ClosedSignup
	c.PasswordCost = w.cfg.PasswordCost
	// Each process counts the failed logins it sees (chat/login.go).
	c.LoginThrottle = chat.LoginThrottle{FreeFailures: w.cfg.LoginFreeFailures, Backoff: w.cfg.LoginBackoff, MaxBackoff: w.cfg.LoginMaxBackoff}
	if c.Access == nil { // an api or gateway process: its PostgreSQL is shared
		c.Access = chat.SharedAccess(w.cfg.CacheTTL)
	}
	if w.cfg.TicketSecret != "" {
		c.TicketSecret = []byte(w.cfg.TicketSecret)
	}
	return c
}

func (m *Main) newGateway(w wiring, bus gateway.OpenBus) (*gateway.Gateway, error) {
	return gateway.New(gateway.Config{
		Chat: m.Chat, OpenBus: bus, Logger: w.log.With("component", "gateway"), Registerer: w.reg,
		AllowedOrigins: append([]string{slackLibraryOrigin}, w.cfg.AllowedOrigins...), MaxQueueBytes: w.cfg.SendQueueBytes,
		Limiter: w.tokens, ClientAddr: m.clientAddr,
		SendBufferBytes: w.cfg.SendBufferBytes, NoProgressTimeout: w.cfg.NoProgressTimeout,
		MaxConnsPerUser: w.cfg.MaxConnsPerUser, MaxConnsPerAddr: w.cfg.MaxConnsPerAddr,
		HandshakeRate: w.cfg.HandshakeRate, HandshakeBurst: w.cfg.HandshakeBurst,
	})
}

// mountAPI serves the Web API and the web client.
func (m *Main) mountAPI(w wiring) {
	w.mux.Handle("/api/", api.New(api.Config{
		Chat: m.Chat, Logger: w.log.With("component", "api"), Registerer: w.reg,
		RateLimit: rate.Limit(w.cfg.RateLimit), RateBurst: w.cfg.RateBurst, Tokens: w.tokens,
		AuthRateLimit: rate.Limit(w.cfg.AuthRateLimit), AuthRateBurst: w.cfg.AuthRateBurst,
		ClientAddr: m.clientAddr, Secure: m.clientTLS, SocketMode: w.socketMode,
	}))
	w.mux.Handle("/", web.Handler())
}

// Close shuts down gracefully: a gateway leaves its pocket's registry, the
// listener stops taking requests, requests in flight finish (so every
// acknowledged message is committed), WebSocket clients get goodbye, and
// the store is closed last. Calling it again returns the first call's
// result.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownGrace)
	defer cancel()
	if m.heartbeat != nil {
		if err := m.heartbeat.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("leave the pocket registry: %w", err))
		}
	}
	if m.server != nil {
		m.server.SetKeepAlivesEnabled(false)
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		if err := <-m.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if m.Events != nil {
		if err := m.Events.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("events shutdown: %w", err))
		}
	}
	if m.Gateway != nil {
		if err := m.Gateway.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("gateway shutdown: %w", err))
		}
	}
	for _, l := range m.loops {
		l.Stop()
	}
	if m.Chat != nil {
		m.Chat.Close() // stops retrying failed publications
	}
	for i := len(m.closers) - 1; i >= 0; i-- {
		if err := m.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	if m.store != nil {
		if err := m.store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
