package chat_test

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// Boot counts each conversation's mentions of the caller after their read
// marker (mention_count), 0 where there are none; in a DM every unread
// message counts, as it is addressed to the reader.
func TestBootMentionCount(t *testing.T) {
	f := newBootFixture(t)
	svc := chat.New(chat.Config{Store: f.db, Bus: dropBus{}})
	bob := f.MustUser("bob")
	one := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "one"}, f.owner.ID, bob.ID)
	two := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "two"}, f.owner.ID, bob.ID)
	dm := f.MustDM(f.owner, bob)
	for _, text := range []string{"<@" + f.owner.ID + "> look", "and <@" + f.owner.ID + "|owner> again"} {
		if _, err := svc.PostMessage(f.ctx, bob, chat.PostParams{Channel: one.ID, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	svc.Connected(f.ctx, f.owner) // <!here> reaches the active
	if _, err := svc.PostMessage(f.ctx, bob, chat.PostParams{Channel: two.ID, Text: "<!here> standup"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PostMessage(f.ctx, bob, chat.PostParams{Channel: dm.ID, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]int64 {
		t.Helper()
		b, err := svc.Boot(f.ctx, f.owner)
		if err != nil {
			t.Fatalf("Boot = %v", err)
		}
		out := map[string]int64{}
		for _, v := range b.Channels {
			w := v.Wire()
			raw, _ := json.Marshal(w)
			if w.Mentions == nil || !strings.Contains(string(raw), `"mention_count":`) {
				t.Errorf("boot's %s = %s, want a mention_count", v.Channel.ID, raw)
				continue
			}
			out[v.Channel.ID] = *w.Mentions
		}
		return out
	}
	got := counts()
	if got[one.ID] != 2 || got[two.ID] != 1 || got[dm.ID] != 1 {
		t.Errorf("mention counts = %v, want %s:2 %s:1 %s:1", got, one.ID, two.ID, dm.ID)
	}
	latest, err := f.db.FindLatestMessages(f.ctx, []string{one.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.MarkRead(f.ctx, f.owner, one.ID, confab.FormatTS(latest[one.ID].TS)); err != nil {
		t.Fatal(err)
	}
	if got := counts(); got[one.ID] != 0 || got[two.ID] != 1 {
		t.Errorf("after marking %s read: mention counts = %v, want %s:0 %s:1", one.ID, got, one.ID, two.ID)
	}
}

// mentionCounts returns u's mention_count in each of the channels, as
// conversations.info gives it.
func mentionCounts(t *testing.T, svc *chat.Service, u *confab.User, ids ...string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, id := range ids {
		v, err := svc.ChannelInfo(t.Context(), u, id)
		if err != nil || v.Mentions == nil {
			t.Fatalf("ChannelInfo(%s) = %+v, %v", id, v, err)
		}
		out[id] = *v.Mentions
	}
	return out
}

// <!here> reaches the members who are active as it is posted (a
// connection, not set away); <!channel> and <!everyone> every member. An
// edit that adds a <!here> reaches who is active then; a /me message's
// counts as any.
func TestHereReachesActiveMembers(t *testing.T) {
	f := newBootFixture(t)
	svc := chat.New(chat.Config{Store: f.db, Bus: dropBus{}})
	on, off, away := f.MustUser("on"), f.MustUser("off"), f.MustUser("away")
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "standup"},
		f.owner.ID, on.ID, off.ID, away.ID)
	svc.Connected(f.ctx, on)
	svc.Connected(f.ctx, away)
	if err := svc.SetPresence(f.ctx, away, confab.PresenceAway); err != nil {
		t.Fatal(err)
	}
	post := func(text string) *confab.Message {
		t.Helper()
		m, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: c.ID, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	want := func(w map[*confab.User]int64) {
		t.Helper()
		for u, n := range w {
			if got := mentionCounts(t, svc, u, c.ID)[c.ID]; got != n {
				t.Errorf("%s's mention_count = %d, want %d", u.Name, got, n)
			}
		}
	}
	post("<!here> standup")
	want(map[*confab.User]int64{on: 1, off: 0, away: 0, f.owner: 0})
	if _, err := svc.MeMessage(f.ctx, f.owner, c.ID, "waves <!here|here>"); err != nil {
		t.Fatal(err)
	}
	want(map[*confab.User]int64{on: 2, off: 0, away: 0})
	post("<!channel> lunch")
	post("<!everyone> and <!here>")
	want(map[*confab.User]int64{on: 4, off: 2, away: 2})

	plain := post("no one yet")
	svc.Connected(f.ctx, off)
	text := "<!here> now"
	if _, err := svc.UpdateMessage(f.ctx, f.owner, chat.UpdateParams{Channel: c.ID, TS: confab.FormatTS(plain.TS), Text: &text}); err != nil {
		t.Fatal(err)
	}
	want(map[*confab.User]int64{on: 5, off: 3, away: 2})
}

// A muted channel counts mentions by name but not <!here>, <!channel> or
// <!everyone>, in client.boot and conversations.info alike; unmuted, they
// count again. A muted DM still counts its unread messages.
func TestMutedChannelCountsOnlyNames(t *testing.T) {
	f := newBootFixture(t)
	svc := chat.New(chat.Config{Store: f.db, Bus: dropBus{}})
	bob := f.MustUser("bob")
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "noisy"}, f.owner.ID, bob.ID)
	dm := f.MustDM(f.owner, bob)
	yes, no := true, false
	for _, id := range []string{c.ID, dm.ID} {
		if err := svc.SetPrefs(f.ctx, bob, id, chat.PrefsUpdate{IsMuted: &yes}); err != nil {
			t.Fatal(err)
		}
	}
	svc.Connected(f.ctx, bob)
	for _, text := range []string{"<!channel> a", "<!here> b", "<!everyone> c", "<@" + bob.ID + "> d", "e"} {
		if _, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: c.ID, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: dm.ID, Text: "psst"}); err != nil {
		t.Fatal(err)
	}
	wantCounts := map[string]int64{c.ID: 1, dm.ID: 1}
	if got := mentionCounts(t, svc, bob, c.ID, dm.ID); !maps.Equal(got, wantCounts) {
		t.Errorf("muted: conversations.info mention counts = %v, want %v", got, wantCounts)
	}
	b, err := svc.Boot(f.ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range b.Channels {
		if v.Mentions == nil || *v.Mentions != wantCounts[v.Channel.ID] {
			t.Errorf("muted: boot's %s mention_count = %v, want %d", v.Channel.ID, v.Mentions, wantCounts[v.Channel.ID])
		}
	}
	if err := svc.SetPrefs(f.ctx, bob, c.ID, chat.PrefsUpdate{IsMuted: &no}); err != nil {
		t.Fatal(err)
	}
	if got := mentionCounts(t, svc, bob, c.ID)[c.ID]; got != 4 {
		t.Errorf("unmuted: mention_count = %d, want 4", got)
	}
}

// client.catchup carries each caller's own mention_count on every channel
// it returns, after their read marker: two members catching up the same
// channel from the same checkpoint share its events, not their counts.
func TestCatchUpMentionCount(t *testing.T) {
	f := newBootFixture(t)
	svc := chat.New(chat.Config{Store: f.db, Bus: dropBus{}})
	bob, cid := f.MustUser("bob"), f.MustUser("cid")
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "news"}, f.owner.ID, bob.ID, cid.ID)
	quiet := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "quiet"}, f.owner.ID, bob.ID, cid.ID)
	dm := f.MustDM(f.owner, bob)
	first, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: c.ID, Text: "<@" + bob.ID + "> one"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []chat.PostParams{{Channel: c.ID, Text: "<@" + bob.ID + "> two"}, {Channel: c.ID, Text: "<!channel> three"},
		{Channel: dm.ID, Text: "hi"}, {Channel: dm.ID, Text: "there"}} {
		if _, err := svc.PostMessage(f.ctx, f.owner, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.MarkRead(f.ctx, bob, c.ID, confab.FormatTS(first.TS)); err != nil {
		t.Fatal(err)
	}
	catchUp := func(u *confab.User) map[string]int64 {
		t.Helper()
		chs, err := svc.CatchUp(f.ctx, u, map[string]int64{c.ID: 0, quiet.ID: 0, dm.ID: 0}, 100)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, cc := range chs {
			out[cc.Channel] = cc.MentionCount
		}
		return out
	}
	if got, want := catchUp(bob), map[string]int64{c.ID: 2, dm.ID: 2}; !maps.Equal(got, want) {
		t.Errorf("bob's catch-up mention counts = %v, want %v", got, want)
	}
	if got, want := catchUp(cid), map[string]int64{c.ID: 1}; !maps.Equal(got, want) {
		t.Errorf("cid's catch-up mention counts = %v, want %v", got, want)
	}
}

// conversations.mark tells every connection of the caller the counts
// after it, in Slack's shape: channel_marked (group_marked, im_marked,
// mpim_marked by kind) with unread_count_display and mention_count.
func TestMarkReadTellsMentionCount(t *testing.T) {
	f := newBootFixture(t)
	bus := make(eventBus, 64)
	svc := chat.New(chat.Config{Store: f.db, Bus: bus})
	bob := f.MustUser("bob")
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "news"}, f.owner.ID, bob.ID)
	priv := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPrivate, Name: "secret"}, f.owner.ID, bob.ID)
	dm := f.MustDM(f.owner, bob)
	var marks []*confab.Message
	for _, p := range []chat.PostParams{{Channel: c.ID, Text: "<@" + bob.ID + "> one"}, {Channel: c.ID, Text: "plain"},
		{Channel: c.ID, Text: "<@" + bob.ID + "> two"}, {Channel: priv.ID, Text: "<!channel>"}, {Channel: dm.ID, Text: "a"}, {Channel: dm.ID, Text: "b"}} {
		m, err := svc.PostMessage(f.ctx, f.owner, p)
		if err != nil {
			t.Fatal(err)
		}
		marks = append(marks, m)
	}
	for _, tc := range []struct {
		m                *confab.Message
		typ              string
		unread, mentions float64
	}{
		{marks[0], "channel_marked", 2, 1},
		{marks[2], "channel_marked", 0, 0},
		{marks[3], "group_marked", 0, 0},
		{marks[4], "im_marked", 1, 1},
	} {
		if err := svc.MarkRead(f.ctx, bob, tc.m.ChannelID, confab.FormatTS(tc.m.TS)); err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		for ev == nil {
			select {
			case e := <-bus:
				if strings.HasSuffix(e["type"].(string), "_marked") {
					ev = e
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no %s", tc.typ)
			}
		}
		if ev["type"] != tc.typ || ev["channel"] != tc.m.ChannelID || ev["ts"] != confab.FormatTS(tc.m.TS) ||
			ev["unread_count_display"] != tc.unread || ev["unread_count"] != tc.unread ||
			ev["mention_count"] != tc.mentions || ev["mention_count_display"] != tc.mentions || ev["num_mentions_display"] != tc.mentions {
			t.Errorf("marked event %v, want %s of %s with %v unread and %v mentions", ev, tc.typ, tc.m.ChannelID, tc.unread, tc.mentions)
		}
	}
}
