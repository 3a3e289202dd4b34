package storetest

import (
	"testing"

	"github.com/confab/confab"
)

// testGeneral: CreateWorkspace makes the workspace's one general channel,
// the owner its member; CreateUser puts every new human user in it, in the
// same write, with nothing unread; bot users are left out; CreateChannel
// never makes a second one.
func testGeneral(t *testing.T, f *fixture) {
	ctx := f.ctx
	g := f.general
	if g.Kind != confab.KindPublic || g.Name != "general" || g.Archived || g.NumMembers != 1 ||
		g.CreatedBy != f.owner.ID || g.Created != f.ws.Created {
		t.Errorf("general channel of a new workspace = %+v", g)
	}
	f.MustMembership(g.ID, f.owner.ID)
	if got, err := f.s.FindChannelByID(ctx, g.ID); err != nil || !got.IsGeneral {
		t.Errorf("FindChannelByID(general) = %+v, %v; want IsGeneral", got, err)
	}

	f.MustPost(g, f.owner, "welcome")
	f.MustPost(g, f.owner, "everyone")
	alice := f.MustUser("alice")
	m := f.MustMembership(g.ID, alice.ID)
	if got := f.MustChannelByID(g.ID); got.NumMembers != 2 || m.LastReadSeq != got.LastSeq || m.JoinedAt != alice.Created {
		t.Errorf("alice in general: membership %+v, channel %+v; want joined at %d with nothing unread", m, got, alice.Created)
	}
	bot := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: "robot", IsBot: true, Created: f.now()}
	if err := f.s.CreateUser(ctx, bot); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.FindMembership(ctx, g.ID, bot.ID); confab.ErrorCode(err) != confab.ENOTFOUND {
		t.Errorf("FindMembership(general, bot user) = %v; want not a member", err)
	}

	// A failed CreateUser joins nobody.
	dup := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: "alice", Created: f.now()}
	wantErr(t, "CreateUser(name taken)", f.s.CreateUser(ctx, dup), confab.ECONFLICT, "name_taken")
	if got := f.MustChannelByID(g.ID); got.NumMembers != 2 {
		t.Errorf("general after a failed CreateUser has %d members, want 2", got.NumMembers)
	}

	// CreateChannel ignores IsGeneral.
	c := &confab.Channel{ID: confab.NewID(confab.PrefixChannel), WorkspaceID: f.ws.ID, Kind: confab.KindPublic,
		Name: "second", Created: f.now(), IsGeneral: true}
	if err := f.s.CreateChannel(ctx, c, []string{alice.ID}); err != nil || c.IsGeneral {
		t.Fatalf("CreateChannel(IsGeneral) = %v, IsGeneral %v; want a plain channel", err, c.IsGeneral)
	}
	if f.MustChannelByID(c.ID).IsGeneral || f.MustGeneral(f.ws.ID).ID != g.ID {
		t.Errorf("CreateChannel made a second general channel")
	}

	// Each workspace has its own; users join their own workspace's.
	ws2, owner2 := f.MustWorkspace("globex")
	g2 := f.MustGeneral(ws2.ID)
	bob := f.MustUserIn(ws2.ID, "bob")
	if g2.ID == g.ID {
		t.Fatalf("two workspaces share general channel %s", g.ID)
	}
	f.MustMembership(g2.ID, owner2.ID)
	f.MustMembership(g2.ID, bob.ID)
	if _, err := f.s.FindMembership(ctx, g.ID, bob.ID); confab.ErrorCode(err) != confab.ENOTFOUND {
		t.Errorf("bob of globex is in acme's general channel: %v", err)
	}
}
