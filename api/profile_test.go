package api_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
)

var erin = &confab.User{ID: "UERIN", WorkspaceID: "TTEAM", Name: "erin", RealName: "Erin E", DisplayName: "erin",
	Email: "erin@example.com", StatusText: "away", StatusEmoji: ":palm_tree:", StatusExpiration: 1800000000}

// auth.signup passes the email on; the service's verdict is the answer.
func TestSignupEmail(t *testing.T) {
	f := stocked()
	var got chat.SignupParams
	f.SignupFn = func(_ context.Context, p chat.SignupParams) (*chat.Session, error) {
		got = p
		if p.Email == "taken@example.com" {
			return nil, confab.ErrEmailTaken
		}
		return &chat.Session{Token: "xoxp-new", User: alice, Workspace: team}, nil
	}
	h := MustServer(t, f, api.Config{})
	form(t, h, "auth.signup", url.Values{"team": {"acme"}, "name": {"erin"}, "password": {"hunter22"}, "email": {"Erin@Example.com"}}).wantOK(t)
	if got.Email != "Erin@Example.com" {
		t.Errorf("auth.signup passed email %q", got.Email)
	}
	form(t, h, "auth.signup", url.Values{"team": {"acme"}, "name": {"erin"}, "password": {"hunter22"}, "email": {"taken@example.com"}}).
		wantError(t, http.StatusOK, "email_taken")
}

// users.lookupByEmail answers as users.info does, and missing_scope with
// Slack's needed and provided.
func TestUsersLookupByEmail(t *testing.T) {
	f := stocked()
	var asked string
	f.LookupUserByEmailFn = func(_ context.Context, _ *confab.User, email string) (*confab.User, error) {
		asked = email
		switch email {
		case "erin@example.com":
			return erin, nil
		case "scope@example.com":
			return nil, &confab.ScopeError{Needed: "users:read.email", Provided: []string{"chat:write", "users:read"}}
		}
		return nil, &confab.Error{Code: confab.ENOTFOUND, Message: "users_not_found"}
	}
	h := MustServer(t, f, api.Config{})
	a := form(t, h, "users.lookupByEmail", url.Values{"email": {"erin@example.com"}}).wantOK(t)
	user, _ := a.body["user"].(map[string]any)
	profile, _ := user["profile"].(map[string]any)
	if user["id"] != "UERIN" || profile["email"] != "erin@example.com" || profile["status_emoji"] != ":palm_tree:" {
		t.Errorf("users.lookupByEmail = %s", a.raw)
	}
	form(t, h, "users.lookupByEmail", url.Values{"email": {"no@example.com"}}).wantError(t, http.StatusOK, "users_not_found")
	if asked != "no@example.com" {
		t.Errorf("users.lookupByEmail asked for %q", asked)
	}
	form(t, h, "users.lookupByEmail", nil).wantError(t, http.StatusOK, "invalid_arguments")
	a = form(t, h, "users.lookupByEmail", url.Values{"email": {"scope@example.com"}})
	want := map[string]any{"ok": false, "error": "missing_scope", "needed": "users:read.email", "provided": "chat:write,users:read"}
	if a.status != http.StatusOK || !reflect.DeepEqual(a.body, want) {
		t.Errorf("users.lookupByEmail without the scope = %d %s, want %v", a.status, a.raw, want)
	}
}

// users.profile.get answers the profile, the caller's by default; an email
// the service blanked is left out.
func TestUsersProfileGet(t *testing.T) {
	f := stocked()
	var asked string
	f.UserInfoFn = func(_ context.Context, _ *confab.User, id string) (*confab.User, error) {
		asked = id
		switch id {
		case "UERIN":
			return erin, nil
		case "UALICE":
			return alice, nil
		}
		return nil, confab.ErrUserNotFound
	}
	h := MustServer(t, f, api.Config{})
	a := form(t, h, "users.profile.get", url.Values{"user": {"UERIN"}, "include_labels": {"true"}}).wantOK(t)
	want := map[string]any{"real_name": "Erin E", "display_name": "erin", "email": "erin@example.com",
		"status_text": "away", "status_emoji": ":palm_tree:", "status_expiration": 1800000000.0, "team": "TTEAM"}
	if !reflect.DeepEqual(a.body["profile"], want) {
		t.Errorf("users.profile.get profile = %v, want %v", a.body["profile"], want)
	}
	a = form(t, h, "users.profile.get", nil).wantOK(t)
	if p, _ := a.body["profile"].(map[string]any); asked != "UALICE" || p["real_name"] != "Alice A" {
		t.Errorf("users.profile.get without user asked %q, answered %s", asked, a.raw)
	} else if _, ok := p["email"]; ok {
		t.Errorf("users.profile.get shows an empty email: %s", a.raw)
	}
	form(t, h, "users.profile.get", url.Values{"user": {"UNOBODY"}}).wantError(t, http.StatusOK, "user_not_found")
	form(t, h, "users.profile.get", url.Values{"include_labels": {"maybe"}}).wantError(t, http.StatusOK, "invalid_arguments")
}

// users.profile.set passes profile (a JSON object in a JSON body too) or
// name and value on, and answers the new profile.
func TestUsersProfileSet(t *testing.T) {
	f := stocked()
	var got chat.ProfileParams
	f.SetProfileFn = func(_ context.Context, _ *confab.User, p chat.ProfileParams) (*confab.User, error) {
		got = p
		if p.User == "UBOB" {
			return nil, &confab.Error{Code: confab.EFORBIDDEN, Message: "not_admin"}
		}
		return erin, nil
	}
	h := MustServer(t, f, api.Config{})
	a := form(t, h, "users.profile.set", url.Values{"profile": {`{"status_text":"away"}`}}).wantOK(t)
	if got != (chat.ProfileParams{Profile: `{"status_text":"away"}`}) {
		t.Errorf("users.profile.set params = %+v", got)
	}
	if p, _ := a.body["profile"].(map[string]any); p["status_text"] != "away" || p["real_name"] != "Erin E" {
		t.Errorf("users.profile.set = %s", a.raw)
	}
	jsonBody(t, h, "users.profile.set", `{"profile":{"status_emoji":":x:"}}`).wantOK(t)
	if got.Profile != `{"status_emoji":":x:"}` {
		t.Errorf("users.profile.set from a JSON body passed profile %q", got.Profile)
	}
	form(t, h, "users.profile.set", url.Values{"name": {"real_name"}, "value": {"Erin"}}).wantOK(t)
	if got != (chat.ProfileParams{Name: "real_name", Value: "Erin"}) {
		t.Errorf("users.profile.set name/value params = %+v", got)
	}
	form(t, h, "users.profile.set", url.Values{"user": {"UBOB"}, "name": {"real_name"}, "value": {"B"}}).wantError(t, http.StatusOK, "not_admin")
}
