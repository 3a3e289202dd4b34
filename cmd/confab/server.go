package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/gateway"
	"github.com/confab/confab/pubsub/memory"
	"github.com/confab/confab/store/sqlite"
	"github.com/confab/confab/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"
)

// Main is one confab process and everything it runs. Tests build it with
// NewMain, set Config, and call Run and Close, skipping flag parsing.
type Main struct {
	Config Config
	Logger *slog.Logger

	// WrapStore, when set, wraps the store the service uses (tests inject
	// failures through it).
	WrapStore func(chat.Store) chat.Store

	db       *sqlite.DB
	bus      *memory.PubSub
	Chat     *chat.Service
	Gateway  *gateway.Gateway
	server   *http.Server
	listener net.Listener
	served   chan error

	closeOnce sync.Once
	closeErr  error
}

// slackLibraryOrigin is the Origin that Slack's RTM client libraries
// (slack-go, python-slackclient) send on their WebSocket handshake. No
// browser page of ours is served from it, and a browser cannot forge it, so
// accepting it lets those libraries in without opening the gateway to
// other sites' pages.
const slackLibraryOrigin = "https://api.slack.com"

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Config: DefaultConfig()}
}

// Addr is the address the server listens on, once Run returned.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// URL is the server's base URL.
func (m *Main) URL() string { return "http://" + m.Addr() }

// Run opens the store, wires the service, the API and the gateway, and
// starts serving. It returns once the listener is open.
func (m *Main) Run(ctx context.Context) (err error) {
	cfg := m.Config
	if m.Logger == nil {
		m.Logger = newLogger(cfg)
	}
	log := m.Logger
	defer func() {
		if err != nil {
			m.Close()
		}
	}()

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	m.db, err = sqlite.Open(ctx, sqlite.Config{
		Path: filepath.Join(cfg.DataDir, "confab.db"), Sync: cfg.SQLiteSync, Logger: log.With("component", "store"),
	})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	var store chat.Store = m.db
	if m.WrapStore != nil {
		store = m.WrapStore(store)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	broker := memory.NewBroker()
	m.bus = broker.Open(memory.Config{
		Handler: func(topic string, payload []byte) { m.Gateway.HandlePublication(topic, payload) },
		Logger:  log.With("component", "pubsub"),
	})
	m.Chat = chat.New(chat.Config{
		Store: store, Bus: m.bus, Logger: log.With("component", "chat"), Registerer: reg,
		ClosedSignup: cfg.ClosedSignup, PasswordCost: cfg.PasswordCost,
	})
	m.Gateway = gateway.New(gateway.Config{
		Chat: m.Chat, Bus: m.bus, Logger: log.With("component", "gateway"), Registerer: reg,
		AllowedOrigins: append([]string{slackLibraryOrigin}, cfg.AllowedOrigins...), MaxQueueBytes: cfg.SendQueueBytes,
	})
	apiServer := api.New(api.Config{
		Chat: m.Chat, Logger: log.With("component", "api"), Registerer: reg,
		RateLimit: rate.Limit(cfg.RateLimit), RateBurst: cfg.RateBurst,
		AuthRateLimit: rate.Limit(cfg.AuthRateLimit), AuthRateBurst: 20,
	})

	mux := http.NewServeMux()
	mux.Handle("/api/", apiServer)
	mux.Handle("/rtm/", m.Gateway)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", m.healthz)
	mux.Handle("/", web.Handler())

	m.listener, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(m.listener) }()
	log.Info("confab serving", "addr", m.Addr(), "data", cfg.DataDir)
	return nil
}

// healthz answers 200 while the store answers, 503 otherwise.
func (m *Main) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if err := m.db.Ping(ctx); err != nil {
		m.Logger.Warn("health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"ok":false,"error":"store_unavailable"}`)
		return
	}
	fmt.Fprint(w, `{"ok":true}`)
}

// Close shuts down gracefully: the listener stops taking requests, requests
// in flight finish (so every acknowledged message is committed), WebSocket
// clients get goodbye, and the store is closed last. Calling it again
// returns the first call's result.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownGrace)
	defer cancel()
	if m.server != nil {
		m.server.SetKeepAlivesEnabled(false)
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		if err := <-m.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if m.Gateway != nil {
		if err := m.Gateway.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("gateway shutdown: %w", err))
		}
	}
	if m.bus != nil {
		if err := m.bus.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if m.db != nil {
		if err := m.db.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
