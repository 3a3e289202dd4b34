package chat

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
)

// listStore counts the reads of a user's channels that registering a
// connection and catching it up make.
type listStore struct {
	*countingStore
	lists atomic.Int64 // FindMemberships, FindChannels
}

func (s *listStore) FindMemberships(ctx context.Context, userID string) ([]*confab.Membership, error) {
	s.lists.Add(1)
	return s.Store.FindMemberships(ctx, userID)
}

func (s *listStore) FindChannels(ctx context.Context, f confab.ChannelFilter) ([]*confab.Channel, error) {
	s.lists.Add(1)
	return s.Store.FindChannels(ctx, f)
}

// reconnect is what a client's reconnection asks of the service: the
// channels the gateway registers, and a catch-up from checkpoints.
func reconnect(t *testing.T, s *Service, u *confab.User, cps map[string]int64) (channels []string, caught map[string]int) {
	t.Helper()
	channels, err := s.UserChannels(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.CatchUp(t.Context(), u, cps, 100)
	if err != nil {
		t.Fatal(err)
	}
	caught = map[string]int{}
	for _, c := range out {
		caught[c.Channel] = len(c.Events)
	}
	return channels, caught
}

// With the store to itself, a client that reconnects reads neither its
// memberships nor its channels again, and a join, a leave, a new channel
// or a new DM counts at once.
func TestReconnectReadsNoMemberships(t *testing.T) {
	st := &listStore{countingStore: openSQLite(t)}
	s := newService(st, true, newClock())
	alice, pub := general(t, s)
	bob := signupOn(t, s, "bob")
	gen := generalOf(t, s, bob.u) // bob is in it from the start
	if _, _, err := s.JoinChannel(t.Context(), bob.u, pub); err != nil {
		t.Fatal(err)
	}
	if err := alice.post(pub, "one"); err != nil {
		t.Fatal(err)
	}
	reconnect(t, s, bob.u, nil) // warms the caches

	st.lists.Store(0)
	st.reads.Store(0)
	channels, caught := reconnect(t, s, bob.u, map[string]int64{pub: 1}) // bob's join seen
	if n := st.lists.Load() + st.reads.Load(); n != 0 {
		t.Errorf("a warm reconnect read the store %d times, want 0", n)
	}
	if want := sorted(pub, gen); !slices.Equal(channels, want) || caught[pub] != 1 {
		t.Errorf("channels %v, caught up %v; want %v, %s with 1 event", channels, caught, want, pub)
	}

	// A new channel, a join, a DM and a leave change the list at once.
	priv, err := s.CreateChannel(t.Context(), bob.u, "secret", true)
	if err != nil {
		t.Fatal(err)
	}
	dm, _, err := s.OpenConversation(t.Context(), alice.u, []string{bob.u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.post(dm.Channel.ID, "psst"); err != nil {
		t.Fatal(err)
	}
	channels, caught = reconnect(t, s, bob.u, map[string]int64{pub: 2})
	want := sorted(pub, gen, priv.Channel.ID, dm.Channel.ID)
	if !slices.Equal(channels, want) || caught[dm.Channel.ID] != 1 {
		t.Errorf("after a new channel and a DM: channels %v, caught up %v; want %v, the DM with 1 event", channels, caught, want)
	}
	if _, err := s.LeaveChannel(t.Context(), bob.u, pub); err != nil {
		t.Fatal(err)
	}
	if err := alice.post(pub, "two"); err != nil {
		t.Fatal(err)
	}
	channels, caught = reconnect(t, s, bob.u, map[string]int64{pub: 2})
	if slices.Contains(channels, pub) || caught[pub] != 0 {
		t.Errorf("after leaving: channels %v, caught up %v; want neither to have %s", channels, caught, pub)
	}
}

// With a shared store, a join through another process counts at once.
func TestReconnectSharedStoreReadsMemberships(t *testing.T) {
	st := openSQLite(t)
	c := newClock()
	a, b := newService(st, false, c), newService(st, false, c)
	_, pub := general(t, a)
	bob := signupOn(t, a, "bob")
	gen := generalOf(t, a, bob.u)
	if channels, _ := reconnect(t, a, bob.u, nil); !slices.Equal(channels, []string{gen}) {
		t.Fatalf("bob's channels %v, want only the general channel %s", channels, gen)
	}
	if _, _, err := b.JoinChannel(t.Context(), bob.u, pub); err != nil {
		t.Fatal(err)
	}
	if want := sorted(pub, gen); !slices.Equal(channels(reconnect(t, a, bob.u, nil)), want) {
		t.Errorf("after a join through another process: channels %v, want %v", channels(reconnect(t, a, bob.u, nil)), want)
	}
}

// Tickets asked for together past the burst get slots connectRate apart,
// and a ticket's lifetime starts at its slot.
func TestTicketPacing(t *testing.T) {
	c := newClock()
	s := newService(openSQLite(t), true, c)
	s.pace.rate, s.pace.burst = 1, 2 // a slot a second, 3 at once
	alice := signupOn(t, s, "alice")
	var tickets []*confab.Ticket
	for range 5 {
		tk, err := s.IssueTicket(t.Context(), alice.u, alice.token)
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second}
	for i, tk := range tickets {
		if tk.Wait != want[i] {
			t.Errorf("ticket %d waits %v, want %v", i, tk.Wait, want[i])
		}
	}
	// The last ticket is still good past a TTL, as its slot is later.
	c.advance(31 * time.Second)
	if _, err := s.RedeemTicket(t.Context(), tickets[4].Value); err != nil {
		t.Errorf("redeem the last ticket a TTL after its issue: %v", err)
	}
	if _, err := s.RedeemTicket(t.Context(), tickets[0].Value); err == nil {
		t.Error("the first ticket was redeemed after its TTL")
	}

	// Later, the burst is free again.
	c.advance(3 * time.Second)
	if tk, err := s.IssueTicket(t.Context(), alice.u, alice.token); err != nil || tk.Wait != 0 {
		t.Errorf("a ticket after a quiet second: wait %v, %v; want 0", tk.Wait, err)
	}
}

// A flood of rtm.connect calls cannot push a slot further than
// maxConnectWait.
func TestTicketPacingBounded(t *testing.T) {
	p := pacer{rate: 1, burst: 0}
	now := time.Unix(1_800_000_000, 0)
	var last time.Duration
	for range 50 {
		last = p.slot(now)
		if last > maxConnectWait {
			t.Fatalf("slot %v, more than %v", last, maxConnectWait)
		}
	}
	if last != maxConnectWait {
		t.Errorf("the 50th slot at one a second: %v, want the bound %v", last, maxConnectWait)
	}
	// 21 slots were reserved; the refused ones were not.
	if got := p.slot(now.Add(21 * time.Second)); got != 0 {
		t.Errorf("21 s later: %v, want 0", got)
	}
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

func channels(ids []string, _ map[string]int) []string { return ids }
