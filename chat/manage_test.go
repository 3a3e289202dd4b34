package chat

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/confab/confab"
)

// frameBus records every publication: its topic, op, channel and frame;
// its type is the frame's type, then "/" and its subtype if it has one
// ("message/channel_join").
// Publications on different topics leave on different outbox lanes, in any
// order: await keeps what it passes over for a later await.
type frameBus struct {
	got    chan frameSent
	passed []frameSent // read by await and not yet returned; the test's goroutine only
}

type frameSent struct {
	topic   string
	op      byte
	channel string
	typ     string
	frame   map[string]any
}

func (b *frameBus) Publish(_ context.Context, topic string, payload []byte) error {
	p, err := confab.UnmarshalPublication(payload)
	if err != nil {
		return err
	}
	var m map[string]any
	_ = json.Unmarshal(p.Frame, &m)
	typ, _ := m["type"].(string)
	if sub, _ := m["subtype"].(string); sub != "" {
		typ += "/" + sub // a system message is not the "message" a test awaits
	}
	b.got <- frameSent{topic, p.Op, p.Channel, typ, m}
	return nil
}

// await returns the first publication of type typ not yet returned; the
// others it reads wait in passed for a later await.
func (b *frameBus) await(t *testing.T, typ string) frameSent {
	t.Helper()
	for i, f := range b.passed {
		if f.typ == typ {
			b.passed = append(b.passed[:i], b.passed[i+1:]...)
			return f
		}
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f := <-b.got:
			if f.typ == typ {
				return f
			}
			b.passed = append(b.passed, f)
		case <-deadline:
			t.Fatalf("no %s published", typ)
			return frameSent{}
		}
	}
}

// manageFixture: workspace acme of alice (owner), bob, carol; globex of
// dave; pub, a public channel alice created with bob in it; priv, a private
// one of alice and bob; bobs, a public one bob created with alice in it;
// dm, the DM of alice and bob.
type manageFixture struct {
	s                       *Service
	bus                     *frameBus
	alice, bob, carol, dave *confab.User
	pub, priv, bobs, dm     string
}

func newManageFixture(t *testing.T) *manageFixture {
	t.Helper()
	ctx := t.Context()
	db := openStore(t)
	bus := &frameBus{got: make(chan frameSent, 1000)}
	s := New(Config{Store: db, Bus: bus, PasswordCost: 4, Access: ExactAccess()})
	t.Cleanup(func() { s.Close() })
	f := &manageFixture{s: s, bus: bus}
	user := func(team, name string) *confab.User {
		sess, err := s.Signup(ctx, SignupParams{Team: team, Name: name, Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		return sess.User
	}
	f.alice, f.bob, f.carol, f.dave = user("acme", "alice"), user("acme", "bob"), user("acme", "carol"), user("globex", "dave")
	channel := func(by, other *confab.User, name string, private bool) string {
		v, err := s.CreateChannel(ctx, by, name, private)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.InviteToChannel(ctx, by, v.Channel.ID, []string{other.ID}); err != nil {
			t.Fatal(err)
		}
		return v.Channel.ID
	}
	f.pub, f.priv, f.bobs = channel(f.alice, f.bob, "pub", false), channel(f.alice, f.bob, "priv", true), channel(f.bob, f.alice, "bobs", false)
	dm, _, err := s.OpenConversation(ctx, f.alice, []string{f.bob.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.dm = dm.Channel.ID
	return f
}

func TestRenameChannel(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	v, err := f.s.RenameChannel(ctx, f.alice, f.pub, "renamed")
	if err != nil || v.Channel.Name != "renamed" || v.Member == nil {
		t.Fatalf("RenameChannel by the creator = %+v, %v", v, err)
	}
	ev := f.bus.await(t, "channel_rename")
	if ev.topic != confab.ChannelTopic(f.alice.WorkspaceID, f.pub) {
		t.Errorf("channel_rename on %s, want the channel's topic", ev.topic)
	}
	if ch, _ := ev.frame["channel"].(map[string]any); ch["id"] != f.pub || ch["name"] != "renamed" || ch["created"] == nil {
		t.Errorf("channel_rename = %v", ev.frame)
	}
	if info, err := f.s.ChannelInfo(ctx, f.bob, f.pub); err != nil || info.Channel.Name != "renamed" {
		t.Errorf("ChannelInfo after rename = %+v, %v", info, err)
	}
	// The workspace's owner may rename a channel she did not create.
	if v, err := f.s.RenameChannel(ctx, f.alice, f.bobs, "owners"); err != nil || v.Channel.Name != "owners" {
		t.Errorf("RenameChannel by the owner = %+v, %v", v, err)
	}
	if _, err := f.s.RenameChannel(ctx, f.alice, f.priv, "secret"); err != nil {
		t.Errorf("RenameChannel(private) = %v", err)
	}
	if ev := f.bus.await(t, "group_rename"); ev.channel != "" || ev.topic != confab.ChannelTopic(f.alice.WorkspaceID, f.priv) {
		t.Errorf("group_rename = %+v", ev)
	}

	_, err = f.s.RenameChannel(ctx, f.bob, f.pub, "mine")
	wantCode(t, "RenameChannel by a member", err, "not_authorized")
	_, err = f.s.RenameChannel(ctx, f.alice, f.pub, "Bad Name")
	wantCode(t, "RenameChannel(invalid)", err, "invalid_name")
	_, err = f.s.RenameChannel(ctx, f.alice, f.pub, "owners")
	wantCode(t, "RenameChannel(taken)", err, "name_taken")
	_, err = f.s.RenameChannel(ctx, f.alice, f.dm, "dm")
	wantCode(t, "RenameChannel(dm)", err, "method_not_supported_for_channel_type")
	_, err = f.s.RenameChannel(ctx, f.carol, f.priv, "x")
	wantCode(t, "RenameChannel by a non-member", err, "channel_not_found")
	if err := f.s.ArchiveChannel(ctx, f.alice, f.pub); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.RenameChannel(ctx, f.alice, f.pub, "archived")
	wantCode(t, "RenameChannel(archived)", err, "is_archived")
}

func TestUnarchiveChannel(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	wantCode(t, "UnarchiveChannel(not archived)", f.s.UnarchiveChannel(ctx, f.bob, f.pub), "not_archived")
	if err := f.s.ArchiveChannel(ctx, f.alice, f.pub); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.PostMessage(ctx, f.bob, PostParams{Channel: f.pub, Text: "archived"})
	wantCode(t, "PostMessage(archived)", err, "is_archived")
	// Any member may unarchive.
	if err := f.s.UnarchiveChannel(ctx, f.bob, f.pub); err != nil {
		t.Fatalf("UnarchiveChannel = %v", err)
	}
	ev := f.bus.await(t, "channel_unarchive")
	if ev.frame["channel"] != f.pub || ev.frame["user"] != f.bob.ID || ev.topic != confab.ChannelTopic(f.bob.WorkspaceID, f.pub) {
		t.Errorf("channel_unarchive = %+v", ev)
	}
	if _, err := f.s.PostMessage(ctx, f.bob, PostParams{Channel: f.pub, Text: "back"}); err != nil {
		t.Errorf("PostMessage after unarchive = %v", err)
	}
	wantCode(t, "UnarchiveChannel(again)", f.s.UnarchiveChannel(ctx, f.bob, f.pub), "not_archived")
	wantCode(t, "UnarchiveChannel(dm)", f.s.UnarchiveChannel(ctx, f.bob, f.dm), "method_not_supported_for_channel_type")
	wantCode(t, "UnarchiveChannel by a non-member", f.s.UnarchiveChannel(ctx, f.carol, f.pub), "not_in_channel")
}

func TestKickFromChannel(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	wantCode(t, "Kick by a member", f.s.KickFromChannel(ctx, f.bob, f.pub, f.alice.ID), "restricted_action")
	wantCode(t, "Kick self", f.s.KickFromChannel(ctx, f.alice, f.pub, f.alice.ID), "cant_kick_self")
	wantCode(t, "Kick a non-member", f.s.KickFromChannel(ctx, f.alice, f.pub, f.carol.ID), "not_in_channel")
	wantCode(t, "Kick junk", f.s.KickFromChannel(ctx, f.alice, f.pub, "nobody"), "user_not_found")
	wantCode(t, "Kick another workspace's user", f.s.KickFromChannel(ctx, f.alice, f.pub, f.dave.ID), "user_not_found")
	wantCode(t, "Kick from a DM", f.s.KickFromChannel(ctx, f.alice, f.dm, f.bob.ID), "method_not_supported_for_channel_type")

	if err := f.s.KickFromChannel(ctx, f.alice, f.priv, f.bob.ID); err != nil {
		t.Fatalf("KickFromChannel = %v", err)
	}
	left := f.bus.await(t, "channel_left")
	if left.topic != confab.UserTopic(f.bob.WorkspaceID, f.bob.ID) || left.op != confab.OpLeave || left.channel != f.priv || left.frame["channel"] != f.priv {
		t.Errorf("channel_left = %+v, want an OpLeave of %s on bob's topic", left, f.priv)
	}
	member := f.bus.await(t, "member_left_channel")
	if member.topic != confab.ChannelTopic(f.bob.WorkspaceID, f.priv) || member.frame["user"] != f.bob.ID {
		t.Errorf("member_left_channel = %+v", member)
	}
	// The private channel is gone for bob, at once.
	_, err := f.s.History(ctx, f.bob, HistoryParams{Channel: f.priv})
	wantCode(t, "History by the kicked", err, "channel_not_found")
	wantCode(t, "Kick again", f.s.KickFromChannel(ctx, f.alice, f.priv, f.bob.ID), "not_in_channel")
	// The owner may kick from a channel she did not create.
	if err := f.s.KickFromChannel(ctx, f.alice, f.bobs, f.bob.ID); err != nil {
		t.Errorf("KickFromChannel by the owner = %v", err)
	}
}

func TestCloseConversation(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	if err := f.s.CloseConversation(ctx, f.bob, f.dm); err != nil {
		t.Errorf("CloseConversation(dm) = %v", err)
	}
	wantCode(t, "CloseConversation(channel)", f.s.CloseConversation(ctx, f.bob, f.pub), "method_not_supported_for_channel_type")
	wantCode(t, "CloseConversation(another's dm)", f.s.CloseConversation(ctx, f.carol, f.dm), "channel_not_found")
}

func TestListUserChannels(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	ids := func(u *confab.User, p UserChannelsParams) []string {
		t.Helper()
		vs, next, err := f.s.ListUserChannels(ctx, u, p)
		if err != nil {
			t.Fatalf("ListUserChannels(%+v) = %v", p, err)
		}
		if next != "" {
			t.Fatalf("ListUserChannels(%+v): next %q, want the last page", p, next)
		}
		var out []string
		for _, v := range vs {
			out = append(out, v.Channel.ID)
		}
		return out
	}
	all := []string{confab.KindPublic, confab.KindPrivate, confab.KindDM, confab.KindGroupDM}
	gen := generalOf(t, f.s, f.bob) // everyone's
	want := []string{gen, f.pub, f.priv, f.bobs, f.dm}
	slices.Sort(want)
	if got := ids(f.bob, UserChannelsParams{Types: all}); !slices.Equal(got, want) {
		t.Errorf("bob's conversations = %v, want %v", got, want)
	}
	pubs := []string{gen, f.pub, f.bobs}
	slices.Sort(pubs)
	if got := ids(f.bob, UserChannelsParams{}); !slices.Equal(got, pubs) {
		t.Errorf("bob's conversations (default types) = %v, want %v", got, pubs)
	}
	// Carol sees bob's public channels only: not his private one, nor his DM.
	if got := ids(f.carol, UserChannelsParams{User: f.bob.ID, Types: all}); !slices.Equal(got, pubs) {
		t.Errorf("bob's conversations as carol sees them = %v, want %v", got, pubs)
	}
	if got := ids(f.carol, UserChannelsParams{Types: all}); !slices.Equal(got, []string{gen}) {
		t.Errorf("carol's conversations = %v, want only the general channel", got)
	}
	if err := f.s.ArchiveChannel(ctx, f.bob, f.bobs); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(f.bob, UserChannelsParams{ExcludeArchived: true}), sorted(f.pub, gen); !slices.Equal(got, want) {
		t.Errorf("bob's unarchived conversations = %v, want %v", got, want)
	}
	// Pages of one, by cursor.
	var paged []string
	cursor := ""
	for range 10 {
		vs, next, err := f.s.ListUserChannels(ctx, f.bob, UserChannelsParams{Types: all, Limit: 1, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			paged = append(paged, v.Channel.ID)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, want) {
		t.Errorf("paged = %v, want %v", paged, want)
	}
	_, _, err := f.s.ListUserChannels(ctx, f.bob, UserChannelsParams{Types: []string{"bogus"}})
	wantCode(t, "ListUserChannels(bad type)", err, "invalid_types")
	_, _, err = f.s.ListUserChannels(ctx, f.bob, UserChannelsParams{Cursor: "junk"})
	wantCode(t, "ListUserChannels(bad cursor)", err, "invalid_cursor")
	_, _, err = f.s.ListUserChannels(ctx, f.bob, UserChannelsParams{User: f.dave.ID})
	wantCode(t, "ListUserChannels(another workspace's user)", err, "user_not_found")
}

func TestTeamInfo(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	for _, team := range []string{"", f.bob.WorkspaceID} {
		ws, err := f.s.TeamInfo(ctx, f.bob, team)
		if err != nil || ws.ID != f.bob.WorkspaceID || ws.Domain != "acme" {
			t.Errorf("TeamInfo(%q) = %+v, %v", team, ws, err)
		}
	}
	_, err := f.s.TeamInfo(ctx, f.bob, f.dave.WorkspaceID)
	wantCode(t, "TeamInfo(another workspace)", err, "team_not_found")
}

func TestMessageWithReactions(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	m, err := f.s.PostMessage(ctx, f.bob, PostParams{Channel: f.pub, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	ts := confab.FormatTS(m.TS)
	for _, u := range []*confab.User{f.bob, f.alice} {
		if err := f.s.AddReaction(ctx, u, f.pub, ts, "tada"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.s.Message(ctx, f.carol, f.pub, ts) // a public channel: anyone reads
	if err != nil || got.Text != "hi" || len(got.Reactions) != 1 || !slices.Equal(got.Reactions[0].Users, []string{f.bob.ID, f.alice.ID}) {
		t.Fatalf("Message = %+v, %v", got, err)
	}
	_, err = f.s.Message(ctx, f.bob, f.pub, "1.000001")
	wantCode(t, "Message(no such ts)", err, "message_not_found")
	_, err = f.s.Message(ctx, f.bob, f.pub, "junk")
	wantCode(t, "Message(junk ts)", err, "message_not_found")
	if _, err := f.s.DeleteMessage(ctx, f.bob, f.pub, ts); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.Message(ctx, f.bob, f.pub, ts)
	wantCode(t, "Message(deleted)", err, "message_not_found")
}

// conversations.replies with a reply's ts answers the whole thread, as
// Slack does.
func TestRepliesFromAReply(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	parent, err := f.s.PostMessage(ctx, f.bob, PostParams{Channel: f.pub, Text: "parent"})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	want = append(want, "parent")
	var first string
	for _, text := range []string{"one", "two"} {
		r, err := f.s.PostMessage(ctx, f.alice, PostParams{Channel: f.pub, Text: text, ThreadTS: confab.FormatTS(parent.TS)})
		if err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = confab.FormatTS(r.TS)
		}
		want = append(want, text)
	}
	for _, ts := range []string{confab.FormatTS(parent.TS), first} {
		page, err := f.s.Replies(ctx, f.bob, RepliesParams{Channel: f.pub, TS: ts})
		if err != nil {
			t.Fatalf("Replies(%s) = %v", ts, err)
		}
		var got []string
		for _, m := range page.Messages {
			got = append(got, m.Text)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Replies(%s) = %q, want %q", ts, got, want)
		}
	}
	_, err = f.s.Replies(ctx, f.bob, RepliesParams{Channel: f.pub, TS: "1.000001"})
	wantCode(t, "Replies(no such ts)", err, "thread_not_found")
}

// Nobody leaves the general channel, is kicked from it or archives it,
// the workspace's owner neither; a new member is in it.
func TestGeneralRefusals(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	gen := generalOf(t, f.s, f.carol)
	v, err := f.s.ChannelInfo(ctx, f.carol, gen)
	if err != nil || v.Member == nil || !v.Wire().IsGeneral || v.Channel.Name != "general" {
		t.Fatalf("ChannelInfo(general) as carol = %+v, %v; want her a member of #general, is_general", v, err)
	}
	_, err = f.s.LeaveChannel(ctx, f.carol, gen)
	wantCode(t, "LeaveChannel(general)", err, "cant_leave_general")
	wantCode(t, "KickFromChannel(general)", f.s.KickFromChannel(ctx, f.alice, gen, f.carol.ID), "cant_kick_from_general")
	wantCode(t, "ArchiveChannel(general)", f.s.ArchiveChannel(ctx, f.alice, gen), "cant_archive_general")
	if v, err := f.s.ChannelInfo(ctx, f.carol, gen); err != nil || v.Member == nil || v.Channel.Archived || v.Channel.NumMembers != 3 {
		t.Errorf("general after the refusals = %+v, %v; want carol still in it, 3 members, not archived", v, err)
	}
}
