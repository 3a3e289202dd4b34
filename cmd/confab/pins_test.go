package main

import (
	"slices"
	"testing"

	"github.com/slack-go/slack"
)

// Pins through slack-go against a real server: pin, list (the latest
// pinned first, the message with pinned_to), history's pin_count and
// pinned_to, the pin events on a member's socket, Slack's errors, and a
// deleted message losing its pin.
func TestSlackGoPins(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	carol := signup(t, m, "acme", "carol")
	general := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": general})
	first := alice.post(general, "first")
	second := alice.post(general, "second")
	third := alice.post(general, "third")
	live := bob.connect()

	api := func(c *client) *slack.Client { return slack.New(c.token, slack.OptionAPIURL(m.URL()+"/api/")) }
	sa, sb, sc := api(alice), api(bob), api(carol)
	if err := sa.AddPin(general, slack.NewRefToMessage(general, second)); err != nil {
		t.Fatalf("AddPin = %v", err)
	}
	ev := live.next(isType("pin_added"))
	item, _ := ev["item"].(obj)
	msg, _ := item["message"].(obj)
	if ev["user"] != alice.userID || ev["channel_id"] != general || ev["has_pins"] != true ||
		item["type"] != "message" || item["channel"] != general || msg["text"] != "second" || msg["ts"] != second {
		t.Errorf("pin_added = %v", ev)
	}
	if err := sb.AddPin(general, slack.NewRefToMessage(general, first)); err != nil {
		t.Fatalf("AddPin by bob = %v", err)
	}
	if err := sb.AddPin(general, slack.NewRefToMessage(general, first)); err == nil || err.Error() != "already_pinned" {
		t.Errorf("AddPin twice = %v, want already_pinned", err)
	}
	if err := sc.AddPin(general, slack.NewRefToMessage(general, third)); err == nil || err.Error() != "not_in_channel" {
		t.Errorf("AddPin by a non-member = %v, want not_in_channel", err)
	}
	if _, _, err := sc.ListPins(general); err == nil || err.Error() != "not_in_channel" {
		t.Errorf("ListPins by a non-member = %v, want not_in_channel", err)
	}
	if err := sa.RemovePin(general, slack.NewRefToMessage(general, third)); err == nil || err.Error() != "no_pin" {
		t.Errorf("RemovePin(not pinned) = %v, want no_pin", err)
	}

	items, _, err := sb.ListPins(general)
	if err != nil || len(items) != 2 {
		t.Fatalf("ListPins = %+v, %v; want two", items, err)
	}
	var got []string
	for _, it := range items {
		if it.Type != "message" || it.Channel != general || it.Message == nil ||
			!slices.Equal(it.Message.PinnedTo, []string{general}) || it.Message.User != alice.userID {
			t.Errorf("pinned item = %+v (message %+v)", it, it.Message)
		}
		if it.Message != nil {
			got = append(got, it.Message.Timestamp)
		}
	}
	if !slices.Equal(got, []string{first, second}) {
		t.Errorf("ListPins = %v, want the latest pinned first %v", got, []string{first, second})
	}

	hist, err := sb.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general})
	if err == nil {
		hist.Messages = postedGo(hist.Messages) // bob's join
	}
	if err != nil || hist.PinCount != 2 || len(hist.Messages) != 3 {
		t.Fatalf("GetConversationHistory = %+v, %v; want 3 messages, pin_count 2", hist, err)
	}
	for _, hm := range hist.Messages {
		pinned := hm.Timestamp == first || hm.Timestamp == second
		if pinned != slices.Equal(hm.PinnedTo, []string{general}) {
			t.Errorf("history message %q pinned_to %v", hm.Text, hm.PinnedTo)
		}
	}
	if info := alice.must("conversations.info", obj{"channel": general})["channel"].(obj); info["pin_count"] != float64(2) {
		t.Errorf("conversations.info pin_count = %v, want 2", info["pin_count"])
	}

	if err := sa.RemovePin(general, slack.NewRefToMessage(general, second)); err != nil {
		t.Fatalf("RemovePin = %v", err)
	}
	if ev := live.next(isType("pin_removed")); ev["user"] != alice.userID || ev["has_pins"] != true {
		t.Errorf("pin_removed = %v", ev)
	}
	// A deleted message loses its pin.
	alice.must("chat.delete", obj{"channel": general, "ts": first})
	if items, _, err := sb.ListPins(general); err != nil || len(items) != 0 {
		t.Errorf("ListPins after deleting the pinned message = %+v, %v; want none", items, err)
	}
	if hist, err := sb.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general}); err != nil || hist.PinCount != 0 {
		t.Errorf("pin_count after deleting the pinned message = %+v, %v; want 0", hist, err)
	}
	if err := sa.AddPin(general, slack.NewRefToMessage(general, first)); err == nil || err.Error() != "message_not_found" {
		t.Errorf("AddPin(deleted) = %v, want message_not_found", err)
	}
}

// chat.postEphemeral through slack-go: the message reaches every
// connection of its user and no one else's, and is in neither history nor
// catch-up.
func TestSlackGoPostEphemeral(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	carol := signup(t, m, "acme", "carol")
	dave := signup(t, m, "acme", "dave")
	general := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": general})
	carol.must("conversations.join", obj{"channel": general})
	bobPhone, bobLaptop, carolConn := bob.connect(), bob.connect(), carol.connect()
	alice.post(general, "before")

	sa := slack.New(alice.token, slack.OptionAPIURL(m.URL()+"/api/"))
	ts, err := sa.PostEphemeral(general, bob.userID, slack.MsgOptionText("only for bob", false),
		slack.MsgOptionBlocks(slack.NewDividerBlock()))
	if err != nil || ts == "" {
		t.Fatalf("PostEphemeral = %q, %v", ts, err)
	}
	alice.post(general, "after")
	for name, conn := range map[string]*rtm{"phone": bobPhone, "laptop": bobLaptop} {
		// The ephemeral comes on bob's own topic, "after" on the
		// channel's: either may come first.
		var after, ephemeral bool
		frames := conn.collect(func(f obj) bool {
			after = after || isMessage("after")(f)
			ephemeral = ephemeral || f["is_ephemeral"] == true
			return after && ephemeral
		})
		var eph []obj
		for _, f := range frames {
			if f["is_ephemeral"] == true {
				eph = append(eph, f)
			}
		}
		if len(eph) != 1 {
			t.Fatalf("bob's %s got %d ephemeral messages, want 1: %v", name, len(eph), frames)
		}
		e := eph[0]
		if e["type"] != "message" || e["text"] != "only for bob" || e["ts"] != ts || e["channel"] != general ||
			e["user"] != alice.userID || e["blocks"] == nil || e["subtype"] != nil || e["seq"] != nil {
			t.Errorf("bob's %s got %v", name, e)
		}
	}
	for _, f := range carolConn.collect(isMessage("after")) {
		if f["is_ephemeral"] != nil || f["text"] == "only for bob" {
			t.Errorf("carol got %v", f)
		}
	}

	hist, err := sa.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general})
	if err == nil {
		hist.Messages = postedGo(hist.Messages) // bob's and carol's joins
	}
	if err != nil || len(hist.Messages) != 2 {
		t.Fatalf("history = %+v, %v; want before and after only", hist, err)
	}
	for _, hm := range hist.Messages {
		if hm.Text == "only for bob" || hm.Timestamp == ts {
			t.Errorf("history holds the ephemeral message: %+v", hm)
		}
	}
	out := bob.must("client.catchup", obj{"checkpoints": map[string]int64{general: 0}, "limit": 1000})
	var texts []string
	for _, c := range out["channels"].([]any) {
		for _, e := range c.(obj)["events"].([]any) {
			if !isSystem(e.(obj)) { // the joins, here and in #general
				texts = append(texts, e.(obj)["text"].(string))
			}
		}
	}
	if !slices.Equal(texts, []string{"before", "after"}) {
		t.Errorf("catch-up texts %q, want before and after only", texts)
	}

	for _, tc := range []struct {
		user, want string
	}{
		{dave.userID, "user_not_in_channel"},
		{"UNOSUCHUSER", "user_not_found"},
	} {
		if _, err := sa.PostEphemeral(general, tc.user, slack.MsgOptionText("x", false)); err == nil || err.Error() != tc.want {
			t.Errorf("PostEphemeral(to %s) = %v, want %s", tc.user, err, tc.want)
		}
	}
	sd := slack.New(dave.token, slack.OptionAPIURL(m.URL()+"/api/"))
	if _, err := sd.PostEphemeral(general, bob.userID, slack.MsgOptionText("x", false)); err == nil || err.Error() != "not_in_channel" {
		t.Errorf("PostEphemeral by a non-member = %v, want not_in_channel", err)
	}
}
