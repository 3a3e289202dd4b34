package main

import (
	"testing"

	"github.com/slack-go/slack"
)

// Joins, invites, leaves, topics and purposes are kept in the channel's
// history as Slack keeps them: slack-go reads them from
// conversations.history with their subtype, user, text and inviter,
// topic or purpose; #general has the sign-up's join.
func TestSystemMessagesSlackGo(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	carol := signup(t, m, "acme", "carol")
	plaza := alice.createChannel("plaza", false)
	api := slack.New(bob.token, slack.OptionAPIURL(m.URL()+"/api/"))

	if _, _, _, err := api.JoinConversation(plaza); err != nil {
		t.Fatalf("JoinConversation = %v", err)
	}
	if _, err := api.InviteUsersToConversation(plaza, carol.userID); err != nil {
		t.Fatalf("InviteUsersToConversation = %v", err)
	}
	if _, err := api.SetTopicOfConversation(plaza, "ship it"); err != nil {
		t.Fatalf("SetTopicOfConversation = %v", err)
	}
	if _, err := api.SetPurposeOfConversation(plaza, "releases"); err != nil {
		t.Fatalf("SetPurposeOfConversation = %v", err)
	}
	if _, err := api.LeaveConversation(plaza); err != nil {
		t.Fatalf("LeaveConversation = %v", err)
	}

	hist, err := slack.New(alice.token, slack.OptionAPIURL(m.URL()+"/api/")).
		GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: plaza})
	if err != nil {
		t.Fatalf("GetConversationHistory = %v", err)
	}
	at := func(c *client) string { return "<@" + c.userID + ">" }
	want := []slack.Msg{ // newest first
		{Type: "message", SubType: slack.MsgSubTypeChannelLeave, User: bob.userID, Text: at(bob) + " has left the channel"},
		{Type: "message", SubType: slack.MsgSubTypeChannelPurpose, User: bob.userID, Text: at(bob) + " set the channel purpose: releases", Purpose: "releases"},
		{Type: "message", SubType: slack.MsgSubTypeChannelTopic, User: bob.userID, Text: at(bob) + " set the channel topic: ship it", Topic: "ship it"},
		{Type: "message", SubType: slack.MsgSubTypeChannelJoin, User: carol.userID, Text: at(carol) + " has joined the channel", Inviter: bob.userID},
		{Type: "message", SubType: slack.MsgSubTypeChannelJoin, User: bob.userID, Text: at(bob) + " has joined the channel"},
	}
	if len(hist.Messages) != len(want) {
		t.Fatalf("history has %d messages, want %d: %+v", len(hist.Messages), len(want), hist.Messages)
	}
	for i, w := range want {
		g := hist.Messages[i].Msg
		if g.Type != w.Type || g.SubType != w.SubType || g.User != w.User || g.Text != w.Text ||
			g.Inviter != w.Inviter || g.Topic != w.Topic || g.Purpose != w.Purpose || g.Timestamp == "" {
			t.Errorf("message %d = %+v\nwant %+v", i, g, w)
		}
	}

	// #general: bob's and carol's sign-ups, not alice's (she made it).
	var general string
	for _, c := range alice.must("conversations.list", obj{})["channels"].([]any) {
		if c := c.(obj); c["is_general"] == true {
			general = c["id"].(string)
		}
	}
	gen, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general})
	if err != nil {
		t.Fatalf("GetConversationHistory(#general) = %v", err)
	}
	if len(gen.Messages) != 2 || gen.Messages[0].SubType != slack.MsgSubTypeChannelJoin || gen.Messages[0].User != carol.userID ||
		gen.Messages[1].User != bob.userID {
		t.Errorf("#general's history = %+v, want carol's join then bob's", gen.Messages)
	}
}
