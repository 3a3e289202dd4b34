package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// historyTexts returns the texts of a channel's messages, newest first,
// with the bot that posted each ("" for a person); the system messages
// (a bot's join) left out.
func historyTexts(t *testing.T, api *slack.Client, channel string) (texts, bots []string) {
	t.Helper()
	h, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: channel, Limit: 100})
	if err != nil {
		t.Fatalf("GetConversationHistory = %v", err)
	}
	for _, m := range postedGo(h.Messages) { // not the bot's join
		texts, bots = append(texts, m.Text), append(bots, m.BotID)
	}
	return texts, bots
}

// A scheduled message survives a restart and is posted once: scheduled
// with slack-go 2 s ahead, the server stopped before it is due and a new
// one started on the same data directory after, it is posted exactly
// once, by its user (a bot's with its bot_id), and a second restart does
// not post it again. A deleted one is never posted.
func TestScheduledMessageSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	m := MustRunMain(t, func(m *Main) { m.Config.DataDir = dir })
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	created := alice.must("apps.manifest.create", obj{"manifest": obj{
		"display_information": obj{"name": "Reminders"},
		"features":            obj{"bot_user": obj{"display_name": "Reminder Bot"}},
		"oauth_config":        obj{"scopes": obj{"bot": []string{"chat:write"}}},
	}})
	botID := created["bot_id"].(string)
	alice.must("conversations.invite", obj{"channel": general, "users": created["bot_user_id"]})

	human := slack.New(alice.token, slack.OptionAPIURL(m.URL()+"/api/"))
	bot := slack.New(created["bot_token"].(string), slack.OptionAPIURL(m.URL()+"/api/"))
	postAt := time.Now().Unix() + 2
	at := strconv.FormatInt(postAt, 10)
	ch, id, err := human.ScheduleMessage(general, at, slack.MsgOptionText("from alice, later", false))
	if err != nil || ch != general || len(id) < 2 || id[0] != 'Q' {
		t.Fatalf("ScheduleMessage = %q, %q, %v", ch, id, err)
	}
	if _, _, err := bot.ScheduleMessage(general, at, slack.MsgOptionText("from the bot, later", false)); err != nil {
		t.Fatalf("bot ScheduleMessage = %v", err)
	}
	_, gone, err := human.ScheduleMessage(general, at, slack.MsgOptionText("never", false))
	if err != nil {
		t.Fatalf("ScheduleMessage = %v", err)
	}
	if ok, err := human.DeleteScheduledMessage(&slack.DeleteScheduledMessageParameters{Channel: general, ScheduledMessageID: gone}); !ok || err != nil {
		t.Fatalf("DeleteScheduledMessage = %v, %v", ok, err)
	}
	if _, err := human.DeleteScheduledMessage(&slack.DeleteScheduledMessageParameters{Channel: general, ScheduledMessageID: gone}); err == nil || err.Error() != "invalid_scheduled_message_id" {
		t.Fatalf("DeleteScheduledMessage(again) = %v, want invalid_scheduled_message_id", err)
	}
	list, next, err := human.GetScheduledMessages(&slack.GetScheduledMessagesParameters{Channel: general})
	if err != nil || len(list) != 1 || list[0].ID != id || list[0].Channel != general || int64(list[0].PostAt) != postAt ||
		list[0].Text != "from alice, later" || list[0].DateCreated == 0 || next != "" {
		t.Fatalf("GetScheduledMessages = %+v, %q, %v; want alice's one (not the bot's, not the deleted)", list, next, err)
	}
	if _, _, err := human.ScheduleMessage(general, "1", slack.MsgOptionText("x", false)); err == nil || err.Error() != "time_in_past" {
		t.Fatalf("ScheduleMessage(past) = %v, want time_in_past", err)
	}
	if texts, _ := historyTexts(t, human, general); len(texts) != 0 {
		t.Fatalf("history before the messages are due = %q", texts)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	time.Sleep(time.Until(time.Unix(postAt+1, 0)))
	m = MustRunMain(t, func(m *Main) { m.Config.DataDir = dir })
	human = slack.New(alice.token, slack.OptionAPIURL(m.URL()+"/api/"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if texts, _ := historyTexts(t, human, general); len(texts) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scheduled messages were not posted after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * schedulerInterval) // a scheduler that would post twice has had its chance
	check := func(when string) {
		t.Helper()
		texts, bots := historyTexts(t, human, general)
		seen := map[string]int{}
		for i, text := range texts {
			seen[text]++
			if text == "from the bot, later" && bots[i] != botID {
				t.Errorf("%s: the bot's message has bot_id %q, want %s", when, bots[i], botID)
			}
		}
		if len(texts) != 2 || seen["from alice, later"] != 1 || seen["from the bot, later"] != 1 {
			t.Errorf("%s: history %q, want alice's and the bot's message once each", when, texts)
		}
	}
	check("after the restart")
	if list, _, err := human.GetScheduledMessages(&slack.GetScheduledMessagesParameters{}); err != nil || len(list) != 0 {
		t.Errorf("GetScheduledMessages after posting = %+v, %v; want none", list, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m = MustRunMain(t, func(m *Main) { m.Config.DataDir = dir })
	human = slack.New(alice.token, slack.OptionAPIURL(m.URL()+"/api/"))
	time.Sleep(2 * schedulerInterval)
	check("after a second restart")
}
