package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
)

// countingStore counts the reads that authentication, authorization and
// history make.
type countingStore struct {
	confab.Store
	reads   atomic.Int64
	changes atomic.Int64 // FindChanges
}

func (s *countingStore) FindToken(ctx context.Context, h []byte) (*confab.Token, error) {
	s.reads.Add(1)
	return s.Store.FindToken(ctx, h)
}

func (s *countingStore) FindUserByID(ctx context.Context, id string) (*confab.User, error) {
	s.reads.Add(1)
	return s.Store.FindUserByID(ctx, id)
}

func (s *countingStore) FindWorkspaceByID(ctx context.Context, id string) (*confab.Workspace, error) {
	s.reads.Add(1)
	return s.Store.FindWorkspaceByID(ctx, id)
}

func (s *countingStore) FindChannelByID(ctx context.Context, id string) (*confab.Channel, error) {
	s.reads.Add(1)
	return s.Store.FindChannelByID(ctx, id)
}

func (s *countingStore) FindMembership(ctx context.Context, ch, u string) (*confab.Membership, error) {
	s.reads.Add(1)
	return s.Store.FindMembership(ctx, ch, u)
}

func (s *countingStore) FindMessages(ctx context.Context, f confab.MessageFilter) ([]*confab.Message, error) {
	s.reads.Add(1)
	return s.Store.FindMessages(ctx, f)
}

type nopBus struct{}

func (nopBus) Publish(context.Context, string, []byte) error { return nil }

func openSQLite(t *testing.T) *countingStore {
	t.Helper()
	db := openStore(t)
	return &countingStore{Store: db}
}

// clock is a settable clock for the services of a test.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Unix(1_800_000_000, 0).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func newService(st confab.Store, exact bool, c *clock) *Service {
	access := SharedAccess(5 * time.Second)
	if exact {
		access = ExactAccess()
	}
	return New(Config{Store: st, Bus: nopBus{}, PasswordCost: 4, Access: access, Now: c.now})
}

type session struct {
	s     *Service
	token string
	u     *confab.User
}

func signupOn(t *testing.T, s *Service, name string) session {
	t.Helper()
	sess, err := s.Signup(t.Context(), SignupParams{Team: "acme", Name: name, Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	return session{s, sess.Token, sess.User}
}

// generalOf returns the id of the general channel of u's workspace.
func generalOf(t *testing.T, s *Service, u *confab.User) string {
	t.Helper()
	cs, err := s.store.FindChannels(t.Context(), confab.ChannelFilter{WorkspaceID: u.WorkspaceID, Kinds: []string{confab.KindPublic}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.IsGeneral {
			return c.ID
		}
	}
	t.Fatalf("workspace %s has no general channel", u.WorkspaceID)
	return ""
}

// checkpoint is a channel's id and last seq.
type checkpoint struct {
	id  string
	seq int64
}

// lastSeq returns the checkpoint of a client up to date on channel id.
func lastSeq(t *testing.T, st confab.Store, id string) checkpoint {
	t.Helper()
	c, err := st.FindChannelByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return checkpoint{id, c.LastSeq}
}

// general signs alice up on s and has her create the public channel
// "plaza".
func general(t *testing.T, s *Service) (session, string) {
	t.Helper()
	alice := signupOn(t, s, "alice")
	pub, err := s.CreateChannel(t.Context(), alice.u, "plaza", false)
	if err != nil {
		t.Fatal(err)
	}
	return alice, pub.Channel.ID
}

// as is the session on another process's service (same store).
func (a session) as(s *Service) session { return session{s, a.token, a.u} }

func (a session) post(ch, text string) error {
	u, err := a.s.Authenticate(context.Background(), a.token)
	if err != nil {
		return err
	}
	_, err = a.s.PostMessage(context.Background(), u, PostParams{Channel: ch, Text: text})
	return err
}

func (a session) history(t *testing.T, ch string) []string {
	t.Helper()
	u, err := a.s.Authenticate(t.Context(), a.token)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.s.History(t.Context(), u, HistoryParams{Channel: ch, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range p.Messages {
		texts = append(texts, m.Text)
	}
	return texts
}

func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	got := "ok"
	if err != nil {
		got = confab.ErrorMessage(err)
	}
	if got != want {
		t.Fatalf("%s: %s, want %s", what, got, want)
	}
}

// With the store to itself, a warm post reads nothing before its insert,
// and every change this process makes counts at once: an invite, a leave,
// an archive, a revoked token, a new message on a hot page.
func TestAccessCacheExclusive(t *testing.T) {
	st := openSQLite(t)
	c := newClock()
	s := newService(st, true, c)
	alice, bob := signupOn(t, s, "alice"), signupOn(t, s, "bob")
	priv, err := s.CreateChannel(t.Context(), alice.u, "secret", true)
	if err != nil {
		t.Fatal(err)
	}
	ch := priv.Channel.ID

	wantCode(t, "alice's first post", alice.post(ch, "one"), "ok")
	before := st.reads.Load()
	for range 10 {
		wantCode(t, "alice's warm post", alice.post(ch, "more"), "ok")
	}
	if n := st.reads.Load() - before; n != 0 {
		t.Errorf("10 warm posts made %d authentication and authorization reads, want 0", n)
	}
	before = st.reads.Load()
	if err := s.Typing(t.Context(), alice.u, ch); err != nil {
		t.Fatal(err)
	}
	if n := st.reads.Load() - before; n != 0 {
		t.Errorf("a typing event made %d reads, want 0", n)
	}

	// A refusal is cached, and an invite lifts it at once.
	wantCode(t, "bob, not invited", bob.post(ch, "hi"), "channel_not_found")
	before = st.reads.Load()
	wantCode(t, "bob again", bob.post(ch, "hi"), "channel_not_found")
	if n := st.reads.Load() - before; n != 0 {
		t.Errorf("a refused post read the store %d times the second time, want 0", n)
	}
	if _, err := s.InviteToChannel(t.Context(), alice.u, ch, []string{bob.u.ID}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "bob, invited", bob.post(ch, "hi"), "ok")
	if _, err := s.LeaveChannel(t.Context(), bob.u, ch); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "bob, gone", bob.post(ch, "hi"), "channel_not_found")

	// A hot page is keyed by the version this process tracks: a post
	// after a read shows in the next read, without reading the channel.
	// Bob's invite and leave are lines around his message.
	joined, left := "<@"+bob.u.ID+"> has joined the channel", "<@"+bob.u.ID+"> has left the channel"
	if got := alice.history(t, ch); len(got) != 14 || got[0] != left || got[1] != "hi" || got[2] != joined {
		t.Fatalf("history = %q", got)
	}
	wantCode(t, "alice", alice.post(ch, "newest"), "ok")
	before = st.reads.Load()
	if got := alice.history(t, ch); got[0] != "newest" {
		t.Fatalf("history after a post starts with %q, want the new message", got[0])
	}
	if n := st.reads.Load() - before; n != 1 {
		t.Errorf("a warm history read made %d reads, want 1 (the page)", n)
	}
	before = st.reads.Load()
	alice.history(t, ch)
	if n := st.reads.Load() - before; n != 0 {
		t.Errorf("reading the same page again made %d reads, want 0 (hot page)", n)
	}

	if err := s.ArchiveChannel(t.Context(), alice.u, ch); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "post to the archived channel", alice.post(ch, "late"), "is_archived")

	if err := s.Revoke(t.Context(), alice.u, alice.token); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(t.Context(), alice.token)
	wantCode(t, "revoked token", err, "invalid_auth")
}

// With a store shared by other processes, a grant taken away elsewhere is
// honoured for at most the TTL, a refusal is never cached (a join
// elsewhere counts at once), and a history read always sees what another
// process posted before it.
func TestAccessCacheShared(t *testing.T) {
	st := openSQLite(t)
	c := newClock()
	a, b := newService(st, false, c), newService(st, false, c)
	alice, bob := signupOn(t, a, "alice"), signupOn(t, a, "bob")
	pub, err := a.CreateChannel(t.Context(), alice.u, "plaza", false)
	if err != nil {
		t.Fatal(err)
	}
	ch := pub.Channel.ID

	wantCode(t, "bob on b, not a member", bob.as(b).post(ch, "hi"), "not_in_channel")
	if _, _, err := a.JoinChannel(t.Context(), bob.u, ch); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "bob on b, joined on a", bob.as(b).post(ch, "hi"), "ok")

	if _, err := a.LeaveChannel(t.Context(), bob.u, ch); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "bob on a, left on a", bob.post(ch, "hi"), "not_in_channel")
	wantCode(t, "bob on b within the TTL", bob.as(b).post(ch, "hi"), "ok")
	c.advance(5 * time.Second)
	wantCode(t, "bob on b after the TTL", bob.as(b).post(ch, "hi"), "not_in_channel")

	if got := alice.as(b).history(t, ch); got[0] != "hi" {
		t.Fatalf("history on b = %q", got)
	}
	wantCode(t, "alice on a", alice.post(ch, "from a"), "ok")
	if got := alice.history(t, ch); got[0] != "from a" {
		t.Fatalf("history on a after its own post starts with %q, want \"from a\"", got[0])
	}
	// b reuses the version it read for sharedVersionTTL (what lets a
	// thousand readers share a page), then reads it again.
	reads := st.reads.Load()
	if got := alice.as(b).history(t, ch); got[0] != "hi" {
		t.Fatalf("history on b within sharedVersionTTL starts with %q, want the page it read (\"hi\")", got[0])
	}
	if n := st.reads.Load() - reads; n != 0 {
		t.Fatalf("history on b within sharedVersionTTL read the store %d times, want 0", n)
	}
	c.advance(sharedVersionTTL)
	if got := alice.as(b).history(t, ch); got[0] != "from a" {
		t.Fatalf("history on b after a post on a starts with %q, want \"from a\"", got[0])
	}

	if err := a.Revoke(t.Context(), bob.u, bob.token); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(t.Context(), bob.token); err != nil {
		t.Fatalf("a token revoked elsewhere within the TTL: %v, want still honoured", err)
	}
	c.advance(5 * time.Second)
	_, err = b.Authenticate(t.Context(), bob.token)
	wantCode(t, "a token revoked elsewhere after the TTL", err, "invalid_auth")
}

// A load that read the store before an invalidation does not put its stale
// result back.
func TestCacheMapRacingLoad(t *testing.T) {
	var m cacheMap[string, bool]
	m.init(16)
	gen := m.generation() // a load starts, reads "member"…
	m.drop("k")           // …the member leaves…
	m.put("k", true, 0, gen)
	if _, ok := m.get("k", 0); ok {
		t.Fatal("a load older than an invalidation was stored")
	}
	m.put("k", true, 0, m.generation())
	if v, ok := m.get("k", 0); !ok || !v {
		t.Fatal("a current load was not stored")
	}

	var v versionMap
	v.init(16)
	_, _, vg := v.get("C1", 0)               // a reader misses, reads LastSeq 7…
	v.committed("C1", 8)                     // …a post commits seq 8…
	v.load("C1", chanVersion{seq: 7}, 0, vg) // …the stale 7 must not be kept
	if got, ok, _ := v.get("C1", 0); ok {
		t.Fatalf("version %d kept from a load older than a commit", got)
	}
	_, _, vg = v.get("C1", 0)
	v.load("C1", chanVersion{seq: 8, pins: 2}, 0, vg)
	v.committed("C1", 10)
	v.committed("C1", 9) // out of order: versions only go up
	if got, _, _ := v.get("C1", 0); got != (chanVersion{10, 2}) {
		t.Fatalf("version = %+v, want seq 10 and the pins' 2", got)
	}
	_, _, vg = v.get("C2", 0)
	v.load("C2", chanVersion{seq: 3}, 100, vg) // a shared store's: valid until 100
	if got, ok, _ := v.get("C2", 99); !ok || got.seq != 3 {
		t.Fatalf("version before its expiry = %+v, %v; want 3", got, ok)
	}
	if _, ok, _ := v.get("C2", 100); ok {
		t.Fatal("version kept past its expiry")
	}
}

// Concurrent posts, joins, leaves and reads under the race detector: the
// answers stay consistent with the membership each caller holds.
func TestAccessCacheConcurrent(t *testing.T) {
	st := openSQLite(t)
	s := newService(st, true, newClock())
	alice, ch := general(t, s)
	users := make([]session, 4)
	for i := range users {
		users[i] = signupOn(t, s, "user"+string(rune('a'+i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(users))
	for _, u := range users {
		wg.Go(func() {
			for range 20 {
				if _, _, err := s.JoinChannel(t.Context(), u.u, ch); err != nil {
					errs <- err
					return
				}
				if err := u.post(ch, "in"); err != nil {
					errs <- err
					return
				}
				if _, err := s.LeaveChannel(t.Context(), u.u, ch); err != nil {
					errs <- err
					return
				}
				if err := u.post(ch, "out"); err == nil || confab.ErrorMessage(err) != "not_in_channel" {
					errs <- fmt.Errorf("post after leaving: %v, want not_in_channel", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := alice.history(t, ch); slices.Contains(got, "out") {
		t.Fatalf("a post after leaving was stored: %q", got)
	}
}

// The connections of a user share one cached *User: redeeming tickets
// reads the token and the user once, and rtm.connect's workspace once.
func TestRedeemTicketSharesTheUser(t *testing.T) {
	st := openSQLite(t)
	s := newService(st, true, newClock())
	alice := signupOn(t, s, "alice")
	var users []*confab.User
	before := st.reads.Load()
	for range 3 {
		tk, err := s.IssueTicket(t.Context(), alice.u, alice.token)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.RedeemTicket(t.Context(), tk.Value)
		if err != nil {
			t.Fatal(err)
		}
		u := a.User
		users = append(users, u)
		if _, err := s.Workspace(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.reads.Load() - before; n > 3 {
		t.Errorf("3 connects read the store %d times, want at most 3 (the token, the user, the workspace)", n)
	}
	if users[0] != users[1] || users[1] != users[2] || users[0].ID != alice.u.ID {
		t.Errorf("redeemed users %p %p %p, want one shared user %s", users[0], users[1], users[2], alice.u.ID)
	}
}

func (s *countingStore) FindChanges(ctx context.Context, ch string, after int64, limit int) ([]confab.Change, error) {
	s.changes.Add(1)
	return s.Store.FindChanges(ctx, ch, after, limit)
}

// Clients that catch up from the same checkpoint of a channel at the same
// version (a gateway's clients reconnecting together) share one read of
// its changes; a change makes the next catch-up read again, and see it.
func TestCatchUpsShareAChangesRead(t *testing.T) {
	st := openSQLite(t)
	s := newService(st, true, newClock())
	alice, ch := general(t, s)
	readers := make([]session, 20)
	for i := range readers {
		readers[i] = signupOn(t, s, fmt.Sprint("reader", i))
		if _, _, err := s.JoinChannel(t.Context(), readers[i].u, ch); err != nil {
			t.Fatal(err)
		}
	}
	// The readers' joins are the channel's first changes (1 to 20), their
	// sign-ups #general's: the readers are up to date on both.
	joins, gen := int64(len(readers)), lastSeq(t, st, generalOf(t, s, alice.u))
	for i := range 5 {
		wantCode(t, "post", alice.post(ch, fmt.Sprint("m", i)), "ok")
	}
	catchUp := func(r session) []string {
		t.Helper()
		out, err := s.CatchUp(t.Context(), r.u, map[string]int64{ch: joins + 2, gen.id: gen.seq}, 100)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, c := range out {
			for _, ev := range c.Events {
				var e struct{ Text string }
				if err := json.Unmarshal(ev, &e); err != nil {
					t.Fatal(err)
				}
				texts = append(texts, e.Text)
			}
		}
		return texts
	}
	before := st.changes.Load()
	for _, r := range readers {
		if got := catchUp(r); !slices.Equal(got, []string{"m2", "m3", "m4"}) {
			t.Fatalf("catch-up from 2 = %q", got)
		}
	}
	if n := st.changes.Load() - before; n != 1 {
		t.Errorf("%d catch-ups from one checkpoint read the changes %d times, want 1", len(readers), n)
	}
	wantCode(t, "post", alice.post(ch, "m5"), "ok")
	if got := catchUp(readers[0]); !slices.Equal(got, []string{"m2", "m3", "m4", "m5"}) {
		t.Fatalf("catch-up after a new post = %q", got)
	}
}

// Clients that share a catch-up's read share its events and one Memo for
// their encoding: a storm of reconnecting clients builds a channel's
// events once, not once per client. A different checkpoint gets its own.
func TestCatchUpsShareTheirEvents(t *testing.T) {
	st := openSQLite(t)
	s := newService(st, true, newClock())
	alice, ch := general(t, s)
	var readers []session
	for i := range 3 {
		r := signupOn(t, s, fmt.Sprint("reader", i))
		if _, _, err := s.JoinChannel(t.Context(), r.u, ch); err != nil {
			t.Fatal(err)
		}
		readers = append(readers, r)
	}
	gen := lastSeq(t, st, generalOf(t, s, alice.u)) // the readers' sign-ups: seen
	for i := range 5 {
		wantCode(t, "post", alice.post(ch, fmt.Sprint("m", i)), "ok")
	}
	catchUp := func(r session, from int64) CatchUpChannel {
		t.Helper()
		out, err := s.CatchUp(t.Context(), r.u, map[string]int64{ch: from, gen.id: gen.seq}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 || out[0].Channel != ch || len(out[0].Events) == 0 {
			t.Fatalf("catch-up from %d = %+v", from, out)
		}
		return out[0]
	}
	first := catchUp(readers[0], 2)
	if first.Memo == nil {
		t.Fatal("a shared catch-up has no Memo")
	}
	for _, r := range readers[1:] {
		got := catchUp(r, 2)
		if got.Memo != first.Memo || &got.Events[0] != &first.Events[0] {
			t.Fatalf("%s's catch-up from 2 has its own events or Memo; want %s's", r.u.Name, readers[0].u.Name)
		}
	}
	if other := catchUp(readers[1], 3); other.Memo == first.Memo || len(other.Events) != len(first.Events)-1 {
		t.Fatalf("catch-up from 3: %d events, Memo shared %v; want %d events of its own", len(other.Events), other.Memo == first.Memo, len(first.Events)-1)
	}
}
