package main

import (
	"context"
	"errors"
	"testing"

	"github.com/slack-go/slack"
)

// Emails and profiles with slack-go against a real server: people find
// each other by email in any case, a bot only with users:read.email (else
// Slack's missing_scope), and a status set with SetUserCustomStatus
// reaches those who share a conversation as user_change.
func TestSlackGoEmailsAndProfiles(t *testing.T) {
	m := MustRunMain(t)
	api := m.URL() + "/api/"
	alice := signup(t, m, "acme", "alice") // the owner
	bob := signup(t, m, "acme", "bob")
	erin := &client{tb: t, base: m.URL(), name: "erin"}
	out := erin.must("auth.signup", obj{"team": "acme", "name": "erin", "password": "correct horse erin", "email": "Erin@Example.com"})
	erin.token, erin.userID, erin.teamID = out["token"].(string), out["user_id"].(string), out["team_id"].(string)
	anon := &client{tb: t, base: m.URL(), name: "anon"}
	anon.fails("auth.signup", obj{"team": "acme", "name": "frank", "password": "correct horse frank", "email": "ERIN@example.COM"}, "email_taken")
	anon.fails("auth.signup", obj{"team": "acme", "name": "frank", "password": "correct horse frank", "email": "Frank <f@example.com>"}, "invalid_email")

	install := func(name string, scopes ...string) *slack.Client {
		created := alice.must("apps.manifest.create", obj{"manifest": obj{
			"display_information": obj{"name": name},
			"features":            obj{"bot_user": obj{"display_name": name}},
			"oauth_config":        obj{"scopes": obj{"bot": scopes}},
		}})
		return slack.New(created["bot_token"].(string), slack.OptionAPIURL(api))
	}
	reader := install("Reader", "users:read", "users:read.email")
	blind := install("Blind", "users:read", "chat:write")

	// People and the bot with the scope find erin in any case, with her email.
	asBob := slack.New(bob.token, slack.OptionAPIURL(api))
	for _, c := range []struct {
		name  string
		api   *slack.Client
		email string
	}{{"bob", asBob, "erin@example.com"}, {"the reader bot", reader, "ERIN@example.com"}} {
		u, err := c.api.GetUserByEmail(c.email)
		if err != nil || u.ID != erin.userID || u.Profile.Email != "erin@example.com" || u.Name != "erin" {
			t.Errorf("GetUserByEmail(%q) by %s = %+v, %v; want erin with her email", c.email, c.name, u, err)
		}
	}
	if _, err := asBob.GetUserByEmail("nobody@example.com"); err == nil || err.Error() != "users_not_found" {
		t.Errorf("GetUserByEmail(unknown) = %v, want users_not_found", err)
	}
	// The bot without it is told what it lacks, and sees no email.
	_, err := blind.GetUserByEmail("erin@example.com")
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "missing_scope" || se.Needed != "users:read.email" || se.Provided != "chat:write,users:read" {
		t.Errorf("GetUserByEmail by the blind bot = %#v, want missing_scope needing users:read.email, providing chat:write,users:read", err)
	}
	if u, err := blind.GetUserInfo(erin.userID); err != nil || u.Profile.Email != "" {
		t.Errorf("GetUserInfo(erin) by the blind bot = %+v, %v; want no email", u, err)
	}
	if u, err := reader.GetUserInfo(erin.userID); err != nil || u.Profile.Email != "erin@example.com" {
		t.Errorf("GetUserInfo(erin) by the reader bot = %+v, %v; want her email", u, err)
	}

	// Erin sets her status and name; bob, who shares a channel with her,
	// hears of it.
	general := alice.createChannel("plaza", false)
	alice.must("conversations.invite", obj{"channel": general, "users": bob.userID + "," + erin.userID})
	live := bob.connect()
	asErin := slack.New(erin.token, slack.OptionAPIURL(api))
	if err := asErin.SetUserCustomStatus("in a meeting", ":calendar:", 1900000000); err != nil {
		t.Fatalf("SetUserCustomStatus = %v", err)
	}
	change := live.next(isType("user_change"))
	if u, _ := change["user"].(obj); u["id"] != erin.userID || u["profile"].(obj)["status_text"] != "in a meeting" {
		t.Errorf("user_change = %v", change)
	} else if _, ok := u["profile"].(obj)["email"]; ok {
		t.Errorf("user_change carries the email: %v", change)
	}
	if err := asErin.SetUserRealName("Erin Smith"); err != nil {
		t.Fatalf("SetUserRealName = %v", err)
	}
	p, err := asBob.GetUserProfile(&slack.GetUserProfileParameters{UserID: erin.userID, IncludeLabels: true})
	if err != nil || p.RealName != "Erin Smith" || p.StatusText != "in a meeting" || p.StatusEmoji != ":calendar:" ||
		p.StatusExpiration != 1900000000 || p.Email != "erin@example.com" {
		t.Errorf("GetUserProfile(erin) by bob = %+v, %v", p, err)
	}
	if p, err := asErin.GetUserProfile(&slack.GetUserProfileParameters{}); err != nil || p.RealName != "Erin Smith" || p.Email != "erin@example.com" {
		t.Errorf("GetUserProfile() by erin = %+v, %v; want her own", p, err)
	}
	if err := asBob.SetUserRealNameContextWithUser(context.Background(), erin.userID, "Not Erin"); err == nil || err.Error() != "not_admin" {
		t.Errorf("SetUserRealName(erin) by bob = %v, want not_admin", err)
	}
	if err := reader.SetUserCustomStatus("beep", ":robot_face:", 0); err == nil || err.Error() != "not_allowed_token_type" {
		t.Errorf("SetUserCustomStatus by a bot = %v, want not_allowed_token_type", err)
	}
	erin.fails("users.profile.set", obj{"profile": obj{"email": "erin@elsewhere.example"}}, "not_admin")
	erin.fails("users.profile.set", obj{"profile": "not json"}, "invalid_profile")
}

// The operator's CLI takes an email too, unique in the workspace.
func TestAdminCreatesUsersWithEmail(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONFAB_PASSWORD_COST", "4")
	create := func(name, email string) error {
		return runAdmin(context.Background(), []string{"user", "create", "--data", dir, "--team", "ops", "--name", name,
			"--password", "hunter2hunter2", "--email", email})
	}
	captureStdout(t, func() error { return create("root", "Root@Ops.Example") })
	if err := create("other", "root@ops.example"); err == nil || err.Error() != "create user: email_taken" {
		t.Errorf("admin user create with root's email = %v, want email_taken", err)
	}
	m := MustRunMain(t, func(m *Main) { m.Config.DataDir = dir })
	c := &client{tb: t, base: m.URL(), name: "root"}
	c.token = c.must("auth.login", obj{"team": "ops", "name": "root", "password": "hunter2hunter2"})["token"].(string)
	if p := c.must("users.profile.get", nil)["profile"].(obj); p["email"] != "root@ops.example" {
		t.Errorf("users.profile.get = %v, want root@ops.example", p)
	}
}

// A user's time zone comes from the sign-up (the web client gives the
// browser's) and shows in users.info as Slack's tz, tz_label, tz_offset;
// one confab does not know is left out rather than refused.
func TestUserTimeZone(t *testing.T) {
	m := MustRunMain(t)
	owner := signup(t, m, "acme", "alice")
	for _, tc := range []struct{ name, tz string }{{"kenji", "Asia/Tokyo"}, {"marvin", "Mars/Olympus_Mons"}} {
		c := &client{tb: t, base: m.URL()}
		out := c.must("auth.signup", obj{"team": "acme", "name": tc.name, "password": "correct horse " + tc.name, "tz": tc.tz})
		u := owner.must("users.info", obj{"user": out["user_id"]})["user"].(obj)
		switch tc.name {
		case "kenji":
			if u["tz"] != "Asia/Tokyo" || u["tz_label"] != "JST" || u["tz_offset"] != 32400.0 {
				t.Errorf("kenji: tz %v, tz_label %v, tz_offset %v", u["tz"], u["tz_label"], u["tz_offset"])
			}
		default:
			if _, ok := u["tz"]; ok {
				t.Errorf("an unknown time zone was kept: %v", u)
			}
		}
	}
}
