package main

import (
	"fmt"
	"testing"

	"github.com/slack-go/slack"
)

// TestMeMessageSlackGo posts a /me message through slack-go, both ways it
// has, and sees subtype me_message in history, on the socket and in
// catch-up.
func TestMeMessageSlackGo(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	rtm := alice.connect()

	api := slack.New(alice.token, slack.OptionAPIURL(m.URL()+"/api/"))
	ch, ts, _, err := api.SendMessage(general, slack.MsgOptionMeMessage(), slack.MsgOptionText("waves", false))
	if err != nil || ch != general || ts == "" {
		t.Fatalf("SendMessage(MsgOptionMeMessage) = %q, %q, %v; want %s and a ts", ch, ts, err, general)
	}
	_, ts2, err := api.PostMessage("#plaza", slack.MsgOptionMeMessage(), slack.MsgOptionText("waves again", false))
	if err != nil {
		t.Fatalf("PostMessage(#plaza, MsgOptionMeMessage) = %v", err)
	}
	if _, _, err := api.PostMessage(general, slack.MsgOptionMeMessage()); err == nil || err.Error() != "no_text" {
		t.Errorf("a /me message without text = %v, want no_text", err)
	}

	hist, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general, Limit: 10})
	if err != nil || len(hist.Messages) != 2 {
		t.Fatalf("GetConversationHistory = %+v, %v", hist, err)
	}
	for i, want := range []struct{ ts, text string }{{ts2, "waves again"}, {ts, "waves"}} {
		got := hist.Messages[i]
		if got.Timestamp != want.ts || got.Text != want.text || got.SubType != slack.MsgSubTypeMeMessage || got.User != alice.userID {
			t.Errorf("history[%d] = %+v, want %q at %s, subtype me_message, by alice", i, got.Msg, want.text, want.ts)
		}
	}
	ev := rtm.next(func(f obj) bool { return f["type"] == "message" && f["ts"] == ts })
	if ev["subtype"] != slack.MsgSubTypeMeMessage || ev["text"] != "waves" {
		t.Errorf("RTM message = %v, want subtype me_message", ev)
	}
	cu := alice.must("client.catchup", obj{"checkpoints": obj{general: 0}})
	events := cu["channels"].([]any)[0].(obj)["events"].([]any)
	if len(events) != 2 || events[0].(obj)["subtype"] != slack.MsgSubTypeMeMessage {
		t.Errorf("catch-up events = %v, want the two me_messages", events)
	}
}

// TestBootMentionCount: mentions of a member, by id or channel-wide, count
// in client.boot's mention_count until the member reads past them; edits
// and deletes take theirs back.
func TestBootMentionCount(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	general := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": general})

	mentions := func() float64 {
		t.Helper()
		boot := bob.must("client.boot", nil)
		for _, c := range boot["channels"].([]any) {
			if c := c.(obj); c["id"] == general {
				n, ok := c["mention_count"].(float64)
				if !ok {
					t.Fatalf("boot channel %v has no mention_count", c)
				}
				return n
			}
		}
		t.Fatalf("boot has no %s", general)
		return 0
	}
	alice.post(general, "hi <@"+bob.userID+">")
	edited := alice.post(general, "hey <@"+bob.userID+"|bob>")
	deleted := alice.post(general, "<!channel> lunch")
	alice.post(general, "<@"+alice.userID+"> note to self")
	if n := mentions(); n != 3 {
		t.Fatalf("mention_count = %v, want 3", n)
	}
	alice.must("chat.update", obj{"channel": general, "ts": edited, "text": "hey bob"})
	alice.must("chat.delete", obj{"channel": general, "ts": deleted})
	if n := mentions(); n != 1 {
		t.Fatalf("after an edit and a delete: mention_count = %v, want 1", n)
	}
	last := alice.post(general, "<!here>")
	bob.must("conversations.mark", obj{"channel": general, "ts": last})
	if n := mentions(); n != 0 {
		t.Fatalf("after marking read: mention_count = %v, want 0", n)
	}
}

// Mention counts as a client reads them: client.counts in Slack's shape
// (channels, mpims, ims, each with has_unreads and mention_count), and
// mention_count in conversations.info. A mention by name counts where it
// is made; in a DM or group DM every unread message counts; a message
// without a mention is only unread; conversations.mark clears them.
func TestClientCountsAndMentionCounts(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	carol := signup(t, m, "acme", "carol")
	general := alice.createChannel("plaza", false)
	quiet := alice.createChannel("quiet", false)
	for _, u := range []*client{bob, carol} {
		u.must("conversations.join", obj{"channel": general})
		u.must("conversations.join", obj{"channel": quiet})
	}
	dm := bob.must("conversations.open", obj{"users": alice.userID})["channel"].(obj)["id"].(string)
	group := bob.must("conversations.open", obj{"users": alice.userID + "," + carol.userID})["channel"].(obj)["id"].(string)

	bob.post(general, "hey <@"+alice.userID+"> look")
	bob.post(general, "<!channel> lunch")
	bob.post(general, "<@"+carol.userID+"> not alice")
	bob.post(quiet, "nothing for anyone")
	bob.post(dm, "one")
	bob.post(dm, "two")
	bob.post(group, "all of us")

	type entry struct {
		mentions int64
		unreads  bool
	}
	// #general, which nobody posted to: bob's and carol's sign-ups are
	// unread joins there, no mention.
	wsGeneral := generalOf(t, alice)
	counts := func() map[string]entry {
		t.Helper()
		out := alice.must("client.counts", nil)
		got := map[string]entry{}
		for _, kind := range []string{"channels", "mpims", "ims"} {
			for _, e := range out[kind].([]any) {
				e := e.(obj)
				want := map[string]string{general: "channels", quiet: "channels", dm: "ims", group: "mpims", wsGeneral: "channels"}[e["id"].(string)]
				if want != kind {
					t.Fatalf("client.counts lists %v under %s, want %s", e["id"], kind, want)
				}
				if e["last_read"] == nil || e["latest"] == nil {
					t.Fatalf("client.counts entry %v: want last_read and latest", e)
				}
				got[e["id"].(string)] = entry{int64(e["mention_count"].(float64)), e["has_unreads"].(bool)}
			}
		}
		return got
	}
	want := map[string]entry{general: {2, true}, quiet: {0, true}, dm: {2, true}, group: {1, true}, wsGeneral: {0, true}}
	if got := counts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("client.counts = %v; want %v", got, want)
	}
	info := alice.must("conversations.info", obj{"channel": general})["channel"].(obj)
	if info["mention_count"] != 2.0 {
		t.Fatalf("conversations.info mention_count = %v; want 2", info["mention_count"])
	}
	if info := carol.must("conversations.info", obj{"channel": general})["channel"].(obj); info["mention_count"] != 2.0 {
		t.Fatalf("carol's mention_count = %v; want 2 (her name and <!channel>)", info["mention_count"])
	}

	last := bob.post(general, "and <@"+alice.userID+"> again")
	alice.must("conversations.mark", obj{"channel": general, "ts": last})
	alice.must("conversations.mark", obj{"channel": dm, "ts": bob.post(dm, "three")})
	want = map[string]entry{general: {0, false}, quiet: {0, true}, dm: {0, false}, group: {1, true}, wsGeneral: {0, true}}
	if got := counts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("client.counts after marking = %v; want %v", got, want)
	}
}
