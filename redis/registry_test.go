package redis_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/redis"
)

func mustAnnounce(tb testing.TB, r *redis.Registry, gw confab.Gateway) {
	tb.Helper()
	if err := r.Announce(context.Background(), gw); err != nil {
		tb.Fatalf("Announce(%v): %v", gw, err)
	}
}

func mustLive(tb testing.TB, r *redis.Registry) []confab.Gateway {
	tb.Helper()
	live, err := r.Live(context.Background())
	if err != nil {
		tb.Fatalf("Live: %v", err)
	}
	return live
}

// An announcement is live for TTL; one not refreshed in time drops out and
// its entry is removed; Withdraw removes one at once.
func TestRegistryAnnounceLiveExpiry(t *testing.T) {
	ctx := context.Background()
	c, clk, prefix := mustClient(t), newClock(), uniquePrefix(t)
	r := redis.NewRegistry(redis.RegistryConfig{Client: c, Prefix: prefix, Now: clk.Now})
	if r.TTL() != redis.DefaultRegistryTTL {
		t.Fatalf("TTL() = %v, want the default %v", r.TTL(), redis.DefaultRegistryTTL)
	}
	if live := mustLive(t, r); len(live) != 0 {
		t.Fatalf("Live of an empty registry = %v", live)
	}
	gw1 := confab.Gateway{ID: "gw1", URL: "ws://127.0.0.1:9001", Conns: 3}
	gw2 := confab.Gateway{ID: "gw2", URL: "ws://127.0.0.1:9002", Conns: 5}
	mustAnnounce(t, r, gw1)
	mustAnnounce(t, r, gw2)
	if live := mustLive(t, r); len(live) != 2 || live[0] != gw1 || live[1] != gw2 {
		t.Fatalf("Live = %v, want [%v %v]", live, gw1, gw2)
	}

	// gw2 refreshes half-way; gw1 does not.
	clk.Advance(r.TTL() / 2)
	gw2.Conns = 7
	mustAnnounce(t, r, gw2)
	clk.Advance(r.TTL() / 2)
	if live := mustLive(t, r); len(live) != 1 || live[0] != gw2 {
		t.Fatalf("Live %v after gw1's TTL = %v, want [%v]", r.TTL(), live, gw2)
	}
	if n := c.HLen(ctx, prefix+"gateways").Val(); n != 1 {
		t.Fatalf("%d entries left in the gateways hash, want 1: the stale one was not removed", n)
	}
	if n := c.ZCard(ctx, prefix+"gateways:expiry").Val(); n != 1 {
		t.Fatalf("%d entries left in the expiry zset, want 1", n)
	}

	// A gateway that comes back is live again.
	mustAnnounce(t, r, gw1)
	if live := mustLive(t, r); len(live) != 2 {
		t.Fatalf("Live after gw1 came back = %v", live)
	}

	if err := r.Withdraw(ctx, "gw2"); err != nil {
		t.Fatal(err)
	}
	if err := r.Withdraw(ctx, "gw1"); err != nil {
		t.Fatal(err)
	}
	if live := mustLive(t, r); len(live) != 0 {
		t.Fatalf("Live after Withdraw = %v", live)
	}
	_, err := r.Pick(ctx)
	if !errors.Is(err, confab.ErrNoGateway) || confab.ErrorMessage(err) != "no_gateway" {
		t.Fatalf("Pick with no live gateway: err = %v, want no_gateway", err)
	}
}

// Pick never returns a dead gateway nor, when there are two or more, the
// most loaded one, and spreads over the lightly loaded ones.
func TestRegistryPickSpreadsOverTheLeastLoaded(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := redis.NewRegistry(redis.RegistryConfig{Client: mustClient(t), Prefix: uniquePrefix(t), Now: clk.Now})
	mustAnnounce(t, r, confab.Gateway{ID: "dead", URL: "ws://dead", Conns: 0})
	clk.Advance(r.TTL())
	for _, gw := range []confab.Gateway{
		{ID: "a", URL: "ws://a", Conns: 1},
		{ID: "b", URL: "ws://b", Conns: 1},
		{ID: "c", URL: "ws://c", Conns: 500},
		{ID: "d", URL: "ws://d", Conns: 1000},
	} {
		mustAnnounce(t, r, gw)
	}

	// The process's own choices add to the reported loads (see
	// TestRegistryPickCountsItsOwnChoices): c and d carry so many more that
	// a and b stay the lighter through every pick. Enough picks that chance
	// does not fail the test (c is picked 1/6 of the time, 50 expected; it
	// fails past 90, 6 standard deviations; with 40 picks it failed about
	// once in a hundred runs).
	const picks = 300
	got := map[string]int{}
	for range picks {
		gw, err := r.Pick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if gw.URL != "ws://"+gw.ID {
			t.Fatalf("Pick = %v: URL does not belong to the gateway", gw)
		}
		got[gw.ID]++
	}
	// a and b win every pair with c or d, and half of ab; c wins only cd;
	// d wins none.
	if got["dead"] != 0 || got["d"] != 0 {
		t.Fatalf("picks %v: the dead or the most loaded gateway was chosen", got)
	}
	if got["a"] <= got["c"] || got["b"] <= got["c"] || got["a"]+got["b"] < picks*7/10 {
		t.Fatalf("picks %v: the lightly loaded gateways a and b should take most", got)
	}

	// With one live gateway, it is the one.
	clk.Advance(r.TTL())
	only := confab.Gateway{ID: "x", URL: "ws://x", Conns: 1000}
	mustAnnounce(t, r, only)
	for range 10 {
		if gw, err := r.Pick(ctx); err != nil || gw != only {
			t.Fatalf("Pick = %v, %v; want %v", gw, err, only)
		}
	}
}

// Reports are up to a heartbeat old: a process counts the clients it sent
// since a gateway's last report, so a burst of connections (a reconnect
// storm) spreads instead of herding onto the gateway that looked emptiest.
func TestRegistryPickCountsItsOwnChoices(t *testing.T) {
	r := redis.NewRegistry(redis.RegistryConfig{Client: mustClient(t), Prefix: uniquePrefix(t)})
	mustAnnounce(t, r, confab.Gateway{ID: "a", URL: "ws://a", Conns: 0})
	mustAnnounce(t, r, confab.Gateway{ID: "b", URL: "ws://b", Conns: 0})
	got := pickCounts(t, r, 100)
	if d := got["a"] - got["b"]; d < -1 || d > 1 {
		t.Fatalf("100 picks between two gateways that both reported 0: %v, want an even split", got)
	}
	// a reports its new count (which includes what we sent): counting
	// restarts from the report, and b, still reporting 0 plus our 50,
	// is now as loaded as a.
	mustAnnounce(t, r, confab.Gateway{ID: "a", URL: "ws://a", Conns: 80})
	got = pickCounts(t, r, 20)
	if got["a"] != 0 {
		t.Fatalf("after a reported 80 and b ~50, picks = %v: a should get none until b catches up", got)
	}
}

// A gateway whose address refuses connections (its process was killed; its
// entry lives until it expires) is passed over by Pick once Probe saw it
// refuse, unless it is the only one; a later Probe that finds it answering
// brings it back.
func TestRegistryProbePassesOverRefusingGateways(t *testing.T) {
	ctx := context.Background()
	r := redis.NewRegistry(redis.RegistryConfig{Client: mustClient(t), Prefix: uniquePrefix(t)})
	goneAddr := announceAliveAndGone(t, r)
	picks := func() map[string]int { return pickCounts(t, r, 30) }
	dial := (&net.Dialer{Timeout: time.Second}).DialContext
	if got := picks(); got["gone"] == 0 {
		t.Fatalf("before a probe, picks %v: the emptier gone gateway should be chosen", got)
	}
	if err := r.Probe(ctx, dial); err != nil {
		t.Fatal(err)
	}
	if got := picks(); got["gone"] != 0 {
		t.Fatalf("after a probe, picks %v: the refusing gateway was chosen", got)
	}

	// Alone, a refusing gateway is still picked: the registry is the truth,
	// and the client's dial fails and comes back.
	rOnly := redis.NewRegistry(redis.RegistryConfig{Client: mustClient(t), Prefix: uniquePrefix(t)})
	mustAnnounce(t, rOnly, confab.Gateway{ID: "gone", URL: "ws://" + goneAddr})
	if err := rOnly.Probe(ctx, dial); err != nil {
		t.Fatal(err)
	}
	if gw, err := rOnly.Pick(ctx); err != nil || gw.ID != "gone" {
		t.Fatalf("the only gateway, refusing: Pick = %v, %v", gw, err)
	}

	// It answers again: the next probe brings it back.
	back, err := net.Listen("tcp", goneAddr)
	if err != nil {
		t.Fatalf("cannot listen on %s again: %v", goneAddr, err)
	}
	defer back.Close()
	go acceptAndDrop(back)
	if err := r.Probe(ctx, dial); err != nil {
		t.Fatal(err)
	}
	if got := picks(); got["gone"] == 0 {
		t.Fatalf("answering again, picks %v: it should be chosen again", got)
	}
}

// TestRegistryWatchProbesAtOnceInAHerd: Watch probes at its interval, and
// at once when picks come in a herd, as they do when a gateway went and
// its clients all call rtm.connect: the refusing gateway is then passed
// over within milliseconds, not at the next tick (here an hour away). A
// few picks at the ordinary pace are not a herd.
func TestRegistryWatchProbesAtOnceInAHerd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := redis.NewRegistry(redis.RegistryConfig{Client: mustClient(t), Prefix: uniquePrefix(t)})
	announceAliveAndGone(t, r)
	var probes atomic.Int32
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		probes.Add(1)
		return (&net.Dialer{Timeout: time.Second}).DialContext(ctx, network, addr)
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		r.Watch(ctx, time.Hour, dial, func(err error) { t.Error(err) })
	}()
	pickGone := func() bool {
		gw, err := r.Pick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return gw.ID == "gone"
	}
	for range 10 { // the ordinary pace
		pickGone()
		time.Sleep(15 * time.Millisecond)
	}
	if n := probes.Load(); n != 0 {
		t.Fatalf("10 picks over 150 ms made %d probe dials; want none before the interval", n)
	}
	for range 60 { // a herd
		pickGone()
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		gone := 0
		for range 20 {
			if pickGone() {
				gone++
			}
		}
		if gone == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 s after a herd of picks the refusing gateway is still picked (%d of 20; %d probe dials)", gone, probes.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-watched
}

// pickCounts picks n times from r and counts the picks by gateway.
func pickCounts(t *testing.T, r *redis.Registry, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		gw, err := r.Pick(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got[gw.ID]++
	}
	return got
}

// announceAliveAndGone announces in r a gateway "alive" (100 connections)
// whose address answers until the test ends, and an emptier one "gone"
// whose address refuses, and returns gone's address.
func announceAliveAndGone(t *testing.T, r *redis.Registry) string {
	t.Helper()
	alive, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alive.Close() })
	go acceptAndDrop(alive)
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	goneAddr := gone.Addr().String()
	gone.Close() // refuses from now on
	mustAnnounce(t, r, confab.Gateway{ID: "alive", URL: "ws://" + alive.Addr().String(), Conns: 100})
	mustAnnounce(t, r, confab.Gateway{ID: "gone", URL: "ws://" + goneAddr, Conns: 0})
	return goneAddr
}

// acceptAndDrop accepts on l and closes each connection, as a server closes
// a connection that sends nothing, until l is closed.
func acceptAndDrop(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}
