package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/pocket"
	"github.com/confab/confab/pubsub/redis"
	"github.com/confab/confab/store/postgres"
	goredis "github.com/redis/go-redis/v9"
)

// pocketPrefix namespaces a pocket's keys and channels in its Redis, so
// that pockets may share one Redis server in small set-ups.
func pocketPrefix(p *pocket.Pocket) string { return "confab:" + p.Name + ":" }

// openPocketStore returns dir itself unless a pocket of the pocket file has
// its own PostgreSQL. Then it opens those databases (an API process every
// one, a gateway only its own pocket's) and returns a pocket.Store over the
// directory, dir, and them; the store owns and closes them all.
func (m *Main) openPocketStore(ctx context.Context, log *slog.Logger, dir *postgres.DB) (_ store, err error) {
	pm := m.pockets
	pockets := map[string]pocket.DB{}
	defer func() {
		if err != nil {
			for _, db := range pockets {
				if db != nil {
					db.Close()
				}
			}
			dir.Close()
		}
	}()
	for _, p := range pm.Pockets {
		switch {
		case p.Postgres == "":
			continue
		case p.Postgres == m.Config.Postgres:
			// The copies of its workspaces would collide with the originals.
			return nil, fmt.Errorf("pocket %s names the main PostgreSQL (-postgres) as its own: leave its postgres unset", p.Name)
		case m.Role == roleGateway && p.Name != m.Config.Pocket:
			pockets[p.Name] = nil // not this gateway's: not open here
			continue
		}
		db, err := postgres.Open(ctx, postgres.Config{DSN: p.Postgres, Logger: log.With("component", "store", "pocket", p.Name)})
		if err != nil {
			return nil, fmt.Errorf("open the database of pocket %s: %w", p.Name, err)
		}
		pockets[p.Name] = db
	}
	if len(pockets) == 0 {
		return dir, nil
	}
	s, err := pocket.NewStore(pocket.StoreConfig{
		Directory: dir, Pockets: pockets, Logger: log.With("component", "store"),
		PocketOf: func(workspaceID, domain string) string { return pm.For(workspaceID, domain).Name },
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// newRedisClient is a client for a pocket's own keys (registry, presence).
func (m *Main) newRedisClient(p *pocket.Pocket) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{
		Addr: p.Redis, Protocol: 2, DialTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, ContextTimeoutEnabled: true,
	})
	m.closers = append(m.closers, c.Close)
	return c
}

// wireAPI serves the Web API for every pocket: each event is published on
// its workspace's pocket's Redis, presence is read there, and rtm.connect
// picks a gateway from that pocket's registry.
func (m *Main) wireAPI(w wiring, loops context.Context) error {
	pm := m.pockets
	buses := map[string]confab.Publisher{}
	registries := map[string]*pocket.Registry{}
	pickFrom := map[string]confab.GatewayRegistry{}
	presences := map[string]confab.Presence{}
	for i := range pm.Pockets {
		p := &pm.Pockets[i]
		bus, err := redis.Open(w.ctx, redis.Config{Addr: p.Redis, Prefix: pocketPrefix(p), Logger: w.log.With("component", "pubsub", "pocket", p.Name)})
		if err != nil {
			return fmt.Errorf("pocket %s: %w", p.Name, err)
		}
		m.closers = append(m.closers, bus.Close)
		client := m.newRedisClient(p)
		buses[p.Name] = bus
		registries[p.Name] = pocket.NewRegistry(pocket.RegistryConfig{Client: client, Prefix: pocketPrefix(p)})
		pickFrom[p.Name] = registries[p.Name]
		presences[p.Name] = pocket.NewPresence(pocket.PresenceConfig{Client: client, Prefix: pocketPrefix(p), TTL: w.cfg.PresenceTTL})
	}
	router, err := pocket.NewRouter(pocket.RouterConfig{Map: pm, Buses: buses, Domain: func(ctx context.Context, id string) (string, error) {
		ws, err := w.store.FindWorkspaceByID(ctx, id)
		if err != nil {
			return "", err
		}
		return ws.Domain, nil
	}})
	if err != nil {
		return err
	}
	m.Chat = chat.New(m.chatConfig(w, chat.Config{
		Bus:      router,
		Presence: pocket.NewPresenceRouter(router, presences),
		Gateways: pocket.NewPicker(router, pickFrom),
	}))
	m.mountAPI(w)
	for name, r := range registries {
		m.probeGateways(loops, w.log.With("pocket", name), r)
	}
	return nil
}

// gatewayProbeEvery is how often an API process dials the gateways of
// each pocket to see which refuse (pocket.Registry.Probe): a gateway
// killed without withdrawing is passed over this long after at most,
// rather than until its registry entry expires.
const gatewayProbeEvery = 500 * time.Millisecond

// probeGateways probes r's gateways every gatewayProbeEvery, and at once
// when rtm.connect calls come in a herd (pocket.Registry.Watch), until
// loops ends.
func (m *Main) probeGateways(loops context.Context, log *slog.Logger, r *pocket.Registry) {
	dial := (&net.Dialer{Timeout: gatewayProbeEvery}).DialContext
	m.loops.Add(1)
	go func() {
		defer m.loops.Done()
		r.Watch(loops, gatewayProbeEvery, dial, func(err error) { log.Debug("gateway probe failed", "err", err) })
	}()
}

// wireGateway serves the WebSockets of one pocket: it listens on that
// pocket's Redis, holds presence there, and announces itself in the
// pocket's registry until it stops.
func (m *Main) wireGateway(w wiring, loops context.Context) error {
	p := m.pockets.Named(w.cfg.Pocket)
	if p == nil {
		return fmt.Errorf("pocket %q is not in %s", w.cfg.Pocket, w.cfg.Pockets)
	}
	id := w.cfg.GatewayID
	if id == "" {
		id = w.cfg.PublicURL
	}
	bus, err := redis.Open(w.ctx, redis.Config{
		Addr: p.Redis, Prefix: pocketPrefix(p), Logger: w.log.With("component", "pubsub"),
		Handler: func(topic string, payload []byte) { m.Gateway.HandlePublication(topic, payload) },
	})
	if err != nil {
		return fmt.Errorf("pocket %s: %w", p.Name, err)
	}
	m.closers = append(m.closers, bus.Close)
	client := m.newRedisClient(p)
	registry := pocket.NewRegistry(pocket.RegistryConfig{Client: client, Prefix: pocketPrefix(p)})
	presence := pocket.NewPresence(pocket.PresenceConfig{Client: client, Prefix: pocketPrefix(p), GatewayID: id, TTL: w.cfg.PresenceTTL})
	m.Chat = chat.New(m.chatConfig(w, chat.Config{Bus: bus, Presence: presence, GatewayID: id}))
	m.Gateway = m.newGateway(w, bus)
	w.mux.Handle("/rtm/", m.Gateway)

	log := w.log.With("gateway", id, "pocket", p.Name)
	// One beat renews the registry entry and the users' presence, and reaps
	// the presence of gateways that died: three beats fit in either TTL.
	heartbeatEvery := min(registry.TTL(), presence.TTL()) / 3
	m.withdraw = func(ctx context.Context) error { return registry.Withdraw(ctx, id) }
	m.loops.Add(1)
	go func() {
		defer m.loops.Done()
		tick := time.NewTicker(heartbeatEvery)
		defer tick.Stop()
		for {
			ctx, cancel := context.WithTimeout(loops, heartbeatEvery)
			if err := registry.Announce(ctx, confab.Gateway{ID: id, URL: w.cfg.PublicURL, Conns: m.Gateway.Conns()}); err != nil {
				log.Warn("registry heartbeat failed", "err", err)
			}
			back, err := presence.Heartbeat(ctx)
			if err != nil {
				log.Warn("presence heartbeat failed", "err", err)
			}
			gone, err := presence.Reap(ctx)
			if err != nil {
				log.Warn("presence reaping failed", "err", err)
			}
			for _, c := range append(back, gone...) {
				m.Chat.AnnouncePresence(ctx, &confab.User{ID: c.UserID, WorkspaceID: c.WorkspaceID}, c.Presence)
			}
			cancel()
			select {
			case <-loops.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return nil
}
