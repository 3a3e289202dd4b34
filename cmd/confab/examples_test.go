package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/confab/confab/internal/nodetest"
)

// exampleDir is examples/bolt-hello, from this package's directory.
var exampleDir = filepath.Join("..", "..", "examples", "bolt-hello")

// The example of examples/bolt-hello — Slack's getting-started Bolt app
// with the one line that points it at confab — runs as its README says:
// installed from its own manifest.yaml (sent as YAML), invited to a
// channel, it starts, prints the tutorial's line, and answers "hello" in
// the channel. So the example cannot rot.
func TestExampleBoltHello(t *testing.T) {
	manifest, err := os.ReadFile(filepath.Join(exampleDir, "manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	app := alice.must("apps.manifest.create", obj{"manifest": string(manifest)})
	alice.must("conversations.invite", obj{"channel": general, "users": app["bot_user_id"]})
	live := alice.connect()

	p := nodetest.RunFile(t, filepath.Join(exampleDir, "app.js"), map[string]string{
		"SLACK_BOT_TOKEN": app["bot_token"].(string), "SLACK_APP_TOKEN": app["app_token"].(string),
		"SLACK_API_URL": m.URL() + "/api/",
	})
	p.Wait("⚡️ Bolt app is running!")

	alice.post(general, "hello")
	botID := app["bot_id"].(string)
	f := live.next(func(f obj) bool { return f["type"] == "message" && f["bot_id"] == botID })
	if want := "Hey there <@" + alice.userID + ">!"; f["text"] != want || f["channel"] != general || f["thread_ts"] != nil {
		t.Fatalf("the bot's message %v; want %q in %s, not in a thread", f, want, general)
	}
}
