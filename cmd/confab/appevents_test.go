package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/confab/confab/events"
	"github.com/confab/confab/internal/cmdtest"
	"github.com/gorilla/websocket"
)

// socketApp is a Socket Mode app written against the wire: it acknowledges
// every envelope and records each event it receives.
type socketApp struct {
	t    *testing.T
	conn *websocket.Conn
	done chan struct{}

	mu     sync.Mutex
	events []appEvent // in the order received
	raw    []obj      // their payloads
}

type appEvent struct {
	id, typ, channel, ts, text string
	attempt                    int
}

// openSocketApp opens a Socket Mode connection at base with the app token
// and starts acknowledging.
func openSocketApp(t *testing.T, base, appToken string) *socketApp {
	t.Helper()
	c := &client{tb: t, base: base, name: "app", token: appToken}
	u := c.must("apps.connections.open", nil)["url"].(string)
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", u, err, resp)
	}
	a := &socketApp{t: t, conn: conn, done: make(chan struct{})}
	go a.run()
	t.Cleanup(a.stop)
	return a
}

func (a *socketApp) run() {
	defer close(a.done)
	for {
		var f obj
		if err := a.conn.ReadJSON(&f); err != nil {
			return
		}
		if f["type"] != "events_api" {
			continue
		}
		p, _ := f["payload"].(obj)
		ev, _ := p["event"].(obj)
		e := appEvent{id: fmt.Sprint(p["event_id"]), typ: fmt.Sprint(ev["type"]), channel: fmt.Sprint(ev["channel"]),
			ts: fmt.Sprint(ev["ts"]), text: fmt.Sprint(ev["text"])}
		if n, ok := f["retry_attempt"].(float64); ok {
			e.attempt = int(n)
		}
		a.mu.Lock()
		a.events = append(a.events, e)
		a.raw = append(a.raw, p)
		a.mu.Unlock()
		if err := a.conn.WriteJSON(obj{"envelope_id": f["envelope_id"]}); err != nil {
			return
		}
	}
}

// stop closes the connection, as an app that is stopped.
func (a *socketApp) stop() {
	a.conn.Close()
	<-a.done
}

// await waits until the app received n events matching f, and returns
// every event it received.
func (a *socketApp) await(n int, f func(appEvent) bool) []appEvent {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a.mu.Lock()
		all := append([]appEvent(nil), a.events...)
		a.mu.Unlock()
		got := 0
		for _, e := range all {
			if f(e) {
				got++
			}
		}
		if got >= n {
			return all
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("app received %d of %d events", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An app that is stopped while 100 messages are posted, and whose server
// is killed (SIGKILL) and started again half-way through, receives all 100
// when it connects again: each exactly once, by event_id, and each
// channel's in the order they were posted. What it had received before it
// stopped does not come again.
func TestAppCatchesUpAfterStopAndKill(t *testing.T) {
	bin := cmdtest.Build(t, "github.com/confab/confab/cmd/confab")
	dir := t.TempDir()
	start := func() *cmdtest.Proc {
		t.Helper()
		p, err := cmdtest.Start(t, cmdtest.Config{Bin: bin, Args: func(addr string) []string {
			return []string{"serve", "-listen", addr, "-data", dir, "-password-cost", "4", "-log-level", "error",
				"-rate-limit", "10000", "-rate-burst", "10000"}
		}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := start()
	alice := signupAt(t, p.URL(), "acme", "alice")
	chans := []string{alice.createChannel("one", false), alice.createChannel("two", false)}
	app := alice.must("apps.manifest.create", obj{"manifest": obj{
		"display_information": obj{"name": "Tally"},
		"features":            obj{"bot_user": obj{"display_name": "Tally"}},
		"settings":            obj{"socket_mode_enabled": true, "event_subscriptions": obj{"bot_events": []string{"message.channels"}}},
	}})
	appToken := app["app_token"].(string)
	for _, ch := range chans {
		alice.must("conversations.invite", obj{"channel": ch, "users": app["bot_user_id"]})
	}

	isMsg := func(prefix string) func(appEvent) bool {
		return func(e appEvent) bool { return e.typ == "message" && strings.HasPrefix(e.text, prefix) }
	}
	before := openSocketApp(t, p.URL(), appToken)
	for i := range 10 {
		alice.post(chans[i%2], fmt.Sprintf("before %d", i))
	}
	before.await(10, isMsg("before "))
	time.Sleep(time.Second) // its positions are saved within 100 ms of the acks; room for a loaded machine
	before.stop()

	posted := map[string][]string{} // channel → texts in posting order
	post := func(i int) {
		ch := chans[i%2]
		text := fmt.Sprintf("away %03d", i)
		alice.post(ch, text)
		posted[ch] = append(posted[ch], text)
	}
	for i := range 50 {
		post(i)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.Exited
	p = start()
	alice.base = p.URL()
	for i := 50; i < 100; i++ {
		post(i)
	}

	after := openSocketApp(t, p.URL(), appToken)
	all := after.await(100, isMsg("away "))
	time.Sleep(500 * time.Millisecond) // anything more would come now
	after.mu.Lock()
	all = append(all[:0:0], after.events...)
	after.mu.Unlock()

	ids := map[string]string{}
	order := map[string][]string{}
	for _, e := range all {
		if strings.HasPrefix(e.text, "before ") {
			t.Errorf("event received before the stop came again: %+v", e)
			continue
		}
		if prev, ok := ids[e.id]; ok {
			t.Errorf("event %s (%s) received twice (first %s)", e.id, e.text, prev)
			continue
		}
		ids[e.id] = e.text
		order[e.channel] = append(order[e.channel], e.text)
	}
	if len(ids) != 100 {
		t.Fatalf("distinct events = %d, want 100", len(ids))
	}
	for _, ch := range chans {
		if strings.Join(order[ch], ",") != strings.Join(posted[ch], ",") {
			t.Errorf("channel %s: received %v, posted %v", ch, order[ch], posted[ch])
		}
	}
}

// The workspace's events reach an app that subscribes to them, from the
// workspace's event log: joins and leaves in its channels, public
// channels created, renamed, archived and unarchived, people joining the
// workspace and changing their profile; reactions from the channel's
// change log. What happened before the app was installed does not.
func TestAppWorkspaceEvents(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	signup(t, m, "acme", "early") // before the app: no team_join for it
	app := alice.must("apps.manifest.create", obj{"manifest": obj{
		"display_information": obj{"name": "Watcher"},
		"features":            obj{"bot_user": obj{"display_name": "Watcher"}},
		"settings": obj{"socket_mode_enabled": true, "event_subscriptions": obj{"bot_events": []string{
			"member_joined_channel", "member_left_channel", "channel_created", "channel_rename", "channel_archive",
			"channel_unarchive", "team_join", "user_change", "reaction_added", "reaction_removed"}}},
	}})
	sock := openSocketApp(t, m.URL(), app["app_token"].(string))
	botUser := app["bot_user_id"].(string)
	alice.must("conversations.invite", obj{"channel": general, "users": botUser})
	bob := signup(t, m, "acme", "bob")
	bob.must("conversations.join", obj{"channel": general})
	ts := alice.post(general, "react to me")
	bob.must("reactions.add", obj{"channel": general, "timestamp": ts, "name": "tada"})
	bob.must("conversations.leave", obj{"channel": general})
	random := alice.createChannel("random", false)
	alice.createChannel("secret", true) // private, without the bot: nothing
	alice.must("conversations.rename", obj{"channel": random, "name": "watercooler"})
	alice.must("conversations.archive", obj{"channel": random})
	alice.must("conversations.unarchive", obj{"channel": random})
	bob.must("users.profile.set", obj{"profile": obj{"status_text": "lunch"}})

	want := []string{
		"member_joined_channel " + botUser, "team_join bob", "member_joined_channel " + bob.userID,
		"reaction_added tada", "member_left_channel " + bob.userID, "channel_created " + random,
		"channel_rename watercooler", "channel_archive " + random, "channel_unarchive " + random, "user_change lunch",
	}
	sock.await(len(want), func(appEvent) bool { return true })
	time.Sleep(300 * time.Millisecond)
	sock.mu.Lock()
	defer sock.mu.Unlock()
	var got []string
	for _, e := range sock.raw {
		ev := e["event"].(obj)
		s := fmt.Sprint(ev["type"])
		switch s {
		case "member_joined_channel", "member_left_channel":
			s += " " + fmt.Sprint(ev["user"])
		case "team_join", "user_change":
			u := ev["user"].(obj)
			if s == "team_join" {
				s += " " + fmt.Sprint(u["name"])
			} else {
				s += " " + fmt.Sprint(u["profile"].(obj)["status_text"])
			}
		case "reaction_added":
			s += " " + fmt.Sprint(ev["reaction"])
		case "channel_created": // the channel as it is now
			s += " " + fmt.Sprint(ev["channel"].(obj)["id"])
		case "channel_rename":
			s += " " + fmt.Sprint(ev["channel"].(obj)["name"])
		case "channel_archive", "channel_unarchive":
			s += " " + fmt.Sprint(ev["channel"])
		}
		got = append(got, s)
	}
	// The workspace's log and the channel's change log are two streams:
	// each in its own order.
	slices.Sort(got)
	slices.Sort(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// In a cluster an app's Socket Mode connections go to the gateway of its
// workspace's pocket that delivers its events; when that gateway is
// killed, another takes the app over from the saved positions, and the app
// connecting again through apps.connections.open gets every message, each
// event_id once at least and none lost.
func TestClusterAppEvents(t *testing.T) {
	c := startCluster(t, 1, 2)
	api := c.api(0)
	alice := c.user("alpha", "alice", api)
	general := alice.createChannel("plaza", false)
	app := alice.must("apps.manifest.create", obj{"manifest": obj{
		"display_information": obj{"name": "Roamer"},
		"features":            obj{"bot_user": obj{"display_name": "Roamer"}},
		"settings":            obj{"socket_mode_enabled": true, "event_subscriptions": obj{"bot_events": []string{"message.channels"}}},
	}})
	appToken := app["app_token"].(string)
	alice.must("conversations.invite", obj{"channel": general, "users": app["bot_user_id"]})

	// The URL names the owning gateway: one of pocket a's.
	owner := func() *proc {
		t.Helper()
		u := (&client{tb: t, base: api.URL(), name: "app", token: appToken}).must("apps.connections.open", nil)["url"].(string)
		for _, g := range c.gateways {
			if strings.HasPrefix(u, "ws://"+g.addr+"/apps/socket/") {
				if g.pocket != "a" {
					t.Fatalf("apps.connections.open sent the app of pocket a to %s of pocket %s", g.addr, g.pocket)
				}
				return g
			}
		}
		t.Fatalf("apps.connections.open url %s: no gateway of the cluster", u)
		return nil
	}
	first := owner()
	// A client connects again until events come, as Slack's clients do on
	// refresh_requested.
	connect := func(what string, ready func() bool, poke func()) *socketApp {
		var sock *socketApp
		c.eventually(what, func() bool {
			if !ready() {
				return false
			}
			sock = openSocketApp(t, api.URL(), appToken)
			poke()
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) {
				sock.mu.Lock()
				n := len(sock.events)
				sock.mu.Unlock()
				if n > 0 {
					return true
				}
				time.Sleep(50 * time.Millisecond)
			}
			sock.stop()
			return false
		})
		return sock
	}
	sock := connect("the app connected and delivered to", func() bool { return true }, func() { alice.post(general, "ping") })
	for i := range 20 {
		alice.post(general, fmt.Sprintf("before %d", i))
	}
	sock.await(20, func(e appEvent) bool { return strings.HasPrefix(e.text, "before ") })
	first.kill(t)
	sock.stop()
	for i := range 20 {
		alice.post(general, fmt.Sprintf("after %d", i))
	}
	// The dead gateway's registry entry expires; then the survivor owns
	// the app and apps.connections.open sends it there.
	again := connect("the app moved to the surviving gateway", func() bool { return owner() != first }, func() {})
	again.await(20, func(e appEvent) bool { return strings.HasPrefix(e.text, "after ") })
	seen := map[string]string{}
	again.mu.Lock()
	defer again.mu.Unlock()
	for _, e := range again.events {
		if prev, ok := seen[e.id]; ok && prev != e.text {
			t.Fatalf("event_id %s names %q and %q", e.id, prev, e.text)
		}
		seen[e.id] = e.text
	}
}

// The message events an app gets carry Slack's subtypes: an edit is
// message_changed with the message as it is now, a delete
// message_deleted, a reply also sent to the channel thread_broadcast, and
// a bot speaking under a name of its choosing bot_message.
func TestAppMessageSubtypes(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	app := alice.must("apps.manifest.create", obj{"manifest": obj{
		"display_information": obj{"name": "Subtle"},
		"features":            obj{"bot_user": obj{"display_name": "Subtle"}},
		"oauth_config":        obj{"scopes": obj{"bot": []string{"chat:write"}}},
		"settings":            obj{"socket_mode_enabled": true, "event_subscriptions": obj{"bot_events": []string{"message.channels"}}},
	}})
	alice.must("conversations.invite", obj{"channel": general, "users": app["bot_user_id"]})
	sock := openSocketApp(t, m.URL(), app["app_token"].(string))
	bot := &client{tb: t, base: m.URL(), name: "bot", token: app["bot_token"].(string)}

	ts := alice.post(general, "draft")
	sock.await(1, func(e appEvent) bool { return e.text == "draft" }) // delivered before the edit
	alice.must("chat.update", obj{"channel": general, "ts": ts, "text": "final"})
	// Changes are read in their latest state: a delete read together with
	// the edit before it would be the delete alone (docs/api.md).
	sock.await(2, func(appEvent) bool { return true })
	alice.must("chat.delete", obj{"channel": general, "ts": ts})
	parent := alice.post(general, "thread")
	alice.must("chat.postMessage", obj{"channel": general, "thread_ts": parent, "text": "and everyone", "reply_broadcast": true})
	bot.must("chat.postMessage", obj{"channel": general, "text": "beep", "username": "Deploy Robot"})

	sock.await(6, func(appEvent) bool { return true })
	time.Sleep(200 * time.Millisecond)
	sock.mu.Lock()
	defer sock.mu.Unlock()
	var got []string
	for _, p := range sock.raw {
		ev := p["event"].(obj)
		s := fmt.Sprint(ev["subtype"], " ", ev["text"])
		switch ev["subtype"] {
		case "message_changed":
			s = fmt.Sprint("message_changed ", ev["message"].(obj)["text"])
		case "message_deleted":
			s = fmt.Sprint("message_deleted ", ev["deleted_ts"] == ts)
		case "bot_message":
			s += fmt.Sprint(" ", ev["username"], " ", ev["bot_id"] == app["bot_id"])
		}
		got = append(got, s)
	}
	want := []string{"<nil> draft", "message_changed final", "message_deleted true", "<nil> thread",
		"thread_broadcast and everyone", "bot_message beep Deploy Robot true"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Before the server goes it tells each Socket Mode connection to
// reconnect, Slack's way: disconnect "warning", then "refresh_requested";
// and it pings often enough for Slack's clients, which give up on a
// connection without a ping for 30 s.
func TestSocketModeGoodbyeAndPings(t *testing.T) {
	m := MustRunMain(t, func(m *Main) {
		m.TuneEvents = func(c *events.Config) { c.PingInterval = 100 * time.Millisecond }
	})
	alice := signup(t, m, "acme", "alice")
	app := alice.must("apps.manifest.create", obj{"manifest": obj{
		"display_information": obj{"name": "Leaver"},
		"features":            obj{"bot_user": obj{"display_name": "Leaver"}},
		"settings":            obj{"socket_mode_enabled": true},
	}})
	u := (&client{tb: t, base: m.URL(), name: "app", token: app["app_token"].(string)}).must("apps.connections.open", nil)["url"].(string)
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pinged := make(chan struct{}, 1)
	conn.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	var frames []obj
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var f obj
			if err := conn.ReadJSON(&f); err != nil {
				return
			}
			frames = append(frames, f)
		}
	}()
	select {
	case <-pinged:
	case <-time.After(waitFor):
		t.Fatal("no ping from the server")
	}
	m.Close()
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("the connection stayed open after the server closed")
	}
	var types []string
	for _, f := range frames {
		types = append(types, fmt.Sprint(f["type"], " ", f["reason"]))
	}
	if strings.Join(types, ",") != "hello <nil>,disconnect warning,disconnect refresh_requested" {
		t.Fatalf("frames %v; want hello, then disconnect warning and refresh_requested", types)
	}
}
