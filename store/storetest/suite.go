package storetest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/confab/confab"
)

// Run runs the conformance suite: every case is a parallel subtest on a
// fresh store from open.
func Run(t *testing.T, open func(t *testing.T) confab.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"Workspaces", testWorkspaces},
		{"Users", testUsers},
		{"Tokens", testTokens},
		{"Claims", testClaims},
		{"ConcurrentUserClaims", testConcurrentUserClaims},
		{"Channels", testChannels},
		{"General", testGeneral},
		{"DMs", testDMs},
		{"FindChannels", testFindChannels},
		{"UpdateChannel", testUpdateChannel},
		{"Membership", testMembership},
		{"FindMembers", testFindMembers},
		{"ReadMarker", testReadMarker},
		{"CreateMessage", testCreateMessage},
		{"MessageTS", testMessageTS},
		{"ClientMsgID", testClientMsgID},
		{"ConcurrentPosts", testConcurrentPosts},
		{"ConcurrentClientMsgID", testConcurrentClientMsgID},
		{"Threads", testThreads},
		{"HistoryPaging", testHistoryPaging},
		{"HistoryBounds", testHistoryBounds},
		{"UpdateMessage", testUpdateMessage},
		{"Tombstones", testTombstones},
		{"Reactions", testReactions},
		{"ReactionsOnPage", testReactionsOnPage},
		{"ReactionCaps", testReactionCaps},
		{"ConcurrentReactionCaps", testConcurrentReactionCaps},
		{"FindChanges", testFindChanges},
		{"SeqAtTS", testSeqAtTS},
		{"LatestMessages", testLatestMessages},
		{"ContextCanceled", testContextCanceled},
		{"AppMessages", testAppMessages},
		{"BroadcastReplies", testBroadcastReplies},
		{"FindChannelByName", testFindChannelByName},
		{"Mentions", testMentions},
		{"MentionsKinds", testMentionsKinds},
		{"Subtype", testSubtype},
		{"SystemMessages", testSystemMessages},
		{"Apps", testApps},
		{"AppPositions", testAppPositions},
		{"Scheduled", testScheduled},
		{"ScheduledBounds", testScheduledBounds},
		{"ConcurrentClaims", testConcurrentClaims},
		{"Pins", testPins},
		{"PinCap", testPinCap},
		{"UserEmails", testUserEmails},
		{"UpdateUser", testUpdateUser},
		{"SearchUsers", testSearchUsers},
		{"SearchUsersBound", testSearchUsersBound},
		{"FindMembersAmong", testFindMembersAmong},
		{"WorkspaceEvents", testWorkspaceEvents},
		{"WorkspaceEventsPaging", testWorkspaceEventsPaging},
		{"ConcurrentWorkspaceEvents", testConcurrentWorkspaceEvents},
		{"SearchText", testSearchText},
		{"SearchInjection", testSearchInjection},
		{"SearchReaders", testSearchReaders},
		{"SearchEdits", testSearchEdits},
		{"SearchFilters", testSearchFilters},
		{"SearchSort", testSearchSort},
		{"SearchPaging", testSearchPaging},
		{"ImportMessages", testImportMessages},
		{"ImportMessagesBad", testImportMessagesBad},
		{"ImportMessagesShared", testImportMessagesShared},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newFixture(t, open(t)))
		})
	}
}

func testWorkspaces(t *testing.T, f *fixture) {
	ctx := f.ctx
	if f.ws.OwnerID != f.owner.ID {
		t.Errorf("ws.OwnerID = %q, want owner %q", f.ws.OwnerID, f.owner.ID)
	}
	if f.owner.WorkspaceID != f.ws.ID {
		t.Errorf("owner.WorkspaceID = %q, want %q", f.owner.WorkspaceID, f.ws.ID)
	}
	for _, find := range []struct {
		name string
		fn   func() (*confab.Workspace, error)
	}{
		{"ByID", func() (*confab.Workspace, error) { return f.s.FindWorkspaceByID(ctx, f.ws.ID) }},
		{"ByDomain", func() (*confab.Workspace, error) { return f.s.FindWorkspaceByDomain(ctx, "acme") }},
	} {
		got, err := find.fn()
		if err != nil {
			t.Fatalf("FindWorkspace%s = %v", find.name, err)
		}
		if *got != *f.ws {
			t.Errorf("FindWorkspace%s = %+v, want %+v", find.name, *got, *f.ws)
		}
	}
	u, err := f.s.FindUserByID(ctx, f.owner.ID)
	if err != nil || u.Name != "owner" || u.WorkspaceID != f.ws.ID {
		t.Errorf("FindUserByID(owner) = %+v, %v", u, err)
	}

	// The domain is taken: nothing of the second workspace is created.
	ws2 := &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Name: "other", Domain: "acme", Created: f.now()}
	owner2 := &confab.User{ID: confab.NewID(confab.PrefixUser), Name: "boss", Created: f.now()}
	wantErr(t, "CreateWorkspace(taken domain)", f.s.CreateWorkspace(ctx, ws2, owner2), confab.ECONFLICT, "name_taken")
	_, err = f.s.FindUserByID(ctx, owner2.ID)
	wantErr(t, "FindUserByID(owner of failed workspace)", err, confab.ENOTFOUND, "user_not_found")
	_, err = f.s.FindWorkspaceByID(ctx, ws2.ID)
	wantErr(t, "FindWorkspaceByID(failed workspace)", err, confab.ENOTFOUND, "team_not_found")

	_, err = f.s.FindWorkspaceByID(ctx, confab.NewID(confab.PrefixWorkspace))
	wantErr(t, "FindWorkspaceByID(unknown)", err, confab.ENOTFOUND, "team_not_found")
	_, err = f.s.FindWorkspaceByDomain(ctx, "nope")
	wantErr(t, "FindWorkspaceByDomain(unknown)", err, confab.ENOTFOUND, "team_not_found")

	// Another domain is fine.
	other, _ := f.MustWorkspace("globex")
	if got, err := f.s.FindWorkspaceByDomain(ctx, "globex"); err != nil || got.ID != other.ID {
		t.Errorf("FindWorkspaceByDomain(globex) = %+v, %v; want %s", got, err, other.ID)
	}
}

func testUsers(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice := f.MustUser("alice")
	bot := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: "bot", IsBot: true, Created: f.now()}
	if err := f.s.CreateUser(ctx, bot); err != nil {
		t.Fatalf("CreateUser(bot) = %v", err)
	}
	for _, want := range []*confab.User{alice, bot} {
		got, err := f.s.FindUserByID(ctx, want.ID)
		if err != nil || *got != *want {
			t.Errorf("FindUserByID(%s) = %+v, %v; want %+v", want.Name, got, err, *want)
		}
		got, err = f.s.FindUserByName(ctx, f.ws.ID, want.Name)
		if err != nil || *got != *want {
			t.Errorf("FindUserByName(%s) = %+v, %v; want %+v", want.Name, got, err, *want)
		}
	}

	dup := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: "alice", Created: f.now()}
	wantErr(t, "CreateUser(taken name)", f.s.CreateUser(ctx, dup), confab.ECONFLICT, "name_taken")
	_, err := f.s.FindUserByID(ctx, dup.ID)
	wantErr(t, "FindUserByID(failed user)", err, confab.ENOTFOUND, "user_not_found")

	// The same name in another workspace is another user.
	ws2, _ := f.MustWorkspace("globex")
	alice2 := f.MustUserIn(ws2.ID, "alice")
	if got, err := f.s.FindUserByName(ctx, ws2.ID, "alice"); err != nil || got.ID != alice2.ID {
		t.Errorf("FindUserByName(globex, alice) = %+v, %v; want %s", got, err, alice2.ID)
	}
	if got, err := f.s.FindUserByName(ctx, f.ws.ID, "alice"); err != nil || got.ID != alice.ID {
		t.Errorf("FindUserByName(acme, alice) = %+v, %v; want %s", got, err, alice.ID)
	}

	_, err = f.s.FindUserByID(ctx, confab.NewID(confab.PrefixUser))
	wantErr(t, "FindUserByID(unknown)", err, confab.ENOTFOUND, "user_not_found")
	_, err = f.s.FindUserByName(ctx, f.ws.ID, "nobody")
	wantErr(t, "FindUserByName(unknown)", err, confab.ENOTFOUND, "user_not_found")
	_, err = f.s.FindUserByName(ctx, ws2.ID, "bot")
	wantErr(t, "FindUserByName(other workspace)", err, confab.ENOTFOUND, "user_not_found")

	// FindUsers pages one workspace's users by id.
	for i := range 5 {
		f.MustUser(fmt.Sprintf("user%d", i))
	}
	all, err := f.s.FindUsers(ctx, confab.UserFilter{WorkspaceID: f.ws.ID})
	if err != nil {
		t.Fatalf("FindUsers = %v", err)
	}
	if len(all) != 8 { // owner, alice, bot, user0..4
		t.Fatalf("FindUsers returned %d users, want 8", len(all))
	}
	if !slices.IsSortedFunc(all, func(a, b *confab.User) int { return cmp.Compare(a.ID, b.ID) }) {
		t.Errorf("FindUsers not in id order")
	}
	for _, u := range all {
		if u.WorkspaceID != f.ws.ID {
			t.Errorf("FindUsers returned %s of workspace %s", u.ID, u.WorkspaceID)
		}
	}
	var paged []*confab.User
	after := ""
	for range 10 {
		page, err := f.s.FindUsers(ctx, confab.UserFilter{WorkspaceID: f.ws.ID, AfterID: after, Limit: 3})
		if err != nil {
			t.Fatalf("FindUsers(after %q) = %v", after, err)
		}
		if len(page) > 3 {
			t.Fatalf("FindUsers(limit 3) returned %d", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].ID
	}
	if got, want := userIDs(paged), userIDs(all); !slices.Equal(got, want) {
		t.Errorf("FindUsers paged by 3 = %v, want %v", got, want)
	}
}

func testTokens(t *testing.T, f *fixture) {
	ctx := f.ctx
	tok := &confab.Token{Hash: []byte("0123456789abcdef0123456789abcdef"), UserID: f.owner.ID, Created: f.now(), LastUsed: 0}
	if err := f.s.CreateToken(ctx, tok); err != nil {
		t.Fatalf("CreateToken = %v", err)
	}
	got, err := f.s.FindToken(ctx, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatalf("FindToken = %v", err)
	}
	if string(got.Hash) != string(tok.Hash) || got.UserID != tok.UserID || got.Created != tok.Created {
		t.Errorf("FindToken = %+v, want %+v", got, tok)
	}
	_, err = f.s.FindToken(ctx, []byte("another hash"))
	wantErr(t, "FindToken(unknown)", err, confab.EUNAUTHORIZED, "invalid_auth")

	if err := f.s.DeleteToken(ctx, tok.Hash); err != nil {
		t.Fatalf("DeleteToken = %v", err)
	}
	_, err = f.s.FindToken(ctx, tok.Hash)
	wantErr(t, "FindToken(deleted)", err, confab.EUNAUTHORIZED, "invalid_auth")
	if err := f.s.DeleteToken(ctx, tok.Hash); err != nil {
		t.Errorf("DeleteToken(missing) = %v, want nil", err)
	}

	// DeleteUserTokens: a user's sessions but one go; another type of
	// token of theirs and others' sessions stay.
	bob := f.MustUser("bob")
	mk := func(name, user, typ string) []byte {
		h := []byte(name + strings.Repeat(".", 32-len(name)))
		if err := f.s.CreateToken(ctx, &confab.Token{Hash: h, UserID: user, Created: f.now(), Type: typ}); err != nil {
			t.Fatalf("CreateToken(%s) = %v", name, err)
		}
		return h
	}
	s1, s2, keep := mk("session 1", f.owner.ID, confab.TokenUser), mk("session 2", f.owner.ID, ""), mk("kept", f.owner.ID, confab.TokenUser)
	app, bobs := mk("app", f.owner.ID, confab.TokenApp), mk("bob's", bob.ID, confab.TokenUser)
	deleted, err := f.s.DeleteUserTokens(ctx, f.owner.ID, keep)
	slices.SortFunc(deleted, bytes.Compare)
	if want := [][]byte{s1, s2}; err != nil || !slices.EqualFunc(deleted, want, bytes.Equal) {
		t.Errorf("DeleteUserTokens = %q, %v; want %q", deleted, err, want)
	}
	for _, h := range [][]byte{s1, s2} {
		_, err := f.s.FindToken(ctx, h)
		wantErr(t, "FindToken(deleted session)", err, confab.EUNAUTHORIZED, "invalid_auth")
	}
	for _, h := range [][]byte{keep, app, bobs} {
		if _, err := f.s.FindToken(ctx, h); err != nil {
			t.Errorf("FindToken(%s) after DeleteUserTokens = %v", h, err)
		}
	}
	if got, err := f.s.DeleteUserTokens(ctx, f.owner.ID, keep); err != nil || len(got) != 0 {
		t.Errorf("DeleteUserTokens again = %q, %v; want none", got, err)
	}
}

func testChannels(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob := f.MustUser("alice"), f.MustUser("bob")
	c := &confab.Channel{
		ID: confab.NewID(confab.PrefixChannel), WorkspaceID: f.ws.ID, Kind: confab.KindPrivate, Name: "secret",
		Topic:     confab.Text{Value: "the topic", Creator: alice.ID, LastSet: 11},
		Purpose:   confab.Text{Value: "the purpose", Creator: bob.ID, LastSet: 12},
		CreatedBy: alice.ID, Created: f.now(),
	}
	if err := f.s.CreateChannel(ctx, c, []string{alice.ID, bob.ID}); err != nil {
		t.Fatalf("CreateChannel = %v", err)
	}
	if c.NumMembers != 2 {
		t.Errorf("CreateChannel set NumMembers = %d, want 2", c.NumMembers)
	}
	got, err := f.s.FindChannelByID(ctx, c.ID)
	if err != nil {
		t.Fatalf("FindChannelByID = %v", err)
	}
	if *got != *c {
		t.Errorf("FindChannelByID = %+v, want %+v", *got, *c)
	}
	if got.LastSeq != 0 || got.MessageCount != 0 || got.Archived {
		t.Errorf("new channel LastSeq, MessageCount, Archived = %d, %d, %v; want 0, 0, false", got.LastSeq, got.MessageCount, got.Archived)
	}
	for _, u := range []*confab.User{alice, bob} {
		m := f.MustMembership(c.ID, u.ID)
		want := confab.Membership{ChannelID: c.ID, UserID: u.ID, JoinedAt: c.Created}
		if *m != want {
			t.Errorf("membership of %s = %+v, want %+v", u.Name, *m, want)
		}
	}
	_, err = f.s.FindMembership(ctx, c.ID, f.owner.ID)
	wantErr(t, "FindMembership(non-member)", err, confab.ENOTFOUND, "not_in_channel")

	// Names are unique per workspace, whatever the kind.
	dup := &confab.Channel{ID: confab.NewID(confab.PrefixChannel), WorkspaceID: f.ws.ID, Kind: confab.KindPublic, Name: "secret", Created: f.now()}
	wantErr(t, "CreateChannel(taken name)", f.s.CreateChannel(ctx, dup, []string{bob.ID}), confab.ECONFLICT, "name_taken")
	_, err = f.s.FindChannelByID(ctx, dup.ID)
	wantErr(t, "FindChannelByID(failed channel)", err, confab.ENOTFOUND, "channel_not_found")

	ws2, _ := f.MustWorkspace("globex")
	other := f.MustChannelIn(ws2.ID, "secret", confab.KindPublic)
	if other.NumMembers != 0 {
		t.Errorf("channel without members: NumMembers = %d", other.NumMembers)
	}

	_, err = f.s.FindChannelByID(ctx, confab.NewID(confab.PrefixChannel))
	wantErr(t, "FindChannelByID(unknown)", err, confab.ENOTFOUND, "channel_not_found")
	_, err = f.s.FindChannelByKey(ctx, f.ws.ID, "")
	wantErr(t, "FindChannelByKey(named channels have no key)", err, confab.ENOTFOUND, "channel_not_found")
}

func testDMs(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob, carol := f.MustUser("alice"), f.MustUser("bob"), f.MustUser("carol")
	dm := f.MustDM(alice, bob)
	if dm.NumMembers != 2 {
		t.Errorf("DM NumMembers = %d, want 2", dm.NumMembers)
	}
	got, err := f.s.FindChannelByKey(ctx, f.ws.ID, dmKey([]string{bob.ID, alice.ID}))
	if err != nil || got.ID != dm.ID || got.Kind != confab.KindDM {
		t.Errorf("FindChannelByKey(alice,bob) = %+v, %v; want %s", got, err, dm.ID)
	}

	// Same pair again: the key is taken.
	again := &confab.Channel{ID: confab.NewID(confab.PrefixDM), WorkspaceID: f.ws.ID, Kind: confab.KindDM,
		Key: dm.Key, Created: f.now()}
	wantErr(t, "CreateChannel(same DM key)", f.s.CreateChannel(ctx, again, []string{alice.ID, bob.ID}), confab.ECONFLICT, "name_taken")

	// Nameless channels do not conflict with each other by name.
	dm2 := f.MustDM(alice, carol)
	g := f.MustDM(alice, bob, carol)
	if g.Kind != confab.KindGroupDM || g.NumMembers != 3 {
		t.Errorf("group DM = %+v", g)
	}
	for _, c := range []*confab.Channel{dm, dm2, g} {
		got, err := f.s.FindChannelByKey(ctx, f.ws.ID, c.Key)
		if err != nil || got.ID != c.ID {
			t.Errorf("FindChannelByKey(%s) = %+v, %v; want %s", c.Key, got, err, c.ID)
		}
	}
	_, err = f.s.FindChannelByKey(ctx, f.ws.ID, dmKey([]string{bob.ID, carol.ID}))
	wantErr(t, "FindChannelByKey(no such DM)", err, confab.ENOTFOUND, "channel_not_found")
	ws2, _ := f.MustWorkspace("globex")
	_, err = f.s.FindChannelByKey(ctx, ws2.ID, dm.Key)
	wantErr(t, "FindChannelByKey(other workspace)", err, confab.ENOTFOUND, "channel_not_found")
}

func testFindChannels(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob := f.MustUser("alice"), f.MustUser("bob")
	pubA := f.MustChannel("plaza", confab.KindPublic, alice, bob)
	pubB := f.MustChannel("random", confab.KindPublic, bob)
	priv := f.MustChannel("secret", confab.KindPrivate, alice)
	privBob := f.MustChannel("bobs", confab.KindPrivate, bob)
	old := f.MustChannel("old", confab.KindPublic, alice)
	archived := true
	if _, err := f.s.UpdateChannel(ctx, old.ID, confab.ChannelUpdate{Archived: &archived}); err != nil {
		t.Fatalf("UpdateChannel(archive) = %v", err)
	}
	dm := f.MustDM(alice, bob)
	ws2, _ := f.MustWorkspace("globex")
	f.MustChannelIn(ws2.ID, "plaza", confab.KindPublic)

	gen := f.general // alice and bob joined it with the workspace
	ids := func(cs ...*confab.Channel) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.ID
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name string
		flt  confab.ChannelFilter
		want []string
	}{
		{"workspace", confab.ChannelFilter{}, ids(gen, pubA, pubB, priv, privBob, old, dm)},
		{"member", confab.ChannelFilter{MemberID: alice.ID}, ids(gen, pubA, priv, old, dm)},
		{"member+public", confab.ChannelFilter{MemberID: alice.ID, IncludePublic: true}, ids(gen, pubA, pubB, priv, old, dm)},
		{"kinds", confab.ChannelFilter{Kinds: []string{confab.KindPrivate, confab.KindDM}}, ids(priv, privBob, dm)},
		{"member+kinds", confab.ChannelFilter{MemberID: bob.ID, Kinds: []string{confab.KindPrivate}}, ids(privBob)},
		{"member+public+kinds", confab.ChannelFilter{MemberID: alice.ID, IncludePublic: true, Kinds: []string{confab.KindPublic}}, ids(gen, pubA, pubB, old)},
		{"exclude archived", confab.ChannelFilter{Kinds: []string{confab.KindPublic}, ExcludeArchived: true}, ids(gen, pubA, pubB)},
		{"limit", confab.ChannelFilter{Limit: 2}, ids(gen, pubA, pubB, priv, privBob, old, dm)[:2]},
	}
	for _, tc := range tests {
		flt := tc.flt
		flt.WorkspaceID = f.ws.ID
		got, err := f.s.FindChannels(ctx, flt)
		if err != nil {
			t.Fatalf("FindChannels(%s) = %v", tc.name, err)
		}
		var gotIDs []string
		for _, c := range got {
			gotIDs = append(gotIDs, c.ID)
		}
		if !slices.Equal(gotIDs, tc.want) {
			t.Errorf("FindChannels(%s) = %v, want %v", tc.name, gotIDs, tc.want)
		}
		// Paging by one with AfterID yields the same list.
		var paged []string
		flt.Limit = 1
		for range 20 {
			page, err := f.s.FindChannels(ctx, flt)
			if err != nil {
				t.Fatalf("FindChannels(%s, after %q) = %v", tc.name, flt.AfterID, err)
			}
			if len(page) == 0 {
				break
			}
			if len(page) != 1 {
				t.Fatalf("FindChannels(%s, limit 1) returned %d", tc.name, len(page))
			}
			paged = append(paged, page[0].ID)
			flt.AfterID = page[0].ID
		}
		if tc.flt.Limit == 0 && !slices.Equal(paged, tc.want) {
			t.Errorf("FindChannels(%s) paged by 1 = %v, want %v", tc.name, paged, tc.want)
		}
	}
}

func testUpdateChannel(t *testing.T, f *fixture) {
	ctx := f.ctx
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	topic := confab.Text{Value: "new topic", Creator: f.owner.ID, LastSet: 100}
	got, err := f.s.UpdateChannel(ctx, c.ID, confab.ChannelUpdate{Topic: &topic})
	if err != nil {
		t.Fatalf("UpdateChannel(topic) = %v", err)
	}
	if got.Topic != topic || got.Purpose != c.Purpose || got.Archived {
		t.Errorf("UpdateChannel(topic) = %+v", got)
	}
	purpose := confab.Text{Value: "new purpose", Creator: f.owner.ID, LastSet: 101}
	archived := true
	got, err = f.s.UpdateChannel(ctx, c.ID, confab.ChannelUpdate{Purpose: &purpose, Archived: &archived})
	if err != nil {
		t.Fatalf("UpdateChannel(purpose, archived) = %v", err)
	}
	if got.Topic != topic || got.Purpose != purpose || !got.Archived {
		t.Errorf("UpdateChannel(purpose, archived) = %+v", got)
	}
	if read := f.MustChannelByID(c.ID); *read != *got {
		t.Errorf("FindChannelByID after update = %+v, want %+v", *read, *got)
	}
	archived = false
	if got, err = f.s.UpdateChannel(ctx, c.ID, confab.ChannelUpdate{Archived: &archived}); err != nil || got.Archived {
		t.Errorf("UpdateChannel(unarchive) = %+v, %v", got, err)
	}
	_, err = f.s.UpdateChannel(ctx, confab.NewID(confab.PrefixChannel), confab.ChannelUpdate{Topic: &topic})
	wantErr(t, "UpdateChannel(unknown)", err, confab.ENOTFOUND, "channel_not_found")

	// A rename keeps the rest; a name another channel holds is name_taken
	// and changes nothing.
	name := "renamed"
	if got, err = f.s.UpdateChannel(ctx, c.ID, confab.ChannelUpdate{Name: &name}); err != nil || got.Name != name || got.Topic != topic {
		t.Errorf("UpdateChannel(name) = %+v, %v", got, err)
	}
	other := f.MustChannel("other", confab.KindPublic, f.owner)
	_, err = f.s.UpdateChannel(ctx, other.ID, confab.ChannelUpdate{Name: &name, Topic: &topic})
	wantErr(t, "UpdateChannel(taken name)", err, confab.ECONFLICT, "name_taken")
	if read := f.MustChannelByID(other.ID); read.Name != "other" || read.Topic != other.Topic {
		t.Errorf("channel after a refused rename = %+v, want %+v", *read, *other)
	}
	if got, err = f.s.UpdateChannel(ctx, c.ID, confab.ChannelUpdate{Name: &name}); err != nil || got.Name != name {
		t.Errorf("UpdateChannel(same name) = %+v, %v", got, err)
	}
}

func testMembership(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob := f.MustUser("alice"), f.MustUser("bob")
	c := f.MustChannel("plaza", confab.KindPublic, alice)

	added, err := f.s.AddMember(ctx, c.ID, bob.ID, 500)
	if err != nil || !added {
		t.Fatalf("AddMember(bob) = %v, %v; want true, nil", added, err)
	}
	if n := f.MustChannelByID(c.ID).NumMembers; n != 2 {
		t.Errorf("NumMembers after add = %d, want 2", n)
	}
	if m := f.MustMembership(c.ID, bob.ID); m.JoinedAt != 500 {
		t.Errorf("bob JoinedAt = %d, want 500", m.JoinedAt)
	}
	added, err = f.s.AddMember(ctx, c.ID, bob.ID, 600)
	if err != nil || added {
		t.Errorf("AddMember(bob again) = %v, %v; want false, nil", added, err)
	}
	if n := f.MustChannelByID(c.ID).NumMembers; n != 2 {
		t.Errorf("NumMembers after second add = %d, want 2", n)
	}
	if m := f.MustMembership(c.ID, bob.ID); m.JoinedAt != 500 {
		t.Errorf("bob JoinedAt after second add = %d, want 500 (unchanged)", m.JoinedAt)
	}
	_, err = f.s.AddMember(ctx, confab.NewID(confab.PrefixChannel), bob.ID, 1)
	wantErr(t, "AddMember(unknown channel)", err, confab.ENOTFOUND, "channel_not_found")

	// FindMemberships lists a user's channels by channel id.
	d := f.MustChannel("design", confab.KindPrivate, bob)
	ms, err := f.s.FindMemberships(ctx, bob.ID)
	if err != nil {
		t.Fatalf("FindMemberships = %v", err)
	}
	want := []string{f.general.ID, c.ID, d.ID}
	slices.Sort(want)
	var got []string
	for _, m := range ms {
		if m.UserID != bob.ID {
			t.Errorf("FindMemberships(bob) returned a membership of %s", m.UserID)
		}
		got = append(got, m.ChannelID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("FindMemberships(bob) = %v, want %v", got, want)
	}
	if ms, err := f.s.FindMemberships(ctx, f.owner.ID); err != nil || len(ms) != 1 || ms[0].ChannelID != f.general.ID {
		t.Errorf("FindMemberships(owner) = %v, %v; want only the general channel", ms, err)
	}

	// UpdateMembership changes only what is set.
	yes, no := true, false
	m, err := f.s.UpdateMembership(ctx, c.ID, bob.ID, confab.MembershipUpdate{IsMuted: &yes})
	if err != nil || !m.IsMuted || m.IsStarred {
		t.Errorf("UpdateMembership(muted) = %+v, %v", m, err)
	}
	m, err = f.s.UpdateMembership(ctx, c.ID, bob.ID, confab.MembershipUpdate{IsStarred: &yes})
	if err != nil || !m.IsMuted || !m.IsStarred {
		t.Errorf("UpdateMembership(starred) = %+v, %v", m, err)
	}
	m, err = f.s.UpdateMembership(ctx, c.ID, bob.ID, confab.MembershipUpdate{IsMuted: &no})
	if err != nil || m.IsMuted || !m.IsStarred {
		t.Errorf("UpdateMembership(unmuted) = %+v, %v", m, err)
	}
	if read := f.MustMembership(c.ID, bob.ID); *read != *m {
		t.Errorf("FindMembership after update = %+v, want %+v", *read, *m)
	}
	if other := f.MustMembership(c.ID, alice.ID); other.IsMuted || other.IsStarred {
		t.Errorf("alice's flags changed: %+v", other)
	}
	_, err = f.s.UpdateMembership(ctx, c.ID, f.owner.ID, confab.MembershipUpdate{IsMuted: &yes})
	wantErr(t, "UpdateMembership(non-member)", err, confab.ENOTFOUND, "not_in_channel")

	// RemoveMember.
	removed, err := f.s.RemoveMember(ctx, c.ID, bob.ID)
	if err != nil || !removed {
		t.Errorf("RemoveMember(bob) = %v, %v; want true, nil", removed, err)
	}
	removed, err = f.s.RemoveMember(ctx, c.ID, bob.ID)
	if err != nil || removed {
		t.Errorf("RemoveMember(bob again) = %v, %v; want false, nil", removed, err)
	}
	if n := f.MustChannelByID(c.ID).NumMembers; n != 1 {
		t.Errorf("NumMembers after remove = %d, want 1", n)
	}
	_, err = f.s.FindMembership(ctx, c.ID, bob.ID)
	wantErr(t, "FindMembership(removed)", err, confab.ENOTFOUND, "not_in_channel")
	// Rejoining is a fresh membership.
	if added, err := f.s.AddMember(ctx, c.ID, bob.ID, 700); err != nil || !added {
		t.Errorf("AddMember(bob rejoins) = %v, %v; want true, nil", added, err)
	}
	if m := f.MustMembership(c.ID, bob.ID); m.JoinedAt != 700 || m.IsStarred {
		t.Errorf("rejoined membership = %+v, want JoinedAt 700 and no flags", m)
	}
	if n := f.MustChannelByID(c.ID).NumMembers; n != 2 {
		t.Errorf("NumMembers after rejoin = %d, want 2", n)
	}
}

func testFindMembers(t *testing.T, f *fixture) {
	ctx := f.ctx
	var users []*confab.User
	for i := range 7 {
		users = append(users, f.MustUser(fmt.Sprintf("u%d", i)))
	}
	c := f.MustChannel("plaza", confab.KindPublic, users...)
	f.MustChannel("other", confab.KindPublic, f.owner)
	want := userIDs(users)
	slices.Sort(want)
	all, err := f.s.FindMembers(ctx, confab.MemberFilter{ChannelID: c.ID})
	if err != nil || !slices.Equal(all, want) {
		t.Errorf("FindMembers = %v, %v; want %v", all, err, want)
	}
	var paged []string
	after := ""
	for range 10 {
		page, err := f.s.FindMembers(ctx, confab.MemberFilter{ChannelID: c.ID, AfterUserID: after, Limit: 3})
		if err != nil {
			t.Fatalf("FindMembers(after %q) = %v", after, err)
		}
		if len(page) > 3 {
			t.Fatalf("FindMembers(limit 3) returned %d", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1]
	}
	if !slices.Equal(paged, want) {
		t.Errorf("FindMembers paged by 3 = %v, want %v", paged, want)
	}
	if got, err := f.s.FindMembers(ctx, confab.MemberFilter{ChannelID: confab.NewID(confab.PrefixChannel)}); err != nil || len(got) != 0 {
		t.Errorf("FindMembers(unknown channel) = %v, %v; want none", got, err)
	}
}

func testReadMarker(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob, carol := f.MustUser("alice"), f.MustUser("bob"), f.MustUser("carol")
	c := f.MustChannel("plaza", confab.KindPublic, alice, carol)
	f.MustPost(c, alice, "one")
	two := f.MustPost(c, alice, "two")
	three := f.MustPost(c, alice, "three")
	f.MustReply(two, alice, "a reply")

	// Carol joined before anything was posted: three unread.
	ch := f.MustChannelByID(c.ID)
	if m := f.MustMembership(c.ID, carol.ID); ch.MessageCount-m.LastReadCount != 3 {
		t.Errorf("carol unread = %d - %d, want 3", ch.MessageCount, m.LastReadCount)
	}
	// Alice has read what she posted: her marker moved with each top-level
	// post, and not with her reply.
	if m := f.MustMembership(c.ID, alice.ID); m.LastReadSeq != three.Seq || m.LastReadTS != three.TS || m.LastReadCount != three.Num {
		t.Errorf("poster's marker = seq %d ts %d count %d; want her last post %d %d %d",
			m.LastReadSeq, m.LastReadTS, m.LastReadCount, three.Seq, three.TS, three.Num)
	}
	// Bob joins now: his marker is at the latest message, nothing unread.
	if _, err := f.s.AddMember(ctx, c.ID, bob.ID, f.now()); err != nil {
		t.Fatalf("AddMember = %v", err)
	}
	m := f.MustMembership(c.ID, bob.ID)
	if m.LastReadSeq != three.Seq || m.LastReadTS != three.TS || m.LastReadCount != ch.MessageCount {
		t.Errorf("new member marker = seq %d ts %d count %d; want %d %d %d",
			m.LastReadSeq, m.LastReadTS, m.LastReadCount, three.Seq, three.TS, ch.MessageCount)
	}
	f.MustPost(c, alice, "four")
	f.MustReply(two, alice, "another reply") // replies are not unread
	five := f.MustPost(c, alice, "five")
	ch = f.MustChannelByID(c.ID)
	if unread := ch.MessageCount - f.MustMembership(c.ID, bob.ID).LastReadCount; unread != 2 {
		t.Errorf("bob unread = %d, want 2", unread)
	}
	// Reading up to five: seq, ts and count come from the message.
	got, err := f.s.UpdateMembership(ctx, c.ID, bob.ID, confab.MembershipUpdate{LastRead: five})
	if err != nil {
		t.Fatalf("UpdateMembership(LastRead) = %v", err)
	}
	if got.LastReadSeq != five.Seq || got.LastReadTS != five.TS || got.LastReadCount != five.Num {
		t.Errorf("marker = seq %d ts %d count %d; want %d %d %d",
			got.LastReadSeq, got.LastReadTS, got.LastReadCount, five.Seq, five.TS, five.Num)
	}
	if unread := ch.MessageCount - got.LastReadCount; unread != 0 {
		t.Errorf("bob unread after reading = %d, want 0", unread)
	}
	// Marking an older message read moves the marker back (mark as unread).
	got, err = f.s.UpdateMembership(ctx, c.ID, bob.ID, confab.MembershipUpdate{LastRead: three})
	if err != nil || got.LastReadSeq != three.Seq || ch.MessageCount-got.LastReadCount != 2 {
		t.Errorf("UpdateMembership(LastRead older) = %+v, %v; want seq %d and 2 unread", got, err, three.Seq)
	}
}

func testCreateMessage(t *testing.T, f *fixture) {
	ctx := f.ctx
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	var posted []*confab.Message
	for i := range 3 {
		m := &confab.Message{ChannelID: c.ID, UserID: f.owner.ID, Text: fmt.Sprintf("hello %d", i), TS: 1_700_000_000_000_000 + int64(i)*1000}
		created, err := f.s.CreateMessage(ctx, m)
		if err != nil || !created {
			t.Fatalf("CreateMessage = %v, %v", created, err)
		}
		want := int64(i + 1)
		if m.Seq != want || m.ChangeSeq != want || m.Num != want || m.TS != 1_700_000_000_000_000+int64(i)*1000 {
			t.Errorf("message %d: seq %d change %d num %d ts %d; want seq=change=num=%d and ts as given", i, m.Seq, m.ChangeSeq, m.Num, m.TS, want)
		}
		posted = append(posted, m)
	}
	ch := f.MustChannelByID(c.ID)
	if ch.LastSeq != 3 || ch.MessageCount != 3 {
		t.Errorf("channel LastSeq %d MessageCount %d, want 3 3", ch.LastSeq, ch.MessageCount)
	}
	for _, want := range posted {
		got := f.MustMessage(c.ID, want.TS)
		if msgString(got) != msgString(want) {
			t.Errorf("FindMessage = %s\nwant %s", msgString(got), msgString(want))
		}
	}
	got := f.MustMessages(confab.MessageFilter{ChannelID: c.ID})
	if len(got) != 3 {
		t.Fatalf("FindMessages returned %d, want 3", len(got))
	}
	for i := range got {
		if msgString(got[i]) != msgString(posted[i]) {
			t.Errorf("FindMessages[%d] = %s\nwant %s", i, msgString(got[i]), msgString(posted[i]))
		}
	}
	_, err := f.s.CreateMessage(ctx, &confab.Message{ChannelID: confab.NewID(confab.PrefixChannel), UserID: f.owner.ID, Text: "x", TS: 1})
	wantErr(t, "CreateMessage(unknown channel)", err, confab.ENOTFOUND, "channel_not_found")
	_, err = f.s.FindMessage(ctx, c.ID, 12345)
	wantErr(t, "FindMessage(unknown ts)", err, confab.ENOTFOUND, "message_not_found")
	_, err = f.s.FindMessage(ctx, confab.NewID(confab.PrefixChannel), posted[0].TS)
	wantErr(t, "FindMessage(unknown channel)", err, confab.ENOTFOUND, "message_not_found")
}

// testMessageTS: ts stays unique and increasing even when callers pass the
// same or an older one (clock skew between API processes).
func testMessageTS(t *testing.T, f *fixture) {
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	other := f.MustChannel("other", confab.KindPublic, f.owner)
	const base = 1_700_000_000_000_000
	tests := []struct {
		ch     *confab.Channel
		ts     int64
		wantTS int64
	}{
		{c, base, base},
		{c, base, base + 1},
		{c, base - 500, base + 2},
		{c, base + 2, base + 3},
		{c, base + 100, base + 100},
		{other, base, base}, // per channel
	}
	for i, tc := range tests {
		m := f.MustCreate(&confab.Message{ChannelID: tc.ch.ID, UserID: f.owner.ID, Text: "x", TS: tc.ts})
		if m.TS != tc.wantTS {
			t.Errorf("post %d with ts %d: got ts %d, want %d", i, tc.ts, m.TS, tc.wantTS)
		}
	}
}

func testClientMsgID(t *testing.T, f *fixture) {
	ctx := f.ctx
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	other := f.MustChannel("other", confab.KindPublic, f.owner)
	orig := f.MustCreate(&confab.Message{ChannelID: c.ID, UserID: f.owner.ID, Text: "first", TS: 1_000_000, ClientMsgID: "cmid-1"})
	f.MustPost(c, f.owner, "in between")

	retry := &confab.Message{ChannelID: c.ID, UserID: f.owner.ID, Text: "retry text", TS: 9_000_000_000_000_000, ClientMsgID: "cmid-1"}
	created, err := f.s.CreateMessage(ctx, retry)
	if err != nil || created {
		t.Fatalf("CreateMessage(retry) = %v, %v; want false, nil", created, err)
	}
	if msgString(retry) != msgString(orig) {
		t.Errorf("retry filled with %s\nwant original %s", msgString(retry), msgString(orig))
	}
	if ch := f.MustChannelByID(c.ID); ch.LastSeq != 2 || ch.MessageCount != 2 {
		t.Errorf("after retry LastSeq %d MessageCount %d, want 2 2 (nothing written)", ch.LastSeq, ch.MessageCount)
	}
	// The same client_msg_id in another channel is another message.
	m := &confab.Message{ChannelID: other.ID, UserID: f.owner.ID, Text: "elsewhere", TS: 1_000_000, ClientMsgID: "cmid-1"}
	if created, err := f.s.CreateMessage(ctx, m); err != nil || !created {
		t.Errorf("CreateMessage(same cmid, other channel) = %v, %v; want true, nil", created, err)
	}
	// Messages without client_msg_id never collide.
	for range 2 {
		f.MustCreate(&confab.Message{ChannelID: c.ID, UserID: f.owner.ID, Text: "no cmid", TS: 1})
	}
}

func testConcurrentPosts(t *testing.T, f *fixture) {
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	const writers, each = 50, 4
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				m := &confab.Message{ChannelID: c.ID, UserID: f.owner.ID, Text: fmt.Sprintf("w%d-%d", w, i), TS: 1_700_000_000_000_000}
				if _, err := f.s.CreateMessage(f.ctx, m); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent CreateMessage = %v", err)
	}
	const n = writers * each
	ms := f.MustMessages(confab.MessageFilter{ChannelID: c.ID})
	if got := seqs(ms); !slices.Equal(got, seqRange(1, n)) {
		t.Fatalf("seqs after %d concurrent posts = %v, want 1..%d", n, got, n)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].TS <= ms[i-1].TS {
			t.Errorf("ts not increasing with seq: seq %d ts %d, seq %d ts %d", ms[i-1].Seq, ms[i-1].TS, ms[i].Seq, ms[i].TS)
		}
		if ms[i].Num != ms[i].Seq {
			t.Errorf("seq %d has Num %d", ms[i].Seq, ms[i].Num)
		}
	}
	if ch := f.MustChannelByID(c.ID); ch.LastSeq != n || ch.MessageCount != n {
		t.Errorf("channel LastSeq %d MessageCount %d, want %d", ch.LastSeq, ch.MessageCount, n)
	}
}

func testConcurrentClientMsgID(t *testing.T, f *fixture) {
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	const n = 50
	type result struct {
		created bool
		m       *confab.Message
		err     error
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := &confab.Message{ChannelID: c.ID, UserID: f.owner.ID, Text: fmt.Sprintf("try %d", i), TS: 1_700_000_000_000_000, ClientMsgID: "same"}
			created, err := f.s.CreateMessage(f.ctx, m)
			results <- result{created, m, err}
		})
	}
	wg.Wait()
	close(results)
	var createdN int
	var first *confab.Message
	for r := range results {
		if r.err != nil {
			t.Fatalf("CreateMessage = %v", r.err)
		}
		if r.created {
			createdN++
		}
		if first == nil {
			first = r.m
		} else if r.m.Seq != first.Seq || r.m.TS != first.TS || r.m.Text != first.Text {
			t.Errorf("answers differ: %s vs %s", msgString(r.m), msgString(first))
		}
	}
	if createdN != 1 {
		t.Errorf("%d of %d concurrent posts with one client_msg_id created a message, want 1", createdN, n)
	}
	if ms := f.MustMessages(confab.MessageFilter{ChannelID: c.ID}); len(ms) != 1 {
		t.Errorf("channel holds %d messages, want 1", len(ms))
	}
}

func testThreads(t *testing.T, f *fixture) {
	ctx := f.ctx
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	parent := f.MustPost(c, f.owner, "parent")
	other := f.MustPost(c, f.owner, "other parent")
	r1 := f.MustReply(parent, f.owner, "r1")
	f.MustReply(other, f.owner, "other reply")
	mid := f.MustPost(c, f.owner, "top")
	r2 := f.MustReply(parent, f.owner, "r2")

	if r1.ThreadTS != parent.TS || r1.Num != 2 {
		t.Errorf("reply r1 ThreadTS %d Num %d; want %d 2 (replies do not count)", r1.ThreadTS, r1.Num, parent.TS)
	}
	if ch := f.MustChannelByID(c.ID); ch.MessageCount != 3 || ch.LastSeq != 6 {
		t.Errorf("channel MessageCount %d LastSeq %d, want 3 6", ch.MessageCount, ch.LastSeq)
	}
	p := f.MustMessage(c.ID, parent.TS)
	if p.ReplyCount != 2 || p.LatestReply != r2.TS {
		t.Errorf("parent ReplyCount %d LatestReply %d; want 2 %d", p.ReplyCount, p.LatestReply, r2.TS)
	}
	if p.ChangeSeq != parent.Seq {
		t.Errorf("a reply changed the parent's ChangeSeq to %d", p.ChangeSeq)
	}

	tests := []struct {
		name string
		flt  confab.MessageFilter
		want []int64
	}{
		{"thread", confab.MessageFilter{ThreadTS: parent.TS}, []int64{parent.Seq, r1.Seq, r2.Seq}},
		{"thread desc", confab.MessageFilter{ThreadTS: parent.TS, Desc: true}, []int64{r2.Seq, r1.Seq, parent.Seq}},
		{"thread limit", confab.MessageFilter{ThreadTS: parent.TS, Limit: 2}, []int64{parent.Seq, r1.Seq}},
		{"thread desc limit", confab.MessageFilter{ThreadTS: parent.TS, Desc: true, Limit: 2}, []int64{r2.Seq, r1.Seq}},
		{"thread after parent", confab.MessageFilter{ThreadTS: parent.TS, After: parent.Seq}, []int64{r1.Seq, r2.Seq}},
		{"thread after r1", confab.MessageFilter{ThreadTS: parent.TS, After: r1.Seq}, []int64{r2.Seq}},
		{"thread before r2", confab.MessageFilter{ThreadTS: parent.TS, Before: r2.Seq, Desc: true}, []int64{r1.Seq, parent.Seq}},
		{"top level", confab.MessageFilter{TopLevel: true}, []int64{parent.Seq, other.Seq, mid.Seq}},
		{"top level desc limit", confab.MessageFilter{TopLevel: true, Desc: true, Limit: 2}, []int64{mid.Seq, other.Seq}},
		{"everything", confab.MessageFilter{}, seqRange(1, 6)},
	}
	for _, tc := range tests {
		tc.flt.ChannelID = c.ID
		if got := seqs(f.MustMessages(tc.flt)); !slices.Equal(got, tc.want) {
			t.Errorf("FindMessages(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}

	// Deleting a reply takes it off the parent's count.
	if _, err := f.s.DeleteMessage(ctx, c.ID, r1.TS); err != nil {
		t.Fatalf("DeleteMessage(reply) = %v", err)
	}
	if p := f.MustMessage(c.ID, parent.TS); p.ReplyCount != 1 {
		t.Errorf("parent ReplyCount after deleting a reply = %d, want 1", p.ReplyCount)
	}
	if got := seqs(f.MustMessages(confab.MessageFilter{ChannelID: c.ID, ThreadTS: parent.TS})); !slices.Equal(got, []int64{parent.Seq, r2.Seq}) {
		t.Errorf("thread after deleting r1 = %v", got)
	}
}

// fill posts n top-level messages to c from several goroutines and returns
// once all are stored.
func fill(tb testing.TB, s confab.Store, channelID, userID string, n int) {
	tb.Helper()
	const writers = 64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int)
	for range writers {
		wg.Go(func() {
			for i := range next {
				m := &confab.Message{ChannelID: channelID, UserID: userID, Text: fmt.Sprintf("message %d of the history, with some text to make it look real", i), TS: 1_600_000_000_000_000}
				if _, err := s.CreateMessage(tb.Context(), m); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		tb.Fatalf("fill %d messages: %v", n, firstErr)
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func testHistoryPaging(t *testing.T, f *fixture) {
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	const n = 1500
	fill(t, f.s, c.ID, f.owner.ID, n)

	// Back from the newest, as conversations.history pages.
	var back []*confab.Message
	before := int64(0)
	for range n {
		page := f.MustMessages(confab.MessageFilter{ChannelID: c.ID, Before: before, Desc: true, Limit: 100})
		if len(page) > 100 {
			t.Fatalf("page of %d, limit 100", len(page))
		}
		if len(page) == 0 {
			break
		}
		back = append(back, page...)
		before = page[len(page)-1].Seq
	}
	if got := seqs(back); !slices.Equal(got, seqRange(n, 1)) {
		t.Fatalf("paged back %d messages: %v…, want %d..1 each once", len(got), got[:min(len(got), 10)], n)
	}
	for i := 1; i < len(back); i++ {
		if back[i].TS >= back[i-1].TS {
			t.Fatalf("ts not decreasing paging back at seq %d", back[i].Seq)
		}
	}
	// Forward from the start, as catch-up pages.
	var fwd []int64
	after := int64(0)
	for range n {
		page := f.MustMessages(confab.MessageFilter{ChannelID: c.ID, After: after, Limit: 333})
		if len(page) == 0 {
			break
		}
		fwd = append(fwd, seqs(page)...)
		after = page[len(page)-1].Seq
	}
	if !slices.Equal(fwd, seqRange(1, n)) {
		t.Fatalf("paged forward %d messages, want 1..%d each once", len(fwd), n)
	}
}

func testHistoryBounds(t *testing.T, f *fixture) {
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	for i := range 30 {
		f.MustPost(c, f.owner, fmt.Sprintf("m%d", i))
	}
	tests := []struct {
		name string
		flt  confab.MessageFilter
		want []int64
	}{
		{"after", confab.MessageFilter{After: 25}, seqRange(26, 30)},
		{"before", confab.MessageFilter{Before: 4}, seqRange(1, 3)},
		{"between", confab.MessageFilter{After: 10, Before: 20}, seqRange(11, 19)},
		{"between desc", confab.MessageFilter{After: 10, Before: 20, Desc: true}, seqRange(19, 11)},
		{"between desc limit", confab.MessageFilter{After: 10, Before: 20, Desc: true, Limit: 3}, seqRange(19, 17)},
		{"between asc limit", confab.MessageFilter{After: 10, Before: 20, Limit: 3}, seqRange(11, 13)},
		{"newest", confab.MessageFilter{Desc: true, Limit: 5}, seqRange(30, 26)},
		{"oldest", confab.MessageFilter{Limit: 5}, seqRange(1, 5)},
		{"empty range", confab.MessageFilter{After: 10, Before: 11}, nil},
		{"past the end", confab.MessageFilter{After: 30}, nil},
	}
	for _, tc := range tests {
		tc.flt.ChannelID = c.ID
		if got := seqs(f.MustMessages(tc.flt)); !slices.Equal(got, tc.want) {
			t.Errorf("FindMessages(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := f.MustMessages(confab.MessageFilter{ChannelID: confab.NewID(confab.PrefixChannel)}); len(got) != 0 {
		t.Errorf("FindMessages(unknown channel) = %d messages, want none", len(got))
	}
}

func testUpdateMessage(t *testing.T, f *fixture) {
	ctx := f.ctx
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	m := f.MustPost(c, f.owner, "typo")
	f.MustPost(c, f.owner, "next")
	text := "fixed"
	got, err := f.s.UpdateMessage(ctx, c.ID, m.TS, confab.MessageUpdate{Text: &text}, m.TS+5)
	if err != nil {
		t.Fatalf("UpdateMessage = %v", err)
	}
	want := *m
	want.Text, want.EditedTS, want.ChangeSeq = "fixed", m.TS+5, 3
	if msgString(got) != msgString(&want) {
		t.Errorf("UpdateMessage = %s\nwant %s", msgString(got), msgString(&want))
	}
	if read := f.MustMessage(c.ID, m.TS); msgString(read) != msgString(&want) {
		t.Errorf("FindMessage after edit = %s\nwant %s", msgString(read), msgString(&want))
	}
	if ch := f.MustChannelByID(c.ID); ch.LastSeq != 3 || ch.MessageCount != 2 {
		t.Errorf("channel after edit LastSeq %d MessageCount %d, want 3 2", ch.LastSeq, ch.MessageCount)
	}
	_, err = f.s.UpdateMessage(ctx, c.ID, 42, confab.MessageUpdate{Text: &text}, 1)
	wantErr(t, "UpdateMessage(unknown ts)", err, confab.ENOTFOUND, "message_not_found")
	_, err = f.s.UpdateMessage(ctx, confab.NewID(confab.PrefixChannel), m.TS, confab.MessageUpdate{Text: &text}, 1)
	wantErr(t, "UpdateMessage(unknown channel)", err, confab.ENOTFOUND, "message_not_found")
	if ch := f.MustChannelByID(c.ID); ch.LastSeq != 3 {
		t.Errorf("failed edits took a seq: LastSeq %d, want 3", ch.LastSeq)
	}
}

func testTombstones(t *testing.T, f *fixture) {
	ctx := f.ctx
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	a := f.MustPost(c, f.owner, "a")
	b := f.MustPost(c, f.owner, "b")
	cc := f.MustPost(c, f.owner, "c")
	del, err := f.s.DeleteMessage(ctx, c.ID, b.TS)
	if err != nil {
		t.Fatalf("DeleteMessage = %v", err)
	}
	if !del.Deleted || del.Text != "" || del.ChangeSeq != 4 || del.Seq != b.Seq || del.TS != b.TS {
		t.Errorf("DeleteMessage = %s; want a tombstone with ChangeSeq 4", msgString(del))
	}
	if got := f.MustMessage(c.ID, b.TS); !got.Deleted || got.Text != "" || got.ChangeSeq != 4 {
		t.Errorf("FindMessage(tombstone) = %s", msgString(got))
	}
	if got := seqs(f.MustMessages(confab.MessageFilter{ChannelID: c.ID})); !slices.Equal(got, []int64{a.Seq, cc.Seq}) {
		t.Errorf("FindMessages = %v, want the tombstone left out", got)
	}
	if got := seqs(f.MustMessages(confab.MessageFilter{ChannelID: c.ID, IncludeDeleted: true})); !slices.Equal(got, []int64{a.Seq, b.Seq, cc.Seq}) {
		t.Errorf("FindMessages(IncludeDeleted) = %v, want all three", got)
	}
	if got := seqs(f.MustMessages(confab.MessageFilter{ChannelID: c.ID, Desc: true, Limit: 2})); !slices.Equal(got, []int64{cc.Seq, a.Seq}) {
		t.Errorf("FindMessages(desc, limit 2) = %v, want [3 1]", got)
	}
	if ch := f.MustChannelByID(c.ID); ch.LastSeq != 4 || ch.MessageCount != 3 {
		t.Errorf("channel LastSeq %d MessageCount %d, want 4 3", ch.LastSeq, ch.MessageCount)
	}

	text := "zombie"
	_, err = f.s.UpdateMessage(ctx, c.ID, b.TS, confab.MessageUpdate{Text: &text}, 1)
	wantErr(t, "UpdateMessage(tombstone)", err, confab.ENOTFOUND, "message_not_found")
	_, err = f.s.DeleteMessage(ctx, c.ID, b.TS)
	wantErr(t, "DeleteMessage(tombstone)", err, confab.ENOTFOUND, "message_not_found")
	_, err = f.s.AddReaction(ctx, c.ID, b.TS, f.owner.ID, "skull")
	wantErr(t, "AddReaction(tombstone)", err, confab.ENOTFOUND, "message_not_found")
	_, err = f.s.RemoveReaction(ctx, c.ID, b.TS, f.owner.ID, "skull")
	wantErr(t, "RemoveReaction(tombstone)", err, confab.ENOTFOUND, "message_not_found")
	_, err = f.s.DeleteMessage(ctx, c.ID, 42)
	wantErr(t, "DeleteMessage(unknown)", err, confab.ENOTFOUND, "message_not_found")
	if ch := f.MustChannelByID(c.ID); ch.LastSeq != 4 {
		t.Errorf("failed changes took a seq: LastSeq %d, want 4", ch.LastSeq)
	}
}

func testReactions(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob, carol := f.MustUser("alice"), f.MustUser("bob"), f.MustUser("carol")
	c := f.MustChannel("plaza", confab.KindPublic, alice, bob, carol)
	m := f.MustPost(c, alice, "react to me") // seq 1

	add := func(u *confab.User, name string, wantSeq int64) {
		t.Helper()
		rc, err := f.s.AddReaction(ctx, c.ID, m.TS, u.ID, name)
		if err != nil {
			t.Fatalf("AddReaction(%s, %s) = %v", u.Name, name, err)
		}
		want := confab.ReactionChange{ChannelID: c.ID, Seq: wantSeq, MessageTS: m.TS, UserID: u.ID, Name: name}
		if *rc != want {
			t.Errorf("AddReaction(%s, %s) = %+v, want %+v", u.Name, name, *rc, want)
		}
	}
	add(alice, "thumbsup", 2)
	add(bob, "tada", 3)
	add(bob, "thumbsup", 4)
	add(carol, "thumbsup", 5)

	got := f.MustMessage(c.ID, m.TS)
	want := []confab.Reaction{{Name: "thumbsup", Users: []string{alice.ID, bob.ID, carol.ID}}, {Name: "tada", Users: []string{bob.ID}}}
	if fmt.Sprint(got.Reactions) != fmt.Sprint(want) {
		t.Errorf("Reactions = %v, want %v", got.Reactions, want)
	}
	if got.ChangeSeq != m.Seq {
		t.Errorf("reactions changed the message's ChangeSeq to %d", got.ChangeSeq)
	}

	_, err := f.s.AddReaction(ctx, c.ID, m.TS, bob.ID, "tada")
	wantErr(t, "AddReaction(again)", err, confab.ECONFLICT, "already_reacted")
	_, err = f.s.RemoveReaction(ctx, c.ID, m.TS, carol.ID, "tada")
	wantErr(t, "RemoveReaction(never added)", err, confab.ENOTFOUND, "no_reaction")
	_, err = f.s.AddReaction(ctx, c.ID, 42, bob.ID, "tada")
	wantErr(t, "AddReaction(unknown message)", err, confab.ENOTFOUND, "message_not_found")
	_, err = f.s.RemoveReaction(ctx, c.ID, 42, bob.ID, "tada")
	wantErr(t, "RemoveReaction(unknown message)", err, confab.ENOTFOUND, "message_not_found")
	if ch := f.MustChannelByID(c.ID); ch.LastSeq != 5 {
		t.Errorf("failed reactions took a seq: LastSeq %d, want 5", ch.LastSeq)
	}

	rc, err := f.s.RemoveReaction(ctx, c.ID, m.TS, bob.ID, "thumbsup")
	if err != nil {
		t.Fatalf("RemoveReaction = %v", err)
	}
	if wantRC := (confab.ReactionChange{ChannelID: c.ID, Seq: 6, MessageTS: m.TS, UserID: bob.ID, Name: "thumbsup", Removed: true}); *rc != wantRC {
		t.Errorf("RemoveReaction = %+v, want %+v", *rc, wantRC)
	}
	_, err = f.s.RemoveReaction(ctx, c.ID, m.TS, bob.ID, "thumbsup")
	wantErr(t, "RemoveReaction(again)", err, confab.ENOTFOUND, "no_reaction")
	got = f.MustMessage(c.ID, m.TS)
	want = []confab.Reaction{{Name: "thumbsup", Users: []string{alice.ID, carol.ID}}, {Name: "tada", Users: []string{bob.ID}}}
	if fmt.Sprint(got.Reactions) != fmt.Sprint(want) {
		t.Errorf("Reactions after removal = %v, want %v", got.Reactions, want)
	}

	// Re-adding takes a new seq and puts the user last.
	add(bob, "thumbsup", 7)
	got = f.MustMessage(c.ID, m.TS)
	want = []confab.Reaction{{Name: "thumbsup", Users: []string{alice.ID, carol.ID, bob.ID}}, {Name: "tada", Users: []string{bob.ID}}}
	if fmt.Sprint(got.Reactions) != fmt.Sprint(want) {
		t.Errorf("Reactions after re-add = %v, want %v", got.Reactions, want)
	}
	// Removing the last user of an emoji removes the group.
	if _, err := f.s.RemoveReaction(ctx, c.ID, m.TS, bob.ID, "tada"); err != nil {
		t.Fatalf("RemoveReaction(tada) = %v", err)
	}
	got = f.MustMessage(c.ID, m.TS)
	want = []confab.Reaction{{Name: "thumbsup", Users: []string{alice.ID, carol.ID, bob.ID}}}
	if fmt.Sprint(got.Reactions) != fmt.Sprint(want) {
		t.Errorf("Reactions after removing tada = %v, want %v", got.Reactions, want)
	}
}

// testReactionCaps checks AddReaction's caps (confab.MaxUserReactions
// per user, confab.MaxReactionEmoji distinct names per message), their
// errors and their order, that only current reactions count, and that a
// refused reaction takes no seq and keeps the contract's order.
func testReactionCaps(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob, carol := f.MustUser("alice"), f.MustUser("bob"), f.MustUser("carol")
	c := f.MustChannel("plaza", confab.KindPublic, alice, bob, carol)
	m := f.MustPost(c, alice, "react to me")
	name := func(i int) string { return fmt.Sprintf("e%02d", i) }
	add := func(u *confab.User, name string) {
		t.Helper()
		if _, err := f.s.AddReaction(ctx, c.ID, m.TS, u.ID, name); err != nil {
			t.Fatalf("AddReaction(%s, %s) = %v", u.Name, name, err)
		}
	}
	refused := func(u *confab.User, name, msg string) {
		t.Helper()
		before := f.MustChannelByID(c.ID).LastSeq
		_, err := f.s.AddReaction(ctx, c.ID, m.TS, u.ID, name)
		wantErr(t, fmt.Sprintf("AddReaction(%s, %s)", u.Name, name), err, confab.ECONFLICT, msg)
		if after := f.MustChannelByID(c.ID).LastSeq; after != before {
			t.Errorf("refused AddReaction(%s, %s) took a seq: LastSeq %d, want %d", u.Name, name, after, before)
		}
	}

	// One user: MaxUserReactions, then too_many_reactions.
	for i := range confab.MaxUserReactions {
		add(alice, name(i))
	}
	refused(alice, name(confab.MaxUserReactions), "too_many_reactions")
	refused(alice, name(0), "already_reacted") // already_reacted comes first
	// A removed reaction frees its place; re-adding its tombstone counts.
	if _, err := f.s.RemoveReaction(ctx, c.ID, m.TS, alice.ID, name(0)); err != nil {
		t.Fatalf("RemoveReaction = %v", err)
	}
	add(alice, name(0))
	refused(alice, name(confab.MaxUserReactions), "too_many_reactions")

	// Other users fill the message up to MaxReactionEmoji distinct names;
	// each may still join a name that is there.
	next := confab.MaxUserReactions
	for _, u := range []*confab.User{bob, carol} {
		for n := 0; n < confab.MaxUserReactions-1 && next < confab.MaxReactionEmoji; n++ {
			add(u, name(next))
			next++
		}
	}
	if next != confab.MaxReactionEmoji {
		t.Fatalf("test setup: %d distinct names, want %d", next, confab.MaxReactionEmoji)
	}
	refused(carol, name(next), "too_many_emoji")
	add(carol, name(1)) // an existing name: no new emoji
	// A user at their own cap asking for a new name on a full message is
	// told about their own cap first.
	refused(alice, name(next), "too_many_reactions")

	// The last user of a name removing it frees an emoji place.
	if _, err := f.s.RemoveReaction(ctx, c.ID, m.TS, bob.ID, name(confab.MaxUserReactions)); err != nil {
		t.Fatalf("RemoveReaction = %v", err)
	}
	add(carol, name(next))
	refused(bob, name(next+1), "too_many_emoji")

	got := f.MustMessage(c.ID, m.TS)
	if len(got.Reactions) != confab.MaxReactionEmoji {
		t.Errorf("%d reaction groups, want %d", len(got.Reactions), confab.MaxReactionEmoji)
	}
	perUser := map[string]int{}
	for i, r := range got.Reactions {
		for _, u := range r.Users {
			perUser[u]++
		}
		if i > 0 && r.Name == got.Reactions[i-1].Name {
			t.Errorf("group %s twice", r.Name)
		}
	}
	for _, u := range []*confab.User{alice, bob, carol} {
		if perUser[u.ID] > confab.MaxUserReactions {
			t.Errorf("%s has %d reactions, over %d", u.Name, perUser[u.ID], confab.MaxUserReactions)
		}
	}
	// The contract's order: e01 (alice's, oldest) first with carol last in
	// it; e00, re-added by alice after e01..e22, comes after e22; the name
	// carol added last comes last.
	want := []string{name(1)}
	for i := 2; i < confab.MaxUserReactions; i++ {
		want = append(want, name(i))
	}
	want = append(want, name(0))
	for i := confab.MaxUserReactions + 1; i <= next; i++ {
		want = append(want, name(i))
	}
	var names []string
	for _, r := range got.Reactions {
		names = append(names, r.Name)
	}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("groups in order %v, want %v", names, want)
	}
	if u := got.Reactions[0].Users; fmt.Sprint(u) != fmt.Sprint([]string{alice.ID, carol.ID}) {
		t.Errorf("users of %s = %v, want [alice carol]", got.Reactions[0].Name, u)
	}
}

// testConcurrentReactionCaps races adders against each cap: exactly the
// cap's number succeed, the rest get its error, and the message ends with
// what succeeded, in seq order.
func testConcurrentReactionCaps(t *testing.T, f *fixture) {
	alice := f.MustUser("alice")
	c := f.MustChannel("plaza", confab.KindPublic, alice)

	// One user adding MaxUserReactions+7 names at once.
	m := f.MustPost(c, alice, "one user")
	n := confab.MaxUserReactions + 7
	oneUser := raceAdd(t, f, c.ID, m.TS, n, func(i int) (string, string) { return alice.ID, fmt.Sprintf("e%02d", i) })
	if len(oneUser.ok) != confab.MaxUserReactions || oneUser.refused["too_many_reactions"] != n-confab.MaxUserReactions {
		t.Errorf("one user, %d names at once: %d added, refused %v; want %d added, %d too_many_reactions",
			n, len(oneUser.ok), oneUser.refused, confab.MaxUserReactions, n-confab.MaxUserReactions)
	}
	oneUser.check(t, f.MustMessage(c.ID, m.TS))

	// Many users, each adding a name of their own, at once.
	m = f.MustPost(c, alice, "many users")
	n = confab.MaxReactionEmoji + 10
	manyUsers := raceAdd(t, f, c.ID, m.TS, n, func(i int) (string, string) {
		return fmt.Sprintf("U%012d", i), fmt.Sprintf("e%02d", i)
	})
	if len(manyUsers.ok) != confab.MaxReactionEmoji || manyUsers.refused["too_many_emoji"] != n-confab.MaxReactionEmoji {
		t.Errorf("%d users, a name each, at once: %d added, refused %v; want %d added, %d too_many_emoji",
			n, len(manyUsers.ok), manyUsers.refused, confab.MaxReactionEmoji, n-confab.MaxReactionEmoji)
	}
	manyUsers.check(t, f.MustMessage(c.ID, m.TS))
}

// raced is the outcome of raceAdd: the reactions added by seq, and the
// refusals by error.
type raced struct {
	ok      map[int64]confab.ReactionChange
	refused map[string]int
}

// raceAdd runs n AddReaction calls on one message at once, the i-th
// adding reaction(i) (user id, name).
func raceAdd(t *testing.T, f *fixture, channelID string, ts int64, n int, reaction func(i int) (userID, name string)) raced {
	t.Helper()
	out := raced{ok: map[int64]confab.ReactionChange{}, refused: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			u, name := reaction(i)
			rc, err := f.s.AddReaction(f.ctx, channelID, ts, u, name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if confab.ErrorCode(err) == confab.EINTERNAL {
					t.Errorf("AddReaction(%s, %s) = %v", u, name, err)
				}
				out.refused[confab.ErrorMessage(err)]++
				return
			}
			out.ok[rc.Seq] = *rc
		})
	}
	close(start)
	wg.Wait()
	return out
}

// check compares m's reactions with what succeeded: one group per name, in
// the seq order of their reactions.
func (r raced) check(t *testing.T, m *confab.Message) {
	t.Helper()
	var rs []confab.UserReaction
	for seq, rc := range r.ok {
		rs = append(rs, confab.UserReaction{Name: rc.Name, UserID: rc.UserID, Seq: seq})
	}
	if want := confab.GroupReactions(rs); fmt.Sprint(m.Reactions) != fmt.Sprint(want) {
		t.Errorf("Reactions = %v, want %v", m.Reactions, want)
	}
}

func testReactionsOnPage(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob := f.MustUser("alice"), f.MustUser("bob")
	c := f.MustChannel("plaza", confab.KindPublic, alice, bob)
	var ms []*confab.Message
	for i := range 6 {
		ms = append(ms, f.MustPost(c, alice, fmt.Sprintf("m%d", i)))
	}
	parent := ms[1]
	reply := f.MustReply(parent, bob, "reply")
	react := func(m *confab.Message, u *confab.User, name string) {
		t.Helper()
		if _, err := f.s.AddReaction(ctx, c.ID, m.TS, u.ID, name); err != nil {
			t.Fatalf("AddReaction = %v", err)
		}
	}
	react(ms[0], alice, "one")
	react(ms[4], bob, "four")
	react(ms[4], alice, "four")
	react(reply, alice, "reply")
	react(ms[5], bob, "gone")
	if _, err := f.s.RemoveReaction(ctx, c.ID, ms[5].TS, bob.ID, "gone"); err != nil {
		t.Fatalf("RemoveReaction = %v", err)
	}
	wantBySeq := map[int64]string{
		ms[0].Seq: fmt.Sprint([]confab.Reaction{{Name: "one", Users: []string{alice.ID}}}),
		ms[4].Seq: fmt.Sprint([]confab.Reaction{{Name: "four", Users: []string{bob.ID, alice.ID}}}),
		reply.Seq: fmt.Sprint([]confab.Reaction{{Name: "reply", Users: []string{alice.ID}}}),
	}
	for _, flt := range []confab.MessageFilter{
		{ChannelID: c.ID},
		{ChannelID: c.ID, Desc: true, Limit: 3},
		{ChannelID: c.ID, TopLevel: true},
		{ChannelID: c.ID, ThreadTS: parent.TS},
	} {
		for _, m := range f.MustMessages(flt) {
			var want string
			if w, ok := wantBySeq[m.Seq]; ok {
				want = w
			} else {
				want = fmt.Sprint([]confab.Reaction(nil))
			}
			if got := fmt.Sprint(m.Reactions); got != want {
				t.Errorf("FindMessages(%+v): seq %d Reactions = %s, want %s", flt, m.Seq, got, want)
			}
		}
	}
}

func testFindChanges(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob := f.MustUser("alice"), f.MustUser("bob")
	c := f.MustChannel("plaza", confab.KindPublic, alice, bob)
	m1 := f.MustPost(c, alice, "m1") // 1
	m2 := f.MustPost(c, alice, "m2") // 2
	edit := func(m *confab.Message, text string) {
		t.Helper()
		if _, err := f.s.UpdateMessage(ctx, c.ID, m.TS, confab.MessageUpdate{Text: &text}, m.TS+1); err != nil {
			t.Fatalf("UpdateMessage = %v", err)
		}
	}
	edit(m1, "m1 v2")                                                            // 3
	if _, err := f.s.AddReaction(ctx, c.ID, m2.TS, bob.ID, "eyes"); err != nil { // 4
		t.Fatal(err)
	}
	edit(m1, "m1 v3")                                                          // 5
	if _, err := f.s.AddReaction(ctx, c.ID, m1.TS, bob.ID, "ok"); err != nil { // 6
		t.Fatal(err)
	}
	if _, err := f.s.RemoveReaction(ctx, c.ID, m2.TS, bob.ID, "eyes"); err != nil { // 7
		t.Fatal(err)
	}
	if _, err := f.s.DeleteMessage(ctx, c.ID, m2.TS); err != nil { // 8
		t.Fatal(err)
	}
	m3 := f.MustPost(c, bob, "m3") // 9

	// Each message and each (message, user, emoji) reaction appears once,
	// in its latest state, at the seq of its latest change.
	type entry struct {
		seq  int64
		desc string
	}
	describe := func(ch confab.Change) entry {
		switch {
		case ch.Message != nil && ch.Reaction == nil:
			m := ch.Message
			if m.ChangeSeq != ch.Seq {
				t.Errorf("change %d: Message.ChangeSeq = %d", ch.Seq, m.ChangeSeq)
			}
			return entry{ch.Seq, fmt.Sprintf("msg seq=%d ts=%d text=%q deleted=%v edited=%v", m.Seq, m.TS, m.Text, m.Deleted, m.EditedTS != 0)}
		case ch.Reaction != nil && ch.Message == nil:
			r := ch.Reaction
			if r.Seq != ch.Seq || r.ChannelID != c.ID {
				t.Errorf("change %d: Reaction %+v", ch.Seq, *r)
			}
			return entry{ch.Seq, fmt.Sprintf("reaction msg=%d user=%s name=%s removed=%v", r.MessageTS, r.UserID, r.Name, r.Removed)}
		}
		t.Errorf("change %d has Message %v and Reaction %v, want exactly one", ch.Seq, ch.Message, ch.Reaction)
		return entry{ch.Seq, "bad"}
	}
	all := []entry{
		{5, fmt.Sprintf("msg seq=%d ts=%d text=%q deleted=false edited=true", m1.Seq, m1.TS, "m1 v3")},
		{6, fmt.Sprintf("reaction msg=%d user=%s name=ok removed=false", m1.TS, bob.ID)},
		{7, fmt.Sprintf("reaction msg=%d user=%s name=eyes removed=true", m2.TS, bob.ID)},
		{8, fmt.Sprintf("msg seq=%d ts=%d text=%q deleted=true edited=false", m2.Seq, m2.TS, "")},
		{9, fmt.Sprintf("msg seq=%d ts=%d text=%q deleted=false edited=false", m3.Seq, m3.TS, "m3")},
	}
	tests := []struct {
		after int64
		limit int
		want  []entry
	}{
		{0, 0, all},
		{0, 100, all},
		{0, 2, all[:2]},
		{2, 0, all},
		{5, 0, all[1:]},
		{6, 2, all[2:4]},
		{8, 0, all[4:]},
		{9, 0, nil},
	}
	for _, tc := range tests {
		changes, err := f.s.FindChanges(ctx, c.ID, tc.after, tc.limit)
		if err != nil {
			t.Fatalf("FindChanges(%d, %d) = %v", tc.after, tc.limit, err)
		}
		var got []entry
		for _, ch := range changes {
			got = append(got, describe(ch))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("FindChanges(after %d, limit %d) =\n%v\nwant\n%v", tc.after, tc.limit, got, tc.want)
		}
	}
	if got, err := f.s.FindChanges(ctx, confab.NewID(confab.PrefixChannel), 0, 10); err != nil || len(got) != 0 {
		t.Errorf("FindChanges(unknown channel) = %v, %v; want none", got, err)
	}
}

func testSeqAtTS(t *testing.T, f *fixture) {
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	for _, ts := range []int64{1000, 2000, 3000} {
		f.MustCreate(&confab.Message{ChannelID: c.ID, UserID: f.owner.ID, Text: "x", TS: ts})
	}
	tests := []struct {
		ts        int64
		wantSeq   int64
		wantExact bool
	}{
		{999, 0, false},
		{1000, 1, true},
		{1500, 1, false},
		{2000, 2, true},
		{2999, 2, false},
		{3000, 3, true},
		{9_999_999, 3, false},
	}
	for _, tc := range tests {
		seq, exact, err := f.s.SeqAtTS(f.ctx, c.ID, tc.ts)
		if err != nil || seq != tc.wantSeq || exact != tc.wantExact {
			t.Errorf("SeqAtTS(%d) = %d, %v, %v; want %d, %v, nil", tc.ts, seq, exact, err, tc.wantSeq, tc.wantExact)
		}
	}
	empty := f.MustChannel("empty", confab.KindPublic, f.owner)
	if seq, exact, err := f.s.SeqAtTS(f.ctx, empty.ID, 5000); err != nil || seq != 0 || exact {
		t.Errorf("SeqAtTS(empty channel) = %d, %v, %v; want 0, false, nil", seq, exact, err)
	}
}

// testLatestMessages: FindLatestMessages finds, for each channel asked,
// its newest top-level message that is not a tombstone, in its current
// state and without reactions, in one call whatever the number of channels.
func testLatestMessages(t *testing.T, f *fixture) {
	ctx := f.ctx
	bob := f.MustUser("bob")
	// plain: three messages, the newest edited and reacted to.
	plain := f.MustChannel("plain", confab.KindPublic, f.owner)
	f.MustPost(plain, f.owner, "one")
	f.MustPost(plain, bob, "two")
	newest := f.MustPost(plain, f.owner, "three")
	text := "three, edited"
	if _, err := f.s.UpdateMessage(ctx, plain.ID, newest.TS, confab.MessageUpdate{Text: &text}, f.now()*1_000_000); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddReaction(ctx, plain.ID, newest.TS, bob.ID, "tada"); err != nil {
		t.Fatal(err)
	}
	// threaded: the newest rows are replies; the parent is the latest.
	threaded := f.MustChannel("threaded", confab.KindPublic, f.owner)
	parent := f.MustPost(threaded, f.owner, "parent")
	f.MustReply(parent, bob, "reply 1")
	f.MustReply(parent, bob, "reply 2")
	// deleted: the newest message is a tombstone, the one before is live.
	deleted := f.MustChannel("deleted", confab.KindPrivate, f.owner)
	live := f.MustPost(deleted, f.owner, "still here")
	gone := f.MustPost(deleted, f.owner, "gone")
	if _, err := f.s.DeleteMessage(ctx, deleted.ID, gone.TS); err != nil {
		t.Fatal(err)
	}
	// allGone: its only message is a tombstone; onlyReplies has a deleted
	// parent with a live reply; empty has nothing.
	allGone := f.MustChannel("all-gone", confab.KindPublic, f.owner)
	if _, err := f.s.DeleteMessage(ctx, allGone.ID, f.MustPost(allGone, f.owner, "x").TS); err != nil {
		t.Fatal(err)
	}
	onlyReplies := f.MustChannel("only-replies", confab.KindPublic, f.owner)
	p := f.MustPost(onlyReplies, f.owner, "parent")
	f.MustReply(p, bob, "orphan")
	if _, err := f.s.DeleteMessage(ctx, onlyReplies.ID, p.TS); err != nil {
		t.Fatal(err)
	}
	empty := f.MustChannel("empty", confab.KindPublic, f.owner)
	dm := f.MustDM(f.owner, bob)
	psst := f.MustPost(dm, bob, "psst")

	// The same message without reactions, as the contract returns it.
	bare := func(channelID string, ts int64) string {
		m := f.MustMessage(channelID, ts)
		m.Reactions = nil
		return msgString(m)
	}
	want := map[string]string{
		plain.ID:    bare(plain.ID, newest.TS),
		threaded.ID: bare(threaded.ID, parent.TS),
		deleted.ID:  bare(deleted.ID, live.TS),
		dm.ID:       bare(dm.ID, psst.TS),
	}
	ids := []string{plain.ID, threaded.ID, deleted.ID, allGone.ID, onlyReplies.ID, empty.ID, dm.ID,
		"C0000000000UNKNOWN", plain.ID}
	got, err := f.s.FindLatestMessages(ctx, ids)
	if err != nil {
		t.Fatalf("FindLatestMessages = %v", err)
	}
	for id, w := range want {
		if g := msgString(got[id]); g != w {
			t.Errorf("latest of %s = %s, want %s", id, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("FindLatestMessages has %d channels, want %d (no tombstone-only, reply-only, empty or unknown channel): %v",
			len(got), len(want), got)
	}
	if got[plain.ID] != nil && got[plain.ID].Text != text {
		t.Errorf("latest of plain has text %q, want the edit %q", got[plain.ID].Text, text)
	}

	if got, err := f.s.FindLatestMessages(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("FindLatestMessages(none) = %v, %v; want empty", got, err)
	}

	// Many channels in one call: each comes back with its own latest.
	many := make([]string, 150)
	for i := range many {
		c := f.MustChannel(fmt.Sprintf("many-%d", i), confab.KindPublic, f.owner)
		f.MustPost(c, f.owner, fmt.Sprintf("first %d", i))
		f.MustPost(c, f.owner, fmt.Sprintf("last %d", i))
		many[i] = c.ID
	}
	got, err = f.s.FindLatestMessages(ctx, many)
	if err != nil {
		t.Fatalf("FindLatestMessages(%d channels) = %v", len(many), err)
	}
	for i, id := range many {
		if m := got[id]; m == nil || m.ChannelID != id || m.Text != fmt.Sprintf("last %d", i) || m.Seq != 2 {
			t.Errorf("latest of many-%d = %s, want %q at seq 2", i, msgString(m), fmt.Sprintf("last %d", i))
		}
	}
	if len(got) != len(many) {
		t.Errorf("FindLatestMessages(%d channels) has %d", len(many), len(got))
	}
}

// testContextCanceled: a canceled context makes every kind of call return
// an error wrapping context.Canceled, promptly.
func testContextCanceled(t *testing.T, f *fixture) {
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	m := f.MustPost(c, f.owner, "hi")
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	calls := []struct {
		name string
		fn   func() error
	}{
		{"CreateMessage", func() error {
			_, err := f.s.CreateMessage(ctx, &confab.Message{ChannelID: c.ID, UserID: f.owner.ID, Text: "x", TS: 1})
			return err
		}},
		{"UpdateMessage", func() error {
			text := "y"
			_, err := f.s.UpdateMessage(ctx, c.ID, m.TS, confab.MessageUpdate{Text: &text}, 1)
			return err
		}},
		{"AddReaction", func() error { _, err := f.s.AddReaction(ctx, c.ID, m.TS, f.owner.ID, "x"); return err }},
		{"CreateUser", func() error {
			return f.s.CreateUser(ctx, &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: "late", Created: 1})
		}},
		{"AddMember", func() error { _, err := f.s.AddMember(ctx, c.ID, f.owner.ID, 1); return err }},
		{"FindMessages", func() error {
			_, err := f.s.FindMessages(ctx, confab.MessageFilter{ChannelID: c.ID})
			return err
		}},
		{"FindMessage", func() error { _, err := f.s.FindMessage(ctx, c.ID, m.TS); return err }},
		{"FindChanges", func() error { _, err := f.s.FindChanges(ctx, c.ID, 0, 10); return err }},
		{"FindLatestMessages", func() error { _, err := f.s.FindLatestMessages(ctx, []string{c.ID}); return err }},
		{"FindChannelByID", func() error { _, err := f.s.FindChannelByID(ctx, c.ID); return err }},
		{"FindUserByID", func() error { _, err := f.s.FindUserByID(ctx, f.owner.ID); return err }},
		{"CreateScheduledMessage", func() error {
			return f.s.CreateScheduledMessage(ctx, &confab.ScheduledMessage{ChannelID: c.ID, UserID: f.owner.ID, PostAt: 1, Text: "x"})
		}},
		{"ClaimScheduledMessages", func() error { _, err := f.s.ClaimScheduledMessages(ctx, 1, 2, 1); return err }},
		{"FindScheduledMessages", func() error {
			_, err := f.s.FindScheduledMessages(ctx, confab.ScheduledFilter{UserID: f.owner.ID})
			return err
		}},
		{"AddPin", func() error {
			return f.s.AddPin(ctx, &confab.Pin{ChannelID: c.ID, MessageTS: m.TS, UserID: f.owner.ID, Created: 1})
		}},
		{"FindPins", func() error { _, err := f.s.FindPins(ctx, c.ID, true); return err }},
		{"FindUserByEmail", func() error { _, err := f.s.FindUserByEmail(ctx, f.ws.ID, "a@example.com"); return err }},
		{"UpdateUser", func() error {
			text := "late"
			_, err := f.s.UpdateUser(ctx, f.owner.ID, confab.UserUpdate{StatusText: &text})
			return err
		}},
		{"FindWorkspaceEvents", func() error { _, err := f.s.FindWorkspaceEvents(ctx, f.ws.ID, 0, 10); return err }},
	}
	for _, call := range calls {
		done := make(chan error, 1)
		go func() { done <- call.fn() }()
		err := wantResult(t, call.name, done)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s(canceled ctx) = %v, want an error wrapping context.Canceled", call.name, err)
		}
	}
	// The store is still fine afterwards.
	if got := f.MustMessages(confab.MessageFilter{ChannelID: c.ID}); len(got) != 1 {
		t.Errorf("after canceled calls the channel has %d messages, want 1", len(got))
	}
}
