package main

import (
	"testing"

	"github.com/slack-go/slack"
)

// An app created from a manifest runs unchanged with slack-go on its bot
// token: it is itself (auth.test), posts where it was invited and nowhere
// else, and its messages show as a bot's.
func TestSlackGoAppBot(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice") // the workspace's owner
	general := alice.createChannel("plaza", false)
	random := alice.createChannel("random", false)

	created := alice.must("apps.manifest.create", obj{"manifest": obj{
		"display_information": obj{"name": "Deploy Helper"},
		"features":            obj{"bot_user": obj{"display_name": "Deploy Bot"}},
		"oauth_config":        obj{"scopes": obj{"bot": []string{"chat:write", "channels:history", "users:read"}}},
		"settings":            obj{"socket_mode_enabled": true, "event_subscriptions": obj{"bot_events": []string{"message.channels"}}},
	}})
	botToken, _ := created["bot_token"].(string)
	botUser, _ := created["bot_user_id"].(string)
	botID, _ := created["bot_id"].(string)
	appID, _ := created["app_id"].(string)
	if len(botToken) < 10 || botToken[:5] != "xoxb-" || botID == "" || botID[0] != 'B' || appID == "" || appID[0] != 'A' || created["team_id"] != alice.teamID {
		t.Fatalf("apps.manifest.create = %v", created)
	}
	alice.must("conversations.invite", obj{"channel": general, "users": botUser})

	bot := slack.New(botToken, slack.OptionAPIURL(m.URL()+"/api/"))
	auth, err := bot.AuthTest()
	if err != nil || auth.UserID != botUser || auth.BotID != botID || auth.TeamID != alice.teamID {
		t.Fatalf("AuthTest = %+v, %v; want user %s bot %s", auth, err, botUser, botID)
	}
	_, ts, err := bot.PostMessage(general, slack.MsgOptionText("deployed", false))
	if err != nil || ts == "" {
		t.Fatalf("PostMessage(invited) = %q, %v", ts, err)
	}
	if _, _, err := bot.PostMessage(random, slack.MsgOptionText("nope", false)); err == nil || err.Error() != "not_in_channel" {
		t.Fatalf("PostMessage(not invited) = %v, want not_in_channel", err)
	}

	human := slack.New(alice.token, slack.OptionAPIURL(m.URL()+"/api/"))
	hist, err := human.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general, Limit: 10})
	if err != nil || len(hist.Messages) != 2 || hist.Messages[1].SubType != slack.MsgSubTypeChannelJoin ||
		hist.Messages[1].User != botUser || hist.Messages[1].Inviter != alice.userID || hist.Messages[1].BotID != botID {
		t.Fatalf("GetConversationHistory = %+v, %v; want the bot's join (invited by alice), then its message", hist, err)
	}
	msg := hist.Messages[0]
	if msg.BotID != botID || msg.BotProfile == nil || msg.BotProfile.ID != botID || msg.BotProfile.AppID != appID ||
		msg.BotProfile.Name != "Deploy Bot" || msg.BotProfile.TeamID != alice.teamID || msg.User != botUser {
		t.Fatalf("history message = %+v (bot_profile %+v), want bot %s of app %s", msg, msg.BotProfile, botID, appID)
	}
	info, err := bot.GetBotInfo(slack.GetBotInfoParameters{Bot: botID})
	if err != nil || info.ID != botID || info.Name != "Deploy Bot" || info.Deleted || info.AppID != appID || info.UserID != botUser {
		t.Fatalf("GetBotInfo = %+v, %v", info, err)
	}
}

// The app methods' errors, the app token, update/export/delete, and what a
// bot may read and open.
func TestAppMethods(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice") // the owner
	bob := signup(t, m, "acme", "bob")
	general := alice.createChannel("plaza", false)
	manifest := `{"display_information":{"name":"Helper"},"features":{"bot_user":{"display_name":"Helper"}},` +
		`"oauth_config":{"scopes":{"bot":["channels:history","channels:join","chat:write","im:write"]}}}`

	_, bad := alice.call("apps.manifest.create", obj{"manifest": `{"display_information":{},"settings":{"event_subscriptions":{"bot_events":["x"]}}}`})
	probs, _ := bad["errors"].([]any)
	if bad["error"] != "invalid_manifest" || len(probs) < 2 {
		t.Fatalf("invalid manifest: %v", bad)
	}
	if p, _ := probs[0].(obj); p["pointer"] != "/display_information/name" || p["message"] == "" {
		t.Errorf("first problem = %v", probs[0])
	}
	alice.fails("apps.manifest.create", obj{"manifest": "not json"}, "invalid_manifest")
	alice.fails("apps.manifest.create", obj{}, "invalid_arguments")
	bob.fails("apps.manifest.create", obj{"manifest": manifest}, "permission_denied")

	created := alice.must("apps.manifest.create", obj{"manifest": manifest})
	again := alice.must("apps.manifest.create", obj{"manifest": manifest})
	appID, botUser, botID := created["app_id"].(string), created["bot_user_id"].(string), created["bot_id"].(string)
	if again["bot_user_id"] == botUser {
		t.Fatalf("two apps share bot user %s", botUser)
	}
	bot := &client{tb: t, base: alice.base, token: created["bot_token"].(string), userID: botUser, teamID: alice.teamID}
	app := &client{tb: t, base: alice.base, token: created["app_token"].(string), teamID: alice.teamID}
	app.fails("auth.test", nil, "not_allowed_token_type")
	app.fails("chat.postMessage", obj{"channel": general, "text": "x"}, "not_allowed_token_type")
	bot.fails("apps.manifest.create", obj{"manifest": manifest}, "not_allowed_token_type")

	if u := alice.must("users.info", obj{"user": botUser})["user"].(obj); u["is_bot"] != true {
		t.Errorf("users.info(bot) = %v, want is_bot", u)
	}
	bot.fails("conversations.history", obj{"channel": general}, "not_in_channel")
	bot.must("conversations.join", obj{"channel": general})
	bot.must("conversations.history", obj{"channel": general})
	dm := bot.must("conversations.open", obj{"users": bob.userID})["channel"].(obj)["id"].(string)
	bot.must("chat.postMessage", obj{"channel": dm, "text": "hi bob"})

	alice.fails("bots.info", obj{"bot": "BNOPE"}, "bot_not_found")
	alice.fails("bots.info", obj{}, "invalid_arguments")
	if b := alice.must("bots.info", obj{"bot": botID})["bot"].(obj); b["app_id"] != appID || b["user_id"] != botUser || b["deleted"] != false {
		t.Errorf("bots.info = %v", b)
	}

	alice.must("apps.manifest.update", obj{"app_id": appID, "manifest": `{"display_information":{"name":"Helper"},"features":{"bot_user":{"display_name":"Renamed"}},"oauth_config":{"scopes":{"bot":["chat:write"]}}}`})
	exp := alice.must("apps.manifest.export", obj{"app_id": appID})["manifest"].(obj)
	if exp["features"].(obj)["bot_user"].(obj)["display_name"] != "Renamed" {
		t.Errorf("apps.manifest.export = %v", exp)
	}
	bob.fails("apps.manifest.export", obj{"app_id": appID}, "permission_denied")
	alice.fails("apps.manifest.export", obj{"app_id": "ANOPE"}, "app_not_found")
	alice.fails("apps.manifest.update", obj{"app_id": appID, "manifest": `[]`}, "invalid_manifest")

	alice.must("apps.manifest.delete", obj{"app_id": appID})
	bot.fails("auth.test", nil, "invalid_auth")
	alice.fails("apps.manifest.delete", obj{"app_id": appID}, "app_not_found")
	if b := alice.must("bots.info", obj{"bot": botID})["bot"].(obj); b["deleted"] != true || b["name"] != "Renamed" {
		t.Errorf("bots.info after delete = %v", b)
	}
}

// A bot's message shows as the bot's wherever it appears: in an edit's
// event, in catch-up, and as a conversation's latest message in
// client.boot.
func TestBotMessageEverywhere(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	app := alice.must("apps.manifest.create", obj{"manifest": obj{
		"display_information": obj{"name": "Shown"},
		"features":            obj{"bot_user": obj{"display_name": "Shown"}},
		"oauth_config":        obj{"scopes": obj{"bot": []string{"chat:write"}}},
	}})
	botID := app["bot_id"].(string)
	alice.must("conversations.invite", obj{"channel": general, "users": app["bot_user_id"]})
	bot := &client{tb: t, base: m.URL(), name: "bot", token: app["bot_token"].(string)}
	live := alice.connect()
	ts := bot.post(general, "first")
	if f := live.next(isMessage("first")); f["bot_id"] != botID {
		t.Fatalf("live message %v; want bot_id %s", f, botID)
	}
	bot.must("chat.update", obj{"channel": general, "ts": ts, "text": "edited"})
	f := live.next(func(f obj) bool { return f["subtype"] == "message_changed" })
	if inner, _ := f["message"].(obj); inner["bot_id"] != botID || inner["bot_profile"] == nil {
		t.Fatalf("message_changed %v; want the bot's", f)
	}
	out := alice.must("client.catchup", obj{"checkpoints": obj{general: 0}})
	chans, _ := out["channels"].([]any)
	found := false
	for _, c := range chans {
		for _, e := range c.(obj)["events"].([]any) {
			if ev := e.(obj); ev["type"] == "message" && ev["ts"] == ts {
				found = true
				if ev["bot_id"] != botID {
					t.Fatalf("caught-up message %v; want bot_id %s", ev, botID)
				}
			}
		}
	}
	if !found {
		t.Fatalf("catch-up %v has no message at %s", out, ts)
	}
	boot := alice.must("client.boot", nil)
	for _, c := range boot["channels"].([]any) {
		if ch := c.(obj); ch["id"] == general {
			if latest, _ := ch["latest"].(obj); latest["bot_id"] != botID {
				t.Fatalf("client.boot latest of general = %v; want bot_id %s", ch["latest"], botID)
			}
		}
	}
}
