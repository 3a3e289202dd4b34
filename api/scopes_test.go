package api_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
)

// appsFake is a fake whose caller is a bot with the given scopes.
type appsFake struct {
	*fake
	scopes []string
	calls  int // BotScopes
}

func (f *appsFake) CreateApp(context.Context, *confab.User, string) (*chat.Install, error) {
	return nil, errNotStubbed
}
func (f *appsFake) UpdateApp(context.Context, *confab.User, string, string) (*confab.App, error) {
	return nil, errNotStubbed
}
func (f *appsFake) DeleteApp(context.Context, *confab.User, string) error { return errNotStubbed }
func (f *appsFake) ExportApp(context.Context, *confab.User, string) (*confab.App, error) {
	return nil, errNotStubbed
}
func (f *appsFake) BotInfo(context.Context, *confab.User, string) (*confab.Bot, error) {
	return nil, errNotStubbed
}
func (f *appsFake) BotOf(context.Context, *confab.User) (*confab.Bot, error) {
	return &confab.Bot{ID: "BBOT", AppID: "AAPP", UserID: "UBOT"}, nil
}
func (f *appsFake) AuthenticateApp(context.Context, string) (*confab.User, error) {
	return nil, errNotStubbed
}
func (f *appsFake) OpenSocket(context.Context, *confab.User, string) (*confab.Ticket, error) {
	return nil, errNotStubbed
}
func (f *appsFake) BotScopes(_ context.Context, u *confab.User) ([]string, error) {
	f.calls++
	if !u.IsBot {
		return nil, errNotStubbed
	}
	return f.scopes, nil
}

var botUser = &confab.User{ID: "UBOT", WorkspaceID: "TTEAM", Name: "helper", IsBot: true}

func appsServer(t *testing.T, caller *confab.User, scopes ...string) (*appsFake, http.Handler) {
	f := &appsFake{fake: stocked(), scopes: scopes}
	f.AuthenticateFn = func(context.Context, string) (*confab.User, error) { return caller, nil }
	f.PostMessageFn = func(_ context.Context, _ *confab.User, p chat.PostParams) (*confab.Message, error) {
		return sampleMessage(p.Text), nil
	}
	srv := api.New(api.Config{Chat: f, RateLimit: 1e9, AuthRateLimit: 1e9})
	return f, srv
}

// A bot token calls only what its app's scopes grant, and is told what
// was needed and what it has, in Slack's shape.
func TestBotScopes(t *testing.T) {
	post := url.Values{"channel": {"CGENERAL"}, "text": {"hi"}}
	_, srv := appsServer(t, botUser, "channels:read", "users:read")
	a := form(t, srv, "chat.postMessage", post)
	a.wantError(t, http.StatusOK, "missing_scope")
	if a.body["needed"] != "chat:write" || a.body["provided"] != "channels:read,users:read" || len(a.body) != 4 {
		t.Errorf("missing_scope answer %s, want needed chat:write and provided channels:read,users:read", a.raw)
	}
	form(t, srv, "conversations.list", nil).wantOK(t)

	// A scope that depends on the conversation: any of the kinds' will do,
	// and needed lists them all.
	a = form(t, srv, "conversations.history", url.Values{"channel": {"CGENERAL"}})
	a.wantError(t, http.StatusOK, "missing_scope")
	if a.body["needed"] != "channels:history,groups:history,im:history,mpim:history" {
		t.Errorf("history's needed = %v", a.body["needed"])
	}
	_, srv = appsServer(t, botUser, "im:history")
	form(t, srv, "conversations.history", url.Values{"channel": {"CGENERAL"}}).wantOK(t)

	_, srv = appsServer(t, botUser, "chat:write")
	form(t, srv, "chat.postMessage", post).wantOK(t)
	form(t, srv, "auth.test", nil).wantOK(t) // needs no scope
	form(t, srv, "apps.manifest.export", url.Values{"app_id": {"AAPP"}}).wantError(t, http.StatusOK, "not_allowed_token_type")

	// With no scopes at all, provided is empty.
	_, srv = appsServer(t, botUser)
	a = form(t, srv, "users.list", nil)
	a.wantError(t, http.StatusOK, "missing_scope")
	if a.body["needed"] != "users:read" || a.body["provided"] != "" {
		t.Errorf("users.list answer %s", a.raw)
	}
}

// A person's token is not limited by scopes, and costs no scope lookup.
func TestPersonHasNoScopes(t *testing.T) {
	f, srv := appsServer(t, alice)
	form(t, srv, "chat.postMessage", url.Values{"channel": {"CGENERAL"}, "text": {"hi"}}).wantOK(t)
	form(t, srv, "users.list", nil).wantOK(t)
	if f.calls != 0 {
		t.Errorf("BotScopes called %d times for a person", f.calls)
	}
}
