package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
)

func (f *fake) PostEphemeral(ctx context.Context, u *confab.User, p chat.EphemeralParams) (*confab.Message, error) {
	if f.PostEphemeralFn == nil {
		return nil, errNotStubbed
	}
	return f.PostEphemeralFn(ctx, u, p)
}

func (f *fake) AddPin(ctx context.Context, u *confab.User, channel, ts string) error {
	if f.AddPinFn == nil {
		return errNotStubbed
	}
	return f.AddPinFn(ctx, u, channel, ts)
}

func (f *fake) RemovePin(ctx context.Context, u *confab.User, channel, ts string) error {
	if f.RemovePinFn == nil {
		return errNotStubbed
	}
	return f.RemovePinFn(ctx, u, channel, ts)
}

func (f *fake) ListPins(ctx context.Context, u *confab.User, channel string) ([]*confab.Pin, error) {
	if f.ListPinsFn == nil {
		return nil, errNotStubbed
	}
	return f.ListPinsFn(ctx, u, channel)
}

// pins.add and pins.remove take channel and timestamp and answer
// {"ok":true}; pins.list answers Slack's items; the service's errors are
// Slack's.
func TestPins(t *testing.T) {
	f := stocked()
	var calls []string
	pinErr := func(channel, ts string) error {
		switch {
		case channel == "CNOPE":
			return confab.ErrChannelNotFound
		case ts == "":
			return &confab.Error{Code: confab.EINVALID, Message: "no_item_specified"}
		case ts == "1.000001":
			return confab.ErrAlreadyPinned
		}
		return nil
	}
	f.AddPinFn = func(_ context.Context, u *confab.User, channel, ts string) error {
		calls = append(calls, "add "+u.ID+" "+channel+" "+ts)
		return pinErr(channel, ts)
	}
	f.RemovePinFn = func(_ context.Context, u *confab.User, channel, ts string) error {
		calls = append(calls, "remove "+u.ID+" "+channel+" "+ts)
		if ts == "1.000001" {
			return confab.ErrNoPin
		}
		return pinErr(channel, ts)
	}
	f.ListPinsFn = func(_ context.Context, _ *confab.User, channel string) ([]*confab.Pin, error) {
		if channel == "COUT" {
			return nil, confab.ErrNotInChannel
		}
		m := sampleMessage("pinned")
		return []*confab.Pin{{ChannelID: "CGENERAL", MessageTS: m.TS, UserID: "UBOB", Created: 1_700_000_123, Message: m}}, nil
	}
	srv := MustServer(t, f, api.Config{})
	ts := confab.FormatTS(sampleTS)

	if a := form(t, srv, "pins.add", url.Values{"channel": {"CGENERAL"}, "timestamp": {ts}}).wantOK(t); len(a.body) != 1 {
		t.Errorf("pins.add answer %s, want {ok}", a.raw)
	}
	jsonBody(t, srv, "pins.remove", `{"channel":"CGENERAL","timestamp":"`+ts+`"}`).wantOK(t)
	want := []string{"add " + alice.ID + " CGENERAL " + ts, "remove " + alice.ID + " CGENERAL " + ts}
	if len(calls) != 2 || calls[0] != want[0] || calls[1] != want[1] {
		t.Errorf("calls %q, want %q", calls, want)
	}
	for _, c := range []struct {
		method string
		args   url.Values
		code   string
	}{
		{"pins.add", url.Values{"timestamp": {ts}}, "invalid_arguments"},
		{"pins.add", url.Values{"channel": {"CGENERAL"}}, "no_item_specified"},
		{"pins.add", url.Values{"channel": {"CNOPE"}, "timestamp": {ts}}, "channel_not_found"},
		{"pins.add", url.Values{"channel": {"CGENERAL"}, "timestamp": {"1.000001"}}, "already_pinned"},
		{"pins.remove", url.Values{"channel": {"CGENERAL"}, "timestamp": {"1.000001"}}, "no_pin"},
		{"pins.list", url.Values{}, "invalid_arguments"},
		{"pins.list", url.Values{"channel": {"COUT"}}, "not_in_channel"},
	} {
		form(t, srv, c.method, c.args).wantError(t, 200, c.code)
	}

	a := form(t, srv, "pins.list", url.Values{"channel": {"CGENERAL"}}).wantOK(t)
	var got struct {
		Items []struct {
			Type      string             `json:"type"`
			Channel   string             `json:"channel"`
			Created   int64              `json:"created"`
			CreatedBy string             `json:"created_by"`
			Message   confab.WireMessage `json:"message"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(a.raw), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != 1 {
		t.Fatalf("pins.list = %s, want one item", a.raw)
	}
	it := got.Items[0]
	if it.Type != "message" || it.Channel != "CGENERAL" || it.Created != 1_700_000_123 || it.CreatedBy != "UBOB" ||
		it.Message.Text != "pinned" || it.Message.TS != ts || len(it.Message.PinnedTo) != 1 || it.Message.PinnedTo[0] != "CGENERAL" {
		t.Errorf("pins.list item = %s", a.raw)
	}
}

// History and replies carry the page's pin count and mark each pinned
// message with pinned_to.
func TestHistoryPins(t *testing.T) {
	f := stocked()
	pinned, other := sampleMessage("pinned"), sampleMessage("not pinned")
	other.TS++
	page := func() *chat.Page {
		return &chat.Page{Messages: []*confab.Message{pinned, other}, Pinned: map[int64]bool{pinned.TS: true}, PinCount: 3}
	}
	f.HistoryFn = func(context.Context, *confab.User, chat.HistoryParams) (*chat.Page, error) { return page(), nil }
	f.RepliesFn = func(context.Context, *confab.User, chat.RepliesParams) (*chat.Page, error) { return page(), nil }
	srv := MustServer(t, f, api.Config{})
	for _, method := range []string{"conversations.history", "conversations.replies"} {
		a := form(t, srv, method, url.Values{"channel": {"CGENERAL"}, "ts": {"1.000001"}}).wantOK(t)
		var got struct {
			PinCount int                  `json:"pin_count"`
			Messages []confab.WireMessage `json:"messages"`
		}
		if err := json.Unmarshal([]byte(a.raw), &got); err != nil {
			t.Fatal(err)
		}
		if got.PinCount != 3 || len(got.Messages) != 2 || len(got.Messages[0].PinnedTo) != 1 ||
			got.Messages[0].PinnedTo[0] != "CGENERAL" || got.Messages[1].PinnedTo != nil {
			t.Errorf("%s = %s, want pin_count 3 and the first message pinned_to CGENERAL", method, a.raw)
		}
	}
}

// chat.postEphemeral takes chat.postMessage's arguments and user, and
// answers Slack's {ok, message_ts}.
func TestChatPostEphemeral(t *testing.T) {
	f := stocked()
	var got chat.EphemeralParams
	f.PostEphemeralFn = func(_ context.Context, _ *confab.User, p chat.EphemeralParams) (*confab.Message, error) {
		got = p
		switch p.User {
		case "UNOSUCH":
			return nil, confab.ErrUserNotFound
		case "UCAROL":
			return nil, &confab.Error{Code: confab.EINVALID, Message: "user_not_in_channel"}
		}
		return sampleMessage(p.Text), nil
	}
	srv := MustServer(t, f, api.Config{})
	a := jsonBody(t, srv, "chat.postEphemeral", `{"channel":"CGENERAL","user":"UBOB","text":"psst","thread_ts":"1.000002",
		"blocks":[{"type":"divider"}],"icon_emoji":":ghost:","username":"ghost","as_user":true}`).wantOK(t)
	if a.body["message_ts"] != confab.FormatTS(sampleTS) || len(a.body) != 2 {
		t.Errorf("answer %s, want {ok, message_ts}", a.raw)
	}
	if got.Channel != "CGENERAL" || got.User != "UBOB" || got.Text != "psst" || got.ThreadTS != "1.000002" ||
		got.App.Blocks != `[{"type":"divider"}]` || got.App.IconEmoji != ":ghost:" || got.App.Username != "ghost" {
		t.Errorf("PostEphemeral(%+v)", got)
	}
	for _, c := range []struct {
		args url.Values
		code string
	}{
		{url.Values{"user": {"UBOB"}, "text": {"x"}}, "invalid_arguments"},
		{url.Values{"channel": {"CGENERAL"}, "text": {"x"}}, "invalid_arguments"},
		{url.Values{"channel": {"CGENERAL"}, "user": {"UNOSUCH"}, "text": {"x"}}, "user_not_found"},
		{url.Values{"channel": {"CGENERAL"}, "user": {"UCAROL"}, "text": {"x"}}, "user_not_in_channel"},
	} {
		form(t, srv, "chat.postEphemeral", c.args).wantError(t, 200, c.code)
	}
}
