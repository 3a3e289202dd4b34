package chat

import (
	"errors"
	"strings"
	"testing"

	"github.com/confab/confab"
)

// profileFixture is manageFixture's acme with erin, who signed up with an
// email, and two apps' bots: reader (users:read.email) and blind (not).
type profileFixture struct {
	*manageFixture
	erin          *confab.User
	erinToken     string
	reader, blind *confab.User
}

func newProfileFixture(t *testing.T) *profileFixture {
	t.Helper()
	f := &profileFixture{manageFixture: newManageFixture(t)}
	ctx := t.Context()
	sess, err := f.s.Signup(ctx, SignupParams{Team: "acme", Name: "erin", Password: "password1", Email: "Erin@Example.COM"})
	if err != nil {
		t.Fatal(err)
	}
	f.erin, f.erinToken = sess.User, sess.Token
	bot := func(name, scopes string) *confab.User {
		in, err := f.s.CreateApp(ctx, f.alice, `{"display_information":{"name":"`+name+`"},
			"features":{"bot_user":{"display_name":"`+name+`"}},
			"oauth_config":{"scopes":{"bot":[`+scopes+`]}}}`)
		if err != nil {
			t.Fatal(err)
		}
		return in.BotUser
	}
	f.reader = bot("reader", `"users:read","users:read.email"`)
	f.blind = bot("blind", `"users:read","chat:write"`)
	return f
}

func wantErr(t *testing.T, what string, err error, msg string) {
	t.Helper()
	if confab.ErrorMessage(err) != msg {
		t.Errorf("%s = %v, want %s", what, err, msg)
	}
}

// Sign-up takes an optional email: a plain address, stored lowercased,
// unique in the workspace in any case.
func TestSignupEmail(t *testing.T) {
	f := newProfileFixture(t)
	ctx := t.Context()
	if f.erin.Email != "erin@example.com" {
		t.Errorf("erin's email = %q, want it lowercased", f.erin.Email)
	}
	for _, bad := range []string{"erin", "erin@", "@example.com", "Erin <erin@example.com>", "erin smith@example.com",
		"erin@example.com\n", `"erin"@example.com`, strings.Repeat("e", 250) + "@x.io"} {
		_, err := f.s.Signup(ctx, SignupParams{Team: "acme", Name: "frank", Password: "password1", Email: bad})
		wantErr(t, "Signup(email "+bad+")", err, "invalid_email")
	}
	_, err := f.s.Signup(ctx, SignupParams{Team: "acme", Name: "frank", Password: "password1", Email: "ERIN@example.com"})
	wantErr(t, "Signup(erin's email in capitals)", err, "email_taken")
	// Another workspace may have it, and a new workspace's owner too.
	if _, err := f.s.Signup(ctx, SignupParams{Team: "initech", Name: "erin", Password: "password1", Email: "erin@example.com"}); err != nil {
		t.Errorf("Signup(erin's email in a new workspace) = %v", err)
	}
	// No email is no email: never taken.
	if _, err := f.s.Signup(ctx, SignupParams{Team: "acme", Name: "frank", Password: "password1"}); err != nil {
		t.Errorf("Signup(no email) = %v", err)
	}
}

// People of the workspace and the bot with users:read.email see emails;
// the bot without it does not, and lookupByEmail tells it what it lacks.
func TestEmailVisibility(t *testing.T) {
	f := newProfileFixture(t)
	ctx := t.Context()
	for _, c := range []struct {
		name   string
		viewer *confab.User
		sees   bool
	}{
		{"erin herself", f.erin, true},
		{"bob, a member", f.bob, true},
		{"alice, the owner", f.alice, true},
		{"the bot with users:read.email", f.reader, true},
		{"the bot without it", f.blind, false},
	} {
		want := ""
		if c.sees {
			want = "erin@example.com"
		}
		got, err := f.s.UserInfo(ctx, c.viewer, f.erin.ID)
		if err != nil || got.Email != want {
			t.Errorf("%s: UserInfo(erin) = %+v, %v; want email %q", c.name, got, err, want)
		}
		users, _, err := f.s.ListUsers(ctx, c.viewer, "", 100)
		if err != nil {
			t.Fatalf("%s: ListUsers = %v", c.name, err)
		}
		found := false
		for _, u := range users {
			if u.ID == f.erin.ID {
				found = true
				if u.Email != want {
					t.Errorf("%s: ListUsers shows erin's email %q, want %q", c.name, u.Email, want)
				}
			}
		}
		if !found {
			t.Errorf("%s: ListUsers has no erin", c.name)
		}
	}
	// Hiding it from one caller leaves it for the others (no shared copy
	// was changed).
	if got, err := f.s.UserInfo(ctx, f.bob, f.erin.ID); err != nil || got.Email != "erin@example.com" {
		t.Errorf("UserInfo(erin) by bob after the blind bot = %+v, %v", got, err)
	}

	for _, email := range []string{"erin@example.com", "ERIN@Example.com"} {
		for _, viewer := range []*confab.User{f.bob, f.reader} {
			got, err := f.s.LookupUserByEmail(ctx, viewer, email)
			if err != nil || got.ID != f.erin.ID || got.Email != "erin@example.com" {
				t.Errorf("LookupUserByEmail(%q) by %s = %+v, %v; want erin", email, viewer.Name, got, err)
			}
		}
	}
	_, err := f.s.LookupUserByEmail(ctx, f.bob, "nobody@example.com")
	wantErr(t, "LookupUserByEmail(unknown)", err, "users_not_found")
	_, err = f.s.LookupUserByEmail(ctx, f.bob, "not an email")
	wantErr(t, "LookupUserByEmail(junk)", err, "users_not_found")
	// dave of globex has an email another workspace cannot find.
	if _, err := f.s.Signup(ctx, SignupParams{Team: "globex", Name: "gina", Password: "password1", Email: "gina@globex.example"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.LookupUserByEmail(ctx, f.bob, "gina@globex.example")
	wantErr(t, "LookupUserByEmail(another workspace's)", err, "users_not_found")

	_, err = f.s.LookupUserByEmail(ctx, f.blind, "erin@example.com")
	var se *confab.ScopeError
	if !errors.As(err, &se) || confab.ErrorMessage(err) != "missing_scope" || se.Needed != "users:read.email" ||
		strings.Join(se.Provided, ",") != "chat:write,users:read" {
		t.Errorf("LookupUserByEmail by the blind bot = %v (%+v), want missing_scope needing users:read.email, providing chat:write,users:read", err, se)
	}
}

// users.profile.set changes the caller's own profile, is checked, drops
// the cached user and tells those who share a conversation.
func TestSetProfile(t *testing.T) {
	f := newProfileFixture(t)
	ctx := t.Context()
	if _, err := f.s.InviteToChannel(ctx, f.alice, f.pub, []string{f.erin.ID}); err != nil {
		t.Fatal(err)
	}
	// The token's user is cached before the change.
	if u, err := f.s.Authenticate(ctx, f.erinToken); err != nil || u.RealName != "" {
		t.Fatalf("Authenticate(erin) = %+v, %v", u, err)
	}

	got, err := f.s.SetProfile(ctx, f.erin, ProfileParams{Profile: `{"real_name":"Erin Smith","display_name":"erin",
		"status_text":"in a meeting","status_emoji":":calendar:","status_expiration":"1800000000",
		"email":"ERIN@example.com","title":"ignored","fields":{}}`})
	if err != nil {
		t.Fatalf("SetProfile = %v", err)
	}
	if got.RealName != "Erin Smith" || got.DisplayName != "erin" || got.StatusText != "in a meeting" ||
		got.StatusEmoji != ":calendar:" || got.StatusExpiration != 1800000000 || got.Email != "erin@example.com" {
		t.Errorf("SetProfile = %+v", got)
	}
	if u, err := f.s.Authenticate(ctx, f.erinToken); err != nil || u.RealName != "Erin Smith" || u.StatusText != "in a meeting" {
		t.Errorf("Authenticate(erin) after SetProfile = %+v, %v; want the new profile", u, err)
	}
	if u, err := f.s.UserInfo(ctx, f.bob, f.erin.ID); err != nil || u.StatusEmoji != ":calendar:" {
		t.Errorf("UserInfo(erin) after SetProfile = %+v, %v", u, err)
	}
	topics := map[string]bool{}
	for range 3 { // pub's, the general channel's and erin's own
		e := f.bus.await(t, "user_change")
		topics[e.topic] = true
		user, _ := e.frame["user"].(map[string]any)
		profile, _ := user["profile"].(map[string]any)
		if user["id"] != f.erin.ID || profile["status_text"] != "in a meeting" || profile["real_name"] != "Erin Smith" {
			t.Errorf("user_change = %v", e.frame)
		}
		if _, ok := profile["email"]; ok {
			t.Errorf("user_change carries the email: %v", e.frame)
		}
	}
	ws := f.erin.WorkspaceID
	if !topics[confab.ChannelTopic(ws, f.pub)] || !topics[confab.UserTopic(ws, f.erin.ID)] ||
		!topics[confab.ChannelTopic(ws, generalOf(t, f.s, f.erin))] {
		t.Errorf("user_change published on %v, want pub's topic, the general channel's and erin's", topics)
	}

	// The single name and value form.
	if got, err := f.s.SetProfile(ctx, f.erin, ProfileParams{Name: "status_text", Value: ""}); err != nil || got.StatusText != "" || got.RealName != "Erin Smith" {
		t.Errorf("SetProfile(status_text=\"\") = %+v, %v", got, err)
	}
	if got, err := f.s.SetProfile(ctx, f.erin, ProfileParams{User: f.erin.ID, Profile: `{"status_expiration":0}`}); err != nil || got.StatusExpiration != 0 {
		t.Errorf("SetProfile(own id, status_expiration 0) = %+v, %v", got, err)
	}

	for _, c := range []struct {
		name string
		u    *confab.User
		p    ProfileParams
		want string
	}{
		{"nothing", f.erin, ProfileParams{}, "invalid_profile"},
		{"not JSON", f.erin, ProfileParams{Profile: `{"real_name":`}, "invalid_profile"},
		{"an array", f.erin, ProfileParams{Profile: `["real_name"]`}, "invalid_profile"},
		{"a number as name", f.erin, ProfileParams{Profile: `{"real_name":5}`}, "invalid_profile"},
		{"display_name of 81", f.erin, ProfileParams{Profile: `{"display_name":"` + strings.Repeat("é", 81) + `"}`}, "invalid_profile"},
		{"status_text of 101", f.erin, ProfileParams{Name: "status_text", Value: strings.Repeat("x", 101)}, "invalid_profile"},
		{"real_name of 101", f.erin, ProfileParams{Name: "real_name", Value: strings.Repeat("x", 101)}, "invalid_profile"},
		{"emoji without colons", f.erin, ProfileParams{Name: "status_emoji", Value: "calendar"}, "invalid_profile"},
		{"negative expiration", f.erin, ProfileParams{Name: "status_expiration", Value: "-1"}, "invalid_profile"},
		{"another email", f.erin, ProfileParams{Profile: `{"email":"erin@elsewhere.example"}`}, "not_admin"},
		{"bob's profile", f.erin, ProfileParams{User: f.bob.ID, Profile: `{"real_name":"Bobby"}`}, "not_admin"},
		{"the owner's profile", f.bob, ProfileParams{User: f.alice.ID, Profile: `{"real_name":"Al"}`}, "cannot_update_admin_user"},
		{"a stranger's profile", f.erin, ProfileParams{User: f.dave.ID, Profile: `{"real_name":"D"}`}, "user_not_found"},
		{"a bot's own", f.reader, ProfileParams{Profile: `{"real_name":"R"}`}, "not_allowed_token_type"},
	} {
		_, err := f.s.SetProfile(ctx, c.u, c.p)
		wantErr(t, "SetProfile("+c.name+")", err, c.want)
	}
	if u, err := f.s.UserInfo(ctx, f.erin, f.erin.ID); err != nil || u.RealName != "Erin Smith" || u.DisplayName != "erin" {
		t.Errorf("after refused changes erin = %+v, %v; want her profile unchanged", u, err)
	}
	if u, err := f.s.UserInfo(ctx, f.bob, f.bob.ID); err != nil || u.RealName != "" {
		t.Errorf("after refused changes bob = %+v, %v; want his profile unchanged", u, err)
	}
}
