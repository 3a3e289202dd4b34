package events

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
	"github.com/prometheus/client_golang/prometheus"
)

// Bus is what the manager needs of its bus instance.
type Bus interface {
	Subscribe(ctx context.Context, topics ...string) error
	Unsubscribe(ctx context.Context, topics ...string) error
	Close() error
}

// Tickets redeems Socket Mode tickets (chat.Service).
type Tickets interface {
	RedeemSocket(ctx context.Context, ticket string) (*chat.Admission, *confab.Bot, error)
	CheckAdmission(ctx context.Context, a *chat.Admission) error
}

// Defaults of Config.
const (
	DefaultAckTimeout      = 3 * time.Second
	DefaultPingInterval    = 10 * time.Second
	DefaultSaveInterval    = 100 * time.Millisecond
	DefaultPollInterval    = 5 * time.Second
	DefaultLogPollInterval = time.Second
	DefaultScanInterval    = time.Second
	DefaultWindow          = 1000
	DefaultMaxConnections  = 10
	DefaultRetention       = 7 * 24 * time.Hour
	DefaultTick            = 50 * time.Millisecond
)

// Config configures a Manager. Zero values take the defaults above.
type Config struct {
	Store   confab.Store
	Tickets Tickets
	// OpenBus opens the manager's bus instance with its handler: it
	// subscribes to the channels of the apps' bots and to the bots' user
	// topics.
	OpenBus func(handler func(topic string, payload []byte)) (Bus, error)
	// Owns tells whether this process delivers an app's events (in a
	// cluster, the gateway that owns it, confab.OwnerOf); nil: every app.
	// A dispatcher whose app it no longer owns says disconnect to the
	// app's connections and stops, within a PollInterval.
	Owns       func(ctx context.Context, app *confab.App) (bool, error)
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// AckTimeout is how long an event waits for its acknowledgement before
	// it is sent again, with retry_attempt one more.
	AckTimeout time.Duration
	// PingInterval is how often a Socket Mode connection is pinged: Slack's
	// clients reconnect when no ping came for 30 s.
	PingInterval time.Duration
	// SaveInterval bounds how often an app's positions are written: what
	// a process that dies delivers again.
	SaveInterval time.Duration
	// PollInterval is how often each app reads its app, its bot's
	// memberships and every channel's changes even without news on the
	// bus: a safety net for a publication lost on the way.
	PollInterval time.Duration
	// LogPollInterval is how often each app reads its workspace's event
	// log without news on the bus (a channel it is not in has no topic it
	// follows).
	LogPollInterval time.Duration
	// ScanInterval is how often the process looks for new apps.
	ScanInterval time.Duration
	// Window bounds the events of one app handed out and not yet
	// acknowledged.
	Window int
	// MaxConnections bounds an app's Socket Mode connections (Slack: 10).
	MaxConnections int
	// Retention is how far back an app that was away catches up: it
	// starts no earlier than the changes of the last Retention. <0: no
	// limit.
	Retention time.Duration
	// Tick is how often each app's dispatcher checks for retries and
	// positions to save.
	Tick time.Duration
	// Webhook sends the Events API's requests; nil: NewWebhook's default.
	Webhook *Webhook
	// HTTPWorkers is how many requests to its URL an app has on their way
	// at once.
	HTTPWorkers int
	// RetrySchedule is the wait before each new attempt at a failed HTTP
	// delivery or url_verification; nil: SlackRetries.
	RetrySchedule RetrySchedule
	// StoreTimeout bounds one step's store reads.
	StoreTimeout time.Duration
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&c.AckTimeout, DefaultAckTimeout)
	set(&c.PingInterval, DefaultPingInterval)
	set(&c.SaveInterval, DefaultSaveInterval)
	set(&c.PollInterval, DefaultPollInterval)
	set(&c.LogPollInterval, DefaultLogPollInterval)
	set(&c.ScanInterval, DefaultScanInterval)
	set(&c.Retention, DefaultRetention)
	set(&c.Tick, DefaultTick)
	set(&c.StoreTimeout, 10*time.Second)
	if c.Webhook == nil {
		c.Webhook = NewWebhook(WebhookConfig{})
	}
	if c.HTTPWorkers <= 0 {
		c.HTTPWorkers = 4
	}
	if c.RetrySchedule == nil {
		c.RetrySchedule = SlackRetries
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Manager delivers the events of the apps installed on this process's
// store: one dispatcher per app that has somewhere to deliver to, fed by
// the bus and by a poll. It serves the apps' Socket Mode connections
// (ServeHTTP).
type Manager struct {
	cfg     Config
	hook    *Webhook
	log     *slog.Logger
	bus     Bus
	metrics *metrics

	mu        sync.Mutex
	apps      map[string]*dispatcher          // by app id, guarded by mu
	byChannel map[string]map[*dispatcher]bool // channel id → apps whose bot is in it, guarded by mu
	byUser    map[string]*dispatcher          // bot user id → its app, guarded by mu
	closed    bool                            // guarded by mu

	bots sync.Map // user id → *confab.Bot (nil: a person)

	stop chan struct{}
	wg   sync.WaitGroup
}

// New starts a Manager: it opens its bus instance and starts a dispatcher
// for each installed app, then looks for new apps every PollInterval.
func New(cfg Config) (*Manager, error) {
	cfg.setDefaults()
	m := &Manager{
		cfg: cfg, hook: cfg.Webhook, log: cfg.Logger, metrics: newMetrics(cfg.Registerer),
		apps: map[string]*dispatcher{}, byChannel: map[string]map[*dispatcher]bool{}, byUser: map[string]*dispatcher{},
		stop: make(chan struct{}),
	}
	bus, err := cfg.OpenBus(m.handle)
	if err != nil {
		return nil, err
	}
	m.bus = bus
	m.wg.Add(1)
	go m.scan()
	return m, nil
}

func (m *Manager) now() time.Time { return m.cfg.Now() }

// scan starts a dispatcher for every installed app, now and every
// ScanInterval (a dispatcher stops by itself when its app is deleted).
func (m *Manager) scan() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.ScanInterval)
	defer t.Stop()
	for {
		if err := m.scanOnce(); err != nil {
			m.log.Warn("apps not listed", "err", err)
		}
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

func (m *Manager) scanOnce() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.StoreTimeout)
	defer cancel()
	for after := ""; ; {
		apps, err := m.cfg.Store.FindApps(ctx, confab.AppFilter{AfterID: after, Limit: 500})
		if err != nil || len(apps) == 0 {
			return err
		}
		for _, a := range apps {
			after = a.ID
			if ok, err := m.owns(ctx, a); err != nil {
				return err
			} else if ok {
				m.dispatcher(a.ID)
			}
		}
	}
}

// owns tells whether this process delivers app's events.
func (m *Manager) owns(ctx context.Context, a *confab.App) (bool, error) {
	if m.cfg.Owns == nil {
		return true, nil
	}
	return m.cfg.Owns(ctx, a)
}

// dispatcher returns the app's dispatcher, started if need be; nil once
// the manager is closed.
func (m *Manager) dispatcher(appID string) *dispatcher {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	d := m.apps[appID]
	if d == nil {
		d = newDispatcher(m, appID)
		m.apps[appID] = d
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			d.run()
		}()
	}
	return d
}

// forget stops following an app (deleted): its connections are closed.
func (m *Manager) forget(d *dispatcher) {
	m.mu.Lock()
	if m.apps[d.appID] == d {
		delete(m.apps, d.appID)
	}
	var topics []string
	for id, ds := range m.byChannel {
		if ds[d] {
			delete(ds, d)
			if len(ds) == 0 {
				delete(m.byChannel, id)
				topics = append(topics, id)
			}
		}
	}
	for u, o := range m.byUser {
		if o == d {
			delete(m.byUser, u)
		}
	}
	m.mu.Unlock()
	d.closeConns("app_deleted")
	if len(topics) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.StoreTimeout)
		defer cancel()
		ws := ""
		if d.target != nil {
			ws = d.target.app.WorkspaceID
		}
		for _, id := range topics {
			if err := m.bus.Unsubscribe(ctx, confab.ChannelTopic(ws, id)); err != nil {
				m.log.Warn("unsubscribe failed", "channel", id, "err", err)
			}
		}
	}
	d.halt()
}

// bindUser routes the bot user's topic to d: joins, leaves and revoked
// tokens.
func (m *Manager) bindUser(d *dispatcher, workspaceID, userID string) {
	m.mu.Lock()
	m.byUser[userID] = d
	m.mu.Unlock()
	m.subscribe(confab.UserTopic(workspaceID, userID))
}

// watch routes a channel's topic to d.
func (m *Manager) watch(d *dispatcher, channelID string) {
	m.mu.Lock()
	ds := m.byChannel[channelID]
	first := ds == nil
	if first {
		ds = map[*dispatcher]bool{}
		m.byChannel[channelID] = ds
	}
	ds[d] = true
	m.mu.Unlock()
	if first {
		m.subscribe(confab.ChannelTopic(d.target.app.WorkspaceID, channelID))
	}
}

// unwatch stops routing a channel's topic to d.
func (m *Manager) unwatch(d *dispatcher, channelID string) {
	m.mu.Lock()
	ds := m.byChannel[channelID]
	delete(ds, d)
	last := ds != nil && len(ds) == 0
	if last {
		delete(m.byChannel, channelID)
	}
	m.mu.Unlock()
	if last {
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.StoreTimeout)
		defer cancel()
		if err := m.bus.Unsubscribe(ctx, confab.ChannelTopic(d.target.app.WorkspaceID, channelID)); err != nil {
			m.log.Warn("unsubscribe failed", "channel", channelID, "err", err)
		}
	}
}

func (m *Manager) subscribe(topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.StoreTimeout)
	defer cancel()
	if err := m.bus.Subscribe(ctx, topic); err != nil && !errors.Is(err, confab.ErrBusClosed) {
		// The poll still finds the news, PollInterval later.
		m.log.Warn("subscribe failed", "topic", topic, "err", err)
	}
}

// handle is the bus handler: it only hands frames over and wakes.
func (m *Manager) handle(topic string, payload []byte) {
	_, kind, id, ok := confab.ParseTopic(topic)
	if !ok {
		return
	}
	switch kind {
	case confab.TopicChannel:
		var frame []byte
		if p, err := confab.UnmarshalPublication(payload); err == nil && p.Op == confab.OpDeliver {
			frame = p.Frame
		}
		m.mu.Lock()
		for d := range m.byChannel[id] {
			d.published(id, frame)
		}
		m.mu.Unlock()
	case confab.TopicUser:
		m.mu.Lock()
		d := m.byUser[id]
		m.mu.Unlock()
		if d == nil {
			return
		}
		p, err := confab.UnmarshalPublication(payload)
		if err != nil {
			return
		}
		switch p.Op {
		case confab.OpJoin, confab.OpLeave:
			d.membersChanged()
		case confab.OpRevoke:
			d.revoke(p.Session)
		}
	}
}

// withBots fills in the bot of each message posted by a bot user. Whether
// a user is a bot never changes; a bot's name may, and is read again
// after a PollInterval.
func (m *Manager) withBots(ctx context.Context, changes []confab.Change) error {
	var unknown []string
	for _, c := range changes {
		if c.Message == nil {
			continue
		}
		if _, ok := m.bots.Load(c.Message.UserID); !ok {
			unknown = append(unknown, c.Message.UserID)
		}
	}
	if len(unknown) > 0 {
		bots, err := m.cfg.Store.FindBots(ctx, confab.BotFilter{UserIDs: unknown})
		if err != nil {
			return err
		}
		found := map[string]*confab.Bot{}
		for _, b := range bots {
			found[b.UserID] = b
		}
		for _, u := range unknown {
			m.bots.Store(u, found[u])
		}
	}
	for _, c := range changes {
		if c.Message == nil {
			continue
		}
		if v, _ := m.bots.Load(c.Message.UserID); v != nil {
			c.Message.Bot = v.(*confab.Bot)
		}
	}
	return nil
}

// Close says goodbye to every Socket Mode connection (Slack's disconnect
// "warning", then "refresh_requested", so that clients reconnect
// elsewhere at once), stops the dispatchers, which save their positions,
// and closes the bus instance.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	ds := make([]*dispatcher, 0, len(m.apps))
	for _, d := range m.apps {
		ds = append(ds, d)
	}
	m.mu.Unlock()
	close(m.stop)
	for _, d := range ds {
		d.disconnect()
	}
	for _, d := range ds {
		d.halt()
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if berr := m.bus.Close(); berr != nil && !errors.Is(berr, confab.ErrBusClosed) && err == nil {
		err = berr
	}
	return err
}
