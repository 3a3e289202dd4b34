package api_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
)

func (f *fake) ScheduleMessage(ctx context.Context, u *confab.User, p chat.ScheduleParams) (*confab.ScheduledMessage, *confab.Message, error) {
	if f.ScheduleMessageFn == nil {
		return nil, nil, errNotStubbed
	}
	return f.ScheduleMessageFn(ctx, u, p)
}

func (f *fake) ScheduledMessages(ctx context.Context, u *confab.User, p chat.ScheduledListParams) ([]*confab.ScheduledMessage, string, error) {
	if f.ScheduledMessagesFn == nil {
		return nil, "", errNotStubbed
	}
	return f.ScheduledMessagesFn(ctx, u, p)
}

func (f *fake) DeleteScheduledMessage(ctx context.Context, u *confab.User, channel, id string) error {
	if f.DeleteScheduledMessageFn == nil {
		return errNotStubbed
	}
	return f.DeleteScheduledMessageFn(ctx, u, channel, id)
}

// chat.scheduleMessage reads chat.postMessage's arguments and post_at, and
// answers Slack's {ok, channel, scheduled_message_id, post_at, message}
// with a delayed_message; the list and the delete answer Slack's shapes.
func TestScheduledMessagesAPI(t *testing.T) {
	f := stocked()
	var got chat.ScheduleParams
	f.ScheduleMessageFn = func(_ context.Context, u *confab.User, p chat.ScheduleParams) (*confab.ScheduledMessage, *confab.Message, error) {
		got = p
		if p.PostAt == "1" {
			return nil, nil, confab.Errorf(confab.EINVALID, "time_in_past")
		}
		m := &confab.Message{ChannelID: "CGENERAL", UserID: u.ID, Text: p.Text, Blocks: `[{"type":"divider"}]`,
			Bot: &confab.Bot{ID: "BBOT", AppID: "AAPP", UserID: u.ID, Name: "robot"}}
		return &confab.ScheduledMessage{ID: "QONE", ChannelID: "CGENERAL", UserID: u.ID, PostAt: 1_900_000_000, Text: p.Text}, m, nil
	}
	var gotList chat.ScheduledListParams
	f.ScheduledMessagesFn = func(_ context.Context, _ *confab.User, p chat.ScheduledListParams) ([]*confab.ScheduledMessage, string, error) {
		gotList = p
		return []*confab.ScheduledMessage{{ID: "QONE", ChannelID: "CGENERAL", PostAt: 1_900_000_000, Created: 1_800_000_000, Text: "later"}}, "next", nil
	}
	var gotDelete [2]string
	f.DeleteScheduledMessageFn = func(_ context.Context, _ *confab.User, channel, id string) error {
		gotDelete = [2]string{channel, id}
		if id != "QONE" {
			return confab.ErrInvalidScheduledID
		}
		return nil
	}
	srv := MustServer(t, f, api.Config{})

	a := form(t, srv, "chat.scheduleMessage", url.Values{"channel": {"#general"}, "text": {"later"}, "post_at": {"1900000000"},
		"thread_ts": {"1.000002"}, "reply_broadcast": {"true"}, "blocks": {`[{"type":"divider"}]`}}).wantOK(t)
	if got.Channel != "#general" || got.Text != "later" || got.PostAt != "1900000000" || got.ThreadTS != "1.000002" ||
		!got.ReplyBroadcast || got.App.Blocks == "" {
		t.Errorf("ScheduleMessage(%+v)", got)
	}
	msg, _ := a.body["message"].(map[string]any)
	if a.body["channel"] != "CGENERAL" || a.body["scheduled_message_id"] != "QONE" || a.body["post_at"] != 1_900_000_000.0 ||
		msg["type"] != "delayed_message" || msg["text"] != "later" || msg["user"] != "UALICE" || msg["bot_id"] != "BBOT" ||
		msg["team"] != alice.WorkspaceID || msg["blocks"] == nil || msg["ts"] != nil {
		t.Errorf("answer %s", a.raw)
	}
	jsonBody(t, srv, "chat.scheduleMessage", `{"channel":"CGENERAL","text":"x","post_at":1900000000}`).wantOK(t)
	if got.PostAt != "1900000000" {
		t.Errorf("JSON post_at = %q", got.PostAt)
	}
	form(t, srv, "chat.scheduleMessage", url.Values{"channel": {"CGENERAL"}, "text": {"x"}, "post_at": {"1"}}).wantError(t, 200, "time_in_past")
	form(t, srv, "chat.scheduleMessage", url.Values{"channel": {"CGENERAL"}, "text": {"x"}}).wantError(t, 200, "invalid_arguments")

	a = form(t, srv, "chat.scheduledMessages.list", url.Values{"channel": {"CGENERAL"}, "oldest": {"5"}, "latest": {"6"},
		"cursor": {"c"}, "limit": {"2"}}).wantOK(t)
	if gotList != (chat.ScheduledListParams{Channel: "CGENERAL", Oldest: "5", Latest: "6", Cursor: "c", Limit: 2}) {
		t.Errorf("ScheduledMessages(%+v)", gotList)
	}
	items, _ := a.body["scheduled_messages"].([]any)
	meta, _ := a.body["response_metadata"].(map[string]any)
	if len(items) != 1 || meta["next_cursor"] != "next" {
		t.Fatalf("answer %s", a.raw)
	}
	item := items[0].(map[string]any)
	if item["id"] != "QONE" || item["channel_id"] != "CGENERAL" || item["post_at"] != 1_900_000_000.0 ||
		item["date_created"] != 1_800_000_000.0 || item["text"] != "later" {
		t.Errorf("item %v", item)
	}

	form(t, srv, "chat.deleteScheduledMessage", url.Values{"channel": {"CGENERAL"}, "scheduled_message_id": {"QONE"}}).wantOK(t)
	if gotDelete != [2]string{"CGENERAL", "QONE"} {
		t.Errorf("DeleteScheduledMessage%v", gotDelete)
	}
	form(t, srv, "chat.deleteScheduledMessage", url.Values{"channel": {"CGENERAL"}, "scheduled_message_id": {"QTWO"}}).
		wantError(t, 200, "invalid_scheduled_message_id")
	form(t, srv, "chat.deleteScheduledMessage", url.Values{"channel": {"CGENERAL"}}).wantError(t, 200, "invalid_arguments")
}
