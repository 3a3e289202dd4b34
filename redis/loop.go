package redis

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/confab/confab"
)

// Loop is a background goroutine of this package (a gateway's heartbeat,
// an API process's watch over a registry). Stop ends it and waits for it.
type Loop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func startLoop(run func(ctx context.Context)) *Loop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loop{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		run(ctx)
	}()
	return l
}

// Stop ends the loop and returns once its goroutine has returned. It may
// be called more than once.
func (l *Loop) Stop() {
	l.cancel()
	<-l.done
}

// StartWatch runs Watch in its own goroutine until the Loop is stopped,
// logging failed probes at debug level.
func (r *Registry) StartWatch(interval time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error), log *slog.Logger) *Loop {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return startLoop(func(ctx context.Context) {
		r.Watch(ctx, interval, dial, func(err error) { log.Debug("gateway probe failed", "err", err) })
	})
}

// HeartbeatConfig configures a gateway's Heartbeat.
type HeartbeatConfig struct {
	// Registry and Presence are the gateway's pocket's. Required.
	Registry *Registry
	Presence *Presence
	// Gateway is the gateway as it announces itself (ID and URL); its
	// Conns are read from Conns at each beat. Required.
	Gateway confab.Gateway
	Conns   func() int
	// Changed receives each flip of presence a beat finds (holds lost and
	// restored, the users of a dead gateway reaped): the caller publishes
	// presence_change for it. Required.
	Changed func(ctx context.Context, c confab.PresenceChange)
	// Logger defaults to a discard logger.
	Logger *slog.Logger
}

// Heartbeat keeps a gateway in its pocket. Each beat announces the gateway
// in the registry with its connection count, renews its users' presence
// holds, and reaps the users of gateways that died; it beats every third
// of the shorter of the registry's and the presence's TTLs, so three beats
// fit in either.
type Heartbeat struct {
	// immutable after StartHeartbeat
	cfg   HeartbeatConfig
	every time.Duration
	loop  *Loop
}

// StartHeartbeat beats once at once, then every period, until Stop.
func StartHeartbeat(cfg HeartbeatConfig) *Heartbeat {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Heartbeat{cfg: cfg, every: min(cfg.Registry.TTL(), cfg.Presence.TTL()) / 3}
	h.loop = startLoop(h.run)
	return h
}

func (h *Heartbeat) run(ctx context.Context) {
	tick := time.NewTicker(h.every)
	defer tick.Stop()
	for {
		h.beat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// beat is one heartbeat, bounded by the period.
func (h *Heartbeat) beat(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, h.every)
	defer cancel()
	log := h.cfg.Logger
	gw := h.cfg.Gateway
	gw.Conns = h.cfg.Conns()
	if err := h.cfg.Registry.Announce(ctx, gw); err != nil {
		log.Warn("registry heartbeat failed", "err", err)
	}
	back, err := h.cfg.Presence.Heartbeat(ctx)
	if err != nil {
		log.Warn("presence heartbeat failed", "err", err)
	}
	gone, err := h.cfg.Presence.Reap(ctx)
	if err != nil {
		log.Warn("presence reaping failed", "err", err)
	}
	for _, c := range append(back, gone...) {
		h.cfg.Changed(ctx, c)
	}
}

// Stop ends the heartbeat and waits for it, then withdraws the gateway
// from the registry, so that rtm.connect sends no new client to it and no
// beat announces it again. A gateway calls it first when it shuts down.
func (h *Heartbeat) Stop(ctx context.Context) error {
	h.loop.Stop()
	return h.cfg.Registry.Withdraw(ctx, h.cfg.Gateway.ID)
}
