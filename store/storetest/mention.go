package storetest

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/confab/confab"
)

// Mentions are recorded per member with the message, rewritten by an edit,
// removed with it, and counted after each member's read marker.

func testMentions(t *testing.T, f *fixture) {
	ctx := f.ctx
	ann, bob, cid, dan := f.MustUser("ann"), f.MustUser("bob"), f.MustUser("cid"), f.MustUser("dan")
	c := f.MustChannel("plaza", confab.KindPublic, f.owner, ann, bob, cid) // dan is not a member
	other := f.MustChannel("random", confab.KindPublic, f.owner, ann)
	want := func(u *confab.User, ids []string, w map[string]int) {
		t.Helper()
		got, err := f.s.CountMentions(ctx, u.ID, ids)
		if err != nil {
			t.Fatalf("CountMentions(%s) = %v", u.Name, err)
		}
		if !maps.Equal(got, w) {
			t.Errorf("CountMentions(%s, %v) = %v, want %v", u.Name, ids, got, w)
		}
	}
	both := []string{c.ID, other.ID}

	// A mention of a member counts; of a non-member, or of oneself, not.
	m1 := f.MustPost(c, f.owner, "hi <@"+ann.ID+"|ann>, <@"+dan.ID+"> and me <@"+f.owner.ID+">")
	want(ann, both, map[string]int{c.ID: 1})
	want(bob, both, map[string]int{})
	want(dan, both, map[string]int{})
	want(f.owner, both, map[string]int{})

	// A rich_text user element mentions too; a user mentioned twice counts once.
	m2 := f.MustCreate(&confab.Message{ChannelID: c.ID, UserID: ann.ID, TS: time.Now().UnixMicro(),
		Text: "<@" + bob.ID + ">",
		Blocks: `[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[` +
			`{"type":"user","user_id":"` + bob.ID + `"},{"type":"user","user_id":"` + cid.ID + `"}]}]}]`})
	want(bob, both, map[string]int{c.ID: 1})
	want(cid, both, map[string]int{c.ID: 1})

	// An edit rewrites them: ann is no longer mentioned in m1, bob is.
	text := "now <@" + bob.ID + ">"
	if _, err := f.s.UpdateMessage(ctx, c.ID, m1.TS, confab.MessageUpdate{Text: &text}, f.now()); err != nil {
		t.Fatalf("UpdateMessage = %v", err)
	}
	want(ann, both, map[string]int{})
	want(bob, both, map[string]int{c.ID: 2})
	// An edit of neither text nor blocks keeps them.
	meta := `{"event_type":"x","event_payload":{}}`
	if _, err := f.s.UpdateMessage(ctx, c.ID, m1.TS, confab.MessageUpdate{Metadata: &meta}, f.now()); err != nil {
		t.Fatalf("UpdateMessage(metadata) = %v", err)
	}
	want(bob, both, map[string]int{c.ID: 2})
	// Blocks alone, emptied, take cid's mention away; the text keeps bob's.
	empty := ""
	if _, err := f.s.UpdateMessage(ctx, c.ID, m2.TS, confab.MessageUpdate{Blocks: &empty}, f.now()); err != nil {
		t.Fatalf("UpdateMessage(blocks) = %v", err)
	}
	want(cid, both, map[string]int{})
	want(bob, both, map[string]int{c.ID: 2})

	// A delete removes them.
	if _, err := f.s.DeleteMessage(ctx, c.ID, m2.TS); err != nil {
		t.Fatalf("DeleteMessage = %v", err)
	}
	want(bob, both, map[string]int{c.ID: 1})

	// Channel-wide mentions: every member but the poster, in both spellings;
	// <!here> only the members in Here (a non-member there is not
	// recorded, nor the poster). A reply's mentions count.
	f.MustPost(c, ann, "<!channel> hello")
	f.MustCreate(&confab.Message{ChannelID: c.ID, UserID: ann.ID, TS: time.Now().UnixMicro(),
		Here:   []string{bob.ID, dan.ID, ann.ID},
		Blocks: `[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"broadcast","range":"here"}]}]}]`})
	f.MustReply(m1, ann, "<!everyone> in a thread")
	want(f.owner, both, map[string]int{c.ID: 2})
	want(bob, both, map[string]int{c.ID: 4})
	want(cid, both, map[string]int{c.ID: 2})
	want(ann, both, map[string]int{})
	want(dan, both, map[string]int{})

	// Counts follow the read marker: the rows with seq > LastReadSeq.
	if _, err := f.s.UpdateMembership(ctx, c.ID, bob.ID, confab.MembershipUpdate{LastRead: m1}); err != nil {
		t.Fatalf("UpdateMembership = %v", err)
	}
	want(bob, both, map[string]int{c.ID: 3})
	// A member who joins later is not mentioned by what was posted before.
	if _, err := f.s.AddMember(ctx, c.ID, dan.ID, f.now()); err != nil {
		t.Fatalf("AddMember = %v", err)
	}
	if _, err := f.s.UpdateMembership(ctx, c.ID, dan.ID, confab.MembershipUpdate{LastRead: m1}); err != nil {
		t.Fatalf("UpdateMembership(dan) = %v", err)
	}
	want(dan, both, map[string]int{})

	// Several channels in one call; repeated and unknown ids are harmless,
	// and a channel the user is not a member of is left out.
	f.MustPost(other, f.owner, "<@"+ann.ID+"> <@"+bob.ID+">")
	want(ann, []string{c.ID, other.ID, other.ID, "CNOSUCH"}, map[string]int{other.ID: 1})
	want(bob, []string{other.ID, c.ID}, map[string]int{c.ID: 3})
	want(ann, nil, map[string]int{})
	// Posting moves the poster's read marker: nothing before it counts.
	f.MustPost(c, bob, "back")
	want(bob, both, map[string]int{})

	// A canceled call records nothing and counts nothing.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.s.CreateMessage(canceled, &confab.Message{ChannelID: c.ID, UserID: ann.ID, Text: "<!channel>", TS: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateMessage(canceled) = %v, want context.Canceled", err)
	}
	if _, err := f.s.CountMentions(canceled, bob.ID, both); !errors.Is(err, context.Canceled) {
		t.Errorf("CountMentions(canceled) = %v, want context.Canceled", err)
	}
	want(bob, both, map[string]int{})
}

// testMentionsKinds: a muted channel counts only mentions by name; an
// edit's <!here> reaches its own Here and keeps whom the post reached; a
// DM or group DM counts every unread message.
func testMentionsKinds(t *testing.T, f *fixture) {
	ctx := f.ctx
	ann, bob, cid := f.MustUser("ann"), f.MustUser("bob"), f.MustUser("cid")
	c := f.MustChannel("kinds", confab.KindPublic, f.owner, ann, bob, cid)
	want := func(u *confab.User, ids []string, w map[string]int) {
		t.Helper()
		got, err := f.s.CountMentions(ctx, u.ID, ids)
		if err != nil {
			t.Fatalf("CountMentions(%s) = %v", u.Name, err)
		}
		if !maps.Equal(got, w) {
			t.Errorf("CountMentions(%s, %v) = %v, want %v", u.Name, ids, got, w)
		}
	}
	mute := func(u *confab.User, muted bool) {
		t.Helper()
		if _, err := f.s.UpdateMembership(ctx, c.ID, u.ID, confab.MembershipUpdate{IsMuted: &muted}); err != nil {
			t.Fatalf("UpdateMembership(muted) = %v", err)
		}
	}
	ids := []string{c.ID}

	// bob muted: <!channel> and <!here> do not count for him, <@bob> does,
	// also when the same message is channel-wide.
	mute(bob, true)
	f.MustPost(c, f.owner, "<!channel> all")
	f.MustCreate(&confab.Message{ChannelID: c.ID, UserID: f.owner.ID, TS: time.Now().UnixMicro(),
		Text: "<!here> now", Here: []string{ann.ID, bob.ID}})
	named := f.MustPost(c, f.owner, "<!everyone> and <@"+bob.ID+">")
	want(bob, ids, map[string]int{c.ID: 1})
	want(ann, ids, map[string]int{c.ID: 3})
	want(cid, ids, map[string]int{c.ID: 2})
	// Unmuted, every row counts again: muting hides, it does not forget.
	mute(bob, false)
	want(bob, ids, map[string]int{c.ID: 3})
	mute(bob, true)
	// An edit that drops <@bob> but keeps a channel-wide mention turns his
	// row into a channel-wide one: muted, it no longer counts.
	text := "<!everyone> and nobody"
	if _, err := f.s.UpdateMessage(ctx, c.ID, named.TS, confab.MessageUpdate{Text: &text}, f.now()); err != nil {
		t.Fatalf("UpdateMessage = %v", err)
	}
	want(bob, ids, map[string]int{})
	mute(bob, false)

	// An edit of a <!here> message reaches its own Here, and keeps whom
	// the post reached (ann, away now); one that drops it drops them.
	m := f.MustCreate(&confab.Message{ChannelID: c.ID, UserID: f.owner.ID, TS: time.Now().UnixMicro(),
		Text: "<!here> standup", Here: []string{ann.ID}})
	want(cid, ids, map[string]int{c.ID: 2})
	text = "<!here> standup, in 5"
	if _, err := f.s.UpdateMessage(ctx, c.ID, m.TS, confab.MessageUpdate{Text: &text, Here: []string{cid.ID}}, f.now()); err != nil {
		t.Fatalf("UpdateMessage(here) = %v", err)
	}
	want(ann, ids, map[string]int{c.ID: 4})
	want(cid, ids, map[string]int{c.ID: 3})
	text = "standup cancelled"
	if _, err := f.s.UpdateMessage(ctx, c.ID, m.TS, confab.MessageUpdate{Text: &text, Here: []string{cid.ID}}, f.now()); err != nil {
		t.Fatalf("UpdateMessage(no here) = %v", err)
	}
	want(ann, ids, map[string]int{c.ID: 3})
	want(cid, ids, map[string]int{c.ID: 2})

	// A DM or group DM: every unread top-level message counts (muted
	// too), mentions or not; a reply does not; the read marker clears them.
	dm := f.MustDM(f.owner, ann)
	group := f.MustDM(f.owner, ann, bob)
	first := f.MustPost(dm, f.owner, "hi")
	f.MustPost(dm, f.owner, "there <!here>")
	f.MustReply(first, f.owner, "a reply")
	f.MustPost(group, f.owner, "hello all")
	yes := true
	if _, err := f.s.UpdateMembership(ctx, group.ID, ann.ID, confab.MembershipUpdate{IsMuted: &yes}); err != nil {
		t.Fatal(err)
	}
	want(ann, []string{dm.ID, group.ID}, map[string]int{dm.ID: 2, group.ID: 1})
	want(f.owner, []string{dm.ID, group.ID}, map[string]int{})
	if _, err := f.s.UpdateMembership(ctx, dm.ID, ann.ID, confab.MembershipUpdate{LastRead: first}); err != nil {
		t.Fatal(err)
	}
	want(ann, []string{dm.ID, group.ID, c.ID}, map[string]int{dm.ID: 1, group.ID: 1, c.ID: 3})
}

// testSubtype: a message's subtype is stored with it and read back by every
// read, and kept by an edit.
func testSubtype(t *testing.T, f *fixture) {
	ctx := f.ctx
	c := f.MustChannel("me", confab.KindPublic, f.owner)
	m := f.MustCreate(&confab.Message{ChannelID: c.ID, UserID: f.owner.ID, Text: "waves",
		TS: time.Now().UnixMicro(), Subtype: confab.SubtypeMeMessage})
	if m.Subtype != confab.SubtypeMeMessage {
		t.Errorf("CreateMessage: Subtype = %q", m.Subtype)
	}
	plain := f.MustPost(c, f.owner, "plain")
	check := func(what string, got *confab.Message, want string) {
		t.Helper()
		if got == nil || got.Subtype != want {
			t.Errorf("%s: %s, want subtype %q", what, msgString(got), want)
		}
	}
	check("FindMessage", f.MustMessage(c.ID, m.TS), confab.SubtypeMeMessage)
	check("FindMessage(plain)", f.MustMessage(c.ID, plain.TS), "")
	page := f.MustMessages(confab.MessageFilter{ChannelID: c.ID})
	if len(page) != 2 {
		t.Fatalf("FindMessages = %d messages, want 2", len(page))
	}
	check("FindMessages", page[0], confab.SubtypeMeMessage)
	text := "waves again"
	if _, err := f.s.UpdateMessage(ctx, c.ID, m.TS, confab.MessageUpdate{Text: &text}, f.now()); err != nil {
		t.Fatalf("UpdateMessage = %v", err)
	}
	changes, err := f.s.FindChanges(ctx, c.ID, 0, 0)
	if err != nil || len(changes) != 2 {
		t.Fatalf("FindChanges = %v, %v", changes, err)
	}
	check("FindChanges", changes[1].Message, confab.SubtypeMeMessage)
	if _, err := f.s.DeleteMessage(ctx, c.ID, plain.TS); err != nil {
		t.Fatalf("DeleteMessage = %v", err)
	}
	latest, err := f.s.FindLatestMessages(ctx, []string{c.ID})
	if err != nil {
		t.Fatalf("FindLatestMessages = %v", err)
	}
	check("FindLatestMessages", latest[c.ID], confab.SubtypeMeMessage)
}

// testSystemMessages: a system message (a join, a topic line) is stored
// and read back with its subtype and fields like any message, but records
// no mentions, even of "<!channel>" or a member by name in a topic, and is
// never found by a search; its poster has read it.
func testSystemMessages(t *testing.T, f *fixture) {
	ctx := f.ctx
	ann, bob := f.MustUser("ann"), f.MustUser("bob")
	c := f.MustChannel("lobby", confab.KindPublic, f.owner, ann, bob)
	join := f.MustCreate(confab.SystemMessage(c.ID, bob.ID, confab.SubtypeChannelJoin, ann.ID, ""))
	topic := f.MustCreate(confab.SystemMessage(c.ID, ann.ID, confab.SubtypeChannelTopic, "",
		"<!channel> release <@"+f.owner.ID+"> tonight"))
	got := f.MustMessage(c.ID, join.TS)
	if got.Subtype != confab.SubtypeChannelJoin || got.Text != "<@"+bob.ID+"> has joined the channel" ||
		got.Wire().Inviter != ann.ID {
		t.Errorf("FindMessage(join) = %s, inviter %q", msgString(got), got.Wire().Inviter)
	}
	if w := f.MustMessage(c.ID, topic.TS).Wire(); w.Topic == nil || *w.Topic != "<!channel> release <@"+f.owner.ID+"> tonight" {
		t.Errorf("FindMessage(topic).Wire().Topic = %v", w.Topic)
	}
	counts, err := f.s.CountMentions(ctx, f.owner.ID, []string{c.ID})
	if err != nil || len(counts) != 0 {
		t.Errorf("CountMentions(owner) = %v, %v; want none: a topic line mentions no one", counts, err)
	}
	if m := f.MustMembership(c.ID, bob.ID); m.LastReadSeq != join.Seq {
		t.Errorf("joiner's LastReadSeq = %d, want their join's %d", m.LastReadSeq, join.Seq)
	}
	f.wantFound(t, "search for the join", f.searchIn(f.owner, word("joined")))
	f.wantFound(t, "search for the topic", f.searchIn(f.owner, word("release")))
	plain := f.MustPost(c, f.owner, "release notes")
	f.wantFound(t, "search for a message", f.searchIn(f.owner, word("release")), plain)
}
