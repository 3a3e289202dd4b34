package main

import (
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// An unmodified Slack client library works against confab: Web API calls
// and the RTM client.
func TestSlackGoClientWorksUnchanged(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	general := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": general})

	api := slack.New(bob.token, slack.OptionAPIURL(m.URL()+"/api/"))

	auth, err := api.AuthTest()
	if err != nil || auth.UserID != bob.userID || auth.TeamID != bob.teamID {
		t.Fatalf("AuthTest = %+v, %v; want user %s team %s", auth, err, bob.userID, bob.teamID)
	}
	channel, ts, err := api.PostMessage(general, slack.MsgOptionText("from slack-go", false))
	if err != nil || channel != general || ts == "" {
		t.Fatalf("PostMessage = %q, %q, %v", channel, ts, err)
	}
	hist, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general, Limit: 10})
	if err == nil {
		hist.Messages = postedGo(hist.Messages) // bob's join
	}
	if err != nil || len(hist.Messages) != 1 || hist.Messages[0].Text != "from slack-go" || hist.Messages[0].User != bob.userID || hist.Messages[0].Timestamp != ts {
		t.Fatalf("GetConversationHistory = %+v, %v", hist, err)
	}
	dm, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{alice.userID}})
	if err != nil || dm == nil || dm.ID == "" || dm.ID[0] != 'D' {
		t.Fatalf("OpenConversation = %+v, %v", dm, err)
	}
	again, _, alreadyOpen, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{alice.userID}})
	if err != nil || again.ID != dm.ID || !alreadyOpen {
		t.Fatalf("second OpenConversation = %+v already_open=%v, %v; want %s", again, alreadyOpen, err, dm.ID)
	}
	chans, _, err := api.GetConversations(&slack.GetConversationsParameters{Types: []string{"public_channel", "im"}})
	if err != nil {
		t.Fatalf("GetConversations: %v", err)
	}
	found := map[string]bool{}
	for _, c := range chans {
		found[c.ID] = true
	}
	if !found[general] || !found[dm.ID] {
		t.Fatalf("GetConversations = %+v, want %s and %s", chans, general, dm.ID)
	}

	rtm := api.NewRTM()
	go rtm.ManageConnection()
	t.Cleanup(func() { rtm.Disconnect() })
	deadline := time.After(waitFor)
	posted := false
	var sent, bogus *slack.OutgoingMessage
	for {
		select {
		case ev := <-rtm.IncomingEvents:
			switch e := ev.Data.(type) {
			case *slack.HelloEvent:
				// Not ConnectedEvent: slack-go sends that as soon as the
				// dial returns, before the gateway's hello says the
				// connection is registered for Bob's channels.
				if !posted {
					posted = true
					alice.post(general, "hello rtm")
				}
			case *slack.MessageEvent:
				if e.Text == "hello rtm" {
					if e.Channel != general || e.User != alice.userID {
						t.Fatalf("MessageEvent %+v, want channel %s user %s", e, general, alice.userID)
					}
					// Send over RTM: stored like chat.postMessage, then acked.
					sent = rtm.NewOutgoingMessage("sent over rtm", general)
					rtm.SendMessage(sent)
				}
			case *slack.AckMessage:
				if sent == nil || e.ReplyTo != sent.ID || e.Text != "sent over rtm" || e.Timestamp == "" {
					t.Fatalf("AckMessage %+v, want reply to %+v", e, sent)
				}
				hist := alice.must("conversations.history", obj{"channel": general, "limit": 1})
				if latest := hist["messages"].([]any)[0].(obj); latest["ts"] != e.Timestamp || latest["user"] != bob.userID {
					t.Fatalf("latest message %v, want the acked one %s by bob", latest, e.Timestamp)
				}
				bogus = rtm.NewOutgoingMessage("nowhere", "C0NOSUCHCHANNEL")
				rtm.SendMessage(bogus)
			case *slack.AckErrorEvent:
				var rerr *slack.RTMError
				if bogus == nil || e.ReplyTo != bogus.ID || !errors.As(e.ErrorObj, &rerr) || rerr.Msg != "channel_not_found" {
					t.Fatalf("AckErrorEvent %+v (%v), want channel_not_found replying to %+v", e, e.ErrorObj, bogus)
				}
				return
			case *slack.InvalidAuthEvent, *slack.ConnectionErrorEvent:
				t.Fatalf("rtm: %T %+v", e, e)
			}
		case <-deadline:
			t.Fatalf("RTM round trip incomplete within %v (posted=%v sent=%v bogus=%v)", waitFor, posted, sent != nil, bogus != nil)
		}
	}
}
