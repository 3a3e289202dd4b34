package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
)

func TestAPITest(t *testing.T) {
	h := MustServer(t, &fake{}, api.Config{})
	// No token needed; the arguments come back, the token left out.
	req := httptest.NewRequest(http.MethodPost, "/api/api.test", strings.NewReader("foo=bar&token=xoxp-secret"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	a := serve(t, h, req).wantOK(t)
	if !reflect.DeepEqual(a.body["args"], map[string]any{"foo": "bar"}) {
		t.Errorf("api.test args = %v, want {foo: bar}", a.body["args"])
	}
	a = form(t, h, "api.test", url.Values{"error": {"my_error"}, "foo": {"bar"}})
	if a.status != http.StatusOK || a.body["ok"] != false || a.body["error"] != "my_error" ||
		!reflect.DeepEqual(a.body["args"], map[string]any{"error": "my_error", "foo": "bar"}) {
		t.Errorf("api.test with error = %d %s", a.status, a.raw)
	}
	if a := form(t, h, "api.test", nil).wantOK(t); a.raw != "{\"ok\":true}\n" {
		t.Errorf("api.test without arguments = %s", a.raw)
	}
}

func TestTeamInfo(t *testing.T) {
	f := stocked()
	var asked string
	f.TeamInfoFn = func(_ context.Context, _ *confab.User, team string) (*confab.Workspace, error) {
		asked = team
		if team != "" && team != "TTEAM" {
			return nil, confab.ErrTeamNotFound
		}
		return &confab.Workspace{ID: "TTEAM", Name: "acme", Domain: "acme"}, nil
	}
	h := MustServer(t, f, api.Config{})
	a := form(t, h, "team.info", nil).wantOK(t)
	want := map[string]any{"id": "TTEAM", "name": "acme", "domain": "acme", "email_domain": "", "icon": map[string]any{"image_default": true}}
	if !reflect.DeepEqual(a.body["team"], want) {
		t.Errorf("team.info team = %v, want %v", a.body["team"], want)
	}
	form(t, h, "team.info", url.Values{"team": {"TOTHER"}}).wantError(t, http.StatusOK, "team_not_found")
	if asked != "TOTHER" {
		t.Errorf("team.info asked for %q, want TOTHER", asked)
	}
}

func TestUsersConversations(t *testing.T) {
	f := stocked()
	var got chat.UserChannelsParams
	f.ListUserChannelsFn = func(_ context.Context, _ *confab.User, p chat.UserChannelsParams) ([]*confab.ChannelView, string, error) {
		got = p
		return []*confab.ChannelView{sampleView(), sampleDM()}, "next-page", nil
	}
	h := MustServer(t, f, api.Config{})
	a := form(t, h, "users.conversations", url.Values{
		"user": {"UBOB"}, "types": {"public_channel, im,mpim"}, "exclude_archived": {"true"}, "cursor": {"c1"}, "limit": {"5"},
	}).wantOK(t)
	want := chat.UserChannelsParams{User: "UBOB", Types: []string{confab.KindPublic, confab.KindDM, confab.KindGroupDM},
		ExcludeArchived: true, Cursor: "c1", Limit: 5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("users.conversations params = %+v, want %+v", got, want)
	}
	if chs, _ := a.body["channels"].([]any); len(chs) != 2 || chs[0].(map[string]any)["id"] != "CGENERAL" || chs[1].(map[string]any)["is_im"] != true {
		t.Errorf("users.conversations channels = %v", a.body["channels"])
	}
	if md, _ := a.body["response_metadata"].(map[string]any); md["next_cursor"] != "next-page" {
		t.Errorf("users.conversations response_metadata = %v", a.body["response_metadata"])
	}
	form(t, h, "users.conversations", nil).wantOK(t)
	if !reflect.DeepEqual(got.Types, []string{confab.KindPublic}) || got.Limit != 100 || got.User != "" {
		t.Errorf("users.conversations defaults = %+v", got)
	}
	form(t, h, "users.conversations", url.Values{"types": {"bogus"}}).wantError(t, http.StatusOK, "invalid_arguments")
}

func TestConversationsRename(t *testing.T) {
	f := stocked()
	var ch, name string
	f.RenameChannelFn = func(_ context.Context, _ *confab.User, c, n string) (*confab.ChannelView, error) {
		ch, name = c, n
		if n == "taken" {
			return nil, confab.ErrNameTaken
		}
		v := sampleView()
		v.Channel.Name = n
		return v, nil
	}
	h := MustServer(t, f, api.Config{})
	a := form(t, h, "conversations.rename", url.Values{"channel": {"CGENERAL"}, "name": {"renamed"}}).wantOK(t)
	if c, _ := a.body["channel"].(map[string]any); c["name"] != "renamed" || ch != "CGENERAL" || name != "renamed" {
		t.Errorf("conversations.rename = %s (asked %s %s)", a.raw, ch, name)
	}
	form(t, h, "conversations.rename", url.Values{"channel": {"CGENERAL"}, "name": {"taken"}}).wantError(t, http.StatusOK, "name_taken")
	form(t, h, "conversations.rename", url.Values{"channel": {"CGENERAL"}}).wantError(t, http.StatusOK, "invalid_arguments")
}

// Each of these answers the service's errors as they are, and ok (with
// Slack's fields) otherwise.
func TestChannelManagement(t *testing.T) {
	f := stocked()
	var calls []string
	fail := map[string]error{}
	record := func(what string) error {
		calls = append(calls, what)
		return fail[what]
	}
	f.UnarchiveChannelFn = func(_ context.Context, _ *confab.User, c string) error { return record("unarchive " + c) }
	f.KickFromChannelFn = func(_ context.Context, _ *confab.User, c, u string) error { return record("kick " + c + " " + u) }
	f.CloseConversationFn = func(_ context.Context, _ *confab.User, c string) error { return record("close " + c) }
	h := MustServer(t, f, api.Config{})

	if a := form(t, h, "conversations.unarchive", url.Values{"channel": {"C1"}}).wantOK(t); a.raw != "{\"ok\":true}\n" {
		t.Errorf("conversations.unarchive = %s", a.raw)
	}
	form(t, h, "conversations.kick", url.Values{"channel": {"C1"}, "user": {"UBOB"}}).wantOK(t)
	a := form(t, h, "conversations.close", url.Values{"channel": {"D1"}}).wantOK(t)
	if a.body["no_op"] != true || a.body["already_closed"] != true {
		t.Errorf("conversations.close = %s, want no_op and already_closed", a.raw)
	}
	if want := []string{"unarchive C1", "kick C1 UBOB", "close D1"}; !reflect.DeepEqual(calls, want) {
		t.Errorf("calls = %q, want %q", calls, want)
	}
	for what, code := range map[string]string{
		"unarchive C1":      "not_archived",
		"kick C1 UBOB":      "cant_kick_self",
		"close D1":          "method_not_supported_for_channel_type",
		"kick C1 UNOBODY":   "user_not_found",
		"kick C1 UCAROL":    "not_in_channel",
		"kick C1 UALICE":    "restricted_action",
		"unarchive CSECRET": "channel_not_found",
	} {
		fail[what] = &confab.Error{Code: confab.EINVALID, Message: code}
	}
	form(t, h, "conversations.unarchive", url.Values{"channel": {"C1"}}).wantError(t, http.StatusOK, "not_archived")
	form(t, h, "conversations.unarchive", url.Values{"channel": {"CSECRET"}}).wantError(t, http.StatusOK, "channel_not_found")
	form(t, h, "conversations.kick", url.Values{"channel": {"C1"}, "user": {"UBOB"}}).wantError(t, http.StatusOK, "cant_kick_self")
	form(t, h, "conversations.kick", url.Values{"channel": {"C1"}, "user": {"UNOBODY"}}).wantError(t, http.StatusOK, "user_not_found")
	form(t, h, "conversations.kick", url.Values{"channel": {"C1"}, "user": {"UCAROL"}}).wantError(t, http.StatusOK, "not_in_channel")
	form(t, h, "conversations.kick", url.Values{"channel": {"C1"}, "user": {"UALICE"}}).wantError(t, http.StatusOK, "restricted_action")
	form(t, h, "conversations.close", url.Values{"channel": {"D1"}}).wantError(t, http.StatusOK, "method_not_supported_for_channel_type")
	form(t, h, "conversations.kick", url.Values{"channel": {"C1"}}).wantError(t, http.StatusOK, "invalid_arguments")
	form(t, h, "conversations.close", nil).wantError(t, http.StatusOK, "invalid_arguments")
}

func TestReactionsGetAndPermalink(t *testing.T) {
	f := stocked()
	var ch, ts string
	many := make([]string, confab.MaxWireReactionUsers+5)
	for i := range many {
		many[i] = "U" + strings.Repeat("A", i+1)
	}
	f.MessageFn = func(_ context.Context, _ *confab.User, c, t string) (*confab.Message, error) {
		ch, ts = c, t
		if t == "1.000001" {
			return nil, confab.ErrMessageNotFound
		}
		m := sampleMessage("hi")
		m.Reactions = []confab.Reaction{{Name: "tada", Users: many}}
		return m, nil
	}
	h := MustServer(t, f, api.Config{})
	stamp := confab.FormatTS(sampleTS)

	users := func(a answer) []any {
		t.Helper()
		m, _ := a.body["message"].(map[string]any)
		rs, _ := m["reactions"].([]any)
		if len(rs) != 1 {
			t.Fatalf("reactions.get = %s, want one reaction", a.raw)
		}
		r := rs[0].(map[string]any)
		if r["name"] != "tada" || r["count"] != float64(len(many)) {
			t.Errorf("reaction = %v", r)
		}
		us, _ := r["users"].([]any)
		return us
	}
	a := form(t, h, "reactions.get", url.Values{"channel": {"CGENERAL"}, "timestamp": {stamp}}).wantOK(t)
	if a.body["type"] != "message" || a.body["channel"] != "CGENERAL" || ch != "CGENERAL" || ts != stamp {
		t.Errorf("reactions.get = %s (asked %s %s)", a.raw, ch, ts)
	}
	if m, _ := a.body["message"].(map[string]any); m["text"] != "hi" || m["ts"] != stamp {
		t.Errorf("reactions.get message = %v", m)
	}
	if us := users(a); len(us) != confab.MaxWireReactionUsers {
		t.Errorf("reactions.get users = %d, want the first %d", len(us), confab.MaxWireReactionUsers)
	}
	a = form(t, h, "reactions.get", url.Values{"channel": {"CGENERAL"}, "ts": {stamp}, "full": {"true"}}).wantOK(t)
	if us := users(a); len(us) != len(many) {
		t.Errorf("reactions.get full users = %d, want %d", len(us), len(many))
	}
	form(t, h, "reactions.get", url.Values{"channel": {"CGENERAL"}, "timestamp": {"1.000001"}}).wantError(t, http.StatusOK, "message_not_found")
	form(t, h, "reactions.get", url.Values{"channel": {"CGENERAL"}}).wantError(t, http.StatusOK, "invalid_arguments")

	req := httptest.NewRequest(http.MethodGet, "/api/chat.getPermalink?channel=CGENERAL&message_ts="+stamp, nil)
	req.Host = "chat.example:8080"
	req.Header.Set("Authorization", "Bearer "+goodToken)
	a = serve(t, h, req).wantOK(t)
	want := "http://chat.example:8080/#CGENERAL/p" + strings.Replace(stamp, ".", "", 1)
	if a.body["permalink"] != want || a.body["channel"] != "CGENERAL" {
		t.Errorf("chat.getPermalink = %s, want permalink %s", a.raw, want)
	}
	form(t, h, "chat.getPermalink", url.Values{"channel": {"CGENERAL"}, "message_ts": {"1.000001"}}).wantError(t, http.StatusOK, "message_not_found")
	form(t, h, "chat.getPermalink", url.Values{"channel": {"CGENERAL"}}).wantError(t, http.StatusOK, "invalid_arguments")
}

// Joining again answers Slack's warning besides already_in_channel.
func TestJoinAgainWarns(t *testing.T) {
	h := MustServer(t, stocked(), api.Config{}) // its JoinChannel answers already
	a := form(t, h, "conversations.join", url.Values{"channel": {"CGENERAL"}}).wantOK(t)
	md, _ := a.body["response_metadata"].(map[string]any)
	if a.body["already_in_channel"] != true || a.body["warning"] != "already_in_channel" ||
		!reflect.DeepEqual(md["warnings"], []any{"already_in_channel"}) {
		t.Errorf("conversations.join again = %s", a.raw)
	}
	f := stocked()
	f.JoinChannelFn = func(context.Context, *confab.User, string) (*confab.ChannelView, bool, error) {
		return sampleView(), false, nil
	}
	a = form(t, MustServer(t, f, api.Config{}), "conversations.join", url.Values{"channel": {"CGENERAL"}}).wantOK(t)
	if _, ok := a.body["warning"]; ok {
		t.Errorf("conversations.join (new) = %s, want no warning", a.raw)
	}
	if _, ok := a.body["response_metadata"]; ok {
		t.Errorf("conversations.join (new) = %s, want no response_metadata", a.raw)
	}
}
