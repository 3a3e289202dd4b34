package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// The methods bots call most, through slack-go's own functions: the
// answers must parse into its types with the values confab holds.
func TestSlackGoManagesChannels(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice") // the workspace's owner
	bob := signup(t, m, "acme", "bob")
	general := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": general})
	secret := alice.createChannel("secret", true)
	alice.must("conversations.invite", obj{"channel": secret, "users": bob.userID})
	api := slack.New(alice.token, slack.OptionAPIURL(m.URL()+"/api/"))
	bobAPI := slack.New(bob.token, slack.OptionAPIURL(m.URL()+"/api/"))
	slackErr := func(err error) string {
		var e slack.SlackErrorResponse
		if errors.As(err, &e) {
			return e.Err
		}
		if err == nil {
			return "ok"
		}
		return err.Error()
	}

	team, err := api.GetTeamInfo()
	if err != nil || team.ID != alice.teamID || team.Domain != "acme" || team.Name != "acme" || team.EmailDomain != "" || team.Icon["image_default"] != true {
		t.Errorf("GetTeamInfo = %+v, %v", team, err)
	}

	chans, next, err := bobAPI.GetConversationsForUser(&slack.GetConversationsForUserParameters{Types: []string{"public_channel", "private_channel"}})
	if err != nil || next != "" || len(chans) != 3 {
		t.Fatalf("GetConversationsForUser = %+v, %q, %v", chans, next, err)
	}
	for _, c := range chans {
		if (c.ID != general && c.ID != secret && !c.IsGeneral) || !c.IsMember {
			t.Errorf("GetConversationsForUser: %+v", c)
		}
	}

	// Re-joining warns, as Slack does.
	if _, warning, _, err := bobAPI.JoinConversation(general); err != nil || warning != "already_in_channel" {
		t.Errorf("JoinConversation again = warning %q, %v", warning, err)
	}

	ch, err := api.RenameConversation(general, "town-square")
	if err != nil || ch == nil || ch.ID != general || ch.Name != "town-square" {
		t.Errorf("RenameConversation = %+v, %v", ch, err)
	}
	if _, err := bobAPI.RenameConversation(general, "mine"); slackErr(err) != "not_authorized" {
		t.Errorf("RenameConversation by a member = %v, want not_authorized", err)
	}
	if _, err := api.RenameConversation(secret, "town-square"); slackErr(err) != "name_taken" {
		t.Errorf("RenameConversation to a taken name = %v, want name_taken", err)
	}

	if err := api.ArchiveConversation(general); err != nil {
		t.Fatal(err)
	}
	if err := bobAPI.UnArchiveConversation(general); err != nil {
		t.Errorf("UnArchiveConversation = %v", err)
	}
	if err := bobAPI.UnArchiveConversation(general); slackErr(err) != "not_archived" {
		t.Errorf("UnArchiveConversation again = %v, want not_archived", err)
	}

	// A thread, a reaction, a permalink.
	parent := bob.post(general, "parent")
	reply := bob.must("chat.postMessage", obj{"channel": general, "text": "reply", "thread_ts": parent})["ts"].(string)
	msgs, _, _, err := api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: general, Timestamp: reply})
	if err != nil || len(msgs) != 2 || msgs[0].Timestamp != parent || msgs[1].Timestamp != reply {
		t.Errorf("GetConversationReplies(a reply's ts) = %+v, %v", msgs, err)
	}
	if err := api.AddReaction("tada", slack.NewRefToMessage(general, parent)); err != nil {
		t.Fatal(err)
	}
	item, err := bobAPI.GetReactions(slack.NewRefToMessage(general, parent), slack.GetReactionsParameters{Full: true})
	if err != nil || item.Type != "message" || item.Channel != general || item.Message == nil || item.Message.Text != "parent" ||
		len(item.Reactions) != 1 || item.Reactions[0].Name != "tada" || item.Reactions[0].Count != 1 || item.Reactions[0].Users[0] != alice.userID {
		t.Errorf("GetReactions = %+v, %v", item, err)
	}
	link, err := bobAPI.GetPermalink(&slack.PermalinkParameters{Channel: general, Ts: parent})
	if want := m.URL() + "/#" + general + "/p" + strings.Replace(parent, ".", "", 1); err != nil || link != want {
		t.Errorf("GetPermalink = %q, %v; want %q", link, err, want)
	}

	dm, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{bob.userID}})
	if err != nil {
		t.Fatal(err)
	}
	if noOp, closed, err := api.CloseConversation(dm.ID); err != nil || !noOp || !closed {
		t.Errorf("CloseConversation(dm) = %v, %v, %v", noOp, closed, err)
	}
	if _, _, err := api.CloseConversation(general); slackErr(err) != "method_not_supported_for_channel_type" {
		t.Errorf("CloseConversation(channel) = %v", err)
	}

	// A kick: bob's socket gets channel_left and nothing more of the channel.
	sock := bob.connect()
	if err := api.KickUserFromConversation(secret, alice.userID); slackErr(err) != "cant_kick_self" {
		t.Errorf("KickUserFromConversation(self) = %v, want cant_kick_self", err)
	}
	if err := bobAPI.KickUserFromConversation(secret, alice.userID); slackErr(err) != "restricted_action" {
		t.Errorf("KickUserFromConversation by a member = %v, want restricted_action", err)
	}
	if err := api.KickUserFromConversation(secret, bob.userID); err != nil {
		t.Fatalf("KickUserFromConversation = %v", err)
	}
	sock.next(func(f obj) bool { return f["type"] == "channel_left" && f["channel"] == secret })
	if err := api.KickUserFromConversation(secret, bob.userID); slackErr(err) != "not_in_channel" {
		t.Errorf("KickUserFromConversation again = %v, want not_in_channel", err)
	}
	alice.post(secret, "after the kick")
	alice.must("conversations.invite", obj{"channel": secret, "users": bob.userID})
	for _, f := range sock.collect(func(f obj) bool { return f["type"] == "channel_joined" }) {
		if f["type"] == "message" && f["channel"] == secret {
			t.Errorf("the kicked socket got %v", f)
		}
	}
	if _, err := bobAPI.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: secret}); err != nil {
		t.Errorf("GetConversationInfo after the invite back = %v", err)
	}
}
