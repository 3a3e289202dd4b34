package chat

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"time"

	"github.com/confab/confab"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
)

// Config configures a Service. Store and Bus are required.
type Config struct {
	Store  confab.Store
	Bus    confab.Publisher
	Logger *slog.Logger // nil: discard
	// Registerer receives the service's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// ClosedSignup refuses auth.signup into an existing workspace (creating
	// a new workspace stays allowed); operators add users with the admin CLI.
	ClosedSignup bool
	// PasswordCost is the bcrypt cost; 0: bcrypt.DefaultCost. Tests lower it.
	PasswordCost int
	// TicketSecret signs rtm.connect tickets. Every process that issues or
	// redeems tickets for the same gateways must share it; nil: random, which
	// is right for one process.
	TicketSecret []byte
	// TicketTTL is how long a ticket is valid; 0: 30 seconds.
	TicketTTL time.Duration
	// PublishTimeout bounds a publication after the commit; 0: 5 seconds.
	PublishTimeout time.Duration
	// Presence holds who is online; nil: in this process's memory, which is
	// right when one process runs every gateway.
	Presence confab.Presence
	// Gateways chooses the gateway of a new connection (the connection
	// balancer of rtm.connect); nil: this process serves WebSockets itself.
	Gateways confab.GatewayPicker
	// GatewayID names this process when it is a gateway: it redeems only
	// tickets issued for it. "" in a process that is its own gateway.
	GatewayID string
	// Access is the access cache's policy (cache.go), which whoever chose
	// the store chooses: ExactAccess() when every write to the store goes
	// through this Service (`confab serve` on its own SQLite file),
	// SharedAccess(ttl) when other processes write it too. nil:
	// SharedAccess(0), right anywhere, though slower on a store of one's
	// own.
	Access AccessPolicy
	// LoginThrottle limits failed logins per account (login.go); zero
	// values take its defaults.
	LoginThrottle LoginThrottle
}

// Service implements the use cases. Create it with New.
type Service struct {
	// immutable after construction
	store          confab.Store
	bus            confab.Publisher
	log            *slog.Logger
	now            func() time.Time
	closedSignup   bool
	passwordCost   int
	ticketSecret   []byte
	ticketTTL      time.Duration
	publishTimeout time.Duration
	metrics        metrics

	presence  confab.Presence
	gateways  confab.GatewayPicker
	gatewayID string
	tickets   ticketLedger
	pace      pacer // spreads rtm.connect's tickets (pace.go)
	republish republisher
	reads     coalescer    // shares identical history reads (coalesce.go)
	cache     *accessCache // tokens, channels, memberships (cache.go); store drops what it changes
	out       *outbox      // publishes after the commit, off the request (outbox.go)
	botUsers  botUsers     // which posters are bot users (apps.go)
	sched     scheduler    // posts scheduled messages (sched.go)

	// Login (login.go); immutable after construction.
	logins          *loginThrottle                    // failed logins per account
	claims          *loginThrottle                    // failed claims per account (claim.go)
	comparePassword func(hash, password []byte) error // bcrypt's; tests count the calls
	dummyHash       func() ([]byte, error)            // compared when there is no account
}

type metrics struct {
	posted         prometheus.Counter
	publishErrors  prometheus.Counter
	republished    prometheus.Counter
	publishDropped prometheus.Counter
	// scheduledDropped counts scheduled messages dropped at their post_at.
	scheduledDropped prometheus.Counter
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{
		store:          cfg.Store,
		bus:            cfg.Bus,
		log:            cfg.Logger,
		now:            cfg.Now,
		closedSignup:   cfg.ClosedSignup,
		passwordCost:   cfg.PasswordCost,
		ticketSecret:   cfg.TicketSecret,
		ticketTTL:      cfg.TicketTTL,
		publishTimeout: cfg.PublishTimeout,
		presence:       cfg.Presence,
		gateways:       cfg.Gateways,
		gatewayID:      cfg.GatewayID,
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.passwordCost == 0 {
		s.passwordCost = bcrypt.DefaultCost
	}
	if len(s.ticketSecret) == 0 {
		s.ticketSecret = make([]byte, 32)
		if _, err := rand.Read(s.ticketSecret); err != nil {
			panic("chat: crypto/rand failed: " + err.Error())
		}
	}
	if s.ticketTTL == 0 {
		s.ticketTTL = 30 * time.Second
	}
	if s.publishTimeout == 0 {
		s.publishTimeout = 5 * time.Second
	}
	if s.presence == nil {
		s.presence = NewMemoryPresence()
	}
	access := cfg.Access
	if access == nil {
		access = SharedAccess(0)
	}
	s.cache = newAccessCache(access, s.now)
	// Every write through s.store keeps the cache true (invalidate.go).
	s.store = &accessStore{Store: cfg.Store, cache: s.cache}
	s.out = newOutbox(s)
	s.republish.stop = make(chan struct{})
	s.tickets.used = map[string]int64{}
	s.initLogin(cfg.LoginThrottle)
	s.metrics = metrics{
		posted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_messages_posted_total", Help: "Messages durably stored by chat.postMessage or RTM.",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_publish_errors_total", Help: "Publications that failed after a commit (they are retried; readers also recover by catch-up).",
		}),
		republished: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_republished_total", Help: "Failed publications that went through on a retry.",
		}),
		publishDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_publish_dropped_total", Help: "Failed publications given up (too old or queue full); readers recover by catch-up.",
		}),
		scheduledDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_scheduled_dropped_total", Help: "Scheduled messages dropped at their post_at because their user could no longer post them there.",
		}),
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(s.metrics.posted, s.metrics.publishErrors, s.metrics.republished, s.metrics.publishDropped,
			s.metrics.scheduledDropped)
	}
	return s
}

// publish hands an event over to the outbox after its change committed. It
// never fails or delays the request: the change is saved, and a reader
// that misses the event sees a seq gap and catches up. A client hanging up
// after the commit does not suppress the event. Events of a channel's
// content (with a seq) go through a reservation instead (writeContent).
func (s *Service) publish(topic string, p confab.Publication) {
	s.out.push(topic, s.marshal(p))
}

// deliver publishes a plain frame on a topic.
func (s *Service) deliver(topic string, frame []byte) {
	s.publish(topic, confab.Publication{Op: confab.OpDeliver, Frame: frame})
}

// view builds the ChannelView of c for u, with a DM's other member.
func (s *Service) view(ctx context.Context, u *confab.User, c *confab.Channel, m *confab.Membership) (*confab.ChannelView, error) {
	v := &confab.ChannelView{Channel: c, Member: m}
	var err error
	if v.Other, err = s.dmOther(ctx, u, c); err != nil {
		return nil, err
	}
	return v, nil
}

// dmOther returns a DM's member other than u; "" for another kind.
func (s *Service) dmOther(ctx context.Context, u *confab.User, c *confab.Channel) (string, error) {
	if c.Kind != confab.KindDM {
		return "", nil
	}
	ids, err := s.store.FindMembers(ctx, confab.MemberFilter{ChannelID: c.ID, Limit: 2})
	if err != nil {
		return "", err
	}
	other := ""
	for _, id := range ids {
		if id != u.ID {
			other = id
		}
	}
	return other, nil
}

// clampLimit applies a list method's default and maximum.
func clampLimit(limit, def, max int) int {
	if limit <= 0 {
		return def
	}
	if limit > max {
		return max
	}
	return limit
}

// cut trims a list read with limit+1 rows to limit, and returns the cursor
// of the next page, made from the last item kept ("" when nothing is left).
func cut[T any](items []T, limit int, cursor func(last T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, cursor(items[limit-1])
}
