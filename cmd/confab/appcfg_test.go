package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// yamlManifest is a manifest the way Slack shows one: YAML.
const yamlManifest = `display_information:
  name: Standup
features:
  bot_user:
    display_name: Standup Bot
oauth_config:
  scopes:
    bot:
      - channels:read
      - users:read
settings:
  socket_mode_enabled: true
`

// An app installed from a YAML manifest runs with slack-go within its
// scopes: a method its scopes do not grant is missing_scope, with what was
// needed and what it has, until a new manifest grants it.
func TestSlackGoBotScopes(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice") // the owner
	general := alice.createChannel("plaza", false)

	_, bad := alice.call("apps.manifest.create", obj{"manifest": "display_information:\n  name: x\n\tbad: 1\n"})
	probs, _ := bad["errors"].([]any)
	if bad["error"] != "invalid_manifest" || len(probs) != 1 || !strings.Contains(probs[0].(obj)["message"].(string), "not valid YAML: line ") {
		t.Fatalf("bad YAML: %v, want invalid_manifest with the line", bad)
	}

	created := alice.must("apps.manifest.create", obj{"manifest": yamlManifest})
	appID, botUser := created["app_id"].(string), created["bot_user_id"].(string)
	alice.must("conversations.invite", obj{"channel": general, "users": botUser})
	bot := slack.New(created["bot_token"].(string), slack.OptionAPIURL(m.URL()+"/api/"))

	if _, err := bot.AuthTest(); err != nil {
		t.Fatalf("AuthTest = %v (needs no scope)", err)
	}
	if _, err := bot.GetUserInfo(alice.userID); err != nil {
		t.Fatalf("GetUserInfo with users:read = %v", err)
	}
	_, _, err := bot.PostMessage(general, slack.MsgOptionText("hi", false))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "missing_scope" || se.Needed != "chat:write" || se.Provided != "channels:read,users:read" {
		t.Fatalf("PostMessage without chat:write = %#v, want missing_scope needed chat:write provided channels:read,users:read", err)
	}
	_, err = bot.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general})
	if !errors.As(err, &se) || se.Needed != "channels:history,groups:history,im:history,mpim:history" {
		t.Fatalf("history without a history scope = %#v", err)
	}

	exp := alice.must("apps.manifest.export", obj{"app_id": appID})["manifest"].(obj)
	if exp["display_information"].(obj)["name"] != "Standup" || exp["settings"].(obj)["socket_mode_enabled"] != true {
		t.Fatalf("apps.manifest.export of a YAML manifest = %v, want it as JSON", exp)
	}

	alice.must("apps.manifest.update", obj{"app_id": appID, "manifest": strings.Replace(yamlManifest, "- users:read", "- users:read\n      - chat:write", 1)})
	if _, ts, err := bot.PostMessage(general, slack.MsgOptionText("hi", false)); err != nil || ts == "" {
		t.Fatalf("PostMessage once granted chat:write = %q, %v", ts, err)
	}
}

// A bot token revokes itself with auth.revoke, as in Slack, and so does an
// app-level token, which closes its Socket Mode connections.
func TestAppTokensRevoke(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	created := alice.must("apps.manifest.create", obj{"manifest": yamlManifest})
	app := &client{tb: t, base: alice.base, token: created["app_token"].(string)}

	bot := slack.New(created["bot_token"].(string), slack.OptionAPIURL(m.URL()+"/api/"))
	if res, err := bot.SendAuthRevoke(""); err != nil || !res.Revoked {
		t.Fatalf("bot auth.revoke = %+v, %v", res, err)
	}
	if _, err := bot.AuthTest(); err == nil || err.Error() != "invalid_auth" {
		t.Fatalf("AuthTest after revoke = %v, want invalid_auth", err)
	}
	// The app token is the app's own: revoking the bot token leaves it.
	app.fails("auth.test", nil, "not_allowed_token_type")

	sock := openSocketApp(t, m.URL(), created["app_token"].(string))
	if out := app.must("auth.revoke", nil); out["revoked"] != true {
		t.Fatalf("auth.revoke with the app token = %v", out)
	}
	select {
	case <-sock.done:
	case <-time.After(waitFor):
		t.Fatal("the app token's Socket Mode connection stayed open after auth.revoke")
	}
	app.fails("apps.connections.open", nil, "invalid_auth")
}

// The operator installs an app from a manifest file: the command prints
// what apps.manifest.create answers, and its tokens work on the server.
func TestAdminCreatesApps(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONFAB_PASSWORD_COST", "4")
	captureStdout(t, func() error {
		return runAdmin(context.Background(), []string{"user", "create", "--data", dir, "--team", "ops", "--name", "root", "--password", "hunter2hunter2"})
	})
	file := filepath.Join(dir, "manifest.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(yamlManifest, "- users:read", "- chat:write", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runAdmin(context.Background(), []string{"app", "create", "--data", dir, "--team", "nope", "--manifest", file}); err == nil {
		t.Errorf("app create in an unknown workspace succeeded")
	}
	out := captureStdout(t, func() error {
		return runAdmin(context.Background(), []string{"app", "create", "--data", dir, "--team", "ops", "--manifest", file})
	})
	var created struct {
		OK          bool   `json:"ok"`
		AppID       string `json:"app_id"`
		TeamID      string `json:"team_id"`
		BotUserID   string `json:"bot_user_id"`
		BotID       string `json:"bot_id"`
		BotToken    string `json:"bot_token"`
		AppToken    string `json:"app_token"`
		Credentials struct {
			ClientID      string `json:"client_id"`
			SigningSecret string `json:"signing_secret"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || !created.OK || created.AppID == "" || created.BotID == "" ||
		!strings.HasPrefix(created.BotToken, "xoxb-") || !strings.HasPrefix(created.AppToken, "xapp-") ||
		created.Credentials.ClientID == "" || created.Credentials.SigningSecret == "" {
		t.Fatalf("app create printed %q (%v)", out, err)
	}
	list := captureStdout(t, func() error {
		return runAdmin(context.Background(), []string{"app", "list", "--data", dir, "--team", "ops"})
	})
	if !strings.Contains(list, `"app_id":"`+created.AppID+`"`) || !strings.Contains(list, `"scopes":["channels:read","chat:write"]`) {
		t.Errorf("app list printed %q", list)
	}

	m := MustRunMain(t, func(m *Main) { m.Config.DataDir = dir })
	bot := slack.New(created.BotToken, slack.OptionAPIURL(m.URL()+"/api/"))
	auth, err := bot.AuthTest()
	if err != nil || auth.UserID != created.BotUserID || auth.BotID != created.BotID || auth.TeamID != created.TeamID {
		t.Fatalf("AuthTest with the printed token = %+v, %v", auth, err)
	}
	if _, _, err := bot.PostMessage("#plaza", slack.MsgOptionText("x", false)); err == nil || err.Error() == "missing_scope" {
		t.Errorf("PostMessage = %v, want a refusal other than missing_scope (the bot has chat:write)", err)
	}
}
