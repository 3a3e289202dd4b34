package api_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
)

func (f *fake) MeMessage(ctx context.Context, u *confab.User, channel, text string) (*confab.Message, error) {
	if f.MeMessageFn == nil {
		return nil, errNotStubbed
	}
	return f.MeMessageFn(ctx, u, channel, text)
}

// chat.meMessage takes channel and text and answers Slack's {ok, channel,
// ts}; the service's errors are Slack's.
func TestChatMeMessage(t *testing.T) {
	f := stocked()
	var gotChannel, gotText string
	f.MeMessageFn = func(_ context.Context, u *confab.User, channel, text string) (*confab.Message, error) {
		gotChannel, gotText = channel, text
		switch channel {
		case "CARCHIVED":
			return nil, confab.Errorf(confab.EINVALID, "is_archived")
		case "CNOPE":
			return nil, confab.ErrChannelNotFound
		case "COUT":
			return nil, confab.ErrNotInChannel
		}
		if text == "" {
			return nil, confab.ErrNoText
		}
		m := sampleMessage(text)
		m.Subtype = confab.SubtypeMeMessage
		m.UserID = u.ID
		return m, nil
	}
	srv := MustServer(t, f, api.Config{})

	a := form(t, srv, "chat.meMessage", url.Values{"channel": {"CGENERAL"}, "text": {"waves"}}).wantOK(t)
	if gotChannel != "CGENERAL" || gotText != "waves" {
		t.Errorf("MeMessage(%q, %q), want (CGENERAL, waves)", gotChannel, gotText)
	}
	if a.body["channel"] != "CGENERAL" || a.body["ts"] != confab.FormatTS(sampleTS) || len(a.body) != 3 {
		t.Errorf("answer %s, want {ok, channel CGENERAL, ts %s}", a.raw, confab.FormatTS(sampleTS))
	}
	jsonBody(t, srv, "chat.meMessage", `{"channel":"CGENERAL","text":"waves in JSON"}`).wantOK(t)
	if gotText != "waves in JSON" {
		t.Errorf("JSON text = %q", gotText)
	}

	for _, c := range []struct {
		args url.Values
		code string
	}{
		{url.Values{"text": {"x"}}, "invalid_arguments"}, // as every method missing a required argument
		{url.Values{"channel": {"CGENERAL"}}, "no_text"},
		{url.Values{"channel": {"CNOPE"}, "text": {"x"}}, "channel_not_found"},
		{url.Values{"channel": {"COUT"}, "text": {"x"}}, "not_in_channel"},
		{url.Values{"channel": {"CARCHIVED"}, "text": {"x"}}, "is_archived"},
	} {
		form(t, srv, "chat.meMessage", c.args).wantError(t, 200, c.code)
	}
}
