package redis_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/redis"
	goredis "github.com/redis/go-redis/v9"
)

var (
	_ confab.Presence        = (*redis.Presence)(nil)
	_ confab.GatewayRegistry = (*redis.Registry)(nil)
)

const (
	active = confab.PresenceActive
	away   = confab.PresenceAway
)

// presences is one pocket's Redis seen by several processes.
type presences struct {
	client *goredis.Client
	prefix string
	clock  *clock
}

func newPresences(t *testing.T) *presences {
	return &presences{client: mustClient(t), prefix: uniquePrefix(t), clock: newClock()}
}

// open returns the Presence of a gateway, or of an API process for "".
func (ps *presences) open(gatewayID string) *redis.Presence {
	return redis.NewPresence(redis.PresenceConfig{
		Client: ps.client, Prefix: ps.prefix, GatewayID: gatewayID, Now: ps.clock.Now,
	})
}

func user(id string) *confab.User { return &confab.User{ID: id, WorkspaceID: "T1"} }

type update func(context.Context, *confab.User) (string, bool, error)

// mustUpdate runs an update and checks what it returns.
func mustUpdate(tb testing.TB, name string, f update, u *confab.User, want string, wantChanged bool) {
	tb.Helper()
	got, changed, err := f(context.Background(), u)
	if err != nil {
		tb.Fatalf("%s(%s): %v", name, u.ID, err)
	}
	if got != want || changed != wantChanged {
		tb.Fatalf("%s(%s) = %q, changed %v; want %q, changed %v", name, u.ID, got, changed, want, wantChanged)
	}
}

func mustGet(tb testing.TB, p *redis.Presence, u *confab.User, want string) {
	tb.Helper()
	got, err := p.Get(context.Background(), u)
	if err != nil || got != want {
		tb.Fatalf("Get(%s) = %q, %v; want %q", u.ID, got, err, want)
	}
}

func setAway(p *redis.Presence, away bool) update {
	return func(ctx context.Context, u *confab.User) (string, bool, error) { return p.SetAway(ctx, u, away) }
}

// Active reads many users at once and tells the truth as Get does: a
// connection on any gateway counts, away by hand does not, nor an expired
// hold; the order asked is kept, across batches.
func TestPresenceActive(t *testing.T) {
	ctx := context.Background()
	ps := newPresences(t)
	gw1, gw2, api := ps.open("gw1"), ps.open("gw2"), ps.open("")
	var ids, want []string
	for i := range 600 {
		u := user(fmt.Sprintf("U%04d", i))
		ids = append(ids, u.ID)
		switch i % 4 {
		case 0:
			mustUpdate(t, "gw1.Connected", gw1.Connected, u, active, true)
			want = append(want, u.ID)
		case 1:
			mustUpdate(t, "gw2.Connected", gw2.Connected, u, active, true)
			mustUpdate(t, "SetAway", setAway(api, true), u, away, true)
		case 2:
			mustUpdate(t, "gw2.Connected", gw2.Connected, u, active, true)
			want = append(want, u.ID)
		}
	}
	got, err := api.Active(ctx, "T1", ids)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Active = %d users, %v; want %d", len(got), err, len(want))
	}
	if got, err := api.Active(ctx, "T2", ids[:4]); err != nil || len(got) != 0 {
		t.Fatalf("Active in another workspace = %v, %v; want none", got, err)
	}
	// gw2 dies: its holds expire, and its users are away at once.
	ps.clock.Advance(redis.DefaultPresenceTTL + time.Second)
	if _, err := gw1.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = api.Active(ctx, "T1", ids)
	if err != nil || len(got) != 150 || got[0] != ids[0] {
		t.Fatalf("Active after gw2's holds expired = %d users, %v; want gw1's 150", len(got), err)
	}
}

// The first connection anywhere flips a user to active and the last
// disconnection anywhere flips them to away, whichever gateway holds them.
func TestPresenceAcrossTwoGateways(t *testing.T) {
	ps := newPresences(t)
	gw1, gw2, api := ps.open("gw1"), ps.open("gw2"), ps.open("")
	alice, bob := user("UALICE"), user("UBOB")

	mustGet(t, api, alice, away)
	mustUpdate(t, "gw1.Connected", gw1.Connected, alice, active, true)
	mustUpdate(t, "gw1.Connected", gw1.Connected, alice, active, false) // a second tab
	mustUpdate(t, "gw2.Connected", gw2.Connected, alice, active, false)
	mustGet(t, api, alice, active)
	mustGet(t, api, bob, away)
	mustUpdate(t, "gw1.Disconnected", gw1.Disconnected, alice, active, false)
	mustUpdate(t, "gw1.Disconnected", gw1.Disconnected, alice, active, false)
	mustUpdate(t, "gw1.Disconnected", gw1.Disconnected, alice, active, false) // one too many: gw2's hold stays
	mustGet(t, gw1, alice, active)
	mustUpdate(t, "gw2.Disconnected", gw2.Disconnected, alice, away, true)
	mustGet(t, api, alice, away)

	// Nothing is left behind in Redis.
	if keys := ps.client.Keys(context.Background(), ps.prefix+"*").Val(); len(keys) != 0 {
		t.Fatalf("keys left after every connection closed: %v", keys)
	}

	if _, _, err := api.Connected(context.Background(), alice); err == nil {
		t.Fatal("Connected on a Presence without a GatewayID succeeded")
	}
}

// The away flag lives in Redis: set on an API process, every gateway sees it.
func TestPresenceAwayFlagIsShared(t *testing.T) {
	ps := newPresences(t)
	gw1, gw2, api := ps.open("gw1"), ps.open("gw2"), ps.open("")
	alice := user("UALICE")

	mustUpdate(t, "api.SetAway", setAway(api, true), alice, away, false) // not connected: away already
	mustUpdate(t, "gw1.Connected", gw1.Connected, alice, away, false)    // connected, but away by hand
	mustUpdate(t, "api.SetAway", setAway(api, false), alice, active, true)
	mustUpdate(t, "api.SetAway", setAway(api, true), alice, away, true)
	mustGet(t, gw1, alice, away)
	mustGet(t, gw2, alice, away)
	mustUpdate(t, "gw2.Connected", gw2.Connected, alice, away, false)
	mustUpdate(t, "gw1.SetAway", setAway(gw1, false), alice, active, true)
	mustGet(t, api, alice, active)
	mustUpdate(t, "gw1.Disconnected", gw1.Disconnected, alice, active, false)
	mustUpdate(t, "gw2.Disconnected", gw2.Disconnected, alice, away, true)
}

// A live gateway's heartbeats keep its holds past TTL; Reap leaves them be.
func TestPresenceHeartbeatKeepsHolds(t *testing.T) {
	ps := newPresences(t)
	gw1, gw2 := ps.open("gw1"), ps.open("gw2")
	alice := user("UALICE")
	mustUpdate(t, "gw1.Connected", gw1.Connected, alice, active, true)
	for range 5 {
		ps.clock.Advance(gw1.TTL() * 2 / 3)
		if changes, err := gw1.Heartbeat(context.Background()); err != nil || len(changes) != 0 {
			t.Fatalf("Heartbeat = %v, %v; want no changes", changes, err)
		}
		if changes, err := gw2.Reap(context.Background()); err != nil || len(changes) != 0 {
			t.Fatalf("Reap = %v, %v; want nothing reaped", changes, err)
		}
		mustGet(t, gw2, alice, active)
	}

	// Redis forgot the scripts (a restart, SCRIPT FLUSH): the pipelines
	// load them again.
	if err := ps.client.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	ps.clock.Advance(gw1.TTL() * 2 / 3)
	if changes, err := gw1.Heartbeat(context.Background()); err != nil || len(changes) != 0 {
		t.Fatalf("Heartbeat after SCRIPT FLUSH = %v, %v; want no changes", changes, err)
	}
	ps.clock.Advance(gw1.TTL() * 2 / 3)
	mustGet(t, gw2, alice, active)
}

// A killed gateway's users go away within TTL; Reap reports each of them
// once however many processes reap, and not those another gateway still
// holds. If the gateway was only cut off, its heartbeat restores them.
func TestPresenceKilledGatewayIsReapedOnce(t *testing.T) {
	ctx := context.Background()
	ps := newPresences(t)
	gw1, gw2, api := ps.open("gw1"), ps.open("gw2"), ps.open("")
	alice, bob, carol, dave := user("UALICE"), user("UBOB"), user("UCAROL"), user("UDAVE")

	mustUpdate(t, "gw1.Connected", gw1.Connected, alice, active, true)
	mustUpdate(t, "gw2.Connected", gw2.Connected, bob, active, true)
	mustUpdate(t, "gw1.Connected", gw1.Connected, carol, active, true)
	mustUpdate(t, "gw2.Connected", gw2.Connected, carol, active, false)
	mustUpdate(t, "gw1.Connected", gw1.Connected, dave, active, true)
	mustUpdate(t, "api.SetAway", setAway(api, true), dave, away, true)

	// gw1 stops heartbeating; gw2 goes on.
	ps.clock.Advance(gw1.TTL() * 2 / 3)
	if _, err := gw2.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	ps.clock.Advance(gw1.TTL() / 3)
	mustGet(t, api, alice, away) // the truth, before anyone reaps
	mustGet(t, api, carol, active)

	// Three processes reap at once: alice is reported exactly once; carol
	// (still on gw2) and dave (away by hand, announced then) are not.
	var (
		mu       sync.Mutex
		reported []confab.PresenceChange
		wg       sync.WaitGroup
	)
	for _, p := range []*redis.Presence{gw2, api, ps.open("")} {
		wg.Go(func() {
			changes, err := p.Reap(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			reported = append(reported, changes...)
			mu.Unlock()
		})
	}
	wg.Wait()
	want := []confab.PresenceChange{{WorkspaceID: "T1", UserID: "UALICE", Presence: away}}
	if !slices.Equal(reported, want) {
		t.Fatalf("Reap reported %v, want %v", reported, want)
	}
	if changes, err := gw2.Reap(ctx); err != nil || len(changes) != 0 {
		t.Fatalf("second Reap = %v, %v; want nothing", changes, err)
	}
	mustGet(t, api, alice, away)
	mustGet(t, api, bob, active)
	mustGet(t, api, carol, active)
	mustUpdate(t, "gw2.Disconnected", gw2.Disconnected, carol, away, true)

	// gw1 was only cut off from Redis: its next heartbeat gives its holds
	// back, and reports the users that brings back to active.
	changes, err := gw1.Heartbeat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(changes, func(a, b confab.PresenceChange) int { return cmp.Compare(a.UserID, b.UserID) })
	want = []confab.PresenceChange{
		{WorkspaceID: "T1", UserID: "UALICE", Presence: active},
		{WorkspaceID: "T1", UserID: "UCAROL", Presence: active},
	}
	if !slices.Equal(changes, want) {
		t.Fatalf("Heartbeat after the holds were reaped = %v, want %v", changes, want)
	}
	mustGet(t, api, alice, active)
	mustGet(t, api, dave, away)
}

// An update that meets an expired, unreaped hold reports the flip itself,
// and Reap then reports nothing: each flip is announced once.
func TestPresenceUpdateFoldsInAnExpiredHold(t *testing.T) {
	ctx := context.Background()
	ps := newPresences(t)
	gw1, gw2 := ps.open("gw1"), ps.open("gw2")
	alice := user("UALICE")
	mustUpdate(t, "gw1.Connected", gw1.Connected, alice, active, true)
	mustUpdate(t, "gw2.Connected", gw2.Connected, alice, active, false)
	ps.clock.Advance(gw1.TTL() / 2)
	if _, err := gw2.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	ps.clock.Advance(gw1.TTL() / 2) // gw1's hold expires
	mustUpdate(t, "gw2.Disconnected", gw2.Disconnected, alice, away, true)
	if changes, err := gw2.Reap(ctx); err != nil || len(changes) != 0 {
		t.Fatalf("Reap = %v, %v; want nothing: the flip was reported", changes, err)
	}
	if n := ps.client.ZCard(ctx, ps.prefix+"presence-expiry").Val(); n != 0 {
		t.Fatalf("%d index entries left", n)
	}
}

// Many connections opening and closing at once on two gateways: each flip
// is reported exactly once and the final state is right.
func TestPresenceConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	ps := newPresences(t)
	gws := []*redis.Presence{ps.open("gw1"), ps.open("gw2")}
	users := []*confab.User{user("UALICE"), user("UBOB")}
	const workers, rounds = 8, 30

	type flip struct{ user, presence string }
	var (
		mu    sync.Mutex
		flips []flip
		wg    sync.WaitGroup
	)
	record := func(f update, u *confab.User) {
		presence, changed, err := f(ctx, u)
		if err != nil {
			t.Error(err)
			return
		}
		if changed {
			mu.Lock()
			flips = append(flips, flip{u.ID, presence})
			mu.Unlock()
		}
	}
	run := func(keep bool) {
		for _, gw := range gws {
			for w := range workers {
				wg.Go(func() {
					u := users[w%len(users)]
					for range rounds {
						record(gw.Connected, u)
						record(gw.Disconnected, u)
					}
					if keep && w < len(users) {
						record(gw.Connected, u)
					}
				})
			}
		}
		wg.Wait()
	}
	// count returns, per user, active flips minus away flips.
	count := func() map[string]int {
		net := map[string]int{}
		for _, f := range flips {
			if f.presence == active {
				net[f.user]++
			} else {
				net[f.user]--
			}
		}
		return net
	}

	run(true) // each user ends with one connection on each gateway
	for _, u := range users {
		mustGet(t, gws[0], u, active)
		// Both gateways hold u: a gateway's updates reached Redis in the
		// order it counted them.
		if n := ps.client.ZCard(ctx, ps.prefix+"presence:T1:"+u.ID).Val(); n != 2 {
			t.Fatalf("%d gateways hold %s, want 2", n, u.ID)
		}
	}
	if net := count(); net["UALICE"] != 1 || net["UBOB"] != 1 {
		t.Fatalf("active minus away flips = %v, want 1 each (flips %v)", net, flips)
	}

	for _, gw := range gws {
		for _, u := range users {
			wg.Go(func() { record(gw.Disconnected, u) })
		}
	}
	wg.Wait()
	run(false)
	for _, u := range users {
		mustGet(t, gws[1], u, away)
	}
	if net := count(); net["UALICE"] != 0 || net["UBOB"] != 0 {
		t.Fatalf("active minus away flips = %v, want 0 each (flips %v)", net, flips)
	}
	if keys := ps.client.Keys(ctx, ps.prefix+"*").Val(); len(keys) != 0 {
		t.Fatalf("keys left after every connection closed: %v", keys)
	}
}

// The keys are where the documentation says.
func TestPresenceDataLayout(t *testing.T) {
	ctx := context.Background()
	ps := newPresences(t)
	gw1 := ps.open("gw|1")
	alice := user("UALICE")
	mustUpdate(t, "gw1.Connected", gw1.Connected, alice, active, true)
	mustUpdate(t, "gw1.SetAway", setAway(gw1, true), alice, away, true)
	keys := ps.client.Keys(ctx, ps.prefix+"*").Val()
	slices.Sort(keys)
	want := []string{ps.prefix + "away:T1:UALICE", ps.prefix + "presence-expiry", ps.prefix + "presence:T1:UALICE"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys = %v, want %v", keys, want)
	}
	exp := ps.clock.Now().Add(gw1.TTL()).UnixMilli()
	if got := ps.client.ZScore(ctx, ps.prefix+"presence:T1:UALICE", "gw|1").Val(); got != float64(exp) {
		t.Fatalf("hold expiry = %v, want %v", got, exp)
	}
	if got := ps.client.ZScore(ctx, ps.prefix+"presence-expiry", "T1|UALICE|gw|1").Val(); got != float64(exp) {
		t.Fatalf("index expiry = %v, want %v", got, exp)
	}

	// A gateway id with "|" in it is reaped like any other.
	ps.clock.Advance(gw1.TTL() + time.Millisecond)
	mustUpdate(t, "gw1.SetAway", setAway(gw1, false), alice, away, false)
	if changes, err := ps.open("").Reap(ctx); err != nil || len(changes) != 0 {
		t.Fatalf("Reap = %v, %v; want nothing (SetAway folded the expired hold in)", changes, err)
	}
	if keys := ps.client.Keys(ctx, ps.prefix+"*").Val(); len(keys) != 0 {
		t.Fatalf("keys left: %v", keys)
	}
}

// holdBack is a go-redis hook that holds the first "disconnect" update back
// until a "connect" update reaches Redis, or for at most wait.
type holdBack struct {
	wait       time.Duration
	once       sync.Once
	disconnect chan struct{} // closed when the disconnect update is held
	connect    chan struct{} // closed when a connect update goes to Redis
	connOnce   sync.Once
}

func (h *holdBack) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *holdBack) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

func (h *holdBack) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		switch {
		case slices.Contains(cmd.Args(), any("disconnect")):
			h.once.Do(func() {
				close(h.disconnect)
				select {
				case <-h.connect:
				case <-time.After(h.wait):
				}
			})
		case slices.Contains(cmd.Args(), any("connect")):
			h.connOnce.Do(func() { close(h.connect) })
		}
		return next(ctx, cmd)
	}
}

// A user's last connection on a gateway closes and a new one opens while
// the first update is on its way to Redis: the second waits for it, so
// Redis ends up holding the user. (Were the updates not kept in order, the
// hook would let the connect overtake the disconnect, and the user would
// be left connected but away. The wait only bounds how long the hook gives
// such a bug to show itself; the test passes whatever it is.)
func TestPresenceKeepsAGatewaysUpdatesInOrder(t *testing.T) {
	ctx := context.Background()
	ps := newPresences(t)
	c := mustClient(t)
	gw := redis.NewPresence(redis.PresenceConfig{Client: c, Prefix: ps.prefix, GatewayID: "gw1", Now: ps.clock.Now})
	alice := user("UALICE")
	mustUpdate(t, "Connected", gw.Connected, alice, active, true)

	h := &holdBack{wait: 200 * time.Millisecond, disconnect: make(chan struct{}), connect: make(chan struct{})}
	c.AddHook(h)
	type result struct {
		presence string
		changed  bool
		err      error
	}
	disconnected, connected := make(chan result, 1), make(chan result, 1)
	go func() {
		p, ch, err := gw.Disconnected(ctx, alice)
		disconnected <- result{p, ch, err}
	}()
	select {
	case <-h.disconnect:
	case <-time.After(10 * time.Second):
		t.Fatal("the disconnect update never reached Redis")
	}
	go func() {
		p, ch, err := gw.Connected(ctx, alice)
		connected <- result{p, ch, err}
	}()
	for _, want := range []struct {
		name string
		ch   chan result
		res  result
	}{
		{"Disconnected", disconnected, result{away, true, nil}},
		{"Connected", connected, result{active, true, nil}},
	} {
		select {
		case got := <-want.ch:
			if got != want.res {
				t.Errorf("%s = %+v, want %+v", want.name, got, want.res)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not return", want.name)
		}
	}
	mustGet(t, ps.open(""), alice, active)
}
