package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
)

// ev is a WorkspaceEvent as a test expects it: kind, channel and user.
type ev struct{ kind, channel, user string }

func (e ev) String() string { return fmt.Sprintf("{%s ch=%s user=%s}", e.kind, e.channel, e.user) }

// MustEvents returns the workspace's whole event log.
func (f *fixture) MustEvents(workspaceID string) []confab.WorkspaceEvent {
	f.tb.Helper()
	evs, err := f.s.FindWorkspaceEvents(f.ctx, workspaceID, 0, 0)
	if err != nil {
		f.tb.Fatalf("FindWorkspaceEvents(%s) = %v", workspaceID, err)
	}
	return evs
}

// wantEvents checks that the workspace's events after seq after are want,
// at seqs after+1, after+2…, each of the workspace and stamped within
// [since, now]; it returns the last seq.
func (f *fixture) wantEvents(t *testing.T, what, workspaceID string, after int64, since time.Time, want ...ev) int64 {
	t.Helper()
	got, err := f.s.FindWorkspaceEvents(f.ctx, workspaceID, after, 0)
	if err != nil {
		t.Fatalf("%s: FindWorkspaceEvents = %v", what, err)
	}
	var kinds []ev
	for i, e := range got {
		kinds = append(kinds, ev{e.Kind, e.ChannelID, e.UserID})
		if e.Seq != after+int64(i)+1 || e.WorkspaceID != workspaceID {
			t.Errorf("%s: event %d = %+v, want seq %d of %s", what, i, e, after+int64(i)+1, workspaceID)
		}
		if e.Time < since.UnixMicro() || e.Time > time.Now().UnixMicro() {
			t.Errorf("%s: event %+v: Time %d not within the write (%d…now)", what, e, e.Time, since.UnixMicro())
		}
	}
	if !slices.Equal(kinds, want) {
		t.Fatalf("%s: events after %d = %v, want %v", what, after, kinds, want)
	}
	return after + int64(len(got))
}

// testWorkspaceEvents: each write appends what the Store contract says,
// once, in order, and nothing when it changes nothing or fails.
func testWorkspaceEvents(t *testing.T, f *fixture) {
	ctx := f.ctx
	start := time.Now()
	var seq int64
	step := func(what string, want ...ev) {
		t.Helper()
		seq = f.wantEvents(t, what, f.ws.ID, seq, start, want...)
	}
	step("CreateWorkspace (the owner joins unannounced)")

	alice := f.MustUser("alice")
	step("CreateUser", ev{confab.EventTeamJoin, "", alice.ID})
	bot := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: "robot", IsBot: true, Created: f.now()}
	if err := f.s.CreateUser(ctx, bot); err != nil {
		t.Fatal(err)
	}
	step("CreateUser(bot)", ev{confab.EventTeamJoin, "", bot.ID})
	_, _, appUser := f.MustApp("helper")
	step("CreateApp", ev{confab.EventTeamJoin, "", appUser.ID})
	taken := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: "alice", Created: f.now()}
	wantErr(t, "CreateUser(taken name)", f.s.CreateUser(ctx, taken), confab.ECONFLICT, "name_taken")
	a := &confab.App{WorkspaceID: f.ws.ID, Manifest: "{}", Created: f.now()}
	err := f.s.CreateApp(ctx, a, &confab.Bot{Name: "x"}, &confab.User{Name: "alice", Created: f.now()}, nil)
	wantErr(t, "CreateApp(taken name)", err, confab.ECONFLICT, "name_taken")
	step("failed CreateUser and CreateApp")

	general := f.MustChannel("plaza", confab.KindPublic, f.owner, alice)
	secret := f.MustChannel("secret", confab.KindPrivate, f.owner)
	step("CreateChannel (public, private)",
		ev{confab.EventChannelCreated, general.ID, f.owner.ID}, ev{confab.EventChannelCreated, secret.ID, f.owner.ID})
	f.MustDM(f.owner, alice)
	f.MustDM(f.owner, alice, bot)
	dup := &confab.Channel{ID: confab.NewID(confab.PrefixChannel), WorkspaceID: f.ws.ID, Kind: confab.KindPublic, Name: "plaza", Created: f.now()}
	wantErr(t, "CreateChannel(taken name)", f.s.CreateChannel(ctx, dup, nil), confab.ECONFLICT, "name_taken")
	step("CreateChannel (DM, group DM, taken name)")

	// Messages and reactions are the channel's change log, not this one.
	m := f.MustPost(general, alice, "hi")
	if _, err := f.s.AddReaction(ctx, general.ID, m.TS, alice.ID, "wave"); err != nil {
		t.Fatal(err)
	}
	step("CreateMessage, AddReaction")

	mustAdd := func(c *confab.Channel, u *confab.User, want bool) {
		t.Helper()
		if added, err := f.s.AddMember(ctx, c.ID, u.ID, f.now()); err != nil || added != want {
			t.Fatalf("AddMember(%s, %s) = %v, %v; want %v", c.Name, u.Name, added, err, want)
		}
	}
	mustRemove := func(c *confab.Channel, u *confab.User, want bool) {
		t.Helper()
		if removed, err := f.s.RemoveMember(ctx, c.ID, u.ID); err != nil || removed != want {
			t.Fatalf("RemoveMember(%s, %s) = %v, %v; want %v", c.Name, u.Name, removed, err, want)
		}
	}
	mustAdd(general, bot, true)
	mustAdd(general, bot, false)
	mustAdd(secret, alice, true)
	step("AddMember", ev{confab.EventMemberJoined, general.ID, bot.ID}, ev{confab.EventMemberJoined, secret.ID, alice.ID})
	_, err = f.s.AddMember(ctx, confab.NewID(confab.PrefixChannel), alice.ID, f.now())
	wantErr(t, "AddMember(unknown channel)", err, confab.ENOTFOUND, "channel_not_found")
	step("AddMember(unknown channel)")
	mustRemove(general, bot, true)
	mustRemove(general, bot, false)
	if removed, err := f.s.RemoveMember(ctx, confab.NewID(confab.PrefixChannel), alice.ID); err != nil || removed {
		t.Fatalf("RemoveMember(unknown channel) = %v, %v", removed, err)
	}
	step("RemoveMember", ev{confab.EventMemberLeft, general.ID, bot.ID})

	update := func(c *confab.Channel, upd confab.ChannelUpdate) {
		t.Helper()
		if _, err := f.s.UpdateChannel(ctx, c.ID, upd); err != nil {
			t.Fatalf("UpdateChannel(%s, %+v) = %v", c.Name, upd, err)
		}
	}
	name := func(s string) *string { return &s }
	yes, no := true, false
	update(general, confab.ChannelUpdate{Topic: &confab.Text{Value: "t", Creator: alice.ID, LastSet: f.now()}})
	update(general, confab.ChannelUpdate{Purpose: &confab.Text{Value: "p", Creator: alice.ID, LastSet: f.now()}})
	update(general, confab.ChannelUpdate{Name: name("plaza")})
	update(general, confab.ChannelUpdate{Archived: &no})
	update(general, confab.ChannelUpdate{})
	step("UpdateChannel (topic, purpose, same name, not archived)")
	update(general, confab.ChannelUpdate{Name: name("lobby")})
	update(general, confab.ChannelUpdate{Archived: &yes})
	update(general, confab.ChannelUpdate{Archived: &yes})
	update(general, confab.ChannelUpdate{Archived: &no})
	update(secret, confab.ChannelUpdate{Name: name("hidden"), Archived: &yes, Topic: &confab.Text{Value: "x"}})
	step("UpdateChannel",
		ev{confab.EventChannelRename, general.ID, ""},
		ev{confab.EventChannelArchive, general.ID, ""},
		ev{confab.EventChannelUnarchive, general.ID, ""},
		ev{confab.EventChannelRename, secret.ID, ""},
		ev{confab.EventChannelArchive, secret.ID, ""})
	_, err = f.s.UpdateChannel(ctx, secret.ID, confab.ChannelUpdate{Name: name("lobby"), Archived: &no})
	wantErr(t, "UpdateChannel(taken name)", err, confab.ECONFLICT, "name_taken")
	_, err = f.s.UpdateChannel(ctx, confab.NewID(confab.PrefixChannel), confab.ChannelUpdate{Name: name("x")})
	wantErr(t, "UpdateChannel(unknown)", err, confab.ENOTFOUND, "channel_not_found")
	step("failed UpdateChannel")

	status := "away"
	if _, err := f.s.UpdateUser(ctx, alice.ID, confab.UserUpdate{StatusText: &status}); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.UpdateUser(ctx, confab.NewID(confab.PrefixUser), confab.UserUpdate{StatusText: &status})
	wantErr(t, "UpdateUser(unknown)", err, confab.ENOTFOUND, "user_not_found")
	step("UpdateUser", ev{confab.EventUserChange, "", alice.ID})

	// Writes with a canceled context append nothing.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	f.s.CreateUser(canceled, &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: "late", Created: f.now()})
	f.s.CreateChannel(canceled, &confab.Channel{ID: confab.NewID(confab.PrefixChannel), WorkspaceID: f.ws.ID,
		Kind: confab.KindPublic, Name: "late", Created: f.now()}, nil)
	f.s.AddMember(canceled, general.ID, bot.ID, f.now())
	f.s.RemoveMember(canceled, general.ID, alice.ID)
	f.s.UpdateChannel(canceled, general.ID, confab.ChannelUpdate{Name: name("late")})
	step("canceled writes")

	// Each workspace has its own log, from seq 1.
	ws2, owner2 := f.MustWorkspace("globex")
	carol := f.MustUserIn(ws2.ID, "carol")
	c2 := f.MustChannelIn(ws2.ID, "plaza", confab.KindPublic, owner2)
	if _, err := f.s.AddMember(ctx, c2.ID, carol.ID, f.now()); err != nil {
		t.Fatal(err)
	}
	f.wantEvents(t, "another workspace", ws2.ID, 0, start,
		ev{confab.EventTeamJoin, "", carol.ID}, ev{confab.EventChannelCreated, c2.ID, f.owner.ID},
		ev{confab.EventMemberJoined, c2.ID, carol.ID})
	step("the first workspace, after the other's writes")
}

// testWorkspaceEventsPaging: pages by after and limit, in seq order.
func testWorkspaceEventsPaging(t *testing.T, f *fixture) {
	var users []string
	for i := range 7 {
		users = append(users, f.MustUser(fmt.Sprintf("u%d", i)).ID)
	}
	for _, tc := range []struct {
		after int64
		limit int
		want  []int64 // seqs
	}{
		{0, 3, seqRange(1, 3)},
		{3, 3, seqRange(4, 6)},
		{6, 3, []int64{7}},
		{7, 3, nil},
		{100, 0, nil},
		{0, 0, seqRange(1, 7)},
		{2, -1, seqRange(3, 7)},
		{-5, 2, seqRange(1, 2)},
	} {
		got, err := f.s.FindWorkspaceEvents(f.ctx, f.ws.ID, tc.after, tc.limit)
		if err != nil {
			t.Fatalf("FindWorkspaceEvents(after %d, limit %d) = %v", tc.after, tc.limit, err)
		}
		var seqs []int64
		for _, e := range got {
			seqs = append(seqs, e.Seq)
			if e.Kind != confab.EventTeamJoin || e.UserID != users[e.Seq-1] {
				t.Errorf("event %+v, want team_join of %s", e, users[e.Seq-1])
			}
		}
		if !slices.Equal(seqs, tc.want) {
			t.Errorf("FindWorkspaceEvents(after %d, limit %d) seqs = %v, want %v", tc.after, tc.limit, seqs, tc.want)
		}
	}
	got, err := f.s.FindWorkspaceEvents(f.ctx, confab.NewID(confab.PrefixWorkspace), 0, 10)
	if err != nil || len(got) != 0 {
		t.Errorf("FindWorkspaceEvents(unknown workspace) = %v, %v; want none", got, err)
	}
}

// testConcurrentWorkspaceEvents: concurrent logged writes of one
// workspace take every seq exactly once, and a reader that follows the log
// while they commit ("seq > after") never sees a seq before a lower one:
// it skips none.
func testConcurrentWorkspaceEvents(t *testing.T, f *fixture) {
	const joiners, creators = 40, 10
	var users []*confab.User
	for i := range joiners {
		users = append(users, f.MustUser(fmt.Sprintf("m%d", i)))
	}
	// Writers of different channels lock different channel rows: only the
	// log orders them.
	const channels = 8
	var chans []*confab.Channel
	for i := range channels {
		chans = append(chans, f.MustChannel(fmt.Sprintf("c%d", i), confab.KindPublic, f.owner))
	}
	const before = joiners + channels

	var done atomic.Bool
	type follow struct {
		seqs []int64
		err  error
	}
	followed := make(chan follow, 1)
	go func() {
		var seqs []int64
		var last int64
		for {
			finished := done.Load()
			evs, err := f.s.FindWorkspaceEvents(f.ctx, f.ws.ID, last, 7)
			if err != nil {
				followed <- follow{err: fmt.Errorf("FindWorkspaceEvents(after %d) = %w", last, err)}
				return
			}
			for _, e := range evs {
				seqs = append(seqs, e.Seq)
				last = e.Seq
			}
			if finished && len(evs) == 0 {
				break
			}
		}
		followed <- follow{seqs: seqs}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, 2*joiners+creators)
	for i, u := range users {
		wg.Go(func() {
			c := chans[i%channels]
			if _, err := f.s.AddMember(f.ctx, c.ID, u.ID, 1); err != nil {
				errs <- err
			}
			if i%4 == 0 {
				if _, err := f.s.RemoveMember(f.ctx, c.ID, u.ID); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range creators {
		wg.Go(func() {
			u := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: fmt.Sprintf("new%d", i), Created: 1}
			if err := f.s.CreateUser(f.ctx, u); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	done.Store(true)
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent write = %v", err)
	}
	const total = before + joiners + joiners/4 + creators

	evs := f.MustEvents(f.ws.ID)
	var all []int64
	joined := map[string]int{}
	for _, e := range evs {
		all = append(all, e.Seq)
		if e.Kind == confab.EventMemberJoined {
			joined[e.UserID]++
		}
	}
	if !slices.Equal(all, seqRange(1, total)) {
		t.Fatalf("seqs after concurrent writes = %v, want 1..%d each once", all, total)
	}
	for _, u := range users {
		if joined[u.ID] != 1 {
			t.Errorf("%s joined %d times in the log, want once", u.Name, joined[u.ID])
		}
	}
	if got := wantResult(t, "follower", followed); got.err != nil {
		t.Error(got.err)
	} else if !slices.Equal(got.seqs, seqRange(1, total)) {
		t.Errorf("a reader following the log saw seqs %v, want 1..%d in order, none skipped", got.seqs, total)
	}
}
