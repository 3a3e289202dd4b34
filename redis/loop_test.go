package redis_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/redis"
)

// A heartbeat announces its gateway at once and again each period with
// its current connection count, publishes the presence flips it finds, and
// Stop takes the gateway out of the registry for good: no later beat puts
// it back.
func TestHeartbeatAnnouncesAndStopWithdraws(t *testing.T) {
	ctx := context.Background()
	client, prefix := mustClient(t), uniquePrefix(t)
	const ttl = 300 * time.Millisecond
	registry := redis.NewRegistry(redis.RegistryConfig{Client: client, Prefix: prefix, TTL: ttl})
	// A gateway killed with a user connected: its hold expires, and the
	// heartbeat of another gateway reaps it.
	dead := redis.NewPresence(redis.PresenceConfig{Client: client, Prefix: prefix, GatewayID: "dead", TTL: ttl})
	alice := &confab.User{ID: "UALICE", WorkspaceID: "T1"}
	if _, _, err := dead.Connected(ctx, alice); err != nil {
		t.Fatal(err)
	}

	var conns atomic.Int64
	conns.Store(7)
	changes := make(chan confab.PresenceChange, 10)
	h := redis.StartHeartbeat(redis.HeartbeatConfig{
		Registry: registry,
		Presence: redis.NewPresence(redis.PresenceConfig{Client: client, Prefix: prefix, GatewayID: "gw1", TTL: ttl}),
		Gateway:  confab.Gateway{ID: "gw1", URL: "ws://gw1"},
		Conns:    func() int { return int(conns.Load()) },
		Changed:  func(_ context.Context, c confab.PresenceChange) { changes <- c },
	})
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			h.Stop(ctx)
		}
	})

	waitLive := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			live := mustLive(t, registry)
			if len(live) == 1 && live[0] == (confab.Gateway{ID: "gw1", URL: "ws://gw1", Conns: want}) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Live = %v, want gw1 with %d connections", live, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitLive(7)
	conns.Store(9)
	waitLive(9) // announced again, with the new count, before its entry expired

	select {
	case c := <-changes:
		if c != (confab.PresenceChange{WorkspaceID: "T1", UserID: "UALICE", Presence: confab.PresenceAway}) {
			t.Fatalf("change = %+v, want alice away", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the dead gateway's user was never reaped")
	}

	if err := h.Stop(ctx); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	stopped = true
	if live := mustLive(t, registry); len(live) != 0 {
		t.Fatalf("Live after Stop = %v", live)
	}
	// Two periods later still nothing: the loop is gone, not just withdrawn.
	time.Sleep(2 * ttl / 3)
	if live := mustLive(t, registry); len(live) != 0 {
		t.Fatalf("Live two periods after Stop = %v", live)
	}
}
