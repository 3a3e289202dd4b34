package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// TestAppMessagesSlackGo posts what an app posts, through slack-go, and
// reads it back as sent from conversations.history and the RTM socket.
func TestAppMessagesSlackGo(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	general := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": general})
	rtm := alice.connect()

	api := slack.New(bob.token, slack.OptionAPIURL(m.URL()+"/api/"))
	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*deployed* <v1.2>", false, false), nil, nil),
		slack.NewDividerBlock(),
	}
	att := slack.Attachment{Color: "good", Text: "all green", Fields: []slack.AttachmentField{{Title: "env", Value: "prod"}}}
	meta := slack.SlackMetadata{EventType: "deploy_done", EventPayload: map[string]any{"version": "1.2"}}
	_, ts, err := api.PostMessage(general, slack.MsgOptionText("deployed v1.2", false), slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionAttachments(att), slack.MsgOptionMetadata(meta), slack.MsgOptionUsername("deployer"),
		slack.MsgOptionIconEmoji(":rocket:"))
	if err != nil {
		t.Fatalf("PostMessage(blocks, attachments, metadata) = %v", err)
	}
	// A message of blocks alone, as Slack accepts it.
	_, onlyTS, err := api.PostMessage("#plaza", slack.MsgOptionBlocks(blocks[0]))
	if err != nil {
		t.Fatalf("PostMessage(blocks only, to #plaza) = %v", err)
	}

	hist, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general, Limit: 10, IncludeAllMetadata: true})
	if err == nil {
		hist.Messages = postedGo(hist.Messages) // bob's join
	}
	if err != nil || len(hist.Messages) != 2 {
		t.Fatalf("GetConversationHistory = %+v, %v", hist, err)
	}
	full, only := hist.Messages[1], hist.Messages[0]
	if full.Timestamp != ts || only.Timestamp != onlyTS {
		t.Fatalf("history ts = %s, %s; want %s, %s", full.Timestamp, only.Timestamp, ts, onlyTS)
	}
	wantBlocks, _ := json.Marshal(slack.Blocks{BlockSet: blocks})
	if got, _ := json.Marshal(full.Blocks); string(got) != string(wantBlocks) {
		t.Errorf("history blocks = %s, want %s", got, wantBlocks)
	}
	if len(full.Attachments) != 1 || full.Attachments[0].Text != "all green" || full.Attachments[0].Fields[0].Value != "prod" {
		t.Errorf("history attachments = %+v", full.Attachments)
	}
	if full.Metadata.EventType != "deploy_done" || full.Metadata.EventPayload["version"] != "1.2" {
		t.Errorf("history metadata = %+v", full.Metadata)
	}
	if full.Username != "deployer" || full.Text != "deployed v1.2" {
		t.Errorf("history username, text = %q, %q", full.Username, full.Text)
	}
	if only.Text != "" || len(only.Blocks.BlockSet) != 1 || only.Blocks.BlockSet[0].BlockType() != slack.MBTSection {
		t.Errorf("blocks-only message = %+v", only)
	}

	// The socket carries the same message object.
	ev := rtm.next(func(f obj) bool { return f["type"] == "message" && f["ts"] == ts })
	evBlocks, _ := json.Marshal(ev["blocks"])
	var sent any
	json.Unmarshal(wantBlocks, &sent)
	wantEv, _ := json.Marshal(sent)
	if string(evBlocks) != string(wantEv) || ev["username"] != "deployer" || ev["metadata"] == nil || ev["attachments"] == nil {
		t.Errorf("RTM message = %v, want the blocks, attachments, metadata and username", ev)
	}
	rtm.next(func(f obj) bool { return f["type"] == "message" && f["ts"] == onlyTS })

	// chat.update replaces the blocks; the RTM message_changed says so.
	if _, _, _, err := api.UpdateMessage(general, ts, slack.MsgOptionBlocks(slack.NewDividerBlock())); err != nil {
		t.Fatalf("UpdateMessage(blocks) = %v", err)
	}
	ch := rtm.next(isType("message"))
	inner, _ := ch["message"].(map[string]any)
	if ch["subtype"] != "message_changed" || inner == nil || !strings.Contains(mustMarshal(t, inner["blocks"]), `"divider"`) ||
		inner["text"] != "deployed v1.2" {
		t.Errorf("RTM after chat.update = %v", ch)
	}
}

// TestAppMessageErrors checks each of chat.postMessage's errors on what
// apps send, through the Web API.
func TestAppMessageErrors(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	many := func(n int, item string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
	}
	for _, tc := range []struct {
		args obj
		want string
	}{
		{obj{}, "no_text"},
		{obj{"text": " ", "blocks": "[]", "metadata": `{"event_type":"x","event_payload":{}}`}, "no_text"},
		{obj{"blocks": "[{"}, "invalid_blocks_format"},
		{obj{"blocks": `{"type":"divider"}`}, "invalid_blocks"},
		{obj{"blocks": `[{"type":7}]`}, "invalid_blocks"},
		{obj{"blocks": many(51, `{"type":"divider"}`)}, "invalid_blocks"},
		{obj{"attachments": "[1]"}, "invalid_attachments"},
		{obj{"attachments": many(101, `{}`)}, "too_many_attachments"},
		{obj{"text": "x", "metadata": "nope"}, "invalid_metadata_format"},
		{obj{"text": "x", "metadata": `{"event_type":"x","event_payload":[]}`}, "invalid_metadata_schema"},
		{obj{"blocks": `[{"type":"section","text":"` + strings.Repeat("a", 132_000) + `"}]`}, "msg_too_long"},
		{obj{"text": "x", "icon_url": "ftp://x"}, "invalid_arguments"},
		{obj{"text": "x", "unfurl_links": "maybe"}, "invalid_arguments"},
	} {
		tc.args["channel"] = general
		alice.fails("chat.postMessage", tc.args, tc.want)
	}
	// Arrays and objects sent as JSON values, not strings, count the same.
	out := alice.must("chat.postMessage", obj{"channel": general, "blocks": []any{obj{"type": "divider"}},
		"metadata": obj{"event_type": "e", "event_payload": obj{}}, "unfurl_links": false, "as_user": true, "parse": "full"})
	ts := out["ts"].(string)
	msg := out["message"].(map[string]any)
	if mustMarshal(t, msg["blocks"]) != `[{"type":"divider"}]` {
		t.Errorf("answer message = %v", msg)
	}
	alice.fails("chat.update", obj{"channel": general, "ts": ts}, "no_text")
	alice.fails("chat.update", obj{"channel": general, "ts": ts, "blocks": "[]"}, "no_text")
	alice.fails("chat.update", obj{"channel": general, "ts": ts, "attachments": "{}"}, "invalid_attachments")
	alice.fails("chat.postMessage", obj{"channel": "#nope", "text": "x"}, "channel_not_found")
	dm := alice.must("chat.postMessage", obj{"channel": signup(t, m, "acme", "bob").userID, "text": "hi"})
	if c, _ := dm["channel"].(string); !strings.HasPrefix(c, "D") {
		t.Errorf("chat.postMessage to a user = %v, want a DM", dm)
	}
}

func mustMarshal(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
