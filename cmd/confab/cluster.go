package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/events"
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
	// apps.connections.open sends an app's connections to the gateway
	// that delivers its events.
	w.socketMode = true
	m.mountAPI(w)
	return nil
}

// appOwners tells a gateway which apps it delivers: those of its pocket
// that it owns among the pocket's live gateways (confab.OwnerOf), the
// same choice as the API's apps.connections.open (pocket.Picker).
type appOwners struct {
	registry confab.GatewayRegistry
	self     string
	pocket   string
	pockets  *pocket.Map
	store    confab.Store

	mu          sync.Mutex
	live        []confab.Gateway // guarded by mu
	read        time.Time        // when live was read, guarded by mu
	ofWorkspace sync.Map         // workspace id → pocket name
}

// liveEvery bounds how stale an owner's view of the live gateways is;
// liveAgain how stale it may be when it says another gateway owns an app.
const (
	liveEvery = time.Second
	liveAgain = 100 * time.Millisecond
)

func (o *appOwners) owns(ctx context.Context, a *confab.App) (bool, error) {
	name, ok := o.ofWorkspace.Load(a.WorkspaceID)
	if !ok {
		ws, err := o.store.FindWorkspaceByID(ctx, a.WorkspaceID)
		if err != nil {
			return false, err
		}
		name = o.pockets.For(ws.ID, ws.Domain).Name
		o.ofWorkspace.Store(a.WorkspaceID, name)
	}
	if name != o.pocket {
		return false, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for fresh := false; ; fresh = true {
		if age := time.Since(o.read); age > liveEvery || fresh && age > liveAgain {
			live, err := o.registry.Live(ctx)
			if err != nil {
				return false, err
			}
			o.live, o.read = live, time.Now()
		}
		owner, ok := confab.OwnerOf(o.live, a.ID)
		if ok && owner.ID == o.self || fresh {
			return ok && owner.ID == o.self, nil
		}
		// Not ours as of up to a second ago: ask again before letting the
		// app go, so that a gateway does not hand off an app the API has
		// just sent it, on an older view than the API's.
	}
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

	// Apps' events: each app of the pocket is delivered by the gateway
	// that owns it among the live ones, where apps.connections.open sends
	// its Socket Mode connections.
	owners := &appOwners{registry: registry, self: id, pocket: p.Name, pockets: m.pockets, store: w.store}
	ecfg := events.Config{
		Store: w.store, Tickets: m.Chat, Logger: w.log.With("component", "events"), Registerer: w.reg,
		OpenBus: func(h func(topic string, payload []byte)) (events.Bus, error) {
			c := busConfig
			c.Handler = h
			return redis.Open(w.ctx, c)
		},
		Owns: owners.owns,
	}
	if m.TuneEvents != nil {
		m.TuneEvents(&ecfg)
	}
	if m.Events, err = events.New(ecfg); err != nil {
		return fmt.Errorf("pocket %s: %w", p.Name, err)
	}
	w.mux.Handle(events.SocketPath, m.Events)

	m.heartbeat = redis.StartHeartbeat(redis.HeartbeatConfig{
		Registry: registry, Presence: presence,
		Gateway: confab.Gateway{ID: id, URL: w.cfg.PublicURL}, Conns: m.Gateway.Conns,
		Changed: m.Chat.AnnouncePresence,
		Logger:  w.log.With("gateway", id, "pocket", p.Name),
	})
	return nil
}
