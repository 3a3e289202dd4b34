package chat

import (
	"encoding/json"
	"testing"

	"github.com/confab/confab"
)

// wireOf is a message's Slack JSON as a map.
func wireOf(t *testing.T, m *confab.Message) map[string]any {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal(confab.MessageEvent(m), &w); err != nil {
		t.Fatal(err)
	}
	return w
}

// newest returns the channel's newest top-level message as u reads it.
func newest(t *testing.T, s *Service, u *confab.User, channel string) *confab.Message {
	t.Helper()
	p, err := s.History(t.Context(), u, HistoryParams{Channel: channel, Limit: 1})
	if err != nil || len(p.Messages) == 0 {
		t.Fatalf("History = %v, %v", p, err)
	}
	return p.Messages[0]
}

// A join, an invite, a leave, a kick, a topic and a purpose each leave a
// message in the channel's history in Slack's shape (subtype, text, user,
// inviter, topic, purpose), delivered on the channel's topic as a message
// event with its seq.
func TestSystemMessages(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	at := func(u *confab.User) string { return "<@" + u.ID + ">" }
	check := func(what string, want map[string]any) {
		t.Helper()
		m := newest(t, f.s, f.alice, f.pub)
		w := wireOf(t, m)
		for k, v := range want {
			if w[k] != v {
				t.Errorf("%s: %s = %v, want %v (%v)", what, k, w[k], v, w)
			}
		}
		for _, k := range []string{"inviter", "topic", "purpose", "metadata"} {
			if _, ok := want[k]; !ok && w[k] != nil {
				t.Errorf("%s: has %s: %v", what, k, w)
			}
		}
		ev := f.bus.await(t, "message/"+want["subtype"].(string))
		for ev.frame["ts"] != w["ts"] { // the fixture's lines
			ev = f.bus.await(t, "message/"+want["subtype"].(string))
		}
		if ev.topic != confab.ChannelTopic(f.alice.WorkspaceID, f.pub) || ev.frame["ts"] != w["ts"] ||
			ev.frame["seq"] != float64(m.Seq) || ev.frame["text"] != w["text"] {
			t.Errorf("%s: event on %s = %v, want %v with seq %d", what, ev.topic, ev.frame, w, m.Seq)
		}
	}

	if _, _, err := f.s.JoinChannel(ctx, f.carol, f.pub); err != nil {
		t.Fatal(err)
	}
	check("join", map[string]any{"type": "message", "subtype": "channel_join", "user": f.carol.ID,
		"text": at(f.carol) + " has joined the channel"})
	if _, err := f.s.LeaveChannel(ctx, f.carol, f.pub); err != nil {
		t.Fatal(err)
	}
	check("leave", map[string]any{"subtype": "channel_leave", "user": f.carol.ID,
		"text": at(f.carol) + " has left the channel"})
	if _, err := f.s.InviteToChannel(ctx, f.bob, f.pub, []string{f.carol.ID}); err != nil {
		t.Fatal(err)
	}
	check("invite", map[string]any{"subtype": "channel_join", "user": f.carol.ID, "inviter": f.bob.ID,
		"text": at(f.carol) + " has joined the channel"})
	if err := f.s.KickFromChannel(ctx, f.alice, f.pub, f.carol.ID); err != nil {
		t.Fatal(err)
	}
	check("kick", map[string]any{"subtype": "channel_leave", "user": f.carol.ID,
		"text": at(f.carol) + " has left the channel"})
	if _, err := f.s.SetTopic(ctx, f.bob, f.pub, "ship *it*"); err != nil {
		t.Fatal(err)
	}
	check("topic", map[string]any{"subtype": "channel_topic", "user": f.bob.ID, "topic": "ship *it*",
		"text": at(f.bob) + " set the channel topic: ship *it*"})
	if _, err := f.s.SetTopic(ctx, f.bob, f.pub, ""); err != nil {
		t.Fatal(err)
	}
	check("cleared topic", map[string]any{"subtype": "channel_topic", "user": f.bob.ID, "topic": "",
		"text": at(f.bob) + " cleared the channel topic"})
	if _, err := f.s.SetPurpose(ctx, f.alice, f.pub, "plans"); err != nil {
		t.Fatal(err)
	}
	check("purpose", map[string]any{"subtype": "channel_purpose", "user": f.alice.ID, "purpose": "plans",
		"text": at(f.alice) + " set the channel purpose: plans"})

	// No line in a DM; and a system line is the server's: not editable.
	if _, err := f.s.SetTopic(ctx, f.alice, f.dm, "us"); err == nil {
		if p, _ := f.s.History(ctx, f.alice, HistoryParams{Channel: f.dm}); len(p.Messages) != 0 {
			t.Errorf("a DM's topic left %d messages, want none", len(p.Messages))
		}
	}
	line := newest(t, f.s, f.alice, f.pub)
	text := "edited"
	_, err := f.s.UpdateMessage(ctx, f.alice, UpdateParams{Channel: f.pub, TS: confab.FormatTS(line.TS), Text: &text})
	wantCode(t, "chat.update of a purpose line", err, "cant_update_message")
}

// A joiner has read their own join; the members already there count it
// as unread, never as a mention, even when a topic line names them or
// says <!channel>; and search finds none of these lines.
func TestSystemMessagesUnreadMentionsSearch(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	unread := func(u *confab.User) (unread, mentions int64) {
		t.Helper()
		info, err := f.s.ChannelInfo(ctx, u, f.pub)
		if err != nil {
			t.Fatal(err)
		}
		w := info.Wire()
		return *w.UnreadCount, *w.Mentions
	}
	before, _ := unread(f.alice)
	v, _, err := f.s.JoinChannel(ctx, f.carol, f.pub)
	if err != nil {
		t.Fatal(err)
	}
	if v.Member.LastReadSeq != newest(t, f.s, f.carol, f.pub).Seq {
		t.Errorf("the joiner's read marker is at seq %d, want their join's", v.Member.LastReadSeq)
	}
	if _, err := f.s.SetTopic(ctx, f.carol, f.pub, "<!channel> deploy at noon <@"+f.alice.ID+">"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*confab.User{f.alice, f.carol} {
		wantUnread := before + 2 // carol's join and her topic
		if u == f.carol {
			wantUnread = 0
		}
		if got, mentions := unread(u); got != wantUnread || mentions != 0 {
			t.Errorf("%s: unread %d, mentions %d; want %d unread, no mention", u.Name, got, mentions, wantUnread)
		}
	}
	for _, q := range []string{"joined", "deploy", "topic"} {
		page, err := f.s.Search(ctx, f.alice, SearchParams{Query: q})
		if err != nil || page.Total != 0 {
			t.Errorf("search %q = %+v, %v; want nothing", q, page, err)
		}
	}
}

// A sign-up to an existing workspace joins its general channel with a
// channel_join line there; the workspace's creator gets none (nobody is
// there to read it).
func TestSignupJoinsGeneralWithALine(t *testing.T) {
	f := newManageFixture(t)
	gen := generalOf(t, f.s, f.alice)
	p, err := f.s.History(t.Context(), f.alice, HistoryParams{Channel: gen})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range p.Messages {
		if m.Subtype != confab.SubtypeChannelJoin {
			t.Errorf("#general has %s", msgText(m))
		}
		got = append(got, m.UserID)
	}
	if want := []string{f.carol.ID, f.bob.ID}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("#general's joins (newest first) = %v, want carol's and bob's %v", got, want)
	}
}

func msgText(m *confab.Message) string { return m.Subtype + ": " + m.Text }
