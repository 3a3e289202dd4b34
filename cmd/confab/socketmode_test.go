package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// installApp creates an app from a manifest as c (the workspace's owner)
// and returns apps.manifest.create's answer.
func installApp(c *client, name string, events []string, extra obj) obj {
	c.tb.Helper()
	settings := obj{"socket_mode_enabled": true, "event_subscriptions": obj{"bot_events": events}}
	for k, v := range extra {
		settings[k] = v
	}
	return c.must("apps.manifest.create", obj{"manifest": obj{
		"display_information": obj{"name": name},
		"features":            obj{"bot_user": obj{"display_name": name}},
		"oauth_config":        obj{"scopes": obj{"bot": []string{"chat:write", "channels:history", "app_mentions:read", "reactions:read"}}},
		"settings":            settings,
	}})
}

// A Socket Mode app built with slack-go's socketmode runs unchanged: it
// connects with its app token, receives message.channels and app_mention
// as events_api envelopes, acknowledges them, and answers in the thread;
// the answer reaches a person's RTM socket as the bot's.
func TestSlackGoSocketMode(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	app := installApp(alice, "Greeter", []string{"message.channels", "app_mention"}, nil)
	botUser, botID := app["bot_user_id"].(string), app["bot_id"].(string)
	alice.must("conversations.invite", obj{"channel": general, "users": botUser})
	live := alice.connect()

	api := slack.New(app["bot_token"].(string), slack.OptionAPIURL(m.URL()+"/api/"),
		slack.OptionAppLevelToken(app["app_token"].(string)))
	sm := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sm.RunContext(ctx) //nolint:errcheck // ends with ctx

	type got struct {
		typ, subtype, text, channel, ts, eventID string
		botID                                    string
	}
	events := make(chan got, 100)
	connected := make(chan struct{}, 1)
	go func() {
		for ev := range sm.Events {
			switch ev.Type {
			case socketmode.EventTypeConnected:
				connected <- struct{}{}
			case socketmode.EventTypeEventsAPI:
				sm.Ack(*ev.Request)
				outer, ok := ev.Data.(slackevents.EventsAPIEvent)
				if !ok {
					continue
				}
				cb, _ := outer.Data.(*slackevents.EventsAPICallbackEvent)
				id := ""
				if cb != nil {
					id = cb.EventID
				}
				switch inner := outer.InnerEvent.Data.(type) {
				case *slackevents.AppMentionEvent:
					events <- got{typ: "app_mention", text: inner.Text, channel: inner.Channel, ts: inner.TimeStamp, eventID: id}
					// Answer in the thread, as a Slack tutorial's bot does.
					if _, _, err := api.PostMessage(inner.Channel, slack.MsgOptionText("hi <@"+inner.User+">", false),
						slack.MsgOptionTS(inner.TimeStamp)); err != nil {
						t.Errorf("PostMessage from the app: %v", err)
					}
				case *slackevents.MessageEvent:
					events <- got{typ: "message", subtype: inner.SubType, text: inner.Text, channel: inner.Channel,
						ts: inner.TimeStamp, eventID: id, botID: inner.BotID}
				}
			}
		}
	}()
	select {
	case <-connected:
	case <-time.After(waitFor):
		t.Fatal("socketmode client did not connect")
	}

	ts := alice.post(general, "hello <@"+botUser+"> how are you")
	want := map[string]bool{"message": false, "app_mention": false, "bot reply": false}
	ids := map[string]bool{}
	deadline := time.After(waitFor)
	for !want["message"] || !want["app_mention"] || !want["bot reply"] {
		select {
		case e := <-events:
			if e.eventID == "" || !strings.HasPrefix(e.eventID, "Ev") || ids[e.eventID] {
				t.Fatalf("event %+v: want a fresh event_id", e)
			}
			ids[e.eventID] = true
			switch {
			case e.typ == "app_mention" && e.ts == ts && e.channel == general:
				want["app_mention"] = true
			case e.typ == "message" && e.ts == ts && e.botID == "":
				want["message"] = true
			case e.typ == "message" && e.botID == botID && strings.HasPrefix(e.text, "hi <@"+alice.userID):
				want["bot reply"] = true // the bot's own message comes back, as in Slack
			}
		case <-deadline:
			t.Fatalf("events so far: %v", want)
		}
	}
	reply := live.next(func(f obj) bool { return f["type"] == "message" && f["bot_id"] == botID })
	if reply["thread_ts"] != ts || reply["user"] != botUser || reply["bot_profile"] == nil {
		t.Fatalf("the bot's reply on the RTM socket = %v; want in thread %s with bot_profile", reply, ts)
	}
}

// The Socket Mode wire as Slack's clients expect it: hello with
// num_connections and the app, events_api envelopes with retry_attempt,
// a retry (to another connection of the app) when an envelope is not
// acknowledged in time, and nothing more once it is.
func TestSocketModeWire(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	app := installApp(alice, "Wire", []string{"message.channels"}, nil)
	alice.must("conversations.invite", obj{"channel": general, "users": app["bot_user_id"]})
	appToken := app["app_token"].(string)

	// Only an app-level token opens a connection.
	for _, tok := range []string{app["bot_token"].(string), alice.token} {
		c := &client{tb: t, base: m.URL(), name: "other", token: tok}
		c.fails("apps.connections.open", nil, "not_allowed_token_type")
	}
	(&client{tb: t, base: m.URL(), name: "nobody", token: "xapp-nope"}).fails("apps.connections.open", nil, "invalid_auth")
	appClient := &client{tb: t, base: m.URL(), name: "app", token: appToken}

	dial := func() *rtm {
		t.Helper()
		out := appClient.must("apps.connections.open", nil)
		u, _ := out["url"].(string)
		if !strings.HasPrefix(u, "ws://") || !strings.Contains(u, "/apps/socket/") {
			t.Fatalf("apps.connections.open url = %q", u)
		}
		conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			t.Fatalf("dial %s: %v (%v)", u, err, resp)
		}
		r := &rtm{tb: t, conn: conn, frames: make(chan obj, 1000), closed: make(chan struct{})}
		go r.read()
		t.Cleanup(func() { conn.Close() })
		return r
	}
	one := dial()
	h := one.next(func(obj) bool { return true })
	if h["type"] != "hello" || h["num_connections"] != 1.0 || h["connection_info"].(obj)["app_id"] != app["app_id"] || h["debug_info"] == nil {
		t.Fatalf("hello = %v", h)
	}
	two := dial()
	if h := two.next(func(obj) bool { return true }); h["type"] != "hello" || h["num_connections"] != 2.0 {
		t.Fatalf("second hello = %v", h)
	}

	ts := alice.post(general, "anyone there?")
	isEnvelope := func(f obj) bool { return f["type"] == "events_api" }
	// The event goes to one of the two connections; unacknowledged, it
	// comes again with retry_attempt 1 to the other.
	var first, retry obj
	var firstOn, retryOn *rtm
	select {
	case f := <-one.frames:
		first, firstOn = f, one
	case f := <-two.frames:
		first, firstOn = f, two
	case <-time.After(waitFor):
		t.Fatal("no envelope")
	}
	if !isEnvelope(first) || first["retry_attempt"] != 0.0 || first["accepts_response_payload"] != false || first["envelope_id"] == "" {
		t.Fatalf("envelope = %v", first)
	}
	payload := first["payload"].(obj)
	ev := payload["event"].(obj)
	if payload["type"] != "event_callback" || payload["api_app_id"] != app["app_id"] || payload["team_id"] != alice.teamID ||
		ev["type"] != "message" || ev["ts"] != ts || ev["channel"] != general || ev["channel_type"] != "channel" {
		t.Fatalf("payload = %v", payload)
	}
	authz, _ := payload["authorizations"].([]any)
	if len(authz) != 1 || authz[0].(obj)["user_id"] != app["bot_user_id"] || authz[0].(obj)["is_bot"] != true {
		t.Fatalf("authorizations = %v", payload["authorizations"])
	}
	other := map[*rtm]*rtm{one: two, two: one}[firstOn]
	retry = other.next(isEnvelope)
	retryOn = other
	rp := retry["payload"].(obj)
	if retry["retry_attempt"] != 1.0 || retry["retry_reason"] != "timeout" || rp["event_id"] != payload["event_id"] {
		t.Fatalf("retry = %v; want retry_attempt 1 of event %v", retry, payload["event_id"])
	}
	retryOn.send(obj{"envelope_id": retry["envelope_id"]})
	// Acknowledged: nothing comes again. The next event is the next message.
	alice.post(general, "second")
	next := func() obj {
		select {
		case f := <-one.frames:
			return f
		case f := <-two.frames:
			return f
		case <-time.After(waitFor):
			t.Fatal("no envelope")
		}
		return nil
	}
	for {
		f := next()
		e := f["payload"].(obj)["event"].(obj)
		if e["ts"] == ts {
			if f["retry_attempt"].(float64) < 2 {
				continue // a retry that crossed the acknowledgement
			}
			t.Fatalf("acknowledged event sent again: %v", f)
		}
		if e["text"] != "second" {
			t.Fatalf("next event = %v", f)
		}
		break
	}
}
