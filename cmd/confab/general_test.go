package main

import (
	"errors"
	"testing"

	"github.com/slack-go/slack"
)

// A second user who signs up into an existing workspace is in its
// #general at once, which slack-go reads as IsGeneral, with the first
// user's message in it; nobody leaves it, is kicked from it or archives
// it, with Slack's error codes.
func TestSlackGoGeneralChannel(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice") // creates the workspace
	api := slack.New(alice.token, slack.OptionAPIURL(m.URL()+"/api/"))
	chans, _, err := api.GetConversationsForUser(&slack.GetConversationsForUserParameters{})
	if err != nil || len(chans) != 1 || !chans[0].IsGeneral || chans[0].Name != "general" {
		t.Fatalf("alice's channels = %+v, %v; want #general, is_general", chans, err)
	}
	general := chans[0].ID
	if _, _, err := api.PostMessage(general, slack.MsgOptionText("welcome", false)); err != nil {
		t.Fatal(err)
	}

	bob := signup(t, m, "acme", "bob")
	bobAPI := slack.New(bob.token, slack.OptionAPIURL(m.URL()+"/api/"))
	ch, err := bobAPI.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: general})
	if err != nil || !ch.IsGeneral || !ch.IsMember || ch.NumMembers != 2 {
		t.Fatalf("conversations.info(#general) as bob = %+v, %v; want is_general, bob a member of 2", ch, err)
	}
	list, _, err := bobAPI.GetConversations(&slack.GetConversationsParameters{})
	if err != nil || len(list) != 1 || list[0].ID != general || !list[0].IsGeneral || !list[0].IsMember {
		t.Errorf("conversations.list as bob = %+v, %v; want #general, is_general, a member", list, err)
	}
	h, err := bobAPI.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general})
	if err != nil || len(h.Messages) != 2 || h.Messages[0].SubType != slack.MsgSubTypeChannelJoin ||
		h.Messages[0].User != bob.userID || h.Messages[1].Text != "welcome" {
		t.Errorf("history of #general as bob = %+v, %v; want alice's welcome, then bob's join", h, err)
	}
	boot := bob.must("client.boot", obj{})
	found := false
	for _, c := range boot["channels"].([]any) {
		if c := c.(obj); c["id"] == general {
			found = c["is_general"] == true && c["is_member"] == true
		}
	}
	if !found {
		t.Errorf("client.boot of bob does not list #general as is_general: %v", boot["channels"])
	}

	slackErr := func(err error) string {
		var e slack.SlackErrorResponse
		if errors.As(err, &e) {
			return e.Err
		}
		return "not a Slack error: " + errorString(err)
	}
	if _, err := bobAPI.LeaveConversation(general); slackErr(err) != "cant_leave_general" {
		t.Errorf("bob leaves #general: %v, want cant_leave_general", err)
	}
	if err := api.KickUserFromConversation(general, bob.userID); slackErr(err) != "cant_kick_from_general" {
		t.Errorf("alice kicks bob from #general: %v, want cant_kick_from_general", err)
	}
	if err := api.ArchiveConversation(general); slackErr(err) != "cant_archive_general" {
		t.Errorf("alice archives #general: %v, want cant_archive_general", err)
	}
	if ch, err := bobAPI.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: general}); err != nil || !ch.IsMember || ch.IsArchived {
		t.Errorf("#general after the refusals = %+v, %v; want bob in it, not archived", ch, err)
	}

	// A channel someone creates is no general channel.
	other := alice.createChannel("random", false)
	if ch, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: other}); err != nil || ch.IsGeneral {
		t.Errorf("conversations.info(#random) = %+v, %v; want is_general false", ch, err)
	}
}

func errorString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// generalOf returns the id of the general channel of c's workspace.
func generalOf(t *testing.T, c *client) string {
	t.Helper()
	for _, ch := range c.must("conversations.list", obj{"limit": 1000})["channels"].([]any) {
		if ch := ch.(obj); ch["is_general"] == true {
			return ch["id"].(string)
		}
	}
	t.Fatalf("%s's workspace has no general channel", c.name)
	return ""
}
