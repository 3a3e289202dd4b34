package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/events"
	"github.com/confab/confab/internal/nodetest"
)

// boltScopes are the scopes of Slack's getting-started app.
var boltScopes = []string{"chat:write", "channels:history", "app_mentions:read"}

// boltManifest is the manifest of Slack's getting-started app.
func boltManifest(name string, settings obj) obj {
	return obj{
		"display_information": obj{"name": name},
		"features":            obj{"bot_user": obj{"display_name": name}},
		"oauth_config":        obj{"scopes": obj{"bot": boltScopes}},
		"settings":            settings,
	}
}

// awaitReply waits on a person's socket for the bot's threaded answer to
// the message at ts.
func awaitReply(t *testing.T, live *rtm, botID, ts, text string) {
	t.Helper()
	f := live.next(func(f obj) bool { return f["type"] == "message" && f["bot_id"] == botID })
	if f["text"] != text || f["thread_ts"] != ts {
		t.Fatalf("bot's message %v; want %q in the thread of %s", f, text, ts)
	}
}

// mentionOf decodes a line "EVENT <json>" of an app_mention.
func mentionOf(t *testing.T, line string) obj {
	t.Helper()
	var ev obj
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("EVENT line %q: %v", line, err)
	}
	return ev
}

// Slack's getting-started Bolt app (@slack/bolt, pinned) runs unchanged in
// Socket Mode against confab, pointed at it by clientOptions.slackApiUrl:
// app.start() resolves, app.message('hello') answers in the thread with
// say(), and app.event('app_mention') fires.
func TestBoltSocketMode(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	app := alice.must("apps.manifest.create", obj{"manifest": boltManifest("Bolt Socket", obj{
		"socket_mode_enabled": true, "event_subscriptions": obj{"bot_events": []string{"message.channels", "app_mention"}},
	})})
	alice.must("conversations.invite", obj{"channel": general, "users": app["bot_user_id"]})
	live := alice.connect()

	p := nodetest.Run(t, "bolt-socket.js", map[string]string{
		"SLACK_BOT_TOKEN": app["bot_token"].(string), "SLACK_APP_TOKEN": app["app_token"].(string),
		"SLACK_API_URL": m.URL() + "/api/",
	})
	p.Wait("READY")

	ts := alice.post(general, "hello bolt")
	awaitReply(t, live, app["bot_id"].(string), ts, "Hey there <@"+alice.userID+">!")

	ts = alice.post(general, "<@"+app["bot_user_id"].(string)+"> status?")
	ev := mentionOf(t, p.Wait("EVENT "))
	if ev["type"] != "app_mention" || ev["ts"] != ts || ev["channel"] != general || ev["user"] != alice.userID {
		t.Fatalf("app_mention = %v; want the message at %s", ev, ts)
	}
}

// The same app with Bolt's HTTP receiver: confab verifies its request URL
// (Bolt answers url_verification by itself) and POSTs the events, which
// Bolt's own signature check accepts.
func TestBoltHTTPReceiver(t *testing.T) {
	m := MustRunMain(t, func(m *Main) {
		m.TuneEvents = func(c *events.Config) { c.PollInterval = 200 * time.Millisecond }
	})
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	manifest := boltManifest("Bolt HTTP", obj{})
	app := alice.must("apps.manifest.create", obj{"manifest": manifest})
	alice.must("conversations.invite", obj{"channel": general, "users": app["bot_user_id"]})
	live := alice.connect()

	// Bolt needs the signing secret to start, and confab the URL it
	// listens on: the app's manifest gets its request_url once it runs, as
	// one sets it in Slack's app settings.
	p := nodetest.Run(t, "bolt-http.js", map[string]string{
		"SLACK_BOT_TOKEN": app["bot_token"].(string), "SLACK_SIGNING_SECRET": app["credentials"].(obj)["signing_secret"].(string),
		"SLACK_API_URL": m.URL() + "/api/", "PORT": "0",
	})
	port := strings.TrimSpace(p.Wait("READY "))
	manifest["settings"] = obj{"event_subscriptions": obj{"request_url": "http://127.0.0.1:" + port + "/slack/events",
		"bot_events": []string{"message.channels", "app_mention"}}}
	alice.must("apps.manifest.update", obj{"app_id": app["app_id"], "manifest": manifest})

	ts := alice.post(general, "hello over http")
	awaitReply(t, live, app["bot_id"].(string), ts, "Hey there <@"+alice.userID+">!")
	ts = alice.post(general, "<@"+app["bot_user_id"].(string)+"> are you there?")
	ev := mentionOf(t, p.Wait("EVENT "))
	if ev["type"] != "app_mention" || ev["ts"] != ts {
		t.Fatalf("app_mention = %v; want the message at %s", ev, ts)
	}
}

// @slack/socket-mode's client (pinned), as its README writes it, gets
// each event once as an events_api envelope and acknowledges it.
func TestSlackSocketModeClient(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	app := alice.must("apps.manifest.create", obj{"manifest": boltManifest("Listener", obj{
		"socket_mode_enabled": true, "event_subscriptions": obj{"bot_events": []string{"message.channels"}},
	})})
	alice.must("conversations.invite", obj{"channel": general, "users": app["bot_user_id"]})
	p := nodetest.Run(t, "socket-mode.js", map[string]string{
		"SLACK_APP_TOKEN": app["app_token"].(string), "SLACK_API_URL": m.URL() + "/api/",
	})
	p.Wait("READY")
	var ids []string
	for _, text := range []string{"one", "two", "three"} {
		ts := alice.post(general, text)
		var got struct {
			Type      string `json:"type"`
			RetryNum  *int   `json:"retry_num"`
			EventBody struct {
				EventID string `json:"event_id"`
				Event   struct {
					Type, Text, TS string
				} `json:"event"`
			} `json:"body"`
		}
		line := p.Wait("EVENT ")
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("EVENT %s: %v", line, err)
		}
		if got.Type != "events_api" || got.EventBody.Event.Text != text || got.EventBody.Event.TS != ts ||
			got.RetryNum == nil || *got.RetryNum != 0 {
			t.Fatalf("event %s; want message %q at %s, retry_num 0", line, text, ts)
		}
		ids = append(ids, got.EventBody.EventID)
	}
	if ids[0] == ids[1] || ids[1] == ids[2] || !strings.HasPrefix(ids[0], "Ev") {
		t.Fatalf("event ids %v", ids)
	}
	// Acknowledged: nothing comes again.
	time.Sleep(events.DefaultAckTimeout + 500*time.Millisecond)
	for _, l := range p.Lines() {
		if strings.Contains(l, `"retry_num":1`) {
			t.Fatalf("an acknowledged event came again: %s", l)
		}
	}
}
