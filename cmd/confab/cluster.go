package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/gateway"
	"github.com/confab/confab/pocket"
	"github.com/confab/confab/redis"
	"github.com/confab/confab/store/postgres"
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

// wireAPI serves the Web API for every pocket: each event is published on
// its workspace's pocket's Redis, presence is read there, and rtm.connect
// picks a gateway from that pocket's registry, which this process watches
// for gateways that went.
func (m *Main) wireAPI(w wiring) error {
	pm := m.pockets
	buses := map[string]confab.Publisher{}
	registries := map[string]confab.GatewayRegistry{}
	presences := map[string]confab.Presence{}
	for i := range pm.Pockets {
		p := &pm.Pockets[i]
		bus, err := redis.Open(w.ctx, redis.Config{Addr: p.Redis, Prefix: pocketPrefix(p), Logger: w.log.With("component", "pubsub", "pocket", p.Name)})
		if err != nil {
			return fmt.Errorf("pocket %s: %w", p.Name, err)
		}
		m.closers = append(m.closers, bus.Close)
		client := redis.NewClient(p.Redis)
		m.closers = append(m.closers, client.Close)
		registry := redis.NewRegistry(redis.RegistryConfig{Client: client, Prefix: pocketPrefix(p)})
		dial := (&net.Dialer{Timeout: gatewayProbeEvery}).DialContext
		m.loops = append(m.loops, registry.StartWatch(gatewayProbeEvery, dial, w.log.With("pocket", p.Name)))
		buses[p.Name] = bus
		registries[p.Name] = registry
		presences[p.Name] = redis.NewPresence(redis.PresenceConfig{Client: client, Prefix: pocketPrefix(p), TTL: w.cfg.PresenceTTL})
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
		Gateways: pocket.NewPicker(router, registries),
	}))
	m.Chat.StartScheduler(schedulerInterval)
	m.mountAPI(w)
	return nil
}

// gatewayProbeEvery is how often an API process dials the gateways of
// each pocket to see which refuse (redis.Registry.Watch): a gateway
// killed without withdrawing is passed over this long after at most,
// rather than until its registry entry expires.
const gatewayProbeEvery = 500 * time.Millisecond

// wireGateway serves the WebSockets of one pocket: it listens on that
// pocket's Redis, holds presence there, and keeps itself in the pocket's
// registry with a heartbeat until it stops.
func (m *Main) wireGateway(w wiring) error {
	p := m.pockets.Named(w.cfg.Pocket)
	if p == nil {
		return fmt.Errorf("pocket %q is not in %s", w.cfg.Pocket, w.cfg.Pockets)
	}
	id := w.cfg.GatewayID
	if id == "" {
		id = w.cfg.PublicURL
	}
	busConfig := redis.Config{Addr: p.Redis, Prefix: pocketPrefix(p), Logger: w.log.With("component", "pubsub")}
	// The service publishes on an instance of its own; the gateway opens
	// its own with its handler.
	bus, err := redis.Open(w.ctx, busConfig)
	if err != nil {
		return fmt.Errorf("pocket %s: %w", p.Name, err)
	}
	m.closers = append(m.closers, bus.Close)
	client := redis.NewClient(p.Redis)
	m.closers = append(m.closers, client.Close)
	registry := redis.NewRegistry(redis.RegistryConfig{Client: client, Prefix: pocketPrefix(p)})
	presence := redis.NewPresence(redis.PresenceConfig{Client: client, Prefix: pocketPrefix(p), GatewayID: id, TTL: w.cfg.PresenceTTL})
	m.Chat = chat.New(m.chatConfig(w, chat.Config{Bus: bus, Presence: presence, GatewayID: id}))
	m.Gateway, err = m.newGateway(w, func(h func(topic string, payload []byte)) (gateway.Bus, error) {
		c := busConfig
		c.Handler = h
		return redis.Open(w.ctx, c)
	})
	if err != nil {
		return fmt.Errorf("pocket %s: %w", p.Name, err)
	}
	w.mux.Handle("/rtm/", m.Gateway)

	m.heartbeat = redis.StartHeartbeat(redis.HeartbeatConfig{
		Registry: registry, Presence: presence,
		Gateway: confab.Gateway{ID: id, URL: w.cfg.PublicURL}, Conns: m.Gateway.Conns,
		Changed: m.Chat.AnnouncePresence,
		Logger:  w.log.With("gateway", id, "pocket", p.Name),
	})
	return nil
}
