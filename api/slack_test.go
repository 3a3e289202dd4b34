package api_test

import (
	"context"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
	"github.com/slack-go/slack"
)

// TestSlackGo points github.com/slack-go/slack at the API over the stocked
// fake: the answers must parse in a real Slack client library and carry the
// fake's values, and what the library sends must reach the service.
func TestSlackGo(t *testing.T) {
	f := stocked()
	var (
		tokens []string
		post   chat.PostParams
		hist   chat.HistoryParams
		open   []string
		list   chat.ListChannelsParams
	)
	auth := f.AuthenticateFn
	f.AuthenticateFn = func(ctx context.Context, token string) (*confab.User, error) {
		tokens = append(tokens, token)
		return auth(ctx, token)
	}
	f.PostMessageFn = func(_ context.Context, _ *confab.User, p chat.PostParams) (*confab.Message, error) {
		post = p
		return sampleMessage(p.Text), nil
	}
	history := f.HistoryFn
	f.HistoryFn = func(ctx context.Context, u *confab.User, p chat.HistoryParams) (*chat.Page, error) {
		hist = p
		return history(ctx, u, p)
	}
	f.OpenConversationFn = func(_ context.Context, _ *confab.User, users []string) (*confab.ChannelView, bool, error) {
		open = users
		return sampleDM(), true, nil
	}
	listFn := f.ListChannelsFn
	f.ListChannelsFn = func(ctx context.Context, u *confab.User, p chat.ListChannelsParams) ([]*confab.ChannelView, string, error) {
		list = p
		return listFn(ctx, u, p)
	}
	srv := httptest.NewServer(MustServer(t, f, api.Config{}))
	t.Cleanup(srv.Close)
	client := slack.New(goodToken, slack.OptionAPIURL(srv.URL+"/api/"))

	t.Run("AuthTest", func(t *testing.T) {
		r, err := client.AuthTest()
		if err != nil {
			t.Fatalf("AuthTest: %v", err)
		}
		if r.UserID != "UALICE" || r.TeamID != "TTEAM" || r.User != "alice" || r.Team != "Acme" || r.URL != srv.URL+"/" {
			t.Errorf("AuthTest = %+v", r)
		}
	})

	t.Run("PostMessage", func(t *testing.T) {
		ch, ts, err := client.PostMessage("CGENERAL", slack.MsgOptionText("hello <@UBOB>", false), slack.MsgOptionTS("1700000000.000001"))
		if err != nil {
			t.Fatalf("PostMessage: %v", err)
		}
		if ch != "CGENERAL" || ts != "1700000000.000123" {
			t.Errorf("PostMessage = %q, %q", ch, ts)
		}
		if want := (chat.PostParams{Channel: "CGENERAL", Text: "hello <@UBOB>", ThreadTS: "1700000000.000001"}); post != want {
			t.Errorf("service got %+v, want %+v", post, want)
		}
	})

	t.Run("GetConversationHistory", func(t *testing.T) {
		r, err := client.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "CGENERAL", Limit: 2, Inclusive: true, Latest: "1700000001.000000"})
		if err != nil {
			t.Fatalf("GetConversationHistory: %v", err)
		}
		if len(r.Messages) != 2 || r.Messages[0].Text != "newest" || r.Messages[0].Timestamp != "1700000000.000123" ||
			r.Messages[0].User != "UALICE" || r.Messages[1].Text != "older" {
			t.Errorf("messages = %+v", r.Messages)
		}
		if len(r.Messages[0].Reactions) != 1 || r.Messages[0].Reactions[0].Name != "tada" || r.Messages[0].Reactions[0].Count != 1 {
			t.Errorf("reactions = %+v", r.Messages[0].Reactions)
		}
		if !r.HasMore || r.ResponseMetaData.NextCursor != "next-history" {
			t.Errorf("has_more = %v, next_cursor = %q", r.HasMore, r.ResponseMetaData.NextCursor)
		}
		if want := (chat.HistoryParams{Channel: "CGENERAL", Limit: 2, Inclusive: true, Latest: "1700000001.000000"}); hist != want {
			t.Errorf("service got %+v, want %+v", hist, want)
		}
	})

	t.Run("OpenConversation", func(t *testing.T) {
		ch, noOp, already, err := client.OpenConversation(&slack.OpenConversationParameters{Users: []string{"UBOB"}})
		if err != nil {
			t.Fatalf("OpenConversation: %v", err)
		}
		if ch.ID != "DALICEBOB" || !ch.IsIM || ch.User != "UBOB" || !noOp || !already {
			t.Errorf("OpenConversation = %+v, %v, %v", ch, noOp, already)
		}
		if !reflect.DeepEqual(open, []string{"UBOB"}) {
			t.Errorf("service got users %q", open)
		}
	})

	t.Run("GetConversations", func(t *testing.T) {
		chs, next, err := client.GetConversations(&slack.GetConversationsParameters{Types: []string{"public_channel", "im"}, Limit: 10, ExcludeArchived: true})
		if err != nil {
			t.Fatalf("GetConversations: %v", err)
		}
		if len(chs) != 1 || chs[0].ID != "CGENERAL" || chs[0].Name != "general" || !chs[0].IsChannel || !chs[0].IsMember ||
			chs[0].Topic.Value != "the topic" || chs[0].Topic.LastSet != 1700000000 || chs[0].NumMembers != 2 ||
			chs[0].LastRead != "1700000000.000123" || chs[0].UnreadCount != 2 || chs[0].Created != 1700000000 || chs[0].Creator != "UALICE" {
			t.Errorf("channels = %+v", chs)
		}
		if next != "next-channels" {
			t.Errorf("next cursor = %q", next)
		}
		want := chat.ListChannelsParams{Types: []string{confab.KindPublic, confab.KindDM}, ExcludeArchived: true, Limit: 10}
		if !reflect.DeepEqual(list, want) {
			t.Errorf("service got %+v, want %+v", list, want)
		}
	})

	t.Run("More", func(t *testing.T) {
		u, err := client.GetUserInfo("UBOB")
		if err != nil || u.ID != "UBOB" || u.Name != "bob" || u.TeamID != "TTEAM" {
			t.Errorf("GetUserInfo = %+v, %v", u, err)
		}
		info, wsURL, err := client.ConnectRTM()
		if err != nil || wsURL != "ws://"+srv.Listener.Addr().String()+"/rtm/TICKET1" ||
			info.User.ID != "UALICE" || info.User.Name != "alice" || info.Team.Domain != "acme" {
			t.Errorf("ConnectRTM = %+v, %q, %v", info, wsURL, err)
		}
		if err := client.AddReaction("tada", slack.NewRefToMessage("CGENERAL", "1700000000.000123")); err != nil {
			t.Errorf("AddReaction: %v", err)
		}
		if _, _, _, err := client.UpdateMessage("CGENERAL", "1700000000.000123", slack.MsgOptionText("edited", false)); err != nil {
			t.Errorf("UpdateMessage: %v", err)
		}
		if _, _, err := client.DeleteMessage("CGENERAL", "1700000000.000123"); err != nil {
			t.Errorf("DeleteMessage: %v", err)
		}
		ch, err := client.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "CGENERAL"})
		if err != nil || ch.ID != "CGENERAL" || ch.Topic.Value != "the topic" {
			t.Errorf("GetConversationInfo = %+v, %v", ch, err)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		f.PostMessageFn = func(context.Context, *confab.User, chat.PostParams) (*confab.Message, error) {
			return nil, confab.ErrChannelNotFound
		}
		_, _, err := client.PostMessage("CNOPE", slack.MsgOptionText("x", false))
		if err == nil || err.Error() != "channel_not_found" {
			t.Errorf("PostMessage error = %v, want channel_not_found", err)
		}
		bad := slack.New("xoxp-bad", slack.OptionAPIURL(srv.URL+"/api/"))
		if _, err := bad.AuthTest(); err == nil || err.Error() != "invalid_auth" {
			t.Errorf("AuthTest with a bad token = %v, want invalid_auth", err)
		}
	})

	for _, tok := range tokens {
		if tok != goodToken && tok != "xoxp-bad" {
			t.Errorf("service saw token %q", tok)
		}
	}
	if len(tokens) == 0 {
		t.Error("the token never reached Authenticate")
	}
}
